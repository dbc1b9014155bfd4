"""remote_write to an existing store (profile `remoteWrite`, artifacts/remote_write.py).

- Every auth kind renders a config the real promtool accepts, and every
  credential file resolves through a mounted Secret of the pod; SigV4's
  keys come from the Secret as env only.
- Bad entries are refused at generate time, naming the field.
- An outage of the store loses nothing: the rendered Prometheus writes to a
  second real Prometheus (its remote-write receiver behind basic auth, as
  a store would be); the receiver is stopped for two minutes and started
  again; afterwards every sample the writer scraped is in the receiver
  (counted, both sides, over the same window).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import bcrypt
import pytest
import yaml

from obsgen import loopback
from tests.support import k8s
from tests.support.cli import refused_naming, validate_profile
from tests.support.processes import Daemon, daemons, free_port, wait_for
from tests.support.render import configmap_file, container_args, render_profile, rule_files
from tests.support.tools import tool, unsupported_prometheus_flags

SECRET = {"name": "remote-write", "key": "password"}
ENTRIES = [
    {"name": "basic", "url": "https://mimir.example.com/api/v1/push", "basicAuth": {"username": "obs", "passwordSecret": SECRET}},
    {
        "name": "bearer",
        "url": "https://vm.example.com/api/v1/write",
        "bearerTokenSecret": {"name": "vm-token", "key": "token"},
        "tls": {"caSecret": {"name": "vm-ca", "key": "ca.crt"}},
        "writeRelabelConfigs": [{"source_labels": ["__name__"], "regex": "go_.*|process_.*", "action": "drop"}],
        "queue": {"maxShards": 7},
    },
    {
        "name": "oauth",
        "url": "https://cortex.example.com/api/v1/push",
        "oauth2": {
            "clientId": "obs",
            "clientSecret": {"name": "cortex-oauth", "key": "secret"},
            "tokenUrl": "https://sso.example.com/token",
            "scopes": ["metrics:write"],
        },
    },
    {
        "name": "amp",
        "url": "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write",
        "sigv4": {"region": "eu-west-1", "credentialsSecret": {"name": "amp-keys"}},
    },
]


def _profile(entries: list[dict[str, Any]], tier: str = "advanced") -> dict[str, Any]:
    return {"name": "rw", "extends": tier, "remoteWrite": entries}


def _prometheus(objects) -> tuple[dict[str, Any], dict[str, Any]]:
    (sts,) = [o for o in objects if o["kind"] == "StatefulSet" and o["metadata"]["name"] == "obs-prometheus"]
    return sts, yaml.safe_load(configmap_file(objects, "obs-prometheus-config", "prometheus.yml"))


def test_every_auth_kind_renders_what_promtool_accepts(tmp_path):
    objects = render_profile(_profile(ENTRIES), tmp_path / "render")
    sts, config = _prometheus(objects)
    writes = {w["name"]: w for w in config["remote_write"]}
    assert list(writes) == [e["name"] for e in ENTRIES]
    pod = sts["spec"]["template"]["spec"]
    (container,) = [c for c in pod["containers"] if c["name"] == "prometheus"]
    volumes = {v["name"]: v for v in pod["volumes"]}

    def secret_of(path: str) -> tuple[str, str]:
        for mount in container["volumeMounts"]:
            if path.startswith(mount["mountPath"].rstrip("/") + "/"):
                return volumes[mount["name"]]["secret"]["secretName"], path[len(mount["mountPath"].rstrip("/")) + 1 :]
        raise AssertionError(f"{path}: no Secret mount holds it")

    assert secret_of(writes["basic"]["basic_auth"]["password_file"]) == (SECRET["name"], SECRET["key"])
    assert secret_of(writes["bearer"]["authorization"]["credentials_file"]) == ("vm-token", "token")
    assert secret_of(writes["bearer"]["tls_config"]["ca_file"]) == ("vm-ca", "ca.crt")
    assert secret_of(writes["oauth"]["oauth2"]["client_secret_file"]) == ("cortex-oauth", "secret")
    # SigV4: no secret in the config; the default AWS chain reads the Secret's keys from env.
    assert writes["amp"]["sigv4"] == {"region": "eu-west-1"}
    env = {e["name"]: e.get("valueFrom", {}).get("secretKeyRef") for e in container["env"]}
    assert env["AWS_ACCESS_KEY_ID"] == {"name": "amp-keys", "key": "AWS_ACCESS_KEY_ID"}
    assert env["AWS_SECRET_ACCESS_KEY"] == {"name": "amp-keys", "key": "AWS_SECRET_ACCESS_KEY"}
    # The tier's queue, and the entry's own override.
    assert writes["basic"]["queue_config"] == {"capacity": 10_000, "max_shards": 50, "max_samples_per_send": 2_000}
    assert writes["bearer"]["queue_config"]["max_shards"] == 7
    assert writes["bearer"]["write_relabel_configs"] == ENTRIES[1]["writeRelabelConfigs"]
    for version in k8s.K8S_VERSIONS:
        assert k8s.problems([sts], version) == [], version

    # The real promtool, with the credential files where the Secrets would put them.
    secrets = tmp_path / "secrets"
    local = loopback.prometheus_config(config, {}, [], str(tmp_path / "rules"), secrets_dir=str(secrets))
    for write in local["remote_write"]:
        for block in write.values():
            for key, path in block.items() if isinstance(block, dict) else ():
                if key.endswith("_file"):
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
                    Path(path).write_text("secret\n")
    (tmp_path / "rules").mkdir()
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(local))
    proc = subprocess.run([tool("promtool"), "check", "config", "--syntax-only", str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_no_remote_write_renders_none(tmp_path):
    objects = render_profile({"name": "plain", "extends": "advanced"}, tmp_path)
    sts, config = _prometheus(objects)
    assert "remote_write" not in config
    assert not [v for v in sts["spec"]["template"]["spec"]["volumes"] if v["name"].startswith("secret-")]


@pytest.mark.parametrize(
    ("entries", "field"),
    [
        ([{**ENTRIES[0], "bearerTokenSecret": {"name": "t", "key": "k"}}], "remoteWrite[0]: one authentication per endpoint"),
        ([ENTRIES[0], {**ENTRIES[1], "name": "basic"}], "remoteWrite[1].name"),
        ([{**ENTRIES[1], "writeRelabelConfigs": [{"source_labels": ["__name__"], "regex": "(?=x)", "action": "drop"}]}],
         "remoteWrite[0].writeRelabelConfigs[0].regex"),
        ([{**ENTRIES[1], "writeRelabelConfigs": [{"source_labels": ["a"], "action": "replace"}]}],
         "remoteWrite[0].writeRelabelConfigs[0].target_label"),
        ([ENTRIES[3], {**ENTRIES[3], "name": "amp2", "sigv4": {"region": "eu-west-1", "credentialsSecret": {"name": "other"}}}],
         "one credentialsSecret"),
        ([{"name": "x", "url": "ftp://store.example.com"}], "remoteWrite[0].url"),
    ],
    ids=["two-auths", "same-name", "not-re2", "no-target-label", "two-sigv4-secrets", "not-http"],
)  # fmt: skip
def test_bad_entries_are_refused(tmp_path, entries, field):
    proc = validate_profile(tmp_path, remoteWrite=entries)
    assert refused_naming(proc, field), proc.stderr


# --- the outage ------------------------------------------------------------------------

OUTAGE = 120.0  # seconds the store is down
PASSWORD = "rw-secret"


def _query(url: str, expr: str, at: float, password: str = "") -> list[dict[str, Any]]:
    """An instant query's result, with basic auth as obs when a password is given."""
    query = urllib.parse.urlencode({"query": expr, "time": f"{at:.3f}"})
    request = urllib.request.Request(f"{url}/api/v1/query?{query}")
    if password:
        request.add_header("Authorization", "Basic " + base64.b64encode(f"obs:{password}".encode()).decode())
    with urllib.request.urlopen(request, timeout=30) as resp:
        return json.load(resp)["data"]["result"]


def _samples(url: str, selector: str, window: str, at: float, password: str = "") -> int:
    """Raw samples of every series the selector matches over the window ending at `at`."""
    return sum(len(series["values"]) for series in _query(url, f"{selector}{window}", at, password))


@pytest.mark.engine
def test_an_outage_of_the_store_loses_no_sample(tmp_path):
    entry = {"name": "store", "url": "https://store.example.com/api/v1/write", "basicAuth": {"username": "obs", "passwordSecret": SECRET}}
    objects = render_profile(_profile([entry], tier="intermediate"), tmp_path / "render")
    _, rendered = _prometheus(objects)
    writer_port, store_port = free_port(), free_port()

    # The store: a real Prometheus with its remote-write receiver, behind basic auth.
    web = tmp_path / "store-web.yml"
    web.write_text(yaml.safe_dump({"basic_auth_users": {"obs": bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()}}))
    store_config = tmp_path / "store.yml"
    store_config.write_text("global: {scrape_interval: 1h}\n")
    store_argv = [
        tool("prometheus"),
        f"--config.file={store_config}",
        f"--storage.tsdb.path={tmp_path / 'store-data'}",
        f"--web.listen-address=127.0.0.1:{store_port}",
        f"--web.config.file={web}",
        "--web.enable-remote-write-receiver",
    ]

    # The writer: the rendered config and flags; it scrapes itself (loopback rules 1, 8, 19).
    secrets = tmp_path / "secrets"
    (secrets / SECRET["name"]).mkdir(parents=True)
    (secrets / SECRET["name"] / SECRET["key"]).write_text(PASSWORD)
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    for name, text in loopback.rule_files(rule_files(objects)).items():
        (rules_dir / name).write_text(text)
    local = loopback.prometheus_config(
        rendered,
        targets={
            "prometheus": [{"targets": [f"127.0.0.1:{writer_port}"], "labels": {"namespace": "monitoring", "pod": "obs-prometheus-0"}}]
        },
        alertmanagers=[],
        rules_dir=str(rules_dir),
        remote_write_urls={"store": f"http://127.0.0.1:{store_port}/api/v1/write"},
        secrets_dir=str(secrets),
    )
    writer_config = tmp_path / "writer.yml"
    writer_config.write_text(yaml.safe_dump(local))
    writer_argv = [
        tool("prometheus"),
        *loopback.prometheus_args(
            container_args(objects, "StatefulSet", "obs-prometheus"),
            str(writer_config),
            str(tmp_path / "writer-data"),
            f"127.0.0.1:{writer_port}",
            unsupported=unsupported_prometheus_flags(),
        ),
    ]
    writer_url, store_url = f"http://127.0.0.1:{writer_port}", f"http://127.0.0.1:{store_port}"
    series = '{job="prometheus"}'  # every series the writer scrapes of itself

    with daemons() as running:
        store = Daemon("store", store_argv, tmp_path / "store-1.log")
        running.append(store)
        env = {**os.environ, "POD_NAME": "obs-prometheus-0"}
        running.append(Daemon("writer", writer_argv, tmp_path / "writer.log", env))
        first = lambda: _samples(store_url, series, "[1h]", time.time(), PASSWORD) > 0  # noqa: E731
        wait_for("the store's first samples", first, 90, running)
        start = time.time()
        time.sleep(30)

        store.stop()
        running.remove(store)
        time.sleep(OUTAGE)
        store = Daemon("store", store_argv, tmp_path / "store-2.log")
        running.append(store)
        end = time.time() + 30
        time.sleep(30)

        # Every sample the writer has from start to end reaches the store (the queue drains from the WAL).
        window = f"[{int(end - start)}s]"
        written = _samples(writer_url, series, window, end)
        scrapes = _samples(writer_url, 'up{job="prometheus"}', window, end)
        assert scrapes >= (end - start) / 15 - 2, f"the writer scraped itself {scrapes} times in {end - start:.0f} s"

        def caught_up():
            got = _samples(store_url, series, window, end, PASSWORD)
            return got if got == written else None

        held = wait_for(f"the store to hold all {written} samples", caught_up, 120, running)
        # For the closing note (pytest -s): the counts on both sides.
        print(f"outage {OUTAGE:.0f} s: writer {written} samples ({scrapes} scrapes) over {end - start:.0f} s, store {held}")
