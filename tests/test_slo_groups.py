"""Grouped SLIs (a query aggregated `by (labels)`: one SLI, budget and set of
alerts per group, as Sloth gives), the cardinality guard, and the labels of
recordings: a file's labels on every series, ownership that can move without
splitting a budget. Checked with promtool's rule engine, not by reading rules."""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from obsgen import model, yamlio
from obsgen.profile import load
from obsgen.rules import slo as slo_engine
from obsgen.rules.slo import engine
from obsgen.rules.types import RecordingRule
from tests.support.tools import tool
from tests.test_slo_engine import LEDGER, SERVICE, problems, write_profile

REQUESTS = "http_requests_total"


def _query(codes: str, by: str) -> str:
    matchers = 'job="checkout"' + (f', code=~"{codes}"' if codes else "")
    return f"sum(rate({REQUESTS}{{{matchers}}}[{{{{.window}}}}])) {by}".rstrip()


def sloth_doc(error_by: str = "by (route)", total_by: str = "by (route)", labels: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "version": "prometheus/v1",
        "service": "checkout",
        "labels": {"owner": "payments-oncall", **(labels or {})},
        "slos": [
            {
                "name": "routes",
                "objective": 99.9,
                "sli": {"events": {"error_query": _query("5..", error_by), "total_query": _query("", total_by)}},
            }
        ],
    }


def stack_with(tmp_path: Path, doc: dict[str, Any], max_groups: int | None = None) -> model.Stack:
    path = write_profile(tmp_path, [copy.deepcopy(SERVICE), LEDGER], {"sloth.yaml": doc})
    if max_groups is not None:
        data = yaml.safe_load(path.read_text())
        data["sloDefaults"] = {"maxGroups": max_groups}
        path.write_text(yaml.safe_dump(data))
    return model.build(load(path))


def run_promtool(tmp_path: Path, groups: list[dict], series: list[dict], tests: list[dict], interval: str = "1m") -> None:
    (tmp_path / "rules.yaml").write_text(yamlio.dump({"groups": groups}))
    test = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [{"interval": interval, "input_series": series, "promql_expr_test": tests}],
    }
    (tmp_path / "test.yaml").write_text(yamlio.dump(test))
    result = subprocess.run([tool("promtool"), "test", "rules", "test.yaml"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def counter(per_minute: list[tuple[int, int]]) -> str:
    """A counter's samples, one a minute: (minutes, increase per minute) segments."""
    value, out = 0, ["0"]
    for minutes, rate in per_minute:
        for _ in range(minutes):
            value += rate
            out.append(str(value))
    return " ".join(out)


FAIL_AT = 70  # minutes of clean traffic before route /b fails completely
END = 90


def route_traffic() -> list[dict[str, str]]:
    """990 requests a minute on /a, all good; 10 on /b (1 % of the traffic), all failing from FAIL_AT."""
    sel = 'job="checkout", namespace="shop"'
    return [
        {"series": f'{REQUESTS}{{{sel}, route="/a", code="200"}}', "values": counter([(END, 990)])},
        {"series": f'{REQUESTS}{{{sel}, route="/b", code="200"}}', "values": counter([(FAIL_AT, 10), (END - FAIL_AT, 0)])},
        {"series": f'{REQUESTS}{{{sel}, route="/b", code="500"}}', "values": counter([(FAIL_AT, 0), (END - FAIL_AT, 10)])},
    ]


def rendered(stack: model.Stack) -> list[dict]:
    return [g.render(stack) for g in slo_engine.rule_groups(stack)]


def test_a_failing_route_pages_for_that_route_alone(tmp_path):
    stack = stack_with(tmp_path, sloth_doc())
    (slo,) = [s for s in slo_engine.slos(stack) if s.name == "checkout-routes"]
    assert slo.sli.groups == ("route",)
    identity = {"slo": "checkout-routes", "service": "checkout", "namespace": "shop", "team": "payments", "owner": "payments-oncall"}

    def labels(**extra: str) -> str:
        return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted({**identity, **extra}.items())) + "}"

    page = {
        "alertname": "SLOErrorBudgetBurnFast",
        "alertstate": "firing",
        "burn_window": "1h",
        "severity": "critical",
        "tier": "advanced",
    }
    run_promtool(
        tmp_path,
        rendered(stack),
        route_traffic(),
        [
            # Per route, with the file's labels on the recordings.
            {
                "expr": 'slo:sli_error:ratio_rate5m{slo="checkout-routes"}',
                "eval_time": f"{END}m",
                "exp_samples": [{"labels": "slo:sli_error:ratio_rate5m" + labels(route=r), "value": v} for r, v in (("/a", 0), ("/b", 1))],
            },
            # The whole service burns at 10× (1 % errors): no page had the routes been summed.
            # /b burns at 1000×: the fast pair pages within its `for` (2m) and the evaluations around it.
            {"expr": 'ALERTS{slo="checkout-routes", alertstate="firing"}', "eval_time": f"{FAIL_AT + 1}m", "exp_samples": []},
            {
                "expr": 'ALERTS{slo="checkout-routes", alertstate="firing"}',
                "eval_time": f"{FAIL_AT + 5}m",
                "exp_samples": [
                    {"labels": "ALERTS" + labels(route="/b", **page), "value": 1},
                    {
                        "labels": "ALERTS" + labels(route="/b", **{**page, "alertname": "SLOErrorBudgetBurnMedium", "burn_window": "6h"}),
                        "value": 1,
                    },
                ],
            },
        ],
    )


def test_one_routes_page_does_not_silence_another_routes_ticket(tmp_path):
    stack = stack_with(tmp_path, sloth_doc())
    rules = slo_engine.inhibit_rules(stack)
    assert rules and all("route" in rule["equal"] for rule in rules)


def test_above_the_group_limit_the_slo_is_measured_as_a_whole(tmp_path):
    stack = stack_with(tmp_path, sloth_doc(), max_groups=1)
    run_promtool(
        tmp_path,
        rendered(stack),
        route_traffic(),
        [
            {
                "expr": 'slo:sli_events_total:increase5m{slo="checkout-routes"}',
                "eval_time": "30m",
                "exp_samples": [
                    {
                        "labels": 'slo:sli_events_total:increase5m{namespace="shop", owner="payments-oncall", service="checkout",'
                        ' slo="checkout-routes", team="payments"}',
                        "value": 5000,
                    }
                ],
            },
            {"expr": 'ALERTS{alertname="SLOGroupLimitExceeded", alertstate="firing"}', "eval_time": "10m", "exp_samples": []},
            {
                "expr": 'ALERTS{alertname="SLOGroupLimitExceeded", alertstate="firing"}',
                "eval_time": "30m",
                "exp_samples": [
                    {
                        "labels": 'ALERTS{alertname="SLOGroupLimitExceeded", alertstate="firing", namespace="shop",'
                        ' owner="payments-oncall", service="checkout", severity="warning", slo="checkout-routes", team="payments",'
                        ' tier="advanced"}',
                        "value": 1,
                    }
                ],
            },
        ],
    )


def test_an_ownership_move_keeps_one_period_budget(tmp_path):
    """The tiles of an SLO carry its team; after a move the old team's tiles and the new
    team's are one budget, labelled with today's team (the recorded period used to split in two)."""
    path = write_profile(tmp_path, [copy.deepcopy(SERVICE), LEDGER])
    stack = model.build(load(path))
    rules = slo_engine.rule_groups(stack)[-1].rules
    wanted = (engine.TOTAL_PERIOD, engine.total("1d"))
    group = {
        "name": "sums",
        "interval": "1m",
        "rules": [r.render() for r in rules if isinstance(r, RecordingRule) and r.record in wanted],
    }
    ident = 'slo="checkout-availability", service="checkout", namespace="shop"'
    minutes = 120  # the first hour under team "payments", the second under "platform"

    def tiles(window: str, per_minute: int) -> list[dict[str, str]]:
        half = minutes // 2
        return [
            {"series": f'{engine.total(window)}{{{ident}, team="{team}"}}', "values": " ".join(values)}
            for team, values in (
                # A rule that stops writing a series marks it stale, as the rule manager does.
                ("payments", [str(per_minute)] * half + ["stale"] + ["_"] * (half - 1)),
                ("platform", ["_"] * half + [str(per_minute)] * half),
            )
        ]

    # 5m tiles (the period), 1m tiles (the day): 10 events a minute either way.
    series = [
        *tiles("5m", 50),
        *tiles("1m", 10),
        {"series": f'slo:info{{{ident}, team="platform", period="30d"}}', "values": " ".join(["1"] * minutes)},
    ]
    out = '{namespace="shop", service="checkout", slo="checkout-availability", team="platform"}'
    end = minutes - 1
    run_promtool(
        tmp_path,
        [group],
        series,
        [
            {"expr": engine.TOTAL_PERIOD, "eval_time": f"{end}m", "exp_samples": [{"labels": engine.TOTAL_PERIOD + out, "value": 50 * 24}]},
            {
                "expr": engine.total("1d"),
                "eval_time": f"{end}m",
                "exp_samples": [{"labels": engine.total("1d") + out, "value": 10 * minutes}],
            },
        ],
    )


@pytest.mark.parametrize(
    "doc, field, reason",
    [
        (
            sloth_doc(total_by=""),
            "slos[0].sli.events",
            "the queries must be aggregated by the same labels to give one SLI per group; they are by (route) and not grouped",
        ),
        (
            sloth_doc(error_by="by (owner)", total_by="by (owner)"),
            "slos[0].sli",
            "the query is grouped by 'owner', which is also a label of an SLO in this profile: rename one of them",
        ),
    ],
)
def test_groups_that_cannot_be_told_apart_are_refused(tmp_path, doc, field, reason):
    path = write_profile(tmp_path, [copy.deepcopy(SERVICE), LEDGER], {"sloth.yaml": doc})
    assert problems(path) == [f"{tmp_path / 'sloth.yaml'}: {field}: {reason}"]


def test_a_group_label_obs_sets_itself_is_kept_under_a_prefix(tmp_path):
    stack = stack_with(tmp_path, sloth_doc(error_by="by (service, route)", total_by="by (service, route)"))
    (slo,) = [s for s in slo_engine.slos(stack) if s.name == "checkout-routes"]
    assert slo.sli.groups == ("slo_service", "route")
    sel = 'job="checkout", namespace="shop"'
    series = [
        {"series": f'{REQUESTS}{{{sel}, service="cart", route="/a", code="200"}}', "values": counter([(20, 60)])},
        {"series": f'{REQUESTS}{{{sel}, service="shop", route="/a", code="200"}}', "values": counter([(20, 30)])},
    ]
    base = 'namespace="shop", owner="payments-oncall", route="/a", service="checkout", slo="checkout-routes"'
    run_promtool(
        tmp_path,
        rendered(stack),
        series,
        [
            {
                "expr": 'slo:sli_events_total:increase5m{slo="checkout-routes"}',
                "eval_time": "15m",
                "exp_samples": [
                    {"labels": f'slo:sli_events_total:increase5m{{{base}, slo_service="{s}", team="payments"}}', "value": v}
                    for s, v in (("cart", 300), ("shop", 150))
                ],
            }
        ],
    )
