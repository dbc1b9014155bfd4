"""Render the chart with a real Helm binary and split the result into objects."""

from __future__ import annotations

import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from .tools import ROOT, tool

CHART = ROOT / "charts" / "obs"
NAMESPACE = "monitoring"
RELEASE = "obs"
TIERS = ("basic", "intermediate", "advanced", "enterprise")


class RenderError(Exception):
    pass


def helm_template(
    helm: str = "helm",
    values: tuple[Path, ...] = (),
    sets: tuple[str, ...] = (),
    extra: tuple[str, ...] = (),
) -> str:
    cmd = [tool(helm), "template", RELEASE, str(CHART), "--namespace", NAMESPACE]
    for v in values:
        cmd += ["-f", str(v)]
    for s in sets:
        cmd += ["--set", s]
    cmd += list(extra)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise RenderError(proc.stderr.strip())
    return proc.stdout


def split(manifest: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(manifest) if doc]


@cache
def render_tier(tier: str, helm: str = "helm") -> tuple[dict[str, Any], ...]:
    """Objects of one tier as `helm install -f values/<tier>.yaml` would create them."""
    return tuple(split(helm_template(helm, values=(ROOT / "values" / f"{tier}.yaml",))))


def find(objects, kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]


def configmap_file(objects, configmap: str, key: str) -> str:
    (cm,) = find(objects, "ConfigMap", configmap)
    return cm["data"][key]


def container_args(objects, kind: str, name: str) -> list[str]:
    """The first container's args of one workload (the flags loopback.*_args adapt)."""
    (workload,) = find(objects, kind, name)
    return list(workload["spec"]["template"]["spec"]["containers"][0].get("args", []))


def rule_files(objects) -> dict[str, str]:
    """Every rule file the rules subchart ships, by file name."""
    files: dict[str, str] = {}
    for cm in find(objects, "ConfigMap"):
        if cm["metadata"].get("labels", {}).get("obs.dev/rule-file") == "true":
            files.update(cm["data"])
    return files


def pod_specs(objects) -> list[tuple[str, dict[str, Any]]]:
    """(kind/name, pod spec) of every workload."""
    out = []
    for o in objects:
        if o["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            out.append((f"{o['kind']}/{o['metadata']['name']}", o["spec"]["template"]["spec"]))
    return out


def profile_values(profile: dict[str, Any] | str, directory: Path) -> Path:
    """Values generated from a profile (a mapping, or its YAML text), as `obsgen generate` writes them."""
    from obsgen import generate

    text = profile if isinstance(profile, str) else yaml.safe_dump(profile)
    source = directory / "profiles" / "profile.yaml"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_text(text)
    (out,) = generate.plan_profile(source, directory)
    generate.write([out])
    return out.path


def render_profile(profile: dict[str, Any] | str, directory: Path) -> list[dict[str, Any]]:
    """The objects Helm renders from a profile's generated values."""
    return split(helm_template(values=(profile_values(profile, directory),)))
