"""The real Jaeger v2 (.tools/bin/jaeger, built from ci/engines/jaeger at the
chart image's release) on the configs the jaeger subchart renders: every
storage backend passes `jaeger validate`, and the Badger config runs,
reports healthy, stores an OTLP trace and answers its query API."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from obsgen import loopback
from obsgen.images import IMAGES
from tests import test_log_trace_backends as backends
from tests.support import otelcol
from tests.support.processes import Daemon, daemons, free_port, get_json, wait_for
from tests.support.tools import tool

pytestmark = pytest.mark.engine

CASES = [c for c in backends.CASES if c.startswith("jaeger-")]


def _rendered(chart_root: str, case: str) -> tuple[dict, list[dict]]:
    objects = backends.render(chart_root, case)
    (_, container), *_ = list(backends.containers(objects))
    return backends.config_of(objects, case), container.get("env", [])


def _local(config: dict, tmp_path: Path) -> tuple[Path, dict[int, int]]:
    ports = {port: free_port() for port in loopback.jaeger_listen_ports(config)}
    path = tmp_path / "jaeger.yaml"
    path.write_text(yaml.safe_dump(loopback.jaeger_config(config, str(tmp_path / "data"), ports)))
    return path, ports


def test_cases_cover_every_storage_backend():
    assert CASES == ["jaeger-badger", "jaeger-elasticsearch", "jaeger-opensearch"]


@pytest.mark.parametrize("case", CASES)
def test_jaeger_accepts_the_rendered_config(chart_root, case, tmp_path):
    config, env = _rendered(chart_root, case)
    path, _ = _local(config, tmp_path)
    proc = subprocess.run(
        [tool("jaeger"), "validate", f"--config=file:{path}"],
        env=otelcol.process_env(loopback.collector_env(env)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_jaeger_refuses_a_misspelt_key(chart_root, tmp_path):
    config, _ = _rendered(chart_root, "jaeger-badger")
    config["extensions"]["jaeger_query"]["storrage"] = config["extensions"]["jaeger_query"].pop("storage")
    path, _ = _local(config, tmp_path)
    proc = subprocess.run([tool("jaeger"), "validate", f"--config=file:{path}"], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "storrage" in proc.stderr, proc.stderr[-2000:]


def _otlp_trace(service: str, trace_id: str) -> bytes:
    now = time.time_ns()
    span = {
        "traceId": trace_id,
        "spanId": "00f067aa0ba902b7",
        "name": "GET /checkout",
        "kind": 2,
        "startTimeUnixNano": str(now - 5_000_000),
        "endTimeUnixNano": str(now),
        "status": {"code": 2},
    }
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]}
    return json.dumps({"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": [span]}]}]}).encode()


def test_badger_config_runs_stores_and_answers_queries(chart_root, tmp_path):
    config, env = _rendered(chart_root, "jaeger-badger")
    path, ports = _local(config, tmp_path)
    query = ports[backends.port_of(config["extensions"]["jaeger_query"]["http"]["endpoint"])]
    otlp_http = ports[backends.port_of(config["receivers"]["otlp"]["protocols"]["http"]["endpoint"])]
    health = ports[backends.port_of(config["extensions"]["healthcheckv2"]["http"]["endpoint"])]
    with daemons() as started:
        process_env = otelcol.process_env(loopback.collector_env(env))
        jaeger = Daemon("jaeger", [tool("jaeger"), f"--config=file:{path}"], tmp_path / "jaeger.log", env=process_env)
        started.append(jaeger)
        wait_for("jaeger health", lambda: urllib.request.urlopen(f"http://127.0.0.1:{health}/status", timeout=2).status == 200, 60, started)
        trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
        request = urllib.request.Request(
            f"http://127.0.0.1:{otlp_http}/v1/traces", data=_otlp_trace("checkout", trace_id), headers={"Content-Type": "application/json"}
        )
        assert urllib.request.urlopen(request, timeout=5).status == 200
        services = wait_for(
            "the service in Jaeger's query API",
            lambda: "checkout" in (get_json(f"http://127.0.0.1:{query}/api/services")["data"] or []) and True,
            60,
            started,
        )
        assert services
        trace = get_json(f"http://127.0.0.1:{query}/api/traces/{trace_id}")["data"]
        assert [t["traceID"] for t in trace] == [trace_id]
        assert jaeger.proc.poll() is None, jaeger.log_tail()
    # Badger wrote to the local stand-in of the volume, nowhere else.
    assert any((tmp_path / "data" / "keys").iterdir())


def test_the_binary_is_the_release_the_chart_deploys():
    """What runs in the suite is what runs in the cluster: the build links the image's module release,
    and that release's changelog names the image tag."""
    module, version = IMAGES["jaeger"].module.split()
    build = subprocess.run(["go", "version", "-m", tool("jaeger")], capture_output=True, text=True, timeout=30).stdout
    # `mod` when the build's main package is Jaeger's own, `dep` otherwise
    assert [module, version] in [line.split()[1:3] for line in build.splitlines() if line.split()[:1] in (["mod"], ["dep"])]
    cache = subprocess.run(["go", "env", "GOMODCACHE"], capture_output=True, text=True, timeout=30).stdout.strip()
    changelog = Path(cache, f"{module}@{version}", "CHANGELOG.md").read_text()
    assert f"{version} / v{IMAGES['jaeger'].tag} (" in changelog
