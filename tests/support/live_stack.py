"""A whole obs stack on loopback, from a profile, for the live tests, the
alert-delivery benchmark and `make preview`.

What runs, all on 127.0.0.1 and all stopped on exit:

- Prometheus 3.5, Alertmanager 0.33 and blackbox_exporter 0.28 with the
  configs, rules and flags the chart renders from the profile's values
  (real `helm template`), adapted by the documented loopback transform
  (obsgen.loopback, rules 1–12);
- one reference service (reference-service/refservice) per declared
  service, under steady load, with its run-time fault toggle;
- a webhook receiver standing in for the profile's webhook: the Secret file
  Alertmanager reads the URL from (`url_file`) points at it, and it records
  every notification with its arrival time.

One change shortens waits and is on by default (`SHORTENED_INTERVALS`;
pass `{}` to run everything as rendered): the SLO rule groups are evaluated
every 5 s instead of every minute (loopback rule 11). Scrape and probe
intervals, the other groups' 15 s evaluation, every `for` and
Alertmanager's timings are as rendered.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from obsgen import generate, loopback
from obsgen.profile import load as load_profile

from .processes import Daemon, daemons, free_port, get_json, wait_for
from .render import configmap_file, container_args, helm_template, rule_files, split
from .tools import ROOT, tool, unsupported_prometheus_flags

LIVE_PROFILE = ROOT / "tests" / "fixtures" / "profiles" / "live.yaml"
READY_TIMEOUT = 60.0

# Loopback rule 11: SLO groups (rendered `interval: 1m`) every 5 s, so a
# burn-rate page arrives within minutes; the `for` of the page is untouched.
SHORTENED_INTERVALS: Mapping[str, str] = {"slo-*": "5s"}

# The annotated-pods scrape job of the rendered config: the one that scrapes
# the profile's services (prometheus.io/* annotations on their pods).
PODS_JOB = "kubernetes-pods"


# --- webhook receiver -----------------------------------------------------------


@dataclass(frozen=True)
class Notification:
    """One Alertmanager webhook POST (payload version 4) and when it arrived."""

    arrived: float  # time.monotonic()
    wall: float  # time.time()
    path: str
    body: dict[str, Any]

    def alerts(self, alertname: str, status: str, labels: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        """Alerts of this notification with that name, status and labels.

        The notification's own status must match too: a group of three probe
        alerts is resolved when all three are, not when the first one is."""
        if self.body.get("status") != status:
            return []
        want = {"alertname": alertname, **(labels or {})}
        return [
            a for a in self.body.get("alerts", []) if a.get("status") == status and all(a["labels"].get(k) == v for k, v in want.items())
        ]


@dataclass(frozen=True)
class Delivery:
    """A matching alert, the notification that carried it, and seconds since `since`."""

    notification: Notification
    alert: dict[str, Any]
    seconds: float


class WebhookReceiver:
    """Records every POSTed notification; GET returns them as JSON (for a person)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._notifications: list[Notification] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                arrived, wall = time.monotonic(), time.time()
                try:
                    body = json.loads(raw)
                except ValueError:
                    self.send_response(400)
                    self.end_headers()
                    return
                receiver._record(Notification(arrived, wall, self.path, body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                payload = json.dumps(
                    [{"received_at": n.wall, "path": n.path, **n.body} for n in receiver.notifications()], indent=2
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the test's output is the record, not an access log

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _record(self, notification: Notification) -> None:
        with self._arrived:
            self._notifications.append(notification)
            self._arrived.notify_all()

    def notifications(self) -> list[Notification]:
        with self._lock:
            return list(self._notifications)

    def find(self, alertname: str, status: str, labels: Mapping[str, str] | None = None, after: float = 0.0) -> list[Delivery]:
        """Every alert with that name, status and labels received after `after` (monotonic), oldest first."""
        return [
            Delivery(n, alert, n.arrived - after)
            for n in self.notifications()
            if n.arrived >= after
            for alert in n.alerts(alertname, status, labels)
        ]

    def wait(
        self,
        alertname: str,
        status: str,
        labels: Mapping[str, str] | None,
        since: float,
        timeout: float,
        alive: Callable[[], None] | None = None,
    ) -> Delivery:
        """The first matching alert received after `since` (monotonic); AssertionError after timeout.

        alive() is called every second and may raise, e.g. when a daemon died."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                found = self._match(alertname, status, labels, since)
                if found:
                    return found
                if alive is not None:
                    alive()
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = sorted(
                        {(a["labels"].get("alertname"), a["status"]) for n in self._notifications for a in n.body.get("alerts", [])}
                    )
                    raise AssertionError(
                        f"no {status} {alertname} {dict(labels or {})} reached the webhook within {timeout:.0f}s; received: {seen}"
                    )
                self._arrived.wait(min(left, 1.0))

    def _match(self, alertname: str, status: str, labels: Mapping[str, str] | None, since: float) -> Delivery | None:
        for n in self._notifications:  # caller holds the lock
            if n.arrived >= since:
                alerts = n.alerts(alertname, status, labels)
                if alerts:
                    return Delivery(n, alerts[0], n.arrived - since)
        return None


# --- the stack --------------------------------------------------------------------


@dataclass
class RunningService:
    name: str
    namespace: str
    url: str  # http://127.0.0.1:<port>
    daemon: Daemon


@dataclass
class LiveStack:
    workdir: Path
    profile: Path
    prometheus_url: str
    alertmanager_url: str
    blackbox_url: str
    receiver: WebhookReceiver
    services: dict[str, RunningService]
    running: list[Daemon]
    rendered: dict[str, Any]  # what the chart rendered: prometheus.yml, alertmanager.yml, rule files
    load_rate: float
    _load_stop: threading.Event = field(default_factory=threading.Event)
    _load_threads: list[threading.Thread] = field(default_factory=list)

    # -- faults and load

    def set_faults(self, service: str, **faults: Any) -> float:
        """POST /admin/faults (error_ratio, latency_ms, down); returns time.monotonic() once it is in effect."""
        body = json.dumps(faults).encode()
        request = urllib.request.Request(
            f"{self.services[service].url}/admin/faults", data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=5) as resp:
            state = json.load(resp)
        assert all(state[k] == v for k, v in faults.items()), state
        return time.monotonic()

    def faults(self, service: str) -> dict[str, Any]:
        return get_json(f"{self.services[service].url}/admin/faults")

    def start_load(self) -> None:
        """Steady open-loop load on every service, until the stack stops."""
        # Imported here: the config helpers of this module (used by unit tests) do not need the service.
        from refservice.load import run_load

        for svc in self.services.values():
            thread = threading.Thread(
                target=run_load, args=(svc.url, self.load_rate, None, self._load_stop), name=f"load-{svc.name}", daemon=True
            )
            thread.start()
            self._load_threads.append(thread)

    def stop_load(self) -> None:
        self._load_stop.set()
        for thread in self._load_threads:
            thread.join(timeout=15)

    # -- Prometheus and Alertmanager

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant query; the result vector."""
        data = get_json(f"{self.prometheus_url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}")
        return data["data"]["result"]

    def prometheus_alerts(self) -> list[dict[str, Any]]:
        return get_json(f"{self.prometheus_url}/api/v1/alerts")["data"]["alerts"]

    def alertmanager_alerts(self, **labels: str) -> list[dict[str, Any]]:
        """Alertmanager's alerts (inhibited and silenced included) with these labels."""
        query = urllib.parse.urlencode([("filter", f'{k}="{v}"') for k, v in labels.items()])
        return get_json(f"{self.alertmanager_url}/api/v2/alerts?{query}")

    def wait_healthy(self, timeout: float = 90) -> None:
        """Every target scraped and up, every probe succeeding: the state faults are injected into."""

        def healthy() -> bool:
            targets = get_json(f"{self.prometheus_url}/api/v1/targets")["data"]["activeTargets"]
            probes = self.query('probe_success{job="blackbox"}')
            return (
                bool(targets) and all(t["health"] == "up" for t in targets) and bool(probes) and all(p["value"][1] == "1" for p in probes)
            )

        wait_for("every target up and every probe succeeding", healthy, timeout, self.running, interval=1)

    def wait_notification(
        self, alertname: str, status: str, labels: Mapping[str, str] | None = None, since: float = 0.0, timeout: float = 180
    ) -> Delivery:
        """The first alert with that name, status and labels delivered to the webhook after `since`.

        Fails early with the daemons' logs if one of them died meanwhile."""

        def alive() -> None:
            for d in self.running:
                if d.proc.poll() is not None:
                    raise AssertionError(f"{d.name} exited with {d.proc.returncode} while waiting for {alertname}:\n{d.log_tail()}")

        return self.receiver.wait(alertname, status, labels, since, timeout, alive)

    def urls(self) -> dict[str, str]:
        out = {
            "prometheus": self.prometheus_url,
            "alertmanager": self.alertmanager_url,
            "blackbox_exporter": self.blackbox_url,
            "webhook receiver (recorded notifications)": self.receiver.url,
        }
        for svc in self.services.values():
            out[f"{svc.namespace}/{svc.name}"] = svc.url
        return out


# --- assembly ------------------------------------------------------------------------


def rendered_objects(profile: Path, workdir: Path) -> list[dict[str, Any]]:
    """Values generated from the profile, rendered by the real Helm: what `helm install` would create."""
    values_dir = workdir / "values"
    generate.write(generate.plan_profile(profile, values_dir))
    return split(helm_template(values=(values_dir / f"{load_profile(profile).name}.yaml",)))


def _scraped_services(profile: Path) -> list[dict[str, Any]]:
    """The profile's services; each runs as one reference service scraped on its /metrics."""
    services = load_profile(profile).data.get("services", [])
    for s in services:
        preset = s.get("telemetry", {}).get("preset", "otel")
        if preset != "prometheus-classic" or "scrape" not in s:
            # OTel-preset services push over OTLP, which the local Prometheus build lacks (rule 7).
            raise ValueError(f"service {s['name']}: the live stack runs scraped prometheus-classic services only (preset {preset!r})")
    return services


def probe_map(prometheus_yml: Mapping[str, Any], addresses: Mapping[str, str]) -> dict[str, str]:
    """In-cluster host:port of every probed Service URL → a loopback address, by
    the Service's host (`<service>.<namespace>.svc` → host:port; loopback rule 9)."""
    mapping: dict[str, str] = {}
    for job in prometheus_yml.get("scrape_configs", []):
        if job.get("metrics_path") != "/probe":
            continue
        for group in job.get("static_configs", []):
            for target in group["targets"]:
                netloc = urllib.parse.urlsplit(target).netloc or target
                host = netloc.rsplit(":", 1)[0]
                if host in addresses:
                    mapping[netloc] = addresses[host]
    return mapping


def _ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as resp:
        return resp.status == 200


@contextmanager
def live_stack(
    workdir: Path,
    profile: Path = LIVE_PROFILE,
    intervals: Mapping[str, str] = SHORTENED_INTERVALS,
    load_rate: float = 5.0,
    ports: Mapping[str, int] | None = None,
    host: str = "127.0.0.1",
) -> Iterator[LiveStack]:
    """Start the stack of `profile` in `workdir`, under load and healthy; stop everything on exit.

    ports may fix "prometheus", "alertmanager", "blackbox", "receiver" and a
    port per service name (the preview does); the rest are free ports.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    ports = dict(ports or {})

    def port(name: str) -> int:
        return ports[name] if name in ports else free_port()

    objects = rendered_objects(profile, workdir)
    services_spec = _scraped_services(profile)
    prom_port, am_port, bb_port = port("prometheus"), port("alertmanager"), port("blackbox")
    prom_addr, am_addr, bb_addr = f"{host}:{prom_port}", f"{host}:{am_port}", f"{host}:{bb_port}"

    receiver = WebhookReceiver(host, ports.get("receiver", 0)).start()
    with daemons() as running:
        try:
            # Reference services first: they are the targets everything else looks at.
            services: dict[str, RunningService] = {}
            for s in services_spec:
                addr = f"{host}:{port(s['name'])}"
                argv = [
                    sys.executable,
                    "-m",
                    "refservice",
                    f"--listen={addr}",
                    f"--service-name={s['name']}",
                    f"--namespace={s['namespace']}",
                    "--metrics-preset=prometheus-classic",
                ]
                daemon = Daemon(f"refservice-{s['name']}", argv, workdir / f"refservice-{s['name']}.log")
                running.append(daemon)
                services[s["name"]] = RunningService(s["name"], s["namespace"], f"http://{addr}", daemon)

            # Blackbox exporter: its rendered module file and Deployment flags.
            bb_config = workdir / "blackbox.yml"
            bb_config.write_text(configmap_file(objects, "obs-blackbox-exporter", "blackbox.yml"))
            bb_args = loopback.blackbox_args(container_args(objects, "Deployment", "obs-blackbox-exporter"), str(bb_config), bb_addr)
            running.append(Daemon("blackbox_exporter", [tool("blackbox_exporter"), *bb_args], workdir / "blackbox.log"))

            # Alertmanager: credential files (rule 10) hold the receiver's URL.
            secrets_dir = workdir / "secrets"
            am_rendered = yaml.safe_load(configmap_file(objects, "obs-alertmanager-config", "alertmanager.yml"))
            am_config = loopback.alertmanager_config(am_rendered, str(secrets_dir))
            for integration, path in loopback.credential_files(am_config):
                target = Path(path)
                target.parent.mkdir(parents=True, exist_ok=True)
                # Webhook (and Slack) credentials are URLs; the path tells the receiver which Secret sent it.
                secret = "/".join(target.relative_to(secrets_dir).parts)
                target.write_text(
                    f"{receiver.url}/{secret}" if integration in ("webhook_configs", "slack_configs") else "loopback-placeholder"
                )
            am_file = workdir / "alertmanager.yml"
            am_file.write_text(yaml.safe_dump(am_config, sort_keys=False))
            am_args = loopback.alertmanager_args(
                container_args(objects, "StatefulSet", "obs-alertmanager"), str(am_file), str(workdir / "alertmanager-data"), am_addr, None
            )
            running.append(Daemon("alertmanager", [tool("alertmanager"), *am_args], workdir / "alertmanager.log"))

            # Prometheus: rules (rules 11, 18), static targets with their Kubernetes labels (rules 1, 8), probes (rule 9).
            rules_dir = workdir / "rules"
            rules_dir.mkdir(exist_ok=True)
            rendered_rules = rule_files(objects)
            # Rule 18: the stack is minutes old, so tickets may not wait for full windows.
            for name, text in loopback.rule_files(rendered_rules, intervals, full_windows=False).items():
                (rules_dir / name).write_text(text)
            prom_rendered = yaml.safe_load(configmap_file(objects, "obs-prometheus-config", "prometheus.yml"))
            targets: dict[str, list[loopback.Target]] = {
                "prometheus": [{"targets": [prom_addr], "labels": {"namespace": "monitoring", "pod": "obs-prometheus-0"}}],
                "alertmanager": [{"targets": [am_addr], "labels": {"namespace": "monitoring", "pod": "obs-alertmanager-0"}}],
                PODS_JOB: [],
            }
            for s in services_spec:
                labels = {"namespace": s["namespace"], "service": s["name"], "pod": f"{s['name']}-0"}
                if s["scrape"].get("path", "/metrics") != "/metrics":
                    labels["__metrics_path__"] = s["scrape"]["path"]  # what the prometheus.io/path annotation sets
                targets[PODS_JOB].append({"targets": [urllib.parse.urlsplit(services[s["name"]].url).netloc], "labels": labels})
            prom_config = loopback.prometheus_config(
                prom_rendered,
                targets=targets,
                alertmanagers=[am_addr],
                rules_dir=str(rules_dir),
                blackbox=bb_addr,
                probe_targets=probe_map(
                    prom_rendered, {f"{s.name}.{s.namespace}.svc": urllib.parse.urlsplit(s.url).netloc for s in services.values()}
                ),
            )
            prom_file = workdir / "prometheus.yml"
            prom_file.write_text(yaml.safe_dump(prom_config, sort_keys=False))
            prom_args = loopback.prometheus_args(
                container_args(objects, "StatefulSet", "obs-prometheus"),
                str(prom_file),
                str(workdir / "tsdb"),
                prom_addr,
                unsupported=unsupported_prometheus_flags(),
            )
            prom_env = {**os.environ, "POD_NAME": "obs-prometheus-0"}
            running.append(Daemon("prometheus", [tool("prometheus"), *prom_args], workdir / "prometheus.log", prom_env))

            for s in services.values():
                wait_for(f"{s.name} to serve", lambda u=s.url: _ok(f"{u}/health"), READY_TIMEOUT, running)
            wait_for("blackbox_exporter ready", lambda: _ok(f"http://{bb_addr}/-/healthy"), READY_TIMEOUT, running)
            wait_for("alertmanager ready", lambda: _ok(f"http://{am_addr}/-/ready"), READY_TIMEOUT, running)
            wait_for("prometheus ready", lambda: _ok(f"http://{prom_addr}/-/ready"), READY_TIMEOUT, running)

            stack = LiveStack(
                workdir=workdir,
                profile=profile,
                prometheus_url=f"http://{prom_addr}",
                alertmanager_url=f"http://{am_addr}",
                blackbox_url=f"http://{bb_addr}",
                receiver=receiver,
                services=services,
                running=running,
                rendered={"prometheus.yml": prom_rendered, "alertmanager.yml": am_rendered, "rules": rendered_rules},
                load_rate=load_rate,
            )
            stack.start_load()
            try:
                yield stack
            finally:
                stack.stop_load()
        finally:
            receiver.stop()
