"""Optional log export to an existing Elasticsearch/OpenSearch cluster (logs.export.elasticsearch).

A profile that sets it gets a second exporter in the gateway's logs pipeline,
with the URL and credentials as env vars from values and the named Secret;
without it nothing changes (every built-in tier ships logExport.enabled: false).
"""

from __future__ import annotations

import pytest
import yaml

from obsgen import generate
from obsgen.artifacts import otel
from tests.support import k8s
from tests.support.render import RenderError, helm_template, split
from tests.support.tools import ROOT
from tests.test_otel_collector import ENV_REF, _component_problems, component_type, walk_strings

GATEWAY = "obs-otel-collector-gateway"
PROFILE = {
    "name": "es-export",
    "extends": "intermediate",
    "logs": {"export": {"elasticsearch": {"url": "https://es.logging.svc:9200", "existingSecret": "es-credentials"}}},
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("log-export")
    profile = tmp / "es-export.yaml"
    profile.write_text(yaml.safe_dump(PROFILE))
    generate.write(generate.plan_profile(profile, tmp))
    values = yaml.safe_load((tmp / "es-export.yaml").read_text())
    return values, split(helm_template(values=(tmp / "es-export.yaml",)))


def _gateway(objects):
    (workload,) = [o for o in objects if o["metadata"]["name"] == GATEWAY and o["kind"] in ("Deployment", "StatefulSet")]
    (cm,) = [o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == GATEWAY]
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}
    return yaml.safe_load(cm["data"]["config.yaml"]), env


def test_values_carry_the_export(rendered):
    values, _ = rendered
    assert values["otelCollector"]["logExport"] == {
        "enabled": True,
        "url": "https://es.logging.svc:9200",
        "existingSecret": "es-credentials",
        "usernameKey": "username",
        "passwordKey": "password",
    }


def test_logs_pipeline_exports_to_loki_and_elasticsearch(rendered):
    cfg, _ = _gateway(rendered[1])
    logs = cfg["service"]["pipelines"]["logs"]
    assert logs["exporters"] == ["otlp_http/loki", otel.LOG_EXPORTER]
    assert logs["processors"][0] == "memory_limiter" and logs["processors"][-1] == "batch"
    es = cfg["exporters"][otel.LOG_EXPORTER]
    assert es["endpoints"] == ["${env:OBS_LOG_EXPORT_URL}"]
    assert es["logs_index"] == "obs-logs"
    assert (es["user"], es["password"]) == ("${env:OBS_LOG_EXPORT_USERNAME}", "${env:OBS_LOG_EXPORT_PASSWORD}")
    # Other pipelines are untouched.
    assert otel.LOG_EXPORTER not in {e for name, p in cfg["service"]["pipelines"].items() if name != "logs" for e in p["exporters"]}


def test_env_vars_resolve_to_the_values_and_the_secret(rendered):
    cfg, env = _gateway(rendered[1])
    assert env["OBS_LOG_EXPORT_URL"] == "https://es.logging.svc:9200"
    assert env["OBS_LOG_EXPORT_USERNAME"] == {"secretKeyRef": {"name": "es-credentials", "key": "username"}}
    assert env["OBS_LOG_EXPORT_PASSWORD"] == {"secretKeyRef": {"name": "es-credentials", "key": "password"}}
    refs = {m for s in walk_strings(cfg) for m in ENV_REF.findall(s)}
    assert refs <= set(env), refs - set(env)
    # The agent does not export anywhere but the gateway, so it gets no credentials.
    (agent,) = [o for o in rendered[1] if o["kind"] == "DaemonSet" and "otel-collector-agent" in o["metadata"]["name"]]
    assert not [e for c in agent["spec"]["template"]["spec"]["containers"] for e in c["env"] if e["name"].startswith("OBS_LOG_EXPORT")]


def test_gateway_config_passes_the_collector_checks(rendered):
    cfg, _ = _gateway(rendered[1])
    service = cfg["service"]
    for kind in ("receivers", "processors", "exporters"):
        defined = set(cfg.get(kind, {}))
        used = {c for p in service["pipelines"].values() for c in p.get(kind, [])}
        assert used == defined, (kind, used ^ defined)
    assert set(service.get("extensions", [])) == set(cfg.get("extensions", {}))
    found = []
    for kind in ("receivers", "processors", "exporters", "extensions"):
        for component_id, conf in cfg.get(kind, {}).items():
            found += _component_problems(kind, component_id, conf)
    assert not found, "\n".join(found)
    assert all(component_type(p) in ("logs", "traces", "metrics") for p in service["pipelines"])


@pytest.mark.parametrize("version", ["1.29.0", "1.35.0"])
def test_objects_are_valid_kubernetes(rendered, version):
    assert k8s.problems(rendered[1], version) == []


@pytest.mark.parametrize("tier", ["basic", "intermediate", "advanced", "enterprise"])
def test_builtin_tiers_leave_it_off(tier):
    values = yaml.safe_load((ROOT / "values" / f"{tier}.yaml").read_text())
    assert values["otelCollector"]["logExport"]["enabled"] is False
    config = values["otelCollector"]["gateway"]["config"]
    assert otel.LOG_EXPORTER not in config.get("exporters", {})


# Arguments of otel.values() for a stack with every signal on.
_ALL_SIGNALS = dict(
    enabled=True,
    logs=True,
    traces=True,
    metrics=True,
    sampling=otel.Sampling("none"),
    trace_backend="tempo",
    agent_resources={},
    gateway_resources={},
    gateway_replicas=1,
    disruption_budget=False,
    topology_spread=False,
)


def test_without_the_setting_nothing_changes():
    section = dict(_ALL_SIGNALS)
    plain, explicit = otel.values(**section), otel.values(**section, log_export=None)
    assert plain == explicit
    assert plain["logExport"]["enabled"] is False
    objects = split(helm_template(values=(ROOT / "values" / "intermediate.yaml",)))
    _, env = _gateway(objects)
    assert not [name for name in env if name.startswith("OBS_LOG_EXPORT")]


def test_export_is_dropped_when_no_logs_flow():
    section = otel.values(
        **{**_ALL_SIGNALS, "logs": False},
        log_export={"url": "https://es:9200", "existingSecret": "s", "index": "x"},
    )
    assert section["logExport"]["enabled"] is False
    assert otel.LOG_EXPORTER not in section["gateway"]["config"]["exporters"]


@pytest.mark.parametrize(
    "sets,message",
    [
        (("otelCollector.logExport.enabled=true", "otelCollector.logExport.existingSecret=es"), "logExport.url is empty"),
        (("otelCollector.logExport.enabled=true", "otelCollector.logExport.url=https://es:9200"), "logExport.existingSecret is empty"),
    ],
)
def test_enabled_without_url_or_secret_fails_at_render(sets, message):
    with pytest.raises(RenderError, match=message):
        helm_template(values=(ROOT / "values" / "intermediate.yaml",), sets=sets)
