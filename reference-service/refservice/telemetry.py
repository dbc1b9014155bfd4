"""The reference service's instrumentation: request metrics named by the
telemetry contract, and a tracer whose spans go out over OTLP/HTTP.

Metric and label names are read from `obsgen.telemetry.PRESETS`, never
spelled here, so the rules and dashboards generated for a preset are tested
against exactly what an instrumented service of that preset exposes.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest

from obsgen.telemetry import PRESETS

# `_created` series double the exposition and no rule or dashboard reads them.
disable_created_metrics()

DEFAULT_SERVICE = "refservice"
DEFAULT_NAMESPACE = "default"


class RequestMetrics:
    """Request count and duration, labelled method/route/status under the preset's names."""

    def __init__(self, preset: str) -> None:
        contract = PRESETS[preset]
        self.contract = contract
        self.registry = CollectorRegistry(auto_describe=False)
        labels = (contract.method, contract.route, contract.status)
        self._duration = Histogram(
            contract.duration, "Duration of HTTP server requests.", labels, registry=self.registry, buckets=contract.buckets
        )
        # OTel conventions have no request counter: the histogram's _count is it.
        self._requests: Counter | None = None
        if contract.requests != f"{contract.duration}_count":
            if not contract.requests.endswith("_total"):
                raise ValueError(f"counter {contract.requests!r} must end in _total (prometheus_client appends it)")
            self._requests = Counter(contract.requests.removesuffix("_total"), "HTTP server requests.", labels, registry=self.registry)
        # prometheus_client's .labels() validates and locks on every call; the
        # label sets are few (bounded routes), so resolve each child once.
        self._children: dict[tuple[str, str, int], tuple[object, object | None]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            values = (method, route, str(status))
            children = (self._duration.labels(*values), self._requests.labels(*values) if self._requests else None)
            self._children[key] = children
        duration, requests = children
        duration.observe(seconds)
        if requests is not None:
            requests.inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def resolve_identity(service_flag: str | None, namespace_flag: str | None) -> tuple[str, str]:
    """Service name and namespace: the CLI flag, else OTEL_SERVICE_NAME /
    OTEL_RESOURCE_ATTRIBUTES (as the SDK reads them), else the defaults."""
    from_env = Resource.create().attributes
    env_service = str(from_env.get("service.name", ""))
    if env_service.startswith("unknown_service"):
        env_service = ""
    env_namespace = str(from_env.get("k8s.namespace.name") or from_env.get("service.namespace") or "")
    return service_flag or env_service or DEFAULT_SERVICE, namespace_flag or env_namespace or DEFAULT_NAMESPACE


def traces_endpoint(base: str) -> str:
    """`--otlp-endpoint` takes the collector's base URL like OTEL_EXPORTER_OTLP_ENDPOINT; a full /v1/traces URL also works."""
    if urlsplit(base).path.rstrip("/").endswith("/v1/traces"):
        return base
    return base.rstrip("/") + "/v1/traces"


def tracer_provider(service: str, namespace: str, otlp_endpoint: str | None) -> tuple[TracerProvider, bool]:
    """A provider whose spans are exported when an endpoint is given by flag or OTEL_* env.

    Without an endpoint spans are still created: their ids go into the logs.
    The sampler comes from OTEL_TRACES_SAMPLER/_ARG (the SDK default when unset).
    Returns the provider and whether it exports.
    """
    # Both keys: k8s.namespace.name is what the collector's k8s enrichment
    # sets, service.namespace what OTel-native backends group services by.
    resource = Resource.create({"service.name": service, "service.namespace": namespace, "k8s.namespace.name": namespace})
    provider = TracerProvider(resource=resource)
    exporting = bool(otlp_endpoint or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
    if exporting:
        # Imported only when exporting: it pulls in requests and protobuf.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=traces_endpoint(otlp_endpoint)) if otlp_endpoint else OTLPSpanExporter()
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider, exporting


def tracer(provider: TracerProvider) -> trace.Tracer:
    return provider.get_tracer("refservice")
