"""Dashboard specs → Grafana JSON, through grafana-foundation-sdk.

Only this module knows the SDK. Gating happens here too: a spec item is
rendered when the tier and the stack's capabilities allow it (see spec.py).
"""

from __future__ import annotations

import json
import re
import string
from typing import Any

from grafana_foundation_sdk.builders import common as c
from grafana_foundation_sdk.builders import dashboard as d
from grafana_foundation_sdk.builders import logs, loki, prometheus, stat, table, tempo, text, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models import prometheus as pm
from grafana_foundation_sdk.models import text as tm

from .. import gates
from ..model import Stack
from .sources import DATASOURCES, Datasource
from .spec import DashboardSpec, Link, Panel, Query, Row, Variable

_DASHBOARD_URL = re.compile(r"^/d/([A-Za-z0-9_-]+)")
REFRESH_INTERVALS = ["5s", "10s", "15s", "30s", "1m", "5m", "15m", "1h"]


def allowed(item: Panel | Row | Variable | DashboardSpec, stack: Stack, capabilities: frozenset[str]) -> bool:
    return gates.allows(stack, item.min_tier, item.requires, capabilities)


def _ref(source: Datasource) -> dm.DataSourceRef:
    return dm.DataSourceRef(type_val=source.type, uid=f"${{{source.variable}}}")


def _target(query: Query, source: Datasource, ref_id: str) -> Any:
    if source.type == "prometheus":
        target = prometheus.Dataquery().expr(query.expr).ref_id(ref_id).datasource(_ref(source)).editor_mode(pm.QueryEditorMode.CODE)
        target = target.instant() if query.instant else target.range()
        if query.legend:
            target = target.legend_format(query.legend)
        if query.table:
            target = target.format(pm.PromQueryFormat.TABLE)
        return target
    if source.type == "loki":
        return loki.Dataquery().expr(query.expr).ref_id(ref_id).datasource(_ref(source))
    if source.type == "tempo":
        return tempo.TempoQuery().query(query.expr).query_type("traceql").ref_id(ref_id).datasource(_ref(source))
    raise ValueError(f"no query builder for datasource type {source.type!r}")


def _thresholds(panel: Panel) -> d.ThresholdsConfig:
    steps = panel.thresholds or ((None, "green"),)
    return d.ThresholdsConfig().mode(dm.ThresholdsMode.ABSOLUTE).steps([dm.Threshold(value=v, color=colour) for v, colour in steps])


_KINDS = {"timeseries": timeseries.Panel, "stat": stat.Panel, "table": table.Panel, "logs": logs.Panel}


def _text_panel(panel: Panel) -> Any:
    return text.Panel().title(panel.title).span(panel.width).height(panel.height).mode(tm.TextMode.MARKDOWN).content(panel.content)


def _panel(panel: Panel, available: frozenset[str]) -> Any:
    if panel.kind == "text":
        return _text_panel(panel)
    source = DATASOURCES[panel.datasource]
    builder = _KINDS[panel.kind]().title(panel.title).unit(panel.unit).datasource(_ref(source))
    builder = builder.span(panel.width).height(panel.height).thresholds(_thresholds(panel))
    for i, query in enumerate(panel.queries):
        builder = builder.with_target(_target(query, source, string.ascii_uppercase[i]))
    if panel.description:
        builder = builder.description(panel.description)
    if panel.min is not None:
        builder = builder.min(panel.min)
    if panel.max is not None:
        builder = builder.max(panel.max)
    if panel.decimals is not None:
        builder = builder.decimals(panel.decimals)
    links = _links(panel.links, available)
    if links:
        builder = builder.data_links([d.DashboardLink(link.title).url(link.url) for link in links])
    if panel.kind == "stat":
        builder = (
            builder.reduce_options(c.ReduceDataOptions().calcs(["lastNotNull"]))
            .graph_mode(cm.BigValueGraphMode.NONE)
            .color_scheme(d.FieldColor().mode(dm.FieldColorModeId.THRESHOLDS))
        )
    elif panel.kind == "timeseries":
        builder = builder.fill_opacity(10).line_width(1).show_points(cm.VisibilityMode.NEVER)
        if panel.thresholds:
            builder = builder.thresholds_style(c.GraphThresholdsStyleConfig().mode(cm.GraphThresholdsStyleMode.DASHED))
        if panel.stacked:
            builder = builder.stacking(c.StackingConfig().mode(cm.StackingMode.NORMAL))
    return builder


def _variable(variable: Variable) -> d.QueryVariable:
    builder = (
        d.QueryVariable(variable.name)
        .label(variable.label)
        .query(variable.query)
        .datasource(_ref(DATASOURCES["prometheus"]))
        .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dm.VariableSort.ALPHABETICAL_ASC)
    )
    if variable.multi:
        # "All" as `.*` rather than a list of every value keeps URLs and
        # queries short, and also matches series without the label.
        builder = builder.multi(True).include_all(True).all_value(".*").current(dm.VariableOption(text="All", value="$__all"))
    return builder


def _datasource_variable(source: Datasource) -> d.DatasourceVariable:
    return (
        d.DatasourceVariable(source.variable)
        .label(source.label)
        .type(source.type)
        .current(dm.VariableOption(selected=True, text=source.uid, value=source.uid))
    )


def _number_panels(document: dict[str, Any]) -> None:
    """Panel ids: Grafana keys per-panel state (links, view mode) on them."""
    next_id = 1
    for panel in document.get("panels", []):
        panel["id"] = next_id
        next_id += 1
        for inner in panel.get("panels", []):
            inner["id"] = next_id
            next_id += 1


def target_uid(url: str) -> str | None:
    """The dashboard uid a relative link opens, if it opens one."""
    match = _DASHBOARD_URL.match(url)
    return match.group(1) if match else None


def _links(links: tuple[Link, ...], available: frozenset[str]) -> tuple[Link, ...]:
    """Links to dashboards this stack does not generate are left out."""
    return tuple(link for link in links if target_uid(link.url) in (None, *available))


def kept(spec: DashboardSpec, stack: Stack, capabilities: frozenset[str]) -> list[tuple[Row, list[Panel]]]:
    """The rows and panels gating keeps; empty when the dashboard is not generated."""
    if not allowed(spec, stack, capabilities):
        return []
    rows = []
    for row in spec.rows:
        if not allowed(row, stack, capabilities):
            continue
        panels = [p for p in row.panels if allowed(p, stack, capabilities) and set(DATASOURCES[p.datasource].requires) <= capabilities]
        if panels:
            rows.append((row, panels))
    return rows


def render(spec: DashboardSpec, stack: Stack, capabilities: frozenset[str], available: frozenset[str]) -> dict[str, Any] | None:
    """The dashboard's JSON model, or None when gating leaves no panel.

    available: uids of the dashboards generated for this stack, for links.
    """
    rows = kept(spec, stack, capabilities)
    if not rows:
        return None
    used = {p.datasource for _, panels in rows for p in panels if p.kind != "text"}
    builder = (
        d.Dashboard(spec.title)
        .uid(spec.uid)
        .description(spec.description)
        .tags(list(spec.tags))
        .refresh(spec.refresh)
        .time(spec.time_from, "now")
        .timezone("browser")
        .tooltip(dm.DashboardCursorSync.CROSSHAIR)
        .readonly()
        .timepicker(d.TimePicker().refresh_intervals(REFRESH_INTERVALS))
        .link(
            d.DashboardLink(spec.menu[0])
            .type(dm.DashboardLinkType.DASHBOARDS)
            .tags([spec.menu[1]])
            .as_dropdown(True)
            .include_vars(True)
            .keep_time(True)
        )
    )
    for link in _links(spec.links, available):
        builder = builder.link(d.DashboardLink(link.title).type(dm.DashboardLinkType.LINK).url(link.url))
    for key in ("prometheus", *sorted(used - {"prometheus"})):
        builder = builder.with_variable(_datasource_variable(DATASOURCES[key]))
    for variable in spec.variables:
        if allowed(variable, stack, capabilities):
            builder = builder.with_variable(_variable(variable))
    for row, panels in rows:
        builder = builder.with_row(d.Row(row.title))
        for panel in panels:
            builder = builder.with_panel(_panel(panel, available))
    document = json.loads(json.dumps(builder.build(), cls=JSONEncoder))
    _number_panels(document)
    return document
