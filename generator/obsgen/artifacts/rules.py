"""Rule files for Prometheus. This issue ships the self-monitoring group;
the full catalogue builds on the same AlertRule data type."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..model import Stack


@dataclass(frozen=True)
class AlertRule:
    name: str
    expr: str
    for_: str
    severity: str
    summary: str
    description: str
    requires: tuple[str, ...] = ()  # components that must be enabled
    extra_labels: dict[str, str] = field(default_factory=dict)

    def render(self, stack: Stack) -> dict[str, Any]:
        return {
            "alert": self.name,
            "expr": self.expr,
            "for": self.for_,
            "labels": {"severity": self.severity, "team": stack.default_team, "tier": stack.tier.name, **self.extra_labels},
            "annotations": {"summary": self.summary, "description": self.description},
        }


_BY = "job, namespace, pod"

SELF_MONITORING: tuple[AlertRule, ...] = (
    AlertRule(
        name="PrometheusConfigReloadFailed",
        expr=f'max by ({_BY}) (prometheus_config_last_reload_successful{{job="prometheus"}}) == 0',
        for_="10m",
        severity="critical",
        summary="Prometheus could not load its new configuration",
        description="{{ $labels.pod }} keeps running the previous configuration; the last reload failed ({{ $value }}).",
        requires=("prometheus",),
    ),
    AlertRule(
        name="PrometheusRuleEvaluationFailures",
        expr=(f'sum by ({_BY}, rule_group) (\n  increase(prometheus_rule_evaluation_failures_total{{job="prometheus"}}[5m])\n) > 0'),
        for_="15m",
        severity="critical",
        summary="Prometheus fails to evaluate rules",
        description=(
            "{{ $labels.pod }} had {{ $value | humanize }} failed evaluations in group {{ $labels.rule_group }}"
            " over 5m; alerts of that group may be missed."
        ),
        requires=("prometheus",),
    ),
    AlertRule(
        name="PrometheusNotConnectedToAlertmanagers",
        expr=f'max by ({_BY}) (prometheus_notifications_alertmanagers_discovered{{job="prometheus"}}) < 1',
        for_="10m",
        severity="critical",
        summary="Prometheus has no Alertmanager to send alerts to",
        description="{{ $labels.pod }} discovers {{ $value }} Alertmanagers; no alert leaves this Prometheus.",
        requires=("prometheus", "alertmanager"),
    ),
    AlertRule(
        name="PrometheusNotificationsFailing",
        expr=(
            f'(\n  sum by ({_BY}) (rate(prometheus_notifications_errors_total{{job="prometheus"}}[5m]))\n'
            f'/\n  sum by ({_BY}) (rate(prometheus_notifications_sent_total{{job="prometheus"}}[5m]))\n'
            ") > 0.01"
        ),
        for_="15m",
        severity="critical",
        summary="Prometheus fails to deliver alerts to Alertmanager",
        description="{{ $labels.pod }}: {{ $value | humanizePercentage }} of alert deliveries to Alertmanager fail.",
        requires=("prometheus", "alertmanager"),
    ),
    AlertRule(
        name="AlertmanagerConfigReloadFailed",
        expr=f'max by ({_BY}) (alertmanager_config_last_reload_successful{{job="alertmanager"}}) == 0',
        for_="10m",
        severity="critical",
        summary="Alertmanager could not load its configuration",
        description="{{ $labels.pod }} runs an outdated configuration; the last reload failed ({{ $value }}).",
        requires=("alertmanager",),
    ),
    AlertRule(
        name="AlertmanagerNotificationsFailing",
        expr=(
            f'(\n  sum by ({_BY}, integration) (rate(alertmanager_notifications_failed_total{{job="alertmanager"}}[5m]))\n'
            f'/\n  sum by ({_BY}, integration) (rate(alertmanager_notifications_total{{job="alertmanager"}}[5m]))\n'
            ") > 0.01"
        ),
        for_="15m",
        severity="critical",
        summary="Alertmanager fails to deliver notifications",
        description="{{ $labels.pod }}: {{ $value | humanizePercentage }} of {{ $labels.integration }} notifications fail.",
        requires=("alertmanager",),
    ),
)


def _cluster_size_rule(stack: Stack) -> AlertRule:
    replicas = stack.tier.alertmanager_replicas
    return AlertRule(
        name="AlertmanagerClusterMembersMissing",
        expr=f'min by (job, namespace) (alertmanager_cluster_members{{job="alertmanager"}}) < {replicas}',
        for_="15m",
        severity="critical",
        summary="Alertmanager replicas do not see each other",
        description=f"An Alertmanager sees {{{{ $value }}}} of {replicas} cluster members; duplicate or lost notifications are possible.",
        requires=("alertmanager",),
    )


def self_monitoring(stack: Stack) -> list[AlertRule]:
    rules = list(SELF_MONITORING)
    if stack.tier.alertmanager_replicas > 1:
        rules.append(_cluster_size_rule(stack))
    return [r for r in rules if all(stack.enabled(c) for c in r.requires)]


def rule_files(stack: Stack) -> list[dict[str, Any]]:
    return [
        {
            "name": "self-monitoring.yaml",
            "groups": [
                {
                    "name": "obs-self-monitoring",
                    "rules": [rule.render(stack) for rule in self_monitoring(stack)],
                }
            ],
        }
    ]
