"""Alert catalogue: The telemetry pipeline: collectors, the log and trace stores, the audit path.

Entries as described in rules/alerts/__init__.py; the order here is the
order of the rules in their group."""

from __future__ import annotations

from ..types import Runbook
from .spec import COLLECTOR_BY, COLLECTORS, GATEWAY_LOKI, SIGNAL_ITEMS, AlertSpec, export_failure_ratio, refused, store_errors

ALERTS: tuple[AlertSpec, ...] = (
    AlertSpec(
        name="OtelCollectorExportFailing",
        min_tier="intermediate",
        scope="cluster",
        group="telemetry-pipeline",
        dashboard="d/obs-stack-health",
        severity="warning",
        threshold=0.05,
        for_="15m",
        expr="\nor\n".join(export_failure_ratio(items) for items in SIGNAL_ITEMS),
        summary="A collector fails to export telemetry",
        description="{{ $labels.pod }}: {{ $value | humanizePercentage }} of what exporter {{ $labels.exporter }} sends fails; "
        "logs, traces or metrics are being lost.",
        runbook=Runbook(
            meaning="An OTel collector (agent, gateway or Jaeger) cannot hand data to the next hop; once its retry queue "
            "is full the data is dropped.",
            causes=(
                "The next hop (gateway, Loki, Tempo, Jaeger, Prometheus) down or rejecting writes",
                "Loki or Tempo refusing data over their limits (rate, line size, max series)",
                "A network policy between the collector and the next hop",
            ),
            checks=(
                "`kubectl logs <pod>` of the collector: the exporter's error names the reason",
                "The next hop's own health (`up` of its job, its logs)",
            ),
            queries=(
                "sum by (pod, exporter) (rate(otelcol_exporter_send_failed_log_records_total[5m]))",
                "sum by (pod, exporter) (rate(otelcol_exporter_send_failed_spans_total[5m]))",
                "otelcol_exporter_queue_size / otelcol_exporter_queue_capacity",
            ),
        ),
        requires=("otelCollector",),
    ),
    AlertSpec(
        name="OtelCollectorRefusingData",
        min_tier="intermediate",
        scope="cluster",
        group="telemetry-pipeline",
        dashboard="d/obs-stack-health",
        severity="warning",
        threshold=None,
        for_="15m",
        expr="\nor\n".join(refused(items) for items in SIGNAL_ITEMS),
        summary="A collector refuses incoming telemetry",
        description="{{ $labels.pod }} refuses {{ $value | humanize }} items/s at receiver {{ $labels.receiver }}.",
        runbook=Runbook(
            meaning="A collector's receiver turns data away, almost always because memory_limiter is over its limit; "
            "senders retry, and drop once their own buffers are full.",
            causes=(
                "More data than the collector's memory limit allows (a noisy app, a log storm)",
                "An exporter backlog holding memory (see OtelCollectorExportFailing)",
            ),
            checks=(
                "The collector's memory against its limit: `kubectl top pod <pod>`",
                "Which app sends most: the receiver's accepted items by pod",
            ),
            queries=(
                "sum by (pod, receiver) (rate(otelcol_receiver_refused_log_records_total[5m]))",
                "sum by (pod, receiver) (rate(otelcol_receiver_accepted_log_records_total[5m]))",
            ),
        ),
        requires=("otelCollector",),
    ),
    AlertSpec(
        name="OtelCollectorQueueNearlyFull",
        min_tier="intermediate",
        scope="cluster",
        group="telemetry-pipeline",
        dashboard="d/obs-stack-health",
        severity="warning",
        threshold=0.8,
        for_="10m",
        expr=(
            f"max by ({COLLECTOR_BY}, exporter, data_type) (otelcol_exporter_queue_size{{{COLLECTORS}}})\n/\n"
            f"max by ({COLLECTOR_BY}, exporter, data_type) (otelcol_exporter_queue_capacity{{{COLLECTORS}}})\n> <<threshold>>"
        ),
        summary="A collector's sending queue is nearly full",
        description="{{ $labels.pod }}: the queue of exporter {{ $labels.exporter }} is {{ $value | humanizePercentage }} full.",
        runbook=Runbook(
            meaning="An exporter sends slower than data arrives; when its queue is full, new data is dropped.",
            causes=("A slow or overloaded next hop", "A burst larger than the queue absorbs"),
            checks=("The next hop's request latency", "The exporter's failures (OtelCollectorExportFailing)"),
            queries=("otelcol_exporter_queue_size", "otelcol_exporter_queue_capacity"),
        ),
        requires=("otelCollector",),
    ),
    AlertSpec(
        name="LokiRequestErrors",
        min_tier="intermediate",
        scope="cluster",
        group="telemetry-pipeline",
        dashboard="d/obs-stack-health",
        severity="warning",
        threshold=0.05,
        for_="15m",
        expr=store_errors("loki", "loki_request_duration_seconds_count"),
        summary="Loki answers requests with errors",
        description="Loki route {{ $labels.route }}: {{ $value | humanizePercentage }} of requests fail (5xx or gRPC errors).",
        runbook=Runbook(
            meaning="Loki fails a share of its requests: pushes (logs lost after the gateway's retries) or queries "
            "(Grafana panels and log links fail).",
            causes=(
                "Object storage or the PVC unreachable or full",
                "Ingesters (write target) unhealthy or out of the ring",
                "Queries over the limits (time range, series)",
            ),
            checks=("`kubectl logs` of the Loki pods: the error of the failing route", "`/ring` on a write pod in scalable mode"),
            queries=('sum by (route, status_code) (rate(loki_request_duration_seconds_count{job="loki"}[5m]))',),
        ),
        requires=("loki",),
    ),
    AlertSpec(
        name="TempoRequestErrors",
        min_tier="advanced",
        scope="cluster",
        group="telemetry-pipeline",
        dashboard="d/obs-stack-health",
        severity="warning",
        threshold=0.05,
        for_="15m",
        expr=store_errors("tempo", "tempo_request_duration_seconds_count"),
        summary="Tempo answers requests with errors",
        description="Tempo route {{ $labels.route }}: {{ $value | humanizePercentage }} of requests fail (5xx or gRPC errors).",
        runbook=Runbook(
            meaning="Tempo fails a share of its requests: span pushes (traces lost) or trace queries.",
            causes=("Local volume or object storage full or unreachable", "Tempo over its memory limit and restarting"),
            checks=("`kubectl logs` of the Tempo pod", "Its volume usage (KubePersistentVolumeFillingUp)"),
            queries=('sum by (route, status_code) (rate(tempo_request_duration_seconds_count{job="tempo"}[5m]))',),
        ),
        requires=("tempo",),
    ),
    AlertSpec(
        name="AuditPipelineDown",
        min_tier="enterprise",
        scope="cluster",
        group="security",
        dashboard="d/obs-stack-health",
        # Audit and security events have a retention duty: losing them is a
        # compliance incident, not a degraded dashboard, hence critical.
        severity="critical",
        threshold=None,
        for_="5m",
        expr=(
            '(sum(up{job="otel-gateway"}) or vector(0)) == 0\n'
            "or\n"
            '(sum(up{job="loki"}) or vector(0)) == 0\n'
            "or\n"
            f"(\n  sum(rate(otelcol_exporter_send_failed_log_records_total{{{GATEWAY_LOKI}}}[5m])) > 0\n"
            f"  unless\n  sum(rate(otelcol_exporter_sent_log_records_total{{{GATEWAY_LOKI}}}[5m])) > 0\n)"
        ),
        summary="Audit and security events cannot reach Loki",
        description="No gateway or no Loki target is up, or the gateway's Loki exporter fails every send ({{ $value | humanize }}); "
        "audit and security events are being lost.",
        runbook=Runbook(
            meaning="The path that carries audit and security events (app sidecars → gateway → Loki) is broken: "
            "either end is down, or nothing the gateway sends to Loki succeeds. Events are buffered only briefly.",
            causes=(
                "Every gateway replica down (crash loop, OOM, node drain without a disruption budget)",
                "Every Loki target down, or Loki rejecting all pushes (storage, limits)",
                "A network policy between the gateway and Loki",
            ),
            checks=(
                "`kubectl get pods -l app.kubernetes.io/name=otel-collector` and the Loki pods",
                "The gateway's logs: the Loki exporter's error",
                "Tell the security/compliance owner how long the gap lasted once restored",
            ),
            queries=(
                'up{job=~"otel-gateway|loki"}',
                f"sum by (pod) (rate(otelcol_exporter_send_failed_log_records_total{{{GATEWAY_LOKI}}}[5m]))",
            ),
        ),
        requires=("otelCollector", "loki"),
    ),
)
