"""Strict Kubernetes schema validation of rendered objects.

kubeconform is used when it is on PATH; otherwise the kubernetes-validate
library (the same check as `kubernetes-validate --strict`), in process,
which is much faster than a process per object.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import yaml

K8S_VERSIONS = ("1.29.0", "1.35.0")


def problems(objects: list[dict[str, Any]], version: str) -> list[str]:
    kubeconform = shutil.which("kubeconform")
    if kubeconform:
        manifest = yaml.safe_dump_all(objects)
        proc = subprocess.run(
            [kubeconform, "-strict", "-summary", "-kubernetes-version", version, "-"],
            input=manifest,
            capture_output=True,
            text=True,
            timeout=300,
        )
        return [] if proc.returncode == 0 else [proc.stdout + proc.stderr]
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
