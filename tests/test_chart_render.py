"""The chart renders every tier on Helm 4 and Helm 3 into valid objects and
valid Prometheus, Alertmanager and blackbox configurations."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from tests.support import engines, k8s
from tests.support.render import (
    CHART,
    ROOT,
    TIERS,
    RenderError,
    configmap_file,
    helm_template,
    render_profile,
    render_tier,
    split,
)
from tests.support.tools import HELMS, tool


@pytest.mark.parametrize("tier", TIERS)
def test_helm_lint_strict(tier):
    for helm in HELMS:
        proc = subprocess.run(
            [tool(helm), "lint", "--strict", str(CHART), "-f", str(ROOT / "values" / f"{tier}.yaml")],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, f"{helm} lint {tier}:\n{proc.stdout}\n{proc.stderr}"


@pytest.mark.parametrize("tier", TIERS)
def test_helm3_and_helm4_render_the_same_objects(tier):
    # Nothing random is rendered (the Grafana admin password is made in the pod).
    assert render_tier(tier, "helm") == render_tier(tier, "helm3")


def test_default_values_are_the_basic_tier():
    assert split(helm_template()) == list(render_tier("basic"))


@pytest.mark.parametrize("version", k8s.K8S_VERSIONS)
@pytest.mark.parametrize("tier", TIERS)
def test_every_object_is_strictly_valid(tier, version):
    objects = list(render_tier(tier))
    assert objects, "nothing rendered"
    assert k8s.problems(objects, version) == []


@pytest.mark.parametrize("tier", TIERS)
def test_every_object_is_namespaced_or_cluster_scoped_on_purpose(tier):
    cluster_scoped = {"ClusterRole", "ClusterRoleBinding"}
    for o in render_tier(tier):
        if o["kind"] in cluster_scoped:
            assert "namespace" not in o["metadata"]
        else:
            assert o["metadata"].get("namespace") == "monitoring", f"{o['kind']}/{o['metadata']['name']}"


@pytest.mark.parametrize("tier", TIERS)
def test_prometheus_config_passes_promtool(tier, tmp_path):
    proc = engines.promtool_config(render_tier(tier), tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("tier", TIERS)
def test_rule_files_pass_promtool(tier, tmp_path):
    proc = engines.promtool_rules(render_tier(tier), tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("tier", TIERS)
def test_alertmanager_config_passes_amtool(tier, tmp_path):
    proc = engines.amtool_config(configmap_file(render_tier(tier), "obs-alertmanager-config", "alertmanager.yml"), tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_organisation_profile_renders_receivers_and_passes_amtool(acme_values, tmp_path):
    objects = split(helm_template(values=(acme_values,)))
    text = configmap_file(objects, "obs-alertmanager-config", "alertmanager.yml")
    config = yaml.safe_load(text)
    kinds = {key for r in config["receivers"] for key in r if key != "name"}
    assert kinds == {"slack_configs", "pagerduty_configs", "email_configs", "webhook_configs"}
    proc = engines.amtool_config(text, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for version in k8s.K8S_VERSIONS:
        assert k8s.problems(objects, version) == []


@pytest.mark.parametrize("tier", TIERS)
def test_blackbox_config_passes_the_exporter_check(tier, tmp_path):
    objects = render_tier(tier)
    path = tmp_path / "blackbox.yml"
    path.write_text(configmap_file(objects, "obs-blackbox-exporter", "blackbox.yml"))
    proc = subprocess.run(
        [tool("blackbox_exporter"), "--config.check", f"--config.file={path}"], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --- bad values are rejected with a readable message ------------------------

BAD_VALUES = [
    pytest.param(("prometheus.replicas=two",), "replicas", id="wrong-type"),
    pytest.param(("prometheus.retension.time=7d",), "retension", id="unknown-key"),
    pytest.param(("prometheus.retention.time=-7d",), "retention", id="negative-retention"),
    pytest.param(("alertmanager.replicas=0",), "replicas", id="zero-alertmanager-replicas"),
    pytest.param(("prometheus.image.tag=latest",), "tag", id="unpinned-image"),
    pytest.param(("grafana.resources.limits=null",), "limits", id="container-without-limits"),
]


@pytest.mark.parametrize("helm", HELMS)
@pytest.mark.parametrize(("sets", "field"), BAD_VALUES)
def test_bad_values_are_rejected_by_the_schema(helm, sets, field):
    with pytest.raises(RenderError) as err:
        helm_template(helm, sets=sets)
    message = str(err.value)
    assert "schema" in message and field in message, message


@pytest.mark.parametrize("helm", HELMS)
def test_single_alertmanager_in_ha_mode_fails_with_a_readable_message(helm):
    with pytest.raises(RenderError) as err:
        helm_template(helm, values=(ROOT / "values" / "advanced.yaml",), sets=("alertmanager.replicas=1",))
    assert "global.highAvailability is true" in str(err.value)
    assert "alertmanager.replicas is 1" in str(err.value)


RECEIVERS_PROFILE = """\
name: every-receiver
extends: intermediate
exposure:
  grafana: {externalUrl: "https://grafana.example.com"}
  prometheus: {externalUrl: "https://prometheus.example.com"}
  alertmanager: {externalUrl: "https://alertmanager.example.com"}
alerts:
  heartbeat: {secretRef: {name: heartbeat, key: url}, interval: 2m}
teams:
  - name: platform
    receivers:
      - {type: slack, channel: "#alerts", secretRef: {name: chat, key: slack}}
      - {type: pagerduty, severities: [critical], secretRef: {name: paging, key: pagerduty}}
      - {type: email, to: oncall@example.com, from: am@example.com, smarthost: "smtp.example.com:587",
         authUsername: am, secretRef: {name: mail, key: password}}
      - {type: webhook, secretRef: {name: hooks, key: url}}
      - {type: opsgenie, apiUrl: "https://api.eu.opsgenie.com/", severities: [critical, warning], secretRef: {name: paging, key: opsgenie}}
      - {type: msteams, secretRef: {name: chat, key: teams}}
      - {type: discord, severities: [warning, info], secretRef: {name: chat, key: discord}}
      - {type: telegram, chatId: -1001234567890, secretRef: {name: chat, key: telegram}}
      - {type: webex, roomId: Y2lzY29zcGFyazovL3VzL1JPT00vYmJj, secretRef: {name: chat, key: webex}}
"""


def test_every_receiver_type_passes_amtool_with_credentials_from_files(tmp_path):
    objects = render_profile(RECEIVERS_PROFILE, tmp_path)
    text = configmap_file(objects, "obs-alertmanager-config", "alertmanager.yml")
    config = yaml.safe_load(text)
    (critical,) = [r for r in config["receivers"] if r["name"] == "platform-critical"]
    assert set(critical) - {"name"} == {
        "slack_configs",
        "pagerduty_configs",
        "email_configs",
        "webhook_configs",
        "opsgenie_configs",
        "msteamsv2_configs",
        "telegram_configs",
        "webex_configs",
    }
    # Every credential is a file the Alertmanager pod mounts from the named Secret; none is inline.
    (statefulset,) = [o for o in objects if o["kind"] == "StatefulSet" and o["metadata"]["name"] == "obs-alertmanager"]
    mounts = {m["mountPath"] for m in statefulset["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]}
    files = [
        critical["opsgenie_configs"][0]["api_key_file"],
        critical["msteamsv2_configs"][0]["webhook_url_file"],
        critical["telegram_configs"][0]["bot_token_file"],
        critical["webex_configs"][0]["http_config"]["authorization"]["credentials_file"],
    ]
    assert all(any(f.startswith(m + "/") for m in mounts) for f in files), (files, mounts)
    assert critical["telegram_configs"][0]["chat_id"] == -1001234567890
    # The dead man's switch: Watchdog's route comes first and stops there.
    first = config["route"]["routes"][0]
    assert first["matchers"] == ['alertname="Watchdog"'] and first["receiver"] == "heartbeat" and not first.get("continue")
    assert first["repeat_interval"] == "2m"
    (heartbeat,) = [r for r in config["receivers"] if r["name"] == "heartbeat"]
    assert any(heartbeat["webhook_configs"][0]["url_file"].startswith(m + "/") for m in mounts)
    proc = engines.amtool_config(text, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_without_a_heartbeat_the_watchdog_notifies_nobody():
    config = yaml.safe_load(configmap_file(render_tier("basic"), "obs-alertmanager-config", "alertmanager.yml"))
    assert config["route"]["routes"][0]["receiver"] == "heartbeat"
    (heartbeat,) = [r for r in config["receivers"] if r["name"] == "heartbeat"]
    assert set(heartbeat) == {"name"}


CONTROL_PLANE_PROFILE = """\
name: control-plane
extends: basic
controlPlane: {apiserver: true, etcd: true, kubeScheduler: true, kubeControllerManager: true}
"""


def test_control_plane_jobs_are_opt_in_and_pass_promtool(tmp_path):
    jobs = {"apiserver": "apiserver", "etcd": "etcd", "kubeScheduler": "kube-scheduler", "kubeControllerManager": "kube-controller-manager"}
    for tier in TIERS:
        scrape = yaml.safe_load((ROOT / "values" / f"{tier}.yaml").read_text())["prometheus"]["scrapeJobs"]
        assert not any(scrape[key]["enabled"] for key in ("etcd", "kubeScheduler", "kubeControllerManager")), tier
    objects = render_profile(CONTROL_PLANE_PROFILE, tmp_path)
    config = yaml.safe_load(configmap_file(objects, "obs-prometheus-config", "prometheus.yml"))
    names = {job["job_name"] for job in config["scrape_configs"]}
    assert set(jobs.values()) <= names and "coredns" not in names  # coreDns follows its tier (intermediate)
    proc = engines.promtool_config(objects, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (role,) = [o for o in objects if o["kind"] == "ClusterRole" and o["metadata"]["name"].startswith("obs-prometheus")]
    assert {"nonResourceURLs": ["/metrics"], "verbs": ["get"]} in role["rules"]
