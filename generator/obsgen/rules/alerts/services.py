"""Alert catalogue: The declared services: health probes, RED recordings and the process's own runtime.

Entries as described in rules/alerts/__init__.py; the order here is the
order of the rules in their group."""

from __future__ import annotations

from .. import recordings as rec
from ..types import Runbook
from .spec import ENOUGH_TRAFFIC, P95, SERVICE_CAUSES, AlertSpec

ALERTS: tuple[AlertSpec, ...] = (
    AlertSpec(
        name="ServiceProbeFailing",
        min_tier="basic",
        scope="probe",
        group="availability",
        dashboard="d/obs-red?var-service=<<service>>&var-namespace=<<namespace>>",
        severity="critical",
        threshold=None,
        # The failure must still be there one evaluation (15 s) later, so a
        # lone blip that the next probe clears does not page; detection stays
        # under a minute (probe 15 s + evaluation 15 s + for 15 s).
        for_="15s",
        expr='probe_success{job="blackbox", service="<<service>>", namespace="<<namespace>>", dependency=""} == 0',
        summary="Health check of {{ $labels.service }} fails",
        description="The blackbox probe of {{ $labels.instance }} ({{ $labels.module }}) fails (probe_success = {{ $value }}).",
        runbook=Runbook(
            meaning="The service's health endpoint does not answer with 2xx (or its port refuses connections): users are likely affected.",
            causes=(
                "Pods not ready or crash-looping",
                "The Service has no ready endpoints",
                "A dependency checked by the health endpoint is down",
            ),
            checks=(
                "`kubectl get endpointslices -n <namespace> -l kubernetes.io/service-name=<service>`",
                "`kubectl run -it --rm probe --image=curlimages/curl -- curl -v <instance>`",
            ),
            queries=(
                'probe_success{service="<service>"}',
                'probe_http_status_code{service="<service>"}',
                'probe_duration_seconds{service="<service>"}',
            ),
        ),
        requires=("blackboxExporter",),
    ),
    AlertSpec(
        name="ServiceErrorRatioHigh",
        min_tier="basic",
        scope="service",
        group="services",
        dashboard="d/obs-red?var-service=<<service>>&var-namespace=<<namespace>>",
        severity="critical",
        threshold=0.05,
        for_="5m",
        expr=f"<<ERROR_RATIO>><<sel>> > <<threshold>>\n{ENOUGH_TRAFFIC}",
        summary="{{ $labels.service }} fails a large share of requests",
        description="{{ $labels.service }} answers {{ $value | humanizePercentage }} of requests with 5xx over 5m.",
        runbook=Runbook(
            meaning="A large share of the service's requests fail with server errors.",
            causes=SERVICE_CAUSES,
            checks=("Error logs of the service's pods around the alert's start", "Recent rollouts: `kubectl rollout history`"),
            queries=(
                f'{rec.ERROR_RATIO}{{service="<service>"}}',
                f'{rec.ROUTE_ERRORS}{{service="<service>"}} / {rec.ROUTE_REQUESTS}{{service="<service>"}}',
            ),
        ),
    ),
    AlertSpec(
        name="ServiceErrorRatioElevated",
        min_tier="intermediate",
        scope="service",
        group="services",
        dashboard="d/obs-red?var-service=<<service>>&var-namespace=<<namespace>>",
        severity="warning",
        threshold=0.01,
        for_="15m",
        expr=f"<<ERROR_RATIO>><<sel>> > <<threshold>>\n{ENOUGH_TRAFFIC}",
        summary="{{ $labels.service }} fails more requests than usual",
        description="{{ $labels.service }} answers {{ $value | humanizePercentage }} of requests with 5xx over 5m.",
        runbook=Runbook(
            meaning="The service's error ratio is above its warning level; not yet an outage, but budget is burning.",
            causes=SERVICE_CAUSES,
            checks=("Which routes fail: the per-route error ratio below", "Error logs of the service"),
            queries=(f'{rec.ROUTE_ERRORS}{{service="<service>"}} / {rec.ROUTE_REQUESTS}{{service="<service>"}}',),
        ),
    ),
    AlertSpec(
        name="ServiceLatencyP95High",
        min_tier="intermediate",
        scope="service",
        group="services",
        dashboard="d/obs-red?var-service=<<service>>&var-namespace=<<namespace>>",
        severity="warning",
        threshold=0.5,
        for_="10m",
        expr=f"{P95} > <<threshold>>\n{ENOUGH_TRAFFIC}",
        summary="{{ $labels.service }} is slow",
        description="p95 latency of {{ $labels.service }} is {{ $value | humanizeDuration }} over 5m.",
        runbook=Runbook(
            meaning="One request in twenty takes longer than the threshold.",
            causes=SERVICE_CAUSES,
            checks=("Which routes are slow: the per-route p95 below", "Traces of slow requests, where tracing runs"),
            queries=(f'{rec.ROUTE_LATENCY}{{service="<service>"}}', f'{rec.LATENCY}{{service="<service>"}}'),
        ),
    ),
    AlertSpec(
        name="ServiceLatencyRegression",
        min_tier="advanced",
        scope="service",
        group="services",
        dashboard="d/obs-red?var-service=<<service>>&var-namespace=<<namespace>>",
        severity="warning",
        threshold=1.5,
        for_="30m",
        expr=(
            f"{P95}\n/\n{P95} offset 1w\n> <<threshold>>\n"
            # A regression from 2 ms to 4 ms is noise, not a finding.
            f"and {P95} > 0.05\n{ENOUGH_TRAFFIC}"
        ),
        summary="{{ $labels.service }} is slower than a week ago",
        description="p95 latency of {{ $labels.service }} is {{ $value | humanize }}× what it was at this time last week.",
        runbook=Runbook(
            meaning="Latency grew compared with the same time last week, which rules out daily and weekly patterns.",
            causes=("A release in the past week", "Data growth", "A slower dependency"),
            checks=("Releases since last week", "Per-route latency now and a week ago"),
            queries=(f'{rec.ROUTE_LATENCY}{{service="<service>"}}', f'{rec.ROUTE_LATENCY}{{service="<service>"}} offset 1w'),
        ),
    ),
    AlertSpec(
        name="ProcessFileDescriptorsNearLimit",
        min_tier="advanced",
        scope="cluster",
        group="runtime",
        dashboard="d/obs-runtime",
        severity="warning",
        threshold=0.8,
        for_="15m",
        expr="process_open_fds / process_max_fds > <<threshold>>",
        summary="{{ $labels.job }} is running out of file descriptors",
        description="{{ $labels.instance }} ({{ $labels.job }}) uses {{ $value | humanizePercentage }} of its file descriptors.",
        runbook=Runbook(
            meaning="A process is close to its open-file limit; new connections and files will fail.",
            causes=("Connection or file leak", "Limit too low for the load"),
            checks=("`ls /proc/<pid>/fd | wc -l` in the container", "Connection pool settings"),
            queries=("process_open_fds", "process_max_fds"),
        ),
    ),
    AlertSpec(
        name="ServiceAuthFailuresBurst",
        min_tier="enterprise",
        scope="service",
        group="security",
        dashboard="d/obs-security",
        severity="warning",
        threshold=1.0,
        for_="5m",
        expr=(
            "<<AUTH_FAILURES>><<sel>> > <<threshold>>\nand on (service, namespace)\n<<AUTH_FAILURES>><<sel>> > 0.2 * <<REQUESTS>><<sel>>"
        ),
        summary="Burst of 401/403 answers from {{ $labels.service }}",
        description="{{ $labels.service }} rejects {{ $value | humanize }} requests/s as unauthorised or forbidden.",
        runbook=Runbook(
            meaning="Many requests are rejected as unauthenticated or forbidden: credential stuffing, a scan, or a broken client.",
            causes=(
                "An attack (credential stuffing, token guessing)",
                "A client with expired credentials retrying",
                "An auth provider outage",
            ),
            checks=("Access logs: source addresses and user agents of the 401/403s", "Tell the security team if the sources are external"),
            queries=(f'{rec.AUTH_FAILURES}{{service="<service>"}}', f'{rec.REQUESTS}{{service="<service>"}}'),
        ),
    ),
)
