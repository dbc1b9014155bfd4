"""The real OpenTelemetry Collector validates every collector config the charts render.

`otelcol validate` (the suite's build of the pinned release, with exactly the
chart's components) loads each config as the pod would, with the container's
env, and rejects unknown components, unknown or misspelt keys, bad values and
unset endpoints: the agent and gateway of every tier and of the example
organisation, the four sampling/backend fixtures, the log export, the app
library's sidecar (with the enterprise audit pipeline) and the operator CR's
embedded config.
"""

from __future__ import annotations

import subprocess
from functools import cache
from typing import Any

import pytest
import yaml

from obsgen.images import IMAGES
from tests import test_instrumentation_library as library
from tests import test_log_export as log_export
from tests import test_operator_instrumentation as operator
from tests import test_otel_collector as subchart
from tests.support import otelcol
from tests.support.render import TIERS, helm_template, render_profile, render_tier, split
from tests.support.tools import tool

pytestmark = pytest.mark.engine

ROLES = ("agent", "gateway")


def _container(workload: dict[str, Any]) -> dict[str, Any]:
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    return container


def _chart_cases(objects, label: str) -> dict[str, tuple[dict[str, Any], list[dict[str, Any]]]]:
    """role → (config, container env) of each collector the umbrella chart rendered."""
    out = {}
    for role in ROLES:
        name = f"{subchart.RELEASE}-otel-collector-{role}"
        workload = [o for o in objects if o["metadata"]["name"] == name and o["kind"] in ("DaemonSet", "Deployment", "StatefulSet")]
        if workload:
            (one,) = workload
            out[f"{label}-{role}"] = (subchart.config_of(objects, role), _container(one)["env"])
    return out


@cache
def cases() -> dict[str, tuple[dict[str, Any], list[dict[str, Any]]]]:
    found: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
    for tier in TIERS:
        found |= _chart_cases(render_tier(tier), tier)
    for name in subchart.FIXTURES:
        found |= _chart_cases(subchart.render(name), f"fixture-{name}")
    for tier in library.SIDECAR_TIERS:
        objs = library.render(tier)
        found[f"library-sidecar-{tier}"] = (library.sidecar_config(objs), library.sidecar(objs)["env"])
        cr = operator.operator_objects(operator.render(tier))["OpenTelemetryCollector"]["spec"]
        found[f"operator-sidecar-{tier}"] = (cr["config"], cr.get("env", []))
    return found


def test_the_cases_cover_every_collector_config():
    names = set(cases())
    assert "basic-agent" not in names  # basic runs no collector
    for tier in ("intermediate", "advanced", "enterprise"):
        assert {f"{tier}-agent", f"{tier}-gateway"} <= names
    assert {"library-sidecar-enterprise", "operator-sidecar-enterprise"} <= names
    pipelines = cases()["library-sidecar-enterprise"][0]["service"]["pipelines"]
    assert any(name.startswith("logs/") for name in pipelines), "the audit pipeline is among the cases"


@pytest.mark.parametrize("case", sorted(cases()))
def test_the_collector_accepts_the_rendered_config(case, tmp_path):
    config, env = cases()[case]
    proc = otelcol.validate(config, env, tmp_path)
    assert proc.returncode == 0, f"{case}:\n{proc.stderr[-3000:]}"


def test_the_log_export_gateway_is_accepted_without_the_unbuilt_exporter(tmp_path, acme_values):
    tmp = tmp_path / "profile"
    tmp.mkdir()
    from obsgen import generate

    profile = tmp / "es-export.yaml"
    profile.write_text(yaml.safe_dump(log_export.PROFILE))
    generate.write(generate.plan_profile(profile, tmp))
    objects = split(helm_template(values=(tmp / "es-export.yaml",)))
    (config, env) = _chart_cases(objects, "es")["es-gateway"]
    reduced, dropped = otelcol.without_unbuilt(config)
    assert dropped and {c.split("/")[0] for c in dropped} == {"elasticsearch"}
    proc = otelcol.validate(reduced, env, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # and the example organisation's collectors, for their profile-specific parts
    acme = split(helm_template(values=(acme_values,)))
    for case, (cfg, cenv) in _chart_cases(acme, "acme").items():
        work = tmp_path / case
        work.mkdir()
        proc = otelcol.validate(cfg, cenv, work)
        assert proc.returncode == 0, f"{case}:\n{proc.stderr[-3000:]}"


def test_the_web_secured_gateway_is_accepted_without_the_unbuilt_extension(tmp_path):
    """TLS to a web-secured Prometheus goes through `otelcol validate`; the
    basicauth extension the build cannot carry is checked for its keys."""
    from tests import test_web_security

    objects = render_profile(test_web_security.PROFILE, tmp_path / "profile")
    (config, env) = _chart_cases(objects, "web")["web-gateway"]
    (authenticator,) = [cid for cid in config["extensions"] if cid.startswith("basicauth/")]
    assert set(config["extensions"][authenticator]) == {"client_auth"}
    assert set(config["extensions"][authenticator]["client_auth"]) <= otelcol.BASICAUTH_CLIENT_KEYS
    reduced, dropped = otelcol.without_unbuilt(config)
    assert dropped == [authenticator]
    assert all(e["tls"]["ca_file"] for name, e in reduced["exporters"].items() if name.startswith("otlp_http/prometheus-"))
    work = tmp_path / "validate"
    work.mkdir()
    proc = otelcol.validate(reduced, env, work)
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda c: c["processors"]["batch"].update(send_batch_sise=1), "send_batch_sise"),
        (lambda c: c["processors"]["batch"].update(timeout="soon"), "timeout"),
        (lambda c: c["service"]["pipelines"]["logs"]["processors"].append("transform/missing"), "transform/missing"),
    ],
    ids=["misspelt-key", "bad-duration", "undefined-component"],
)
def test_the_collector_refuses_what_it_should(mutate, message, tmp_path):
    """The oracle can fail: a misspelt key, a value that is no duration, a processor never defined."""
    config, env = cases()["enterprise-gateway"]
    config = yaml.safe_load(yaml.safe_dump(config))
    mutate(config)
    proc = otelcol.validate(config, env, tmp_path)
    assert proc.returncode != 0 and message in proc.stderr, proc.stderr[-2000:]


def test_the_binary_is_the_release_the_chart_deploys():
    """What runs in the suite is what runs in the cluster: the image tag is the build's release."""
    proc = subprocess.run([tool("otelcol"), "--version"], capture_output=True, text=True, timeout=30)
    assert proc.stdout.split() == ["otelcol", "version", IMAGES["otelCollector"].tag]
    build = subprocess.run(["go", "version", "-m", tool("otelcol")], capture_output=True, text=True, timeout=30).stdout
    deps = [line.split()[1:3] for line in build.splitlines() if line.split()[:1] == ["dep"]]
    collector = ("go.opentelemetry.io/collector/", "github.com/open-telemetry/opentelemetry-collector-contrib/")
    releases = {version for module, version in deps if module.startswith(collector) and version.startswith("v0.")}
    assert releases == {"v" + IMAGES["otelCollector"].tag}, f"every v0 collector module at one release: {sorted(releases)}"
