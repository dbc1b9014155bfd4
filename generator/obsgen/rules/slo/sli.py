"""SLIs as event counts: how many events happened in a window, and how many were bad.

Every SLI is reduced to two PromQL templates that return one label-less
sample each: all events and bad events in `$window`. Counting events (not
averaging ratios) is what makes longer windows and the period budget
traffic-weighted: they are sums of counts. `$seconds` is the window length
in seconds, for sources that return rates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ... import promql
from ...telemetry import Contract, le_matcher
from .windows import seconds

# A plain series selector: increase() can read it directly. Anything else
# is an expression and goes through a subquery.
_SELECTOR = re.compile(r'^\s*(?:[a-zA-Z_:][a-zA-Z0-9_:]*\s*)?(?:\{(?:[^{}"]|"(?:[^"\\]|\\.)*")*\})?\s*$')
_SUBQUERY_STEP = "1m"


@dataclass(frozen=True)
class SLI:
    kind: str
    total: str  # template: all events in $window
    bad: str  # template: bad events in $window (may be empty when there are none)
    good_means: str  # what a good event is, for people

    def total_in(self, window: str) -> str:
        return _fill(self.total, window)

    def bad_in(self, window: str) -> str:
        return _fill(self.bad, window)


def _fill(template: str, window: str) -> str:
    return template.replace("$window", window).replace("$seconds", str(seconds(window)))


def _increase(selector: str) -> str:
    return f"sum(increase({selector}[$window]))"


def counter_increase(expr: str) -> str:
    """Events counted by a counter selector or a counter-valued expression."""
    if _SELECTOR.match(expr) and expr.strip():
        return _increase(expr.strip())
    # A sum of counters drops when one of them resets, which increase()
    # reads as a reset of the whole sum; a selector is safer when possible.
    return f"sum(increase(({expr.strip()})[$window:{_SUBQUERY_STEP}]))"


def availability(contract: Contract, error_status: str = "5..") -> SLI:
    requests = contract.requests
    return SLI(
        kind="availability",
        total=_increase(requests + contract.matchers()),
        bad=_increase(requests + contract.matchers(contract.error_matcher(error_status))),
        good_means=f"requests answered with a status not matching {error_status}",
    )


def error_rate(contract: Contract, error_status: str) -> SLI:
    sli = availability(contract, error_status)
    return SLI("error-rate", sli.total, sli.bad, sli.good_means)


def latency(contract: Contract, threshold: float) -> SLI:
    count = f"{contract.duration}_count{contract.matchers()}"
    fast = contract.duration_bucket + contract.matchers(le_matcher(threshold))
    return SLI(
        kind="latency",
        total=_increase(count),
        # Slow = all − fast; clamp because two extrapolated increases can
        # differ by a rounding error at zero traffic.
        bad=f"clamp_min({_increase(count)} - {_increase(fast)}, 0)",
        good_means=f"requests answered within {threshold:g}s",
    )


def dependency_service(contract: Contract, dependency: str, callee: str) -> SLI:
    sli = availability(contract)
    return SLI("dependency", sli.total, sli.bad, f"requests to {callee} (dependency {dependency}) answered without a 5xx")


def dependency_probe(service: str, dependency: str) -> SLI:
    matchers = ", ".join(promql.matcher(k, "=", v) for k, v in (("job", "blackbox"), ("service", service), ("dependency", dependency)))
    probes = f"probe_success{{{matchers}}}"
    total = f"sum(count_over_time({probes}[$window]))"
    return SLI(
        kind="dependency",
        total=total,
        bad=f"clamp_min({total} - sum(sum_over_time({probes}[$window])), 0)",
        good_means=f"successful blackbox probes of dependency {dependency}",
    )


def counters(errors: str, total: str, kind: str = "ratio") -> SLI:
    return SLI(kind, counter_increase(total), counter_increase(errors), "events not counted by the errors expression")


def good_counters(good: str, total: str, kind: str) -> SLI:
    all_events = counter_increase(total)
    return SLI(kind, all_events, f"clamp_min({all_events} - {counter_increase(good)}, 0)", "events counted by the good expression")


def rates(error_query: str, total_query: str, kind: str) -> SLI:
    """Queries that return per-second rates over $window (Sloth's contract): rate × window = events."""
    return SLI(
        kind,
        f"sum({total_query.strip()}) * $seconds",
        f"sum({error_query.strip()}) * $seconds",
        "events not counted by the error query",
    )
