"""The loopback transform changes only what cannot exist outside a cluster."""

from __future__ import annotations

import yaml

from obsgen import loopback
from tests.support.render import configmap_file, render_tier


def _rendered(tier: str = "advanced") -> dict:
    return yaml.safe_load(configmap_file(render_tier(tier), "obs-prometheus-config", "prometheus.yml"))


def test_discovery_becomes_static_and_other_settings_survive():
    rendered = _rendered()
    out = loopback.prometheus_config(
        rendered, {"prometheus": ["127.0.0.1:9090"], "alertmanager": ["127.0.0.1:9093"]}, ["127.0.0.1:9093"], "/tmp/rules"
    )
    jobs = {j["job_name"]: j for j in out["scrape_configs"]}
    assert set(jobs) == {"prometheus", "alertmanager"}  # kubelet, cadvisor, annotation jobs have no loopback target
    assert jobs["prometheus"]["static_configs"] == [{"targets": ["127.0.0.1:9090"]}]
    original = next(j for j in rendered["scrape_configs"] if j["job_name"] == "prometheus")
    for key in ("sample_limit", "label_limit", "label_name_length_limit", "label_value_length_limit"):
        assert jobs["prometheus"][key] == original[key]
    assert "relabel_configs" not in jobs["prometheus"]  # every rule read __meta_kubernetes_* labels
    assert out["global"] == rendered["global"]
    assert out["alerting"]["alert_relabel_configs"] == rendered["alerting"]["alert_relabel_configs"]
    assert out["alerting"]["alertmanagers"] == [{"static_configs": [{"targets": ["127.0.0.1:9093"]}]}]
    assert out["rule_files"] == ["/tmp/rules/*.yaml"]
    assert rendered["scrape_configs"][0].get("kubernetes_sd_configs"), "the input must not be modified"


def test_blackbox_job_points_at_the_loopback_exporter(acme_values):
    from tests.support.render import helm_template, split

    rendered = yaml.safe_load(configmap_file(split(helm_template(values=(acme_values,))), "obs-prometheus-config", "prometheus.yml"))
    out = loopback.prometheus_config(rendered, {}, [], "/r", blackbox="127.0.0.1:19115")
    (job,) = [j for j in out["scrape_configs"] if j["job_name"] == "blackbox"]
    address = [r for r in job["relabel_configs"] if r.get("target_label") == "__address__"]
    assert address == [{"target_label": "__address__", "replacement": "127.0.0.1:19115"}]
    assert job["static_configs"][0]["labels"]["__param_module"] == "http_2xx"


def test_flags_keep_everything_but_paths_and_cluster_wiring():
    args = [
        "--config.file=/etc/alertmanager/config/alertmanager.yml",
        "--storage.path=/alertmanager",
        "--data.retention=120h",
        "--web.listen-address=:9093",
        "--cluster.listen-address=0.0.0.0:9094",
        "--cluster.advertise-address=[$(POD_IP)]:9094",
        "--cluster.peer=obs-alertmanager-0.obs-alertmanager-headless.monitoring.svc:9094",
    ]
    out = loopback.alertmanager_args(args, "/c.yml", "/d", "127.0.0.1:1", "127.0.0.1:2", ["127.0.0.1:3"])
    assert out == [
        "--config.file=/c.yml",
        "--storage.path=/d",
        "--data.retention=120h",
        "--web.listen-address=127.0.0.1:1",
        "--cluster.listen-address=127.0.0.1:2",
        "--cluster.advertise-address=127.0.0.1:2",
        "--cluster.peer=127.0.0.1:3",
    ]
    single = loopback.alertmanager_args(args, "/c.yml", "/d", "127.0.0.1:1", None)
    assert single[-1] == "--cluster.listen-address=" and not any(a.startswith("--cluster.peer") for a in single)
    prom = loopback.prometheus_args(
        ["--config.file=/x", "--storage.tsdb.retention.time=7d", "--config.auto-reload-interval=30s"], "/c", "/d", "127.0.0.1:9", "1s"
    )
    assert prom == ["--config.file=/c", "--storage.tsdb.retention.time=7d", "--config.auto-reload-interval=1s"]
