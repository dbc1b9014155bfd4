"""Where dashboard data comes from: datasources, and which metrics exist in a stack.

`produced(stack)` names every metric something in the stack emits: the
exporters of the scrape jobs that run, Prometheus itself (per-target series,
ALERTS), the recording rules, and the services' telemetry contracts. The
dashboard tests check every panel query against it, so a panel can never
point at a metric nothing emits.

The exporter lists are what the pinned versions expose and the dashboards or
rules read; they are not exhaustive. The end-to-end test checks the
Prometheus list against a real Prometheus scraping itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import gates, rules
from ..model import Stack

_PROCESS = frozenset(
    {
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_virtual_memory_bytes",
        "process_open_fds",
        "process_max_fds",
        "process_start_time_seconds",
    }
)
_GO = frozenset(
    {
        "go_goroutines",
        "go_threads",
        "go_gc_duration_seconds",
        "go_gc_duration_seconds_sum",
        "go_gc_duration_seconds_count",
        "go_memstats_heap_inuse_bytes",
        "go_memstats_alloc_bytes",
    }
)
_GO_PROCESS = _PROCESS | _GO

# Metrics by scrape job (values key of prometheus.scrapeJobs).
EXPORTERS: dict[str, frozenset[str]] = {
    "prometheus": _GO_PROCESS
    | {
        "prometheus_tsdb_head_series",
        "prometheus_tsdb_head_samples_appended_total",
        "prometheus_tsdb_storage_blocks_bytes",
        "prometheus_rule_evaluation_failures_total",
        "prometheus_rule_group_last_duration_seconds",
        "prometheus_rule_group_interval_seconds",
        "prometheus_notifications_dropped_total",
        "prometheus_notifications_errors_total",
        "prometheus_notifications_sent_total",
        "prometheus_notifications_queue_length",
        "prometheus_target_scrapes_exceeded_sample_limit_total",
        "prometheus_config_last_reload_successful",
        "prometheus_engine_query_duration_seconds",
    },
    "alertmanager": _GO_PROCESS
    | {
        "alertmanager_alerts",
        "alertmanager_alerts_received_total",
        "alertmanager_notifications_total",
        "alertmanager_notifications_failed_total",
        "alertmanager_silences",
        "alertmanager_config_last_reload_successful",
    },
    "kubelet": _GO_PROCESS
    | {
        "kubelet_volume_stats_available_bytes",
        "kubelet_volume_stats_capacity_bytes",
        "kubelet_volume_stats_used_bytes",
        "kubelet_volume_stats_inodes_free",
        "kubelet_running_pods",
        "kubelet_running_containers",
        "kubelet_certificate_manager_client_ttl_seconds",
        "kubelet_certificate_manager_server_ttl_seconds",
    },
    "cadvisor": frozenset(
        {
            "container_cpu_usage_seconds_total",
            "container_cpu_cfs_periods_total",
            "container_cpu_cfs_throttled_periods_total",
            "container_memory_working_set_bytes",
            "container_memory_rss",
            "container_network_receive_bytes_total",
            "container_network_transmit_bytes_total",
            "container_oom_events_total",
        }
    ),
    "nodeExporter": _GO_PROCESS
    | {
        "node_cpu_seconds_total",
        "node_load1",
        "node_load5",
        "node_load15",
        "node_memory_MemAvailable_bytes",
        "node_memory_MemTotal_bytes",
        "node_filesystem_avail_bytes",
        "node_filesystem_size_bytes",
        "node_filesystem_readonly",
        "node_network_receive_bytes_total",
        "node_network_transmit_bytes_total",
        "node_network_receive_errs_total",
        "node_network_transmit_errs_total",
        "node_disk_io_time_seconds_total",
    },
    "kubeStateMetrics": _GO_PROCESS
    | {
        "kube_pod_info",
        "kube_pod_status_phase",
        "kube_pod_status_ready",
        "kube_pod_container_status_restarts_total",
        "kube_pod_container_status_waiting_reason",
        "kube_pod_container_status_last_terminated_reason",
        "kube_pod_container_resource_limits",
        "kube_pod_container_resource_requests",
        "kube_deployment_spec_replicas",
        "kube_deployment_status_replicas_available",
        "kube_deployment_status_replicas_unavailable",
        "kube_statefulset_replicas",
        "kube_statefulset_status_replicas_ready",
        "kube_node_status_condition",
    },
    # What blackbox_exporter's /probe answers, per probed target.
    "blackbox": frozenset(
        {
            "probe_success",
            "probe_duration_seconds",
            "probe_http_status_code",
            "probe_http_duration_seconds",
            "probe_dns_lookup_time_seconds",
        }
    ),
    "apiserver": _GO_PROCESS
    | {
        "apiserver_request_total",
        "apiserver_request_duration_seconds_bucket",
        "apiserver_client_certificate_expiration_seconds_bucket",
        "apiserver_client_certificate_expiration_seconds_count",
        "pod_security_evaluations_total",
    },
}

# The collector's internal telemetry (level normal), as its Prometheus pull
# reader names it: counters get _total. Jaeger v2 is a collector and reports
# the same set.
_COLLECTOR = frozenset(
    {
        "otelcol_receiver_accepted_spans_total",
        "otelcol_receiver_accepted_log_records_total",
        "otelcol_receiver_accepted_metric_points_total",
        "otelcol_receiver_refused_spans_total",
        "otelcol_receiver_refused_log_records_total",
        "otelcol_receiver_refused_metric_points_total",
        "otelcol_exporter_sent_spans_total",
        "otelcol_exporter_sent_log_records_total",
        "otelcol_exporter_sent_metric_points_total",
        "otelcol_exporter_send_failed_spans_total",
        "otelcol_exporter_send_failed_log_records_total",
        "otelcol_exporter_send_failed_metric_points_total",
        "otelcol_exporter_queue_size",
        "otelcol_exporter_queue_capacity",
    }
)
EXPORTERS |= {
    "otelAgent": _COLLECTOR,
    "otelGateway": _COLLECTOR,
    "jaeger": _COLLECTOR,
    # dskit's request instrumentation, shared by Loki and Tempo.
    "loki": _GO_PROCESS | {"loki_request_duration_seconds_count", "loki_request_duration_seconds_bucket"},
    "tempo": _GO_PROCESS | {"tempo_request_duration_seconds_count", "tempo_request_duration_seconds_bucket"},
    # The control plane (metric names as etcd 3.5, CoreDNS 1.11 and the
    # scheduler and controller manager of Kubernetes 1.29–1.35 expose them).
    "etcd": _GO_PROCESS
    | {
        "etcd_server_has_leader",
        "etcd_server_leader_changes_seen_total",
        "etcd_disk_wal_fsync_duration_seconds_bucket",
        "etcd_disk_backend_commit_duration_seconds_bucket",
        "etcd_mvcc_db_total_size_in_bytes",
    },
    "coreDns": _GO_PROCESS | {"coredns_dns_responses_total", "coredns_dns_request_duration_seconds_bucket"},
    "kubeScheduler": _GO_PROCESS,
    "kubeControllerManager": _GO_PROCESS,
}

# Series Prometheus writes for every target, and for its alerting rules.
PER_TARGET = frozenset(
    {"up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling", "scrape_series_added"}
)
ALERT_SERIES = frozenset({"ALERTS", "ALERTS_FOR_STATE"})

# Components that will bring logs and traces; none runs yet (the telemetry
# pipeline adds them). Panels gated on "logs" or "traces" appear once one does.
LOG_COMPONENTS = ("loki",)
TRACE_COMPONENTS = ("tempo",)


@dataclass(frozen=True)
class Datasource:
    type: str
    uid: str  # fixed uid provisioned by the grafana subchart
    variable: str  # dashboard variable that selects it, defaulting to uid
    label: str
    requires: tuple[str, ...] = ()


DATASOURCES: dict[str, Datasource] = {
    "prometheus": Datasource("prometheus", "prometheus", "datasource", "Metrics"),
    "loki": Datasource("loki", "loki", "logs_datasource", "Logs", ("logs",)),
    "tempo": Datasource("tempo", "tempo", "traces_datasource", "Traces", ("traces",)),
}


def recorded(stack: Stack) -> frozenset[str]:
    return frozenset(r["record"] for f in rules.rule_files(stack) for g in f["groups"] for r in g["rules"] if "record" in r)


def _alerting(stack: Stack) -> bool:
    return any("alert" in r for f in rules.rule_files(stack) for g in f["groups"] for r in g["rules"])


def capabilities(stack: Stack) -> frozenset[str]:
    """Names a panel's `requires` may use: the shared ones (gates.py) and what the profile declares."""
    caps = set(gates.capabilities(stack))
    probes = stack.probes if "job:blackbox" in caps else ()
    deps = [d for s in stack.services for d in s.dependencies]
    flags = {
        "services": bool(stack.services),
        "probes": any(not p.dependency for p in probes),
        "dependency-probes": any(p.dependency for p in probes),
        "dependencies": bool(deps),
        "service-dependencies": any(d.service for d in deps),
        "slos": "slo:objective:ratio" in recorded(stack),
        "business": any(s.business for s in stack.services),
        "alerts": _alerting(stack),
        "logs": any(stack.enabled(c) for c in LOG_COMPONENTS),
        "traces": any(stack.enabled(c) for c in TRACE_COMPONENTS),
    }
    caps |= {name for name, on in flags.items() if on}
    return frozenset(caps)


def produced(stack: Stack) -> dict[str, str]:
    """Every metric name the stack emits → what emits it."""
    out: dict[str, str] = {}
    for key in sorted(gates.running_jobs(stack)):
        for name in EXPORTERS.get(key, ()):
            out.setdefault(name, f"exporter ({key})")
    for name in PER_TARGET:
        out[name] = "Prometheus (per target)"
    if _alerting(stack):
        for name in ALERT_SERIES:
            out[name] = "Prometheus (alerting rules)"
    for name in recorded(stack):
        out[name] = "recording rule"
    for service in stack.services:
        c = service.contract
        for name in (c.requests, c.duration_bucket, f"{c.duration}_sum", f"{c.duration}_count"):
            out.setdefault(name, f"telemetry contract ({service.namespace}/{service.name})")
        for kpi in service.business:
            out.setdefault(kpi.metric, f"business metric ({service.namespace}/{service.name})")
    return out
