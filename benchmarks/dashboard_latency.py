"""Query latency of every dashboard panel over 7 days, with and without the
recording rules, on a synthetic TSDB of about 100k series.

    .venv/bin/python benchmarks/dashboard_latency.py   # writes benchmarks/reports/dashboard-latency.md

Data: the enterprise tier (every control-plane job on) with ten services (six OTel, four classic), twenty
SLOs, twenty nodes and 300 pods redeployed every 28 h. Raw series are what
the exporters and services expose; recorded series are what the generated
rules record. Both are backfilled with `promtool tsdb create-blocks-from
openmetrics` into one Prometheus 3.5. Samples are 150 s apart
(Prometheus scrapes and evaluates every 15 s), so each query reads 10× fewer
samples than in production; compare the two columns rather than trusting
the absolute numbers for raw-heavy queries.

The recorded series are not computed by replaying the rules over 7 days
(days-long SLO sums would take hours): each rule's expression, with the
recordings it reads inlined, is evaluated at a few instants; the series it
returns are then written every 150 s over the span where they existed.
Cardinality, churn and sample counts are those of the real rules.

"Without recording rules" runs the same panels with every recording
replaced by its defining expression (recursively), as a dashboard would have
to query without them. Matchers on the SLO identity labels are pushed down
to the `slo:info` series the shared SLO rules join, so those rules are
inlined for the selected SLO. Latency is measured as Grafana queries: range queries
over now-7d..now with a 10m step (a 1000-pixel panel), instant queries at
now; each query is run several times one at a time (p50/p95 over all panel
runs of a dashboard), and the whole dashboard once with six queries at a
time, as a browser loads it ("load").
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import multiprocessing
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.processes import Daemon, daemons, free_port, prometheus_on_tsdb, wait_for  # noqa: E402
from tests.support.tools import tool  # noqa: E402

from obsgen import dashboards, model, rules  # noqa: E402
from obsgen.dashboards.runbooks import FOLDER as RUNBOOK_FOLDER  # noqa: E402
from obsgen.model import Service, Stack  # noqa: E402
from obsgen.profile import load  # noqa: E402
from obsgen.rules.slo.engine import IDENTITY as _SLO_IDENTITY  # noqa: E402

REPORT = ROOT / "benchmarks" / "reports" / "dashboard-latency.md"
DAY = 86400
RESOLUTION = 150  # seconds between samples: every 5m rate window holds two
BACKGROUND_RESOLUTION = 600  # series no panel reads: only their index entries matter
STEP = 600  # Grafana's interval for 7 days on a 1000-pixel panel
RATE_INTERVAL = "10m15s"  # $__rate_interval: max(interval + scrape interval, 4 × scrape interval)
TIMEOUT = 20.0  # seconds per query; slower ones are reported as timed out
PARALLEL = 6  # queries a browser runs at once
PARTS = 2  # OpenMetrics files written and backfilled at once (one per core)

# --- the benchmark profile ---------------------------------------------------------


def profile(services: int) -> dict[str, Any]:
    out: list[dict[str, Any]] = []
    for i in range(services):
        classic = i % 5 >= 3
        name = f"svc-{i:02d}"
        svc: dict[str, Any] = {
            "name": name,
            "namespace": f"team-{i % 4}",
            "team": "platform",
            "scrape": {"port": 8080},
            "health": {"paths": ["/healthz"]},
            "dependencies": [
                {"name": f"dep-{i}", "service": f"svc-{(i + 1) % services:02d}"},
                {"name": "psp", "url": "https://psp.example/health"},
            ],
            "slos": [
                {"name": f"{name}-availability", "type": "availability", "objective": 99.9},
                {"name": f"{name}-latency", "type": "latency", "objective": 99, "latency": {"threshold": 0.5}},
            ],
        }
        if classic:
            svc["telemetry"] = {"preset": "prometheus-classic"}
        if i < 2:
            svc["business"] = [
                {"name": "orders", "metric": "shop_orders_total", "per": "minute", "by": ["payment_method"]},
                {"name": "basket", "metric": "shop_basket_value_euros", "type": "gauge", "aggregation": "avg", "unit": "currencyEUR"},
            ]
        out.append(svc)
    return {
        "name": "bench",
        "extends": "enterprise",
        # Every control-plane job on, so the control-plane dashboard has all its rows.
        "controlPlane": {"apiserver": True, "coreDns": True, "etcd": True, "kubeScheduler": True, "kubeControllerManager": True},
        "defaultTeam": "platform",
        "teams": [{"name": "platform"}],
        "services": out,
    }


# --- synthetic raw series --------------------------------------------------------------


def _h(*parts: object) -> float:
    """A stable pseudo-random number in [0, 1) per series."""
    digest = hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _labels(labels: dict[str, str]) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


@dataclass
class Family:
    """Series of one metric name: labels, life span, and a value function of t."""

    name: str
    series: list[tuple[dict[str, str], int, int, int, Any]] = field(default_factory=list)  # labels, start, end, resolution, fn

    def add(self, labels: dict[str, str], start: int, end: int, fn: Any, resolution: int = RESOLUTION) -> None:
        self.series.append((labels, start, end, resolution, fn))


class Data:
    def __init__(self) -> None:
        self.families: dict[str, Family] = {}

    def family(self, name: str) -> Family:
        return self.families.setdefault(name, Family(name))

    @staticmethod
    def _times(start: int, end: int, resolution: int) -> range:
        return range(start + (-start) % resolution, end + 1, resolution)

    def counts(self) -> tuple[int, int]:
        """(series, samples)."""
        series = [s for fam in self.families.values() for s in fam.series]
        return len(series), sum(len(self._times(start, end, res)) for _, start, end, res, _ in series)

    def _write(self, path: Path, families: list[Family]) -> None:
        with path.open("w", buffering=1 << 24) as fh:
            for fam in families:
                fh.write(f"# TYPE {fam.name} gauge\n")
                for labels, start, end, resolution, fn in fam.series:
                    prefix = f"{fam.name}{_labels(labels)} "
                    fh.write("".join(f"{prefix}{fn(t):.6g} {t}\n" for t in self._times(start, end, resolution)))
            fh.write("# EOF\n")

    def write(self, directory: Path, stem: str, parts: int) -> list[Path]:
        """OpenMetrics files of about equal size, written by forked processes at once."""
        groups: list[list[Family]] = [[] for _ in range(parts)]
        sizes = [0] * parts
        for fam in sorted(self.families.values(), key=lambda f: -sum(len(self._times(*s[1:4])) for s in f.series)):
            k = sizes.index(min(sizes))
            groups[k].append(fam)
            sizes[k] += sum(len(self._times(*s[1:4])) for s in fam.series)
        paths = [directory / f"{stem}-{k}.om" for k in range(parts)]
        context = multiprocessing.get_context("fork")  # the value functions are closures
        workers = [context.Process(target=self._write, args=(path, group)) for path, group in zip(paths, groups, strict=True)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
            if w.exitcode:
                raise RuntimeError("writing OpenMetrics failed")
        return paths


def counter(rate: float, origin: int) -> Any:
    return lambda t: rate * (t - origin)


def gauge(base: float, swing: float, period: float = DAY) -> Any:
    return lambda t: base * (1 + swing * math.sin(2 * math.pi * t / period))


STATUSES = {"200": 0.9885, "404": 0.001, "401": 0.01, "500": 0.0005}
LATENCY = ((0.05, 0.6), (0.1, 0.9), (0.25, 0.99), (0.5, 0.997), (1.0, 0.999), (2.5, 1.0))
ROUTES = (("/items", "GET"), ("/items/{id}", "GET"), ("/cart", "POST"), ("/pay", "POST"))


def service_series(data: Data, service: Service, start: int, end: int) -> None:
    c = service.contract
    target = dict(c.selector)
    target.setdefault("job", "kubernetes-pods")
    for pod in range(1):
        labels0 = {**target, "instance": f"10.0.{_h(service.name) * 250:.0f}.{pod}:8080", "pod": f"{service.name}-{pod}"}
        for route, method in ROUTES:
            rps = 2 + 20 * _h(service.name, route)
            for status, share in STATUSES.items():
                labels = {**labels0, c.route: route, c.method: method, c.status: status}
                rate = rps * share
                if c.requests != f"{c.duration}_count":
                    data.family(c.requests).add(labels, start, end, counter(rate, start))
                for bound in (*c.buckets, math.inf):
                    below = max((f for b, f in LATENCY if b <= bound), default=0.0) if bound != math.inf else 1.0
                    le = "+Inf" if bound == math.inf else repr(float(bound))
                    data.family(c.duration_bucket).add({**labels, "le": le}, start, end, counter(rate * below, start))
                data.family(f"{c.duration}_count").add(labels, start, end, counter(rate, start))
                data.family(f"{c.duration}_sum").add(labels, start, end, counter(rate * 0.06, start))
        if service.business:
            for method in ("card", "invoice", "paypal"):
                data.family("shop_orders_total").add({**labels0, "payment_method": method}, start, end, counter(0.2 + _h(method), start))
            data.family("shop_basket_value_euros").add(labels0, start, end, gauge(42, 0.2))
        data.family("up").add({**labels0}, start, end, lambda t: 1)


def node_series(data: Data, nodes: int, start: int, end: int) -> None:
    for n in range(nodes):
        node = f"node-{n:02d}"
        base = {"job": "node-exporter", "namespace": "monitoring", "pod": f"obs-node-exporter-{n}", "instance": f"10.1.0.{n}:9100"}
        base["node"] = node
        for cpu in range(4):
            for mode, share in (("idle", 0.6), ("user", 0.25), ("system", 0.1), ("iowait", 0.02), ("irq", 0.01), ("softirq", 0.01)):
                data.family("node_cpu_seconds_total").add({**base, "cpu": str(cpu), "mode": mode}, start, end, counter(share, start))
        data.family("node_load1").add(base, start, end, gauge(3, 0.5))
        data.family("node_memory_MemTotal_bytes").add(base, start, end, lambda t: 64e9)
        data.family("node_memory_MemAvailable_bytes").add(base, start, end, gauge(30e9, 0.3))
        for mount, device in (("/", "sda1"), ("/var/lib/kubelet", "sdb1"), ("/boot", "sda2")):
            fs = {**base, "mountpoint": mount, "device": device, "fstype": "ext4"}
            data.family("node_filesystem_size_bytes").add(fs, start, end, lambda t: 200e9)
            data.family("node_filesystem_avail_bytes").add(fs, start, end, gauge(80e9, 0.1))
            data.family("node_filesystem_readonly").add(fs, start, end, lambda t: 0)
        for device in ("eth0", "eth1"):
            for metric, rate in (("receive_bytes", 5e6), ("transmit_bytes", 3e6), ("receive_errs", 0.01), ("transmit_errs", 0.01)):
                data.family(f"node_network_{metric}_total").add({**base, "device": device}, start, end, counter(rate, start))
        data.family("up").add(base, start, end, lambda t: 1)


BACKGROUND_CADVISOR = tuple(
    f"container_{m}"
    for m in (
        "memory_rss",
        "memory_cache",
        "memory_swap",
        "memory_mapped_file",
        "memory_failcnt",
        "fs_usage_bytes",
        "fs_limit_bytes",
        "fs_reads_total",
        "fs_writes_total",
        "fs_reads_bytes_total",
        "fs_writes_bytes_total",
        "spec_cpu_shares",
        "spec_cpu_period",
        "spec_memory_limit_bytes",
        "threads",
        "threads_max",
        "sockets",
        "processes",
        "file_descriptors",
        "last_seen",
    )
)
BACKGROUND_KSM = (
    "kube_pod_info",
    "kube_pod_owner",
    "kube_pod_created",
    "kube_pod_labels",
    "kube_pod_status_ready",
    "kube_pod_status_scheduled",
    "kube_pod_start_time",
    "kube_pod_container_info",
    "kube_pod_container_status_ready",
    "kube_pod_container_status_running",
)


def pod_series(data: Data, pods: int, generations: int, namespaces: int, start: int, end: int) -> None:
    life = (end - start) // generations
    for g in range(generations):
        born, died = start + g * life, start + (g + 1) * life
        for p in range(pods):
            ns = f"team-{p % namespaces}"
            pod = f"app-{p:03d}-{g:02d}{_h(p, g) * 1e5:05.0f}"
            node = f"node-{p % 20:02d}"
            ksm = {"job": "kube-state-metrics", "namespace": ns, "pod": pod, "container": "app"}
            cad = {"job": "cadvisor", "namespace": ns, "pod": pod, "node": node}
            app = {**cad, "container": "app", "image": "registry.example/app:1"}
            cpu = 0.05 + _h(p, "cpu") * 0.5
            data.family("container_cpu_usage_seconds_total").add(app, born, died, counter(cpu, born))
            data.family("container_memory_working_set_bytes").add(app, born, died, gauge(2e8 + _h(p) * 8e8, 0.1))
            data.family("container_cpu_cfs_periods_total").add(app, born, died, counter(10, born))
            data.family("container_cpu_cfs_throttled_periods_total").add(app, born, died, counter(10 * _h(p, "thr") * 0.3, born))
            for metric, rate in (("receive", 2e5), ("transmit", 1e5)):
                data.family(f"container_network_{metric}_bytes_total").add({**cad, "container": ""}, born, died, counter(rate, born))
            data.family("kube_pod_container_resource_limits").add(
                {**ksm, "resource": "memory", "unit": "byte"}, born, died, lambda t: 1.5e9
            )
            data.family("kube_pod_container_status_restarts_total").add(ksm, born, died, lambda t: 0)
            for phase in ("Pending", "Running", "Succeeded", "Failed", "Unknown"):
                data.family("kube_pod_status_phase").add(
                    {**ksm, "phase": phase}, born, died, (lambda t: 1) if phase == "Running" else (lambda t: 0)
                )
            # Series no panel reads, for a realistic index size.
            for metric in BACKGROUND_CADVISOR:
                data.family(metric).add(app, born, died, gauge(1e6, 0.1), BACKGROUND_RESOLUTION)
            for metric in BACKGROUND_KSM:
                data.family(metric).add(ksm, born, died, lambda t: 1, BACKGROUND_RESOLUTION)


def platform_series(data: Data, stack: Stack, start: int, end: int) -> None:
    for i in range(100):
        pvc = {"job": "kubelet", "namespace": f"team-{i % 4}", "persistentvolumeclaim": f"data-{i}", "node": f"node-{i % 20:02d}"}
        data.family("kubelet_volume_stats_capacity_bytes").add(pvc, start, end, lambda t: 100e9)
        data.family("kubelet_volume_stats_available_bytes").add(pvc, start, end, gauge(40e9, 0.2))
    for job, count in (("prometheus", 2), ("alertmanager", 3), ("kube-state-metrics", 1), ("node-exporter", 20), ("kubelet", 20)):
        for k in range(count):
            target = {"job": job, "instance": f"{job}-{k}", "pod": f"{job}-{k}"}
            data.family("process_cpu_seconds_total").add(target, start, end, counter(0.1, start))
            data.family("process_resident_memory_bytes").add(target, start, end, gauge(3e8, 0.1))
            data.family("process_open_fds").add(target, start, end, gauge(100, 0.1))
            data.family("process_max_fds").add(target, start, end, lambda t: 65536)
            data.family("go_gc_duration_seconds_sum").add(target, start, end, counter(0.001, start))
            data.family("go_gc_duration_seconds_count").add(target, start, end, counter(0.1, start))
            data.family("go_memstats_heap_inuse_bytes").add(target, start, end, gauge(1e8, 0.2))
            data.family("go_goroutines").add(target, start, end, gauge(200, 0.2))
            if job not in ("node-exporter", "kubelet"):
                data.family("up").add(target, start, end, lambda t: 1)
    prom = {"job": "prometheus", "namespace": "monitoring"}
    for k in range(2):
        pod = {**prom, "pod": f"obs-prometheus-{k}"}
        data.family("prometheus_tsdb_head_samples_appended_total").add(pod, start, end, counter(7000, start))
        data.family("prometheus_tsdb_head_series").add(pod, start, end, gauge(100000, 0.05))
        data.family("prometheus_notifications_dropped_total").add(pod, start, end, lambda t: 0)
        for group in ("recordings", "alerts-services", "slo"):
            data.family("prometheus_rule_evaluation_failures_total").add({**pod, "rule_group": group}, start, end, lambda t: 0)
    for integration in ("email", "slack", "pagerduty", "webhook"):
        am = {"job": "alertmanager", "namespace": "monitoring", "integration": integration}
        data.family("alertmanager_notifications_total").add(am, start, end, counter(0.01, start))
        data.family("alertmanager_notifications_failed_total").add(am, start, end, lambda t: 0)
    data.family("alertmanager_silences").add({"job": "alertmanager", "state": "active"}, start, end, lambda t: 2)
    for p in stack.probes:
        labels = {"job": "blackbox", "service": p.service, "namespace": p.namespace, "endpoint": p.endpoint, "instance": p.target}
        if p.dependency:
            labels["dependency"] = p.dependency
        data.family("probe_success").add(labels, start, end, lambda t: 1)
        data.family("probe_duration_seconds").add(labels, start, end, gauge(0.05, 0.3))
    for a in range(60):  # alerts that come and go
        born = start + int(_h("alert", a) * (end - start))
        labels = {"alertname": f"Alert{a % 12}", "alertstate": "firing", "severity": ("critical", "warning", "info")[a % 3]}
        labels |= {"team": "platform", "namespace": f"team-{a % 4}", "pod": f"pod-{a}", "dependency": f"dep-{a}" if a % 5 == 0 else ""}
        labels = {k: v for k, v in labels.items() if v}
        data.family("ALERTS").add(labels, born, min(end, born + 3600 * (1 + a % 6)), lambda t: 1)
    api = {"job": "apiserver"}
    for code in ("200", "201", "401", "403", "404", "409", "500"):
        for verb in ("GET", "LIST", "WATCH", "POST", "PUT", "PATCH", "DELETE"):
            for resource in ("pods", "deployments", "services", "configmaps", "secrets", "nodes"):
                rate = 0.01 if code in ("401", "403") else 1.0
                data.family("apiserver_request_total").add(
                    {**api, "code": code, "verb": verb, "resource": resource}, start, end, counter(rate, start)
                )
    for decision in ("allow", "deny"):
        for level in ("privileged", "baseline", "restricted"):
            for mode in ("enforce", "warn", "audit"):
                labels = {
                    **api,
                    "decision": decision,
                    "policy_level": level,
                    "mode": mode,
                    "resource": "pod",
                    "request_operation": "create",
                }
                data.family("pod_security_evaluations_total").add(labels, start, end, counter(0.01, start))


def _histogram(
    data: Data, name: str, labels: dict[str, str], shares: tuple[tuple[float, float], ...], rate: float, start: int, end: int
) -> None:
    """Cumulative buckets of a classic histogram: (bound, share at or below it)."""
    for bound, share in (*shares, (math.inf, 1.0)):
        le = "+Inf" if bound == math.inf else repr(float(bound))
        data.family(f"{name}_bucket").add({**labels, "le": le}, start, end, counter(rate * share, start))
    data.family(f"{name}_count").add(labels, start, end, counter(rate, start))


def control_plane_series(data: Data, start: int, end: int) -> None:
    """Three control-plane nodes: API server latency and client certificates,
    etcd, CoreDNS, the scheduler and controller manager, kubelet certificates."""
    api = {"job": "apiserver"}
    for verb in ("GET", "LIST", "POST", "PUT", "PATCH", "DELETE"):
        for resource in ("pods", "deployments", "services", "configmaps", "secrets", "nodes"):
            shares = ((0.05, 0.7), (0.1, 0.9), (0.25, 0.97), (0.5, 0.99), (1.0, 0.998), (2.5, 1.0))
            _histogram(data, "apiserver_request_duration_seconds", {**api, "verb": verb, "resource": resource}, shares, 1.0, start, end)
    shares = ((86400.0, 0.0), (604800.0, 0.01), (2592000.0, 0.1), (31104000.0, 1.0))
    _histogram(data, "apiserver_client_certificate_expiration_seconds", api, shares, 0.5, start, end)
    for k in range(3):
        etcd = {"job": "etcd", "pod": f"etcd-cp-{k}", "instance": f"10.0.0.{k + 1}:2381"}
        data.family("etcd_server_has_leader").add(etcd, start, end, lambda t: 1)
        data.family("etcd_server_leader_changes_seen_total").add(etcd, start, end, counter(1 / DAY, start))
        data.family("etcd_mvcc_db_total_size_in_bytes").add(etcd, start, end, gauge(2e8, 0.1))
        shares = ((0.001, 0.2), (0.002, 0.5), (0.004, 0.8), (0.008, 0.95), (0.016, 0.99), (0.032, 0.999), (0.064, 1.0))
        for name in ("etcd_disk_wal_fsync_duration_seconds", "etcd_disk_backend_commit_duration_seconds"):
            _histogram(data, name, etcd, shares, 20.0, start, end)
        for job in ("kube-scheduler", "kube-controller-manager"):
            data.family("up").add({"job": job, "pod": f"{job}-cp-{k}", "instance": f"10.0.0.{k + 1}"}, start, end, lambda t: 1)
    for k in range(2):
        dns = {"job": "coredns", "pod": f"coredns-{k}", "server": "dns://:53", "zone": "."}
        for rcode, share in (("NOERROR", 0.7), ("NXDOMAIN", 0.299), ("SERVFAIL", 0.001)):
            data.family("coredns_dns_responses_total").add({**dns, "rcode": rcode}, start, end, counter(50 * share, start))
        shares = ((0.00025, 0.3), (0.0005, 0.6), (0.001, 0.85), (0.002, 0.95), (0.004, 0.98), (0.008, 0.99), (0.016, 0.995), (0.032, 1.0))
        _histogram(data, "coredns_dns_request_duration_seconds", {**dns, "type": "A"}, shares, 50.0, start, end)
    for n in range(20):
        node = {"job": "kubelet", "node": f"node-{n:02d}"}
        data.family("kubelet_certificate_manager_client_ttl_seconds").add(node, start, end, lambda t: 2e7 - (t - start))
        data.family("kubelet_certificate_manager_server_ttl_seconds").add(node, start, end, lambda t: 2.5e7 - (t - start))


# --- recording rules: inlining and synthesis ----------------------------------------------

_REFERENCE = re.compile(r"(?<![\w:\"])([a-zA-Z_][\w]*:[\w:]*)(\{[^{}]*\})?(\[[^\]]+\])?(\s+offset\s+\w+)?")
_BARE_GROUP = re.compile(r"\b(group_left|group_right)(\s+)(?=\((?:\(|label_replace|vector))")
_MATCHER = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')


class Inliner:
    """Replaces every recording in a PromQL expression by its defining expression."""

    def __init__(self, rule_files: list[dict[str, Any]]):
        self.rules: dict[str, list[dict[str, Any]]] = {}
        for f in rule_files:
            for g in f["groups"]:
                for r in g["rules"]:
                    if "record" in r:
                        self.rules.setdefault(r["record"], []).append(r)

    def _matches(self, rule: dict[str, Any], matchers: list[tuple[str, str, str]]) -> bool:
        """False when a static label of the rule contradicts a matcher; computed labels are filtered later."""
        static = rule.get("labels", {})
        for label, op, value in matchers:
            if label in static:
                actual = static[label]
                ok = {"=": actual == value, "!=": actual != value}.get(op)
                if ok is None:
                    ok = bool(re.fullmatch(value, actual)) == (op == "=~")
                if not ok:
                    return False
        return True

    @staticmethod
    def _filtered(union: str, label: str, op: str, value: str) -> str:
        """The series of `union` whose computed `label` satisfies the matcher, as a selector would keep them.

        label_replace blanks the label where the regex matches; `unless on (label)` against that
        keeps exactly the matching series, `and on (label)` exactly the others."""
        if op in ("=~", "!~") and value in (".*", ""):
            return union if op == "=~" else f"({union} unless {union})"
        regex = value if op in ("=~", "!~") else "".join("\\\\" + c if c in ".+*?()[]{}|^$" else c for c in value)
        blanked = f'label_replace({union}, "{label}", "", "{label}", "{regex}")'
        return f"({union} {'unless' if op in ('=', '=~') else 'and'} on ({label}) {blanked})"

    def _term(self, rule: dict[str, Any], pushed: tuple[tuple[str, str, str], ...] = ()) -> str:
        expr = f"({self.inline(rule['expr'], pushed)})"
        for label, value in rule.get("labels", {}).items():
            expr = f'label_replace({expr}, "{label}", "{value}", "", "")'
        return expr

    def inline(self, expr: str, pushed: tuple[tuple[str, str, str], ...] = ()) -> str:
        """`pushed`: matchers on SLO identity labels of an enclosing reference. Every SLO recording keeps
        the identity of the series it reads, so they hold for the recordings it reads too: the
        shared rules are inlined for the selected SLO only (slo:info's static labels filter them),
        as the recording's own series would have been selected."""

        def sub(match: re.Match[str]) -> str:
            name, block, window, offset = match.groups()
            if name not in self.rules:
                raise ValueError(f"{name} is not recorded")
            matchers = [(m.group(1), m.group(2), m.group(3)) for m in _MATCHER.finditer(block or "")]
            inherited = pushed if name.startswith("slo:") else ()
            matchers += [m for m in inherited if m not in matchers]
            kept = [r for r in self.rules[name] if self._matches(r, matchers)]
            down = tuple(m for m in matchers if m[0] in _SLO_IDENTITY) if name.startswith("slo:") else ()
            terms = [self._term(r, down) for r in kept]
            union = "(" + ("\nor\n".join(terms) if terms else "vector(1) unless vector(1)") + ")"
            for label, op, value in matchers:
                # Pushed down, a matcher selects through slo:info's static labels already.
                if (label, op, value) not in down and any(label not in r.get("labels", {}) for r in kept):
                    union = self._filtered(union, label, op, value)
            offset = (offset or "").strip()
            if window:
                # A range over a recording becomes a subquery of its expression.
                window = window if ":" in window else f"{window[:-1]}:1m]"
                return f"{union}{window}{' ' + offset if offset else ''}"
            if offset:
                return f"last_over_time({union}[2m:1m] {offset})"
            return union

        # `group_right (…)` reads as a label list: an inlined operand right after
        # a bare group modifier gets an explicit empty one.
        return _BARE_GROUP.sub(r"\1()\2", _REFERENCE.sub(sub, expr))


def recorded_series(base: str, inliner: Inliner, start: int, end: int, points: int) -> tuple[Data, list[str]]:
    """Series each rule records, found by evaluating its inlined expression at a few instants."""
    data = Data()
    problems: list[str] = []
    rules_list = [r for rs in inliner.rules.values() for r in rs]

    def evaluate(rule: dict[str, Any]) -> tuple[dict[str, Any], dict[tuple, list[tuple[float, float]]], float]:
        seen: dict[tuple, list[tuple[float, float]]] = {}
        expr = inliner.inline(rule["expr"])
        # Only pod-level series churn; the others exist over the whole span,
        # and one evaluation finds them (a cheap one for days-long SLO sums).
        n = points if re.search(r"container_|kube_pod", expr) else 1
        instants = [start + (k + 0.5) * (end - start) / n for k in range(n)]
        for t in instants:
            answer = api(base, "/api/v1/query", {"query": expr, "time": f"{t:.0f}", "timeout": "60s"})
            if answer.get("status") != "success":
                problems.append(f"{rule['record']}: {answer.get('error')}")
                break
            for r in answer["data"]["result"]:
                labels = {k: v for k, v in r["metric"].items() if k != "__name__"} | rule.get("labels", {})
                value = float(r["value"][1])
                if math.isfinite(value):
                    seen.setdefault(tuple(sorted(labels.items())), []).append((t, value))
        return rule, seen, (end - start) / n / 2

    with ThreadPoolExecutor(4) as pool:
        for rule, seen, half in pool.map(evaluate, rules_list):
            fam = data.family(rule["record"])
            for labels, found in seen.items():
                first, last = found[0][0] - half, found[-1][0] + half
                values = dict(found)

                def fn(t: float, values: dict[float, float] = values, name: str = rule["record"], key: tuple = labels) -> float:
                    nearest = min(values, key=lambda s: abs(s - t))
                    return values[nearest] * (1 + 0.01 * math.sin(t / 977 + _h(name, key) * 6))

                fam.add(dict(labels), int(max(first, start)), int(min(last, end)), fn)
    return data, problems


# --- Prometheus -------------------------------------------------------------------------


def _ready(base: str) -> bool:
    with urllib.request.urlopen(f"{base}/-/ready", timeout=5) as resp:
        return resp.status == 200


def api(base: str, path: str, params: dict[str, str], timeout: float = 120) -> dict[str, Any]:
    body = urllib.parse.urlencode(params).encode()
    try:
        with urllib.request.urlopen(f"{base}{path}", data=body, timeout=timeout) as resp:
            return json.load(resp)
    except urllib.error.HTTPError as exc:
        try:
            return json.loads(exc.read())
        except ValueError:
            return {"status": "error", "error": str(exc)}
    except (TimeoutError, urllib.error.URLError) as exc:
        return {"status": "error", "errorType": "timeout", "error": f"client: {exc}"}


def backfill(files: list[Path], tsdb: Path) -> float:
    """promtool on each file at once (one core each), blocks moved into tsdb; the files are removed."""
    started = time.monotonic()
    procs = []
    for f in files:
        # One block per file over the whole range: promtool reads its input
        # once per block, and a single block leaves nothing to compact.
        out = f.with_suffix(".blocks")
        cmd = [tool("promtool"), "tsdb", "create-blocks-from", "openmetrics", "-q", "--max-block-duration=8760h", str(f), str(out)]
        procs.append((f, out, subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))
    for f, out, proc in procs:
        _, err = proc.communicate()
        if proc.returncode:
            raise RuntimeError(f"promtool failed on {f.name}: {err[-2000:]}")
        tsdb.mkdir(parents=True, exist_ok=True)
        for block in out.iterdir():
            shutil.move(str(block), tsdb / block.name)
        shutil.rmtree(out)
        f.unlink()
    return time.monotonic() - started


def prometheus(tsdb: Path, tmp: Path, port: int) -> Daemon:
    config = tmp / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 15s\n")
    extra = (
        # Raw and recorded blocks overlap in time; merging them in the
        # background would compete with the measured queries.
        "--no-storage.tsdb.allow-overlapping-compaction",
        "--query.max-samples=500000000",
        # Measured queries carry their own, shorter timeout.
        "--query.timeout=300s",
    )
    return prometheus_on_tsdb("prometheus", config, tsdb, port, tmp / "prometheus.log", extra)


# --- measurement --------------------------------------------------------------------------


@dataclass
class Result:
    dashboard: str
    panel: str
    variant: str  # with | without
    seconds: list[float]
    timeouts: int = 0
    error: str = ""
    series: int = -1  # series the query returned (first run)


def run_query(base: str, expr: str, instant: bool, now: int) -> tuple[float, str, int]:
    params = {"query": expr, "timeout": f"{TIMEOUT:.0f}s"}
    if instant:
        path, params["time"] = "/api/v1/query", str(now)
    else:
        path = "/api/v1/query_range"
        params |= {"start": str(now - 7 * DAY), "end": str(now), "step": str(STEP)}
    started = time.perf_counter()
    answer = api(base, path, params, timeout=TIMEOUT + 10)
    elapsed = time.perf_counter() - started
    if answer.get("status") != "success":
        return elapsed, answer.get("errorType", "") + ": " + str(answer.get("error", ""))[:200], 0
    return elapsed, "", len(answer["data"]["result"])


def measure(
    base: str, queries: list[tuple[str, str, str, bool]], variant: str, runs: int, now: int
) -> tuple[list[Result], dict[str, float]]:
    """Each query alone `runs` times, then each dashboard with PARALLEL queries at a time."""
    results = []
    for uid, panel, expr, instant in queries:
        result = Result(uid, panel, variant, [])
        for _ in range(runs):
            elapsed, error, series = run_query(base, expr, instant, now)
            if result.series < 0:
                result.series = series
            if error:
                result.timeouts += "timeout" in error or "deadline" in error or "canceled" in error
                result.error = error
                break  # a timed-out query is not repeated
            result.seconds.append(elapsed)
        results.append(result)
    loads = {}
    for uid in dict.fromkeys(q[0] for q in queries):
        mine = [q for q in queries if q[0] == uid]
        started = time.perf_counter()
        with ThreadPoolExecutor(PARALLEL) as pool:
            list(pool.map(lambda q: run_query(base, q[2], q[3], now), mine))
        loads[uid] = time.perf_counter() - started
    return results, loads


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    if not values:
        return math.nan
    k = (len(values) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def _ms(seconds: float) -> str:
    if math.isnan(seconds):
        return "–"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def report(
    built: list[dashboards.Dashboard],
    results: list[Result],
    loads: dict[str, dict[str, float]],
    facts: dict[str, Any],
) -> str:
    lines = [
        "# Dashboard panel latency",
        "",
        "Generated by `benchmarks/dashboard_latency.py` — rerun it to refresh this report.",
        "",
        f"Data: {facts['series']:,} series ({facts['raw_series']:,} raw, {facts['recorded_series']:,} recorded), "
        f"{facts['samples']:,} samples over 7 days, one sample every {RESOLUTION} s "
        f"(series no panel reads: every {BACKGROUND_RESOLUTION // 60} minutes). Profile: enterprise tier, "
        f"{facts['services']} services, {facts['slos']} SLOs, 20 nodes, {facts['pods']} pods redeployed every "
        f"{facts['pod_life_h']:.0f} h. Rules: the stack's {facts['recording_rules']} recording rules "
        f"({facts['slo_rules']} of them SLO rules). Prometheus 3.5.3, {facts['cpus']} CPU cores.",
        "",
        f"Panels query now-7d..now with a {STEP // 60}m step (range) or at now (instant). p50/p95 are over every "
        f"run of every panel query of the dashboard, each run alone ({facts['runs']} runs with recordings, "
        f"{facts['runs_without']} without); load is the whole dashboard with {PARALLEL} queries at a time. "
        f"Queries are cut at {TIMEOUT:.0f} s. Without recordings, the shared SLO rules are inlined for the selected SLO"
        " (through its `slo:info` labels), but the counts of the other SLI shapes are still read and joined with"
        " nothing, so the SLO rows of that column are an upper bound. The runbook pages (folder `obs runbooks`,"
        " one instant `ALERTS` lookup each) are not measured.",
        "",
        "| dashboard | panels | queries | with recordings p50 | p95 | load | without recordings p50 | p95 | load | timed out |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for b in built:
        mine = [r for r in results if r.dashboard == b.uid]
        with_ = [s for r in mine if r.variant == "with" for s in r.seconds]
        without = [s for r in mine if r.variant == "without" for s in r.seconds]
        timeouts = sum(r.timeouts for r in mine if r.variant == "without")
        panels = sum(1 for _ in dashboards.panels(b.document))
        queries = sum(1 for r in mine if r.variant == "with")
        lines.append(
            f"| {b.title.removeprefix('obs / ')} | {panels} | {queries} | {_ms(percentile(with_, 0.5))} | {_ms(percentile(with_, 0.95))} "
            f"| {_ms(loads['with'].get(b.uid, math.nan))} | {_ms(percentile(without, 0.5))} | {_ms(percentile(without, 0.95))} "
            f"| {_ms(loads['without'].get(b.uid, math.nan))}{'+' if timeouts else ''} | {timeouts or ''} |"
        )
    slowest = sorted((r for r in results if r.variant == "with" and r.seconds), key=lambda r: -max(r.seconds))[:5]
    lines += ["", "Slowest panels with recordings (worst run):", ""]
    lines += [f"- {r.dashboard} / {r.panel}: {_ms(max(r.seconds))}" for r in slowest]
    failed = [r for r in results if r.error and not r.timeouts]
    # Both variants run the same queries in the same order.
    pairs = zip([r for r in results if r.variant == "with"], [r for r in results if r.variant == "without"], strict=True)
    lost = [f"{w.dashboard} / {w.panel}" for w, wo in pairs if w.series > 0 and wo.series == 0 and not wo.error]
    lines += ["", f"Inlined queries that return nothing where the recording-based one returns data: {len(lost)}."]
    lines += [f"- {x}" for x in lost]
    timed_out = [r for r in results if r.timeouts]
    if timed_out:
        lines += ["", f"Timed out without recordings (> {TIMEOUT:.0f} s, counted as not loading; `+` marks a load that includes them):", ""]
        lines += [f"- {r.dashboard} / {r.panel}" for r in timed_out]
    if failed:
        lines += ["", "Errors:", ""] + [f"- {r.variant}: {r.dashboard} / {r.panel}: {r.error}" for r in failed]
    lines += [
        "",
        f"Setup: data generation {facts['generate_s']:.0f} s, backfill {facts['backfill_s']:.0f} s, "
        f"recorded-series discovery {facts['discover_s']:.0f} s, measurement {facts['measure_s']:.0f} s.",
        "",
    ]
    return "\n".join(lines)


# --- main --------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, default=10)
    parser.add_argument("--pods", type=int, default=300)
    parser.add_argument("--generations", type=int, default=6)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--runs-without", type=int, default=3)
    parser.add_argument("--points", type=int, default=8, help="instants at which recorded series are discovered")
    parser.add_argument("--keep", type=Path, help="keep the work directory here")
    parser.add_argument("--report", type=Path, default=REPORT)
    args = parser.parse_args()

    tmp = args.keep or Path(tempfile.mkdtemp(prefix="obs-dashboard-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    profile_path = tmp / "bench.yaml"
    profile_path.write_text(yaml.safe_dump(profile(args.services), sort_keys=False))
    stack = model.build(load(profile_path))
    rule_files = rules.rule_files(stack)
    # Runbook pages are left out: each is one instant ALERTS lookup for one
    # alert name, not a dashboard anyone waits on.
    built = [b for b in dashboards.build(stack) if b.folder != RUNBOOK_FOLDER]
    print(f"dashboards: {[b.uid for b in built]}", flush=True)

    now = int(time.time()) // 60 * 60
    end = now - 3 * 3600  # backfilled blocks must end before the head starts
    start = now - 7 * DAY - 3600
    facts: dict[str, Any] = {
        "services": args.services,
        "slos": sum(len(s.slos) for s in stack.services),
        "pods": args.pods,
        "pod_life_h": (end - start) / args.generations / 3600,
        "runs": args.runs,
        "runs_without": args.runs_without,
        "cpus": len(__import__("os").sched_getaffinity(0)),
        "recording_rules": sum(1 for f in rule_files for g in f["groups"] for r in g["rules"] if "record" in r),
        "slo_rules": sum(1 for f in rule_files for g in f["groups"] for r in g["rules"] if r.get("record", "").startswith("slo:")),
    }

    started = time.monotonic()
    raw = Data()
    for service in stack.services:
        service_series(raw, service, start, end)
    node_series(raw, 20, start, end)
    pod_series(raw, args.pods, args.generations, 4, start, end)
    platform_series(raw, stack, start, end)
    control_plane_series(raw, start, end)
    facts["raw_series"], raw_samples = raw.counts()
    files = raw.write(tmp, "raw", PARTS)
    facts["generate_s"] = time.monotonic() - started
    print(f"raw: {facts['raw_series']} series, {raw_samples} samples ({facts['generate_s']:.0f} s)", flush=True)
    tsdb = tmp / "tsdb"
    shutil.rmtree(tsdb, ignore_errors=True)
    facts["backfill_s"] = backfill(files, tsdb)
    print(f"backfilled raw in {facts['backfill_s']:.0f} s", flush=True)

    inliner = Inliner(rule_files)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with daemons() as running:
        running.append(prometheus(tsdb, tmp, port))
        wait_for("prometheus ready", lambda: _ready(base), 300, running)
        started = time.monotonic()
        recorded, problems = recorded_series(base, inliner, start, end, args.points)
        facts["discover_s"] = time.monotonic() - started
    for p in problems:
        print(f"warning: {p}", flush=True)
    facts["recorded_series"], recorded_samples = recorded.counts()
    print(f"recorded: {facts['recorded_series']} series, {recorded_samples} samples ({facts['discover_s']:.0f} s)", flush=True)
    facts["backfill_s"] += backfill(recorded.write(tmp, "recorded", PARTS), tsdb)
    facts["series"] = facts["raw_series"] + facts["recorded_series"]
    facts["samples"] = raw_samples + recorded_samples

    variables = {
        "cluster": ".*",
        "service": stack.services[0].name,
        "namespace": stack.services[0].namespace,
        "slo": stack.services[0].slos[0]["name"],
        "route": ".*",
        "node": ".*",
        "job": ".*",
        "__rate_interval": RATE_INTERVAL,
        "__range": "7d",
    }
    with_queries, without_queries = [], []
    for b in built:
        for q in dashboards.queries(b.document):
            if q.datasource != "prometheus":
                continue
            # Multi-value variables (namespace on USE, route on RED, …) are "All".
            multi = {v["name"]: ".*" for v in b.document["templating"]["list"] if v.get("includeAll")}
            expr = dashboards.interpolate(q.expr, {**variables, **multi})
            with_queries.append((b.uid, q.panel, expr, q.instant))
            without_queries.append((b.uid, q.panel, inliner.inline(expr), q.instant))

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with daemons() as running:
        running.append(prometheus(tsdb, tmp, port))
        wait_for("prometheus ready", lambda: _ready(base), 300, running)
        head = api(base, "/api/v1/query", {"query": "count({__name__=~'.+'})", "time": str(end - 600)})
        print(f"series at the end of the data: {head['data']['result'][0]['value'][1]}", flush=True)
        started = time.monotonic()
        # Warm the page cache the way a dashboard in use is warm.
        for _, _, expr, instant in with_queries:
            run_query(base, expr, instant, end)
        results_with, loads_with = measure(base, with_queries, "with", args.runs, end)
        print(f"with recordings measured ({time.monotonic() - started:.0f} s)", flush=True)
        results_without, loads_without = measure(base, without_queries, "without", args.runs_without, end)
        facts["measure_s"] = time.monotonic() - started
        print(f"without recordings measured ({facts['measure_s']:.0f} s)", flush=True)

    results = results_with + results_without
    text = report(built, results, {"with": loads_with, "without": loads_without}, facts)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(text)
    (args.report.with_suffix(".json")).write_text(
        json.dumps({"facts": facts, "results": [r.__dict__ for r in results]}, indent=1, default=str) + "\n"
    )
    print(text)
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
