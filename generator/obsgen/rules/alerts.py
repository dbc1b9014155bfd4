"""The alert catalogue: every alert obs can generate, as one table.

Each entry says from which tier it is generated (its pack), its scope (one
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

from ..artifacts.otel import LOKI_EXPORTER
from ..model import Dependency, Service, Stack
from ..tiers import TIER_ORDER
from . import recordings as rec
from .types import AlertRule, RuleGroup, Runbook

# Requests per second below which service alerts stay silent: a handful of
# requests make ratios and quantiles meaningless.
MIN_REQUEST_RATE = "0.1"


@dataclass(frozen=True)
class AlertSpec:
    name: str
    pack: str  # first tier that generates it
    scope: str  # cluster | service | probe | dependency-service | dependency-probe
    group: str
    severity: str
    threshold: float | None
    for_: str
    expr: str
    summary: str
    description: str
    runbook: Runbook
    requires: tuple[str, ...] = ()  # components that must run
    requires_job: str = ""  # scrape job (values key) that must run
    # Dashboard path below the Grafana base URL (dashboard_url); same
    # <<placeholders>> as expr. Static per rule: Alertmanager shows it as is.
    dashboard: str = ""


_NAMES = {
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

_KSM = 'job="kube-state-metrics"'
_P95 = '<<LATENCY>>{service="<<service>>", namespace="<<namespace>>", quantile="0.95"}'
_ENOUGH_TRAFFIC = "and on (service, namespace)\n<<REQUESTS>><<sel>> > <<MIN_RATE>>"
_SERVICE_CAUSES = (
    "A recent deploy of the service (compare with the rollout history)",
    "A failing dependency (database, downstream API) surfacing as errors or slowness",
    "Saturation: CPU throttling, memory pressure, connection pools",
)

# The collectors of the telemetry pipeline: agent, gateway, and Jaeger v2,
# which is a collector too and reports the same otelcol_* metrics.
_COLLECTORS = 'job=~"otel-agent|otel-gateway|jaeger"'
_COLLECTOR_BY = "job, namespace, pod"
# Signal kinds as the collector's exporter and receiver metrics name them.
_SIGNAL_ITEMS = ("spans", "log_records", "metric_points")


def _export_failure_ratio(items: str) -> str:
    # An exporter that never succeeded has no `sent` series yet: `or 0 * failed`
    # stands in for it, so a total outage still gives a ratio of 1.
    failed = f"sum by ({_COLLECTOR_BY}, exporter) (rate(otelcol_exporter_send_failed_{items}_total{{{_COLLECTORS}}}[5m]))"
    sent = f"sum by ({_COLLECTOR_BY}, exporter) (rate(otelcol_exporter_sent_{items}_total{{{_COLLECTORS}}}[5m]))"
    return f"(\n  {failed}\n/\n  ({failed} + ({sent} or 0 * {failed}))\n) > <<threshold>>"


def _refused(items: str) -> str:
    return f"sum by ({_COLLECTOR_BY}, receiver) (rate(otelcol_receiver_refused_{items}_total{{{_COLLECTORS}}}[5m])) > 0"


def _store_errors(job: str, metric: str) -> str:
    total = f'sum by (job, namespace, route) (rate({metric}{{job="{job}"}}[5m]))'
    # HTTP routes report the status code; gRPC routes (dskit) report "error".
    errors = f'sum by (job, namespace, route) (rate({metric}{{job="{job}", status_code=~"5..|error"}}[5m]))'
    return f"(\n  {errors}\n/\n  {total}\n) > <<threshold>>"


_GATEWAY_LOKI = f'job="otel-gateway", exporter="{LOKI_EXPORTER}"'

CATALOGUE: tuple[AlertSpec, ...] = (
    # --- basic: critical only ------------------------------------------------
    AlertSpec(
        name="TargetDown",
        pack="basic",
        scope="cluster",
        group="availability",
        dashboard="d/obs-stack-health",
        severity="critical",
        threshold=None,
        for_="2m",
        expr="max by (job, namespace, service) (up) == 0",
        summary="Every target of {{ $labels.job }} is down",
        description=(
            "No target of job {{ $labels.job }}{{ with $labels.service }} (service {{ . }}){{ end }}"
            "{{ with $labels.namespace }} in {{ . }}{{ end }} can be scraped (up = {{ $value }})."
        ),
        runbook=Runbook(
            meaning="Prometheus cannot scrape any instance of this job: the workload is down, or unreachable from Prometheus.",
            causes=(
                "All pods crashed or were scaled to zero",
                "A NetworkPolicy or port change blocks the scrape",
                "The metrics endpoint moved (path, port, TLS)",
            ),
            checks=(
                "Prometheus UI → Status → Targets: the scrape error of the job",
                "`kubectl get pods -n <namespace>` and the pods' events",
            ),
            queries=('up{job="<job>"}', 'scrape_duration_seconds{job="<job>"}'),
        ),
    ),
    AlertSpec(
        name="ServiceProbeFailing",
        pack="basic",
        scope="probe",
        group="availability",
        dashboard="d/obs-red?var-service=<<service>>&var-namespace=<<namespace>>",
        severity="critical",
        threshold=None,
        # The failure must still be there one evaluation (15 s) later, so a
        # lone blip that the next probe clears does not page; detection stays
        # under a minute (probe 15 s + evaluation 15 s + for 15 s).
        for_="15s",
        expr='probe_success{job="blackbox", service="<<service>>", namespace="<<namespace>>", dependency=""} == 0',
        summary="Health check of {{ $labels.service }} fails",
        description="The blackbox probe of {{ $labels.instance }} ({{ $labels.module }}) fails (probe_success = {{ $value }}).",
        runbook=Runbook(
            meaning="The service's health endpoint does not answer with 2xx (or its port refuses connections): users are likely affected.",
            causes=(
                "Pods not ready or crash-looping",
                "The Service has no ready endpoints",
                "A dependency checked by the health endpoint is down",
            ),
            checks=(
                "`kubectl get endpointslices -n <namespace> -l kubernetes.io/service-name=<service>`",
                "`kubectl run -it --rm probe --image=curlimages/curl -- curl -v <instance>`",
            ),
            queries=(
                'probe_success{service="<service>"}',
                'probe_http_status_code{service="<service>"}',
                'probe_duration_seconds{service="<service>"}',
            ),
        ),
        requires=("blackboxExporter",),
    ),
    AlertSpec(
        name="ServiceErrorRatioHigh",
        pack="basic",
        scope="service",
        group="services",
        dashboard="d/obs-red?var-service=<<service>>&var-namespace=<<namespace>>",
        severity="critical",
        threshold=0.05,
        for_="5m",
        expr=f"<<ERROR_RATIO>><<sel>> > <<threshold>>\n{_ENOUGH_TRAFFIC}",
        summary="{{ $labels.service }} fails a large share of requests",
        description="{{ $labels.service }} answers {{ $value | humanizePercentage }} of requests with 5xx over 5m.",
        runbook=Runbook(
            meaning="A large share of the service's requests fail with server errors.",
            causes=_SERVICE_CAUSES,
            checks=("Error logs of the service's pods around the alert's start", "Recent rollouts: `kubectl rollout history`"),
            queries=(
                f'{rec.ERROR_RATIO}{{service="<service>"}}',
                f'{rec.ROUTE_ERRORS}{{service="<service>"}} / {rec.ROUTE_REQUESTS}{{service="<service>"}}',
            ),
        ),
    ),
    AlertSpec(
        name="KubePodCrashLooping",
        pack="basic",
        scope="cluster",
        group="kubernetes",
        dashboard="d/obs-use",
        severity="critical",
        threshold=None,
        for_="15m",
        expr=f'max_over_time(kube_pod_container_status_waiting_reason{{{_KSM}, reason="CrashLoopBackOff"}}[5m]) >= 1',
        summary="{{ $labels.namespace }}/{{ $labels.pod }} is crash-looping",
        description="Container {{ $labels.container }} of {{ $labels.namespace }}/{{ $labels.pod }} is in CrashLoopBackOff ({{ $value }}).",
        runbook=Runbook(
            meaning="A container keeps exiting and Kubernetes backs off restarting it.",
            causes=(
                "A bad configuration or missing Secret at start-up",
                "An OOM kill at start-up",
                "A failing liveness probe",
            ),
            checks=(
                "`kubectl logs --previous <pod> -c <container>`",
                "`kubectl describe pod <pod>` (last state, exit code, events)",
            ),
            queries=('kube_pod_container_status_restarts_total{pod="<pod>"}', "kube_pod_container_status_last_terminated_reason"),
        ),
        requires=("kubeStateMetrics",),
    ),
    AlertSpec(
        name="PersistentVolumeAlmostFull",
        pack="basic",
        scope="cluster",
        group="capacity",
        dashboard="d/obs-use",
        severity="critical",
        threshold=0.97,
        for_="5m",
        expr="<<PVC_USED>> > <<threshold>>",
        summary="Volume {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} is almost full",
        description="{{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} is {{ $value | humanizePercentage }} full.",
        runbook=Runbook(
            meaning="A persistent volume is about to run out of space; its workload will fail writes.",
            causes=("Data growth beyond the volume's sizing", "Retention or compaction not running"),
            checks=(
                "Expand the PVC if its StorageClass allows (`allowVolumeExpansion`)",
                "Find what grew: `kubectl exec <pod> -- du -sh <mount>/*`",
            ),
            queries=(f'{rec.PVC_USED}{{persistentvolumeclaim="<pvc>"}}', "kubelet_volume_stats_available_bytes"),
        ),
    ),
    AlertSpec(
        name="NodeFilesystemAlmostFull",
        pack="basic",
        scope="cluster",
        group="capacity",
        dashboard="d/obs-use",
        severity="critical",
        threshold=0.95,
        for_="5m",
        expr=(
            "<<NODE_FILESYSTEM>> > <<threshold>>\n"
            "and on (node, device, mountpoint)\n"
            'max by (node, device, mountpoint) (node_filesystem_readonly{job="node-exporter"}) == 0'
        ),
        summary="Filesystem {{ $labels.mountpoint }} on {{ $labels.node }} is almost full",
        description="{{ $labels.mountpoint }} ({{ $labels.device }}) on {{ $labels.node }} is {{ $value | humanizePercentage }} full.",
        runbook=Runbook(
            meaning="A node's filesystem is nearly full: the kubelet will start evicting pods, writes will fail.",
            causes=("Container images and logs accumulating", "An emptyDir or hostPath user writing without bound"),
            checks=("`kubectl describe node <node>` (DiskPressure)", "On the node: `crictl rmi --prune`, `du -x -sh /var/*`"),
            queries=(f'{rec.NODE_FILESYSTEM}{{node="<node>"}}',),
        ),
        requires=("nodeExporter",),
    ),
    # --- intermediate: warnings and dependencies ------------------------------
    AlertSpec(
        name="ServiceErrorRatioElevated",
        pack="intermediate",
        scope="service",
        group="services",
        dashboard="d/obs-red?var-service=<<service>>&var-namespace=<<namespace>>",
        severity="warning",
        threshold=0.01,
        for_="15m",
        expr=f"<<ERROR_RATIO>><<sel>> > <<threshold>>\n{_ENOUGH_TRAFFIC}",
        summary="{{ $labels.service }} fails more requests than usual",
        description="{{ $labels.service }} answers {{ $value | humanizePercentage }} of requests with 5xx over 5m.",
        runbook=Runbook(
            meaning="The service's error ratio is above its warning level; not yet an outage, but budget is burning.",
            causes=_SERVICE_CAUSES,
            checks=("Which routes fail: the per-route error ratio below", "Error logs of the service"),
            queries=(f'{rec.ROUTE_ERRORS}{{service="<service>"}} / {rec.ROUTE_REQUESTS}{{service="<service>"}}',),
        ),
    ),
    AlertSpec(
        name="ServiceLatencyP95High",
        pack="intermediate",
        scope="service",
        group="services",
        dashboard="d/obs-red?var-service=<<service>>&var-namespace=<<namespace>>",
        severity="warning",
        threshold=0.5,
        for_="10m",
        expr=f"{_P95} > <<threshold>>\n{_ENOUGH_TRAFFIC}",
        summary="{{ $labels.service }} is slow",
        description="p95 latency of {{ $labels.service }} is {{ $value | humanizeDuration }} over 5m.",
        runbook=Runbook(
            meaning="One request in twenty takes longer than the threshold.",
            causes=_SERVICE_CAUSES,
            checks=("Which routes are slow: the per-route p95 below", "Traces of slow requests, where tracing runs"),
            queries=(f'{rec.ROUTE_LATENCY}{{service="<service>"}}', f'{rec.LATENCY}{{service="<service>"}}'),
        ),
    ),
    AlertSpec(
        name="DependencyErrorRatioHigh",
        pack="intermediate",
        scope="dependency-service",
        group="dependencies",
        dashboard="d/obs-dependencies?var-service=<<service>>",
        severity="warning",
        threshold=0.05,
        for_="10m",
        # The result carries the dependency's own labels, so names come from
        # the rule, not from $labels.
        expr="<<ERROR_RATIO>><<dep_sel>> > <<threshold>>\nand on (service, namespace)\n<<REQUESTS>><<dep_sel>> > <<MIN_RATE>>",
        summary="Dependency <<dependency>> of <<service>> is failing",
        description="<<dependency>>, called by <<service>>, fails {{ $value | humanizePercentage }} of its requests.",
        runbook=Runbook(
            meaning="A service this one depends on is failing; expect errors or degraded answers here too.",
            causes=("An incident in the dependency (its own alerts say more)", "A breaking change in its API"),
            checks=("The dependency's own alerts and dashboards", "Whether this service degrades gracefully (timeouts, fallbacks)"),
            queries=(f'{rec.ERROR_RATIO}{{service="<dependency>"}}',),
        ),
    ),
    AlertSpec(
        name="DependencyProbeFailing",
        pack="intermediate",
        scope="dependency-probe",
        group="dependencies",
        dashboard="d/obs-dependencies?var-service=<<service>>",
        severity="warning",
        threshold=None,
        for_="1m",
        expr='probe_success{job="blackbox", service="<<service>>", namespace="<<namespace>>", dependency="<<dependency>>"} == 0',
        summary="Dependency {{ $labels.dependency }} of {{ $labels.service }} is unreachable",
        description="Probe of {{ $labels.instance }} ({{ $labels.module }}) fails (probe_success = {{ $value }}).",
        runbook=Runbook(
            meaning="An external dependency of the service does not answer its probe from inside the cluster.",
            causes=("The dependency is down", "Egress from the cluster blocked (firewall, proxy, DNS)"),
            checks=("Probe it by hand from a pod in the service's namespace", "DNS resolution of the dependency's host"),
            queries=('probe_success{dependency="<dependency>"}', 'probe_dns_lookup_time_seconds{dependency="<dependency>"}'),
        ),
        requires=("blackboxExporter",),
    ),
    AlertSpec(
        name="KubeWorkloadReplicasMismatch",
        pack="intermediate",
        scope="cluster",
        group="kubernetes",
        dashboard="d/obs-use",
        severity="warning",
        threshold=None,
        for_="15m",
        expr=(
            f"(\n  kube_deployment_spec_replicas{{{_KSM}}}\n  > kube_deployment_status_replicas_available{{{_KSM}}}\n)\n"
            f"or\n(\n  kube_statefulset_replicas{{{_KSM}}}\n  > kube_statefulset_status_replicas_ready{{{_KSM}}}\n)"
        ),
        summary="{{ $labels.namespace }}/{{ $labels.deployment }}{{ $labels.statefulset }} runs below its desired replicas",
        description=(
            "{{ $labels.namespace }}/{{ $labels.deployment }}{{ $labels.statefulset }} has fewer available replicas than the"
            " {{ $value }} it wants."
        ),
        runbook=Runbook(
            meaning="A workload has had fewer available replicas than desired for a while: reduced capacity or redundancy.",
            causes=("Pods pending for lack of resources or a node selector", "Image pull failures", "A stuck rollout"),
            checks=("`kubectl get pods -n <namespace>` and events of the Pending/failing ones", "`kubectl rollout status`"),
            queries=("kube_deployment_status_replicas_unavailable", 'kube_pod_status_phase{phase="Pending"}'),
        ),
        requires=("kubeStateMetrics",),
    ),
    AlertSpec(
        name="PersistentVolumeFillingUp",
        pack="intermediate",
        scope="cluster",
        group="capacity",
        dashboard="d/obs-use",
        severity="warning",
        threshold=0.85,
        for_="1h",
        expr=(
            "<<PVC_USED>> > <<threshold>>\n"
            "and on (namespace, persistentvolumeclaim)\n"
            'predict_linear(kubelet_volume_stats_available_bytes{job="kubelet"}[6h], 4 * 24 * 3600) < 0'
        ),
        summary="Volume {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} fills up within 4 days",
        description="{{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} is {{ $value | humanizePercentage }} full and growing.",
        runbook=Runbook(
            meaning="At the growth rate of the last 6 hours the volume is full within four days.",
            causes=("Growth in data or retention", "A runaway writer"),
            checks=("Plan an expansion now, while there is time", "Check retention settings of the workload"),
            queries=("predict_linear(kubelet_volume_stats_available_bytes[6h], 4 * 24 * 3600)",),
        ),
    ),
    AlertSpec(
        name="TargetsPartiallyDown",
        pack="intermediate",
        scope="cluster",
        group="availability",
        dashboard="d/obs-stack-health",
        severity="warning",
        threshold=0.1,
        for_="15m",
        expr=("(\n  count by (job, namespace, service) (up == 0)\n/\n  count by (job, namespace, service) (up)\n) > <<threshold>>"),
        summary="Part of {{ $labels.job }}'s targets are down",
        description="{{ $value | humanizePercentage }} of the targets of {{ $labels.job }} cannot be scraped.",
        runbook=Runbook(
            meaning="Some instances of a job cannot be scraped; the others still can.",
            causes=("Some pods unhealthy or on an unreachable node",),
            checks=("Prometheus UI → Status → Targets, filtered by the job",),
            queries=('up{job="<job>"} == 0',),
        ),
    ),
    AlertSpec(
        name="NodeFilesystemFillingUp",
        pack="intermediate",
        scope="cluster",
        group="capacity",
        dashboard="d/obs-use",
        severity="warning",
        threshold=0.8,
        for_="1h",
        expr=(
            "<<NODE_FILESYSTEM>> > <<threshold>>\n"
            "and on (node, device, mountpoint)\n"
            'predict_linear(node_filesystem_avail_bytes{job="node-exporter", fstype!=""}[6h], 24 * 3600) < 0\n'
            "and on (node, device, mountpoint)\n"
            'max by (node, device, mountpoint) (node_filesystem_readonly{job="node-exporter"}) == 0'
        ),
        summary="Filesystem {{ $labels.mountpoint }} on {{ $labels.node }} fills up within a day",
        description="{{ $labels.mountpoint }} on {{ $labels.node }} is {{ $value | humanizePercentage }} full and growing.",
        runbook=Runbook(
            meaning="At the growth rate of the last 6 hours the node's filesystem is full within a day.",
            causes=("Image churn", "Log growth", "A pod writing to an emptyDir"),
            checks=("`kubectl describe node <node>`", "Image garbage collection thresholds of the kubelet"),
            queries=(f'{rec.NODE_FILESYSTEM}{{node="<node>"}}',),
        ),
        requires=("nodeExporter",),
    ),
    # --- advanced: resources, runtime, regressions, cardinality ----------------
    AlertSpec(
        name="ContainerCPUThrottlingHigh",
        pack="advanced",
        scope="cluster",
        group="resources",
        dashboard="d/obs-use",
        severity="warning",
        threshold=0.25,
        for_="15m",
        expr="<<THROTTLED>> > <<threshold>>",
        summary="{{ $labels.namespace }}/{{ $labels.pod }} is CPU-throttled",
        description="{{ $value | humanizePercentage }} of CPU periods of {{ $labels.container }} in {{ $labels.pod }} are throttled.",
        runbook=Runbook(
            meaning="The container hits its CPU limit in many scheduling periods; latency suffers even at low average CPU.",
            causes=("CPU limit too low for bursts", "A busy loop or GC storm"),
            checks=("Compare usage with the limit on the pod dashboard", "Raise or remove the CPU limit if requests are right"),
            queries=(rec.CONTAINER_THROTTLED, rec.POD_CPU),
        ),
    ),
    AlertSpec(
        name="ContainerMemoryNearLimit",
        pack="advanced",
        scope="cluster",
        group="resources",
        dashboard="d/obs-use",
        severity="warning",
        threshold=0.9,
        for_="15m",
        expr="<<MEMORY_OF_LIMIT>> > <<threshold>>",
        summary="{{ $labels.namespace }}/{{ $labels.pod }} is close to its memory limit",
        description="{{ $labels.container }} in {{ $labels.pod }} uses {{ $value | humanizePercentage }} of its memory limit.",
        runbook=Runbook(
            meaning="The container's working set is close to its limit; the next spike gets it OOM-killed.",
            causes=("A leak", "A limit sized below the real need", "Caches without bound"),
            checks=("Memory trend on the pod dashboard", "Heap or profile dumps where the runtime offers them"),
            queries=(rec.CONTAINER_MEMORY_OF_LIMIT,),
        ),
        requires=("kubeStateMetrics",),
    ),
    AlertSpec(
        name="ContainerOOMKilled",
        pack="advanced",
        scope="cluster",
        group="resources",
        dashboard="d/obs-use",
        severity="warning",
        threshold=None,
        for_="0m",
        expr=(
            f"round(increase(kube_pod_container_status_restarts_total{{{_KSM}}}[15m])) > 0\n"
            "and on (namespace, pod, container)\n"
            f'kube_pod_container_status_last_terminated_reason{{{_KSM}, reason="OOMKilled"}} == 1'
        ),
        summary="{{ $labels.namespace }}/{{ $labels.pod }} was OOM-killed",
        description=(
            "{{ $labels.container }} in {{ $labels.pod }} restarted {{ $value | humanize }} times in 15m, last time for lack of memory."
        ),
        runbook=Runbook(
            meaning="The kernel killed the container for exceeding its memory limit.",
            causes=("Memory limit too low", "A leak", "A burst of large requests"),
            checks=("`kubectl describe pod <pod>` (Last State: OOMKilled)", "Working set before the kill"),
            queries=(rec.CONTAINER_MEMORY_OF_LIMIT, "kube_pod_container_status_last_terminated_reason"),
        ),
        requires=("kubeStateMetrics",),
    ),
    AlertSpec(
        name="KubePodRestartingFrequently",
        pack="advanced",
        scope="cluster",
        group="kubernetes",
        dashboard="d/obs-use",
        severity="warning",
        threshold=3,
        for_="0m",
        # increase() extrapolates: 3 restarts read as 3.04; restarts are whole.
        expr=f"round(increase(kube_pod_container_status_restarts_total{{{_KSM}}}[1h])) > <<threshold>>",
        summary="{{ $labels.namespace }}/{{ $labels.pod }} restarts often",
        description="{{ $labels.container }} in {{ $labels.pod }} restarted {{ $value | humanize }} times in the last hour.",
        runbook=Runbook(
            meaning="A container restarts repeatedly without (yet) being in CrashLoopBackOff.",
            causes=("Liveness probe too strict", "OOM kills", "Crashes under specific requests"),
            checks=("`kubectl logs --previous`", "The restart reasons in `kubectl describe pod`"),
            queries=("increase(kube_pod_container_status_restarts_total[1h])",),
        ),
        requires=("kubeStateMetrics",),
    ),
    AlertSpec(
        name="ProcessFileDescriptorsNearLimit",
        pack="advanced",
        scope="cluster",
        group="runtime",
        dashboard="d/obs-runtime",
        severity="warning",
        threshold=0.8,
        for_="15m",
        expr="process_open_fds / process_max_fds > <<threshold>>",
        summary="{{ $labels.job }} is running out of file descriptors",
        description="{{ $labels.instance }} ({{ $labels.job }}) uses {{ $value | humanizePercentage }} of its file descriptors.",
        runbook=Runbook(
            meaning="A process is close to its open-file limit; new connections and files will fail.",
            causes=("Connection or file leak", "Limit too low for the load"),
            checks=("`ls /proc/<pid>/fd | wc -l` in the container", "Connection pool settings"),
            queries=("process_open_fds", "process_max_fds"),
        ),
    ),
    AlertSpec(
        name="ServiceLatencyRegression",
        pack="advanced",
        scope="service",
        group="services",
        dashboard="d/obs-red?var-service=<<service>>&var-namespace=<<namespace>>",
        severity="warning",
        threshold=1.5,
        for_="30m",
        expr=(
            f"{_P95}\n/\n{_P95} offset 1w\n> <<threshold>>\n"
            # A regression from 2 ms to 4 ms is noise, not a finding.
            f"and {_P95} > 0.05\n{_ENOUGH_TRAFFIC}"
        ),
        summary="{{ $labels.service }} is slower than a week ago",
        description="p95 latency of {{ $labels.service }} is {{ $value | humanize }}× what it was at this time last week.",
        runbook=Runbook(
            meaning="Latency grew compared with the same time last week, which rules out daily and weekly patterns.",
            causes=("A release in the past week", "Data growth", "A slower dependency"),
            checks=("Releases since last week", "Per-route latency now and a week ago"),
            queries=(f'{rec.ROUTE_LATENCY}{{service="<service>"}}', f'{rec.ROUTE_LATENCY}{{service="<service>"}} offset 1w'),
        ),
    ),
    AlertSpec(
        name="PrometheusScrapeSampleLimitHit",
        pack="advanced",
        scope="cluster",
        group="cardinality",
        dashboard="d/obs-stack-health",
        severity="warning",
        threshold=None,
        for_="0m",
        expr='increase(prometheus_target_scrapes_exceeded_sample_limit_total{job="prometheus"}[10m]) > 0',
        summary="Scrapes are rejected for exceeding their sample limit",
        description=(
            "{{ $labels.pod }} rejected {{ $value | humanize }} scrapes in 10m because a target exposed more samples than its budget."
        ),
        runbook=Runbook(
            meaning="A target exposes more series than its job's sample_limit; the whole scrape is dropped, so its data is missing.",
            causes=("A new label with unbounded values (user ids, URLs)", "An exporter upgrade exposing more series"),
            checks=(
                "Find the target: Status → Targets shows 'sample limit exceeded'",
                'Top series of the job: `topk(10, count by (__name__) ({job="<job>"}))`',
            ),
            queries=("prometheus_target_scrapes_exceeded_sample_limit_total", "scrape_samples_scraped"),
        ),
        requires=("prometheus",),
    ),
    AlertSpec(
        name="PrometheusHeadSeriesGrowth",
        pack="advanced",
        scope="cluster",
        group="cardinality",
        dashboard="d/obs-stack-health",
        severity="warning",
        threshold=1.5,
        for_="1h",
        expr='prometheus_tsdb_head_series{job="prometheus"}\n/\nprometheus_tsdb_head_series{job="prometheus"} offset 1d\n> <<threshold>>',
        summary="Series count grows fast",
        description="{{ $labels.pod }} holds {{ $value | humanize }}× the series it held a day ago.",
        runbook=Runbook(
            meaning="The number of active series grew sharply; memory and query cost grow with it.",
            causes=("A cardinality explosion in one job", "Many new targets (scale-up, new cluster workloads)"),
            checks=('`topk(10, count by (job) ({__name__=~".+"}))`', "Series per metric name of the growing job"),
            queries=("prometheus_tsdb_head_series", "scrape_series_added"),
        ),
        requires=("prometheus",),
    ),
    # --- intermediate: the telemetry pipeline watches itself ------------------
    AlertSpec(
        name="OtelCollectorExportFailing",
        pack="intermediate",
        scope="cluster",
        group="telemetry-pipeline",
        dashboard="d/obs-stack-health",
        severity="warning",
        threshold=0.05,
        for_="15m",
        expr="\nor\n".join(_export_failure_ratio(items) for items in _SIGNAL_ITEMS),
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
        pack="intermediate",
        scope="cluster",
        group="telemetry-pipeline",
        dashboard="d/obs-stack-health",
        severity="warning",
        threshold=None,
        for_="15m",
        expr="\nor\n".join(_refused(items) for items in _SIGNAL_ITEMS),
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
        pack="intermediate",
        scope="cluster",
        group="telemetry-pipeline",
        dashboard="d/obs-stack-health",
        severity="warning",
        threshold=0.8,
        for_="10m",
        expr=(
            f"max by ({_COLLECTOR_BY}, exporter, data_type) (otelcol_exporter_queue_size{{{_COLLECTORS}}})\n/\n"
            f"max by ({_COLLECTOR_BY}, exporter, data_type) (otelcol_exporter_queue_capacity{{{_COLLECTORS}}})\n> <<threshold>>"
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
        pack="intermediate",
        scope="cluster",
        group="telemetry-pipeline",
        dashboard="d/obs-stack-health",
        severity="warning",
        threshold=0.05,
        for_="15m",
        expr=_store_errors("loki", "loki_request_duration_seconds_count"),
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
        pack="advanced",
        scope="cluster",
        group="telemetry-pipeline",
        dashboard="d/obs-stack-health",
        severity="warning",
        threshold=0.05,
        for_="15m",
        expr=_store_errors("tempo", "tempo_request_duration_seconds_count"),
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
    # --- enterprise: security events ------------------------------------------
    AlertSpec(
        name="ServiceAuthFailuresBurst",
        pack="enterprise",
        scope="service",
        group="security",
        dashboard="d/obs-security",
        severity="warning",
        threshold=1.0,
        for_="5m",
        expr=(
            "<<AUTH_FAILURES>><<sel>> > <<threshold>>\nand on (service, namespace)\n<<AUTH_FAILURES>><<sel>> > 0.2 * <<REQUESTS>><<sel>>"
        ),
        summary="Burst of 401/403 answers from {{ $labels.service }}",
        description="{{ $labels.service }} rejects {{ $value | humanize }} requests/s as unauthorised or forbidden.",
        runbook=Runbook(
            meaning="Many requests are rejected as unauthenticated or forbidden: credential stuffing, a scan, or a broken client.",
            causes=(
                "An attack (credential stuffing, token guessing)",
                "A client with expired credentials retrying",
                "An auth provider outage",
            ),
            checks=("Access logs: source addresses and user agents of the 401/403s", "Tell the security team if the sources are external"),
            queries=(f'{rec.AUTH_FAILURES}{{service="<service>"}}', f'{rec.REQUESTS}{{service="<service>"}}'),
        ),
    ),
    AlertSpec(
        name="PrivilegedPodAdmitted",
        pack="enterprise",
        scope="cluster",
        group="security",
        dashboard="d/obs-security",
        # Routine in namespaces that run node agents, so it informs (24 h
        # repeat) rather than pages; the security team reviews the trend.
        severity="info",
        threshold=None,
        for_="0m",
        expr=(
            "sum by (policy_level, request_operation) (\n"
            '  increase(pod_security_evaluations_total{job="apiserver", decision="allow", mode="enforce",'
            ' policy_level="privileged", resource="pod", request_operation="create"}[5m])\n'
            ") > 0"
        ),
        summary="Pods admitted without Pod Security restrictions",
        description="{{ $value | humanize }} pods were admitted in 5m under the privileged Pod Security level.",
        runbook=Runbook(
            meaning="The API server admitted pods in a namespace whose Pod Security level is privileged: they may run privileged "
            "or share host namespaces.",
            causes=("Expected node agents (CNI, node-exporter) rolling out", "A namespace labelled privileged without review"),
            checks=(
                "`kubectl get ns -l pod-security.kubernetes.io/enforce=privileged`",
                "Recent pod creations in those namespaces",
            ),
            queries=('increase(pod_security_evaluations_total{policy_level="privileged"}[1h])',),
        ),
        requires_job="apiserver",
    ),
    AlertSpec(
        name="AuditPipelineDown",
        pack="enterprise",
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
            f"(\n  sum(rate(otelcol_exporter_send_failed_log_records_total{{{_GATEWAY_LOKI}}}[5m])) > 0\n"
            f"  unless\n  sum(rate(otelcol_exporter_sent_log_records_total{{{_GATEWAY_LOKI}}}[5m])) > 0\n)"
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
                f"sum by (pod) (rate(otelcol_exporter_send_failed_log_records_total{{{_GATEWAY_LOKI}}}[5m]))",
            ),
        ),
        requires=("otelCollector", "loki"),
    ),
)

BY_NAME = {spec.name: spec for spec in CATALOGUE}


@dataclass(frozen=True)
class Escalation:
    """A critical alert that makes a warning of the catalogue redundant: the
    same problem on the same object, further along. Alertmanager inhibits the
    warning while the critical alert fires for an object with equal labels."""

    critical: str
    warning: str
    same: tuple[str, ...]  # labels both alerts carry that name the object


ESCALATIONS: tuple[Escalation, ...] = (
    Escalation("ServiceErrorRatioHigh", "ServiceErrorRatioElevated", ("cluster", "namespace", "service")),
    Escalation("PersistentVolumeAlmostFull", "PersistentVolumeFillingUp", ("cluster", "namespace", "persistentvolumeclaim")),
    Escalation("NodeFilesystemAlmostFull", "NodeFilesystemFillingUp", ("cluster", "node", "device", "mountpoint")),
    Escalation("KubePodCrashLooping", "KubePodRestartingFrequently", ("cluster", "namespace", "pod", "container")),
)


def escalations(stack: Stack) -> list[Escalation]:
    """The escalations whose two alerts the stack generates."""
    generated = {rule.name for rules in instances(stack).values() for rule in rules}
    return [e for e in ESCALATIONS if e.critical in generated and e.warning in generated]


def _in_tier(spec: AlertSpec, stack: Stack) -> bool:
    if TIER_ORDER.index(stack.tier.name) < TIER_ORDER.index(spec.pack):
        return False
    if not all(stack.enabled(c) for c in spec.requires):
        return False
    if spec.requires_job:
        return any(job.key == spec.requires_job and enabled for job, enabled, _ in stack.scrape_jobs)
    return True


def _resolve(spec: AlertSpec, stack: Stack, service: Service | None) -> tuple[float | None, str]:
    threshold, for_ = spec.threshold, spec.for_
    for overrides in (stack.alert_overrides, service.alert_overrides if service else {}):
        o = overrides.get(spec.name)
        if o:
            threshold = o.threshold if o.threshold is not None else threshold
            for_ = o.for_ or for_
    return threshold, for_


def _fill(template: str, values: dict[str, str]) -> str:
    for key, value in {**_NAMES, **values}.items():
        template = template.replace(f"<<{key}>>", value)
    if "<<" in template:
        raise ValueError(f"unfilled placeholder in {template!r}")
    return template


_EXAMPLE = {
    "sel": '{service="<service>", namespace="<namespace>"}',
    "dep_sel": '{service="<dependency service>", namespace="<its namespace>"}',
    "service": "<service>",
    "namespace": "<namespace>",
    "dependency": "<dependency>",
}


def example_expr(spec: AlertSpec) -> str:
    """The rule as generated, with readable stand-ins for the per-service parts (for runbooks)."""
    values = dict(_EXAMPLE)
    if spec.threshold is not None:
        values["threshold"] = _number(spec.threshold)
    return _fill(spec.expr, values)


def _number(value: float) -> str:
    return repr(value) if isinstance(value, float) and not value.is_integer() else str(int(value))


def _instance(spec: AlertSpec, stack: Stack, service: Service | None, values: dict[str, str], labels: dict[str, str]) -> AlertRule:
    threshold, for_ = _resolve(spec, stack, service)
    if threshold is not None:
        values = {**values, "threshold": _number(threshold)}
    return AlertRule(
        name=spec.name,
        expr=_fill(spec.expr, values),
        for_=for_,
        severity=spec.severity,
        summary=_fill(spec.summary, values),
        description=_fill(spec.description, values),
        runbook=spec.runbook,
        team=service.team if service else "",
        labels=labels,
        dashboard=_fill(spec.dashboard, values),
    )


def _service_values(service: Service) -> dict[str, str]:
    return {"sel": rec.service_selector(service), "service": service.name, "namespace": service.namespace}


def _dependency_target(stack: Stack, dep: Dependency) -> Service | None:
    return next((s for s in stack.services if s.name == dep.service), None)


def instances(stack: Stack) -> dict[str, list[AlertRule]]:
    """Alert rules of the stack by group name, in catalogue order."""
    groups: dict[str, list[AlertRule]] = {}
    for spec in CATALOGUE:
        if spec.name in stack.alerts_disabled or not _in_tier(spec, stack):
            continue
        out = groups.setdefault(spec.group, [])
        if spec.scope == "cluster":
            out.append(_instance(spec, stack, None, {}, {}))
            continue
        for service in stack.services:
            if spec.name in service.alerts_disabled:
                continue
            values = _service_values(service)
            labels = {"service": service.name, "namespace": service.namespace}
            if spec.scope == "service":
                out.append(_instance(spec, stack, service, values, labels))
            elif spec.scope == "probe":
                if any(not p.dependency for p in service.probes):
                    out.append(_instance(spec, stack, service, values, labels))
            else:
                for dep in service.dependencies:
                    target = _dependency_target(stack, dep)
                    dep_values = {**values, "dependency": dep.name}
                    dep_labels = {**labels, "dependency": dep.name}
                    if spec.scope == "dependency-service" and target:
                        dep_values["dep_sel"] = rec.service_selector(target)
                        out.append(_instance(spec, stack, service, dep_values, dep_labels))
                    elif spec.scope == "dependency-probe" and not target:
                        out.append(_instance(spec, stack, service, dep_values, dep_labels))
    return {name: rules for name, rules in groups.items() if rules}


# Groups whose alerts must be evaluated faster than the tier's default, so a
# dead endpoint pages within a minute even where scraping runs every 30 s.
GROUP_INTERVALS = {"availability": "15s"}


# Rules per group: one area's alerts for hundreds of services would make one
# group, and so one file, larger than a ConfigMap may be. Alerts of one area
# read recordings, never each other, so cutting them apart changes nothing.
GROUP_SIZE = 200


def groups_by_area(stack: Stack) -> dict[str, list[RuleGroup]]:
    """Alert groups of each catalogue area: obs-alerts-<area>, then -2, -3, … past GROUP_SIZE rules."""
    out: dict[str, list[RuleGroup]] = {}
    for area, rules in instances(stack).items():
        for k in range(0, len(rules), GROUP_SIZE):
            suffix = f"-{k // GROUP_SIZE + 1}" if k else ""
            group = RuleGroup(f"obs-alerts-{area}{suffix}", tuple(rules[k : k + GROUP_SIZE]), GROUP_INTERVALS.get(area, ""))
            out.setdefault(area, []).append(group)
    return out


def groups(stack: Stack) -> list[RuleGroup]:
    return [group for area in groups_by_area(stack).values() for group in area]
