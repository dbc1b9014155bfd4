"""Every dashboard obs ships, as tables of panels.

Static dashboards are module-level tables. Four read the profile and are
built by small functions: dependencies (the declared caller → dependency
pairs), SLO (the burn-rate windows the SLO rules record), security (the
security alerts of the catalogue) and business (the KPIs services declare).

Queries read recordings wherever one exists (RED, USE, SLO), so a panel
costs a lookup rather than a scan of raw samples; raw exporter series are
read where no recording exists. Every selector carries the cluster
variable. Templates use Grafana variables only ($cluster, $service, …,
$__rate_interval); obsgen.dashboards.interpolate substitutes them for checks.
"""

from __future__ import annotations

import re

from .. import promql
from ..model import Stack
from ..rules import alerts as alert_catalogue
from ..rules import recordings as rec
from .sources import recorded
from .spec import CLUSTER, DashboardSpec, Link, Panel, Query, Row, Variable

# Stable uids: alerts (dashboard_url) and links point at them.
STACK_HEALTH = "obs-stack-health"
ALERTS = "obs-alerts"
RED = "obs-red"
DEPENDENCIES = "obs-dependencies"
USE = "obs-use"
RUNTIME = "obs-runtime"
SLO = "obs-slo"
SECURITY = "obs-security"
BUSINESS = "obs-business"
CONTROL_PLANE = "obs-control-plane"

# SLO recordings (names fixed by the SLO engine's contract).
SLO_OBJECTIVE = "slo:objective:ratio"
SLO_BUDGET = "slo:error_budget:ratio"
SLO_SLI_PERIOD = "slo:sli:ratio_period"
SLO_REMAINING = "slo:error_budget_remaining:ratio"
SLO_EXHAUSTION = "slo:time_to_exhaustion:seconds"
SLO_PERIOD = "slo:period:seconds"
_BURN = re.compile(r"^slo:burn_rate:ratio_rate(\w+)$")

OK, WARN, BAD = "green", "orange", "red"


def sel(*matchers: str) -> str:
    """A label matcher block with the cluster variable first."""
    return "{" + ", ".join((CLUSTER, *matchers)) + "}"


def _rate(metric: str, *matchers: str) -> str:
    return f"rate({metric}{sel(*matchers)}[$__rate_interval])"


def m(label: str, value: str, op: str = "=") -> str:
    """One label matcher, e.g. m("job", "prometheus") → job="prometheus"."""
    return f'{label}{op}"{value}"'


def _firing(*matchers: str) -> str:
    return f"ALERTS{sel(m('alertstate', 'firing'), *matchers)}"


CLUSTER_VARIABLE = Variable("cluster", "Cluster", "up", "cluster", multi=True)


def _red_link(service: str, namespace: str) -> str:
    return f"/d/{RED}?var-service={service}&var-namespace={namespace}&${{__url_time_range}}"


# --- stack health -----------------------------------------------------------

_BLACKBOX = 'job="blackbox"'
_HEALTH_PROBES = (_BLACKBOX, 'dependency=""')

_COLLECTOR_JOBS = m("job", "otel-agent|otel-gateway|jaeger", "=~")
_SIGNALS = (("spans", "spans"), ("log_records", "logs"), ("metric_points", "metrics"))
_STORE_ERRORS = m("status_code", "5..|error", "=~")

STACK_HEALTH_SPEC = DashboardSpec(
    uid=STACK_HEALTH,
    title="obs / Stack health",
    folder="Platform",
    tags=("obs", "platform", "health"),
    refresh="30s",
    time_from="now-3h",
    description="Is everything scraped, probed and alerting? The first stop of an on-call shift.",
    rows=(
        Row(
            "Targets",
            (
                Panel(
                    "Targets up",
                    "stat",
                    "percentunit",
                    (Query(f"sum(up{sel()}) / count(up{sel()})", instant=True),),
                    "Share of scrape targets whose last scrape succeeded.",
                    width=6,
                    height=5,
                    thresholds=((None, BAD), (0.9, WARN), (0.99, OK)),
                ),
                Panel(
                    "Targets down",
                    "stat",
                    "short",
                    (Query(f"count(up{sel()} == 0) or vector(0)", instant=True),),
                    width=6,
                    height=5,
                    thresholds=((None, OK), (1, BAD)),
                ),
                Panel(
                    "Targets up by job",
                    "timeseries",
                    "short",
                    (Query(f"sum by (job) (up{sel()})", "{{job}}"),),
                    width=12,
                    height=5,
                ),
                Panel(
                    "Targets down",
                    "table",
                    "short",
                    (Query(f"up{sel()} == 0", instant=True, table=True),),
                    "Every target whose last scrape failed (Prometheus UI → Status → Targets has the error).",
                    width=24,
                    height=6,
                ),
            ),
        ),
        Row(
            "Health probes",
            (
                Panel(
                    "Failing probes",
                    "stat",
                    "short",
                    (Query(f"count(probe_success{sel(_BLACKBOX)} == 0) or vector(0)", instant=True),),
                    width=6,
                    thresholds=((None, OK), (1, BAD)),
                ),
                Panel(
                    "Probe success by service",
                    "timeseries",
                    "percentunit",
                    (Query(f"avg by (namespace, service) (probe_success{sel(*_HEALTH_PROBES)})", "{{namespace}}/{{service}}"),),
                    width=9,
                    min=0,
                    max=1,
                    links=(Link("Service dashboard", _red_link("${__field.labels.service}", "${__field.labels.namespace}")),),
                ),
                Panel(
                    "Probe duration",
                    "timeseries",
                    "s",
                    (Query(f"max by (service, endpoint) (probe_duration_seconds{sel(*_HEALTH_PROBES)})", "{{service}} {{endpoint}}"),),
                    width=9,
                ),
            ),
            requires=("probes",),
        ),
        Row(
            "Services",
            (
                Panel(
                    "Request rate by service",
                    "timeseries",
                    "reqps",
                    (Query(f"sum by (namespace, service) ({rec.REQUESTS}{sel()})", "{{namespace}}/{{service}}"),),
                    width=12,
                    links=(Link("Service dashboard", _red_link("${__field.labels.service}", "${__field.labels.namespace}")),),
                ),
                Panel(
                    "Error ratio by service",
                    "timeseries",
                    "percentunit",
                    (Query(f"max by (namespace, service) ({rec.ERROR_RATIO}{sel()})", "{{namespace}}/{{service}}"),),
                    "Share of requests answered with 5xx over 5m.",
                    width=12,
                    links=(Link("Service dashboard", _red_link("${__field.labels.service}", "${__field.labels.namespace}")),),
                ),
            ),
            requires=("services",),
        ),
        Row(
            "Alerts",
            (
                *(
                    Panel(
                        f"Firing {severity}",
                        "stat",
                        "short",
                        (Query(f"count({_firing(m('severity', severity))}) or vector(0)", instant=True),),
                        width=4,
                        height=5,
                        thresholds=((None, OK), (1, colour)),
                        links=(Link("Alerts overview", f"/d/{ALERTS}?${{__url_time_range}}"),),
                    )
                    for severity, colour in (("critical", BAD), ("warning", WARN), ("info", "blue"))
                ),
                Panel(
                    "Firing alerts by severity",
                    "timeseries",
                    "short",
                    (Query(f"count by (severity) ({_firing()})", "{{severity}}"),),
                    width=12,
                    height=5,
                    stacked=True,
                ),
            ),
            requires=("alerts",),
        ),
        Row(
            "Pipeline",
            (
                Panel(
                    "Samples ingested",
                    "timeseries",
                    "cps",
                    (Query(f"sum by (pod) ({_rate('prometheus_tsdb_head_samples_appended_total', m('job', 'prometheus'))})", "{{pod}}"),),
                    width=6,
                ),
                Panel(
                    "Head series",
                    "timeseries",
                    "short",
                    (Query(f"sum by (pod) (prometheus_tsdb_head_series{sel(m('job', 'prometheus'))})", "{{pod}}"),),
                    width=6,
                ),
                Panel(
                    "Rule evaluation failures",
                    "timeseries",
                    "cps",
                    (
                        Query(
                            f"sum by (pod, rule_group) ({_rate('prometheus_rule_evaluation_failures_total', m('job', 'prometheus'))})",
                            "{{pod}} {{rule_group}}",
                        ),
                    ),
                    width=6,
                ),
                Panel(
                    "Failed notifications",
                    "timeseries",
                    "cps",
                    (
                        Query(
                            f"sum by (integration) ({_rate('alertmanager_notifications_failed_total', m('job', 'alertmanager'))})",
                            "{{integration}}",
                        ),
                    ),
                    "Notifications Alertmanager could not deliver, by integration (Slack, PagerDuty, …).",
                    width=6,
                    requires=("job:alertmanager",),
                ),
            ),
            requires=("job:prometheus",),
        ),
        Row(
            "Telemetry pipeline",
            (
                Panel(
                    "Items exported",
                    "timeseries",
                    "cps",
                    tuple(
                        Query(f"sum by (job) ({_rate(f'otelcol_exporter_sent_{items}_total', _COLLECTOR_JOBS)})", f"{{{{job}}}} {label}")
                        for items, label in _SIGNALS
                    ),
                    "Spans, log records and metric points the collectors handed to the next hop.",
                    width=8,
                ),
                Panel(
                    "Export failures",
                    "timeseries",
                    "cps",
                    tuple(
                        Query(
                            f"sum by (pod, exporter) ({_rate(f'otelcol_exporter_send_failed_{items}_total', _COLLECTOR_JOBS)}) > 0",
                            f"{{{{pod}}}} {{{{exporter}}}} {label}",
                        )
                        for items, label in _SIGNALS
                    ),
                    "What the collectors failed to send, by exporter (OtelCollectorExportFailing).",
                    width=8,
                ),
                Panel(
                    "Sending queue fill",
                    "timeseries",
                    "percentunit",
                    (
                        Query(
                            f"max by (pod, exporter) (otelcol_exporter_queue_size{sel(_COLLECTOR_JOBS)})"
                            f" / max by (pod, exporter) (otelcol_exporter_queue_capacity{sel(_COLLECTOR_JOBS)})",
                            "{{pod}} {{exporter}}",
                        ),
                    ),
                    width=8,
                    min=0,
                    max=1,
                ),
                Panel(
                    "Loki request errors",
                    "timeseries",
                    "percentunit",
                    (
                        Query(
                            f"sum by (route) ({_rate('loki_request_duration_seconds_count', m('job', 'loki'), _STORE_ERRORS)})"
                            f" / sum by (route) ({_rate('loki_request_duration_seconds_count', m('job', 'loki'))})",
                            "{{route}}",
                        ),
                    ),
                    width=12,
                    requires=("job:loki",),
                ),
                Panel(
                    "Tempo request errors",
                    "timeseries",
                    "percentunit",
                    (
                        Query(
                            f"sum by (route) ({_rate('tempo_request_duration_seconds_count', m('job', 'tempo'), _STORE_ERRORS)})"
                            f" / sum by (route) ({_rate('tempo_request_duration_seconds_count', m('job', 'tempo'))})",
                            "{{route}}",
                        ),
                    ),
                    width=12,
                    requires=("job:tempo",),
                ),
            ),
            requires=("job:otelGateway",),
        ),
    ),
    variables=(CLUSTER_VARIABLE,),
)

# --- alerts overview ----------------------------------------------------------

ALERTS_SPEC = DashboardSpec(
    uid=ALERTS,
    title="obs / Alerts overview",
    folder="Platform",
    tags=("obs", "platform", "alerts"),
    refresh="30s",
    time_from="now-6h",
    description="What fires, for whom, and whether notifications get out.",
    rows=(
        Row(
            "Firing",
            (
                *(
                    Panel(
                        f"{severity.capitalize()}",
                        "stat",
                        "short",
                        (Query(f"count({_firing(m('severity', severity))}) or vector(0)", instant=True),),
                        width=4,
                        height=5,
                        thresholds=((None, OK), (1, colour)),
                    )
                    for severity, colour in (("critical", BAD), ("warning", WARN), ("info", "blue"))
                ),
                Panel(
                    "Pending",
                    "stat",
                    "short",
                    (Query(f"count(ALERTS{sel(m('alertstate', 'pending'))}) or vector(0)", instant=True),),
                    "Alerts whose condition holds but whose `for` has not elapsed yet.",
                    width=4,
                    height=5,
                ),
                Panel(
                    "Firing by team",
                    "timeseries",
                    "short",
                    (Query(f"count by (team) ({_firing()})", "{{team}}"),),
                    width=8,
                    height=5,
                    stacked=True,
                ),
                Panel(
                    "Firing alerts",
                    "table",
                    "short",
                    (Query(_firing(), instant=True, table=True),),
                    "One row per firing alert with its labels; the runbook and dashboard links are in Alertmanager.",
                    width=24,
                    height=8,
                ),
                Panel(
                    "Firing by alert",
                    "timeseries",
                    "short",
                    (Query(f"count by (alertname) ({_firing()})", "{{alertname}}"),),
                    width=24,
                    stacked=True,
                ),
            ),
        ),
        Row(
            "Delivery",
            (
                Panel(
                    "Notifications sent",
                    "timeseries",
                    "cps",
                    (
                        Query(
                            f"sum by (integration) ({_rate('alertmanager_notifications_total', m('job', 'alertmanager'))})",
                            "{{integration}}",
                        ),
                    ),
                    width=8,
                ),
                Panel(
                    "Notifications failed",
                    "timeseries",
                    "cps",
                    (
                        Query(
                            f"sum by (integration) ({_rate('alertmanager_notifications_failed_total', m('job', 'alertmanager'))})",
                            "{{integration}}",
                        ),
                    ),
                    width=8,
                ),
                Panel(
                    "Active silences",
                    "stat",
                    "short",
                    (Query(f"max(alertmanager_silences{sel(m('job', 'alertmanager'), m('state', 'active'))})", instant=True),),
                    "Silenced alerts do not notify; check none outlived its reason.",
                    width=4,
                ),
                Panel(
                    "Alerts dropped by Prometheus",
                    "stat",
                    "short",
                    (Query(f"sum(increase(prometheus_notifications_dropped_total{sel(m('job', 'prometheus'))}[$__range]))", instant=True),),
                    "Alerts Prometheus could not hand to any Alertmanager over the dashboard's time range.",
                    width=4,
                    thresholds=((None, OK), (1, BAD)),
                    requires=("job:prometheus",),
                ),
            ),
            requires=("job:alertmanager",),
        ),
    ),
    variables=(CLUSTER_VARIABLE,),
    requires=("alerts",),
)

# --- application RED ------------------------------------------------------------

_SVC = ('service="$service"', 'namespace="$namespace"')
_ROUTES = (*_SVC, 'route=~"$route"')
_SVC_PROBES = (_BLACKBOX, *_SVC, 'dependency=""')


def _p(quantile: str) -> str:
    return f"{rec.LATENCY}{sel(*_SVC, m('quantile', quantile))}"


RED_SPEC = DashboardSpec(
    uid=RED,
    title="obs / Service RED",
    folder="Services",
    tags=("obs", "services", "red"),
    refresh="10s",
    time_from="now-1h",
    description="Rate, errors and duration of one service, from the RED recordings.",
    rows=(
        Row(
            "Now",
            (
                Panel(
                    "Requests",
                    "stat",
                    "reqps",
                    (Query(f"sum({rec.REQUESTS}{sel(*_SVC)})", instant=True),),
                    width=6,
                    height=4,
                ),
                Panel(
                    "Error ratio",
                    "stat",
                    "percentunit",
                    (Query(f"{rec.ERROR_RATIO}{sel(*_SVC)}", instant=True),),
                    "5xx share over 5m; the alerts warn at 1 % and page at 5 %.",
                    width=6,
                    height=4,
                    thresholds=((None, OK), (0.01, WARN), (0.05, BAD)),
                    decimals=2,
                ),
                Panel(
                    "p95 latency",
                    "stat",
                    "s",
                    (Query(_p("0.95"), instant=True),),
                    width=6,
                    height=4,
                    thresholds=((None, OK), (0.5, WARN)),
                ),
                Panel(
                    "Health probes passing",
                    "stat",
                    "percentunit",
                    (Query(f"avg(probe_success{sel(*_SVC_PROBES)})", instant=True),),
                    width=6,
                    height=4,
                    thresholds=((None, BAD), (1, OK)),
                    requires=("probes",),
                ),
            ),
        ),
        Row(
            "Rate, errors, duration",
            (
                Panel(
                    "Requests and errors",
                    "timeseries",
                    "reqps",
                    (Query(f"{rec.REQUESTS}{sel(*_SVC)}", "requests"), Query(f"{rec.ERRORS}{sel(*_SVC)}", "5xx")),
                ),
                Panel(
                    "Error ratio",
                    "timeseries",
                    "percentunit",
                    (Query(f"{rec.ERROR_RATIO}{sel(*_SVC)}", "5xx share"),),
                    thresholds=((None, OK), (0.01, WARN), (0.05, BAD)),
                ),
                Panel(
                    "Latency",
                    "timeseries",
                    "s",
                    tuple(Query(_p(q), f"p{label}") for q, label in (("0.5", "50"), ("0.95", "95"), ("0.99", "99"))),
                    "Quantiles estimated from the duration histogram's buckets over 5m.",
                ),
            ),
        ),
        Row(
            "Routes",
            (
                Panel(
                    "Requests by route",
                    "timeseries",
                    "reqps",
                    (Query(f"sum by (route) ({rec.ROUTE_REQUESTS}{sel(*_ROUTES)})", "{{route}}"),),
                ),
                Panel(
                    "Error ratio by route",
                    "timeseries",
                    "percentunit",
                    (
                        Query(
                            f"sum by (route) ({rec.ROUTE_ERRORS}{sel(*_ROUTES)})\n/\n"
                            f"(sum by (route) ({rec.ROUTE_REQUESTS}{sel(*_ROUTES)}) > 0)",
                            "{{route}}",
                        ),
                    ),
                ),
                Panel(
                    "p95 latency by route",
                    "timeseries",
                    "s",
                    (Query(f"{rec.ROUTE_LATENCY}{sel(*_ROUTES, m('quantile', '0.95'))}", "{{route}}"),),
                ),
            ),
            min_tier="intermediate",
        ),
        Row(
            "Health probes",
            (
                Panel(
                    "Probe success",
                    "timeseries",
                    "percentunit",
                    (Query(f"avg by (endpoint) (probe_success{sel(*_SVC_PROBES)})", "{{endpoint}}"),),
                    width=12,
                    min=0,
                    max=1,
                ),
                Panel(
                    "Probe duration",
                    "timeseries",
                    "s",
                    (Query(f"max by (endpoint) (probe_duration_seconds{sel(*_SVC_PROBES)})", "{{endpoint}}"),),
                    width=12,
                ),
            ),
            requires=("probes",),
        ),
        # Reads the logs and traces datasources: rendered where the tier runs
        # Loki and a trace store (intermediate has logs, advanced adds traces).
        Row(
            "Logs and traces",
            (
                Panel(
                    "Error logs",
                    "logs",
                    "none",
                    (Query('{namespace="$namespace", service_name="$service"} |~ "(?i)error"'),),
                    width=24,
                    height=10,
                    datasource="loki",
                    requires=("logs",),
                ),
                Panel(
                    "Slow traces",
                    "table",
                    "s",
                    (Query('{resource.service.name="$service" && duration > 500ms}'),),
                    "Traces of requests slower than the p95 alert threshold; a trace id opens the trace.",
                    width=24,
                    datasource="tempo",
                    requires=("traces",),
                ),
            ),
        ),
    ),
    variables=(
        CLUSTER_VARIABLE,
        Variable("service", "Service", f"{rec.REQUESTS}{sel()}", "service"),
        Variable("namespace", "Namespace", f"{rec.REQUESTS}{sel(m('service', '$service'))}", "namespace"),
        Variable("route", "Route", f"{rec.ROUTE_REQUESTS}{sel(*_SVC)}", "route", multi=True, min_tier="intermediate"),
    ),
    requires=("services",),
    links=(Link("SLOs of this service", f"/d/{SLO}?var-service=$service&${{__url_time_range}}"),),
)

# --- infrastructure USE ------------------------------------------------------------

_NODE = ('node=~"$node"',)
_NS = ('namespace=~"$namespace"',)

USE_SPEC = DashboardSpec(
    uid=USE,
    title="obs / Infrastructure USE",
    folder="Platform",
    tags=("obs", "platform", "use"),
    refresh="15s",
    time_from="now-1h",
    description="Utilisation, saturation and errors of nodes, pods and volumes, from the USE recordings.",
    rows=(
        Row(
            "Nodes",
            (
                Panel(
                    "CPU utilisation",
                    "timeseries",
                    "percentunit",
                    (Query(f"{rec.NODE_CPU}{sel(*_NODE)}", "{{node}}"),),
                    min=0,
                    max=1,
                ),
                Panel(
                    "Load per CPU",
                    "timeseries",
                    "short",
                    (Query(f"{rec.NODE_LOAD}{sel(*_NODE)}", "{{node}}"),),
                    "1-minute load average divided by the CPU count: above 1, work queues for CPU.",
                    thresholds=((None, OK), (1, WARN)),
                ),
                Panel(
                    "Memory utilisation",
                    "timeseries",
                    "percentunit",
                    (Query(f"{rec.NODE_MEMORY}{sel(*_NODE)}", "{{node}}"),),
                    min=0,
                    max=1,
                ),
                Panel(
                    "Filesystem utilisation",
                    "timeseries",
                    "percentunit",
                    (Query(f"{rec.NODE_FILESYSTEM}{sel(*_NODE)}", "{{node}} {{mountpoint}}"),),
                    min=0,
                    max=1,
                    thresholds=((None, OK), (0.85, WARN), (0.95, BAD)),
                ),
                Panel(
                    "Network",
                    "timeseries",
                    "Bps",
                    (Query(f"{rec.NODE_NET_RX}{sel(*_NODE)}", "{{node}} in"), Query(f"-{rec.NODE_NET_TX}{sel(*_NODE)}", "{{node}} out")),
                    "Received above the axis, transmitted below.",
                ),
                Panel(
                    "Network errors",
                    "timeseries",
                    "cps",
                    (Query(f"{rec.NODE_NET_ERRORS}{sel(*_NODE)}", "{{node}}"),),
                ),
            ),
            requires=("nodeExporter",),
        ),
        Row(
            "Pods",
            (
                Panel(
                    "CPU by pod (top 20)",
                    "timeseries",
                    "short",
                    (Query(f"topk(20, {rec.POD_CPU}{sel(*_NS)})", "{{namespace}}/{{pod}}"),),
                    "CPU cores in use.",
                ),
                Panel(
                    "Memory by pod (top 20)",
                    "timeseries",
                    "bytes",
                    (Query(f"topk(20, {rec.POD_MEMORY}{sel(*_NS)})", "{{namespace}}/{{pod}}"),),
                    "Working set: what the kernel counts against the memory limit.",
                ),
                Panel(
                    "Network by namespace",
                    "timeseries",
                    "Bps",
                    (
                        Query(f"sum by (namespace) ({rec.POD_NET_RX}{sel(*_NS)})", "{{namespace}} in"),
                        Query(f"-sum by (namespace) ({rec.POD_NET_TX}{sel(*_NS)})", "{{namespace}} out"),
                    ),
                ),
                Panel(
                    "CPU throttling (top 20)",
                    "timeseries",
                    "percentunit",
                    (Query(f"topk(20, {rec.CONTAINER_THROTTLED}{sel(*_NS)})", "{{namespace}}/{{pod}} {{container}}"),),
                    "Share of CFS periods in which the container was throttled by its CPU limit.",
                    min_tier="advanced",
                    thresholds=((None, OK), (0.25, WARN)),
                ),
                Panel(
                    "Memory of limit (top 20)",
                    "timeseries",
                    "percentunit",
                    (Query(f"topk(20, {rec.CONTAINER_MEMORY_OF_LIMIT}{sel(*_NS)})", "{{namespace}}/{{pod}} {{container}}"),),
                    "Working set against the memory limit: at 100 % the container is OOM-killed.",
                    min_tier="advanced",
                    requires=("kubeStateMetrics",),
                    thresholds=((None, OK), (0.9, WARN)),
                ),
                Panel(
                    "Container restarts",
                    "timeseries",
                    "short",
                    (
                        Query(
                            "sum by (namespace) (increase(kube_pod_container_status_restarts_total"
                            f"{sel(*_NS, m('job', 'kube-state-metrics'))}[1h]))",
                            "{{namespace}}",
                        ),
                    ),
                    "Restarts over the last hour.",
                    requires=("kubeStateMetrics",),
                ),
                Panel(
                    "Pods by phase",
                    "timeseries",
                    "short",
                    (Query(f"sum by (phase) (kube_pod_status_phase{sel(*_NS, m('job', 'kube-state-metrics'))})", "{{phase}}"),),
                    requires=("kubeStateMetrics",),
                    stacked=True,
                ),
            ),
        ),
        Row(
            "Volumes",
            (
                Panel(
                    "Volume utilisation",
                    "timeseries",
                    "percentunit",
                    (Query(f"{rec.PVC_USED}{sel(*_NS)}", "{{namespace}}/{{persistentvolumeclaim}}"),),
                    width=12,
                    min=0,
                    max=1,
                    thresholds=((None, OK), (0.85, WARN), (0.97, BAD)),
                ),
                Panel(
                    "Volume space available",
                    "timeseries",
                    "bytes",
                    (
                        Query(
                            "min by (namespace, persistentvolumeclaim) ("
                            f"kubelet_volume_stats_available_bytes{sel(*_NS, m('job', 'kubelet'))})",
                            "{{namespace}}/{{persistentvolumeclaim}}",
                        ),
                    ),
                    width=12,
                ),
            ),
            requires=("job:kubelet",),
        ),
    ),
    variables=(
        CLUSTER_VARIABLE,
        Variable("node", "Node", f"{rec.NODE_CPU}{sel()}", "node", multi=True, requires=("nodeExporter",)),
        Variable("namespace", "Namespace", f"{rec.POD_CPU}{sel()}", "namespace", multi=True),
    ),
)

# --- runtime ------------------------------------------------------------------------

_JOB = ('job=~"$job"',)


def _per_target(expr: str) -> str:
    return f"sum by (job, instance) ({expr})"


RUNTIME_SPEC = DashboardSpec(
    uid=RUNTIME,
    title="obs / Runtime",
    folder="Platform",
    tags=("obs", "platform", "runtime"),
    refresh="30s",
    time_from="now-3h",
    description="Process CPU, memory, file descriptors and Go GC of every target that exposes them.",
    rows=(
        Row(
            "Process",
            (
                Panel(
                    "CPU",
                    "timeseries",
                    "short",
                    (Query(_per_target(_rate("process_cpu_seconds_total", *_JOB)), "{{job}} {{instance}}"),),
                    "CPU cores in use.",
                ),
                Panel(
                    "Resident memory",
                    "timeseries",
                    "bytes",
                    (Query(_per_target(f"process_resident_memory_bytes{sel(*_JOB)}"), "{{job}} {{instance}}"),),
                ),
                Panel(
                    "File descriptors in use",
                    "timeseries",
                    "percentunit",
                    (Query(f"process_open_fds{sel(*_JOB)}\n/\nprocess_max_fds{sel(*_JOB)}", "{{job}} {{instance}}"),),
                    thresholds=((None, OK), (0.8, WARN)),
                    min=0,
                    max=1,
                ),
            ),
        ),
        Row(
            "Go runtime",
            (
                Panel(
                    "GC pause (mean)",
                    "timeseries",
                    "s",
                    (
                        Query(
                            _per_target(_rate("go_gc_duration_seconds_sum", *_JOB))
                            + "\n/\n"
                            + f"({_per_target(_rate('go_gc_duration_seconds_count', *_JOB))} > 0)",
                            "{{job}} {{instance}}",
                        ),
                    ),
                ),
                Panel(
                    "Heap in use",
                    "timeseries",
                    "bytes",
                    (Query(_per_target(f"go_memstats_heap_inuse_bytes{sel(*_JOB)}"), "{{job}} {{instance}}"),),
                ),
                Panel(
                    "Goroutines",
                    "timeseries",
                    "short",
                    (Query(_per_target(f"go_goroutines{sel(*_JOB)}"), "{{job}} {{instance}}"),),
                ),
            ),
            min_tier="advanced",
        ),
    ),
    variables=(CLUSTER_VARIABLE, Variable("job", "Job", f"process_cpu_seconds_total{sel()}", "job", multi=True)),
    min_tier="intermediate",
)

# --- dependencies ----------------------------------------------------------------


def _tagged(expr: str, labels: dict[str, str]) -> str:
    for name, value in labels.items():
        expr = f'label_replace({expr}, "{name}", "{value}", "", "")'
    return expr


def _pairs(stack: Stack, recording: str, extra: tuple[str, ...] = ()) -> str:
    """One term per caller → declared-service dependency, tagged with both names.

    No series links a caller to its callee, so the pairs come from the profile.
    """
    terms = []
    for service in stack.services:
        for dep in service.dependencies:
            target = next((s for s in stack.services if s.name == dep.service), None)
            if target:
                selector = sel(promql.matcher("service", "=", target.name), promql.matcher("namespace", "=", target.namespace), *extra)
                terms.append(_tagged(f"{recording}{selector}", {"caller": service.name, "dependency": dep.name}))
    return "\nor\n".join(terms)


_DEP_PROBES = (_BLACKBOX, 'dependency!=""', 'service=~"$service"')


def dependencies_spec(stack: Stack) -> DashboardSpec:
    return DashboardSpec(
        uid=DEPENDENCIES,
        title="obs / Dependencies",
        folder="Services",
        tags=("obs", "services", "dependencies"),
        refresh="30s",
        time_from="now-3h",
        description="Health of what services call: declared services through their RED recordings, external endpoints through probes.",
        rows=(
            Row(
                "Declared services",
                (
                    Panel(
                        "Dependency error ratio",
                        "timeseries",
                        "percentunit",
                        (Query(_pairs(stack, rec.ERROR_RATIO), "{{caller}} → {{dependency}}"),),
                        "5xx share of the called service, for every caller that declares it.",
                        width=12,
                        thresholds=((None, OK), (0.05, WARN)),
                    ),
                    Panel(
                        "Dependency p95 latency",
                        "timeseries",
                        "s",
                        (Query(_pairs(stack, rec.LATENCY, ('quantile="0.95"',)), "{{caller}} → {{dependency}}"),),
                        width=12,
                    ),
                ),
                requires=("service-dependencies",),
            ),
            Row(
                "External endpoints",
                (
                    Panel(
                        "Failing dependencies",
                        "stat",
                        "short",
                        (Query(f"count(probe_success{sel(*_DEP_PROBES)} == 0) or vector(0)", instant=True),),
                        width=4,
                        thresholds=((None, OK), (1, WARN)),
                    ),
                    Panel(
                        "Probe success",
                        "timeseries",
                        "percentunit",
                        (Query(f"probe_success{sel(*_DEP_PROBES)}", "{{service}} → {{dependency}}"),),
                        width=10,
                        min=0,
                        max=1,
                    ),
                    Panel(
                        "Probe duration",
                        "timeseries",
                        "s",
                        (Query(f"probe_duration_seconds{sel(*_DEP_PROBES)}", "{{service}} → {{dependency}}"),),
                        width=10,
                    ),
                ),
                requires=("dependency-probes",),
            ),
            Row(
                "Alerts",
                (
                    Panel(
                        "Firing dependency alerts",
                        "table",
                        "short",
                        (Query(_firing('dependency!=""'), instant=True, table=True),),
                        width=24,
                        height=6,
                    ),
                ),
                requires=("alerts",),
            ),
        ),
        variables=(
            CLUSTER_VARIABLE,
            # Filters the probe panels, the only ones that know the caller.
            Variable(
                "service",
                "Caller",
                f"probe_success{sel(_BLACKBOX, m('dependency', '', '!='))}",
                "service",
                multi=True,
                requires=("dependency-probes",),
            ),
        ),
        min_tier="intermediate",
        requires=("dependencies",),
    )


# --- SLO & error budget ----------------------------------------------------------

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _seconds(window: str) -> int:
    return sum(int(n) * _UNITS[u] for n, u in re.findall(r"(\d+)([smhdw])", window))


def slo_windows(stack: Stack) -> tuple[str, ...]:
    """Windows the SLO rules record burn rates for, shortest first."""
    found = {m.group(1) for name in recorded(stack) if (m := _BURN.match(name))}
    return tuple(sorted(found, key=_seconds))


_SLO = ('service="$service"', 'slo="$slo"')
_SLO_KEY = "on (slo, service, namespace)"


def slo_spec(stack: Stack) -> DashboardSpec:
    windows = slo_windows(stack)
    remaining = f"{SLO_REMAINING}{sel(*_SLO)}"
    return DashboardSpec(
        uid=SLO,
        title="obs / SLOs and error budgets",
        folder="Services",
        tags=("obs", "services", "slo"),
        refresh="1m",
        time_from="now-7d",
        description="Objective, SLI, error budget and burn rates of one SLO, from the SLO recordings.",
        rows=(
            Row(
                "Budget",
                (
                    Panel(
                        "Objective",
                        "stat",
                        "percentunit",
                        (Query(f"{SLO_OBJECTIVE}{sel(*_SLO)}", instant=True),),
                        width=4,
                        height=5,
                        decimals=3,
                    ),
                    Panel(
                        "SLI over the period",
                        "stat",
                        "percentunit",
                        (Query(f"{SLO_SLI_PERIOD}{sel(*_SLO)}", instant=True),),
                        "Good events over all events since the start of the SLO period (rolling).",
                        width=5,
                        height=5,
                        decimals=3,
                    ),
                    Panel(
                        "Error budget remaining",
                        "stat",
                        "percentunit",
                        (Query(remaining, instant=True),),
                        width=5,
                        height=5,
                        thresholds=((None, BAD), (0, WARN), (0.25, OK)),
                    ),
                    Panel(
                        "Time to exhaustion",
                        "stat",
                        "s",
                        (
                            Query(
                                f"{SLO_EXHAUSTION}{sel(*_SLO)}\n"
                                f"or {_SLO_KEY} ({remaining} > 0) * 0 + Inf\n"
                                f"or {_SLO_KEY} ({remaining} <= 0) * 0",
                                instant=True,
                            ),
                        ),
                        "At the last hour's burn rate. Infinity: the budget is not burning; 0: it is spent.",
                        width=5,
                        height=5,
                        thresholds=((None, BAD), (86400, WARN), (604800, OK)),
                    ),
                    Panel(
                        "Period",
                        "stat",
                        "s",
                        (Query(f"{SLO_PERIOD}{sel(*_SLO)}", instant=True),),
                        width=5,
                        height=5,
                    ),
                ),
            ),
            Row(
                "Burn",
                (
                    Panel(
                        "Burn rate by window",
                        "timeseries",
                        "suffix:×",
                        tuple(Query(f"slo:burn_rate:ratio_rate{w}{sel(*_SLO)}", w) for w in windows),
                        "How many times faster than sustainable the budget burns; 1× spends it exactly over the period.",
                        width=12,
                        thresholds=((None, OK), (1, WARN)),
                    ),
                    Panel(
                        "Error ratio by window",
                        "timeseries",
                        "percentunit",
                        (
                            *(Query(f"slo:sli_error:ratio_rate{w}{sel(*_SLO)}", w) for w in windows),
                            Query(f"{SLO_BUDGET}{sel(*_SLO)}", "budget"),
                        ),
                        width=12,
                    ),
                ),
            ),
            Row(
                "Over time",
                (
                    Panel(
                        "Error budget remaining",
                        "timeseries",
                        "percentunit",
                        (Query(remaining, "remaining"),),
                        width=12,
                        thresholds=((None, BAD), (0, WARN), (0.25, OK)),
                    ),
                    Panel(
                        "SLI and objective",
                        "timeseries",
                        "percentunit",
                        (Query(f"{SLO_SLI_PERIOD}{sel(*_SLO)}", "SLI"), Query(f"{SLO_OBJECTIVE}{sel(*_SLO)}", "objective")),
                        width=12,
                        decimals=3,
                    ),
                ),
            ),
            Row(
                "Every SLO",
                (
                    Panel(
                        "Error budget remaining by SLO",
                        "table",
                        "percentunit",
                        (Query(f"sort({SLO_REMAINING}{sel()})", instant=True, table=True),),
                        "Least budget first.",
                        width=12,
                        height=8,
                        links=(Link("This SLO", f"/d/{SLO}?var-service=${{__data.fields.service}}&var-slo=${{__data.fields.slo}}"),),
                    ),
                    Panel(
                        "1h burn rate by SLO",
                        "timeseries",
                        "suffix:×",
                        (Query(f"slo:burn_rate:ratio_rate1h{sel()}", "{{service}} {{slo}}"),),
                        width=12,
                        height=8,
                    ),
                ),
            ),
        ),
        variables=(
            CLUSTER_VARIABLE,
            Variable("service", "Service", f"{SLO_OBJECTIVE}{sel()}", "service"),
            Variable("slo", "SLO", f"{SLO_OBJECTIVE}{sel(m('service', '$service'))}", "slo"),
        ),
        requires=("slos",),
        links=(Link("Service dashboard", f"/d/{RED}?var-service=$service&${{__url_time_range}}"),),
    )


# --- security events (enterprise) -------------------------------------------------

_POD_SECURITY = 'job="apiserver"'
_PRIVILEGED_ADMISSION = (m("decision", "allow"), m("policy_level", "privileged"), m("resource", "pod"))


def security_spec(stack: Stack) -> DashboardSpec:
    security_alerts = "|".join(a.name for a in alert_catalogue.CATALOGUE if a.group == "security")
    return DashboardSpec(
        uid=SECURITY,
        title="obs / Security events",
        folder="Security",
        tags=("obs", "security"),
        refresh="1m",
        time_from="now-24h",
        description="Rejected credentials, privileged admissions and the security alerts.",
        rows=(
            Row(
                "Services",
                (
                    Panel(
                        "401/403 answers by service",
                        "timeseries",
                        "reqps",
                        (Query(f"sum by (namespace, service) ({rec.AUTH_FAILURES}{sel()})", "{{namespace}}/{{service}}"),),
                        width=12,
                    ),
                    Panel(
                        "401/403 share by service",
                        "timeseries",
                        "percentunit",
                        (
                            Query(
                                f"sum by (namespace, service) ({rec.AUTH_FAILURES}{sel()})\n/ on (namespace, service)\n"
                                f"(sum by (namespace, service) ({rec.REQUESTS}{sel()}) > 0)",
                                "{{namespace}}/{{service}}",
                            ),
                        ),
                        width=12,
                    ),
                ),
                requires=("services",),
            ),
            Row(
                "Kubernetes API",
                (
                    Panel(
                        "Privileged pod admissions",
                        "timeseries",
                        "short",
                        (
                            Query(
                                "sum by (request_operation) (increase(pod_security_evaluations_total"
                                f"{sel(_POD_SECURITY, *_PRIVILEGED_ADMISSION)}[1h]))",
                                "{{request_operation}}",
                            ),
                        ),
                        "Pods admitted under the privileged Pod Security level, per hour.",
                        width=8,
                    ),
                    Panel(
                        "Pod Security denials",
                        "timeseries",
                        "cps",
                        (
                            Query(
                                "sum by (policy_level, mode) ("
                                f"{_rate('pod_security_evaluations_total', _POD_SECURITY, m('decision', 'deny'))})",
                                "{{policy_level}} {{mode}}",
                            ),
                        ),
                        width=8,
                    ),
                    Panel(
                        "API requests rejected (401/403)",
                        "timeseries",
                        "reqps",
                        (
                            Query(
                                f"sum by (code) ({_rate('apiserver_request_total', _POD_SECURITY, m('code', '401|403', '=~'))})", "{{code}}"
                            ),
                        ),
                        width=8,
                    ),
                ),
                requires=("job:apiserver",),
            ),
            Row(
                "Alerts",
                (
                    Panel(
                        "Firing security alerts",
                        "table",
                        "short",
                        (Query(_firing(f'alertname=~"{security_alerts}"'), instant=True, table=True),),
                        width=24,
                        height=6,
                    ),
                ),
                requires=("alerts",),
            ),
        ),
        variables=(CLUSTER_VARIABLE,),
        min_tier="enterprise",
    )


# --- business KPIs ---------------------------------------------------------------

_PER = {"second": "", "minute": " * 60", "hour": " * 3600"}


def kpi_expr(stack: Stack, namespace: str, service: str, kpi_name: str) -> str:
    svc = next(s for s in stack.services if s.name == service and s.namespace == namespace)
    kpi = next(k for k in svc.business if k.name == kpi_name)
    matchers = [promql.matcher(k, "=", v) for k, v in svc.contract.selector]
    by = f" by ({', '.join(kpi.by)})" if kpi.by else ""
    if kpi.type == "counter":
        return f"{kpi.aggregation}{by} ({_rate(kpi.metric, *matchers)}){_PER[kpi.per]}"
    return f"{kpi.aggregation}{by} ({kpi.metric}{sel(*matchers)})"


def business_spec(stack: Stack) -> DashboardSpec:
    rows = []
    for service in stack.services:
        panels = []
        for kpi in service.business:
            expr = kpi_expr(stack, service.namespace, service.name, kpi.name)
            legend = " ".join(f"{{{{{label}}}}}" for label in kpi.by) or kpi.title
            suffix = f" per {kpi.per}" if kpi.type == "counter" and kpi.per != "second" else ""
            panels.append(Panel(kpi.title, "stat", kpi.unit, (Query(expr, legend, instant=True),), kpi.description, width=6))
            panels.append(Panel(f"{kpi.title}{suffix} over time", "timeseries", kpi.unit, (Query(expr, legend),), width=18))
        if panels:
            rows.append(Row(f"{service.namespace}/{service.name}", tuple(panels)))
    return DashboardSpec(
        uid=BUSINESS,
        title="obs / Business KPIs",
        folder="Business",
        tags=("obs", "business"),
        refresh="5m",
        time_from="now-24h",
        description="The business metrics services declare in the profile (services[].business).",
        rows=tuple(rows),
        variables=(CLUSTER_VARIABLE,),
        min_tier="intermediate",
        requires=("business",),
    )


# --- control plane -----------------------------------------------------------------

_API = m("job", "apiserver")
_ETCD = m("job", "etcd")
_DNS = m("job", "coredns")
_KUBELET = sel(m("job", "kubelet"))


def _p99(metric: str, by: str, *matchers: str) -> str:
    return f"histogram_quantile(0.99, sum by ({by}le) ({_rate(metric, *matchers)}))"


CONTROL_PLANE_SPEC = DashboardSpec(
    uid=CONTROL_PLANE,
    title="obs / Control plane",
    folder="Kubernetes",
    tags=("obs", "kubernetes", "control-plane"),
    refresh="1m",
    time_from="now-6h",
    description="The API server, etcd, CoreDNS, the scheduler and controller manager, and the certificates of the "
    "kubelets and the API server's clients. Rows appear for the control-plane jobs that run (profile controlPlane).",
    rows=(
        Row(
            "API server",
            (
                Panel(
                    "Requests by code",
                    "timeseries",
                    "reqps",
                    (Query(f"sum by (code) ({_rate('apiserver_request_total', _API)})", "{{code}}"),),
                    stacked=True,
                ),
                Panel(
                    "Server errors",
                    "timeseries",
                    "percentunit",
                    (
                        Query(
                            f"sum({_rate('apiserver_request_total', _API, m('code', '5..', '=~'))})"
                            f" / sum({_rate('apiserver_request_total', _API)})",
                            "5xx",
                        ),
                    ),
                    "Share of requests answered 5xx (KubeAPIErrorsHigh).",
                    thresholds=((None, OK), (0.03, WARN)),
                ),
                Panel(
                    "p99 latency by verb",
                    "timeseries",
                    "s",
                    (
                        Query(
                            _p99("apiserver_request_duration_seconds_bucket", "verb, ", _API, m("verb", "GET|POST|PUT|PATCH|DELETE", "=~")),
                            "{{verb}}",
                        ),
                    ),
                    "Single-object reads and writes (KubeAPILatencyHigh); LIST, WATCH and CONNECT are long by nature.",
                    thresholds=((None, OK), (1, WARN)),
                ),
                Panel(
                    "Client certificates: earliest expiry",
                    "stat",
                    "s",
                    (
                        Query(
                            "histogram_quantile(0.01, sum by (le) "
                            f"({_rate('apiserver_client_certificate_expiration_seconds_bucket', _API)}))",
                            instant=True,
                        ),
                    ),
                    "The 1st percentile of the remaining validity of certificates clients present.",
                    thresholds=((None, BAD), (86400, WARN), (604800, OK)),
                ),
            ),
            requires=("job:apiserver",),
        ),
        Row(
            "etcd",
            (
                Panel("Has a leader", "timeseries", "short", (Query(f"etcd_server_has_leader{sel(_ETCD)}", "{{pod}}"),), min=0, max=1),
                Panel(
                    "Leader changes (1h)",
                    "timeseries",
                    "short",
                    (Query(f"max(increase(etcd_server_leader_changes_seen_total{sel(_ETCD)}[1h]))", "changes"),),
                ),
                Panel(
                    "WAL fsync p99",
                    "timeseries",
                    "s",
                    (Query(_p99("etcd_disk_wal_fsync_duration_seconds_bucket", "pod, ", _ETCD), "{{pod}}"),),
                    thresholds=((None, OK), (0.5, WARN)),
                ),
                Panel(
                    "Backend commit p99",
                    "timeseries",
                    "s",
                    (Query(_p99("etcd_disk_backend_commit_duration_seconds_bucket", "pod, ", _ETCD), "{{pod}}"),),
                    thresholds=((None, OK), (0.25, WARN)),
                ),
                Panel("Database size", "timeseries", "bytes", (Query(f"etcd_mvcc_db_total_size_in_bytes{sel(_ETCD)}", "{{pod}}"),)),
            ),
            requires=("job:etcd",),
        ),
        Row(
            "CoreDNS",
            (
                Panel(
                    "Responses by code",
                    "timeseries",
                    "reqps",
                    (Query(f"sum by (rcode) ({_rate('coredns_dns_responses_total', _DNS)})", "{{rcode}}"),),
                    stacked=True,
                ),
                Panel(
                    "p99 lookup latency",
                    "timeseries",
                    "s",
                    (Query(_p99("coredns_dns_request_duration_seconds_bucket", "", _DNS), "p99"),),
                    thresholds=((None, OK), (1, WARN)),
                ),
            ),
            requires=("job:coreDns",),
        ),
        Row(
            "Scheduler and controller manager",
            (
                Panel(
                    "Schedulers up",
                    "stat",
                    "short",
                    (Query(f"sum(up{sel(m('job', 'kube-scheduler'))})", instant=True),),
                    requires=("job:kubeScheduler",),
                    thresholds=((None, BAD), (1, OK)),
                ),
                Panel(
                    "Controller managers up",
                    "stat",
                    "short",
                    (Query(f"sum(up{sel(m('job', 'kube-controller-manager'))})", instant=True),),
                    requires=("job:kubeControllerManager",),
                    thresholds=((None, BAD), (1, OK)),
                ),
            ),
        ),
        Row(
            "Kubelet certificates",
            (
                Panel(
                    "Remaining validity by node",
                    "timeseries",
                    "s",
                    tuple(
                        Query(f"min by (node) (kubelet_certificate_manager_{kind}_ttl_seconds{_KUBELET})", f"{{{{node}}}} {kind}")
                        for kind in ("client", "server")
                    ),
                    "KubeletCertificateExpiring fires below a week.",
                    width=24,
                    thresholds=((None, BAD), (604800, OK)),
                ),
            ),
            requires=("job:kubelet",),
        ),
    ),
    variables=(CLUSTER_VARIABLE,),
)


def specs(stack: Stack) -> list[DashboardSpec]:
    """Every dashboard before gating, in menu order."""
    return [
        STACK_HEALTH_SPEC,
        RED_SPEC,
        slo_spec(stack),
        dependencies_spec(stack),
        USE_SPEC,
        CONTROL_PLANE_SPEC,
        RUNTIME_SPEC,
        ALERTS_SPEC,
        security_spec(stack),
        business_spec(stack),
    ]
