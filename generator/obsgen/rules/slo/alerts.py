"""SLO alerts and the Alertmanager inhibitions between them.

Alerts are shared like the recordings (see engine.py): one rule per window
pair and period for every SLO that alerts as its tier does, matched to
them through `slo:info`; the alert's labels (slo, service, namespace, team)
come from the series, its texts from `$labels`. An SLO whose alerts differ
(its own window pairs or no-data choice, extra labels from its file, alerts
disabled or overridden for its service) gets rules of its own, written for
it alone.

Burn-rate alerts: one rule per window pair, named after the pair's speed
(the name is stable across periods; `burn_window` says which long window).
The value of every burn alert is the long window's burn rate.

Severity choices the issue left open:
- SLONoData is a warning: it means the SLO cannot be measured (renamed
  metric, broken selector, lost scrape). A dead service pages through
  TargetDown and the probe alerts; a blind SLO is fixed in working hours.
- SLOErrorBudgetExhausted is a warning carrying the policy action: it starts
  a process (freeze releases), not an emergency response.
- SLOComplianceBreached is info: a statement for the SLO review and the
  compliance report. It fires with the exhausted budget by definition (SLI
  below objective ⇔ more than the budget spent), but reaches a different
  audience, batched daily.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...promql import matcher
from ..types import AlertRule, Runbook
from . import engine
from .definition import SLO
from .windows import TILE, Pair, duration, seconds, windows

NO_DATA = "SLONoData"
GROUP_LIMIT = "SLOGroupLimitExceeded"
GROUP_LIMIT_FOR = "15m"
BUDGET_EXHAUSTED = "SLOErrorBudgetExhausted"
COMPLIANCE = "SLOComplianceBreached"
NO_DATA_FOR = "15m"
BUDGET_EXHAUSTED_FOR = "15m"
COMPLIANCE_FOR = "1h"

# The SLO dashboard (generator/obsgen/dashboards, uid obs-slo), opened on the alert's SLO.
DASHBOARD = "d/obs-slo?var-service={service}&var-slo={slo}"

# Labels that make two SLO alerts "the same SLO" for inhibition. cluster is
# an external label: alerts of two clusters never silence each other.
INHIBIT_EQUAL = ("cluster", "namespace", "service", "slo")


def _factors(role: str) -> str:
    return ", ".join(f"{p}: {windows(p).pair(role).burn_factor:.4g}×" for p in ("30d", "28d", "7d"))


def _inhibition(role: str) -> str:
    roles = [p.role for p in windows("30d").pairs]
    faster = " A faster burn alert of the same SLO silences this one (Alertmanager inhibition)." if roles.index(role) > 0 else ""
    slower = " It silences the slower burn alerts of the same SLO." if role != roles[-1] else ""
    return faster + slower


def _burn_runbook(role: str) -> Runbook:
    pair = windows("30d").pair(role)
    page = pair.severity == "critical"
    return Runbook(
        meaning=(
            f"The SLO in the `slo` label burns its error budget faster than allowed over both its {pair.long} window and its "
            f"{pair.short} window (threshold by SLO period — {_factors(role)}). For a 30d SLO this means at least "
            f"{float(pair.budget_share * 100):g}% of the month's budget was spent in {pair.long}"
            + (
                ", and the burn is still going on. Users are affected now."
                if page
                else ". Nothing is on fire, but at this pace the budget will not last the period. It waits for a full"
                f" {pair.long} of data: for the first {pair.long} after an install or a loss of Prometheus data it stays silent."
            )
            + _inhibition(role)
        ),
        causes=(
            "A recent deploy or configuration change of the service",
            "A failing dependency (database, downstream API) surfacing as errors or slow responses",
            "Saturation: CPU throttling, memory pressure, exhausted connection pools, a traffic surge",
            "For latency SLOs: slow queries, GC pauses, cold caches after a restart",
        ),
        checks=(
            "Compare the start of the burn with the rollout history (kubectl rollout history) and roll back a suspect release first",
            "Find which routes and status codes produce the bad events (service dashboards, RED recordings)",
            "Check the service's dependency alerts and the blackbox probes of its dependencies",
            "Read how much budget is left and how long it lasts at the current pace before deciding "
            + ("whether to escalate" if page else "on priorities"),
        ),
        queries=(
            f'slo:burn_rate:ratio_rate{pair.long}{{slo="<slo>"}}',
            f'slo:burn_rate:ratio_rate{pair.short}{{slo="<slo>"}}',
            f'slo:sli_error:ratio_rate{pair.short}{{slo="<slo>"}}',
            'slo:error_budget_remaining:ratio{slo="<slo>"}',
            'slo:time_to_exhaustion:seconds{slo="<slo>"} / 3600',
        ),
    )


NO_DATA_RUNBOOK = Runbook(
    meaning=(
        f"The SLI of the SLO in the `slo` label returned no events series for {NO_DATA_FOR}: its burn-rate alerts cannot fire, "
        "and its budget is not being measured."
    ),
    causes=(
        "The service stopped exporting its request metrics, or its scrape (or OTLP push) fails",
        "A metric or label was renamed by a library upgrade, so the SLO's selectors match nothing",
        "For dependency SLOs: the blackbox probe of the dependency is no longer scraped",
        "The service is down entirely (then TargetDown and the probe alerts fire too)",
    ),
    checks=(
        "Check the service's targets in Prometheus (Status → Targets) and its TargetDown alerts",
        "Run the SLO's total-events query (see the SLO recording rules) and check which selector matches nothing",
        "Compare the metric names the service exports now with its telemetry contract in the profile",
    ),
    queries=(
        'slo:sli_events_total:increase5m{slo="<slo>"}',
        'up{namespace="<namespace>"}',
        'count by (__name__) ({namespace="<namespace>", __name__=~"http_.*"})',
    ),
)

GROUP_LIMIT_RUNBOOK = Runbook(
    meaning=(
        "The SLI of the SLO in the `slo` label is aggregated `by (labels)`, which gives one SLI, budget and set of alerts per "
        "group, and it has more groups than the profile allows (sloDefaults.maxGroups). Until it has fewer, the SLO is measured "
        "as a whole: its counts are the sum of every group, its alerts carry no group label, and a failing group weighs only by "
        "its share of the traffic."
    ),
    causes=(
        "The query groups by a label with unbounded values (a user or request id, a full URL path, a pod name)",
        "The service grew new routes or operations, and the limit is simply too low for it",
        "A label changed its values (a new instrumentation library, a relabelling rule)",
    ),
    checks=(
        "Count the groups and look at their values: the query below, then the SLI's total query grouped the same way",
        "Group by a label with a bounded set of values (route template rather than path), or drop the grouping",
        "If every group deserves its own SLI, raise sloDefaults.maxGroups: every group adds a dozen recorded series",
    ),
    queries=(
        'slo:sli_groups:count{slo="<slo>"}',
        'slo:sli_events_total:increase5m{slo="<slo>"}',
    ),
)

BUDGET_EXHAUSTED_RUNBOOK = Runbook(
    meaning=(
        "The SLO in the `slo` label has spent its whole error budget over its period (rolling). The error-budget policy applies: "
        "the `action` label says what (default: freeze-releases — only fixes and reliability work ship until the budget recovers)."
    ),
    causes=(
        "One large incident, or several smaller ones, within the period",
        "A slow, chronic error rate just above the objective (check the 3d burn alerts)",
        "An objective tighter than the service can currently deliver",
    ),
    checks=(
        "Apply the policy in the `action` label and tell the service's stakeholders",
        "List the incidents of the period and their share of the budget (budget remaining over time on the SLO dashboard)",
        "Decide in the SLO review whether the objective or the service must change",
    ),
    queries=(
        'slo:error_budget_remaining:ratio{slo="<slo>"}',
        'slo:sli:ratio_period{slo="<slo>"}',
        'slo:burn_rate:ratio_rate1h{slo="<slo>"}',
    ),
)

COMPLIANCE_RUNBOOK = Runbook(
    meaning=(
        "Over its whole period (rolling) the SLO in the `slo` label is below its objective: the service is out of compliance. "
        "This is a statement for the SLO review and compliance reporting; the operational response comes from the burn "
        "alerts and the error-budget policy."
    ),
    causes=(
        "The error budget is exhausted (SLOErrorBudgetExhausted fires for the same SLO)",
        "An objective that does not match what the service delivers",
    ),
    checks=(
        "Record the breach in the SLO report (obsgen report) for the period",
        "Check when the SLI will be back above objective: incidents leave the rolling period one period after they happened",
    ),
    queries=(
        'slo:sli:ratio_period{slo="<slo>"}',
        'slo:objective:ratio{slo="<slo>"}',
        'slo:error_budget_remaining:ratio{slo="<slo>"}',
    ),
)

BURN_RUNBOOKS = {pair.role: _burn_runbook(pair.role) for pair in windows("30d").pairs}


# --- who an alert is about ------------------------------------------------------------

_OBJECTIVE_OF_LABELS = (
    '{{ with printf "slo:objective:ratio{slo=%q, namespace=%q}" $labels.slo $labels.namespace | query }}'
    "{{ . | first | value | humanizePercentage }}{{ end }}"
)


@dataclass(frozen=True)
class Subject:
    """Whom alert rules are about: one SLO (`one`: texts, labels and numbers written in), or
    every SLO a shared rule matches (`every`: texts from `$labels`, numbers from recordings)."""

    service: str  # as the texts show it
    slo: str
    namespace: str
    objective: str  # percent text
    period: str
    action: str
    selector: str  # appended to every recording the rule reads
    min_events: str  # right side of the low-traffic guard; "" for none
    objective_ratio: str  # right side of the compliance comparison
    only: str  # appended to every expression: which SLOs the rule is for
    team: str | None
    dashboard: str
    labels: dict[str, str]
    no_data: str  # the expression of SLONoData
    key: tuple[str, ...]  # labels of one SLO's series (its identity and groups)
    # A Sloth file's alert settings (SLO.alert_name and the rest); empty for shared rules.
    alert_name: str = ""
    annotations: tuple[tuple[str, str], ...] = ()
    kind_labels: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
    kind_annotations: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()

    @property
    def who(self) -> str:
        over = f" over {self.period}" if self.period else ""  # the shared SLONoData is for every period
        return f"{self.service} ({self.namespace}): SLO {self.slo} ({self.objective}{over})"

    def guard(self, count: str) -> str:
        return f"\nand\n{count}{self.selector} >= {self.min_events}" if self.min_events else ""


def one(slo: SLO) -> Subject:
    return Subject(
        service=slo.service,
        slo=slo.name,
        namespace=slo.namespace,
        objective=f"{engine.number(slo.objective)}%",
        period=slo.period,
        action=slo.policy_action,
        selector=slo.selector,
        min_events=str(slo.min_events) if slo.min_events > 0 else "",
        objective_ratio=engine.number(slo.objective_ratio),
        only="",
        team=slo.team,
        dashboard=DASHBOARD.format(service=slo.service, slo=slo.name),
        labels={**dict(slo.labels), **dict(slo.alert_labels), "slo": slo.name, "service": slo.service, "namespace": slo.namespace},
        no_data=f"absent({engine.total(engine.SHORTEST)}{slo.selector})",
        key=(*engine.IDENTITY, *slo.sli.groups),
        alert_name=slo.alert_name,
        annotations=slo.annotations,
        kind_labels=slo.kind_labels,
        kind_annotations=slo.kind_annotations,
    )


def every(period: str, layout: engine.Layout, action: str = "") -> Subject:
    """The SLOs of `period` (and policy `action`) that alert as their tier does; their labels come from the series."""
    settings = {"alerts": engine.TIER_ALERTS, "period": period, **({"action": action} if action else {})}
    service, slo = "{{ $labels.service }}", "{{ $labels.slo }}"
    return Subject(
        service=service,
        slo=slo,
        namespace="{{ $labels.namespace }}",
        objective=_OBJECTIVE_OF_LABELS,
        period=period,
        action=action,
        selector="",
        min_events=engine.with_setting(engine.MIN_EVENTS),
        objective_ratio=engine.with_setting(engine.OBJECTIVE),
        only=f"\nand {engine.ON_IDENTITY}\n{engine.info(**settings)}",
        team=None,
        dashboard=DASHBOARD.format(service=service, slo=slo),
        labels={},
        no_data=(
            f"group by ({', '.join((*engine.IDENTITY, *layout.labels))}) ({engine.info(alerts=engine.TIER_ALERTS)})\n"
            f"unless {engine.ON_IDENTITY}\n{engine.total(engine.SHORTEST)}"
        ),
        key=(*engine.IDENTITY, *layout.groups),
    )


# --- the rules --------------------------------------------------------------------------


# Sloth's two kinds of alert, by the pairs that stand for them.
KIND_OF_ROLE = {"fast": "page", "medium": "page", "slow": "ticket", "chronic": "ticket"}


def burn(who: Subject, pair: Pair) -> AlertRule:
    sel, factor = who.selector, engine.number(pair.burn_factor)
    kind = KIND_OF_ROLE[pair.role]
    expr = f"{engine.burn_rate(pair.long)}{sel} > {factor}\nand\n{engine.burn_rate(pair.short)}{sel} > {factor}"
    # Low traffic: a handful of events make any ratio meaningless.
    expr += who.guard(engine.total(pair.short)) + who.only
    if kind == "ticket":
        # A ticket's long window is only significant once it is full: right
        # after an install (or a data loss) it holds a few hours, and a short
        # burn over them would ticket as if it had lasted a day. Pages do not
        # wait: their short window does the filtering, and an outage during
        # the first hour must page.
        first_tile = duration(seconds(pair.long) - seconds(TILE))
        expr += f"\nand on ({', '.join(who.key)})\n{engine.total(TILE)}{sel} offset {first_tile}"
    return AlertRule(
        name=who.alert_name or pair.alert,
        expr=expr,
        for_=pair.for_,
        severity=pair.severity,
        summary=f"{who.service}: SLO {who.slo} burns its error budget at over {factor}× the sustainable rate ({pair.long})",
        description=(
            f"{who.who} burns its error budget {{{{ $value | humanize }}}}× faster than sustainable over the last {pair.long}"
            f" (threshold {factor}×, also exceeded over the last {pair.short}): at least {float(pair.budget_share) * 100:g}%"
            f" of the {who.period} budget was spent within {pair.long}."
        ),
        runbook=BURN_RUNBOOKS[pair.role],
        team=who.team,
        dashboard=who.dashboard,
        labels={**who.labels, **dict(dict(who.kind_labels).get(kind, ())), "burn_window": pair.long},
        canonical=pair.alert if who.alert_name else "",
        annotations={**dict(who.annotations), **dict(dict(who.kind_annotations).get(kind, ()))},
    )


def no_data(who: Subject) -> AlertRule:
    return AlertRule(
        name=NO_DATA,
        expr=who.no_data,
        for_=NO_DATA_FOR,
        severity="warning",
        summary=f"{who.service}: SLO {who.slo} has no data",
        description=(
            f"{who.who}: its SLI returned no events series (absent = {{{{ $value | humanize }}}}) for {NO_DATA_FOR};"
            " its burn-rate alerts cannot fire."
        ),
        runbook=NO_DATA_RUNBOOK,
        team=who.team,
        dashboard=who.dashboard,
        labels=dict(who.labels),
    )


def group_limit(max_groups: int) -> AlertRule:
    """For every grouped SLI at once: its labels come from slo:sli_groups:count."""
    service, slo = "{{ $labels.service }}", "{{ $labels.slo }}"
    return AlertRule(
        name=GROUP_LIMIT,
        expr=f"{engine.GROUPS} > {max_groups}",
        for_=GROUP_LIMIT_FOR,
        severity="warning",
        summary=f"{service}: SLO {slo} has more SLI groups than {max_groups}; it is measured as a whole",
        description=(
            f"{service} ({{{{ $labels.namespace }}}}): the SLI of SLO {slo} is grouped into {{{{ $value }}}} groups, above the limit"
            f" of {max_groups} (sloDefaults.maxGroups): its counts are summed into one series and its alerts are not per group."
        ),
        runbook=GROUP_LIMIT_RUNBOOK,
        team=None,
        dashboard=DASHBOARD.format(service=service, slo=slo),
        labels={},
    )


def budget_exhausted(who: Subject) -> AlertRule:
    return AlertRule(
        name=BUDGET_EXHAUSTED,
        expr=f"{engine.BUDGET_REMAINING}{who.selector} <= 0{who.guard(engine.TOTAL_PERIOD)}{who.only}",
        for_=BUDGET_EXHAUSTED_FOR,
        severity="warning",
        summary=f"{who.service}: SLO {who.slo} has spent its error budget — policy: {who.action}",
        description=(
            f"{who.who} has {{{{ $value | humanizePercentage }}}} of its error budget left over the last {who.period}."
            f" Error-budget policy: {who.action}."
        ),
        runbook=BUDGET_EXHAUSTED_RUNBOOK,
        team=who.team,
        dashboard=who.dashboard,
        labels={**who.labels, "action": who.action},
    )


def compliance(who: Subject) -> AlertRule:
    return AlertRule(
        name=COMPLIANCE,
        expr=f"{engine.SLI_PERIOD}{who.selector} < {who.objective_ratio}{who.guard(engine.TOTAL_PERIOD)}{who.only}",
        for_=COMPLIANCE_FOR,
        severity="info",
        summary=f"{who.service}: SLO {who.slo} is below its objective over the last {who.period}",
        description=f"{who.who}: the SLI over the last {who.period} is {{{{ $value | humanizePercentage }}}}, below the objective.",
        runbook=COMPLIANCE_RUNBOOK,
        team=who.team,
        dashboard=who.dashboard,
        labels=dict(who.labels),
    )


# --- inhibitions --------------------------------------------------------------------


def inhibit_rules(
    names: set[str], renamed: set[tuple[str, tuple[str, ...]]] = frozenset(), groups: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """A faster burn alert silences the slower ones of the same SLO (among the alerts generated).

    renamed: (alert name, long windows fastest first) of the burn alerts a
    file renamed (Sloth's alerting.name): they share one name, so burn_window
    tells the faster from the slower. groups: the group labels of grouped SLIs,
    so that one route's page does not silence another route's ticket."""
    equal = [*INHIBIT_EQUAL, *groups]
    rules = []
    for name, longs in sorted(renamed):
        for i, faster in enumerate(longs[:-1]):
            rules.append(
                {
                    "source_matchers": [matcher("alertname", "=", name), matcher("burn_window", "=", faster)],
                    "target_matchers": [matcher("alertname", "=", name), matcher("burn_window", "=~", "|".join(longs[i + 1 :]))],
                    "equal": equal,
                }
            )
    present = [p for p in windows("30d").pairs if p.alert in names]
    for i, faster in enumerate(present[:-1]):
        slower = "|".join(p.alert for p in present[i + 1 :])
        rules.append(
            {
                "source_matchers": [f'alertname="{faster.alert}"'],
                "target_matchers": [f'alertname=~"{slower}"'],
                "equal": equal,
            }
        )
    return rules
