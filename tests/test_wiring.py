"""Every in-cluster address the chart renders resolves to a rendered Service.

The oracle is the render itself, never a list kept by hand: every string of
every rendered object (env values, args, config files inside ConfigMaps,
datasource URLs, probe relabelling, exporter endpoints, memberlist joins,
peer addresses) is searched for `<host>.<release namespace>.svc[:port]`, and
each hit must name a Service of the same render that

- exposes the port (the URL scheme's default port when none is written),
- selects a workload whose pod template carries the Service's selector and
  declares the Service's target port,
- and, for a per-pod name `<pod>.<service>.<ns>.svc`, is the governing
  headless Service of a StatefulSet that has that pod.

Prometheus' Kubernetes discovery keeps targets by Service name regex; each
such regex must match at least one rendered Service, or the job scrapes
nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from tests.support.render import NAMESPACE, TIERS, helm_template, render_tier, split

ADDRESS = re.compile(
    r"(?:(?P<scheme>[a-z][a-z0-9+.-]*)://)?"
    r"(?P<host>(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+?)" + re.escape(NAMESPACE) + r"\.svc(?:\.cluster\.local)?\.?"
    r"(?::(?P<port>\d+))?"
)
DEFAULT_PORTS = {"http": 80, "https": 443, "grpc": 80, "dns": 53}
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet")


@dataclass(frozen=True)
class Hit:
    where: str
    text: str
    host: str  # everything before .<ns>.svc, without the trailing dot
    port: int | None


def _strings(node: Any, where: str):
    """Every string below node, with config files parsed so ports in them are found too."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _strings(value, f"{where}[{i}]")
    elif isinstance(node, str):
        yield where, node


def addresses(objects) -> list[Hit]:
    hits = []
    for obj in objects:
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        for path, text in _strings(obj, where):
            for m in ADDRESS.finditer(text):
                port = m.group("port")
                if port is None and m.group("scheme") in DEFAULT_PORTS:
                    port = DEFAULT_PORTS[m.group("scheme")]
                hits.append(Hit(path, m.group(0), m.group("host").rstrip("."), int(port) if port else None))
    return hits


def _pod_template(workload) -> dict[str, Any]:
    return workload["spec"]["template"]


def _backing(service, objects) -> list[dict[str, Any]]:
    """Workloads whose pods the Service selects."""
    selector = service["spec"].get("selector") or {}
    out = []
    for o in objects:
        if o["kind"] in WORKLOADS:
            labels = _pod_template(o)["metadata"].get("labels", {})
            if selector and all(labels.get(k) == v for k, v in selector.items()):
                out.append(o)
    return out


def _container_ports(workload) -> dict[str, int]:
    spec = _pod_template(workload)["spec"]
    ports = {}
    for c in spec.get("containers", []) + spec.get("initContainers", []):
        for p in c.get("ports", []):
            ports[p.get("name", str(p["containerPort"]))] = p["containerPort"]
    return ports


def wiring_problems(objects) -> list[str]:
    services = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Service"}
    statefulsets = {o["metadata"]["name"]: o for o in objects if o["kind"] == "StatefulSet"}
    problems = []
    for hit in addresses(objects):
        labels = hit.host.split(".")
        pod = None
        if len(labels) == 2:
            pod, name = labels
        elif len(labels) == 1:
            (name,) = labels
        else:
            problems.append(f"{hit.where}: {hit.text}: not a Service or per-pod name")
            continue
        service = services.get(name)
        if service is None:
            problems.append(f"{hit.where}: {hit.text}: no Service {name!r} is rendered (rendered: {', '.join(sorted(services))})")
            continue
        ports = {p["port"]: p for p in service["spec"]["ports"]}
        if hit.port is not None and hit.port not in ports:
            problems.append(f"{hit.where}: {hit.text}: Service {name} exposes {sorted(ports)}, not {hit.port}")
            continue
        backing = _backing(service, objects)
        if not backing:
            problems.append(f"{hit.where}: {hit.text}: Service {name} selects no rendered workload")
            continue
        if hit.port is not None:
            target = ports[hit.port].get("targetPort", hit.port)
            declared = [w for w in backing if target in _container_ports(w) or target in _container_ports(w).values()]
            if not declared:
                problems.append(f"{hit.where}: {hit.text}: no pod behind Service {name} declares target port {target!r}")
        if pod is not None:
            if service["spec"].get("clusterIP") != "None":
                problems.append(f"{hit.where}: {hit.text}: per-pod names need a headless Service; {name} is not")
            owners = [s for s in statefulsets.values() if s["spec"].get("serviceName") == name]
            pods = {f"{s['metadata']['name']}-{i}" for s in owners for i in range(s["spec"].get("replicas", 1))}
            if pod not in pods:
                problems.append(f"{hit.where}: {hit.text}: no StatefulSet governed by {name} has a pod {pod!r}")
    return problems


def _service_name_regexes(objects):
    """(job, regex) of each `keep` on __meta_kubernetes_service_name in the Prometheus config."""
    for obj in objects:
        if obj["kind"] != "ConfigMap" or "prometheus.yml" not in obj.get("data", {}):
            continue
        config = yaml.safe_load(obj["data"]["prometheus.yml"])
        for job in config.get("scrape_configs", []):
            for rule in job.get("relabel_configs", []):
                sources = rule.get("source_labels", [])
                if rule.get("action") == "keep" and sources and sources[0] == "__meta_kubernetes_service_name":
                    yield job["job_name"], rule["regex"].split(";")[0], _own_namespace(job)


def _own_namespace(job) -> bool:
    """Whether the job discovers in the release namespace (the apiserver job looks in `default`)."""
    for sd in job.get("kubernetes_sd_configs", []):
        namespaces = sd.get("namespaces", {})
        if namespaces.get("own_namespace") or NAMESPACE in namespaces.get("names", []):
            return True
    return False


def discovery_problems(objects) -> list[str]:
    names = [o["metadata"]["name"] for o in objects if o["kind"] == "Service"]
    problems = []
    for job, regex, own in _service_name_regexes(objects):
        if own and not any(re.fullmatch(regex, n) for n in names):
            problems.append(f"scrape job {job}: keeps Services matching {regex!r}, and no rendered Service does")
    return problems


@pytest.mark.parametrize("tier", TIERS)
def test_every_address_resolves_to_a_rendered_service(tier):
    objects = render_tier(tier)
    hits = addresses(objects)
    assert hits, "the render names no in-cluster address at all: the search is broken"
    assert wiring_problems(objects) == []


@pytest.mark.parametrize("tier", TIERS)
def test_every_discovery_regex_finds_a_service(tier):
    objects = render_tier(tier)
    assert list(_service_name_regexes(objects)), "no Service-name discovery found: the search is broken"
    assert discovery_problems(objects) == []


def test_organisation_profile_wiring(acme_values):
    objects = split(helm_template(values=(acme_values,)))
    assert wiring_problems(objects) == []
    assert discovery_problems(objects) == []


def test_jaeger_profile_wiring(tmp_path):
    """The Jaeger backend chosen in a profile, generated as a user would."""
    from obsgen import generate

    profile = tmp_path / "jaeger.yaml"
    profile.write_text("name: jaeger-shop\nextends: enterprise\ntraces:\n  backend: jaeger\n", encoding="utf-8")
    (values,) = generate.plan_profile(profile, tmp_path)
    generate.write([values])
    objects = split(helm_template(values=(values.path,)))
    assert any(o["kind"] in ("StatefulSet", "Deployment") and o["metadata"]["name"].endswith("-jaeger") for o in objects)
    assert wiring_problems(objects) == []
    assert discovery_problems(objects) == []


# --- the checker itself must be able to fail --------------------------------


def _svc(name, port, target, selector, headless=False):
    spec = {"selector": selector, "ports": [{"port": port, "targetPort": target}]}
    if headless:
        spec["clusterIP"] = "None"
    return {"kind": "Service", "metadata": {"name": name}, "spec": spec}


def _sts(name, service, labels, ports, replicas=1):
    return {
        "kind": "StatefulSet",
        "metadata": {"name": name},
        "spec": {
            "serviceName": service,
            "replicas": replicas,
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"ports": ports}]}},
        },
    }


def _cm(text):
    return {"kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"x": text}}


def test_checker_rejects_what_it_should():
    labels = {"app": "loki"}
    objects = [
        _svc("obs-loki-write", 3100, "http", labels),
        _svc("obs-loki-headless", 3100, "http", labels, headless=True),
        _sts("obs-loki", "obs-loki-headless", labels, [{"name": "http", "containerPort": 3100}], replicas=2),
    ]
    ok = [_cm(f"http://obs-loki-write.{NAMESPACE}.svc:3100/otlp and obs-loki-1.obs-loki-headless.{NAMESPACE}.svc:3100")]
    assert wiring_problems(objects + ok) == []
    for bad, reason in [
        (f"http://obs-loki.{NAMESPACE}.svc:3100/otlp", "no Service 'obs-loki'"),
        (f"obs-loki-write.{NAMESPACE}.svc:9095", "exposes [3100], not 9095"),
        (f"http://obs-loki-write.{NAMESPACE}.svc/otlp", "not 80"),
        (f"obs-loki-2.obs-loki-headless.{NAMESPACE}.svc:3100", "has a pod 'obs-loki-2'"),
        (f"obs-loki-0.obs-loki-write.{NAMESPACE}.svc:3100", "need a headless Service"),
    ]:
        problems = wiring_problems([*objects, _cm(bad)])
        assert any(reason in p for p in problems), (bad, problems)
    orphan = [_svc("obs-x", 80, "http", {"app": "x"}), _cm(f"obs-x.{NAMESPACE}.svc:80")]
    assert any("selects no rendered workload" in p for p in wiring_problems(orphan))
    wrong_port = [_svc("obs-y", 80, "web", labels), objects[2], _cm(f"obs-y.{NAMESPACE}.svc:80")]
    assert any("declares target port 'web'" in p for p in wiring_problems(wrong_port))
