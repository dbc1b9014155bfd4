"""Every Prometheus rule of a stack, assembled into rule files.

Builders, one concern each: self_monitoring (the alerting pipeline),
recordings (RED per service, USE per node and pod), alerts (the tiered
catalogue), slo (SLO recordings and multi-window burn-rate alerts). This module only
decides which group lands in which file.
"""

from __future__ import annotations

from typing import Any

from ..model import Stack
from . import alerts, recordings, self_monitoring, slo
from .types import AlertRule, RuleGroup


def rule_groups(stack: Stack) -> dict[str, list[RuleGroup]]:
    """Rule groups by file name, in a stable order."""
    files: dict[str, list[RuleGroup]] = {
        "self-monitoring.yaml": self_monitoring.groups(stack),
        "recordings.yaml": recordings.groups(stack),
    }
    for group in alerts.groups(stack):
        files[f"{group.name.removeprefix('obs-')}.yaml"] = [group]
    files["slo.yaml"] = slo.rule_groups(stack)
    return {name: groups for name, groups in files.items() if groups}


def rule_files(stack: Stack) -> list[dict[str, Any]]:
    return [{"name": name, "groups": [g.render(stack) for g in groups]} for name, groups in rule_groups(stack).items()]


def alert_rules(stack: Stack) -> list[AlertRule]:
    """Every alert rule instance of the stack."""
    return [a for groups in rule_groups(stack).values() for g in groups for a in g.alerts]
