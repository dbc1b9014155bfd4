"""Who talks to whom inside obs, on which port: the edges of the wiring
contract, and the NetworkPolicies built from them.

Every edge names its client (a workload of workloads.py, or a source outside
obs) and a contract Service with the ports it uses (contract.SERVICES).
Where the tier or the profile turns NetworkPolicies on, every obs pod gets
default-deny ingress, and each workload one policy allowing exactly the
edges that end at a Service in front of it. Ports are the Services' port
names, which are the named container ports behind them, so a policy follows
a port number change in the chart.

Not covered, by nature: node-exporter runs on the host network (a policy
does not apply to it); kubelet probes come from the node, which CNIs allow.
Egress stays open: the stores reach object storage, the exporters the API
server and the probe targets, Alertmanager its receivers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .contract import SERVICES
from .workloads import BY_NAME, WORKLOADS

# Sources outside obs: applications in any namespace (OTLP to the agent and
# the gateway), and whatever the profile lets reach the UIs (its ingress
# controller, say: networkPolicies.uiFrom).
APPS = "apps"
UI = "ui"


@dataclass(frozen=True)
class Edge:
    client: str  # a workload name, APPS or UI
    service: str  # contract.SERVICES key
    ports: tuple[str, ...]  # port names of that Service
    why: str


_LOKI = ("loki", "lokiRead", "lokiWrite", "lokiBackend")
_SCRAPED = (
    # Each Prometheus replica scrapes every replica, itself included.
    ("prometheus", ("http",)),
    # On the host network no policy applies; listed so the edges stay complete.
    ("nodeExporter", ("metrics",)),
    ("alertmanager", ("http",)),
    ("blackboxExporter", ("http",)),
    ("kubeStateMetrics", ("http-metrics", "telemetry")),
    ("otelAgent", ("metrics",)),
    ("otelGateway", ("metrics",)),
    ("lokiRead", ("http",)),
    ("lokiWrite", ("http",)),
    ("lokiBackend", ("http",)),
    ("tempo", ("http",)),
    ("tempoHeadless", ("http",)),
    ("jaeger", ("metrics",)),
)

EDGES: tuple[Edge, ...] = (
    *(Edge("prometheus", service, ports, "scrape") for service, ports in _SCRAPED),
    Edge("prometheus", "alertmanagerHeadless", ("http",), "alerts, to every replica"),
    Edge("alertmanager", "alertmanagerHeadless", ("mesh-tcp", "mesh-udp"), "gossip between replicas"),
    Edge("grafana", "prometheus", ("http",), "datasource"),
    Edge("grafana", "alertmanager", ("http",), "datasource"),
    Edge("grafana", "lokiRead", ("http",), "datasource"),
    Edge("grafana", "tempo", ("http",), "datasource"),
    Edge("grafana", "jaeger", ("query-http",), "datasource"),
    Edge("otelAgent", "otelGateway", ("otlp-grpc",), "telemetry"),
    Edge("otelAgent", "otelGatewayHeadless", ("otlp-grpc",), "traces by trace id (tail sampling)"),
    Edge("otelGateway", "lokiWrite", ("http",), "logs (OTLP)"),
    Edge("otelGateway", "tempo", ("otlp-grpc",), "traces"),
    Edge("otelGateway", "jaeger", ("otlp-grpc",), "traces"),
    Edge("otelGateway", "prometheusHeadless", ("http",), "metrics (OTLP receiver), to every replica"),
    Edge("tempo", "prometheusHeadless", ("http",), "span metrics (remote write), to every replica"),
    # Loki's targets query and replicate among themselves (gRPC), and find
    # each other through memberlist.
    *(
        Edge(client, service, ports, "Loki internal")
        for client in _LOKI
        for service, ports in (
            ("lokiRead", ("http", "grpc")),
            ("lokiWrite", ("http", "grpc")),
            ("lokiBackend", ("http", "grpc")),
            ("lokiMemberlist", ("memberlist",)),
        )
    ),
    Edge(APPS, "otelAgent", ("otlp-grpc", "otlp-http"), "applications' telemetry"),
    Edge(APPS, "otelGateway", ("otlp-grpc", "otlp-http"), "applications' sidecars"),
    Edge(UI, "grafana", ("http",), "people"),
    Edge(UI, "prometheus", ("http",), "people"),
    Edge(UI, "alertmanager", ("http",), "people"),
    Edge(UI, "jaeger", ("query-http",), "people"),
)

# The workloads behind each Service (its selector picks their pods).
BACKENDS: dict[str, tuple[str, ...]] = {
    "prometheus": ("prometheus",),
    "prometheusHeadless": ("prometheus",),
    "alertmanager": ("alertmanager",),
    "alertmanagerHeadless": ("alertmanager",),
    "grafana": ("grafana",),
    "blackboxExporter": ("blackboxExporter",),
    "nodeExporter": ("nodeExporter",),
    "kubeStateMetrics": ("kubeStateMetrics",),
    "otelAgent": ("otelAgent",),
    "otelGateway": ("otelGateway",),
    "otelGatewayHeadless": ("otelGateway",),
    # One monolithic pod serves every Loki Service.
    "lokiRead": ("loki", "lokiRead"),
    "lokiWrite": ("loki", "lokiWrite"),
    "lokiBackend": ("loki", "lokiBackend"),
    "lokiMemberlist": _LOKI,
    "tempo": ("tempo",),
    "tempoHeadless": ("tempo",),
    "jaeger": ("jaeger",),
    "jaegerHeadless": ("jaeger",),
}
# Host-network pods: a NetworkPolicy does not apply to them.
HOST_NETWORK = frozenset({"nodeExporter"})

for _edge in EDGES:  # a typo in the tables would open or close the wrong port
    if _edge.service not in SERVICES or not set(_edge.ports) <= set(SERVICES[_edge.service].ports):
        raise ValueError(f"network edge {_edge}: no such Service or port in contract.SERVICES")
    if _edge.client not in BY_NAME and _edge.client not in (APPS, UI):
        raise ValueError(f"network edge {_edge}: unknown client")
if set(BACKENDS) != set(SERVICES):
    raise ValueError(f"network.BACKENDS and contract.SERVICES differ: {sorted(set(BACKENDS) ^ set(SERVICES))}")


def protocol(port: str) -> str:
    # The contract's only UDP port is Alertmanager's gossip; its name says so.
    return "UDP" if port.endswith("-udp") else "TCP"


def _peers(client: str, ui_from: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if client == APPS:
        return [{"namespaceSelector": {}}]  # any pod of any namespace
    if client == UI:
        return [dict(peer) for peer in ui_from]
    return [{"podSelector": {"matchLabels": dict(BY_NAME[client].selector)}}]


def policies(running: set[str], ui_from: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One policy per running workload: the edges ending at its Services,
    from running clients. `running`: workload names with pods in the stack."""
    out = []
    for workload in WORKLOADS:
        if workload.name not in running or workload.name in HOST_NETWORK:
            continue
        rules: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for edge in EDGES:
            if workload.name not in BACKENDS[edge.service]:
                continue
            if edge.client not in (APPS, UI) and edge.client not in running:
                continue
            peers = _peers(edge.client, ui_from)
            if not peers:
                continue
            key = tuple(sorted(edge.ports))
            for peer in peers:
                if peer not in rules.setdefault(key, []):
                    rules[key].append(peer)
        ingress = [
            {"from": peers, "ports": [{"port": port, "protocol": protocol(port)} for port in ports]}
            for ports, peers in sorted(rules.items())
        ]
        out.append({"workload": workload.name, "podSelector": dict(workload.selector), "ingress": ingress})
    return out


def running_workloads(document: dict[str, Any]) -> set[str]:
    """Workloads with pods, from the values being built (enabled components, Loki's mode)."""
    running = set()
    for workload in WORKLOADS:
        if not document[workload.component]["enabled"]:
            continue
        if workload.component == "loki":
            scalable = document["loki"]["mode"] == "scalable"
            if (workload.name == "loki") == scalable:
                continue
        running.add(workload.name)
    return running


def values(enabled: bool, document: dict[str, Any], ui_from: list[dict[str, Any]]) -> dict[str, Any]:
    """The `networkPolicies` section of the umbrella values."""
    return {
        "enabled": enabled,
        "uiFrom": [dict(peer) for peer in ui_from],
        "policies": policies(running_workloads(document), ui_from) if enabled else [],
    }
