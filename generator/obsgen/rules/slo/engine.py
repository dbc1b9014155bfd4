"""Recording rules of one SLO: event counts per window, ratios, burn rates, budget.

Counts come first and everything else is derived from them, so long
windows and the period are traffic-weighted sums of events, never averages
of ratios. Ratios are only recorded when their window saw traffic: zero
traffic gives no series instead of NaN.

Windows up to 6h read the raw counters. 1d and 3d add up the 5m counts at
5m-aligned steps (a subquery), like the period does: one recorded series
read instead of days of raw samples of every matching series. The steps
tile the window without overlap (each 5m count covers the 5m before it); the
window ends at the last 5m boundary, so it lags by less than 5m, which only
a ticket alert sees.
"""

from __future__ import annotations

from decimal import Decimal

from ..types import RecordingRule
from .definition import SLO
from .windows import RAW_WINDOW_LIMIT, Pair, seconds

SHORTEST = "5m"  # period sums are built from this window's counts
BURN_REFERENCE = "1h"  # time to exhaustion extrapolates this window's burn rate

OBJECTIVE = "slo:objective:ratio"
ERROR_BUDGET = "slo:error_budget:ratio"
PERIOD_SECONDS = "slo:period:seconds"
SLI_PERIOD = "slo:sli:ratio_period"
BUDGET_REMAINING = "slo:error_budget_remaining:ratio"
TIME_TO_EXHAUSTION = "slo:time_to_exhaustion:seconds"
TOTAL_PERIOD = "slo:sli_events_total:increase_period"
BAD_PERIOD = "slo:sli_events_bad:increase_period"


def total(window: str) -> str:
    return f"slo:sli_events_total:increase{window}"


def bad(window: str) -> str:
    return f"slo:sli_events_bad:increase{window}"


def error_ratio(window: str) -> str:
    return f"slo:sli_error:ratio_rate{window}"


def burn_rate(window: str) -> str:
    return f"slo:burn_rate:ratio_rate{window}"


def number(value: Decimal | float | int) -> str:
    """PromQL literal: 0.001 not 1E-3, 14.4 not 14.399999999999999."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return f"{float(value):.10g}"


def recorded_windows(pairs: tuple[Pair, ...]) -> tuple[str, ...]:
    wanted = {SHORTEST, BURN_REFERENCE} | {w for p in pairs for w in p.windows}
    return tuple(sorted(wanted, key=seconds))


def _summed(metric: str, slo: SLO, window: str) -> str:
    return f"sum_over_time({metric}{slo.selector}[{window}:{SHORTEST}])"


def _counts(slo: SLO, window: str) -> list[RecordingRule]:
    labels = slo.series_labels
    if seconds(window) > seconds(RAW_WINDOW_LIMIT):
        return [
            RecordingRule(total(window), _summed(total(SHORTEST), slo, window), labels),
            RecordingRule(bad(window), _summed(bad(SHORTEST), slo, window), labels),
        ]
    return [
        RecordingRule(total(window), slo.sli.total_in(window), labels),
        # No bad series at all (no error ever) must read as 0 bad events
        # while there is traffic, not as "no data".
        RecordingRule(bad(window), f"{slo.sli.bad_in(window)}\nor\n0 * sum({total(window)}{slo.selector})", labels),
    ]


def _ratios(slo: SLO, window: str) -> list[RecordingRule]:
    sel, labels = slo.selector, slo.series_labels
    return [
        RecordingRule(error_ratio(window), f"{bad(window)}{sel}\n/\n({total(window)}{sel} > 0)", labels),
        RecordingRule(burn_rate(window), f"{error_ratio(window)}{sel} / {number(slo.budget)}", labels),
    ]


def _period(slo: SLO) -> list[RecordingRule]:
    sel, labels = slo.selector, slo.series_labels
    period_error = f"{BAD_PERIOD}{sel} / ({TOTAL_PERIOD}{sel} > 0)"
    return [
        RecordingRule(TOTAL_PERIOD, _summed(total(SHORTEST), slo, slo.period), labels),
        RecordingRule(BAD_PERIOD, _summed(bad(SHORTEST), slo, slo.period), labels),
        RecordingRule(SLI_PERIOD, f"1 - {period_error}", labels),
        RecordingRule(BUDGET_REMAINING, f"1 - ({period_error}) / {number(slo.budget)}", labels),
        # Remaining share × period / burn rate; both filters drop the series
        # when the budget is spent or nothing burns, rather than giving +Inf.
        RecordingRule(
            TIME_TO_EXHAUSTION,
            f"({BUDGET_REMAINING}{sel} > 0) * {seconds(slo.period)}\n/\n({burn_rate(BURN_REFERENCE)}{sel} > 0)",
            labels,
        ),
    ]


def recordings(slo: SLO, pairs: tuple[Pair, ...]) -> list[RecordingRule]:
    labels = slo.series_labels
    rules = [
        RecordingRule(OBJECTIVE, f"vector({number(slo.objective_ratio)})", labels),
        RecordingRule(ERROR_BUDGET, f"vector({number(slo.budget)})", labels),
        RecordingRule(PERIOD_SECONDS, f"vector({seconds(slo.period)})", labels),
    ]
    windows = recorded_windows(pairs)
    for window in windows:
        rules += _counts(slo, window)
    for window in windows:
        rules += _ratios(slo, window)
    return rules + _period(slo)
