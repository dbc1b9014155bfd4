"""Generated dashboards: structure, conventions, gating, delivery, and every
query checked by promtool and against what the stack emits.

The fixture profile (tests/fixtures/dashboards/profile.yaml) declares
everything a panel can show, so every dashboard of each tier is generated;
the built-in tier profiles are checked as they ship.
"""

from __future__ import annotations

import atexit
import base64
import dataclasses
import gzip
import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml

from obsgen import dashboards, generate, model, rules
from obsgen.dashboards import catalogue, render, sources
from obsgen.dashboards.runbooks import FOLDER as runbook_pages_folder
from obsgen.model import Stack
from obsgen.profile import load, load_builtin
from obsgen.rules import known_alerts
from obsgen.rules.types import runbook_uid
from tests.support.render import CHART, ROOT, TIERS, find, helm_template, render_tier, split
from tests.support.tools import tool

FIXTURE = Path(__file__).parent / "fixtures" / "dashboards" / "profile.yaml"
KNOWN_UIDS = {
    catalogue.STACK_HEALTH,
    catalogue.ALERTS,
    catalogue.RED,
    catalogue.DEPENDENCIES,
    catalogue.USE,
    catalogue.CONTROL_PLANE,
    catalogue.RUNTIME,
    catalogue.SLO,
    catalogue.SECURITY,
    catalogue.BUSINESS,
}
# Values a user would pick; "All" of a multi-value variable is `.*`.
VARIABLES = {
    "cluster": ".*",
    "service": "checkout",
    "namespace": "shop",
    "route": ".*",
    "node": ".*",
    "job": ".*",
    "slo": "checkout-availability",
    "__rate_interval": "1m",
    "__range": "1h",
}
SIZE_BUDGET = 512 * 1024  # half the 1 MiB a Helm release Secret can hold


# --- fixtures -----------------------------------------------------------------


@cache
def _fixture_dir() -> Path:
    path = Path(tempfile.mkdtemp(prefix="obs-dashboards-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


@cache
def fixture_profile(tier: str) -> Path:
    """The fixture profile extending one tier."""
    data = yaml.safe_load(FIXTURE.read_text())
    data.update(name=f"dashboards-{tier}", extends=tier)
    path = _fixture_dir() / f"dashboards-{tier}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def fixture_stack(tier: str) -> Stack:
    return model.build(load(fixture_profile(tier)))


@cache
def fixture_values(tier: str) -> Path:
    out = _fixture_dir() / "values"
    generate.write(generate.plan_profile(fixture_profile(tier), out))
    return out / f"dashboards-{tier}.yaml"


@cache
def fixture_objects(tier: str) -> tuple[dict[str, Any], ...]:
    return tuple(split(helm_template(values=(fixture_values(tier),))))


def without_probes(stack: Stack) -> Stack:
    return dataclasses.replace(stack, services=tuple(dataclasses.replace(s, probes=()) for s in stack.services))


def stacks() -> Iterator[tuple[str, Stack]]:
    for tier in TIERS:
        yield f"{tier}", model.build(load_builtin(tier))
        yield f"{tier}+fixture", fixture_stack(tier)
    # Services and dependencies but nothing to probe: no blackbox series at all.
    yield "intermediate+fixture-no-probes", without_probes(fixture_stack("intermediate"))


def slo_engine_wired() -> bool:
    return "slo:objective:ratio" in sources.recorded(fixture_stack("basic"))


needs_slo_engine = pytest.mark.xfail(
    not slo_engine_wired(),
    reason="the SLO engine's rule groups are not in rules.rule_files yet (SLO issue)",
    strict=True,
)


# --- checkers (each returns problems, so they can be shown to fail) -----------------


def selectors(expr: str) -> list[tuple[str | None, dict[str, tuple[str, str]]]]:
    """(metric name, {label: (op, value)}) of every vector selector in expr."""
    found: list[tuple[str | None, dict[str, tuple[str, str]]]] = []

    def visit(node: Any) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            matchers = {m.name: (str(m.op).rsplit(".", 1)[-1], m.value) for m in node.matchers.matchers}
            name = node.name or (matchers.get("__name__", ("", None))[1] if matchers.get("__name__", ("",))[0] == "Equal" else None)
            found.append((name, matchers))
        return True

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found


def prometheus_exprs(document: dict[str, Any], variables: dict[str, str], cluster_variable: bool = True) -> list[tuple[str, str]]:
    """(where, interpolated PromQL) of every panel query and variable selector."""
    out = []
    for q in dashboards.queries(document):
        if q.datasource == "prometheus":
            out.append((f"{q.dashboard} / {q.panel}", dashboards.interpolate(q.expr, variables)))
    for name, selector in dashboards.variable_selectors(document):
        if cluster_variable or name != "cluster":
            out.append((f"{document['uid']} / variable {name}", dashboards.interpolate(selector, variables)))
    return out


def unproduced(document: dict[str, Any], produced: dict[str, str]) -> list[str]:
    problems = []
    for where, expr in prometheus_exprs(document, VARIABLES):
        for name, _ in selectors(expr):
            if name is None:
                problems.append(f"{where}: a selector without a literal metric name")
            elif name not in produced:
                problems.append(f"{where}: {name} is emitted by nothing in this stack")
    return problems


def without_cluster(document: dict[str, Any]) -> list[str]:
    problems = []
    # The cluster variable lists the clusters, so it alone selects across them.
    for where, expr in prometheus_exprs(document, {**VARIABLES, "cluster": "$cluster"}, cluster_variable=False):
        for name, matchers in selectors(expr):
            if matchers.get("cluster") != ("Re", "$cluster"):
                problems.append(f'{where}: {name} has no cluster=~"$cluster" matcher')
    return problems


def panel_problems(document: dict[str, Any]) -> list[str]:
    """Every panel has a unit and a datasource chosen through a datasource variable."""
    templating = {v["name"]: v for v in document["templating"]["list"]}
    problems = []
    for panel in dashboards.panels(document):
        title = f"{document['uid']} / {panel.get('title')}"
        if panel["type"] == "text":
            if not panel["options"]["content"].strip():
                problems.append(f"{title}: an empty text panel")
            continue
        if not panel.get("fieldConfig", {}).get("defaults", {}).get("unit"):
            problems.append(f"{title}: no unit")
        for ref in [panel.get("datasource")] + [t.get("datasource") for t in panel.get("targets", [])]:
            match = re.fullmatch(r"\$\{(\w+)\}", (ref or {}).get("uid", ""))
            variable = templating.get(match.group(1)) if match else None
            if not variable or variable["type"] != "datasource" or variable["query"] != ref["type"]:
                problems.append(f"{title}: datasource {ref} is not chosen through a datasource variable")
            elif variable["current"]["value"] != sources.DATASOURCES[ref["type"]].uid:
                problems.append(f"{title}: datasource variable does not default to the fixed uid")
        if not panel.get("targets"):
            problems.append(f"{title}: no query")
    return problems


def link_targets(document: dict[str, Any]) -> list[str]:
    urls = [link.get("url", "") for link in document.get("links", [])]
    for panel in dashboards.panels(document):
        urls += [link["url"] for link in panel.get("fieldConfig", {}).get("defaults", {}).get("links", [])]
    return [uid for url in urls if (uid := render.target_uid(url))]


# --- structure and conventions --------------------------------------------------


@pytest.mark.parametrize("name,stack", list(stacks()), ids=lambda v: v if isinstance(v, str) else "")
def test_dashboards_follow_the_conventions(name, stack):
    built = dashboards.build(stack)
    uids = [b.uid for b in built]
    assert len(uids) == len(set(uids)), f"duplicate uids: {uids}"
    runbook_pages = {runbook_uid(name) for name in known_alerts()}
    assert set(uids) <= KNOWN_UIDS | runbook_pages, "uids are stable: a new dashboard gets its constant in catalogue.py"
    assert runbook_pages & set(uids), "every stack has alerts, so runbook pages"
    problems = []
    for b in built:
        doc = json.loads(b.text)
        assert doc == b.document
        assert doc["uid"] == b.uid and doc["title"] == b.title and doc["editable"] is False
        assert ("obs" if b.folder != runbook_pages_folder else "obs-runbook") in doc["tags"] and doc["refresh"] in render.REFRESH_INTERVALS
        ids = [p["id"] for p in doc["panels"]]
        assert len(ids) == len(set(ids)), f"{b.uid}: duplicate panel ids"
        names = [v["name"] for v in doc["templating"]["list"]]
        assert names[0] == "datasource" and "cluster" in names, f"{b.uid}: {names}"
        problems += panel_problems(doc) + without_cluster(doc)
        problems += [f"{b.uid}: links to {uid}, not generated" for uid in link_targets(doc) if uid not in uids]
    assert problems == []


def test_refresh_follows_the_audience():
    stack = fixture_stack("enterprise")
    refresh = {b.uid: b.document["refresh"] for b in dashboards.build(stack)}
    assert refresh[catalogue.RED] == "10s"
    assert refresh[catalogue.USE] == "15s"
    assert refresh[catalogue.BUSINESS] == "5m"
    if catalogue.SLO in refresh:
        assert refresh[catalogue.SLO] == "1m"


def test_every_query_parses_with_promtool(tmp_path):
    groups = []
    for name, stack in stacks():
        for b in dashboards.build(stack):
            exprs = prometheus_exprs(b.document, VARIABLES)
            groups.append({"name": f"{name}/{b.uid}", "rules": [{"record": "obs:panel_check", "expr": e} for _, e in exprs]})
    assert sum(len(g["rules"]) for g in groups) > 500
    path = tmp_path / "panels.yaml"
    path.write_text(yaml.safe_dump({"groups": groups}))
    proc = subprocess.run([tool("promtool"), "check", "rules", str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("name,stack", list(stacks()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_queried_metric_is_produced_in_the_tier(name, stack):
    produced = sources.produced(stack)
    problems = [p for b in dashboards.build(stack) for p in unproduced(b.document, produced)]
    assert problems == []


def test_checks_catch_broken_panels():
    """The checkers above report what they exist to find."""
    stack = fixture_stack("basic")
    (doc,) = [b.document for b in dashboards.build(stack) if b.uid == catalogue.STACK_HEALTH]
    doc = json.loads(json.dumps(doc))
    panel = next(dashboards.panels(doc))
    panel["targets"][0]["expr"] = 'sum(rate(node_cpu_seconds_total{mode="idle"}[5m]))'  # no node-exporter in basic
    del panel["fieldConfig"]["defaults"]["unit"]
    panel["datasource"] = {"type": "prometheus", "uid": "prometheus"}
    problems = unproduced(doc, sources.produced(stack))
    assert problems == [f"{catalogue.STACK_HEALTH} / Targets up: node_cpu_seconds_total is emitted by nothing in this stack"]
    assert any("no cluster" in p for p in without_cluster(doc))
    assert {p.split(": ", 1)[1] for p in panel_problems(doc)} == {
        "no unit",
        "datasource {'type': 'prometheus', 'uid': 'prometheus'} is not chosen through a datasource variable",
    }


# --- gating ---------------------------------------------------------------------


def _titles(stack: Stack, uid: str) -> set[str]:
    (doc,) = [b.document for b in dashboards.build(stack) if b.uid == uid]
    return {p["title"] for p in dashboards.panels(doc)}


def test_dashboards_per_tier():
    expected = {
        # The control-plane dashboard always has its kubelet-certificate row.
        "basic": {catalogue.STACK_HEALTH, catalogue.RED, catalogue.USE, catalogue.ALERTS, catalogue.CONTROL_PLANE},
        "intermediate": {catalogue.DEPENDENCIES, catalogue.RUNTIME, catalogue.BUSINESS},
        "advanced": set(),
        "enterprise": {catalogue.SECURITY},
    }
    wanted: set[str] = set()
    for tier in TIERS:
        wanted |= expected[tier]
        got = {b.uid for b in dashboards.build(fixture_stack(tier)) if b.folder != runbook_pages_folder} - {catalogue.SLO}
        assert got == wanted, tier
    # Without services there is no RED, dependency or business dashboard.
    assert {b.uid for b in dashboards.build(model.build(load_builtin("enterprise"))) if b.folder != runbook_pages_folder} == {
        catalogue.STACK_HEALTH,
        catalogue.USE,
        catalogue.CONTROL_PLANE,
        catalogue.RUNTIME,
        catalogue.ALERTS,
        catalogue.SECURITY,
    }


@needs_slo_engine
def test_slo_dashboard_shows_the_recorded_windows():
    stack = fixture_stack("enterprise")
    windows = catalogue.slo_windows(stack)
    assert {"5m", "1h"} <= set(windows)
    (doc,) = [b.document for b in dashboards.build(stack) if b.uid == catalogue.SLO]
    (burn,) = [p for p in dashboards.panels(doc) if p["title"] == "Burn rate by window"]
    assert [t["legendFormat"] for t in burn["targets"]] == list(windows)


def test_panels_are_gated_by_tier():
    basic, intermediate, advanced = (fixture_stack(t) for t in ("basic", "intermediate", "advanced"))
    assert "Requests by route" not in _titles(basic, catalogue.RED)
    assert "Requests by route" in _titles(intermediate, catalogue.RED)
    assert "CPU utilisation" not in _titles(basic, catalogue.USE)  # no node-exporter in basic
    assert "CPU utilisation" in _titles(intermediate, catalogue.USE)
    assert "CPU throttling (top 20)" not in _titles(intermediate, catalogue.USE)
    assert "CPU throttling (top 20)" in _titles(advanced, catalogue.USE)
    assert "GC pause (mean)" not in _titles(intermediate, catalogue.RUNTIME)
    assert "GC pause (mean)" in _titles(advanced, catalogue.RUNTIME)
    assert "Health probes passing" in _titles(basic, catalogue.RED)
    # A profile without health paths has no probe panels: nothing would feed them.
    bare = without_probes(basic)
    assert "Health probes passing" not in _titles(bare, catalogue.RED)


def test_logs_and_traces_panels_wait_for_their_datasources():
    # basic runs no log or trace store: no such panels; enterprise runs Loki and Tempo.
    without = _titles(fixture_stack("basic"), catalogue.RED)
    assert "Error logs" not in without and "Slow traces" not in without
    stack = fixture_stack("enterprise")
    (doc,) = [b.document for b in dashboards.build(stack) if b.uid == catalogue.RED]
    variables = {v["name"]: v for v in doc["templating"]["list"] if v["type"] == "datasource"}
    assert {name: v["query"] for name, v in variables.items()} == {
        "datasource": "prometheus",
        "logs_datasource": "loki",
        "traces_datasource": "tempo",
    }
    (logs,) = [p for p in dashboards.panels(doc) if p["title"] == "Error logs"]
    assert logs["type"] == "logs" and logs["datasource"] == {"type": "loki", "uid": "${logs_datasource}"}
    assert panel_problems(doc) == []


def test_business_kpis_follow_the_profile():
    stack = fixture_stack("intermediate")
    orders = catalogue.kpi_expr(stack, "shop", "checkout", "orders")
    assert orders == ('sum by (payment_method) (rate(shop_orders_total{cluster=~"$cluster", job="checkout"}[$__rate_interval])) * 60')
    basket = catalogue.kpi_expr(stack, "shop", "checkout", "basket")
    assert basket == 'avg (shop_basket_value_euros{cluster=~"$cluster", job="checkout"})'
    (doc,) = [b.document for b in dashboards.build(stack) if b.uid == catalogue.BUSINESS]
    units = {p["title"]: p["fieldConfig"]["defaults"]["unit"] for p in dashboards.panels(doc)}
    assert units == {
        "Orders": "short",
        "Orders per minute over time": "short",
        "Basket value": "currencyEUR",
        "Basket value over time": "currencyEUR",
    }


def test_business_profile_syntax_is_validated(tmp_path):
    from obsgen.errors import ValidationErrors

    data = yaml.safe_load(FIXTURE.read_text())
    data["services"][0]["business"][1]["per"] = "minute"  # a gauge has no rate
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ValidationErrors, match=r"services\[0\]\.business\[1\]"):
        load(path)


# --- alerts link their dashboard ---------------------------------------------------


@pytest.mark.parametrize("tier", TIERS)
def test_alerts_link_generated_dashboards(tier):
    stack = fixture_stack(tier)
    uids = {b.uid for b in dashboards.build(stack)}
    alerts = [(g["name"], r) for f in rules.rule_files(stack) for g in f["groups"] for r in g["rules"] if "alert" in r]
    # Every catalogue alert links a dashboard; SLO alerts may too (the SLO engine's own choice).
    assert all("dashboard_url" in r["annotations"] for group, r in alerts if group.startswith("obs-alerts-"))
    annotations = {(r["alert"], r["labels"].get("service", "")): r["annotations"] for _, r in alerts if "dashboard_url" in r["annotations"]}
    assert annotations
    for (alert, service), a in annotations.items():
        url = a["dashboard_url"]
        assert url.startswith("/d/"), f"{alert}: without dashboardBaseUrl the link is relative: {url}"
        assert render.target_uid(url) in uids, f"{alert} links {url}, not generated in {tier}"
        if service:
            assert f"var-service={service}" in url or render.target_uid(url) != catalogue.RED
    assert annotations[("ServiceErrorRatioHigh", "checkout")]["dashboard_url"] == "/d/obs-red?var-service=checkout&var-namespace=shop"


def test_dashboard_base_url_makes_links_absolute(tmp_path):
    data = yaml.safe_load(fixture_profile("basic").read_text())
    data["alerts"] = {"dashboardBaseUrl": "https://grafana.example.com/"}
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(data))
    stack = model.build(load(path))
    urls = {r["annotations"].get("dashboard_url") for f in rules.rule_files(stack) for g in f["groups"] for r in g["rules"] if "alert" in r}
    assert "https://grafana.example.com/d/obs-stack-health" in urls


# --- delivery ------------------------------------------------------------------------


def _dashboard_configmaps(objects) -> list[dict[str, Any]]:
    return [o for o in find(objects, "ConfigMap") if "grafana_dashboard" in o["metadata"].get("labels", {})]


def _sidecar_env(objects) -> dict[str, str]:
    (deploy,) = find(objects, "Deployment", "obs-grafana")
    (sidecar,) = [c for c in deploy["spec"]["template"]["spec"]["containers"] if c["name"] == "dashboard-sidecar"]
    return {e["name"]: e.get("value") for e in sidecar["env"]}


def _release_size(values: Path, manifest: str) -> int:
    """Bytes of the Secret Helm stores the release in: base64(gzip(JSON)), the
    chart's files base64-encoded inside it as Helm does."""
    files = {str(p.relative_to(CHART)): base64.b64encode(p.read_bytes()).decode() for p in sorted(CHART.rglob("*")) if p.is_file()}
    release = {"name": "obs", "chart": files, "config": yaml.safe_load(values.read_text()), "manifest": manifest}
    return len(base64.b64encode(gzip.compress(json.dumps(release).encode())))


@pytest.mark.parametrize("tier", TIERS)
def test_each_dashboard_ships_as_a_configmap_the_sidecar_loads(tier):
    for objects, stack in ((render_tier(tier), model.build(load_builtin(tier))), (fixture_objects(tier), fixture_stack(tier))):
        env = _sidecar_env(objects)
        configmaps = _dashboard_configmaps(objects)
        built = {b.uid: b for b in dashboards.build(stack)}
        assert len(configmaps) == len(built) > 0
        for cm in configmaps:
            assert cm["metadata"]["labels"][env["LABEL"]] == env["LABEL_VALUE"]
            ((key, text),) = cm["data"].items()
            uid = key.removesuffix(".json")
            assert json.loads(text) == built[uid].document
            assert cm["metadata"]["annotations"] == {env["FOLDER_ANNOTATION"]: built[uid].folder}
            assert len(json.dumps(cm)) < 256 * 1024, f"{cm['metadata']['name']} is large"


@pytest.mark.parametrize("tier", TIERS)
def test_release_stays_well_under_the_helm_limit(tier):
    for values in (ROOT / "values" / f"{tier}.yaml", fixture_values(tier)):
        manifest = helm_template(values=(values,))
        assert len(manifest) < 1024 * 1024
        assert _release_size(values, manifest) < SIZE_BUDGET, values.name


def test_dashboards_can_be_switched_off():
    objects = split(helm_template(values=(ROOT / "values" / "advanced.yaml",), sets=("dashboards.enabled=false",)))
    assert _dashboard_configmaps(objects) == []
