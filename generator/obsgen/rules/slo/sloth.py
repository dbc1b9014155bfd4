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
from .alerts import KIND_OF_ROLE
from .definition import DEFAULT_MIN_EVENTS, SLO
from .validate import Problems

VERSION = "prometheus/v1"

_WINDOW = re.compile(r"\{\{\s*\.window\s*\}\}")
# Prometheus 3 takes any UTF-8 string as an alert name (Sloth's own examples
# use '-'); control characters would only garble notifications.
_ALERT_NAME = re.compile(r"^[^\x00-\x1f\x7f]+$")
# obs's own labels that a Sloth label of the same name would collide with:
# the file's value is kept under slo_<name>, obs's (routing, ownership,
# multi-cluster identity, the SLO's settings on slo:info) wins. alertname,
# slo and burn_window cannot be renamed into meaning and stay refused.
_RENAMED = validate.RESERVED_LABELS - {"alertname", "slo", "burn_window"}
_KINDS = ("page", "ticket")
# Sloth's names (pkg/common/conventions NameRegexp); an SLO is known by its
# id, `<service>-<name>`, which becomes obs's `slo` label.
_SLOTH_NAME = re.compile(r"^[A-Za-z0-9][-A-Za-z0-9_.]*[A-Za-z0-9]$")


def is_sloth(document: Any) -> bool:
    return isinstance(document, dict) and "version" in document and "slos" in document


def _plugin_ids(value: Any) -> str:
    """The ids a plugin block names (sli.plugin, or a plugins/slo_plugins chain)."""
    items = value.get("chain", [value]) if isinstance(value, dict) else []
    ids = sorted({str(i.get("id")) for i in items if isinstance(i, dict) and i.get("id")})
    return ", ".join(ids) or "unnamed"


def _fields(data: dict[str, Any], allowed: frozenset[str], path: str, src: str, problems: Problems) -> bool:
    ok = True
    for key in data:
        if key in allowed:
            continue
        ok = False
        field = f"{path}.{key}" if path else str(key)
        if key in ("plugin", "plugins", "slo_plugins"):
            kind = "SLI plugin" if key == "plugin" else "SLO plugins"
            reason = f"not supported: Sloth {kind} ({_plugin_ids(data[key])}) run inside Sloth, and obsgen cannot run them"
            if key == "plugin":
                reason += "; write the plugin's queries as sli.events"
            problems.add(src, field, reason)
        else:
            problems.add(src, field, f"field {key!r} is not supported by obsgen; remove it")
    return ok


def _labels(value: Any, path: str, src: str, problems: Problems) -> tuple[tuple[str, str], ...]:
    """Sloth's labels, with those obs sets itself kept as slo_<name> (see _RENAMED)."""
    if isinstance(value, dict):
        value = {(f"slo_{k}" if k in _RENAMED else k): ("true" if v is True else "false" if v is False else v) for k, v in value.items()}
    out, found = validate.labels(value)
    for sub, reason in found:
        problems.add(src, path + sub, reason)
    return out


def _annotations(value: Any, path: str, src: str, problems: Problems) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        problems.add(src, path, "must be a mapping of annotation names to strings")
        return ()
    return tuple(value.items())


def _alerting(alerting: Any, path: str, src: str, problems: Problems) -> dict[str, Any]:
    """Sloth's alerting block: name, labels, annotations, and per kind (page,
    ticket) disable, labels and annotations. Sloth requires the name while a
    kind is on; obs names unnamed alerts after its own (SLOErrorBudgetBurn*)."""
    out: dict[str, Any] = {"name": "", "labels": (), "annotations": (), "kind_labels": [], "kind_annotations": [], "disabled": set()}
    if not isinstance(alerting, dict):
        problems.add(src, path, "must be a mapping")
        return out
    _fields(alerting, frozenset({"name", "labels", "annotations", "page_alert", "ticket_alert"}), path, src, problems)
    name = alerting.get("name", "")
    if name and (not isinstance(name, str) or not _ALERT_NAME.match(name)):
        problems.add(src, f"{path}.name", f"{name!r} is not a valid alert name (a string without control characters)")
    else:
        out["name"] = name
    out["labels"] = _labels(alerting.get("labels", {}), f"{path}.labels", src, problems)
    out["annotations"] = _annotations(alerting.get("annotations", {}), f"{path}.annotations", src, problems)
    for kind in _KINDS:
        key = f"{kind}_alert"
        spec = alerting.get(key, {})
        if not isinstance(spec, dict):
            problems.add(src, f"{path}.{key}", "must be a mapping")
            continue
        _fields(spec, frozenset({"disable", "labels", "annotations"}), f"{path}.{key}", src, problems)
        disable = spec.get("disable", False)
        if not isinstance(disable, bool):
            problems.add(src, f"{path}.{key}.disable", "must be true or false")
        elif disable:
            out["disabled"].add(kind)
        out["kind_labels"].append((kind, _labels(spec.get("labels", {}), f"{path}.{key}.labels", src, problems)))
        out["kind_annotations"].append((kind, _annotations(spec.get("annotations", {}), f"{path}.{key}.annotations", src, problems)))
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
        name = spec.get("name")
        if not isinstance(name, str) or not _SLOTH_NAME.match(name):
            problems.add(src, f"{path}.name", f"{name!r} is not a valid Sloth SLO name (letters, digits, '.', '_', '-'; alphanumeric ends)")
        percent, reason = validate.objective(spec.get("objective"))
        if reason:
            problems.add(src, f"{path}.objective", reason)
        labels = file_labels + _labels(spec.get("labels", {}), f"{path}.labels", src, problems)
        alerting = _alerting(spec.get("alerting", {}), f"{path}.alerting", src, problems)
        sli_spec = spec.get("sli")
        sli = None
        kinds = [k for k in ("events", "raw") if k in sli_spec] if isinstance(sli_spec, dict) else []
        if isinstance(sli_spec, dict):
            _fields(sli_spec, frozenset({"events", "raw"}), f"{path}.sli", src, problems)
        if len(kinds) != 1:
            problems.add(src, f"{path}.sli", "give exactly one of sli.events (error_query, total_query) and sli.raw (error_ratio_query)")
        elif "events" in sli_spec:
            events = sli_spec["events"] if isinstance(sli_spec["events"], dict) else {}
            _fields(events, frozenset({"error_query", "total_query"}), f"{path}.sli.events", src, problems)
            error_query = _query(events.get("error_query"), f"{path}.sli.events.error_query", src, problems)
            total_query = _query(events.get("total_query"), f"{path}.sli.events.total_query", src, problems)
            groups = slis.checked_groups(problems, src, f"{path}.sli.events", error_query, total_query)
            sli = slis.rates(error_query, total_query, "sloth", groups)
        else:
            raw = sli_spec["raw"] if isinstance(sli_spec["raw"], dict) else {}
            _fields(raw, frozenset({"error_ratio_query"}), f"{path}.sli.raw", src, problems)
            query = _query(raw.get("error_ratio_query"), f"{path}.sli.raw.error_ratio_query", src, problems)
            sli = slis.error_ratio(query, "sloth", slis.checked_groups(problems, src, f"{path}.sli.raw", query))
        if problems.count() > before or service is None or percent is None or sli is None:
            continue
        out.append(
            SLO(
                # Sloth's id: the same name may serve several services.
                name=f"{service.name}-{name}",
                service=service.name,
                namespace=service.namespace,
                team=service.team,
                objective=percent,
                # A prometheus/v1 file cannot name a period: Sloth takes it as a
                # flag (--default-slo-period), obs from sloDefaults.period.
                period=stack.slo_default_period,
                min_events=DEFAULT_MIN_EVENTS,
                sli=sli,
                file=src,
                field=path,
                description=str(spec.get("description", "")),
                labels=labels,
                alert_labels=alerting["labels"],
                alert_name=alerting["name"],
                annotations=alerting["annotations"],
                kind_labels=tuple((k, v) for k, v in alerting["kind_labels"] if v),
                kind_annotations=tuple((k, v) for k, v in alerting["kind_annotations"] if v),
                # Sloth alerts on both kinds unless one is disabled, in every tier.
                roles=frozenset(r for r, kind in KIND_OF_ROLE.items() if kind not in alerting["disabled"]),
            )
        )
    return out


# Sloth's Kubernetes resource: the prometheus/v1 fields under `spec`, in
# camelCase. It is read by renaming its keys; errors name the resource's
# own fields.
RESOURCE_API = "sloth.slok.dev/v1"
RESOURCE_KIND = "PrometheusServiceLevel"
_CAMEL = {
    "sloPlugins": "slo_plugins",
    "errorQuery": "error_query",
    "totalQuery": "total_query",
    "errorRatioQuery": "error_ratio_query",
    "pageAlert": "page_alert",
    "ticketAlert": "ticket_alert",
}
_SNAKE = {v: k for k, v in _CAMEL.items()}
# Maps whose keys are data (label and annotation names), never renamed.
_DATA_KEYS = frozenset({"labels", "annotations", "config", "options"})


def is_resource(document: Any) -> bool:
    return isinstance(document, dict) and document.get("kind") == RESOURCE_KIND


def _renamed(node: Any) -> Any:
    if isinstance(node, dict):
        return {_CAMEL.get(k, k): (v if k in _DATA_KEYS else _renamed(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_renamed(v) for v in node]
    return node


class _ResourcePaths(Problems):
    """Reports into `inner` with the resource's field names (spec., camelCase)."""

    def __init__(self, inner: Problems):
        super().__init__()
        self.inner = inner

    def add(self, source: str, path: str, reason: str) -> None:
        parts = [_SNAKE.get(p, p) for p in path.split(".")]
        self.inner.add(source, "spec." + ".".join(parts) if path and path != "version" else path, reason)

    def count(self) -> int:
        return self.inner.count()


def resource_slos(document: dict[str, Any], src: str, stack: Stack, problems: Problems) -> list[SLO]:
    """The SLOs of a PrometheusServiceLevel resource, read as its prometheus/v1 equivalent."""
    if document.get("apiVersion") != RESOURCE_API:
        problems.add(
            src, "apiVersion", f"unsupported {RESOURCE_KIND} version {document.get('apiVersion')!r}: obsgen reads {RESOURCE_API!r}"
        )
        return []
    spec = document.get("spec")
    if not isinstance(spec, dict):
        problems.add(src, "spec", "required: service and slos")
        return []
    return slos({"version": VERSION, **_renamed(spec)}, src, stack, _ResourcePaths(problems))
