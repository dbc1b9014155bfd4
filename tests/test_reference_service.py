"""The reference service (reference-service/refservice) as the live tests use
it: a subprocess on loopback, its metrics named by the telemetry contract,
its spans received by an OTLP/HTTP sink, its logs tying the two together,
and its faults switched at run time.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest, ExportTraceServiceResponse
from prometheus_client.parser import text_string_to_metric_families

from obsgen.telemetry import PRESETS
from tests.support.processes import Daemon, free_port, wait_for

# --- helpers -----------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def call(port: int, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None, raw: bytes | None = None) -> Reply:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        conn.request(method, path, body=payload, headers=headers or {})
        resp = conn.getresponse()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def _value(any_value: Any) -> Any:
    return getattr(any_value, any_value.WhichOneof("value"))


class OtlpSink:
    """A stand-in OTLP/HTTP receiver: keeps every span POSTed to /v1/traces."""

    def __init__(self) -> None:
        self.spans: list[tuple[dict[str, Any], Any]] = []  # (resource attributes, Span)
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                request = ExportTraceServiceRequest()
                request.ParseFromString(self.rfile.read(int(self.headers["Content-Length"])))
                with sink._lock:
                    for rs in request.resource_spans:
                        resource = {kv.key: _value(kv.value) for kv in rs.resource.attributes}
                        sink.spans.extend((resource, span) for ss in rs.scope_spans for span in ss.spans)
                body = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200 if self.path == "/v1/traces" else 404)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def by_trace(self, trace_id: str) -> list[tuple[dict[str, Any], Any]]:
        with self._lock:
            return [(r, s) for r, s in self.spans if s.trace_id.hex() == trace_id]

    def wait_for_trace(self, trace_id: str, spans: int) -> list[tuple[dict[str, Any], Any]]:
        return wait_for(f"{spans} spans of trace {trace_id}", lambda: len(self.by_trace(trace_id)) >= spans and self.by_trace(trace_id), 10)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Service:
    def __init__(self, tmp: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        # OTEL_* from the caller's environment must not redirect or reconfigure export.
        clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        self.log = tmp / f"refservice-{self.port}.log"
        argv = [sys.executable, "-m", "refservice", "--listen", f"127.0.0.1:{self.port}", *args]
        self.daemon = Daemon("refservice", argv, self.log, env={**clean, **(env or {})})
        wait_for("refservice /health", lambda: call(self.port, "GET", "/health").status == 200, 20, [self.daemon], interval=0.1)

    def lines(self) -> list[dict[str, Any]]:
        self.daemon._fh.flush()
        # stdout and stderr share the file: any non-JSON line fails here.
        return [json.loads(line) for line in self.log.read_text().splitlines() if line]

    def log_of(self, correlation_id: str) -> dict[str, Any]:
        return wait_for(
            f"log line {correlation_id}",
            lambda: next((r for r in self.lines() if r.get("correlation_id") == correlation_id), None),
            5,
            [self.daemon],
            interval=0.05,
        )

    def metrics(self) -> dict[str, Any]:
        reply = call(self.port, "GET", "/metrics")
        assert reply.status == 200
        return {f.name: f for f in text_string_to_metric_families(reply.body.decode())}

    def faults(self, **changes: Any) -> Reply:
        return call(self.port, "POST", "/admin/faults", changes)


def sample_value(families: dict[str, Any], sample_name: str, **labels: str) -> float:
    """Value of the one sample with exactly this name and these label values (0 if absent)."""
    found = [s.value for f in families.values() for s in f.samples if s.name == sample_name and s.labels == labels]
    assert len(found) <= 1, found
    return found[0] if found else 0.0


@pytest.fixture(scope="module")
def sink() -> Iterator[OtlpSink]:
    s = OtlpSink()
    yield s
    s.close()


@pytest.fixture(scope="module")
def svc(tmp_path_factory, sink) -> Iterator[Service]:
    """One exporting service for the module; tests that change faults restore them."""
    s = Service(
        tmp_path_factory.mktemp("refservice"),
        "--service-name=checkout",
        "--namespace=shop",
        f"--otlp-endpoint={sink.url}",
        env={"OTEL_BSP_SCHEDULE_DELAY": "100"},  # export within a fraction of a second, not the default 5 s
    )
    yield s
    s.daemon.stop()


@pytest.fixture
def faults_reset(svc) -> Iterator[Service]:
    yield svc
    assert svc.faults(error_ratio=0.0, latency_ms=0, down=False).status == 200


# --- routes ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/health", "/health/ready", "/health/live"])
def test_health_endpoints(svc, path):
    reply = call(svc.port, "GET", path)
    assert (reply.status, reply.json()) == (200, {"status": "ok"})


def test_routes_answer_with_their_status_codes(svc):
    items = call(svc.port, "GET", "/api/items")
    assert items.status == 200 and len(items.json()["items"]) == 20
    one = call(svc.port, "GET", "/api/items/7")
    assert one.status == 200 and one.json()["id"] == 7
    assert call(svc.port, "GET", "/api/items/9999").status == 404
    assert call(svc.port, "GET", "/api/items/seven").status == 404
    order = call(svc.port, "POST", "/api/orders", {"items": [{"id": 7, "quantity": 1}]})
    assert order.status == 201 and order.json()["items"] == [{"id": 7, "quantity": 1}]
    assert call(svc.port, "POST", "/api/orders", raw=b"{not json").status == 400
    assert call(svc.port, "POST", "/api/items").status == 405
    assert call(svc.port, "GET", "/nowhere").status == 404


# --- metrics -----------------------------------------------------------------------


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_metrics_follow_the_telemetry_contract(tmp_path, preset):
    contract = PRESETS[preset]
    s = Service(tmp_path, f"--metrics-preset={preset}")
    try:
        for path in ("/api/items/1", "/api/items/2", "/api/items/404"):
            call(s.port, "GET", path)
        call(s.port, "POST", "/api/orders", {})
        families = s.metrics()
    finally:
        s.daemon.stop()

    def labels(route: str, status: int, method: str = "GET") -> dict[str, str]:
        return {contract.method: method, contract.route: route, contract.status: str(status)}

    duration = families[contract.duration]
    assert duration.type == "histogram"
    if preset == "otel":
        # The request count is the histogram's _count: no other family exists.
        assert set(families) == {contract.duration} and contract.requests == f"{contract.duration}_count"
    else:
        assert set(families) == {contract.duration, contract.requests.removesuffix("_total")}
        assert families[contract.requests.removesuffix("_total")].type == "counter"
    requests = contract.requests
    assert sample_value(families, requests, **labels("/api/items/{id}", 200)) == 2
    assert sample_value(families, requests, **labels("/api/items/{id}", 404)) == 1
    assert sample_value(families, requests, **labels("/api/orders", 201, "POST")) == 1
    assert sample_value(families, f"{contract.duration}_count", **labels("/api/items/{id}", 200)) == 2
    # Every series carries exactly the contract's labels, routes are templates.
    for family in families.values():
        for sample in family.samples:
            assert set(sample.labels) - {"le"} == {contract.method, contract.route, contract.status}, sample
            assert not re.search(r"/\d", sample.labels[contract.route]), sample
    bounds = {float(s.labels["le"]) for s in duration.samples if s.name.endswith("_bucket")}
    assert bounds == {*contract.buckets, float("inf")}


# --- logs and traces ---------------------------------------------------------------

HEX32, HEX16 = re.compile(r"[0-9a-f]{32}"), re.compile(r"[0-9a-f]{16}")


def test_log_lines_carry_ids_and_correlation_id_round_trips(svc):
    given = f"corr-{uuid.uuid4().hex[:8]}"
    reply = call(svc.port, "GET", "/api/items/3", headers={"X-Correlation-ID": given})
    assert reply.headers["x-correlation-id"] == given
    line = svc.log_of(given)
    assert {k: line[k] for k in ("level", "msg", "service", "method", "route", "status")} == {
        "level": "info",
        "msg": "request",
        "service": "checkout",
        "method": "GET",
        "route": "/api/items/{id}",
        "status": 200,
    }
    assert HEX32.fullmatch(line["trace_id"]) and line["trace_id"] != "0" * 32
    assert HEX16.fullmatch(line["span_id"]) and line["span_id"] != "0" * 16
    assert line["time"].endswith("Z") and datetime.fromisoformat(line["time"]).utcoffset().total_seconds() == 0
    assert isinstance(line["duration_ms"], float | int) and line["duration_ms"] >= 0

    # Without the header the service makes one up and tells the caller.
    minted = call(svc.port, "GET", "/health").headers["x-correlation-id"]
    assert uuid.UUID(minted).version == 4
    assert svc.log_of(minted)["route"] == "/health"
    assert svc.lines()[0]["msg"] == "listening"


def test_spans_are_exported_with_the_ids_the_logs_carry(svc, sink):
    given = f"corr-{uuid.uuid4().hex[:8]}"
    call(svc.port, "GET", "/api/items/5", headers={"X-Correlation-ID": given})
    line = svc.log_of(given)
    spans = sink.wait_for_trace(line["trace_id"], 2)
    by_name = {s.name: (resource, s) for resource, s in spans}
    assert set(by_name) == {"GET /api/items/{id}", "db.query"}
    resource, server = by_name["GET /api/items/{id}"]
    assert server.span_id.hex() == line["span_id"]
    assert server.kind == server.SPAN_KIND_SERVER
    attributes = {kv.key: _value(kv.value) for kv in server.attributes}
    assert attributes["http.route"] == "/api/items/{id}"
    assert attributes["http.request.method"] == "GET"
    assert attributes["http.response.status_code"] == 200
    assert attributes["url.path"] == "/api/items/5"
    assert by_name["db.query"][1].parent_span_id == server.span_id
    assert resource["service.name"] == "checkout" and resource["k8s.namespace.name"] == "shop"


def test_incoming_trace_context_is_continued(svc):
    trace_id, parent = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    given = f"corr-{uuid.uuid4().hex[:8]}"
    call(svc.port, "GET", "/api/items", headers={"X-Correlation-ID": given, "traceparent": f"00-{trace_id}-{parent}-01"})
    line = svc.log_of(given)
    assert line["trace_id"] == trace_id and line["span_id"] != parent


def test_sigterm_flushes_queued_spans(tmp_path, sink):
    # A minute-long batch delay: the span can only reach the sink through the shutdown flush.
    s = Service(tmp_path, f"--otlp-endpoint={sink.url}", env={"OTEL_BSP_SCHEDULE_DELAY": "60000"})
    given = f"corr-{uuid.uuid4().hex[:8]}"
    call(s.port, "GET", "/api/items", headers={"X-Correlation-ID": given})
    trace_id = s.log_of(given)["trace_id"]
    assert sink.by_trace(trace_id) == []
    s.daemon.stop()
    assert s.daemon.proc.returncode == 0
    assert len(sink.by_trace(trace_id)) == 2
    assert [json.loads(x)["msg"] for x in s.log.read_text().splitlines()][-1] == "stopped"


# --- faults ------------------------------------------------------------------------


def test_error_ratio_one_fails_every_api_request_and_is_counted(faults_reset, sink):
    svc = faults_reset
    c = PRESETS["prometheus-classic"]
    labels = {c.method: "GET", c.route: "/api/items", c.status: "500"}
    before = sample_value(svc.metrics(), c.requests, **labels)
    assert svc.faults(error_ratio=1.0).json() == {"error_ratio": 1.0, "latency_ms": 0, "down": False}
    assert [call(svc.port, "GET", "/api/items").status for _ in range(3)] == [500, 500, 500]
    assert call(svc.port, "GET", "/health").status == 200  # only /api/* fails
    assert sample_value(svc.metrics(), c.requests, **labels) == before + 3
    given = f"corr-{uuid.uuid4().hex[:8]}"
    call(svc.port, "GET", "/api/items", headers={"X-Correlation-ID": given})
    line = svc.log_of(given)
    assert (line["status"], line["level"]) == (500, "error")
    # The trace marks the failure too, on the server span and on the child where it was injected.
    spans = sink.wait_for_trace(line["trace_id"], 2)
    for _, span in spans:
        assert span.status.code == span.status.STATUS_CODE_ERROR, span.name
    (server,) = [s for _, s in spans if s.name == "GET /api/items"]
    assert {kv.key: _value(kv.value) for kv in server.attributes}["http.response.status_code"] == 500


def test_latency_is_added_to_api_requests(faults_reset):
    svc = faults_reset
    c = PRESETS["prometheus-classic"]
    labels = {c.method: "GET", c.route: "/api/items/{id}", c.status: "200"}
    families = svc.metrics()
    fast_before = sample_value(families, f"{c.duration}_bucket", le="0.25", **labels)
    all_before = sample_value(families, f"{c.duration}_count", **labels)
    assert svc.faults(latency_ms=300).json()["latency_ms"] == 300
    given = f"corr-{uuid.uuid4().hex[:8]}"
    assert call(svc.port, "GET", "/api/items/1", headers={"X-Correlation-ID": given}).status == 200
    # Lower bounds only: the sleep guarantees them, however slow the machine.
    assert svc.log_of(given)["duration_ms"] >= 300
    families = svc.metrics()
    assert sample_value(families, f"{c.duration}_count", **labels) == all_before + 1
    assert sample_value(families, f"{c.duration}_bucket", le="0.25", **labels) == fast_before


def test_down_answers_503_everywhere_but_the_fault_switch(faults_reset):
    svc = faults_reset
    assert svc.faults(down=True).json()["down"] is True
    for path in ("/metrics", "/health", "/health/ready", "/health/live", "/api/items"):
        assert call(svc.port, "GET", path).status == 503, path
    assert call(svc.port, "POST", "/api/orders", {}).status == 503
    state = call(svc.port, "GET", "/admin/faults")
    assert (state.status, state.json()["down"]) == (200, True)
    svc.faults(down=False)
    assert call(svc.port, "GET", "/health").status == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"error_ratio": 1.5}, "error_ratio"),
        ({"error_ratio": True}, "error_ratio"),
        ({"latency_ms": -1}, "latency_ms"),
        ({"latency_ms": 2.5}, "latency_ms"),
        ({"down": "yes"}, "down"),
        ({"latency_ms": 10, "down": 1}, "down"),
        ({"colour": "red"}, "colour"),
        ([1], "body"),
    ],
)
def test_invalid_fault_updates_are_rejected_whole(faults_reset, body, field):
    svc = faults_reset
    reply = svc.faults(**body) if isinstance(body, dict) else call(svc.port, "POST", "/admin/faults", body)
    assert reply.status == 400
    assert field in reply.json()["error"]
    assert call(svc.port, "GET", "/admin/faults").json() == {"error_ratio": 0.0, "latency_ms": 0, "down": False}


def test_admin_requests_are_neither_counted_nor_logged(svc):
    # An API call of its own: under xdist the module's other tests may run on another worker.
    call(svc.port, "GET", "/api/items")
    call(svc.port, "GET", "/admin/faults")
    call(svc.port, "POST", "/admin/faults", {})
    routes = {s.labels["route"] for f in svc.metrics().values() for s in f.samples}
    assert "/api/items" in routes and not any("admin" in r for r in routes)
    assert not any("admin" in str(line.get("route", "")) for line in svc.lines())


# --- load generator ----------------------------------------------------------------


def test_load_generator_sends_the_mix_at_the_rate(svc):
    from refservice.load import run_load

    result = run_load(f"http://127.0.0.1:{svc.port}", rate=40, duration=1.0)
    # Open loop: the count is fixed by rate × duration, whatever the latencies.
    assert result.requests == 40
    assert set(result.statuses) == {200, 201} and result.statuses[201] == 4
    assert len(result.latencies) == 40 and result.percentile(95) >= result.percentile(50) > 0


def test_load_generator_stops_on_the_event(svc):
    from refservice.load import run_load

    stop = threading.Event()
    results = []
    runner = threading.Thread(target=lambda: results.append(run_load(f"http://127.0.0.1:{svc.port}", rate=20, duration=None, stop=stop)))
    runner.start()
    seen = len(svc.lines())
    wait_for("some load", lambda: len(svc.lines()) > seen + 3, 10, interval=0.05)
    stop.set()
    runner.join(timeout=10)
    assert not runner.is_alive() and results[0].requests > 0


# --- configuration -----------------------------------------------------------------


def test_identity_comes_from_flags_then_otel_env_then_defaults(monkeypatch):
    from refservice.telemetry import resolve_identity, traces_endpoint

    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    assert resolve_identity(None, None) == ("refservice", "default")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-env")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "k8s.namespace.name=env-ns")
    assert resolve_identity(None, None) == ("from-env", "env-ns")
    assert resolve_identity("flag", "flag-ns") == ("flag", "flag-ns")
    assert traces_endpoint("http://collector:4318") == "http://collector:4318/v1/traces"
    assert traces_endpoint("http://collector:4318/v1/traces") == "http://collector:4318/v1/traces"
