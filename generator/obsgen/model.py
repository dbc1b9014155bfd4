"""Stage 2: a validated profile plus its tier row → the resolved stack.

Every decision the artifacts need is made here, once: which components run,
their replicas, sizes, storage and retention, the teams and their receivers,
the probe targets. Artifacts only translate this model into file formats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from . import gates
from .images import IMAGES, Image
from .profile import Profile
from .telemetry import Contract
from .telemetry import resolve as resolve_contract
from .tiers import RETENTION_SHARE_OF_VOLUME, SCRAPE_JOBS, TIERS, ScrapeJob, Size, Tier

SEVERITIES: tuple[str, ...] = ("critical", "warning", "info")
SLO_MAX_GROUPS = 50  # sloDefaults.maxGroups when the profile says nothing
# highAvailability.spread when the profile says nothing: replicas spread over
# nodes and zones where the scheduler can, and still schedule where it cannot.
SPREAD_DEFAULT = {"nodes": "preferred", "zones": "preferred"}


@dataclass(frozen=True)
class SecretKey:
    name: str
    key: str


@dataclass(frozen=True)
class Integration:
    """One notification integration of a team (a Slack channel, a PagerDuty service, …)."""

    type: str
    secret: SecretKey
    severities: tuple[str, ...]
    settings: dict[str, str]


@dataclass(frozen=True)
class Heartbeat:
    """Where the Watchdog alert goes: the webhook of a dead man's switch."""

    secret: SecretKey
    interval: str


@dataclass(frozen=True)
class Team:
    name: str
    integrations: tuple[Integration, ...]


@dataclass(frozen=True)
class Probe:
    service: str
    namespace: str
    team: str
    module: str
    endpoint: str
    target: str
    dependency: str = ""  # set when the probe checks a dependency of the service


@dataclass(frozen=True)
class Dependency:
    name: str
    service: str  # a declared service this one calls, or "" for an external endpoint
    target: str  # probed URL or host:port of an external dependency


@dataclass(frozen=True)
class BusinessMetric:
    """A business KPI a service exposes, shown on the business dashboard."""

    name: str
    title: str
    metric: str
    type: str  # counter: shown as a rate; gauge: shown as is
    unit: str  # Grafana unit id
    aggregation: str  # sum | avg | min | max across the service's series
    by: tuple[str, ...] = ()  # labels kept apart
    per: str = "second"  # counters: rate per second, minute or hour
    description: str = ""


@dataclass(frozen=True)
class AlertOverride:
    threshold: float | None = None
    for_: str | None = None


@dataclass(frozen=True)
class Service:
    name: str
    namespace: str
    team: str
    probes: tuple[Probe, ...]
    contract: Contract
    dependencies: tuple[Dependency, ...] = ()
    slos: tuple[dict[str, Any], ...] = ()  # as validated in the profile; the SLO engine parses them
    alert_overrides: dict[str, AlertOverride] = field(default_factory=dict)
    alerts_disabled: frozenset[str] = frozenset()
    business: tuple[BusinessMetric, ...] = ()


@dataclass(frozen=True)
class Stack:
    profile_name: str
    tier: Tier
    cluster: str
    environment: str
    image_registry: str
    image_pull_secrets: tuple[str, ...]
    storage_class: str
    retention_time: str
    prometheus_storage_gi: int
    sizes: dict[str, Size]
    images: dict[str, Image]
    teams: tuple[Team, ...]
    default_team: str
    services: tuple[Service, ...]
    grafana_admin_secret: str
    scrape_jobs: tuple[tuple[ScrapeJob, bool, int], ...]  # job, enabled, sample limit
    profile_dir: Path = Path(".")
    source: Path = Path("profile.yaml")  # the profile file, for error messages
    alerts_disabled: frozenset[str] = frozenset()
    alert_overrides: dict[str, AlertOverride] = field(default_factory=dict)
    runbook_base_url: str = ""  # empty: the runbook pages Grafana serves
    dashboard_base_url: str = ""
    rules_format: str = "configmap"
    policy_team: str = ""
    slo_files: tuple[Path, ...] = ()
    slo_default_period: str = "30d"  # of Sloth prometheus/v1 files (sloDefaults.period)
    slo_window_files: tuple[Path, ...] = ()  # Sloth AlertWindows files (sloDefaults.windows)
    slo_max_groups: int = SLO_MAX_GROUPS  # groups of a grouped SLI before it is measured as a whole (sloDefaults.maxGroups)
    components: frozenset[str] = frozenset()  # the tier's, with the chosen trace backend
    traces_backend: str = "tempo"
    jaeger_storage: str = "badger"
    object_storage: dict[str, dict[str, Any]] = field(default_factory=dict)  # logs / traces buckets
    elasticsearch: dict[str, str] = field(default_factory=dict)
    # logs.export.elasticsearch with its defaults filled in; empty = logs go to Loki only.
    log_export: dict[str, str] = field(default_factory=dict)
    # The profile's sizes of the log and trace stores' containers (logs_traces.RESOURCE_KEYS).
    backend_resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Placement and extension (workloads.py): cluster-wide defaults, the
    # knobs a profile set per workload, objects and scrape configs it adds.
    common_labels: dict[str, str] = field(default_factory=dict)
    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: tuple[dict[str, Any], ...] = ()
    priority_class: str = ""
    # How replicas of one workload spread over nodes and zones: "preferred"
    # (ScheduleAnyway) or "required" (DoNotSchedule), per topology.
    spread: dict[str, str] = field(default_factory=lambda: dict(SPREAD_DEFAULT))
    workload_knobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    extra_objects: tuple[dict[str, Any], ...] = ()
    additional_scrape_configs: tuple[dict[str, Any], ...] = ()
    remote_write: tuple[dict[str, Any], ...] = ()  # the profile's remoteWrite (artifacts/remote_write.py)
    heartbeat: Heartbeat | None = None
    network_policies: bool = False  # the profile's switch over the tier's
    ui_from: tuple[dict[str, Any], ...] = ()  # NetworkPolicy peers that may reach the UIs
    exposure: dict[str, dict[str, Any]] = field(default_factory=dict)  # per UI, as the profile gives it (exposure.py)
    grafana_dashboard_namespaces: str | tuple[str, ...] = ()  # "all", or namespaces; (): the release's
    grafana_datasource_namespaces: str | tuple[str, ...] | None = None  # as above; None: no datasource sidecar
    web: dict[str, Any] = field(default_factory=dict)  # the profile's `web` (web.py)
    grafana: dict[str, Any] = field(default_factory=dict)  # the profile's grafana section (artifacts/grafana.py)

    def enabled(self, component: str) -> bool:
        return component in (self.components or self.tier.components)

    @property
    def retention_size(self) -> str:
        # Prometheus reads "GB" as GiB (base 2), the same unit as the volume.
        return f"{math.floor(self.prometheus_storage_gi * RETENTION_SHARE_OF_VOLUME)}GB"

    @property
    def probes(self) -> tuple[Probe, ...]:
        return tuple(p for s in self.services for p in s.probes)


def _size(spec: dict[str, Any]) -> Size:
    return Size(spec["requests"]["cpu"], spec["requests"]["memory"], spec["limits"]["cpu"], spec["limits"]["memory"])


def _integration(spec: dict[str, Any]) -> Integration:
    settings = {k: v for k, v in spec.items() if k not in ("type", "secretRef", "severities")}
    return Integration(
        type=spec["type"],
        secret=SecretKey(spec["secretRef"]["name"], spec["secretRef"]["key"]),
        severities=tuple(s for s in SEVERITIES if s in spec.get("severities", SEVERITIES)),
        settings=settings,
    )


def _overrides(spec: dict[str, Any]) -> dict[str, AlertOverride]:
    return {name: AlertOverride(o.get("threshold"), o.get("for")) for name, o in spec.items()}


def _business(spec: dict[str, Any]) -> tuple[BusinessMetric, ...]:
    return tuple(
        BusinessMetric(
            name=b["name"],
            title=b.get("title", b["name"]),
            metric=b["metric"],
            type=b.get("type", "counter"),
            unit=b.get("unit", "short"),
            aggregation=b.get("aggregation", "sum"),
            by=tuple(b.get("by", [])),
            per=b.get("per", "second"),
            description=b.get("description", ""),
        )
        for b in spec.get("business", [])
    )


def _dependencies(spec: dict[str, Any]) -> tuple[Dependency, ...]:
    return tuple(Dependency(d["name"], d.get("service", ""), d.get("url", d.get("tcp", ""))) for d in spec.get("dependencies", []))


def _dependency_probes(spec: dict[str, Any]) -> list[Probe]:
    """External dependencies are probed like health endpoints, labelled with the dependency."""
    probes = []
    for dep in spec.get("dependencies", []):
        common = {"service": spec["name"], "namespace": spec["namespace"], "team": spec["team"], "dependency": dep["name"]}
        if "url" in dep:
            probes.append(Probe(module="http_2xx", endpoint=f"dependency/{dep['name']}", target=dep["url"], **common))
        elif "tcp" in dep:
            probes.append(Probe(module="tcp_connect", endpoint=f"dependency/{dep['name']}", target=dep["tcp"], **common))
    return probes


def _probes(spec: dict[str, Any]) -> tuple[Probe, ...]:
    health = spec.get("health")
    if not health:
        return tuple(_dependency_probes(spec))
    port = health.get("port", spec.get("scrape", {}).get("port"))
    host = f"{spec['name']}.{spec['namespace']}.svc"
    common = {"service": spec["name"], "namespace": spec["namespace"], "team": spec["team"]}
    scheme = health.get("scheme", "http")
    probes = [
        Probe(module="http_2xx", endpoint=path, target=f"{scheme}://{host}:{port}{path}", **common) for path in health.get("paths", [])
    ]
    if health.get("tcp"):
        probes.append(Probe(module="tcp_connect", endpoint=f"tcp/{port}", target=f"{host}:{port}", **common))
    return tuple(probes + _dependency_probes(spec))


def _components(tier: Tier, traces_backend: str) -> frozenset[str]:
    """The tier's components, with the profile's trace store in place of Tempo."""
    if "tempo" in tier.components and traces_backend == "jaeger":
        return (tier.components - {"tempo"}) | {"jaeger"}
    return tier.components


def _log_export(spec: dict[str, Any] | None) -> dict[str, str]:
    if not spec:
        return {}
    return {"url": spec["url"], "existingSecret": spec["existingSecret"], "index": spec.get("index", "obs-logs")}


def _datasource_namespaces(grafana: dict[str, Any]) -> str | tuple[str, ...] | None:
    """None unless the profile asks for the datasource sidecar."""
    return _namespaces(grafana["datasourceNamespaces"]) if "datasourceNamespaces" in grafana else None


def _namespaces(spec: str | list[str]) -> str | tuple[str, ...]:
    return spec if isinstance(spec, str) else tuple(spec)


def _heartbeat(spec: dict[str, Any] | None) -> Heartbeat | None:
    if not spec:
        return None
    return Heartbeat(SecretKey(spec["secretRef"]["name"], spec["secretRef"]["key"]), spec.get("interval", "1m"))


@cache
def builtin_stack(tier: str) -> Stack:
    """A built-in tier's stack, built once per process (runbooks, values and checks all read it)."""
    from .profile import load_builtin

    return build(load_builtin(tier))


def build(profile: Profile) -> Stack:
    data = profile.data
    tier = TIERS[profile.tier]
    overrides = data.get("resources", {})
    sizes = {name: _size(overrides[name]) if name in overrides else size for name, size in tier.sizes.items()}
    backend_resources = {name: _size(spec).as_values() for name, spec in overrides.items() if name not in tier.sizes}
    teams = tuple(Team(t["name"], tuple(_integration(r) for r in t.get("receivers", []))) for t in data["teams"])
    services = tuple(
        Service(
            name=s["name"],
            namespace=s["namespace"],
            team=s["team"],
            probes=_probes(s),
            contract=resolve_contract(s.get("telemetry"), s["name"], s["namespace"]),
            dependencies=_dependencies(s),
            slos=tuple(s.get("slos", [])),
            alert_overrides=_overrides(s.get("alerts", {}).get("overrides", {})),
            alerts_disabled=frozenset(s.get("alerts", {}).get("disabled", [])),
            business=_business(s),
        )
        for s in data.get("services", [])
    )
    alerts = data.get("alerts", {})
    profile_dir = profile.source.resolve().parent
    components = _components(tier, data.get("traces", {}).get("backend", "tempo"))
    jobs = []
    for job in SCRAPE_JOBS:
        enabled = gates.job_runs(job, tier.name, components, data.get("controlPlane", {}))
        limit = tier.kube_state_metrics_sample_limit if job.key == "kubeStateMetrics" else job.sample_limit
        jobs.append((job, enabled, limit))
    retention = data.get("retention", {})
    return Stack(
        profile_name=profile.name,
        tier=tier,
        cluster=data.get("cluster", {}).get("name", "obs"),
        environment=data.get("cluster", {}).get("environment", "production"),
        image_registry=data.get("imageRegistry", ""),
        image_pull_secrets=tuple(data.get("imagePullSecrets", [])),
        storage_class=data.get("storageClass", ""),
        retention_time=retention.get("time", tier.retention_time),
        prometheus_storage_gi=retention.get("storageGi", tier.prometheus_storage_gi),
        sizes=sizes,
        images={key: replace(image, digest=data.get("images", {}).get(key, {}).get("digest", "")) for key, image in IMAGES.items()},
        teams=teams,
        default_team=data.get("defaultTeam", teams[0].name),
        services=services,
        grafana_admin_secret=data.get("grafana", {}).get("adminSecret", ""),
        scrape_jobs=tuple(jobs),
        profile_dir=profile_dir,
        source=profile.source,
        alerts_disabled=frozenset(alerts.get("disabled", [])),
        alert_overrides=_overrides(alerts.get("overrides", {})),
        runbook_base_url=alerts.get("runbookBaseUrl", "").rstrip("/"),
        # Grafana's external URL makes the alerts' dashboard links absolute.
        dashboard_base_url=alerts.get("dashboardBaseUrl", data.get("exposure", {}).get("grafana", {}).get("externalUrl", "")).rstrip("/"),
        rules_format=data.get("rules", {}).get("format", "configmap"),
        policy_team=data.get("policy", {}).get("team", ""),
        slo_files=tuple(profile_dir / f for f in data.get("sloFiles", [])),
        slo_default_period=data.get("sloDefaults", {}).get("period", "30d"),
        slo_window_files=tuple(profile_dir / f for f in data.get("sloDefaults", {}).get("windows", [])),
        slo_max_groups=data.get("sloDefaults", {}).get("maxGroups", SLO_MAX_GROUPS),
        components=components,
        traces_backend=data.get("traces", {}).get("backend", "tempo"),
        jaeger_storage=data.get("traces", {}).get("jaegerStorage", "badger"),
        object_storage=dict(data.get("objectStorage", {})),
        elasticsearch=dict(data.get("elasticsearch", {})),
        log_export=_log_export(data.get("logs", {}).get("export", {}).get("elasticsearch")),
        backend_resources=backend_resources,
        common_labels=dict(data.get("commonLabels", {})),
        node_selector=dict(data.get("nodeSelector", {})),
        tolerations=tuple(data.get("tolerations", [])),
        priority_class=data.get("priorityClassName", ""),
        spread={**SPREAD_DEFAULT, **data.get("highAvailability", {}).get("spread", {})},
        workload_knobs=dict(data.get("workloads", {})),
        extra_objects=tuple(data.get("extraObjects", [])),
        additional_scrape_configs=tuple(data.get("additionalScrapeConfigs", [])),
        remote_write=tuple(data.get("remoteWrite", [])),
        heartbeat=_heartbeat(alerts.get("heartbeat")),
        network_policies=data.get("networkPolicies", {}).get("enabled", tier.network_policies),
        ui_from=tuple(data.get("networkPolicies", {}).get("uiFrom", [])),
        exposure=dict(data.get("exposure", {})),
        grafana_dashboard_namespaces=_namespaces(data.get("grafana", {}).get("dashboardNamespaces", ())),
        grafana_datasource_namespaces=_datasource_namespaces(data.get("grafana", {})),
        web=dict(data.get("web", {})),
        grafana=dict(data.get("grafana", {})),
    )
