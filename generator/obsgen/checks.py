"""Generate-time checks of a whole values document, before anything is written.

What the engines will parse is parsed here: every rule expression and every
Prometheus dashboard query (with Grafana's variables given sample values)
with a real PromQL parser, and the Alertmanager routing tree for receivers
that do not exist. A profile field that reaches one of these is checked
with its own field path earlier (profile checks, the SLO engine); this is
the net under all of them, so a bad expression never reaches a cluster.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from . import dashboards, promql

# What Grafana substitutes for the dashboards' variables at query time; any
# value works for parsing, as long as it has the right shape.
SAMPLE_VARIABLES = {
    "cluster": ".*",
    "service": "service",
    "namespace": "namespace",
    "route": ".*",
    "node": ".*",
    "job": ".*",
    "slo": "slo",
    "__rate_interval": "1m",
    "__interval": "1m",
    "__range": "1h",
}


def _rule_exprs(document: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for rule_file in document["rules"]["files"]:
        for group in rule_file["groups"]:
            for rule in group["rules"]:
                name = rule.get("alert") or rule.get("record")
                yield f"rules.files[{rule_file['name']}] group {group['name']} rule {name}", rule["expr"]


def _dashboard_exprs(document: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for item in document["dashboards"]["items"]:
        board = json.loads(item["json"])
        for query in dashboards.queries(board):
            if query.datasource == "prometheus":
                yield f"dashboards.items[{item['name']}] panel {query.panel!r}", query.expr
        for name, selector in dashboards.variable_selectors(board):
            yield f"dashboards.items[{item['name']}] variable {name}", selector


def promql_problems(document: dict[str, Any]) -> list[tuple[str, str]]:
    problems = []
    exprs = list(_rule_exprs(document))
    for where, expr in _dashboard_exprs(document):
        try:
            exprs.append((where, dashboards.interpolate(expr, SAMPLE_VARIABLES)))
        except KeyError as exc:
            problems.append((where, f"uses Grafana variable ${exc.args[0]}, which no dashboard defines"))
    for where, expr in exprs:
        try:
            promql.check(expr)
        except promql.PromQLError as exc:
            problems.append((where, f"generated expression {exc}: {' '.join(expr.split())[:200]}"))
    return problems


def _routes(route: dict[str, Any], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, route
    for i, child in enumerate(route.get("routes", [])):
        yield from _routes(child, f"{path}.routes[{i}]")


def alertmanager_problems(config: dict[str, Any]) -> list[tuple[str, str]]:
    """Receivers a route names that the config does not define (Alertmanager refuses to start)."""
    defined = {r["name"] for r in config.get("receivers", [])}
    problems = []
    for path, route in _routes(config.get("route", {}), "alertmanager.config.route"):
        receiver = route.get("receiver")
        if receiver is not None and receiver not in defined:
            problems.append((f"{path}.receiver", f"receiver {receiver!r} is not defined (defined: {', '.join(sorted(defined))})"))
    return problems


def problems(document: dict[str, Any]) -> list[tuple[str, str]]:
    return promql_problems(document) + alertmanager_problems(document["alertmanager"]["config"])
