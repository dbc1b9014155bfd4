"""Application instrumentation: the data behind the obs-instrumentation library chart.

An application chart includes charts/obs-instrumentation and picks a tier
(`obsInstrumentation.tier`). What each tier gives the app's pod is decided
here, from the tier rows (tiers.TIERS and tiers.APP_INSTRUMENTATION), and
written into the library as `_tiers.tpl`; the library's templates only render
that table:

- scrape annotations (every tier);
- the `OTEL_*` environment of the app's containers: service name and
  resource attributes from the downward API, where to send OTLP, which
  signals, and the SDK sampler;
- a collector as a Kubernetes native sidecar (an init container with
  `restartPolicy: Always`), with its config, that forwards to the obs gateway;
- for audit mode, a second logs pipeline that keeps audit and security events
  apart, marks them and sends them through a persistent, retrying queue.

Anything that depends on the obs release (Service names) is written with the
placeholders RELEASE and NAMESPACE below, which the library replaces with the
app's `obsInstrumentation.obs.release` / `.namespace`. The sidecar config
itself, like the otel-collector subchart's configs (otel.py), refers to those
addresses through `${env:NAME}` variables set on the sidecar container.

No function looks at a tier's name: modes are looked up in MODES, sampling in
the tier's trace_sampling, signals in its logs/traces/components.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .. import contract, yamlio
from ..images import IMAGES
from ..tiers import APP_INSTRUMENTATION, TIER_ORDER, TIERS, AppInstrumentation, Tier
from . import otel

SOURCE = "generator/obsgen/artifacts/instrumentation.py"
DEFAULT_TIER = "basic"

# Replaced by the library with the obs release name and namespace the app sets.
RELEASE = "@RELEASE@"
NAMESPACE = "@NAMESPACE@"
DEFAULT_OBS_RELEASE = "obs"
DEFAULT_OBS_NAMESPACE = "monitoring"

# Apps speak OTLP/HTTP (protobuf): the default of the SDK specification and
# the one protocol every language SDK ships. The sidecar listens on loopback
# only: the app is in the same network namespace, nothing else may send.
OTLP_PROTOCOL = "http/protobuf"
LOOPBACK = "127.0.0.1"
SIDECAR_ENDPOINT = f"http://{LOOPBACK}:{otel.PORT_OTLP_HTTP}"


# The node agent's Service (internalTrafficPolicy: Local, so the app's own
# node's agent answers; see the otel-collector subchart's services.yaml).
# Names and ports come from the wiring contract, as the umbrella renders them.
def _host(service: str) -> str:
    return f"{contract.service_name(service, RELEASE)}.{NAMESPACE}.svc"


AGENT_ENDPOINT = f"http://{_host('otelAgent')}:{contract.SERVICES['otelAgent'].ports['otlp-http']}"
GATEWAY_OTLP = f"{_host('otelGateway')}:{contract.SERVICES['otelGateway'].ports['otlp-grpc']}"
GATEWAY_HEADLESS = _host("otelGatewayHeadless")

SIDECAR_CONTAINER = "otel-collector"
SIDECAR_UID = 10001  # the contrib image's own non-root user
HEALTH_PORT_NAME = "otel-health"  # port names are unique per pod: prefixed
CONFIG_VOLUME = "otel-sidecar-config"
CONFIG_DIR = "/etc/otelcol"
CONFIG_FILE = "config.yaml"

# Audit and security events. The contract apps follow (charts/obs-instrumentation/README.md):
# an OTLP log record whose event name (the LogRecord EventName field, or the
# `event.name` attribute for SDKs and log bridges without that field) starts
# with `audit.` or `security.`. They are marked with AUDIT_MARK = true.
AUDIT_EVENT_PATTERN = "^(audit|security)[.]"
AUDIT_MARK = "obs.audit"
AUDIT_QUEUE_VOLUME = "otel-audit-queue"
AUDIT_QUEUE_DIR = "/var/lib/otelcol/audit-queue"
AUDIT_STORAGE = "file_storage/audit"
AUDIT_EXPORTER = "otlp_grpc/audit"
AUDIT_PIPELINE = "logs/audit"
GATEWAY_EXPORTER = "otlp_grpc/gateway"


@dataclass(frozen=True)
class Mode:
    """What one instrumentation mode puts into the app's pod."""

    otel_env: bool  # OTEL_* environment on the app's containers
    sidecar: bool  # a collector native sidecar (else OTLP goes to the node agent)
    audit: bool  # audit/security events get their own persistent, retrying pipeline


MODES: dict[str, Mode] = {
    "annotations": Mode(otel_env=False, sidecar=False, audit=False),
    "agent": Mode(otel_env=True, sidecar=False, audit=False),
    "sidecar": Mode(otel_env=True, sidecar=True, audit=False),
    "sidecar-audit": Mode(otel_env=True, sidecar=True, audit=True),
}


@dataclass(frozen=True)
class Signals:
    """Signals the obs pipeline of a tier carries end to end."""

    traces: bool
    metrics: bool
    logs: bool


def signals(tier: Tier) -> Signals:
    # Same switches as the chart values (artifacts/values.py): the gateway has
    # a pipeline for a signal only when the tier carries it.
    collector = "otelCollector" in tier.components
    return Signals(traces=collector and tier.traces, metrics=collector, logs=collector and tier.logs)


def sampling(tier: Tier) -> otel.Sampling:
    return otel.Sampling(mode=tier.trace_sampling) if tier.traces else otel.Sampling()


def sdk_sampler(tier: Tier) -> tuple[str, str | None]:
    """OTEL_TRACES_SAMPLER and its argument (None: the sampler takes none).

    No trace pipeline: record nothing. Otherwise the SDK keeps every trace it
    starts and the obs gateway makes the one sampling decision of the tier
    (head: its probabilistic_sampler keeps 10 %; tail: whole traces). A
    second ratio in the SDK would multiply with the gateway's (10 % x 10 %),
    and apps instrumented without this library would be sampled differently
    from those with it.
    """
    if not signals(tier).traces:
        return "always_off", None
    return "parentbased_always_on", None


# --- the app's environment ----------------------------------------------------

# Downward API first: OTEL_RESOURCE_ATTRIBUTES refers to these with $(VAR),
# which Kubernetes expands only for variables defined earlier in the list.
DOWNWARD_API: tuple[tuple[str, str, str], ...] = (
    # (variable, fieldPath, resource attribute)
    ("K8S_POD_NAME", "metadata.name", "k8s.pod.name"),
    ("K8S_NAMESPACE_NAME", "metadata.namespace", "k8s.namespace.name"),
    ("K8S_NODE_NAME", "spec.nodeName", "k8s.node.name"),
    ("K8S_POD_UID", "metadata.uid", "k8s.pod.uid"),
)
SERVICE_NAME_FIELD = "metadata.labels['app.kubernetes.io/name']"


def app_env(tier: Tier, mode: Mode) -> list[dict[str, Any]]:
    """Environment of the app's containers, in dependency order.

    Each entry has `name` and either `fieldPath` (downward API) or `value`.
    The entry with `appendResourceAttributes` gets the app's own extra
    attributes (`obsInstrumentation.resourceAttributes`) appended.
    """
    if not mode.otel_env:
        return []
    sig = signals(tier)
    env: list[dict[str, Any]] = [{"name": var, "fieldPath": path} for var, path, _ in DOWNWARD_API]
    env.append({"name": "OTEL_SERVICE_NAME", "fieldPath": SERVICE_NAME_FIELD})
    attributes = ",".join(f"{attr}=$({var})" for var, _, attr in DOWNWARD_API)
    env.append({"name": "OTEL_RESOURCE_ATTRIBUTES", "value": attributes, "appendResourceAttributes": True})
    env.append({"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": SIDECAR_ENDPOINT if mode.sidecar else AGENT_ENDPOINT})
    env.append({"name": "OTEL_EXPORTER_OTLP_PROTOCOL", "value": OTLP_PROTOCOL})
    # A signal the tier does not carry is switched off in the SDK too: the
    # collectors have no pipeline for it and would only answer with errors.
    for var, on in (("OTEL_TRACES_EXPORTER", sig.traces), ("OTEL_METRICS_EXPORTER", sig.metrics), ("OTEL_LOGS_EXPORTER", sig.logs)):
        env.append({"name": var, "value": "otlp" if on else "none"})
    sampler, arg = sdk_sampler(tier)
    env.append({"name": "OTEL_TRACES_SAMPLER", "value": sampler})
    if arg is not None:
        env.append({"name": "OTEL_TRACES_SAMPLER_ARG", "value": arg})
    return env


# --- the sidecar collector ------------------------------------------------------


def _is_audit(path: str) -> str:
    return f'IsMatch({path}, "{AUDIT_EVENT_PATTERN}")'


AUDIT_CONDITIONS: tuple[str, ...] = (_is_audit("log.event_name"), _is_audit('log.attributes["event.name"]'))


def _audit_processors() -> dict[str, Any]:
    # filter (contrib, `log_conditions` with context inference since v0.146):
    # a record is dropped when any condition is true. The two filters are
    # exact complements, so every record takes exactly one of the two logs
    # pipelines. error_mode ignore: a condition that errors counts as false,
    # so such a record is dropped by neither filter and goes both ways (a
    # duplicate, never a loss).
    return {
        "filter/drop-audit": {"error_mode": "ignore", "log_conditions": list(AUDIT_CONDITIONS)},
        "filter/keep-audit": {"error_mode": "ignore", "log_conditions": [" and ".join(f"not {c}" for c in AUDIT_CONDITIONS)]},
        # transform (contrib, flat `log_statements` with context inference).
        "transform/mark-audit": {
            "error_mode": "ignore",
            "log_statements": [
                f'set(log.attributes["{AUDIT_MARK}"], true)',
                # Loki keeps attributes, not the EventName field: carry the name over.
                'set(log.attributes["event.name"], log.event_name) where log.attributes["event.name"] == nil and log.event_name != ""',
            ],
        },
    }


def _audit_exporter() -> dict[str, Any]:
    # exporterhelper: retries never give up (max_elapsed_time 0), the queue
    # lives on the pod's emptyDir (survives a sidecar restart) and, when full,
    # pushes back on the app instead of dropping (block_on_overflow).
    return {
        "endpoint": otel.env(otel.ENV_GATEWAY_OTLP),
        "tls": {"insecure": True},
        "retry_on_failure": {"enabled": True, "initial_interval": "1s", "max_interval": "30s", "max_elapsed_time": "0s"},
        "sending_queue": {"enabled": True, "storage": AUDIT_STORAGE, "queue_size": 5000, "block_on_overflow": True},
    }


def _audit_storage() -> dict[str, Any]:
    # file_storage (contrib): compaction would default to the read-only /tmp.
    return {"directory": AUDIT_QUEUE_DIR, "timeout": "2s", "fsync": True, "compaction": {"directory": AUDIT_QUEUE_DIR}}


def _load_balancing_gateway() -> dict[str, Any]:
    # As the node agent does for tail sampling (otel.agent_config): every span
    # of a trace must reach the same gateway replica.
    return {
        "routing_key": "traceID",
        "protocol": {"otlp": {"tls": {"insecure": True}, "timeout": "5s"}},
        "resolver": {"dns": {"hostname": otel.env(otel.ENV_GATEWAY_HEADLESS), "port": str(otel.PORT_OTLP_GRPC), "interval": "5s"}},
    }


def sidecar_config(*, sig: Signals, trace_sampling: otel.Sampling, audit: bool, memory_limit_percentage: int = 80) -> dict[str, Any]:
    """The sidecar: OTLP from the app on loopback, to the obs gateway."""
    if not (sig.traces or sig.metrics or sig.logs):
        raise ValueError("the sidecar needs at least one of traces, metrics, logs")
    if audit and not sig.logs:
        raise ValueError("audit events are log records: audit mode needs the logs pipeline")
    receivers = {
        "otlp": {
            "protocols": {
                "grpc": {"endpoint": f"{LOOPBACK}:{otel.PORT_OTLP_GRPC}"},
                "http": {"endpoint": f"{LOOPBACK}:{otel.PORT_OTLP_HTTP}"},
            }
        }
    }
    # The kubelet probes the pod IP, so health_check binds there, not loopback.
    extensions: dict[str, Any] = {"health_check": {"endpoint": f"{otel.env(otel.ENV_POD_IP)}:{otel.PORT_HEALTH}", "path": otel.HEALTH_PATH}}
    processors: dict[str, Any] = {"memory_limiter": otel._memory_limiter(memory_limit_percentage), "batch": otel._batch()}
    exporters: dict[str, Any] = {GATEWAY_EXPORTER: {"endpoint": otel.env(otel.ENV_GATEWAY_OTLP), "tls": {"insecure": True}}}
    pipelines: dict[str, Any] = {}
    if sig.traces:
        trace_exporter = GATEWAY_EXPORTER
        if trace_sampling.mode == "tail":
            trace_exporter = "load_balancing/gateway"
            exporters[trace_exporter] = _load_balancing_gateway()
        pipelines["traces"] = otel._pipeline(["otlp"], [], [trace_exporter])
    if sig.metrics:
        pipelines["metrics"] = otel._pipeline(["otlp"], [], [GATEWAY_EXPORTER])
    if sig.logs and audit:
        processors.update(_audit_processors())
        exporters[AUDIT_EXPORTER] = _audit_exporter()
        extensions[AUDIT_STORAGE] = _audit_storage()
        pipelines["logs"] = otel._pipeline(["otlp"], ["filter/drop-audit"], [GATEWAY_EXPORTER])
        # No batch processor: it acknowledges before export, so a sidecar
        # crash would lose what it holds. Without it the app's export call
        # returns only once its events are in the persistent queue (the SDK
        # batches already).
        pipelines[AUDIT_PIPELINE] = {
            "receivers": ["otlp"],
            "processors": ["memory_limiter", "filter/keep-audit", "transform/mark-audit"],
            "exporters": [AUDIT_EXPORTER],
        }
    elif sig.logs:
        pipelines["logs"] = otel._pipeline(["otlp"], [], [GATEWAY_EXPORTER])
    if not any(GATEWAY_EXPORTER in p["exporters"] for p in pipelines.values()):
        del exporters[GATEWAY_EXPORTER]
    return {
        "extensions": extensions,
        "receivers": receivers,
        "processors": processors,
        "exporters": exporters,
        "service": {
            "extensions": list(extensions),
            # The collector's own metrics would listen on 127.0.0.1:8888 in
            # the app's network namespace, where the app may use that port.
            "telemetry": {"metrics": {"level": "none"}},
            "pipelines": pipelines,
        },
    }


def sidecar_env(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The variables the sidecar config refers to, as container env entries."""
    known: dict[str, dict[str, Any]] = {
        otel.ENV_POD_IP: {"name": otel.ENV_POD_IP, "fieldPath": "status.podIP"},
        otel.ENV_GATEWAY_OTLP: {"name": otel.ENV_GATEWAY_OTLP, "value": GATEWAY_OTLP},
        otel.ENV_GATEWAY_HEADLESS: {"name": otel.ENV_GATEWAY_HEADLESS, "value": GATEWAY_HEADLESS},
    }
    used = env_references(config)
    unknown = used - set(known)
    if unknown:
        raise ValueError(f"sidecar config refers to variables no env entry sets: {sorted(unknown)}")
    return [entry for name, entry in known.items() if name in used]


_ENV_REF = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")


def env_references(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set().union(*(env_references(v) for v in node.values())) if node else set()
    if isinstance(node, list):
        return set().union(*(env_references(v) for v in node)) if node else set()
    return set(_ENV_REF.findall(node)) if isinstance(node, str) else set()


def _probes() -> dict[str, Any]:
    # health_check answers 200 on its path once every pipeline has started.
    # The startup probe also holds the app's containers back: the kubelet
    # starts them only after a native sidecar's startup probe succeeded.
    get = {"path": otel.HEALTH_PATH, "port": HEALTH_PORT_NAME}
    return {
        "startupProbe": {"httpGet": get, "periodSeconds": 2, "failureThreshold": 30},
        "readinessProbe": {"httpGet": get, "periodSeconds": 10, "timeoutSeconds": 5},
        "livenessProbe": {"httpGet": get, "periodSeconds": 20, "timeoutSeconds": 5, "failureThreshold": 3},
    }


def sidecar(tier: Tier, row: AppInstrumentation, mode: Mode) -> dict[str, Any] | None:
    if not mode.sidecar:
        return None
    if row.sidecar is None:
        raise ValueError(f"instrumentation mode {row.mode!r} runs a sidecar: the tier row needs its size")
    if mode.audit and row.audit_queue_mi <= 0:
        raise ValueError(f"instrumentation mode {row.mode!r} keeps a persistent audit queue: the tier row needs audit_queue_mi")
    config = sidecar_config(sig=signals(tier), trace_sampling=sampling(tier), audit=mode.audit)
    mounts = [{"name": CONFIG_VOLUME, "mountPath": CONFIG_DIR, "readOnly": True}]
    volumes: list[dict[str, Any]] = []
    if mode.audit:
        mounts.append({"name": AUDIT_QUEUE_VOLUME, "mountPath": AUDIT_QUEUE_DIR})
        volumes.append({"name": AUDIT_QUEUE_VOLUME, "emptyDir": {"sizeLimit": f"{row.audit_queue_mi}Mi"}})
    return {
        # The init container as the library renders it, but for `image`
        # (obsInstrumentation.imageRegistry may replace the registry) and
        # `env` (the obs release's Service names are filled in).
        "container": {
            "name": SIDECAR_CONTAINER,
            "imagePullPolicy": "IfNotPresent",
            # A native sidecar (Kubernetes >= 1.29): started before the app's
            # containers, restarted when it exits, stopped after them.
            "restartPolicy": "Always",
            "args": [f"--config={CONFIG_DIR}/{CONFIG_FILE}"],
            # OTLP listens on loopback only, so only the health port is a pod port.
            "ports": [{"name": HEALTH_PORT_NAME, "containerPort": otel.PORT_HEALTH, "protocol": "TCP"}],
            **_probes(),
            "volumeMounts": mounts,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": SIDECAR_UID,
                "runAsGroup": SIDECAR_UID,
                "readOnlyRootFilesystem": True,
                "allowPrivilegeEscalation": False,
                "privileged": False,
                "capabilities": {"drop": ["ALL"]},
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "resources": row.sidecar.as_values(),
        },
        "image": IMAGES["otelCollector"].as_values(),
        "env": sidecar_env(config),
        # The config volume holds the library's ConfigMap (obs-instrumentation.configMap).
        "configVolume": CONFIG_VOLUME,
        "volumes": volumes,  # further pod volumes the sidecar mounts
        "configFile": CONFIG_FILE,
        "config": config,
    }


def tier_row(tier: Tier, row: AppInstrumentation) -> dict[str, Any]:
    if row.mode not in MODES:
        raise ValueError(f"tier {tier.name}: instrumentation mode {row.mode!r} is not one of {', '.join(MODES)}")
    mode = MODES[row.mode]
    if mode.otel_env and "otelCollector" not in tier.components:
        raise ValueError(f"tier {tier.name}: instrumentation mode {row.mode!r} sends OTLP, but the tier runs no OTel collector")
    sampler, arg = sdk_sampler(tier)
    return {
        "mode": row.mode,
        "scrapeAnnotations": True,
        "otelEnv": mode.otel_env,
        "sampler": {"name": sampler, "arg": arg or ""},
        "env": app_env(tier, mode),
        "sidecar": sidecar(tier, row, mode),
    }


def table() -> dict[str, Any]:
    """Everything the library renders, for every tier."""
    if set(APP_INSTRUMENTATION) != set(TIER_ORDER):
        raise ValueError(f"tiers.APP_INSTRUMENTATION must have a row for each of {', '.join(TIER_ORDER)}")
    doc = {
        "order": list(TIER_ORDER),
        "defaults": {
            "tier": DEFAULT_TIER,
            "obsRelease": DEFAULT_OBS_RELEASE,
            "obsNamespace": DEFAULT_OBS_NAMESPACE,
            "scrapePath": "/metrics",
        },
        "placeholders": {"release": RELEASE, "namespace": NAMESPACE},
        "tiers": {name: tier_row(TIERS[name], APP_INSTRUMENTATION[name]) for name in TIER_ORDER},
    }
    validate(doc)
    return doc


# --- checks run before anything is written --------------------------------------


def dependent_expansion_problems(env: list[dict[str, Any]]) -> list[str]:
    """$(VAR) references to variables not defined earlier in the list."""
    found, defined = [], set()
    for entry in env:
        for ref in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", str(entry.get("value", ""))):
            if ref not in defined:
                found.append(f"{entry['name']} refers to $({ref}) before it is defined")
        defined.add(entry["name"])
    return found


def wiring_problems(config: dict[str, Any]) -> list[str]:
    """Components used but not defined, or defined but unused (the collector refuses both)."""
    found = []
    pipelines = config["service"]["pipelines"]
    for kind in ("receivers", "processors", "exporters"):
        defined = set(config.get(kind, {}))
        used = {c for p in pipelines.values() for c in p.get(kind, [])}
        found += [f"{kind}: {c} is used but not defined" for c in sorted(used - defined)]
        found += [f"{kind}: {c} is defined but unused" for c in sorted(defined - used)]
    if set(config["service"].get("extensions", [])) != set(config.get("extensions", {})):
        found.append("extensions: defined and enabled sets differ")
    for pipeline_id, p in pipelines.items():
        procs = p.get("processors", [])
        if not procs or procs[0] != "memory_limiter":
            found.append(f"{pipeline_id}: processors must start with memory_limiter")
        # Batch last, except where the exporter's persistent queue must hold
        # the data before the sender is answered (the audit pipeline).
        persistent = all(config["exporters"].get(e, {}).get("sending_queue", {}).get("storage") for e in p.get("exporters", []))
        if persistent and "batch" in procs:
            found.append(f"{pipeline_id}: a batch processor before a persistent queue acknowledges data it may still lose")
        if not persistent and procs[-1:] != ["batch"]:
            found.append(f"{pipeline_id}: processors must end with batch")
    return found


def validate(doc: dict[str, Any]) -> None:
    problems = []
    for name, row in doc["tiers"].items():
        problems += [f"{name}: env: {p}" for p in dependent_expansion_problems(row["env"])]
        if row["sidecar"]:
            problems += [f"{name}: sidecar config: {p}" for p in wiring_problems(row["sidecar"]["config"])]
    text = yamlio.dump(doc)
    if "{{" in text or "}}" in text:  # the table is the body of a Go template define
        problems.append("the table contains '{{' or '}}', which would break the template it is written into")
    if problems:
        raise ValueError("instrumentation table:\n" + "\n".join(problems))


def tiers_tpl() -> str:
    """The text of charts/obs-instrumentation/templates/_tiers.tpl."""
    body = yamlio.dump(table()).rstrip("\n")
    return (
        "{{- /*\n"
        f"Generated by obsgen from {SOURCE} (tier rows: generator/obsgen/tiers.py\n"
        "APP_INSTRUMENTATION and TIERS) — do not edit.\n"
        "Regenerate with: obsgen generate  (or: make generate)\n"
        "\n"
        "The per-tier table every template of this library renders from; read it\n"
        'with: include "obs-instrumentation.tiers" . | fromYaml\n'
        "*/ -}}\n"
        '{{- define "obs-instrumentation.tiers" -}}\n'
        f"{body}\n"
        "{{- end -}}\n"
    )


# --- the OpenTelemetry Operator path (umbrella values `instrumentation`) ----------

# The operator injects what the library renders by hand: an Instrumentation
# CR supplies the OTEL_* environment (its SDK images for auto-instrumentation),
# and a sidecar-mode OpenTelemetryCollector the collector container. The
# umbrella's instrumentation subchart renders both only when the cluster
# serves the operator's APIs; the data is the same tier row as the library's.
OPERATOR_PROPAGATORS = ("tracecontext", "baggage")
# Variables the operator does not derive from the CR itself: it sets the
# service name (from app.kubernetes.io/name with useLabelsForResourceAttributes),
# the k8s.* resource attributes, the endpoint and the sampler.
_OPERATOR_PASSTHROUGH = ("OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER", "OTEL_LOGS_EXPORTER")


def kubernetes_env(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Env entries of the tier table as Kubernetes EnvVar objects."""
    out = []
    for entry in entries:
        if "fieldPath" in entry:
            out.append({"name": entry["name"], "valueFrom": {"fieldRef": {"fieldPath": entry["fieldPath"]}}})
        else:
            out.append({"name": entry["name"], "value": entry["value"]})
    return out


def operator_values(tier: Tier, row: AppInstrumentation) -> dict[str, Any]:
    """The umbrella chart's `instrumentation` section (same keys in every tier).

    Release-dependent addresses keep the RELEASE/NAMESPACE placeholders; the
    subchart fills them in, as the library does.
    """
    table_row = tier_row(tier, row)
    mode = MODES[row.mode]
    env = {e["name"]: e for e in table_row["env"]}
    side = table_row["sidecar"]
    sidecar: dict[str, Any] = {
        "enabled": side is not None,
        "image": IMAGES["otelCollector"].as_values(),
        "resources": {},
        "securityContext": {},
        "env": [],
        "volumes": [],
        "volumeMounts": [],
        "config": {},
    }
    if side is not None:
        container = side["container"]
        sidecar |= {
            "resources": container["resources"],
            "securityContext": container["securityContext"],
            "env": kubernetes_env(side["env"]),
            "volumes": side["volumes"],
            # The operator hands the config over itself; only the other mounts (the audit queue) remain.
            "volumeMounts": [m for m in container["volumeMounts"] if m["name"] != side["configVolume"]],
            "config": side["config"],
        }
    return {
        "enabled": mode.otel_env,
        "component": "instrumentation",
        "mode": row.mode,
        "instrumentation": {
            "endpoint": env["OTEL_EXPORTER_OTLP_ENDPOINT"]["value"] if mode.otel_env else "",
            "propagators": list(OPERATOR_PROPAGATORS),
            "sampler": {"type": table_row["sampler"]["name"], "argument": table_row["sampler"]["arg"]},
            "env": kubernetes_env([env[name] for name in _OPERATOR_PASSTHROUGH if name in env]),
        },
        "sidecar": sidecar,
    }
