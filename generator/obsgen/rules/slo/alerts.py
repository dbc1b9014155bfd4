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

from typing import Any

from ..types import AlertRule, Runbook
from . import engine
from .definition import SLO
from .windows import Pair, windows

NO_DATA = "SLONoData"
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
                else ". Nothing is on fire, but at this pace the budget will not last the period."
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


# --- rules of one SLO ------------------------------------------------------------


def _labels(slo: SLO, **extra: str) -> dict[str, str]:
    return {**dict(slo.labels), "slo": slo.name, "service": slo.service, "namespace": slo.namespace, **extra}


def _dashboard(slo: SLO) -> str:
    return DASHBOARD.format(service=slo.service, slo=slo.name)


def _who(slo: SLO) -> str:
    return f"{slo.service} ({slo.namespace}): SLO {slo.name} ({engine.number(slo.objective)}% over {slo.period})"


def burn(slo: SLO, pair: Pair) -> AlertRule:
    sel, factor = slo.selector, engine.number(pair.burn_factor)
    expr = f"{engine.burn_rate(pair.long)}{sel} > {factor}\nand\n{engine.burn_rate(pair.short)}{sel} > {factor}"
    if slo.min_events > 0:
        # Low traffic: a handful of events make any ratio meaningless.
        expr += f"\nand\n{engine.total(pair.short)}{sel} >= {slo.min_events}"
    return AlertRule(
        name=pair.alert,
        expr=expr,
        for_=pair.for_,
        severity=pair.severity,
        summary=f"{slo.service}: SLO {slo.name} burns its error budget at over {factor}× the sustainable rate ({pair.long})",
        description=(
            f"{_who(slo)} burns its error budget {{{{ $value | humanize }}}}× faster than sustainable over the last {pair.long}"
            f" (threshold {factor}×, also exceeded over the last {pair.short}): at least {float(pair.budget_share) * 100:g}%"
            f" of the {slo.period} budget was spent within {pair.long}."
        ),
        runbook=BURN_RUNBOOKS[pair.role],
        team=slo.team,
        dashboard=_dashboard(slo),
        labels=_labels(slo, burn_window=pair.long),
    )


def no_data(slo: SLO) -> AlertRule:
    return AlertRule(
        name=NO_DATA,
        expr=f"absent({engine.total(engine.SHORTEST)}{slo.selector})",
        for_=NO_DATA_FOR,
        severity="warning",
        summary=f"{slo.service}: SLO {slo.name} has no data",
        description=(
            f"{_who(slo)}: its SLI returned no events series (absent = {{{{ $value | humanize }}}}) for {NO_DATA_FOR};"
            " its burn-rate alerts cannot fire."
        ),
        runbook=NO_DATA_RUNBOOK,
        team=slo.team,
        dashboard=_dashboard(slo),
        labels=_labels(slo),
    )


def _guard(slo: SLO) -> str:
    if slo.min_events <= 0:
        return ""
    return f"\nand\n{engine.TOTAL_PERIOD}{slo.selector} >= {slo.min_events}"


def budget_exhausted(slo: SLO) -> AlertRule:
    return AlertRule(
        name=BUDGET_EXHAUSTED,
        expr=f"{engine.BUDGET_REMAINING}{slo.selector} <= 0{_guard(slo)}",
        for_=BUDGET_EXHAUSTED_FOR,
        severity="warning",
        summary=f"{slo.service}: SLO {slo.name} has spent its error budget — policy: {slo.policy_action}",
        description=(
            f"{_who(slo)} has {{{{ $value | humanizePercentage }}}} of its error budget left over the last {slo.period}."
            f" Error-budget policy: {slo.policy_action}."
        ),
        runbook=BUDGET_EXHAUSTED_RUNBOOK,
        team=slo.team,
        dashboard=_dashboard(slo),
        labels=_labels(slo, action=slo.policy_action),
    )


def compliance(slo: SLO) -> AlertRule:
    return AlertRule(
        name=COMPLIANCE,
        expr=f"{engine.SLI_PERIOD}{slo.selector} < {engine.number(slo.objective_ratio)}{_guard(slo)}",
        for_=COMPLIANCE_FOR,
        severity="info",
        summary=f"{slo.service}: SLO {slo.name} is below its objective over the last {slo.period}",
        description=f"{_who(slo)}: the SLI over the last {slo.period} is {{{{ $value | humanizePercentage }}}}, below the objective.",
        runbook=COMPLIANCE_RUNBOOK,
        team=slo.team,
        dashboard=_dashboard(slo),
        labels=_labels(slo),
    )


# --- rules shared by every SLO that alerts as its tier does ------------------------

_SERVICE = "{{ $labels.service }}"
_SLO = "{{ $labels.slo }}"
_OBJECTIVE = (
    '{{ with printf "slo:objective:ratio{slo=%q, namespace=%q}" $labels.slo $labels.namespace | query }}'
    "{{ . | first | value | humanizePercentage }}{{ end }}"
)
SHARED_DASHBOARD = DASHBOARD.format(service=_SERVICE, slo=_SLO)


def _shared_who(period: str) -> str:
    return f"{_SERVICE} ({{{{ $labels.namespace }}}}): SLO {_SLO} ({_OBJECTIVE} over {period})"


def _members(period: str, **settings: str) -> str:
    return f"\nand {engine.ON_IDENTITY}\n{engine.info(alerts=engine.TIER_ALERTS, period=period, **settings)}"


def _shared_guard(count: str) -> str:
    return f"\nand\n{count} >= {engine.MIN_EVENTS}"


def shared_burn(pair: Pair, period: str) -> AlertRule:
    factor = engine.number(pair.burn_factor)
    expr = f"{engine.burn_rate(pair.long)} > {factor}\nand\n{engine.burn_rate(pair.short)} > {factor}"
    return AlertRule(
        name=pair.alert,
        expr=expr + _shared_guard(engine.total(pair.short)) + _members(period),
        for_=pair.for_,
        severity=pair.severity,
        summary=f"{_SERVICE}: SLO {_SLO} burns its error budget at over {factor}× the sustainable rate ({pair.long})",
        description=(
            f"{_shared_who(period)} burns its error budget {{{{ $value | humanize }}}}× faster than sustainable over the last"
            f" {pair.long} (threshold {factor}×, also exceeded over the last {pair.short}): at least"
            f" {float(pair.budget_share) * 100:g}% of the {period} budget was spent within {pair.long}."
        ),
        runbook=BURN_RUNBOOKS[pair.role],
        team=None,
        dashboard=SHARED_DASHBOARD,
        labels={"burn_window": pair.long},
    )


def shared_no_data() -> AlertRule:
    tier_alerting = engine.info(alerts=engine.TIER_ALERTS)
    return AlertRule(
        name=NO_DATA,
        expr=f"group {engine.BY_IDENTITY} ({tier_alerting})\nunless\n{engine.total(engine.SHORTEST)}",
        for_=NO_DATA_FOR,
        severity="warning",
        summary=f"{_SERVICE}: SLO {_SLO} has no data",
        description=(
            f"{_SERVICE} ({{{{ $labels.namespace }}}}): SLO {_SLO}: its SLI returned no events series (absent ="
            f" {{{{ $value | humanize }}}}) for {NO_DATA_FOR}; its burn-rate alerts cannot fire."
        ),
        runbook=NO_DATA_RUNBOOK,
        team=None,
        dashboard=SHARED_DASHBOARD,
    )


def shared_budget_exhausted(period: str, action: str) -> AlertRule:
    return AlertRule(
        name=BUDGET_EXHAUSTED,
        expr=f"{engine.BUDGET_REMAINING} <= 0" + _shared_guard(engine.TOTAL_PERIOD) + _members(period, action=action),
        for_=BUDGET_EXHAUSTED_FOR,
        severity="warning",
        summary=f"{_SERVICE}: SLO {_SLO} has spent its error budget — policy: {action}",
        description=(
            f"{_shared_who(period)} has {{{{ $value | humanizePercentage }}}} of its error budget left over the last {period}."
            f" Error-budget policy: {action}."
        ),
        runbook=BUDGET_EXHAUSTED_RUNBOOK,
        team=None,
        dashboard=SHARED_DASHBOARD,
        labels={"action": action},
    )


def shared_compliance(period: str) -> AlertRule:
    return AlertRule(
        name=COMPLIANCE,
        expr=f"{engine.SLI_PERIOD} < {engine.OBJECTIVE}" + _shared_guard(engine.TOTAL_PERIOD) + _members(period),
        for_=COMPLIANCE_FOR,
        severity="info",
        summary=f"{_SERVICE}: SLO {_SLO} is below its objective over the last {period}",
        description=f"{_shared_who(period)}: the SLI over the last {period} is {{{{ $value | humanizePercentage }}}}, below the objective.",
        runbook=COMPLIANCE_RUNBOOK,
        team=None,
        dashboard=SHARED_DASHBOARD,
    )


# --- inhibitions --------------------------------------------------------------------


def inhibit_rules(names: set[str]) -> list[dict[str, Any]]:
    """A faster burn alert silences the slower ones of the same SLO (among the alerts generated)."""
    present = [p for p in windows("30d").pairs if p.alert in names]
    rules = []
    for i, faster in enumerate(present[:-1]):
        slower = "|".join(p.alert for p in present[i + 1 :])
        rules.append(
            {
                "source_matchers": [f'alertname="{faster.alert}"'],
                "target_matchers": [f'alertname=~"{slower}"'],
                "equal": list(INHIBIT_EQUAL),
            }
        )
    return rules
