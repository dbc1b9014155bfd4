"""OpenSLO `openslo/v1alpha` SLO documents, read the way Sloth reads them.

The version Sloth implements: one `kind: SLO` document whose objectives
each carry `ratioMetrics` (good or bad, and total: PromQL rates over
`{{.window}}`) and a `target` ratio, with at most one time window in days.
Every objective is an SLO of its own, known by Sloth's id
`<service>-<name>-<index>`. Sloth turns the ratio into an error-ratio query;
obs counts events instead (bad = total − good), so the windows stay
traffic-weighted. v1alpha has no alerting, and Sloth generates no alert for
these SLOs: obs neither (recordings, dashboards and the report only).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Any

from ...model import Stack
from . import periods, validate
from . import sli as slis
from .definition import DEFAULT_MIN_EVENTS, SLO
from .validate import Problems

API_VERSION = "openslo/v1alpha"
_SOURCES = frozenset({"prometheus", "sloth"})
_GOOD_MEANS = {"good": "events the good query counts", "bad": "events not counted by the bad query"}


def is_v1alpha(document: Any) -> bool:
    return isinstance(document, dict) and document.get("apiVersion") == API_VERSION


def _query(metric: Any, field: str, src: str, problems: Problems) -> str:
    if not isinstance(metric, dict):
        problems.add(src, field, "required: source, queryType and query")
        return ""
    if metric.get("source") not in _SOURCES:
        problems.add(src, f"{field}.source", f"{metric.get('source')!r} is not supported: use prometheus")
        return ""
    if metric.get("queryType") != "promql":
        problems.add(src, f"{field}.queryType", f"{metric.get('queryType')!r} is not supported: use promql")
        return ""
    query = metric.get("query")
    if not isinstance(query, str) or "{{.window}}" not in query.replace(" ", ""):
        problems.add(src, f"{field}.query", "a PromQL query with {{.window}} as its range is required, e.g. rate(x[{{.window}}])")
        return ""
    return query.replace("{{ .window }}", "$window").replace("{{.window}}", "$window")


def _period(spec: dict[str, Any], stack: Stack, src: str, problems: Problems) -> str | None:
    windows = spec.get("timeWindows") or []
    if not windows:
        return stack.slo_default_period
    if not isinstance(windows, list) or len(windows) != 1 or not isinstance(windows[0], dict):
        problems.add(src, "spec.timeWindows", "at most one time window is supported")
        return None
    window = windows[0]
    count = window.get("count")
    if str(window.get("unit", "")).lower() != "day" or isinstance(count, bool) or not isinstance(count, int) or count <= 0:
        problems.add(src, "spec.timeWindows[0]", "only a whole number of days is supported (unit: Day)")
        return None
    period = f"{count}d"
    if reason := validate.period(period, periods.of(stack)):
        problems.add(src, "spec.timeWindows[0].count", reason)
        return None
    return period


def slos(document: dict[str, Any], src: str, stack: Stack, problems: Problems) -> list[SLO]:
    if document.get("kind") != "SLO":
        problems.add(src, "kind", f"{API_VERSION} documents of kind {document.get('kind')!r} are not read: only SLO")
        return []
    name = (document.get("metadata") or {}).get("name")
    spec = document.get("spec")
    if not isinstance(spec, dict) or not isinstance(name, str) or not name:
        problems.add(src, "(top level)", "required: metadata.name and spec")
        return []
    service, reason = validate.service_named(stack, spec.get("service"))
    if reason:
        problems.add(src, "spec.service", reason)
    period = _period(spec, stack, src, problems)
    objectives = spec.get("objectives")
    if not isinstance(objectives, list) or not objectives:
        problems.add(src, "spec.objectives", "at least one objective is required")
        return []
    out = []
    for i, objective in enumerate(objectives):
        field = f"spec.objectives[{i}]"
        before = problems.count()
        ratio = objective.get("ratioMetrics") if isinstance(objective, dict) else None
        if not isinstance(ratio, dict) or "total" not in ratio or ("good" in ratio) == ("bad" in ratio):
            problems.add(src, f"{field}.ratioMetrics", "required: total, and exactly one of good and bad")
            continue
        total = _query(ratio["total"], f"{field}.ratioMetrics.total", src, problems)
        kind = "good" if "good" in ratio else "bad"
        other = _query(ratio[kind], f"{field}.ratioMetrics.{kind}", src, problems)
        groups = slis.checked_groups(problems, src, f"{field}.ratioMetrics", other, total)
        try:
            percent_value = Decimal(str(objective.get("target"))) * 100
        except InvalidOperation:
            percent_value = objective.get("target")
        percent, reason = validate.objective(percent_value)
        if reason:
            problems.add(src, f"{field}.target", f"target {objective.get('target')!r}: {reason} (as a ratio, e.g. 0.999)")
        if problems.count() > before or service is None or period is None or percent is None:
            continue
        sli = slis.rates(other, total, "openslo", groups, good=kind == "good")
        out.append(
            SLO(
                name=f"{service.name}-{name}-{i}",
                service=service.name,
                namespace=service.namespace,
                team=service.team,
                objective=percent,
                period=period,
                min_events=DEFAULT_MIN_EVENTS,
                sli=replace(sli, good_means=_GOOD_MEANS[kind]),
                file=src,
                field=field,
                description=str(spec.get("description", "")),
                roles=frozenset(),
                no_data=False,
            )
        )
    return out
