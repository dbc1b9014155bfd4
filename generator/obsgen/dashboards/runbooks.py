"""Runbook pages served by Grafana: one dashboard per alert the stack
generates, in the `obs runbooks` folder.

Every alert's runbook_url points at its page (rules/types.runbook_url)
unless the profile publishes its own copy of docs/runbooks
(alerts.runbookBaseUrl), so the link in a notification opens where the
alerts already are, with no wiki to host. A page is the docs/runbooks text
(the same rendering) and the alert's instances firing now; it links the
dashboard the alert points at.
"""

from __future__ import annotations

from ..model import Stack
from ..rules import alert_rules, runbooks
from ..rules.types import runbook_uid
from .catalogue import CLUSTER_VARIABLE, m, sel
from .spec import DashboardSpec, Link, Panel, Query, Row

FOLDER = "obs runbooks"
TAG = "obs-runbook"


def _height(markdown: str) -> int:
    # Grid rows are 30 px; a rendered markdown line is about 22 px.
    return max(12, min(60, len(markdown.splitlines()) * 3 // 4 + 4))


def _spec(page: runbooks.Page, dashboard: str) -> DashboardSpec:
    markdown = runbooks.render(page, header=False)
    firing = Query(f"ALERTS{sel(m('alertname', page.name), m('alertstate', 'firing'))}", instant=True, table=True)
    links = (Link("The alert's dashboard", f"/{dashboard.split('?')[0]}"),) if dashboard else ()
    return DashboardSpec(
        uid=runbook_uid(page.name),
        title=f"Runbook: {page.name}",
        folder=FOLDER,
        tags=(TAG, page.severity),
        refresh="1m",
        time_from="now-6h",
        description=page.runbook.meaning.split(". ")[0].rstrip(".") + ".",
        rows=(
            Row("Runbook", (Panel(page.name, "text", "none", (), width=24, height=_height(markdown), content=markdown),)),
            Row("Firing now", (Panel("Instances firing", "table", "none", (firing,), width=24, height=8),)),
        ),
        variables=(CLUSTER_VARIABLE,),
        links=links,
        menu=("obs runbooks", TAG),
        compact=True,
    )


def specs(stack: Stack) -> list[DashboardSpec]:
    """A page for every alert the stack's rules carry, in name order; an alert a
    file renamed (Sloth's alerting.name) links the page of the obs alert it
    stands for."""
    dashboards: dict[str, str] = {}
    for rule in alert_rules(stack):
        dashboards.setdefault(rule.identity, rule.dashboard)
    pages = {page.name: page for page in runbooks.all_pages()}
    return [_spec(pages[name], dashboards[name]) for name in sorted(dashboards)]
