"""`obsgen report` against the real Prometheus, fed with synthetic SLO series.

The synthetic data stands in for the SLO recording rules' outputs (same names
and labels): four hours at 1m steps, backfilled with promtool, ending at END
(about 3h before now, as backfilled blocks must not overlap the head) and
queried at END through `--at`. The SLOs at END:

    shop/checkout availability   99.9 %, 30d   steady 0.2x burn, 80 % left     healthy
    search/search latency        99 %, 7d      incident since END-40m: 1h burn
                                               ~4.03x >= 3.36 (the 7d page rate)  critical
    finance/billing availability 99.5 %, 30d   budget at -40 %, no traffic in 1h breach
    shop/inventory availability  99 %, 30d     NaN everywhere (never any traffic) no-data
"""

from __future__ import annotations

import json
import math
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from obsgen import report
from tests.support.processes import daemons, free_port, prometheus_on_tsdb, wait_for
from tests.support.tools import tool

PROFILE = Path(__file__).parent / "fixtures" / "report" / "profile.yaml"
READY_TIMEOUT = 60
STEP = 60
SPAN = 4 * 3600
DAY = 86400

# --- synthetic data -------------------------------------------------------------

Series = tuple[str, dict[str, str], Callable[[int], float | None]]  # None: no sample at t

# search/latency: error ratio 0.1 % until the incident at END-40m, then 6 %.
SEARCH_BEFORE, SEARCH_DURING, SEARCH_INCIDENT = 0.001, 0.06, 40 * 60
SEARCH_PERIOD, SEARCH_BUDGET = 7 * DAY, 0.01


def _search_error(end: int, t: int, window: int) -> float:
    """Mean error ratio of search over (t - window, t] (traffic is steady)."""
    incident = end - SEARCH_INCIDENT
    during = max(0, t - max(incident, t - window))
    return SEARCH_BEFORE + (SEARCH_DURING - SEARCH_BEFORE) * during / window


def _search_remaining(end: int, t: int) -> float:
    period_errors = 0.003 + (SEARCH_DURING - SEARCH_BEFORE) * max(0, t - (end - SEARCH_INCIDENT)) / SEARCH_PERIOD
    return 1 - period_errors / SEARCH_BUDGET


def _search_exhaustion(end: int, t: int) -> float | None:
    """Seconds until the budget is spent at the 1h burn rate; absent unless burning (>= 1x)."""
    burn = _search_error(end, t, 3600) / SEARCH_BUDGET
    return _search_remaining(end, t) * SEARCH_PERIOD / burn if burn >= 1 else None


def _windows(minutes: dict[str, int]) -> dict[str, int]:
    return {w: m * 60 for w, m in minutes.items()}


WINDOWS = _windows({"5m": 5, "30m": 30, "1h": 60, "6h": 360})


def synthetic_series(end: int) -> list[Series]:
    out: list[Series] = []

    def slo(name: str, service: str, namespace: str, team: str, objective: float, period: int, **series: Callable) -> None:
        labels = {"slo": name, "service": service, "namespace": namespace, "team": team}
        out.append(("slo:objective:ratio", labels, lambda t: objective))
        out.append(("slo:error_budget:ratio", labels, lambda t: round(1 - objective, 6)))
        out.append(("slo:period:seconds", labels, lambda t: period))
        for metric, fn in series.items():
            out.append((metric.replace("__", ":"), labels, fn))

    def wobble(t: int) -> float:  # a daily-looking variation that is 0 at END
        return math.sin(2 * math.pi * (end - t) / 7200)

    # healthy: 0.02 % errors (burn 0.2), 80 % of the budget left
    checkout = {
        "slo__sli__ratio_period": lambda t: 0.9998,
        "slo__error_budget_remaining__ratio": lambda t: 0.8 + 0.001 * (end - t) / 3600,
    }
    for w in WINDOWS:
        checkout[f"slo__sli_error__ratio_rate{w}"] = lambda t: 0.0002 + 0.00005 * wobble(t)
        checkout[f"slo__burn_rate__ratio_rate{w}"] = lambda t: (0.0002 + 0.00005 * wobble(t)) / 0.001
    slo("availability", "checkout", "shop", "payments", 0.999, 30 * DAY, **checkout)

    # burning fast since END-40m
    search = {
        "slo__sli__ratio_period": lambda t: 1 - (1 - _search_remaining(end, t)) * SEARCH_BUDGET,
        "slo__error_budget_remaining__ratio": lambda t: _search_remaining(end, t),
        "slo__time_to_exhaustion__seconds": lambda t: _search_exhaustion(end, t),
    }
    for w, seconds in WINDOWS.items():
        search[f"slo__sli_error__ratio_rate{w}"] = lambda t, s=seconds: _search_error(end, t, s)
        search[f"slo__burn_rate__ratio_rate{w}"] = lambda t, s=seconds: _search_error(end, t, s) / SEARCH_BUDGET
    slo("latency", "search", "search", "platform", 0.99, SEARCH_PERIOD, **search)

    # in breach; its traffic stopped at END-90m, so windows up to 1h are 0/0
    silent = end - 90 * 60
    billing = {
        "slo__sli__ratio_period": lambda t: 0.993,
        "slo__error_budget_remaining__ratio": lambda t: -0.4,
    }
    for w, seconds in WINDOWS.items():
        if seconds <= 3600:
            billing[f"slo__sli_error__ratio_rate{w}"] = lambda t, s=seconds: 0.02 if t - s < silent else math.nan
            billing[f"slo__burn_rate__ratio_rate{w}"] = lambda t, s=seconds: 4.0 if t - s < silent else math.nan
        else:
            billing[f"slo__sli_error__ratio_rate{w}"] = lambda t: 0.02
            billing[f"slo__burn_rate__ratio_rate{w}"] = lambda t: 4.0
    slo("availability", "billing", "finance", "payments", 0.995, 30 * DAY, **billing)

    # rules loaded, never any traffic: every ratio is NaN
    inventory = {"slo__sli__ratio_period": lambda t: math.nan, "slo__error_budget_remaining__ratio": lambda t: math.nan}
    for w in WINDOWS:
        inventory[f"slo__sli_error__ratio_rate{w}"] = lambda t: math.nan
        inventory[f"slo__burn_rate__ratio_rate{w}"] = lambda t: math.nan
    slo("availability", "inventory", "shop", "platform", 0.99, 30 * DAY, **inventory)

    # coverage: checkout's target is up, ledger's is down; billing pushes a counter through OTLP (no `up`)
    out.append(("up", {"job": "checkout", "instance": "checkout.shop.svc:8080"}, lambda t: 1))
    out.append(("up", {"job": "ledger", "instance": "ledger.finance.svc:9000"}, lambda t: 0))
    out.append(("http_server_request_duration_seconds_count", {"job": "billing", "http_route": "/pay"}, lambda t: 51234))
    return out


def _value(v: float) -> str:
    return "NaN" if math.isnan(v) else repr(float(v))


def openmetrics(series: list[Series], end: int) -> str:
    """Series grouped by metric family (OpenMetrics forbids interleaving), samples in time order."""
    lines: list[str] = []
    names = list(dict.fromkeys(name for name, _, _ in series))
    for name in names:
        lines.append(f"# TYPE {name} gauge")
        for _, labels, fn in (s for s in series if s[0] == name):
            text = ",".join(f'{k}="{v}"' for k, v in labels.items())
            for t in range(end - SPAN, end + 1, STEP):
                value = fn(t)
                if value is not None:
                    lines.append(f"{name}{{{text}}} {_value(value)} {t}")
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


# --- Prometheus -------------------------------------------------------------------


def _ok(url: str) -> bool:
    import urllib.request

    with urllib.request.urlopen(url, timeout=2) as resp:
        return resp.status == 200


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory) -> Iterator[tuple[str, int]]:
    """A real Prometheus serving the synthetic data; yields its URL and END."""
    tmp = tmp_path_factory.mktemp("report")
    end = (int(datetime.now(UTC).timestamp()) // STEP) * STEP - 3 * 3600
    data = tmp / "slo.om"
    data.write_text(openmetrics(synthetic_series(end), end))
    tsdb = tmp / "tsdb"
    subprocess.run(
        [tool("promtool"), "tsdb", "create-blocks-from", "openmetrics", str(data), str(tsdb)],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    config = tmp / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 15s\n")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with daemons() as running:
        running.append(prometheus_on_tsdb("prometheus", config, tsdb, port, tmp / "prometheus.log"))
        wait_for("prometheus ready", lambda: _ok(f"{url}/-/ready"), READY_TIMEOUT, running)
        yield url, end


def _run(*args: str) -> tuple[int, str, str]:
    from obsgen.cli import app

    result = CliRunner().invoke(app, ["report", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def _rfc3339(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


# --- live tests -------------------------------------------------------------------


@pytest.mark.e2e
def test_json_report_statuses_numbers_and_coverage(prometheus):
    url, end = prometheus
    code, out, err = _run("--prometheus-url", url, "--profile", str(PROFILE), "--format", "json", "--at", str(end))
    assert code == 0, err
    doc = json.loads(out)
    assert doc["version"] == 1
    assert doc["evaluated_at"] == _rfc3339(end)
    slos = {(s["namespace"], s["service"], s["slo"]): s for s in doc["slos"]}
    assert [s["status"] for s in doc["slos"]] == ["breach", "critical", "healthy", "no-data"]  # worst first
    assert doc["summary"] == {"slos": 4, "healthy": 1, "warning": 0, "critical": 1, "breach": 1, "no-data": 1, "worst": "breach"}

    checkout = slos[("shop", "checkout", "availability")]
    assert checkout["status"] == "healthy"
    assert checkout["objective"] == pytest.approx(0.999)
    assert checkout["error_budget"] == pytest.approx(0.001)
    assert checkout["period"] == "30d" and checkout["period_seconds"] == 30 * DAY and not checkout["period_assumed"]
    assert checkout["sli"] == pytest.approx(0.9998)
    assert checkout["error_budget_remaining"] == pytest.approx(0.8)
    assert checkout["burn_rate_1h"] == pytest.approx(0.2)
    assert list(checkout["burn_rates"]) == ["5m", "30m", "1h", "6h"]
    assert checkout["page_burn_rate"] == pytest.approx(14.4)
    assert checkout["time_to_exhaustion_seconds"] is None
    assert checkout["traffic_1h"] is True
    assert checkout["recommendations"] == []

    search = slos[("search", "search", "latency")]
    burn_1h = _search_error(end, end, 3600) / SEARCH_BUDGET
    assert burn_1h == pytest.approx(4.0333, abs=1e-3)
    assert search["status"] == "critical"
    assert search["objective"] == pytest.approx(0.99)
    assert search["period"] == "7d"
    assert search["page_burn_rate"] == pytest.approx(3.36)  # 0.02 x 168h: 4x pages for 7d, would not for 30d
    assert search["burn_rate_1h"] == pytest.approx(burn_1h)
    assert search["burn_rates"]["5m"] == pytest.approx(6.0)
    assert search["error_budget_remaining"] == pytest.approx(_search_remaining(end, end))
    assert search["time_to_exhaustion_seconds"] == pytest.approx(_search_remaining(end, end) * SEARCH_PERIOD / burn_1h)
    assert search["recommendations"] == ["burning 4.03x: page the owner (platform), check recent deploys"]

    billing = slos[("finance", "billing", "availability")]
    assert billing["status"] == "breach"
    assert billing["error_budget_remaining"] == pytest.approx(-0.4)
    assert billing["sli"] == pytest.approx(0.993)
    assert billing["burn_rate_1h"] is None and billing["burn_rates"]["5m"] is None
    assert billing["burn_rates"]["6h"] == pytest.approx(4.0)
    assert billing["traffic_1h"] is False
    assert billing["recommendations"][0] == "budget exhausted: freeze risky releases per policy"
    assert "no traffic in 1h: check the SLI selector" in billing["recommendations"]

    inventory = slos[("shop", "inventory", "availability")]
    assert inventory["status"] == "no-data"
    assert inventory["sli"] is None and inventory["error_budget_remaining"] is None and inventory["burn_rate_1h"] is None
    assert inventory["recommendations"][0].startswith("no SLI data over the period")

    coverage = doc["coverage"]
    assert coverage["profile"] == "report-test"
    assert (coverage["declared"], coverage["live"]) == (4, 3)
    evidence = {s["service"]: s["evidence"] for s in coverage["services"]}
    assert evidence == {"billing": ["requests"], "ledger": [], "checkout": ["up", "slo-traffic"], "search": ["slo-traffic"]}
    assert coverage["missing"] == [{"service": "ledger", "namespace": "finance", "team": "payments", "selector": '{job="ledger"}'}]
    assert coverage["undeclared"] == [{"service": "inventory", "namespace": "shop"}]


@pytest.mark.e2e
def test_markdown_report(prometheus):
    url, end = prometheus
    code, out, err = _run("--prometheus-url", url, "--profile", str(PROFILE), "--at", _rfc3339(end))
    assert code == 0, err
    assert out.startswith("# SLO compliance report\n")
    assert f"- Evaluated at: {_rfc3339(end)}" in out
    assert "- SLOs: 4 (1 breach, 1 critical, 1 healthy, 1 no-data)" in out
    rows = {line.split(" | ")[1]: line for line in out.splitlines() if line.startswith("| ") and "/" in line.split(" | ")[1]}
    checkout = "| healthy | shop/checkout | availability | payments | 99.9% / 30d | 99.98% | 80% | 0.2x | 14.4x | — |"
    assert rows["shop/checkout"] == checkout
    assert rows["search/search"].startswith("| critical | search/search | latency | platform | 99% / 7d |")
    assert "| 67.7% | 4.03x | 3.36x | 1d 4h |" in rows["search/search"]
    assert rows["finance/billing"].startswith("| breach | finance/billing | availability | payments | 99.5% / 30d | 99.3% | -40% | — |")
    assert rows["shop/inventory"].startswith("| no-data | shop/inventory |")
    assert "  - burning 4.03x: page the owner (platform), check recent deploys" in out
    assert "  - budget exhausted: freeze risky releases per policy" in out
    assert "Profile `report-test`: 3 of 4 declared services live." in out
    assert "- finance/ledger (team payments): check its scrape or OTLP export" in out
    assert out.rstrip().endswith("- shop/inventory")


@pytest.mark.e2e
def test_without_profile_fail_on_and_empty_results(prometheus):
    url, end = prometheus
    code, out, _ = _run("--prometheus-url", url + "/", "--at", str(end))
    assert code == 0
    assert "No profile given (`--profile`)" in out
    code, out, _ = _run("--prometheus-url", url, "--at", str(end), "--format", "json", "--fail-on", "breach")
    assert code == 1 and json.loads(out)["coverage"] is None
    assert _run("--prometheus-url", url, "--at", str(end), "--fail-on", "critical")[0] == 1
    # an hour after the incident started (END-40m), nothing had burnt yet at END-60m
    code, out, _ = _run("--prometheus-url", url, "--at", str(end - 3600), "--format", "json", "--fail-on", "critical")
    assert code == 1  # billing was in breach already
    assert {s["service"]: s["status"] for s in json.loads(out)["slos"]}["search"] == "healthy"
    # long before the data: no SLO series at all
    code, out, _ = _run("--prometheus-url", url, "--at", str(end - 2 * DAY), "--fail-on", "warning")
    assert code == 0
    assert "- SLOs: none found" in out


@pytest.mark.e2e
def test_http_and_query_errors_exit_2(prometheus):
    url, end = prometheus
    code, _, err = _run("--prometheus-url", f"{url}/no-such-prefix", "--at", str(end))
    assert code == 2 and "answered HTTP 404" in err
    with pytest.raises(report.PrometheusError, match="bad_data"):
        report.Prometheus(url, end).query("slo:objective:ratio{")


# --- without Prometheus -------------------------------------------------------------


def test_unreachable_prometheus_exits_2():
    code, out, err = _run("--prometheus-url", f"http://127.0.0.1:{free_port()}", "--profile", str(PROFILE))
    assert code == 2
    assert out == ""
    assert "error: cannot reach Prometheus at http://127.0.0.1:" in err
    assert "refused" in err.lower()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--prometheus-url", "localhost:9090"], "expected an http:// or https:// URL"),
        (["--prometheus-url", "http://127.0.0.1:1", "--format", "xml"], "--format 'xml': expected one of markdown, json"),
        (["--prometheus-url", "http://127.0.0.1:1", "--fail-on", "always"], "--fail-on 'always'"),
        (["--prometheus-url", "http://127.0.0.1:1", "--at", "yesterday"], "--at 'yesterday'"),
        (["--prometheus-url", "http://127.0.0.1:1", "--profile", "no-such.yaml"], "no-such.yaml: no such file"),
    ],
)
def test_bad_options_exit_2(args, message):
    code, _, err = _run(*args)
    assert code == 2 and message in err


@pytest.mark.parametrize(
    ("remaining", "burn", "period", "status"),
    [
        (None, 50.0, 30 * DAY, "no-data"),
        (0.0, 0.1, 30 * DAY, "breach"),
        (-0.4, None, 30 * DAY, "breach"),
        (0.9, 14.4, 30 * DAY, "critical"),
        (0.9, 14.3, 30 * DAY, "warning"),
        (0.9, 3.36, 7 * DAY, "critical"),
        (0.9, 1.0, 30 * DAY, "warning"),
        (0.24, 0.1, 30 * DAY, "warning"),
        (0.25, 0.99, 30 * DAY, "healthy"),
        (0.5, None, 30 * DAY, "healthy"),
    ],
)
def test_status_rule(remaining, burn, period, status):
    assert report.classify(remaining, burn, period) == status


def test_helpers():
    assert report.page_burn_rate(30 * DAY) == pytest.approx(14.4)
    assert report.page_burn_rate(DAY) == pytest.approx(0.48)
    assert report.parse_time("2025-01-31T12:00:00Z") == report.parse_time("1738324800") == 1738324800
    assert report.parse_time("2025-01-31T12:00:00") == 1738324800  # naive is UTC
    assert [report.window_seconds(w) for w in ("5m", "1h30m", "3d", "bogus")] == [300, 5400, 3 * DAY, math.inf]
    assert [report.percent(v) for v in (0.999, 0.99853, -0.4, 0.0, None)] == ["99.9%", "99.853%", "-40%", "0%", "—"]
    assert [report.duration(s) for s in (30 * DAY, 101456, 3000, 0)] == ["30d", "1d 4h", "50m", "0s"]
    fake = {"slos": [{"status": "warning"}, {"status": "no-data"}]}
    assert [report.exit_code(fake, f) for f in ("never", "warning", "critical", "breach")] == [0, 1, 0, 0]


def test_missing_series_are_derived_and_low_budget_warns():
    labels = {"slo": "availability", "service": "api", "namespace": "web", "team": "platform"}
    series = [
        ({**labels, "__name__": "slo:objective:ratio"}, 0.999),
        ({**labels, "__name__": "slo:sli:ratio_period"}, 0.9992),  # remaining 20 %
        ({**labels, "__name__": "slo:sli_error:ratio_rate1h"}, 0.0005),  # burn 0.5
        ({"slo": "orphan", "__name__": "slo:burn_rate:ratio_rate1h"}, 3.0),  # no objective: not an SLO
    ]
    (entry,) = report._slo_entries(series)
    assert entry["period_assumed"] and entry["period"] == "30d" and entry["page_burn_rate"] == pytest.approx(14.4)
    assert entry["error_budget"] == pytest.approx(0.001)
    assert entry["error_budget_remaining"] == pytest.approx(0.2)
    assert entry["burn_rate_1h"] == pytest.approx(0.5) and entry["burn_rates"] == {}
    assert entry["status"] == "warning"
    assert entry["recommendations"] == [
        "only 20% of the budget left: slow down risky releases",
        "slo:period:seconds is missing: a 30d period was assumed for the thresholds",
    ]


def test_a_grouped_sli_is_reported_by_its_worst_group():
    labels = {"slo": "routes", "service": "api", "namespace": "web"}
    series = [
        ({**labels, "__name__": "slo:objective:ratio"}, 0.999),
        *(
            ({**labels, "route": route, "__name__": name}, value)
            for route, sli, burn in (("/a", 0.9999, 0.2), ("/b", 0.9985, 20.0), ("/c", float("nan"), float("nan")))
            for name, value in (("slo:sli:ratio_period", sli), ("slo:burn_rate:ratio_rate1h", burn))
        ),
    ]
    (entry,) = report._slo_entries(series)
    assert entry["sli"] == pytest.approx(0.9985) and entry["burn_rate_1h"] == pytest.approx(20.0)
    assert entry["status"] == "breach"
