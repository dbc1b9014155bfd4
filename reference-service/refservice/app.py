"""The reference service's HTTP side: routes, run-time faults, and the span,
metrics and JSON log line of every request.

Only the standard library's threading HTTP server is used, so what the
overhead benchmark measures is the instrumentation, not a framework.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import sys
import threading
import time
import uuid
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry import trace
from opentelemetry.propagate import extract
from opentelemetry.trace import SpanKind, Status, StatusCode
from prometheus_client import CONTENT_TYPE_LATEST

from .telemetry import RequestMetrics

JSON = "application/json"
ITEMS = [{"id": i, "name": f"item-{i}", "price_cents": 100 * i + 99, "tags": ["reference", f"group-{i % 4}"]} for i in range(1, 21)]
ITEMS_BY_ID = {item["id"]: item for item in ITEMS}
ITEM_PATH = re.compile(r"/api/items/([^/]+)")
# Route templates and the one method each answers; the template is the
# route label, so a path outside this table must never become one.
ROUTES = {
    "/api/items": "GET",
    "/api/items/{id}": "GET",
    "/api/orders": "POST",
    "/health": "GET",
    "/health/ready": "GET",
    "/health/live": "GET",
    "/metrics": "GET",
}
UNMATCHED = "unmatched"
FAULTS_PATH = "/admin/faults"
# Logged when a request has no span (--no-instrumentation): same width as real ids.
NO_TRACE, NO_SPAN = "0" * 32, "0" * 16
OK = b'{"status":"ok"}'
DB_ITEMS = {"db.system.name": "other_sql", "db.operation.name": "SELECT", "db.collection.name": "items"}
DB_ORDERS = {"db.system.name": "other_sql", "db.operation.name": "INSERT", "db.collection.name": "orders"}
DOWN = b'{"status":"down"}'


def route_of(path: str) -> str:
    if path in ROUTES:
        return path
    if ITEM_PATH.fullmatch(path):
        return "/api/items/{id}"
    return UNMATCHED


class FaultError(ValueError):
    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name


@dataclass
class Faults:
    error_ratio: float = 0.0
    latency_ms: int = 0
    down: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"error_ratio": self.error_ratio, "latency_ms": self.latency_ms, "down": self.down}

    def update(self, changes: Any) -> dict[str, Any]:
        """Apply a subset of the fields; all are validated before any is applied."""
        if not isinstance(changes, dict):
            raise FaultError("body", "must be a JSON object with error_ratio, latency_ms and/or down")
        for key, value in changes.items():
            # bool is an int subclass: reject true/false where a number is expected.
            if key == "error_ratio":
                if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                    raise FaultError(key, f"must be a number between 0 and 1, got {value!r}")
            elif key == "latency_ms":
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise FaultError(key, f"must be an integer >= 0, got {value!r}")
            elif key == "down":
                if not isinstance(value, bool):
                    raise FaultError(key, f"must be true or false, got {value!r}")
            else:
                raise FaultError(key, "unknown field (expected error_ratio, latency_ms, down)")
        with self._lock:
            for key, value in changes.items():
                setattr(self, key, float(value) if key == "error_ratio" else value)
        return self.snapshot()


@dataclass
class App:
    """Everything a request handler shares. tracer and metrics are None without instrumentation."""

    service: str
    namespace: str
    faults: Faults
    tracer: trace.Tracer | None
    metrics: RequestMetrics | None
    rng: random.Random = field(default_factory=random.Random)
    orders: itertools.count = field(default_factory=lambda: itertools.count(1))
    _log_lock: threading.Lock = field(default_factory=threading.Lock)

    def log(self, record: dict[str, Any]) -> None:
        """One JSON object per line on stdout, flushed so a log shipper or test sees it at once."""
        record = {"time": rfc3339_now(), **record}
        line = json.dumps(record, separators=(",", ":")) + "\n"
        with self._log_lock:
            sys.stdout.write(line)
            sys.stdout.flush()

    def child_span(self, name: str, attributes: dict[str, str]) -> AbstractContextManager[Any]:
        if self.tracer is None:
            return nullcontext()
        return self.tracer.start_as_current_span(name, kind=SpanKind.CLIENT, attributes=attributes)


def rfc3339_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Handler(BaseHTTPRequestHandler):
    # Keep-alive: Prometheus, probes and the load generator reuse connections.
    protocol_version = "HTTP/1.1"
    # Drops idle keep-alive connections so their threads do not pile up.
    timeout = 60
    # Headers and body leave in two writes; with Nagle on, the second waits
    # for the client's delayed ACK (40 ms per keep-alive request).
    disable_nagle_algorithm = True
    server: Server

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        # stdout carries only the JSON lines; the default access log goes to stderr in another format.
        pass

    def _handle(self, method: str) -> None:
        start = time.perf_counter()
        app = self.server.app
        path = self.path.split("?", 1)[0]
        # Always drain the body, or the next request on this connection would be misread.
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if path.startswith("/admin/"):
            # Operator traffic: not app traffic, so neither counted nor logged.
            self._admin(method, path, body)
            return
        correlation_id = self.headers.get("X-Correlation-ID") or str(uuid.uuid4())
        route = route_of(path)
        if app.tracer is None:
            status, payload, content_type = self._dispatch_safely(method, route, path, body)
            self._record(start, method, route, status, correlation_id, NO_TRACE, NO_SPAN)
            self._send(status, payload, content_type, correlation_id)
            return
        attributes = {"http.request.method": method, "url.path": path, "url.scheme": "http"}
        if route != UNMATCHED:
            attributes["http.route"] = route
        name = f"{method} {route}" if route != UNMATCHED else method
        with app.tracer.start_as_current_span(name, context=extract(self.headers), kind=SpanKind.SERVER, attributes=attributes) as span:
            status, payload, content_type = self._dispatch_safely(method, route, path, body)
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_attribute("error.type", str(status))
                span.set_status(Status(StatusCode.ERROR))
            context = span.get_span_context()
            self._record(start, method, route, status, correlation_id, f"{context.trace_id:032x}", f"{context.span_id:016x}")
            self._send(status, payload, content_type, correlation_id)

    def _record(self, start: float, method: str, route: str, status: int, correlation_id: str, trace_id: str, span_id: str) -> None:
        """Metrics and log line, written before the response is: once a client
        has its answer, a scrape or a log reader already sees the request."""
        app = self.server.app
        elapsed = time.perf_counter() - start
        if app.metrics is not None:
            app.metrics.observe(method, route, status, elapsed)
        app.log(
            {
                "level": "error" if status >= 500 else "info",
                "msg": "request",
                "service": app.service,
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": round(elapsed * 1000, 3),
                "trace_id": trace_id,
                "span_id": span_id,
                "correlation_id": correlation_id,
            }
        )

    def _dispatch_safely(self, method: str, route: str, path: str, body: bytes) -> tuple[int, bytes, str]:
        try:
            return self._dispatch(method, route, path, body)
        except Exception as exc:
            trace.get_current_span().record_exception(exc)
            return 500, b'{"error":"internal error"}', JSON

    def _dispatch(self, method: str, route: str, path: str, body: bytes) -> tuple[int, bytes, str]:
        app = self.server.app
        if app.faults.down:
            return 503, DOWN, JSON
        if route == UNMATCHED:
            return 404, b'{"error":"not found"}', JSON
        if ROUTES[route] != method:
            return 405, b'{"error":"method not allowed"}', JSON
        if route == "/metrics":
            return 200, app.metrics.exposition() if app.metrics else b"", CONTENT_TYPE_LATEST
        if route.startswith("/health"):
            return 200, OK, JSON
        return self._api(route, path, body)

    def _api(self, route: str, path: str, body: bytes) -> tuple[int, bytes, str]:
        app = self.server.app
        faults = app.faults
        # The simulated database call: injected latency and errors happen
        # here, so a trace shows which span was slow or failed.
        with app.child_span("db.query", DB_ORDERS if route == "/api/orders" else DB_ITEMS) as span:
            if faults.latency_ms:
                time.sleep(faults.latency_ms / 1000)
            if faults.error_ratio and app.rng.random() < faults.error_ratio:
                if span is not None:
                    span.set_status(Status(StatusCode.ERROR, "injected fault"))
                return 500, b'{"error":"injected fault"}', JSON
            if route == "/api/items":
                return 200, json.dumps({"items": ITEMS}).encode(), JSON
            if route == "/api/items/{id}":
                raw = ITEM_PATH.fullmatch(path).group(1)
                item = ITEMS_BY_ID.get(int(raw)) if raw.isdigit() else None
                if item is None:
                    return 404, b'{"error":"no such item"}', JSON
                return 200, json.dumps(item).encode(), JSON
            try:
                order = json.loads(body or b"{}")
            except ValueError:
                return 400, b'{"error":"body is not JSON"}', JSON
            if not isinstance(order, dict):
                return 400, b'{"error":"body must be a JSON object"}', JSON
            created = {"order_id": next(app.orders), "status": "created", "items": order.get("items", [])}
            return 201, json.dumps(created).encode(), JSON

    def _admin(self, method: str, path: str, body: bytes) -> None:
        faults = self.server.app.faults
        if path != FAULTS_PATH:
            self._send(404, b'{"error":"not found"}', JSON)
        elif method == "GET":
            self._send(200, json.dumps(faults.snapshot()).encode(), JSON)
        elif method == "POST":
            try:
                state = faults.update(json.loads(body or b"null"))
            except FaultError as exc:
                self._send(400, json.dumps({"error": str(exc), "field": exc.field}).encode(), JSON)
            except ValueError:
                self._send(400, json.dumps({"error": "body: not valid JSON", "field": "body"}).encode(), JSON)
            else:
                self._send(200, json.dumps(state).encode(), JSON)
        else:
            self._send(405, b'{"error":"method not allowed"}', JSON)

    def _send(self, status: int, payload: bytes, content_type: str, correlation_id: str | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        if correlation_id is not None:
            self.send_header("X-Correlation-ID", correlation_id)
        self.end_headers()
        self.wfile.write(payload)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 drops connections when a probe, a scrape and a load burst arrive together.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: App) -> None:
        super().__init__(address, Handler)
        self.app = app
