"""Strict Kubernetes schema validation of rendered objects.

kubeconform (.tools/bin/kubeconform, built by ci/install-tools.sh) is the
validator, run offline on the strict schemas that the kubernetes-validate
package ships per Kubernetes version. Those schemas reach their shared
definitions through `$ref: /api/_definitions.json` against an `$id` on
https://kubernetes.io, which kubeconform would try to download (and this
machine cannot reach), so a copy without the `$id`s and with file-relative
references is kept under .tools/share (derived once per package version).
Without kubeconform, the kubernetes-validate library itself checks, in
process (the same check as `kubernetes-validate --strict`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

from .tools import ROOT, MissingTool, tool

K8S_VERSIONS = ("1.29.0", "1.35.0")
SCHEMAS = ROOT / ".tools" / "share" / "kubeconform-schemas"


def _schema_dir(version: str) -> Path:
    """The kubeconform-ready copy of kubernetes-validate's strict schemas for `version`."""
    import kubernetes_validate
    from kubernetes_validate.version import __version__ as package_version

    name = f"v{version}-local-strict"
    target = SCHEMAS / f"kubernetes-validate-{package_version}" / name
    if target.is_dir():
        return target.parent
    source = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / name
    if not source.is_dir():
        raise MissingTool(f"kubernetes-validate {package_version} has no schemas for Kubernetes {version}")
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tmp-"))
    for schema in source.glob("*.json"):
        document = json.loads(schema.read_text())
        document.pop("$id", None)
        text = json.dumps(document).replace('"/api/_definitions.json#', '"_definitions.json#')
        (scratch / schema.name).write_text(text)
    try:
        os.rename(scratch, target)  # atomic: a concurrent worker either wins or finds it done
    except OSError:
        shutil.rmtree(scratch, ignore_errors=True)
    return target.parent


def _kubeconform(objects: list[dict[str, Any]], version: str, exe: str) -> list[str]:
    kind_file = "{{ .NormalizedKubernetesVersion }}-local{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json"
    location = f"{_schema_dir(version)}/{kind_file}"
    proc = subprocess.run(
        [exe, "-strict", "-summary", "-kubernetes-version", version, "-schema-location", location, "-"],
        input=yaml.safe_dump_all(objects),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode == 0:
        return []
    lines = [line.removeprefix("stdin - ") for line in proc.stdout.splitlines() if not line.startswith("Summary:")]
    return lines or [proc.stdout + proc.stderr]


def _kubernetes_validate(objects: list[dict[str, Any]], version: str) -> list[str]:
    import kubernetes_validate

    found = []
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = "/".join(map(str, exc.path))
            found.append(f"{obj['kind']}/{obj['metadata']['name']}: {path}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            found.append(f"{obj['kind']}/{obj['metadata']['name']}: no schema: {exc}")
    return found


def validator() -> str:
    """Which validator `problems` uses here."""
    try:
        return tool("kubeconform")
    except MissingTool:
        return "kubernetes-validate"


def problems(objects: list[dict[str, Any]], version: str) -> list[str]:
    exe = validator()
    if exe == "kubernetes-validate":
        return _kubernetes_validate(objects, version)
    return _kubeconform(objects, version, exe)
