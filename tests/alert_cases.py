"""Alert-rule test cases, as data.

For every alert obs can generate (the catalogue and self-monitoring): scenarios
that must FIRE (at which evaluation, with which labels, summary and
description) and realistic near-misses that must stay SILENT (just under the
threshold, shorter than the `for`, the low-traffic guard, a filtered series).
tests/test_alert_rules.py turns them into promtool unit tests against the
rules generated from tests/fixtures/alerts/<tier>.yaml, for every tier that
generates the alert.

Input series are raw metrics with the names and labels the scrape jobs and
exporters really produce (see the prometheus subchart's _config.tpl); the
recording rules run in the same test, so alerts read recordings computed from
them. Times are offsets from the start of the test; a series' first sample is
at 0. Expected labels may use "$tier" (substituted with the tier's name).

Timing: a condition that holds from evaluation t makes the alert pending at t
and firing at the first evaluation at or after t + `for`. Rates need two
samples, so with 1m samples a ratio of rates holds from 1m on (an absolute
rate reaches its level only once the 5m window is filled). Check times are
multiples of 30s, as the basic tier evaluates every 30s, except for alerts
evaluated every 15s in every tier that has them (the availability group, and
the packs above basic).

A case with `known_bug` describes the CORRECT behaviour of a rule that is
wrong today; the test expects it to fail until the rule is fixed (strict
xfail), then the marker must go.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from obsgen.telemetry import CLASSIC_BUCKETS, OTEL_BUCKETS

# --- the fixture (tests/fixtures/alerts/<tier>.yaml, the same in every tier) --

TIER = "$tier"
DEFAULT_TEAM = "platform"
# name: (namespace, team, telemetry preset)
WEB, WEB_NS, WEB_TEAM = "web", "shop", "storefront"
ORDERS, ORDERS_NS, ORDERS_TEAM = "orders", "fulfilment", "fulfilment"
FIXTURE_SERVICES = {
    WEB: (WEB_NS, WEB_TEAM, "otel"),
    ORDERS: (ORDERS_NS, ORDERS_TEAM, "prometheus-classic"),
}

# Alerts that fire by design at every evaluation: they have no silent case.
ALWAYS_FIRING = frozenset({"Watchdog"})

# --- data types ---------------------------------------------------------------

Series = tuple[str, str]  # (series selector, promtool values notation)


@dataclass(frozen=True)
class Alert:
    """One alert expected to be firing."""

    labels: Mapping[str, str]  # every label except alertname
    summary: str
    description: str
    annotations: Mapping[str, str] = field(default_factory=dict)  # others (runbook_url is added from the rule)


@dataclass(frozen=True)
class Check:
    at: str  # eval_time
    firing: tuple[Alert, ...] = ()  # empty: no instance of the alert fires


@dataclass(frozen=True)
class Case:
    name: str
    fires: bool
    series: tuple[Series, ...]
    checks: tuple[Check, ...]
    interval: str = "1m"  # input series interval
    # Default: the production interval of the alert's group in the tier. Only
    # cases spanning days set a coarser one, to keep the test fast.
    evaluation_interval: str = ""
    known_bug: str = ""

    def __post_init__(self) -> None:
        firing = [c for c in self.checks if c.firing]
        if self.fires and not firing:
            raise ValueError(f"{self.name}: a firing case needs a check with firing alerts")
        if not self.fires and firing:
            raise ValueError(f"{self.name}: a silent case cannot expect firing alerts")


def fires(name: str, series: Sequence[Series], *checks: Check, **kw) -> Case:
    return Case(name, True, tuple(series), checks, **kw)


def silent(name: str, series: Sequence[Series], *at: str, **kw) -> Case:
    return Case(name, False, tuple(series), tuple(Check(t) for t in at), **kw)


def labels(severity: str, team: str, **extra: str) -> dict[str, str]:
    return {**extra, "severity": severity, "team": team, "tier": TIER}


# --- series helpers -------------------------------------------------------------


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def sel(metric: str, lbls: Mapping[str, str]) -> str:
    return metric + "{" + ", ".join(f'{k}="{v}"' for k, v in lbls.items()) + "}"


def counter(*segments: tuple[float, int], start: float = 0) -> str:
    """A counter: `start` at 0, then per (increase per sample, samples) segment that many samples."""
    parts = [_num(start)]
    value = start
    for step, count in segments:
        if count <= 0:
            continue
        first = value + step
        parts.append(f"{_num(first)}x{count - 1}" if step == 0 else f"{_num(first)}{'+' if step > 0 else '-'}{_num(abs(step))}x{count - 1}")
        value += step * count
    return " ".join(parts)


STALE = "stale"


def gauge(*segments: tuple[float | str | None, int]) -> str:
    """A gauge: per (value, samples) segment; None: no sample; STALE: staleness markers (series gone)."""
    parts = []
    for value, count in segments:
        if count <= 0:
            continue
        if value is None:
            parts.append(f"_x{count}")
        elif value == STALE:
            parts.extend([STALE] * count)
        else:
            parts.append(f"{_num(value)}x{count - 1}")
    return " ".join(parts)


def _le(bound: float) -> str:
    # As Prometheus 3 stores classic-histogram buckets: le="1.0", le="0.5", le="+Inf".
    return "+Inf" if math.isinf(bound) else repr(float(bound))


def histogram(base: str, lbls: Mapping[str, str], buckets: Sequence[float], *segments: tuple[Mapping[float, int], int]) -> list[Series]:
    """Cumulative `_bucket` series and `_count` of a histogram. Each segment maps a
    bucket's upper bound to the observations per sample interval falling in it."""
    for dist, _ in segments:
        assert set(dist) <= set(buckets), f"not bucket bounds: {set(dist) - set(buckets)}"
    out = []
    for bound in (*buckets, math.inf):
        cumulative = [(sum(n for ub, n in dist.items() if ub <= bound), steps) for dist, steps in segments]
        out.append((sel(f"{base}_bucket", {**lbls, "le": _le(bound)}), counter(*cumulative)))
    out.append((sel(f"{base}_count", lbls), counter(*[(sum(dist.values()), steps) for dist, steps in segments])))
    return out


# Labels of the series as they arrive. OTel metrics come through OTLP with
# job=service.name; classic ones are scraped by the annotated-Services job.
WEB_OTEL = {"job": WEB, "instance": "web-6f7c9d-x2x4q"}
ORDERS_POD = {"pod": "orders-7d9f8-k5v2z", "node": "node-b"}
ORDERS_SCRAPE = {"job": "kubernetes-services", "namespace": ORDERS_NS, "service": ORDERS, **ORDERS_POD, "instance": "10.42.1.17:9000"}
PROM = {"job": "prometheus", "namespace": "monitoring", "pod": "obs-prometheus-0", "instance": "10.42.0.20:9090", "node": "node-a"}


def _remote_write(sent: str = "", failed: str = "", sent_samples: str = "") -> list[Series]:
    """A Prometheus writing to the remote store `central`: the newest sample it has (one a minute,
    as a timestamp in seconds) and, per given, the newest it sent and its sample counters."""
    queue = {**PROM, "remote_name": "central", "url": "https://metrics.example.com/api/v1/push"}
    series: list[Series] = [(sel("prometheus_remote_storage_highest_timestamp_in_seconds", PROM), counter((60, 40)))]
    if sent:
        series.append((sel("prometheus_remote_storage_queue_highest_sent_timestamp_seconds", queue), sent))
    if failed:
        series.append((sel("prometheus_remote_storage_samples_failed_total", queue), failed))
    if sent_samples:
        series.append((sel("prometheus_remote_storage_samples_total", queue), sent_samples))
    return series


def _deliveries(*per_alertmanager: tuple[int, int]) -> list[Series]:
    """A Prometheus's notifier counters towards several Alertmanagers: (sent, failed) per minute each, for 20 minutes."""
    series: list[Series] = []
    for i, (sent, failed) in enumerate(per_alertmanager):
        target = {**PROM, "alertmanager": f"http://10.42.0.{30 + i}:9093/api/v2/alerts"}
        series += [
            (sel("prometheus_notifications_sent_total", target), counter((sent, 20))),
            (sel("prometheus_notifications_errors_total", target), counter((failed, 20))),
        ]
    return series


PROM_1 = {**PROM, "pod": "obs-prometheus-1", "instance": "10.42.1.20:9090", "node": "node-b"}
AM = {"job": "alertmanager", "namespace": "monitoring", "pod": "obs-alertmanager-0", "instance": "10.42.0.30:9093", "node": "node-a"}
KSM = {"job": "kube-state-metrics", "instance": "10.42.0.9:8080"}
KUBELET = {"job": "kubelet", "instance": "10.0.0.11:10250", "node": "node-a"}
CADVISOR = {"job": "cadvisor", "instance": "10.0.0.11:10250", "node": "node-a"}
NODE_EXPORTER = {
    "job": "node-exporter",
    "namespace": "monitoring",
    "pod": "obs-node-exporter-7xk2p",
    "instance": "10.0.0.11:9100",
    "node": "node-a",
}
APISERVER = {"job": "apiserver", "instance": "10.0.0.1:6443"}
# Control-plane static pods, scraped by pod (prometheus subchart: etcd, kube-scheduler, …).
ETCD = {"job": "etcd", "instance": "10.0.0.1:2381", "pod": "etcd-cp-1", "node": "cp-1"}
SCHEDULER = {"job": "kube-scheduler", "instance": "10.0.0.1:10259", "pod": "kube-scheduler-cp-1", "node": "cp-1"}
CONTROLLER_MANAGER = {"job": "kube-controller-manager", "instance": "10.0.0.1:10257", "pod": "kube-controller-manager-cp-1", "node": "cp-1"}
COREDNS = {"job": "coredns", "instance": "10.42.0.3:9153", "pod": "coredns-5d78c9869d-abcde"}
ROOT_FS = {"device": "/dev/nvme0n1p1", "fstype": "ext4", "mountpoint": "/"}
WEB_POD = {"namespace": WEB_NS, "pod": "web-6f7c9d-x2x4q"}
PVC = {"namespace": "data", "persistentvolumeclaim": "pgdata-postgres-0"}
# The telemetry pipeline's own targets (prometheus subchart: otel-agent,
# otel-gateway, loki, tempo jobs through their Services' EndpointSlices).
_PIPELINE = {"namespace": "monitoring", "node": "node-a"}
OTEL_AGENT = {"job": "otel-agent", "pod": "obs-otel-collector-agent-x7k2p", "instance": "10.42.0.41:8888", **_PIPELINE}
OTEL_GATEWAY = {"job": "otel-gateway", "pod": "obs-otel-collector-gateway-0", "instance": "10.42.0.42:8888", **_PIPELINE}
LOKI = {"job": "loki", "pod": "obs-loki-0", "instance": "10.42.0.50:3100", **_PIPELINE}
TEMPO = {"job": "tempo", "pod": "obs-tempo-0", "instance": "10.42.0.60:3200", **_PIPELINE}
TO_GATEWAY = {"exporter": "otlp_grpc/gateway"}
TO_LOKI = {"exporter": "otlp_http/loki"}


def web_requests(status: str, values: str, route: str = "/cart") -> Series:
    return (
        sel(
            "http_server_request_duration_seconds_count",
            {**WEB_OTEL, "http_request_method": "GET", "http_route": route, "http_response_status_code": status},
        ),
        values,
    )


def orders_requests(status: str, values: str, route: str = "/orders") -> Series:
    return (sel("http_requests_total", {**ORDERS_SCRAPE, "method": "POST", "route": route, "status": status}), values)


def web_latency(*segments: tuple[Mapping[float, int], int]) -> list[Series]:
    lbls = {**WEB_OTEL, "http_request_method": "GET", "http_route": "/cart", "http_response_status_code": "200"}
    return histogram("http_server_request_duration_seconds", lbls, OTEL_BUCKETS, *segments)


def orders_latency(*segments: tuple[Mapping[float, int], int]) -> list[Series]:
    lbls = {**ORDERS_SCRAPE, "method": "POST", "route": "/orders", "status": "200"}
    return histogram("http_request_duration_seconds", lbls, CLASSIC_BUCKETS, *segments)


def probe(service: str, namespace: str, team: str, endpoint: str, instance: str, module: str, dependency: str = "") -> dict[str, str]:
    """Labels of a blackbox probe series (the blackbox job's static_configs)."""
    out = {"job": "blackbox", "instance": instance, "module": module, "service": service, "namespace": namespace}
    out |= {"team": team, "endpoint": endpoint}
    if dependency:
        out["dependency"] = dependency
    return out


WEB_HEALTHZ = probe(WEB, WEB_NS, WEB_TEAM, "/healthz", "http://web.shop.svc:8080/healthz", "http_2xx")
WEB_READY = probe(WEB, WEB_NS, WEB_TEAM, "/ready", "http://web.shop.svc:8080/ready", "http_2xx")
WEB_PAYMENT = probe(
    WEB, WEB_NS, WEB_TEAM, "dependency/payment-gateway", "https://pay.example.com/health", "http_2xx", dependency="payment-gateway"
)
ORDERS_HEALTH = probe(ORDERS, ORDERS_NS, ORDERS_TEAM, "/health", "http://orders.fulfilment.svc:9001/health", "http_2xx")
ORDERS_TCP = probe(ORDERS, ORDERS_NS, ORDERS_TEAM, "tcp/9001", "orders.fulfilment.svc:9001", "tcp_connect")
ORDERS_POSTGRES = probe(ORDERS, ORDERS_NS, ORDERS_TEAM, "dependency/postgres", "db.example.com:5432", "tcp_connect", dependency="postgres")


def _strip(lbls: Mapping[str, str], *names: str) -> dict[str, str]:
    return {k: v for k, v in lbls.items() if k not in names}


# --- the cases ------------------------------------------------------------------

_WEB_ALERT = {"service": WEB, "namespace": WEB_NS}
_ORDERS_ALERT = {"service": ORDERS, "namespace": ORDERS_NS}

CASES: dict[str, tuple[Case, ...]] = {
    # === availability (group interval 15s; probes every 15s) ===================
    "TargetDown": (
        fires(
            "every pod of a job down, and every kubelet",
            [
                (sel("up", {**ORDERS_SCRAPE}), gauge((1, 4), (0, 16))),
                (sel("up", {**ORDERS_SCRAPE, "pod": "orders-7d9f8-w8n4c", "instance": "10.42.2.9:9000"}), gauge((1, 4), (0, 16))),
                (sel("up", KUBELET), gauge((1, 4), (0, 16))),
            ],
            Check("2m45s"),
            Check(
                "3m",
                (
                    Alert(
                        labels("critical", DEFAULT_TEAM, job="kubernetes-services", namespace=ORDERS_NS, service=ORDERS),
                        "Every target of kubernetes-services is down",
                        "No target of job kubernetes-services (service orders) in fulfilment can be scraped (up = 0).",
                    ),
                    Alert(
                        labels("critical", DEFAULT_TEAM, job="kubelet"),
                        "Every target of kubelet is down",
                        "No target of job kubelet can be scraped (up = 0).",
                    ),
                ),
            ),
            interval="15s",
        ),
        silent(
            "one pod of two down",
            [
                (sel("up", {**ORDERS_SCRAPE}), gauge((1, 4), (0, 36))),
                (sel("up", {**ORDERS_SCRAPE, "pod": "orders-7d9f8-w8n4c", "instance": "10.42.2.9:9000"}), gauge((1, 40))),
            ],
            "3m",
            "9m",
            interval="15s",
        ),
        silent(
            "whole job down for 1m30s during a rollout",
            [
                (sel("up", {**ORDERS_SCRAPE}), gauge((1, 4), (0, 7), (1, 20))),
                (sel("up", {**ORDERS_SCRAPE, "pod": "orders-7d9f8-w8n4c", "instance": "10.42.2.9:9000"}), gauge((1, 4), (0, 7), (1, 20))),
            ],
            "2m30s",
            "3m",
            "5m",
            interval="15s",
        ),
    ),
    "TargetsPartiallyDown": (
        fires(
            "one pod of three down",
            [
                (sel("up", {**ORDERS_SCRAPE}), gauge((1, 4), (0, 64))),
                (sel("up", {**ORDERS_SCRAPE, "pod": "orders-7d9f8-w8n4c", "instance": "10.42.2.9:9000"}), gauge((1, 68))),
                (sel("up", {**ORDERS_SCRAPE, "pod": "orders-7d9f8-p2m7d", "instance": "10.42.3.4:9000"}), gauge((1, 68))),
            ],
            Check("15m45s"),
            Check(
                "16m",
                (
                    Alert(
                        labels("warning", DEFAULT_TEAM, job="kubernetes-services", namespace=ORDERS_NS, service=ORDERS),
                        "Part of kubernetes-services's targets are down",
                        "33.33% of the targets of kubernetes-services cannot be scraped.",
                    ),
                ),
            ),
            interval="15s",
        ),
        silent(
            "one pod of three down for 10m during a node drain",
            [
                (sel("up", {**ORDERS_SCRAPE}), gauge((1, 4), (0, 40), (1, 40))),
                (sel("up", {**ORDERS_SCRAPE, "pod": "orders-7d9f8-w8n4c", "instance": "10.42.2.9:9000"}), gauge((1, 84))),
                (sel("up", {**ORDERS_SCRAPE, "pod": "orders-7d9f8-p2m7d", "instance": "10.42.3.4:9000"}), gauge((1, 84))),
            ],
            "10m",
            "16m",
            "20m",
            interval="15s",
        ),
    ),
    "ServiceProbeFailing": (
        fires(
            "two failed probes in a row; a failing dependency probe is not a health check",
            [
                (sel("probe_success", WEB_HEALTHZ), gauge((1, 4), (0, 8))),
                (sel("probe_success", WEB_READY), gauge((1, 12))),
                (sel("probe_success", WEB_PAYMENT), gauge((0, 12))),
                (sel("probe_success", ORDERS_HEALTH), gauge((1, 12))),
                (sel("probe_success", ORDERS_TCP), gauge((1, 4), (0, 8))),
            ],
            Check("1m"),
            Check(
                "1m15s",
                (
                    Alert(
                        labels("critical", WEB_TEAM, **_strip(WEB_HEALTHZ, "team")),
                        "Health check of web fails",
                        "The blackbox probe of http://web.shop.svc:8080/healthz (http_2xx) fails (probe_success = 0).",
                    ),
                    Alert(
                        labels("critical", ORDERS_TEAM, **_strip(ORDERS_TCP, "team")),
                        "Health check of orders fails",
                        "The blackbox probe of orders.fulfilment.svc:9001 (tcp_connect) fails (probe_success = 0).",
                    ),
                ),
            ),
            interval="15s",
        ),
        silent(
            "a single failed probe is a blip",
            [
                (sel("probe_success", WEB_HEALTHZ), gauge((1, 4), (0, 1), (1, 8))),
                (sel("probe_success", WEB_READY), gauge((1, 13))),
                (sel("probe_success", ORDERS_HEALTH), gauge((1, 13))),
            ],
            "1m",
            "1m15s",
            "1m30s",
            interval="15s",
        ),
    ),
    # === services (RED recordings from raw request metrics) =====================
    "ServiceErrorRatioHigh": (
        fires(
            "10% 5xx on web (otel), 20% on orders (classic)",
            [
                web_requests("200", counter((540, 10))),
                web_requests("500", counter((60, 10))),
                orders_requests("200", counter((400, 10))),
                orders_requests("500", counter((100, 10))),
            ],
            Check("5m30s"),
            Check(
                "6m",
                (
                    Alert(
                        labels("critical", WEB_TEAM, **_WEB_ALERT),
                        "web fails a large share of requests",
                        "web answers 10% of requests with 5xx over 5m.",
                    ),
                    Alert(
                        labels("critical", ORDERS_TEAM, **_ORDERS_ALERT),
                        "orders fails a large share of requests",
                        "orders answers 20% of requests with 5xx over 5m.",
                    ),
                ),
            ),
        ),
        silent(
            "4% on web (just under); 33% of 3 requests a minute on orders (low traffic)",
            [
                web_requests("200", counter((576, 10))),
                web_requests("500", counter((24, 10))),
                orders_requests("200", counter((2, 10))),
                orders_requests("500", counter((1, 10))),
            ],
            "6m30s",
            "10m",
        ),
        silent(
            "a 3-minute burst of errors is shorter than the `for`",
            [
                web_requests("200", counter((540, 14))),
                web_requests("500", counter((0, 4), (60, 3), (0, 7))),
            ],
            "8m",
            "13m",
        ),
    ),
    "ServiceErrorRatioElevated": (
        fires(
            "2% 5xx on web",
            [web_requests("200", counter((588, 17))), web_requests("500", counter((12, 17)))],
            Check("15m30s"),
            Check(
                "16m",
                (
                    Alert(
                        labels("warning", WEB_TEAM, **_WEB_ALERT),
                        "web fails more requests than usual",
                        "web answers 2% of requests with 5xx over 5m.",
                    ),
                ),
            ),
        ),
        silent(
            "0.9% on web (just under); 33% of 3 requests a minute on orders (low traffic)",
            [
                web_requests("200", counter((991, 17))),
                web_requests("500", counter((9, 17))),
                orders_requests("200", counter((2, 17))),
                orders_requests("500", counter((1, 17))),
            ],
            "16m30s",
        ),
    ),
    "ServiceLatencyP95High": (
        fires(
            "p95 975ms on web (otel histogram), 1.75s on orders (classic histogram)",
            [
                *web_latency(({0.25: 300, 1.0: 300}, 12)),
                *orders_latency(({0.1: 270, 2.5: 30}, 12)),
                orders_requests("200", counter((300, 12))),
            ],
            Check("10m30s"),
            Check(
                "11m",
                (
                    Alert(
                        labels("warning", WEB_TEAM, **_WEB_ALERT, quantile="0.95"),
                        "web is slow",
                        "p95 latency of web is 975ms over 5m.",
                    ),
                    Alert(
                        labels("warning", ORDERS_TEAM, **_ORDERS_ALERT, quantile="0.95"),
                        "orders is slow",
                        "p95 latency of orders is 1.75s over 5m.",
                    ),
                ),
            ),
        ),
        silent(
            "p95 437.5ms on web (just under); orders slow at 3 requests a minute (low traffic)",
            [
                *web_latency(({0.25: 240, 0.5: 60}, 12)),
                *orders_latency(({0.1: 2, 2.5: 1}, 12)),
                orders_requests("200", counter((3, 12))),
            ],
            "11m30s",
        ),
    ),
    "ServiceLatencyRegression": (
        fires(
            "p95 of web doubles (75ms to 150ms) compared with last week",
            [*web_latency(({0.075: 1140, 0.25: 60}, 5040), ({0.075: 1110, 0.25: 90}, 32))],
            # Pending from the first evaluation whose 5m window holds only this
            # week's latencies (1w30m), firing 30m later.
            Check("1w30m"),
            Check(
                "1w1h",
                (
                    Alert(
                        labels("warning", WEB_TEAM, **_WEB_ALERT, quantile="0.95"),
                        "web is slower than a week ago",
                        "p95 latency of web is 2× what it was at this time last week.",
                    ),
                ),
            ),
            interval="2m",
            evaluation_interval="30m",
        ),
        silent(
            "web 1.33× slower (under 1.5×); orders 2× slower but only 4.75ms to 9.75ms (noise floor)",
            [
                *web_latency(({0.075: 1140, 0.25: 60}, 5040), ({0.1: 1140, 0.25: 60}, 32)),
                *orders_latency(({0.005: 1200}, 5040), ({0.01: 1200}, 32)),
                orders_requests("200", counter((1200, 5072))),
            ],
            "1w30m",
            "1w1h",
            interval="2m",
            evaluation_interval="30m",
        ),
    ),
    # === dependencies ===========================================================
    "DependencyErrorRatioHigh": (
        fires(
            "orders, called by web as orders-api, fails 10%",
            [orders_requests("200", counter((540, 12))), orders_requests("500", counter((60, 12)))],
            Check("10m30s"),
            Check(
                "11m",
                (
                    Alert(
                        labels("warning", WEB_TEAM, **_WEB_ALERT, dependency="orders-api"),
                        "Dependency orders-api of web is failing",
                        "orders-api, called by web, fails 10% of its requests.",
                    ),
                ),
            ),
        ),
        silent(
            "orders fails 4% (just under)",
            [orders_requests("200", counter((576, 12))), orders_requests("500", counter((24, 12)))],
            "11m30s",
        ),
        silent(
            "orders fails 1 of 3 requests a minute (low traffic)",
            [orders_requests("200", counter((2, 12))), orders_requests("500", counter((1, 12)))],
            "11m30s",
        ),
    ),
    "DependencyProbeFailing": (
        fires(
            "the payment gateway does not answer for a minute",
            [
                (sel("probe_success", WEB_PAYMENT), gauge((1, 4), (0, 8))),
                (sel("probe_success", ORDERS_POSTGRES), gauge((1, 12))),
                (sel("probe_success", WEB_HEALTHZ), gauge((1, 12))),
            ],
            Check("1m45s"),
            Check(
                "2m",
                (
                    Alert(
                        labels("warning", WEB_TEAM, **_strip(WEB_PAYMENT, "team")),
                        "Dependency payment-gateway of web is unreachable",
                        "Probe of https://pay.example.com/health (http_2xx) fails (probe_success = 0).",
                    ),
                ),
            ),
            interval="15s",
        ),
        silent(
            "postgres unreachable for 45s; web's own health check failing is not a dependency",
            [
                (sel("probe_success", ORDERS_POSTGRES), gauge((1, 4), (0, 3), (1, 9))),
                (sel("probe_success", WEB_PAYMENT), gauge((1, 16))),
                (sel("probe_success", WEB_HEALTHZ), gauge((0, 16))),
            ],
            "1m30s",
            "2m",
            "3m",
            interval="15s",
        ),
    ),
    # === kubernetes ===============================================================
    "KubePodCrashLooping": (
        fires(
            "CrashLoopBackOff for 15 minutes, running briefly between restarts",
            [
                (
                    sel(
                        "kube_pod_container_status_waiting_reason",
                        {**KSM, **WEB_POD, "container": "web", "reason": "CrashLoopBackOff", "uid": "3f1c"},
                    ),
                    gauge((1, 4), (STALE, 1), (1, 5), (STALE, 1), (1, 5), (STALE, 1), (1, 5)),
                ),
            ],
            Check("14m30s"),
            Check(
                "15m",
                (
                    Alert(
                        labels("critical", DEFAULT_TEAM, **KSM, **WEB_POD, container="web", reason="CrashLoopBackOff", uid="3f1c"),
                        "shop/web-6f7c9d-x2x4q is crash-looping",
                        "Container web of shop/web-6f7c9d-x2x4q is in CrashLoopBackOff (1).",
                    ),
                ),
            ),
        ),
        silent(
            "crash-looping for 8 minutes, then fixed",
            [
                (
                    sel(
                        "kube_pod_container_status_waiting_reason",
                        {**KSM, **WEB_POD, "container": "web", "reason": "CrashLoopBackOff", "uid": "3f1c"},
                    ),
                    gauge((1, 8), (STALE, 1)),
                ),
            ],
            "11m",
            "15m",
            "20m",
        ),
    ),
    "KubeWorkloadReplicasMismatch": (
        fires(
            "a deployment with 2 of 3 replicas available, a statefulset with 1 of 3 ready",
            [
                (sel("kube_deployment_spec_replicas", {**KSM, "namespace": ORDERS_NS, "deployment": ORDERS}), gauge((3, 20))),
                (sel("kube_deployment_status_replicas_available", {**KSM, "namespace": ORDERS_NS, "deployment": ORDERS}), gauge((2, 20))),
                (sel("kube_deployment_spec_replicas", {**KSM, "namespace": WEB_NS, "deployment": WEB}), gauge((2, 20))),
                (sel("kube_deployment_status_replicas_available", {**KSM, "namespace": WEB_NS, "deployment": WEB}), gauge((2, 20))),
                (sel("kube_statefulset_replicas", {**KSM, "namespace": "data", "statefulset": "postgres"}), gauge((3, 20))),
                (sel("kube_statefulset_status_replicas_ready", {**KSM, "namespace": "data", "statefulset": "postgres"}), gauge((1, 20))),
            ],
            Check("14m30s"),
            Check(
                "15m",
                (
                    Alert(
                        labels("warning", DEFAULT_TEAM, **KSM, namespace=ORDERS_NS, deployment=ORDERS),
                        "fulfilment/orders runs below its desired replicas",
                        "fulfilment/orders has fewer available replicas than the 3 it wants.",
                    ),
                    Alert(
                        labels("warning", DEFAULT_TEAM, **KSM, namespace="data", statefulset="postgres"),
                        "data/postgres runs below its desired replicas",
                        "data/postgres has fewer available replicas than the 3 it wants.",
                    ),
                ),
            ),
        ),
        silent(
            "a rolling update keeps one replica unavailable for 10 minutes",
            [
                (sel("kube_deployment_spec_replicas", {**KSM, "namespace": ORDERS_NS, "deployment": ORDERS}), gauge((3, 25))),
                (
                    sel("kube_deployment_status_replicas_available", {**KSM, "namespace": ORDERS_NS, "deployment": ORDERS}),
                    gauge((3, 2), (2, 10), (3, 13)),
                ),
                (sel("kube_statefulset_replicas", {**KSM, "namespace": "data", "statefulset": "postgres"}), gauge((3, 25))),
                (sel("kube_statefulset_status_replicas_ready", {**KSM, "namespace": "data", "statefulset": "postgres"}), gauge((3, 25))),
            ],
            "10m",
            "15m",
            "24m",
        ),
    ),
    "KubePodRestartingFrequently": (
        fires(
            "the fourth restart within an hour",
            [
                (
                    sel("kube_pod_container_status_restarts_total", {**KSM, **WEB_POD, "container": "web", "uid": "3f1c"}),
                    counter((0, 5), (1, 1), (0, 7), (1, 1), (0, 7), (1, 1), (0, 7), (1, 1), (0, 5)),
                ),
            ],
            Check("29m"),
            Check(
                "30m",
                (
                    Alert(
                        labels("warning", DEFAULT_TEAM, **KSM, **WEB_POD, container="web", uid="3f1c"),
                        "shop/web-6f7c9d-x2x4q restarts often",
                        "web in web-6f7c9d-x2x4q restarted 4 times in the last hour.",
                    ),
                ),
            ),
        ),
        silent(
            "two restarts in an hour",
            [
                (
                    sel("kube_pod_container_status_restarts_total", {**KSM, **WEB_POD, "container": "web", "uid": "3f1c"}),
                    counter((0, 10), (1, 1), (0, 19), (1, 1), (0, 40), start=7),
                ),
            ],
            "31m",
            "45m",
            "70m",
        ),
        silent(
            "exactly three restarts in an hour, after older ones",
            [
                (
                    sel("kube_pod_container_status_restarts_total", {**KSM, **WEB_POD, "container": "web", "uid": "3f1c"}),
                    counter((0, 10), (1, 1), (0, 9), (1, 1), (0, 9), (1, 1), (0, 40), start=10),
                ),
            ],
            "45m",
            "65m",
        ),
    ),
    # === capacity =================================================================
    "PersistentVolumeAlmostFull": (
        fires(
            "a volume 98% full",
            [
                (sel("kubelet_volume_stats_capacity_bytes", {**KUBELET, **PVC}), gauge((1e11, 10))),
                (sel("kubelet_volume_stats_available_bytes", {**KUBELET, **PVC}), gauge((2e9, 10))),
            ],
            Check("4m30s"),
            Check(
                "5m",
                (
                    Alert(
                        labels("critical", DEFAULT_TEAM, **PVC),
                        "Volume data/pgdata-postgres-0 is almost full",
                        "data/pgdata-postgres-0 is 98% full.",
                    ),
                ),
            ),
        ),
        silent(
            "a volume 96.5% full (just under)",
            [
                (sel("kubelet_volume_stats_capacity_bytes", {**KUBELET, **PVC}), gauge((1e11, 11))),
                (sel("kubelet_volume_stats_available_bytes", {**KUBELET, **PVC}), gauge((3.5e9, 11))),
            ],
            "5m30s",
            "10m",
        ),
    ),
    "PersistentVolumeFillingUp": (
        fires(
            "86% full, growing 1.2 GB an hour: full within a day",
            [
                (sel("kubelet_volume_stats_capacity_bytes", {**KUBELET, **PVC}), gauge((1e11, 16))),
                (sel("kubelet_volume_stats_available_bytes", {**KUBELET, **PVC}), counter((-1e8, 15), start=1.4e10)),
            ],
            Check("1h4m30s"),
            Check(
                "1h5m",
                (
                    Alert(
                        labels("warning", DEFAULT_TEAM, **PVC),
                        "Volume data/pgdata-postgres-0 fills up within 4 days",
                        "data/pgdata-postgres-0 is 87.3% full and growing.",
                    ),
                ),
            ),
            interval="5m",
        ),
        silent(
            "90% full, growing slowly: full in a week",
            [
                (sel("kubelet_volume_stats_capacity_bytes", {**KUBELET, **PVC}), gauge((1e11, 15))),
                (sel("kubelet_volume_stats_available_bytes", {**KUBELET, **PVC}), counter((-5e6, 14), start=1e10)),
            ],
            "1h5m",
            "1h10m",
            interval="5m",
        ),
    ),
    "NodeFilesystemAlmostFull": (
        fires(
            "the root filesystem 97% full",
            [
                (sel("node_filesystem_size_bytes", {**NODE_EXPORTER, **ROOT_FS}), gauge((1e11, 10))),
                (sel("node_filesystem_avail_bytes", {**NODE_EXPORTER, **ROOT_FS}), gauge((3e9, 10))),
                (sel("node_filesystem_readonly", {**NODE_EXPORTER, **ROOT_FS}), gauge((0, 10))),
            ],
            Check("4m30s"),
            Check(
                "5m",
                (
                    Alert(
                        labels("critical", DEFAULT_TEAM, node="node-a", device="/dev/nvme0n1p1", mountpoint="/"),
                        "Filesystem / on node-a is almost full",
                        "/ (/dev/nvme0n1p1) on node-a is 97% full.",
                    ),
                ),
            ),
        ),
        silent(
            "root 94% full (just under); a read-only squashfs is always full",
            [
                (sel("node_filesystem_size_bytes", {**NODE_EXPORTER, **ROOT_FS}), gauge((1e11, 11))),
                (sel("node_filesystem_avail_bytes", {**NODE_EXPORTER, **ROOT_FS}), gauge((6e9, 11))),
                (sel("node_filesystem_readonly", {**NODE_EXPORTER, **ROOT_FS}), gauge((0, 11))),
                *[
                    (sel(metric, {**NODE_EXPORTER, "device": "/dev/loop3", "fstype": "squashfs", "mountpoint": "/snap/core/17200"}), value)
                    for metric, value in (
                        ("node_filesystem_size_bytes", gauge((6e7, 11))),
                        ("node_filesystem_avail_bytes", gauge((0, 11))),
                        ("node_filesystem_readonly", gauge((1, 11))),
                    )
                ],
            ],
            "5m30s",
            "10m",
        ),
    ),
    "NodeFilesystemFillingUp": (
        fires(
            "85% full, growing 1.2 GB an hour: full within a day",
            [
                (sel("node_filesystem_size_bytes", {**NODE_EXPORTER, **ROOT_FS}), gauge((1e11, 16))),
                (sel("node_filesystem_avail_bytes", {**NODE_EXPORTER, **ROOT_FS}), counter((-1e8, 15), start=1.5e10)),
                (sel("node_filesystem_readonly", {**NODE_EXPORTER, **ROOT_FS}), gauge((0, 16))),
            ],
            Check("1h4m30s"),
            Check(
                "1h5m",
                (
                    Alert(
                        labels("warning", DEFAULT_TEAM, node="node-a", device="/dev/nvme0n1p1", mountpoint="/"),
                        "Filesystem / on node-a fills up within a day",
                        "/ on node-a is 86.3% full and growing.",
                    ),
                ),
            ),
            interval="5m",
        ),
        silent(
            "85% full, growing 240 MB an hour: full in about 2.5 days",
            [
                (sel("node_filesystem_size_bytes", {**NODE_EXPORTER, **ROOT_FS}), gauge((1e11, 15))),
                (sel("node_filesystem_avail_bytes", {**NODE_EXPORTER, **ROOT_FS}), counter((-2e7, 14), start=1.5e10)),
                (sel("node_filesystem_readonly", {**NODE_EXPORTER, **ROOT_FS}), gauge((0, 15))),
            ],
            "1h5m",
            "1h10m",
            interval="5m",
        ),
    ),
    # === resources ===============================================================
    "ContainerCPUThrottlingHigh": (
        fires(
            "half of the CPU periods throttled; the pod-level cgroup is not a container",
            [
                *[
                    (sel(metric, {**CADVISOR, **WEB_POD, "container": "web", "image": "registry.example.com/shop/web:1.4.2"}), values)
                    for metric, values in (
                        ("container_cpu_cfs_periods_total", counter((600, 17))),
                        ("container_cpu_cfs_throttled_periods_total", counter((300, 17))),
                    )
                ],
                *[
                    (sel(metric, {**CADVISOR, **WEB_POD}), values)
                    for metric, values in (
                        ("container_cpu_cfs_periods_total", counter((600, 17))),
                        ("container_cpu_cfs_throttled_periods_total", counter((600, 17))),
                    )
                ],
            ],
            Check("15m30s"),
            Check(
                "16m",
                (
                    Alert(
                        labels("warning", DEFAULT_TEAM, **WEB_POD, container="web"),
                        "shop/web-6f7c9d-x2x4q is CPU-throttled",
                        "50% of CPU periods of web in web-6f7c9d-x2x4q are throttled.",
                    ),
                ),
            ),
        ),
        silent(
            "20% of the periods throttled (under 25%)",
            [
                (
                    sel(
                        "container_cpu_cfs_periods_total",
                        {**CADVISOR, **WEB_POD, "container": "web", "image": "registry.example.com/shop/web:1.4.2"},
                    ),
                    counter((600, 17)),
                ),
                (
                    sel(
                        "container_cpu_cfs_throttled_periods_total",
                        {**CADVISOR, **WEB_POD, "container": "web", "image": "registry.example.com/shop/web:1.4.2"},
                    ),
                    counter((120, 17)),
                ),
            ],
            "16m30s",
        ),
    ),
    "ContainerMemoryNearLimit": (
        fires(
            "working set at 95% of the limit",
            [
                (
                    sel(
                        "container_memory_working_set_bytes",
                        {**CADVISOR, **WEB_POD, "container": "web", "image": "registry.example.com/shop/web:1.4.2"},
                    ),
                    gauge((9.5e8, 16)),
                ),
                (
                    sel(
                        "kube_pod_container_resource_limits",
                        {**KSM, **WEB_POD, "container": "web", "resource": "memory", "unit": "byte", "node": "node-a"},
                    ),
                    gauge((1e9, 16)),
                ),
            ],
            Check("14m30s"),
            Check(
                "15m",
                (
                    Alert(
                        labels("warning", DEFAULT_TEAM, **WEB_POD, container="web"),
                        "shop/web-6f7c9d-x2x4q is close to its memory limit",
                        "web in web-6f7c9d-x2x4q uses 95% of its memory limit.",
                    ),
                ),
            ),
        ),
        silent(
            "85% of the limit; a container without a limit",
            [
                (
                    sel(
                        "container_memory_working_set_bytes",
                        {**CADVISOR, **WEB_POD, "container": "web", "image": "registry.example.com/shop/web:1.4.2"},
                    ),
                    gauge((8.5e8, 16)),
                ),
                (
                    sel(
                        "kube_pod_container_resource_limits",
                        {**KSM, **WEB_POD, "container": "web", "resource": "memory", "unit": "byte", "node": "node-a"},
                    ),
                    gauge((1e9, 16)),
                ),
                (
                    sel(
                        "container_memory_working_set_bytes",
                        {**CADVISOR, **WEB_POD, "container": "envoy", "image": "envoyproxy/envoy:v1.31"},
                    ),
                    gauge((4e9, 16)),
                ),
            ],
            "15m30s",
        ),
    ),
    "ContainerOOMKilled": (
        fires(
            "a restart whose last termination was an OOM kill",
            [
                (
                    sel("kube_pod_container_status_restarts_total", {**KSM, **WEB_POD, "container": "web", "uid": "3f1c"}),
                    counter((0, 9), (1, 1), (0, 10)),
                ),
                (
                    sel(
                        "kube_pod_container_status_last_terminated_reason",
                        {**KSM, **WEB_POD, "container": "web", "uid": "3f1c", "reason": "OOMKilled"},
                    ),
                    gauge((None, 10), (1, 11)),
                ),
            ],
            Check("9m30s"),
            Check(
                "10m",
                (
                    Alert(
                        labels("warning", DEFAULT_TEAM, **KSM, **WEB_POD, container="web", uid="3f1c"),
                        "shop/web-6f7c9d-x2x4q was OOM-killed",
                        "web in web-6f7c9d-x2x4q restarted 1 times in 15m, last time for lack of memory.",
                    ),
                ),
            ),
        ),
        silent(
            "a restart after a crash; an OOM kill older than 15 minutes",
            [
                (
                    sel("kube_pod_container_status_restarts_total", {**KSM, **WEB_POD, "container": "web", "uid": "3f1c"}),
                    counter((0, 9), (1, 1), (0, 20)),
                ),
                (
                    sel(
                        "kube_pod_container_status_last_terminated_reason",
                        {**KSM, **WEB_POD, "container": "web", "uid": "3f1c", "reason": "Error"},
                    ),
                    gauge((None, 10), (1, 21)),
                ),
                (
                    sel("kube_pod_container_status_restarts_total", {**KSM, **WEB_POD, "container": "envoy", "uid": "3f1c"}),
                    gauge((2, 31)),
                ),
                (
                    sel(
                        "kube_pod_container_status_last_terminated_reason",
                        {**KSM, **WEB_POD, "container": "envoy", "uid": "3f1c", "reason": "OOMKilled"},
                    ),
                    gauge((1, 31)),
                ),
            ],
            "10m",
            "20m",
            "30m",
        ),
    ),
    # === runtime ===================================================================
    "ProcessFileDescriptorsNearLimit": (
        fires(
            "900 of 1024 descriptors open",
            [
                (sel("process_open_fds", ORDERS_SCRAPE), gauge((900, 16))),
                (sel("process_max_fds", ORDERS_SCRAPE), gauge((1024, 16))),
            ],
            Check("14m30s"),
            Check(
                "15m",
                (
                    Alert(
                        labels("warning", DEFAULT_TEAM, **ORDERS_SCRAPE),
                        "kubernetes-services is running out of file descriptors",
                        "10.42.1.17:9000 (kubernetes-services) uses 87.89% of its file descriptors.",
                    ),
                ),
            ),
        ),
        silent(
            "75% open; a 10-minute spike to 95%",
            [
                (sel("process_open_fds", ORDERS_SCRAPE), gauge((768, 30))),
                (sel("process_max_fds", ORDERS_SCRAPE), gauge((1024, 30))),
                (sel("process_open_fds", PROM), gauge((500, 5), (973, 10), (500, 15))),
                (sel("process_max_fds", PROM), gauge((1024, 30))),
            ],
            "14m",
            "20m",
            "29m",
        ),
    ),
    # === cardinality ===============================================================
    "PrometheusScrapeSampleLimitHit": (
        fires(
            "a target over its sample limit at every scrape",
            [(sel("prometheus_target_scrapes_exceeded_sample_limit_total", PROM), counter((0, 5), (1, 10)))],
            Check("5m30s"),
            Check(
                "10m",
                (
                    Alert(
                        labels("warning", DEFAULT_TEAM, **PROM),
                        "Scrapes are rejected for exceeding their sample limit",
                        "obs-prometheus-0 rejected 5 scrapes in 10m because a target exposed more samples than its budget.",
                    ),
                ),
            ),
        ),
        silent(
            "rejections older than 10 minutes; a counter reset by a restart",
            [
                (sel("prometheus_target_scrapes_exceeded_sample_limit_total", PROM), gauge((12, 21))),
                (sel("prometheus_target_scrapes_exceeded_sample_limit_total", PROM_1), gauge((12, 10), (0, 11))),
            ],
            "5m",
            "12m",
            "20m",
        ),
    ),
    "PrometheusHeadSeriesGrowth": (
        fires(
            "twice the series of a day ago, for an hour",
            [(sel("prometheus_tsdb_head_series", PROM), gauge((100000, 288), (200000, 20)))],
            Check("24h55m"),
            Check(
                "25h",
                (
                    Alert(
                        labels("warning", DEFAULT_TEAM, **PROM),
                        "Series count grows fast",
                        "obs-prometheus-0 holds 2× the series it held a day ago.",
                    ),
                ),
            ),
            interval="5m",
            evaluation_interval="5m",
        ),
        silent(
            "1.4× the series of a day ago; twice as many for 50 minutes only",
            [
                (sel("prometheus_tsdb_head_series", PROM), gauge((100000, 288), (140000, 30))),
                (sel("prometheus_tsdb_head_series", PROM_1), gauge((100000, 288), (200000, 10), (100000, 20))),
            ],
            "25h",
            "26h",
            interval="5m",
            evaluation_interval="5m",
        ),
    ),
    # === security (enterprise) =====================================================
    "ServiceAuthFailuresBurst": (
        fires(
            "40% of web's requests (4/s) answered 401; 23% of orders' (3/s) 403",
            [
                web_requests("200", counter((360, 10))),
                web_requests("401", counter((240, 10)), route="/login"),
                orders_requests("200", counter((600, 10))),
                orders_requests("403", counter((180, 10))),
            ],
            # Absolute rates reach their level once the 5m window is filled:
            # web's exceeds 1/s from 1m30s, orders' from 1m45s.
            Check("6m15s"),
            Check(
                "6m45s",
                (
                    Alert(
                        labels("warning", WEB_TEAM, **_WEB_ALERT),
                        "Burst of 401/403 answers from web",
                        "web rejects 4 requests/s as unauthorised or forbidden.",
                    ),
                    Alert(
                        labels("warning", ORDERS_TEAM, **_ORDERS_ALERT),
                        "Burst of 401/403 answers from orders",
                        "orders rejects 3 requests/s as unauthorised or forbidden.",
                    ),
                ),
            ),
        ),
        silent(
            "2/s of 401 among 20/s on web (10%); 0.5/s of 403 among 1/s on orders (under 1/s)",
            [
                web_requests("200", counter((1080, 20))),
                web_requests("401", counter((120, 20)), route="/login"),
                orders_requests("200", counter((30, 20))),
                orders_requests("403", counter((30, 20))),
            ],
            "10m",
            "20m",
        ),
    ),
    "PrivilegedPodAdmitted": (
        fires(
            "a pod created under the privileged level",
            [
                (
                    sel(
                        "pod_security_evaluations_total",
                        {
                            **APISERVER,
                            "decision": "allow",
                            "mode": "enforce",
                            "policy_level": "privileged",
                            "policy_version": "latest",
                            "request_operation": "create",
                            "resource": "pod",
                        },
                    ),
                    counter((0, 5), (1, 1), (0, 5)),
                ),
            ],
            Check("5m30s"),
            Check(
                "6m",
                (
                    Alert(
                        labels("info", DEFAULT_TEAM, policy_level="privileged", request_operation="create"),
                        "Pods admitted without Pod Security restrictions",
                        "1 pods were admitted in 5m under the privileged Pod Security level.",
                    ),
                ),
            ),
        ),
        silent(
            "pods created under the baseline level; privileged pods updated, not created",
            [
                (
                    sel(
                        "pod_security_evaluations_total",
                        {
                            **APISERVER,
                            "decision": "allow",
                            "mode": "enforce",
                            "policy_level": "baseline",
                            "policy_version": "latest",
                            "request_operation": "create",
                            "resource": "pod",
                        },
                    ),
                    counter((2, 15)),
                ),
                (
                    sel(
                        "pod_security_evaluations_total",
                        {
                            **APISERVER,
                            "decision": "allow",
                            "mode": "enforce",
                            "policy_level": "privileged",
                            "policy_version": "latest",
                            "request_operation": "update",
                            "resource": "pod",
                        },
                    ),
                    counter((1, 15)),
                ),
            ],
            "6m",
            "15m",
        ),
    ),
    "AuditPipelineDown": (
        fires(
            "every gateway replica down for 5 minutes",
            [(sel("up", OTEL_GATEWAY), gauge((0, 10))), (sel("up", LOKI), gauge((1, 10)))],
            Check("4m45s"),
            Check(
                "5m",
                (
                    Alert(
                        labels("critical", DEFAULT_TEAM),
                        "Audit and security events cannot reach Loki",
                        "No gateway or no Loki target is up, or the gateway's Loki exporter fails every send (0); "
                        "audit and security events are being lost.",
                    ),
                ),
            ),
        ),
        fires(
            "gateway and Loki up, but every push to Loki fails",
            [
                (sel("up", OTEL_GATEWAY), gauge((1, 12))),
                (sel("up", LOKI), gauge((1, 12))),
                (sel("otelcol_exporter_sent_log_records_total", {**OTEL_GATEWAY, **TO_LOKI}), counter((0, 12), start=5000)),
                (sel("otelcol_exporter_send_failed_log_records_total", {**OTEL_GATEWAY, **TO_LOKI}), counter((60, 12))),
            ],
            Check("5m45s"),
            Check(
                "6m",
                (
                    Alert(
                        labels("critical", DEFAULT_TEAM),
                        "Audit and security events cannot reach Loki",
                        "No gateway or no Loki target is up, or the gateway's Loki exporter fails every send (1); "
                        "audit and security events are being lost.",
                    ),
                ),
            ),
        ),
        silent(
            "one of two gateways down; some pushes fail while most succeed; Loki restarts for 3 minutes",
            [
                (sel("up", OTEL_GATEWAY), gauge((0, 12))),
                (sel("up", {**OTEL_GATEWAY, "pod": "obs-otel-collector-gateway-1", "instance": "10.42.1.42:8888"}), gauge((1, 12))),
                (sel("up", LOKI), gauge((1, 3), (0, 3), (1, 6))),
                (sel("otelcol_exporter_sent_log_records_total", {**OTEL_GATEWAY, **TO_LOKI}), counter((100, 12))),
                (sel("otelcol_exporter_send_failed_log_records_total", {**OTEL_GATEWAY, **TO_LOKI}), counter((20, 12))),
            ],
            "5m",
            "8m",
            "11m",
        ),
    ),
    # === the telemetry pipeline =====================================================
    "OtelCollectorExportFailing": (
        fires(
            "an agent loses a tenth of its log records for 15 minutes",
            [
                (sel("otelcol_exporter_sent_log_records_total", {**OTEL_AGENT, **TO_GATEWAY}), counter((90, 20))),
                (sel("otelcol_exporter_send_failed_log_records_total", {**OTEL_AGENT, **TO_GATEWAY}), counter((10, 20))),
            ],
            Check("15m45s"),
            Check(
                "16m",
                (
                    Alert(
                        labels("warning", DEFAULT_TEAM, job="otel-agent", namespace="monitoring", pod=OTEL_AGENT["pod"], **TO_GATEWAY),
                        "A collector fails to export telemetry",
                        f"{OTEL_AGENT['pod']}: 10% of what exporter otlp_grpc/gateway sends fails; logs, traces or metrics are being lost.",
                    ),
                ),
            ),
        ),
        fires(
            "the gateway's Loki exporter has never succeeded (no `sent` series at all)",
            [(sel("otelcol_exporter_send_failed_log_records_total", {**OTEL_GATEWAY, **TO_LOKI}), counter((30, 20)))],
            Check(
                "16m",
                (
                    Alert(
                        labels("warning", DEFAULT_TEAM, job="otel-gateway", namespace="monitoring", pod=OTEL_GATEWAY["pod"], **TO_LOKI),
                        "A collector fails to export telemetry",
                        f"{OTEL_GATEWAY['pod']}: 100% of what exporter otlp_http/loki sends fails; logs, traces or metrics are being lost.",
                    ),
                ),
            ),
        ),
        silent(
            "3 % of spans fail for 30 minutes; 10 % of log records fail for 10 minutes only",
            [
                (sel("otelcol_exporter_sent_spans_total", {**OTEL_GATEWAY, "exporter": "otlp_grpc/traces"}), counter((97, 31))),
                (sel("otelcol_exporter_send_failed_spans_total", {**OTEL_GATEWAY, "exporter": "otlp_grpc/traces"}), counter((3, 31))),
                (sel("otelcol_exporter_sent_log_records_total", {**OTEL_AGENT, **TO_GATEWAY}), counter((90, 31))),
                (sel("otelcol_exporter_send_failed_log_records_total", {**OTEL_AGENT, **TO_GATEWAY}), counter((10, 10), (0, 21))),
            ],
            "16m",
            "30m",
        ),
    ),
    "OtelCollectorRefusingData": (
        fires(
            "the gateway's memory limiter refuses log records for 15 minutes",
            [
                (
                    sel("otelcol_receiver_refused_log_records_total", {**OTEL_GATEWAY, "receiver": "otlp", "transport": "grpc"}),
                    counter((60, 20)),
                )
            ],
            Check("15m45s"),
            Check(
                "16m",
                (
                    Alert(
                        labels(
                            "warning", DEFAULT_TEAM, job="otel-gateway", namespace="monitoring", pod=OTEL_GATEWAY["pod"], receiver="otlp"
                        ),
                        "A collector refuses incoming telemetry",
                        f"{OTEL_GATEWAY['pod']} refuses 1 items/s at receiver otlp.",
                    ),
                ),
            ),
        ),
        silent(
            "refusals during a 10-minute burst, then none",
            [
                (
                    sel("otelcol_receiver_refused_spans_total", {**OTEL_AGENT, "receiver": "otlp", "transport": "grpc"}),
                    counter((60, 10), (0, 20)),
                ),
            ],
            "16m",
            "25m",
        ),
    ),
    "OtelCollectorQueueNearlyFull": (
        fires(
            "the Loki exporter's queue 90 % full for 10 minutes",
            [
                (sel("otelcol_exporter_queue_size", {**OTEL_GATEWAY, **TO_LOKI, "data_type": "logs"}), gauge((900, 15))),
                (sel("otelcol_exporter_queue_capacity", {**OTEL_GATEWAY, **TO_LOKI, "data_type": "logs"}), gauge((1000, 15))),
            ],
            Check("9m45s"),
            Check(
                "10m",
                (
                    Alert(
                        labels(
                            "warning",
                            DEFAULT_TEAM,
                            job="otel-gateway",
                            namespace="monitoring",
                            pod=OTEL_GATEWAY["pod"],
                            data_type="logs",
                            **TO_LOKI,
                        ),
                        "A collector's sending queue is nearly full",
                        f"{OTEL_GATEWAY['pod']}: the queue of exporter otlp_http/loki is 90% full.",
                    ),
                ),
            ),
        ),
        silent(
            "70 % full for 20 minutes; 90 % full for 8 minutes, then drained",
            [
                (sel("otelcol_exporter_queue_size", {**OTEL_GATEWAY, **TO_LOKI, "data_type": "logs"}), gauge((700, 21))),
                (sel("otelcol_exporter_queue_capacity", {**OTEL_GATEWAY, **TO_LOKI, "data_type": "logs"}), gauge((1000, 21))),
                (sel("otelcol_exporter_queue_size", {**OTEL_AGENT, **TO_GATEWAY, "data_type": "logs"}), gauge((900, 8), (50, 13))),
                (sel("otelcol_exporter_queue_capacity", {**OTEL_AGENT, **TO_GATEWAY, "data_type": "logs"}), gauge((1000, 21))),
            ],
            "10m",
            "20m",
        ),
    ),
    "LokiRequestErrors": (
        fires(
            "a tenth of OTLP pushes fail for 15 minutes",
            [
                (
                    sel("loki_request_duration_seconds_count", {**LOKI, "method": "POST", "route": "otlp_v1_logs", "status_code": "204"}),
                    counter((90, 20)),
                ),
                (
                    sel("loki_request_duration_seconds_count", {**LOKI, "method": "POST", "route": "otlp_v1_logs", "status_code": "500"}),
                    counter((10, 20)),
                ),
            ],
            Check("15m45s"),
            Check(
                "16m",
                (
                    Alert(
                        labels("warning", DEFAULT_TEAM, job="loki", namespace="monitoring", route="otlp_v1_logs"),
                        "Loki answers requests with errors",
                        "Loki route otlp_v1_logs: 10% of requests fail (5xx or gRPC errors).",
                    ),
                ),
            ),
        ),
        silent(
            "2 % of pushes fail; 4xx (a client's bad request) are not errors",
            [
                (
                    sel("loki_request_duration_seconds_count", {**LOKI, "method": "POST", "route": "otlp_v1_logs", "status_code": "204"}),
                    counter((88, 20)),
                ),
                (
                    sel("loki_request_duration_seconds_count", {**LOKI, "method": "POST", "route": "otlp_v1_logs", "status_code": "500"}),
                    counter((2, 20)),
                ),
                (
                    sel("loki_request_duration_seconds_count", {**LOKI, "method": "POST", "route": "otlp_v1_logs", "status_code": "400"}),
                    counter((10, 20)),
                ),
            ],
            "16m",
            "19m",
        ),
    ),
    "TempoRequestErrors": (
        fires(
            "a fifth of the ingester pushes fail over gRPC for 15 minutes",
            [
                (
                    sel(
                        "tempo_request_duration_seconds_count",
                        {**TEMPO, "method": "gRPC", "route": "/tempopb.Pusher/PushBytesV2", "status_code": "success"},
                    ),
                    counter((80, 20)),
                ),
                (
                    sel(
                        "tempo_request_duration_seconds_count",
                        {**TEMPO, "method": "gRPC", "route": "/tempopb.Pusher/PushBytesV2", "status_code": "error"},
                    ),
                    counter((20, 20)),
                ),
            ],
            Check("15m45s"),
            Check(
                "16m",
                (
                    Alert(
                        labels("warning", DEFAULT_TEAM, job="tempo", namespace="monitoring", route="/tempopb.Pusher/PushBytesV2"),
                        "Tempo answers requests with errors",
                        "Tempo route /tempopb.Pusher/PushBytesV2: 20% of requests fail (5xx or gRPC errors).",
                    ),
                ),
            ),
        ),
        silent(
            "trace queries failing for 10 minutes only",
            [
                (
                    sel(
                        "tempo_request_duration_seconds_count",
                        {**TEMPO, "method": "GET", "route": "api_traces_traceid", "status_code": "200"},
                    ),
                    counter((10, 25)),
                ),
                (
                    sel(
                        "tempo_request_duration_seconds_count",
                        {**TEMPO, "method": "GET", "route": "api_traces_traceid", "status_code": "500"},
                    ),
                    counter((5, 10), (0, 15)),
                ),
            ],
            "16m",
            "24m",
        ),
    ),
    # === self-monitoring ===========================================================
    "PrometheusConfigReloadFailed": (
        fires(
            "the last reload failed 10 minutes ago",
            [(sel("prometheus_config_last_reload_successful", PROM), gauge((1, 5), (0, 16)))],
            Check("14m30s"),
            Check(
                "15m",
                (
                    Alert(
                        labels("critical", DEFAULT_TEAM, job="prometheus", namespace="monitoring", pod="obs-prometheus-0"),
                        "Prometheus could not load its new configuration",
                        "obs-prometheus-0 keeps running the previous configuration; the last reload failed (0).",
                    ),
                ),
            ),
        ),
        silent(
            "a broken configuration fixed after 6 minutes",
            [(sel("prometheus_config_last_reload_successful", PROM), gauge((1, 5), (0, 6), (1, 10)))],
            "10m",
            "15m",
            "20m",
        ),
    ),
    "PrometheusRuleEvaluationFailures": (
        fires(
            "a group failing for 15 minutes",
            [
                (
                    sel(
                        "prometheus_rule_evaluation_failures_total",
                        {**PROM, "rule_group": "/etc/prometheus/rules/alerts-services.yaml;obs-alerts-services"},
                    ),
                    counter((2, 17)),
                ),
            ],
            Check("15m30s"),
            Check(
                "16m",
                (
                    Alert(
                        labels(
                            "critical",
                            DEFAULT_TEAM,
                            job="prometheus",
                            namespace="monitoring",
                            pod="obs-prometheus-0",
                            rule_group="/etc/prometheus/rules/alerts-services.yaml;obs-alerts-services",
                        ),
                        "Prometheus fails to evaluate rules",
                        "obs-prometheus-0 had 10 failed evaluations in group /etc/prometheus/rules/alerts-services.yaml;obs-alerts-services"
                        " over 5m; alerts of that group may be missed.",
                    ),
                ),
            ),
        ),
        silent(
            "failures during 3 minutes, then none",
            [
                (
                    sel(
                        "prometheus_rule_evaluation_failures_total",
                        {**PROM, "rule_group": "/etc/prometheus/rules/alerts-services.yaml;obs-alerts-services"},
                    ),
                    counter((0, 4), (1, 3), (0, 20)),
                ),
            ],
            "10m",
            "16m",
            "25m",
        ),
    ),
    "PrometheusNotConnectedToAlertmanagers": (
        fires(
            "no Alertmanager discovered for 10 minutes",
            [(sel("prometheus_notifications_alertmanagers_discovered", PROM), gauge((1, 2), (0, 20)))],
            Check("11m30s"),
            Check(
                "12m",
                (
                    Alert(
                        labels("critical", DEFAULT_TEAM, job="prometheus", namespace="monitoring", pod="obs-prometheus-0"),
                        "Prometheus has no Alertmanager to send alerts to",
                        "obs-prometheus-0 discovers 0 Alertmanagers; no alert leaves this Prometheus.",
                    ),
                ),
            ),
        ),
        silent(
            "none discovered for 5 minutes while Alertmanager restarts",
            [(sel("prometheus_notifications_alertmanagers_discovered", PROM), gauge((1, 2), (0, 5), (1, 15)))],
            "6m",
            "12m",
            "20m",
        ),
    ),
    "PrometheusNotificationsDegraded": (
        fires(
            "one of three Alertmanagers down: every delivery to it fails",
            _deliveries((100, 100), (100, 0), (100, 0)),
            Check("15m30s"),
            Check(
                "16m",
                (
                    Alert(
                        labels("warning", DEFAULT_TEAM, job="prometheus", namespace="monitoring", pod="obs-prometheus-0"),
                        "Prometheus fails to deliver alerts to some Alertmanagers",
                        "obs-prometheus-0: up to 100% of alert deliveries to one Alertmanager fail.",
                    ),
                ),
            ),
        ),
        silent("0.5% of the deliveries to one Alertmanager fail (under 1%)", _deliveries((200, 1), (200, 0), (200, 0)), "16m", "20m"),
    ),
    "PrometheusNotificationsFailing": (
        fires(
            "5% of the deliveries to every Alertmanager fail",
            _deliveries((100, 5), (100, 5), (100, 6)),
            Check("15m30s"),
            Check(
                "16m",
                (
                    Alert(
                        labels("critical", DEFAULT_TEAM, job="prometheus", namespace="monitoring", pod="obs-prometheus-0"),
                        "Prometheus fails to deliver alerts to every Alertmanager",
                        "obs-prometheus-0: at least 5% of alert deliveries to every Alertmanager fail.",
                    ),
                ),
            ),
        ),
        # The upstream mixin's "some" versus "any": a third of the deliveries
        # failing while two Alertmanagers take every alert is not a page.
        silent("one of three Alertmanagers down, the other two deliver", _deliveries((100, 100), (100, 0), (100, 0)), "16m", "20m"),
        silent("2% of the deliveries to every Alertmanager fail (under 3%)", _deliveries((100, 2), (100, 2), (100, 2)), "16m", "20m"),
    ),
    "PrometheusRemoteWriteBehind": (
        fires(
            "the store stops taking samples at minute 5: the lag passes 2 minutes at 8",
            _remote_write(sent=counter((60, 5), (0, 35))),
            Check("22m30s"),
            Check(
                "23m30s",
                (
                    Alert(
                        labels(
                            "critical",
                            DEFAULT_TEAM,
                            job="prometheus",
                            namespace="monitoring",
                            pod="obs-prometheus-0",
                            remote_name="central",
                        ),
                        "Prometheus remote write falls behind",
                        "obs-prometheus-0 is 18m 0s behind in writing to central.",
                    ),
                ),
            ),
        ),
        silent("a steady minute behind (one batch in flight)", _remote_write(sent=counter((60, 40), start=-60)), "20m", "35m"),
    ),
    "PrometheusRemoteWriteFailing": (
        fires(
            "the store refuses 5% of the samples",
            _remote_write(failed=counter((50, 20)), sent_samples=counter((950, 20))),
            Check("15m30s"),
            Check(
                "16m",
                (
                    Alert(
                        labels(
                            "critical",
                            DEFAULT_TEAM,
                            job="prometheus",
                            namespace="monitoring",
                            pod="obs-prometheus-0",
                            remote_name="central",
                        ),
                        "The remote store refuses samples",
                        "obs-prometheus-0: 5% of the samples sent to central fail.",
                    ),
                ),
            ),
        ),
        silent("0.5% refused (under 1%)", _remote_write(failed=counter((5, 20)), sent_samples=counter((995, 20))), "16m", "20m"),
    ),
    "AlertmanagerConfigReloadFailed": (
        fires(
            "the last reload failed 10 minutes ago",
            [(sel("alertmanager_config_last_reload_successful", AM), gauge((1, 5), (0, 16)))],
            Check("14m30s"),
            Check(
                "15m",
                (
                    Alert(
                        labels("critical", DEFAULT_TEAM, job="alertmanager", namespace="monitoring", pod="obs-alertmanager-0"),
                        "Alertmanager could not load its configuration",
                        "obs-alertmanager-0 runs an outdated configuration; the last reload failed (0).",
                    ),
                ),
            ),
        ),
        silent(
            "a broken configuration fixed after 6 minutes",
            [(sel("alertmanager_config_last_reload_successful", AM), gauge((1, 5), (0, 6), (1, 10)))],
            "10m",
            "15m",
            "20m",
        ),
    ),
    "AlertmanagerNotificationsFailing": (
        fires(
            "half of the Slack notifications fail; e-mail works",
            [
                (sel("alertmanager_notifications_total", {**AM, "integration": "slack"}), counter((10, 17))),
                (sel("alertmanager_notifications_failed_total", {**AM, "integration": "slack", "reason": "clientError"}), counter((5, 17))),
                (sel("alertmanager_notifications_total", {**AM, "integration": "email"}), counter((20, 17))),
                (sel("alertmanager_notifications_failed_total", {**AM, "integration": "email", "reason": "other"}), counter((0, 17))),
            ],
            Check("15m30s"),
            Check(
                "16m",
                (
                    Alert(
                        labels(
                            "critical",
                            DEFAULT_TEAM,
                            job="alertmanager",
                            namespace="monitoring",
                            pod="obs-alertmanager-0",
                            integration="slack",
                        ),
                        "Alertmanager fails to deliver notifications",
                        "obs-alertmanager-0: 50% of slack notifications fail.",
                    ),
                ),
            ),
        ),
        silent(
            "0.5% of e-mails fail (under 1%)",
            [
                (sel("alertmanager_notifications_total", {**AM, "integration": "email"}), counter((200, 20))),
                (sel("alertmanager_notifications_failed_total", {**AM, "integration": "email", "reason": "other"}), counter((1, 20))),
            ],
            "16m",
            "20m",
        ),
    ),
    "AlertmanagerClusterMembersMissing": (
        fires(
            "a replica partitioned from the other two",
            [
                (sel("alertmanager_cluster_members", {**AM, "pod": f"obs-alertmanager-{i}"}), gauge((members, 16)))
                for i, members in enumerate((2, 2, 1))
            ],
            Check("14m30s"),
            Check(
                "15m",
                (
                    Alert(
                        labels("critical", DEFAULT_TEAM, job="alertmanager", namespace="monitoring"),
                        "Alertmanager replicas do not see each other",
                        "An Alertmanager sees 1 of 3 cluster members; duplicate or lost notifications are possible.",
                    ),
                ),
            ),
        ),
        silent(
            "a rolling restart: each replica misses one peer for a few minutes",
            [
                (
                    sel("alertmanager_cluster_members", {**AM, "pod": f"obs-alertmanager-{i}"}),
                    gauge((3, 2 + 3 * i), (2, 3), (3, 16 - 3 * i)),
                )
                for i in range(3)
            ],
            "10m",
            "15m",
            "20m",
        ),
    ),
    # === kubernetes workloads (kube-state-metrics) ================================
    "KubeJobFailed": (
        fires(
            "a backup Job marked failed, kept by its CronJob's history",
            [
                (
                    sel("kube_job_failed", {**KSM, "namespace": "data", "job_name": "backup-29", "condition": "true"}),
                    gauge((0, 2), (1, 20)),
                ),
                (
                    sel("kube_job_failed", {**KSM, "namespace": "data", "job_name": "backup-29", "condition": "false"}),
                    gauge((1, 2), (0, 20)),
                ),
            ],
            Check("16m30s"),
            Check(
                "17m",
                (
                    Alert(
                        labels("warning", DEFAULT_TEAM, namespace="data", job_name="backup-29"),
                        "Job data/backup-29 failed",
                        "data/backup-29 reached its backoff limit or deadline and is marked failed (1); it will not retry.",
                    ),
                ),
            ),
        ),
        silent(
            "a failed Job deleted after 10 minutes (a retry succeeded)",
            [
                (
                    sel("kube_job_failed", {**KSM, "namespace": "data", "job_name": "backup-29", "condition": "true"}),
                    gauge((0, 2), (1, 10), (STALE, 1)),
                )
            ],
            "11m",
            "17m",
            "20m",
        ),
    ),
    "KubeHpaMaxedOut": (
        fires(
            "web pinned at its 10 replicas",
            [
                (
                    sel(
                        "kube_horizontalpodautoscaler_status_current_replicas", {**KSM, "namespace": WEB_NS, "horizontalpodautoscaler": WEB}
                    ),
                    gauge((10, 20)),
                ),
                (
                    sel("kube_horizontalpodautoscaler_spec_max_replicas", {**KSM, "namespace": WEB_NS, "horizontalpodautoscaler": WEB}),
                    gauge((10, 20)),
                ),
                (
                    sel("kube_horizontalpodautoscaler_spec_min_replicas", {**KSM, "namespace": WEB_NS, "horizontalpodautoscaler": WEB}),
                    gauge((2, 20)),
                ),
            ],
            Check("14m30s"),
            Check(
                "15m",
                (
                    Alert(
                        labels("warning", DEFAULT_TEAM, **KSM, namespace=WEB_NS, horizontalpodautoscaler=WEB),
                        "shop/web runs at its maximum replicas",
                        "The autoscaler shop/web has held its maximum of 10 replicas for 15 minutes: it cannot add capacity if load"
                        " grows further.",
                    ),
                ),
            ),
        ),
        silent(
            "an HPA whose minimum is its maximum, and one at its maximum for 10 minutes",
            [
                (
                    sel(
                        "kube_horizontalpodautoscaler_status_current_replicas", {**KSM, "namespace": WEB_NS, "horizontalpodautoscaler": WEB}
                    ),
                    gauge((3, 25)),
                ),
                (
                    sel("kube_horizontalpodautoscaler_spec_max_replicas", {**KSM, "namespace": WEB_NS, "horizontalpodautoscaler": WEB}),
                    gauge((3, 25)),
                ),
                (
                    sel("kube_horizontalpodautoscaler_spec_min_replicas", {**KSM, "namespace": WEB_NS, "horizontalpodautoscaler": WEB}),
                    gauge((3, 25)),
                ),
                (
                    sel(
                        "kube_horizontalpodautoscaler_status_current_replicas",
                        {**KSM, "namespace": ORDERS_NS, "horizontalpodautoscaler": ORDERS},
                    ),
                    gauge((4, 2), (8, 10), (5, 13)),
                ),
                (
                    sel(
                        "kube_horizontalpodautoscaler_spec_max_replicas", {**KSM, "namespace": ORDERS_NS, "horizontalpodautoscaler": ORDERS}
                    ),
                    gauge((8, 25)),
                ),
                (
                    sel(
                        "kube_horizontalpodautoscaler_spec_min_replicas", {**KSM, "namespace": ORDERS_NS, "horizontalpodautoscaler": ORDERS}
                    ),
                    gauge((2, 25)),
                ),
            ],
            "10m",
            "15m",
            "20m",
        ),
    ),
    "KubeRolloutStuck": (
        fires(
            "a Deployment past its progress deadline, a StatefulSet stuck at 1 of 3 updated",
            [
                (
                    sel(
                        "kube_deployment_status_condition",
                        {**KSM, "namespace": WEB_NS, "deployment": WEB, "condition": "Progressing", "status": "false"},
                    ),
                    gauge((0, 2), (1, 20)),
                ),
                (sel("kube_statefulset_replicas", {**KSM, "namespace": "data", "statefulset": "postgres"}), gauge((3, 22))),
                (sel("kube_statefulset_status_replicas_updated", {**KSM, "namespace": "data", "statefulset": "postgres"}), gauge((1, 22))),
            ],
            Check("14m30s"),
            Check(
                "15m",
                (
                    Alert(
                        labels("warning", DEFAULT_TEAM, **KSM, namespace="data", statefulset="postgres"),
                        "Rollout of data/postgres is stuck",
                        "data/postgres has not progressed for 15 minutes (1): the new version is not fully rolled out.",
                    ),
                ),
            ),
            Check(
                "17m",
                (
                    Alert(
                        labels("warning", DEFAULT_TEAM, namespace=WEB_NS, deployment=WEB),
                        "Rollout of shop/web is stuck",
                        "shop/web has not progressed for 15 minutes (1): the new version is not fully rolled out.",
                    ),
                    Alert(
                        labels("warning", DEFAULT_TEAM, **KSM, namespace="data", statefulset="postgres"),
                        "Rollout of data/postgres is stuck",
                        "data/postgres has not progressed for 15 minutes (1): the new version is not fully rolled out.",
                    ),
                ),
            ),
        ),
        silent(
            "a slow but moving DaemonSet rollout, one pod every 5 minutes",
            [
                (
                    sel("kube_daemonset_status_desired_number_scheduled", {**KSM, "namespace": "monitoring", "daemonset": "node-agent"}),
                    gauge((4, 25)),
                ),
                (
                    sel("kube_daemonset_status_updated_number_scheduled", {**KSM, "namespace": "monitoring", "daemonset": "node-agent"}),
                    gauge((0, 5), (1, 5), (2, 5), (3, 5), (4, 5)),
                ),
            ],
            "10m",
            "16m",
            "24m",
        ),
    ),
    # === nodes ====================================================================
    "KubeNodeNotReady": (
        fires(
            "node-c not ready for 15 minutes",
            [
                (
                    sel("kube_node_status_condition", {**KSM, "node": "node-c", "condition": "Ready", "status": "true"}),
                    gauge((1, 2), (0, 20)),
                )
            ],
            Check("16m30s"),
            Check(
                "17m",
                (
                    Alert(
                        labels("warning", DEFAULT_TEAM, node="node-c"),
                        "Node node-c is not ready",
                        "node-c has not reported Ready for 15 minutes (0); its pods are being evicted or stranded.",
                    ),
                ),
            ),
        ),
        silent(
            "a reboot: not ready for 5 minutes",
            [
                (
                    sel("kube_node_status_condition", {**KSM, "node": "node-c", "condition": "Ready", "status": "true"}),
                    gauge((1, 2), (0, 5), (1, 15)),
                )
            ],
            "5m",
            "10m",
            "20m",
        ),
    ),
    "KubeNodeUnreachable": (
        fires(
            "node-c tainted unreachable",
            [
                (
                    sel("kube_node_spec_taint", {**KSM, "node": "node-c", "key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"}),
                    gauge((None, 2), (1, 20)),
                )
            ],
            Check("16m30s"),
            Check(
                "17m",
                (
                    Alert(
                        labels("warning", DEFAULT_TEAM, node="node-c"),
                        "Node node-c is unreachable",
                        "The node controller tainted node-c unreachable (1): the control plane has lost it, and its pods are"
                        " rescheduled elsewhere once their tolerations expire.",
                    ),
                ),
            ),
        ),
        silent(
            "unreachable for 8 minutes, then back (taint removed), and a NoExecute taint of a drained node",
            [
                (
                    sel("kube_node_spec_taint", {**KSM, "node": "node-c", "key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"}),
                    gauge((None, 2), (1, 8), (STALE, 1)),
                ),
                (
                    sel(
                        "kube_node_spec_taint", {**KSM, "node": "node-d", "key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
                    ),
                    gauge((1, 25)),
                ),
            ],
            "9m",
            "17m",
            "20m",
        ),
    ),
    # === control plane ============================================================
    "KubeAPIErrorsHigh": (
        fires(
            "5 of every 105 requests answered 503",
            [
                (sel("apiserver_request_total", {**APISERVER, "verb": "GET", "resource": "pods", "code": "200"}), counter((100, 20))),
                (sel("apiserver_request_total", {**APISERVER, "verb": "GET", "resource": "pods", "code": "503"}), counter((5, 20))),
            ],
            Check("10m30s"),
            Check(
                "11m",
                (
                    Alert(
                        labels("warning", DEFAULT_TEAM, job="apiserver"),
                        "The API server answers with server errors",
                        "4.762% of API requests end in a 5xx answer.",
                    ),
                ),
            ),
        ),
        silent(
            "2 of every 102 requests fail, and client errors (4xx) do not count",
            [
                (sel("apiserver_request_total", {**APISERVER, "verb": "GET", "resource": "pods", "code": "200"}), counter((100, 20))),
                (sel("apiserver_request_total", {**APISERVER, "verb": "GET", "resource": "pods", "code": "500"}), counter((2, 20))),
                (sel("apiserver_request_total", {**APISERVER, "verb": "GET", "resource": "pods", "code": "404"}), counter((50, 20))),
            ],
            "5m",
            "11m",
            "15m",
        ),
    ),
    "KubeAPILatencyHigh": (
        fires(
            "one GET in ten takes about 2 seconds",
            histogram(
                "apiserver_request_duration_seconds",
                {**APISERVER, "verb": "GET", "resource": "pods"},
                (0.1, 0.5, 1.0, 2.5, 5.0),
                ({0.1: 90, 2.5: 10}, 20),
            ),
            Check("10m30s"),
            Check(
                "11m",
                (
                    Alert(
                        labels("warning", DEFAULT_TEAM, job="apiserver", verb="GET"),
                        "The API server is slow to answer GET requests",
                        "The 99th percentile of GET requests takes 2.35s.",
                    ),
                ),
            ),
        ),
        silent(
            "slow LISTs (not counted) and fast GETs",
            [
                *histogram(
                    "apiserver_request_duration_seconds",
                    {**APISERVER, "verb": "LIST", "resource": "pods"},
                    (0.1, 0.5, 1.0, 2.5, 5.0),
                    ({5.0: 10}, 20),
                ),
                *histogram(
                    "apiserver_request_duration_seconds",
                    {**APISERVER, "verb": "GET", "resource": "pods"},
                    (0.1, 0.5, 1.0, 2.5, 5.0),
                    ({0.1: 100}, 20),
                ),
            ],
            "5m",
            "11m",
            "15m",
        ),
    ),
    "KubeClientCertificateExpiring": (
        fires(
            "one client in ten presents a certificate expiring in 2 to 4 days",
            histogram(
                "apiserver_client_certificate_expiration_seconds",
                APISERVER,
                (86400.0, 172800.0, 345600.0, 604800.0, 2592000.0, 31104000.0),
                ({345600.0: 1, 31104000.0: 9}, 12),
            ),
            Check("5m30s"),
            Check(
                "6m",
                (
                    Alert(
                        labels("warning", DEFAULT_TEAM, job="apiserver"),
                        "A client certificate of the API server expires within a week",
                        "Clients are authenticating to the API server with a certificate that expires in 2d 4h 48m 0s.",
                    ),
                ),
            ),
        ),
        silent(
            "every client certificate valid for a month or more",
            histogram(
                "apiserver_client_certificate_expiration_seconds",
                APISERVER,
                (86400.0, 172800.0, 345600.0, 604800.0, 2592000.0, 31104000.0),
                ({31104000.0: 10}, 12),
            ),
            "6m",
            "10m",
        ),
    ),
    "KubeletCertificateExpiring": (
        fires(
            "node-a's client certificate has less than 6 days left",
            [
                (sel("kubelet_certificate_manager_client_ttl_seconds", KUBELET), gauge((500000, 10))),
                (sel("kubelet_certificate_manager_server_ttl_seconds", KUBELET), gauge((2000000, 10))),
            ],
            Check("4m30s"),
            Check(
                "5m",
                (
                    Alert(
                        labels("warning", DEFAULT_TEAM, node="node-a"),
                        "A kubelet certificate on node-a expires within a week",
                        "The kubelet of node-a holds a certificate that expires in 5d 18h 53m 20s.",
                    ),
                ),
            ),
        ),
        silent(
            "both certificates valid for 20 days or more",
            [
                (sel("kubelet_certificate_manager_client_ttl_seconds", KUBELET), gauge((2592000, 10))),
                (sel("kubelet_certificate_manager_server_ttl_seconds", KUBELET), gauge((1728000, 10))),
            ],
            "5m",
            "9m",
        ),
    ),
    "EtcdNoLeader": (
        fires(
            "a member without a leader for 3 minutes",
            [(sel("etcd_server_has_leader", ETCD), gauge((1, 2), (0, 5)))],
            Check("2m30s"),
            Check(
                "3m",
                (
                    Alert(
                        labels("critical", DEFAULT_TEAM, job="etcd", pod="etcd-cp-1"),
                        "etcd member etcd-cp-1 has no leader",
                        "etcd-cp-1 sees no leader (0): it serves no writes, and the API server behind it fails.",
                    ),
                ),
            ),
        ),
        silent(
            "an election: 30 seconds without a leader",
            [(sel("etcd_server_has_leader", ETCD), gauge((1, 8), (0, 2), (1, 14)))],
            "2m30s",
            "3m",
            "5m",
            interval="15s",
        ),
    ),
    "EtcdLeaderChangesFrequent": (
        fires(
            "a leader change every minute from minute 16",
            [(sel("etcd_server_leader_changes_seen_total", ETCD), counter((0, 15), (1, 12)))],
            Check("23m30s"),
            Check(
                "24m",
                (
                    Alert(
                        labels("warning", DEFAULT_TEAM, job="etcd"),
                        "etcd changes leader often",
                        "etcd changed leader 9 times in 15 minutes; each change stalls writes.",
                    ),
                ),
            ),
        ),
        silent(
            "a rolling restart of three members: three changes",
            [(sel("etcd_server_leader_changes_seen_total", ETCD), counter((0, 10), (1, 3), (0, 15)))],
            "15m",
            "20m",
            "27m",
        ),
    ),
    "EtcdFsyncSlow": (
        fires(
            "one WAL fsync in ten takes about a second",
            histogram(
                "etcd_disk_wal_fsync_duration_seconds",
                ETCD,
                (0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192),
                ({0.008: 90, 1.024: 10}, 20),
            ),
            Check("10m30s"),
            Check(
                "11m",
                (
                    Alert(
                        labels("warning", DEFAULT_TEAM, job="etcd", pod="etcd-cp-1"),
                        "etcd member etcd-cp-1 syncs its log slowly",
                        "The 99th percentile of WAL fsyncs on etcd-cp-1 takes 972.8ms.",
                    ),
                ),
            ),
        ),
        silent(
            "one fsync in two hundred is slow",
            histogram(
                "etcd_disk_wal_fsync_duration_seconds",
                ETCD,
                (0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192),
                ({0.008: 199, 1.024: 1}, 20),
            ),
            "5m",
            "11m",
            "15m",
        ),
    ),
    "EtcdCommitSlow": (
        fires(
            "one commit in ten takes about half a second",
            histogram(
                "etcd_disk_backend_commit_duration_seconds",
                ETCD,
                (0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192),
                ({0.008: 90, 0.512: 10}, 20),
            ),
            Check("10m30s"),
            Check(
                "11m",
                (
                    Alert(
                        labels("warning", DEFAULT_TEAM, job="etcd", pod="etcd-cp-1"),
                        "etcd member etcd-cp-1 commits slowly",
                        "The 99th percentile of backend commits on etcd-cp-1 takes 486.4ms.",
                    ),
                ),
            ),
        ),
        silent(
            "commits of 100 ms",
            histogram(
                "etcd_disk_backend_commit_duration_seconds",
                ETCD,
                (0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192),
                ({0.128: 100}, 20),
            ),
            "5m",
            "11m",
            "15m",
        ),
    ),
    "KubeSchedulerDown": (
        fires(
            "the only scheduler cannot be scraped",
            [(sel("up", SCHEDULER), gauge((0, 20)))],
            Check("14m30s"),
            Check(
                "15m",
                (
                    Alert(
                        labels("critical", DEFAULT_TEAM, job="kube-scheduler"),
                        "No kube-scheduler answers",
                        "No kube-scheduler has been up for 15 minutes (0 up, or none discovered).",
                    ),
                ),
            ),
        ),
        silent(
            "one of two schedulers down",
            [
                (sel("up", SCHEDULER), gauge((0, 20))),
                (sel("up", {**SCHEDULER, "pod": "kube-scheduler-cp-2", "instance": "10.0.0.2:10259"}), gauge((1, 20))),
            ],
            "10m",
            "15m",
            "19m",
        ),
    ),
    "KubeControllerManagerDown": (
        fires(
            "no controller manager found at all",
            [(sel("up", {**SCHEDULER}), gauge((1, 20)))],
            Check("14m30s"),
            Check(
                "15m",
                (
                    Alert(
                        labels("critical", DEFAULT_TEAM, job="kube-controller-manager"),
                        "No kube-controller-manager answers",
                        "No kube-controller-manager has been up for 15 minutes (0 up, or none discovered).",
                    ),
                ),
            ),
        ),
        silent(
            "a controller manager restarting for 5 minutes",
            [(sel("up", CONTROLLER_MANAGER), gauge((1, 5), (0, 5), (1, 10)))],
            "10m",
            "15m",
            "19m",
        ),
    ),
    "CoreDNSErrorsHigh": (
        fires(
            "2% of answers are SERVFAIL",
            [
                (
                    sel("coredns_dns_responses_total", {**COREDNS, "server": "dns://:53", "zone": ".", "rcode": "NOERROR"}),
                    counter((98, 20)),
                ),
                (
                    sel("coredns_dns_responses_total", {**COREDNS, "server": "dns://:53", "zone": ".", "rcode": "SERVFAIL"}),
                    counter((2, 20)),
                ),
            ],
            Check("10m30s"),
            Check(
                "11m",
                (Alert(labels("warning", DEFAULT_TEAM, job="coredns"), "CoreDNS fails lookups", "2% of DNS answers are SERVFAIL."),),
            ),
        ),
        silent(
            "many NXDOMAIN answers (search-path misses), few SERVFAIL",
            [
                (
                    sel("coredns_dns_responses_total", {**COREDNS, "server": "dns://:53", "zone": ".", "rcode": "NOERROR"}),
                    counter((500, 20)),
                ),
                (
                    sel("coredns_dns_responses_total", {**COREDNS, "server": "dns://:53", "zone": ".", "rcode": "NXDOMAIN"}),
                    counter((500, 20)),
                ),
                (
                    sel("coredns_dns_responses_total", {**COREDNS, "server": "dns://:53", "zone": ".", "rcode": "SERVFAIL"}),
                    counter((5, 20)),
                ),
            ],
            "5m",
            "11m",
            "15m",
        ),
    ),
    "CoreDNSLatencyHigh": (
        fires(
            "one lookup in ten takes about 2 seconds (a slow upstream)",
            histogram(
                "coredns_dns_request_duration_seconds",
                {**COREDNS, "server": "dns://:53", "zone": ".", "type": "A"},
                (0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192),
                ({0.001: 90, 2.048: 10}, 20),
            ),
            Check("10m30s"),
            Check(
                "11m",
                (
                    Alert(
                        labels("warning", DEFAULT_TEAM, job="coredns"),
                        "CoreDNS answers slowly",
                        "The 99th percentile of DNS lookups takes 1.946s.",
                    ),
                ),
            ),
        ),
        silent(
            "one slow lookup in two hundred",
            histogram(
                "coredns_dns_request_duration_seconds",
                {**COREDNS, "server": "dns://:53", "zone": ".", "type": "A"},
                (0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192),
                ({0.001: 199, 2.048: 1}, 20),
            ),
            "5m",
            "11m",
            "15m",
        ),
    ),
    # === self-monitoring: storage and the dead man's switch ========================
    "PrometheusTSDBFailing": (
        fires(
            "one failed compaction, not recovered within the hour",
            [
                (sel("prometheus_tsdb_compactions_failed_total", PROM), counter((0, 10), (1, 1), (0, 65))),
                (sel("prometheus_tsdb_reloads_failures_total", PROM), counter((0, 76))),
            ],
            Check("70m30s"),
            Check(
                "71m",
                (
                    Alert(
                        labels("critical", DEFAULT_TEAM, job="prometheus", namespace="monitoring", pod="obs-prometheus-0"),
                        "Prometheus cannot compact or load its blocks",
                        "obs-prometheus-0 had 1 failed TSDB compactions or block reloads in 3 hours; its head and disk keep"
                        " growing until it runs out.",
                    ),
                ),
            ),
        ),
        silent(
            "one failed compaction, checked within its first hour",
            [(sel("prometheus_tsdb_compactions_failed_total", PROM), counter((0, 10), (1, 1), (0, 50)))],
            "30m",
            "60m",
        ),
    ),
    "Watchdog": (
        fires(
            "always",
            [(sel("up", PROM), gauge((1, 5)))],
            Check(
                "1m",
                (
                    Alert(
                        labels("info", DEFAULT_TEAM),
                        "The alerting pipeline is alive",
                        "Always firing (1): Alertmanager sends it to the heartbeat receiver every interval, and an outside"
                        " dead man's switch raises the alarm when it stops arriving.",
                    ),
                ),
            ),
        ),
    ),
}
