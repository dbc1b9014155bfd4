"""The SLO engine: SLOs from the profile and its sloFiles → recording rules,
multiwindow burn-rate alerts and Alertmanager inhibitions.

Modules by concern: windows (pairs and burn factors per period, what each
tier alerts on), sli (SLIs as event counts), profile / sloth / openslo /
imports (the three sources), validate (shared checks, error collection),
engine (recording rules), alerts (alert rules, runbooks, inhibitions).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ... import promql
from ...model import Stack
from ...tiers import TIER_ORDER
from ..types import AlertRule, RuleGroup
from . import alerts, engine, imports, profile, sli
from .definition import DEFAULT_MIN_EVENTS, SLO
from .validate import Problems, SLOValidationErrors
from .windows import DEFAULT_PERIOD, EVALUATION_INTERVAL, TIER_ALERTING, Pair, TierAlerting, WindowTable
from .windows import windows as _windows

__all__ = [
    "EVALUATION_INTERVAL",
    "SLO",
    "TIER_ALERTING",
    "Pair",
    "SLOValidationErrors",
    "TierAlerting",
    "WindowTable",
    "alert_pairs",
    "alert_rules",
    "catalogue",
    "group",
    "inhibit_rules",
    "rule_groups",
    "slos",
    "windows",
]


def windows(period: str = "30d") -> WindowTable:
    """Window pairs of a period (7d, 28d, 30d) with their budget shares and computed burn factors."""
    return _windows(period)


def slos(stack: Stack) -> list[SLO]:
    """Every SLO of the stack (profile first, then sloFiles in order), validated.

    Raises ValidationErrors (SLOValidationErrors) listing every problem of every file.
    """
    problems = Problems()
    source = profile.source(stack)
    found = profile.slos(stack, problems) + imports.slos(stack, source, problems)
    first: dict[str, SLO] = {}
    for slo in found:
        _check_queries(slo, problems)
        if slo.name in first:
            problems.add(slo.file, f"{slo.field}.name", f"SLO name {slo.name!r} is already used by {first[slo.name].source}")
        first.setdefault(slo.name, slo)
    problems.raise_if_any()
    return found


def _check_queries(slo: SLO, problems: Problems) -> None:
    """The SLI's queries as the recordings will hold them must parse: a query
    from a file (Sloth, OpenSLO, a ratio) is PromQL Prometheus has not seen yet."""
    for what, expr in (("events", slo.sli.total_in("5m")), ("bad events", slo.sli.bad_in("5m"))):
        if not expr:
            continue
        try:
            promql.check(expr)
        except promql.PromQLError as exc:
            problems.add(slo.file, f"{slo.field}.sli", f"the {what} query {exc}")


def _alerting(stack: Stack) -> TierAlerting:
    return TIER_ALERTING[stack.tier.name]


def alert_pairs(slo: SLO, stack: Stack) -> tuple[Pair, ...]:
    """The burn-rate pairs an SLO alerts on: its file's own, or the tier's."""
    if slo.pairs is not None:
        return slo.pairs
    roles = _alerting(stack).pairs
    return tuple(p for p in _windows(slo.period).pairs if p.role in roles)


def _disabled(slo: SLO, stack: Stack) -> frozenset[str]:
    service = next((s for s in stack.services if s.name == slo.service and s.namespace == slo.namespace), None)
    return stack.alerts_disabled | (service.alerts_disabled if service else frozenset())


def _alerts(slo: SLO, tier: TierAlerting, pairs: tuple[Pair, ...]) -> list[AlertRule]:
    rules = [alerts.burn(slo, pair) for pair in pairs]
    if tier.no_data if slo.no_data is None else slo.no_data:
        rules.append(alerts.no_data(slo))
    if tier.budget_exhausted:
        rules.append(alerts.budget_exhausted(slo))
    if tier.compliance:
        rules.append(alerts.compliance(slo))
    return rules


def alert_rules(slo: SLO, stack: Stack) -> list[AlertRule]:
    """The SLO's alerts in this tier, minus those the profile disables by name."""
    disabled = _disabled(slo, stack)
    return [r for r in _alerts(slo, _alerting(stack), alert_pairs(slo, stack)) if r.name not in disabled]


def catalogue() -> list[tuple[AlertRule, str]]:
    """One example of every alert the engine can generate, with the first tier that does
    (for docs/runbooks: built-in profiles declare no SLO). Runbooks are the same for every SLO."""
    example = SLO(
        name="example",
        service="example",
        namespace="default",
        team="",
        objective=Decimal("99.9"),
        period=DEFAULT_PERIOD,
        min_events=DEFAULT_MIN_EVENTS,
        sli=sli.counters("errors_total", "requests_total"),
        file="(example)",
        field="",
    )
    found: dict[str, tuple[AlertRule, str]] = {}
    for tier in TIER_ORDER:
        table = TIER_ALERTING[tier]
        pairs = tuple(p for p in _windows(DEFAULT_PERIOD).pairs if p.role in table.pairs)
        for rule in _alerts(example, table, pairs):
            found.setdefault(rule.name, (rule, tier))
    return list(found.values())


def group(slo: SLO, stack: Stack) -> RuleGroup:
    """Recordings first: alerts of the same evaluation read this evaluation's counts."""
    rules = [*engine.recordings(slo, alert_pairs(slo, stack)), *alert_rules(slo, stack)]
    return RuleGroup(name=f"slo-{slo.name}", rules=tuple(rules), interval=EVALUATION_INTERVAL)


def rule_groups(stack: Stack) -> list[RuleGroup]:
    """One group per SLO, in declaration order."""
    return [group(slo, stack) for slo in slos(stack)]


def inhibit_rules(stack: Stack) -> list[dict[str, Any]]:
    """Alertmanager inhibit_rules: a faster burn alert silences the slower ones of the same SLO."""
    names = {rule.name for slo in slos(stack) for rule in alert_rules(slo, stack)}
    return alerts.inhibit_rules(names)
