"""The telemetry pipeline live on loopback, with the configs the chart renders.

The reference service (pod `checkout` of namespace `shop`) sends OTLP traces
to the real agent and writes JSON log lines to stdout, which the test writes
to a CRI-format file under a stand-in of /var/log/pods, as the container
runtime would. The agent (loopback rules 13–15 and 17: its k8s_attributes
reads the suite's API server, where the pod exists) sends to the real gateway,
which tail-samples traces (enterprise) into the real Jaeger and sends logs to
an OTLP sink standing in for Loki's /otlp endpoint (a second collector writing
what arrives to a file). Asserted: traces arrive with the service name; error
traces are kept and health checks dropped; log records carry the trace
context, Kubernetes resource attributes and their parsed severity; a
restarted agent resumes from its file_storage offsets, losing and repeating
no line.

Metrics: an OTLP counter sent to the agent, as an instrumented app sends it,
goes through the gateway to the OTLP receiver (/api/v1/otlp) of both
Prometheus replicas, each addressed by its pod's name, and is queried back
from each under the name PromQL users will write. Debian's Prometheus
build lacks the receiver (loopback rule 7), so this Prometheus is the
upstream release built from its module (`prometheus-otlp`), run with the
rendered flags and config.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from obsgen import generate, loopback
from tests import test_otel_collector as subchart
from tests.support import otelcol
from tests.support.apiserver import api_server
from tests.support.processes import Daemon, daemons, free_port, get_json, wait_for
from tests.support.render import configmap_file, container_args, helm_template, split
from tests.support.tools import ROOT, tool

pytestmark = [pytest.mark.engine, pytest.mark.e2e]

PROFILE = {"name": "pipeline", "extends": "enterprise", "traces": {"backend": "jaeger"}}
AGENT_IP, GATEWAY_IP, SINK_IP = "127.0.0.2", "127.0.0.3", "127.0.0.4"
POD_NAMESPACE, POD_NAME, CONTAINER = "shop", "checkout-7d9f8-abcde", "app"
ORDERS = 42  # the counter's value, sent once


def _otlp_counter(now_ns: int) -> dict[str, Any]:
    """One cumulative monotonic sum, as an OTel SDK exports a Counter (OTLP/JSON), with the
    resource the instrumentation library's env gives an app (OTEL_SERVICE_NAME, the downward API)."""

    def attribute(key: str, value: str) -> dict[str, Any]:
        return {"key": key, "value": {"stringValue": value}}

    point = {"asInt": str(ORDERS), "startTimeUnixNano": str(now_ns - 10**9), "timeUnixNano": str(now_ns),
             "attributes": [attribute("outcome", "paid")]}  # fmt: skip
    resource = [attribute("service.name", "checkout"), attribute("k8s.namespace.name", POD_NAMESPACE), attribute("k8s.pod.name", POD_NAME)]
    metric = {"name": "checkout.orders", "sum": {"aggregationTemporality": 2, "isMonotonic": True, "dataPoints": [point]}}
    return {"resourceMetrics": [{"resource": {"attributes": resource}, "scopeMetrics": [{"metrics": [metric]}]}]}


def _workload_env(objects, name: str) -> list[dict[str, Any]]:
    (workload,) = [o for o in objects if o["metadata"]["name"] == name and o["kind"] in ("DaemonSet", "Deployment", "StatefulSet")]
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    return container.get("env", [])


class CriWriter:
    """Writes a process's stdout lines to a pod log file in CRI format, as the container runtime does."""

    def __init__(self, proc: subprocess.Popen, path: Path):
        self.lines: list[dict[str, Any]] = []
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", buffering=1)
        self._thread = threading.Thread(target=self._copy, args=(proc,), daemon=True)
        self._thread.start()

    def _copy(self, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            self._file.write(f"{stamp} stdout F {line.rstrip()}\n")
            try:
                self.lines.append(json.loads(line))
            except ValueError:
                pass


def _sink_records(path: Path) -> list[dict[str, Any]]:
    """Every log record the sink wrote (file exporter: one OTLP JSON document per line)."""
    records = []
    if not path.exists():
        return records
    for line in path.read_text().splitlines():
        for resource_logs in json.loads(line).get("resourceLogs", []):
            resource = {a["key"]: next(iter(a["value"].values())) for a in resource_logs.get("resource", {}).get("attributes", [])}
            for scope in resource_logs.get("scopeLogs", []):
                for record in scope.get("logRecords", []):
                    attributes = {a["key"]: next(iter(a["value"].values())) for a in record.get("attributes", [])}
                    records.append({**record, "resource": resource, "attrs": attributes})
    return records


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pipeline")
    (tmp / "profile").mkdir()
    profile = tmp / "profile" / "pipeline.yaml"
    profile.write_text(yaml.safe_dump(PROFILE))
    generate.write(generate.plan_profile(profile, tmp))
    return split(helm_template(values=(tmp / "pipeline.yaml",)))


def test_the_live_pipeline(rendered, tmp_path):
    objects = rendered
    agent_cfg, gateway_cfg = subchart.config_of(objects, "agent"), subchart.config_of(objects, "gateway")
    (jaeger_cm,) = [o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "obs-jaeger-config"]
    jaeger_cfg = yaml.safe_load(jaeger_cm["data"]["config.yaml"])
    assert "tail_sampling" in gateway_cfg["processors"], "the enterprise gateway tail-samples"

    with api_server(tmp_path / "apiserver") as server, daemons() as started:
        server.create_namespace(POD_NAMESPACE)
        # No controller-manager creates the namespace's default ServiceAccount, which admission requires.
        account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}}
        assert server.request("POST", f"/api/v1/namespaces/{POD_NAMESPACE}/serviceaccounts", account).status == 201
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": POD_NAME, "labels": {"app.kubernetes.io/name": "checkout"}},
            "spec": {"nodeName": loopback.FIELD_STAND_INS["spec.nodeName"], "containers": [{"name": CONTAINER, "image": "checkout:1"}]},
        }
        created = server.request("POST", f"/api/v1/namespaces/{POD_NAMESPACE}/pods", pod)
        assert created.status == 201, created.body
        uid = created.body["metadata"]["uid"]

        # Jaeger (rule 16) and the sink.
        jaeger_ports = {port: free_port() for port in loopback.jaeger_listen_ports(jaeger_cfg)}
        jaeger_local = loopback.jaeger_config(jaeger_cfg, str(tmp_path / "jaeger-data"), jaeger_ports)
        (tmp_path / "jaeger.yaml").write_text(yaml.safe_dump(jaeger_local))
        started.append(Daemon("jaeger", [tool("jaeger"), f"--config=file:{tmp_path / 'jaeger.yaml'}"], tmp_path / "jaeger.log"))
        query = jaeger_ports[16686]
        sink_out = tmp_path / "sink.jsonl"
        sink = {
            "receivers": {"otlp": {"protocols": {"http": {"endpoint": f"{SINK_IP}:4318", "logs_url_path": "/otlp/v1/logs"}}}},
            "exporters": {"file": {"path": str(sink_out), "flush_interval": "100ms"}},
            "service": {
                "pipelines": {"logs": {"receivers": ["otlp"], "exporters": ["file"]}},
                "telemetry": {"metrics": {"level": "none"}},
            },
        }
        (tmp_path / "sink.yaml").write_text(yaml.safe_dump(sink))
        started.append(Daemon("sink", [tool("otelcol-sink"), f"--config=file:{tmp_path / 'sink.yaml'}"], tmp_path / "sink.log"))

        # Every Prometheus replica with the OTLP receiver, on the rendered flags
        # and config (no scrape target is local), addressed by its pod's name.
        (tmp_path / "rules").mkdir()
        rendered_prom = yaml.safe_load(configmap_file(objects, "obs-prometheus-config", "prometheus.yml"))
        prom_config = tmp_path / "prometheus.yml"
        prom_config.write_text(yaml.safe_dump(loopback.prometheus_config(rendered_prom, {}, [], str(tmp_path / "rules"))))
        prom_flags = container_args(objects, "StatefulSet", "obs-prometheus")
        assert "--web.enable-otlp-receiver" in prom_flags
        (prom_sts,) = [o for o in objects if o["kind"] == "StatefulSet" and o["metadata"]["name"] == "obs-prometheus"]
        replicas = prom_sts["spec"]["replicas"]
        assert replicas == 2, "the enterprise tier runs an HA pair"
        proms, pod_addresses = [], {}
        for i in range(replicas):
            pod, port = f"{prom_sts['metadata']['name']}-{i}", free_port()
            prom_args = loopback.prometheus_args(prom_flags, str(prom_config), str(tmp_path / f"tsdb-{i}"), f"127.0.0.1:{port}")
            prom_env = {"PATH": "/usr/bin:/bin", "POD_NAME": pod}
            started.append(Daemon(pod, [tool("prometheus-otlp"), *prom_args], tmp_path / f"{pod}.log", prom_env))
            proms.append(f"http://127.0.0.1:{port}")
            pod_addresses[f"{pod}.{prom_sts['spec']['serviceName']}.monitoring.svc:9090"] = f"127.0.0.1:{port}"

        # Rule 15: every in-cluster address the collectors' env names, on loopback.
        addresses = {
            "obs-otel-collector-gateway-headless.monitoring.svc": GATEWAY_IP,
            "obs-otel-collector-gateway.monitoring.svc": GATEWAY_IP,
            "obs-jaeger.monitoring.svc:4317": f"127.0.0.1:{jaeger_ports[4317]}",
            "obs-loki-write.monitoring.svc:3100": f"{SINK_IP}:4318",
            "obs-loki.monitoring.svc:3100": f"{SINK_IP}:4318",
            **pod_addresses,
        }
        host = tmp_path / "host"

        def collector(name: str, cfg: dict[str, Any], env: list[dict[str, Any]], ip: str) -> Daemon:
            local = loopback.collector_config(cfg, str(host), addresses, kubeconfig=True)
            for ext in (local.get("extensions") or {}).values():
                if isinstance(ext, dict) and "directory" in ext:
                    Path(ext["directory"]).mkdir(parents=True, exist_ok=True)
            path = tmp_path / f"{name}.yaml"
            path.write_text(yaml.safe_dump(local))
            process_env = otelcol.process_env({**loopback.collector_env(env, addresses, pod_ip=ip), "KUBECONFIG": str(server.kubeconfig)})
            return Daemon(name, [tool("otelcol"), f"--config=file:{path}"], tmp_path / f"{name}-{len(started)}.log", env=process_env)

        gateway = collector("gateway", gateway_cfg, _workload_env(objects, "obs-otel-collector-gateway"), GATEWAY_IP)
        started.append(gateway)
        agent_env = _workload_env(objects, "obs-otel-collector-agent")
        agent = collector("agent", agent_cfg, agent_env, AGENT_IP)
        started.append(agent)
        for ip in (AGENT_IP, GATEWAY_IP):
            wait_for(f"collector health on {ip}", lambda ip=ip: _get(f"http://{ip}:13133/") == 200, 60, started)
        wait_for("jaeger", lambda: get_json(f"http://127.0.0.1:{query}/api/services") is not None, 60, started)
        for prom in proms:
            wait_for(f"prometheus {prom}", lambda prom=prom: _get(f"{prom}/-/ready") == 200, 60, started)

        # Metrics: app → agent → gateway → Prometheus' OTLP receiver.
        body = json.dumps(_otlp_counter(int(datetime.now(UTC).timestamp() * 1e9))).encode()
        push = urllib.request.Request(f"http://{AGENT_IP}:4318/v1/metrics", data=body, headers={"Content-Type": "application/json"})
        assert urllib.request.urlopen(push, timeout=10).status == 200

        def orders(prom: str):
            found = get_json(f"{prom}/api/v1/query?query=checkout_orders_total")["data"]["result"]
            return found or None

        # On every replica of the HA pair (through the Service, one of them
        # would have it), with the labels the RED recordings select on, as a
        # scraped series would have them.
        for prom in proms:
            (series,) = wait_for(f"the OTLP counter in {prom}", lambda prom=prom: orders(prom), 60, started)
            assert series["value"][1] == str(ORDERS)
            labels = series["metric"]
            assert (labels["service"], labels["namespace"], labels["pod"]) == ("checkout", POD_NAMESPACE, POD_NAME), labels
            assert labels["job"] == "checkout" and labels["outcome"] == "paid", labels

        # The reference service, its stdout as the pod's log file.
        port = free_port()
        service = subprocess.Popen(
            [sys.executable, "-m", "refservice", "--listen", f"127.0.0.1:{port}", "--service-name", "checkout",
             "--namespace", POD_NAMESPACE, "--otlp-endpoint", f"http://{AGENT_IP}:4318"],
            cwd=ROOT / "reference-service", stdout=subprocess.PIPE, text=True,
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{ROOT / 'reference-service'}:{ROOT / 'generator'}",
                 "OTEL_BSP_SCHEDULE_DELAY": "200"},
        )  # fmt: skip
        try:
            log_file = host / "var/log/pods" / f"{POD_NAMESPACE}_{POD_NAME}_{uid}" / CONTAINER / "0.log"
            writer = CriWriter(service, log_file)
            base = f"http://127.0.0.1:{port}"
            wait_for("the reference service", lambda: _get(f"{base}/health") == 200, 30)
            for _ in range(5):
                assert _get(f"{base}/health") == 200
            statuses = Counter(_get(f"{base}/api/items") for _ in range(10))
            faults = urllib.request.Request(f"{base}/admin/faults", data=b'{"error_ratio": 1.0}', method="POST")
            urllib.request.urlopen(faults, timeout=5)
            statuses += Counter(_get(f"{base}/api/items") for _ in range(5))
            assert statuses[500] == 5, statuses

            # Traces: kept by the tail sampler when they failed, never when they were health checks.
            def error_traces():
                found = get_json(f"http://127.0.0.1:{query}/api/traces?service=checkout&tags=%7B%22error%22%3A%22true%22%7D&limit=50")
                return found["data"] if len(found["data"] or []) >= 5 else None

            traces = wait_for("5 error traces in Jaeger", error_traces, 90, started)
            assert len(traces) == 5
            everything = get_json(f"http://127.0.0.1:{query}/api/traces?service=checkout&limit=500")["data"]
            paths = {tag["value"] for t in everything for s in t["spans"] for tag in s["tags"] if tag["key"] == "url.path"}
            assert "/api/items" in paths and "/health" not in paths, f"tail sampling kept {sorted(paths)}"

            # Logs: every request line reached the sink, once, with trace context, pod and severity.
            def all_logged():
                wanted = {line["correlation_id"] for line in writer.lines if line.get("msg") == "request"}
                got = [r for r in _sink_records(sink_out) if r["attrs"].get("msg") == "request"]
                return got if wanted and {r["attrs"]["correlation_id"] for r in got} >= wanted else None

            records = wait_for("every request line in the sink", all_logged, 90, started)
            error = next(r for r in records if r["attrs"]["status"] == 500)
            assert error["severityText"] == "error" and error["severityNumber"] == 17, error
            assert error["traceId"] == error["attrs"]["trace_id"] and error["spanId"] == error["attrs"]["span_id"]
            resource = error["resource"]
            assert resource["k8s.pod.name"] == POD_NAME and resource["k8s.namespace.name"] == POD_NAMESPACE
            assert resource["k8s.pod.uid"] == uid and resource["k8s.container.name"] == CONTAINER
            assert resource["k8s.node.name"] == loopback.FIELD_STAND_INS["spec.nodeName"], "k8s_attributes read the pod from the API"

            # Restart: lines written while the agent is down arrive once, after it resumes.
            agent.stop()
            started.remove(agent)
            statuses += Counter(_get(f"{base}/api/items") for _ in range(4))
            restarted = collector("agent", agent_cfg, agent_env, AGENT_IP)
            started.append(restarted)
            records = wait_for("the lines written while the agent was down", all_logged, 90, started)
            counts = Counter(r["attrs"]["correlation_id"] for r in records)
            assert set(counts.values()) == {1}, f"repeated lines: {[c for c, n in counts.items() if n > 1]}"
            assert len(counts) == len([line for line in writer.lines if line.get("msg") == "request"])
        finally:
            service.terminate()
            service.wait(timeout=10)
