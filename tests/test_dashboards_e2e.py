"""Every panel query of the RED and SLO dashboards returns data from a real
Prometheus running the tier's generated rules over a synthetic workload.

The workload is the fixture profile's two services, served live from this
test (one per telemetry preset, with health endpoints the real
blackbox_exporter probes). SLO periods are days long and their sums step
through 5m counts aligned to the clock, which a few seconds of live traffic
cannot provide; so an hour of history is backfilled first: raw counters with
`promtool tsdb create-blocks-from openmetrics`, then the SLO rules' own 5m
counts over that hour with `promtool tsdb create-blocks-from rules` against
a Prometheus serving it. Everything else the rules compute live.

One Prometheus per tier runs at once; the enterprise one also scrapes
itself and a real Alertmanager, which checks the exporter lists of
obsgen.dashboards.sources against what the binaries really expose.
"""

from __future__ import annotations

import http.server
import json
import math
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from obsgen import dashboards, rules
from obsgen.artifacts import blackbox
from obsgen.dashboards import catalogue, sources
from obsgen.model import Service, Stack
from tests.support.processes import Daemon, daemons, free_port, prometheus_on_tsdb, wait_for
from tests.support.render import TIERS
from tests.support.tools import tool
from tests.test_dashboards import fixture_stack, slo_engine_wired

pytestmark = pytest.mark.e2e

READY_TIMEOUT = 60
DATA_TIMEOUT = 45
HISTORY_STEP = 15

# --- the synthetic workload -------------------------------------------------------

ROUTES = {"checkout": (("/cart", "GET"), ("/pay", "POST")), "ledger": (("/entries", "GET"), ("/transfer", "POST"))}
RPS = 20.0  # per route
# Answer shares: errors burn some budget but leave most of it (99.5 % to 99.9 % objectives).
STATUSES = {"200": 0.9886, "404": 0.001, "401": 0.01, "500": 0.0004}
# Share of requests at or under each bucket bound: 0.3 % slower than 0.5 s.
LATENCY = ((0.05, 0.6), (0.1, 0.9), (0.25, 0.99), (0.5, 0.997), (1.0, 0.999), (2.5, 1.0))
ORDERS = {"card": 0.5, "invoice": 0.1}  # orders per second


def _le(bound: float) -> str:
    return repr(float(bound))


def samples(service: Service, elapsed: float) -> Iterator[tuple[str, dict[str, str], float]]:
    """(metric, labels, value) of a service's counters after `elapsed` seconds of steady traffic."""
    c = service.contract
    for route, method in ROUTES[service.name]:
        for status, share in STATUSES.items():
            count = RPS * share * elapsed
            labels = {c.route: route, c.method: method, c.status: status}
            if c.requests != f"{c.duration}_count":
                yield c.requests, labels, count
            for bound in c.buckets:
                below = max((f for b, f in LATENCY if b <= bound), default=0.0)
                yield c.duration_bucket, {**labels, "le": _le(bound)}, count * below
            yield c.duration_bucket, {**labels, "le": "+Inf"}, count
            yield f"{c.duration}_count", labels, count
            yield f"{c.duration}_sum", labels, count * 0.06
    if service.business:
        for method, rate in ORDERS.items():
            yield "shop_orders_total", {"payment_method": method}, rate * elapsed
        yield "shop_basket_value_euros", {}, 42.0 + math.sin(elapsed / 60)


def _labels(labels: dict[str, str]) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


class Workload:
    """Serves each service's metrics and health endpoints; counters grow with wall time since t0."""

    def __init__(self, stack: Stack, t0: float):
        self.services = {s.name: s for s in stack.services}
        self.t0 = t0
        workload = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                name = self.path.removeprefix("/metrics/")
                if name in workload.services:
                    elapsed = time.time() - workload.t0
                    lines = [f"{m}{_labels(lbl)} {v}" for m, lbl, v in samples(workload.services[name], elapsed)]
                    body = ("\n".join(lines) + "\n").encode()
                else:  # health paths and external dependencies answer 200
                    body = b"ok\n"
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def scrape_labels(service: Service) -> dict[str, str]:
    """Target labels that make the service's series match its contract's selector."""
    return dict(service.contract.selector)


def history(stack: Stack, t0: float, start: int, end: int, info: list[dict[str, str]] = ()) -> str:
    """OpenMetrics of the workload's counters from start to end (before the live scrapes),
    and of the static `slo:info` series (labels given) the SLO count rules join on."""
    lines: list[str] = []
    if info:
        lines.append("# TYPE slo:info gauge")
        lines += [f"slo:info{_labels(labels)} 1 {t}" for labels in info for t in range(start, end + 1, HISTORY_STEP)]
    for service in stack.services:
        target = {**scrape_labels(service), "instance": "history"}
        if "job" not in target:
            target["job"] = "kubernetes-pods"
        by_metric: dict[str, list[str]] = {}
        for t in range(start, end + 1, HISTORY_STEP):
            for metric, labels, value in samples(service, t - t0):
                by_metric.setdefault(metric, []).append(f"{metric}{_labels({**target, **labels})} {value} {t}")
        for metric, rows in by_metric.items():
            lines.append(f"# TYPE {metric} gauge")
            # OpenMetrics wants each series' samples together, in time order.
            lines += sorted(rows, key=lambda r: (r.rsplit(" ", 2)[0], int(r.rsplit(" ", 1)[1])))
    return "\n".join(lines) + "\n# EOF\n"


# --- Prometheus setup -------------------------------------------------------------


def _ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as resp:
        return resp.status == 200


def _rule_files(stack: Stack) -> list[dict[str, Any]]:
    """The tier's rule files, every group at the test's 1s evaluation interval."""
    files = rules.rule_files(stack)
    for f in files:
        for g in f["groups"]:
            g.pop("interval", None)
    return files


def _count_rules(stack: Stack, record: str = "") -> list[dict[str, Any]]:
    """The SLO rules recording event tiles (1m for the 1d and 3d sums, 5m for the period), or those recording `record`.

    Without their history the day windows would wait for live tiles, which a
    test that reads the panels within seconds of start never sees.
    """

    def wanted(name: str) -> bool:
        return name == record if record else name.startswith("slo:sli_events_") and name.endswith((":increase1m", ":increase5m"))

    return [r for f in rules.rule_files(stack) for g in f["groups"] for r in g["rules"] if wanted(r.get("record", ""))]


def _scrape_configs(stack: Stack, workload: Workload, blackbox_address: str) -> list[dict[str, Any]]:
    configs = []
    for service in stack.services:
        labels = scrape_labels(service)
        configs.append(
            {
                "job_name": labels.get("job", f"kubernetes-pods-{service.name}"),
                "metrics_path": f"/metrics/{service.name}",
                "static_configs": [{"targets": [f"127.0.0.1:{workload.port}"], "labels": {k: v for k, v in labels.items() if k != "job"}}],
            }
        )
        if "job" not in labels:
            configs[-1]["relabel_configs"] = [{"target_label": "job", "replacement": "kubernetes-pods"}]
    probes = []
    for p in stack.probes:
        path = p.endpoint if p.endpoint.startswith("/") else f"/{p.endpoint}"
        target = f"127.0.0.1:{workload.port}" if p.module == "tcp_connect" else f"http://127.0.0.1:{workload.port}{path}"
        labels = {"__param_module": p.module, "module": p.module, "service": p.service, "namespace": p.namespace, "team": p.team}
        labels["endpoint"] = p.endpoint
        if p.dependency:
            labels["dependency"] = p.dependency
        probes.append({"targets": [target], "labels": labels})
    configs.append(
        {
            "job_name": "blackbox",
            "metrics_path": "/probe",
            "static_configs": probes,
            "relabel_configs": [
                {"source_labels": ["__address__"], "target_label": "__param_target"},
                {"source_labels": ["__param_target"], "target_label": "instance"},
                {"target_label": "__address__", "replacement": blackbox_address},
            ],
        }
    )
    return configs


def _config(stack: Stack, workload: Workload, blackbox_address: str, rules_dir: Path, extra: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [f"{rules_dir}/*.yaml"],
        "scrape_configs": _scrape_configs(stack, workload, blackbox_address) + extra,
    }


def _prometheus(name: str, config: Path, tsdb: Path, port: int, log: Path) -> Daemon:
    return prometheus_on_tsdb(name, config, tsdb, port, log)


def _api(base: str, path: str, params: dict[str, str], post: bool = True) -> dict[str, Any]:
    query = urllib.parse.urlencode(params)
    request = urllib.request.Request(f"{base}{path}", data=query.encode()) if post else urllib.request.Request(f"{base}{path}?{query}")
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return json.load(resp)
    except urllib.error.HTTPError as exc:
        return json.loads(exc.read() or b"{}") or {"status": "error", "error": str(exc)}


def run_query(base: str, expr: str, instant: bool) -> dict[str, Any]:
    now = time.time()
    if instant:
        return _api(base, "/api/v1/query", {"query": expr, "time": f"{now:.3f}"})
    return _api(base, "/api/v1/query_range", {"query": expr, "start": f"{now - 60:.3f}", "end": f"{now:.3f}", "step": "5"})


def _variables(service: Service, slo: str = "") -> dict[str, str]:
    return {
        "cluster": ".*",
        "service": service.name,
        "namespace": service.namespace,
        "route": ".*",
        "node": ".*",
        "job": ".*",
        "slo": slo,
        "__rate_interval": "10s",
        "__range": "5m",
    }


def empty_panels(base: str, stack: Stack) -> list[str]:
    """Panel queries of the RED and SLO dashboards that return nothing, for every service and SLO."""
    built = {b.uid: b.document for b in dashboards.build(stack)}
    checks: list[tuple[str, dict[str, str]]] = [(catalogue.RED, _variables(s)) for s in stack.services]
    if catalogue.SLO in built:
        for s in stack.services:
            checks += [(catalogue.SLO, _variables(s, slo["name"])) for slo in s.slos]
    empty = []
    for uid, variables in checks:
        for q in dashboards.queries(built[uid]):
            if q.datasource != "prometheus":
                continue
            answer = run_query(base, dashboards.interpolate(q.expr, variables), q.instant)
            if answer.get("status") != "success" or not answer["data"]["result"]:
                empty.append(f"{uid} / {q.panel} [{variables['service']} {variables['slo']}]: {answer.get('error', 'no data')}")
    return empty


# --- the test -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stacks() -> dict[str, Stack]:
    return {tier: fixture_stack(tier) for tier in TIERS}


def _backfill(tmp: Path, stacks: dict[str, Stack], t0: float) -> Path:
    """Blocks of one hour of history, ending two hours ago: raw counters and the SLO tiles."""
    any_stack = stacks["basic"]
    end = (int(time.time()) // 300) * 300 - 7200
    start = end - 3600
    # The count rules join slo:info, which the rules record live; the history
    # server only serves what is in its blocks, so slo:info is backfilled too.
    per_tier_info = [sorted(json.dumps(r["labels"], sort_keys=True) for r in _count_rules(s, "slo:info")) for s in stacks.values()]
    assert all(p == per_tier_info[0] for p in per_tier_info), "slo:info differs between tiers"
    raw = tmp / "history.om"
    raw.write_text(history(any_stack, t0, start, end, [json.loads(i) for i in per_tier_info[0]]))
    base = tmp / "base"
    _promtool("tsdb", "create-blocks-from", "openmetrics", str(raw), str(base))
    counts = {json.dumps(r, sort_keys=True) for s in stacks.values() for r in _count_rules(s)}
    if not counts:
        return base
    # One history serves every tier: a tier may record fewer tiles (basic has
    # no day windows), never the same tile another way.
    ways: dict[str, set[frozenset[str]]] = {}
    for s in stacks.values():
        by_record: dict[str, set[str]] = {}
        for r in _count_rules(s):
            by_record.setdefault(r["record"], set()).add(json.dumps(r, sort_keys=True))
        for record, recorded in by_record.items():
            ways.setdefault(record, set()).add(frozenset(recorded))
    assert all(len(w) == 1 for w in ways.values()), "tiers record an SLO tile differently"
    count_file = tmp / "counts.yaml"
    count_file.write_text(yaml.safe_dump({"groups": [{"name": "counts", "rules": [json.loads(r) for r in sorted(counts)]}]}))
    port = free_port()
    with daemons() as running:
        running.append(_prometheus("prometheus-history", _empty_config(tmp), base, port, tmp / "history.log"))
        wait_for("history prometheus ready", lambda: _ok(f"http://127.0.0.1:{port}/-/ready"), READY_TIMEOUT, running)
        _promtool(
            "tsdb",
            "create-blocks-from",
            "rules",
            f"--url=http://127.0.0.1:{port}",
            f"--start={start}",
            f"--end={end}",
            f"--output-dir={tmp / 'counts'}",
            str(count_file),
        )
    for block in (tmp / "counts").iterdir():
        shutil.move(str(block), base / block.name)
    return base


def _empty_config(tmp: Path) -> Path:
    path = tmp / "empty.yml"
    path.write_text("global:\n  scrape_interval: 1h\n")
    return path


def _promtool(*args: str) -> None:
    proc = subprocess.run([tool("promtool"), *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"promtool {' '.join(args[:3])}: {proc.stdout}{proc.stderr}"


def test_red_and_slo_panels_return_data_in_every_tier(stacks, tmp_path):
    t0 = time.time() - 4 * 3600
    base = _backfill(tmp_path, stacks, t0)
    workload = Workload(stacks["basic"], t0)
    bb_port, am_port = free_port(), free_port()
    bb_config = tmp_path / "blackbox.yml"
    bb_config.write_text(yaml.safe_dump(blackbox.config()))
    am_config = tmp_path / "alertmanager.yml"
    am_config.write_text(yaml.safe_dump({"route": {"receiver": "null"}, "receivers": [{"name": "null"}]}))
    ports = {tier: free_port() for tier in TIERS}
    try:
        with daemons() as running:
            running.append(
                Daemon(
                    "blackbox",
                    [tool("blackbox_exporter"), f"--config.file={bb_config}", f"--web.listen-address=127.0.0.1:{bb_port}"],
                    tmp_path / "blackbox.log",
                )
            )
            running.append(
                Daemon(
                    "alertmanager",
                    [
                        tool("alertmanager"),
                        f"--config.file={am_config}",
                        f"--storage.path={tmp_path / 'am'}",
                        f"--web.listen-address=127.0.0.1:{am_port}",
                        "--cluster.listen-address=",
                    ],
                    tmp_path / "alertmanager.log",
                )
            )
            for tier, stack in stacks.items():
                rules_dir = tmp_path / tier / "rules"
                rules_dir.mkdir(parents=True)
                for f in _rule_files(stack):
                    (rules_dir / f["name"]).write_text(yaml.safe_dump({"groups": f["groups"]}))
                extra = []
                if tier == "enterprise":
                    extra = [
                        {"job_name": "prometheus", "static_configs": [{"targets": [f"127.0.0.1:{ports[tier]}"]}]},
                        {"job_name": "alertmanager", "static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]},
                    ]
                config = _config(stack, workload, f"127.0.0.1:{bb_port}", rules_dir, extra)
                if tier == "enterprise":
                    config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]}
                (tmp_path / tier / "prometheus.yml").write_text(yaml.safe_dump(config))
                shutil.copytree(base, tmp_path / tier / "tsdb")
                running.append(
                    _prometheus(
                        f"prometheus-{tier}",
                        tmp_path / tier / "prometheus.yml",
                        tmp_path / tier / "tsdb",
                        ports[tier],
                        tmp_path / tier / "log",
                    )
                )
            for tier, port in ports.items():
                wait_for(f"prometheus ({tier}) ready", lambda p=port: _ok(f"http://127.0.0.1:{p}/-/ready"), READY_TIMEOUT, running)

            # Every RED and SLO panel of every tier fills in (the first rule
            # evaluations and rate windows take a few seconds).
            missing: dict[str, list[str]] = {}

            def all_filled() -> bool:
                for tier, stack in stacks.items():
                    missing[tier] = empty_panels(f"http://127.0.0.1:{ports[tier]}", stack)
                return not any(missing.values())

            deadline = time.monotonic() + DATA_TIMEOUT
            while not all_filled() and time.monotonic() < deadline:
                time.sleep(1)
            assert missing == {tier: [] for tier in TIERS}

            enterprise = f"http://127.0.0.1:{ports['enterprise']}"
            # Every other panel query of every dashboard runs without error.
            for stack in stacks.values():
                service = stack.services[0]
                for b in dashboards.build(stack):
                    for q in dashboards.queries(b.document):
                        if q.datasource == "prometheus":
                            answer = run_query(
                                enterprise, dashboards.interpolate(q.expr, _variables(service, "checkout-availability")), q.instant
                            )
                            assert answer.get("status") == "success", f"{b.uid} / {q.panel}: {answer}"

            # The exporter lists match what the real binaries expose.
            for job in ("prometheus", "alertmanager", "blackbox"):
                names = set(_api(enterprise, "/api/v1/label/__name__/values", {"match[]": f'{{job="{job}"}}'}, post=False)["data"])
                assert sources.EXPORTERS[job] - names == set(), job
    finally:
        workload.close()


def test_slo_engine_feeds_the_slo_dashboard(stacks):
    """The SLO dashboard exists for a profile that declares SLOs (the e2e above then checks its panels)."""
    if not slo_engine_wired():
        pytest.xfail("the SLO engine's rule groups are not in rules.rule_files yet (SLO issue)")
    assert all(catalogue.SLO in {b.uid for b in dashboards.build(s)} for s in stacks.values())
