"""Recording rules of every SLO of a stack: event counts per window, ratios,
burn rates, budget.

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

Rules are shared between SLOs, so their number grows with SLI shapes,
windows and distinct objectives, not with services (300 services used to
mean 30,000 rules, over every Kubernetes object limit):

- Each SLO has one static series, `slo:info`, labelled with its identity
  (slo, service, namespace, team), its settings (period, objective,
  min_events, action, who alerts on it) and, for an SLI with a shape (see
  sli.py), the shape's id and this SLO's values of the shape's labels.
- Per shape and window, one rule counts the events of every service at once
  (`sum by` the shape's labels) and joins the counts to the `slo:info`
  series of that shape: every SLO of the shape gets its count, labelled with
  its identity only. Selector labels that are also identity or settings
  labels (`service`, `namespace`) are renamed `selector_<label>` on both
  sides of the join.
- SLIs written as queries (ratio, Sloth, OpenSLO) have count rules of their
  own, with the same labels.
- Everything after the counts is one rule for all SLOs: vector matching on
  identical label sets pairs each SLO's series. Per-SLO numbers (objective,
  budget, minimum events, period length) are recorded from the `slo:info`
  labels, one rule per distinct value.

`slo:info` rules go in groups of their own (see __init__.py): they are
static, and the counts read them from the previous evaluation.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal

from ... import promql
from ..types import RecordingRule
from .definition import SLO
from .sli import Shape
from .windows import RAW_WINDOW_LIMIT, Pair, seconds

SHORTEST = "5m"  # period sums are built from this window's counts
BURN_REFERENCE = "1h"  # time to exhaustion extrapolates this window's burn rate

INFO = "slo:info"
OBJECTIVE = "slo:objective:ratio"
ERROR_BUDGET = "slo:error_budget:ratio"
MIN_EVENTS = "slo:min_events:count"
PERIOD_SECONDS = "slo:period:seconds"
SLI_PERIOD = "slo:sli:ratio_period"
BUDGET_REMAINING = "slo:error_budget_remaining:ratio"
TIME_TO_EXHAUSTION = "slo:time_to_exhaustion:seconds"
TOTAL_PERIOD = "slo:sli_events_total:increase_period"
BAD_PERIOD = "slo:sli_events_bad:increase_period"

# Labels of every recorded SLO series: vector matching pairs them one to one.
IDENTITY = ("slo", "service", "namespace", "team")
# slo:info's own labels besides the identity.
SETTINGS = ("sli", "period", "objective", "min_events", "action", "alerts")
QUERY_SLI = "query"  # sli label of an SLO counted by its own queries
TIER_ALERTS, OWN_ALERTS = "tier", "own"  # alerts label: shared alert rules, or rules of its own
SELECTOR_PREFIX = "selector_"
_RESERVED = frozenset(IDENTITY + SETTINGS)
ON_IDENTITY = f"on ({', '.join(IDENTITY)})"
BY_IDENTITY = f"by ({', '.join(IDENTITY)})"


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


def info(**matchers: str) -> str:
    """`slo:info{…}` selecting SLOs by their settings."""
    return INFO + "{" + ", ".join(promql.matcher(k, "=", v) for k, v in matchers.items()) + "}"


def recorded_windows(pairs: tuple[Pair, ...]) -> tuple[str, ...]:
    wanted = {SHORTEST, BURN_REFERENCE} | {w for p in pairs for w in p.windows}
    return tuple(sorted(wanted, key=seconds))


def info_label(key: str) -> str:
    """The slo:info label holding a shape's selector label."""
    return SELECTOR_PREFIX + key if key in _RESERVED else key


def shape_id(shape: Shape) -> str | None:
    """A stable name for a shape, or None when its labels cannot be joined (then the SLO counts on its own)."""
    names = [info_label(k) for k in shape.keys]
    if any(k.startswith("__") for k in shape.keys) or len(set(names)) != len(names):
        return None
    digest = hashlib.sha256("\0".join((shape.total, shape.bad, *shape.keys)).encode()).hexdigest()
    return f"{shape.kind}-{digest[:8]}"


@dataclass(frozen=True)
class Member:
    """One SLO as the shared rules see it."""

    slo: SLO
    own_alerts: bool  # its alerts differ from the tier's: it gets alert rules of its own

    @property
    def shape(self) -> Shape | None:
        return self.slo.sli.shape if self.sli != QUERY_SLI else None

    @property
    def sli(self) -> str:
        shape = self.slo.sli.shape
        return (shape_id(shape) if shape else None) or QUERY_SLI

    def info(self) -> RecordingRule:
        slo = self.slo
        labels = {
            **slo.series_labels,
            "sli": self.sli,
            "period": slo.period,
            "objective": number(slo.objective),
            "min_events": str(slo.min_events),
            "action": slo.policy_action,
            "alerts": OWN_ALERTS if self.own_alerts else TIER_ALERTS,
        }
        if self.shape:
            labels.update((info_label(k), v) for k, v in zip(self.shape.keys, slo.sli.values, strict=True))
        return RecordingRule(INFO, "vector(1)", labels)


def _indent(expr: str) -> str:
    return "  " + expr.replace("\n", "\n  ")


def _joined(expr: str, shape: Shape, sli: str) -> str:
    """Counts by the shape's labels → counts by SLO identity, for every SLO of the shape."""
    for key in shape.keys:
        if info_label(key) != key:
            expr = f'label_replace({expr}, {promql.string(info_label(key))}, "$1", {promql.string(key)}, "(.*)")'
    on = ", ".join(info_label(k) for k in shape.keys)
    return f"sum {BY_IDENTITY} (\n{_indent(expr)}\n  * on ({on}) group_right\n  {info(sli=sli)}\n)"


def _shared_counts(shape: Shape, sli: str, window: str) -> list[RecordingRule]:
    return [
        RecordingRule(total(window), _joined(shape.total_in(window), shape, sli)),
        # No bad series at all (no error ever) must read as 0 bad events
        # while there is traffic, not as "no data".
        RecordingRule(
            bad(window),
            f"{_joined(shape.bad_in(window), shape, sli)}\nor\n(0 * {total(window)} and {ON_IDENTITY} {info(sli=sli)})",
        ),
    ]


def _own_counts(slo: SLO, window: str) -> list[RecordingRule]:
    labels, sel = slo.series_labels, slo.selector
    return [
        RecordingRule(total(window), slo.sli.total_in(window), labels),
        RecordingRule(bad(window), f"{slo.sli.bad_in(window)}\nor\n0 * sum({total(window)}{sel})", labels),
    ]


def _summed(metric: str, window: str) -> str:
    return f"sum_over_time({metric}[{window}:{SHORTEST}])"


def _per_value(record: str, label: str, values: dict[str, str]) -> list[RecordingRule]:
    """One rule per distinct value of an slo:info label: the number it stands for, per SLO."""
    return [RecordingRule(record, f"{number} * group {BY_IDENTITY} ({info(**{label: text})})") for text, number in values.items()]


def _settings(members: list[Member]) -> list[RecordingRule]:
    objectives = {number(m.slo.objective): m.slo for m in members}
    periods = sorted({m.slo.period for m in members}, key=seconds)
    minimums = sorted({m.slo.min_events for m in members})
    return [
        *_per_value(OBJECTIVE, "objective", {o: number(slo.objective_ratio) for o, slo in objectives.items()}),
        *_per_value(ERROR_BUDGET, "objective", {o: number(slo.budget) for o, slo in objectives.items()}),
        *_per_value(MIN_EVENTS, "min_events", {str(n): str(n) for n in minimums}),
        *_per_value(PERIOD_SECONDS, "period", {p: str(seconds(p)) for p in periods}),
    ]


def _ratios(window: str) -> list[RecordingRule]:
    return [
        RecordingRule(error_ratio(window), f"{bad(window)}\n/\n({total(window)} > 0)"),
        RecordingRule(burn_rate(window), f"{error_ratio(window)} / {ERROR_BUDGET}"),
    ]


def _period(periods: list[str]) -> list[RecordingRule]:
    rules = []
    for period in periods:
        only = f"\nand {ON_IDENTITY}\n{info(period=period)}"
        rules.append(RecordingRule(TOTAL_PERIOD, _summed(total(SHORTEST), period) + only))
        rules.append(RecordingRule(BAD_PERIOD, _summed(bad(SHORTEST), period) + only))
    period_error = f"{BAD_PERIOD} / ({TOTAL_PERIOD} > 0)"
    return [
        *rules,
        RecordingRule(SLI_PERIOD, f"1 - {period_error}"),
        RecordingRule(BUDGET_REMAINING, f"1 - ({period_error}) / {ERROR_BUDGET}"),
        # Remaining share × period / burn rate; both filters drop the series
        # when the budget is spent or nothing burns, rather than giving +Inf.
        RecordingRule(TIME_TO_EXHAUSTION, f"({BUDGET_REMAINING} > 0) * {PERIOD_SECONDS}\n/\n({burn_rate(BURN_REFERENCE)} > 0)"),
    ]


def recordings(members: list[Member], windows: tuple[str, ...]) -> list[RecordingRule]:
    """Every recording of these SLOs but slo:info, in evaluation order: settings, counts, ratios, period."""
    shapes: dict[str, Shape] = {}
    for m in members:
        if m.shape:
            shapes.setdefault(m.sli, m.shape)
    own = [m.slo for m in members if m.sli == QUERY_SLI]
    rules = _settings(members)
    for window in windows:
        if seconds(window) > seconds(RAW_WINDOW_LIMIT):
            rules += [RecordingRule(name(window), _summed(name(SHORTEST), window)) for name in (total, bad)]
            continue
        for sli, shape in shapes.items():
            rules += _shared_counts(shape, sli, window)
        for slo in own:
            rules += _own_counts(slo, window)
    for window in windows:
        rules += _ratios(window)
    return rules + _period(sorted({m.slo.period for m in members}, key=seconds))
