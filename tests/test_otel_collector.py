"""The otel-collector subchart and its generated configs.

The collector binary cannot run here, so these tests check what it would
reject at start-up: undefined or unused components, unknown component types
and keys (against tests/fixtures/upstream-keys/otelcol.yaml, the pinned
version's table), unset ${env:...} references; and what would break at run
time: processor order, endpoints that name no Service or a wrong port, port
mismatches between Services, containers and receivers. Rendered objects are
validated strictly against Kubernetes 1.29 and 1.35, with both Helm binaries.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from obsgen import contract
from obsgen.artifacts import otel, values
from obsgen.model import SPREAD_DEFAULT
from tests.support import k8s
from tests.support.render import split
from tests.support.tools import HELMS, ROOT, tool

SUBCHART = ROOT / "charts" / "obs" / "charts" / "otel-collector"
LIB = ROOT / "charts" / "obs" / "charts" / "obs-lib"
FIXTURES_DIR = ROOT / "tests" / "fixtures" / "otel"
KEYS = yaml.safe_load((ROOT / "tests" / "fixtures" / "upstream-keys" / "otelcol.yaml").read_text())
RELEASE, NAMESPACE = "obs", "monitoring"

SMALL = {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}
LARGE = {"requests": {"cpu": "200m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}


def _global(tier: str, ha: bool) -> dict[str, Any]:
    return {
        "cluster": "obs",
        "environment": "production",
        "tier": tier,
        "imageRegistry": "",
        "imagePullSecrets": [],
        "storageClass": "",
        "highAvailability": ha,
        "services": contract.values(contract.COMPONENTS),
        "spread": values.spread(SPREAD_DEFAULT),
    }


# fixture name → (global, otel.values() parameters). The lead's tier table will
# supply these parameters; the fixtures only pin representative combinations.
FIXTURES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "logs-only": (
        _global("intermediate", False),
        dict(logs=True, traces=False, metrics=False, sampling=otel.Sampling("none"), trace_backend="tempo", gateway_replicas=1),
    ),
    "no-sampling": (
        _global("intermediate", False),
        dict(logs=True, traces=True, metrics=True, sampling=otel.Sampling("none"), trace_backend="tempo", gateway_replicas=1),
    ),
    "head-sampling": (
        _global("advanced", True),
        dict(
            logs=True,
            traces=True,
            metrics=True,
            sampling=otel.Sampling("head", 10.0),
            trace_backend="jaeger",
            gateway_replicas=2,
            prometheus_replicas=2,
        ),
    ),
    "tail-sampling": (
        _global("enterprise", True),
        dict(
            logs=True,
            traces=True,
            metrics=True,
            sampling=otel.Sampling("tail"),
            trace_backend="tempo",
            gateway_replicas=3,
            prometheus_replicas=2,
        ),
    ),
}

ENV_REF = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")


def fixture_values(name: str) -> dict[str, Any]:
    glob, params = FIXTURES[name]
    ha = glob["highAvailability"]
    section = otel.values(
        enabled=True,
        agent_resources=SMALL,
        gateway_resources=LARGE,
        disruption_budget=ha,
        topology_spread=ha,
        **params,
    )
    return {"global": glob, **section}


def write_fixtures() -> None:
    for name in FIXTURES:
        header = f"# Generated from tests/test_otel_collector.py::FIXTURES[{name!r}]; regenerate: python -m tests.test_otel_collector\n"
        (FIXTURES_DIR / f"{name}.yaml").write_text(header + yaml.safe_dump(fixture_values(name), sort_keys=False))


@cache
def _chart_dir() -> Path:
    """The subchart with obs-lib vendored under charts/, as the umbrella provides it."""
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="otel-chart-"))
    chart = root / "otel-collector"
    shutil.copytree(SUBCHART, chart)
    shutil.copytree(LIB, chart / "charts" / "obs-lib")
    return chart


@cache
def render(name: str, helm: str = "helm") -> tuple[dict[str, Any], ...]:
    cmd = [tool(helm), "template", RELEASE, str(_chart_dir()), "-n", NAMESPACE, "-f", str(FIXTURES_DIR / f"{name}.yaml")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return tuple(split(proc.stdout))


def objects_of(objs, kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objs if o["kind"] == kind}


def workloads(objs) -> dict[str, dict[str, Any]]:
    """role → workload object."""
    return {
        o["spec"]["template"]["metadata"]["labels"]["obs.dev/role"]: o
        for o in objs
        if o["kind"] in ("DaemonSet", "Deployment", "StatefulSet")
    }


def config_of(objs, role: str) -> dict[str, Any]:
    cm = objects_of(objs, "ConfigMap")[f"{RELEASE}-otel-collector-{role}"]
    return yaml.safe_load(cm["data"]["config.yaml"])


def container_env(workload: dict[str, Any]) -> dict[str, Any]:
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def expand(value: str, env: dict[str, Any]) -> str:
    return ENV_REF.sub(lambda m: env[m.group(1)] if isinstance(env[m.group(1)], str) else f"<{m.group(1)}>", value)


def component_type(component_id: str) -> str:
    return component_id.split("/", 1)[0]


def walk_strings(node):
    if isinstance(node, dict):
        for v in node.values():
            yield from walk_strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk_strings(v)
    elif isinstance(node, str):
        yield node


CASES = [(name, helm) for name in FIXTURES for helm in HELMS]
ROLES = ("agent", "gateway")


# --- fixtures are current ---------------------------------------------------


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_is_what_the_generator_emits(name):
    on_disk = yaml.safe_load((FIXTURES_DIR / f"{name}.yaml").read_text())
    assert on_disk == fixture_values(name), f"tests/fixtures/otel/{name}.yaml is stale: run .venv/bin/python -m tests.test_otel_collector"


# --- collector config: what the binary validates at start-up ---------------


@pytest.mark.parametrize("name,helm", CASES)
@pytest.mark.parametrize("role", ROLES)
def test_every_component_defined_and_used(name, helm, role):
    cfg = config_of(render(name, helm), role)
    assert set(cfg) <= set(KEYS["top_level"])
    service = cfg["service"]
    assert set(service) <= set(KEYS["service"])
    for kind in ("receivers", "processors", "exporters"):
        defined = set(cfg.get(kind, {}))
        used = {c for p in service["pipelines"].values() for c in p.get(kind, [])}
        assert used <= defined, f"{role}: {kind} used but not defined: {used - defined}"
        assert defined <= used, f"{role}: {kind} defined but unused: {defined - used}"
    assert set(service.get("extensions", [])) == set(cfg.get("extensions", {}))
    for pipeline_id, pipeline in service["pipelines"].items():
        assert set(pipeline) <= set(KEYS["pipeline"])
        assert component_type(pipeline_id) in ("traces", "metrics", "logs")
        assert pipeline["receivers"] and pipeline["exporters"]


@pytest.mark.parametrize("name,helm", CASES)
@pytest.mark.parametrize("role", ROLES)
def test_memory_limiter_first_batch_last(name, helm, role):
    cfg = config_of(render(name, helm), role)
    for pipeline_id, pipeline in cfg["service"]["pipelines"].items():
        processors = [component_type(p) for p in pipeline["processors"]]
        assert processors[0] == "memory_limiter", (role, pipeline_id, processors)
        assert processors[-1] == "batch", (role, pipeline_id, processors)


def _check_keys(section: dict[str, Any], allowed: list[str], where: str) -> list[str]:
    return [f"{where}: unknown key {k!r}" for k in section if k not in allowed]


def _component_problems(kind: str, component_id: str, conf: dict[str, Any]) -> list[str]:
    ctype = component_type(component_id)
    table = KEYS[kind].get(ctype)
    if table is None:
        return [f"{kind}.{component_id}: type {ctype!r} is not in the pinned version's table"]
    where = f"{kind}.{component_id}"
    found = _check_keys(conf or {}, table["keys"], where)
    for path, allowed in table.get("sections", {}).items():
        node: Any = conf or {}
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            found += _check_keys(node, allowed, f"{where}.{path}")
    for op in (conf or {}).get("operators", []):
        allowed = table.get("operators", {}).get(op["type"])
        found += (
            [f"{where}: operator type {op['type']!r} not in table"] if allowed is None else _check_keys(op, allowed, f"{where}.operators")
        )
    for policy in (conf or {}).get("policies", []):
        policies = table.get("policies", {})
        subs = [policy, *policy.get("drop", {}).get("drop_sub_policy", [])]
        for p in subs:
            found += _check_keys(p, ["name", "type", p["type"]], f"{where}.policies")
            if p["type"] not in policies:
                found.append(f"{where}: policy type {p['type']!r} not in table")
            else:
                found += _check_keys(p[p["type"]], policies[p["type"]], f"{where}.policies.{p['name']}")
    return found


@pytest.mark.parametrize("name,helm", CASES)
@pytest.mark.parametrize("role", ROLES)
def test_component_types_and_keys_belong_to_pinned_version(name, helm, role):
    cfg = config_of(render(name, helm), role)
    found = []
    for kind in ("receivers", "processors", "exporters", "extensions"):
        for component_id, conf in cfg.get(kind, {}).items():
            found += _component_problems(kind, component_id, conf)
    assert not found, "\n".join(found)


def _telemetry_problems(section: dict, path: str = ".") -> list[str]:
    allowed = KEYS["telemetry"][path]
    problems = [f"service.telemetry {path}: unknown key {k}" for k in section if k not in allowed]
    for key, value in section.items():
        child = key if path == "." else f"{path}.{key}"
        items = value if isinstance(value, list) else [value]
        child = f"{child}[]" if isinstance(value, list) else child
        for item in items:
            if isinstance(item, dict) and child in KEYS["telemetry"]:
                problems += _telemetry_problems(item, child)
    return problems


@pytest.mark.parametrize("name", FIXTURES)
@pytest.mark.parametrize("role", ROLES)
def test_telemetry_keys_belong_to_pinned_version(name, role):
    cfg = config_of(render(name, "helm"), role)
    assert _telemetry_problems(cfg["service"]["telemetry"]) == []
    # The walk does reach the leaves: a misspelt exporter key is caught.
    broken = {"metrics": {"readers": [{"pull": {"exporter": {"prometheus": {"hots": "x"}}}}]}}
    assert _telemetry_problems(broken) == ["service.telemetry metrics.readers[].pull.exporter.prometheus: unknown key hots"]


def test_table_pins_the_image_the_generator_uses():
    assert f"{otel.IMAGE['registry']}/{otel.IMAGE['repository']}:{otel.IMAGE['tag']}" == KEYS["image"]
    assert otel.IMAGE["tag"] == KEYS["version"]
    for kind in ("receivers", "processors", "exporters", "extensions"):
        for ctype, table in KEYS[kind].items():
            assert "@v" + KEYS["version"] in table["ref"], f"{kind}.{ctype}: reference is not for the pinned version"


def test_key_check_catches_a_deprecated_name_and_a_typo():
    assert _component_problems("receivers", "filelog", {"include": ["x"]})
    assert _component_problems("processors", "batch", {"timout": "1s"})
    assert not _component_problems("processors", "batch", {"timeout": "1s"})


# --- env references, endpoints and ports ------------------------------------


@pytest.mark.parametrize("name,helm", CASES)
@pytest.mark.parametrize("role", ROLES)
def test_every_env_reference_is_set_on_the_container(name, helm, role):
    objs = render(name, helm)
    env = container_env(workloads(objs)[role])
    cfg = config_of(objs, role)
    refs = {m for s in walk_strings(cfg) for m in ENV_REF.findall(s)}
    # k8s_attributes takes a variable name, not a ${env:} reference.
    node_var = cfg["processors"].get("k8s_attributes", {}).get("filter", {}).get("node_from_env_var")
    if node_var:
        assert env.get(node_var) == {"fieldRef": {"fieldPath": "spec.nodeName"}}
    assert refs, "configs reference the release through env vars"
    assert refs <= set(env), f"{role}: unset env vars {refs - set(env)}"


def test_every_endpoint_comes_from_the_contract():
    """Each address a collector config reads is a contract Service; the umbrella's
    tests/test_wiring.py resolves the rendered addresses against the rendered Services."""
    tempo = container_env(workloads(render("tail-sampling"))["gateway"])
    jaeger = container_env(workloads(render("head-sampling"))["gateway"])
    assert tempo["OBS_TRACES_OTLP"] == f"{contract.service_name('tempo', RELEASE)}.{NAMESPACE}.svc:4317"
    assert jaeger["OBS_TRACES_OTLP"] == f"{contract.service_name('jaeger', RELEASE)}.{NAMESPACE}.svc:4317"
    assert tempo["OBS_LOKI_OTLP"] == f"http://{contract.service_name('lokiWrite', RELEASE)}.{NAMESPACE}.svc:3100/otlp"
    # Pushed metrics go to every Prometheus replica, each by its pod under the headless Service.
    headless = f"{contract.service_name('prometheusHeadless', RELEASE)}.{NAMESPACE}.svc"
    pods = f"{RELEASE}-{contract.SERVICES['prometheusHeadless'].pods}"
    assert [v for k, v in sorted(tempo.items()) if k.startswith("OBS_PROMETHEUS_OTLP")] == [
        f"http://{pods}-{i}.{headless}:9090/api/v1/otlp" for i in range(2)
    ]
    # A tier without traces is handed no trace-store address at all.
    logs_only = container_env(workloads(render("logs-only"))["gateway"])
    assert "OBS_TRACES_OTLP" not in logs_only and not [k for k in logs_only if k.startswith("OBS_PROMETHEUS_OTLP")]


@pytest.mark.parametrize("name,helm", CASES)
def test_ports_agree_between_services_containers_receivers_and_probes(name, helm):
    objs = render(name, helm)
    for role, workload in workloads(objs).items():
        (container,) = workload["spec"]["template"]["spec"]["containers"]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        cfg = config_of(objs, role)
        protocols = cfg["receivers"]["otlp"]["protocols"]
        assert int(protocols["grpc"]["endpoint"].rsplit(":", 1)[1]) == ports["otlp-grpc"]
        assert int(protocols["http"]["endpoint"].rsplit(":", 1)[1]) == ports["otlp-http"]
        health = cfg["extensions"]["health_check"]
        assert int(health["endpoint"].rsplit(":", 1)[1]) == ports["health"]
        # Internal telemetry: the pull reader binds the pod IP on the port
        # Prometheus' otel-agent/otel-gateway jobs discover as `metrics`.
        (reader,) = cfg["service"]["telemetry"]["metrics"]["readers"]
        exporter = reader["pull"]["exporter"]["prometheus"]
        assert exporter["host"] == "${env:OBS_POD_IP}" and exporter["port"] == ports["metrics"]
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert container[probe]["httpGet"]["port"] == "health"
            assert container[probe]["httpGet"]["path"] == health["path"]
        labels = workload["spec"]["template"]["metadata"]["labels"]
        for svc in objects_of(objs, "Service").values():
            if all(labels.get(k) == v for k, v in svc["spec"]["selector"].items()):
                for p in svc["spec"]["ports"]:
                    assert p["targetPort"] in ports, f"Service {svc['metadata']['name']}: targetPort {p['targetPort']} not on {role}"
                    assert ports[p["targetPort"]] == p["port"]


@pytest.mark.parametrize("name,helm", CASES)
def test_selectors_keep_agent_and_gateway_apart(name, helm):
    objs = render(name, helm)
    wl = workloads(objs)
    for svc in objects_of(objs, "Service").values():
        matched = [
            r
            for r, w in wl.items()
            if all(w["spec"]["template"]["metadata"]["labels"].get(k) == v for k, v in svc["spec"]["selector"].items())
        ]
        assert len(matched) == 1, (svc["metadata"]["name"], matched)


# --- Kubernetes objects ------------------------------------------------------


@pytest.mark.parametrize("name,helm", CASES)
@pytest.mark.parametrize("version", k8s.K8S_VERSIONS)
def test_objects_are_valid_kubernetes(name, helm, version):
    assert not k8s.problems(list(render(name, helm)), version)


def test_gateway_kind_follows_sampling():
    assert workloads(render("tail-sampling"))["gateway"]["kind"] == "StatefulSet"
    sts = workloads(render("tail-sampling"))["gateway"]
    assert sts["spec"]["serviceName"] in objects_of(render("tail-sampling"), "Service")
    assert objects_of(render("tail-sampling"), "Service")[sts["spec"]["serviceName"]]["spec"]["clusterIP"] == "None"
    for name in ("no-sampling", "head-sampling", "logs-only"):
        assert workloads(render(name))["gateway"]["kind"] == "Deployment"


def test_ha_fixtures_get_disruption_budget_and_spread():
    objs = render("tail-sampling")
    (pdb,) = [o for o in objs if o["kind"] == "PodDisruptionBudget"]
    assert pdb["spec"]["selector"]["matchLabels"]["obs.dev/role"] == "gateway"
    assert workloads(objs)["gateway"]["spec"]["template"]["spec"]["topologySpreadConstraints"]
    assert not [o for o in render("no-sampling") if o["kind"] == "PodDisruptionBudget"]


# --- security ---------------------------------------------------------------


@pytest.mark.parametrize("name", FIXTURES)
def test_gateway_is_restricted_and_has_no_token(name):
    objects = render(name)
    gw = workloads(objects)["gateway"]["spec"]["template"]["spec"]
    assert gw["automountServiceAccountToken"] is False
    # An identity of its own (for serviceAccount.annotations), bound to no role.
    assert gw["serviceAccountName"] != workloads(objects)["agent"]["spec"]["template"]["spec"]["serviceAccountName"]
    bound = {s["name"] for o in objects if o["kind"].endswith("RoleBinding") for s in o.get("subjects", [])}
    assert gw["serviceAccountName"] not in bound
    assert gw["securityContext"]["runAsNonRoot"] is True and gw["securityContext"]["runAsUser"] != 0
    (c,) = gw["containers"]
    sc = c["securityContext"]
    assert sc["runAsNonRoot"] and sc["readOnlyRootFilesystem"] and not sc["allowPrivilegeEscalation"]
    assert sc["capabilities"] == {"drop": ["ALL"]} and sc["seccompProfile"]["type"] == "RuntimeDefault"
    assert not any("hostPath" in v for v in gw["volumes"])
    assert not gw.get("hostNetwork") and not gw.get("hostPID")


@pytest.mark.parametrize("name", FIXTURES)
def test_agent_exception_is_minimal(name):
    objs = render(name)
    ds = workloads(objs)["agent"]
    spec = ds["spec"]["template"]["spec"]
    assert ds["kind"] == "DaemonSet"
    # uid 0 to read root-owned 0640 log files, but nothing else.
    assert spec["securityContext"]["runAsUser"] == 0
    (c,) = spec["containers"]
    sc = c["securityContext"]
    assert sc["capabilities"] == {"drop": ["ALL"]}, "owner permission bits suffice; no DAC capability"
    assert sc["readOnlyRootFilesystem"] and not sc["allowPrivilegeEscalation"] and not sc["privileged"]
    assert sc["seccompProfile"]["type"] == "RuntimeDefault"
    assert not spec.get("hostNetwork") and not spec.get("hostPID") and not c.get("ports", [{}])[0].get("hostPort")
    host_paths = {v["name"]: v["hostPath"]["path"] for v in spec["volumes"] if "hostPath" in v}
    assert host_paths == {"varlogpods": "/var/log/pods", "positions": "/var/lib/obs/monitoring-obs/otel-agent"}
    # Only the read-offset directory is writable, and it is where file_storage keeps them.
    writable = {m["name"]: m["mountPath"] for m in c["volumeMounts"] if not m.get("readOnly")}
    cfg = config_of(objs, "agent")
    if "file_log" in cfg["receivers"]:
        assert writable == {"positions": cfg["extensions"][cfg["receivers"]["file_log"]["storage"]]["directory"]}
    else:
        assert set(writable) <= {"positions"}
    # The token, for k8s_attributes, is on the agent only.
    assert spec["automountServiceAccountToken"] is True
    sa = objects_of(objs, "ServiceAccount")[spec["serviceAccountName"]]
    assert sa["automountServiceAccountToken"] is False
    assert "Documented exception" in (SUBCHART / "templates" / "daemonset-agent.yaml").read_text()


def test_agent_rbac_is_read_only_and_minimal():
    objs = render("tail-sampling")
    (role,) = objects_of(objs, "ClusterRole").values()
    granted = {(g, r, tuple(sorted(rule["verbs"]))) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]}
    assert granted == {
        ("", "pods", ("get", "list", "watch")),
        ("", "namespaces", ("get", "list", "watch")),
        ("apps", "replicasets", ("get", "list", "watch")),
    }
    (binding,) = objects_of(objs, "ClusterRoleBinding").values()
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"][0]["name"] == workloads(objs)["agent"]["spec"]["template"]["spec"]["serviceAccountName"]


# --- generator unit tests ----------------------------------------------------


def _processors(cfg, pipeline):
    return cfg["service"]["pipelines"][pipeline]["processors"]


def test_sampling_modes():
    sig = dict(logs=True, traces=True, metrics=True)
    none = otel.gateway_config(**sig, sampling=otel.Sampling("none"))
    assert _processors(none, "traces") == ["memory_limiter", "batch"]
    head = otel.gateway_config(**sig, sampling=otel.Sampling("head", 10.0))
    assert _processors(head, "traces") == ["memory_limiter", "probabilistic_sampler", "batch"]
    assert head["processors"]["probabilistic_sampler"]["sampling_percentage"] == 10.0
    tail = otel.gateway_config(**sig, sampling=otel.Sampling("tail"))
    assert _processors(tail, "traces") == ["memory_limiter", "tail_sampling", "batch"]
    policies = {p["name"]: p for p in tail["processors"]["tail_sampling"]["policies"]}
    assert set(policies) == {"drop-health-checks", "errors", "slow", "baseline"}
    assert policies["errors"]["status_code"]["status_codes"] == ["ERROR"]
    # Sampling only ever touches traces.
    for cfg in (none, head, tail):
        assert _processors(cfg, "logs") == ["memory_limiter", "batch"]
        assert _processors(cfg, "metrics") == ["memory_limiter", otel.PUSHED_LABELS_PROCESSOR, "batch"]


def test_agent_routes_spans_by_trace_id_only_for_tail_sampling():
    sig = dict(logs=True, traces=True, metrics=True)
    tail = otel.agent_config(**sig, sampling=otel.Sampling("tail"))
    assert tail["service"]["pipelines"]["traces"]["exporters"] == ["load_balancing/gateway"]
    assert tail["exporters"]["load_balancing/gateway"]["routing_key"] == "traceID"
    for mode in ("none", "head"):
        cfg = otel.agent_config(**sig, sampling=otel.Sampling(mode))
        assert "load_balancing/gateway" not in cfg["exporters"]
    # Logs and metrics never go through the trace-id balancer.
    assert tail["service"]["pipelines"]["logs"]["exporters"] == ["otlp_grpc/gateway"]


def test_signals_switch_pipelines_end_to_end():
    cfg = otel.agent_config(logs=True, traces=False, metrics=False, sampling=otel.Sampling())
    gw = otel.gateway_config(logs=True, traces=False, metrics=False, sampling=otel.Sampling())
    assert set(cfg["service"]["pipelines"]) == set(gw["service"]["pipelines"]) == {"logs"}
    cfg = otel.agent_config(logs=False, traces=True, metrics=False, sampling=otel.Sampling())
    assert "file_log" not in cfg["receivers"]


@pytest.mark.parametrize(
    "bad",
    [
        lambda: otel.Sampling("adaptive"),
        lambda: otel.Sampling("head", 0),
        lambda: otel.agent_config(logs=False, traces=False, metrics=False, sampling=otel.Sampling()),
        lambda: otel.values(
            enabled=True,
            logs=True,
            traces=True,
            metrics=True,
            sampling=otel.Sampling(),
            trace_backend="zipkin",
            agent_resources=SMALL,
            gateway_resources=LARGE,
            gateway_replicas=1,
            disruption_budget=False,
            topology_spread=False,
        ),
    ],
)
def test_invalid_parameters_are_rejected(bad):
    with pytest.raises(ValueError):
        bad()


def test_values_have_the_same_keys_in_every_fixture():
    shapes = set()
    for name in FIXTURES:
        v = fixture_values(name)
        shapes.add((tuple(v), tuple(v["agent"]), tuple(v["gateway"]), tuple(v["traces"])))
    assert len(shapes) == 1


if __name__ == "__main__":
    write_fixtures()
