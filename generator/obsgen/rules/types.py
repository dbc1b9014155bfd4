"""Rule data types shared by every rule builder (catalogue, recordings, SLOs).

A builder returns AlertRule/RecordingRule values; `render_group` turns them
into Prometheus rule-group dicts, adding the labels and annotations every
alert must carry (severity, team, tier, summary, description, runbook_url),
so no builder can forget them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from ..model import Stack

SEVERITIES = ("critical", "warning", "info")

_GRAFANA_UID_MAX = 40


def runbook_uid(alert: str) -> str:
    """Grafana uid of the alert's runbook page (dashboards/runbooks.py serves it).

    Grafana caps uids at 40 characters; a longer name keeps a readable
    prefix and a hash, so two long names cannot collide."""
    uid = f"obs-rb-{alert.lower()}"
    if len(uid) <= _GRAFANA_UID_MAX:
        return uid
    digest = hashlib.sha256(alert.encode()).hexdigest()[:8]
    return f"{uid[: _GRAFANA_UID_MAX - 9]}-{digest}"


def runbook_url(stack: Stack, alert: str) -> str:
    """Where the alert's runbook_url points: the profile's own copy of
    docs/runbooks when it names one, else the page Grafana serves."""
    if stack.runbook_base_url:
        return f"{stack.runbook_base_url}/{alert}.md"
    return f"{stack.dashboard_base_url}/d/{runbook_uid(alert)}"


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
    # The obs alert this one stands for when a file renamed it (Sloth's
    # alerting.name): its runbook, and profile settings by name, apply.
    canonical: str = ""
    annotations: dict[str, str] = field(default_factory=dict)  # from the declaring file; runbook_url stays obs's

    @property
    def identity(self) -> str:
        """The name obs knows the alert by (runbooks, alerts.disabled, overrides)."""
        return self.canonical or self.name

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"{self.name}: severity {self.severity!r}")
        if "$value" not in self.description:
            raise ValueError(f"{self.name}: description must show $value")

    def render(self, stack: Stack) -> dict[str, Any]:
        annotations = {
            "summary": self.summary,
            "description": self.description,
            **{k: v for k, v in self.annotations.items() if k != "runbook_url"},
            "runbook_url": runbook_url(stack, self.identity),
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
class Escalation:
    """A critical alert that makes a warning redundant: the
    same problem on the same object, further along. Alertmanager inhibits the
    warning while the critical alert fires for an object with equal labels."""

    critical: str
    warning: str
    same: tuple[str, ...]  # labels both alerts carry that name the object


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
