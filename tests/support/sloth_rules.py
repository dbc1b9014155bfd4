"""The rules Sloth (v0.16, `sloth generate`, default plugins) would write for one
SLO with `sli.events`, written here from its documented formulas so that
obs's rules can be compared with them on the same input in promtool. Not a
copy of Sloth's code or output; the formulas, as its docs and rule names
state them:

- one SLI recording per alert window, `slo:sli_error:ratio_rate<W>` = the
  error query over W divided by the total query over W (the queries' rates,
  so a window with no traffic is 0/0, NaN), labelled sloth_id,
  sloth_service, sloth_slo, sloth_window and the SLO's labels;
- the period's SLI, "optimized": the average of the 5m ratios over the
  period (`sum_over_time / count_over_time` of the 5m recording), so every
  5m step weighs the same whatever its traffic;
- metadata recordings: objective, error budget, current (5m) and period burn
  rates, and the budget remaining, 1 − period burn rate;
- two alerts per SLO, page and ticket, each firing when either of its two
  window pairs is above burn factor × error budget over both windows (max
  without sloth_window), with no `for`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from obsgen.rules.slo.definition import SLO
from obsgen.rules.slo.windows import WindowTable, seconds

KIND_PAIRS = {"page": ("fast", "medium"), "ticket": ("slow", "chronic")}
WINDOW = "sloth_window"


@dataclass(frozen=True)
class SlothSLO:
    service: str
    name: str
    objective: float  # ratio, e.g. 0.999
    error_query: str  # with {{.window}}
    total_query: str
    extra: tuple[tuple[str, str], ...] = ()  # the SLO's labels (file and SLO level)

    @property
    def id(self) -> str:
        return f"{self.service}-{self.name}"

    @property
    def labels(self) -> dict[str, str]:
        return {**dict(self.extra), "sloth_id": self.id, "sloth_service": self.service, "sloth_slo": self.name}

    @property
    def identity(self) -> dict[str, str]:
        return {"sloth_id": self.id, "sloth_service": self.service, "sloth_slo": self.name}

    @property
    def selector(self) -> str:
        return "{" + ", ".join(f'{k}="{v}"' for k, v in self.identity.items()) + "}"


def from_obs(slo: SLO, name: str = "") -> SlothSLO:
    """The Sloth SLO that measures what an obs SLO with a counter SLI does: the same
    selectors, as rates over {{.window}}; `name` (default the obs SLO's) under its service."""

    def rate(template: str) -> str:
        return template.replace("increase(", "rate(").replace("$window", "{{.window}}")

    return SlothSLO(slo.service, name or slo.name, float(slo.objective_ratio), rate(slo.sli.bad), rate(slo.sli.total))


def prometheus_duration(total: int) -> str:
    """A duration as Prometheus prints one (and Sloth names its period's
    recording): years and weeks only when exact, so 28d is 4w, 30d is 30d."""
    out = ""
    for unit, size, exact in (
        ("y", 365 * 86400, True),
        ("w", 7 * 86400, True),
        ("d", 86400, False),
        ("h", 3600, False),
        ("m", 60, False),
        ("s", 1, False),
    ):
        if total >= size and not (exact and total % size):
            out += f"{total // size}{unit}"
            total %= size
    return out or "0s"


def _window_query(slo: SlothSLO, window: str) -> str:
    fill = lambda q: q.replace("{{.window}}", window)  # noqa: E731
    return f"({fill(slo.error_query)})\n/\n({fill(slo.total_query)})"


def rule_groups(slo: SlothSLO, table: WindowTable) -> list[dict[str, Any]]:
    """Sloth's three rule groups for the SLO: SLIs, metadata, alerts."""
    windows = sorted({w for p in table.pairs for w in p.windows}, key=seconds)
    period = prometheus_duration(table.period_seconds)
    budget = 1 - slo.objective
    sel = slo.selector
    slis = [{"record": f"slo:sli_error:ratio_rate{w}", "expr": _window_query(slo, w), "labels": {**slo.labels, WINDOW: w}} for w in windows]
    slis.append(
        {
            "record": f"slo:sli_error:ratio_rate{period}",
            "expr": f"sum_over_time(slo:sli_error:ratio_rate5m{sel}[{period}])\n/ ignoring ({WINDOW})\n"
            f"count_over_time(slo:sli_error:ratio_rate5m{sel}[{period}])",
            "labels": {**slo.labels, WINDOW: period},
        }
    )
    on = "on (sloth_id, sloth_slo, sloth_service) group_left"
    meta = [
        {"record": "slo:objective:ratio", "expr": f"vector({slo.objective:g})", "labels": slo.labels},
        {"record": "slo:error_budget:ratio", "expr": f"vector(1-{slo.objective:g})", "labels": slo.labels},
        {"record": "slo:time_period:days", "expr": f"vector({table.period_seconds / 86400:g})", "labels": slo.labels},
        {
            "record": "slo:current_burn_rate:ratio",
            "expr": f"slo:sli_error:ratio_rate5m{sel}\n/ {on}\nslo:error_budget:ratio{sel}",
            "labels": slo.labels,
        },
        {
            "record": "slo:period_burn_rate:ratio",
            "expr": f"slo:sli_error:ratio_rate{period}{sel}\n/ {on}\nslo:error_budget:ratio{sel}",
            "labels": slo.labels,
        },
        {"record": "slo:period_error_budget_remaining:ratio", "expr": f"1 - slo:period_burn_rate:ratio{sel}", "labels": slo.labels},
        {"record": "sloth_slo_info", "expr": "vector(1)", "labels": {**slo.labels, "sloth_objective": f"{slo.objective * 100:g}"}},
    ]

    def over(window: str, factor: float) -> str:
        return f"max(slo:sli_error:ratio_rate{window}{sel} > ({factor:.10g} * {budget:.10g})) without ({WINDOW})"

    alerts = []
    for kind, roles in KIND_PAIRS.items():
        pairs = [table.pair(r) for r in roles]
        expr = "\nor\n".join(f"(\n  {over(p.short, p.burn_factor)}\n  and\n  {over(p.long, p.burn_factor)}\n)" for p in pairs)
        alerts.append({"alert": f"SlothBurn{kind.title()}", "expr": expr, "labels": {"sloth_severity": kind}})
    return [
        {"name": f"sloth-slo-sli-recordings-{slo.id}", "rules": slis},
        {"name": f"sloth-slo-meta-recordings-{slo.id}", "rules": meta},
        {"name": f"sloth-slo-alerts-{slo.id}", "rules": alerts},
    ]
