"""refservice: a small instrumented HTTP service for the obs stack's live tests.

It gives the end-to-end tests (Prometheus scrapes, Alertmanager, blackbox
probes, OTLP trace export) and the local preview something real to observe:
request metrics named after the telemetry contract (`obsgen.telemetry`),
spans exported over OTLP/HTTP, JSON logs carrying trace ids, and faults
(errors, latency, outage) that can be switched on at run time through
`/admin/faults`.

    python -m refservice --listen 127.0.0.1:8080 --metrics-preset otel --otlp-endpoint http://127.0.0.1:4318
    python -m refservice.load --url http://127.0.0.1:8080 --rate 50 --duration 30
"""

__version__ = "0.1.0"
