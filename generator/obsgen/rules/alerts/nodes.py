"""Alert catalogue: Nodes: their file systems, from node-exporter.

Entries as described in rules/alerts/__init__.py; the order here is the
order of the rules in their group."""

from __future__ import annotations

from .. import recordings as rec
from ..types import Runbook
from .spec import KSM, AlertSpec

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
    AlertSpec(
        name="KubeNodeNotReady",
        min_tier="intermediate",
        scope="cluster",
        group="nodes",
        dashboard="d/obs-use",
        severity="warning",
        threshold=None,
        for_="15m",
        expr=f'max by (node) (kube_node_status_condition{{{KSM}, condition="Ready", status="true"}}) == 0',
        summary="Node {{ $labels.node }} is not ready",
        description="{{ $labels.node }} has not reported Ready for 15 minutes ({{ $value }}); its pods are being evicted or stranded.",
        runbook=Runbook(
            meaning="The kubelet of a node is not healthy or not heard from: no new pods land there and its pods may be evicted.",
            causes=("The kubelet or container runtime crashed", "Memory, disk or PID pressure", "The node lost its network"),
            checks=("`kubectl describe node <node>` (Conditions, Events)", "The node's kubelet and runtime logs"),
            queries=(f'kube_node_status_condition{{{KSM}, node="<node>"}}',),
        ),
        requires=("kubeStateMetrics",),
    ),
    AlertSpec(
        name="KubeNodeUnreachable",
        min_tier="intermediate",
        scope="cluster",
        group="nodes",
        dashboard="d/obs-use",
        severity="warning",
        threshold=None,
        for_="15m",
        expr=f'max by (node) (kube_node_spec_taint{{{KSM}, key="node.kubernetes.io/unreachable", effect="NoSchedule"}}) == 1',
        summary="Node {{ $labels.node }} is unreachable",
        description=(
            "The node controller tainted {{ $labels.node }} unreachable ({{ $value }}): the control plane has lost it,"
            " and its pods are rescheduled elsewhere once their tolerations expire."
        ),
        runbook=Runbook(
            meaning="The control plane cannot reach a node at all (not even a NotReady status): it is down or cut off.",
            causes=("The machine stopped or rebooted", "A network partition between the node and the API server"),
            checks=("The cloud provider's view of the instance", "`kubectl get node <node> -o yaml` (taints, lastHeartbeatTime)"),
            queries=(f'kube_node_spec_taint{{{KSM}, node="<node>"}}',),
        ),
        requires=("kubeStateMetrics",),
    ),
)
