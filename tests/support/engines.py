"""The real engines' own checks of what the chart renders: promtool and amtool."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from .render import configmap_file, find
from .tools import tool

PROMETHEUS_CONFIG = ("obs-prometheus-config", "prometheus.yml")
ALERTMANAGER_CONFIG = ("obs-alertmanager-config", "alertmanager.yml")


def promtool_config(objects, tmp_path: Path) -> subprocess.CompletedProcess:
    config = tmp_path / "prometheus.yml"
    config.write_text(configmap_file(objects, *PROMETHEUS_CONFIG))
    # --syntax-only: the config refers to in-cluster files (service-account
    # token, rule directory); rule files are checked on their own.
    return subprocess.run([tool("promtool"), "check", "config", "--syntax-only", str(config)], capture_output=True, text=True)


def promtool_rules(objects, tmp_path: Path) -> subprocess.CompletedProcess:
    rule_maps = [o for o in find(objects, "ConfigMap") if o["metadata"].get("labels", {}).get("obs.dev/rule-file") == "true"]
    assert rule_maps, "no rule ConfigMap rendered"
    files = []
    for cm in rule_maps:
        for name, text in cm["data"].items():
            path = tmp_path / name
            path.write_text(text)
            files.append(str(path))
    return subprocess.run([tool("promtool"), "check", "rules", *files], capture_output=True, text=True)


def amtool_config(config_text: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """amtool check-config with stand-in files for every *_file secret path."""
    config = yaml.safe_load(config_text)
    secrets_root = tmp_path / "secrets"

    def relocate(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key.endswith("_file") and isinstance(value, str) and value.startswith("/etc/alertmanager/secrets/"):
                    stand_in = secrets_root / value.removeprefix("/etc/alertmanager/secrets/")
                    stand_in.parent.mkdir(parents=True, exist_ok=True)
                    stand_in.write_text("https://hooks.example.invalid/stand-in\n")
                    node[key] = str(stand_in)
                else:
                    relocate(value)
        elif isinstance(node, list):
            for item in node:
                relocate(item)

    relocate(config)
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config))
    return subprocess.run([tool("amtool"), "check-config", str(path)], capture_output=True, text=True)
