"""Alert windows and burn factors, as data.

Multiwindow, multi-burn-rate alerting (SRE workbook, "Alerting on SLOs"): a
pair fires when the error budget burns faster than `burn_factor` over both
a long window and a short window (1/12 of it). The long window makes the
alert significant (a set share of the period's budget is gone); the short
window makes it stop soon after the burn stops.

The budget share of each pair is the data; the burn factor follows from it:
    burn_factor = budget_share × period / long window
so 30d gives the workbook's 14.4 / 6 / 3 / 1.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from types import MappingProxyType
from typing import Any

# Rule groups of SLOs are evaluated every minute, whatever the tier's global
# interval: the shortest window is 5m, so 15s steps change nothing a page
# could act on, while every step re-reads up to 6h of raw samples per window.
# It also bounds how long an alert waits for the next evaluation to 1m.
EVALUATION_INTERVAL = "1m"

# Windows up to this length are computed from the raw counters; longer ones
# add up recorded counts, the tiles (see engine.py), instead of reading days
# of raw samples of every matching series at each evaluation
# (benchmarks/reports/long-windows.md measures both). The period adds up 5m
# tiles at 5m steps; the 1d and 3d windows of a counter SLI add up 1m tiles
# at every evaluation, so a ticket does not wait for the next 5m boundary.
RAW_WINDOW_LIMIT = "6h"
TILE = "5m"
DAY_TILE = "1m"  # = EVALUATION_INTERVAL: one tile per evaluation
TILES = (DAY_TILE, TILE)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def seconds(duration: str) -> int:
    """Seconds of a Prometheus duration such as 5m, 1h30m or 3d."""
    match = _DURATION.match(duration)
    if not duration or not match:
        raise ValueError(f"not a duration: {duration!r}")
    return sum(int(n) * _UNITS[u] for n, u in zip(match.groups(), "wdhms", strict=True) if n)


def duration(total: int) -> str:
    """The shortest Prometheus spelling of a whole number of seconds (86400 → 1d)."""
    if total <= 0:
        raise ValueError(f"not a positive duration: {total}")
    out = ""
    for unit in "dhms":
        count, total = divmod(total, _UNITS[unit])
        if count:
            out += f"{count}{unit}"
    return out


@dataclass(frozen=True)
class Pair:
    """One burn-rate alert: a long and a short window and their threshold."""

    role: str  # fast | medium | slow | chronic
    alert: str  # alert name; stable across periods
    long: str
    short: str
    budget_share: Fraction  # share of the period's budget spent when it fires
    burn_factor: float
    severity: str
    for_: str

    @property
    def windows(self) -> tuple[str, str]:
        return (self.long, self.short)


@dataclass(frozen=True)
class WindowTable:
    period: str
    period_seconds: int
    pairs: tuple[Pair, ...]

    def pair(self, role: str) -> Pair:
        return next(p for p in self.pairs if p.role == role)

    def by_long_window(self, long: str) -> Pair | None:
        return next((p for p in self.pairs if p.long == long), None)


# role, alert, long, short, severity, for. Pages are the pairs that catch a
# burn within hours; tickets the ones that need a day or more to be sure.
# The windows do the filtering (the workbook's design): the long one makes
# an alert significant, the short one keeps it from reacting to a blip or
# outliving the burn. `for` only absorbs a glitch of one evaluation (a
# counter reset, a late scrape), so it is two evaluations (1m each) on every
# pair; a longer one only made tickets late (a full outage ticketed after
# 20 minutes with `for: 15m`, where the windows say 5).
PAIR_FOR = "2m"
_GEOMETRY: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("fast", "SLOErrorBudgetBurnFast", "1h", "5m", "critical", PAIR_FOR),
    ("medium", "SLOErrorBudgetBurnMedium", "6h", "30m", "critical", PAIR_FOR),
    ("slow", "SLOErrorBudgetBurnSlow", "1d", "2h", "warning", PAIR_FOR),
    ("chronic", "SLOErrorBudgetBurnChronic", "3d", "6h", "warning", PAIR_FOR),
)

# Budget share spent when each pair fires. 30d and 28d are the workbook's.
# A pair with share s over long window L catches every burn that would empty
# the budget within L/s; for 28d those horizons are 50 h, 5 d, 10 d and the
# period. A 7d budget is small, so its horizons must be shorter than the
# period by more than 28d's are: 12.5 h, 2 d, 5 d and the period (Sloth's
# 7-day windows make the same choice). Keeping 28d's factors instead (4× its
# shares) left a burn that empties a 7d budget in 42 h without any page.
_SHARES: Mapping[str, tuple[str, str, str, str]] = MappingProxyType(
    {
        "30d": ("2/100", "5/100", "10/100", "10/100"),
        "28d": ("2/100", "5/100", "10/100", "10/100"),
        "7d": ("8/100", "125/1000", "20/100", "42/100"),
    }
)

PERIODS: tuple[str, ...] = tuple(_SHARES)
DEFAULT_PERIOD = "30d"


def burn_factor(budget_share: Fraction, period: str, long: str) -> float:
    return float(budget_share * seconds(period) / seconds(long))


def windows(period: str) -> WindowTable:
    """The window pairs of an SLO period (7d, 28d or 30d), burn factors computed."""
    if period not in _SHARES:
        raise KeyError(f"unsupported SLO period {period!r}: supported are {', '.join(PERIODS)}")
    pairs = []
    for (role, alert, long, short, severity, for_), share in zip(_GEOMETRY, _SHARES[period], strict=True):
        fraction = Fraction(share)
        pairs.append(Pair(role, alert, long, short, fraction, burn_factor(fraction, period, long), severity, for_))
    return WindowTable(period, seconds(period), tuple(pairs))


# Sloth's AlertWindows (sloth.slok.dev/v1) names the four pairs by purpose.
ALERT_WINDOWS_API = "sloth.slok.dev/v1"
_SLOTH_PAIRS = (("page", "quick"), ("page", "slow"), ("ticket", "quick"), ("ticket", "slow"))


def from_alert_windows(document: Any) -> tuple[WindowTable | None, list[tuple[str, str]]]:
    """A window table from a Sloth AlertWindows document (the files of Sloth's
    --slo-period-windows-path): (table, []) or (None, [(field, reason)]).

    page.quick, page.slow, ticket.quick and ticket.slow become the fast,
    medium, slow and chronic pairs; burn factors follow from the budget
    shares as for the built-in tables. Each long window must be a multiple
    of its short one and fit the period; windows longer than the raw limit
    are sums of 5m counts, so they must be whole multiples of 5m."""
    found: list[tuple[str, str]] = []
    if not isinstance(document, dict) or document.get("kind") != "AlertWindows":
        return None, [("kind", "expected kind: AlertWindows")]
    if document.get("apiVersion") != ALERT_WINDOWS_API:
        found.append(("apiVersion", f"expected {ALERT_WINDOWS_API!r}, got {document.get('apiVersion')!r}"))
    spec = document.get("spec")
    if not isinstance(spec, dict):
        return None, [*found, ("spec", "required: sloPeriod, page and ticket")]
    period = spec.get("sloPeriod")
    try:
        period_seconds = seconds(str(period))
    except ValueError:
        return None, [*found, ("spec.sloPeriod", f"{period!r} is not a duration such as 30d")]
    pairs = []
    for (kind, speed), (role, alert, _, _, severity, for_) in zip(_SLOTH_PAIRS, _GEOMETRY, strict=True):
        field = f"spec.{kind}.{speed}"
        item = (spec.get(kind) or {}).get(speed) if isinstance(spec.get(kind), dict) else None
        if not isinstance(item, dict):
            found.append((field, "required: errorBudgetPercent, shortWindow, longWindow"))
            continue
        percent = item.get("errorBudgetPercent")
        if isinstance(percent, bool) or not isinstance(percent, int | float) or not 0 < percent <= 100:
            found.append((f"{field}.errorBudgetPercent", f"{percent!r} is not a percentage in (0, 100]"))
            continue
        try:
            long, short = seconds(str(item.get("longWindow"))), seconds(str(item.get("shortWindow")))
        except ValueError:
            found.append((field, f"longWindow {item.get('longWindow')!r} and shortWindow {item.get('shortWindow')!r} must be durations"))
            continue
        if short >= long or long % short:
            found.append((f"{field}.longWindow", f"{duration(long)} must be a whole multiple (above one) of shortWindow {duration(short)}"))
            continue
        if long > period_seconds:
            found.append((f"{field}.longWindow", f"{duration(long)} is longer than the period {duration(period_seconds)}"))
            continue
        if long > seconds(RAW_WINDOW_LIMIT) and long % seconds("5m"):
            reason = f"{duration(long)}: windows above {RAW_WINDOW_LIMIT} add up 5m counts, so use a multiple of 5m"
            found.append((f"{field}.longWindow", reason))
            continue
        share = Fraction(str(percent)) / 100
        factor = float(share * period_seconds / long)
        pairs.append(Pair(role, alert, duration(long), duration(short), share, factor, severity, for_))
    if found:
        return None, found
    return WindowTable(duration(period_seconds), period_seconds, tuple(pairs)), []


def catalog(extra: tuple[WindowTable, ...] = ()) -> dict[str, WindowTable]:
    """The built-in tables, with `extra` added or replacing the table of their period."""
    out = {period: windows(period) for period in PERIODS}
    for table in extra:
        out[table.period] = table
    return out


ROLES: tuple[str, ...] = tuple(g[0] for g in _GEOMETRY)
BURN_ALERTS: tuple[str, ...] = tuple(g[1] for g in _GEOMETRY)


@dataclass(frozen=True)
class TierAlerting:
    """What the SLO engine generates in a tier, besides the recordings."""

    pairs: tuple[str, ...]  # roles
    no_data: bool
    budget_exhausted: bool
    compliance: bool


# Each tier adds to the one below: pages; + the 1d ticket; + the 3d ticket
# and a no-data alert; + the error-budget policy and compliance alerts.
TIER_ALERTING: Mapping[str, TierAlerting] = MappingProxyType(
    {
        "basic": TierAlerting(("fast", "medium"), no_data=False, budget_exhausted=False, compliance=False),
        "intermediate": TierAlerting(("fast", "medium", "slow"), no_data=False, budget_exhausted=False, compliance=False),
        "advanced": TierAlerting(ROLES, no_data=True, budget_exhausted=False, compliance=False),
        "enterprise": TierAlerting(ROLES, no_data=True, budget_exhausted=True, compliance=True),
    }
)
