"""Alert catalogue: what Prometheus sees of its own scraping: targets it cannot
reach and series it cannot keep. (The alerting pipeline's health, Watchdog
included, is rules/self_monitoring.py: rules of every tier, not catalogue
entries.)

Entries as described in rules/alerts/__init__.py; the order here is the
order of the rules in their group."""

from __future__ import annotations

from ..types import Runbook
from .spec import AlertSpec

ALERTS: tuple[AlertSpec, ...] = (
    AlertSpec(
        name="TargetDown",
        min_tier="basic",
        scope="cluster",
        group="availability",
        dashboard="d/obs-stack-health",
        severity="critical",
        threshold=None,
        for_="2m",
        expr="max by (job, namespace, service) (up) == 0",
        summary="Every target of {{ $labels.job }} is down",
        description=(
            "No target of job {{ $labels.job }}{{ with $labels.service }} (service {{ . }}){{ end }}"
            "{{ with $labels.namespace }} in {{ . }}{{ end }} can be scraped (up = {{ $value }})."
        ),
        runbook=Runbook(
            meaning="Prometheus cannot scrape any instance of this job: the workload is down, or unreachable from Prometheus.",
            causes=(
                "All pods crashed or were scaled to zero",
                "A NetworkPolicy or port change blocks the scrape",
                "The metrics endpoint moved (path, port, TLS)",
            ),
            checks=(
                "Prometheus UI → Status → Targets: the scrape error of the job",
                "`kubectl get pods -n <namespace>` and the pods' events",
            ),
            queries=('up{job="<job>"}', 'scrape_duration_seconds{job="<job>"}'),
        ),
    ),
    AlertSpec(
        name="TargetsPartiallyDown",
        min_tier="intermediate",
        scope="cluster",
        group="availability",
        dashboard="d/obs-stack-health",
        severity="warning",
        threshold=0.1,
        for_="15m",
        expr=("(\n  count by (job, namespace, service) (up == 0)\n/\n  count by (job, namespace, service) (up)\n) > <<threshold>>"),
        summary="Part of {{ $labels.job }}'s targets are down",
        description="{{ $value | humanizePercentage }} of the targets of {{ $labels.job }} cannot be scraped.",
        runbook=Runbook(
            meaning="Some instances of a job cannot be scraped; the others still can.",
            causes=("Some pods unhealthy or on an unreachable node",),
            checks=("Prometheus UI → Status → Targets, filtered by the job",),
            queries=('up{job="<job>"} == 0',),
        ),
    ),
    AlertSpec(
        name="PrometheusScrapeSampleLimitHit",
        min_tier="advanced",
        scope="cluster",
        group="cardinality",
        dashboard="d/obs-stack-health",
        severity="warning",
        threshold=None,
        for_="0m",
        expr='increase(prometheus_target_scrapes_exceeded_sample_limit_total{job="prometheus"}[10m]) > 0',
        summary="Scrapes are rejected for exceeding their sample limit",
        description=(
            "{{ $labels.pod }} rejected {{ $value | humanize }} scrapes in 10m because a target exposed more samples than its budget."
        ),
        runbook=Runbook(
            meaning="A target exposes more series than its job's sample_limit; the whole scrape is dropped, so its data is missing.",
            causes=("A new label with unbounded values (user ids, URLs)", "An exporter upgrade exposing more series"),
            checks=(
                "Find the target: Status → Targets shows 'sample limit exceeded'",
                'Top series of the job: `topk(10, count by (__name__) ({job="<job>"}))`',
            ),
            queries=("prometheus_target_scrapes_exceeded_sample_limit_total", "scrape_samples_scraped"),
        ),
        requires=("prometheus",),
    ),
    AlertSpec(
        name="PrometheusHeadSeriesGrowth",
        min_tier="advanced",
        scope="cluster",
        group="cardinality",
        dashboard="d/obs-stack-health",
        severity="warning",
        threshold=1.5,
        for_="1h",
        expr='prometheus_tsdb_head_series{job="prometheus"}\n/\nprometheus_tsdb_head_series{job="prometheus"} offset 1d\n> <<threshold>>',
        summary="Series count grows fast",
        description="{{ $labels.pod }} holds {{ $value | humanize }}× the series it held a day ago.",
        runbook=Runbook(
            meaning="The number of active series grew sharply; memory and query cost grow with it.",
            causes=("A cardinality explosion in one job", "Many new targets (scale-up, new cluster workloads)"),
            checks=('`topk(10, count by (job) ({__name__=~".+"}))`', "Series per metric name of the growing job"),
            queries=("prometheus_tsdb_head_series", "scrape_series_added"),
        ),
        requires=("prometheus",),
    ),
)
