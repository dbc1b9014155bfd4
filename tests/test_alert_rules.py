"""Every generated alert fires when it should and stays silent when it should
not: promtool unit tests built from tests/alert_cases.py, run against the rules
generated from tests/fixtures/alerts/<tier>.yaml.

Evaluation intervals. promtool 3.5 evaluates every rule group at the test
file's `evaluation_interval` and ignores a group's own `interval`
(test_promtool_ignores_group_intervals pins this). Prometheus evaluates
obs-alerts-availability every 15s and the other groups at the tier's
evaluation interval (30s in basic, 15s above), and `for` is only checked at
evaluations, so each case runs in a test file whose evaluation_interval is the
production interval of its alert's group. Cases spanning days set a coarser
interval themselves (alert_cases.Case.evaluation_interval).

Groups. Each group is written verbatim to a file of its own; a test file loads
the groups of its alerts and, transitively, the recording groups they read
(promtool evaluates every loaded rule at every step: unrelated groups would
only cost time). Its `group_eval_order` puts recordings before alerts (promtool
picks any order otherwise), so an alert reads the recordings of the same
evaluation and the cases' firing times are exact; in Prometheus groups run
independently and an alert may lag its recordings by one interval.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path
from string import Template
from typing import Any

import pytest
import yaml

from obsgen import model
from obsgen.profile import load
from obsgen.rules import rule_files
from obsgen.telemetry import le_matcher
from obsgen.tiers import TIER_ORDER
from tests import alert_cases
from tests.alert_cases import CASES, Case
from tests.support.tools import ROOT, tool

FIXTURES = ROOT / "tests" / "fixtures" / "alerts"
CASE_ANNOTATIONS = ("summary", "description")


@cache
def _stack(name: str) -> model.Stack:
    return model.build(load(FIXTURES / f"{name}.yaml"))


@cache
def _rule_files(name: str) -> tuple[dict[str, Any], ...]:
    return tuple(rule_files(_stack(name)))


@cache
def _groups(name: str) -> dict[str, dict[str, Any]]:
    """Every generated rule group by name, in generation order."""
    return {g["name"]: g for f in _rule_files(name) for g in f["groups"]}


@cache
def _alerts(name: str) -> dict[str, dict[str, Any]]:
    """Alert name → production evaluation interval, the groups it needs, and per rule
    instance its labels and the annotations the cases do not spell out (runbook_url,
    dashboard_url: fixed per instance)."""
    stack = _stack(name)
    out: dict[str, dict[str, Any]] = {}
    for group in _groups(name).values():
        for rule in group["rules"]:
            if "alert" not in rule:
                continue
            fixed = {k: v for k, v in rule["annotations"].items() if k not in CASE_ANNOTATIONS}
            assert not any("{{" in v for v in fixed.values()), f"{rule['alert']}: templated {fixed}; give them in the cases"
            entry = out.setdefault(
                rule["alert"],
                {"interval": group.get("interval", stack.tier.evaluation_interval), "groups": [], "instances": []},
            )
            entry["instances"].append((rule["labels"], fixed))
            if group["name"] not in entry["groups"]:
                entry["groups"].append(group["name"])
    for entry in out.values():
        entry["groups"] = _with_recordings(name, entry["groups"])
    return out


def _with_recordings(name: str, wanted: list[str]) -> tuple[str, ...]:
    """The groups, plus every group recording a series they read (transitively), in generation order."""
    groups = _groups(name)
    recorders: dict[str, set[str]] = defaultdict(set)
    for group in groups.values():
        for rule in group["rules"]:
            if "record" in rule:
                recorders[rule["record"]].add(group["name"])
    needed, todo = set(), list(wanted)
    while todo:
        group = todo.pop()
        if group in needed:
            continue
        needed.add(group)
        for rule in groups[group]["rules"]:
            for word in set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", rule["expr"])):
                todo.extend(recorders.get(word, ()))
    return tuple(g for g in groups if g in needed)


def _write(path: Path, data: Any) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000))
    return path


def _test_group(alert: str, case: Case, tier: str, instances: list[tuple[dict[str, str], dict[str, str]]]) -> dict[str, Any]:
    def expected(a: alert_cases.Alert) -> dict[str, Any]:
        labels = {k: Template(v).substitute(tier=tier) for k, v in a.labels.items()}
        # The rule instance that produces this alert: its own labels are among the alert's.
        fixed = [f for rule_labels, f in instances if rule_labels.items() <= labels.items()]
        assert fixed, f"{alert}: no rule instance has labels matching {labels}"
        assert all(f == fixed[0] for f in fixed), f"{alert}: several rule instances match {labels}; give annotations in the case"
        return {
            "exp_labels": labels,
            "exp_annotations": {**fixed[0], **a.annotations, "summary": a.summary, "description": a.description},
        }

    return {
        "name": f"{alert}: {case.name}",
        "interval": case.interval,
        "input_series": [{"series": s, "values": v} for s, v in case.series],
        "alert_rule_test": [{"eval_time": c.at, "alertname": alert, "exp_alerts": [expected(a) for a in c.firing]} for c in case.checks],
    }


def write_unit_tests(name: str, cases: list[tuple[str, Case]], directory: Path) -> list[Path]:
    """The stack's rule groups, one file each, and the promtool test files of the cases.

    A test file loads the groups its alerts need (their own and the recording
    groups they read), verbatim as generated: promtool evaluates every loaded
    rule at every step, and unrelated groups would only cost time. There is one
    test file per evaluation interval and set of groups.
    """
    for group_name, group in _groups(name).items():
        _write(directory / f"{group_name}.yaml", {"groups": [group]})
    alerts = _alerts(name)
    tests: dict[tuple[str, tuple[str, ...]], list[dict[str, Any]]] = defaultdict(list)
    for alert, case in cases:
        info = alerts[alert]
        key = (case.evaluation_interval or info["interval"], info["groups"])
        tests[key].append(_test_group(alert, case, _stack(name).tier.name, info["instances"]))
    return [
        _write(
            directory / f"test-{i:02d}-every-{interval}.yaml",
            {
                "rule_files": [f"{g}.yaml" for g in groups],
                "evaluation_interval": interval,
                "group_eval_order": list(groups),
                "tests": group_tests,
            },
        )
        for i, ((interval, groups), group_tests) in enumerate(tests.items())
    ]


_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def _seconds(duration: str) -> float:
    return sum(float(n) * _UNITS[unit] for n, unit in re.findall(r"(\d+)(ms|s|m|h|d|w|y)", duration))


def _cost(path: Path) -> float:
    """Rule evaluations a test file asks for: evaluation steps times loaded groups."""
    data = yaml.safe_load(path.read_text())
    steps = sum(
        max(_seconds(c["eval_time"]) for c in t.get("alert_rule_test", []) + t.get("promql_expr_test", []))
        / _seconds(data.get("evaluation_interval", "1m"))
        for t in data["tests"]
    )
    return steps * len(data["rule_files"])


def promtool_test(files: list[Path]) -> subprocess.CompletedProcess:
    """`promtool test rules`, one process per file, as many at a time as there are CPUs; the outputs joined."""

    def run(path: Path) -> subprocess.CompletedProcess:
        return subprocess.run([tool("promtool"), "test", "rules", str(path)], capture_output=True, text=True, timeout=300)

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        procs = list(pool.map(run, sorted(files, key=_cost, reverse=True)))
    return subprocess.CompletedProcess(
        args=["promtool", "test", "rules", *map(str, files)],
        returncode=max(p.returncode for p in procs),
        stdout="".join(p.stdout for p in procs),
        stderr="".join(p.stderr for p in procs),
    )


def _assert_passes(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, f"promtool test rules failed:\n{proc.stdout}\n{proc.stderr}"


def _cases(tier: str, known_bugs: bool = False) -> list[tuple[str, Case]]:
    present = _alerts(tier)
    return [(alert, case) for alert, cases in CASES.items() if alert in present for case in cases if bool(case.known_bug) == known_bugs]


# --- the cases, per tier ------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("tier", TIER_ORDER)
def test_alerts_fire_and_stay_silent(tier, tmp_path):
    cases = _cases(tier)
    assert cases
    _assert_passes(promtool_test(write_unit_tests(tier, cases, tmp_path)))


def _known_bugs() -> list[Any]:
    params = []
    for alert, cases in CASES.items():
        tier = next((t for t in reversed(TIER_ORDER) if alert in _alerts(t)), None)
        for case in cases:
            if case.known_bug and tier:
                reason = f"rule bug: {case.known_bug}"
                params.append(
                    pytest.param(tier, alert, case, id=f"{alert}: {case.name}", marks=pytest.mark.xfail(strict=True, reason=reason))
                )
    return params


@pytest.mark.parametrize(("tier", "alert", "case"), _known_bugs())
def test_known_rule_bugs(tier, alert, case, tmp_path):
    """The right behaviour of a rule that is wrong today. Fix the rule, then drop the case's known_bug."""
    _assert_passes(promtool_test(write_unit_tests(tier, [(alert, case)], tmp_path)))


# --- coverage ----------------------------------------------------------------------------


def test_every_alert_has_a_firing_and_a_silent_case():
    generated = {alert for tier in TIER_ORDER for alert in _alerts(tier)}
    missing = [
        f"{alert}: no {kind} case"
        for alert in sorted(generated)
        for kind, fires in (("firing", True), ("silent", False))
        if not any(case.fires == fires for case in CASES.get(alert, ())) and not (kind == "silent" and alert in alert_cases.ALWAYS_FIRING)
    ]
    assert not missing, "tests/alert_cases.py lacks cases:\n" + "\n".join(missing)
    assert not set(CASES) - generated, f"cases for alerts no tier generates: {sorted(set(CASES) - generated)}"


def test_every_case_runs_in_some_tier():
    ran = {(alert, case.name) for tier in TIER_ORDER for alert, case in _cases(tier) + _cases(tier, known_bugs=True)}
    assert ran == {(alert, case.name) for alert, cases in CASES.items() for case in cases}


def test_fixtures_declare_what_the_cases_assume():
    for tier in TIER_ORDER:
        stack = _stack(tier)
        assert stack.tier.name == tier
        assert stack.default_team == alert_cases.DEFAULT_TEAM
        services = {s.name: (s.namespace, s.team, s.contract.preset) for s in stack.services}
        assert services == alert_cases.FIXTURE_SERVICES, tier


# --- overrides and disabled alerts ----------------------------------------------------------


def _rendered(name: str) -> dict[tuple[str, str], dict[str, Any]]:
    """(alert, service or "") → rendered rule."""
    return {
        (r["alert"], r["labels"].get("service", "")): r for f in _rule_files(name) for g in f["groups"] for r in g["rules"] if "alert" in r
    }


def _threshold(rule: dict[str, Any]) -> str:
    return re.search(r" > ([0-9.]+)\n", rule["expr"]).group(1)


def test_overrides_change_threshold_and_for():
    default, rules = _rendered("intermediate"), _rendered("overrides")
    web, orders = alert_cases.WEB, alert_cases.ORDERS
    # Defaults, from the catalogue.
    assert (_threshold(default[("ServiceErrorRatioHigh", web)]), default[("ServiceErrorRatioHigh", web)]["for"]) == ("0.05", "5m")
    assert (_threshold(default[("ServiceLatencyP95High", orders)]), default[("ServiceLatencyP95High", orders)]["for"]) == ("0.5", "10m")
    # Profile-level override: threshold and `for` for every service.
    assert (_threshold(rules[("ServiceErrorRatioHigh", orders)]), rules[("ServiceErrorRatioHigh", orders)]["for"]) == ("0.1", "10m")
    # A service's own threshold wins; its `for` still comes from the profile.
    assert (_threshold(rules[("ServiceErrorRatioHigh", web)]), rules[("ServiceErrorRatioHigh", web)]["for"]) == ("0.2", "10m")
    assert (_threshold(rules[("ServiceLatencyP95High", orders)]), rules[("ServiceLatencyP95High", orders)]["for"]) == ("1.5", "20m")
    # Alerts without overrides keep their defaults.
    for service in (web, orders):
        assert rules[("ServiceErrorRatioElevated", service)] == default[("ServiceErrorRatioElevated", service)]


def test_overridden_threshold_and_for_take_effect(tmp_path):
    """15% errors on both services: orders (profile threshold 0.1, for 10m) pages 10m after it starts, web (its own 0.2) never."""
    series = [
        alert_cases.web_requests("200", alert_cases.counter((510, 12))),
        alert_cases.web_requests("500", alert_cases.counter((90, 12))),
        alert_cases.orders_requests("200", alert_cases.counter((510, 12))),
        alert_cases.orders_requests("500", alert_cases.counter((90, 12))),
    ]
    orders = alert_cases.Alert(
        alert_cases.labels("critical", alert_cases.ORDERS_TEAM, service=alert_cases.ORDERS, namespace=alert_cases.ORDERS_NS),
        "orders fails a large share of requests",
        "orders answers 15% of requests with 5xx over 5m.",
    )
    case = alert_cases.fires("15% errors", series, alert_cases.Check("10m30s"), alert_cases.Check("11m", (orders,)))
    _assert_passes(promtool_test(write_unit_tests("overrides", [("ServiceErrorRatioHigh", case)], tmp_path)))


def test_disabled_alerts_are_absent():
    default, rules = _rendered("intermediate"), _rendered("overrides")
    assert ("TargetsPartiallyDown", "") in default
    assert not any(alert == "TargetsPartiallyDown" for alert, _ in rules), "disabled in the profile"
    assert ("ServiceLatencyP95High", alert_cases.WEB) not in rules, "disabled for web"
    assert ("ServiceLatencyP95High", alert_cases.ORDERS) in rules, "disabled for web only"


# --- le matcher ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("threshold", "matching", "other"),
    [
        (0.5, ("0.5", "0.50"), ("0.05", "5", "5.0", "0.55", "0.25", "10.5")),
        (1, ("1", "1.0", "1.00"), ("10", "10.0", "0.1", "1.5", "11")),
        (0.25, ("0.25", "0.250"), ("0.025", "0.2", "0.255", "2.5")),
        (10, ("10", "10.0"), ("1", "1.0", "100", "0.10")),
    ],
)
def test_le_matcher_matches_both_spellings_of_a_bound(threshold, matching, other, tmp_path):
    matcher = le_matcher(threshold)
    _write(tmp_path / "rules.yaml", {"groups": [{"name": "le", "rules": [{"record": "matched_bucket", "expr": f"h_bucket{{{matcher}}}"}]}]})
    test = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [{"series": f'h_bucket{{le="{le}"}}', "values": "1x5"} for le in (*matching, *other)],
                "promql_expr_test": [
                    {
                        "expr": "matched_bucket",
                        "eval_time": "2m",
                        "exp_samples": [{"labels": f'matched_bucket{{le="{le}"}}', "value": 1} for le in matching],
                    }
                ],
            }
        ],
    }
    _assert_passes(promtool_test([_write(tmp_path / "test.yaml", test)]))


# --- promtool's evaluation model -------------------------------------------------------------------


def test_promtool_ignores_group_intervals(tmp_path):
    """What the module docstring relies on: a group's `interval` does not change
    when promtool evaluates it, the test file's evaluation_interval does."""
    alert = {"alert": "Down", "expr": "x == 0", "for": "15s", "labels": {"severity": "critical"}}
    _write(tmp_path / "rules.yaml", {"groups": [{"name": "fast", "interval": "15s", "rules": [alert]}]})

    def run(evaluation_interval: str, fires_at: str, silent_at: str) -> subprocess.CompletedProcess:
        checks = [
            {"eval_time": silent_at, "alertname": "Down", "exp_alerts": []},
            {"eval_time": fires_at, "alertname": "Down", "exp_alerts": [{"exp_labels": {"severity": "critical"}}]},
        ]
        test = {
            "rule_files": ["rules.yaml"],
            "evaluation_interval": evaluation_interval,
            "tests": [{"interval": "15s", "input_series": [{"series": "x", "values": "1x3 0x20"}], "alert_rule_test": checks}],
        }
        return promtool_test([_write(tmp_path / f"test-{evaluation_interval}.yaml", test)])

    # x is 0 from 1m. Every 15s: pending at 1m, firing at 1m15s. Every minute
    # (the group's 15s ignored): still pending at 1m45s, firing at 2m.
    _assert_passes(run("15s", fires_at="1m15s", silent_at="1m"))
    _assert_passes(run("1m", fires_at="2m", silent_at="1m45s"))
