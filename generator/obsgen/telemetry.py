"""The telemetry contract: which metric and label names a service's request
telemetry uses, so rules and dashboards can be generated for it.

Two presets cover the common cases; a service may override any name. The
resolved contract is what every rule builder reads; nothing else in the
generator knows a metric name of application telemetry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from . import promql

# Bucket upper bounds (seconds) that each preset's instrumentation emits by
# default: the OTel SDKs' explicit-bucket default for
# http.server.request.duration, and prometheus_client's DEFAULT_BUCKETS.
OTEL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
# (client_golang's DefBuckets differ: Go services declare `buckets`.)
CLASSIC_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)


@dataclass(frozen=True)
class Contract:
    preset: str
    requests: str  # counter of requests
    duration: str  # histogram base name; _bucket, _sum and _count are derived
    method: str
    route: str
    status: str
    buckets: tuple[float, ...]
    selector: tuple[tuple[str, str], ...] = ()

    @property
    def duration_bucket(self) -> str:
        return f"{self.duration}_bucket"

    def matchers(self, extra: str = "") -> str:
        """`{label="value",...}` selecting this service's series, plus extra matchers."""
        parts = [promql.matcher(k, "=", v) for k, v in self.selector]
        if extra:
            parts.append(extra)
        return "{" + ", ".join(parts) + "}"

    def error_matcher(self, status_regex: str = "5..") -> str:
        return promql.matcher(self.status, "=~", status_regex)


PRESETS: Mapping[str, Contract] = {
    # OTel semantic conventions as Prometheus stores them: the request count is
    # the duration histogram's _count; dots in attribute names become '_'.
    "otel": Contract(
        preset="otel",
        requests="http_server_request_duration_seconds_count",
        duration="http_server_request_duration_seconds",
        method="http_request_method",
        route="http_route",
        status="http_response_status_code",
        buckets=OTEL_BUCKETS,
    ),
    # prometheus_client-style instrumentation (the seeds' examples).
    "prometheus-classic": Contract(
        preset="prometheus-classic",
        requests="http_requests_total",
        duration="http_request_duration_seconds",
        method="method",
        route="route",
        status="status",
        buckets=CLASSIC_BUCKETS,
    ),
}


def default_selector(preset: str, service: str, namespace: str) -> dict[str, str]:
    """How a service's series are found when the profile does not say.

    OTel metrics arrive through OTLP with job=<service.name>; classic metrics
    are scraped through the annotation jobs, which set namespace and service.
    """
    if preset == "otel":
        return {"job": service}
    return {"namespace": namespace, "service": service}


def resolve(spec: Mapping[str, Any] | None, service: str, namespace: str) -> Contract:
    """The contract of one service: its preset with the profile's overrides applied."""
    spec = spec or {}
    base = PRESETS[spec.get("preset", "otel")]
    metrics = spec.get("metrics", {})
    labels = spec.get("labels", {})
    requests = metrics.get("requests", base.requests)
    duration = metrics.get("duration", base.duration)
    if base.preset == "otel" and "duration" in metrics and "requests" not in metrics:
        requests = f"{duration}_count"
    selector = spec.get("selector") or default_selector(base.preset, service, namespace)
    return replace(
        base,
        requests=requests,
        duration=duration,
        method=labels.get("method", base.method),
        route=labels.get("route", base.route),
        status=labels.get("status", base.status),
        buckets=tuple(float(b) for b in spec.get("buckets", base.buckets)),
        selector=tuple(sorted(selector.items())),
    )


def le_matcher(threshold: float) -> str:
    """An `le` matcher for a bucket boundary that matches on Prometheus 2 and 3.

    Prometheus 3 normalises classic-histogram `le` values to float formatting
    (le="1.0"); Prometheus 2 kept what the exporter wrote (le="1"). The regex
    accepts both spellings of the same number.
    """
    text = _format(threshold)
    if "." in text:
        whole, fraction = text.split(".")
        return f'le=~"{whole}\\\\.{fraction}0*"'
    return f'le=~"{text}(\\\\.0+)?"'


def _format(value: float) -> str:
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text
