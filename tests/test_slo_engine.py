"""SLO engine units: windows and burn factors, tiers, SLIs, imports, validation,
and the generated rules checked and evaluated by the real promtool."""

from __future__ import annotations

import copy
import dataclasses
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from obsgen import model, yamlio
from obsgen.artifacts import alertmanager as alertmanager_artifact
from obsgen.errors import ValidationErrors
from obsgen.profile import load
from obsgen.rules import slo as slo_engine
from obsgen.rules.slo import alerts, engine
from obsgen.rules.slo.windows import TIER_ALERTING, seconds
from obsgen.rules.types import AlertRule, RecordingRule, runbook_uid
from obsgen.telemetry import le_matcher
from tests import test_slo_scenarios as scenarios
from tests.support import engines
from tests.support.tools import tool

FIXTURES = scenarios.FIXTURES
TIERS = scenarios.TIERS


def stack_of(tier: str = "enterprise") -> model.Stack:
    return scenarios.stack(tier)


# --- windows and burn factors -------------------------------------------------


def test_30d_windows_are_the_workbook_table():
    table = slo_engine.windows("30d")
    assert [(p.long, p.short, float(p.budget_share), p.burn_factor) for p in table.pairs] == [
        ("1h", "5m", 0.02, 14.4),
        ("6h", "30m", 0.05, 6.0),
        ("1d", "2h", 0.10, 3.0),
        ("3d", "6h", 0.10, 1.0),
    ]
    assert [p.severity for p in table.pairs] == ["critical", "critical", "warning", "warning"]
    assert table.period_seconds == 30 * 86400


@pytest.mark.parametrize(
    "period, factors",
    [
        ("28d", (13.44, 5.6, 2.8, 0.9333333333)),
        # Horizons 12.5 h, 2 d, 5 d and the period (windows.py).
        ("7d", (13.44, 3.5, 1.4, 0.98)),
    ],
)
def test_burn_factors_are_computed_from_budget_share_period_and_window(period, factors):
    table = slo_engine.windows(period)
    assert [p.burn_factor for p in table.pairs] == pytest.approx(factors)
    for p in table.pairs:
        assert p.burn_factor == pytest.approx(float(p.budget_share) * seconds(period) / seconds(p.long))
        assert seconds(p.short) * 12 == seconds(p.long)


@pytest.mark.parametrize("period", ["30d", "28d", "7d"])
def test_a_burn_that_empties_the_budget_in_two_days_pages_well_before(period):
    """Continuous-time theory of the table: a pair fires once its share of the
    budget is spent at a burn above its factor. A burn that empties the
    budget in 42 h must page with most of the budget left, in every period."""
    table = slo_engine.windows(period)
    rate = seconds(period) / (42 * 3600)  # burn rate that empties the budget in 42 h
    pages = [p for p in table.pairs if p.severity == "critical" and rate > p.burn_factor]
    assert pages, f"{period}: no page at burn rate {rate:.2f}"
    first = min(float(p.budget_share) * seconds(period) / rate for p in pages)
    assert first <= 0.15 * 42 * 3600, f"{period}: first page after {first / 3600:.1f} h"


def test_unsupported_period_is_refused():
    with pytest.raises(KeyError, match="unsupported SLO period '14d': supported are 30d, 28d, 7d"):
        slo_engine.windows("14d")


# --- tiers ---------------------------------------------------------------------

EXPECTED_ALERTS = {
    "basic": ["SLOErrorBudgetBurnFast", "SLOErrorBudgetBurnMedium"],
    "intermediate": ["SLOErrorBudgetBurnFast", "SLOErrorBudgetBurnMedium", "SLOErrorBudgetBurnSlow"],
    "advanced": ["SLOErrorBudgetBurnFast", "SLOErrorBudgetBurnMedium", "SLOErrorBudgetBurnSlow", "SLOErrorBudgetBurnChronic", "SLONoData"],
    "enterprise": [
        "SLOErrorBudgetBurnFast",
        "SLOErrorBudgetBurnMedium",
        "SLOErrorBudgetBurnSlow",
        "SLOErrorBudgetBurnChronic",
        "SLONoData",
        "SLOErrorBudgetExhausted",
        "SLOComplianceBreached",
    ],
}


@pytest.mark.parametrize("tier", TIERS)
def test_alerts_per_tier(tier):
    stack = stack_of(tier)
    group = scenarios.group(tier, "checkout-availability")
    assert [a.name for a in group.alerts] == EXPECTED_ALERTS[tier]
    assert group.interval == "1m"
    severities = {a.name: a.severity for a in group.alerts}
    assert severities.get("SLOErrorBudgetBurnFast") == severities.get("SLOErrorBudgetBurnMedium") == "critical"
    assert all(severities[a] == "warning" for a in ("SLOErrorBudgetBurnSlow", "SLOErrorBudgetBurnChronic", "SLONoData") if a in severities)
    for rule in group.alerts:
        rendered = rule.render(stack)
        assert "team" not in rendered["labels"]  # the series' team (slo:info): shared by the services of many teams
        assert rendered["labels"]["tier"] == tier
        assert rendered["labels"]["severity"]
        assert engine.ON_IDENTITY in rule.expr  # the identity comes from the series
        assert "$value |" in rendered["annotations"]["description"]
        assert rule.runbook.meaning and rule.runbook.causes and rule.runbook.checks and rule.runbook.queries


def test_burn_alerts_carry_stable_labels_and_expressions():
    fast = next(a for a in scenarios.group("basic", "checkout-availability").alerts if a.name == "SLOErrorBudgetBurnFast")
    assert fast.labels == {"burn_window": "1h"} and fast.team is None
    assert fast.for_ == "2m"
    assert fast.expr == (
        "slo:burn_rate:ratio_rate1h > 14.4\n"
        "and\n"
        "slo:burn_rate:ratio_rate5m > 14.4\n"
        "and\n"
        "slo:sli_events_total:increase5m >= on (slo, service, namespace) group_left slo:min_events:count\n"
        "and on (slo, service, namespace)\n"
        'slo:info{alerts="tier", period="30d"}'
    )


def test_an_slo_whose_alerts_differ_from_its_tier_gets_rules_of_its_own():
    """A file's own pairs or labels: alerts written for that SLO alone, reading the shared recordings."""
    fast = next(a for a in scenarios.group("basic", "checkout-sloth-availability").alerts if a.name == "SLOErrorBudgetBurnFast")
    assert fast.labels["slo"] == "checkout-sloth-availability" and fast.team == "payments"
    assert fast.expr.startswith('slo:burn_rate:ratio_rate1h{slo="checkout-sloth-availability"} > 14.4')
    info = next(r for r in scenarios.group("basic", "checkout-sloth-availability").rules if isinstance(r, RecordingRule))
    assert info.record == engine.INFO and info.labels["alerts"] == engine.OWN_ALERTS
    shared = slo_engine.rule_groups(stack_of("basic"))[-1]
    # The shared burn alerts skip it: they match slo:info{alerts="tier"} only.
    assert all('alerts="tier"' in a.expr for a in shared.alerts if a.team is None)
    # A Sloth file alerts on both its kinds (page and ticket) in every tier: four pairs, even in basic.
    assert sum(1 for a in shared.alerts if a.labels.get("slo") == "checkout-sloth-availability") == 4


def test_enterprise_policy_and_compliance_alerts():
    rules = {a.name: a for a in scenarios.group("enterprise", "checkout-availability").alerts}
    exhausted, compliance = rules["SLOErrorBudgetExhausted"], rules["SLOComplianceBreached"]
    assert exhausted.labels["action"] == "freeze-checkout-releases"  # the SLO's policy.action
    assert 'action="freeze-checkout-releases"' in exhausted.expr  # one rule per action, for the SLOs that have it
    assert exhausted.severity == "warning" and compliance.severity == "info"
    default = {a.name: a for a in scenarios.group("enterprise", "checkout-latency").alerts}["SLOErrorBudgetExhausted"]
    assert default.labels["action"] == "freeze-releases"
    assert compliance.expr.startswith("slo:sli:ratio_period < on (slo, service, namespace) group_left slo:objective:ratio")
    shared = [a for a in slo_engine.rule_groups(stack_of("enterprise"))[-1].alerts if a.team is None]
    actions = [a.labels["action"] for a in shared if a.name == "SLOErrorBudgetExhausted"]
    # One rule per period and action in use: 7d, 28d and 30d with the default action, 30d with checkout's own.
    assert sorted(actions) == ["freeze-checkout-releases", "freeze-releases", "freeze-releases", "freeze-releases"]


def test_tier_table_covers_every_tier():
    assert set(TIER_ALERTING) == set(TIERS)


def test_inhibition_faster_burn_silences_slower_of_the_same_slo():
    equal = ["cluster", "namespace", "service", "slo"]
    assert slo_engine.inhibit_rules(stack_of("enterprise")) == [
        {
            "source_matchers": ['alertname="SLOErrorBudgetBurnFast"'],
            "target_matchers": ['alertname=~"SLOErrorBudgetBurnMedium|SLOErrorBudgetBurnSlow|SLOErrorBudgetBurnChronic"'],
            "equal": equal,
        },
        {
            "source_matchers": ['alertname="SLOErrorBudgetBurnMedium"'],
            "target_matchers": ['alertname=~"SLOErrorBudgetBurnSlow|SLOErrorBudgetBurnChronic"'],
            "equal": equal,
        },
        {
            "source_matchers": ['alertname="SLOErrorBudgetBurnSlow"'],
            "target_matchers": ['alertname=~"SLOErrorBudgetBurnChronic"'],
            "equal": equal,
        },
    ]
    # basic pages only, but the fixture's files bring tickets: the OpenSLO
    # file its own 1d pair, the Sloth file both its kinds (Sloth's default).
    assert slo_engine.inhibit_rules(stack_of("basic")) == [
        {
            "source_matchers": ['alertname="SLOErrorBudgetBurnFast"'],
            "target_matchers": ['alertname=~"SLOErrorBudgetBurnMedium|SLOErrorBudgetBurnSlow|SLOErrorBudgetBurnChronic"'],
            "equal": equal,
        },
        {
            "source_matchers": ['alertname="SLOErrorBudgetBurnMedium"'],
            "target_matchers": ['alertname=~"SLOErrorBudgetBurnSlow|SLOErrorBudgetBurnChronic"'],
            "equal": equal,
        },
        {
            "source_matchers": ['alertname="SLOErrorBudgetBurnSlow"'],
            "target_matchers": ['alertname=~"SLOErrorBudgetBurnChronic"'],
            "equal": equal,
        },
    ]


def test_no_slos_no_rules():
    stack = model.build(load(scenarios.ROOT / "examples" / "profiles" / "acme.yaml"))
    assert slo_engine.rule_groups(stack) == [] and slo_engine.inhibit_rules(stack) == []


# --- recordings -----------------------------------------------------------------

FIXED = {
    "slo:info",
    "slo:min_events:count",
    "slo:objective:ratio",
    "slo:error_budget:ratio",
    "slo:sli:ratio_period",
    "slo:error_budget_remaining:ratio",
    "slo:time_to_exhaustion:seconds",
    "slo:period:seconds",
}


@pytest.mark.parametrize(
    "tier, windows", [("basic", ["5m", "30m", "1h", "6h"]), ("enterprise", ["5m", "30m", "1h", "2h", "6h", "1d", "3d"])]
)
def test_recordings_have_fixed_names_and_labels(tier, windows):
    group = scenarios.group(tier, "checkout-availability")
    records = [r for r in group.rules if isinstance(r, RecordingRule)]
    names = {r.record for r in records}
    assert names >= FIXED
    assert {f"slo:sli_error:ratio_rate{w}" for w in windows} | {f"slo:burn_rate:ratio_rate{w}" for w in windows} <= names
    assert {n for n in names if n.startswith("slo:burn_rate:")} == {f"slo:burn_rate:ratio_rate{w}" for w in windows}
    identity = {"slo": "checkout-availability", "service": "checkout", "namespace": "shop", "team": "payments"}
    info, *shared = records
    assert info.record == engine.INFO and info.labels.items() >= identity.items()
    # Shared rules carry no labels of their own: every series they record has the SLO's identity from slo:info.
    assert all(not r.labels for r in shared)


def test_rules_grow_with_shapes_not_with_services():
    """Two SLOs of the same shape share every rule; only their slo:info differs."""
    stack = stack_of("enterprise")
    found = slo_engine.slos(stack)
    twin = dataclasses.replace(found[0], name="checkout-availability-2", service="payments-api")
    info, rules = slo_engine._rules([*found, twin], stack)
    assert len(info) == len(found) + 1
    assert rules == list(slo_engine.rule_groups(stack)[-1].rules)


def test_long_windows_and_period_add_up_short_counts():
    rules = {r.record: r.expr for r in scenarios.group("enterprise", "checkout-availability").rules if isinstance(r, RecordingRule)}
    # Summed by identity alone; the team comes from today's slo:info (ownership moves split nothing).
    # The day windows add up 1m tiles (they end at this evaluation), the period 5m tiles.
    assert rules["slo:sli_events_bad:increase3d"] == (
        "sum by (slo, service, namespace) (sum_over_time(slo:sli_events_bad:increase1m[3d:1m]))\n"
        "* on (slo, service, namespace) group_left (team)\nslo:info"
    )
    assert rules["slo:sli_events_total:increase_period"] == (
        "sum by (slo, service, namespace) (sum_over_time(slo:sli_events_total:increase5m[30d:5m]))\n"
        "* on (slo, service, namespace) group_left (team)\nslo:info\n"
        'and on (slo, service, namespace)\nslo:info{period="30d"}'
    )
    # Traffic-weighted: the period ratio divides summed counts, it never averages ratios.
    assert rules["slo:error_budget_remaining:ratio"] == (
        "1 - (slo:sli_events_bad:increase_period / (slo:sli_events_total:increase_period > 0))"
        " / on (slo, service, namespace) group_left slo:error_budget:ratio"
    )


def test_sli_queries_per_type():
    group = {s: scenarios.group("enterprise", s) for s in scenarios.slos("enterprise")}

    def expr(slo: str, record: str) -> str:
        return next(r.expr for r in group[slo].rules if isinstance(r, RecordingRule) and r.record == record)

    def info(slo: str) -> dict[str, str]:
        return next(r.labels for r in group[slo].rules if isinstance(r, RecordingRule) and r.record == engine.INFO)

    # Counted for every service at once, by the selector's labels; slo:info holds this SLO's values.
    assert 'sum by (namespace, service) (increase(http_requests_total{status=~"5.."}[1h]))' in expr(
        "checkout-availability", "slo:sli_events_bad:increase1h"
    )
    # The 5m tile (what longer windows add up) is the exact difference of the counter's samples.
    errors = 'http_requests_total{status=~"5.."}'
    tile = f"sum by (namespace, service) ( {errors} - {errors} offset 5m >= 0 or increase({errors}[5m]) )"
    assert tile in " ".join(expr("checkout-availability", "slo:sli_events_bad:increase5m").split())
    assert info("checkout-availability").items() >= {"selector_namespace": "shop", "selector_service": "checkout"}.items()
    assert 'status=~"5..|429"' in expr("checkout-errors", "slo:sli_events_bad:increase5m")
    assert info("checkout-errors")["sli"] != info("checkout-availability")["sli"]
    assert expr("checkout-ledger", "slo:sli_events_total:increase1h") == (
        "sum by (slo, service, namespace, team) (\n"
        "  sum by (job) (increase(http_server_request_duration_seconds_count[1h]))\n"
        "  * on (job) group_right\n"
        f'  slo:info{{sli="{info("checkout-ledger")["sli"]}"}}\n'
        ")"
    )
    assert info("checkout-ledger")["job"] == "ledger"
    assert 'sum by (service, dependency) (count_over_time(probe_success{job="blackbox"}[5m]))' in expr(
        "checkout-psp", "slo:sli_events_total:increase5m"
    )
    assert info("checkout-psp").items() >= {"selector_service": "checkout", "dependency": "psp"}.items()
    # A query written by hand keeps rules of its own.
    assert expr("checkout-orders", "slo:sli_events_bad:increase1h").startswith('sum(increase(orders_failed_total{namespace="shop"}[1h]))')
    assert info("checkout-orders")["sli"] == engine.QUERY_SLI
    assert scenarios.slos("enterprise")["checkout-psp"].min_events == 1  # probes: a fixed synthetic rate


def test_latency_uses_the_bucket_with_an_le_matcher_for_prometheus_2_and_3():
    rules = scenarios.group("basic", "checkout-latency").rules
    bad = next(r.expr for r in rules if isinstance(r, RecordingRule) and r.record == "slo:sli_events_bad:increase5m")
    assert le_matcher(0.25) == 'le=~"0\\\\.250*"'
    assert f"http_request_duration_seconds_bucket{{{le_matcher(0.25)}}}[5m]" in bad


# --- imports --------------------------------------------------------------------


def test_sloth_file_is_imported_with_rates_turned_into_counts():
    slo = scenarios.slos("basic")["checkout-sloth-availability"]
    assert (slo.service, slo.namespace, slo.team, str(slo.objective), slo.period) == ("checkout", "shop", "payments", "99.5", "30d")
    assert slo.labels == (("owner", "payments"),)
    assert slo.sli.total_in("1h") == 'sum(sum(rate(http_requests_total{namespace="shop", service="checkout"}[1h]))) * 3600'
    assert slo.file == "tests/fixtures/slo/sloth.yaml" and slo.field == "slos[0]"
    fast = next(a for a in scenarios.group("basic", "checkout-sloth-availability").alerts if a.name == "SLOErrorBudgetBurnFast")
    assert fast.labels["owner"] == "payments"


def test_openslo_file_is_imported_with_its_alert_conditions_as_window_pairs():
    slo = scenarios.slos("basic")["ledger-openslo-availability"]
    assert (slo.service, slo.namespace, str(slo.objective), slo.period) == ("ledger", "finance", "99.9", "28d")
    assert [(p.alert, p.long, p.short, p.burn_factor, p.severity, p.for_) for p in slo.pairs] == [
        ("SLOErrorBudgetBurnFast", "1h", "5m", 13.44, "critical", "2m"),
        ("SLOErrorBudgetBurnSlow", "1d", "2h", 2.8, "warning", "15m"),
    ]
    assert slo.sli.bad_in("1h").startswith('clamp_min(sum(increase(http_server_request_duration_seconds_count{job="ledger"}[1h]))')
    # The file's alert policy replaces the tier's pairs, even in basic.
    assert [a.name for a in scenarios.group("basic", "ledger-openslo-availability").alerts] == [
        "SLOErrorBudgetBurnFast",
        "SLOErrorBudgetBurnSlow",
    ]


# --- bad input ----------------------------------------------------------------------

SERVICE: dict[str, Any] = {
    "name": "checkout",
    "namespace": "shop",
    "team": "payments",
    "telemetry": {"preset": "prometheus-classic"},
    "dependencies": [{"name": "ledger", "service": "ledger"}],
    "slos": [{"name": "checkout-availability", "type": "availability", "objective": 99.9}],
}
LEDGER: dict[str, Any] = {"name": "ledger", "namespace": "finance", "team": "payments"}
SLOTH = yaml.safe_load((FIXTURES / "sloth.yaml").read_text())
OPENSLO = list(yaml.safe_load_all((FIXTURES / "openslo.yaml").read_text()))


def write_profile(tmp_path: Path, services: list[dict], files: dict[str, Any] | None = None) -> Path:
    """A profile (and SLO files) in tmp_path; file values are a document or a list of documents."""
    data = {"name": "shop", "extends": "advanced", "teams": [{"name": "platform"}, {"name": "payments"}], "services": services}
    for name, content in (files or {}).items():
        docs = content if isinstance(content, list) else [content]
        (tmp_path / name).write_text(yaml.safe_dump_all(docs, sort_keys=False))
    if files:
        data["sloFiles"] = list(files)
    path = tmp_path / "shop.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ValidationErrors) as caught:
        slo_engine.rule_groups(model.build(load(path)))
    return str(caught.value).splitlines()


def with_slo(**fields: Any) -> dict[str, Any]:
    service = copy.deepcopy(SERVICE)
    service["slos"][0].update(fields)
    return service


NO_BUDGET = "100 leaves no error budget, so there is no burn rate to alert on: use the objective the service can meet (e.g. 99.99)"
BUCKETS = "0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10"


@pytest.mark.parametrize(
    "fields, field, reason",
    [
        ({"objective": 100}, "objective", NO_BUDGET),
        ({"objective": 100.5}, "objective", "100.5 is not a percentage strictly between 0 and 100"),
        ({"objective": 0}, "objective", "0 is not a percentage strictly between 0 and 100"),
        ({"objective": -1}, "objective", "-1 is not a percentage strictly between 0 and 100"),
        (
            {"type": "latency", "latency": {"threshold": 0.3}},
            "latency.threshold",
            f"0.3 s is not a bucket boundary of http_request_duration_seconds_bucket of service 'checkout' (buckets: {BUCKETS});"
            " pick one or declare telemetry.buckets",
        ),
        ({"type": "dependency", "dependency": "db"}, "dependency", "'db' is not a dependency of service 'checkout' (declared: ledger)"),
    ],
)
def test_bad_profile_slo_is_rejected_with_its_field_path(tmp_path, fields, field, reason):
    path = write_profile(tmp_path, [with_slo(**fields), LEDGER])
    assert problems(path) == [f"{path}: services[0].slos[0].{field}: {reason}"]


def test_latency_threshold_of_a_declared_bucket_is_accepted(tmp_path):
    service = with_slo(type="latency", latency={"threshold": 0.3})
    service["telemetry"]["buckets"] = [0.1, 0.3, 1]
    stack = model.build(load(write_profile(tmp_path, [service, LEDGER])))
    assert any('le=~"0\\\\.30*"' in r.expr for r in slo_engine.rule_groups(stack)[-1].rules)


def test_a_period_without_windows_is_rejected_with_its_field(tmp_path):
    path = write_profile(tmp_path, [with_slo(period="14d"), LEDGER])
    assert problems(path) == [
        f"{path}: services[0].slos[0].period: unsupported period '14d': supported are 30d, 28d, 7d (more with sloDefaults.windows)"
    ]


def alert_windows(period: str, **overrides: dict[str, Any]) -> dict[str, Any]:
    """A Sloth AlertWindows document (our own numbers), pairs overridable by 'page_quick' etc."""
    pairs = {
        "page_quick": {"errorBudgetPercent": 4, "shortWindow": "5m", "longWindow": "1h"},
        "page_slow": {"errorBudgetPercent": 10, "shortWindow": "30m", "longWindow": "6h"},
        "ticket_quick": {"errorBudgetPercent": 15, "shortWindow": "2h", "longWindow": "1d"},
        "ticket_slow": {"errorBudgetPercent": 30, "shortWindow": "6h", "longWindow": "3d"},
    }
    pairs.update(overrides)
    spec: dict[str, Any] = {"sloPeriod": period, "page": {}, "ticket": {}}
    for key, value in pairs.items():
        kind, speed = key.split("_")
        spec[kind][speed] = value
    return {"apiVersion": "sloth.slok.dev/v1", "kind": "AlertWindows", "spec": spec}


def with_defaults(path: Path, tmp_path: Path, period: str | None, windows: dict[str, Any]) -> Path:
    data = yaml.safe_load(path.read_text())
    for name, document in windows.items():
        (tmp_path / name).write_text(yaml.safe_dump(document))
    data["sloDefaults"] = {**({"period": period} if period else {}), "windows": list(windows)}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_sloth_files_take_the_default_period_and_custom_windows(tmp_path):
    """--default-slo-period and --slo-period-windows-path, as profile settings:
    a Sloth file's SLOs get the 14d period, its pairs and factors from the
    shares, and the profile's own SLO may name 14d too."""
    path = write_profile(tmp_path, [with_slo(period="14d"), LEDGER], {"sloth.yaml": copy.deepcopy(SLOTH)})
    with_defaults(path, tmp_path, "14d", {"windows-14d.yaml": alert_windows("14d")})
    stack = model.build(load(path))
    found = {slo.name: slo for slo in slo_engine.slos(stack)}
    assert {slo.period for slo in found.values()} == {"14d"}
    pairs = slo_engine.alert_pairs(found["checkout-sloth-availability"], stack)
    assert [(p.long, p.short, round(p.burn_factor, 4)) for p in pairs] == [
        ("1h", "5m", 13.44),
        ("6h", "30m", 5.6),
        ("1d", "2h", 2.1),
        ("3d", "6h", 1.4),
    ]
    rules = [r for g in slo_engine.rule_groups(stack) for r in g.rules]
    slow = [r for r in rules if getattr(r, "name", "") == "SLOErrorBudgetBurnSlow"]
    assert slow and all(re.search(r"slo:burn_rate:ratio_rate1d(\{[^}]*\})? > 2\.1\n", r.expr) for r in slow), [r.expr for r in slow]


def test_custom_windows_replace_a_built_in_period(tmp_path):
    path = write_profile(tmp_path, [copy.deepcopy(SERVICE), LEDGER])
    with_defaults(
        path,
        tmp_path,
        None,
        {"w.yaml": alert_windows("30d", page_slow={"errorBudgetPercent": 3, "shortWindow": "1h", "longWindow": "12h"})},
    )
    stack = model.build(load(path))
    (slo,) = slo_engine.slos(stack)
    medium = next(p for p in slo_engine.alert_pairs(slo, stack) if p.role == "medium")
    assert (medium.long, medium.short, medium.burn_factor) == ("12h", "1h", pytest.approx(1.8))


@pytest.mark.parametrize(
    "windows, period, field, reason",
    [
        (
            alert_windows("14d", page_quick={"errorBudgetPercent": 4, "shortWindow": "7m", "longWindow": "1h"}),
            "14d",
            "spec.page.quick.longWindow",
            "1h must be a whole multiple (above one) of shortWindow 7m",
        ),
        (
            alert_windows("14d", ticket_slow={"errorBudgetPercent": 30, "shortWindow": "6h", "longWindow": "15d"}),
            "14d",
            "spec.ticket.slow.longWindow",
            "15d is longer than the period 14d",
        ),
        (
            alert_windows("14d", ticket_quick={"errorBudgetPercent": 0, "shortWindow": "2h", "longWindow": "1d"}),
            "14d",
            "spec.ticket.quick.errorBudgetPercent",
            "0 is not a percentage in (0, 100]",
        ),
        (alert_windows("14d"), "21d", "sloDefaults.period", "no alert windows for period '21d': use one of 30d, 28d, 14d, 7d"),
    ],
)
def test_bad_alert_windows_are_refused_naming_file_and_field(tmp_path, windows, period, field, reason):
    path = write_profile(tmp_path, [copy.deepcopy(SERVICE), LEDGER])
    with_defaults(path, tmp_path, period, {"w.yaml": windows})
    where = path if field.startswith("sloDefaults") else tmp_path / "w.yaml"
    assert f"{where}: {field}: {reason}" in problems(path)


def test_custom_window_rules_pass_promtool(tmp_path):
    path = write_profile(tmp_path, [with_slo(period="14d"), LEDGER], {"sloth.yaml": copy.deepcopy(SLOTH)})
    with_defaults(path, tmp_path, "14d", {"windows-14d.yaml": alert_windows("14d")})
    assert_promtool_accepts(model.build(load(path)), tmp_path)


def assert_promtool_accepts(stack, tmp_path: Path) -> None:
    """The SLO rule groups of the stack pass `promtool check rules`."""
    document = {"groups": [g.render(stack) for g in slo_engine.rule_groups(stack)]}
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(yaml.safe_dump(document))
    proc = subprocess.run([tool("promtool"), "check", "rules", str(rules_file)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_duplicate_slo_names_across_the_profile(tmp_path):
    ledger = {**LEDGER, "slos": [{"name": "checkout-availability", "type": "availability", "objective": 99}]}
    path = write_profile(tmp_path, [copy.deepcopy(SERVICE), ledger])
    assert problems(path) == [
        f"{path}: services[1].slos[0].name: SLO name 'checkout-availability' is already used by {path}: services[0].slos[0]"
    ]


def test_duplicate_slo_names_between_profile_and_imported_file(tmp_path):
    sloth = copy.deepcopy(SLOTH)
    sloth["slos"][0]["name"] = "availability"  # Sloth id checkout-availability, the profile SLO's name
    path = write_profile(tmp_path, [copy.deepcopy(SERVICE), LEDGER], {"sloth.yaml": sloth})
    assert problems(path) == [
        f"{tmp_path / 'sloth.yaml'}: slos[0].name: SLO name 'checkout-availability' is already used by {path}: services[0].slos[0]"
    ]


def test_problems_of_several_files_are_reported_together(tmp_path):
    sloth = copy.deepcopy(SLOTH)
    sloth["service"] = "search"
    path = write_profile(tmp_path, [with_slo(objective=100), LEDGER], {"sloth.yaml": sloth})
    with pytest.raises(ValidationErrors) as caught:
        slo_engine.slos(model.build(load(path)))
    assert caught.value.source == str(path)
    assert str(caught.value).splitlines() == [
        f"{path}: services[0].slos[0].objective: {NO_BUDGET}",
        f"{tmp_path / 'sloth.yaml'}: service: service 'search' is not declared in the profile (declared: checkout, ledger)",
    ]


def sloth_with(change) -> dict[str, Any]:
    doc = copy.deepcopy(SLOTH)
    change(doc)
    return doc


def openslo_with(kind: str, change) -> list[dict[str, Any]]:
    docs = copy.deepcopy(OPENSLO)
    change(next(d for d in docs if d["kind"] == kind))
    return docs


@pytest.mark.parametrize(
    "doc, field, reason",
    [
        (
            sloth_with(lambda d: d.update(service="search")),
            "service",
            "service 'search' is not declared in the profile (declared: checkout, ledger)",
        ),
        (
            sloth_with(lambda d: d.update(version="prometheus/v2")),
            "version",
            "unsupported Sloth version 'prometheus/v2': obsgen reads 'prometheus/v1'",
        ),
        (sloth_with(lambda d: d.update(extra=1)), "extra", "field 'extra' is not supported by obsgen; remove it"),
        (
            sloth_with(lambda d: d["slos"][0].update(objective=100)),
            "slos[0].objective",
            NO_BUDGET,
        ),
        (
            sloth_with(lambda d: d["slos"][0]["sli"].update(raw={"error_ratio_query": "x"})),
            "slos[0].sli",
            "give exactly one of sli.events (error_query, total_query) and sli.raw (error_ratio_query)",
        ),
        (
            sloth_with(lambda d: d["slos"][0]["sli"].update(plugin={"id": "sloth-common/availability"})),
            "slos[0].sli.plugin",
            "not supported: Sloth SLI plugin (sloth-common/availability) run inside Sloth, and obsgen cannot run them;"
            " write the plugin's queries as sli.events",
        ),
        (
            sloth_with(lambda d: d.update(slo_plugins={"chain": [{"id": "sloth.dev/core/debug/v1"}]})),
            "slo_plugins",
            "not supported: Sloth SLO plugins (sloth.dev/core/debug/v1) run inside Sloth, and obsgen cannot run them",
        ),
        (
            sloth_with(lambda d: d["slos"][0].update(alerting={"name": "Bad\tName", "page_alert": {"disable": False}})),
            "slos[0].alerting.name",
            "'Bad\\tName' is not a valid alert name (a string without control characters)",
        ),
        (
            sloth_with(lambda d: d["slos"][0].update(alerting={"name": "A", "ticket_alert": {"disable": "yes"}})),
            "slos[0].alerting.ticket_alert.disable",
            "must be true or false",
        ),
        (
            sloth_with(lambda d: d["slos"][0]["sli"]["events"].update(error_query="sum(rate(x[5m]))")),
            "slos[0].sli.events.error_query",
            "the query must use {{.window}} as its range, e.g. rate(x[{{.window}}])",
        ),
        (sloth_with(lambda d: d.update(labels={"slo": "x"})), "labels.slo", "label 'slo' is set by obsgen and cannot be overridden"),
    ],
)
def test_sloth_errors_name_file_and_field(tmp_path, doc, field, reason):
    path = write_profile(tmp_path, [copy.deepcopy(SERVICE), LEDGER], {"sloth.yaml": doc})
    assert problems(path)[0] == f"{tmp_path / 'sloth.yaml'}: {field}: {reason}"


# A Sloth file with Sloth's whole alerting block (our own content, written to
# the prometheus/v1 spec): the shape of Sloth's getting-started example.
SLOTH_ALERTING = {
    "name": "CheckoutHighErrorRate",
    "labels": {"category": "availability"},
    "annotations": {"summary": "High error rate on checkout"},
    "page_alert": {"labels": {"severity": "pageteam", "routing_key": "payments"}},
    "ticket_alert": {"labels": {"severity": "slack", "slack_channel": "#payments"}, "annotations": {"note": "ticket"}},
}


def _sloth_stack(tmp_path: Path, alerting: dict[str, Any], labels: dict[str, Any] | None = None, disabled: list[str] = ()):
    tmp_path.mkdir(parents=True, exist_ok=True)
    doc = copy.deepcopy(SLOTH)
    doc["slos"][0]["alerting"] = alerting
    if labels is not None:
        doc["labels"] = labels
    path = write_profile(tmp_path, [copy.deepcopy(SERVICE), LEDGER], {"sloth.yaml": doc})
    if disabled:
        data = yaml.safe_load(path.read_text())
        data["alerts"] = {"disabled": list(disabled)}
        path.write_text(yaml.safe_dump(data, sort_keys=False))
    stack = model.build(load(path))
    slo = next(s for s in slo_engine.slos(stack) if s.name == "checkout-sloth-availability")
    return stack, slo


def test_a_sloth_alerting_block_is_read_as_written(tmp_path):
    """alerting.name names every burn alert (burn_window tells them apart, as
    sloth_severity does in Sloth); obs's severities and runbooks still apply;
    the page and ticket labels go to their kind; labels obs sets itself keep
    the file's value as slo_<name>."""
    stack, slo = _sloth_stack(tmp_path, copy.deepcopy(SLOTH_ALERTING), {"owner": "payments", "tier": "2"})
    rules = slo_engine.alert_rules(slo, stack)
    burns = [r for r in rules if r.canonical.startswith("SLOErrorBudgetBurn")]
    assert [(r.name, r.canonical, r.severity) for r in burns] == [
        ("CheckoutHighErrorRate", "SLOErrorBudgetBurnFast", "critical"),
        ("CheckoutHighErrorRate", "SLOErrorBudgetBurnMedium", "critical"),
        ("CheckoutHighErrorRate", "SLOErrorBudgetBurnSlow", "warning"),
        ("CheckoutHighErrorRate", "SLOErrorBudgetBurnChronic", "warning"),
    ]
    rendered = [r.render(stack) for r in burns]
    for r in rendered:
        assert r["labels"]["severity"] in ("critical", "warning") and r["labels"]["slo_tier"] == "2" and r["labels"]["tier"] == "advanced"
        assert r["labels"]["category"] == "availability" and r["annotations"]["summary"] == "High error rate on checkout"
    page, ticket = rendered[0], rendered[2]
    assert (page["labels"]["slo_severity"], page["labels"]["routing_key"]) == ("pageteam", "payments")
    assert (ticket["labels"]["slo_severity"], ticket["labels"]["slack_channel"], ticket["annotations"]["note"]) == (
        "slack",
        "#payments",
        "ticket",
    )
    assert "routing_key" not in ticket["labels"] and "slack_channel" not in page["labels"]
    assert page["annotations"]["runbook_url"].endswith(runbook_uid("SLOErrorBudgetBurnFast"))
    # The faster of the renamed alerts silences the slower ones of the same SLO.
    inhibit = slo_engine.inhibit_rules(stack)
    renamed = [r for r in inhibit if 'alertname="CheckoutHighErrorRate"' in r["source_matchers"]]
    assert renamed[0] == {
        "source_matchers": ['alertname="CheckoutHighErrorRate"', 'burn_window="1h"'],
        "target_matchers": ['alertname="CheckoutHighErrorRate"', 'burn_window=~"6h|1d|3d"'],
        "equal": list(alerts.INHIBIT_EQUAL),
    }
    # The real engines accept the rules and the Alertmanager config carrying those inhibitions.
    assert_promtool_accepts(stack, tmp_path)
    config = alertmanager_artifact.config(stack)
    assert renamed[0] in config["inhibit_rules"]
    proc = engines.amtool_config(yaml.safe_dump(config), tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_sloth_disable_turns_a_kind_off_and_profile_settings_follow_the_obs_name(tmp_path):
    stack, slo = _sloth_stack(tmp_path / "a", {"page_alert": {"disable": True}, "ticket_alert": {"disable": True}})
    assert not [r for r in slo_engine.alert_rules(slo, stack) if r.identity.startswith("SLOErrorBudgetBurn")]
    stack, slo = _sloth_stack(tmp_path / "b", {"name": "Named", "ticket_alert": {"disable": True}}, disabled=["SLOErrorBudgetBurnFast"])
    assert [r.canonical for r in slo_engine.alert_rules(slo, stack) if r.name == "Named"] == ["SLOErrorBudgetBurnMedium"]


def test_a_sloth_raw_error_ratio_is_read_time_weighted(tmp_path):
    """sli.raw: every second weighs one event, so the recorded error ratio is
    the query's ratio. promtool evaluates the generated rules on a service
    that fails 1 % of its requests."""
    doc = copy.deepcopy(SLOTH)
    doc["slos"][0]["sli"] = {
        "raw": {
            "error_ratio_query": 'sum(rate(http_requests_total{service="checkout", status=~"5.."}[{{.window}}]))'
            ' / sum(rate(http_requests_total{service="checkout"}[{{.window}}]))'
        }
    }
    stack = model.build(load(write_profile(tmp_path, [copy.deepcopy(SERVICE), LEDGER], {"sloth.yaml": doc})))
    slo = next(s for s in slo_engine.slos(stack) if s.name == "checkout-sloth-availability")
    assert slo.sli.total_in("5m").endswith("* 0 + 1) * 300")
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(yaml.safe_dump({"groups": [g.render(stack) for g in slo_engine.rule_groups(stack)]}))
    test = {
        "rule_files": [str(rules_file)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": 'http_requests_total{service="checkout", status="500"}', "values": "0+60x60"},
                    {"series": 'http_requests_total{service="checkout", status="200"}', "values": "0+5940x60"},
                ],
                "promql_expr_test": [
                    {
                        "expr": 'sum(round(slo:sli_error:ratio_rate1h{slo="checkout-sloth-availability"}, 0.0001))',
                        "eval_time": "70m",
                        "exp_samples": [{"labels": "{}", "value": 0.01}],
                    }
                ],
            }
        ],
    }
    test_file = tmp_path / "test.yaml"
    test_file.write_text(yaml.safe_dump(test))
    proc = subprocess.run([tool("promtool"), "test", "rules", str(test_file)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_sloth_names_are_sloths_and_ids_are_per_service(tmp_path):
    """Sloth's names (capitals, '_' and '.') and ids (<service>-<name>): the
    same name under two services is two SLOs."""
    doc = copy.deepcopy(SLOTH)
    doc["slos"][0]["name"] = "Requests_v2.availability"
    other = copy.deepcopy(doc)
    other["service"] = "ledger"
    path = write_profile(tmp_path, [copy.deepcopy(SERVICE), LEDGER], {"a.yaml": doc, "b.yaml": other})
    names = {slo.name for slo in slo_engine.slos(model.build(load(path)))}
    assert {"checkout-Requests_v2.availability", "ledger-Requests_v2.availability"} <= names
    doc["slos"][0]["name"] = "-bad"
    (tmp_path / "bad").mkdir()
    path = write_profile(tmp_path / "bad", [copy.deepcopy(SERVICE), LEDGER], {"a.yaml": doc})
    reason = "'-bad' is not a valid Sloth SLO name (letters, digits, '.', '_', '-'; alphanumeric ends)"
    assert problems(path) == [f"{tmp_path / 'bad' / 'a.yaml'}: slos[0].name: {reason}"]


V1ALPHA = {
    "apiVersion": "openslo/v1alpha",
    "kind": "SLO",
    "metadata": {"name": "requests", "displayName": "Requests"},
    "spec": {
        "service": "checkout",
        "budgetingMethod": "Occurrences",
        "objectives": [
            {
                "ratioMetrics": {
                    "good": {
                        "source": "prometheus",
                        "queryType": "promql",
                        "query": 'sum(rate(http_requests_total{status!~"5.."}[{{.window}}]))',
                    },
                    "total": {"source": "prometheus", "queryType": "promql", "query": "sum(rate(http_requests_total[{{.window}}]))"},
                },
                "target": 0.999,
            },
            {
                "ratioMetrics": {
                    "bad": {
                        "source": "prometheus",
                        "queryType": "promql",
                        "query": 'sum(rate(http_requests_total{status="429"}[{{ .window }}]))',
                    },
                    "total": {"source": "prometheus", "queryType": "promql", "query": "sum(rate(http_requests_total[{{.window}}]))"},
                },
                "target": 0.99,
            },
        ],
        "timeWindows": [{"count": 28, "unit": "Day"}],
    },
}


def test_openslo_v1alpha_is_read_as_sloth_reads_it(tmp_path):
    """One SLO per objective, known by Sloth's id <service>-<name>-<index>;
    events counted (bad = total − good); no burn alerts, as in Sloth."""
    stack = model.build(load(write_profile(tmp_path, [copy.deepcopy(SERVICE), LEDGER], {"v1alpha.yaml": copy.deepcopy(V1ALPHA)})))
    found = {s.name: s for s in slo_engine.slos(stack) if s.file.endswith("v1alpha.yaml")}
    assert sorted(found) == ["checkout-requests-0", "checkout-requests-1"]
    first, second = found["checkout-requests-0"], found["checkout-requests-1"]
    assert (str(first.objective), first.period, str(second.objective)) == ("99.9", "28d", "99")
    good = 'sum(sum(rate(http_requests_total{status!~"5.."}[5m])))'
    assert first.sli.bad_in("5m") == f"(sum(sum(rate(http_requests_total[5m]))) - {good}) * 300"
    assert second.sli.bad_in("5m") == 'sum(sum(rate(http_requests_total{status="429"}[5m]))) * 300'
    assert not [r for r in slo_engine.alert_rules(first, stack) if r.identity.startswith("SLOErrorBudgetBurn") or r.name == "SLONoData"]
    assert_promtool_accepts(stack, tmp_path)


@pytest.mark.parametrize(
    "change, field, reason",
    [
        (
            lambda d: d["spec"]["timeWindows"][0].update(unit="Week"),
            "spec.timeWindows[0]",
            "only a whole number of days is supported (unit: Day)",
        ),
        (
            lambda d: d["spec"]["objectives"][0]["ratioMetrics"]["total"].update(source="datadog"),
            "spec.objectives[0].ratioMetrics.total.source",
            "'datadog' is not supported: use prometheus",
        ),
        (
            lambda d: d["spec"]["objectives"][1].update(target=1.5),
            "spec.objectives[1].target",
            "target 1.5: 150.0 is not a percentage strictly between 0 and 100 (as a ratio, e.g. 0.999)",
        ),
    ],
)
def test_openslo_v1alpha_errors_name_the_field(tmp_path, change, field, reason):
    doc = copy.deepcopy(V1ALPHA)
    change(doc)
    path = write_profile(tmp_path, [copy.deepcopy(SERVICE), LEDGER], {"v1alpha.yaml": doc})
    assert problems(path) == [f"{tmp_path / 'v1alpha.yaml'}: {field}: {reason}"]


def _as_resource(doc: dict[str, Any]) -> dict[str, Any]:
    """The same SLOs as Sloth's Kubernetes resource (camelCase under spec)."""
    text = yaml.safe_dump({k: v for k, v in doc.items() if k != "version"}, sort_keys=False)
    for snake, camel in (
        ("error_query", "errorQuery"),
        ("total_query", "totalQuery"),
        ("page_alert", "pageAlert"),
        ("ticket_alert", "ticketAlert"),
    ):
        text = text.replace(f"{snake}:", f"{camel}:")
    return {
        "apiVersion": "sloth.slok.dev/v1",
        "kind": "PrometheusServiceLevel",
        "metadata": {"name": "checkout"},
        "spec": yaml.safe_load(text),
    }


def test_sloths_kubernetes_resource_reads_like_its_file(tmp_path):
    doc = copy.deepcopy(SLOTH)
    doc["slos"][0]["alerting"] = copy.deepcopy(SLOTH_ALERTING)
    for sub in ("file", "cr", "bad"):
        (tmp_path / sub).mkdir()
    as_file = write_profile(tmp_path / "file", [copy.deepcopy(SERVICE), LEDGER], {"s.yaml": doc})
    as_cr = write_profile(tmp_path / "cr", [copy.deepcopy(SERVICE), LEDGER], {"s.yaml": _as_resource(doc)})

    def sloth_slo(path: Path):
        stack = model.build(load(path))
        slo = next(s for s in slo_engine.slos(stack) if s.name == "checkout-sloth-availability")
        return dataclasses.replace(slo, file=""), [r.render(stack) for r in slo_engine.alert_rules(slo, stack)]

    (file_slo, file_rules), (cr_slo, cr_rules) = sloth_slo(as_file), sloth_slo(as_cr)
    for name in file_slo.__dataclass_fields__:
        assert getattr(file_slo, name) == getattr(cr_slo, name), name
    assert file_rules == cr_rules
    broken = _as_resource(doc)
    broken["spec"]["slos"][0]["sli"]["events"]["errorQuery"] = "sum(rate(x[5m]))"
    path = write_profile(tmp_path / "bad", [copy.deepcopy(SERVICE), LEDGER], {"s.yaml": broken})
    reason = "the query must use {{.window}} as its range, e.g. rate(x[{{.window}}])"
    assert problems(path) == [f"{tmp_path / 'bad' / 's.yaml'}: spec.slos[0].sli.events.errorQuery: {reason}"]


def test_an_openslo_slo_without_alert_policies_alerts_on_nothing(tmp_path):
    """OpenSLO alerts only through alert policies; obs used to add the tier's four pairs and a no-data alert."""
    docs = [d for d in openslo_with("SLO", lambda d: d["spec"].pop("alertPolicies")) if d["kind"] != "AlertPolicy"]
    stack = model.build(load(write_profile(tmp_path, [copy.deepcopy(SERVICE), LEDGER], {"openslo.yaml": docs})))
    slo = next(s for s in slo_engine.slos(stack) if s.name == "ledger-openslo-availability")
    names = {r.identity for r in slo_engine.alert_rules(slo, stack)}
    assert not {n for n in names if n.startswith("SLOErrorBudgetBurn") or n == "SLONoData"}, names


SLO_PATH = "SLO/ledger-openslo-availability"


@pytest.mark.parametrize(
    "docs, field, reason",
    [
        (
            openslo_with("SLO", lambda d: d["spec"].update(service="search")),
            f"{SLO_PATH}.spec.service",
            "service 'search' is not declared in the profile (declared: checkout, ledger)",
        ),
        (
            openslo_with("SLO", lambda d: d["spec"].update(budgetingMethod="Timeslices")),
            f"{SLO_PATH}.spec.budgetingMethod",
            "'Timeslices' is not supported: obsgen budgets Occurrences (events)",
        ),
        (
            openslo_with("SLO", lambda d: d["spec"]["timeWindow"][0].update(duration="14d")),
            f"{SLO_PATH}.spec.timeWindow[0].duration",
            "unsupported period '14d': supported are 30d, 28d, 7d (more with sloDefaults.windows)",
        ),
        (
            openslo_with("SLO", lambda d: d["spec"]["timeWindow"][0].update(isRolling=False)),
            f"{SLO_PATH}.spec.timeWindow[0].isRolling",
            "calendar windows are not supported: the engine's periods are rolling",
        ),
        (
            openslo_with("SLO", lambda d: d["spec"]["objectives"][0].update(target=1.0)),
            f"{SLO_PATH}.spec.objectives[0].target",
            "1.0 is not a ratio strictly between 0 and 1",
        ),
        (
            openslo_with("SLO", lambda d: d["spec"]["objectives"][0].update(timeSliceTarget=0.9)),
            f"{SLO_PATH}.spec.objectives[0].timeSliceTarget",
            "field 'timeSliceTarget' is not supported by obsgen; remove it",
        ),
        (
            openslo_with("SLI", lambda d: d["spec"].update(thresholdMetric={"metricSource": {}})),
            "SLI/ledger-good-requests.spec.thresholdMetric",
            "not supported: the engine needs a ratioMetric of good (or bad) and total events",
        ),
        (
            openslo_with("SLI", lambda d: d["spec"]["ratioMetric"]["good"]["metricSource"].update(type="Datadog")),
            "SLI/ledger-good-requests.spec.ratioMetric.good.metricSource.type",
            "metric source type 'Datadog' is not supported: obsgen reads Prometheus",
        ),
        (
            openslo_with(
                "SLI",
                lambda d: d["spec"]["ratioMetric"]["total"]["metricSource"]["spec"].update(
                    query='sum(rate(http_server_request_duration_seconds_count{job="ledger"}[5m]))'
                ),
            ),
            "SLI/ledger-good-requests.spec.ratioMetric.total",
            "the query already applies rate() over a range of its own, so it is not a counter: give the counter itself"
            " (obsgen takes its increase over each window)",
        ),
        (
            openslo_with("AlertCondition", lambda d: d["spec"]["condition"].update(lookbackWindow="2h")),
            "AlertCondition/ledger-burn-fast.spec.condition.lookbackWindow",
            "lookbackWindow '2h' is not supported: use one of 1h, 6h, 1d, 3d (short window = lookback / 12)",
        ),
        (
            openslo_with("AlertPolicy", lambda d: d["spec"].update(notificationTargets=[{"targetRef": "pager"}])),
            "AlertPolicy/ledger-burn.spec.notificationTargets",
            "not supported: notifications are routed by the profile's teams and receivers",
        ),
        (
            [*copy.deepcopy(OPENSLO), {"apiVersion": "openslo/v1", "kind": "DataSource", "metadata": {"name": "prom"}, "spec": {}}],
            "DataSource/prom.kind",
            "kind 'DataSource' is not supported: metric sources are given inline (metricSource.type: Prometheus, spec.query)",
        ),
    ],
)
def test_openslo_errors_name_file_and_field(tmp_path, docs, field, reason):
    path = write_profile(tmp_path, [copy.deepcopy(SERVICE), LEDGER], {"openslo.yaml": docs})
    assert problems(path)[0] == f"{tmp_path / 'openslo.yaml'}: {field}: {reason}"


def test_unknown_slo_file_format_and_missing_file(tmp_path):
    path = write_profile(tmp_path, [copy.deepcopy(SERVICE), LEDGER], {"other.yaml": {"kind": "Something"}})
    assert problems(path) == [
        f"{tmp_path / 'other.yaml'}: (top level): neither a Sloth prometheus/v1 file (version, service, slos)"
        " nor OpenSLO v1 objects (apiVersion: openslo/v1)"
    ]
    (tmp_path / "other.yaml").unlink()
    assert problems(path) == [f"{path}: sloFiles[0]: no such file: {tmp_path / 'other.yaml'}"]


# --- promtool -------------------------------------------------------------------


def rules_file(tmp_path: Path, tier: str) -> Path:
    stack = stack_of(tier)
    path = tmp_path / f"{tier}.rules.yaml"
    path.write_text(yamlio.dump({"groups": [g.render(stack) for g in slo_engine.rule_groups(stack)]}))
    return path


@pytest.mark.parametrize("tier", TIERS)
def test_promtool_check_rules_accepts_every_generated_group(tmp_path, tier):
    result = subprocess.run([tool("promtool"), "check", "rules", str(rules_file(tmp_path, tier))], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def promtool_test(tmp_path: Path, group: Any, stack: model.Stack, series: list[dict], tests: list[dict]) -> None:
    (tmp_path / "rules.yaml").write_text(yamlio.dump({"groups": [group.render(stack)]}))
    test = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": series, "promql_expr_test": tests}],
    }
    (tmp_path / "test.yaml").write_text(yamlio.dump(test))
    result = subprocess.run([tool("promtool"), "test", "rules", "test.yaml"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


LABELS = '{namespace="shop", service="checkout", slo="checkout-availability", team="payments"}'
SEL = '{slo="checkout-availability"}'


def test_zero_traffic_gives_no_ratio_and_never_nan(tmp_path):
    """Counters that exist but never move: counts are 0, every ratio-like series is absent."""
    group = scenarios.group("enterprise", "checkout-availability")
    flat = [(180, 0, 0)]  # 3h of zero traffic
    series = scenarios.input_series("checkout-availability", flat)
    records = sorted({r.record for r in group.rules if isinstance(r, RecordingRule)})
    tests: list[dict] = [{"expr": f"{m}{SEL} != {m}{SEL}", "eval_time": "3h", "exp_samples": []} for m in records]  # NaN != NaN
    for m in (
        "slo:sli_error:ratio_rate5m",
        "slo:burn_rate:ratio_rate1h",
        "slo:sli:ratio_period",
        engine.BUDGET_REMAINING,
        engine.TIME_TO_EXHAUSTION,
    ):
        tests.append({"expr": f"{m}{SEL}", "eval_time": "3h", "exp_samples": []})
    tests.append(
        {
            "expr": f"slo:sli_events_bad:increase5m{SEL}",
            "eval_time": "3h",
            "exp_samples": [{"labels": f"slo:sli_events_bad:increase5m{LABELS}", "value": 0}],
        }
    )
    tests.append({"expr": "ALERTS", "eval_time": "3h", "exp_samples": []})
    promtool_test(tmp_path, group, stack_of("enterprise"), series, tests)


def close_to(expr: str, value: float, at: str) -> dict[str, Any]:
    return {"expr": f"abs({expr} - {value!r}) < bool 1e-9", "eval_time": at, "exp_samples": [{"labels": LABELS, "value": 1}]}


def test_budget_burn_rate_and_time_to_exhaustion_values(tmp_path):
    """2h at 100 req/min without errors, then 10 min at 10% errors, all on 5m boundaries."""
    group = scenarios.group("enterprise", "checkout-availability")
    series = scenarios.input_series("checkout-availability", [(120, 100, 0), (10, 100, 10)])
    total, bad = 130 * 100, 10 * 10
    remaining = 1 - (bad / total) / 0.001
    burn_1h = (10 * 10 / (59 * 100)) / 0.001  # a 1h range holds 60 samples: 59 steps
    tests = [
        close_to(f"slo:sli_events_total:increase_period{SEL}", total, "130m"),
        close_to(f"slo:sli_events_bad:increase_period{SEL}", bad, "130m"),
        close_to(f"slo:sli:ratio_period{SEL}", 1 - bad / total, "130m"),
        close_to(f"slo:error_budget_remaining:ratio{SEL}", remaining, "130m"),
        close_to(f"slo:burn_rate:ratio_rate1h{SEL}", burn_1h, "130m"),
        {"expr": f"slo:time_to_exhaustion:seconds{SEL}", "eval_time": "130m", "exp_samples": []},  # budget already spent
        close_to(f"slo:objective:ratio{SEL}", 0.999, "130m"),
        close_to(f"slo:error_budget:ratio{SEL}", 0.001, "130m"),
        close_to(f"slo:period:seconds{SEL}", 30 * 86400, "130m"),
        # Before the errors: nothing burns, so no time to exhaustion (not +Inf).
        close_to(f"slo:burn_rate:ratio_rate1h{SEL}", 0, "120m"),
        {"expr": f"slo:time_to_exhaustion:seconds{SEL}", "eval_time": "120m", "exp_samples": []},
    ]
    promtool_test(tmp_path, group, stack_of("enterprise"), series, tests)


def test_time_to_exhaustion_extrapolates_the_1h_burn_rate(tmp_path):
    """A week of clean traffic, then 5 min at 1% errors: remaining × period / 1h burn rate."""
    keep = {
        "slo:sli_events_total:increase5m",
        "slo:sli_events_bad:increase5m",
        "slo:sli_events_total:increase1h",
        "slo:sli_events_bad:increase1h",
    }
    keep |= {"slo:sli_error:ratio_rate1h", "slo:burn_rate:ratio_rate1h", engine.TOTAL_PERIOD, engine.BAD_PERIOD, engine.BUDGET_REMAINING}
    keep |= {engine.TIME_TO_EXHAUSTION, engine.INFO, engine.ERROR_BUDGET, engine.PERIOD_SECONDS}
    full = scenarios.group("enterprise", "checkout-availability")
    group = type(full)(full.name, tuple(r for r in full.rules if isinstance(r, RecordingRule) and r.record in keep), full.interval)
    series = scenarios.input_series("checkout-availability", [(1440, 1000, 0), (5, 1000, 10)])
    total, bad = 1445 * 1000, 5 * 10
    remaining = 1 - (bad / total) / 0.001
    burn_1h = (5 * 10 / (59 * 1000)) / 0.001
    tests = [close_to(f"slo:time_to_exhaustion:seconds{SEL}", remaining * 30 * 86400 / burn_1h, "1445m")]
    promtool_test(tmp_path, group, stack_of("enterprise"), series, tests)


def test_low_traffic_guard_is_what_keeps_a_single_error_silent(tmp_path):
    """Control for the scenario: the same single error with minEvents: 0 pages."""
    base = scenarios.slos("basic")["checkout-availability"]
    stack = stack_of("basic")
    for min_events, firing in ((10, False), (0, True)):
        slo = dataclasses.replace(base, min_events=min_events)
        group = scenarios.closure(slo_engine.group(slo, stack), ["SLOErrorBudgetBurnFast"])
        series = scenarios.input_series("checkout-availability", [(120, 1, 0), (1, 1, 1), (10, 1, 0)])
        labels = scenarios.alert_labels("basic", "checkout-availability", "SLOErrorBudgetBurnFast")
        text = "ALERTS{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"
        expected = [{"labels": text, "value": 1}] if firing else []
        # The error is in the 5m window from 121m to 124m: firing at 123m unless guarded.
        tests = [{"expr": 'ALERTS{alertstate="firing"}', "eval_time": "123m", "exp_samples": expected}]
        promtool_test(tmp_path, group, stack, series, tests)


def test_alert_rules_are_the_types_the_lead_wires():
    groups = slo_engine.rule_groups(stack_of("enterprise"))
    assert [g.name for g in groups] == ["slo-info", "slo-rules"]
    assert all(isinstance(r, RecordingRule | AlertRule) for g in groups for r in g.rules)
    assert alerts.INHIBIT_EQUAL == ("cluster", "namespace", "service", "slo")


def test_alerts_disabled_by_name_are_not_generated_nor_inhibited(tmp_path):
    path = write_profile(tmp_path, [copy.deepcopy(SERVICE), LEDGER])
    data = yaml.safe_load(path.read_text())
    data["alerts"] = {"disabled": ["SLOErrorBudgetBurnMedium", "SLONoData"]}
    path.write_text(yaml.safe_dump(data))
    stack = model.build(load(path))
    assert [a.name for a in slo_engine.rule_groups(stack)[-1].alerts] == [
        "SLOErrorBudgetBurnFast",
        "SLOErrorBudgetBurnSlow",
        "SLOErrorBudgetBurnChronic",
    ]
    assert [r["source_matchers"] for r in slo_engine.inhibit_rules(stack)] == [
        ['alertname="SLOErrorBudgetBurnFast"'],
        ['alertname="SLOErrorBudgetBurnSlow"'],
    ]


def test_catalogue_lists_every_alert_once_with_the_first_tier_that_generates_it():
    assert [(rule.name, tier) for rule, tier in slo_engine.catalogue()] == [
        ("SLOErrorBudgetBurnFast", "basic"),
        ("SLOErrorBudgetBurnMedium", "basic"),
        ("SLOErrorBudgetBurnSlow", "intermediate"),
        ("SLOErrorBudgetBurnChronic", "advanced"),
        ("SLONoData", "advanced"),
        ("SLOErrorBudgetExhausted", "enterprise"),
        ("SLOComplianceBreached", "enterprise"),
        ("SLOGroupLimitExceeded", "basic"),
    ]
    # Runbooks are per alert name: every SLO's instance carries the same one.
    by_name = {rule.name: rule.runbook for rule, _ in slo_engine.catalogue()}
    for rule in scenarios.group("enterprise", "checkout-latency").alerts:
        assert rule.runbook == by_name[rule.name]


def test_alerts_link_the_slo_dashboard_on_their_slo():
    rendered = scenarios.group("basic", "checkout-availability").alerts[0].render(stack_of("basic"))
    assert rendered["annotations"]["dashboard_url"].endswith("d/obs-slo?var-service={{ $labels.service }}&var-slo={{ $labels.slo }}")
    own = scenarios.group("basic", "checkout-sloth-availability").alerts[0].render(stack_of("basic"))
    assert own["annotations"]["dashboard_url"].endswith("d/obs-slo?var-service=checkout&var-slo=checkout-sloth-availability")
