"""The OpenTelemetry Operator path of app instrumentation (umbrella subchart
charts/obs/charts/instrumentation).

With the operator's APIs served (helm template --api-versions stands in for
a cluster that has the CRDs), the tier's Instrumentation CR and, in the
sidecar tiers, a sidecar-mode OpenTelemetryCollector render; without them,
nothing of the path renders. The CRs cannot be validated by
kubernetes-validate (no CRD schemas), so their spec keys are checked against
a table of the operator's API types (tests/fixtures/upstream-keys/
otel-operator.yaml) and their embedded Kubernetes types strictly as a Pod.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest
import yaml

from obsgen.artifacts import instrumentation
from tests.support import k8s
from tests.support.render import RELEASE, TIERS, find, helm_template, render_tier, split
from tests.support.tools import HELMS, ROOT
from tests.test_otel_collector import _component_problems

INSTRUMENTATION_API = "opentelemetry.io/v1alpha1/Instrumentation"
COLLECTOR_API = "opentelemetry.io/v1beta1/OpenTelemetryCollector"
KEYS = yaml.safe_load((ROOT / "tests" / "fixtures" / "upstream-keys" / "otel-operator.yaml").read_text())
TABLE = instrumentation.table()["tiers"]


@cache
def render(tier: str, apis: tuple[str, ...] = (INSTRUMENTATION_API, COLLECTOR_API), helm: str = "helm") -> tuple[dict[str, Any], ...]:
    extra: list[str] = []
    for api in apis:
        extra += ["--api-versions", api]
    return tuple(split(helm_template(helm, values=(ROOT / "values" / f"{tier}.yaml",), extra=tuple(extra))))


def operator_objects(objects) -> dict[str, dict[str, Any]]:
    return {o["kind"]: o for o in objects if o["apiVersion"].startswith("opentelemetry.io/")}


@pytest.mark.parametrize("tier", TIERS)
def test_nothing_renders_without_the_operator(tier):
    assert operator_objects(render_tier(tier)) == {}


@pytest.mark.parametrize("tier", TIERS)
def test_each_tier_gets_its_mode(tier):
    objects = operator_objects(render(tier))
    mode = instrumentation.MODES[TABLE[tier]["mode"]]
    expected = set()
    if mode.otel_env:
        expected.add("Instrumentation")
    if mode.sidecar:
        expected.add("OpenTelemetryCollector")
    assert set(objects) == expected
    if "OpenTelemetryCollector" in objects:
        assert objects["OpenTelemetryCollector"]["spec"]["mode"] == "sidecar"


@pytest.mark.parametrize("helm", HELMS)
def test_both_helms_render_the_same(helm):
    assert operator_objects(render("enterprise", helm=helm)) == operator_objects(render("enterprise"))


def test_only_the_apis_the_cluster_serves_render():
    # An operator without the collector CRD still gets the Instrumentation.
    assert set(operator_objects(render("advanced", (INSTRUMENTATION_API,)))) == {"Instrumentation"}
    assert set(operator_objects(render("advanced", (COLLECTOR_API,)))) == {"OpenTelemetryCollector"}


def test_endpoints_name_rendered_services():
    # intermediate: the SDKs send to the node agent's Service (OTLP/HTTP).
    objects = render("intermediate")
    endpoint = operator_objects(objects)["Instrumentation"]["spec"]["exporter"]["endpoint"]
    host, port = endpoint.removeprefix("http://").rsplit(":", 1)
    name, namespace, svc_suffix = host.split(".")
    assert (namespace, svc_suffix) == ("monitoring", "svc")
    (svc,) = find(objects, "Service", name)
    assert svc["spec"]["internalTrafficPolicy"] == "Local"
    assert {p["name"]: p["port"] for p in svc["spec"]["ports"]}["otlp-http"] == int(port)
    # advanced and enterprise: the SDKs send to the injected sidecar, which
    # listens on loopback, and the sidecar to the gateway's Services.
    for tier in ("advanced", "enterprise"):
        objects = render(tier)
        found = operator_objects(objects)
        assert found["Instrumentation"]["spec"]["exporter"]["endpoint"] == instrumentation.SIDECAR_ENDPOINT
        collector = found["OpenTelemetryCollector"]["spec"]
        receivers = collector["config"]["receivers"]["otlp"]["protocols"]
        assert receivers["http"]["endpoint"] == instrumentation.SIDECAR_ENDPOINT.removeprefix("http://")
        env = {e["name"]: e.get("value") for e in collector["env"]}
        gateway_host, gateway_port = env["OBS_GATEWAY_OTLP"].rsplit(":", 1)
        (gateway,) = find(objects, "Service", gateway_host.split(".")[0])
        assert {p["name"]: p["port"] for p in gateway["spec"]["ports"]}["otlp-grpc"] == int(gateway_port)
        if "OBS_GATEWAY_HEADLESS" in env:
            assert find(objects, "Service", env["OBS_GATEWAY_HEADLESS"].split(".")[0])


@pytest.mark.parametrize("tier", ["advanced", "enterprise"])
def test_sidecar_is_the_library_sidecar(tier):
    """One tier row, two renderers: the operator's sidecar runs the same
    config, size and security context as the library's native sidecar."""
    spec = operator_objects(render(tier))["OpenTelemetryCollector"]["spec"]
    library = TABLE[tier]["sidecar"]
    assert spec["config"] == library["config"]
    assert spec["resources"] == library["container"]["resources"]
    assert spec["securityContext"] == library["container"]["securityContext"]
    image = library["image"]
    assert spec["image"] == f"{image['registry']}/{image['repository']}:{image['tag']}"
    assert spec["upgradeStrategy"] == "none"
    pipelines = spec["config"]["service"]["pipelines"]
    assert ("logs/audit" in pipelines) == (tier == "enterprise")
    # Every mount has its volume; the audit queue is writable and bounded.
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    for mount in spec.get("volumeMounts", []):
        assert mount["name"] in volumes and not mount.get("readOnly")
        assert volumes[mount["name"]]["emptyDir"]["sizeLimit"]


@pytest.mark.parametrize("tier", ["advanced", "enterprise"])
def test_sidecar_config_is_wired_and_uses_pinned_keys(tier):
    config = operator_objects(render(tier))["OpenTelemetryCollector"]["spec"]["config"]
    assert set(config) <= set(KEYS["OpenTelemetryCollector"]["sections"]["spec.config"])
    assert instrumentation.wiring_problems(config) == []
    found = [
        p
        for kind in ("receivers", "processors", "exporters", "extensions")
        for cid, conf in config[kind].items()
        for p in _component_problems(kind, cid, conf)
    ]
    assert found == []
    refs = instrumentation.env_references(config)
    env = {e["name"] for e in operator_objects(render(tier))["OpenTelemetryCollector"]["spec"]["env"]}
    assert refs <= env, f"the config reads variables the CR does not set: {sorted(refs - env)}"


def _spec_problems(kind: str, spec: dict[str, Any]) -> list[str]:
    table = KEYS[kind]
    found = []
    for path, allowed in table["sections"].items():
        node: Any = {"spec": spec}
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            found += [f"{kind} {path}: unknown key {k!r} ({table['ref']})" for k in node if k not in allowed]
    for path, allowed in table["enums"].items():
        node = {"spec": spec}
        parts = path.split(".")
        for part in parts:
            node = node.get(part.removesuffix("[]")) if isinstance(node, dict) else None
        values = node if isinstance(node, list) else [node] if node is not None else []
        found += [f"{kind} {path}: {v!r} is not one of {allowed}" for v in values if v not in allowed]
    return found


@pytest.mark.parametrize("tier", TIERS)
def test_cr_specs_use_the_operators_keys(tier):
    for kind, obj in operator_objects(render(tier)).items():
        assert obj["apiVersion"] == KEYS[kind]["apiVersion"]
        assert _spec_problems(kind, obj["spec"]) == []


def test_key_check_catches_a_typo_and_a_bad_enum():
    spec = dict(operator_objects(render("advanced"))["Instrumentation"]["spec"])
    spec["sampler"] = {"type": "parentbased_traceidratios", "argument": "0.1"}
    spec["exporters"] = {}
    assert len(_spec_problems("Instrumentation", spec)) == 2


@pytest.mark.parametrize("version", k8s.K8S_VERSIONS)
@pytest.mark.parametrize("tier", ["intermediate", "advanced", "enterprise"])
def test_embedded_kubernetes_types_are_valid(tier, version):
    """EnvVar, resources, security context, volumes and mounts of the CRs,
    validated strictly in the Pod the operator will put them in."""
    found = operator_objects(render(tier))
    container: dict[str, Any] = {"name": "app", "image": "example.invalid/app:1"}
    containers = [container]
    volumes: list[dict[str, Any]] = []
    if "Instrumentation" in found:
        container["env"] = found["Instrumentation"]["spec"].get("env", [])
    if "OpenTelemetryCollector" in found:
        spec = found["OpenTelemetryCollector"]["spec"]
        sidecar = {"name": "otc-container", "image": spec["image"], "restartPolicy": "Always"}
        for key in ("env", "resources", "securityContext", "volumeMounts"):
            if key in spec:
                sidecar[key] = spec[key]
        volumes = spec.get("volumes", [])
        pod_spec: dict[str, Any] = {"initContainers": [sidecar], "containers": containers, "volumes": volumes}
    else:
        pod_spec = {"containers": containers}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"{RELEASE}-{tier}-check", "namespace": "shop"}, "spec": pod_spec}
    assert k8s.problems([pod], version) == []
