"""Alert catalogue: Dependencies of the declared services: declared services they call, and external endpoints probed.

Entries as described in rules/alerts/__init__.py; the order here is the
order of the rules in their group."""

from __future__ import annotations

from .. import recordings as rec
from ..types import Runbook
from .spec import AlertSpec

ALERTS: tuple[AlertSpec, ...] = (
    AlertSpec(
        name="DependencyErrorRatioHigh",
        min_tier="intermediate",
        scope="dependency-service",
        group="dependencies",
        dashboard="d/obs-dependencies?var-service=<<service>>",
        severity="warning",
        threshold=0.05,
        for_="10m",
        # The result carries the dependency's own labels, so names come from
        # the rule, not from $labels.
        expr="<<ERROR_RATIO>><<dep_sel>> > <<threshold>>\nand on (service, namespace)\n<<REQUESTS>><<dep_sel>> > <<MIN_RATE>>",
        summary="Dependency <<dependency>> of <<service>> is failing",
        description="<<dependency>>, called by <<service>>, fails {{ $value | humanizePercentage }} of its requests.",
        runbook=Runbook(
            meaning="A service this one depends on is failing; expect errors or degraded answers here too.",
            causes=("An incident in the dependency (its own alerts say more)", "A breaking change in its API"),
            checks=("The dependency's own alerts and dashboards", "Whether this service degrades gracefully (timeouts, fallbacks)"),
            queries=(f'{rec.ERROR_RATIO}{{service="<dependency>"}}',),
        ),
    ),
    AlertSpec(
        name="DependencyProbeFailing",
        min_tier="intermediate",
        scope="dependency-probe",
        group="dependencies",
        dashboard="d/obs-dependencies?var-service=<<service>>",
        severity="warning",
        threshold=None,
        for_="1m",
        expr='probe_success{job="blackbox", service="<<service>>", namespace="<<namespace>>", dependency="<<dependency>>"} == 0',
        summary="Dependency {{ $labels.dependency }} of {{ $labels.service }} is unreachable",
        description="Probe of {{ $labels.instance }} ({{ $labels.module }}) fails (probe_success = {{ $value }}).",
        runbook=Runbook(
            meaning="An external dependency of the service does not answer its probe from inside the cluster.",
            causes=("The dependency is down", "Egress from the cluster blocked (firewall, proxy, DNS)"),
            checks=("Probe it by hand from a pod in the service's namespace", "DNS resolution of the dependency's host"),
            queries=('probe_success{dependency="<dependency>"}', 'probe_dns_lookup_time_seconds{dependency="<dependency>"}'),
        ),
        requires=("blackboxExporter",),
    ),
)
