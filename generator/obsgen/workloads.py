"""The pods obs runs, and the placement and extension knobs each one takes.

Every workload takes the same knobs, under the same names, in the profile
(`workloads.<name>.<knob>`) and in the values (at the workload's values
path). The chart applies them with one helper (obs-lib.podTemplate); the
schemas of the knobs are written once, in the profile schema's `$defs`, and
copied into the values schema at each workload path (schemas.values_schema).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Workload:
    name: str  # the profile's key, the same as its `resources` key
    path: tuple[str, ...]  # where its knobs sit in the values
    image: str  # its main container's image (images.IMAGES key)
    # Its pods' selector labels but the release's app.kubernetes.io/instance,
    # as its chart renders them (NetworkPolicies select pods by them; the
    # render tests compare them with every workload's selector).
    selector: tuple[tuple[str, str], ...] = ()

    @property
    def component(self) -> str:
        return self.path[0]


def _sel(name: str, **extra: str) -> tuple[tuple[str, str], ...]:
    return (("app.kubernetes.io/name", name), *((f"obs.dev/{k}", v) for k, v in extra.items()))


WORKLOADS: tuple[Workload, ...] = (
    Workload("prometheus", ("prometheus",), "prometheus", _sel("prometheus")),
    Workload("alertmanager", ("alertmanager",), "alertmanager", _sel("alertmanager")),
    Workload("grafana", ("grafana",), "grafana", _sel("grafana")),
    Workload("kubeStateMetrics", ("kubeStateMetrics",), "kubeStateMetrics", _sel("kube-state-metrics")),
    Workload("nodeExporter", ("nodeExporter",), "nodeExporter", _sel("node-exporter")),
    Workload("blackboxExporter", ("blackboxExporter",), "blackboxExporter", _sel("blackbox-exporter")),
    Workload("otelAgent", ("otelCollector", "agent"), "otelCollector", _sel("otel-collector", role="agent")),
    Workload("otelGateway", ("otelCollector", "gateway"), "otelCollector", _sel("otel-collector", role="gateway")),
    # Loki runs as one target (monolithic) or three (scalable); each is its own pod.
    Workload("loki", ("loki",), "loki", _sel("loki", target="all")),
    Workload("lokiRead", ("loki", "scalable", "read"), "loki", _sel("loki", target="read")),
    Workload("lokiWrite", ("loki", "scalable", "write"), "loki", _sel("loki", target="write")),
    Workload("lokiBackend", ("loki", "scalable", "backend"), "loki", _sel("loki", target="backend")),
    Workload("tempo", ("tempo",), "tempo", _sel("tempo")),
    Workload("jaeger", ("jaeger",), "jaeger", _sel("jaeger")),
)
BY_NAME = {w.name: w for w in WORKLOADS}

# Knob → its value when unset. Maps merge with the cluster-wide value under
# `global` (the workload's key wins), lists are appended to what the chart
# renders, a non-empty scalar or affinity replaces it; the helper says how.
KNOBS: dict[str, Any] = {
    "nodeSelector": {},
    "tolerations": [],
    "affinity": {},
    "topologySpreadConstraints": [],
    "priorityClassName": "",
    "podAnnotations": {},
    "podLabels": {},
    "extraEnv": [],
    "extraEnvFrom": [],
    "extraVolumes": [],
    "extraVolumeMounts": [],
    "extraContainers": [],
    "extraInitContainers": [],
    "serviceAccount": {"annotations": {}},
}

# Cluster-wide defaults (values `global.<key>`, profile top level).
GLOBAL_KNOBS: dict[str, Any] = {
    "commonLabels": {},
    "nodeSelector": {},
    "tolerations": [],
    "priorityClassName": "",
}


def knob_values(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """A workload's knobs for the values: every key, the profile's over the defaults."""
    out = copy.deepcopy(KNOBS)
    for key, value in (overrides or {}).items():
        out[key] = copy.deepcopy(value)
    return out


def place(document: dict[str, Any], knobs: dict[str, dict[str, Any]]) -> None:
    """Write every workload's knobs at its values path (the profile's where it set some)."""
    for workload in WORKLOADS:
        node = document
        for key in workload.path:
            node = node[key]
        clash = set(KNOBS) & set(node)
        if clash:  # a knob name the component already uses would be silently replaced
            raise ValueError(f"values at {'.'.join(workload.path)} already hold {sorted(clash)}")
        node.update(knob_values(knobs.get(workload.name)))
