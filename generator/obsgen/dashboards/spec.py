"""Declarative dashboard descriptions: what a panel shows, in which tier, from what.

The tables in catalogue.py are made of these values; render.py turns them
into Grafana JSON through grafana-foundation-sdk. Nothing here knows the SDK,
so the tables stay data.

Gating: a panel, a row, a variable or a whole dashboard is kept when the
stack's tier is at least `min_tier` and every name in `requires` is one of
the stack's capabilities (sources.capabilities): enabled components and
scrape jobs, and what the profile declares (services, probes, SLOs, …).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The variable every selector carries. Series in Prometheus' own TSDB have no
# `cluster` label (it is an external label), and `=~".*"` also matches the
# empty value, so "All" works locally and against a multi-cluster store.
CLUSTER = 'cluster=~"$cluster"'


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""
    instant: bool = False  # stat and table panels read one value, not a series
    table: bool = False  # Prometheus "table" format: one row per series, labels as columns


@dataclass(frozen=True)
class Link:
    """A link on a panel's values; `url` may use Grafana's ${__field.labels.x}."""

    title: str
    url: str


@dataclass(frozen=True)
class Panel:
    title: str
    kind: str  # timeseries | stat | table | logs | text
    unit: str  # a Grafana unit id; every panel has one
    queries: tuple[Query, ...]
    description: str = ""
    width: int = 8
    height: int = 8
    min_tier: str = "basic"
    requires: tuple[str, ...] = ()
    datasource: str = "prometheus"  # key of sources.DATASOURCES
    thresholds: tuple[tuple[float | None, str], ...] = ()  # (lower bound, colour), first bound None
    min: float | None = None
    max: float | None = None
    decimals: int | None = None
    stacked: bool = False
    links: tuple[Link, ...] = ()
    content: str = ""  # markdown of a text panel


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[Panel, ...]
    min_tier: str = "basic"
    requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class Variable:
    """A query variable over label values of a selector (`label_values(selector, label)`)."""

    name: str
    label: str
    selector: str
    label_name: str
    multi: bool = False  # multi-select with "All" (regex `.*`); single-select otherwise
    requires: tuple[str, ...] = ()
    min_tier: str = "basic"

    @property
    def query(self) -> str:
        return f"label_values({self.selector}, {self.label_name})"


@dataclass(frozen=True)
class DashboardSpec:
    uid: str  # stable: alerts and links point at it
    title: str
    folder: str
    tags: tuple[str, ...]
    refresh: str  # per audience: RED seconds, SLO a minute, business minutes
    time_from: str
    description: str
    rows: tuple[Row, ...]
    variables: tuple[Variable, ...] = ()
    min_tier: str = "basic"
    requires: tuple[str, ...] = ()
    links: tuple[Link, ...] = field(default=())  # explicit links besides the obs dropdown
    menu: tuple[str, str] = ("obs dashboards", "obs")  # the link dropdown: title, and the tag of the dashboards it lists
    compact: bool = False  # JSON on one line in the values (pages by the dozen, mostly one markdown string)
