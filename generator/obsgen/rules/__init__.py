"""Every Prometheus rule of a stack, assembled into rule files.

Builders, one concern each: self_monitoring (the alerting pipeline),
recordings (RED per service, USE per node and pod), alerts (the tiered
catalogue), slo (SLO recordings and multi-window burn-rate alerts). This module only
decides which group lands in which file.
"""

from __future__ import annotations

import dataclasses
import difflib
from functools import cache
from typing import Any

from .. import limits
from ..model import Service, Stack
from ..tiers import TIER_ORDER
from . import alerts, recordings, self_monitoring, slo
from .types import AlertRule, RuleGroup


def _as_profiled(stack: Stack, group: RuleGroup, services: dict[tuple[str, str], Service]) -> RuleGroup:
    """The profile's alerts.disabled and alerts.overrides (`for`), applied to every
    alert whatever builder made it: catalogue, self-monitoring or SLO."""
    rules = []
    for rule in group.rules:
        if isinstance(rule, AlertRule):
            service = services.get((rule.labels.get("service", ""), rule.labels.get("namespace", "")))
            if rule.identity in stack.alerts_disabled or (service and rule.identity in service.alerts_disabled):
                continue
            for overrides in (stack.alert_overrides, service.alert_overrides if service else {}):
                if (o := overrides.get(rule.identity)) and o.for_:
                    rule = dataclasses.replace(rule, for_=o.for_)
        rules.append(rule)
    return dataclasses.replace(group, rules=tuple(rules))


# The groups of the stack being generated: rule files, the alert list the
# runbook pages and checks read, and the dashboards all come from them, and
# a 300-service stack takes a second to build. Keyed by identity; the entry
# holds the stack, so the id cannot be reused.
_GROUPS: dict[int, tuple[Stack, dict[str, list[RuleGroup]]]] = {}


def rule_groups(stack: Stack) -> dict[str, list[RuleGroup]]:
    """Rule groups by file name, in a stable order."""
    cached = _GROUPS.get(id(stack))
    if cached is None or cached[0] is not stack:
        _GROUPS.clear()
        cached = _GROUPS[id(stack)] = (stack, _build_groups(stack))
    return cached[1]


def _build_groups(stack: Stack) -> dict[str, list[RuleGroup]]:
    files: dict[str, list[RuleGroup]] = {
        "self-monitoring.yaml": self_monitoring.groups(stack),
        "recordings.yaml": recordings.groups(stack),
    }
    for area, groups in alerts.groups_by_area(stack).items():
        files[f"alerts-{area}.yaml"] = groups
    files["slo.yaml"] = slo.rule_groups(stack)
    services = {(s.name, s.namespace): s for s in stack.services}
    files = {name: [_as_profiled(stack, g, services) for g in groups] for name, groups in files.items()}
    return {name: groups for name, groups in files.items() if any(g.rules for g in groups)}


@cache
def known_alerts() -> dict[str, bool]:
    """Every alert name obs can generate in some tier, and whether it has a threshold to override."""
    from ..model import builtin_stack

    names = {spec.name: spec.threshold is not None for spec in alerts.CATALOGUE}
    for tier in TIER_ORDER:
        for rule in self_monitoring.groups(builtin_stack(tier))[0].alerts:
            names.setdefault(rule.name, False)
    for rule, _ in slo.catalogue():
        names.setdefault(rule.name, False)
    return names


def profile_problems(stack: Stack, data: dict[str, Any]) -> list[tuple[str, str]]:
    """Alert names in alerts.disabled / alerts.overrides (top level and per service) that obs never generates."""
    known = known_alerts()
    problems = []
    sections = [("alerts", data.get("alerts", {}))]
    sections += [(f"services[{i}].alerts", s.get("alerts", {})) for i, s in enumerate(data.get("services", []))]
    for path, section in sections:
        for i, name in enumerate(section.get("disabled", [])):
            if name not in known:
                problems.append((f"{path}.disabled[{i}]", f"{name!r} is not an alert obs generates{_hint(name, known)}"))
        for name, override in section.get("overrides", {}).items():
            if name not in known:
                problems.append((f"{path}.overrides.{name}", f"{name!r} is not an alert obs generates{_hint(name, known)}"))
            elif "threshold" in override and not known[name]:
                problems.append((f"{path}.overrides.{name}.threshold", f"{name} has no threshold to override; only `for` applies"))
    return problems


def _hint(name: str, known: dict[str, bool]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


# The rules of the stack being generated: the values, the dashboards and the
# checks all read them, and a 300-service stack takes seconds to build. Keyed
# by identity; the entry holds the stack, so the id cannot be reused.
_RULE_FILES: dict[int, tuple[Stack, list[dict[str, Any]]]] = {}


def rule_files(stack: Stack) -> list[dict[str, Any]]:
    """Rule files as Prometheus reads them; large ones in parts (limits.split_rule_file)."""
    cached = _RULE_FILES.get(id(stack))
    if cached is None or cached[0] is not stack:
        files = []
        for name, groups in rule_groups(stack).items():
            files += limits.split_rule_file(name, [g.render(stack) for g in groups])
        _RULE_FILES.clear()
        cached = _RULE_FILES[id(stack)] = (stack, files)
    return cached[1]


def alert_rules(stack: Stack) -> list[AlertRule]:
    """Every alert rule instance of the stack."""
    return [a for groups in rule_groups(stack).values() for g in groups for a in g.alerts]
