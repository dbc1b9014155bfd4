"""SLIs as event counts: how many events happened in a window, and how many were bad.

Every SLI is reduced to two PromQL templates that return one label-less
sample each: all events and bad events in `$window`. Counting events (not
averaging ratios) is what makes longer windows and the period budget
traffic-weighted: they are sums of counts. `$seconds` is the window length
in seconds, for sources that return rates.

A query SLI aggregated `by (labels)` (Sloth's grouped SLIs, e.g. per
route) keeps those labels: one SLI, budget and set of alerts per group. Its
counts are `sum by (labels)` instead of `sum`; a group label obs sets itself
(service, namespace, cluster…) is kept as `slo_<label>`, as Sloth's labels are.

Counters are counted twice over: over a window, `increase(c[$window])`;
over the tiles that longer windows add up (1m and 5m), the exact difference
of the counter's samples, `c - c offset 1m` (an `increase` where the series
is new, was reset or has a gap). Consecutive differences telescope, so a sum of
tiles is the counter's exact increase: `increase()` extrapolates each tile
to its edges and drops what happened between two tiles' samples (with one
error every 10 minutes, a day of increase tiles counted 0 to 1.25 per error,
depending on where the errors fell; see benchmarks/reports/long-windows.md).

SLIs built from a telemetry contract or a blackbox probe also have a
*shape*: the same counts for every service at once, `sum by ($by)` of the
labels that tell services apart, plus the values of those labels for this
SLO. SLOs of one shape share their recording rules (see engine.py); queries
written by hand (ratio, Sloth, OpenSLO) have no shape and get rules of their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ... import promql
from ...telemetry import Contract, le_matcher
from .validate import RESERVED_LABELS, Problems
from .windows import TILES, seconds

# A plain series selector: increase() can read it directly. Anything else
# is an expression and goes through a subquery.
_SELECTOR = re.compile(r'^\s*(?:[a-zA-Z_:][a-zA-Z0-9_:]*\s*)?(?:\{(?:[^{}"]|"(?:[^"\\]|\\.)*")*\})?\s*$')
_SUBQUERY_STEP = "1m"


@dataclass(frozen=True)
class Shape:
    """Counts of every series group at once: templates over `$window` and `$by`."""

    kind: str
    keys: tuple[str, ...]  # labels of the raw series that tell one SLO's events from another's
    total: str
    bad: str
    tile_total: str = ""  # a tile (1m, 5m) when it is not the template over the tile (see the module docstring)
    tile_bad: str = ""
    exact_tiles: bool = False  # tiles add up exactly (exact differences, or counts of samples)

    def total_in(self, window: str) -> str:
        return _fill(_tile_or(self.total, self.tile_total, window), window).replace("$by", ", ".join(self.keys))

    def bad_in(self, window: str) -> str:
        return _fill(_tile_or(self.bad, self.tile_bad, window), window).replace("$by", ", ".join(self.keys))


@dataclass(frozen=True)
class SLI:
    kind: str
    total: str  # template: all events in $window
    bad: str  # template: bad events in $window (may be empty when there are none)
    good_means: str  # what a good event is, for people
    shape: Shape | None = None
    values: tuple[str, ...] = ()  # this SLO's value of each of shape.keys
    groups: tuple[str, ...] = ()  # labels of its counts: one SLI per group (renamed as group_label says)
    tile_total: str = ""
    tile_bad: str = ""
    exact_tiles: bool = False

    def total_in(self, window: str) -> str:
        return _fill(_tile_or(self.total, self.tile_total, window), window)

    def bad_in(self, window: str) -> str:
        return _fill(_tile_or(self.bad, self.tile_bad, window), window)


def _tile_or(template: str, tile: str, window: str) -> str:
    return tile if tile and window in TILES else template


def _fill(template: str, window: str) -> str:
    return template.replace("$window", window).replace("$seconds", str(seconds(window)))


def _increase(selector: str) -> str:
    return f"sum(increase({selector}[$window]))"


def _difference(selector: str) -> str:
    """A counter's exact increase over a tile ($window, 1m or 5m), per series: the difference
    of its samples a tile apart, or (series new, reset, or with a gap) its increase()."""
    return f"(\n  {selector} - {selector} offset $window >= 0\n  or\n  increase({selector}[$window])\n)"


def _tile(selector: str) -> str:
    return f"sum{_difference(selector)}"


def _tile_by(selector: str) -> str:
    return f"sum by ($by) {_difference(selector)}"


def group_label(label: str) -> str:
    """The name a group label has in the recordings: labels obs sets itself get a prefix."""
    return f"slo_{label}" if label in RESERVED_LABELS else label


def groups_of(*queries: str) -> tuple[tuple[str, ...], str]:
    """The labels queries are aggregated by (their outermost `by`), the same for
    all of them: (labels, "") or ((), reason). A query whose labels the text
    does not tell (a bare selector, `without`) counts as one series."""
    found = [promql.grouping(q.replace("$window", "5m")) or () for q in queries]
    if len(set(found)) > 1:
        described = " and ".join(f"by ({', '.join(g)})" if g else "not grouped" for g in found)
        return (), f"the queries must be aggregated by the same labels to give one SLI per group; they are {described}"
    return found[0], ""


def checked_groups(problems: Problems, src: str, path: str, *queries: str) -> tuple[str, ...]:
    """groups_of, with the reason reported at `path`; () when a query is missing or does
    not parse (that is reported with the SLO's other query checks)."""
    if not all(queries):
        return ()
    try:
        groups, reason = groups_of(*queries)
    except promql.PromQLError:
        return ()
    if reason:
        problems.add(src, path, reason)
    return groups


def _sum(groups: tuple[str, ...]) -> str:
    return f"sum by ({', '.join(groups)}) " if groups else "sum"


def _renamed(expr: str, groups: tuple[str, ...]) -> str:
    for label in groups:
        if group_label(label) != label:
            expr = f'label_replace({expr}, {promql.string(group_label(label))}, "$1", {promql.string(label)}, "(.*)")'
    return expr


def counter_increase(expr: str, groups: tuple[str, ...] = ()) -> str:
    """Events counted by a counter selector or a counter-valued expression."""
    if _SELECTOR.match(expr) and expr.strip():
        return _increase(expr.strip())
    # A sum of counters drops when one of them resets, which increase()
    # reads as a reset of the whole sum; a selector is safer when possible.
    return _renamed(f"{_sum(groups)}(increase(({expr.strip()})[$window:{_SUBQUERY_STEP}]))", groups)


def counter_tile(expr: str) -> str:
    """The tile of a counter selector (see the module docstring); "" for an expression."""
    return _tile(expr.strip()) if _SELECTOR.match(expr) and expr.strip() else ""


# Functions that turn a counter into a rate or an increase over a range the
# query fixes itself: increase() over such a query counts nothing meaningful.
_RANGED = frozenset({"rate", "irate", "increase", "delta", "idelta", "deriv"})


def counter_problem(query: str) -> str:
    """Why a query said to be a counter is not one, or ""."""
    ranged = sorted(promql.functions(query) & _RANGED)
    if not ranged:
        return ""
    return (
        f"the query already applies {', '.join(ranged)}() over a range of its own, so it is not a counter: "
        "give the counter itself (obsgen takes its increase over each window)"
    )


def _increase_by(selector: str) -> str:
    return f"sum by ($by) (increase({selector}[$window]))"


def _keys(contract: Contract) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return tuple(k for k, _ in contract.selector), tuple(v for _, v in contract.selector)


def availability(contract: Contract, error_status: str = "5..") -> SLI:
    requests = contract.requests
    keys, values = _keys(contract)
    errors = "{" + contract.error_matcher(error_status) + "}"
    total, bad = requests + contract.matchers(), requests + contract.matchers(contract.error_matcher(error_status))
    return SLI(
        kind="availability",
        total=_increase(total),
        bad=_increase(bad),
        good_means=f"requests answered with a status not matching {error_status}",
        shape=Shape(
            "requests",
            keys,
            _increase_by(requests),
            _increase_by(requests + errors),
            _tile_by(requests),
            _tile_by(requests + errors),
            exact_tiles=True,
        ),
        values=values,
        tile_total=_tile(total),
        tile_bad=_tile(bad),
        exact_tiles=True,
    )


def error_rate(contract: Contract, error_status: str) -> SLI:
    return replace(availability(contract, error_status), kind="error-rate")


def latency(contract: Contract, threshold: float) -> SLI:
    count = f"{contract.duration}_count{contract.matchers()}"
    fast = contract.duration_bucket + contract.matchers(le_matcher(threshold))
    keys, values = _keys(contract)
    count_by, fast_by = f"{contract.duration}_count", f"{contract.duration_bucket}{{{le_matcher(threshold)}}}"

    def slow(all_events: str, fast_events: str) -> str:
        # Slow = all − fast; clamp because two extrapolated increases can
        # differ by a rounding error at zero traffic.
        return f"clamp_min({all_events} - {fast_events}, 0)"

    return SLI(
        kind="latency",
        total=_increase(count),
        bad=slow(_increase(count), _increase(fast)),
        good_means=f"requests answered within {threshold:g}s",
        shape=Shape(
            "latency",
            keys,
            _increase_by(count_by),
            slow(_increase_by(count_by), _increase_by(fast_by)),
            _tile_by(count_by),
            slow(_tile_by(count_by), _tile_by(fast_by)),
            exact_tiles=True,
        ),
        values=values,
        tile_total=_tile(count),
        tile_bad=slow(_tile(count), _tile(fast)),
        exact_tiles=True,
    )


def dependency_service(contract: Contract, dependency: str, callee: str) -> SLI:
    # The callee's requests: the same shape (and rules) as its availability SLO.
    return replace(
        availability(contract), kind="dependency", good_means=f"requests to {callee} (dependency {dependency}) answered without a 5xx"
    )


_PROBE_KEYS = ("service", "dependency")
_PROBES = "probe_success{" + promql.matcher("job", "=", "blackbox") + "}"


def dependency_probe(service: str, dependency: str) -> SLI:
    matchers = ", ".join(promql.matcher(k, "=", v) for k, v in (("job", "blackbox"), ("service", service), ("dependency", dependency)))
    probes = f"probe_success{{{matchers}}}"
    total = f"sum(count_over_time({probes}[$window]))"
    total_by = f"sum by ($by) (count_over_time({_PROBES}[$window]))"
    return SLI(
        kind="dependency",
        total=total,
        bad=f"clamp_min({total} - sum(sum_over_time({probes}[$window])), 0)",
        good_means=f"successful blackbox probes of dependency {dependency}",
        # Windows of samples that do not overlap: tiles of any length add up exactly.
        shape=Shape(
            "probes",
            _PROBE_KEYS,
            total_by,
            f"clamp_min({total_by} - sum by ($by) (sum_over_time({_PROBES}[$window])), 0)",
            exact_tiles=True,
        ),
        values=(service, dependency),
        exact_tiles=True,
    )


def _named(groups: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(group_label(g) for g in groups)


def _tiles(*exprs: str) -> list[str]:
    """Each selector's tile, or none at all when one of them is an expression."""
    tiles = [counter_tile(e) for e in exprs]
    return tiles if all(tiles) else [""] * len(exprs)


def counters(errors: str, total: str, kind: str = "ratio", groups: tuple[str, ...] = ()) -> SLI:
    tile_bad, tile_total = _tiles(errors, total)
    return SLI(
        kind,
        counter_increase(total, groups),
        counter_increase(errors, groups),
        "events not counted by the errors expression",
        groups=_named(groups),
        tile_total=tile_total,
        tile_bad=tile_bad,
        exact_tiles=bool(tile_total),
    )


def good_counters(good: str, total: str, kind: str, groups: tuple[str, ...] = ()) -> SLI:
    all_events = counter_increase(total, groups)
    tile_good, tile_total = _tiles(good, total)
    return SLI(
        kind,
        all_events,
        f"clamp_min({all_events} - {counter_increase(good, groups)}, 0)",
        "events counted by the good expression",
        groups=_named(groups),
        tile_total=tile_total,
        tile_bad=f"clamp_min({tile_total} - {tile_good}, 0)" if tile_total else "",
        exact_tiles=bool(tile_total),
    )


def error_ratio(query: str, kind: str, groups: tuple[str, ...] = ()) -> SLI:
    """A query that returns the error ratio over $window (Sloth's sli.raw).

    The engine counts events; a ratio has none, so every second counts as
    one event: total = the window's seconds (while the query returns a
    value, so an SLI without data stays absent), bad = ratio × seconds. The
    SLI is then time-weighted, not traffic-weighted (a quiet minute weighs
    as much as a busy one), and the low-traffic guard (minEvents) always
    passes: a ratio cannot say how much traffic is behind it."""
    ratio = f"{_sum(groups)}({query.strip()})"
    return SLI(
        kind,
        _renamed(f"({ratio} * 0 + 1) * $seconds", groups),
        _renamed(f"{ratio} * $seconds", groups),
        "the share of time not counted by the error ratio",
        groups=_named(groups),
    )


def rates(error_query: str, total_query: str, kind: str, groups: tuple[str, ...] = (), good: bool = False) -> SLI:
    """Queries that return per-second rates over $window (Sloth's contract): rate × window = events.
    With `good`, the first query counts the good events instead of the bad ones."""
    agg = _sum(groups)
    all_events = f"{agg}({total_query.strip()})"
    bad = f"({all_events} - {agg}({error_query.strip()}))" if good else f"{agg}({error_query.strip()})"
    return SLI(
        kind,
        _renamed(f"{all_events} * $seconds", groups),
        _renamed(f"{bad} * $seconds", groups),
        "events not counted by the error query",
        groups=_named(groups),
    )
