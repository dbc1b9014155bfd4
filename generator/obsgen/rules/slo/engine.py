"""Recording rules of every SLO of a stack: event counts per window, ratios,
burn rates, budget.

Counts come first and everything else is derived from them, so long
windows and the period are traffic-weighted sums of events, never averages
of ratios. Ratios are only recorded when their window saw traffic: zero
traffic gives no series instead of NaN.

Windows up to 6h read the raw counters. Longer ones add up recorded counts
of short tiles (a subquery whose steps tile the window without overlap, each
count covering the tile before it): one recorded series read instead of days
of raw samples of every matching series. A counter SLI's tiles are exact
differences of its samples (see sli.py), so their sum is the counter's
increase; 1d and 3d add up 1m tiles, recorded at every evaluation, and end
at it; the period adds up 5m tiles at 5m steps. A query SLI (Sloth,
OpenSLO, sli.raw) is tiled by its own query over 5m, and its 1d and 3d
windows end at the last 5m boundary (less than 5m late, which only a ticket
sees).

Labels. An SLO is identified by (slo, service, namespace); a grouped SLI
(see sli.py) adds its group labels, one series per group. The owning team
and the labels of its file (Sloth's and OpenSLO's) are on every recording
too, as Sloth puts them, but they only describe: sums over days (1d, 3d,
the period) add up the tiles by identity and group alone and take the
descriptive labels from today's `slo:info`. Moving a service to another
team, or relabelling an SLO, changes the labels of every window at once and
splits no budget in two.

Rules are shared between SLOs, so their number grows with SLI shapes,
windows and distinct objectives, not with services (300 services used to
mean 30,000 rules, over every Kubernetes object limit):

- Each SLO has one static series, `slo:info`, labelled with its identity,
  its team and labels, its settings (period, objective, min_events, action,
  who alerts on it) and, for an SLI with a shape (see sli.py), the shape's
  id and this SLO's values of the shape's labels.
- Per shape and window, one rule counts the events of every service at once
  (`sum by` the shape's labels) and joins the counts to the `slo:info`
  series of that shape: every SLO of the shape gets its count, labelled with
  its identity only. Selector labels that are also identity or settings
  labels (`service`, `namespace`) are renamed `selector_<label>` on both
  sides of the join.
- SLIs written as queries (ratio, Sloth, OpenSLO) have count rules of their
  own, with the same labels.
- Everything after the counts is one rule for all SLOs: vector matching on
  identical label sets pairs each SLO's (and group's) series. Per-SLO
  numbers (objective, budget, minimum events, period length) are recorded
  from the `slo:info` labels, one rule per distinct value, and joined on the
  identity.
- A grouped SLI records how many groups it has (`slo:sli_groups:count`,
  from the 5m window); above the limit (sloDefaults.maxGroups) its counts
  are summed into one series, as an ungrouped SLI's, and
  SLOGroupLimitExceeded says so: a query grouped by a label with unbounded
  values (a user id, a URL) must not multiply every recording.

`slo:info` rules go in groups of their own (see __init__.py): they are
static, and the counts read them from the previous evaluation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from ... import promql
from ..types import RecordingRule
from .definition import SLO
from .sli import Shape
from .windows import DAY_TILE, RAW_WINDOW_LIMIT, TILE, Pair, seconds

SHORTEST = TILE  # period sums are built from this window's counts
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

GROUPS = "slo:sli_groups:count"

# Labels that tell one SLO from another.
IDENTITY = ("slo", "service", "namespace")
OWNER = "team"
# slo:info's own labels besides the identity.
SETTINGS = ("sli", "period", "objective", "min_events", "action", "alerts")
QUERY_SLI = "query"  # sli label of an SLO counted by its own queries
TIER_ALERTS, OWN_ALERTS = "tier", "own"  # alerts label: shared alert rules, or rules of its own
SELECTOR_PREFIX = "selector_"
_RESERVED = frozenset((*IDENTITY, OWNER, *SETTINGS))
ON_IDENTITY = f"on ({', '.join(IDENTITY)})"


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


@dataclass(frozen=True)
class Layout:
    """The label names the recordings of a stack's SLOs carry besides the identity."""

    labels: tuple[str, ...] = (OWNER,)  # descriptive: the team and every SLO's file labels
    groups: tuple[str, ...] = ()  # every grouped SLI's group labels


def layout(slos: list[SLO]) -> Layout:
    labels = sorted({k for slo in slos for k, _ in slo.labels} - {OWNER})
    groups = sorted({g for slo in slos for g in slo.sli.groups})
    return Layout((OWNER, *labels), tuple(groups))


def _by(labels: tuple[str, ...]) -> str:
    return f"by ({', '.join(labels)})"


def with_setting(record: str) -> str:
    """Right side of an operator joining an SLO's (or group's) series with a per-SLO number."""
    return f"{ON_IDENTITY} group_left {record}"


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
            **dict(slo.labels),
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


def _joined(expr: str, shape: Shape, sli: str, layout: Layout) -> str:
    """Counts by the shape's labels → counts by SLO, for every SLO of the shape."""
    for key in shape.keys:
        if info_label(key) != key:
            expr = f'label_replace({expr}, {promql.string(info_label(key))}, "$1", {promql.string(key)}, "(.*)")'
    on = ", ".join(info_label(k) for k in shape.keys)
    return f"sum {_by((*IDENTITY, *layout.labels))} (\n{_indent(expr)}\n  * on ({on}) group_right\n  {info(sli=sli)}\n)"


def _shared_counts(shape: Shape, sli: str, window: str, layout: Layout) -> list[RecordingRule]:
    return [
        RecordingRule(total(window), _joined(shape.total_in(window), shape, sli, layout)),
        # No bad series at all (no error ever) must read as 0 bad events
        # while there is traffic, not as "no data".
        RecordingRule(
            bad(window),
            f"{_joined(shape.bad_in(window), shape, sli, layout)}\nor\n(0 * {total(window)} and {ON_IDENTITY} {info(sli=sli)})",
        ),
    ]


def _own_labels(slo: SLO) -> dict[str, str]:
    return {**slo.series_labels, **dict(slo.labels)}


def _limited(slo: SLO, expr: str, max_groups: int) -> str:
    """A grouped count while the SLO has at most max_groups groups, else their sum."""
    if not slo.sli.groups:
        return expr
    count = f"{GROUPS}{slo.selector}"
    grouped = f"(\n{_indent(expr)}\n  and on () {count} <= {max_groups}\n)"
    summed = f"(\n  sum(\n{_indent(_indent(expr))}\n  )\n  and on () {count} > {max_groups}\n)"
    return f"{grouped}\nor\n{summed}"


def _group_count(slo: SLO) -> list[RecordingRule]:
    if not slo.sli.groups:
        return []
    return [RecordingRule(GROUPS, f"count(\n{_indent(slo.sli.total_in(SHORTEST))}\n)", _own_labels(slo))]


def _own_counts(slo: SLO, window: str, max_groups: int) -> list[RecordingRule]:
    labels, sel = _own_labels(slo), slo.selector
    # Groups (and windows) without an error have no bad series: 0 where there is traffic.
    no_error = f"0 * sum {_by(slo.sli.groups)} ({total(window)}{sel})"
    return [
        RecordingRule(total(window), _limited(slo, slo.sli.total_in(window), max_groups), labels),
        RecordingRule(bad(window), f"{_limited(slo, slo.sli.bad_in(window), max_groups)}\nor\n{no_error}", labels),
    ]


def _summed(name: Callable[[str], str], window: str, layout: Layout, tile: str = SHORTEST) -> str:
    """A window of days as the sum of the tiles' counts, by identity and group; the
    descriptive labels are today's (see the module docstring)."""
    kept = (*IDENTITY, *layout.groups)
    summed = f"sum {_by(kept)} (sum_over_time({name(tile)}[{window}:{tile}]))"
    return f"{summed}\n* {ON_IDENTITY} group_left ({', '.join(layout.labels)})\n{INFO}"


def _long_window(name: Callable[[str], str], window: str, layout: Layout, exact: bool, inexact: bool) -> list[RecordingRule]:
    """1d, 3d: 1m tiles where they add up exactly, so the window ends at this
    evaluation; 5m tiles (ending at the last 5m boundary) for the other SLIs."""
    rules = [RecordingRule(name(window), _summed(name, window, layout, DAY_TILE))] if exact else []
    if inexact:
        only = f"\nunless {ON_IDENTITY}\n{total(DAY_TILE)}" if exact else ""
        rules.append(RecordingRule(name(window), _summed(name, window, layout) + only))
    return rules


def _per_value(record: str, label: str, values: dict[str, str], layout: Layout) -> list[RecordingRule]:
    """One rule per distinct value of an slo:info label: the number it stands for, per SLO."""
    by = _by((*IDENTITY, *layout.labels))
    return [RecordingRule(record, f"{number} * group {by} ({info(**{label: text})})") for text, number in values.items()]


def _settings(members: list[Member], layout: Layout) -> list[RecordingRule]:
    objectives = {number(m.slo.objective): m.slo for m in members}
    periods = sorted({m.slo.period for m in members}, key=seconds)
    minimums = sorted({m.slo.min_events for m in members})
    return [
        *_per_value(OBJECTIVE, "objective", {o: number(slo.objective_ratio) for o, slo in objectives.items()}, layout),
        *_per_value(ERROR_BUDGET, "objective", {o: number(slo.budget) for o, slo in objectives.items()}, layout),
        *_per_value(MIN_EVENTS, "min_events", {str(n): str(n) for n in minimums}, layout),
        *_per_value(PERIOD_SECONDS, "period", {p: str(seconds(p)) for p in periods}, layout),
    ]


def _ratios(window: str) -> list[RecordingRule]:
    return [
        RecordingRule(error_ratio(window), f"{bad(window)}\n/\n({total(window)} > 0)"),
        RecordingRule(burn_rate(window), f"{error_ratio(window)} / {with_setting(ERROR_BUDGET)}"),
    ]


def _period(periods: list[str], layout: Layout) -> list[RecordingRule]:
    rules = []
    for period in periods:
        only = f"\nand {ON_IDENTITY}\n{info(period=period)}"
        rules.append(RecordingRule(TOTAL_PERIOD, _summed(total, period, layout) + only))
        rules.append(RecordingRule(BAD_PERIOD, _summed(bad, period, layout) + only))
    period_error = f"{BAD_PERIOD} / ({TOTAL_PERIOD} > 0)"
    return [
        *rules,
        RecordingRule(SLI_PERIOD, f"1 - {period_error}"),
        RecordingRule(BUDGET_REMAINING, f"1 - ({period_error}) / {with_setting(ERROR_BUDGET)}"),
        # Remaining share × period / burn rate; both filters drop the series
        # when the budget is spent or nothing burns, rather than giving +Inf.
        RecordingRule(
            TIME_TO_EXHAUSTION,
            f"({BUDGET_REMAINING} > 0) * {with_setting(PERIOD_SECONDS)}\n/\n({burn_rate(BURN_REFERENCE)} > 0)",
        ),
    ]


def recordings(members: list[Member], windows: tuple[str, ...], max_groups: int) -> list[RecordingRule]:
    """Every recording of these SLOs but slo:info, in evaluation order: settings, counts, ratios, period."""
    shapes: dict[str, Shape] = {}
    for m in members:
        if m.shape:
            shapes.setdefault(m.sli, m.shape)
    own = [m.slo for m in members if m.sli == QUERY_SLI]
    shape = layout([m.slo for m in members])
    rules = _settings(members, shape)
    for slo in own:
        rules += _group_count(slo)
    long = [w for w in windows if seconds(w) > seconds(RAW_WINDOW_LIMIT)]
    tiled_shapes = {sli: s for sli, s in shapes.items() if s.exact_tiles}
    tiled_own = [slo for slo in own if slo.sli.exact_tiles]
    tiled = bool(long and (tiled_shapes or tiled_own))
    untiled = len(tiled_shapes) < len(shapes) or len(tiled_own) < len(own)
    for window in [*((DAY_TILE,) if tiled else ()), *windows]:
        if window in long:
            rules += [r for name in (total, bad) for r in _long_window(name, window, shape, tiled, untiled)]
            continue
        for sli, counted in (tiled_shapes if window == DAY_TILE else shapes).items():
            rules += _shared_counts(counted, sli, window, shape)
        for slo in tiled_own if window == DAY_TILE else own:
            rules += _own_counts(slo, window, max_groups)
    for window in windows:
        rules += _ratios(window)
    return rules + _period(sorted({m.slo.period for m in members}, key=seconds), shape)
