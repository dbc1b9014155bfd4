"""Placement and extension knobs (generator/obsgen/workloads.py) reach every pod.

One overlay sets every knob of every workload to values that name the
workload; each tier is rendered with it, and every pod the render holds must
carry exactly one workload's knobs, all of them, where the helper
(obs-lib.podTemplate) promises. Which object is which workload is read from
the render (the podLabels the overlay sets), not from a list kept here.
"""

from __future__ import annotations

import copy
import textwrap
from typing import Any

import pytest
import yaml

from obsgen import workloads
from obsgen.images import IMAGES
from tests.support import engines, k8s
from tests.support.cli import obsgen, refused_naming
from tests.support.render import ROOT, TIERS, RenderError, configmap_file, helm_template, split
from tests.support.tools import HELMS

MARK = "obs.test/workload"
DIGEST = "sha256:" + "ab" * 32
GLOBAL_TOLERATION = {"key": "dedicated", "operator": "Equal", "value": "observability", "effect": "NoSchedule"}


def _knobs(name: str) -> dict[str, Any]:
    """Every knob of one workload, set to something that names it."""
    return {
        "nodeSelector": {"obs.test/pool": name.lower()},
        "tolerations": [{"key": f"only-{name.lower()}", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30}],
        "affinity": {
            "nodeAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 1,
                        "preference": {"matchExpressions": [{"key": "obs.test/zone", "operator": "In", "values": [name]}]},
                    }
                ]
            }
        },
        "topologySpreadConstraints": [{"maxSkew": 2, "topologyKey": "obs.test/rack", "whenUnsatisfiable": "ScheduleAnyway"}],
        "priorityClassName": f"prio-{name.lower()}",
        "podAnnotations": {"obs.test/annotated": name},
        "podLabels": {MARK: name},
        "extraEnv": [{"name": "OBS_TEST_WORKLOAD", "value": name}],
        "extraEnvFrom": [{"secretRef": {"name": f"env-{name.lower()}"}}],
        "extraVolumes": [{"name": "obs-test-extra", "emptyDir": {}}],
        "extraVolumeMounts": [{"name": "obs-test-extra", "mountPath": "/obs-test"}],
        "extraContainers": [{"name": "obs-test-sidecar", "image": "registry.example.com/sidecar:1.0"}],
        "extraInitContainers": [{"name": "obs-test-init", "image": "registry.example.com/init:1.0"}],
        "serviceAccount": {"annotations": {"obs.test/role": f"arn:aws:iam::1:role/{name}"}},
    }


def _set(document: dict[str, Any], path: tuple[str, ...], value: dict[str, Any]) -> None:
    node = document
    for key in path:
        node = node.setdefault(key, {})
    node.update(copy.deepcopy(value))


def overlay() -> dict[str, Any]:
    document: dict[str, Any] = {
        "global": {
            "commonLabels": {"obs.test/cost-centre": "platform"},
            "nodeSelector": {"obs.test/cluster-pool": "observability"},
            "tolerations": [GLOBAL_TOLERATION],
            "priorityClassName": "prio-global",
        }
    }
    for w in workloads.WORKLOADS:
        _set(document, w.path, _knobs(w.name))
        _set(document, (w.path[0], "image"), {"digest": DIGEST})
    return document


@pytest.fixture(scope="module")
def overlay_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("knobs") / "knobs.yaml"
    path.write_text(yaml.safe_dump(overlay()))
    return path


_renders: dict[str, list[dict[str, Any]]] = {}


def _render(tier: str, overlay_file) -> list[dict[str, Any]]:
    if tier not in _renders:
        _renders[tier] = split(helm_template(values=(ROOT / "values" / f"{tier}.yaml", overlay_file)))
    return _renders[tier]


def _pods(objects) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] in ("Deployment", "StatefulSet", "DaemonSet")]


@pytest.mark.parametrize("tier", TIERS)
def test_every_pod_takes_exactly_one_workloads_knobs(tier, overlay_file):
    seen: dict[str, str] = {}
    for obj in _pods(_render(tier, overlay_file)):
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        name = obj["spec"]["template"]["metadata"]["labels"].get(MARK)
        assert name in workloads.BY_NAME, f"{where}: no workload's knobs reach this pod"
        assert name not in seen, f"{where} and {seen.get(name)} both take workloads.{name}"
        seen[name] = where
    assert seen, "no workload rendered"


def _check_pod(obj: dict[str, Any], objects: list[dict[str, Any]]) -> None:
    name = obj["spec"]["template"]["metadata"]["labels"][MARK]
    want = _knobs(name)
    meta = obj["spec"]["template"]["metadata"]
    spec = obj["spec"]["template"]["spec"]
    # Labels: the chart's selector survives, the common and pod labels join it.
    assert obj["spec"]["selector"]["matchLabels"].items() <= meta["labels"].items()
    assert meta["labels"]["obs.test/cost-centre"] == "platform"
    assert meta["annotations"]["obs.test/annotated"] == name
    # Placement.
    assert spec["nodeSelector"] == {
        "kubernetes.io/os": "linux",
        "obs.test/cluster-pool": "observability",
        **want["nodeSelector"],
    }
    assert GLOBAL_TOLERATION in spec["tolerations"]
    assert spec["tolerations"][-1] == want["tolerations"][0]
    assert spec["affinity"] == want["affinity"]
    (spread,) = spec["topologySpreadConstraints"]
    # Without a labelSelector of its own, the constraint spreads this workload's pods.
    assert spread == {**want["topologySpreadConstraints"][0], "labelSelector": {"matchLabels": obj["spec"]["selector"]["matchLabels"]}}
    assert spec["priorityClassName"] == want["priorityClassName"]
    # Extension: the main container gets env, envFrom and mounts; the pod the rest.
    main = spec["containers"][0]
    assert {"name": "OBS_TEST_WORKLOAD", "value": name} in main["env"]
    assert main["envFrom"][-1] == want["extraEnvFrom"][0]
    assert main["volumeMounts"][-1] == want["extraVolumeMounts"][0]
    assert spec["volumes"][-1] == want["extraVolumes"][0]
    assert spec["containers"][-1] == want["extraContainers"][0]
    assert spec["initContainers"][-1] == want["extraInitContainers"][0]
    for other in spec["containers"][1:-1]:
        assert "OBS_TEST_WORKLOAD" not in {e["name"] for e in other.get("env", [])}, "extraEnv reached a sidecar"
    # Image by digest, tag kept.
    image = IMAGES[workloads.BY_NAME[name].image]
    assert main["image"].endswith(f"{image.repository}:{image.tag}@{DIGEST}"), main["image"]
    # The pod's ServiceAccount exists and carries the annotation.
    (account,) = [o for o in objects if o["kind"] == "ServiceAccount" and o["metadata"]["name"] == spec["serviceAccountName"]]
    assert account["metadata"]["annotations"] == want["serviceAccount"]["annotations"]


@pytest.mark.parametrize("tier", TIERS)
def test_every_knob_lands_in_its_pod(tier, overlay_file):
    objects = _render(tier, overlay_file)
    for obj in _pods(objects):
        try:
            _check_pod(obj, objects)
        except AssertionError as exc:
            raise AssertionError(f"{tier}: {obj['kind']}/{obj['metadata']['name']}: {exc}") from exc


@pytest.mark.parametrize("tier", TIERS)
def test_common_labels_reach_every_object(tier, overlay_file):
    missing = [
        f"{o['kind']}/{o['metadata']['name']}"
        for o in _render(tier, overlay_file)
        if o["metadata"].get("labels", {}).get("obs.test/cost-centre") != "platform"
    ]
    assert missing == []


@pytest.mark.parametrize("version", k8s.K8S_VERSIONS)
@pytest.mark.parametrize("tier", TIERS)
def test_knob_renders_are_strictly_valid(tier, version, overlay_file):
    assert k8s.problems(_render(tier, overlay_file), version) == []


def test_an_env_var_of_the_chart_is_replaced_not_repeated(tmp_path):
    path = tmp_path / "env.yaml"
    path.write_text(yaml.safe_dump({"grafana": {"extraEnv": [{"name": "GF_LOG_MODE", "value": "console file"}]}}))
    objects = split(helm_template(values=(ROOT / "values" / "basic.yaml", path)))
    (grafana,) = [o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "obs-grafana"]
    env = grafana["spec"]["template"]["spec"]["containers"][0]["env"]
    assert [e for e in env if e["name"] == "GF_LOG_MODE"] == [{"name": "GF_LOG_MODE", "value": "console file"}]


# --- what the chart refuses --------------------------------------------------

REFUSED = [
    pytest.param(
        {"prometheus": {"extraVolumes": [{"name": "config", "emptyDir": {}}]}}, "prometheus.extraVolumes[0].name", id="volume-clash"
    ),
    pytest.param(
        {"otelCollector": {"gateway": {"extraContainers": [{"name": "otel-collector", "image": "x:1"}]}}},
        "otelCollector.gateway.extraContainers[0].name",
        id="container-clash",
    ),
    pytest.param(
        {"prometheus": {"additionalScrapeConfigs": [{"job_name": "kubelet", "static_configs": [{"targets": ["a:1"]}]}]}},
        "prometheus.additionalScrapeConfigs[0].job_name",
        id="scrape-job-clash",
    ),
]


@pytest.mark.parametrize("helm", HELMS)
@pytest.mark.parametrize(("values", "field"), REFUSED)
def test_clashes_fail_the_render_naming_the_field(helm, values, field, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(values))
    with pytest.raises(RenderError) as err:
        helm_template(helm, values=(ROOT / "values" / "enterprise.yaml", path))
    assert field in str(err.value) and "pick another name" in str(err.value)


@pytest.mark.parametrize("helm", HELMS)
@pytest.mark.parametrize(
    "values",
    [
        pytest.param({"prometheus": {"nodeSelectr": {"a": "b"}}}, id="typo"),
        pytest.param({"loki": {"scalable": {"read": {"tolerations": [{"operater": "Exists"}]}}}}, id="toleration-typo"),
        pytest.param({"grafana": {"image": {"digest": "sha256:short"}}}, id="bad-digest"),
        pytest.param({"global": {"commonLabels": {"team": "a b"}}}, id="bad-label-value"),
        pytest.param({"extraObjects": [{"kind": "ConfigMap", "metadata": {"name": "x"}}]}, id="object-without-apiversion"),
    ],
)
def test_the_schema_stays_strict_about_knobs(helm, values, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(values))
    with pytest.raises(RenderError) as err:
        helm_template(helm, values=(path,))
    assert "schema" in str(err.value)


def test_additional_scrape_configs_and_extra_objects_render_as_data(tmp_path):
    extra = {
        "prometheus": {
            "additionalScrapeConfigs": [
                {"job_name": "legacy-vms", "static_configs": [{"targets": ["vm-1.example.com:9100"]}], "scrape_interval": "1m"}
            ]
        },
        "extraObjects": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "team-notes"}, "data": {"t": "{{ .Status }}"}}],
    }
    path = tmp_path / "extra.yaml"
    path.write_text(yaml.safe_dump(extra))
    objects = split(helm_template(values=(ROOT / "values" / "enterprise.yaml", path)))
    config = yaml.safe_load(configmap_file(objects, "obs-prometheus-config", "prometheus.yml"))
    assert config["scrape_configs"][-1] == extra["prometheus"]["additionalScrapeConfigs"][0]
    proc = engines.promtool_config(objects, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (notes,) = [o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "team-notes"]
    assert notes == extra["extraObjects"][0]


# --- the same knobs in a profile ----------------------------------------------

PROFILE = """\
name: placed
extends: enterprise
commonLabels: {cost-centre: platform}
nodeSelector: {pool: observability}
tolerations: [{key: dedicated, operator: Equal, value: observability, effect: NoSchedule}]
priorityClassName: observability
images:
  loki: {digest: "sha256:%s"}
workloads:
  lokiWrite:
    serviceAccount: {annotations: {eks.amazonaws.com/role-arn: "arn:aws:iam::1:role/loki"}}
    nodeSelector: {disk: ssd}
  otelAgent:
    priorityClassName: system-node-critical
additionalScrapeConfigs:
  - job_name: legacy-vms
    static_configs: [{targets: ["vm-1.example.com:9100"]}]
extraObjects:
  - apiVersion: scheduling.k8s.io/v1
    kind: PriorityClass
    metadata: {name: observability}
    value: 100000
""" % ("cd" * 32)


def test_a_profile_places_and_extends_workloads(tmp_path):
    source = tmp_path / "placed.yaml"
    source.write_text(PROFILE)
    proc = obsgen("generate", str(source), "--out-dir", str(tmp_path / "out"), timeout=120)
    assert proc.returncode == 0, proc.stderr
    values = tmp_path / "out" / "placed.yaml"
    objects = split(helm_template(values=(values,)))
    pods = {o["metadata"]["name"]: o["spec"]["template"] for o in _pods(objects)}
    write = pods["obs-loki-write"]["spec"]
    assert write["nodeSelector"] == {"kubernetes.io/os": "linux", "pool": "observability", "disk": "ssd"}
    assert write["containers"][0]["image"].endswith("@sha256:" + "cd" * 32)
    assert pods["obs-otel-collector-agent"]["spec"]["priorityClassName"] == "system-node-critical"
    assert pods["obs-prometheus"]["spec"]["priorityClassName"] == "observability"
    assert all(p["spec"]["tolerations"][-1]["key"] == "dedicated" for p in pods.values())
    assert all(p["metadata"]["labels"]["cost-centre"] == "platform" for p in pods.values())
    (account,) = [o for o in objects if o["kind"] == "ServiceAccount" and o["metadata"]["name"] == write["serviceAccountName"]]
    assert account["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/loki"}
    assert next(o for o in objects if o["kind"] == "PriorityClass")["value"] == 100000
    config = yaml.safe_load(configmap_file(objects, "obs-prometheus-config", "prometheus.yml"))
    assert config["scrape_configs"][-1]["job_name"] == "legacy-vms"
    for version in k8s.K8S_VERSIONS:
        assert k8s.problems(objects, version) == []


PROFILE_REFUSALS = [
    pytest.param("workloads:\n  prometheus:\n    nodeSelectr: {a: b}\n", "workloads.prometheus", id="knob-typo"),
    pytest.param("workloads:\n  promethus:\n    nodeSelector: {a: b}\n", "workloads", id="workload-typo"),
    pytest.param(
        "additionalScrapeConfigs:\n  - {job_name: kubelet, static_configs: [{targets: ['a:1']}]}\n",
        "additionalScrapeConfigs[0].job_name",
        id="scrape-job-clash",
    ),
    pytest.param(
        "workloads:\n  tempo:\n    extraVolumes: [{name: a, emptyDir: {}}, {name: a, emptyDir: {}}]\n",
        "workloads.tempo.extraVolumes[1].name",
        id="volume-twice",
    ),
    pytest.param("images:\n  grafana: {digest: latest}\n", "images.grafana.digest", id="bad-digest"),
]


@pytest.mark.parametrize(("extra", "field"), PROFILE_REFUSALS)
def test_a_profile_with_bad_knobs_is_refused_in_one_line(extra, field, tmp_path):
    source = tmp_path / "bad.yaml"
    source.write_text("name: bad\nextends: basic\n" + textwrap.dedent(extra))
    proc = obsgen("validate", str(source), timeout=120)
    assert refused_naming(proc, field), proc.stdout + proc.stderr
