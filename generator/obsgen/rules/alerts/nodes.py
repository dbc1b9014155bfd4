"""Alert catalogue: Nodes: their file systems, from node-exporter.

Entries as described in rules/alerts/__init__.py; the order here is the
order of the rules in their group."""

from __future__ import annotations

from .. import recordings as rec
from ..types import Runbook
from .spec import AlertSpec

ALERTS: tuple[AlertSpec, ...] = (
    AlertSpec(
        name="NodeFilesystemAlmostFull",
        min_tier="basic",
        scope="cluster",
        group="capacity",
        dashboard="d/obs-use",
        severity="critical",
        threshold=0.95,
        for_="5m",
        expr=(
            "<<NODE_FILESYSTEM>> > <<threshold>>\n"
            "and on (node, device, mountpoint)\n"
            'max by (node, device, mountpoint) (node_filesystem_readonly{job="node-exporter"}) == 0'
        ),
        summary="Filesystem {{ $labels.mountpoint }} on {{ $labels.node }} is almost full",
        description="{{ $labels.mountpoint }} ({{ $labels.device }}) on {{ $labels.node }} is {{ $value | humanizePercentage }} full.",
        runbook=Runbook(
            meaning="A node's filesystem is nearly full: the kubelet will start evicting pods, writes will fail.",
            causes=("Container images and logs accumulating", "An emptyDir or hostPath user writing without bound"),
            checks=("`kubectl describe node <node>` (DiskPressure)", "On the node: `crictl rmi --prune`, `du -x -sh /var/*`"),
            queries=(f'{rec.NODE_FILESYSTEM}{{node="<node>"}}',),
        ),
        requires=("nodeExporter",),
    ),
    AlertSpec(
        name="NodeFilesystemFillingUp",
        min_tier="intermediate",
        scope="cluster",
        group="capacity",
        dashboard="d/obs-use",
        severity="warning",
        threshold=0.8,
        for_="1h",
        expr=(
            "<<NODE_FILESYSTEM>> > <<threshold>>\n"
            "and on (node, device, mountpoint)\n"
            'predict_linear(node_filesystem_avail_bytes{job="node-exporter", fstype!=""}[6h], 24 * 3600) < 0\n'
            "and on (node, device, mountpoint)\n"
            'max by (node, device, mountpoint) (node_filesystem_readonly{job="node-exporter"}) == 0'
        ),
        summary="Filesystem {{ $labels.mountpoint }} on {{ $labels.node }} fills up within a day",
        description="{{ $labels.mountpoint }} on {{ $labels.node }} is {{ $value | humanizePercentage }} full and growing.",
        runbook=Runbook(
            meaning="At the growth rate of the last 6 hours the node's filesystem is full within a day.",
            causes=("Image churn", "Log growth", "A pod writing to an emptyDir"),
            checks=("`kubectl describe node <node>`", "Image garbage collection thresholds of the kubelet"),
            queries=(f'{rec.NODE_FILESYSTEM}{{node="<node>"}}',),
        ),
        requires=("nodeExporter",),
    ),
)
