"""Alertmanager configuration built from the profile's teams.

Routing: severity first (it sets how fast and how often people hear about
an alert), then team (it sets who). Each (team, severity) pair gets one
receiver holding the team's integrations that take that severity, so a team
can page on critical and only chat on warning.
"""

from __future__ import annotations

from typing import Any

from ..model import SEVERITIES, Heartbeat, Integration, Stack
from ..rules import alerts, self_monitoring, slo
from ..rules.slo.windows import seconds

SECRETS_DIR = "/etc/alertmanager/secrets"

# Per severity: which alerts share one notification, how long to wait for
# the rest of a group, and how often to remind. Pages are grouped per
# service and sent fast; info is batched per alert across the cluster.
# group_wait is at least the cluster's (see cluster_group_wait).
SEVERITY_ROUTING: dict[str, dict[str, object]] = {
    "critical": {
        "group_by": ["cluster", "namespace", "service", "alertname"],
        "group_wait": "10s",
        "group_interval": "1m",
        "repeat_interval": "1h",
    },
    "warning": {
        "group_by": ["cluster", "namespace", "service", "alertname"],
        "group_wait": "1m",
        "group_interval": "5m",
        "repeat_interval": "4h",
    },
    "info": {
        "group_by": ["cluster", "alertname"],
        "group_wait": "5m",
        "group_interval": "30m",
        "repeat_interval": "24h",
    },
}

# Clustered Alertmanagers all receive every alert and all flush their own
# copy of each group; a replica at cluster position i waits i × peer timeout,
# then sends only what the notification log (gossiped by the peers ahead of
# it) does not already record. Its wait starts from a snapshot of the group.
# If the alert fires again while it waits and the first replica pages that,
# the waiting replica's stale "resolved" no longer matches the log and goes
# out after the new page; the log then says resolved, so the incident's real
# resolve can be lost (prometheus/alertmanager#2447, #3551). The last replica
# checks (replicas - 1) × peer timeout after its flush; a re-fired alert's
# page leaves group_wait after the alert arrives. A group_wait of at least
# replicas × peer timeout keeps a whole peer timeout between the two.
#
# The peer timeout is how long the first replica may take to send and gossip
# a notification before the next one sends it too. Gossip on a cluster
# network takes milliseconds and chat and paging APIs answer within a second
# or two; 5 s instead of the default 15 s keeps pages fast (15 s group_wait
# at 3 replicas, not 45 s). A receiver slower than that gets a duplicate,
# never a lost notification (PagerDuty and Opsgenie fold it by group key).
PEER_TIMEOUT_SECONDS = 5


def cluster_group_wait(replicas: int) -> int:
    """The shortest group_wait, in seconds, at which a cluster of `replicas` sends no stale resolve."""
    return replicas * PEER_TIMEOUT_SECONDS if replicas > 1 else 0


# Equal labels that make two alerts "the same problem" for inhibition. A label
# missing on both sides counts as equal, which is why job is included: it
# keeps alerts of unrelated targets without a service label apart.
_SAME_TARGET = ["cluster", "namespace", "job", "service"]

INHIBIT_RULES: tuple[dict[str, Any], ...] = (
    # A critical alert makes the warning (and info) of the same alert redundant.
    {
        "source_matchers": ['severity="critical"'],
        "target_matchers": ['severity=~"warning|info"'],
        "equal": ["cluster", "namespace", "service", "alertname"],
    },
    {
        "source_matchers": ['severity="warning"'],
        "target_matchers": ['severity="info"'],
        "equal": ["cluster", "namespace", "service", "alertname"],
    },
    # A target that cannot be scraped explains every other alert about it.
    {
        "source_matchers": ['alertname="TargetDown"'],
        "target_matchers": ['alertname!="TargetDown"'],
        "equal": _SAME_TARGET,
    },
)


def _escalation_rules(stack: Stack) -> list[dict[str, Any]]:
    # The catalogue's warning twins (e.g. ServiceErrorRatioElevated) have
    # their own names, so the same-alertname rule above never reaches them.
    return [
        {
            "source_matchers": [f'alertname="{e.critical}"'],
            "target_matchers": [f'alertname="{e.warning}"'],
            "equal": list(e.same),
        }
        for e in (*alerts.escalations(stack), *self_monitoring.escalations(stack))
    ]


# Opsgenie sorts and escalates by priority: the severity decides it (P1 pages).
# Template text written here, never taken from a profile.
OPSGENIE_PRIORITY = (
    '{{ if eq .CommonLabels.severity "critical" }}P1{{ else if eq .CommonLabels.severity "warning" }}P3{{ else }}P5{{ end }}'
)


def secret_file(integration: Integration | Heartbeat) -> str:
    return f"{SECRETS_DIR}/{integration.secret.name}/{integration.secret.key}"


# The dead man's switch (rules/self_monitoring.py: Watchdog). Its route comes
# first and stops there, so the always-firing alert reaches nobody else; with
# no heartbeat in the profile the receiver is empty and the alert only shows.
# Its group_wait stays 0 in a cluster: it never resolves and sends no
# resolved notification, so the stale-resolve race has nothing to send.
HEARTBEAT_RECEIVER = "heartbeat"
WATCHDOG = "Watchdog"


def _heartbeat_receiver(stack: Stack) -> dict[str, Any]:
    receiver: dict[str, Any] = {"name": HEARTBEAT_RECEIVER}
    if stack.heartbeat:
        receiver["webhook_configs"] = [{"url_file": secret_file(stack.heartbeat), "send_resolved": False}]
    return receiver


def _heartbeat_route(stack: Stack) -> dict[str, Any]:
    interval = stack.heartbeat.interval if stack.heartbeat else "1m"
    return {
        "receiver": HEARTBEAT_RECEIVER,
        "matchers": [f'alertname="{WATCHDOG}"'],
        "group_by": ["alertname"],
        "group_wait": "0s",
        "group_interval": interval,
        "repeat_interval": interval,
    }


def _integration_config(integration: Integration) -> tuple[str, dict[str, Any]]:
    """(Alertmanager config key, settings) of one integration; secrets only as *_file."""
    path = secret_file(integration)
    s = integration.settings
    if integration.type == "slack":
        return "slack_configs", {"api_url_file": path, "channel": s["channel"], "send_resolved": True}
    if integration.type == "pagerduty":
        return "pagerduty_configs", {"routing_key_file": path, "send_resolved": True}
    if integration.type == "email":
        return "email_configs", {
            "to": s["to"],
            "from": s["from"],
            "smarthost": s["smarthost"],
            "auth_username": s["authUsername"],
            "auth_password_file": path,
            "require_tls": True,
            "send_resolved": True,
        }
    if integration.type == "webhook":
        return "webhook_configs", {"url_file": path, "send_resolved": True}
    if integration.type == "opsgenie":
        config = {"api_key_file": path, "priority": OPSGENIE_PRIORITY, "send_resolved": True}
        if "apiUrl" in s:
            config["api_url"] = s["apiUrl"]
        return "opsgenie_configs", config
    if integration.type == "msteams":
        return "msteamsv2_configs", {"webhook_url_file": path, "send_resolved": True}
    if integration.type == "discord":
        return "discord_configs", {"webhook_url_file": path, "send_resolved": True}
    if integration.type == "telegram":
        return "telegram_configs", {"bot_token_file": path, "chat_id": s["chatId"], "send_resolved": True}
    if integration.type == "webex":
        return "webex_configs", {
            "room_id": s["roomId"],
            "http_config": {"authorization": {"credentials_file": path}},
            "send_resolved": True,
        }
    raise ValueError(f"unknown receiver type {integration.type!r}")  # the schema rules this out


def receiver_name(team: str, severity: str) -> str:
    return f"{team}-{severity}"


POLICY_RECEIVER_SUFFIX = "policy"


def _policy_team(stack: Stack) -> str:
    """Team told about error-budget policy actions; empty where no alert carries one."""
    if not stack.tier.error_budget_policy:
        return ""
    return stack.policy_team or stack.default_team


def _receivers(stack: Stack) -> list[dict[str, Any]]:
    receivers = []
    policy_team = _policy_team(stack)
    if policy_team:
        # Every integration of the policy team, whatever its severities: a
        # policy action (freeze releases) is a decision, not a page.
        receiver: dict[str, Any] = {"name": receiver_name(policy_team, POLICY_RECEIVER_SUFFIX)}
        for team in stack.teams:
            if team.name == policy_team:
                for integration in team.integrations:
                    key, settings = _integration_config(integration)
                    receiver.setdefault(key, []).append(settings)
        receivers.append(receiver)
    for team in stack.teams:
        for severity in SEVERITIES:
            receiver: dict[str, Any] = {"name": receiver_name(team.name, severity)}
            for integration in team.integrations:
                if severity in integration.severities:
                    key, settings = _integration_config(integration)
                    receiver.setdefault(key, []).append(settings)
            receivers.append(receiver)
    return receivers


def _routing(severity: str, replicas: int) -> dict[str, Any]:
    routing = {key: list(value) if isinstance(value, list) else value for key, value in SEVERITY_ROUTING[severity].items()}
    floor = cluster_group_wait(replicas)
    if seconds(str(routing["group_wait"])) < floor:
        routing["group_wait"] = f"{floor}s"
    return routing


def _route(stack: Stack) -> dict[str, Any]:
    severity_routes = []
    for severity in SEVERITIES:
        severity_routes.append(
            {
                "receiver": receiver_name(stack.default_team, severity),
                "matchers": [f'severity="{severity}"'],
                **_routing(severity, stack.tier.alertmanager_replicas),
                "routes": [{"receiver": receiver_name(team.name, severity), "matchers": [f'team="{team.name}"']} for team in stack.teams],
            }
        )
    policy_team = _policy_team(stack)
    if policy_team:
        # Error-budget policy alerts carry the action to take; the policy team
        # hears about them, and `continue` lets the owning team hear too.
        severity_routes.insert(
            0,
            {
                "receiver": receiver_name(policy_team, POLICY_RECEIVER_SUFFIX),
                "matchers": ['action=~".+"'],
                "continue": True,
            },
        )
    return {
        # Reached only by alerts without a known severity: a rule bug, which
        # the default team should still hear about.
        "receiver": receiver_name(stack.default_team, "warning"),
        **_routing("warning", stack.tier.alertmanager_replicas),
        "routes": [_heartbeat_route(stack), *severity_routes],
    }


def config(stack: Stack) -> dict[str, Any]:
    return {
        "global": {"resolve_timeout": "5m"},
        "route": _route(stack),
        # A faster SLO burn alert silences the slower ones of the same SLO.
        "inhibit_rules": [dict(rule) for rule in INHIBIT_RULES] + _escalation_rules(stack) + slo.inhibit_rules(stack),
        "receivers": [_heartbeat_receiver(stack), *_receivers(stack)],
    }


def secret_mounts(stack: Stack) -> list[dict[str, str]]:
    names = {i.secret.name for team in stack.teams for i in team.integrations}
    if stack.heartbeat:
        names.add(stack.heartbeat.secret.name)
    names = sorted(names)
    return [{"secretName": name} for name in names]
