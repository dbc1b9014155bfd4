"""obs's SLO rules next to the rules Sloth would generate for the same SLO
(tests/support/sloth_rules.py), on the same input, in promtool.

The SLO is the enterprise fixture's `checkout-availability` (99.9 %, counted
from http_requests_total), with its period set to 30d, 28d or 7d; Sloth's
queries are the same selectors as rates over {{.window}}. Each scenario
follows 3 days of clean traffic (the longest window) and is run twice, once
per engine; the ALERTS series give when each kind of alert (page: the 1h and
6h pairs; ticket: the 1d and 3d pairs) first fired and when it resolved, and
the budget remaining is read at the end.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from typing import Any

from obsgen import yamlio
from obsgen.rules import slo as slo_engine
from obsgen.rules.slo import periods
from obsgen.rules.slo.windows import Pair, seconds
from tests import test_slo_scenarios as sc
from tests.support import sloth_rules

TIER, SLO = "enterprise", "checkout-availability"
PERIODS = ("30d", "28d", "7d")
KINDS = {"page": ("fast", "medium"), "ticket": ("slow", "chronic")}
ENGINES = ("obs", "sloth")


@dataclass(frozen=True)
class Scenario:
    name: str
    error: str  # for the table
    segments: list[sc.Segment]
    incident_end: int
    rate: int = sc.RATE  # traffic of the history

    @property
    def span(self) -> int:
        return sum(n for n, _, _ in self.segments)


@dataclass(frozen=True)
class Outcome:
    fire: float | None  # minutes after the incident starts
    resolve: float | None  # minutes after it ends; None while still firing at the end


def table(period: str):
    return periods.of(sc.stack(TIER))[period]


def obs_slo(period: str) -> slo_engine.SLO:
    return dataclasses.replace(sc.slos(TIER)[SLO], period=period)


def sloth_slo() -> sloth_rules.SlothSLO:
    return sloth_rules.from_obs(sc.slos(TIER)[SLO], "availability")


def budget() -> float:
    return float(sc.slos(TIER)[SLO].budget)


def _burn(name: str, e: float, minutes: int, recovery: int) -> Scenario:
    bad = round(e * sc.RATE)
    return Scenario(name, f"{bad / sc.RATE:.3%}", [(minutes, sc.RATE, bad), (recovery, sc.RATE, 0)], minutes)


def scenarios(period: str) -> list[Scenario]:
    t, b = table(period), budget()
    fast, slow = t.pair("fast"), t.pair("slow")
    ten_fast = 10 * fast.burn_factor * b
    two_ticket = 2 * slow.burn_factor * b
    ticket_at = math.ceil(slow.burn_factor * b * sc.minutes(slow.long) / two_ticket)
    out = [
        _burn("full outage, 1 h", 1.0, 60, 7 * 60),
        _burn("10× the fast burn, 1 h", ten_fast, 60, 7 * 60),
        _burn(f"2× the ticket burn ({slow.long} pair), until it tickets + 1 h", two_ticket, ticket_at + 60, 3 * 60),
    ]
    for p in t.pairs:
        out.append(_burn(f"just under the {p.long} pair ({sc.UNDER}×), for {p.long}", sc.UNDER * p.burn_factor * b, sc.minutes(p.long), 60))
    out += [
        Scenario(f"one error at {sc.LOW_RATE} request/min", "1 event", [(1, sc.LOW_RATE, 1), (120, sc.LOW_RATE, 0)], 1, sc.LOW_RATE),
        Scenario("zero traffic for 2 h", "—", [(120, 0, 0), (60, sc.RATE, 0)], 120),
        Scenario("series vanish for 2 h", "—", [(120, None, 0), (60, sc.RATE, 0)], 120),
    ]
    return out


def _fires(pair: Pair, b: float, e: float, minutes: int) -> float | None:
    """When a constant burn e from t=0 makes the pair fire, by the windows alone; None if not while it lasts."""
    threshold = pair.burn_factor * b
    if e <= threshold:
        return None
    at = threshold * sc.minutes(pair.long) / e
    return at if at <= minutes else None


def theory(scenario: Scenario, period: str) -> dict[str, Outcome]:
    """Per kind: the first of its pairs to fire, and when the last of them resolves (continuous time, no `for`)."""
    n, events, bad = scenario.segments[0]
    out = {}
    for kind, roles in KINDS.items():
        fired = []
        if events and bad:
            e = bad / events
            for pair in (table(period).pair(r) for r in roles):
                at = _fires(pair, budget(), e, n)
                if at is not None:
                    fired.append((at, sc.resolve_after(pair, budget(), e)))
        out[kind] = Outcome(min(f for f, _ in fired), max(r for _, r in fired)) if fired else Outcome(None, None)
    return out


def _selectors(engine: str) -> dict[str, str]:
    if engine == "sloth":
        return {k: f'ALERTS{{alertstate="firing", sloth_severity="{k}"}}' for k in KINDS}
    names = {kind: "|".join(table("30d").pair(r).alert for r in roles) for kind, roles in KINDS.items()}
    out = {k: f'ALERTS{{alertstate="firing", alertname=~"{v}", slo="{SLO}"}}' for k, v in names.items()}
    out["no data"] = f'ALERTS{{alertstate="firing", alertname="SLONoData", slo="{SLO}"}}'
    return out


BUDGET = {"obs": f'slo:error_budget_remaining:ratio{{slo="{SLO}"}}', "sloth": "slo:period_error_budget_remaining:ratio"}


def _groups(engine: str, period: str) -> list[dict[str, Any]]:
    if engine == "sloth":
        return sloth_rules.rule_groups(sloth_slo(), table(period))
    return [slo_engine.group(obs_slo(period), sc.stack(TIER)).render(sc.stack(TIER))]


_GOT = re.compile(r"got: (.*)")


def _value(got: str) -> float | None:
    text = got.strip()
    return None if text == "nil" else float(text.split()[-1])


def measure(scenario: Scenario, period: str, engine: str) -> dict[str, Any]:
    """Per alert kind its Outcome, and the budget remaining at the end."""
    selectors = _selectors(engine)
    end, span = sc.HISTORY_MIN + scenario.span, scenario.span
    queries = []
    for sel in selectors.values():
        # Over every alert of the kind: its first firing minute, and its last.
        queries += [f"min(min_over_time(timestamp({sel})[{span}m:1m]))", f"max(max_over_time(timestamp({sel})[{span}m:1m]))"]
    queries.append(BUDGET[engine])
    # An impossible expectation makes promtool print what it got, in order.
    tests = [{"expr": q, "eval_time": f"{end}m", "exp_samples": [{"labels": "{}", "value": -1}]} for q in queries]
    series = sc.input_series(SLO, [(sc.HISTORY_MIN, scenario.rate, 0), *scenario.segments])
    test = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": series, "promql_expr_test": tests}],
    }
    result = sc.run(yamlio.dump({"groups": _groups(engine, period)}), yamlio.dump(test))
    got = [_value(g) for g in _GOT.findall(result.stdout + result.stderr)]
    if len(got) != len(queries):
        raise RuntimeError(f"{scenario.name} ({engine}, {period}): unexpected promtool output\n{result.stdout}\n{result.stderr}")
    out: dict[str, Any] = {}
    for k, kind in enumerate(selectors):
        first, last = got[2 * k], got[2 * k + 1]
        fire = None if first is None else first / 60 - sc.HISTORY_MIN
        resolved = None if last is None or last / 60 - sc.HISTORY_MIN >= span - sc.STEP_MIN else last / 60 - sc.HISTORY_MIN + 1
        out[kind] = Outcome(fire, None if resolved is None else resolved - scenario.incident_end)
    out["budget"] = got[-1]
    return out


def runs() -> list[tuple[str, Scenario, str]]:
    """Every (period, scenario, engine), the longest first so parallel workers finish together."""
    items = [(p, s, e) for p in PERIODS for s in scenarios(p) for e in ENGINES]
    return sorted(items, key=lambda item: -item[1].span - seconds(item[0]) / 60)
