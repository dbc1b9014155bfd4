"""Every object fits Kubernetes' limits with a margin, and the generator refuses
a profile before any object or the Helm release record would pass its budget.

The full 300-service measurement is benchmarks/scale.py; here a 100-service
organisation (per-service rule files past the part size; the SLO rules are
shared and stay small) is generated and rendered, and the guard is shown to
fire with lowered budgets.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
import yaml

from obsgen import generate, limits, model
from obsgen.errors import ValidationErrors
from obsgen.profile import load
from obsgen.rules import slo
from tests.support.render import CHART, find, helm_template, split
from tests.support.scale import release_record_bytes, write_profile

pytestmark = pytest.mark.slow

SERVICES = 100


@cache
def _generated(tmp: str) -> tuple[Path, str]:
    profile = write_profile(Path(tmp) / f"org{SERVICES}.yaml", SERVICES)
    (out,) = generate.plan_profile(profile, Path(tmp) / "out")
    generate.write([out])
    return out.path, out.text


@pytest.fixture(scope="module")
def org(tmp_path_factory) -> tuple[Path, str]:
    return _generated(str(tmp_path_factory.mktemp("limits")))


@pytest.fixture(scope="module")
def rendered(org) -> tuple[str, list]:
    manifest = helm_template(values=(org[0],))
    return manifest, split(manifest)


def test_rule_files_are_cut_into_parts_and_all_mounted(org, rendered):
    document = yaml.safe_load(org[1])
    names = [f["name"] for f in document["rules"]["files"]]
    assert any(re.search(r"-\d+\.yaml$", n) for n in names), f"no rule file was cut into parts: {names}"
    assert len(names) == len(set(names))
    _, objects = rendered
    (prometheus,) = find(objects, "StatefulSet", "obs-prometheus")
    (volume,) = [v for v in prometheus["spec"]["template"]["spec"]["volumes"] if v["name"] == "rules"]
    mounted = {s["configMap"]["name"] for s in volume["projected"]["sources"]}
    rule_maps = {o["metadata"]["name"] for o in find(objects, "ConfigMap") if o["metadata"]["labels"].get("obs.dev/rule-file") == "true"}
    assert mounted == rule_maps and len(rule_maps) == len(names)
    # Every group reaches Prometheus exactly once.
    groups = [
        g["name"]
        for o in find(objects, "ConfigMap")
        if o["metadata"]["name"] in rule_maps
        for t in o["data"].values()
        for g in yaml.safe_load(t)["groups"]
    ]
    assert len(groups) == len(set(groups)) == sum(len(f["groups"]) for f in document["rules"]["files"])


def test_every_configmap_is_under_the_object_budget(rendered):
    _, objects = rendered
    sizes = {o["metadata"]["name"]: sum(len(v.encode()) for v in (o.get("data") or {}).values()) for o in find(objects, "ConfigMap")}
    over = {name: size for name, size in sizes.items() if size > limits.OBJECT_BUDGET}
    assert not over, over
    assert max(sizes.values()) > limits.RULE_FILE_TARGET // 2, "the profile is too small to test the cut"


def test_every_prometheus_rule_is_under_the_object_budget(org):
    manifest = helm_template(values=(org[0],), sets=("rules.format=operator",))
    rules = [o for o in split(manifest) if o["kind"] == "PrometheusRule"]
    assert len(rules) > 1
    over = {r["metadata"]["name"]: len(yaml.safe_dump(r)) for r in rules if len(yaml.safe_dump(r)) > limits.OBJECT_BUDGET}
    assert not over, over


def test_release_estimate_is_conservative(org, rendered):
    manifest, _ = rendered
    measured = release_record_bytes(CHART, org[1], manifest)
    estimate = limits.release_record_estimate(org[1].split("\n", 2)[2])
    assert estimate >= measured, (estimate, measured)
    assert estimate < measured * 1.25, "the estimate is so loose that it refuses profiles that fit"
    assert measured < limits.RELEASE_BUDGET


def test_guard_refuses_an_oversized_release(tmp_path, monkeypatch):
    profile = write_profile(tmp_path / "small.yaml", 3)
    monkeypatch.setattr(limits, "RELEASE_BUDGET", 64 * limits.KIB)
    with pytest.raises(ValidationErrors) as refused:
        generate.plan_profile(profile, tmp_path / "out")
    assert "(release): Helm would store this release in about" in str(refused.value)
    assert not (tmp_path / "out").exists()


def test_guard_refuses_a_rule_group_over_the_object_budget(tmp_path, monkeypatch):
    profile = write_profile(tmp_path / "small.yaml", 3)
    monkeypatch.setattr(limits, "OBJECT_BUDGET", 2 * limits.KIB)
    monkeypatch.setattr(limits, "RULE_FILE_TARGET", 1 * limits.KIB)
    with pytest.raises(ValidationErrors) as refused:
        generate.plan_profile(profile, tmp_path / "out")
    assert "one rule group of" in str(refused.value) and "over the 2 KiB budget" in str(refused.value)


def test_cut_keeps_small_files_whole_and_groups_whole():
    group = {"name": "g", "rules": [{"record": "a", "expr": "x" * 1000}]}
    assert limits.split_rule_file("slo.yaml", [group]) == [{"name": "slo.yaml", "groups": [group]}]
    many = [{"name": f"g{i}", "rules": [{"record": "a", "expr": "x" * 10_000}]} for i in range(100)]
    parts = limits.split_rule_file("slo.yaml", many)
    assert len(parts) > 1 and [g for p in parts for g in p["groups"]] == many
    assert [p["name"] for p in parts] == [f"slo-{k}.yaml" for k in range(1, len(parts) + 1)]


def test_slo_rules_grow_with_shapes_not_with_services(tmp_path):
    """Each SLO adds one slo:info series; every other SLO rule is shared (rules/slo/engine.py)."""
    counts = {}
    for n in (10, 300):
        stack = model.build(load(write_profile(tmp_path / f"org{n}.yaml", n)))
        *info, shared = slo.rule_groups(stack)
        counts[n] = (sum(len(g.rules) for g in info), len(shared.rules), len(slo.slos(stack)))
    (info10, shared10, slos10), (info300, shared300, slos300) = counts[10], counts[300]
    assert (info10, info300) == (slos10, slos300) and slos300 == 30 * slos10
    assert shared300 == shared10
