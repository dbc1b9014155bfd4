"""The obs-instrumentation library chart, through the example app chart that includes it.

The example chart and the library are copied to a temporary tree (keeping the
`file://../../charts/obs-instrumentation` dependency path valid), `helm
dependency build` vendors the library, and the chart is rendered for every
tier with Helm 4 and Helm 3.17, for Kubernetes 1.29 and 1.35 (native sidecars
are on by default from 1.29). Every object is validated strictly; then what
each tier must and must not give the pod is checked, the sidecar's collector
config is wired like the stack's own collectors (tests/test_otel_collector.py:
same allowed-key table, same component checks), and the addresses the app and
the sidecar use name Services that the obs chart really renders.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from obsgen import paths
from obsgen.artifacts import instrumentation, otel
from obsgen.images import IMAGES
from obsgen.profile import quantity
from obsgen.tiers import APP_INSTRUMENTATION, TIER_ORDER, TIERS, AppInstrumentation, Size
from tests.support import k8s
from tests.support.render import render_tier, split
from tests.support.tools import HELMS, ROOT, tool
from tests.test_otel_collector import KEYS, _component_problems, component_type

EXAMPLE = ROOT / "examples" / "app-chart"
LIBRARY = paths.INSTRUMENTATION_CHART
RELEASE, NAMESPACE = "demo", "shop"
OBS_RELEASE, OBS_NAMESPACE = "obs", "monitoring"  # the example's defaults; also the obs render's
SIDECAR_TIERS = ("advanced", "enterprise")
CASES = [(tier, helm, version) for tier in TIER_ORDER for helm in HELMS for version in k8s.K8S_VERSIONS]
TEMPLATES = ("podAnnotations", "env", "initContainers", "volumes", "configMap")
ENV_REF = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")
DEPENDENT_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


# --- rendering ---------------------------------------------------------------


@cache
def chart(helm: str) -> Path:
    """A fresh copy of the example chart with the library vendored by `helm dependency build`."""
    root = Path(tempfile.mkdtemp(prefix=f"obs-instrumentation-{helm}-"))
    app = root / "examples" / "app-chart"
    shutil.copytree(EXAMPLE, app, ignore=shutil.ignore_patterns("charts", "Chart.lock"))
    shutil.copytree(LIBRARY, root / "charts" / "obs-instrumentation")
    proc = subprocess.run([tool(helm), "dependency", "build", str(app)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"{helm} dependency build:\n{proc.stdout}\n{proc.stderr}"
    return app


def template(helm: str = "helm", *sets: str, kube: str = "1.35.0") -> subprocess.CompletedProcess:
    cmd = [tool(helm), "template", RELEASE, str(chart(helm)), "-n", NAMESPACE, "--kube-version", kube]
    for s in sets:
        cmd += ["--set", s]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


@cache
def render(tier: str, helm: str = "helm", kube: str = "1.35.0", sets: tuple[str, ...] = ()) -> tuple[dict[str, Any], ...]:
    proc = template(helm, f"obsInstrumentation.tier={tier}", *sets, kube=kube)
    assert proc.returncode == 0, proc.stderr
    return tuple(split(proc.stdout))


def by_kind(objs, kind: str) -> list[dict[str, Any]]:
    return [o for o in objs if o["kind"] == kind]


def pod(objs) -> dict[str, Any]:
    (deployment,) = by_kind(objs, "Deployment")
    return deployment["spec"]["template"]


def app_container(objs) -> dict[str, Any]:
    (c,) = pod(objs)["spec"]["containers"]
    return c


def env_map(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def otel_env(container: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in env_map(container).items() if k.startswith(("OTEL_", "K8S_"))}


def sidecar(objs) -> dict[str, Any]:
    (c,) = pod(objs)["spec"]["initContainers"]
    return c


def sidecar_config(objs) -> dict[str, Any]:
    (cm,) = by_kind(objs, "ConfigMap")
    return yaml.safe_load(cm["data"][instrumentation.CONFIG_FILE])


# --- the charts --------------------------------------------------------------


def test_library_and_example_chart_metadata():
    lib = yaml.safe_load((LIBRARY / "Chart.yaml").read_text())
    assert (lib["apiVersion"], lib["type"], lib["name"], lib["version"]) == ("v2", "library", "obs-instrumentation", "0.1.0")
    assert lib["description"]
    app = yaml.safe_load((EXAMPLE / "Chart.yaml").read_text())
    assert app["dependencies"] == [
        {"name": "obs-instrumentation", "version": "0.1.0", "repository": "file://../../charts/obs-instrumentation"}
    ]
    assert (EXAMPLE / app["dependencies"][0]["repository"].removeprefix("file://")).resolve() == LIBRARY.resolve()
    ignored = (EXAMPLE / ".gitignore").read_text().split()
    assert "charts/" in ignored


@pytest.mark.parametrize("helm", HELMS)
def test_the_library_alone_is_not_installable(helm):
    proc = subprocess.run([tool(helm), "template", "x", str(LIBRARY)], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "library charts are not installable" in proc.stderr


def test_the_example_uses_each_named_template_once():
    text = "".join(p.read_text() for p in sorted((EXAMPLE / "templates").glob("*")))
    for name in TEMPLATES:
        assert text.count(f'include "obs-instrumentation.{name}"') == 1, name
    defined = set(re.findall(r'define "obs-instrumentation\.([A-Za-z]+)"', (LIBRARY / "templates" / "_instrumentation.tpl").read_text()))
    assert set(TEMPLATES) <= defined


@pytest.mark.parametrize("helm", HELMS)
@pytest.mark.parametrize("tier", TIER_ORDER)
def test_helm_lint_strict(tier, helm):
    proc = subprocess.run(
        [tool(helm), "lint", "--strict", str(chart(helm)), "--set", f"obsInstrumentation.tier={tier}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("tier,helm,version", CASES)
def test_every_object_is_strictly_valid(tier, helm, version):
    objs = render(tier, helm, version)
    assert objs
    assert k8s.problems(list(objs), version) == []


@pytest.mark.parametrize("tier", TIER_ORDER)
def test_helm3_and_helm4_render_the_same_objects(tier):
    assert render(tier, "helm") == render(tier, "helm3")


def test_default_tier_is_basic():
    proc = template("helm")
    assert proc.returncode == 0, proc.stderr
    # The example's values.yaml says basic explicitly; without it the library's default applies.
    unset = template("helm", "obsInstrumentation.tier=null")
    assert unset.returncode == 0, unset.stderr
    assert tuple(split(proc.stdout)) == tuple(split(unset.stdout)) == render("basic")


# --- what each tier gives the pod ----------------------------------------------


def _scrape_annotations(objs) -> dict[str, str]:
    return {k: v for k, v in pod(objs)["metadata"].get("annotations", {}).items() if k.startswith("prometheus.io/")}


@pytest.mark.parametrize("tier", TIER_ORDER)
def test_scrape_annotations_in_every_tier(tier):
    objs = render(tier)
    assert _scrape_annotations(objs) == {"prometheus.io/scrape": "true", "prometheus.io/port": "8080", "prometheus.io/path": "/metrics"}
    port = _scrape_annotations(objs)["prometheus.io/port"]
    assert int(port) in {p["containerPort"] for p in app_container(objs)["ports"]}


def test_basic_is_annotations_only():
    objs = render("basic")
    assert set(pod(objs)["metadata"]["annotations"]) == {"prometheus.io/scrape", "prometheus.io/port", "prometheus.io/path"}
    assert otel_env(app_container(objs)) == {}
    assert "initContainers" not in pod(objs)["spec"]
    assert not by_kind(objs, "ConfigMap")
    assert [v["name"] for v in pod(objs)["spec"]["volumes"]] == ["tmp"]


def test_intermediate_sends_to_the_node_agent_without_a_sidecar():
    objs = render("intermediate")
    env = env_map(app_container(objs))
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"http://{OBS_RELEASE}-otel-collector-agent.{OBS_NAMESPACE}.svc:4318"
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    assert "initContainers" not in pod(objs)["spec"]
    assert not by_kind(objs, "ConfigMap")
    assert not any(k.startswith("checksum/") for k in pod(objs)["metadata"]["annotations"])
    # The stack of that tier carries logs and metrics, not traces.
    assert (env["OTEL_TRACES_EXPORTER"], env["OTEL_METRICS_EXPORTER"], env["OTEL_LOGS_EXPORTER"]) == ("none", "otlp", "otlp")


def _obs_service(tier: str, host: str) -> dict[str, Any]:
    """The Service of the obs chart (rendered for the tier) that host:port names."""
    name, ns = host.split(".")[:2]
    found = [o for o in render_tier(tier) if o["kind"] == "Service" and o["metadata"]["name"] == name]
    assert found, f"the obs chart ({tier}) renders no Service {name}"
    assert found[0]["metadata"]["namespace"] == ns
    return found[0]


def test_agent_endpoint_is_the_obs_agent_service_on_the_same_node():
    url = env_map(app_container(render("intermediate")))["OTEL_EXPORTER_OTLP_ENDPOINT"]
    host, port = re.fullmatch(r"http://([^:/]+):(\d+)", url).groups()
    svc = _obs_service("intermediate", host)
    assert svc["spec"]["internalTrafficPolicy"] == "Local"
    assert {p["port"]: p["name"] for p in svc["spec"]["ports"]}[int(port)] == "otlp-http"


@pytest.mark.parametrize("tier", SIDECAR_TIERS)
def test_sidecar_tiers_run_a_native_sidecar(tier):
    objs = render(tier)
    spec = pod(objs)["spec"]
    c = sidecar(objs)
    assert c["restartPolicy"] == "Always"
    image = IMAGES["otelCollector"]
    assert c["image"] == f"{image.registry}/{image.repository}:{image.tag}"
    # The app sends to the sidecar on loopback, where the sidecar listens.
    cfg = sidecar_config(objs)
    env = env_map(app_container(objs))
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:4318"
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    assert cfg["receivers"]["otlp"]["protocols"]["http"]["endpoint"] == "127.0.0.1:4318"
    assert cfg["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"] == "127.0.0.1:4317"
    # The config the container reads is the ConfigMap the pod mounts.
    (cm,) = by_kind(objs, "ConfigMap")
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    config_arg = next(a for a in c["args"] if a.startswith("--config="))
    config_dir, config_file = config_arg.removeprefix("--config=").rsplit("/", 1)
    assert volumes[mounts[config_dir]]["configMap"]["name"] == cm["metadata"]["name"]
    assert config_file in cm["data"]
    assert {m["name"] for m in c["volumeMounts"]} <= set(volumes)
    # Probes hit the health_check extension's port and path.
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    health = cfg["extensions"]["health_check"]
    assert health["endpoint"] == f"${{env:{otel.ENV_POD_IP}}}:{otel.PORT_HEALTH}"
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert ports[c[probe]["httpGet"]["port"]] == otel.PORT_HEALTH
        assert c[probe]["httpGet"]["path"] == health["path"]
    assert env_map(c)[otel.ENV_POD_IP] == {"fieldRef": {"fieldPath": "status.podIP"}}
    # A changed config rolls the pods.
    assert pod(objs)["metadata"]["annotations"]["checksum/otel-sidecar-config"]
    # Port names are unique in the pod.
    names = [p["name"] for ctr in (*spec["initContainers"], *spec["containers"]) for p in ctr.get("ports", [])]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("tier", SIDECAR_TIERS)
def test_sidecar_exports_to_services_the_obs_chart_renders(tier):
    objs = render(tier)
    env = env_map(sidecar(objs))
    host, port = env[otel.ENV_GATEWAY_OTLP].rsplit(":", 1)
    assert host == f"{OBS_RELEASE}-otel-collector-gateway.{OBS_NAMESPACE}.svc"
    svc = _obs_service(tier, host)
    assert int(port) in {p["port"] for p in svc["spec"]["ports"] if p["name"] == "otlp-grpc"}
    for raw in (e.get("endpoint") for e in sidecar_config(objs)["exporters"].values()):
        if raw:
            assert ENV_REF.fullmatch(raw), f"endpoint {raw} does not come from the env"


def test_enterprise_traces_are_routed_by_trace_id_to_the_headless_gateway():
    objs = render("enterprise")
    cfg = sidecar_config(objs)
    (exporter,) = cfg["service"]["pipelines"]["traces"]["exporters"]
    lb = cfg["exporters"][exporter]
    assert component_type(exporter) == "load_balancing" and lb["routing_key"] == "traceID"
    host = env_map(sidecar(objs))[ENV_REF.fullmatch(lb["resolver"]["dns"]["hostname"]).group(1)]
    svc = _obs_service("enterprise", host)
    assert svc["spec"]["clusterIP"] == "None"
    assert int(lb["resolver"]["dns"]["port"]) in {p["port"] for p in svc["spec"]["ports"]}
    # Advanced (head sampling) has no such need.
    assert sidecar_config(render("advanced"))["service"]["pipelines"]["traces"]["exporters"] == [instrumentation.GATEWAY_EXPORTER]


def test_enterprise_keeps_audit_events_apart_marked_and_persistent():
    objs = render("enterprise")
    cfg = sidecar_config(objs)
    pipelines = cfg["service"]["pipelines"]
    audit, logs = pipelines[instrumentation.AUDIT_PIPELINE], pipelines["logs"]
    assert audit["receivers"] == logs["receivers"] == ["otlp"]
    # Every record takes exactly one way: the two filters are complements.
    (drop,) = [p for p in logs["processors"] if component_type(p) == "filter"]
    (keep,) = [p for p in audit["processors"] if component_type(p) == "filter"]
    conditions = cfg["processors"][drop]["log_conditions"]
    assert len(conditions) >= 1 and all("(audit|security)" in c for c in conditions)
    assert cfg["processors"][keep]["log_conditions"] == [" and ".join(f"not {c}" for c in conditions)]
    assert {"log.event_name", 'log.attributes["event.name"]'} == {re.match(r"IsMatch\(([^,]+),", c).group(1) for c in conditions}
    # Marked.
    (mark,) = [p for p in audit["processors"] if component_type(p) == "transform"]
    assert f'set(log.attributes["{instrumentation.AUDIT_MARK}"], true)' in cfg["processors"][mark]["log_statements"]
    # A persistent queue that retries forever and pushes back when full.
    (exporter,) = audit["exporters"]
    conf = cfg["exporters"][exporter]
    assert conf["retry_on_failure"]["enabled"] is True and conf["retry_on_failure"]["max_elapsed_time"] in ("0", "0s", 0)
    queue = conf["sending_queue"]
    assert queue["enabled"] is True and queue["block_on_overflow"] is True
    storage = cfg["extensions"][queue["storage"]]
    assert queue["storage"] in cfg["service"]["extensions"]
    # ... on an emptyDir the sidecar mounts at the storage directory.
    c = sidecar(objs)
    volumes = {v["name"]: v for v in pod(objs)["spec"]["volumes"]}
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    for directory in (storage["directory"], storage["compaction"]["directory"]):
        mount = mounts[directory]
        assert not mount.get("readOnly")
        assert quantity(volumes[mount["name"]]["emptyDir"]["sizeLimit"]) > 0
    # Nothing between the receiver and the persistent queue acknowledges early.
    assert "batch" not in audit["processors"]
    # Advanced forwards logs without the audit pipeline.
    advanced = sidecar_config(render("advanced"))
    assert set(advanced["service"]["pipelines"]) == {"traces", "metrics", "logs"}
    assert not any(component_type(p) in ("filter", "transform") for p in advanced["processors"])


# --- the sidecar's collector config ---------------------------------------------


@pytest.mark.parametrize("helm", HELMS)
@pytest.mark.parametrize("tier", SIDECAR_TIERS)
def test_sidecar_config_defines_and_uses_every_component(tier, helm):
    cfg = sidecar_config(render(tier, helm))
    assert set(cfg) <= set(KEYS["top_level"])
    service = cfg["service"]
    assert set(service) <= set(KEYS["service"])
    # Every component used is defined and every defined one used, as rendered
    # (the generator runs the same check on the data before writing it).
    assert [p for p in instrumentation.wiring_problems(cfg) if "processors must" not in p] == []
    for pipeline_id, pipeline in service["pipelines"].items():
        assert set(pipeline) <= set(KEYS["pipeline"])
        assert component_type(pipeline_id) in ("traces", "metrics", "logs")
        assert pipeline["receivers"] and pipeline["exporters"]
        processors = [component_type(p) for p in pipeline["processors"]]
        assert processors[0] == "memory_limiter", (pipeline_id, processors)
        persistent = all(cfg["exporters"][e].get("sending_queue", {}).get("storage") for e in pipeline["exporters"])
        # batch last, but never in front of a persistent queue.
        assert (processors[-1] == "batch") is not persistent, (pipeline_id, processors)
    # Its own telemetry binds no port in the app's network namespace.
    assert service["telemetry"] == {"metrics": {"level": "none"}}


@pytest.mark.parametrize("tier", SIDECAR_TIERS)
def test_sidecar_component_types_and_keys_belong_to_pinned_version(tier):
    cfg = sidecar_config(render(tier))
    found = []
    for kind in ("receivers", "processors", "exporters", "extensions"):
        for component_id, conf in cfg.get(kind, {}).items():
            found += _component_problems(kind, component_id, conf)
    assert not found, "\n".join(found)


def test_key_table_catches_a_wrong_queue_key():
    assert _component_problems("exporters", "otlp_grpc", {"sending_queue": {"blocking": True}})
    assert _component_problems("processors", "filter", {"log_condition": []})
    assert not _component_problems("exporters", "otlp_grpc", {"sending_queue": {"block_on_overflow": True}})


@pytest.mark.parametrize("tier", SIDECAR_TIERS)
def test_every_env_reference_of_the_sidecar_config_is_set(tier):
    objs = render(tier)
    cfg = sidecar_config(objs)
    refs = set(ENV_REF.findall(yaml.safe_dump(cfg)))
    assert refs
    assert refs <= set(env_map(sidecar(objs))), f"unset: {refs - set(env_map(sidecar(objs)))}"


# --- environment, samplers ----------------------------------------------------------


@pytest.mark.parametrize("tier", TIER_ORDER)
def test_env_order_satisfies_dependent_expansion(tier):
    spec = pod(render(tier))["spec"]
    for c in (*spec.get("initContainers", []), *spec["containers"]):
        defined: set[str] = set()
        for e in c.get("env", []):
            for ref in DEPENDENT_REF.findall(e.get("value", "")):
                assert ref in defined, f"{c['name']}: {e['name']} uses $({ref}) before it is defined"
            defined.add(e["name"])


@pytest.mark.parametrize("tier", ("intermediate", *SIDECAR_TIERS))
def test_service_name_and_resource_attributes_come_from_the_pod(tier):
    objs = render(tier)
    env = env_map(app_container(objs))
    assert env["OTEL_SERVICE_NAME"] == {"fieldRef": {"fieldPath": "metadata.labels['app.kubernetes.io/name']"}}
    assert "app.kubernetes.io/name" in pod(objs)["metadata"]["labels"]
    fields = {"K8S_POD_NAME": "metadata.name", "K8S_NAMESPACE_NAME": "metadata.namespace", "K8S_NODE_NAME": "spec.nodeName"}
    fields["K8S_POD_UID"] = "metadata.uid"
    for var, path in fields.items():
        assert env[var] == {"fieldRef": {"fieldPath": path}}
    attrs = dict(kv.split("=", 1) for kv in env["OTEL_RESOURCE_ATTRIBUTES"].split(","))
    assert attrs["k8s.pod.name"] == "$(K8S_POD_NAME)" and attrs["k8s.pod.uid"] == "$(K8S_POD_UID)"
    assert attrs["k8s.namespace.name"] == "$(K8S_NAMESPACE_NAME)" and attrs["k8s.node.name"] == "$(K8S_NODE_NAME)"
    # The app's own attributes (values.yaml) are appended.
    assert attrs["deployment.environment.name"] == "production"


def test_samplers_follow_each_tiers_trace_sampling():
    def sampler(tier):
        env = env_map(app_container(render(tier)))
        return env["OTEL_TRACES_EXPORTER"], env["OTEL_TRACES_SAMPLER"], env.get("OTEL_TRACES_SAMPLER_ARG")

    assert sampler("intermediate") == ("none", "always_off", None)
    # Advanced (head) and enterprise (tail): the gateway takes the one sampling
    # decision, so the SDK keeps every trace it starts; a ratio here would
    # multiply with the gateway's.
    assert TIERS["advanced"].trace_sampling == "head" and TIERS["enterprise"].trace_sampling == "tail"
    gateway = yaml.safe_load((ROOT / "values" / "advanced.yaml").read_text())["otelCollector"]["gateway"]["config"]["service"]["pipelines"][
        "traces"
    ]["processors"]
    assert "probabilistic_sampler" in gateway
    assert sampler("advanced") == ("otlp", "parentbased_always_on", None)
    assert sampler("enterprise") == ("otlp", "parentbased_always_on", None)


# --- security and sizing ---------------------------------------------------------------


@pytest.mark.parametrize("tier", TIER_ORDER)
def test_every_container_is_restricted_and_sized(tier):
    spec = pod(render(tier))["spec"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert spec["automountServiceAccountToken"] is False
    for c in (*spec.get("initContainers", []), *spec["containers"]):
        sc = {**spec["securityContext"], **c["securityContext"]}
        assert sc["runAsNonRoot"] is True and sc.get("runAsUser", 0) != 0, c["name"]
        assert c["securityContext"]["readOnlyRootFilesystem"] is True, c["name"]
        assert c["securityContext"]["allowPrivilegeEscalation"] is False, c["name"]
        assert c["securityContext"].get("privileged", False) is False, c["name"]
        assert c["securityContext"]["capabilities"] == {"drop": ["ALL"]}, c["name"]
        assert sc["seccompProfile"]["type"] == "RuntimeDefault", c["name"]
        res = c["resources"]
        for r in ("cpu", "memory"):
            assert quantity(res["requests"][r]) <= quantity(res["limits"][r]), (c["name"], r)


@pytest.mark.parametrize("tier", SIDECAR_TIERS)
def test_sidecar_is_sized_by_the_tier_table(tier):
    assert sidecar(render(tier))["resources"] == APP_INSTRUMENTATION[tier].sidecar.as_values()


# --- settings and failures -------------------------------------------------------------


@pytest.mark.parametrize("helm", HELMS)
def test_unknown_tier_fails_with_a_readable_message(helm):
    proc = template(helm, "obsInstrumentation.tier=platinum")
    assert proc.returncode != 0
    assert 'obsInstrumentation.tier is "platinum"; it must be one of: basic, intermediate, advanced, enterprise' in proc.stderr


@pytest.mark.parametrize("helm", HELMS)
def test_native_sidecar_needs_kubernetes_1_29(helm):
    proc = template(helm, "obsInstrumentation.tier=advanced", kube="1.28.9")
    assert proc.returncode != 0 and "needs Kubernetes 1.29 or later" in proc.stderr
    assert template(helm, "obsInstrumentation.tier=intermediate", kube="1.28.9").returncode == 0


@pytest.mark.parametrize(
    "sets,message",
    [
        (("obsInstrumentation.scrape.port=http",), 'obsInstrumentation.scrape.port is "http"'),
        (("obsInstrumentation.obs.release=Obs_1",), 'obsInstrumentation.obs.release is "Obs_1"'),
        (("obsInstrumentation.resourceAttributes.team=a\\,b",), "must not contain ','"),
    ],
)
def test_bad_settings_fail_with_a_message(sets, message):
    proc = template("helm", "obsInstrumentation.tier=intermediate", *sets)
    assert proc.returncode != 0 and message in proc.stderr, proc.stderr


def test_settings_reach_the_pod():
    objs = render(
        "enterprise",
        sets=(
            "obsInstrumentation.obs.release=observability",
            "obsInstrumentation.obs.namespace=obs-system",
            "obsInstrumentation.imageRegistry=mirror.example/hub",
            "obsInstrumentation.scrape.enabled=false",
        ),
    )
    assert _scrape_annotations(objs) == {}
    env = env_map(sidecar(objs))
    assert env[otel.ENV_GATEWAY_OTLP] == "observability-otel-collector-gateway.obs-system.svc:4317"
    assert env[otel.ENV_GATEWAY_HEADLESS] == "observability-otel-collector-gateway-headless.obs-system.svc"
    assert sidecar(objs)["image"].startswith("mirror.example/hub/otel/opentelemetry-collector-contrib:")
    agent = env_map(app_container(render("intermediate", sets=("obsInstrumentation.obs.release=observability",))))
    assert agent["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://observability-otel-collector-agent.monitoring.svc:4318"


# --- the generated table and the generator ---------------------------------------------


def test_tiers_tpl_is_what_the_generator_emits():
    text = paths.INSTRUMENTATION_TIERS.read_text()
    assert text == instrumentation.tiers_tpl(), "charts/obs-instrumentation/templates/_tiers.tpl is stale: run obsgen generate"
    assert "do not edit" in text and "obsgen generate" in text and instrumentation.SOURCE in text
    body = text.split('{{- define "obs-instrumentation.tiers" -}}\n', 1)[1].rsplit("{{- end -}}", 1)[0]
    assert yaml.safe_load(body) == instrumentation.table()


def test_modes_come_from_the_tier_table():
    table = instrumentation.table()
    assert list(table["tiers"]) == list(TIER_ORDER) == table["order"]
    expected = {"basic": "annotations", "intermediate": "agent", "advanced": "sidecar", "enterprise": "sidecar-audit"}
    assert {name: row["mode"] for name, row in table["tiers"].items()} == expected
    for name, row in table["tiers"].items():
        mode = instrumentation.MODES[APP_INSTRUMENTATION[name].mode]
        assert bool(row["env"]) is mode.otel_env
        assert (row["sidecar"] is not None) is mode.sidecar


def test_no_tier_name_decides_anything():
    """A renamed copy of a tier row gets the same instrumentation."""
    for name in TIER_ORDER:
        row = APP_INSTRUMENTATION[name]
        renamed = dataclasses.replace(TIERS[name], name="renamed")
        assert instrumentation.tier_row(renamed, row) == instrumentation.tier_row(TIERS[name], row)
    # And a row's mode switches behaviour on its own.
    swapped = instrumentation.tier_row(TIERS["advanced"], AppInstrumentation("sidecar-audit", Size("1m", "1Mi", "1m", "1Mi"), 64))
    assert instrumentation.AUDIT_PIPELINE in swapped["sidecar"]["config"]["service"]["pipelines"]


def test_generator_checks_catch_bad_wiring_and_order():
    cfg = instrumentation.sidecar_config(sig=instrumentation.Signals(True, True, True), trace_sampling=otel.Sampling("head"), audit=True)
    assert instrumentation.wiring_problems(cfg) == []
    cfg["processors"]["unused"] = {}
    assert "processors: unused is defined but unused" in instrumentation.wiring_problems(cfg)
    cfg = instrumentation.sidecar_config(sig=instrumentation.Signals(True, True, True), trace_sampling=otel.Sampling("head"), audit=True)
    cfg["service"]["pipelines"][instrumentation.AUDIT_PIPELINE]["processors"].append("batch")
    assert any("persistent queue" in p for p in instrumentation.wiring_problems(cfg))
    env = instrumentation.app_env(TIERS["advanced"], instrumentation.MODES["sidecar"])
    assert instrumentation.dependent_expansion_problems(env) == []
    assert instrumentation.dependent_expansion_problems(env[::-1])


@pytest.mark.parametrize(
    "bad",
    [
        lambda: instrumentation.tier_row(TIERS["advanced"], AppInstrumentation("daemonset")),
        lambda: instrumentation.tier_row(TIERS["advanced"], AppInstrumentation("sidecar")),  # no size
        lambda: instrumentation.tier_row(TIERS["advanced"], AppInstrumentation("sidecar-audit", Size("1m", "1Mi", "1m", "1Mi"))),
        lambda: instrumentation.tier_row(TIERS["basic"], AppInstrumentation("agent")),  # basic runs no collector
        lambda: instrumentation.sidecar_config(sig=instrumentation.Signals(True, True, False), trace_sampling=otel.Sampling(), audit=True),
    ],
)
def test_invalid_rows_are_rejected(bad):
    with pytest.raises(ValueError):
        bad()
