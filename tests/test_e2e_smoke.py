"""The real Prometheus 3.5 and Alertmanager 0.33 run the rendered configs.

Kubernetes discovery is replaced by loopback targets through the documented
transform in obsgen.loopback; everything else runs as rendered, including
the StatefulSets' command-line flags.
"""

from __future__ import annotations

import os

import pytest
import yaml

from obsgen import loopback
from tests.support.processes import Daemon, daemons, free_port, get_json, wait_for
from tests.support.render import configmap_file, container_args, find, render_tier, rule_files
from tests.support.tools import tool, unsupported_prometheus_flags

pytestmark = pytest.mark.e2e

READY_TIMEOUT = 60


@pytest.mark.parametrize("tier", ["basic", "advanced"])
def test_prometheus_and_alertmanager_run_the_rendered_configs(tier, tmp_path):
    objects = render_tier(tier)
    (am_sts,) = find(objects, "StatefulSet", "obs-alertmanager")
    am_replicas = am_sts["spec"]["replicas"]
    am_ports = [free_port() for _ in range(am_replicas)]
    mesh_ports = [free_port() for _ in range(am_replicas)] if am_replicas > 1 else []
    prom_port = free_port()

    am_config = tmp_path / "alertmanager.yml"
    am_config.write_text(configmap_file(objects, "obs-alertmanager-config", "alertmanager.yml"))
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    for name, text in rule_files(objects).items():
        (rules_dir / name).write_text(text)
    rendered = yaml.safe_load(configmap_file(objects, "obs-prometheus-config", "prometheus.yml"))
    am_addresses = [f"127.0.0.1:{p}" for p in am_ports]
    prom_config = tmp_path / "prometheus.yml"
    prom_config.write_text(
        yaml.safe_dump(
            loopback.prometheus_config(
                rendered,
                targets={"prometheus": [f"127.0.0.1:{prom_port}"], "alertmanager": am_addresses},
                alertmanagers=am_addresses,
                rules_dir=str(rules_dir),
            )
        )
    )

    with daemons() as running:
        for i, port in enumerate(am_ports):
            mesh = f"127.0.0.1:{mesh_ports[i]}" if mesh_ports else None
            peers = [f"127.0.0.1:{p}" for j, p in enumerate(mesh_ports) if j != i]
            args = loopback.alertmanager_args(
                container_args(objects, "StatefulSet", "obs-alertmanager"),
                str(am_config),
                str(tmp_path / f"am-{i}"),
                f"127.0.0.1:{port}",
                mesh,
                peers,
            )
            running.append(Daemon(f"alertmanager-{i}", [tool("alertmanager"), *args], tmp_path / f"am-{i}.log"))
        prom_args = loopback.prometheus_args(
            container_args(objects, "StatefulSet", "obs-prometheus"),
            str(prom_config),
            str(tmp_path / "tsdb"),
            f"127.0.0.1:{prom_port}",
            reload_interval="1s",
            unsupported=unsupported_prometheus_flags(),
        )
        env = {**os.environ, "POD_NAME": "obs-prometheus-0"}
        running.append(Daemon("prometheus", [tool("prometheus"), *prom_args], tmp_path / "prometheus.log", env))
        prom = f"http://127.0.0.1:{prom_port}"

        for i, port in enumerate(am_ports):
            wait_for(f"alertmanager-{i} ready", lambda p=port: _ok(f"http://127.0.0.1:{p}/-/ready"), READY_TIMEOUT, running)
        wait_for("prometheus ready", lambda: _ok(f"{prom}/-/ready"), READY_TIMEOUT, running)

        # Prometheus loaded the rendered rule files.
        groups = get_json(f"{prom}/api/v1/rules")["data"]["groups"]
        loaded = {g["name"]: len(g["rules"]) for g in groups}
        expected = {g["name"]: len(g["rules"]) for text in rule_files(objects).values() for g in yaml.safe_load(text)["groups"]}
        assert loaded == expected

        # It found every Alertmanager.
        def discovered():
            active = get_json(f"{prom}/api/v1/alertmanagers")["data"]["activeAlertmanagers"]
            return sorted(a["url"] for a in active) == sorted(f"http://{a}/api/v2/alerts" for a in am_addresses)

        wait_for("prometheus to discover every alertmanager", discovered, 30, running)

        # Every kept job scrapes successfully within its per-target limits.
        def all_up():
            targets = get_json(f"{prom}/api/v1/targets")["data"]["activeTargets"]
            return len(targets) == 1 + am_replicas and all(t["health"] == "up" for t in targets)

        wait_for("every loopback target to be up", all_up, 2 * _seconds(rendered["global"]["scrape_interval"]) + 10, running)

        # The external labels, replica included in HA tiers, are applied as rendered.
        config = get_json(f"{prom}/api/v1/status/config")["data"]["yaml"]
        labels = yaml.safe_load(config)["global"]["external_labels"]
        assert labels["cluster"] == "obs"
        if "prometheus_replica" in rendered["global"]["external_labels"]:
            assert labels["prometheus_replica"] == "obs-prometheus-0"

        if am_replicas > 1:

            def clustered():
                status = get_json(f"http://127.0.0.1:{am_ports[0]}/api/v2/status")["cluster"]
                return status["status"] == "ready" and len(status["peers"]) == am_replicas

            wait_for(f"{am_replicas} alertmanagers to form one cluster", clustered, 30, running)

        # Rule-file reload without a restart: the mechanism the chart relies on.
        (rules_dir / "reload-probe.yaml").write_text(
            yaml.safe_dump({"groups": [{"name": "reload-probe", "rules": [{"record": "obs:reload_probe", "expr": "vector(1)"}]}]})
        )
        wait_for(
            "prometheus to pick up a new rule file by itself",
            lambda: "reload-probe" in {g["name"] for g in get_json(f"{prom}/api/v1/rules")["data"]["groups"]},
            20,
            running,
        )


def _seconds(duration: str) -> int:
    assert duration.endswith("s"), duration
    return int(duration[:-1])


def _ok(url: str) -> bool:
    import urllib.request

    with urllib.request.urlopen(url, timeout=2) as resp:
        return resp.status == 200
