"""The wiring contract: every Service name and port that crosses a subchart.

A subchart that serves a Service and a subchart that talks to it never agree
on a name by convention: both read it from `global.services`, which the
generator writes from this table. Templates name a Service by its key
(`obs-lib.serviceName`, `obs-lib.serviceHost`, `obs-lib.servicePort`,
`obs-lib.endpoint`) and tests import the same table, so a renamed Service
cannot leave a sender behind.

Service names are `<release>-<suffix>`; the release name is Helm's, so the
chart adds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class ServiceSpec:
    suffix: str  # Service name without the "<release>-" prefix
    component: str  # the component (values key) whose chart renders it
    ports: Mapping[str, int]
    # A headless Service's StatefulSet (name without "<release>-"), whose pods
    # it names: <release>-<pods>-<ordinal>.<service host>.
    pods: str = ""


def _svc(suffix: str, component: str, pods: str = "", **ports: int) -> ServiceSpec:
    return ServiceSpec(suffix, component, MappingProxyType({k.replace("_", "-"): v for k, v in ports.items()}), pods)


_OTLP = {"otlp_grpc": 4317, "otlp_http": 4318}

SERVICES: Mapping[str, ServiceSpec] = MappingProxyType(
    {
        "prometheus": _svc("prometheus", "prometheus", http=9090),
        "prometheusHeadless": _svc("prometheus-headless", "prometheus", pods="prometheus", http=9090),
        "alertmanager": _svc("alertmanager", "alertmanager", http=9093),
        "alertmanagerHeadless": _svc("alertmanager-headless", "alertmanager", http=9093, mesh_tcp=9094, mesh_udp=9094),
        # Port 80 so an Ingress or port-forward needs no port in the URL.
        "grafana": _svc("grafana", "grafana", http=80),
        "blackboxExporter": _svc("blackbox-exporter", "blackboxExporter", http=9115),
        "nodeExporter": _svc("node-exporter", "nodeExporter", metrics=9100),
        "kubeStateMetrics": _svc("kube-state-metrics", "kubeStateMetrics", http_metrics=8080, telemetry=8081),
        "otelAgent": _svc("otel-collector-agent", "otelCollector", **_OTLP, metrics=8888),
        "otelGateway": _svc("otel-collector-gateway", "otelCollector", **_OTLP, metrics=8888),
        "otelGatewayHeadless": _svc("otel-collector-gateway-headless", "otelCollector", otlp_grpc=4317),
        # Loki has the same two entry points in both modes: queries to -read,
        # pushes (/loki/api/v1/push, OTLP at /otlp) to -write.
        "lokiRead": _svc("loki-read", "loki", http=3100, grpc=9095),
        "lokiWrite": _svc("loki-write", "loki", http=3100, grpc=9095),
        "lokiMemberlist": _svc("loki-memberlist", "loki", memberlist=7946),
        "lokiBackend": _svc("loki-backend", "loki", http=3100, grpc=9095),
        "tempo": _svc("tempo", "tempo", http=3200, grpc=9095, **_OTLP),
        "tempoHeadless": _svc("tempo-headless", "tempo", http=3200),
        "jaeger": _svc("jaeger", "jaeger", query_http=16686, query_grpc=16685, **_OTLP, metrics=8888),
        "jaegerHeadless": _svc("jaeger-headless", "jaeger", query_http=16686),
    }
)


COMPONENTS: frozenset[str] = frozenset(spec.component for spec in SERVICES.values())


@dataclass(frozen=True)
class Endpoint:
    """An address a workload is given, as `[scheme://]host:port[path]` of a contract Service."""

    service: str  # key in SERVICES
    port: str  # port name of that Service
    scheme: str = ""
    path: str = ""
    with_port: bool = True  # False: the bare host (DNS resolvers add their own port)
    # One pod of a headless Service's StatefulSet, by ordinal (-1: the Service):
    # a writer that must reach every replica, not whichever one the Service picks.
    replica: int = -1

    def __post_init__(self) -> None:
        spec = SERVICES[self.service]  # KeyError: a typo in the generator, caught by every test
        if self.port not in spec.ports:
            raise ValueError(f"Service {self.service} has no port {self.port!r}")
        if self.replica >= 0 and not spec.pods:
            raise ValueError(f"Service {self.service} names no pods (not a StatefulSet's headless Service)")

    def as_values(self, env: str) -> dict[str, Any]:
        return {
            "env": env,
            "service": self.service,
            "port": self.port,
            "scheme": self.scheme,
            "path": self.path,
            "withPort": self.with_port,
            "replica": self.replica,
        }


def values(enabled: set[str] | frozenset[str]) -> dict[str, Any]:
    """`global.services`: every Service of the contract, and whether its component runs."""
    return {
        key: {"name": spec.suffix, "enabled": spec.component in enabled, "ports": dict(spec.ports), "pods": spec.pods}
        for key, spec in SERVICES.items()
    }


def service_name(key: str, release: str) -> str:
    """The rendered Service name of a contract key (what obs-lib.serviceName renders)."""
    return f"{release}-{SERVICES[key].suffix}"[:63].rstrip("-")
