"""obs's SLO alerts against Sloth's on the same input (tests/support/sloth_compare.py):
tickets on time, and the cases where obs must stay better than Sloth. The full
side-by-side table, every scenario for 30d, 28d and 7d, is
benchmarks/reports/sloth-comparison.md; here the 30d scenarios that run in
minutes of promtool time rather than hours (the ones that burn for a day or
more are in the report)."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any

import pytest

from obsgen.rules.slo.windows import PAIR_FOR
from tests import test_slo_scenarios as sc
from tests.support import sloth_compare as cmp

pytestmark = pytest.mark.slow
FOR = sc.minutes(PAIR_FOR)
PERIOD = "30d"
SCENARIOS = ("full outage", "10× the fast burn", "just under the 1h pair", "one error", "zero traffic", "series vanish")


@cache
def results() -> dict[tuple[str, str, str], dict[str, Any]]:
    items = [(p, s, e) for p, s, e in cmp.runs() if p == PERIOD and s.name.startswith(SCENARIOS)]
    with ThreadPoolExecutor() as pool:
        found = list(pool.map(lambda item: cmp.measure(item[1], item[0], item[2]), items))
    return {(p, s.name, e): got for (p, s, e), got in zip(items, found, strict=True)}


def outcome(period: str, name: str, engine: str) -> dict[str, Any]:
    return results()[(period, name, engine)]


def named(period: str, prefix: str) -> cmp.Scenario:
    return next(s for s in cmp.scenarios(period) if s.name.startswith(prefix))


def test_pages_and_tickets_on_time(period=PERIOD):
    for prefix in ("full outage", "10× the fast burn"):
        scenario = named(period, prefix)
        theory = cmp.theory(scenario, period)
        got = outcome(period, scenario.name, "obs")
        for kind in ("page", "ticket"):
            expected = theory[kind].fire
            if expected is None:
                assert got[kind].fire is None, (scenario.name, kind)
                continue
            # Within the windows' time, the `for` and one evaluation either side (sampling, step).
            assert expected - 1 <= got[kind].fire <= expected + FOR + 1, (scenario.name, kind, got[kind], expected)
    assert outcome(period, named(period, "full outage").name, "obs")["ticket"].fire <= 10
    assert outcome(period, named(period, "10× the fast burn").name, "obs")["ticket"].fire <= 35


def test_obs_pages_no_later_than_sloth_plus_its_for(period=PERIOD):
    for scenario in (s for s in cmp.scenarios(period) if s.name.startswith(SCENARIOS)):
        obs, sloth = outcome(period, scenario.name, "obs"), outcome(period, scenario.name, "sloth")
        for kind in ("page", "ticket"):
            if sloth[kind].fire is not None and obs[kind].fire is not None:
                assert obs[kind].fire <= sloth[kind].fire + FOR + 1, (scenario.name, kind, obs[kind], sloth[kind])


def test_just_under_the_page_threshold_stays_silent(period=PERIOD):
    got = outcome(period, named(period, "just under the 1h pair").name, "obs")
    assert got["page"].fire is None and got["ticket"].fire is None


def test_where_obs_beats_sloth(period=PERIOD):
    one = named(period, "one error").name
    # One error at one request a minute: Sloth pages, obs's traffic guard does not.
    assert outcome(period, one, "obs")["page"].fire is None
    assert outcome(period, one, "sloth")["page"].fire is not None
    # A quiet period: Sloth's period ratio averages 0/0 ratios and stays NaN; obs's budget is a number.
    quiet = named(period, "zero traffic").name
    assert not math.isnan(outcome(period, quiet, "obs")["budget"])
    assert math.isnan(outcome(period, quiet, "sloth")["budget"])
    # Series that vanish: obs says it cannot measure the SLO; Sloth is silent.
    gone = named(period, "series vanish").name
    assert outcome(period, gone, "obs")["no data"].fire is not None
    assert outcome(period, gone, "sloth")["page"].fire is None
