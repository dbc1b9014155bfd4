"""Adapt rendered in-cluster configs to run on one machine's loopback.

The end-to-end tests and the local preview run the real Prometheus and
Alertmanager on 127.0.0.1 with the configuration the chart renders. Only
what cannot exist outside a cluster is changed, by these rules:

1. Kubernetes service discovery becomes static targets: each scrape job
   whose job name has loopback targets keeps everything else (limits,
   scheme, path, params) and gets `static_configs` instead of
   `kubernetes_sd_configs`; jobs without loopback targets (kubelet,
   cAdvisor, annotated pods) are dropped.
2. Relabel rules that read `__meta_kubernetes_*` labels are removed: those
   labels only exist under Kubernetes discovery, and a `keep` on them would
   drop every static target.
3. The blackbox job's exporter address becomes the loopback exporter.
4. Alertmanager discovery becomes a static list of loopback Alertmanagers.
5. Rule files are read from a local directory.
6. Command-line flags are taken from the rendered StatefulSet (the
   blackbox exporter's Deployment), with file paths and listen addresses
   swapped for local ones; clustering flags are rebuilt for loopback peers.
7. Flags the local binary does not have are dropped, by name in
   `unsupported`: Debian's Prometheus build omits the OTLP receiver that
   the upstream image (the one the chart deploys) has.
8. Static targets may carry the labels the Kubernetes relabelling would
   have set (`namespace`, `service`, `pod` …): a target is either
   `host:port` or a target group `{targets: [...], labels: {...}}`. Rule 2
   removes the rules that set them, and the generated rules select services
   by them (`up{namespace, service}`, the RED recordings), so without them a
   service's series would match nothing.
9. The blackbox job's probe targets, in-cluster Service URLs such as
   `http://checkout.shop.svc:8080/health`, are pointed at loopback
   addresses by `host:port` (`probe_targets`); the probe path, module and
   labels stay. Targets not in the map (external URLs) are kept as rendered.
10. Alertmanager credential files (`*_file` settings: `url_file`,
    `api_url_file`, `routing_key_file`, `auth_password_file` …) under the
    mounted Secrets' directory are read from a local directory with the
    same `<secret>/<key>` layout; the runner writes those files (the
    in-cluster path is under /etc and cannot be written).
11. Rule groups can be evaluated at a shorter interval than rendered, by
    group name pattern (`intervals`, e.g. `{"slo-*": "5s"}`). Only the live
    tests use it, on the SLO groups (rendered 1m): it shortens the wait for
    a burn-rate page without touching scrape intervals, the other groups'
    evaluation or any expression.
12. (Retired: an alert's `for` by name. The live tests used it to shorten
    the SLO ticket's `for: 15m`; every burn-rate pair now has the page's
    2m, so the rules run with the `for` they ship with.)
18. A ticket pair waits for its long window to be full (a tile `offset`
    the window back must exist): a stack minutes old would never ticket.
    With `full_windows=False` that one condition is dropped from the alert
    expressions, so the live tests can watch Alertmanager hold the ticket
    behind its page; the burn, the windows and the `for` stay as rendered.
19. Remote-write endpoints (the profile's `remoteWrite`) are pointed at
    loopback receivers by name (`remote_write_urls`), and their credential
    files under the mounted Secrets' directory are read from a local
    directory with the same `<secret>/<key>` layout (`secrets_dir`), as in
    rule 10; queue, relabelling and auth settings stay as rendered.

The OpenTelemetry Collector (agent, gateway, sidecar) runs with its
rendered config under three more rules:

13. The `${env:VAR}` references resolve from the rendered container's `env`:
    literal values as rendered, with Kubernetes' `$(VAR)` expansion;
    downward-API fields get loopback stand-ins (`status.podIP` →
    127.0.0.1, `spec.nodeName` → the loopback node), Secret keys a
    stand-in value (`collector_env`).
14. Host paths the DaemonSet mounts (`/var/log/pods`, `/var/lib/otelcol`)
    are read under a local directory with the same layout: file_log's
    include and exclude globs, file_storage's directory (`collector_config`).
15. In-cluster addresses become loopback ones by `host:port` (`addresses`):
    in the env values that carry every endpoint (rule 13) and, for the
    few endpoints written in the config itself, there. Listen addresses
    are on the pod IP, whose stand-in each process may choose (`pod_ip`,
    e.g. 127.0.0.2 for the gateway), so every collector keeps its rendered
    ports on a loopback address of its own.
17. `k8s_attributes` reads the API through the pod's service account; on
    loopback it reads the suite's API server through a kubeconfig instead
    (`auth_type: kubeConfig`, the file in KUBECONFIG), when one is given.

Jaeger (v2, itself a collector) runs its rendered config under one more:

16. Its listen addresses, all interfaces in the pod (`0.0.0.0:<port>`, the
    telemetry reader's `host`), become 127.0.0.1 with each port moved to a
    free one (`ports`, rendered → local), and Badger's directories (the
    volume) move under a local data directory (`jaeger_config`).

Everything else — global settings, external labels, alert relabelling,
limits, the rules themselves — is used exactly as rendered.
"""

from __future__ import annotations

import copy
import fnmatch
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from .artifacts.alertmanager import SECRETS_DIR
from .artifacts.remote_write import SECRETS_DIR as PROMETHEUS_SECRETS_DIR

_META = "__meta_kubernetes_"
# Where the chart mounts each receiver Secret in Alertmanager (<dir>/<secret>/<key>).
ALERTMANAGER_SECRETS_DIR = SECRETS_DIR

# A static target: "host:port", or a target group with the labels Kubernetes relabelling would set (rule 8).
Target = str | Mapping[str, Any]


def _uses_kubernetes_meta(rule: Mapping[str, Any]) -> bool:
    return any(str(label).startswith(_META) for label in rule.get("source_labels", []))


def _static_configs(targets: Sequence[Target]) -> list[dict[str, Any]]:
    """Rule 8: plain addresses share one target group; labelled groups are kept apart."""
    plain = [t for t in targets if isinstance(t, str)]
    groups = [{"targets": plain}] if plain else []
    for group in targets:
        if isinstance(group, str):
            continue
        labels = {str(k): str(v) for k, v in group.get("labels", {}).items()}
        meta = [k for k in labels if k.startswith("__meta_")]
        if meta:
            # Discovery meta labels never reach a scrape; a test relying on one would pass for the wrong reason.
            raise ValueError(f"static target labels cannot be discovery meta labels: {', '.join(meta)}")
        groups.append({"targets": list(group["targets"]), **({"labels": labels} if labels else {})})
    return groups


def _probe_target(target: str, probe_targets: Mapping[str, str]) -> str:
    """Rule 9: the in-cluster host:port of a probe target (URL or bare host:port) → its loopback address."""
    if target in probe_targets:  # tcp_connect probes name host:port only
        return probe_targets[target]
    parts = urllib.parse.urlsplit(target)
    if parts.scheme and parts.netloc in probe_targets:
        return urllib.parse.urlunsplit(parts._replace(netloc=probe_targets[parts.netloc]))
    return target


def prometheus_config(
    rendered: Mapping[str, Any],
    targets: Mapping[str, Sequence[Target]],
    alertmanagers: Sequence[str],
    rules_dir: str,
    blackbox: str | None = None,
    probe_targets: Mapping[str, str] | None = None,
    remote_write_urls: Mapping[str, str] | None = None,
    secrets_dir: str | None = None,
) -> dict[str, Any]:
    """The rendered prometheus.yml, adapted by rules 1–5, 8, 9 and 19 above.

    targets maps a job name (the `job` label) to host:port addresses or
    labelled target groups; probe_targets maps in-cluster host:port of the
    blackbox job's targets to loopback ones.
    """
    config = copy.deepcopy(dict(rendered))
    jobs = []
    for job in config.get("scrape_configs", []):
        name = job["job_name"]
        if "kubernetes_sd_configs" in job:
            if name not in targets:
                continue
            del job["kubernetes_sd_configs"]
            job["static_configs"] = _static_configs(targets[name])
        relabel = [r for r in job.get("relabel_configs", []) if not _uses_kubernetes_meta(r)]
        if job.get("metrics_path") == "/probe":
            if blackbox:
                for rule in relabel:
                    if rule.get("target_label") == "__address__" and "source_labels" not in rule:
                        rule["replacement"] = blackbox
            if probe_targets:
                for group in job.get("static_configs", []):
                    group["targets"] = [_probe_target(t, probe_targets) for t in group["targets"]]
        if relabel:
            job["relabel_configs"] = relabel
        else:
            job.pop("relabel_configs", None)
        # In-cluster credentials do not exist here; only kubelet jobs use
        # them and those have no loopback targets.
        jobs.append(job)
    config["scrape_configs"] = jobs
    alerting = config.setdefault("alerting", {})
    alerting["alertmanagers"] = [{"static_configs": [{"targets": list(alertmanagers)}]}] if alertmanagers else []
    config["rule_files"] = [f"{rules_dir}/*.yaml"]
    for entry in config.get("remote_write", []):
        entry["url"] = (remote_write_urls or {}).get(entry["name"], entry["url"])
    if secrets_dir and config.get("remote_write"):
        config["remote_write"] = _local_files(config["remote_write"], PROMETHEUS_SECRETS_DIR, secrets_dir)
    return config


def _local_files(node: Any, mount_dir: str, local_dir: str) -> Any:
    """Every `*_file` setting under mount_dir, read from local_dir with the same `<secret>/<key>` tail."""
    prefix, local = mount_dir.rstrip("/") + "/", local_dir.rstrip("/") + "/"
    if isinstance(node, Mapping):
        return {
            k: local + v[len(prefix) :]
            if str(k).endswith("_file") and isinstance(v, str) and v.startswith(prefix)
            else _local_files(v, mount_dir, local_dir)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_local_files(item, mount_dir, local_dir) for item in node]
    return node


def _swap_flags(args: Sequence[str], replacements: Mapping[str, str | None]) -> list[str]:
    """Replace `--flag=value` arguments; a None replacement drops the flag."""
    out = []
    for arg in args:
        flag = arg.split("=", 1)[0]
        if flag in replacements:
            if replacements[flag] is not None:
                out.append(f"{flag}={replacements[flag]}")
        else:
            out.append(arg)
    return out


def prometheus_args(
    rendered_args: Sequence[str],
    config_file: str,
    data_dir: str,
    listen: str,
    reload_interval: str | None = None,
    unsupported: Sequence[str] = (),
) -> list[str]:
    """The StatefulSet's Prometheus flags with local paths (rule 6).

    reload_interval shortens --config.auto-reload-interval so a test can
    watch a reload happen without waiting the in-cluster 30 s.
    """
    replacements: dict[str, str | None] = {
        "--config.file": config_file,
        "--storage.tsdb.path": data_dir,
        "--web.listen-address": listen,
    }
    if reload_interval:
        replacements["--config.auto-reload-interval"] = reload_interval
    for flag in unsupported:
        replacements[flag] = None
    return [a for a in _swap_flags(rendered_args, replacements) if a not in unsupported]


def alertmanager_args(
    rendered_args: Sequence[str], config_file: str, data_dir: str, listen: str, cluster_listen: str | None, peers: Sequence[str] = ()
) -> list[str]:
    """The StatefulSet's Alertmanager flags with local paths and loopback peers (rule 6)."""
    args = _swap_flags(
        rendered_args,
        {
            "--config.file": config_file,
            "--storage.path": data_dir,
            "--web.listen-address": listen,
            "--cluster.listen-address": None,
            "--cluster.advertise-address": None,
            "--cluster.peer": None,
        },
    )
    if cluster_listen is None:
        return [*args, "--cluster.listen-address="]
    return [
        *args,
        f"--cluster.listen-address={cluster_listen}",
        f"--cluster.advertise-address={cluster_listen}",
        *(f"--cluster.peer={peer}" for peer in peers),
    ]


def blackbox_args(rendered_args: Sequence[str], config_file: str, listen: str) -> list[str]:
    """The blackbox exporter Deployment's flags with a local module file and address (rule 6)."""
    return _swap_flags(rendered_args, {"--config.file": config_file, "--web.listen-address": listen})


def alertmanager_config(rendered: Mapping[str, Any], secrets_dir: str, mount_dir: str = ALERTMANAGER_SECRETS_DIR) -> dict[str, Any]:
    """The rendered alertmanager.yml with credential files read from secrets_dir (rule 10).

    Every `*_file` setting under mount_dir keeps its `<secret>/<key>` tail;
    credential_files() lists the local files the caller must write.
    """
    return _local_files(copy.deepcopy(dict(rendered)), mount_dir, secrets_dir)


def credential_files(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(integration config key, file path) of every `*_file` setting in an Alertmanager config,
    e.g. ("webhook_configs", "/tmp/x/shop-webhook/url"), in order and without repeats."""
    found: list[tuple[str, str]] = []

    def walk(node: Any, integration: str) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                if str(key).endswith("_file") and isinstance(value, str):
                    if (integration, value) not in found:
                        found.append((integration, value))
                else:
                    walk(value, str(key) if str(key).endswith("_configs") else integration)
        elif isinstance(node, list):
            for item in node:
                walk(item, integration)

    walk(config, "")
    return found


# Rule 18: the full-window condition a ticket pair ends with (rules/slo/alerts.py).
_FULL_WINDOW = re.compile(r"\nand on \([^)]*\)\nslo:sli_events_total:increase5m(?:\{[^}]*\})? offset \w+$")


def rule_files(files: Mapping[str, str], intervals: Mapping[str, str] | None = None, full_windows: bool = True) -> dict[str, str]:
    """Rendered rule files (name → YAML text), with group intervals changed where
    asked (rule 11) and, without full_windows, tickets that do not wait for a
    full window (rule 18); everything else as rendered.

    intervals maps a group name pattern (fnmatch) to its new interval. Files
    nothing applies to are returned unchanged, byte for byte.
    """
    intervals = intervals or {}
    out: dict[str, str] = {}
    for name, text in files.items():
        document = yaml.safe_load(text)
        changed = False
        for group in document.get("groups", []):
            pattern = next((p for p in intervals if fnmatch.fnmatchcase(group["name"], p)), None)
            if pattern is not None:
                group["interval"] = intervals[pattern]
                changed = True
            for rule in group.get("rules", []) if not full_windows else ():
                if "alert" in rule and _FULL_WINDOW.search(rule["expr"]):
                    rule["expr"] = _FULL_WINDOW.sub("", rule["expr"])
                    changed = True
        out[name] = yaml.safe_dump(document, sort_keys=False) if changed else text
    return out


# Rule 13: the downward-API fields the chart's containers read, and their stand-ins.
FIELD_STAND_INS = {
    "status.podIP": "127.0.0.1",
    "status.hostIP": "127.0.0.1",
    "spec.nodeName": "loopback-node",
    "metadata.name": "loopback-pod",
    "metadata.namespace": "monitoring",
    "metadata.uid": "00000000-0000-0000-0000-000000000000",
    "spec.serviceAccountName": "default",
}
SECRET_STAND_IN = "loopback-secret"


def _swap_addresses(value: str, addresses: Mapping[str, str]) -> str:
    """Rule 15 on one string: every in-cluster host:port in it → its loopback address."""
    for cluster, local in sorted(addresses.items(), key=lambda kv: -len(kv[0])):
        value = value.replace(cluster, local)
    return value


def collector_env(
    env: Sequence[Mapping[str, Any]], addresses: Mapping[str, str] | None = None, pod_ip: str = "127.0.0.1"
) -> dict[str, str]:
    """Rule 13 (and 15): a container's `env` list → the values its process would see."""
    stand_ins = {**FIELD_STAND_INS, "status.podIP": pod_ip}
    out: dict[str, str] = {}
    for item in env:
        name = item["name"]
        if "value" in item:
            # $(VAR) names an earlier variable; an unknown one stays literal, as in Kubernetes.
            value = str(item["value"])
            for known, known_value in out.items():
                value = value.replace(f"$({known})", known_value)
        elif "fieldRef" in item.get("valueFrom", {}):
            path = item["valueFrom"]["fieldRef"]["fieldPath"]
            if path not in stand_ins:
                raise ValueError(f"env {name}: no loopback stand-in for fieldPath {path}")
            value = stand_ins[path]
        elif "secretKeyRef" in item.get("valueFrom", {}):
            value = SECRET_STAND_IN
        else:
            raise ValueError(f"env {name}: no loopback rule for {sorted(item.get('valueFrom', item))}")
        out[name] = _swap_addresses(value, addresses or {})
    return out


HOST_PATHS = ("/var/log/pods", "/var/lib/otelcol")


def _host_path(path: str, root: str) -> str:
    for prefix in HOST_PATHS:
        if path == prefix or path.startswith(prefix + "/"):
            return root.rstrip("/") + path
    return path


def collector_config(
    rendered: Mapping[str, Any], host_root: str, addresses: Mapping[str, str] | None = None, kubeconfig: bool = False
) -> dict[str, Any]:
    """Rules 14, 15 and 17 on a rendered collector config; everything else as rendered."""
    config = copy.deepcopy(dict(rendered))
    for cid, processor in (config.get("processors") or {}).items():
        if kubeconfig and cid.split("/")[0] == "k8s_attributes":
            processor["auth_type"] = "kubeConfig"
    for cid, receiver in (config.get("receivers") or {}).items():
        if cid.split("/")[0] == "file_log":
            for key in ("include", "exclude"):
                if key in receiver:
                    receiver[key] = [_host_path(p, host_root) for p in receiver[key]]
    for cid, extension in (config.get("extensions") or {}).items():
        if cid.split("/")[0] == "file_storage" and "directory" in extension:
            extension["directory"] = _host_path(extension["directory"], host_root)

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        if isinstance(node, str):
            return _swap_addresses(node, addresses or {})
        return node

    return walk(config)


_ALL_INTERFACES = ("0.0.0.0", "", "[::]")


def _jaeger_listeners(node: Any, endpoint: Any, reader: Any, directories: Any) -> None:
    """Rule 16's walk: calls endpoint(map, key) for every `host:port` endpoint, reader(map) for
    the telemetry reader's {host, port}, directories(map, key) for Badger's directories."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "endpoint" and isinstance(value, str) and ":" in value and "//" not in value:
                endpoint(node, key)
            elif key == "prometheus" and isinstance(value, dict) and "port" in value:
                reader(value)
            elif key == "directories" and isinstance(value, dict):
                directories(node, key)
            else:
                _jaeger_listeners(value, endpoint, reader, directories)
    elif isinstance(node, list):
        for item in node:
            _jaeger_listeners(item, endpoint, reader, directories)


def jaeger_listen_ports(rendered: Mapping[str, Any]) -> list[int]:
    """The ports Jaeger's rendered config listens on, on all interfaces: the keys rule 16's `ports` needs."""
    found: list[int] = []

    def endpoint(node: dict[str, Any], key: str) -> None:
        host, _, port = node[key].rpartition(":")
        if host in _ALL_INTERFACES:
            found.append(int(port))

    _jaeger_listeners(rendered, endpoint, lambda reader: found.append(int(reader["port"])), lambda node, key: None)
    return found


def jaeger_config(rendered: Mapping[str, Any], data_dir: str, ports: Mapping[int, int]) -> dict[str, Any]:
    """Rule 16 on Jaeger's rendered config; every port it listens on must be in `ports`."""
    config = copy.deepcopy(dict(rendered))

    def endpoint(node: dict[str, Any], key: str) -> None:
        host, _, port = node[key].rpartition(":")
        if host in _ALL_INTERFACES:
            if int(port) not in ports:
                raise ValueError(f"no loopback port for listen address {node[key]}")
            node[key] = f"127.0.0.1:{ports[int(port)]}"

    def reader(value: dict[str, Any]) -> None:
        value["host"], value["port"] = "127.0.0.1", ports[int(value["port"])]

    def directories(node: dict[str, Any], key: str) -> None:
        node[key] = {k: f"{data_dir.rstrip('/')}/{k}" for k in node[key]}

    _jaeger_listeners(config, endpoint, reader, directories)
    return config
