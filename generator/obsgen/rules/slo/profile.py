"""SLOs declared in the profile, under each service's `slos:`."""

from __future__ import annotations

import math
from typing import Any

from ... import paths, promql
from ...model import Dependency, Service, Stack
from . import periods, validate
from . import sli as slis
from .definition import DEFAULT_MIN_EVENTS, DEFAULT_POLICY_ACTION, SLO
from .validate import Problems
from .windows import DEFAULT_PERIOD

# Probes are synthetic traffic at a fixed rate: a low-traffic guard would
# only block pages when the scrape interval is long, so one probe suffices.
PROBE_MIN_EVENTS = 1


def source(stack: Stack) -> str:
    """How errors name the profile file."""
    return paths.display(stack.source)


def _callee(stack: Stack, caller: Service, dependency: Dependency) -> Service | None:
    same_namespace = [s for s in stack.services if s.name == dependency.service and s.namespace == caller.namespace]
    anywhere = [s for s in stack.services if s.name == dependency.service]
    if same_namespace:
        return same_namespace[0]
    return anywhere[0] if len(anywhere) == 1 else None


def _bucket_text(buckets: tuple[float, ...]) -> str:
    return ", ".join(f"{b:g}" for b in buckets)


def _sli(stack: Stack, service: Service, spec: dict[str, Any], path: str, problems: list[tuple[str, str]]) -> tuple[slis.SLI | None, bool]:
    """(SLI, is_probe) for one profile SLO; problems appended."""
    kind = spec.get("type")
    contract = service.contract
    if kind == "availability":
        return slis.availability(contract), False
    if kind == "error-rate":
        try:
            return slis.error_rate(contract, spec.get("errorStatus", "5..")), False
        except promql.PromQLError as exc:
            problems.append((f"{path}.errorStatus", str(exc)))
            return None, False
    if kind == "latency":
        threshold = spec.get("latency", {}).get("threshold")
        if not any(math.isclose(float(threshold), b, rel_tol=1e-9) for b in contract.buckets):
            problems.append(
                (
                    f"{path}.latency.threshold",
                    f"{threshold:g} s is not a bucket boundary of {contract.duration_bucket} of service {service.name!r}"
                    f" (buckets: {_bucket_text(contract.buckets)}); pick one or declare telemetry.buckets",
                )
            )
            return None, False
        return slis.latency(contract, float(threshold)), False
    if kind == "dependency":
        name = spec.get("dependency")
        dependency = next((d for d in service.dependencies if d.name == name), None)
        if dependency is None:
            declared = ", ".join(d.name for d in service.dependencies) or "none"
            problems.append((f"{path}.dependency", f"{name!r} is not a dependency of service {service.name!r} (declared: {declared})"))
            return None, False
        if dependency.service:
            callee = _callee(stack, service, dependency)
            if callee is None:
                problems.append(
                    (
                        f"{path}.dependency",
                        f"dependency {name!r} names service {dependency.service!r}, which is not declared once in the profile",
                    )
                )
                return None, False
            return slis.dependency_service(callee.contract, name, callee.name), False
        return slis.dependency_probe(service.name, name), True
    if kind == "ratio":
        ratio = spec.get("ratio", {})
        bad = [(f"{path}.ratio.{key}", exc) for key in ("errors", "total") if (exc := _parse_error(ratio.get(key, "")))]
        problems.extend((field, f"{ratio.get(field.rsplit('.', 1)[1])!r} {exc}") for field, exc in bad)
        if bad:
            return None, False
        groups, reason = slis.groups_of(ratio.get("errors", ""), ratio.get("total", ""))
        if reason:
            problems.append((f"{path}.ratio", reason))
            return None, False
        return slis.counters(ratio.get("errors", ""), ratio.get("total", ""), groups=groups), False
    problems.append((f"{path}.type", f"unknown SLO type {kind!r}"))
    return None, False


def _parse_error(expr: str) -> str:
    try:
        promql.check(expr)
    except promql.PromQLError as exc:
        return str(exc)
    return ""


def slos(stack: Stack, problems: Problems) -> list[SLO]:
    src = source(stack)
    out = []
    for i, service in enumerate(stack.services):
        for j, spec in enumerate(service.slos):
            path = f"services[{i}].slos[{j}]"
            found: list[tuple[str, str]] = []
            if reason := validate.name(spec.get("name")):
                found.append((f"{path}.name", reason))
            percent, reason = validate.objective(spec.get("objective"))
            if reason:
                found.append((f"{path}.objective", reason))
            period = spec.get("period", DEFAULT_PERIOD)
            if reason := validate.period(period, periods.of(stack)):
                found.append((f"{path}.period", reason))
            sli, is_probe = _sli(stack, service, spec, path, found)
            for field, reason in found:
                problems.add(src, field, reason)
            if found or sli is None or percent is None:
                continue
            out.append(
                SLO(
                    name=spec["name"],
                    service=service.name,
                    namespace=service.namespace,
                    team=service.team,
                    objective=percent,
                    period=period,
                    min_events=int(spec.get("minEvents", PROBE_MIN_EVENTS if is_probe else DEFAULT_MIN_EVENTS)),
                    sli=sli,
                    file=src,
                    field=path,
                    description=spec.get("description", ""),
                    policy_action=spec.get("policy", {}).get("action", DEFAULT_POLICY_ACTION),
                )
            )
    return out
