"""The umbrella chart's values, assembled from the stack model.

Shape rules (they make `-f values/<tier>.yaml` a complete override of the
chart defaults): every map has the same keys in every tier, because Helm
deep-merges maps and a key present only in the defaults would leak into the
tier; variable collections are lists, which Helm replaces whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import contract, dashboards, exposure, network, rules, web, workloads
from ..model import Stack
from ..tiers import APP_INSTRUMENTATION
from . import alertmanager, blackbox, grafana, instrumentation, logs_traces, otel, remote_write, volumes

# highAvailability.spread in the scheduler's words (whenUnsatisfiable).
_WHEN_UNSATISFIABLE = {"preferred": "ScheduleAnyway", "required": "DoNotSchedule"}


def spread(choice: Mapping[str, str]) -> dict[str, str]:
    """`global.spread`: the profile's spread choice per topology, as whenUnsatisfiable."""
    return {topology: _WHEN_UNSATISFIABLE[how] for topology, how in choice.items()}


def _ha(stack: Stack, replicas: int) -> dict[str, Any]:
    multi = replicas > 1
    return {
        "podDisruptionBudget": {"enabled": multi and stack.tier.high_availability, "maxUnavailable": 1},
        "topologySpread": {"enabled": multi and stack.tier.high_availability},
    }


def _component(stack: Stack, key: str, component: str) -> dict[str, Any]:
    return {
        "enabled": stack.enabled(key),
        "component": component,
        "image": stack.images[key].as_values(),
        "resources": stack.sizes[key].as_values(),
    }


def _scrape_jobs(stack: Stack) -> dict[str, Any]:
    return {
        job.key: {
            "enabled": enabled,
            "jobName": job.job_name,
            "sampleLimit": limit,
            "labelLimit": job.label_limit,
            "labelNameLengthLimit": job.label_name_length_limit,
            "labelValueLengthLimit": job.label_value_length_limit,
        }
        for job, enabled, limit in stack.scrape_jobs
    }


def _prometheus(stack: Stack, rule_files: list[dict[str, Any]]) -> dict[str, Any]:
    tier = stack.tier
    return {
        **_component(stack, "prometheus", "server"),
        "replicas": tier.prometheus_replicas,
        "retention": {"time": stack.retention_time, "size": stack.retention_size},
        "storage": volumes.storage(f"{stack.prometheus_storage_gi}Gi"),
        "scrapeInterval": tier.scrape_interval,
        "scrapeTimeout": "10s",
        "evaluationInterval": tier.evaluation_interval,
        "configReloadInterval": "30s",
        "externalLabels": [],
        "kubelet": {"insecureSkipVerify": True},
        # Self-signed serving certificates by default (kubeadm); etcd's metrics
        # listener is plain HTTP where the profile turns it on.
        "controlPlane": {"insecureSkipVerify": True, "etcdScheme": "http"},
        "alertmanagerDiscovery": {"enabled": stack.enabled("alertmanager")},
        "scrapeJobs": _scrape_jobs(stack),
        # Receivers only where the tier sends data in: OTLP metrics from the
        # gateway, remote write and exemplars from Tempo's metrics-generator.
        "receivers": {
            "otlp": stack.enabled("otelCollector"),
            "remoteWrite": stack.enabled("tempo"),
            "exemplars": stack.enabled("tempo") or stack.enabled("jaeger"),
        },
        # Health endpoints are probed at 15 s whatever the scrape interval, so
        # a dead endpoint is seen within a minute.
        "probeInterval": "15s",
        "probes": [
            {
                "service": p.service,
                "namespace": p.namespace,
                "team": p.team,
                "module": p.module,
                "endpoint": p.endpoint,
                "dependency": p.dependency,
                "url": p.target,
            }
            for p in stack.probes
        ],
        # Names of the rule ConfigMaps to mount; with rules delivered as
        # PrometheusRule objects another Prometheus evaluates them.
        "ruleFiles": [f["name"] for f in rule_files] if stack.rules_format == "configmap" else [],
        # The profile's own scrape_configs entries, appended to the generated ones.
        "additionalScrapeConfigs": [dict(c) for c in stack.additional_scrape_configs],
        # remote_write entries, the Secrets their *_file settings read, and
        # SigV4's keys as env (artifacts/remote_write.py).
        "remoteWrite": remote_write.config(tier, stack.remote_write),
        "secretMounts": remote_write.secret_mounts(stack.remote_write),
        "secretEnv": remote_write.sigv4_env(stack.remote_write),
        **_ha(stack, tier.prometheus_replicas),
        "exposure": exposure.values("prometheus", stack.exposure.get("prometheus")),
    }


def _alertmanager(stack: Stack) -> dict[str, Any]:
    tier = stack.tier
    return {
        **_component(stack, "alertmanager", "alerting"),
        "replicas": tier.alertmanager_replicas,
        "retention": "120h",
        # --cluster.peer-timeout; the routes' group_wait is chosen with it.
        "peerTimeout": f"{alertmanager.PEER_TIMEOUT_SECONDS}s",
        "storage": volumes.storage(f"{tier.alertmanager_storage_gi}Gi"),
        "secretMounts": alertmanager.secret_mounts(stack),
        "config": alertmanager.config(stack),
        **_ha(stack, tier.alertmanager_replicas),
        "exposure": exposure.values("alertmanager", stack.exposure.get("alertmanager")),
    }


def _sidecar_namespaces(spec: str | tuple[str, ...]) -> list[str]:
    return ["ALL"] if spec == "all" else list(spec)


def _grafana(stack: Stack) -> dict[str, Any]:
    spec = stack.grafana
    # With an external database the state is there: no volume, and replicas
    # may be more than one. Without it, one replica on SQLite (dashboards are
    # provisioned, so a restart loses no configuration).
    external = "database" in spec
    size = 0 if external else stack.tier.grafana_persistence_gi
    settings, secret_settings = grafana.settings(spec)
    replicas = spec.get("replicas", 1)
    return {
        **_component(stack, "grafana", "visualisation"),
        "replicas": replicas,
        "externalDatabase": external,
        "adminPasswordInit": {"resources": grafana.INIT_SIZE.as_values()},
        "settings": settings,
        "secretSettings": secret_settings,
        "admin": {"existingSecret": stack.grafana_admin_secret, "userKey": "admin-user", "passwordKey": "admin-password"},
        # Grafana cannot see its siblings' values: the generator says which
        # log and trace stores exist, so their datasources (and links) appear.
        "datasources": {"loki": stack.enabled("loki"), "tempo": stack.enabled("tempo"), "jaeger": stack.enabled("jaeger")},
        "persistence": {"enabled": size > 0, **volumes.storage(f"{max(size, 1)}Gi")},
        "dashboardSidecar": {
            "image": stack.images["grafanaDashboardSidecar"].as_values(),
            "label": dashboards.SIDECAR_LABEL,
            "labelValue": dashboards.SIDECAR_LABEL_VALUE,
            # k8s-sidecar's NAMESPACE: ALL, or a list; empty is the release namespace.
            "namespaces": _sidecar_namespaces(stack.grafana_dashboard_namespaces),
            "resources": stack.sizes["grafanaDashboardSidecar"].as_values(),
        },
        "datasourceSidecar": {
            "enabled": stack.grafana_datasource_namespaces is not None,
            "label": dashboards.DATASOURCE_SIDECAR_LABEL,
            "labelValue": dashboards.SIDECAR_LABEL_VALUE,
            "namespaces": _sidecar_namespaces(stack.grafana_datasource_namespaces or ()),
        },
        **_ha(stack, replicas),
        "exposure": exposure.values("grafana", stack.exposure.get("grafana")),
    }


def _rules(stack: Stack, rule_files: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "enabled": True,
        "format": stack.rules_format,
        "extraLabels": [],
        "files": rule_files,
    }


def _otel(stack: Stack) -> dict[str, Any]:
    tier = stack.tier
    sampling = otel.Sampling(mode=tier.trace_sampling) if tier.traces else otel.Sampling()
    return otel.values(
        enabled=stack.enabled("otelCollector"),
        logs=tier.logs,
        traces=tier.traces,
        metrics=stack.enabled("otelCollector"),
        sampling=sampling,
        trace_backend=stack.traces_backend,
        agent_resources=stack.sizes["otelAgent"].as_values(),
        gateway_resources=stack.sizes["otelGateway"].as_values(),
        gateway_replicas=tier.otel_gateway_replicas,
        disruption_budget=tier.high_availability and tier.otel_gateway_replicas > 1,
        topology_spread=tier.high_availability and tier.otel_gateway_replicas > 1,
        log_export=stack.log_export or None,
        web_security=stack.web,
        image=stack.images["otelCollector"].as_values(),
        prometheus_replicas=tier.prometheus_replicas,
    )


def _logs_traces(stack: Stack) -> dict[str, Any]:
    return logs_traces.values(
        stack.tier.name,
        stack.cluster,
        traces_backend=stack.traces_backend,
        jaeger_storage=stack.jaeger_storage,
        logs_object_storage=stack.object_storage.get("logs"),
        traces_object_storage=stack.object_storage.get("traces"),
        elasticsearch=stack.elasticsearch or None,
        resources=stack.backend_resources,
        images=stack.images,
        web_security=stack.web,
    )


def build(stack: Stack) -> dict[str, Any]:
    rule_files = rules.rule_files(stack)
    document = {
        "global": {
            "cluster": stack.cluster,
            "environment": stack.environment,
            "tier": stack.tier.name,
            "imageRegistry": stack.image_registry,
            "imagePullSecrets": [{"name": n} for n in stack.image_pull_secrets],
            "storageClass": stack.storage_class,
            "highAvailability": stack.tier.high_availability,
            # How every replicated workload spreads (obs-lib.spreadConstraints).
            "spread": spread(stack.spread),
            # Defaults of every pod's placement, and labels of every object (workloads.py).
            "commonLabels": dict(stack.common_labels),
            "nodeSelector": dict(stack.node_selector),
            "tolerations": [dict(t) for t in stack.tolerations],
            "priorityClassName": stack.priority_class,
            # The wiring contract: every Service name and port that crosses
            # a subchart, for the Service's chart and its clients alike.
            "services": contract.values(stack.components or stack.tier.components),
            # Web TLS and basic auth of Prometheus and Alertmanager, for the
            # servers and all their in-cluster clients (web.py).
            "web": web.values(stack.web),
        },
        "prometheus": _prometheus(stack, rule_files),
        "alertmanager": _alertmanager(stack),
        "grafana": _grafana(stack),
        "nodeExporter": _component(stack, "nodeExporter", "metrics-exporter"),
        "kubeStateMetrics": _component(stack, "kubeStateMetrics", "metrics-exporter"),
        "blackboxExporter": {
            **_component(stack, "blackboxExporter", "prober"),
            "config": blackbox.config(),
        },
        "rules": _rules(stack, rule_files),
        "otelCollector": _otel(stack),
        **_logs_traces(stack),
        "instrumentation": instrumentation.operator_values(stack.tier, APP_INSTRUMENTATION[stack.tier.name]),
        "dashboards": dashboards.values(stack),
    }
    document["jaeger"]["exposure"] = exposure.values("jaeger", stack.exposure.get("jaeger"))
    document["volumeResize"] = volumes.values(document, stack.images["kubectl"])
    document["networkPolicies"] = network.values(stack.network_policies, document, [dict(p) for p in stack.ui_from])
    workloads.place(document, stack.workload_knobs)
    # Objects the profile releases with the stack, as data.
    document["extraObjects"] = [dict(o) for o in stack.extra_objects]
    return document
