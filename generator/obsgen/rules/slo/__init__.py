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
from ...model import SLO_MAX_GROUPS, Service, Stack
from ...tiers import TIER_ORDER
from ..alerts import GROUP_SIZE
from ..types import AlertRule, RecordingRule, RuleGroup
from . import alerts, engine, imports, periods, profile, sli
from .definition import DEFAULT_MIN_EVENTS, SLO
from .validate import Problems, SLOValidationErrors
from .windows import DEFAULT_PERIOD, EVALUATION_INTERVAL, TIER_ALERTING, Pair, TierAlerting, WindowTable, seconds
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
    periods.check(stack, source, problems)
    found = profile.slos(stack, problems) + imports.slos(stack, source, problems)
    first: dict[str, SLO] = {}
    # Sums over days take these from slo:info over any group label of the same name.
    descriptive = {engine.OWNER} | {k for slo in found for k, _ in slo.labels}
    for slo in found:
        _check_queries(slo, problems)
        for label in sorted(set(slo.sli.groups) & descriptive):
            problems.add(
                slo.file,
                f"{slo.field}.sli",
                f"the query is grouped by {label!r}, which is also a label of an SLO in this profile: rename one of them",
            )
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
    roles = slo.roles if slo.roles is not None else frozenset(_alerting(stack).pairs)
    return tuple(p for p in periods.of(stack)[slo.period].pairs if p.role in roles)


def _disabled(slo: SLO, stack: Stack) -> frozenset[str]:
    service = _service(slo, stack)
    return stack.alerts_disabled | (service.alerts_disabled if service else frozenset())


def _alerts(slo: SLO, tier: TierAlerting, pairs: tuple[Pair, ...]) -> list[AlertRule]:
    who = alerts.one(slo)
    rules = [alerts.burn(who, pair) for pair in pairs]
    if tier.no_data if slo.no_data is None else slo.no_data:
        rules.append(alerts.no_data(who))
    if tier.budget_exhausted:
        rules.append(alerts.budget_exhausted(who))
    if tier.compliance:
        rules.append(alerts.compliance(who))
    return rules


def alert_rules(slo: SLO, stack: Stack) -> list[AlertRule]:
    """The SLO's alerts in this tier, minus those the profile disables by name."""
    disabled = _disabled(slo, stack)
    return [r for r in _alerts(slo, _alerting(stack), alert_pairs(slo, stack)) if r.identity not in disabled]


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
    found[alerts.GROUP_LIMIT] = (alerts.group_limit(SLO_MAX_GROUPS), TIER_ORDER[0])  # every tier, with a grouped SLI
    return list(found.values())


def _service(slo: SLO, stack: Stack) -> Service | None:
    return next((s for s in stack.services if s.name == slo.service and s.namespace == slo.namespace), None)


def _own_alerts(slo: SLO, stack: Stack) -> bool:
    """Whether the SLO's alerts differ from what the shared rules give every SLO of the tier."""
    if slo.pairs is not None or slo.no_data is not None or slo.alert_labels or slo.alert_name:
        return True
    if slo.annotations or slo.kind_labels or slo.kind_annotations:
        return True
    if slo.roles is not None and slo.roles != frozenset(_alerting(stack).pairs):
        return True
    service = _service(slo, stack)
    names = {r.identity for r in _alerts(slo, _alerting(stack), alert_pairs(slo, stack))}
    return bool(service and (names & service.alerts_disabled or names & set(service.alert_overrides)))


def _shared_alerts(members: list[engine.Member], stack: Stack) -> list[AlertRule]:
    tier = _alerting(stack)
    shared = [m.slo for m in members if not m.own_alerts]
    layout = engine.layout([m.slo for m in members])
    tables = periods.of(stack)
    used = sorted({slo.period for slo in shared}, key=seconds)
    rules = [alerts.burn(alerts.every(p, layout), tables[p].pair(role)) for role in tier.pairs for p in used]
    if shared and tier.no_data:
        rules.append(alerts.no_data(alerts.every("", layout)))
    if tier.budget_exhausted:
        actions = sorted({(slo.period, slo.policy_action) for slo in shared}, key=lambda pa: (seconds(pa[0]), pa[1]))
        rules += [alerts.budget_exhausted(alerts.every(p, layout, action)) for p, action in actions]
    if tier.compliance:
        rules += [alerts.compliance(alerts.every(p, layout)) for p in used]
    return [r for r in rules if r.name not in stack.alerts_disabled]


def _rules(found: list[SLO], stack: Stack) -> tuple[list[RecordingRule], list[RecordingRule | AlertRule]]:
    """(slo:info rules, every other rule in evaluation order) of these SLOs."""
    members = [engine.Member(slo, _own_alerts(slo, stack)) for slo in found]
    windows = engine.recorded_windows(tuple(p for slo in found for p in alert_pairs(slo, stack)))
    rules: list[RecordingRule | AlertRule] = [*engine.recordings(members, windows, stack.slo_max_groups), *_shared_alerts(members, stack)]
    if any(slo.sli.groups for slo in found) and alerts.GROUP_LIMIT not in stack.alerts_disabled:
        rules.append(alerts.group_limit(stack.slo_max_groups))
    for m in members:
        if m.own_alerts:
            rules += alert_rules(m.slo, stack)
    return [m.info() for m in members], rules


def group(slo: SLO, stack: Stack) -> RuleGroup:
    """The rules one SLO gets when it is the stack's only SLO, in one group (info first): what tests evaluate."""
    info, rules = _rules([slo], stack)
    return RuleGroup(name=f"slo-{slo.name}", rules=(*info, *rules), interval=EVALUATION_INTERVAL)


INFO_GROUP = "slo-info"
GROUP = "slo-rules"


def rule_groups(stack: Stack) -> list[RuleGroup]:
    """slo:info in groups of at most GROUP_SIZE rules, then one ordered group of everything else."""
    found = slos(stack)
    if not found:
        return []
    info, rules = _rules(found, stack)
    groups = [
        RuleGroup(INFO_GROUP + (f"-{k // GROUP_SIZE + 1}" if k else ""), tuple(info[k : k + GROUP_SIZE]), EVALUATION_INTERVAL)
        for k in range(0, len(info), GROUP_SIZE)
    ]
    return [*groups, RuleGroup(GROUP, tuple(rules), EVALUATION_INTERVAL)]


def inhibit_rules(stack: Stack) -> list[dict[str, Any]]:
    """Alertmanager inhibit_rules: a faster burn alert silences the slower ones of the same SLO."""
    found = slos(stack)
    rules = [rule for slo in found for rule in alert_rules(slo, stack)]
    renamed = {}
    for slo in found:
        if slo.alert_name:
            longs = tuple(p.long for p in alert_pairs(slo, stack))
            if len(longs) > 1:
                renamed[(slo.alert_name, longs)] = True
    return alerts.inhibit_rules({r.name for r in rules if not r.canonical}, set(renamed), engine.layout(found).groups)
