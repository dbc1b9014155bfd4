"""Web TLS and basic auth of Prometheus and Alertmanager (profile `web`).

The render is the oracle: every client of a secured server that the render
contains (Prometheus' scrapes of both and its alert delivery, Grafana's
datasources, Tempo's remote write, the OTel gateway's OTLP metrics) speaks
https, verifies with the CA Secret's key and logs in with the password
Secret's key, each file resolved through the pod's own volumes. Then the
real Prometheus and Alertmanager, started with web configs that require TLS
and basic auth, accept exactly what the rendered clients send.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import os
import ssl
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import bcrypt
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from obsgen import web
from tests.support import k8s
from tests.support.cli import OBSGEN, obsgen, refused_naming, validate_profile
from tests.support.processes import Daemon, daemons, free_port, wait_for
from tests.support.render import NAMESPACE, configmap_file, find, render_profile
from tests.support.tools import tool

PASSWORDS = {"prometheus": "p-secret", "alertmanager": "a-secret"}
SECRETS = {
    server: {
        "config": (f"{server}-web", "web-config.yml"),
        "ca": ("obs-ca", "ca.crt"),
        "password": (f"{server}-web-client", "password"),
    }
    for server in web.SERVERS
}


def _spec(server: str) -> dict:
    s = SECRETS[server]
    return {
        "configSecret": {"name": s["config"][0], "key": s["config"][1]},
        "tls": {"caSecret": {"name": s["ca"][0], "key": s["ca"][1]}},
        "basicAuth": {"username": "obs", "passwordSecret": {"name": s["password"][0], "key": s["password"][1]}},
    }


# advanced: Tempo (remote write) and the gateway's metrics are on.
PROFILE = {"name": "web", "extends": "advanced", "web": {server: _spec(server) for server in web.SERVERS}}


@pytest.fixture(scope="module")
def objects(tmp_path_factory) -> list[dict]:
    return render_profile(PROFILE, tmp_path_factory.mktemp("web"))


def _workload(objects, name: str) -> dict:
    (found,) = [o for o in objects if o["kind"] in ("Deployment", "StatefulSet") and o["metadata"]["name"] == name]
    return found


def _container(workload: dict, index: int = 0) -> dict:
    return workload["spec"]["template"]["spec"]["containers"][index]


def resolve(workload: dict, container: dict, path: str) -> tuple[str, str]:
    """(Secret, key) a file path of a container reads, through its mounts."""
    volumes = {v["name"]: v for v in workload["spec"]["template"]["spec"].get("volumes", [])}
    for mount in container.get("volumeMounts", []):
        root = mount["mountPath"].rstrip("/")
        if not path.startswith(root + "/"):
            continue
        secret = volumes[mount["name"]].get("secret")
        assert secret, f"{path} is on {mount['name']}, not a Secret"
        relative = path[len(root) + 1 :]
        items = {i["path"]: i["key"] for i in secret.get("items", [])}
        return secret["secretName"], items.get(relative, relative) if items else relative
    raise AssertionError(f"{path}: no mount of {container['name']} holds it")


def _env(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container.get("env", [])}


def _host(server: str) -> str:
    return f"obs-{server}.{NAMESPACE}.svc"


def _check_prometheus_client(workload, container, block: dict, server: str) -> None:
    assert block["scheme"] == "https"
    assert block["tls_config"]["server_name"] == _host(server)
    assert resolve(workload, container, block["tls_config"]["ca_file"]) == SECRETS[server]["ca"]
    assert block["basic_auth"]["username"] == "obs"
    assert resolve(workload, container, block["basic_auth"]["password_file"]) == SECRETS[server]["password"]


def test_servers_read_their_web_config_and_probes_need_no_password(objects):
    for server in web.SERVERS:
        workload = _workload(objects, f"obs-{server}")
        container = _container(workload)
        (flag,) = [a for a in container["args"] if a.startswith("--web.config.file=")]
        assert resolve(workload, container, flag.split("=", 1)[1]) == SECRETS[server]["config"]
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            if probe in container:
                # The kubelet cannot send basic auth without the password in the pod spec.
                assert container[probe]["tcpSocket"] == {"port": "http"}, (server, probe)


def test_prometheus_scrapes_and_alerts_over_tls_with_basic_auth(objects):
    workload = _workload(objects, "obs-prometheus")
    container = _container(workload)
    config = yaml.safe_load(configmap_file(objects, "obs-prometheus-config", "prometheus.yml"))
    jobs = {j["job_name"]: j for j in config["scrape_configs"]}
    for server in web.SERVERS:
        _check_prometheus_client(workload, container, jobs[server], server)
    (alerting,) = config["alerting"]["alertmanagers"]
    _check_prometheus_client(workload, container, alerting, "alertmanager")


def test_grafana_datasources_follow(objects):
    workload = _workload(objects, "obs-grafana")
    container = _container(workload)
    datasources = {
        d["uid"]: d for d in yaml.safe_load(configmap_file(objects, "obs-grafana-provisioning", "datasources.yaml"))["datasources"]
    }
    for server in web.SERVERS:
        source = datasources[server]
        assert source["url"].startswith(f"https://{_host(server)}:")
        assert source["jsonData"]["tlsAuthWithCACert"] is True and source["jsonData"]["serverName"] == _host(server)
        assert source["basicAuth"] is True and source["basicAuthUser"] == "obs"
        for field, secret in (("tlsCACert", "ca"), ("basicAuthPassword", "password")):
            value = source["secureJsonData"][field]
            assert value.startswith("$__file{") and value.endswith("}")
            assert resolve(workload, container, value[len("$__file{") : -1]) == SECRETS[server][secret]


def _replica_urls(objects, env: dict, names: list[str]) -> None:
    """Each variable names one Prometheus pod over https, all of them between them."""
    (sts,) = [o for o in find(objects, "StatefulSet") if o["metadata"]["name"] == "obs-prometheus"]
    pods = {f"obs-prometheus-{i}.{sts['spec']['serviceName']}.{NAMESPACE}.svc" for i in range(sts["spec"]["replicas"])}
    assert {urlsplit(env[n]["value"]).hostname for n in names} == pods
    assert all(env[n]["value"].startswith("https://") for n in names)


def test_tempo_remote_write_follows(objects):
    workload = _workload(objects, "obs-tempo")
    container = _container(workload)
    config = yaml.safe_load(configmap_file(objects, "obs-tempo-config", "tempo.yaml"))
    remotes = config["metrics_generator"]["storage"]["remote_write"]
    env = _env(container)
    _replica_urls(objects, env, [r["url"][2:-1] for r in remotes])
    for remote in remotes:
        # Pods are reached by their own names; the certificate is checked for the Service's.
        assert remote["tls_config"]["server_name"] == "${PROMETHEUS_HOST}" and env["PROMETHEUS_HOST"]["value"] == _host("prometheus")
        assert resolve(workload, container, remote["tls_config"]["ca_file"]) == SECRETS["prometheus"]["ca"]
        assert remote["basic_auth"]["username"] == "obs"
        assert resolve(workload, container, remote["basic_auth"]["password_file"]) == SECRETS["prometheus"]["password"]


def test_gateway_otlp_metrics_follow(objects):
    workload = _workload(objects, "obs-otel-collector-gateway")
    container = _container(workload)
    (cm,) = [o for o in find(objects, "ConfigMap") if o["metadata"]["name"] == "obs-otel-collector-gateway"]
    config = yaml.safe_load(next(iter(cm["data"].values())))
    exporters = [e for name, e in config["exporters"].items() if name.startswith("otlp_http/prometheus")]
    env = _env(container)
    _replica_urls(objects, env, [e["endpoint"][len("${env:") : -1] for e in exporters])
    for exporter in exporters:
        assert exporter["tls"]["server_name_override"] == "${env:OBS_PROMETHEUS_HOST}"
        assert env["OBS_PROMETHEUS_HOST"]["value"] == _host("prometheus")
        assert resolve(workload, container, exporter["tls"]["ca_file"]) == SECRETS["prometheus"]["ca"]
    exporter = exporters[0]
    authenticator = exporter["auth"]["authenticator"]
    assert authenticator in config["service"]["extensions"]
    client = config["extensions"][authenticator]["client_auth"]
    assert client["username"] == "obs" and client["password"] == "${env:OBS_PROMETHEUS_WEB_PASSWORD}"
    ref = env["OBS_PROMETHEUS_WEB_PASSWORD"]["valueFrom"]["secretKeyRef"]
    assert (ref["name"], ref["key"]) == SECRETS["prometheus"]["password"]


def test_no_client_of_a_secured_server_is_left_on_http(objects):
    """Whatever client the render has, none addresses a secured server over http."""
    text = yaml.safe_dump_all(objects)
    for server in web.SERVERS:
        assert f"http://{_host(server)}" not in text, server


def test_renders_are_valid(objects):
    for version in k8s.K8S_VERSIONS:
        assert k8s.problems(objects, version) == []


def test_tls_or_basic_auth_is_needed(tmp_path):
    spec = _spec("prometheus")
    del spec["tls"], spec["basicAuth"]
    assert refused_naming(validate_profile(tmp_path, web={"prometheus": spec}), "web.prometheus")


# --- the real servers ------------------------------------------------------------


def _certificates(directory: Path) -> Path:
    """A CA and one serving certificate for both Services (and 127.0.0.1)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "obs test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    # The Services' names, which the rendered clients verify, and loopback for `obsgen report` here.
    names = [*(x509.DNSName(_host(s)) for s in web.SERVERS), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "obs")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=2))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    (directory / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (directory / "tls.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "tls.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return directory / "ca.crt"


def _web_config(directory: Path, server: str) -> Path:
    """The server's web config as a user would write it: relative cert paths."""
    hashed = bcrypt.hashpw(PASSWORDS[server].encode(), bcrypt.gensalt(rounds=4)).decode()
    path = directory / f"{server}-web-config.yml"
    path.write_text(
        yaml.safe_dump({"tls_server_config": {"cert_file": "tls.crt", "key_file": "tls.key"}, "basic_auth_users": {"obs": hashed}})
    )
    return path


def _local(node, mounts: dict[str, Path]):
    """The rendered client settings with each mounted file at a local path."""
    if isinstance(node, dict):
        return {k: _local(v, mounts) for k, v in node.items()}
    if isinstance(node, list):
        return [_local(v, mounts) for v in node]
    if isinstance(node, str):
        for prefix, local in mounts.items():
            if node.startswith(prefix):
                return str(local / node[len(prefix) :].lstrip("/"))
    return node


def _get(url: str, ca: Path, server: str | None) -> dict:
    context = ssl.create_default_context(cafile=str(ca))
    request = urllib.request.Request(url)
    if server:
        token = base64.b64encode(f"obs:{PASSWORDS[server]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, context=context, timeout=5) as response:
        return json.load(response)


@pytest.mark.slow
def test_real_servers_accept_exactly_the_rendered_clients(objects, tmp_path):
    """promtool checks both web configs; then Prometheus scrapes itself and
    Alertmanager and delivers an alert, all with the rendered client settings
    (scheme, CA, server name, user, password file), and a request without the
    password is refused."""
    certs = tmp_path / "certs"
    certs.mkdir()
    ca = _certificates(certs)
    configs = {server: _web_config(certs, server) for server in web.SERVERS}
    for path in configs.values():
        proc = subprocess.run([tool("promtool"), "check", "web-config", str(path)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    # The client files the pods mount, here: /etc/obs/web/<server>/{ca,auth}/<key>.
    client_root = tmp_path / "client"
    for server in web.SERVERS:
        (client_root / server / "ca").mkdir(parents=True)
        (client_root / server / "ca" / "ca.crt").write_bytes(ca.read_bytes())
        (client_root / server / "auth").mkdir(parents=True)
        (client_root / server / "auth" / "password").write_text(PASSWORDS[server])
    mounts = {web.CLIENT_DIR: client_root}

    rendered = yaml.safe_load(configmap_file(objects, "obs-prometheus-config", "prometheus.yml"))
    jobs = {j["job_name"]: j for j in rendered["scrape_configs"]}
    ports = {server: free_port() for server in web.SERVERS}
    client_keys = ("scheme", "tls_config", "basic_auth")

    def static(block: dict, server: str) -> dict:
        # Discovery replaced by the loopback address; the client settings as rendered.
        return {**_local({k: block[k] for k in client_keys}, mounts), "static_configs": [{"targets": [f"127.0.0.1:{ports[server]}"]}]}

    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": [{"name": "t", "interval": "1s", "rules": [{"alert": "WebCheck", "expr": "vector(1)"}]}]}))
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules)],
        "alerting": {"alertmanagers": [static(rendered["alerting"]["alertmanagers"][0], "alertmanager")]},
        "scrape_configs": [{"job_name": s, **static(jobs[s], s)} for s in web.SERVERS],
    }
    prometheus_yml = tmp_path / "prometheus.yml"
    prometheus_yml.write_text(yaml.safe_dump(config))
    proc = subprocess.run([tool("promtool"), "check", "config", str(prometheus_yml)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    with daemons() as started:
        am = Daemon(
            "alertmanager",
            [
                tool("alertmanager"),
                f"--config.file={_alertmanager_config(tmp_path)}",
                f"--storage.path={tmp_path / 'am'}",
                f"--web.listen-address=127.0.0.1:{ports['alertmanager']}",
                f"--web.config.file={configs['alertmanager']}",
                "--cluster.listen-address=",
            ],
            tmp_path / "alertmanager.log",
        )
        started.append(am)
        prom = Daemon(
            "prometheus",
            [
                tool("prometheus"),
                f"--config.file={prometheus_yml}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{ports['prometheus']}",
                f"--web.config.file={configs['prometheus']}",
            ],
            tmp_path / "prometheus.log",
        )
        started.append(prom)
        prom_url, am_url = (f"https://127.0.0.1:{ports[s]}" for s in web.SERVERS)

        def both_up() -> bool:
            result = _get(f"{prom_url}/api/v1/query?query=up", ca, "prometheus")["data"]["result"]
            return {r["metric"]["job"]: r["value"][1] for r in result} == {"prometheus": "1", "alertmanager": "1"}

        wait_for("both scrapes up over TLS with basic auth", both_up, 60, started)
        wait_for(
            "the alert delivered to Alertmanager",
            lambda: any(a["labels"]["alertname"] == "WebCheck" for a in _get(f"{am_url}/api/v2/alerts", ca, "alertmanager")),
            60,
            started,
        )
        for url in (f"{prom_url}/api/v1/query?query=up", f"{am_url}/api/v2/alerts"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                _get(url, ca, None)
            assert refused.value.code == 401
        # `obsgen report` reaches it with the CA and the user, the password from the environment.
        report = ["report", "--prometheus-url", prom_url, "--ca-file", str(ca), "--format", "json"]
        env = {**os.environ, "OBS_PROMETHEUS_PASSWORD": PASSWORDS["prometheus"]}
        proc = subprocess.run([*OBSGEN, *report, "--username", "obs"], capture_output=True, text=True, timeout=60, env=env)
        assert proc.returncode == 0 and json.loads(proc.stdout)["slos"] == [], proc.stderr
        proc = obsgen(*report)
        assert refused_naming(proc, "HTTP 401"), proc.stderr


def _alertmanager_config(tmp_path: Path) -> Path:
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump({"route": {"receiver": "null"}, "receivers": [{"name": "null"}]}))
    return path
