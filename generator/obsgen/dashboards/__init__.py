"""Grafana dashboards of a stack: built with grafana-foundation-sdk from the
tables in catalogue.py, gated per tier down to the panel, delivered by the
dashboards subchart as one ConfigMap each.

The public helpers below are what the tests and the latency benchmark use to
walk every query of a generated dashboard.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..model import Stack
from . import catalogue, render, runbooks, sources

# The grafana subchart's sidecar loads ConfigMaps with this label into the
# folder named by this annotation.
SIDECAR_LABEL = "grafana_dashboard"
SIDECAR_LABEL_VALUE = "1"
FOLDER_ANNOTATION = "grafana_folder"
# The datasource sidecar (off unless a profile names grafana.datasourceNamespaces).
DATASOURCE_SIDECAR_LABEL = "grafana_datasource"


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    folder: str
    document: dict[str, Any]
    # One key per line keeps the values files diffable, and whitespace costs
    # little once Helm gzips the release; compact specs (the runbook pages)
    # are written on one line, which halves their share.
    indent: int | None = 1

    @property
    def text(self) -> str:
        if self.indent is None:
            return json.dumps(self.document, ensure_ascii=False, separators=(",", ":"))
        return json.dumps(self.document, indent=self.indent, ensure_ascii=False)


def build(stack: Stack) -> list[Dashboard]:
    """Every dashboard the stack's tier and profile call for, in menu order."""
    capabilities = sources.capabilities(stack)
    specs = catalogue.specs(stack) + runbooks.specs(stack)
    available = frozenset(s.uid for s in specs if render.kept(s, stack, capabilities))
    out = []
    for spec in specs:
        document = render.render(spec, stack, capabilities, available)
        if document is not None:
            out.append(Dashboard(spec.uid, spec.title, spec.folder, document, None if spec.compact else 1))
    return out


def values(stack: Stack) -> dict[str, Any]:
    """The `dashboards` section of the chart values."""
    return {
        "enabled": stack.enabled("grafana"),
        "sidecar": {"label": SIDECAR_LABEL, "labelValue": SIDECAR_LABEL_VALUE, "folderAnnotation": FOLDER_ANNOTATION},
        "items": [
            {"name": b.uid, "title": b.title, "folder": b.folder, "json": b.text}
            for b in (build(stack) if stack.enabled("grafana") else [])
        ],
    }


# --- walking generated dashboards (tests, benchmark) ---------------------------


@dataclass(frozen=True)
class PanelQuery:
    dashboard: str  # uid
    panel: str  # title
    datasource: str  # datasource type
    expr: str
    instant: bool


def panels(document: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel that is not a row, rows' nested panels included."""
    for panel in document.get("panels", []):
        if panel.get("type") == "row":
            yield from panel.get("panels", [])
        else:
            yield panel


def queries(document: Mapping[str, Any]) -> list[PanelQuery]:
    out = []
    for panel in panels(document):
        for target in panel.get("targets", []):
            expr = target.get("expr", target.get("query", ""))
            source = target.get("datasource", panel.get("datasource", {})).get("type", "")
            out.append(PanelQuery(document["uid"], panel.get("title", ""), source, expr, bool(target.get("instant"))))
    return out


def variable_selectors(document: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(variable name, series selector) of the dashboard's label_values() variables."""
    out = []
    for variable in document.get("templating", {}).get("list", []):
        match = re.fullmatch(r"label_values\((.*), *\w+\)", str(variable.get("query", "")), re.S)
        if variable.get("type") == "query" and match:
            out.append((variable["name"], match.group(1)))
    return out


_VARIABLE = re.compile(r"\$(?:\{(\w+)(?::\w+)?\}|(\w+))")


def interpolate(expr: str, values: Mapping[str, str]) -> str:
    """Substitute Grafana variables ($name, ${name}) the way Grafana would; unknown ones raise KeyError."""

    def sub(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return values[name]

    return _VARIABLE.sub(sub, expr)
