"""Two Prometheus replicas and a clustered Alertmanager on loopback, as an HA
tier renders them, for the fault harness (benchmarks/ha_faults.py).

What runs, all on 127.0.0.1:

- `Targets`: plain HTTP endpoints, one per service of the profile, that the
  harness takes down (503 on every path, so `up` is 0 and the health probe
  fails) and brings back; they stand for the pods of a service and carry
  the labels pod discovery would set (loopback rule 8), so the rendered
  ServiceProbeFailing and TargetDown page for each service on its own;
- the blackbox exporter with its rendered module file, probing each
  service's /health at its target (loopback rule 9);
- every Prometheus replica with the rendered config (external labels with
  its own replica name, the alert relabelling that drops it, every
  Alertmanager as a target of every replica), the rendered rule files and
  StatefulSet flags (loopback rules 1-8);
- every Alertmanager replica with the rendered config and flags, peers on
  loopback (rule 6), the webhook's Secret file pointing at a local receiver
  that records each notification (rule 10).

Processes can be killed (SIGKILL, as a node loss would) and started again
on the same data directory, as a restarted pod would be. `alertmanager`
lets the caller change the rendered Alertmanager config and flags, e.g. to
run earlier timings next to the rendered ones on the same targets.
"""

from __future__ import annotations

import os
import threading
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from obsgen import loopback

from .live_stack import PODS_JOB, READY_TIMEOUT, WebhookReceiver, probe_map, rendered_objects
from .processes import Daemon, free_port, wait_for
from .render import configmap_file, container_args, rule_files
from .tools import ROOT, tool, unsupported_prometheus_flags

HA_PROFILE = ROOT / "tests" / "fixtures" / "profiles" / "ha.yaml"
NAMESPACE = "shop"


class Targets:
    """One scrape endpoint per service; `down` ones answer 503."""

    def __init__(self, services: Sequence[str]):
        self.down: set[str] = set()
        self._servers: dict[str, ThreadingHTTPServer] = {}
        targets = self

        for name in services:

            class Handler(BaseHTTPRequestHandler):
                service = name

                def do_GET(self) -> None:
                    if self.service in targets.down:
                        self.send_response(503)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    body = b"# TYPE harness_up gauge\nharness_up 1\n"
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain; version=0.0.4")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

                def log_message(self, format: str, *args: Any) -> None:
                    pass

            server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, name=f"target-{name}", daemon=True).start()
            self._servers[name] = server

    def address(self, service: str) -> str:
        return f"127.0.0.1:{self._servers[service].server_address[1]}"

    @property
    def services(self) -> list[str]:
        return list(self._servers)

    def close(self) -> None:
        for server in self._servers.values():
            server.shutdown()
            server.server_close()


@dataclass
class Replica:
    """A process that can be killed and started again on the same data."""

    name: str
    argv: list[str]
    workdir: Path
    url: str
    env: dict[str, str] | None = None
    daemon: Daemon | None = None
    starts: int = 0

    def start(self) -> None:
        self.starts += 1
        self.daemon = Daemon(self.name, self.argv, self.workdir / f"{self.name}.{self.starts}.log", self.env)

    def kill(self) -> None:
        if self.daemon and self.daemon.proc.poll() is None:
            self.daemon.proc.kill()
            self.daemon.proc.wait(timeout=10)
            self.daemon.stop()  # closes the log

    @property
    def running(self) -> bool:
        return bool(self.daemon) and self.daemon.proc.poll() is None

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as resp:
                return resp.status == 200
        except OSError:
            return False


@dataclass
class HAStack:
    prometheus: list[Replica]
    alertmanagers: list[Replica]
    receiver: WebhookReceiver
    rendered: dict[str, Any] = field(default_factory=dict)

    def replicas(self) -> list[Replica]:
        return [*self.prometheus, *self.alertmanagers]

    def wait_ready(self, replica: Replica) -> None:
        wait_for(f"{replica.name} ready", replica.ready, READY_TIMEOUT, [replica.daemon] if replica.daemon else [])


def _labelled(targets: Targets) -> list[loopback.Target]:
    return [{"targets": [targets.address(s)], "labels": {"namespace": NAMESPACE, "service": s, "pod": f"{s}-0"}} for s in targets.services]


@contextmanager
def ha_stack(
    workdir: Path,
    targets: Targets,
    profile: Path = HA_PROFILE,
    alertmanager: Callable[[dict[str, Any], list[str]], tuple[dict[str, Any], list[str]]] | None = None,
) -> Iterator[HAStack]:
    """Start the rendered HA pair and Alertmanager cluster of `profile`; stop everything on exit.

    alertmanager(config, args) -> (config, args) may change the rendered
    Alertmanager config and flags before they run.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    objects = rendered_objects(profile, workdir)
    prom_sts = next(o for o in objects if o["kind"] == "StatefulSet" and o["metadata"]["name"] == "obs-prometheus")
    am_sts = next(o for o in objects if o["kind"] == "StatefulSet" and o["metadata"]["name"] == "obs-alertmanager")
    receiver = WebhookReceiver().start()

    # Alertmanager: the webhook's Secret file names the receiver (rule 10).
    secrets_dir = workdir / "secrets"
    am_rendered = yaml.safe_load(configmap_file(objects, "obs-alertmanager-config", "alertmanager.yml"))
    am_config = loopback.alertmanager_config(am_rendered, str(secrets_dir))
    for _, path in loopback.credential_files(am_config):
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f"{receiver.url}/{'/'.join(target.relative_to(secrets_dir).parts)}")
    am_args = container_args(objects, "StatefulSet", "obs-alertmanager")
    if alertmanager:
        am_config, am_args = alertmanager(am_config, list(am_args))
    am_file = workdir / "alertmanager.yml"
    am_file.write_text(yaml.safe_dump(am_config, sort_keys=False))
    am_ports = [(free_port(), free_port()) for _ in range(am_sts["spec"]["replicas"])]
    alertmanagers = []
    for i, (http, gossip) in enumerate(am_ports):
        argv = loopback.alertmanager_args(
            am_args,
            str(am_file),
            str(workdir / f"alertmanager-{i}"),
            f"127.0.0.1:{http}",
            f"127.0.0.1:{gossip}",
            [f"127.0.0.1:{g}" for j, (_, g) in enumerate(am_ports) if j != i],
        )
        alertmanagers.append(Replica(f"alertmanager-{i}", [tool("alertmanager"), *argv], workdir, f"http://127.0.0.1:{http}"))

    # Prometheus: every replica scrapes the targets and sends to every Alertmanager.
    rules_dir = workdir / "rules"
    rules_dir.mkdir(exist_ok=True)
    for name, text in loopback.rule_files(rule_files(objects)).items():
        (rules_dir / name).write_text(text)
    # One blackbox exporter, as the chart's one Deployment, with its rendered module file and flags.
    bb_config = workdir / "blackbox.yml"
    bb_config.write_text(configmap_file(objects, "obs-blackbox-exporter", "blackbox.yml"))
    bb_addr = f"127.0.0.1:{free_port()}"
    bb_args = loopback.blackbox_args(container_args(objects, "Deployment", "obs-blackbox-exporter"), str(bb_config), bb_addr)
    blackbox = Replica("blackbox", [tool("blackbox_exporter"), *bb_args], workdir, f"http://{bb_addr}")

    prom_rendered = yaml.safe_load(configmap_file(objects, "obs-prometheus-config", "prometheus.yml"))
    prom_config = loopback.prometheus_config(
        prom_rendered,
        targets={PODS_JOB: _labelled(targets)},
        alertmanagers=[f"127.0.0.1:{http}" for http, _ in am_ports],
        rules_dir=str(rules_dir),
        blackbox=bb_addr,
        probe_targets=probe_map(prom_rendered, {f"{s}.{NAMESPACE}.svc": targets.address(s) for s in targets.services}),
    )
    prom_file = workdir / "prometheus.yml"
    prom_file.write_text(yaml.safe_dump(prom_config, sort_keys=False))
    prometheus = []
    for i in range(prom_sts["spec"]["replicas"]):
        port = free_port()
        argv = loopback.prometheus_args(
            container_args(objects, "StatefulSet", "obs-prometheus"),
            str(prom_file),
            str(workdir / f"prometheus-{i}"),
            f"127.0.0.1:{port}",
            unsupported=unsupported_prometheus_flags(),
        )
        env = {**os.environ, "POD_NAME": f"obs-prometheus-{i}"}
        prometheus.append(Replica(f"prometheus-{i}", [tool("prometheus"), *argv], workdir, f"http://127.0.0.1:{port}", env))

    stack = HAStack(prometheus, alertmanagers, receiver, {"alertmanager.yml": am_config, "alertmanager args": am_args})
    try:
        blackbox.start()
        for replica in stack.replicas():
            replica.start()
        for replica in stack.replicas():
            stack.wait_ready(replica)
        yield stack
    finally:
        for replica in [*stack.replicas(), blackbox]:
            if replica.daemon:
                replica.daemon.stop()
        receiver.stop()


def critical_group_wait(config: Mapping[str, Any]) -> str:
    """group_wait of the critical route of an obs Alertmanager config."""
    (route,) = [r for r in config["route"]["routes"] if r.get("matchers") == ['severity="critical"']]
    return route["group_wait"]
