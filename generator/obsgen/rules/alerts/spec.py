"""What one entry of the alert catalogue says, and the pieces entries share.

The catalogue is one table split by area (kubernetes.py, nodes.py, …);
rules/alerts/__init__.py joins the areas and turns entries into rules.

Each entry says from which tier it is generated (min_tier, with what it requires: gates.py), its scope (one
rule for the cluster, or one per declared service or dependency), severity,
default threshold and `for`, the PromQL template, and the runbook.

Templates use <<placeholders>> (PromQL braces and Prometheus' own `$value`
and `$1` stay untouched):
  <<threshold>>                       the resolved threshold
  <<sel>>                             selector of the service's recordings
  <<service>> <<namespace>>           the service
  <<dependency>> <<dep_sel>>          the dependency, and its service's recordings
  <<REQUESTS>>, <<ERROR_RATIO>>, …    recording names (see recordings.py)

Thresholds and `for` can be overridden per profile and per service; any
alert can be disabled by name (model.Stack / model.Service).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...artifacts.otel import LOKI_EXPORTER
from .. import recordings as rec
from ..types import Runbook

# Requests per second below which service alerts stay silent: a handful of
# requests make ratios and quantiles meaningless.
MIN_REQUEST_RATE = "0.1"


@dataclass(frozen=True)
class AlertSpec:
    name: str
    min_tier: str  # first tier that generates it
    scope: str  # cluster | service | probe | dependency-service | dependency-probe
    group: str
    severity: str
    threshold: float | None
    for_: str
    expr: str
    summary: str
    description: str
    runbook: Runbook
    requires: tuple[str, ...] = ()  # capabilities that must be there (gates.py): components, job:<key>
    # Dashboard path below the Grafana base URL (dashboard_url); same
    # <<placeholders>> as expr. Static per rule: Alertmanager shows it as is.
    dashboard: str = ""


NAMES = {
    "REQUESTS": rec.REQUESTS,
    "ERROR_RATIO": rec.ERROR_RATIO,
    "LATENCY": rec.LATENCY,
    "AUTH_FAILURES": rec.AUTH_FAILURES,
    "PVC_USED": rec.PVC_USED,
    "NODE_FILESYSTEM": rec.NODE_FILESYSTEM,
    "THROTTLED": rec.CONTAINER_THROTTLED,
    "MEMORY_OF_LIMIT": rec.CONTAINER_MEMORY_OF_LIMIT,
    "MIN_RATE": MIN_REQUEST_RATE,
}

KSM = 'job="kube-state-metrics"'
P95 = '<<LATENCY>>{service="<<service>>", namespace="<<namespace>>", quantile="0.95"}'
ENOUGH_TRAFFIC = "and on (service, namespace)\n<<REQUESTS>><<sel>> > <<MIN_RATE>>"
SERVICE_CAUSES = (
    "A recent deploy of the service (compare with the rollout history)",
    "A failing dependency (database, downstream API) surfacing as errors or slowness",
    "Saturation: CPU throttling, memory pressure, connection pools",
)

# The collectors of the telemetry pipeline: agent, gateway, and Jaeger v2,
# which is a collector too and reports the same otelcol_* metrics.
COLLECTORS = 'job=~"otel-agent|otel-gateway|jaeger"'
COLLECTOR_BY = "job, namespace, pod"
# Signal kinds as the collector's exporter and receiver metrics name them.
SIGNAL_ITEMS = ("spans", "log_records", "metric_points")


def export_failure_ratio(items: str) -> str:
    # An exporter that never succeeded has no `sent` series yet: `or 0 * failed`
    # stands in for it, so a total outage still gives a ratio of 1.
    failed = f"sum by ({COLLECTOR_BY}, exporter) (rate(otelcol_exporter_send_failed_{items}_total{{{COLLECTORS}}}[5m]))"
    sent = f"sum by ({COLLECTOR_BY}, exporter) (rate(otelcol_exporter_sent_{items}_total{{{COLLECTORS}}}[5m]))"
    return f"(\n  {failed}\n/\n  ({failed} + ({sent} or 0 * {failed}))\n) > <<threshold>>"


def refused(items: str) -> str:
    return f"sum by ({COLLECTOR_BY}, receiver) (rate(otelcol_receiver_refused_{items}_total{{{COLLECTORS}}}[5m])) > 0"


def store_errors(job: str, metric: str) -> str:
    total = f'sum by (job, namespace, route) (rate({metric}{{job="{job}"}}[5m]))'
    # HTTP routes report the status code; gRPC routes (dskit) report "error".
    errors = f'sum by (job, namespace, route) (rate({metric}{{job="{job}", status_code=~"5..|error"}}[5m]))'
    return f"(\n  {errors}\n/\n  {total}\n) > <<threshold>>"


GATEWAY_LOKI = f'job="otel-gateway", exporter="{LOKI_EXPORTER}"'
