"""Secure defaults and per-tier sizing on every rendered pod."""

from __future__ import annotations

import pytest

from obsgen import model
from obsgen.cli import requests_total
from obsgen.profile import load_builtin, quantity
from tests.support.render import TIERS, find, pod_specs, render_tier

# Pods allowed to share the host's namespaces, and why. Nothing else may.
HOST_ACCESS_EXCEPTIONS = {
    # Node metrics need the host's network, processes and filesystems.
    "DaemonSet/obs-node-exporter": {"hostNetwork", "hostPID", "hostPath"},
    # The log agent reads /var/log/pods (read-only) from the host.
    "DaemonSet/obs-otel-collector-agent": {"hostPath"},
}
# Host paths a workload writes: the agent's own directory of log read offsets
# (documented in daemonset-agent.yaml); every other host path is read-only.
WRITABLE_HOST_PATHS = {("DaemonSet/obs-otel-collector-agent", "positions")}

# Pods allowed to run as root, and why: pod log files are root-owned 0640, so
# the log agent reads them as uid 0, through owner bits only (no capability).
ROOT_EXCEPTIONS = {"DaemonSet/obs-otel-collector-agent"}

# Pods that talk to the Kubernetes API and so may mount a service-account token.
API_CLIENTS = {
    "StatefulSet/obs-prometheus",  # service discovery
    "Deployment/obs-kube-state-metrics",  # watches the objects it reports
    "DaemonSet/obs-otel-collector-agent",  # k8s_attributes looks up pod metadata
}


def _containers(spec):
    return [*spec.get("initContainers", []), *spec["containers"]]


@pytest.mark.parametrize("tier", TIERS)
def test_every_container_runs_restricted(tier):
    for workload, spec in pod_specs(render_tier(tier)):
        pod = spec.get("securityContext", {})
        root = workload in ROOT_EXCEPTIONS
        assert pod.get("runAsNonRoot") is not root, workload
        assert pod.get("seccompProfile", {}).get("type") == "RuntimeDefault", workload
        for c in _containers(spec):
            sc = c.get("securityContext", {})
            where = f"{workload}/{c['name']}"
            assert sc.get("readOnlyRootFilesystem") is True, where
            assert sc.get("allowPrivilegeEscalation") is False, where
            assert sc.get("privileged", False) is False, where
            assert sc.get("capabilities", {}).get("drop") == ["ALL"], where
            assert not sc.get("capabilities", {}).get("add"), where
            assert (sc.get("runAsUser", pod.get("runAsUser", 0)) == 0) is root, where


@pytest.mark.parametrize("tier", TIERS)
def test_host_access_only_where_documented(tier):
    for workload, spec in pod_specs(render_tier(tier)):
        used = {key for key in ("hostNetwork", "hostPID", "hostIPC") if spec.get(key)}
        if any("hostPath" in v for v in spec.get("volumes", [])):
            used.add("hostPath")
        assert used <= HOST_ACCESS_EXCEPTIONS.get(workload, set()), f"{workload} uses {sorted(used)}"
        for volume in spec.get("volumes", []):
            if "hostPath" in volume:
                mounts = [m for c in _containers(spec) for m in c.get("volumeMounts", []) if m["name"] == volume["name"]]
                if (workload, volume["name"]) in WRITABLE_HOST_PATHS:
                    continue
                assert mounts and all(m.get("readOnly") for m in mounts), f"{workload}: host path {volume['name']} must be read-only"


@pytest.mark.parametrize("tier", TIERS)
def test_service_account_tokens_only_for_api_clients(tier):
    for workload, spec in pod_specs(render_tier(tier)):
        automount = spec.get("automountServiceAccountToken", True)
        projected_token = any(
            "serviceAccountToken" in source for v in spec.get("volumes", []) for source in v.get("projected", {}).get("sources", [])
        )
        if workload in API_CLIENTS:
            assert automount, workload
        elif workload == "Deployment/obs-grafana":
            # Only the dashboard sidecar watches ConfigMaps; it gets a projected
            # token that the grafana container does not mount.
            assert automount is False and projected_token
            grafana = next(c for c in spec["containers"] if c["name"] == "grafana")
            assert all("serviceaccount" not in m["mountPath"] for m in grafana.get("volumeMounts", []))
        else:
            assert automount is False and not projected_token, workload


@pytest.mark.parametrize("tier", TIERS)
def test_every_container_has_requests_and_limits(tier):
    for workload, spec in pod_specs(render_tier(tier)):
        for c in _containers(spec):
            res = c.get("resources", {})
            for kind in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    assert resource in res.get(kind, {}), f"{workload}/{c['name']}: no {kind}.{resource}"
            for resource in ("cpu", "memory"):
                assert quantity(str(res["requests"][resource])) <= quantity(str(res["limits"][resource]))


def _rendered_requests(objects) -> tuple[float, float]:
    """Summed requests (millicores, MiB) of the cluster-wide workloads, DaemonSets excluded."""
    cpu = memory = 0.0
    for o in objects:
        if o["kind"] not in ("Deployment", "StatefulSet"):
            continue
        replicas = o["spec"].get("replicas", 1)
        spec = o["spec"]["template"]["spec"]
        # A pod requests what its containers sum to, or its largest init container if more.
        for resource, scale in (("cpu", 1000), ("memory", 2**-20)):
            running = sum(quantity(str(c["resources"]["requests"][resource])) for c in spec["containers"])
            init = max((quantity(str(c["resources"]["requests"][resource])) for c in spec.get("initContainers", [])), default=0)
            amount = replicas * max(running, init) * scale
            if resource == "cpu":
                cpu += amount
            else:
                memory += amount
    return cpu, memory


@pytest.mark.parametrize("tier", TIERS)
def test_tier_matrix_totals_match_what_renders(tier):
    """`obsgen tiers` sums what the chart really requests."""
    expected = requests_total(model.build(load_builtin(tier)))
    cpu, memory = _rendered_requests(render_tier(tier))
    assert cpu == pytest.approx(expected["cpu"])
    assert memory == pytest.approx(expected["memory"])


def test_basic_tier_fits_its_footprint():
    cpu, memory = _rendered_requests(render_tier("basic"))
    assert cpu <= 500, f"basic requests {cpu}m CPU"
    assert memory <= 1024, f"basic requests {memory}Mi memory"


STABLE_SELECTOR = {"app.kubernetes.io/name", "app.kubernetes.io/instance"}
# Charts with several workloads tell them apart by one constant label each
# (Loki's targets, the collector's agent and gateway); it never changes, so
# selectors stay immutable-safe.
WORKLOAD_LABELS = {"obs.dev/target", "obs.dev/role"}


@pytest.mark.parametrize("tier", TIERS)
def test_selectors_use_only_name_and_instance(tier):
    for o in render_tier(tier):
        selector = o.get("spec", {}).get("selector")
        if o["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "PodDisruptionBudget"):
            assert set(selector["matchLabels"]) - WORKLOAD_LABELS == STABLE_SELECTOR, o["metadata"]["name"]
        elif o["kind"] == "Service":
            assert set(selector) - WORKLOAD_LABELS == STABLE_SELECTOR, o["metadata"]["name"]


@pytest.mark.parametrize("tier", TIERS)
def test_recommended_labels_on_every_object(tier):
    required = {
        "app.kubernetes.io/name",
        "app.kubernetes.io/instance",
        "app.kubernetes.io/version",
        "app.kubernetes.io/component",
        "app.kubernetes.io/part-of",
        "app.kubernetes.io/managed-by",
        "helm.sh/chart",
    }
    for o in render_tier(tier):
        missing = required - set(o["metadata"].get("labels", {}))
        assert not missing, f"{o['kind']}/{o['metadata']['name']} lacks {sorted(missing)}"


def test_no_literal_grafana_password_and_nothing_random_in_the_render():
    """The admin password is made once inside the pod (or comes from an existing
    Secret), never a default, and never random at render time: two renders,
    by Helm 4 and Helm 3, are identical, so GitOps tools see no drift."""
    objects = render_tier("basic")
    assert not find(objects, "Secret"), "no Secret rendered: nothing random to regenerate"
    assert objects == render_tier("basic", "helm3")
    pod = _one_deployment(objects, "obs-grafana")["spec"]["template"]["spec"]
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    assert env["GF_SECURITY_ADMIN_PASSWORD__FILE"]["value"] == "/var/lib/grafana/.admin-password"
    assert "GF_SECURITY_ADMIN_PASSWORD" not in env
    (init,) = pod["initContainers"]
    script = init["command"][-1]
    assert "/dev/urandom" in script and '[ -s "$f" ] ||' in script, "made once, from the kernel's randomness"
    assert init["securityContext"]["readOnlyRootFilesystem"] and init["resources"]["limits"]


def _one_deployment(objects, name):
    (obj,) = [o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == name]
    return obj
