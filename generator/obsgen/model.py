"""Stage 2: a validated profile plus its tier row → the resolved stack.

Every decision the artifacts need is made here, once: which components run,
their replicas, sizes, storage and retention, the teams and their receivers,
the probe targets. Artifacts only translate this model into file formats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .images import IMAGES, Image
from .profile import Profile
from .tiers import RETENTION_SHARE_OF_VOLUME, SCRAPE_JOBS, TIERS, ScrapeJob, Size, Tier

SEVERITIES: tuple[str, ...] = ("critical", "warning", "info")


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


@dataclass(frozen=True)
class Service:
    name: str
    namespace: str
    team: str
    probes: tuple[Probe, ...]


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

    def enabled(self, component: str) -> bool:
        return component in self.tier.components

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


def _probes(spec: dict[str, Any]) -> tuple[Probe, ...]:
    health = spec.get("health")
    if not health:
        return ()
    port = health.get("port", spec.get("scrape", {}).get("port"))
    host = f"{spec['name']}.{spec['namespace']}.svc"
    common = {"service": spec["name"], "namespace": spec["namespace"], "team": spec["team"]}
    scheme = health.get("scheme", "http")
    probes = [
        Probe(module="http_2xx", endpoint=path, target=f"{scheme}://{host}:{port}{path}", **common) for path in health.get("paths", [])
    ]
    if health.get("tcp"):
        probes.append(Probe(module="tcp_connect", endpoint=f"tcp/{port}", target=f"{host}:{port}", **common))
    return tuple(probes)


def build(profile: Profile) -> Stack:
    data = profile.data
    tier = TIERS[profile.tier]
    overrides = data.get("resources", {})
    sizes = {name: _size(overrides[name]) if name in overrides else size for name, size in tier.sizes.items()}
    teams = tuple(Team(t["name"], tuple(_integration(r) for r in t.get("receivers", []))) for t in data["teams"])
    services = tuple(Service(s["name"], s["namespace"], s["team"], _probes(s)) for s in data.get("services", []))
    jobs = []
    for job in SCRAPE_JOBS:
        enabled = job.component is None or job.component in tier.components
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
        images=dict(IMAGES),
        teams=teams,
        default_team=data.get("defaultTeam", teams[0].name),
        services=services,
        grafana_admin_secret=data.get("grafana", {}).get("adminSecret", ""),
        scrape_jobs=tuple(jobs),
    )
