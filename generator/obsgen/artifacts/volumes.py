"""Volumes across tier changes: the storage values of every volume, and the
claims the chart's post-upgrade resize hook may grow.

A volume keeps the size it was created with (StatefulSet claim templates are
immutable; PVCs never shrink): the chart renders the deployed size it finds
with `lookup`, or `deployedSize` where lookup cannot see the cluster (GitOps
tools render with `helm template`), fails a render that would shrink a
volume, and grows claims to `size` with the hook (obs-lib's _helpers.tpl,
templates/volume-resize.yaml).
"""

from __future__ import annotations

from typing import Any

from ..images import IMAGES, Image
from ..tiers import Size

# The hook only talks to the API server.
RESIZE_SIZE = Size("10m", "32Mi", "100m", "64Mi")


def storage(size: str, storage_class: str = "") -> dict[str, Any]:
    """One volume's values: the size wanted now, its class, and the deployed size when known."""
    return {"size": size, "storageClass": storage_class, "deployedSize": ""}


def _claim(values_path: str, workload: str, replicas: int, kind: str = "StatefulSet") -> dict[str, Any]:
    claim = "data" if kind == "StatefulSet" else ""
    return {"values": values_path, "kind": kind, "workload": workload, "claim": claim, "replicas": replicas}


def claims(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Every volume of the stack the values describe, with the object that owns it.

    Reads the sections this generator has just built (which components run,
    Loki's mode, Jaeger's store), so the list cannot disagree with them.
    """
    out = []
    if document["prometheus"]["enabled"]:
        out.append(_claim("prometheus.storage", "prometheus", document["prometheus"]["replicas"]))
    if document["alertmanager"]["enabled"]:
        out.append(_claim("alertmanager.storage", "alertmanager", document["alertmanager"]["replicas"]))
    grafana = document["grafana"]
    if grafana["enabled"] and grafana["persistence"]["enabled"]:
        out.append(_claim("grafana.persistence", "grafana", 1, kind="PersistentVolumeClaim"))
    loki = document["loki"]
    if loki["enabled"]:
        if loki["mode"] == "scalable":
            for part in ("write", "backend"):
                out.append(_claim(f"loki.scalable.{part}.storage", f"loki-{part}", loki["scalable"][part]["replicas"]))
        else:
            out.append(_claim("loki.storage", "loki", 1))
    if document["tempo"]["enabled"]:
        out.append(_claim("tempo.storage", "tempo", 1))
    jaeger = document["jaeger"]
    if jaeger["enabled"] and jaeger["traceStorage"] == "badger":
        out.append(_claim("jaeger.storage", "jaeger", jaeger["replicas"]))
    return out


def values(document: dict[str, Any], image: Image = IMAGES["kubectl"]) -> dict[str, Any]:
    """The `volumeResize` section of the chart values."""
    return {"image": image.as_values(), "resources": RESIZE_SIZE.as_values(), "claims": claims(document)}
