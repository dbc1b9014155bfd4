"""Grafana for a platform: grafana.ini settings and SSO from the profile,
an external database (and then several replicas), and dashboards from
other namespaces, with exactly the RBAC that needs."""

from __future__ import annotations

import collections

import pytest
import yaml

from tests.support import k8s
from tests.support.cli import obsgen, refused_naming
from tests.support.render import ROOT, RenderError, helm_template, render_profile

PLATFORM = {
    "name": "platform-grafana",
    "extends": "enterprise",
    "grafana": {
        "adminSecret": "grafana-admin",
        "dashboardNamespaces": "all",
        "replicas": 2,
        "settings": {
            "auth.generic_oauth": {
                "enabled": True,
                "client_id": "obs",
                "role_attribute_path": "contains(groups[*], 'sre') && 'Admin' || 'Viewer'",
            },
            "users": {"allow_sign_up": True},
        },
        "secretSettings": {"auth.generic_oauth": {"client_secret": {"name": "grafana-oauth", "key": "client-secret"}}},
        "database": {"type": "postgres", "host": "pg.example.com:5432", "passwordSecret": {"name": "grafana-db", "key": "password"}},
    },
}


def _grafana(objects) -> dict:
    (deployment,) = [o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "obs-grafana"]
    return deployment


def test_settings_sso_and_database_reach_grafana(tmp_path):
    objects = render_profile(PLATFORM, tmp_path)
    deployment = _grafana(objects)
    assert deployment["spec"]["replicas"] == 2 and deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    names = [e["name"] for e in env]
    assert [n for n, c in collections.Counter(names).items() if c > 1] == []
    by_name = {e["name"]: e for e in env}
    assert by_name["GF_AUTH_GENERIC_OAUTH_ENABLED"]["value"] == "true"
    assert by_name["GF_AUTH_GENERIC_OAUTH_ROLE_ATTRIBUTE_PATH"]["value"] == "contains(groups[*], 'sre') && 'Admin' || 'Viewer'"
    assert by_name["GF_USERS_ALLOW_SIGN_UP"]["value"] == "true"  # the profile's, in place of the chart's "false"
    assert by_name["GF_AUTH_ANONYMOUS_ENABLED"]["value"] == "false"  # a default the profile left alone
    assert by_name["GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET"]["valueFrom"]["secretKeyRef"] == {"name": "grafana-oauth", "key": "client-secret"}
    assert by_name["GF_DATABASE_TYPE"]["value"] == "postgres"
    assert by_name["GF_DATABASE_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "grafana-db", "key": "password"}
    # The state is in the database: no volume; two replicas get a disruption budget.
    assert not [o for o in objects if o["kind"] == "PersistentVolumeClaim" and "grafana" in o["metadata"]["name"]]
    assert [o for o in objects if o["kind"] == "PodDisruptionBudget" and o["metadata"]["name"] == "obs-grafana"]
    for version in k8s.K8S_VERSIONS:
        assert k8s.problems(objects, version) == []


def test_dashboards_from_every_namespace_read_configmaps_only(tmp_path):
    objects = render_profile(PLATFORM, tmp_path)
    sidecar = _grafana(objects)["spec"]["template"]["spec"]["containers"][1]
    assert {"name": "NAMESPACE", "value": "ALL"} in sidecar["env"]
    (role,) = [o for o in objects if o["kind"] == "ClusterRole" and o["metadata"]["name"].startswith("obs-grafana")]
    assert role["rules"] == [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}]
    assert not [o for o in objects if o["kind"] == "Role" and o["metadata"]["name"] == "obs-grafana"]


def test_dashboards_from_listed_namespaces_get_a_role_in_each(tmp_path):
    objects = render_profile({"name": "listed", "extends": "basic", "grafana": {"dashboardNamespaces": ["team-a", "team-b"]}}, tmp_path)
    sidecar = _grafana(objects)["spec"]["template"]["spec"]["containers"][1]
    assert {"name": "NAMESPACE", "value": "monitoring,team-a,team-b"} in sidecar["env"]
    roles = {o["metadata"]["namespace"] for o in objects if o["kind"] == "Role" and o["metadata"]["name"] == "obs-grafana"}
    bindings = {o["metadata"]["namespace"] for o in objects if o["kind"] == "RoleBinding" and o["metadata"]["name"] == "obs-grafana"}
    assert roles == bindings == {"monitoring", "team-a", "team-b"}
    assert not [o for o in objects if o["kind"] == "ClusterRole" and o["metadata"]["name"].startswith("obs-grafana")]


@pytest.mark.parametrize(
    ("grafana", "field"),
    [
        pytest.param({"replicas": 2}, "grafana.replicas", id="replicas-without-database"),
        pytest.param(
            {"database": {"type": "postgres", "host": "pg:5432", "passwordSecret": {"name": "db", "key": "p"}}},
            "grafana.adminSecret",
            id="database-without-admin-secret",
        ),
        pytest.param({"settings": {"database": {"type": "sqlite3"}}}, "grafana.settings.database", id="owned-section"),
        pytest.param({"settings": {"security": {"admin_password": "x"}}}, "grafana.settings.security.admin_password", id="admin-password"),
        pytest.param({"settings": {"server": {"root_url": "https://g"}}}, "grafana.settings.server.root_url", id="root-url"),
        pytest.param({"settings": {"Auth": {"x": 1}}}, "grafana.settings", id="bad-section-name"),
    ],
)
def test_bad_grafana_settings_are_refused_in_one_line(grafana, field, tmp_path):
    source = tmp_path / "bad.yaml"
    source.write_text(yaml.safe_dump({"name": "bad", "extends": "basic", "grafana": grafana}))
    proc = obsgen("validate", str(source))
    assert refused_naming(proc, field), proc.stderr


def test_the_chart_refuses_replicas_without_a_database(tmp_path):
    overlay = tmp_path / "o.yaml"
    overlay.write_text(yaml.safe_dump({"grafana": {"replicas": 2}}))
    with pytest.raises(RenderError, match="external database"):
        helm_template(values=(ROOT / "values" / "basic.yaml", overlay))
