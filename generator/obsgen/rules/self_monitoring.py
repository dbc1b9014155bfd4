"""Self-monitoring: the alerting pipeline watches itself, in every tier."""

from __future__ import annotations

from ..model import Stack
from .types import AlertRule, Escalation, RuleGroup, Runbook

_BY = "job, namespace, pod"

# Each Alertmanager's share of failed deliveries (the notifier labels its
# counters with the Alertmanager's URL).
_NOTIFICATION_ERRORS = (
    f'  sum by ({_BY}, alertmanager) (rate(prometheus_notifications_errors_total{{job="prometheus"}}[5m]))\n'
    f'/\n  sum by ({_BY}, alertmanager) (rate(prometheus_notifications_sent_total{{job="prometheus"}}[5m]))'
)

# The same delivery problem, further along: the page makes the warning redundant.
_ESCALATIONS = (Escalation("PrometheusNotificationsFailing", "PrometheusNotificationsDegraded", ("cluster", "namespace", "pod")),)

_RELOAD_CAUSES = (
    "A syntax or semantic error in the newly generated configuration",
    "A referenced file (rule file, secret file) missing in the pod",
)


def _rules(stack: Stack) -> list[AlertRule]:
    rules = []
    if stack.enabled("prometheus"):
        rules += [
            AlertRule(
                name="PrometheusConfigReloadFailed",
                expr=f'max by ({_BY}) (prometheus_config_last_reload_successful{{job="prometheus"}}) == 0',
                for_="10m",
                severity="critical",
                summary="Prometheus could not load its new configuration",
                description="{{ $labels.pod }} keeps running the previous configuration; the last reload failed ({{ $value }}).",
                runbook=Runbook(
                    meaning="Prometheus rejected a changed configuration or rule file and still runs the previous one, "
                    "so the change (new targets, new alerts) is not in effect.",
                    causes=_RELOAD_CAUSES,
                    checks=(
                        "Read the reload error: `kubectl logs <pod> -c prometheus | grep -i reload`",
                        "Validate the rendered config: `promtool check config` on the ConfigMap's prometheus.yml",
                    ),
                    queries=("prometheus_config_last_reload_successful", "prometheus_config_last_reload_success_timestamp_seconds"),
                ),
            ),
            AlertRule(
                name="PrometheusRuleEvaluationFailures",
                expr=(
                    f'sum by ({_BY}, rule_group) (\n  increase(prometheus_rule_evaluation_failures_total{{job="prometheus"}}[5m])\n) > 0'
                ),
                for_="15m",
                severity="critical",
                summary="Prometheus fails to evaluate rules",
                description=(
                    "{{ $labels.pod }} had {{ $value | humanize }} failed evaluations in group {{ $labels.rule_group }}"
                    " over 5m; alerts of that group may be missed."
                ),
                runbook=Runbook(
                    meaning="Rules of a group fail to evaluate, so their alerts and recordings are not produced.",
                    causes=(
                        "A query hitting the query sample limit or a timeout",
                        "many-to-many matching errors after a label change in an exporter",
                    ),
                    checks=("Look at the failing rule's lastError in the Prometheus UI (Status → Rules) or `/api/v1/rules`",),
                    queries=("increase(prometheus_rule_evaluation_failures_total[1h])", "prometheus_rule_group_last_duration_seconds"),
                ),
            ),
        ]
    if stack.enabled("prometheus"):
        rules.append(
            AlertRule(
                name="PrometheusTSDBFailing",
                expr=(
                    f'sum by ({_BY}) (increase(prometheus_tsdb_compactions_failed_total{{job="prometheus"}}[3h])) > 0\n'
                    "or\n"
                    f'sum by ({_BY}) (increase(prometheus_tsdb_reloads_failures_total{{job="prometheus"}}[3h])) > 0'
                ),
                for_="1h",
                severity="critical",
                summary="Prometheus cannot compact or load its blocks",
                description=(
                    "{{ $labels.pod }} had {{ $value | humanize }} failed TSDB compactions or block reloads in 3 hours;"
                    " its head and disk keep growing until it runs out."
                ),
                runbook=Runbook(
                    meaning="The storage engine keeps failing to write or load blocks: memory and disk grow, queries "
                    "over past data may miss it, and a restart can take very long.",
                    causes=("The volume full or read-only", "A corrupt block (after a crash or a full disk)"),
                    checks=(
                        "`kubectl logs <prometheus pod> | grep -i -e compact -e reload`",
                        "Free space on the data volume (PersistentVolumeAlmostFull)",
                    ),
                    queries=("prometheus_tsdb_compactions_failed_total", "prometheus_tsdb_reloads_failures_total"),
                ),
            )
        )
    if stack.enabled("prometheus") and stack.enabled("alertmanager"):
        rules += [
            AlertRule(
                name="Watchdog",
                expr="vector(1)",
                for_="0s",
                severity="info",
                summary="The alerting pipeline is alive",
                description=(
                    "Always firing ({{ $value }}): Alertmanager sends it to the heartbeat receiver every interval, and an"
                    " outside dead man's switch raises the alarm when it stops arriving."
                ),
                runbook=Runbook(
                    meaning="Not a problem: this alert always fires. Its absence at the heartbeat service means Prometheus, "
                    "Alertmanager or the path between them and the outside world is down.",
                    causes=("When the heartbeat service alarms: Prometheus or Alertmanager down, or egress to it blocked",),
                    checks=(
                        "Alertmanager UI: Watchdog should be listed as firing",
                        'The heartbeat receiver\'s delivery errors: AlertmanagerNotificationsFailing{integration="webhook"}',
                    ),
                    queries=('ALERTS{alertname="Watchdog"}',),
                ),
            ),
            AlertRule(
                name="PrometheusNotConnectedToAlertmanagers",
                expr=f'max by ({_BY}) (prometheus_notifications_alertmanagers_discovered{{job="prometheus"}}) < 1',
                for_="10m",
                severity="critical",
                summary="Prometheus has no Alertmanager to send alerts to",
                description="{{ $labels.pod }} discovers {{ $value }} Alertmanagers; no alert leaves this Prometheus.",
                runbook=Runbook(
                    meaning="No Alertmanager is discovered: alerts fire in Prometheus but notify nobody. "
                    "(This alert itself only reaches people through another Prometheus or a dead man's switch.)",
                    causes=("All Alertmanager pods down or not ready", "EndpointSlices not readable by Prometheus' service account"),
                    checks=(
                        "`kubectl get pods -l app.kubernetes.io/name=alertmanager`",
                        "Prometheus UI → Status → Runtime (Alertmanagers)",
                    ),
                    queries=("prometheus_notifications_alertmanagers_discovered", 'up{job="alertmanager"}'),
                ),
            ),
            # Per Alertmanager, then across them: one of three replicas down is
            # a third of the deliveries failing while every alert still gets
            # through the other two (a warning); only when every Alertmanager
            # fails do alerts stop leaving this Prometheus (a page).
            AlertRule(
                name="PrometheusNotificationsDegraded",
                expr=f"max by ({_BY}) (\n{_NOTIFICATION_ERRORS}\n) > 0.01",
                for_="15m",
                severity="warning",
                summary="Prometheus fails to deliver alerts to some Alertmanagers",
                description="{{ $labels.pod }}: up to {{ $value | humanizePercentage }} of alert deliveries to one Alertmanager fail.",
                runbook=Runbook(
                    meaning="Deliveries to at least one Alertmanager fail. Alerts still reach people while another "
                    "Alertmanager of the cluster takes them; PrometheusNotificationsFailing pages when none does.",
                    causes=("One Alertmanager replica down or restarting", "a network policy or node problem on one replica"),
                    checks=(
                        "Prometheus UI → Status → Runtime (Alertmanagers)",
                        "`kubectl get pods -l app.kubernetes.io/name=alertmanager -o wide`",
                    ),
                    queries=("rate(prometheus_notifications_errors_total[5m])", "prometheus_notifications_alertmanagers_discovered"),
                ),
            ),
            AlertRule(
                name="PrometheusNotificationsFailing",
                expr=f"min by ({_BY}) (\n{_NOTIFICATION_ERRORS}\n) > 0.03",
                for_="15m",
                severity="critical",
                summary="Prometheus fails to deliver alerts to every Alertmanager",
                description="{{ $labels.pod }}: at least {{ $value | humanizePercentage }} of alert deliveries to every Alertmanager fail.",
                runbook=Runbook(
                    meaning="Deliveries to every Alertmanager fail; some alerts may be lost or late.",
                    causes=("Alertmanager overloaded or restarting", "network policy between Prometheus and Alertmanager"),
                    checks=("Prometheus logs: `kubectl logs <prometheus pod> | grep -i notifier`",),
                    queries=("rate(prometheus_notifications_errors_total[5m])", "prometheus_notifications_queue_length"),
                ),
            ),
        ]
    if stack.enabled("prometheus") and stack.remote_write:
        # Recoverable errors (unreachable store, 5xx, 429) are retried from
        # the WAL, which holds about two hours: the lag says when data is at
        # risk; failed samples are the ones the store refused for good.
        rules += [
            AlertRule(
                name="PrometheusRemoteWriteBehind",
                expr=(
                    f'max by ({_BY}) (prometheus_remote_storage_highest_timestamp_in_seconds{{job="prometheus"}})\n'
                    f"- on ({_BY}) group_right\n"
                    f'max by ({_BY}, remote_name) (prometheus_remote_storage_queue_highest_sent_timestamp_seconds{{job="prometheus"}})\n'
                    "> 120"
                ),
                for_="15m",
                severity="critical",
                summary="Prometheus remote write falls behind",
                description="{{ $labels.pod }} is {{ $value | humanizeDuration }} behind in writing to {{ $labels.remote_name }}.",
                runbook=Runbook(
                    meaning="Samples wait in the write-ahead log instead of reaching the remote store; past about two "
                    "hours of lag the WAL is truncated and they are lost there.",
                    causes=(
                        "The remote store is down, unreachable or rejects requests (credentials, rate limits)",
                        "Too few shards for the volume (queue maxShards), or a slow store",
                    ),
                    checks=(
                        "Prometheus logs: `kubectl logs <prometheus pod> | grep -i remote`",
                        "prometheus_remote_storage_shards_desired against prometheus_remote_storage_shards_max",
                    ),
                    queries=(
                        "rate(prometheus_remote_storage_samples_retried_total[5m])",
                        "prometheus_remote_storage_shards_desired",
                    ),
                ),
            ),
            AlertRule(
                name="PrometheusRemoteWriteFailing",
                expr=(
                    f'(\n  sum by ({_BY}, remote_name) (rate(prometheus_remote_storage_samples_failed_total{{job="prometheus"}}[5m]))\n'
                    "/\n  (\n"
                    f'    sum by ({_BY}, remote_name) (rate(prometheus_remote_storage_samples_failed_total{{job="prometheus"}}[5m]))\n'
                    "  +\n"
                    f'    sum by ({_BY}, remote_name) (rate(prometheus_remote_storage_samples_total{{job="prometheus"}}[5m]))\n'
                    "  )\n) > 0.01"
                ),
                for_="15m",
                severity="critical",
                summary="The remote store refuses samples",
                description="{{ $labels.pod }}: {{ $value | humanizePercentage }} of the samples sent to {{ $labels.remote_name }} fail.",
                runbook=Runbook(
                    meaning="The remote store answers with errors that are not retried (400-class): those samples are dropped.",
                    causes=(
                        "Out-of-order or too old samples (a second writer of the same series, a replica label missing)",
                        "Limits of the store (series, labels per series, label length)",
                    ),
                    checks=("Prometheus logs: `kubectl logs <prometheus pod> | grep -i 'non-recoverable'`",),
                    queries=("rate(prometheus_remote_storage_samples_failed_total[5m])",),
                ),
            ),
        ]
    if stack.enabled("alertmanager"):
        rules += [
            AlertRule(
                name="AlertmanagerConfigReloadFailed",
                expr=f'max by ({_BY}) (alertmanager_config_last_reload_successful{{job="alertmanager"}}) == 0',
                for_="10m",
                severity="critical",
                summary="Alertmanager could not load its configuration",
                description="{{ $labels.pod }} runs an outdated configuration; the last reload failed ({{ $value }}).",
                runbook=Runbook(
                    meaning="Alertmanager rejected its configuration; routing changes are not in effect.",
                    causes=_RELOAD_CAUSES,
                    checks=("`kubectl logs <alertmanager pod>`", "`amtool check-config` on the rendered alertmanager.yml"),
                    queries=("alertmanager_config_last_reload_successful",),
                ),
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
                runbook=Runbook(
                    meaning="Notifications to an integration (Slack, PagerDuty, email, webhook) fail; people are not being told.",
                    causes=(
                        "Expired or rotated credential in the receiver's Secret",
                        "the integration's endpoint unreachable (egress policy, proxy)",
                    ),
                    checks=(
                        "`kubectl logs <alertmanager pod> | grep -i notify`",
                        "Check the Secret the receiver's *_file points to",
                    ),
                    queries=("rate(alertmanager_notifications_failed_total[5m])", "alertmanager_notification_latency_seconds_bucket"),
                ),
            ),
        ]
        replicas = stack.tier.alertmanager_replicas
        if replicas > 1:
            rules.append(
                AlertRule(
                    name="AlertmanagerClusterMembersMissing",
                    expr=f'min by (job, namespace) (alertmanager_cluster_members{{job="alertmanager"}}) < {replicas}',
                    for_="15m",
                    severity="critical",
                    summary="Alertmanager replicas do not see each other",
                    description=(
                        f"An Alertmanager sees {{{{ $value }}}} of {replicas} cluster members; "
                        "duplicate or lost notifications are possible."
                    ),
                    runbook=Runbook(
                        meaning="The Alertmanager gossip cluster is split: replicas may notify twice or lose silences.",
                        causes=("A replica down", "gossip port 9094 (TCP and UDP) blocked between pods"),
                        checks=("Alertmanager UI → Status → Cluster", "`kubectl get pods -l app.kubernetes.io/name=alertmanager -o wide`"),
                        queries=("alertmanager_cluster_members", "alertmanager_cluster_failed_peers"),
                    ),
                )
            )
    return rules


def escalations(stack: Stack) -> list[Escalation]:
    """The self-monitoring escalations whose two alerts the stack generates."""
    generated = {rule.name for rule in _rules(stack)}
    return [e for e in _ESCALATIONS if e.critical in generated and e.warning in generated]


def groups(stack: Stack) -> list[RuleGroup]:
    return [RuleGroup("obs-self-monitoring", tuple(_rules(stack)))]
