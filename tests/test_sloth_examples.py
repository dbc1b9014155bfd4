"""Sloth's own files, as its project publishes them (v0.16.0, fetched from its
Go module by ci/install-tools.sh, never copied into this repository):

- every SLO file of its examples and integration tests that uses no plugin
  generates unchanged, and its rules pass promtool; the files that use a
  plugin are refused naming it, the one with a wrong version naming that;
- its window files are read as sloDefaults.windows;
- the rules Sloth generates for its integration tests (the *.tpl) are what
  tests/support/sloth_rules.py writes for the same SLO, so the comparison of
  obs with Sloth (tests/test_sloth_comparison.py) runs Sloth's formulas.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml

from obsgen import model
from obsgen.errors import ValidationErrors
from obsgen.profile import load
from obsgen.rules import slo as slo_engine
from obsgen.rules.slo.windows import WindowTable, from_alert_windows, windows
from tests.support import sloth_rules
from tests.support.tools import module_files
from tests.test_slo_engine import assert_promtool_accepts

SLOTH = module_files("sloth")
TESTDATA = SLOTH / "test" / "integration" / "prometheus" / "testdata"
FILES = sorted([*(SLOTH / "examples").glob("*.y*ml"), *TESTDATA.glob("in-*.yaml")])
PLUGIN_KEYS = ("plugin", "plugins", "slo_plugins", "sloPlugins")


def _keys(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {k for v in node.values() for k in _keys(v)}
    if isinstance(node, list):
        return {k for v in node for k in _keys(v)}
    return set()


def _documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _services(docs: list[dict[str, Any]]) -> list[str]:
    found = []
    for doc in docs:
        spec = doc.get("spec") if isinstance(doc.get("spec"), dict) else {}
        for name in (doc.get("service"), spec.get("service")):
            if isinstance(name, str) and name not in found:
                found.append(name)
    return found


def _stack(tmp_path: Path, path: Path, defaults: dict[str, Any] | None = None) -> model.Stack:
    profile = {
        "name": "sloth-examples",
        "extends": "advanced",
        "teams": [{"name": "platform"}],
        "services": [{"name": s, "namespace": "default", "team": "platform"} for s in _services(_documents(path))],
        "sloFiles": [str(path)],
        **({"sloDefaults": defaults} if defaults else {}),
    }
    where = tmp_path / "profile.yaml"
    where.write_text(yaml.safe_dump(profile, sort_keys=False))
    return model.build(load(where))


def test_the_published_files_are_there():
    names = {p.name for p in FILES}
    assert {"getting-started.yml", "home-wifi.yml", "raw-home-wifi.yml", "in-base.yaml", "in-openslo.yaml"} <= names
    assert len(FILES) >= 25


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_plugin_free_sloth_file_generates_unchanged(tmp_path, path):
    docs = _documents(path)
    stack = _stack(tmp_path, path)
    plugins = _keys(docs) & set(PLUGIN_KEYS)
    if plugins or path.name == "in-invalid-version.yaml":
        with pytest.raises(ValidationErrors) as caught:
            slo_engine.rule_groups(stack)
        lines = str(caught.value).splitlines()
        if plugins:
            # Named, with the plugin's id (victoria-metrics.yml also uses MetricsQL, refused as not PromQL).
            assert any("plugin" in line.lower() and "run inside Sloth" in line for line in lines), lines
        else:
            assert [line.split(": ", 2)[1:] for line in lines] == [
                ["version", "unsupported Sloth version 'prometheus/v999': obsgen reads 'prometheus/v1'"]
            ]
        return
    slos = slo_engine.slos(stack)
    expected = sum(len(d.get("slos") or (d.get("spec") or {}).get("slos") or (d.get("spec") or {}).get("objectives") or []) for d in docs)
    assert len(slos) == expected
    assert_promtool_accepts(stack, tmp_path)


@pytest.mark.parametrize("name", ["7d.yaml", "custom-30d.yaml"])
def test_sloth_window_files_are_read(tmp_path, name):
    window_file = SLOTH / "examples" / "windows" / name
    table, problems = from_alert_windows(yaml.safe_load(window_file.read_text()))
    assert problems == [] and table is not None
    stack = _stack(tmp_path, SLOTH / "examples" / "getting-started.yml", {"period": table.period, "windows": [str(window_file)]})
    for slo in slo_engine.slos(stack):
        assert slo_engine.alert_pairs(slo, stack) == table.pairs
    assert_promtool_accepts(stack, tmp_path)


# --- Sloth's formulas, checked against its own output ----------------------------

_NUMBER = re.compile(r"(?<![\w.])\d+\.\d+(?:e-?\d+)?")


def _normal(expr: str) -> str:
    """An expression as Prometheus parses it, floats to 10 significant digits
    (Sloth prints 1-0.999 as 0.0009999999999999432)."""
    text = promql_parser.parse(expr).prettify()
    return " ".join(_NUMBER.sub(lambda m: f"{float(m.group()):.10g}", text).split())


def _generated(template: str) -> list[dict[str, Any]]:
    text = (TESTDATA / template).read_text()
    text = re.sub(r'\{\{"(\{\{.*?\}\})"\}\}', r"\1", text).replace("{{ .version }}", "v0.16.0")
    return yaml.safe_load(text)["groups"]


def _ours(doc: dict[str, Any], table: WindowTable) -> list[dict[str, Any]]:
    spec = doc["slos"][0]
    labels = {**doc.get("labels", {}), **spec.get("labels", {})}
    events = spec["sli"]["events"]
    slo = sloth_rules.SlothSLO(
        doc["service"], spec["name"], spec["objective"] / 100, events["error_query"], events["total_query"], tuple(labels.items())
    )
    return sloth_rules.rule_groups(slo, table)


@pytest.mark.parametrize(
    "template, table",
    [
        ("out-base.yaml.tpl", lambda: windows("30d")),
        ("out-base-28d.yaml.tpl", lambda: windows("28d")),
        (
            "out-base-custom-windows-7d.yaml.tpl",
            lambda: from_alert_windows(yaml.safe_load((SLOTH / "examples" / "windows" / "7d.yaml").read_text()))[0],
        ),
    ],
    ids=["30d", "28d", "7d"],
)
def test_sloth_formulas_match_what_sloth_generates(template, table):
    """Records and alerts of in-base.yaml's first SLO (the events one), expression by expression."""
    generated = {g["name"]: g["rules"] for g in _generated(template)}
    ours = _ours(yaml.safe_load((TESTDATA / "in-base.yaml").read_text()), table())
    assert [g["name"] for g in ours] == [name for name in generated if name.endswith("svc01-slo1")]
    for group in ours:
        theirs = generated[group["name"]]
        name = lambda rule: rule.get("record") or rule["labels"]["sloth_severity"]  # noqa: E731
        assert [name(r) for r in group["rules"]] == [name(r) for r in theirs]
        for mine, sloth in zip(group["rules"], theirs, strict=True):
            assert _normal(mine["expr"]) == _normal(sloth["expr"]), (group["name"], mine.get("record") or mine.get("alert"))
            mine_labels = {
                k: v for k, v in mine.get("labels", {}).items() if not k.startswith("sloth_") or k in ("sloth_window", "sloth_id")
            }
            assert mine_labels.items() <= sloth.get("labels", {}).items()
