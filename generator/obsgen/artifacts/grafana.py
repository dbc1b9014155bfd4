"""Grafana's settings from the profile, as the environment Grafana reads.

grafana.ini keys become GF_<SECTION>_<KEY> (Grafana's own override rule:
dots and dashes in the section become underscores, all upper case). Values
stay data: each reaches the pod spec as a quoted env value. Secrets (an
OAuth client secret, the database password) stay in their Secrets and are
referenced, never copied.

Sections the chart owns are refused: `paths` (the volumes are laid out for
them), `database` (the `database` block sets it), the admin credentials
(the admin Secret) and `server.root_url` (exposure.grafana.externalUrl).
"""

from __future__ import annotations

import re
from typing import Any

from ..tiers import Size

# The init container that writes the admin password once: a shell and head.
INIT_SIZE = Size("10m", "16Mi", "100m", "32Mi")

OWNED = {
    "paths": "the chart lays the volumes out for its own paths",
    "database": "set grafana.database instead",
    "security.admin_user": "the admin Secret holds it (grafana.adminSecret)",
    "security.admin_password": "the admin Secret holds it (grafana.adminSecret)",
    "server.root_url": "set exposure.grafana.externalUrl instead",
}


def env_name(section: str, key: str) -> str:
    return "GF_" + re.sub(r"[.\-]", "_", f"{section}_{key}").upper()


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def settings(spec: dict[str, Any]) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """(plain env, env from Secrets) for the profile's grafana section."""
    plain = [
        {"name": env_name(section, key), "value": _text(value)}
        for section, keys in spec.get("settings", {}).items()
        for key, value in keys.items()
    ]
    secret = [
        {"name": env_name(section, key), "secretName": ref["name"], "key": ref["key"]}
        for section, keys in spec.get("secretSettings", {}).items()
        for key, ref in keys.items()
    ]
    database = spec.get("database")
    if database:
        plain += [
            {"name": "GF_DATABASE_TYPE", "value": database["type"]},
            {"name": "GF_DATABASE_HOST", "value": database["host"]},
            {"name": "GF_DATABASE_NAME", "value": database.get("name", "grafana")},
            {"name": "GF_DATABASE_USER", "value": database.get("user", "grafana")},
        ]
        if "sslMode" in database:
            plain.append({"name": "GF_DATABASE_SSL_MODE", "value": database["sslMode"]})
        ref = database["passwordSecret"]
        secret.append({"name": "GF_DATABASE_PASSWORD", "secretName": ref["name"], "key": ref["key"]})
    return plain, secret


def problems(data: dict[str, Any]) -> list[tuple[str, str]]:
    spec = data.get("grafana", {})
    found = []
    for kind in ("settings", "secretSettings"):
        for section, keys in spec.get(kind, {}).items():
            if section in OWNED:
                found.append((f"grafana.{kind}.{section}", f"owned by the chart: {OWNED[section]}"))
            for key in keys:
                if f"{section}.{key}" in OWNED:
                    found.append((f"grafana.{kind}.{section}.{key}", f"owned by the chart: {OWNED[f'{section}.{key}']}"))
            if kind == "secretSettings":
                for key in set(keys) & set(spec.get("settings", {}).get(section, {})):
                    found.append((f"grafana.secretSettings.{section}.{key}", "also given in grafana.settings; keep one"))
    if "database" in spec and not spec.get("adminSecret"):
        found.append(("grafana.adminSecret", "an external database needs the admin credentials in a Secret every replica reads"))
    if spec.get("replicas", 1) > 1 and "database" not in spec:
        found.append(("grafana.replicas", "more than one replica needs grafana.database: SQLite on a volume cannot be shared"))
    return found
