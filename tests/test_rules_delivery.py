"""Rules reach Prometheus as mounted ConfigMaps, or as PrometheusRule objects
for a cluster that already runs prometheus-operator."""

from __future__ import annotations

import subprocess

import yaml

from obsgen import generate
from tests.support.render import find, helm_template, render_tier, split
from tests.support.tools import tool


def _rule_objects(objects, kind):
    return [o for o in find(objects, kind) if o["metadata"].get("labels", {}).get("obs.dev/rule-file") == "true"]


def test_configmaps_are_the_files_prometheus_mounts():
    objects = render_tier("advanced")
    maps = {cm["metadata"]["name"] for cm in _rule_objects(objects, "ConfigMap")}
    (sts,) = find(objects, "StatefulSet", "obs-prometheus")
    volume = next(v for v in sts["spec"]["template"]["spec"]["volumes"] if v["name"] == "rules")
    mounted = {s["configMap"]["name"] for s in volume["projected"]["sources"]}
    assert maps == mounted and len(maps) >= 4
    assert not find(objects, "PrometheusRule")


def test_operator_format_renders_prometheusrules_that_promtool_accepts(tmp_path):
    profile = tmp_path / "op.yaml"
    profile.write_text(
        yaml.safe_dump(
            {
                "name": "op",
                "extends": "enterprise",
                "rules": {"format": "operator"},
                "teams": [{"name": "platform"}],
                "services": [{"name": "checkout", "namespace": "shop", "team": "platform"}],
            }
        )
    )
    generate.write(generate.plan_profile(profile, tmp_path))
    objects = split(
        helm_template(values=(tmp_path / "op.yaml",), sets=("rules.extraLabels[0].name=release", "rules.extraLabels[0].value=kps"))
    )
    rules = _rule_objects(objects, "PrometheusRule")
    assert rules and not _rule_objects(objects, "ConfigMap")
    files = []
    for obj in rules:
        assert obj["apiVersion"] == "monitoring.coreos.com/v1"
        assert obj["metadata"]["labels"]["release"] == "kps"  # an operator's ruleSelector can pick them up
        path = tmp_path / f"{obj['metadata']['name']}.yaml"
        path.write_text(yaml.safe_dump(obj["spec"]))
        files.append(str(path))
    proc = subprocess.run([tool("promtool"), "check", "rules", *files], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # Our own Prometheus, if it still runs, mounts no rule ConfigMaps.
    (sts,) = find(objects, "StatefulSet", "obs-prometheus")
    volume = next(v for v in sts["spec"]["template"]["spec"]["volumes"] if v["name"] == "rules")
    assert volume["projected"]["sources"] == []
    # With our Prometheus switched off the rules still render.
    without = split(helm_template(values=(tmp_path / "op.yaml",), sets=("prometheus.enabled=false",)))
    assert len(_rule_objects(without, "PrometheusRule")) == len(rules)
