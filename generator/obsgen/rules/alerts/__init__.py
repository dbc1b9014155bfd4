"""The alert catalogue: every alert obs can generate, one table split by area.

Each area module (kubernetes, nodes, control_plane, services, dependencies,
telemetry_pipeline, scraping) lists its entries (spec.AlertSpec);
this module joins them and turns the entries a stack generates into rules.
"""

from __future__ import annotations

from ... import gates
from ...model import Dependency, Service, Stack
from .. import recordings as rec
from ..types import AlertRule, Escalation, RuleGroup
from . import control_plane, dependencies, kubernetes, nodes, scraping, services, telemetry_pipeline
from .spec import MIN_REQUEST_RATE, NAMES, AlertSpec

__all__ = ["CATALOGUE", "MIN_REQUEST_RATE", "SOURCES", "AlertSpec"]

AREAS = (kubernetes, nodes, control_plane, services, dependencies, telemetry_pipeline, scraping)
CATALOGUE: tuple[AlertSpec, ...] = tuple(spec for area in AREAS for spec in area.ALERTS)
# Where each entry is written, for the runbook pages.
SOURCES: dict[str, str] = {
    spec.name: f"generator/obsgen/rules/alerts/{area.__name__.rsplit('.', 1)[1]}.py" for area in AREAS for spec in area.ALERTS
}

BY_NAME = {spec.name: spec for spec in CATALOGUE}


ESCALATIONS: tuple[Escalation, ...] = (
    Escalation("ServiceErrorRatioHigh", "ServiceErrorRatioElevated", ("cluster", "namespace", "service")),
    Escalation("PersistentVolumeAlmostFull", "PersistentVolumeFillingUp", ("cluster", "namespace", "persistentvolumeclaim")),
    Escalation("NodeFilesystemAlmostFull", "NodeFilesystemFillingUp", ("cluster", "node", "device", "mountpoint")),
    Escalation("KubePodCrashLooping", "KubePodRestartingFrequently", ("cluster", "namespace", "pod", "container")),
)


def escalations(stack: Stack) -> list[Escalation]:
    """The catalogue's escalations whose two alerts the stack generates."""
    generated = {rule.name for rules in instances(stack).values() for rule in rules}
    return [e for e in ESCALATIONS if e.critical in generated and e.warning in generated]


def _in_tier(spec: AlertSpec, stack: Stack) -> bool:
    return gates.allows(stack, spec.min_tier, spec.requires)


def _resolve(spec: AlertSpec, stack: Stack, service: Service | None) -> tuple[float | None, str]:
    threshold, for_ = spec.threshold, spec.for_
    for overrides in (stack.alert_overrides, service.alert_overrides if service else {}):
        o = overrides.get(spec.name)
        if o:
            threshold = o.threshold if o.threshold is not None else threshold
            for_ = o.for_ or for_
    return threshold, for_


def _fill(template: str, values: dict[str, str]) -> str:
    for key, value in {**NAMES, **values}.items():
        template = template.replace(f"<<{key}>>", value)
    if "<<" in template:
        raise ValueError(f"unfilled placeholder in {template!r}")
    return template


_EXAMPLE = {
    "sel": '{service="<service>", namespace="<namespace>"}',
    "dep_sel": '{service="<dependency service>", namespace="<its namespace>"}',
    "service": "<service>",
    "namespace": "<namespace>",
    "dependency": "<dependency>",
}


def example_expr(spec: AlertSpec) -> str:
    """The rule as generated, with readable stand-ins for the per-service parts (for runbooks)."""
    values = dict(_EXAMPLE)
    if spec.threshold is not None:
        values["threshold"] = _number(spec.threshold)
    return _fill(spec.expr, values)


def _number(value: float) -> str:
    return repr(value) if isinstance(value, float) and not value.is_integer() else str(int(value))


def _instance(spec: AlertSpec, stack: Stack, service: Service | None, values: dict[str, str], labels: dict[str, str]) -> AlertRule:
    threshold, for_ = _resolve(spec, stack, service)
    if threshold is not None:
        values = {**values, "threshold": _number(threshold)}
    return AlertRule(
        name=spec.name,
        expr=_fill(spec.expr, values),
        for_=for_,
        severity=spec.severity,
        summary=_fill(spec.summary, values),
        description=_fill(spec.description, values),
        runbook=spec.runbook,
        team=service.team if service else "",
        labels=labels,
        dashboard=_fill(spec.dashboard, values),
    )


def _service_values(service: Service) -> dict[str, str]:
    return {"sel": rec.service_selector(service), "service": service.name, "namespace": service.namespace}


def _dependency_target(stack: Stack, dep: Dependency) -> Service | None:
    return next((s for s in stack.services if s.name == dep.service), None)


def instances(stack: Stack) -> dict[str, list[AlertRule]]:
    """Alert rules of the stack by group name, in catalogue order."""
    groups: dict[str, list[AlertRule]] = {}
    for spec in CATALOGUE:
        if spec.name in stack.alerts_disabled or not _in_tier(spec, stack):
            continue
        out = groups.setdefault(spec.group, [])
        if spec.scope == "cluster":
            out.append(_instance(spec, stack, None, {}, {}))
            continue
        for service in stack.services:
            if spec.name in service.alerts_disabled:
                continue
            values = _service_values(service)
            labels = {"service": service.name, "namespace": service.namespace}
            if spec.scope == "service":
                out.append(_instance(spec, stack, service, values, labels))
            elif spec.scope == "probe":
                if any(not p.dependency for p in service.probes):
                    out.append(_instance(spec, stack, service, values, labels))
            else:
                for dep in service.dependencies:
                    target = _dependency_target(stack, dep)
                    dep_values = {**values, "dependency": dep.name}
                    dep_labels = {**labels, "dependency": dep.name}
                    if spec.scope == "dependency-service" and target:
                        dep_values["dep_sel"] = rec.service_selector(target)
                        out.append(_instance(spec, stack, service, dep_values, dep_labels))
                    elif spec.scope == "dependency-probe" and not target:
                        out.append(_instance(spec, stack, service, dep_values, dep_labels))
    return {name: rules for name, rules in groups.items() if rules}


# Groups whose alerts must be evaluated faster than the tier's default, so a
# dead endpoint pages within a minute even where scraping runs every 30 s.
GROUP_INTERVALS = {"availability": "15s"}


# Rules per group: one area's alerts for hundreds of services would make one
# group, and so one file, larger than a ConfigMap may be. Alerts of one area
# read recordings, never each other, so cutting them apart changes nothing.
GROUP_SIZE = 200


def groups_by_area(stack: Stack) -> dict[str, list[RuleGroup]]:
    """Alert groups of each catalogue area: obs-alerts-<area>, then -2, -3, … past GROUP_SIZE rules."""
    out: dict[str, list[RuleGroup]] = {}
    for area, rules in instances(stack).items():
        for k in range(0, len(rules), GROUP_SIZE):
            suffix = f"-{k // GROUP_SIZE + 1}" if k else ""
            group = RuleGroup(f"obs-alerts-{area}{suffix}", tuple(rules[k : k + GROUP_SIZE]), GROUP_INTERVALS.get(area, ""))
            out.setdefault(area, []).append(group)
    return out


def groups(stack: Stack) -> list[RuleGroup]:
    return [group for area in groups_by_area(stack).values() for group in area]
