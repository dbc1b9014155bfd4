"""Alert quality of the SLO engine: when each alert fires and resolves, measured
with the real Prometheus rule engine, against the theory of burn-rate alerts.

    .venv/bin/python benchmarks/alert_quality.py   # writes benchmarks/reports/alert-quality.md

Engine: `promtool test rules` (Prometheus 3.5's rule manager and PromQL
engine, the code a Prometheus server runs) on the generated rules of the
enterprise fixture profile (tests/fixtures/slo/enterprise-shop.yaml), with
input series and evaluation every minute, the SLO groups' interval. The
alternative, a backfilled TSDB queried by a real server, needs the rules
replayed by `promtool tsdb create-blocks-from rules`, which ignores alerting
rules and does not let a rule see the results of earlier rules of its group
(these recordings build on each other); promtool's unit-test loop evaluates
recordings and alerts (with `for`) step by step, as a server does. Every
incident starts after 3 days of clean traffic (the longest window).

Measurement: the ALERTS series the rules write. At the end of a run,
min/max_over_time(timestamp(ALERTS{alertstate="firing"})) give the first and
the last minute an alert was firing; it resolved one step after the last.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import test_slo_scenarios as sc  # noqa: E402
from tests.support.tools import tool  # noqa: E402

from obsgen import yamlio  # noqa: E402
from obsgen.rules.slo import alerts as slo_alerts  # noqa: E402
from obsgen.rules.slo import engine  # noqa: E402
from obsgen.rules.slo.windows import PAIR_FOR, Pair  # noqa: E402

REPORT = ROOT / "benchmarks" / "reports" / "alert-quality.md"
TIER = "enterprise"
SLO = "checkout-availability"


@dataclass(frozen=True)
class Expectation:
    alert: str
    fire: float | None  # minutes after the incident starts; None: must stay silent
    resolve: float | None  # minutes after the incident ends


@dataclass(frozen=True)
class Case:
    name: str
    error: str  # error ratio, for the table
    segments: list[sc.Segment]
    incident_end: int  # minute the incident ends
    expectations: tuple[Expectation, ...]
    rate: int = sc.RATE
    slo: str = SLO


def pairs(slo: str = SLO) -> tuple[Pair, ...]:
    return sc.pairs(TIER, slo)


def b(slo: str = SLO) -> float:
    return sc.budget(TIER, slo)


def burn_case(label: str, e_events: int, minutes: int, recovery: int, only: Pair | None = None, slo: str = SLO) -> Case:
    """A burn of e_events bad per RATE events for `minutes`, then clean traffic; every pair (or `only`) watched."""
    e = e_events / sc.RATE
    exp = []
    for p in [only] if only else pairs(slo):
        if e > p.burn_factor * b(slo):
            # The theory is the windows' alone: the `for` shows up as lateness.
            window_fire = sc.fire_after(p, b(slo), e) - sc.minutes(p.for_)
            exp.append(Expectation(p.alert, window_fire, sc.resolve_after(p, b(slo), e)))
        else:
            exp.append(Expectation(p.alert, None, None))
    segments: list[sc.Segment] = [(minutes, sc.RATE, e_events), (recovery, sc.RATE, 0)]
    return Case(label, f"{e * 100:.3g}%", segments, minutes, tuple(exp), slo=slo)


def cases() -> list[Case]:
    out = [burn_case("full outage, 30 min", sc.RATE, 30, 7 * 60)]
    for other, what in (("checkout-latency", "latency 99%, 30d"), ("ledger-openslo-availability", "OpenSLO, 99.9%, 28d, own pairs")):
        out.append(burn_case(f"full outage, 90 min — {other} ({what})", sc.RATE, 90, 7 * 60, slo=other))
    for p in pairs():
        fb = p.burn_factor * b()
        for factor in (2, 1.1):
            events = math.ceil(factor * fb * sc.RATE)
            minutes = math.ceil(sc.fire_after(p, b(), events / sc.RATE)) + 10
            out.append(burn_case(f"{factor}× the {p.long} threshold", events, minutes, sc.minutes(p.short) + 30, only=p))
        under = math.floor(sc.UNDER * fb * sc.RATE)
        out.append(burn_case(f"{sc.UNDER}× the {p.long} threshold, whole {p.long}", under, sc.minutes(p.long), 10, only=p))
    quiet = (Expectation(p.alert, None, None) for p in pairs() if p.severity == "critical")
    out.append(
        Case(
            f"one error at {sc.LOW_RATE} request/min", "1 event", [(1, sc.LOW_RATE, 1), (60, sc.LOW_RATE, 0)], 1, tuple(quiet), sc.LOW_RATE
        )
    )
    after = sc.minutes(engine.SHORTEST) + sc.minutes(slo_alerts.NO_DATA_FOR)
    vanish = Expectation(slo_alerts.NO_DATA, sc.minutes(engine.SHORTEST), None)
    out.append(Case("series vanish", "—", [(after + 20, None, 0)], after + 20, (vanish,)))
    spent = b() * sc.HISTORY_MIN
    out.append(
        Case(
            "full outage until the budget of the 3d history is spent",
            "100%",
            [(90, sc.RATE, sc.RATE)],
            90,
            (
                Expectation(slo_alerts.BUDGET_EXHAUSTED, spent, None),
                Expectation(slo_alerts.COMPLIANCE, spent, None),
            ),
        )
    )
    return out


def _files(case: Case) -> tuple[str, str, list[str]]:
    alerts = [e.alert for e in case.expectations]
    rules = sc.closure(sc.group(TIER, case.slo), alerts)
    span = sum(n for n, _, _ in case.segments)
    end = sc.HISTORY_MIN + span
    queries = []
    for alert in alerts:
        firing = f'timestamp(ALERTS{{alertname="{alert}", alertstate="firing", slo="{case.slo}"}})'
        queries += [f"min_over_time({firing}[{span}m:1m])", f"max_over_time({firing}[{span}m:1m])"]
    # An impossible expectation makes promtool print what it got, in order.
    tests = [{"expr": q, "eval_time": f"{end}m", "exp_samples": [{"labels": "{}", "value": -1}]} for q in queries]
    test = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": rules.interval,
        "tests": [
            {
                "interval": "1m",
                "input_series": sc.input_series(case.slo, [(sc.HISTORY_MIN, case.rate, 0), *case.segments]),
                "promql_expr_test": tests,
            }
        ],
    }
    return yamlio.dump({"groups": [rules.render(sc.stack(TIER))]}), yamlio.dump(test), queries


_GOT = re.compile(r"got: (.*)")


def _version() -> str:
    out = subprocess.run([tool("promtool"), "--version"], capture_output=True, text=True).stdout
    return out.splitlines()[0] if out else "unknown"


def measure(case: Case) -> list[tuple[float | None, float | None]]:
    """(first firing, resolved) in minutes after the incident start, per expectation."""
    rule_text, test_text, queries = _files(case)
    result = sc.run(rule_text, test_text)
    got = _GOT.findall(result.stdout + result.stderr)
    if len(got) != len(queries):
        raise RuntimeError(f"{case.name}: unexpected promtool output\n{result.stdout}\n{result.stderr}")
    out = []
    span = sum(n for n, _, _ in case.segments)
    for i in range(0, len(got), 2):
        first, last = (None if g.strip() == "nil" else float(g.split()[-1]) / 60 - sc.HISTORY_MIN for g in got[i : i + 2])
        resolved = None if last is None or last >= span else last + sc.STEP_MIN - case.incident_end
        out.append((first, resolved))
    return out


def _fmt(value: float | None, silent: str = "silent") -> str:
    return silent if value is None else f"{value:.1f}"


def _delta(measured: float | None, theory: float | None) -> str:
    if measured is None and theory is None:
        return "ok"
    if measured is None or theory is None:
        return "**MISMATCH**"
    return f"{measured - theory:+.1f}"


def report(results: list[tuple[Case, list[tuple[float | None, float | None]]]]) -> str:
    lines = [
        "# SLO alert quality",
        "",
        "<!-- Generated by benchmarks/alert_quality.py — do not edit. -->",
        "",
        (__doc__ or "")[(__doc__ or "").index("Engine:") :].strip(),
        "",
        f"Engine version: {_version()}.",
        "",
        f"SLO under test unless named: `{SLO}` of the {TIER} fixture — availability {sc.slos(TIER)[SLO].objective}% over"
        f" {sc.slos(TIER)[SLO].period} (budget {b():g}), {sc.RATE} requests/min. Times in minutes: fire = after the"
        " incident starts, resolve = after it ends. Theory (continuous time, the windows alone, no `for`): fires at"
        " f·b·L/e, resolves at S·(1 − f·b/e); budget alerts: when the budget of the history is spent; no data: when the"
        f" shortest window empties. Δ is therefore the real lateness, `for` included: {PAIR_FOR} on every burn-rate pair,"
        f" {slo_alerts.NO_DATA_FOR} on {slo_alerts.NO_DATA}, {slo_alerts.BUDGET_EXHAUSTED_FOR} on {slo_alerts.BUDGET_EXHAUSTED},"
        f" {slo_alerts.COMPLIANCE_FOR} on {slo_alerts.COMPLIANCE}.",
        "",
        "Expected deviations, besides the `for`: −1…0 min from sampling (a 1h range holds 60 samples, so it measures 59"
        " one-minute steps);"
        " up to +1 min from the evaluation step. The 1d and 3d windows of a counter SLI add up 1m tiles and end at the"
        " evaluation; those of a query SLI (Sloth, OpenSLO) add up 5m tiles and may trail by up to 5 min.",
        "",
        "| Scenario | Error ratio | Alert | Fire: theory | Fire: measured | Δ | Resolve: theory | Resolve: measured | Δ |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for case, measured in results:
        for exp, (fire, resolve) in zip(case.expectations, measured, strict=True):
            lines.append(
                f"| {case.name} | {case.error} | {exp.alert} | {_fmt(exp.fire)} | {_fmt(fire)} | {_delta(fire, exp.fire)} |"
                f" {_fmt(exp.resolve, '—')} | {_fmt(resolve, '—')} | {_delta(resolve, exp.resolve) if exp.resolve is not None else ''} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    items = cases()
    with ThreadPoolExecutor() as pool:
        measured = list(pool.map(measure, items))
    text = report(list(zip(items, measured, strict=True)))
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
