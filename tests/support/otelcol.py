"""Run the real OpenTelemetry Collector (.tools/bin/otelcol, built by
ci/install-tools.sh from ci/engines/otelcol) on configs the charts render."""

from __future__ import annotations

import copy
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from obsgen import loopback

from .tools import tool

# Components the chart may configure that the suite's build cannot carry, with
# what refused them. Only `without_unbuilt` removes them, and only there.
NOT_IN_BUILD = {
    "elasticsearch": (
        "github.com/open-telemetry/opentelemetry-collector-contrib/exporter/elasticsearchexporter: "
        "the Go module proxy answers 403 'This module version is not available' for v0.158.0 to v0.161.0 "
        "(the .mod of v0.160.0, the .zip of v0.161.0), so no build shares one release with the other components"
    ),
    "basicauth": (
        "github.com/open-telemetry/opentelemetry-collector-contrib/extension/basicauthextension@v0.160.0 imports "
        "extension/internal/basicauth@v0.160.0, whose .zip the Go module proxy answers with 403 "
        "'This module version is not available'"
    ),
}

# The keys of the basicauth extension's client mode that the gateway's config
# uses, checked here because the build cannot carry the extension. Reference:
# extension/basicauthextension/config.go (ClientAuthSettings) in
# open-telemetry/opentelemetry-collector-contrib.
BASICAUTH_CLIENT_KEYS = frozenset({"username", "password"})


def without_unbuilt(config: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The config without the components of NOT_IN_BUILD (and their pipeline entries), and their ids."""
    out = copy.deepcopy(dict(config))
    dropped = []
    for kind in ("receivers", "processors", "exporters", "extensions", "connectors"):
        for cid in list(out.get(kind) or {}):
            if cid.split("/")[0] in NOT_IN_BUILD:
                del out[kind][cid]
                dropped.append(cid)
    for pipeline in out["service"]["pipelines"].values():
        for kind in ("receivers", "processors", "exporters"):
            if kind in pipeline:
                pipeline[kind] = [c for c in pipeline[kind] if c not in dropped]
    if "extensions" in out["service"]:
        out["service"]["extensions"] = [c for c in out["service"]["extensions"] if c not in dropped]
    # A component that authenticates with a dropped extension loses its `auth`.
    for kind in ("receivers", "exporters"):
        for component in (out.get(kind) or {}).values():
            if isinstance(component, dict) and (component.get("auth") or {}).get("authenticator") in dropped:
                del component["auth"]
    return out, dropped


def process_env(env: Mapping[str, str]) -> dict[str, str]:
    """The collector's environment: the container's variables and nothing of the test runner's
    (an OTEL_* variable of ours must not leak into the collector's own SDK settings)."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"), **env}


def validate(config: Mapping[str, Any], container_env: Sequence[Mapping[str, Any]], workdir: Path) -> subprocess.CompletedProcess:
    """`otelcol validate` on a rendered config with its container's env (loopback rules 13 and 14)."""
    host = workdir / "host"
    local = loopback.collector_config(config, str(host))
    for extension in (local.get("extensions") or {}).values():
        if isinstance(extension, dict) and "directory" in extension:
            Path(extension["directory"]).mkdir(parents=True, exist_ok=True)  # the DaemonSet's hostPath volume
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(local, sort_keys=False))
    return subprocess.run(
        [tool("otelcol"), "validate", f"--config=file:{path}"],
        env=process_env(loopback.collector_env(container_env)),
        capture_output=True,
        text=True,
        timeout=120,
    )
