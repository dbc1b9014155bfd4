"""A real Kubernetes API server on loopback: etcd (Debian's etcd-server) and
kube-apiserver (built from k8s.io/kubernetes by ci/install-tools.sh).

No kubelet, scheduler or controller-manager runs, so no pod starts, no
StatefulSet creates its claims and no Job completes: what is tested is what
the API server itself decides — schema and field validation, immutable
fields, admission (PodSecurity among the default plugins), CRD schemas, size
limits. Helm reaches it through a generated kubeconfig with a static token
of a `system:masters` user; the serving certificate is self-signed for
127.0.0.1 and is the kubeconfig's CA.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .processes import Daemon, free_port, wait_for
from .tools import tool

KUBERNETES_VERSION = "1.35"
TOKEN = "obs-suite-admin-token"
PSA_LABELS = {
    "pod-security.kubernetes.io/warn": "restricted",
    "pod-security.kubernetes.io/audit": "restricted",
}


def _openssl(*args: str) -> None:
    subprocess.run([tool("openssl"), *args], check=True, capture_output=True, timeout=60)


def _warning_text(header: str) -> str:
    """The text of an HTTP Warning header (`299 - "quoted text"`, RFC 7234), unquoted."""
    quoted = header.split(" ", 2)[-1]
    return json.loads(quoted) if quoted.startswith('"') else quoted


@dataclass
class Response:
    status: int
    body: dict[str, Any]
    warnings: list[str]


class ApiServer:
    def __init__(self, workdir: Path, url: str, ca: Path, kubeconfig: Path):
        self.workdir, self.url, self.ca, self.kubeconfig = workdir, url, ca, kubeconfig
        self._ssl = ssl.create_default_context(cafile=str(ca))

    def request(self, method: str, path: str, body: Any = None, content_type: str = "application/json") -> Response:
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": content_type, "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, context=self._ssl, timeout=60) as resp:
                raw, status, headers = resp.read(), resp.status, resp.headers
        except urllib.error.HTTPError as err:
            raw, status, headers = err.read(), err.code, err.headers
        warnings = [_warning_text(w) for w in headers.get_all("Warning") or []]
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:  # /readyz and friends answer in plain text
            body = {"text": raw.decode(errors="replace")}
        return Response(status, body, warnings)

    def create_namespace(self, name: str, labels: dict[str, str] | None = None) -> None:
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels or {}}}
        resp = self.request("POST", "/api/v1/namespaces", namespace)
        assert resp.status == 201, resp.body

    def helm(self, *args: str, helm: str = "helm", timeout: int = 300) -> subprocess.CompletedProcess:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.workdir),
            "KUBECONFIG": str(self.kubeconfig),
            "HELM_CACHE_HOME": str(self.workdir / "helm" / "cache"),
            "HELM_CONFIG_HOME": str(self.workdir / "helm" / "config"),
            "HELM_DATA_HOME": str(self.workdir / "helm" / "data"),
        }
        return subprocess.run([tool(helm), *args], env=env, capture_output=True, text=True, timeout=timeout)

    def list(self, path: str) -> list[dict[str, Any]]:
        resp = self.request("GET", path)
        assert resp.status == 200, resp.body
        return resp.body["items"]

    def apply_manifest(self, objects: Sequence[dict[str, Any]]) -> list[Response]:
        """Create each object with server-side apply (CRDs, fixtures): the server's own decision per object."""
        out = []
        for obj in objects:
            path = self.object_path(obj) + "?fieldManager=obs-suite&force=true"
            # JSON is YAML: the apply patch goes as JSON, whatever the object's YAML quirks were.
            out.append(self.request("PATCH", path, json.dumps(obj).encode(), "application/apply-patch+yaml"))
        return out

    def object_path(self, obj: dict[str, Any], namespace: str | None = None) -> str:
        group_version = obj["apiVersion"]
        prefix = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
        plural = self.plural(group_version, obj["kind"])
        ns = obj["metadata"].get("namespace") or namespace
        scope = f"/namespaces/{ns}" if ns and self.namespaced(group_version, obj["kind"]) else ""
        return f"{prefix}{scope}/{plural}/{obj['metadata']['name']}"

    def _resource(self, group_version: str, kind: str) -> dict[str, Any]:
        prefix = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
        resp = self.request("GET", prefix)
        assert resp.status == 200, f"{group_version} is not served: {resp.body}"
        (resource,) = [r for r in resp.body["resources"] if r["kind"] == kind and "/" not in r["name"]]
        return resource

    def plural(self, group_version: str, kind: str) -> str:
        return self._resource(group_version, kind)["name"]

    def namespaced(self, group_version: str, kind: str) -> bool:
        return self._resource(group_version, kind)["namespaced"]


def _certificates(workdir: Path) -> tuple[Path, Path, Path, Path]:
    cert, key = workdir / "serving.crt", workdir / "serving.key"
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=obs-suite-apiserver",
        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert),
    )  # fmt: skip
    sa_key, sa_pub = workdir / "sa.key", workdir / "sa.pub"
    _openssl("genrsa", "-out", str(sa_key), "2048")
    _openssl("rsa", "-in", str(sa_key), "-pubout", "-out", str(sa_pub))
    return cert, key, sa_key, sa_pub


@contextmanager
def api_server(workdir: Path, extra_args: Sequence[str] = ()) -> Iterator[ApiServer]:
    workdir.mkdir(parents=True, exist_ok=True)
    cert, key, sa_key, sa_pub = _certificates(workdir)
    tokens = workdir / "tokens.csv"
    tokens.write_text(f'{TOKEN},obs-suite-admin,obs-suite-admin,"system:masters"\n')
    etcd_port, peer_port, port = free_port(), free_port(), free_port()
    etcd = Daemon(
        "etcd",
        [
            tool("etcd"), "--name=obs-suite", f"--data-dir={workdir / 'etcd'}",
            f"--listen-client-urls=http://127.0.0.1:{etcd_port}", f"--advertise-client-urls=http://127.0.0.1:{etcd_port}",
            f"--listen-peer-urls=http://127.0.0.1:{peer_port}", f"--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}",
            f"--initial-cluster=obs-suite=http://127.0.0.1:{peer_port}",
            "--unsafe-no-fsync",  # a throw-away store; fsync only slows the suite down
        ],
        workdir / "etcd.log",
    )  # fmt: skip
    started = [etcd]
    try:
        wait_for("etcd", lambda: urllib.request.urlopen(f"http://127.0.0.1:{etcd_port}/health", timeout=2).status == 200, 60, started)
        apiserver = Daemon(
            "kube-apiserver",
            [
                tool("kube-apiserver"),
                f"--etcd-servers=http://127.0.0.1:{etcd_port}",
                "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={port}",
                f"--tls-cert-file={cert}", f"--tls-private-key-file={key}",
                f"--token-auth-file={tokens}", "--authorization-mode=RBAC",
                f"--service-account-key-file={sa_pub}", f"--service-account-signing-key-file={sa_key}",
                "--service-account-issuer=https://kubernetes.default.svc",
                "--service-cluster-ip-range=10.96.0.0/16",
                # The default plugins (PodSecurity, LimitRanger, ServiceAccount, ResourceQuota …) stay on;
                # PodSecurity is named so that a change of the defaults cannot drop it silently.
                "--enable-admission-plugins=PodSecurity",
                "--allow-privileged=true",
                *extra_args,
            ],
            workdir / "kube-apiserver.log",
        )  # fmt: skip
        started.append(apiserver)
        kubeconfig = workdir / "kubeconfig"
        kubeconfig.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [
                        {"name": "obs-suite", "cluster": {"server": f"https://127.0.0.1:{port}", "certificate-authority": str(cert)}}
                    ],
                    "users": [{"name": "admin", "user": {"token": TOKEN}}],
                    "contexts": [{"name": "obs-suite", "context": {"cluster": "obs-suite", "user": "admin"}}],
                    "current-context": "obs-suite",
                }
            )
        )
        kubeconfig.chmod(0o600)
        server = ApiServer(workdir, f"https://127.0.0.1:{port}", cert, kubeconfig)
        wait_for("kube-apiserver ready", lambda: server.request("GET", "/readyz").status == 200, 120, started)
        yield server
    finally:
        for daemon in reversed(started):
            daemon.stop()
