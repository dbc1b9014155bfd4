"""OpenTelemetry Collector configs (agent DaemonSet and gateway), built as data.

The chart ships these dicts as they are. Anything that depends on the Helm
release (Service names, the namespace, the pod IP) is written as a
`${env:NAME}` reference, which the collector expands at start-up; the
otel-collector subchart sets every one of these variables on its containers
(see ENV_* below and charts/obs/charts/otel-collector/templates/_helpers.tpl).

Component names are those of the pinned collector (IMAGE): contrib 0.160.0,
the release the suite builds and runs (ci/engines/otelcol), uses the
snake_case names (`file_log` since 0.149, `k8s_attributes` since 0.146,
`resource_detection` and `load_balancing` since 0.153, `otlp_grpc`/`otlp_http`
exporters since core 0.144). The old names are deprecated aliases that log a
warning at every start, so none is used here.

No function looks at a tier name: the tier table maps a tier to the explicit
parameters below (logs/traces/metrics switches and a Sampling).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from .. import web
from ..contract import Endpoint
from ..images import IMAGES

# Contrib, not the -k8s distribution: -k8s lacks nothing we use today, but the
# gateway may need prometheus_remote_write later and one image keeps mirrors simple.
IMAGE = IMAGES["otelCollector"].as_values()

# Environment variables the chart sets on the collector containers.
ENV_POD_IP = "OBS_POD_IP"  # status.podIP: listeners bind to the pod IP, not 0.0.0.0
ENV_NODE_NAME = "OBS_NODE_NAME"  # spec.nodeName: k8s_attributes watches only this node's pods
ENV_NAMESPACE = "OBS_NAMESPACE"  # release namespace
ENV_RELEASE = "OBS_RELEASE"  # release name
# Addresses of other Services: the chart renders each from the wiring
# contract (obsgen.contract) as `endpoints` below says.
ENV_GATEWAY_OTLP = "OBS_GATEWAY_OTLP"
ENV_GATEWAY_HEADLESS = "OBS_GATEWAY_HEADLESS"
ENV_TRACES_OTLP = "OBS_TRACES_OTLP"
ENV_LOKI_OTLP = "OBS_LOKI_OTLP"
# One OTLP address per Prometheus replica (…_0, …_1): see gateway_config.
ENV_PROMETHEUS_OTLP = "OBS_PROMETHEUS_OTLP"
ENV_PROMETHEUS_HOST = "OBS_PROMETHEUS_HOST"  # the name a TLS Prometheus's certificate carries
# Optional log export to an existing Elasticsearch/OpenSearch (gateway only,
# set by the chart when otelCollector.logExport.enabled).
ENV_LOG_EXPORT_URL = "OBS_LOG_EXPORT_URL"  # otelCollector.logExport.url
ENV_LOG_EXPORT_USERNAME = "OBS_LOG_EXPORT_USERNAME"  # secretKeyRef existingSecret/usernameKey
ENV_LOG_EXPORT_PASSWORD = "OBS_LOG_EXPORT_PASSWORD"  # secretKeyRef existingSecret/passwordKey
# Gateway only, with web.prometheus.basicAuth: secretKeyRef of global.web.prometheus.basicAuth.
ENV_PROMETHEUS_PASSWORD = "OBS_PROMETHEUS_WEB_PASSWORD"
LOG_EXPORTER = "elasticsearch/export"

PORT_OTLP_GRPC = 4317
PORT_OTLP_HTTP = 4318
# The agent's read offsets: a bbolt file in a per-release directory on the
# node (the DaemonSet's one writable hostPath, mounted here).
POSITIONS_STORAGE = "file_storage/positions"
POSITIONS_DIR = "/var/lib/otelcol/positions"
PORT_HEALTH = 13133
PORT_METRICS = 8888  # the collector's own telemetry, scraped by Prometheus
HEALTH_PATH = "/"
LOKI_EXPORTER = "otlp_http/loki"  # the gateway's exporter the audit-pipeline alert watches

# Pushed metrics get the labels scraped ones get from Prometheus' relabelling
# (label, resource attribute). Prometheus' OTLP receiver keeps resource
# attributes on `target_info` only, so without these the RED recordings and
# SLOs, which select `{service, namespace}`, would miss every app that pushes
# its metrics instead of being scraped (found by the live pipeline test).
PUSHED_METRIC_LABELS: tuple[tuple[str, str], ...] = (
    ("service", "service.name"),
    ("namespace", "k8s.namespace.name"),
    ("pod", "k8s.pod.name"),
)
PUSHED_LABELS_PROCESSOR = "transform/prometheus-labels"

TRACE_BACKENDS = ("tempo", "jaeger")
SAMPLING_MODES = ("none", "head", "tail")


def env(name: str) -> str:
    return "${env:" + name + "}"


def prometheus_otlp_env(replica: int) -> str:
    return f"{ENV_PROMETHEUS_OTLP}_{replica}"


def endpoints(trace_backend: str, prometheus_scheme: str = "http", prometheus_replicas: int = 1) -> dict[str, Endpoint]:
    """Every address variable a collector config may reference, as contract Services."""
    return {
        ENV_GATEWAY_OTLP: Endpoint("otelGateway", "otlp-grpc"),
        # The load_balancing exporter's DNS resolver adds the port itself.
        ENV_GATEWAY_HEADLESS: Endpoint("otelGatewayHeadless", "otlp-grpc", with_port=False),
        # Tempo and Jaeger (v2) both take OTLP/gRPC.
        ENV_TRACES_OTLP: Endpoint(trace_backend, "otlp-grpc"),
        # Loki 3's native OTLP ingestion, on the write path.
        ENV_LOKI_OTLP: Endpoint("lokiWrite", "http", scheme="http", path="/otlp"),
        # Prometheus 3 started with --web.enable-otlp-receiver, each replica by
        # its pod's name under the headless Service.
        **{
            prometheus_otlp_env(i): Endpoint("prometheusHeadless", "http", scheme=prometheus_scheme, path="/api/v1/otlp", replica=i)
            for i in range(prometheus_replicas)
        },
        ENV_PROMETHEUS_HOST: Endpoint("prometheus", "http", with_port=False),
    }


def referenced_endpoints(
    trace_backend: str, *configs: dict[str, Any], prometheus_scheme: str = "http", prometheus_replicas: int = 1
) -> list[dict[str, Any]]:
    """The address variables these configs read, for the chart to set: no more, so
    a workload is never handed the address of a Service this tier does not run."""
    text = json.dumps(configs)
    return [
        ep.as_values(name) for name, ep in endpoints(trace_backend, prometheus_scheme, prometheus_replicas).items() if env(name) in text
    ]


@dataclass(frozen=True)
class TailPolicies:
    """What the gateway keeps once it has seen a whole trace."""

    latency_threshold_ms: int = 1000  # a trace slower than this is kept
    baseline_percentage: float = 10.0  # share of the remaining traces kept
    # Kubelet probes and scrapes produce a trace per call and tell nothing.
    health_check_routes: tuple[str, ...] = ("/health", "/healthz", "/ready", "/readyz", "/live", "/livez", "/metrics")
    decision_wait: str = "10s"  # spans of one trace arrive within this window
    num_traces: int = 50000  # traces held in memory while waiting


@dataclass(frozen=True)
class Sampling:
    mode: Literal["none", "head", "tail"] = "none"
    head_percentage: float = 10.0
    tail: TailPolicies = field(default_factory=TailPolicies)

    def __post_init__(self) -> None:
        if self.mode not in SAMPLING_MODES:
            raise ValueError(f"sampling mode {self.mode!r} is not one of {', '.join(SAMPLING_MODES)}")
        if not 0 < self.head_percentage <= 100:
            raise ValueError(f"head sampling percentage {self.head_percentage} is not in (0, 100]")
        if not 0 <= self.tail.baseline_percentage <= 100:
            raise ValueError(f"tail baseline percentage {self.tail.baseline_percentage} is not in [0, 100]")


def _health_check() -> dict[str, Any]:
    return {"health_check": {"endpoint": f"{env(ENV_POD_IP)}:{PORT_HEALTH}", "path": HEALTH_PATH}}


def _service(pipelines: dict[str, Any], extensions: dict[str, Any]) -> dict[str, Any]:
    # The collector serves its own metrics on 127.0.0.1:8888 by default, out of
    # Prometheus' reach; the pull reader binds the pod IP instead (the
    # deprecated `address` key is gone from current releases).
    telemetry = {
        "metrics": {
            "level": "normal",
            "readers": [{"pull": {"exporter": {"prometheus": {"host": env(ENV_POD_IP), "port": PORT_METRICS}}}}],
        }
    }
    return {"extensions": list(extensions), "telemetry": telemetry, "pipelines": pipelines}


def _otlp_receiver() -> dict[str, Any]:
    return {
        "otlp": {
            "protocols": {
                "grpc": {"endpoint": f"{env(ENV_POD_IP)}:{PORT_OTLP_GRPC}"},
                "http": {"endpoint": f"{env(ENV_POD_IP)}:{PORT_OTLP_HTTP}"},
            }
        }
    }


def _memory_limiter(limit_percentage: int) -> dict[str, Any]:
    # Percentages of the container's cgroup limit, so resizing a tier needs no
    # config change. The spike margin covers one check interval of intake.
    return {"check_interval": "1s", "limit_percentage": limit_percentage, "spike_limit_percentage": 20}


def _batch() -> dict[str, Any]:
    return {"send_batch_size": 8192, "send_batch_max_size": 16384, "timeout": "1s"}


def _pipeline(receivers: list[str], processors: list[str], exporters: list[str]) -> dict[str, Any]:
    # memory_limiter first (refuse before anything buffers), batch last (batch
    # what is actually exported, after sampling has dropped what it drops).
    return {"receivers": receivers, "processors": ["memory_limiter", *processors, "batch"], "exporters": exporters}


def _file_log() -> dict[str, Any]:
    return {
        "include": ["/var/log/pods/*/*/*.log"],
        # The collector's own logs would loop back through it.
        "exclude": [f"/var/log/pods/{env(ENV_NAMESPACE)}_{env(ENV_RELEASE)}-otel-collector-*/*/*.log"],
        # Read offsets persist in file_storage on the node, so a restarted
        # agent resumes where it stopped; files it has never seen (pods
        # started while it was down, and every file at first install, bounded
        # by the kubelet's log rotation) are read from their start.
        "start_at": "beginning",
        "storage": POSITIONS_STORAGE,
        "include_file_path": True,
        "include_file_name": False,
        "operators": [
            # CRI-O/containerd line format; sets k8s.pod.name, k8s.pod.uid,
            # k8s.namespace.name and k8s.container.name from the file path.
            {"type": "container", "id": "container-parser"},
            # Structured application logs become attributes; other bodies pass.
            {
                "type": "json_parser",
                "id": "json-body",
                "if": 'body matches "^\\\\s*\\\\{"',
                "parse_from": "body",
                "parse_to": "attributes",
                "on_error": "send_quiet",
            },
            # The log level and the trace context of a structured line become
            # the record's own severity and trace/span ids, so Loki and Grafana
            # filter by level and jump from a line to its trace. Each runs only
            # when the line carried the field (found by the live pipeline test,
            # tests/test_engine_pipeline.py: before, both stayed attributes).
            {
                "type": "severity_parser",
                "id": "severity",
                "if": "attributes.level != nil",
                "parse_from": "attributes.level",
                "on_error": "send_quiet",
            },
            {
                "type": "trace_parser",
                "id": "trace-context",
                "if": "attributes.trace_id != nil",
                "trace_id": {"parse_from": "attributes.trace_id"},
                "span_id": {"parse_from": "attributes.span_id"},
                "on_error": "send_quiet",
            },
        ],
    }


def _k8s_attributes() -> dict[str, Any]:
    return {
        "auth_type": "serviceAccount",
        # Only this node's pods: a DaemonSet pod caching the whole cluster
        # would cost memory on every node.
        "filter": {"node_from_env_var": ENV_NODE_NAME},
        "extract": {
            "metadata": [
                "k8s.namespace.name",
                "k8s.pod.name",
                "k8s.pod.uid",
                "k8s.node.name",
                "k8s.deployment.name",
                "k8s.statefulset.name",
                "k8s.daemonset.name",
                "k8s.container.name",
            ]
        },
        "pod_association": [
            # File logs: the container parser set the pod uid.
            {"sources": [{"from": "resource_attribute", "name": "k8s.pod.uid"}]},
            # OTLP from apps on the node: the connection's pod IP.
            {"sources": [{"from": "connection"}]},
        ],
    }


def agent_config(*, logs: bool, traces: bool, metrics: bool, sampling: Sampling, memory_limit_percentage: int = 80) -> dict[str, Any]:
    """The DaemonSet: node logs plus OTLP from the node's apps, enriched, to the gateway."""
    if not (logs or traces or metrics):
        raise ValueError("the agent needs at least one of logs, traces, metrics")
    receivers: dict[str, Any] = dict(_otlp_receiver())
    exporters: dict[str, Any] = {
        "otlp_grpc/gateway": {"endpoint": env(ENV_GATEWAY_OTLP), "tls": {"insecure": True}},
    }
    enrich = ["k8s_attributes", "resource_detection"]
    pipelines: dict[str, Any] = {}
    # A signal is switched off end to end: the gateway has no pipeline for it
    # either, so forwarding it would only produce export errors.
    if logs:
        receivers["file_log"] = _file_log()
        pipelines["logs"] = _pipeline(["file_log", "otlp"], enrich, ["otlp_grpc/gateway"])
    if traces:
        trace_exporter = "otlp_grpc/gateway"
        if sampling.mode == "tail":
            # Every span of a trace must reach the same gateway replica, or
            # tail sampling decides on fragments. The DNS resolver reads the
            # headless Service's A records, so the agent needs no RBAC on
            # EndpointSlices (the k8s resolver would).
            trace_exporter = "load_balancing/gateway"
            exporters[trace_exporter] = {
                "routing_key": "traceID",
                "protocol": {"otlp": {"tls": {"insecure": True}, "timeout": "5s"}},
                "resolver": {"dns": {"hostname": env(ENV_GATEWAY_HEADLESS), "port": str(PORT_OTLP_GRPC), "interval": "5s"}},
            }
        pipelines["traces"] = _pipeline(["otlp"], enrich, [trace_exporter])
    if metrics:
        pipelines["metrics"] = _pipeline(["otlp"], enrich, ["otlp_grpc/gateway"])
    extensions = _health_check()
    if logs:
        # create_directory stays off: the hostPath volume (DirectoryOrCreate) makes it.
        extensions[POSITIONS_STORAGE] = {"directory": POSITIONS_DIR, "timeout": "1s"}
    return {
        "extensions": extensions,
        "receivers": receivers,
        "processors": {
            "memory_limiter": _memory_limiter(memory_limit_percentage),
            "k8s_attributes": _k8s_attributes(),
            # k8s.cluster.name and deployment.environment.name come from
            # OTEL_RESOURCE_ATTRIBUTES (global.cluster/environment). Only the
            # env detector: `system` would report the pod name as host.name.
            "resource_detection": {"detectors": ["env"], "override": False, "timeout": "2s"},
            "batch": _batch(),
        },
        "exporters": exporters,
        "service": _service(pipelines, extensions),
    }


def _tail_sampling(policies: TailPolicies) -> dict[str, Any]:
    return {
        "decision_wait": policies.decision_wait,
        "num_traces": policies.num_traces,
        # Late spans of an already decided trace follow that decision.
        "decision_cache": {"sampled_cache_size": 100000, "non_sampled_cache_size": 100000},
        "policies": [
            # A drop decision wins over every sample decision.
            {
                "name": "drop-health-checks",
                "type": "drop",
                "drop": {
                    "drop_sub_policy": [
                        {
                            "name": "health-check-routes",
                            "type": "string_attribute",
                            "string_attribute": {"key": "url.path", "values": list(policies.health_check_routes)},
                        }
                    ]
                },
            },
            {"name": "errors", "type": "status_code", "status_code": {"status_codes": ["ERROR"]}},
            {"name": "slow", "type": "latency", "latency": {"threshold_ms": policies.latency_threshold_ms}},
            {"name": "baseline", "type": "probabilistic", "probabilistic": {"sampling_percentage": policies.baseline_percentage}},
        ],
    }


def _elasticsearch(index: str) -> dict[str, Any]:
    # contrib exporter/elasticsearchexporter: `endpoints`, the static
    # `logs_index`, and its own basic-auth `user`/`password` (no auth extension).
    return {
        "endpoints": [env(ENV_LOG_EXPORT_URL)],
        "logs_index": index,
        "user": env(ENV_LOG_EXPORT_USERNAME),
        "password": env(ENV_LOG_EXPORT_PASSWORD),
        # ECS documents index into a plain index on Elasticsearch and OpenSearch
        # alike; the default `otel` mode needs Elasticsearch data streams.
        "mapping": {"mode": "ecs"},
        # Exports run from the queue, so a slow or unreachable cluster never
        # fails the pipeline (and never makes the agents resend to Loki).
        "sending_queue": {"enabled": True},
    }


def gateway_config(
    *,
    logs: bool,
    traces: bool,
    metrics: bool,
    sampling: Sampling,
    memory_limit_percentage: int = 80,
    log_export_index: str | None = None,
    web_security: dict[str, Any] | None = None,
    prometheus_replicas: int = 1,
) -> dict[str, Any]:
    """The gateway: OTLP in, sampling, and one exporter per backend (per Prometheus replica).

    web_security: the profile's `web`; a web-secured Prometheus gets TLS and
    basic auth on the OTLP metrics exporter (web.otlp_client).

    log_export_index: also send logs to the existing Elasticsearch/OpenSearch
    cluster the chart's logExport section names, into this index.
    """
    if not (logs or traces or metrics):
        raise ValueError("the gateway needs at least one of logs, traces, metrics")
    processors: dict[str, Any] = {"memory_limiter": _memory_limiter(memory_limit_percentage), "batch": _batch()}
    exporters: dict[str, Any] = {}
    pipelines: dict[str, Any] = {}
    auth_extensions: dict[str, Any] = {}
    if traces:
        samplers: list[str] = []
        if sampling.mode == "head":
            processors["probabilistic_sampler"] = {"sampling_percentage": sampling.head_percentage, "mode": "proportional"}
            samplers = ["probabilistic_sampler"]
        elif sampling.mode == "tail":
            processors["tail_sampling"] = _tail_sampling(sampling.tail)
            samplers = ["tail_sampling"]
        exporters["otlp_grpc/traces"] = {"endpoint": env(ENV_TRACES_OTLP), "tls": {"insecure": True}}
        pipelines["traces"] = _pipeline(["otlp"], samplers, ["otlp_grpc/traces"])
    if logs:
        # Loki 3 ingests OTLP natively under /otlp (the exporter appends /v1/logs).
        exporters[LOKI_EXPORTER] = {"endpoint": env(ENV_LOKI_OTLP), "tls": {"insecure": True}}
        log_exporters = [LOKI_EXPORTER]
        if log_export_index:
            exporters[LOG_EXPORTER] = _elasticsearch(log_export_index)
            log_exporters.append(LOG_EXPORTER)
        pipelines["logs"] = _pipeline(["otlp"], [], log_exporters)
    if metrics:
        # Prometheus 3 with --web.enable-otlp-receiver; /v1/metrics is appended.
        # One exporter per replica, each with its own queue: replicas of an
        # HA pair must both have every series (the Service would hand each
        # connection to one of them), and one replica down or slow must not
        # hold back the other. A TLS client still verifies the Service's name.
        client, auth_extensions = web.otlp_client(web_security or {}, "prometheus", ENV_PROMETHEUS_PASSWORD)
        if "ca_file" in client["tls"]:
            client["tls"]["server_name_override"] = env(ENV_PROMETHEUS_HOST)
        replicas = [f"otlp_http/prometheus-{i}" for i in range(prometheus_replicas)]
        for i, name in enumerate(replicas):
            exporters[name] = {"endpoint": env(prometheus_otlp_env(i)), **copy.deepcopy(client)}
        processors[PUSHED_LABELS_PROCESSOR] = {
            "error_mode": "ignore",
            "metric_statements": [
                f'set(datapoint.attributes["{label}"], resource.attributes["{attribute}"]) where resource.attributes["{attribute}"] != nil'
                for label, attribute in PUSHED_METRIC_LABELS
            ],
        }
        pipelines["metrics"] = _pipeline(["otlp"], [PUSHED_LABELS_PROCESSOR], replicas)
    extensions = {**_health_check(), **auth_extensions}
    return {
        "extensions": extensions,
        "receivers": _otlp_receiver(),
        "processors": processors,
        "exporters": exporters,
        "service": _service(pipelines, extensions),
    }


def values(
    *,
    enabled: bool,
    logs: bool,
    traces: bool,
    metrics: bool,
    sampling: Sampling,
    trace_backend: str,
    agent_resources: dict[str, Any],
    gateway_resources: dict[str, Any],
    gateway_replicas: int,
    disruption_budget: bool,
    topology_spread: bool,
    image: dict[str, str] | None = None,
    log_export: dict | None = None,
    web_security: dict[str, Any] | None = None,
    prometheus_replicas: int = 1,
) -> dict[str, Any]:
    """The `otelCollector` section of the chart values (same keys in every tier).

    log_export: {url, existingSecret, index} of an existing Elasticsearch or
    OpenSearch cluster that receives the logs too (only when logs flow).
    """
    if trace_backend not in TRACE_BACKENDS:
        raise ValueError(f"trace backend {trace_backend!r} is not one of {', '.join(TRACE_BACKENDS)}")
    if gateway_replicas < 1:
        raise ValueError("the gateway needs at least one replica")
    signals = {"logs": logs, "traces": traces, "metrics": metrics}
    active = any(signals.values())
    export = dict(log_export or {}) if logs and active else {}
    if export and not (export.get("url") and export.get("existingSecret")):
        raise ValueError("log export needs a url and an existingSecret")
    export_index = export.get("index", "obs-logs") if export else None
    agent = agent_config(**signals, sampling=sampling) if active else {}
    gateway = (
        gateway_config(
            **signals, sampling=sampling, log_export_index=export_index, web_security=web_security, prometheus_replicas=prometheus_replicas
        )
        if active
        else {}
    )
    return {
        "enabled": enabled and active,
        "component": "telemetry-pipeline",
        "image": dict(image or IMAGE),
        "traces": {"backend": trace_backend},
        "endpoints": referenced_endpoints(
            trace_backend,
            agent,
            gateway,
            prometheus_scheme=web.scheme(web_security or {}, "prometheus"),
            prometheus_replicas=prometheus_replicas,
        ),
        "agent": {
            "resources": agent_resources,
            "config": agent,
        },
        "gateway": {
            # Tail sampling wants stable members behind the headless Service the
            # agents resolve; without it a Deployment rolls faster.
            "kind": "StatefulSet" if traces and sampling.mode == "tail" else "Deployment",
            "replicas": gateway_replicas,
            "resources": gateway_resources,
            "config": gateway,
            "podDisruptionBudget": {"enabled": disruption_budget, "maxUnavailable": 1},
            "topologySpread": {"enabled": topology_spread},
        },
        "logExport": {
            "enabled": bool(export),
            "url": export.get("url", ""),
            "existingSecret": export.get("existingSecret", ""),
            "usernameKey": "username",
            "passwordKey": "password",
        },
    }
