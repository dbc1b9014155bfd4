"""Logs and traces through the umbrella: every tier from intermediate renders
with logs, from advanced with traces, on both trace backends, strictly valid."""

from __future__ import annotations

import pytest
import yaml

from obsgen import generate
from tests.support import k8s
from tests.support.render import configmap_file, find, helm_template, render_tier, split


def _workloads(objects) -> set[str]:
    return {o["metadata"]["name"] for o in objects if o["kind"] in ("Deployment", "StatefulSet", "DaemonSet")}


@pytest.mark.parametrize(
    ("tier", "expected", "absent"),
    [
        ("basic", set(), {"obs-otel-collector-agent", "obs-loki", "obs-tempo"}),
        ("intermediate", {"obs-otel-collector-agent", "obs-otel-collector-gateway", "obs-loki"}, {"obs-tempo"}),
        ("advanced", {"obs-otel-collector-agent", "obs-loki", "obs-tempo"}, {"obs-jaeger"}),
        ("enterprise", {"obs-otel-collector-agent", "obs-loki-write", "obs-loki-read", "obs-loki-backend", "obs-tempo"}, set()),
    ],
)
def test_tiers_run_the_pipeline_they_promise(tier, expected, absent):
    names = _workloads(render_tier(tier))
    assert expected <= names and not names & absent, sorted(names)


def _datasources(objects) -> dict[str, dict]:
    text = configmap_file(objects, "obs-grafana-provisioning", "datasources.yaml")
    return {d["uid"]: d for d in yaml.safe_load(text)["datasources"]}


def test_grafana_links_the_three_signals_with_tempo():
    sources = _datasources(render_tier("advanced"))
    assert {"prometheus", "alertmanager", "loki", "tempo"} <= set(sources)
    assert sources["prometheus"]["jsonData"]["exemplarTraceIdDestinations"][0]["datasourceUid"] == "tempo"
    assert sources["loki"]["jsonData"]["derivedFields"][0]["datasourceUid"] == "tempo"
    assert sources["tempo"]["jsonData"]["tracesToLogsV2"]["datasourceUid"] == "loki"
    assert sources["tempo"]["jsonData"]["tracesToMetrics"]["datasourceUid"] == "prometheus"
    assert sources["tempo"]["jsonData"]["serviceMap"]["datasourceUid"] == "prometheus"
    assert "loki" not in _datasources(render_tier("basic"))


def test_jaeger_backend_renders_validates_and_links(tmp_path):
    profile = tmp_path / "jaeger.yaml"
    profile.write_text(yaml.safe_dump({"name": "jaeger", "extends": "advanced", "traces": {"backend": "jaeger"}}))
    generate.write(generate.plan_profile(profile, tmp_path))
    objects = split(helm_template(values=(tmp_path / "jaeger.yaml",)))
    names = _workloads(objects)
    assert "obs-jaeger" in names and "obs-tempo" not in names
    for version in k8s.K8S_VERSIONS:
        assert k8s.problems(objects, version) == []
    sources = _datasources(objects)
    assert "tempo" not in sources
    assert sources["prometheus"]["jsonData"]["exemplarTraceIdDestinations"][0]["datasourceUid"] == "jaeger"
    assert sources["loki"]["jsonData"]["derivedFields"][0]["datasourceUid"] == "jaeger"
    assert sources["jaeger"]["jsonData"]["tracesToLogsV2"]["datasourceUid"] == "loki"
    # The gateway sends traces to Jaeger's OTLP port.
    (gateway,) = [
        o for o in objects if o["metadata"]["name"] == "obs-otel-collector-gateway" and o["kind"] in ("Deployment", "StatefulSet")
    ]
    env = {e["name"]: e.get("value") for c in gateway["spec"]["template"]["spec"]["containers"] for e in c.get("env", [])}
    assert env["OBS_TRACES_OTLP"] == "obs-jaeger.monitoring.svc:4317"


def test_prometheus_opens_receivers_only_where_data_arrives():
    def args(tier):
        (sts,) = find(render_tier(tier), "StatefulSet", "obs-prometheus")
        return sts["spec"]["template"]["spec"]["containers"][0]["args"]

    assert not {a for a in args("basic") if "otlp" in a or "remote-write" in a or "exemplar" in a}
    assert "--web.enable-otlp-receiver" in args("intermediate") and "--web.enable-remote-write-receiver" not in args("intermediate")
    assert {"--web.enable-remote-write-receiver", "--enable-feature=exemplar-storage"} <= set(args("advanced"))


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (("loki.enabled=false",), "loki.enabled is false"),
        (("tempo.enabled=false",), "tempo.enabled is false"),
        (("jaeger.enabled=true",), "pick one trace backend"),
        (("prometheus.receivers.otlp=false",), "prometheus.receivers.otlp is false"),
    ],
)
def test_inconsistent_combinations_fail_readably(sets, message):
    from tests.support.render import ROOT, RenderError

    with pytest.raises(RenderError) as err:
        helm_template(values=(ROOT / "values" / "advanced.yaml",), sets=sets)
    assert message in str(err.value)
