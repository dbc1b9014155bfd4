"""RED recordings per service and USE recordings per node and pod.

Alerts and dashboards read these instead of repeating raw queries. Names
follow `level:metric:operations`. Output labels are normalised (`service`,
`namespace`, `route`, `quantile`), whatever the service's telemetry contract
calls them, so every consumer sees one shape.

Zero traffic never produces NaN: error counts fall back to 0 and ratios are
only recorded when their denominator is positive.
"""

from __future__ import annotations

from .. import promql
from ..model import Service, Stack
from .types import RecordingRule, RuleGroup

QUANTILES = ("0.5", "0.95", "0.99")
RATE = "5m"

# Recording names, used by alerts, dashboards and tests.
REQUESTS = f"service:http_requests:rate{RATE}"
ERRORS = f"service:http_request_errors:rate{RATE}"
ERROR_RATIO = f"service:http_request_error:ratio_rate{RATE}"
LATENCY = f"service:http_request_duration_seconds:quantile_rate{RATE}"
AUTH_FAILURES = f"service:http_request_auth_failures:rate{RATE}"
ROUTE_REQUESTS = f"service_route:http_requests:rate{RATE}"
ROUTE_ERRORS = f"service_route:http_request_errors:rate{RATE}"
ROUTE_LATENCY = f"service_route:http_request_duration_seconds:quantile_rate{RATE}"

NODE_CPU = "node:node_cpu_utilisation:ratio_rate5m"
NODE_LOAD = "node:node_load1_per_cpu:ratio"
NODE_MEMORY = "node:node_memory_utilisation:ratio"
NODE_FILESYSTEM = "node:node_filesystem_utilisation:ratio"
NODE_NET_RX = "node:node_network_receive_bytes:rate5m"
NODE_NET_TX = "node:node_network_transmit_bytes:rate5m"
NODE_NET_ERRORS = "node:node_network_errors:rate5m"

POD_CPU = "namespace_pod:container_cpu_usage_seconds:rate5m"
POD_MEMORY = "namespace_pod:container_memory_working_set_bytes:sum"
POD_NET_RX = "namespace_pod:container_network_receive_bytes:rate5m"
POD_NET_TX = "namespace_pod:container_network_transmit_bytes:rate5m"
CONTAINER_THROTTLED = "namespace_pod_container:container_cpu_cfs_throttled:ratio_rate5m"
CONTAINER_MEMORY_OF_LIMIT = "namespace_pod_container:container_memory_working_set_bytes:ratio_limit"
PVC_USED = "namespace_persistentvolumeclaim:kubelet_volume_stats_used:ratio"


def service_labels(service: Service) -> dict[str, str]:
    return {"service": service.name, "namespace": service.namespace}


def service_selector(service: Service) -> str:
    """Selects the service's recorded series."""
    return "{" + promql.matcher("service", "=", service.name) + ", " + promql.matcher("namespace", "=", service.namespace) + "}"


def _red(stack: Stack, service: Service) -> list[RecordingRule]:
    c = service.contract
    labels = service_labels(service)
    sel = service_selector(service)
    route = f'label_replace(rate({c.requests}{c.matchers()}[{RATE}]), "route", "$1", "{c.route}", "(.*)")'
    route_errors = f'label_replace(rate({c.requests}{c.matchers(c.error_matcher())}[{RATE}]), "route", "$1", "{c.route}", "(.*)")'
    rules = [
        RecordingRule(REQUESTS, f"sum(rate({c.requests}{c.matchers()}[{RATE}]))", labels),
        # No 5xx series exist until the first error: 0, not "no data".
        RecordingRule(ERRORS, f"sum(rate({c.requests}{c.matchers(c.error_matcher())}[{RATE}])) or vector(0)", labels),
        RecordingRule(ERROR_RATIO, f"{ERRORS}{sel}\n/\n({REQUESTS}{sel} > 0)", labels),
        RecordingRule(ROUTE_REQUESTS, f"sum by (route) (\n  {route}\n)", labels),
        RecordingRule(ROUTE_ERRORS, f"sum by (route) (\n  {route_errors}\n)", labels),
    ]
    for q in QUANTILES:
        rules.append(
            RecordingRule(
                LATENCY,
                f"histogram_quantile({q}, sum by (le) (rate({c.duration_bucket}{c.matchers()}[{RATE}])))",
                {**labels, "quantile": q},
            )
        )
    rules.append(
        RecordingRule(
            ROUTE_LATENCY,
            "histogram_quantile(0.95, sum by (route, le) (\n"
            f'  label_replace(rate({c.duration_bucket}{c.matchers()}[{RATE}]), "route", "$1", "{c.route}", "(.*)")\n'
            "))",
            {**labels, "quantile": "0.95"},
        )
    )
    if stack.tier.security_signals:
        rules.append(
            RecordingRule(
                AUTH_FAILURES,
                f"sum(rate({c.requests}{c.matchers(c.error_matcher('401|403'))}[{RATE}])) or vector(0)",
                labels,
            )
        )
    return rules


_NODE = 'job="node-exporter"'
_CADVISOR = 'job="cadvisor"'

NODE_USE: tuple[RecordingRule, ...] = (
    RecordingRule(NODE_CPU, f'1 - avg by (node) (rate(node_cpu_seconds_total{{{_NODE}, mode="idle"}}[5m]))'),
    RecordingRule(
        NODE_LOAD,
        f'sum by (node) (node_load1{{{_NODE}}})\n/\ncount by (node) (node_cpu_seconds_total{{{_NODE}, mode="idle"}})',
    ),
    RecordingRule(
        NODE_MEMORY,
        f"1 - sum by (node) (node_memory_MemAvailable_bytes{{{_NODE}}})\n/\nsum by (node) (node_memory_MemTotal_bytes{{{_NODE}}})",
    ),
    RecordingRule(
        NODE_FILESYSTEM,
        "1 - max by (node, device, mountpoint) (\n"
        f'  node_filesystem_avail_bytes{{{_NODE}, fstype!=""}}\n'
        f'  / node_filesystem_size_bytes{{{_NODE}, fstype!=""}}\n'
        ")",
    ),
    RecordingRule(NODE_NET_RX, f'sum by (node) (rate(node_network_receive_bytes_total{{{_NODE}, device!="lo"}}[5m]))'),
    RecordingRule(NODE_NET_TX, f'sum by (node) (rate(node_network_transmit_bytes_total{{{_NODE}, device!="lo"}}[5m]))'),
    RecordingRule(
        NODE_NET_ERRORS,
        f'sum by (node) (rate(node_network_receive_errs_total{{{_NODE}, device!="lo"}}[5m]))\n'
        f'+\nsum by (node) (rate(node_network_transmit_errs_total{{{_NODE}, device!="lo"}}[5m]))',
    ),
)

# cAdvisor reports each container, plus a pod-level cgroup (container="")
# that would double-count; image!="" drops the pause container.
_CONTAINERS = f'{_CADVISOR}, container!="", image!=""'

POD_USE: tuple[RecordingRule, ...] = (
    RecordingRule(POD_CPU, f"sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{{{_CONTAINERS}}}[5m]))"),
    RecordingRule(POD_MEMORY, f"sum by (namespace, pod) (container_memory_working_set_bytes{{{_CONTAINERS}}})"),
    # Network is accounted per pod (the sandbox), not per container.
    RecordingRule(POD_NET_RX, f"sum by (namespace, pod) (rate(container_network_receive_bytes_total{{{_CADVISOR}}}[5m]))"),
    RecordingRule(POD_NET_TX, f"sum by (namespace, pod) (rate(container_network_transmit_bytes_total{{{_CADVISOR}}}[5m]))"),
    RecordingRule(
        CONTAINER_THROTTLED,
        f"sum by (namespace, pod, container) (rate(container_cpu_cfs_throttled_periods_total{{{_CONTAINERS}}}[5m]))\n"
        f"/\n(sum by (namespace, pod, container) (rate(container_cpu_cfs_periods_total{{{_CONTAINERS}}}[5m])) > 0)",
    ),
    RecordingRule(
        CONTAINER_MEMORY_OF_LIMIT,
        f"sum by (namespace, pod, container) (container_memory_working_set_bytes{{{_CONTAINERS}}})\n"
        "/ on (namespace, pod, container)\n"
        'sum by (namespace, pod, container) (kube_pod_container_resource_limits{job="kube-state-metrics", resource="memory"} > 0)',
    ),
    RecordingRule(
        PVC_USED,
        "1 - max by (namespace, persistentvolumeclaim) (\n"
        '  kubelet_volume_stats_available_bytes{job="kubelet"}\n'
        '  / kubelet_volume_stats_capacity_bytes{job="kubelet"}\n'
        ")",
    ),
)


def groups(stack: Stack) -> list[RuleGroup]:
    out = []
    for service in stack.services:
        out.append(RuleGroup(f"obs-red-{service.namespace}-{service.name}", tuple(_red(stack, service))))
    if stack.enabled("nodeExporter"):
        out.append(RuleGroup("obs-use-nodes", NODE_USE))
    out.append(RuleGroup("obs-use-pods", POD_USE))
    return out
