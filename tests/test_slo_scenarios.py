"""SLO alert scenarios, run by the real `promtool test rules`.

For each tier a fixture profile (tests/fixtures/slo/<tier>-shop.yaml) that
extends the tier declares SLOs of every type, plus Sloth and OpenSLO files.
For every SLO a promtool test file is generated from its rule group and a
timeline of traffic: 3 days of clean history (the longest window) and then
the scenario. Expectations come from the theory of burn-rate alerts:

    fires    when both windows exceed the threshold: t = f·b·L / e  (+ for)
    resolves when the short window drops below it: t = S·(1 − f·b / e)

(f burn factor, b error budget, L/S long/short window, e error ratio of the
incident), checked to within one evaluation interval (the 1d and 3d windows
of a query SLI, sums of 5m tiles, may trail by up to 5m more).

Runtime: promtool evaluates every rule at every step from t=0, so a run
costs rules × steps (about 100 µs each). Hence: each run loads only the
rules its alerts depend on (the generated rules, byte for byte, minus
unrelated ones); steps are 1m like the SLO groups' interval; scenarios of
different tiers whose files differ only in the static `tier` label share one
run (a failure names the tiers); runs go longest first, in parallel on every
core. Measured: 51–55 s on 2 idle cores (about 95 s of CPU).

Counters move by whole numbers only: promtool builds `a+bxn` by repeated
float additions, and a fractional step could make a flat counter dip by one
ulp, which increase() reads as a reset.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import subprocess
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from obsgen import model, yamlio
from obsgen.model import Stack
from obsgen.profile import load
from obsgen.rules import slo as slo_engine
from obsgen.rules.slo import alerts as slo_alerts
from obsgen.rules.slo import engine
from obsgen.rules.slo.windows import RAW_WINDOW_LIMIT, Pair, seconds
from obsgen.rules.types import AlertRule, RecordingRule, RuleGroup
from tests.support.tools import ROOT, tool

FIXTURES = ROOT / "tests" / "fixtures" / "slo"
TIERS = ("basic", "intermediate", "advanced", "enterprise")
STEP_MIN = 1  # input series spacing and evaluation interval, minutes
HISTORY_MIN = 3 * 24 * 60  # clean history: the longest window
RATE = 10_000  # events per minute of normal traffic
LOW_RATE = 1  # events per minute of a quiet service
TICKET_BURN = 10  # burn of the ticket scenarios, in thresholds: fires within hours, not days
UNDER = 0.95  # "just under the threshold": this share of it, rounded down to whole events
TOTAL_BASE, BAD_BASE = 100_000, 1_000  # counters of a long-running process


# --- stacks and SLOs ----------------------------------------------------------


@cache
def stack(tier: str) -> Stack:
    return model.build(load(FIXTURES / f"{tier}-shop.yaml"))


@cache
def slos(tier: str) -> dict[str, slo_engine.SLO]:
    return {s.name: s for s in slo_engine.slos(stack(tier))}


def group(tier: str, name: str) -> RuleGroup:
    return slo_engine.group(slos(tier)[name], stack(tier))


def pairs(tier: str, name: str) -> tuple[Pair, ...]:
    return slo_engine.alert_pairs(slos(tier)[name], stack(tier))


def minutes(duration: str) -> int:
    return seconds(duration) // 60


def closure(full: RuleGroup, alerts: Iterable[str]) -> RuleGroup:
    """The group's rules that the given alerts read, directly or through recordings
    (every rule of a recorded name: shared rules record one name in several rules)."""
    wanted_alerts = set(alerts)
    rules = [r for r in full.rules if isinstance(r, AlertRule) and r.name in wanted_alerts]
    recordings: dict[str, list[RecordingRule]] = {}
    for r in full.rules:
        if isinstance(r, RecordingRule):
            recordings.setdefault(r.record, []).append(r)
    needed: set[str] = set()
    todo = [r.expr for r in rules]
    while todo:
        for name in re.findall(r"slo:[a-z_]+(?::[a-z_0-9]+)?", todo.pop()):
            if name in recordings and name not in needed:
                needed.add(name)
                todo.extend(r.expr for r in recordings[name])
    kept = [r for r in full.rules if (isinstance(r, RecordingRule) and r.record in needed) or r in rules]
    return RuleGroup(full.name, tuple(kept), full.interval)


# --- input series -------------------------------------------------------------

# A timeline after the history: (minutes, events per minute, bad events per
# minute); events None = the service's series vanish.
Segment = tuple[int, int | None, int]


def counter(base: int, segments: list[Segment], part: str) -> str:
    """Expanding notation of a counter whose per-minute increment is `part` of each segment."""
    value, tokens = base, [str(base)]
    for n, events, bad in segments:
        if events is None:
            tokens.append(f"_x{n}")
            continue
        step = {"total": events, "bad": bad, "good": events - bad}[part]
        tokens.append(f"{value + step}+{step}x{n - 1}")
        value += step * n
    return " ".join(tokens)


def probe(segments: list[Segment]) -> str:
    """probe_success: 0 while a segment's events are all bad, else 1."""
    tokens = ["1"]
    for n, events, bad in segments:
        if events is None:
            tokens.append(f"_x{n}")
        else:
            tokens.append(f"{0 if bad and bad == events else 1}+0x{n - 1}")
    return " ".join(tokens)


CHECKOUT = 'namespace="shop", service="checkout"'


def input_series(name: str, segments: list[Segment]) -> list[dict[str, str]]:
    """The raw series each fixture SLO reads (see tests/fixtures/slo/*.yaml)."""

    def s(series: str, values: str) -> dict[str, str]:
        return {"series": series, "values": values}

    if name in ("checkout-availability", "checkout-errors", "checkout-sloth-availability"):
        return [
            s(f'http_requests_total{{{CHECKOUT}, status="200"}}', counter(TOTAL_BASE, segments, "good")),
            s(f'http_requests_total{{{CHECKOUT}, status="500"}}', counter(BAD_BASE, segments, "bad")),
        ]
    if name == "checkout-latency":
        return [
            s(f"http_request_duration_seconds_count{{{CHECKOUT}}}", counter(TOTAL_BASE, segments, "total")),
            s(f'http_request_duration_seconds_bucket{{{CHECKOUT}, le="0.25"}}', counter(TOTAL_BASE - BAD_BASE, segments, "good")),
            s(f'http_request_duration_seconds_bucket{{{CHECKOUT}, le="+Inf"}}', counter(TOTAL_BASE, segments, "total")),
        ]
    if name in ("checkout-ledger", "ledger-openslo-availability"):
        ledger = 'http_server_request_duration_seconds_count{job="ledger", http_response_status_code="%s"}'
        return [s(ledger % "200", counter(TOTAL_BASE, segments, "good")), s(ledger % "500", counter(BAD_BASE, segments, "bad"))]
    if name == "checkout-orders":
        return [
            s('orders_total{namespace="shop"}', counter(TOTAL_BASE, segments, "total")),
            s('orders_failed_total{namespace="shop"}', counter(BAD_BASE, segments, "bad")),
        ]
    if name == "checkout-psp":
        return [s('probe_success{job="blackbox", service="checkout", dependency="psp"}', probe(segments))]
    raise KeyError(f"no input series for fixture SLO {name!r}")


PAGES = ("fast", "medium")


# --- theory -------------------------------------------------------------------


def budget(tier: str, name: str) -> float:
    return float(slos(tier)[name].budget)


def fire_after(pair: Pair, b: float, e: float) -> float:
    """Minutes from the start of a step to error ratio e until the pair fires (continuous time)."""
    threshold = pair.burn_factor * b
    assert e > threshold, f"error ratio {e} never crosses {threshold}"
    return threshold * minutes(pair.long) / e + minutes(pair.for_)


def lag(pair: Pair) -> int:
    """Minutes a long window may trail: above 6h, a query SLI's windows end at the last 5m boundary (engine.py)."""
    return minutes(engine.SHORTEST) if seconds(pair.long) > seconds(RAW_WINDOW_LIMIT) else 0


def fire_checks(pair: Pair, fire: float, start: int = 0) -> list[Check]:
    """Not before theory − one step (samples make a window one step shorter), firing by theory + one step."""
    return [
        Check(start + math.ceil(fire) - 2 * STEP_MIN, pair.alert, False),
        Check(start + math.floor(fire + lag(pair) + STEP_MIN), pair.alert, True),
    ]


def resolve_checks(pair: Pair, resolve: float, start: int) -> list[Check]:
    """Still firing until theory − one step, cleared by theory + one step and by short window + for."""
    return [
        Check(start + math.ceil(resolve) - 2 * STEP_MIN, pair.alert, True),
        Check(start + math.floor(resolve + STEP_MIN), pair.alert, False),
        Check(start + minutes(pair.short) + minutes(pair.for_), pair.alert, False),
    ]


def resolve_after(pair: Pair, b: float, e: float) -> float:
    """Minutes from the end of a long enough incident until the short window drops below the threshold."""
    return minutes(pair.short) * (1 - pair.burn_factor * b / e)


# --- scenarios ----------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    minute: int  # after the start of the scenario (end of history)
    alert: str
    firing: bool


@dataclass
class Scenario:
    tier: str
    slo: str
    kind: str
    segments: list[Segment]  # after the history
    alerts: tuple[str, ...]  # rules under test (their closure is loaded)
    checks: list[Check] = field(default_factory=list)
    rate: int = RATE

    @property
    def id(self) -> str:
        return f"{self.tier}/{self.slo}/{self.kind}"

    @property
    def timeline(self) -> list[Segment]:
        return [(HISTORY_MIN, self.rate, 0), *self.segments]


def alert_labels(tier: str, name: str, alert: str) -> dict[str, str]:
    """Labels of the ALERTS series of an alert of an SLO."""
    rule = next(r for r in group(tier, name).alerts if r.name == alert)
    rendered = rule.render(stack(tier))
    slo = slos(tier)[name]
    return {**slo.series_labels, **dict(slo.labels), **rendered["labels"], "alertname": alert, "alertstate": "firing"}


def outage(tier: str, name: str, roles: tuple[str, ...]) -> Scenario:
    """Full outage of every event: each pair fires in time, then clears after recovery."""
    b = budget(tier, name)
    pages = [p for p in pairs(tier, name) if p.role in roles]
    fire = {p.alert: fire_after(p, b, 1.0) for p in pages}
    duration = math.ceil(max(fire.values())) + 5
    checks = []
    for p in pages:
        checks += fire_checks(p, fire[p.alert]) + resolve_checks(p, resolve_after(p, b, 1.0), duration)
    segments: list[Segment] = [(duration, RATE, RATE), (max(minutes(p.short) + minutes(p.for_) for p in pages) + 5, RATE, 0)]
    return Scenario(tier, name, "outage", segments, tuple(fire), checks)


def under_threshold(tier: str, name: str, pair: Pair) -> Scenario:
    """A burn just under the pair's threshold for its whole long window stays silent."""
    bad = math.floor(UNDER * pair.burn_factor * budget(tier, name) * RATE)
    long, short = minutes(pair.long), minutes(pair.short)
    checks = [Check(m, pair.alert, False) for m in range(short, long + 1, short)]
    return Scenario(tier, name, f"under-{pair.long}", [(long, RATE, bad)], (pair.alert,), checks)


def low_traffic(tier: str, name: str) -> Scenario:
    """One error among a few requests: without the guard the 1h pair would page (1/60 > 1.44%).

    The 1h pair only: one error in 6h or more of requests stays under every
    other threshold (1/360 < 0.6%) with or without the guard."""
    alerts = tuple(p.alert for p in pairs(tier, name) if p.role == "fast")
    times = [*range(1, 11), *range(15, 61, 5), *range(120, 6 * 60 + 1, 60)]
    checks = [Check(m, a, False) for m in times for a in alerts]
    return Scenario(tier, name, "low-traffic", [(1, LOW_RATE, 1), (6 * 60, LOW_RATE, 0)], alerts, checks, rate=LOW_RATE)


def recovery_after_burn(tier: str, name: str, pair: Pair) -> Scenario:
    """A burn at 10× a ticket's threshold fires, and clears within the short window (+ for) once it stops."""
    b = budget(tier, name)
    bad = math.ceil(TICKET_BURN * pair.burn_factor * b * RATE)
    e = bad / RATE
    fire = fire_after(pair, b, e)
    duration = math.ceil(fire) + 5
    resolve = resolve_after(pair, b, e)
    checks = fire_checks(pair, fire) + resolve_checks(pair, resolve, duration)
    segments: list[Segment] = [(duration, RATE, bad), (minutes(pair.short) + minutes(pair.for_) + 5, RATE, 0)]
    return Scenario(tier, name, f"burn-{pair.long}", segments, (pair.alert,), checks)


def no_data(tier: str, name: str) -> Scenario:
    """The SLI's series vanish: SLONoData fires once the 5m window is empty for `for`."""
    after = minutes(engine.SHORTEST) - STEP_MIN + minutes(slo_alerts.NO_DATA_FOR)
    checks = [Check(after - 1, slo_alerts.NO_DATA, False), Check(after + STEP_MIN, slo_alerts.NO_DATA, True)]
    return Scenario(tier, name, "no-data", [(after + 5, None, 0)], (slo_alerts.NO_DATA,), checks)


def budget_spent(tier: str, name: str) -> Scenario:
    """A full outage spends the budget of the history: exhausted (with its action), then compliance breached.

    The period sums add whole 5m counts, so the period lags by up to 5m."""
    b = budget(tier, name)
    spent = b * HISTORY_MIN  # minutes of full outage that spend the budget of the history
    lag = minutes(engine.SHORTEST)
    exhausted = spent + lag + minutes(slo_alerts.BUDGET_EXHAUSTED_FOR)
    breached = spent + lag + minutes(slo_alerts.COMPLIANCE_FOR)
    checks = [
        Check(math.floor(spent + minutes(slo_alerts.BUDGET_EXHAUSTED_FOR)) - 1, slo_alerts.BUDGET_EXHAUSTED, False),
        Check(math.floor(exhausted + STEP_MIN), slo_alerts.BUDGET_EXHAUSTED, True),
        Check(math.floor(spent + minutes(slo_alerts.COMPLIANCE_FOR)) - 1, slo_alerts.COMPLIANCE, False),
        Check(math.floor(breached + STEP_MIN), slo_alerts.COMPLIANCE, True),
    ]
    duration = math.ceil(breached) + 5
    return Scenario(tier, name, "budget", [(duration, RATE, RATE)], (slo_alerts.BUDGET_EXHAUSTED, slo_alerts.COMPLIANCE), checks)


def scenarios(tier: str) -> list[Scenario]:
    out = []
    features = slo_engine.TIER_ALERTING[tier]
    main = "checkout-availability"
    for name in slos(tier):
        # Every SLI type against the 1h page; both pages on the main SLO (the
        # alert logic does not depend on the SLI).
        out.append(outage(tier, name, PAGES if name == main else ("fast",)))
    for pair in pairs(tier, main):
        out.append(under_threshold(tier, main, pair))
        if pair.severity == "warning":  # pages are covered by the outage scenario
            out.append(recovery_after_burn(tier, main, pair))
    out.append(low_traffic(tier, main))
    if features.no_data:
        out.append(no_data(tier, main))
    if features.budget_exhausted:
        out.append(budget_spent(tier, main))
    return out


# --- promtool -----------------------------------------------------------------


def _expect(scenario: Scenario, check: Check) -> dict[str, Any]:
    at = f"{HISTORY_MIN + check.minute}m"
    selector = f'ALERTS{{alertname="{check.alert}", alertstate="firing", slo="{scenario.slo}"}}'
    if not check.firing:
        return {"expr": selector, "eval_time": at, "exp_samples": []}
    labels = alert_labels(scenario.tier, scenario.slo, check.alert)
    text = "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"
    return {"expr": selector, "eval_time": at, "exp_samples": [{"labels": f"ALERTS{text}", "value": 1}]}


def files(scenario: Scenario) -> tuple[str, str]:
    """(rule file, test file) texts; the test file names the rule file `rules.yaml`."""
    rules = closure(group(scenario.tier, scenario.slo), scenario.alerts)
    rule_text = yamlio.dump({"groups": [rules.render(stack(scenario.tier))]})
    test = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": rules.interval,
        "tests": [
            {
                "name": scenario.id,
                "interval": f"{STEP_MIN}m",
                "input_series": input_series(scenario.slo, scenario.timeline),
                "promql_expr_test": [_expect(scenario, c) for c in scenario.checks],
            }
        ],
    }
    return rule_text, yamlio.dump(test)


def run(rule_text: str, test_text: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="slo-scenario-") as tmp:
        (Path(tmp) / "rules.yaml").write_text(rule_text)
        (Path(tmp) / "test.yaml").write_text(test_text)
        return subprocess.run([tool("promtool"), "test", "rules", "test.yaml"], cwd=tmp, capture_output=True, text=True, timeout=600)


_TIER = re.compile(r'(tier: |tier="|name: )(?:basic|intermediate|advanced|enterprise)\b')


def equivalence(rule_text: str, test_text: str) -> str:
    """Files that differ only in the static `tier` label (and the test's name) test the same rules."""
    return hashlib.sha256(_TIER.sub(r"\1*", rule_text + "\0" + test_text).encode()).hexdigest()


def cost(scenario: Scenario) -> int:
    """Rule evaluations promtool performs: every loaded rule at every step."""
    rules = closure(group(scenario.tier, scenario.slo), scenario.alerts).rules
    return len(rules) * sum(n for n, _, _ in scenario.timeline) // STEP_MIN


@dataclass(frozen=True)
class Run:
    """One promtool run: the scenarios of all tiers whose files differ only in the tier label."""

    scenarios: tuple[Scenario, ...]

    @property
    def id(self) -> str:
        first = self.scenarios[0]
        return f"{first.slo}/{first.kind}[{','.join(s.tier for s in self.scenarios)}]"

    def files(self) -> tuple[str, str]:
        return files(self.scenarios[0])


def runs(items: list[Scenario]) -> list[Run]:
    """Distinct runs, longest first so parallel workers finish together."""
    classes: dict[str, list[Scenario]] = {}
    for scenario in items:
        classes.setdefault(equivalence(*files(scenario)), []).append(scenario)
    return sorted((Run(tuple(c)) for c in classes.values()), key=lambda r: -cost(r.scenarios[0]))


RUNS = runs([s for tier in TIERS for s in scenarios(tier)])


def test_every_tier_covers_every_slo_and_pair():
    """What the runs cover, per tier: each SLO's outage, each pair's near miss, the guard, the extras."""
    for tier in TIERS:
        kinds = {(s.slo, s.kind) for r in RUNS for s in r.scenarios if s.tier == tier}
        assert {name for name, kind in kinds if kind == "outage"} == set(slos(tier))
        main = "checkout-availability"
        assert {f"under-{p.long}" for p in pairs(tier, main)} <= {kind for name, kind in kinds if name == main}
        assert (main, "low-traffic") in kinds
        assert ((main, "no-data") in kinds) == slo_engine.TIER_ALERTING[tier].no_data
        assert ((main, "budget") in kinds) == slo_engine.TIER_ALERTING[tier].budget_exhausted


@pytest.mark.slow
def test_scenarios_pass_in_promtool() -> None:
    """One test for all runs: they go in parallel on every core, with or without pytest-xdist
    (which would put these contiguous tests on one worker, one after the other)."""
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = list(pool.map(lambda r: run(*r.files()), RUNS))
    failed = [f"{r.id}:\n{res.stdout}{res.stderr}" for r, res in zip(RUNS, results, strict=True) if res.returncode != 0]
    assert not failed, f"{len(failed)} of {len(RUNS)} scenario runs failed:\n\n" + "\n\n".join(failed)
