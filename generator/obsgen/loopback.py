"""Adapt rendered in-cluster configs to run on one machine's loopback.

The end-to-end tests and the local preview run the real Prometheus and
Alertmanager on 127.0.0.1 with the configuration the chart renders. Only
what cannot exist outside a cluster is changed, by these rules:

1. Kubernetes service discovery becomes static targets: each scrape job
   whose job name has loopback targets keeps everything else (limits,
   scheme, path, params) and gets `static_configs` instead of
   `kubernetes_sd_configs`; jobs without loopback targets (kubelet,
   cAdvisor, annotated pods) are dropped.
2. Relabel rules that read `__meta_kubernetes_*` labels are removed: those
   labels only exist under Kubernetes discovery, and a `keep` on them would
   drop every static target.
3. The blackbox job's exporter address becomes the loopback exporter.
4. Alertmanager discovery becomes a static list of loopback Alertmanagers.
5. Rule files are read from a local directory.
6. Command-line flags are taken from the rendered StatefulSet, with file
   paths and listen addresses swapped for local ones; clustering flags are
   rebuilt for loopback peers.
7. Flags the local binary does not have are dropped, by name in
   `unsupported`: Debian's Prometheus build omits the OTLP receiver that
   the upstream image (the one the chart deploys) has.

Everything else — global settings, external labels, alert relabelling,
limits, the rules themselves — is used exactly as rendered.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

_META = "__meta_kubernetes_"


def _uses_kubernetes_meta(rule: Mapping[str, Any]) -> bool:
    return any(str(label).startswith(_META) for label in rule.get("source_labels", []))


def prometheus_config(
    rendered: Mapping[str, Any],
    targets: Mapping[str, Sequence[str]],
    alertmanagers: Sequence[str],
    rules_dir: str,
    blackbox: str | None = None,
) -> dict[str, Any]:
    """The rendered prometheus.yml, adapted by rules 1–5 above.

    targets maps a job name (the `job` label) to host:port addresses.
    """
    config = copy.deepcopy(dict(rendered))
    jobs = []
    for job in config.get("scrape_configs", []):
        name = job["job_name"]
        if "kubernetes_sd_configs" in job:
            if name not in targets:
                continue
            del job["kubernetes_sd_configs"]
            job["static_configs"] = [{"targets": list(targets[name])}]
        relabel = [r for r in job.get("relabel_configs", []) if not _uses_kubernetes_meta(r)]
        if blackbox and job.get("metrics_path") == "/probe":
            for rule in relabel:
                if rule.get("target_label") == "__address__" and "source_labels" not in rule:
                    rule["replacement"] = blackbox
        if relabel:
            job["relabel_configs"] = relabel
        else:
            job.pop("relabel_configs", None)
        # In-cluster credentials do not exist here; only kubelet jobs use
        # them and those have no loopback targets.
        jobs.append(job)
    config["scrape_configs"] = jobs
    alerting = config.setdefault("alerting", {})
    alerting["alertmanagers"] = [{"static_configs": [{"targets": list(alertmanagers)}]}] if alertmanagers else []
    config["rule_files"] = [f"{rules_dir}/*.yaml"]
    return config


def _swap_flags(args: Sequence[str], replacements: Mapping[str, str | None]) -> list[str]:
    """Replace `--flag=value` arguments; a None replacement drops the flag."""
    out = []
    for arg in args:
        flag = arg.split("=", 1)[0]
        if flag in replacements:
            if replacements[flag] is not None:
                out.append(f"{flag}={replacements[flag]}")
        else:
            out.append(arg)
    return out


def prometheus_args(
    rendered_args: Sequence[str],
    config_file: str,
    data_dir: str,
    listen: str,
    reload_interval: str | None = None,
    unsupported: Sequence[str] = (),
) -> list[str]:
    """The StatefulSet's Prometheus flags with local paths (rule 6).

    reload_interval shortens --config.auto-reload-interval so a test can
    watch a reload happen without waiting the in-cluster 30 s.
    """
    replacements: dict[str, str | None] = {
        "--config.file": config_file,
        "--storage.tsdb.path": data_dir,
        "--web.listen-address": listen,
    }
    if reload_interval:
        replacements["--config.auto-reload-interval"] = reload_interval
    for flag in unsupported:
        replacements[flag] = None
    return [a for a in _swap_flags(rendered_args, replacements) if a not in unsupported]


def alertmanager_args(
    rendered_args: Sequence[str], config_file: str, data_dir: str, listen: str, cluster_listen: str | None, peers: Sequence[str] = ()
) -> list[str]:
    """The StatefulSet's Alertmanager flags with local paths and loopback peers (rule 6)."""
    args = _swap_flags(
        rendered_args,
        {
            "--config.file": config_file,
            "--storage.path": data_dir,
            "--web.listen-address": listen,
            "--cluster.listen-address": None,
            "--cluster.advertise-address": None,
            "--cluster.peer": None,
        },
    )
    if cluster_listen is None:
        return [*args, "--cluster.listen-address="]
    return [
        *args,
        f"--cluster.listen-address={cluster_listen}",
        f"--cluster.advertise-address={cluster_listen}",
        *(f"--cluster.peer={peer}" for peer in peers),
    ]
