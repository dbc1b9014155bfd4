"""Sloth `prometheus/v1` SLO files (https://sloth.dev/specs/v1/).

Sloth queries return per-second rates over `{{.window}}`; the engine counts
events, so each query becomes rate × window length. Everything Sloth can say
that the engine cannot honour is an error naming the field: a silently
dropped setting would leave an SLO that does not do what its file says.
"""

from __future__ import annotations

import re
from typing import Any

from ...model import Stack
from . import sli as slis
from . import validate
from .definition import DEFAULT_MIN_EVENTS, SLO
from .validate import Problems

VERSION = "prometheus/v1"
PERIOD = "30d"  # Sloth's default; a prometheus/v1 file cannot set another

_WINDOW = re.compile(r"\{\{\s*\.window\s*\}\}")
_ALERTS_ARE_GENERATED = "obsgen generates the burn-rate alerts of the tier (SLOErrorBudgetBurn*: names, windows, severities); remove it"
_WHY_NOT = {
    "raw": "a ratio query cannot be weighted by traffic nor guarded against low traffic; give sli.events (error_query, total_query)",
    "plugin": "Sloth SLI plugins do not exist in obsgen; write the plugin's queries as sli.events",
    "name": _ALERTS_ARE_GENERATED,
    "annotations": _ALERTS_ARE_GENERATED,
    "page_alert": _ALERTS_ARE_GENERATED,
    "ticket_alert": _ALERTS_ARE_GENERATED,
}


def is_sloth(document: Any) -> bool:
    return isinstance(document, dict) and "version" in document and "slos" in document


def _fields(data: dict[str, Any], allowed: frozenset[str], path: str, src: str, problems: Problems) -> bool:
    ok = True
    for key in data:
        if key in allowed:
            continue
        ok = False
        field = f"{path}.{key}" if path else str(key)
        problems.add(
            src, field, f"not supported: {_WHY_NOT[key]}" if key in _WHY_NOT else f"field {key!r} is not supported by obsgen; remove it"
        )
    return ok


def _labels(value: Any, path: str, src: str, problems: Problems) -> tuple[tuple[str, str], ...]:
    out, found = validate.labels(value)
    for sub, reason in found:
        problems.add(src, path + sub, reason)
    return out


def _query(value: Any, path: str, src: str, problems: Problems) -> str:
    if not isinstance(value, str) or not value.strip():
        problems.add(src, path, "a PromQL query is required")
        return ""
    if not _WINDOW.search(value):
        problems.add(src, path, "the query must use {{.window}} as its range, e.g. rate(x[{{.window}}])")
        return ""
    return _WINDOW.sub("$window", value)


def slos(document: dict[str, Any], src: str, stack: Stack, problems: Problems) -> list[SLO]:
    if document.get("version") != VERSION:
        problems.add(src, "version", f"unsupported Sloth version {document.get('version')!r}: obsgen reads {VERSION!r}")
        return []
    _fields(document, frozenset({"version", "service", "labels", "slos"}), "", src, problems)
    service, reason = validate.service_named(stack, document.get("service"))
    if reason:
        problems.add(src, "service", reason)
    file_labels = _labels(document.get("labels", {}), "labels", src, problems)
    items = document.get("slos")
    if not isinstance(items, list) or not items:
        problems.add(src, "slos", "a non-empty list of SLOs is required")
        return []

    out = []
    for i, spec in enumerate(items):
        path = f"slos[{i}]"
        if not isinstance(spec, dict):
            problems.add(src, path, "an SLO is a mapping")
            continue
        before = problems.count()
        _fields(spec, frozenset({"name", "objective", "description", "labels", "sli", "alerting"}), path, src, problems)
        if reason := validate.name(spec.get("name")):
            problems.add(src, f"{path}.name", reason)
        percent, reason = validate.objective(spec.get("objective"))
        if reason:
            problems.add(src, f"{path}.objective", reason)
        labels = file_labels + _labels(spec.get("labels", {}), f"{path}.labels", src, problems)
        alerting = spec.get("alerting", {})
        if isinstance(alerting, dict):
            _fields(alerting, frozenset({"labels"}), f"{path}.alerting", src, problems)
            labels += _labels(alerting.get("labels", {}), f"{path}.alerting.labels", src, problems)
        sli = spec.get("sli")
        events: dict[str, Any] = {}
        if not isinstance(sli, dict) or not sli:
            problems.add(src, f"{path}.sli", "required: sli.events with error_query and total_query")
        elif _fields(sli, frozenset({"events"}), f"{path}.sli", src, problems):
            events = sli["events"] if isinstance(sli["events"], dict) else {}
            _fields(events, frozenset({"error_query", "total_query"}), f"{path}.sli.events", src, problems)
        error_query = _query(events.get("error_query"), f"{path}.sli.events.error_query", src, problems) if events else ""
        total_query = _query(events.get("total_query"), f"{path}.sli.events.total_query", src, problems) if events else ""
        if problems.count() > before or service is None or percent is None:
            continue
        out.append(
            SLO(
                name=spec["name"],
                service=service.name,
                namespace=service.namespace,
                team=service.team,
                objective=percent,
                period=PERIOD,
                min_events=DEFAULT_MIN_EVENTS,
                sli=slis.rates(error_query, total_query, "sloth"),
                file=src,
                field=path,
                description=str(spec.get("description", "")),
                labels=labels,
            )
        )
    return out
