"""Command line of the reference service: `python -m refservice` / `obs-refservice`.

Serves until SIGTERM or SIGINT, then stops accepting requests and flushes
the spans still queued for export before exiting.
"""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Sequence

from obsgen.telemetry import PRESETS

from .app import App, FaultError, Faults, Server
from .telemetry import RequestMetrics, resolve_identity, tracer, tracer_provider


def listen_address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="refservice", description="Instrumented reference service for the obs stack's live tests.")
    p.add_argument(
        "--listen", type=listen_address, default=("127.0.0.1", 8080), metavar="HOST:PORT", help="default 127.0.0.1:8080; port 0 picks one"
    )
    # None = not given, so OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES apply before the defaults.
    p.add_argument("--service-name", default=None, help="service.name (default: OTEL_SERVICE_NAME, else refservice)")
    p.add_argument("--namespace", default=None, help="namespace resource attribute (default: from OTEL_RESOURCE_ATTRIBUTES, else default)")
    p.add_argument("--metrics-preset", choices=sorted(PRESETS), default="prometheus-classic", help="telemetry contract naming the metrics")
    p.add_argument(
        "--otlp-endpoint",
        default=None,
        metavar="URL",
        help="OTLP/HTTP base URL, e.g. http://127.0.0.1:4318 (default: OTEL_* env; none = no export)",
    )
    p.add_argument(
        "--no-instrumentation", action="store_true", help="baseline for the overhead benchmark: no spans, no metrics; logs unchanged"
    )
    p.add_argument("--error-ratio", type=float, default=0.0, help="initial share of /api requests answering 500")
    p.add_argument("--latency-ms", type=int, default=0, help="initial latency added to /api requests")
    p.add_argument("--down", action="store_true", help="start down: everything but /admin/faults answers 503")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    faults = Faults()
    try:
        faults.update({"error_ratio": args.error_ratio, "latency_ms": args.latency_ms, "down": args.down})
    except FaultError as exc:
        parser().error(f"--{exc.field.replace('_', '-')}: {exc}")
    service, namespace = resolve_identity(args.service_name, args.namespace)
    provider, exporting = None, False
    if not args.no_instrumentation:
        provider, exporting = tracer_provider(service, namespace, args.otlp_endpoint)
    app = App(
        service=service,
        namespace=namespace,
        faults=faults,
        tracer=tracer(provider) if provider else None,
        metrics=None if args.no_instrumentation else RequestMetrics(args.metrics_preset),
    )
    server = Server(args.listen, app)
    host, port = server.server_address[:2]

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    # serve_forever runs in a thread because shutdown() must be called from
    # another thread than the serving one; the main thread waits for signals.
    serving = threading.Thread(target=server.serve_forever, name="serve", daemon=True)
    serving.start()
    app.log(
        {
            "level": "info",
            "msg": "listening",
            "service": service,
            "namespace": namespace,
            "listen": f"{host}:{port}",
            "metrics_preset": args.metrics_preset,
            "instrumentation": not args.no_instrumentation,
            "exporting_spans": exporting,
        }
    )
    stop.wait()
    server.shutdown()
    server.server_close()
    if provider is not None:
        provider.shutdown()  # flushes the batch processor's queue
    app.log({"level": "info", "msg": "stopped", "service": service})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
