"""Checks shared by every SLO source, and the collector that reports them all at once."""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from ...errors import ValidationErrors
from ...model import Service, Stack

NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
# Labels the engine sets itself (on alerts, on recordings, on slo:info); a
# file may not redefine them.
RESERVED_LABELS = frozenset(
    {"alertname", "slo", "service", "namespace", "team", "severity", "tier", "burn_window", "action", "cluster"}
    | {"sli", "period", "objective", "min_events", "alerts"}
)


class SLOValidationErrors(ValidationErrors):
    """Problems in one or several files. `source`/`problems` describe the first
    file (as ValidationErrors does); the message lists every file's problems."""

    def __init__(self, by_source: dict[str, list[tuple[str, str]]]):
        (source, problems), *_ = by_source.items()
        super().__init__(source, problems)
        self.by_source = by_source
        self.args = ("\n".join(f"{src}: {path}: {reason}" for src, items in by_source.items() for path, reason in items),)


class Problems:
    def __init__(self) -> None:
        self.by_source: dict[str, list[tuple[str, str]]] = {}

    def add(self, source: str, path: str, reason: str) -> None:
        items = self.by_source.setdefault(source, [])
        if (path, reason) not in items:  # an object referenced twice is reported once
            items.append((path, reason))

    def count(self) -> int:
        return sum(len(items) for items in self.by_source.values())

    def raise_if_any(self) -> None:
        if self.by_source:
            raise SLOValidationErrors(self.by_source)


def objective(value: Any) -> tuple[Decimal | None, str]:
    """(percent, "") or (None, reason)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None, f"{value!r} is not a number"
    try:
        percent = Decimal(str(value))
    except InvalidOperation:
        return None, f"{value!r} is not a number"
    if percent == 100:
        # Burn rates are error ratios divided by the budget, 1 − objective:
        # at 100 every bad event is an infinite burn and a quiet window 0/0.
        return None, "100 leaves no error budget, so there is no burn rate to alert on: use the objective the service can meet (e.g. 99.99)"
    if not percent.is_finite() or not 0 < percent < 100:
        return None, f"{value} is not a percentage strictly between 0 and 100"
    return Decimal(format(percent.normalize(), "f")), ""  # 99.900 → 99.9, 90 stays 90


def period(value: Any, periods: Iterable[str]) -> str:
    """ "" when one of periods (the stack's window tables: periods.of), else the reason."""
    supported = list(periods)
    if value in supported:
        return ""
    return f"unsupported period {value!r}: supported are {', '.join(supported)} (more with sloDefaults.windows)"


def name(value: Any) -> str:
    if isinstance(value, str) and len(value) <= 63 and NAME.match(value):
        return ""
    return f"{value!r} is not a valid SLO name (lower-case letters, digits and '-', at most 63 characters)"


def labels(value: Any) -> tuple[tuple[tuple[str, str], ...], list[tuple[str, str]]]:
    """Extra labels of an SLO's recordings and alerts: (labels, [(sub-path, reason)])."""
    if not isinstance(value, dict):
        return (), [("", "must be a mapping of label names to strings")]
    out, problems = [], []
    for key, text in value.items():
        if not isinstance(key, str) or not LABEL_NAME.match(key):
            problems.append((f".{key}", f"{key!r} is not a valid Prometheus label name"))
        elif key in RESERVED_LABELS:
            problems.append((f".{key}", f"label {key!r} is set by obsgen and cannot be overridden"))
        elif not isinstance(text, str | int | float) or isinstance(text, bool):
            problems.append((f".{key}", "label values must be strings"))
        else:
            out.append((key, str(text)))
    return tuple(out), problems


def service_named(stack: Stack, service: Any) -> tuple[Service | None, str]:
    matches = [s for s in stack.services if s.name == service]
    if len(matches) == 1:
        return matches[0], ""
    declared = ", ".join(sorted({s.name for s in stack.services})) or "none"
    if not matches:
        return None, f"service {service!r} is not declared in the profile (declared: {declared})"
    namespaces = ", ".join(s.namespace for s in matches)
    return None, f"service {service!r} is declared in several namespaces ({namespaces}); rename one of them"
