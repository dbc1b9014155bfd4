"""The chart against a real Kubernetes API server (tests/support/apiserver.py):
what the cluster itself decides, with Helm as the user runs it.

- Every tier and the example organisation install into a namespace that warns
  and audits at the `restricted` Pod Security level; the only warnings are
  the documented host-access exceptions (README "Security").
- `helm upgrade` along all 16 ordered tier pairs: no change the server
  refuses (immutable fields), and a downward move that would shrink a volume
  stops before anything changes, with the chart's one-line message. The
  resize hook an upward move renders is admitted too.
- Objects over the server's size limits are refused; the largest ConfigMap
  obs renders for 300 services is admitted.
- `helm uninstall` leaves only what the chart keeps on purpose.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
import yaml

from tests.support.apiserver import PSA_LABELS, ApiServer, api_server
from tests.support.processes import wait_for
from tests.support.render import CHART, TIERS, split
from tests.support.tools import HELMS, ROOT
from tests.test_security_and_sizing import HOST_ACCESS_EXCEPTIONS, ROOT_EXCEPTIONS

pytestmark = pytest.mark.engine

RANK = {tier: i for i, tier in enumerate(TIERS)}
POD_TEMPLATES = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")
HELM_WARNING = re.compile(r'Warning: (.*?)"?$')
# What `helm uninstall` leaves behind by design: helm.sh/resource-policy: keep
# (the Grafana database volume and the admin password that goes with it).
KEPT = {"PersistentVolumeClaim/obs-grafana"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with api_server(tmp_path_factory.mktemp("apiserver")) as s:
        yield s


def _values(case: str, acme_values) -> str:
    return str(acme_values) if case == "acme" else str(ROOT / "values" / f"{case}.yaml")


def _namespace(server: ApiServer, name: str) -> str:
    server.create_namespace(name, PSA_LABELS)
    return name


def _helm_warnings(stderr: str) -> list[str]:
    return [m.group(1).replace('\\"', '"') for line in stderr.splitlines() if (m := HELM_WARNING.search(line))]


def _template(server: ApiServer, values: str, namespace: str) -> list[dict[str, Any]]:
    """What `helm install` would send, rendered against this server: its version, served APIs and lookups."""
    proc = server.helm("template", "obs", str(CHART), "-n", namespace, "-f", values, "--validate")
    assert proc.returncode == 0, proc.stderr
    return split(proc.stdout)


def _dry_run_warnings(server: ApiServer, objects, namespace: str) -> dict[str, list[str]]:
    """Admission warnings per pod-owning object, from server-side dry-run creates."""
    out = {}
    for obj in objects:
        if obj["kind"] not in POD_TEMPLATES:
            continue
        path = server.object_path(obj, namespace).rsplit("/", 1)[0] + "?dryRun=All"
        resp = server.request("POST", path, obj)
        assert resp.status == 201, f"{obj['kind']}/{obj['metadata']['name']}: {resp.body.get('message')}"
        if resp.warnings:
            out[f"{obj['kind']}/{obj['metadata']['name']}"] = resp.warnings
    return out


@pytest.mark.parametrize("case", [*TIERS, "acme"])
def test_install_warns_only_for_the_documented_exceptions(server, case, acme_values):
    values = _values(case, acme_values)
    objects = _template(server, values, _namespace(server, f"dry-{case}"))
    warned = _dry_run_warnings(server, objects, f"dry-{case}")
    exceptions = set(HOST_ACCESS_EXCEPTIONS) | ROOT_EXCEPTIONS
    rendered = {f"{o['kind']}/{o['metadata']['name']}" for o in objects}
    assert set(warned) == exceptions & rendered, warned
    assert all("PodSecurity" in w for ws in warned.values() for w in ws)

    namespace = _namespace(server, f"install-{case}")
    proc = server.helm("install", "obs", str(CHART), "-n", namespace, "-f", values)
    assert proc.returncode == 0, proc.stderr
    assert sorted(_helm_warnings(proc.stderr)) == sorted(w for ws in warned.values() for w in ws)


def test_a_restricted_violation_outside_the_exceptions_is_reported(server):
    """The check can fail: a root container in Grafana warns like the exceptions do."""
    objects = _template(server, str(ROOT / "values" / "basic.yaml"), _namespace(server, "dry-bad"))
    (grafana,) = [o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "obs-grafana"]
    grafana["spec"]["template"]["spec"]["containers"][0]["securityContext"]["runAsUser"] = 0
    assert "Deployment/obs-grafana" in _dry_run_warnings(server, [grafana], "dry-bad")


def _deployed(server: ApiServer, namespace: str) -> list[str]:
    proc = server.helm("history", "obs", "-n", namespace, "-o", "yaml")
    assert proc.returncode == 0, proc.stderr
    return [f"{r['revision']}:{r['status']}" for r in yaml.safe_load(proc.stdout)]


PAIRS = list(itertools.product(TIERS, TIERS))


@pytest.mark.parametrize("helm", HELMS)
@pytest.mark.parametrize("source,target", PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
def test_upgrade_between_tiers(server, source, target, helm):
    """Helm 4 applies server-side, Helm 3 patches by three-way merge: both must pass."""
    namespace = _namespace(server, f"up-{helm}-{source}-{target}")
    installed = server.helm("install", "obs", str(CHART), "-n", namespace, "-f", str(ROOT / "values" / f"{source}.yaml"), helm=helm)
    assert installed.returncode == 0, installed.stderr
    # --no-hooks: the resize hook is a Job, which no controller here runs; it is admitted below instead.
    values = str(ROOT / "values" / f"{target}.yaml")
    proc = server.helm("upgrade", "obs", str(CHART), "-n", namespace, "-f", values, "--no-hooks", helm=helm)
    assert "immutable" not in proc.stderr and "Forbidden" not in proc.stderr, proc.stderr
    if proc.returncode != 0:
        assert RANK[target] < RANK[source], f"{source} → {target} refused:\n{proc.stderr}"
        (message,) = [line for line in proc.stderr.splitlines() if line.startswith("Error:")]
        assert "volumes cannot shrink" in message, message
        assert _deployed(server, namespace) == ["1:deployed"], "a refused upgrade changed the release"
        return
    assert _deployed(server, namespace) == ["1:superseded", "2:deployed"]
    hooks = server.helm("get", "hooks", "obs", "-n", namespace)
    assert hooks.returncode == 0, hooks.stderr
    for obj in split(hooks.stdout):
        path = server.object_path(obj, namespace).rsplit("/", 1)[0] + "?dryRun=All"
        resp = server.request("POST", path, obj)
        assert resp.status == 201, f"hook {obj['kind']}/{obj['metadata']['name']}: {resp.body.get('message')}"
        assert not resp.warnings, resp.warnings


def test_an_upward_move_renders_the_resize_hook(server):
    """The hook path above is exercised: basic → enterprise grows a volume, so hooks render."""
    namespace = _namespace(server, "hook-basic-enterprise")
    assert server.helm("install", "obs", str(CHART), "-n", namespace, "-f", str(ROOT / "values" / "basic.yaml")).returncode == 0
    proc = server.helm("upgrade", "obs", str(CHART), "-n", namespace, "-f", str(ROOT / "values" / "enterprise.yaml"), "--no-hooks")
    assert proc.returncode == 0, proc.stderr
    kinds = {o["kind"] for o in split(server.helm("get", "hooks", "obs", "-n", namespace).stdout)}
    assert {"Job", "Role", "RoleBinding", "ServiceAccount"} <= kinds


def test_uninstall_leaves_only_what_the_chart_keeps(server):
    namespace = _namespace(server, "uninstall")
    assert server.helm("install", "obs", str(CHART), "-n", namespace, "-f", str(ROOT / "values" / "enterprise.yaml")).returncode == 0
    proc = server.helm("uninstall", "obs", "-n", namespace)
    assert proc.returncode == 0, proc.stderr
    left = set()
    for path in ("/api/v1", "/apis/apps/v1", "/apis/rbac.authorization.k8s.io/v1", "/apis/policy/v1", "/apis/batch/v1"):
        for resource in server.request("GET", path).body["resources"]:
            if "/" in resource["name"] or "list" not in resource["verbs"] or not resource["namespaced"]:
                continue
            for item in server.list(f"{path}/namespaces/{namespace}/{resource['name']}"):
                name = item["metadata"]["name"]
                if resource["kind"] in ("ServiceAccount", "ConfigMap") and name in ("default", "kube-root-ca.crt"):
                    continue  # the namespace's own
                left.add(f"{resource['kind']}/{name}")
    assert left == KEPT


def test_the_server_refuses_what_is_too_large_and_admits_obs_at_scale(server, tmp_path):
    """A ConfigMap over 1 MiB is refused, as in any cluster; a 300-service organisation installs
    (every object and the Helm release record, a Secret, admitted)."""
    from obsgen import generate
    from tests.support.scale import write_profile

    namespace = _namespace(server, "limits")
    too_big = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "too-big"}, "data": {"x": "a" * (1024 * 1024 + 1)}}
    resp = server.request("POST", f"/api/v1/namespaces/{namespace}/configmaps", too_big)
    assert resp.status == 422 and "1048576" in resp.body["message"], resp.body
    (out,) = generate.plan_profile(write_profile(tmp_path / "org300.yaml", 300), tmp_path / "out")
    generate.write([out])
    proc = server.helm("install", "obs", str(CHART), "-n", namespace, "-f", str(out.path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    releases = server.list(f"/api/v1/namespaces/{namespace}/secrets?labelSelector=owner%3Dhelm")
    assert [r["metadata"]["labels"]["status"] for r in releases] == ["deployed"]


CRD_DIR = ROOT / ".tools" / "share" / "crds"
OPERATOR_PROFILE = {
    "name": "operator",
    "extends": "enterprise",
    "rules": {"format": "operator"},
    "teams": [{"name": "platform"}],
    "services": [{"name": "checkout", "namespace": "shop", "team": "platform"}],
    "exposure": {
        "grafana": {
            "externalUrl": "https://grafana.example.com",
            "httpRoute": {"parentRefs": [{"name": "public", "namespace": "gateways"}]},
        },
        "prometheus": {"externalUrl": "https://prometheus.example.com", "ingress": {"tlsSecret": "prometheus-tls"}},
    },
}


class _CrdLoader(yaml.SafeLoader):
    """PyYAML reads a bare `=` (an enum value in the operator's CRDs) as YAML 1.1's value key."""


_CrdLoader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


def _crd_established(server: ApiServer, name: str) -> bool:
    crd = server.request("GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}").body
    return any(c["type"] == "Established" and c["status"] == "True" for c in crd.get("status", {}).get("conditions", []))


def _install_crds(server: ApiServer) -> list[str]:
    # Some files hold more than their CRD (the Gateway API adds a ValidatingAdmissionPolicy).
    documents = [d for p in sorted(CRD_DIR.glob("*/*.yaml")) for d in yaml.load_all(p.read_text(), Loader=_CrdLoader) if d]
    crds = [d for d in documents if d["kind"] == "CustomResourceDefinition"]
    assert {c["spec"]["group"] for c in crds} == {"monitoring.coreos.com", "opentelemetry.io", "gateway.networking.k8s.io"}, (
        "run `make tools`"
    )
    for resp in server.apply_manifest(crds):
        assert resp.status in (200, 201), resp.body.get("message")
    names = [c["metadata"]["name"] for c in crds]
    for name in names:
        wait_for(f"CRD {name} established", lambda name=name: _crd_established(server, name), 60)
    return names


def test_every_custom_resource_obs_renders_is_admitted_by_the_operators_crds(server, tmp_path):
    """With the prometheus-operator, OpenTelemetry Operator and Gateway API CRDs installed, Helm sees their APIs
    (the chart's Capabilities checks), and the server validates every CR against the CRD schema,
    unknown fields included (fieldValidation=Strict)."""
    from obsgen import generate

    _install_crds(server)
    profile = tmp_path / "operator.yaml"
    profile.write_text(yaml.safe_dump(OPERATOR_PROFILE))
    generate.write(generate.plan_profile(profile, tmp_path))
    namespace = _namespace(server, "operator")
    objects = _template(server, str(tmp_path / "operator.yaml"), namespace)
    custom = [
        o for o in objects if o["apiVersion"].split("/")[0] in ("monitoring.coreos.com", "opentelemetry.io", "gateway.networking.k8s.io")
    ]
    assert {o["kind"] for o in custom} == {"PrometheusRule", "Instrumentation", "OpenTelemetryCollector", "HTTPRoute"}
    for obj in custom:
        path = server.object_path(obj, namespace).rsplit("/", 1)[0] + "?dryRun=All&fieldValidation=Strict"
        resp = server.request("POST", path, obj)
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        assert resp.status == 201 and not resp.warnings, f"{where}: {resp.body.get('message')} {resp.warnings}"
    proc = server.helm("install", "obs", str(CHART), "-n", namespace, "-f", str(tmp_path / "operator.yaml"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    rules = server.list(f"/apis/monitoring.coreos.com/v1/namespaces/{namespace}/prometheusrules")
    assert len(rules) == sum(o["kind"] == "PrometheusRule" for o in custom)


def test_the_crds_refuse_a_misspelt_field(server):
    """The check can fail: a rule with `fore` for `for` is refused under strict field validation."""
    _install_crds(server)
    namespace = _namespace(server, "operator-bad")
    rule = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "bad"},
        "spec": {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "up == 0", "fore": "5m"}]}]},
    }
    resp = server.request("POST", f"/apis/monitoring.coreos.com/v1/namespaces/{namespace}/prometheusrules?fieldValidation=Strict", rule)
    assert resp.status == 400 and "fore" in resp.body["message"], resp.body
