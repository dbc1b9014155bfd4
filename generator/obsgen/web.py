"""Web TLS and basic auth of Prometheus and Alertmanager, and their clients.

A profile's `web.<server>` names three existing Secrets: the server's web
config file (read with --web.config.file), the CA its clients verify the
serving certificate with, and the password its clients log in with. This
module decides where each lands, once: the chart mounts the Secrets at
these paths (obs-lib.webClientVolumes) and every client config, rendered
by a template or written here, reads the same paths. Clients verify the
Service name (`<service>.<namespace>.svc`), since scrapes and alert
delivery address pods by IP.
"""

from __future__ import annotations

from typing import Any

SERVERS = ("prometheus", "alertmanager")
CLIENT_DIR = "/etc/obs/web"  # <dir>/<server>/ca/<key>, <dir>/<server>/auth/<key>
SERVER_DIR = "/etc/obs/web-config"  # the server's own web config Secret


def _secret(ref: dict[str, str] | None) -> dict[str, str]:
    return {"secret": (ref or {}).get("name", ""), "key": (ref or {}).get("key", "")}


def server_values(server: str, spec: dict[str, Any] | None) -> dict[str, Any]:
    """`global.web.<server>`: what the server and every client of it read.
    Same keys whether on or off, so upgrades between tiers keep the shape."""
    spec = spec or {}
    tls, auth = spec.get("tls"), spec.get("basicAuth")
    config = _secret(spec.get("configSecret"))
    ca = _secret((tls or {}).get("caSecret"))
    password = _secret((auth or {}).get("passwordSecret"))
    return {
        "enabled": bool(spec),
        "configSecret": config["secret"],
        "configFile": f"{SERVER_DIR}/{config['key']}" if spec else "",
        "scheme": "https" if tls else "http",
        "tls": {
            "enabled": tls is not None,
            "caSecret": ca["secret"],
            "caKey": ca["key"],
            "caFile": f"{CLIENT_DIR}/{server}/ca/{ca['key']}" if tls else "",
        },
        "basicAuth": {
            "enabled": auth is not None,
            "username": (auth or {}).get("username", ""),
            "passwordSecret": password["secret"],
            "passwordKey": password["key"],
            "passwordFile": f"{CLIENT_DIR}/{server}/auth/{password['key']}" if auth else "",
        },
    }


def values(web: dict[str, Any]) -> dict[str, Any]:
    """`global.web`: every server, on or off."""
    return {server: server_values(server, web.get(server)) for server in SERVERS}


def scheme(web: dict[str, Any], server: str) -> str:
    return "https" if (web.get(server) or {}).get("tls") else "http"


def otlp_client(web: dict[str, Any], server: str, password_env: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(exporter settings, extensions) of a collector exporter to `server`:
    TLS with the CA the pod mounts, and the basicauth extension reading the
    password from password_env (the chart sets it from the Secret)."""
    v = server_values(server, web.get(server))
    exporter: dict[str, Any] = {"tls": {"ca_file": v["tls"]["caFile"]} if v["tls"]["enabled"] else {"insecure": True}}
    extensions: dict[str, Any] = {}
    if v["basicAuth"]["enabled"]:
        name = f"basicauth/{server}"
        extensions[name] = {"client_auth": {"username": v["basicAuth"]["username"], "password": "${env:" + password_env + "}"}}
        exporter["auth"] = {"authenticator": name}
    return exporter, extensions


def prometheus_client(web: dict[str, Any], server: str) -> dict[str, Any]:
    """tls_config and basic_auth of a Prometheus-style HTTP client (Tempo's
    remote write) that addresses `server` by its Service name, which the
    certificate names; empty when the server is plain."""
    v = server_values(server, web.get(server))
    out: dict[str, Any] = {}
    if v["tls"]["enabled"]:
        out["tls_config"] = {"ca_file": v["tls"]["caFile"]}
    if v["basicAuth"]["enabled"]:
        out["basic_auth"] = {"username": v["basicAuth"]["username"], "password_file": v["basicAuth"]["passwordFile"]}
    return out
