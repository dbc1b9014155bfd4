"""The loopback transform changes only what cannot exist outside a cluster."""

from __future__ import annotations

import pytest
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


def _acme(acme_values) -> list[dict]:
    from tests.support.render import helm_template, split

    return split(helm_template(values=(acme_values,)))


def test_static_targets_carry_the_labels_kubernetes_would_set():
    """Rule 8: labelled target groups; the pods job keeps no rule that needs discovery."""
    rendered = _rendered("intermediate")
    labels = {"namespace": "shop", "service": "checkout", "pod": "checkout-0"}
    out = loopback.prometheus_config(
        rendered, {"kubernetes-pods": ["127.0.0.1:1", {"targets": ["127.0.0.1:2"], "labels": labels}]}, [], "/r"
    )
    (job,) = [j for j in out["scrape_configs"] if j["job_name"] == "kubernetes-pods"]
    assert job["static_configs"] == [{"targets": ["127.0.0.1:1"]}, {"targets": ["127.0.0.1:2"], "labels": labels}]
    assert "relabel_configs" not in job  # every rule read __meta_kubernetes_* (annotations, pod ip, names)
    # A discovery meta label never reaches a scrape: a test relying on one would pass for the wrong reason.
    with pytest.raises(ValueError, match="__meta_kubernetes_namespace"):
        loopback.prometheus_config(
            rendered, {"kubernetes-pods": [{"targets": ["127.0.0.1:2"], "labels": {"__meta_kubernetes_namespace": "x"}}]}, [], "/r"
        )


def test_probe_targets_point_at_loopback_services(acme_values):
    """Rule 9: Service URLs (and tcp host:port) → loopback, path and labels kept; unmapped targets kept."""
    rendered = yaml.safe_load(configmap_file(_acme(acme_values), "obs-prometheus-config", "prometheus.yml"))
    probes = {"checkout.shop.svc:8080": "127.0.0.1:18080", "ledger.finance.svc:9001": "127.0.0.1:19001"}
    out = loopback.prometheus_config(rendered, {}, [], "/r", blackbox="127.0.0.1:19115", probe_targets=probes)
    (job,) = [j for j in out["scrape_configs"] if j["job_name"] == "blackbox"]
    (before,) = [j for j in rendered["scrape_configs"] if j["job_name"] == "blackbox"]
    assert [g["targets"] for g in job["static_configs"]] == [
        ["http://127.0.0.1:18080/health"],
        ["http://127.0.0.1:18080/health/ready"],
        ["http://127.0.0.1:18080/health/live"],
        ["http://127.0.0.1:19001/health/ready"],
        ["127.0.0.1:19001"],
    ]
    assert [g["labels"] for g in job["static_configs"]] == [g["labels"] for g in before["static_configs"]]
    only_checkout = loopback.prometheus_config(rendered, {}, [], "/r", probe_targets={"checkout.shop.svc:8080": "127.0.0.1:1"})
    (job,) = [j for j in only_checkout["scrape_configs"] if j["job_name"] == "blackbox"]
    assert job["static_configs"][3:] == before["static_configs"][3:]


def test_alertmanager_credential_files_are_read_locally(acme_values):
    """Rule 10: every *_file under the Secrets mount moves to a local directory; nothing else changes."""
    text = configmap_file(_acme(acme_values), "obs-alertmanager-config", "alertmanager.yml")
    rendered = yaml.safe_load(text)
    out = loopback.alertmanager_config(rendered, "/tmp/obs-secrets")
    files = loopback.credential_files(out)
    assert files == [
        ("email_configs", "/tmp/obs-secrets/smtp-credentials/password"),
        ("webhook_configs", "/tmp/obs-secrets/incident-bot/url"),
        ("pagerduty_configs", "/tmp/obs-secrets/pagerduty-payments/routing-key"),
        ("slack_configs", "/tmp/obs-secrets/slack-payments/webhook-url"),
    ]
    # Apart from the paths, the config is the rendered one.
    back = yaml.safe_dump(out).replace("/tmp/obs-secrets/", "/etc/alertmanager/secrets/")
    assert yaml.safe_load(back) == rendered
    assert yaml.safe_load(text) == rendered, "the input must not be modified"
    # A *_file outside the Secrets mount is not a mounted credential: kept as is.
    other = {"receivers": [{"name": "x", "webhook_configs": [{"url_file": "/var/run/other/url"}]}]}
    assert loopback.alertmanager_config(other, "/tmp/s") == other


def _live_rule_files(tmp_path) -> dict[str, str]:
    from obsgen import generate
    from tests.support.live_stack import LIVE_PROFILE
    from tests.support.render import helm_template, rule_files, split

    generate.write(generate.plan_profile(LIVE_PROFILE, tmp_path))
    return rule_files(split(helm_template(values=(tmp_path / "live.yaml",))))


def test_rule_group_intervals_are_changed_only_where_asked(tmp_path):
    """Rule 11, as the live tests use it: SLO groups every 5 s, nothing else changed."""
    rendered = _live_rule_files(tmp_path)
    out = loopback.rule_files(rendered, {"slo-*": "5s"})
    assert set(out) == set(rendered)
    changed = {name for name in rendered if out[name] != rendered[name]}
    assert changed == {"slo.yaml"}  # every other file byte for byte
    before, after = yaml.safe_load(rendered["slo.yaml"]), yaml.safe_load(out["slo.yaml"])
    assert [g["interval"] for g in before["groups"]] == ["1m", "1m"]  # slo-info, slo-rules
    assert [g["interval"] for g in after["groups"]] == ["5s", "5s"]
    for old, new in zip(before["groups"], after["groups"], strict=True):
        assert new["rules"] == old["rules"]  # expressions, labels, annotations and every `for` untouched
    assert loopback.rule_files(rendered) == rendered


def test_rule_18_drops_only_the_full_window_condition_of_tickets():
    expr = (
        "slo:burn_rate:ratio_rate1d > 3\nand\nslo:burn_rate:ratio_rate2h > 3\n"
        "and on (slo, service, namespace)\nslo:sli_events_total:increase5m offset 23h55m"
    )
    page = "slo:burn_rate:ratio_rate1h > 14.4\nand\nslo:burn_rate:ratio_rate5m > 14.4"
    rendered = {
        "slo.yaml": yaml.safe_dump(
            {"groups": [{"name": "slo-rules", "rules": [{"alert": "T", "expr": expr}, {"alert": "P", "expr": page}]}]}
        )
    }
    assert loopback.rule_files(rendered) == rendered
    rules = yaml.safe_load(loopback.rule_files(rendered, full_windows=False)["slo.yaml"])["groups"][0]["rules"]
    assert [r["expr"] for r in rules] == ["slo:burn_rate:ratio_rate1d > 3\nand\nslo:burn_rate:ratio_rate2h > 3", page]
