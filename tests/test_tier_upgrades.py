"""Moving between tiers with `helm upgrade`: no change the API server refuses.

For every ordered pair of tiers (16, the same tier included), the objects of
the target render that share kind and name with the source render must agree
on every field Kubernetes will not change in place. The source render is
what is deployed; the chart reads it back with `lookup`, which `helm
template` cannot do, so the test hands the deployed claim sizes to the
target render the way `lookup` would (`<component>.storage.deployedSize`,
also the GitOps escape hatch where lookup returns nothing).

A downward move that would shrink a volume must stop before anything
changes, with one readable line; an upward move grows volumes by the
chart's resize hook, not by editing the claim templates.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from tests.support import k8s
from tests.support.render import TIERS, RenderError, helm_template, render_tier, split
from tests.support.tools import ROOT

# Fields of each kind the API server refuses to change (apps/v1 and core/v1
# validation of updates; Job and Pod templates are not in the chart's scope).
IMMUTABLE: dict[str, tuple[tuple[str, ...], ...]] = {
    "StatefulSet": (("spec", "selector"), ("spec", "serviceName"), ("spec", "podManagementPolicy"), ("spec", "volumeClaimTemplates")),
    "Deployment": (("spec", "selector"),),
    "DaemonSet": (("spec", "selector"),),
    "Service": (("spec", "clusterIP"), ("spec", "clusterIPs"), ("spec", "ipFamilyPolicy")),
    "PersistentVolumeClaim": (("spec", "accessModes"), ("spec", "storageClassName"), ("spec", "volumeMode"), ("spec", "selector")),
    "RoleBinding": (("roleRef",),),
    "ClusterRoleBinding": (("roleRef",),),
}


def _get(obj: dict[str, Any], path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(obj, dict) or part not in obj:
            return None
        obj = obj[part]
    return obj


def _by_key(objects) -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["kind"], o["metadata"]["name"]): o for o in objects}


def deployed_sizes(objects) -> list[str]:
    """--set arguments that hand a render the claim sizes `lookup` would find deployed."""
    sets = []
    for o in objects:
        component = o.get("metadata", {}).get("annotations", {}).get("obs.dev/storage-values")
        if not component:
            continue
        if o["kind"] == "StatefulSet":
            sizes = {t["metadata"]["name"]: t["spec"]["resources"]["requests"]["storage"] for t in o["spec"]["volumeClaimTemplates"]}
            (size,) = set(sizes.values())
        else:
            size = o["spec"]["resources"]["requests"]["storage"]
        sets.append(f"{component}.deployedSize={size}")
    return sets


def _size_gi(text: str) -> float:
    return float(text.removesuffix("Gi"))


def shrinks(source, target) -> list[str]:
    """Volumes the target would make smaller than the source has them."""
    out = []
    before, after = _by_key(source), _by_key(target)
    for key, obj in before.items():
        component = obj.get("metadata", {}).get("annotations", {}).get("obs.dev/storage-values")
        if component and key in after:
            old = deployed_sizes([obj])[0].split("=")[1]
            new = _get(after[key], ("metadata", "annotations", "obs.dev/storage-size"))
            if new and _size_gi(new) < _size_gi(old):
                out.append(f"{key}: {old} → {new}")
    return out


def immutable_changes(source, target) -> list[str]:
    before, after = _by_key(source), _by_key(target)
    changes = []
    for key in sorted(before.keys() & after.keys()):
        for path in IMMUTABLE.get(key[0], ()):
            old, new = _get(before[key], path), _get(after[key], path)
            if old != new:
                changes.append(f"{key[0]}/{key[1]} {'.'.join(path)}: {old!r} → {new!r}")
    return changes


def _values(tier: str):
    return (ROOT / "values" / f"{tier}.yaml",)


PAIRS = list(itertools.product(TIERS, TIERS))


@pytest.mark.parametrize(("source", "target"), PAIRS, ids=[f"{a}-to-{b}" for a, b in PAIRS])
def test_tier_change_keeps_immutable_fields_or_stops_up_front(source, target):
    deployed = render_tier(source)
    sets = tuple(deployed_sizes(deployed))
    if TIERS.index(target) >= TIERS.index(source):
        upgraded = split(helm_template(values=_values(target), sets=sets))
        assert immutable_changes(deployed, upgraded) == []
        return
    try:
        upgraded = split(helm_template(values=_values(target), sets=sets))
    except RenderError as refused:
        assert "cannot shrink" in str(refused), refused
        assert len(str(refused).strip().splitlines()) <= 3, refused
        return
    assert immutable_changes(deployed, upgraded) == []
    assert shrinks(deployed, upgraded) == []


def test_every_volume_is_announced_to_the_upgrade_machinery():
    """A StatefulSet with claim templates, or a PVC, that the lookup/resize path does not know would break upgrades silently."""
    for tier in TIERS:
        for o in render_tier(tier):
            has_volume = o["kind"] == "PersistentVolumeClaim" or (o["kind"] == "StatefulSet" and o["spec"].get("volumeClaimTemplates"))
            if has_volume:
                annotations = o["metadata"].get("annotations", {})
                assert "obs.dev/storage-values" in annotations, f"{tier}: {o['kind']}/{o['metadata']['name']}"


def test_the_checker_sees_a_changed_claim_template():
    """Without the deployed sizes, a tier change is exactly what the API server refuses."""
    changes = immutable_changes(render_tier("basic"), render_tier("enterprise"))
    assert any("volumeClaimTemplates" in c for c in changes), changes


def test_upgrade_grows_volumes_through_the_resize_hook():
    sets = tuple(deployed_sizes(render_tier("basic")))
    upgraded = split(helm_template(values=_values("enterprise"), sets=sets))
    jobs = [o for o in upgraded if o["kind"] == "Job"]
    assert jobs, "no resize hook rendered for a tier change that grows volumes"
    (job,) = jobs
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "post-upgrade"
    script = " ".join(job["spec"]["template"]["spec"]["containers"][0]["args"])
    assert "data-obs-prometheus-0" in script and "200Gi" in script
    hook = [o for o in upgraded if "helm.sh/hook" in o["metadata"].get("annotations", {})]
    assert {o["kind"] for o in hook} == {"ServiceAccount", "Role", "RoleBinding", "Job"}
    for version in k8s.K8S_VERSIONS:
        assert k8s.problems(hook, version) == []
    pod = job["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] and all(c["securityContext"]["readOnlyRootFilesystem"] for c in pod["containers"])
    # Same tier, nothing to grow: no hook.
    same = split(helm_template(values=_values("enterprise"), sets=tuple(deployed_sizes(render_tier("enterprise")))))
    assert not [o for o in same if o["kind"] == "Job"]
