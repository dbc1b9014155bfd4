"""The UIs are exposed where the profile says, and every link points there.

The external URL of each UI is the one fact (generator/obsgen/exposure.py):
the render must take the Ingress host and TLS, the HTTPRoute hostname,
Prometheus' and Alertmanager's --web.external-url, Grafana's root URL and
the alerts' dashboard links from it, and every Ingress and HTTPRoute must
lead to a Service and port the render has. HTTPRoutes are admitted by the
real API server with the Gateway API CRDs (tests/test_engine_apiserver.py);
kubeconform has no schema for them.
"""

from __future__ import annotations

import pytest
import yaml

from tests.support import k8s
from tests.support.cli import refused_naming, validate_profile
from tests.support.render import ROOT, RenderError, helm_template, profile_values, split

URLS = {
    "grafana": "https://grafana.acme.example",
    "prometheus": "https://prometheus.acme.example",
    "alertmanager": "https://alertmanager.acme.example:8443",
    "jaeger": "http://jaeger.acme.example",
}
PROFILE = {
    "name": "exposed",
    "extends": "advanced",
    "traces": {"backend": "jaeger"},
    "exposure": {
        "grafana": {
            "externalUrl": URLS["grafana"],
            "ingress": {"className": "nginx", "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt"}, "tlsSecret": "grafana-tls"},
        },
        "prometheus": {"externalUrl": URLS["prometheus"], "httpRoute": {"parentRefs": [{"name": "public", "namespace": "gateways"}]}},
        "alertmanager": {
            "externalUrl": URLS["alertmanager"],
            "ingress": {"tlsSecret": "am-tls"},
            "httpRoute": {"parentRefs": [{"name": "public"}]},
        },
        "jaeger": {"externalUrl": URLS["jaeger"], "ingress": {}},
    },
}


@pytest.fixture(scope="module")
def exposed(tmp_path_factory):
    values = profile_values(PROFILE, tmp_path_factory.mktemp("exposed"))
    return yaml.safe_load(values.read_text()), split(helm_template(values=(values,)))


def _one(objects, kind, name):
    (obj,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return obj


def _service_port(objects, name: str, number: int) -> None:
    service = _one(objects, "Service", name)
    assert number in [p["port"] for p in service["spec"]["ports"]], f"{name} has no port {number}"


def test_ingresses_and_routes_lead_to_rendered_services(exposed):
    _, objects = exposed
    ingresses = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Ingress"}
    routes = {o["metadata"]["name"]: o for o in objects if o["kind"] == "HTTPRoute"}
    assert set(ingresses) == {"obs-grafana", "obs-alertmanager", "obs-jaeger"} and set(routes) == {"obs-prometheus", "obs-alertmanager"}
    for ingress in ingresses.values():
        (rule,) = ingress["spec"]["rules"]
        backend = rule["http"]["paths"][0]["backend"]["service"]
        _service_port(objects, backend["name"], backend["port"]["number"])
    for route in routes.values():
        (rule,) = route["spec"]["rules"]
        (backend,) = rule["backendRefs"]
        _service_port(objects, backend["name"], backend["port"])
    grafana = ingresses["obs-grafana"]
    assert grafana["spec"]["rules"][0]["host"] == "grafana.acme.example"
    assert grafana["spec"]["tls"] == [{"hosts": ["grafana.acme.example"], "secretName": "grafana-tls"}]
    assert grafana["metadata"]["annotations"] == {"cert-manager.io/cluster-issuer": "letsencrypt"}
    assert grafana["spec"]["ingressClassName"] == "nginx"
    assert "tls" not in ingresses["obs-jaeger"]["spec"]  # a plain-http URL
    assert ingresses["obs-alertmanager"]["spec"]["rules"][0]["host"] == "alertmanager.acme.example"  # the port is the URL's, not the host's
    assert routes["obs-prometheus"]["spec"]["hostnames"] == ["prometheus.acme.example"]
    assert routes["obs-prometheus"]["spec"]["parentRefs"] == [{"name": "public", "namespace": "gateways"}]
    for version in k8s.K8S_VERSIONS:
        assert k8s.problems(list(ingresses.values()), version) == []


def test_every_link_points_at_the_external_urls(exposed):
    values, objects = exposed
    prometheus = _one(objects, "StatefulSet", "obs-prometheus")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert f"--web.external-url={URLS['prometheus']}" in prometheus
    alertmanager = _one(objects, "StatefulSet", "obs-alertmanager")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert f"--web.external-url={URLS['alertmanager']}" in alertmanager
    grafana = _one(objects, "Deployment", "obs-grafana")["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "GF_SERVER_ROOT_URL", "value": URLS["grafana"]} in grafana
    links = [
        r["annotations"]["dashboard_url"]
        for f in values["rules"]["files"]
        for g in f["groups"]
        for r in g["rules"]
        if "dashboard_url" in r.get("annotations", {})
    ]
    assert links and all(link.startswith(URLS["grafana"] + "/d/") for link in links), links[:3]


def test_without_exposure_nothing_is_exposed():
    objects = split(helm_template(values=(ROOT / "values" / "enterprise.yaml",)))
    assert not [o for o in objects if o["kind"] in ("Ingress", "HTTPRoute")]
    args = _one(objects, "StatefulSet", "obs-prometheus")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert not [a for a in args if a.startswith("--web.external-url")]


@pytest.mark.parametrize(
    ("exposure", "field"),
    [
        pytest.param(
            {"grafana": {"externalUrl": "https://g.example.com", "ingress": {}}},
            "exposure.grafana.ingress.tlsSecret",
            id="https-without-secret",
        ),
        pytest.param(
            {"prometheus": {"externalUrl": "https://example.com/prometheus"}}, "exposure.prometheus.externalUrl", id="path-prefix"
        ),
        pytest.param({"jaeger": {"ingress": {}}}, "exposure.jaeger", id="no-url"),
    ],
)
def test_bad_exposure_is_refused_in_one_line(exposure, field, tmp_path):
    proc = validate_profile(tmp_path, exposure=exposure)
    assert refused_naming(proc, field), proc.stderr


def test_an_ingress_without_a_url_fails_the_render(tmp_path):
    overlay = tmp_path / "o.yaml"
    overlay.write_text(yaml.safe_dump({"grafana": {"exposure": {"ingress": {"enabled": True}}}}))
    with pytest.raises(RenderError, match=r"grafana\.exposure\.externalUrl"):
        helm_template(values=(ROOT / "values" / "basic.yaml", overlay))
