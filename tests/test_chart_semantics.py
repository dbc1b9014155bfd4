"""The rendered objects mean what the tier decided.

test_chart_render checks that every object is well-formed and that each
configuration passes its own tool; this module checks what they say: that
Prometheus scrapes the jobs the tier enabled with the limits it chose, that
alerts route and inhibit the way the generator designed, that the names one
object uses to reach another (Service -> port, rule glob -> mount, datasource
URL -> Service) resolve, and that the global switches reach every object.
"""

from __future__ import annotations

import copy
import fnmatch
import posixpath
import re
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from obsgen.images import IMAGES
from obsgen.rules.slo.windows import seconds
from obsgen.tiers import TIER_ORDER
from obsgen.tiers import TIERS as TIER_TABLE
from tests.support import k8s
from tests.support.render import (
    NAMESPACE,
    ROOT,
    TIERS,
    configmap_file,
    container_args,
    find,
    helm_template,
    pod_specs,
    render_profile,
    render_tier,
    split,
)

HA_TIERS = tuple(t for t in TIERS if TIER_TABLE[t].high_availability)
SEVERITIES = ("critical", "warning", "info")
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
AM_SECRETS = "/etc/alertmanager/secrets"


# --- helpers -----------------------------------------------------------------


def _tier_file(tier: str) -> str:
    return str(ROOT / "values" / f"{tier}.yaml")


@cache
def _values(tier: str) -> dict[str, Any]:
    return yaml.safe_load(Path(_tier_file(tier)).read_text())


@cache
def _render(values: tuple[str, ...] = (), sets: tuple[str, ...] = (), extra: tuple[str, ...] = ()):
    return tuple(split(helm_template(values=tuple(Path(v) for v in values), sets=sets, extra=extra)))


def _one(objects, kind: str, name: str) -> dict[str, Any]:
    found = find(objects, kind, name)
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


def _containers(spec) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec["containers"]]


def _container(workload: dict[str, Any], name: str) -> dict[str, Any]:
    (c,) = [c for c in workload["spec"]["template"]["spec"]["containers"] if c["name"] == name]
    return c


def _env(container) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def _prometheus_config(objects) -> dict[str, Any]:
    return yaml.safe_load(configmap_file(objects, "obs-prometheus-config", "prometheus.yml"))


def _jobs(config) -> dict[str, dict[str, Any]]:
    return {job["job_name"]: job for job in config["scrape_configs"]}


def _alertmanager_config(objects) -> dict[str, Any]:
    return yaml.safe_load(configmap_file(objects, "obs-alertmanager-config", "alertmanager.yml"))


def _relabel(labels: dict[str, str], configs: list[dict[str, Any]]) -> dict[str, str] | None:
    """Prometheus relabelling for the actions the chart uses (replace, keep,
    drop, labeldrop, labelkeep). None means the target or alert was dropped."""
    labels = dict(labels)
    for rc in configs:
        action = rc.get("action", "replace")
        # Prometheus anchors every regex at both ends, as fullmatch does.
        pattern = str(rc.get("regex", "(.*)"))
        if action in ("labeldrop", "labelkeep"):
            for name in list(labels):
                hit = re.fullmatch(pattern, name) is not None
                if hit == (action == "labeldrop"):
                    del labels[name]
            continue
        value = rc.get("separator", ";").join(labels.get(s, "") for s in rc.get("source_labels", []))
        match = re.fullmatch(pattern, value)
        if action == "keep" and not match:
            return None
        if action == "drop" and match:
            return None
        if action == "replace" and match:
            replacement = re.sub(r"\$\{?(\w+)\}?", r"\\g<\1>", str(rc.get("replacement", "$1")))
            result = match.expand(replacement)
            if result:
                labels[rc["target_label"]] = result
            else:
                labels.pop(rc["target_label"], None)
        elif action not in ("replace", "keep", "drop"):
            raise NotImplementedError(action)
    return labels


_MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*')


def _matches(matcher: str, labels: dict[str, str]) -> bool:
    parsed = _MATCHER.fullmatch(matcher)
    assert parsed, f"unparsable matcher {matcher!r}"
    name, op, value = parsed.groups()
    actual = labels.get(name, "")
    if op == "=":
        return actual == value
    if op == "!=":
        return actual != value
    hit = re.fullmatch(value, actual) is not None
    return hit if op == "=~" else not hit


def _receivers(route: dict[str, Any], labels: dict[str, str], inherited: str | None = None) -> list[str]:
    """Every receiver Alertmanager notifies for an alert: the first matching
    child wins unless it says `continue`; no matching child, the node's own."""
    receiver = route.get("receiver", inherited)
    found: list[str] = []
    for child in route.get("routes", []):
        if all(_matches(m, labels) for m in child.get("matchers", [])):
            found += _receivers(child, labels, receiver)
            if not child.get("continue"):
                return found
    return found or [receiver]


def _route(route: dict[str, Any], labels: dict[str, str]) -> str:
    """The one receiver of an alert that no `continue` route fans out."""
    (receiver,) = _receivers(route, labels)
    return receiver


def _inhibits(rule: dict[str, Any], source: dict[str, str], target: dict[str, str]) -> bool:
    return (
        all(_matches(m, source) for m in rule.get("source_matchers", []))
        and all(_matches(m, target) for m in rule.get("target_matchers", []))
        and all(source.get(label, "") == target.get(label, "") for label in rule.get("equal", []))
    )


_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_UNIT = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def _seconds(duration: str) -> float:
    parts = _DURATION.findall(duration)
    assert parts and "".join(n + u for n, u in parts) == duration, duration
    return sum(int(n) * _UNIT[u] for n, u in parts)


def _pod_workloads(objects) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] in ("Deployment", "StatefulSet", "DaemonSet")]


def _images(objects) -> list[str]:
    return [c["image"] for _, spec in pod_specs(objects) for c in [*_containers(spec), *spec.get("ephemeralContainers", [])]]


def _claims(objects) -> list[tuple[str, dict[str, Any]]]:
    out = [(f"PersistentVolumeClaim/{o['metadata']['name']}", o["spec"]) for o in find(objects, "PersistentVolumeClaim")]
    for sts in find(objects, "StatefulSet"):
        for vct in sts["spec"].get("volumeClaimTemplates", []):
            out.append((f"StatefulSet/{sts['metadata']['name']}/{vct['metadata']['name']}", vct["spec"]))
    return out


# --- Prometheus configuration ------------------------------------------------

LIMITS = {
    "sample_limit": "sampleLimit",
    "label_limit": "labelLimit",
    "label_name_length_limit": "labelNameLengthLimit",
    "label_value_length_limit": "labelValueLengthLimit",
}


@pytest.mark.parametrize("tier", TIERS)
def test_every_scrape_job_carries_the_tier_limits(tier):
    decided = {job["jobName"]: job for job in _values(tier)["prometheus"]["scrapeJobs"].values()}
    jobs = _prometheus_config(render_tier(tier))["scrape_configs"]
    assert jobs
    for job in jobs:
        name = job["job_name"]
        for key, values_key in LIMITS.items():
            # 0 would mean "no limit" to Prometheus: a missing budget, not a small one.
            assert job.get(key, 0) > 0, f"{tier}/{name}: no {key}"
            assert job[key] == decided[name][values_key], f"{tier}/{name}: {key}"
    ksm = next(j for j in jobs if j["job_name"] == "kube-state-metrics")
    assert ksm["sample_limit"] == TIER_TABLE[tier].kube_state_metrics_sample_limit


@pytest.mark.parametrize("tier", TIERS)
def test_scrape_jobs_are_exactly_the_enabled_ones(tier):
    prom = _values(tier)["prometheus"]
    expected = {job["jobName"] for key, job in prom["scrapeJobs"].items() if job["enabled"] and (key != "blackbox" or prom["probes"])}
    names = [job["job_name"] for job in _prometheus_config(render_tier(tier))["scrape_configs"]]
    assert len(names) == len(set(names)), f"duplicate job names: {names}"
    assert set(names) == expected
    # The tier decisions behind the set: node metrics from intermediate on,
    # and no probe job while no service declares a health endpoint.
    from_intermediate = TIER_ORDER.index(tier) >= TIER_ORDER.index("intermediate")
    assert ("node-exporter" in names) == from_intermediate == _values(tier)["nodeExporter"]["enabled"]
    assert not prom["probes"] and "blackbox" not in names


@pytest.mark.parametrize("tier", TIERS)
def test_own_component_discovery_names_rendered_services_and_ports(tier):
    """A keep rule on service;port that matches nothing scrapes nothing, silently."""
    objects = render_tier(tier)
    config = _prometheus_config(objects)
    discoveries = [(f"job {j['job_name']}", j.get("relabel_configs", [])) for j in config["scrape_configs"]]
    discoveries += [("alertmanagers", am.get("relabel_configs", [])) for am in config["alerting"]["alertmanagers"]]
    checked = 0
    for where, relabels in discoveries:
        for rc in relabels:
            if rc.get("action") == "keep" and rc.get("source_labels") == [
                "__meta_kubernetes_service_name",
                "__meta_kubernetes_endpointslice_port_name",
            ]:
                service, port = rc["regex"].split(";")
                if (where, service, port) == ("job apiserver", "kubernetes", "https"):
                    # default/kubernetes is the API server's own Service, created by the cluster.
                    continue
                # The service part is a regex (Loki's job names a family of headless Services).
                services = [o for o in find(objects, "Service") if re.fullmatch(service, o["metadata"]["name"])]
                assert services, f"{where}: no rendered Service matches {service}"
                for svc in services:
                    assert port in {p["name"] for p in svc["spec"]["ports"]}, f"{where}: {svc['metadata']['name']} has no port {port}"
                checked += 1
    assert checked >= 3


def test_probes_render_as_a_blackbox_job(acme_values):
    objects = _render((str(acme_values),))
    probes = yaml.safe_load(acme_values.read_text())["prometheus"]["probes"]
    assert probes, "the example profile declares health endpoints"
    job = _jobs(_prometheus_config(objects))["blackbox"]
    assert job["metrics_path"] == "/probe"
    modules = set(yaml.safe_load(configmap_file(objects, "obs-blackbox-exporter", "blackbox.yml"))["modules"])
    by_url = {p["url"]: p for p in probes}
    seen = []
    for static in job["static_configs"]:
        for target in static["targets"]:
            labels = _relabel(
                {"__address__": target, "job": "blackbox", "__metrics_path__": "/probe", **static["labels"]},
                job["relabel_configs"],
            )
            probe = by_url[target]
            # What Prometheus finally requests:
            # http://<blackbox>/probe?target=<url>&module=<module>
            assert labels["__address__"] == f"obs-blackbox-exporter.{NAMESPACE}.svc:9115"
            assert labels["__param_target"] == target
            assert labels["__param_module"] == probe["module"]
            assert labels["__param_module"] in modules
            assert labels["instance"] == target
            assert (labels["service"], labels["namespace"], labels["team"]) == (probe["service"], probe["namespace"], probe["team"])
            seen.append(target)
    assert sorted(seen) == sorted(by_url)
    svc = _one(objects, "Service", "obs-blackbox-exporter")
    assert 9115 in {p["port"] for p in svc["spec"]["ports"]}


@pytest.mark.parametrize("tier", TIERS)
def test_external_labels_identify_cluster_and_ha_replica(tier):
    objects = render_tier(tier)
    values = _values(tier)
    labels = _prometheus_config(objects)["global"]["external_labels"]
    assert labels["cluster"] == values["global"]["cluster"]
    assert labels["environment"] == values["global"]["environment"]
    replicas = values["prometheus"]["replicas"]
    assert (replicas > 1) == (tier in HA_TIERS)
    sts = _one(objects, "StatefulSet", "obs-prometheus")
    assert sts["spec"]["replicas"] == replicas
    if replicas > 1:
        assert labels["prometheus_replica"] == "${POD_NAME}"
        env = _container(sts, "prometheus")["env"]
        assert {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}} in [
            {k: e[k] for k in ("name", "valueFrom") if k in e} for e in env
        ]
    else:
        assert "prometheus_replica" not in labels


@pytest.mark.parametrize("tier", TIERS)
def test_alerts_leave_prometheus_without_the_replica_label(tier):
    """HA replicas must send identical alerts, or Alertmanager cannot deduplicate them."""
    relabels = _prometheus_config(render_tier(tier))["alerting"]["alert_relabel_configs"]
    alert = {"alertname": "X", "cluster": "obs", "severity": "critical", "prometheus_replica": "obs-prometheus-1"}
    out = _relabel(alert, relabels)
    assert out is not None
    assert out == {k: v for k, v in alert.items() if k != "prometheus_replica"}


@pytest.mark.parametrize("tier", TIERS)
def test_rule_files_glob_matches_the_projected_rules_volume(tier):
    objects = render_tier(tier)
    config = _prometheus_config(objects)
    sts = _one(objects, "StatefulSet", "obs-prometheus")
    spec = sts["spec"]["template"]["spec"]
    mounts = {m["mountPath"]: m for m in _container(sts, "prometheus")["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    rule_maps = [cm for cm in find(objects, "ConfigMap") if cm["metadata"]["labels"].get("obs.dev/rule-file") == "true"]
    assert rule_maps and config["rule_files"]
    for glob in config["rule_files"]:
        directory = posixpath.dirname(glob)
        assert directory in mounts, f"nothing mounted at {directory}"
        volume = volumes[mounts[directory]["name"]]
        sources = volume["projected"]["sources"]
        assert {s["configMap"]["name"] for s in sources} == {cm["metadata"]["name"] for cm in rule_maps}
        assert not any("items" in s["configMap"] for s in sources), "items would hide keys the glob expects"
        files = [f"{directory}/{key}" for cm in rule_maps for key in cm["data"]]
        unmatched = [f for f in files if not fnmatch.fnmatch(f, glob)]
        assert not unmatched, f"{glob} misses {unmatched}"


@pytest.mark.parametrize("tier", TIERS)
def test_prometheus_args_follow_the_tier(tier):
    objects = render_tier(tier)
    prom = _values(tier)["prometheus"]
    sts = _one(objects, "StatefulSet", "obs-prometheus")
    container = _container(sts, "prometheus")
    args = container["args"]
    assert f"--storage.tsdb.retention.time={prom['retention']['time']}" in args
    assert f"--storage.tsdb.retention.size={prom['retention']['size']}" in args
    assert prom["retention"]["time"] == TIER_TABLE[tier].retention_time
    assert "--enable-feature=auto-reload-config" in args
    assert f"--config.auto-reload-interval={prom['configReloadInterval']}" in args
    # --config.file names a file the config volume really provides.
    (config_file,) = [a.split("=", 1)[1] for a in args if a.startswith("--config.file=")]
    mount = next(m for m in container["volumeMounts"] if m["mountPath"] == posixpath.dirname(config_file))
    volume = next(v for v in sts["spec"]["template"]["spec"]["volumes"] if v["name"] == mount["name"])
    cm = _one(objects, "ConfigMap", volume["configMap"]["name"])
    assert posixpath.basename(config_file) in cm["data"]
    (data,) = [a.split("=", 1)[1] for a in args if a.startswith("--storage.tsdb.path=")]
    assert any(m["mountPath"] == data and m["name"] == "data" for m in container["volumeMounts"])


@pytest.mark.parametrize("tier", TIERS)
def test_kubelet_jobs_authenticate_with_the_service_account_token(tier):
    objects = render_tier(tier)
    jobs = _jobs(_prometheus_config(objects))
    for name, path in (("kubelet", "/metrics"), ("cadvisor", "/metrics/cadvisor")):
        job = jobs[name]
        assert job["scheme"] == "https"
        assert job["metrics_path"] == path
        assert job["authorization"]["credentials_file"] == f"{SA_DIR}/token"
        assert "credentials" not in job["authorization"]
        assert job["tls_config"]["ca_file"] == f"{SA_DIR}/ca.crt"
        assert [sd["role"] for sd in job["kubernetes_sd_configs"]] == ["node"]
    spec = _one(objects, "StatefulSet", "obs-prometheus")["spec"]["template"]["spec"]
    assert spec["automountServiceAccountToken"] is True
    # The pod's field overrides its account's (false on every obs account).
    _one(objects, "ServiceAccount", spec["serviceAccountName"])


WRITE_VERBS = {"create", "update", "patch", "delete", "deletecollection", "escalate", "bind", "impersonate", "*"}


@pytest.mark.parametrize("tier", TIERS)
def test_rbac_is_read_only_and_never_touches_secrets(tier):
    objects = render_tier(tier)
    roles = [o for o in objects if o["kind"] in ("ClusterRole", "Role")]
    assert roles
    for role in roles:
        where = f"{role['kind']}/{role['metadata']['name']}"
        for rule in role["rules"]:
            assert not set(rule["verbs"]) & WRITE_VERBS, f"{where} grants {rule['verbs']}"
            assert "*" not in rule.get("apiGroups", []), where
            resources = set(rule.get("resources", []))
            assert not resources & {"secrets", "*", "nodes/proxy"}, f"{where} grants {sorted(resources)}"
            if rule.get("nonResourceURLs"):
                # Only the API server's /metrics, and only where the apiserver job runs (enterprise).
                assert rule == {"nonResourceURLs": ["/metrics"], "verbs": ["get"]}, where
                assert where == f"ClusterRole/obs-prometheus-{NAMESPACE}", where
                assert _values(tier)["prometheus"]["scrapeJobs"]["apiserver"]["enabled"], where
    prometheus = _one(objects, "ClusterRole", f"obs-prometheus-{NAMESPACE}")
    assert any("" in r["apiGroups"] and "nodes/metrics" in r["resources"] and "get" in r["verbs"] for r in prometheus["rules"]), (
        "kubelet scrapes are authorised as get on nodes/metrics"
    )


# --- Alertmanager ------------------------------------------------------------


@pytest.mark.parametrize("tier", TIERS)
def test_alertmanager_clusters_exactly_in_ha_tiers(tier):
    objects = render_tier(tier)
    sts = _one(objects, "StatefulSet", "obs-alertmanager")
    container = _container(sts, "alertmanager")
    args = container["args"]
    replicas = sts["spec"]["replicas"]
    assert replicas == TIER_TABLE[tier].alertmanager_replicas
    peers = [a.split("=", 1)[1] for a in args if a.startswith("--cluster.peer=")]
    headless = sts["spec"]["serviceName"]
    assert headless == "obs-alertmanager-headless"
    if tier in HA_TIERS:
        assert replicas == 3
        assert peers == [f"obs-alertmanager-{i}.{headless}.{NAMESPACE}.svc:9094" for i in range(replicas)]
        assert "--cluster.listen-address=0.0.0.0:9094" in args
        assert {(p["containerPort"], p["protocol"]) for p in container["ports"]} >= {(9094, "TCP"), (9094, "UDP")}
    else:
        assert replicas == 1
        assert not peers
        # An empty listen address switches gossip off; the default would
        # listen on 9094 and wait for peers that never come.
        assert "--cluster.listen-address=" in args


@pytest.mark.parametrize("tier", TIERS)
def test_alertmanager_headless_service_publishes_unready_peers(tier):
    objects = render_tier(tier)
    sts = _one(objects, "StatefulSet", "obs-alertmanager")
    svc = _one(objects, "Service", sts["spec"]["serviceName"])
    assert svc["spec"]["clusterIP"] == "None"
    # Peers must resolve each other before any of them is ready.
    assert svc["spec"]["publishNotReadyAddresses"] is True


@pytest.mark.parametrize("tier", TIERS)
def test_disruption_budgets_only_in_ha_tiers(tier):
    objects = render_tier(tier)
    pdbs = {p["metadata"]["name"]: p for p in find(objects, "PodDisruptionBudget")}
    if tier in HA_TIERS:
        # The alerting core always; other multi-replica workloads (the OTel
        # gateway, scalable Loki) where their tier runs them.
        assert {"obs-prometheus", "obs-alertmanager"} <= set(pdbs)
    else:
        assert not pdbs
    for name, pdb in pdbs.items():
        selected = [
            w
            for w in _pod_workloads(objects)
            if pdb["spec"]["selector"]["matchLabels"].items() <= w["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert len(selected) == 1, f"{name} selects {[w['metadata']['name'] for w in selected]}"
        assert 0 < pdb["spec"]["maxUnavailable"] < selected[0]["spec"]["replicas"], name


@pytest.mark.parametrize("tier", TIERS)
def test_topology_spread_only_in_ha_tiers(tier):
    objects = render_tier(tier)
    spread = {}
    for workload in _pod_workloads(objects):
        constraints = workload["spec"]["template"]["spec"].get("topologySpreadConstraints")
        if constraints:
            spread[workload["metadata"]["name"]] = (workload, constraints)
    if tier in HA_TIERS:
        assert {"obs-prometheus", "obs-alertmanager"} <= set(spread)
    else:
        assert not spread
    for workload, constraints in spread.values():
        pod_labels = workload["spec"]["template"]["metadata"]["labels"]
        assert "kubernetes.io/hostname" in {c["topologyKey"] for c in constraints}
        for c in constraints:
            assert c["labelSelector"]["matchLabels"].items() <= pod_labels.items()


def test_spread_choice_reaches_every_replicated_workload(tmp_path):
    """highAvailability.spread: required keeps replicas apart on nodes and zones, in every workload that spreads."""
    default = {w["metadata"]["name"]: w for w in _pod_workloads(render_tier("enterprise"))}
    chosen = render_profile({"name": "spread", "extends": "enterprise", "highAvailability": {"spread": {"nodes": "required"}}}, tmp_path)
    spread = {
        w["metadata"]["name"]: {
            c["topologyKey"]: c["whenUnsatisfiable"] for c in w["spec"]["template"]["spec"]["topologySpreadConstraints"]
        }
        for w in _pod_workloads(chosen)
        if w["spec"]["template"]["spec"].get("topologySpreadConstraints")
    }
    # Every workload that spreads by default, and nothing else.
    assert set(spread) == {n for n, w in default.items() if w["spec"]["template"]["spec"].get("topologySpreadConstraints")}
    assert {"obs-prometheus", "obs-alertmanager", "obs-otel-collector-gateway", "obs-loki-write"} <= set(spread)
    for name, when in spread.items():
        assert when == {"kubernetes.io/hostname": "DoNotSchedule", "topology.kubernetes.io/zone": "ScheduleAnyway"}, name
    for w in default.values():
        for c in w["spec"]["template"]["spec"].get("topologySpreadConstraints", []):
            assert c["whenUnsatisfiable"] == "ScheduleAnyway", w["metadata"]["name"]


def _routes(route: dict[str, Any], inherited: dict[str, Any]) -> list[dict[str, Any]]:
    """Every route of an Alertmanager routing tree with the settings it inherits filled in."""
    here = {**inherited, **{k: v for k, v in route.items() if k != "routes"}}
    return [here, *(r for child in route.get("routes", []) for r in _routes(child, here))]


@pytest.mark.parametrize("tier", TIERS)
def test_alertmanager_cluster_sends_no_stale_resolve(tier, tmp_path):
    """The last peer's duplicate check ((replicas - 1) x peer timeout after its flush) comes a whole peer
    timeout before the page of an alert that fired again (group_wait after it arrives), on every route
    whose receiver sends resolved notifications (artifacts/alertmanager.py explains the race)."""
    webhook = {"type": "webhook", "secretRef": {"name": "shop-webhook", "key": "url"}}
    profile = {
        "name": f"cluster-{tier}",
        "extends": tier,
        "defaultTeam": "shop",
        "teams": [{"name": "shop", "receivers": [webhook]}],
        "exposure": {ui: {"externalUrl": f"https://{ui}.example"} for ui in ("grafana", "prometheus", "alertmanager")},
    }
    objects = render_profile(profile, tmp_path)
    sts = _one(objects, "StatefulSet", "obs-alertmanager")
    replicas = sts["spec"]["replicas"]
    args = container_args(objects, "StatefulSet", "obs-alertmanager")
    if replicas == 1:
        assert "--cluster.listen-address=" in args
        return
    (timeout,) = [a.split("=", 1)[1] for a in args if a.startswith("--cluster.peer-timeout=")]
    config = _alertmanager_config(objects)
    resolving = {
        r["name"]
        for r in config["receivers"]
        if any(c.get("send_resolved", True) for k, v in r.items() if k.endswith("_configs") for c in v)
    }
    routes = [r for r in _routes(config["route"], {"group_wait": "30s"}) if r["receiver"] in resolving]
    assert routes
    for route in routes:
        assert seconds(route["group_wait"]) >= replicas * seconds(timeout), route


def _alertmanager_checksum(objects) -> str:
    sts = _one(objects, "StatefulSet", "obs-alertmanager")
    return sts["spec"]["template"]["metadata"]["annotations"]["checksum/config"]


def test_alertmanager_config_change_rolls_the_pods():
    same = _render(sets=("alertmanager.config.global.resolve_timeout=5m",))
    changed = _render(sets=("alertmanager.config.global.resolve_timeout=7m",))
    assert _alertmanager_config(changed)["global"]["resolve_timeout"] == "7m"
    assert _alertmanager_checksum(changed) != _alertmanager_checksum(same)
    # Unchanged config, unchanged checksum: upgrades do not roll for nothing.
    assert _alertmanager_config(same) == _alertmanager_config(render_tier("basic"))
    assert _alertmanager_checksum(same) == _alertmanager_checksum(render_tier("basic"))


# --- Alertmanager configuration semantics ------------------------------------


def _teams(objects) -> tuple[list[str], str]:
    """(teams, default team) as the generated receivers name them."""
    config = _alertmanager_config(objects)
    named = [r["name"] for r in config["receivers"] if not r["name"].endswith("-policy") and r["name"] != "heartbeat"]
    teams = list(dict.fromkeys(name.rsplit("-", 1)[0] for name in named))
    return teams, config["route"]["receiver"].rsplit("-", 1)[0]


def _routing_cases():
    cases = [pytest.param(_tier_file(t), id=t) for t in TIERS]
    cases.append(pytest.param("acme", id="acme"))
    return cases


@pytest.fixture
def values_file(request, acme_values) -> str:
    return str(acme_values) if request.param == "acme" else request.param


@pytest.mark.parametrize("values_file", _routing_cases(), indirect=True)
def test_routes_go_by_severity_then_team(values_file):
    objects = _render((values_file,))
    config = _alertmanager_config(objects)
    route = config["route"]
    receivers = [r["name"] for r in config["receivers"]]
    assert len(receivers) == len(set(receivers))
    teams, default = _teams(objects)
    if values_file.endswith("acme.yaml"):
        profile = yaml.safe_load((ROOT / "examples" / "profiles" / "acme.yaml").read_text())
        assert teams == [t["name"] for t in profile["teams"]] and default == profile["defaultTeam"]

    def walk(node):
        assert not {"match", "match_re"} & set(node), "deprecated matchers"
        if "receiver" in node:
            assert node["receiver"] in receivers, f"route to unknown receiver {node['receiver']}"
        for child in node.get("routes", []):
            walk(child)

    walk(route)
    # Top level: the error-budget policy branch (enterprise), then one branch
    # per severity; second level: one per team.
    # First of all, the dead man's switch: Watchdog to the heartbeat receiver only.
    heartbeat, *rest = route["routes"]
    assert heartbeat["matchers"] == ['alertname="Watchdog"'] and heartbeat["receiver"] == "heartbeat"
    assert not heartbeat.get("continue") and "routes" not in heartbeat
    policy = [r for r in rest if r["matchers"] == ['action=~".+"']]
    severity_routes = [r for r in rest if r not in policy]
    assert [r["matchers"] for r in severity_routes] == [[f'severity="{s}"'] for s in SEVERITIES]
    tier = yaml.safe_load(Path(values_file).read_text())["global"]["tier"]
    if tier == "enterprise":
        assert rest[0] == policy[0] and policy[0]["continue"] is True
        owner = teams[-1]
        # The policy team hears of the action, and the owning team still gets its alert.
        assert _receivers(route, {"severity": "critical", "team": owner, "action": "freeze-releases"}) == [
            policy[0]["receiver"],
            f"{owner}-critical",
        ]
    else:
        assert not policy
    for severity in SEVERITIES:
        for team in teams:
            assert _route(route, {"severity": severity, "team": team}) == f"{team}-{severity}"
        # An unknown team still reaches a person: the default team.
        assert _route(route, {"severity": severity, "team": "nobody"}) == f"{default}-{severity}"
    # A rule without severity is a bug someone must still hear about.
    assert _route(route, {"team": teams[-1]}) == f"{default}-warning"
    # More urgent alerts are re-sent more often.
    repeat = {r["matchers"][0].split('"')[1]: _seconds(r["repeat_interval"]) for r in severity_routes}
    assert repeat["critical"] < repeat["warning"] < repeat["info"]


@pytest.mark.parametrize("values_file", _routing_cases(), indirect=True)
def test_inhibition_rules_silence_the_redundant_alert(values_file):
    rules = _alertmanager_config(_render((values_file,)))["inhibit_rules"]
    where = {"cluster": "obs", "namespace": "shop", "service": "checkout", "job": "checkout"}

    def inhibited(source, target):
        return any(_inhibits(rule, source, target) for rule in rules)

    critical = {**where, "alertname": "HighErrorRate", "severity": "critical"}
    warning = {**critical, "severity": "warning"}
    info = {**critical, "severity": "info"}
    assert inhibited(critical, warning) and inhibited(critical, info) and inhibited(warning, info)
    assert not inhibited(warning, critical) and not inhibited(info, warning)
    # Only the same alert of the same service in the same place.
    for label in ("cluster", "namespace", "service", "alertname"):
        assert not inhibited(critical, {**warning, label: "other"}), label
    (severity_rule,) = [r for r in rules if r["source_matchers"] == ['severity="critical"']]
    assert severity_rule["equal"] == ["cluster", "namespace", "service", "alertname"]

    # A target that cannot be scraped explains every other alert about it...
    down = {**where, "alertname": "TargetDown", "severity": "warning"}
    assert inhibited(down, {**where, "alertname": "HighLatency", "severity": "warning"})
    assert inhibited(down, {**where, "alertname": "HighLatency", "severity": "critical"})
    # ...but neither itself nor alerts about other jobs.
    assert not inhibited(down, {**down, "job": "other"} | {"alertname": "HighLatency"})
    assert not any(_inhibits(r, down, down) for r in rules)


def test_critical_alerts_inhibit_their_warning_twins(acme_values):
    """ServiceErrorRatioHigh makes ServiceErrorRatioElevated redundant, a full
    volume its filling-up warning, and so on: the catalogue's escalations."""
    from obsgen.rules.alerts import ESCALATIONS
    from tests.alert_cases import CASES

    rules = _alertmanager_config(_render((str(acme_values),)))["inhibit_rules"]
    rendered = {(r["source_matchers"][0], r["target_matchers"][0]): r for r in rules if len(r["source_matchers"]) == 1}
    for e in ESCALATIONS:
        # The object labels are labels both alerts really carry (their firing
        # cases; `cluster` is the external label Prometheus adds on sending).
        for name in (e.critical, e.warning):
            carried = {k for case in CASES[name] for check in case.checks for alert in check.firing for k in alert.labels}
            assert set(e.same) - {"cluster"} <= carried, (name, set(e.same) - carried)
        rule = rendered[(f'alertname="{e.critical}"', f'alertname="{e.warning}"')]
        obj = {label: f"x-{label}" for label in e.same}
        critical = {**obj, "alertname": e.critical, "severity": "critical"}
        warning = {**obj, "alertname": e.warning, "severity": "warning"}
        assert _inhibits(rule, critical, warning) and not _inhibits(rule, warning, critical)
        for label in e.same:
            assert not _inhibits(rule, critical, {**warning, label: "another"}), (e, label)


def test_every_secret_file_sits_in_a_mounted_secret(acme_values):
    objects = _render((str(acme_values),))
    config = _alertmanager_config(objects)
    paths: list[str] = []

    def collect(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key.endswith("_file"):
                    paths.append(value)
                else:
                    collect(value)
        elif isinstance(node, list):
            for item in node:
                collect(item)

    collect(config)
    assert paths, "the example profile's receivers read credentials from files"
    sts = _one(objects, "StatefulSet", "obs-alertmanager")
    mounts = {m["mountPath"]: m for m in _container(sts, "alertmanager")["volumeMounts"]}
    volumes = {v["name"]: v for v in sts["spec"]["template"]["spec"]["volumes"]}
    used = set()
    for path in paths:
        assert path.startswith(f"{AM_SECRETS}/"), path
        secret_name, _, key = path.removeprefix(f"{AM_SECRETS}/").partition("/")
        assert key and "/" not in key, path
        mount = mounts.get(f"{AM_SECRETS}/{secret_name}")
        assert mount, f"{path}: Secret {secret_name} is not mounted"
        assert mount.get("readOnly") is True
        secret = volumes[mount["name"]]["secret"]
        assert secret["secretName"] == secret_name
        if "items" in secret:
            assert key in {i["path"] for i in secret["items"]}
        used.add(secret_name)
    mounted = {p.removeprefix(f"{AM_SECRETS}/") for p in mounts if p.startswith(f"{AM_SECRETS}/")}
    assert mounted == used, "a mounted Secret no receiver reads"


# --- kube-state-metrics ------------------------------------------------------

# API group of every kind kube-state-metrics can export (its --resources names).
KSM_API_GROUPS = {
    **dict.fromkeys(
        [
            "configmaps",
            "endpoints",
            "limitranges",
            "namespaces",
            "nodes",
            "persistentvolumeclaims",
            "persistentvolumes",
            "pods",
            "replicationcontrollers",
            "resourcequotas",
            "secrets",
            "serviceaccounts",
            "services",
        ],
        "",
    ),
    **dict.fromkeys(["daemonsets", "deployments", "replicasets", "statefulsets"], "apps"),
    **dict.fromkeys(["cronjobs", "jobs"], "batch"),
    "horizontalpodautoscalers": "autoscaling",
    "poddisruptionbudgets": "policy",
    "certificatesigningrequests": "certificates.k8s.io",
    "endpointslices": "discovery.k8s.io",
    "leases": "coordination.k8s.io",
    **dict.fromkeys(["ingressclasses", "ingresses", "networkpolicies"], "networking.k8s.io"),
    **dict.fromkeys(["storageclasses", "volumeattachments"], "storage.k8s.io"),
    **dict.fromkeys(["mutatingwebhookconfigurations", "validatingwebhookconfigurations"], "admissionregistration.k8s.io"),
    **dict.fromkeys(["clusterrolebindings", "clusterroles", "rolebindings", "roles"], "rbac.authorization.k8s.io"),
}


@pytest.mark.parametrize("tier", TIERS)
def test_kube_state_metrics_may_read_exactly_what_it_exports(tier):
    objects = render_tier(tier)
    deployment = _one(objects, "Deployment", "obs-kube-state-metrics")
    args = _container(deployment, "kube-state-metrics")["args"]
    (flag,) = [a.split("=", 1)[1] for a in args if a.startswith("--resources=")]
    exported = set(flag.split(","))
    unknown = exported - set(KSM_API_GROUPS)
    assert not unknown, f"not a kube-state-metrics resource: {sorted(unknown)}"
    role = _one(objects, "ClusterRole", f"obs-kube-state-metrics-{NAMESPACE}")
    granted = {(group, resource) for rule in role["rules"] for group in rule["apiGroups"] for resource in rule["resources"]}
    assert granted == {(KSM_API_GROUPS[r], r) for r in exported}
    for rule in role["rules"]:
        assert sorted(rule["verbs"]) == ["list", "watch"]
    binding = _one(objects, "ClusterRoleBinding", role["metadata"]["name"])
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    sa = deployment["spec"]["template"]["spec"]["serviceAccountName"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": sa, "namespace": NAMESPACE}]


def test_cluster_scoped_names_carry_the_namespace():
    """Two releases named obs in different namespaces must not share a ClusterRole."""
    objects = _render(extra=("--namespace", "ops"))
    cluster_scoped = [o for o in objects if o["kind"] in ("ClusterRole", "ClusterRoleBinding")]
    assert {o["metadata"]["name"] for o in cluster_scoped} == {"obs-kube-state-metrics-ops", "obs-prometheus-ops"}
    for binding in find(objects, "ClusterRoleBinding"):
        assert all(s["namespace"] == "ops" for s in binding["subjects"])
    assert _one(render_tier("basic"), "ClusterRole", "obs-kube-state-metrics-monitoring")


# --- Grafana -----------------------------------------------------------------


@pytest.mark.parametrize("tier", TIERS)
def test_grafana_datasources_point_at_this_release(tier):
    objects = render_tier(tier)
    provisioning = yaml.safe_load(configmap_file(objects, "obs-grafana-provisioning", "datasources.yaml"))
    by_uid = {d["uid"]: d for d in provisioning["datasources"]}
    assert by_uid["prometheus"]["type"] == "prometheus"
    assert by_uid["prometheus"]["url"] == f"http://obs-prometheus.{NAMESPACE}.svc:9090"
    assert by_uid["alertmanager"]["type"] == "alertmanager"
    assert by_uid["alertmanager"]["url"] == f"http://obs-alertmanager.{NAMESPACE}.svc:9093"
    assert [d["uid"] for d in provisioning["datasources"] if d.get("isDefault")] == ["prometheus"]
    for ds in by_uid.values():
        url = urlsplit(ds["url"])
        service, namespace, _ = url.hostname.split(".", 2)
        assert namespace == NAMESPACE
        assert url.port in {p["port"] for p in _one(objects, "Service", service)["spec"]["ports"]}
    # Grafana reads the file: it is mounted where GF_PATHS_PROVISIONING says.
    deployment = _one(objects, "Deployment", "obs-grafana")
    grafana = _container(deployment, "grafana")
    directory = _env(grafana)["GF_PATHS_PROVISIONING"] + "/datasources"
    (mount,) = [m for m in grafana["volumeMounts"] if m["mountPath"] == directory]
    volume = next(v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == mount["name"])
    assert volume["configMap"]["name"] == "obs-grafana-provisioning"
    assert [i["key"] for i in volume["configMap"]["items"]] == ["datasources.yaml"]


@pytest.mark.parametrize("tier", TIERS)
def test_grafana_sidecar_loads_labelled_dashboards_where_grafana_reads_them(tier):
    objects = render_tier(tier)
    grafana_values = _values(tier)["grafana"]["dashboardSidecar"]
    deployment = _one(objects, "Deployment", "obs-grafana")
    env = _env(_container(deployment, "dashboard-sidecar"))
    assert (env["LABEL"], env["LABEL_VALUE"]) == ("grafana_dashboard", "1")
    assert (env["LABEL"], env["LABEL_VALUE"]) == (grafana_values["label"], grafana_values["labelValue"])
    assert env["RESOURCE"] == "configmap" and env["NAMESPACE"] == NAMESPACE
    providers = yaml.safe_load(configmap_file(objects, "obs-grafana-provisioning", "dashboards.yaml"))["providers"]
    assert [p["options"]["path"] for p in providers] == [env["FOLDER"]]
    for name in ("grafana", "dashboard-sidecar"):
        mounts = {m["mountPath"]: m["name"] for m in _container(deployment, name)["volumeMounts"]}
        assert mounts.get(env["FOLDER"]) == "dashboards", f"{name} does not share the dashboards volume"
    # The sidecar may list and watch ConfigMaps of its own namespace, nothing more.
    sa = deployment["spec"]["template"]["spec"]["serviceAccountName"]
    binding = _one(objects, "RoleBinding", "obs-grafana")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": sa, "namespace": NAMESPACE}]
    role = _one(objects, "Role", binding["roleRef"]["name"])
    assert role["rules"] == [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}]


GRAFANA_NO_CALLS_HOME = {
    "GF_ANALYTICS_REPORTING_ENABLED": "false",
    "GF_ANALYTICS_CHECK_FOR_UPDATES": "false",
    "GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES": "false",
    "GF_ANALYTICS_FEEDBACK_LINKS_ENABLED": "false",
    "GF_NEWS_NEWS_FEED_ENABLED": "false",
    "GF_PLUGINS_PREINSTALL_DISABLED": "true",
    "GF_PLUGINS_PUBLIC_KEY_RETRIEVAL_DISABLED": "true",
    "GF_SECURITY_DISABLE_GRAVATAR": "true",
    "GF_SNAPSHOTS_EXTERNAL_ENABLED": "false",
}


@pytest.mark.parametrize("tier", TIERS)
def test_grafana_runs_without_egress_and_writes_only_to_volumes(tier):
    deployment = _one(render_tier(tier), "Deployment", "obs-grafana")
    grafana = _container(deployment, "grafana")
    env = _env(grafana)
    wrong = {name: env.get(name) for name, value in GRAFANA_NO_CALLS_HOME.items() if env.get(name) != value}
    assert not wrong, f"would call out: {wrong}"
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "false" and env["GF_USERS_ALLOW_SIGN_UP"] == "false"
    # The root file system is read-only: every directory Grafana writes to
    # must sit on a writable volume.
    writable = [m["mountPath"] for m in grafana["volumeMounts"] if not m.get("readOnly")]
    for name in ("GF_PATHS_DATA", "GF_PATHS_LOGS", "GF_PATHS_PLUGINS"):
        assert any(env[name] == w or env[name].startswith(w + "/") for w in writable), f"{name}={env[name]}"
    for container in deployment["spec"]["template"]["spec"]["containers"]:
        assert any(m["mountPath"] == "/tmp" and not m.get("readOnly") for m in container["volumeMounts"]), container["name"]
    sidecar = _container(deployment, "dashboard-sidecar")
    folder = _env(sidecar)["FOLDER"]
    assert any(m["mountPath"] == folder and not m.get("readOnly") for m in sidecar["volumeMounts"])


def _admin_refs(objects) -> dict[str, dict[str, str]]:
    env = _env(_container(_one(objects, "Deployment", "obs-grafana"), "grafana"))
    return {name: env[name]["secretKeyRef"] for name in ("GF_SECURITY_ADMIN_USER", "GF_SECURITY_ADMIN_PASSWORD")}


def test_grafana_admin_credentials_come_from_an_existing_secret():
    objects = _render(sets=("grafana.admin.existingSecret=my-secret",))
    assert not find(objects, "Secret"), "no admin Secret when the operator brings one"
    refs = _admin_refs(objects)
    assert refs["GF_SECURITY_ADMIN_USER"] == {"name": "my-secret", "key": "admin-user"}
    assert refs["GF_SECURITY_ADMIN_PASSWORD"] == {"name": "my-secret", "key": "admin-password"}
    # Without one, no Secret: the password is made in the pod (test_security_and_sizing).
    assert not find(render_tier("basic"), "Secret")


@pytest.mark.parametrize("tier", TIERS)
def test_grafana_persistence_follows_the_tier(tier):
    objects = render_tier(tier)
    size_gi = TIER_TABLE[tier].grafana_persistence_gi
    assert (size_gi == 0) == (tier == "basic")
    deployment = _one(objects, "Deployment", "obs-grafana")
    (storage,) = [v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == "storage"]
    pvcs = find(objects, "PersistentVolumeClaim", "obs-grafana")
    if size_gi == 0:
        assert not pvcs
        assert "emptyDir" in storage
        assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    else:
        (pvc,) = pvcs
        assert pvc["spec"]["resources"]["requests"]["storage"] == f"{size_gi}Gi"
        assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
        assert storage["persistentVolumeClaim"]["claimName"] == "obs-grafana"
        # A ReadWriteOnce volume cannot follow a rolling update to a second pod.
        assert deployment["spec"]["strategy"] == {"type": "Recreate"}


# --- global switches ---------------------------------------------------------

MIRROR = "registry.example.com/mirror"


def _without_registry(image: str) -> str:
    return image.split("/", 1)[1]


@pytest.mark.parametrize("tier", TIERS)
def test_global_image_registry_rewrites_every_image(tier):
    default = _images(render_tier(tier))
    mirrored = _images(_render((_tier_file(tier),), (f"global.imageRegistry={MIRROR}",)))
    assert len(mirrored) == len(default) >= 6
    for image in mirrored:
        assert image.startswith(f"{MIRROR}/"), image
    assert sorted(mirrored) == sorted(f"{MIRROR}/{_without_registry(i)}" for i in default)


@pytest.mark.parametrize("tier", TIERS)
def test_every_image_is_a_pinned_release(tier):
    pinned = {f"{i.registry}/{i.repository}:{i.tag}" for i in IMAGES.values()}
    for image in _images(render_tier(tier)):
        name = image.rsplit("/", 1)[-1]
        if "@" not in name:
            _, _, tag = name.partition(":")
            assert tag and tag != "latest", f"unpinned image {image}"
        assert image in pinned, f"{image} is not one of the pins in obsgen/images.py"


@pytest.mark.parametrize("tier", TIERS)
def test_image_pull_secrets_reach_every_pod(tier):
    objects = _render((_tier_file(tier),), ("global.imagePullSecrets[0].name=regcred",))
    workloads = pod_specs(objects)
    assert workloads
    for workload, spec in workloads:
        assert spec.get("imagePullSecrets") == [{"name": "regcred"}], workload
    for workload, spec in pod_specs(render_tier(tier)):
        assert "imagePullSecrets" not in spec, workload


@pytest.mark.parametrize("tier", TIERS)
def test_global_storage_class_reaches_every_claim(tier):
    objects = _render((_tier_file(tier),), ("global.storageClass=fast-ssd",))
    claims = _claims(objects)
    # Prometheus and Alertmanager always, Grafana where persistent, and the
    # log and trace stores where the tier runs them.
    expected = (
        2
        + (TIER_TABLE[tier].grafana_persistence_gi > 0)
        + len(
            [
                o
                for o in render_tier(tier)
                if o["kind"] == "StatefulSet" and o["metadata"]["name"].startswith(("obs-loki", "obs-tempo", "obs-jaeger"))
            ]
        )
    )
    assert len(claims) == expected, [c for c, _ in claims]
    for claim, spec in claims:
        assert spec.get("storageClassName") == "fast-ssd", claim
    # Unset, the claims use the cluster's default class.
    for claim, spec in _claims(render_tier(tier)):
        assert "storageClassName" not in spec, claim


# Services that select several workloads on purpose.
MULTI_WORKLOAD_SERVICES = {
    # Loki's read, write and backend targets form one memberlist ring.
    "Service/obs-loki-memberlist",
}


@pytest.mark.parametrize("tier", TIERS)
def test_every_service_port_reaches_a_container_port(tier):
    objects = render_tier(tier)
    workloads = _pod_workloads(objects)
    problems = set()
    for svc in find(objects, "Service"):
        where = f"Service/{svc['metadata']['name']}"
        selector = svc["spec"]["selector"]
        selected = [w for w in workloads if selector.items() <= w["spec"]["template"]["metadata"]["labels"].items()]
        if where in MULTI_WORKLOAD_SERVICES:
            assert len(selected) > 1, where
        else:
            assert len(selected) == 1, f"{where} selects {[w['metadata']['name'] for w in selected]}"
        ports = [p for w in selected for c in w["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])]
        for port in svc["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            protocol = port.get("protocol", "TCP")
            key = "name" if isinstance(target, str) else "containerPort"
            if not any(p.get(key) == target and p.get("protocol", "TCP") == protocol for p in ports):
                problems.add((where, str(target)))
    assert not problems, f"targetPorts no selected container declares: {sorted(problems)}"


# Containers allowed to run without readiness/liveness probes, and why.
# Init containers are not listed: Kubernetes rejects probes on them (they
# must finish, not stay healthy).
PROBE_EXCEPTIONS: dict[tuple[str, str], str] = {
    # None today. The dashboard sidecar would qualify with a k8s-sidecar tag
    # below 2.0, which serves no health endpoint; the template then omits its
    # probes (see test_sidecar_without_health_endpoint_runs_unprobed).
}


@pytest.mark.parametrize("tier", TIERS)
def test_every_container_has_readiness_and_liveness_probes(tier):
    for workload, spec in pod_specs(render_tier(tier)):
        for c in spec["containers"]:
            if (workload, c["name"]) in PROBE_EXCEPTIONS:
                continue
            names = {p.get("name") for p in c.get("ports", [])}
            for kind in ("readinessProbe", "livenessProbe", "startupProbe"):
                probe = c.get(kind)
                if probe is None:
                    assert kind == "startupProbe", f"{workload}/{c['name']} has no {kind}"
                    continue
                handler = probe.get("httpGet") or probe.get("tcpSocket") or probe.get("grpc")
                assert handler or "exec" in probe, f"{workload}/{c['name']}: {kind} without handler"
                if handler and isinstance(handler.get("port"), str):
                    assert handler["port"] in names, f"{workload}/{c['name']}: {kind} probes unknown port {handler['port']}"


def test_sidecar_without_health_endpoint_runs_unprobed():
    """The documented exception: probing an endpoint that does not exist would
    restart the container forever."""
    objects = _render(sets=("grafana.dashboardSidecar.image.tag=1.30.9",))
    sidecar = _container(_one(objects, "Deployment", "obs-grafana"), "dashboard-sidecar")
    assert not {"readinessProbe", "livenessProbe", "startupProbe", "ports"} & set(sidecar)
    assert "HEALTH_PORT" not in _env(sidecar)
    current = _container(_one(render_tier("basic"), "Deployment", "obs-grafana"), "dashboard-sidecar")
    assert current["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert _env(current)["HEALTH_PORT"] == str(current["ports"][0]["containerPort"])


# --- the validator itself ----------------------------------------------------


@pytest.mark.parametrize("version", k8s.K8S_VERSIONS)
def test_the_validator_rejects_a_wrong_object(version):
    """test_every_object_is_strictly_valid can only fail if this does."""
    deployment = _one(render_tier("basic"), "Deployment", "obs-grafana")
    assert k8s.problems([deployment], version) == []
    unknown_field = copy.deepcopy(deployment)
    unknown_field["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {"tcpSocket": {"port": 3000}}
    assert k8s.problems([unknown_field], version)
    wrong_type = copy.deepcopy(deployment)
    wrong_type["spec"]["replicas"] = "one"
    assert k8s.problems([wrong_type], version)
