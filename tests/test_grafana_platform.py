"""Grafana for a platform: grafana.ini settings and SSO from the profile,
an external database (and then several replicas), and dashboards from
other namespaces, with exactly the RBAC that needs."""

from __future__ import annotations

import collections

import pytest
import yaml

from tests.support import k8s
from tests.support.cli import refused_naming, validate_profile
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
    proc = validate_profile(tmp_path, grafana=grafana)
    assert refused_naming(proc, field), proc.stderr


def test_the_chart_refuses_replicas_without_a_database(tmp_path):
    overlay = tmp_path / "o.yaml"
    overlay.write_text(yaml.safe_dump({"grafana": {"replicas": 2}}))
    with pytest.raises(RenderError, match="external database"):
        helm_template(values=(ROOT / "values" / "basic.yaml", overlay))


def _container(deployment: dict, name: str) -> dict:
    (container,) = [c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == name]
    return container


def _mounts(container: dict) -> dict[str, dict]:
    return {m["mountPath"]: m for m in container.get("volumeMounts", [])}


@pytest.mark.parametrize("admin_secret", [None, "grafana-admin"], ids=["made-in-pod", "existing-secret"])
def test_datasources_from_listed_namespaces_reach_grafana_and_reload_it(admin_secret, tmp_path):
    grafana = {"datasourceNamespaces": ["team-a"], **({"adminSecret": admin_secret} if admin_secret else {})}
    objects = render_profile({"name": "ds", "extends": "basic", "grafana": grafana}, tmp_path)
    deployment = _grafana(objects)
    pod = deployment["spec"]["template"]["spec"]
    main, sidecar = _container(deployment, "grafana"), _container(deployment, "datasource-sidecar")
    env = {e["name"]: e for e in sidecar["env"]}
    main_env = {e["name"]: e for e in main["env"]}
    assert env["LABEL"]["value"] == "grafana_datasource" and env["RESOURCE"]["value"] == "configmap"
    assert env["NAMESPACE"]["value"] == "monitoring,team-a"
    # The sidecar writes where Grafana reads datasources, on a volume both mount,
    # and obs's own datasources stay in that directory.
    folder = env["FOLDER"]["value"]
    assert folder == main_env["GF_PATHS_PROVISIONING"]["value"] + "/datasources"
    assert _mounts(sidecar)[folder]["name"] == _mounts(main)[folder]["name"]
    assert _mounts(main)[f"{folder}/obs.yaml"]["subPath"] == "obs.yaml"
    # After a change it asks this pod's Grafana to reload, as the admin Grafana has.
    port = next(p["containerPort"] for p in main["ports"] if p["name"] == "http")
    assert env["REQ_URL"]["value"] == f"http://localhost:{port}/api/admin/provisioning/datasources/reload"
    assert env["REQ_METHOD"]["value"] == "POST"
    assert env["REQ_USERNAME"].get("value", env["REQ_USERNAME"].get("valueFrom")) == main_env["GF_SECURITY_ADMIN_USER"].get(
        "value", main_env["GF_SECURITY_ADMIN_USER"].get("valueFrom")
    )
    if admin_secret:
        assert env["REQ_PASSWORD"]["valueFrom"] == main_env["GF_SECURITY_ADMIN_PASSWORD"]["valueFrom"]
    else:
        password_file = main_env["GF_SECURITY_ADMIN_PASSWORD__FILE"]["value"]
        assert env["REQ_PASSWORD_FILE"]["value"] == password_file
        (init,) = pod["initContainers"]
        assert password_file in init["command"][-1]
        directory = password_file.rsplit("/", 1)[0]
        assert _mounts(sidecar)[directory]["name"] == _mounts(init)[directory]["name"] and _mounts(sidecar)[directory]["readOnly"]
    roles = {o["metadata"]["namespace"]: o for o in objects if o["kind"] == "Role" and o["metadata"]["name"] == "obs-grafana"}
    assert set(roles) == {"monitoring", "team-a"}
    assert roles["team-a"]["rules"] == [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}]
    ports = [p["name"] for c in pod["containers"] for p in c.get("ports", [])]
    assert len(ports) == len(set(ports))
    for version in k8s.K8S_VERSIONS:
        assert k8s.problems(objects, version) == []


def test_datasources_from_every_namespace_and_none_by_default(tmp_path):
    objects = render_profile({"name": "ds-all", "extends": "basic", "grafana": {"datasourceNamespaces": "all"}}, tmp_path / "all")
    assert {"name": "NAMESPACE", "value": "ALL"} in _container(_grafana(objects), "datasource-sidecar")["env"]
    assert [o for o in objects if o["kind"] == "ClusterRole" and o["metadata"]["name"].startswith("obs-grafana")]
    default = render_profile({"name": "ds-none", "extends": "basic"}, tmp_path / "none")
    names = [c["name"] for c in _grafana(default)["spec"]["template"]["spec"]["containers"]]
    assert names == ["grafana", "dashboard-sidecar"]
