"""The tier matrix: every decision that differs between tiers, as one table.

Each row is read as data by the model builder; nothing else in the generator
branches on a tier's name. Sizing follows the footprint each tier promises:
basic must fit in 0.5 CPU and 1 GiB of requests, and each step up buys
retention, redundancy and headroom rather than new mechanisms.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

TIER_ORDER: tuple[str, ...] = ("basic", "intermediate", "advanced", "enterprise")

# Containers whose sizing the tiers set (and a profile may override).
CONTAINERS: tuple[str, ...] = (
    "prometheus",
    "alertmanager",
    "grafana",
    "grafanaDashboardSidecar",
    "nodeExporter",
    "kubeStateMetrics",
    "blackboxExporter",
    "otelAgent",
    "otelGateway",
)

# Components a tier switches on or off (values keys of the umbrella chart).
COMPONENTS: tuple[str, ...] = (
    "prometheus",
    "alertmanager",
    "grafana",
    "nodeExporter",
    "kubeStateMetrics",
    "blackboxExporter",
    "otelCollector",
    "loki",
    "tempo",  # or jaeger, as the profile's traces.backend says
)


@dataclass(frozen=True)
class Size:
    """Requests and limits of one container."""

    cpu: str
    memory: str
    cpu_limit: str
    memory_limit: str

    def as_values(self) -> dict:
        return {
            "requests": {"cpu": self.cpu, "memory": self.memory},
            "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit},
        }


# How many of each container a tier runs: a fixed count, a Tier field, or
# None for one per node. `obsgen tiers` sums requests with it.
CONTAINER_SCALE: Mapping[str, int | str | None] = MappingProxyType(
    {
        "prometheus": "prometheus_replicas",
        "alertmanager": "alertmanager_replicas",
        # One replica: several would need a shared database (see values.py).
        "grafana": 1,
        "grafanaDashboardSidecar": 1,
        "nodeExporter": None,
        "kubeStateMetrics": 1,
        "blackboxExporter": 1,
        "otelAgent": None,
        "otelGateway": "otel_gateway_replicas",
    }
)
if set(CONTAINER_SCALE) != set(CONTAINERS):  # a container without a count would drop out of every total
    raise ValueError(f"tier table: CONTAINER_SCALE and CONTAINERS differ: {sorted(set(CONTAINER_SCALE) ^ set(CONTAINERS))}")


def _sizes(**sizes: Size) -> Mapping[str, Size]:
    missing = set(CONTAINERS) - set(sizes)
    if missing:  # a row without a size would render a container without limits
        raise ValueError(f"tier table: no size for {sorted(missing)}")
    return MappingProxyType(sizes)


def _size(cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> dict[str, Any]:  # a store's values, as the chart takes them
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"cpu": cpu_limit, "memory": memory_limit}}


@dataclass(frozen=True)
class BackendTier:
    """How one tier runs its log and trace stores. Whether it runs them at
    all is the tier's `logs` and `traces`; artifacts/logs_traces.py builds
    the stores' configs and values from it."""

    loki_mode: str  # monolithic | scalable
    log_retention: str  # Loki duration, in hours: unambiguous for every parser that reads it
    loki_storage_gi: int
    loki_resources: dict[str, Any]
    trace_storage: str  # local | s3 (Tempo); Jaeger picks badger | elasticsearch | opensearch itself
    tempo_storage_gi: int
    tempo_resources: dict[str, Any]
    jaeger_storage_gi: int
    jaeger_resources: dict[str, Any]
    scalable: dict[str, Any] = field(default_factory=dict)


# Logs and traces start at intermediate: basic promises 0.5 CPU and 1 GiB of
# requests in total, which a log store alone would take.
_OFF = _size("0", "0", "0", "0")
_BACKENDS: dict[str, BackendTier] = {
    "basic": BackendTier("monolithic", "168h", 10, _OFF, "local", 10, _OFF, 10, _OFF),
    "intermediate": BackendTier(
        "monolithic",
        "168h",  # 7 d
        20,
        _size("100m", "256Mi", "1", "1Gi"),
        "local",
        10,
        _size("100m", "256Mi", "1", "1Gi"),
        10,
        _size("100m", "128Mi", "1", "512Mi"),
    ),
    "advanced": BackendTier(
        "monolithic",
        "360h",  # 15 d
        50,
        _size("250m", "512Mi", "2", "2Gi"),
        "local",
        30,
        _size("250m", "512Mi", "2", "2Gi"),
        30,
        _size("200m", "256Mi", "2", "1Gi"),
    ),
    "enterprise": BackendTier(
        "scalable",
        "720h",  # 30 d
        # The PVCs hold only the WAL and caches: chunks and index live in the bucket.
        20,
        _size("250m", "512Mi", "2", "2Gi"),
        "s3",
        # Tempo's PVC keeps the advanced tier's size although the blocks move
        # to the bucket: a volume cannot shrink when a cluster moves up a tier
        # (tests/test_tier_upgrades.py).
        30,
        _size("500m", "1Gi", "2", "4Gi"),
        30,
        _size("200m", "256Mi", "2", "1Gi"),
        scalable={
            # write: 3 replicas for replication_factor 3 (a push survives one
            # lost ingester); read and backend: 2 for availability.
            "read": {"replicas": 2, "resources": _size("250m", "512Mi", "2", "2Gi")},
            "write": {"replicas": 3, "resources": _size("250m", "1Gi", "2", "2Gi"), "storage": {"size": "20Gi"}},
            "backend": {"replicas": 2, "resources": _size("100m", "256Mi", "1", "1Gi"), "storage": {"size": "10Gi"}},
        },
    ),
}


def _queue(capacity: int, max_shards: int, max_samples_per_send: int) -> Mapping[str, int]:
    return MappingProxyType({"capacity": capacity, "max_shards": max_shards, "max_samples_per_send": max_samples_per_send})


@dataclass(frozen=True)
class Tier:
    name: str
    summary: str
    components: frozenset[str]
    high_availability: bool
    scrape_interval: str
    evaluation_interval: str
    prometheus_replicas: int
    retention_time: str
    prometheus_storage_gi: int
    alertmanager_replicas: int
    alertmanager_storage_gi: int
    grafana_persistence_gi: int  # 0: no PVC, dashboards are provisioned anyway
    kube_state_metrics_sample_limit: int
    sizes: Mapping[str, Size] = field(repr=False)
    # Logs and traces: which signals the OTel pipeline carries and how
    # traces are sampled (none | head | tail).
    logs: bool = False
    traces: bool = False
    trace_sampling: str = "none"
    otel_gateway_replicas: int = 1
    # Security and audit signals: auth-failure recordings per service (the
    # security alerts and dashboards read them).
    security_signals: bool = False
    # Error-budget policy actions reach the policy team's own receiver.
    error_budget_policy: bool = False
    # NetworkPolicies: deny by default, allow the contract's edges (network.py).
    network_policies: bool = False
    # How the log and trace stores run (mode, retention, volumes, sizes).
    backends: BackendTier | None = field(default=None, repr=False)
    # queue_config of every remote_write (profile remoteWrite): the shards
    # and their buffers are Prometheus memory, so they grow with the tier.
    remote_write_queue: Mapping[str, int] = field(default_factory=lambda: _queue(2_500, 10, 500), repr=False)

    def replicas(self, container: str) -> int | None:
        """How many of this container the tier runs; None: one per node (DaemonSets)."""
        scale = CONTAINER_SCALE[container]
        return scale if isinstance(scale, int) or scale is None else getattr(self, scale)


_CORE = frozenset({"prometheus", "alertmanager", "grafana", "kubeStateMetrics", "blackboxExporter"})
_LOGS = frozenset({"otelCollector", "loki"})
_TRACES = _LOGS | {"tempo"}

TIERS: Mapping[str, Tier] = MappingProxyType(
    {
        "basic": Tier(
            name="basic",
            backends=_BACKENDS["basic"],
            summary="health checks and critical alerts on a small footprint",
            components=_CORE,
            high_availability=False,
            scrape_interval="30s",
            evaluation_interval="30s",
            prometheus_replicas=1,
            retention_time="7d",
            prometheus_storage_gi=10,
            alertmanager_replicas=1,
            alertmanager_storage_gi=1,
            grafana_persistence_gi=0,
            kube_state_metrics_sample_limit=100_000,
            sizes=_sizes(
                prometheus=Size("150m", "384Mi", "1", "1Gi"),
                alertmanager=Size("20m", "48Mi", "100m", "128Mi"),
                grafana=Size("50m", "128Mi", "500m", "384Mi"),
                grafanaDashboardSidecar=Size("10m", "64Mi", "100m", "192Mi"),
                nodeExporter=Size("20m", "32Mi", "200m", "64Mi"),
                kubeStateMetrics=Size("20m", "64Mi", "200m", "256Mi"),
                blackboxExporter=Size("10m", "32Mi", "100m", "64Mi"),
                otelAgent=Size("50m", "64Mi", "500m", "256Mi"),
                otelGateway=Size("100m", "128Mi", "1", "512Mi"),
            ),
        ),
        "intermediate": Tier(
            name="intermediate",
            backends=_BACKENDS["intermediate"],
            remote_write_queue=_queue(5_000, 20, 1_000),
            summary="+ dependency monitoring, node metrics, structured logs, warning alerts, simple dashboards",
            components=_CORE | {"nodeExporter"} | _LOGS,
            high_availability=False,
            scrape_interval="15s",
            evaluation_interval="15s",
            prometheus_replicas=1,
            retention_time="15d",
            prometheus_storage_gi=30,
            alertmanager_replicas=1,
            alertmanager_storage_gi=1,
            grafana_persistence_gi=5,
            kube_state_metrics_sample_limit=100_000,
            logs=True,
            sizes=_sizes(
                prometheus=Size("300m", "1Gi", "1500m", "2Gi"),
                alertmanager=Size("20m", "64Mi", "100m", "128Mi"),
                grafana=Size("100m", "192Mi", "1", "512Mi"),
                grafanaDashboardSidecar=Size("10m", "64Mi", "100m", "192Mi"),
                nodeExporter=Size("30m", "48Mi", "250m", "96Mi"),
                kubeStateMetrics=Size("50m", "128Mi", "300m", "384Mi"),
                blackboxExporter=Size("20m", "48Mi", "100m", "96Mi"),
                otelAgent=Size("50m", "64Mi", "500m", "256Mi"),
                otelGateway=Size("100m", "128Mi", "1", "512Mi"),
            ),
        ),
        "advanced": Tier(
            name="advanced",
            backends=_BACKENDS["advanced"],
            remote_write_queue=_queue(10_000, 50, 2_000),
            summary="+ distributed tracing, HA Prometheus pair, clustered Alertmanager, disruption budgets, full dashboards",
            components=_CORE | {"nodeExporter"} | _TRACES,
            high_availability=True,
            network_policies=True,
            scrape_interval="15s",
            evaluation_interval="15s",
            prometheus_replicas=2,
            retention_time="30d",
            prometheus_storage_gi=100,
            alertmanager_replicas=3,
            alertmanager_storage_gi=2,
            grafana_persistence_gi=10,
            kube_state_metrics_sample_limit=200_000,
            logs=True,
            traces=True,
            trace_sampling="head",  # 10 % of traces, decided at the gateway
            otel_gateway_replicas=2,
            sizes=_sizes(
                prometheus=Size("500m", "2Gi", "2", "4Gi"),
                alertmanager=Size("30m", "96Mi", "200m", "192Mi"),
                grafana=Size("200m", "256Mi", "1", "768Mi"),
                grafanaDashboardSidecar=Size("20m", "96Mi", "200m", "256Mi"),
                nodeExporter=Size("50m", "64Mi", "300m", "128Mi"),
                kubeStateMetrics=Size("100m", "256Mi", "500m", "512Mi"),
                blackboxExporter=Size("30m", "64Mi", "200m", "128Mi"),
                otelAgent=Size("50m", "64Mi", "500m", "256Mi"),
                otelGateway=Size("100m", "128Mi", "1", "512Mi"),
            ),
        ),
        "enterprise": Tier(
            name="enterprise",
            backends=_BACKENDS["enterprise"],
            remote_write_queue=_queue(10_000, 100, 2_000),
            summary="advanced, sized larger, with logs and traces on object storage and tail sampling",
            components=_CORE | {"nodeExporter"} | _TRACES,
            high_availability=True,
            network_policies=True,
            scrape_interval="15s",
            evaluation_interval="15s",
            prometheus_replicas=2,
            retention_time="30d",
            prometheus_storage_gi=200,
            alertmanager_replicas=3,
            alertmanager_storage_gi=2,
            grafana_persistence_gi=10,
            kube_state_metrics_sample_limit=500_000,
            logs=True,
            traces=True,
            trace_sampling="tail",  # errors, slow requests and a share of the rest
            otel_gateway_replicas=3,
            security_signals=True,
            error_budget_policy=True,
            sizes=_sizes(
                prometheus=Size("1", "4Gi", "4", "8Gi"),
                alertmanager=Size("50m", "128Mi", "300m", "256Mi"),
                grafana=Size("300m", "512Mi", "2", "1Gi"),
                grafanaDashboardSidecar=Size("20m", "96Mi", "200m", "256Mi"),
                nodeExporter=Size("100m", "96Mi", "500m", "192Mi"),
                kubeStateMetrics=Size("200m", "512Mi", "1", "1Gi"),
                blackboxExporter=Size("50m", "96Mi", "300m", "192Mi"),
                otelAgent=Size("50m", "64Mi", "500m", "256Mi"),
                otelGateway=Size("100m", "128Mi", "1", "512Mi"),
            ),
        ),
    }
)

# Prometheus keeps this share of its volume for blocks; the rest is headroom
# for the WAL and for compaction, which briefly needs room for a second copy
# of the blocks it merges.
RETENTION_SHARE_OF_VOLUME = 0.8


@dataclass(frozen=True)
class ScrapeJob:
    """One scrape job of the Prometheus config and its per-target budget."""

    key: str  # values key under prometheus.scrapeJobs
    job_name: str  # the `job` label every rule and dashboard selects on
    requires: tuple[str, ...]  # components that must run (gates.py)
    sample_limit: int
    min_tier: str = "basic"  # first tier that runs the job
    # Runs only where the profile turns it on (controlPlane.<key>): managed
    # clusters hide these components, kubeadm binds them to localhost.
    opt_in: bool = False
    label_limit: int = 64
    label_name_length_limit: int = 128
    label_value_length_limit: int = 1024


# The seeds' cardinality budget is 10 000 samples per target; exporters that
# describe a whole node or cluster get budgets that fit their known output.
SCRAPE_JOBS: tuple[ScrapeJob, ...] = (
    ScrapeJob("prometheus", "prometheus", ("prometheus",), 10_000),
    ScrapeJob("alertmanager", "alertmanager", ("alertmanager",), 10_000),
    ScrapeJob("kubelet", "kubelet", (), 20_000),
    ScrapeJob("cadvisor", "cadvisor", (), 50_000),
    ScrapeJob("nodeExporter", "node-exporter", ("nodeExporter",), 10_000),
    # One target describes the whole cluster; the tier row sets its budget.
    ScrapeJob("kubeStateMetrics", "kube-state-metrics", ("kubeStateMetrics",), 0),
    ScrapeJob("blackbox", "blackbox", ("blackboxExporter",), 1_000),
    ScrapeJob("annotatedPods", "kubernetes-pods", (), 10_000),
    ScrapeJob("annotatedServices", "kubernetes-services", (), 10_000),
    # The API server's Pod Security admission metrics feed the enterprise
    # security alerts; it is a large target, hence the budget.
    ScrapeJob("apiserver", "apiserver", (), 50_000, min_tier="enterprise"),
    # The rest of the control plane. CoreDNS runs as pods behind the kube-dns
    # Service almost everywhere (managed clusters too); etcd, the scheduler and
    # the controller manager only answer where the cluster lets them.
    ScrapeJob("coreDns", "coredns", (), 10_000, min_tier="intermediate"),
    ScrapeJob("etcd", "etcd", (), 20_000, opt_in=True),
    ScrapeJob("kubeScheduler", "kube-scheduler", (), 20_000, opt_in=True),
    ScrapeJob("kubeControllerManager", "kube-controller-manager", (), 20_000, opt_in=True),
    # The telemetry pipeline watches itself: the collectors' internal
    # telemetry (port 8888) and the log and trace stores' /metrics.
    ScrapeJob("otelAgent", "otel-agent", ("otelCollector",), 10_000),
    ScrapeJob("otelGateway", "otel-gateway", ("otelCollector",), 10_000),
    ScrapeJob("loki", "loki", ("loki",), 20_000),
    ScrapeJob("tempo", "tempo", ("tempo",), 20_000),
    # Jaeger v2 is built on the collector: its metrics are the otelcol_* set.
    ScrapeJob("jaeger", "jaeger", ("jaeger",), 10_000),
)


# Scrape jobs a profile may turn on or off whatever the tier (controlPlane.<key>).
CONTROL_PLANE_JOBS: tuple[str, ...] = ("apiserver", "coreDns", "etcd", "kubeScheduler", "kubeControllerManager")


# How an application chart that includes the obs-instrumentation library
# chart (charts/obs-instrumentation) is instrumented in each tier; built into
# the library's _tiers.tpl by artifacts/instrumentation.py. Modes:
#   annotations    Prometheus scrape annotations only
#   agent          + OTEL_* environment pointing at the node agent
#   sidecar        + a native-sidecar collector in the pod, to the gateway
#   sidecar-audit  sidecar whose audit/security events get their own,
#                  persistent, retrying queue
@dataclass(frozen=True)
class AppInstrumentation:
    mode: str
    sidecar: Size | None = None  # requests/limits of the sidecar collector (sidecar modes)
    audit_queue_mi: int = 0  # emptyDir holding the persistent audit queue (sidecar-audit)


APP_INSTRUMENTATION: Mapping[str, AppInstrumentation] = MappingProxyType(
    {
        "basic": AppInstrumentation("annotations"),
        "intermediate": AppInstrumentation("agent"),
        "advanced": AppInstrumentation("sidecar", sidecar=Size("20m", "64Mi", "200m", "192Mi")),
        "enterprise": AppInstrumentation("sidecar-audit", sidecar=Size("30m", "96Mi", "300m", "256Mi"), audit_queue_mi=256),
    }
)
