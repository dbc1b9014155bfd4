"""The NetworkPolicies allow exactly the wiring contract's edges.

The render is the oracle: pods, their named ports and the Services in front
of them are read from `helm template`, and the rendered NetworkPolicies are
evaluated as the Kubernetes API defines them (a pod selected by some policy
admits only what one of its rules admits; a rule's peers and ports must both
match). Every edge of generator/obsgen/network.py must get through, from the
client's own pod to every pod behind the Service, and every other
(source, pod, port) must not — obs's pods, an application pod in another
namespace, and an ingress controller.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
import yaml

from obsgen import contract, network
from obsgen.workloads import BY_NAME, WORKLOADS
from tests.support import k8s
from tests.support.render import NAMESPACE, RELEASE, ROOT, TIERS, helm_template, render_profile, split

INGRESS_NS = "ingress-nginx"
UI_FROM = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": INGRESS_NS}}}]
APP = {"namespace": "shop", "labels": {"app": "checkout"}}
UI_POD = {"namespace": INGRESS_NS, "labels": {"app.kubernetes.io/name": "ingress-nginx"}}


def _generated(tier: str, tmp_path) -> list[dict[str, Any]]:
    """The tier with NetworkPolicies switched on (the profile's job below advanced) and the UIs opened to the ingress controller."""
    return render_profile({"name": f"np-{tier}", "extends": tier, "networkPolicies": {"enabled": True, "uiFrom": UI_FROM}}, tmp_path)


def _matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    selector = selector or {}
    assert set(selector) <= {"matchLabels"}, f"evaluator knows matchLabels only: {selector}"
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())


def _peer_admits(peer: dict[str, Any], src: dict[str, Any]) -> bool:
    if "ipBlock" in peer:
        return False
    ns_labels = {"kubernetes.io/metadata.name": src["namespace"]}
    if "namespaceSelector" in peer:
        return _matches(peer["namespaceSelector"], ns_labels) and _matches(peer.get("podSelector"), src["labels"])
    return src["namespace"] == NAMESPACE and _matches(peer.get("podSelector"), src["labels"])


def _port_admits(rule_port: dict[str, Any], port: dict[str, Any]) -> bool:
    if rule_port.get("protocol", "TCP") != port.get("protocol", "TCP"):
        return False
    return rule_port["port"] in (port.get("name"), port["containerPort"])


def allowed(policies: list[dict[str, Any]], src: dict[str, Any], dst_labels: dict[str, str], port: dict[str, Any]) -> bool:
    selecting = [p for p in policies if _matches(p["spec"]["podSelector"], dst_labels) and "Ingress" in p["spec"]["policyTypes"]]
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy["spec"].get("ingress") or []:
            peers_ok = not rule.get("from") or any(_peer_admits(peer, src) for peer in rule["from"])
            ports_ok = not rule.get("ports") or any(_port_admits(rp, port) for rp in rule["ports"])
            if peers_ok and ports_ok:
                return True
    return False


class Cluster:
    """What the render says: pods (by workload), their ports, and the Services."""

    def __init__(self, objects: list[dict[str, Any]]):
        self.policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
        self.pods: dict[str, dict[str, Any]] = {}  # workload name → {labels, ports, hostNetwork}
        for o in objects:
            if o["kind"] not in ("Deployment", "StatefulSet", "DaemonSet"):
                continue
            template = o["spec"]["template"]
            labels = template["metadata"]["labels"]
            (workload,) = [w for w in WORKLOADS if dict(w.selector).items() <= labels.items()] or [None]
            assert workload, f"{o['metadata']['name']}: no workload of workloads.py selects it"
            # The table's selector is the chart's, release label aside.
            assert o["spec"]["selector"]["matchLabels"] == {**dict(workload.selector), "app.kubernetes.io/instance": RELEASE}
            ports = [p for c in template["spec"]["containers"] for p in c.get("ports", [])]
            self.pods[workload.name] = {
                "labels": labels,
                "ports": ports,
                "host": bool(template["spec"].get("hostNetwork")),
                "namespace": NAMESPACE,
            }
        self.services = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Service"}

    def behind(self, service: dict[str, Any]) -> list[str]:
        return [name for name, pod in self.pods.items() if _matches({"matchLabels": service["spec"]["selector"]}, pod["labels"])]

    def target_port(self, workload: str, service: dict[str, Any], port_name: str) -> dict[str, Any] | None:
        """The container port a Service port leads to; a port the Service leaves out
        in this stack (Alertmanager's gossip with one replica) by its name, if the pod has it."""
        sps = [p for p in service["spec"]["ports"] if p["name"] == port_name]
        target = sps[0].get("targetPort", sps[0]["port"]) if sps else port_name
        ports = [p for p in self.pods[workload]["ports"] if target in (p.get("name"), p["containerPort"])]
        if not ports:
            assert not sps, f"{service['metadata']['name']}:{port_name} leads to no port of {workload}"
            return None
        (port,) = ports
        assert port.get("protocol", "TCP") == network.protocol(port_name)
        assert not sps or sps[0].get("protocol", "TCP") == network.protocol(port_name)
        return port


def _source(cluster: Cluster, client: str) -> dict[str, Any] | None:
    if client == network.APPS:
        return APP
    if client == network.UI:
        return UI_POD
    return cluster.pods.get(client)


def _check(objects: list[dict[str, Any]]) -> None:
    cluster = Cluster(objects)
    assert cluster.policies, "no NetworkPolicy rendered"
    # 1. Every edge gets through, to every pod behind its Service.
    edges: set[tuple[str, str, str]] = set()  # (client, target workload, container port name)
    for edge in network.EDGES:
        src = _source(cluster, edge.client)
        service = cluster.services.get(contract.service_name(edge.service, RELEASE))
        if src is None or service is None:
            continue  # the client or the Service does not run in this stack
        for target in cluster.behind(service):
            if cluster.pods[target]["host"]:
                continue
            for port_name in edge.ports:
                port = cluster.target_port(target, service, port_name)
                if port is None:
                    continue
                edges.add((edge.client, target, port.get("name", str(port["containerPort"]))))
                assert allowed(cluster.policies, src, cluster.pods[target]["labels"], port), (
                    f"edge {edge.client} → {edge.service}:{port_name} ({target}) is blocked"
                )
    # 2. Nothing else does.
    sources = {name: pod for name, pod in cluster.pods.items()} | {network.APPS: APP, network.UI: UI_POD}
    for target, pod in cluster.pods.items():
        if pod["host"]:
            continue
        for port in pod["ports"]:
            for client, src in sources.items():
                if allowed(cluster.policies, src, pod["labels"], port):
                    key = (client, target, port.get("name", str(port["containerPort"])))
                    # An application pod is any pod: obs's own pods are applications too.
                    via_apps = (network.APPS, target, key[2]) in edges
                    assert key in edges or via_apps, f"{client} may reach {target}:{key[2]}, which no edge allows"


@pytest.mark.parametrize("tier", TIERS)
def test_policies_allow_exactly_the_edges(tier, tmp_path):
    _check(_generated(tier, tmp_path))


def test_a_jaeger_stack_too(tmp_path):
    profile = {"name": "np-jaeger", "extends": "advanced", "traces": {"backend": "jaeger"}, "networkPolicies": {"uiFrom": UI_FROM}}
    _check(render_profile(profile, tmp_path))


def test_on_from_advanced_off_below():
    for tier in TIERS:
        values = yaml.safe_load((ROOT / "values" / f"{tier}.yaml").read_text())
        assert values["networkPolicies"]["enabled"] is (tier in ("advanced", "enterprise")), tier


def test_without_ui_sources_the_uis_take_only_their_edges(tmp_path):
    objects = split(helm_template(values=(ROOT / "values" / "enterprise.yaml",)))
    cluster = Cluster(objects)
    grafana = cluster.pods["grafana"]
    (http,) = [p for p in grafana["ports"] if p["name"] == "http"]
    assert not allowed(cluster.policies, UI_POD, grafana["labels"], http)


@pytest.mark.parametrize("version", k8s.K8S_VERSIONS)
def test_policies_are_valid_objects(version, tmp_path):
    objects = _generated("enterprise", tmp_path)
    assert k8s.problems([o for o in objects if o["kind"] == "NetworkPolicy"], version) == []


def test_every_workload_of_the_table_has_edges_or_is_host_network():
    served = {w for edge in network.EDGES for w in network.BACKENDS[edge.service]}
    assert {w.name for w in WORKLOADS} - served - network.HOST_NETWORK == set()
    assert set(BY_NAME) >= network.HOST_NETWORK


# --- the edges cover the wiring -----------------------------------------------------


def _mounted_configmaps(pod_spec: dict[str, Any]) -> set[str]:
    names = set()
    for volume in pod_spec.get("volumes", []):
        if "configMap" in volume:
            names.add(volume["configMap"]["name"])
        for source in volume.get("projected", {}).get("sources", []):
            if "configMap" in source:
                names.add(source["configMap"]["name"])
    return names


def client_connections(objects: list[dict[str, Any]]) -> set[tuple[str, str, str | None]]:
    """(workload, contract Service, port name or None) for every in-cluster address a
    workload is given: in its pod spec (env, args) and in the ConfigMaps it mounts."""
    from tests.test_wiring import addresses

    configmaps = {o["metadata"]["name"]: o for o in objects if o["kind"] == "ConfigMap"}
    by_service = {contract.service_name(key, RELEASE): key for key in contract.SERVICES}
    found = set()
    for obj in objects:
        if obj["kind"] not in ("Deployment", "StatefulSet", "DaemonSet"):
            continue
        template = obj["spec"]["template"]
        (workload,) = [w.name for w in WORKLOADS if dict(w.selector).items() <= template["metadata"]["labels"].items()]
        mounted = [configmaps[name] for name in _mounted_configmaps(template["spec"]) if name in configmaps]
        # An address in an environment variable is a connection only where a
        # config or the args read that variable (the collector's roles share
        # one environment, and each reads its part).
        read = yaml.safe_dump(mounted) + yaml.safe_dump([c.get("args", []) for c in template["spec"]["containers"]])
        spec = copy.deepcopy(template["spec"])
        for container in spec["containers"]:
            container["env"] = [e for e in container.get("env", []) if "value" not in e or e["name"] in read or ".svc" not in e["value"]]
        sources = [{"kind": "PodSpec", "metadata": {"name": obj["metadata"]["name"]}, "spec": spec}, *mounted]
        for hit in addresses(sources):
            key = by_service.get(hit.host.rsplit(".", 1)[-1])
            assert key, f"{workload}: {hit.text} names no contract Service"
            port = next((name for name, number in contract.SERVICES[key].ports.items() if number == hit.port), None)
            found.add((workload, key, port))
    found |= _scrapes(objects, by_service)
    return found


def _scrapes(objects: list[dict[str, Any]], by_service: dict[str, str]) -> set[tuple[str, str, str | None]]:
    """Prometheus' Kubernetes-discovered jobs: every Service of the release a job
    keeps (by name, and port name where the rule says) is a connection too."""
    found = set()
    config = yaml.safe_load(
        next(o for o in objects if o["kind"] == "ConfigMap" and "prometheus.yml" in o.get("data", {}))["data"]["prometheus.yml"]
    )
    for job in config.get("scrape_configs", []):
        for rule in job.get("relabel_configs", []):
            sources = rule.get("source_labels", [])
            if rule.get("action") != "keep" or not sources or sources[0] != "__meta_kubernetes_service_name":
                continue
            name_regex, _, port_regex = rule["regex"].partition(";")
            for name, key in by_service.items():
                if name in {o["metadata"]["name"] for o in objects if o["kind"] == "Service"} and re.fullmatch(name_regex, name):
                    ports = [p for p in contract.SERVICES[key].ports if not port_regex or re.fullmatch(port_regex, p)]
                    found |= {("prometheus", key, p) for p in ports}
    return found


@pytest.mark.parametrize("tier", TIERS)
def test_every_connection_the_render_wires_is_an_edge(tier):
    """The edges are not a second list to keep: every address the chart gives a
    workload (test_wiring finds them) must be an edge of network.py."""
    from tests.support.render import render_tier

    connections = client_connections(list(render_tier(tier)))
    assert connections or tier == "basic"
    for workload, service, port in sorted(connections, key=str):
        ports = {p for e in network.EDGES if e.client == workload and e.service == service for p in e.ports}
        assert ports and (port is None or port in ports), f"{workload} is wired to {service}:{port} but no edge allows it"
