"""Rule data types shared by every rule builder (catalogue, recordings, SLOs).

A builder returns AlertRule/RecordingRule values; `render_group` turns them
into Prometheus rule-group dicts, adding the labels and annotations every
alert must carry (severity, team, tier, summary, description, runbook_url),
so no builder can forget them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..model import Stack

SEVERITIES = ("critical", "warning", "info")


@dataclass(frozen=True)
class Runbook:
    """Content of docs/runbooks/<AlertName>.md."""

    meaning: str
    causes: tuple[str, ...]
    checks: tuple[str, ...]
    queries: tuple[str, ...]  # PromQL an on-call engineer runs first


@dataclass(frozen=True)
class RecordingRule:
    record: str
    expr: str
    labels: dict[str, str] = field(default_factory=dict)

    def render(self) -> dict[str, Any]:
        out: dict[str, Any] = {"record": self.record, "expr": self.expr}
        if self.labels:
            out["labels"] = dict(self.labels)
        return out


@dataclass(frozen=True)
class AlertRule:
    name: str
    expr: str
    for_: str
    severity: str
    summary: str
    description: str  # Prometheus template; should show a formatted {{ $value }}
    runbook: Runbook
    team: str | None = ""  # "": the stack's default team; None: the team label of the alerting series
    labels: dict[str, str] = field(default_factory=dict)
    dashboard: str = ""  # path below the Grafana base URL, when a dashboard exists

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"{self.name}: severity {self.severity!r}")
        if "$value" not in self.description:
            raise ValueError(f"{self.name}: description must show $value")

    def render(self, stack: Stack) -> dict[str, Any]:
        annotations = {
            "summary": self.summary,
            "description": self.description,
            "runbook_url": f"{stack.runbook_base_url}/{self.name}.md",
        }
        if self.dashboard:
            # Without alerts.dashboardBaseUrl the link is relative to Grafana's
            # root (/d/<uid>…): it works from Grafana's own alert views.
            annotations["dashboard_url"] = f"{stack.dashboard_base_url}/{self.dashboard}"
        return {
            "alert": self.name,
            "expr": self.expr,
            "for": self.for_,
            "labels": {
                **self.labels,
                "severity": self.severity,
                **({} if self.team is None else {"team": self.team or stack.default_team}),
                "tier": stack.tier.name,
            },
            "annotations": annotations,
        }


Rule = AlertRule | RecordingRule


@dataclass(frozen=True)
class RuleGroup:
    name: str
    rules: tuple[Rule, ...]
    interval: str = ""  # default: the global evaluation interval

    def render(self, stack: Stack) -> dict[str, Any]:
        group: dict[str, Any] = {"name": self.name}
        if self.interval:
            group["interval"] = self.interval
        group["rules"] = [r.render(stack) if isinstance(r, AlertRule) else r.render() for r in self.rules]
        return group

    @property
    def alerts(self) -> tuple[AlertRule, ...]:
        return tuple(r for r in self.rules if isinstance(r, AlertRule))
