"""Pinned upstream images. Bumping a version is a one-line change here,
followed by `make generate`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Image:
    registry: str
    repository: str
    tag: str

    def as_values(self) -> dict:
        return {"registry": self.registry, "repository": self.repository, "tag": self.tag}


IMAGES: dict[str, Image] = {
    # Prometheus 3.5 is the LTS line; Alertmanager and blackbox_exporter match
    # the versions the tests run as real binaries.
    "prometheus": Image("quay.io", "prometheus/prometheus", "v3.5.3"),
    "alertmanager": Image("quay.io", "prometheus/alertmanager", "v0.33.1"),
    "blackboxExporter": Image("quay.io", "prometheus/blackbox-exporter", "v0.28.0"),
    # Grafana stays on 11.6, the newest line grafana-foundation-sdk builds for.
    "grafana": Image("docker.io", "grafana/grafana", "11.6.16"),
    "grafanaDashboardSidecar": Image("quay.io", "kiwigrid/k8s-sidecar", "2.11.2"),
    "nodeExporter": Image("quay.io", "prometheus/node-exporter", "v1.10.2"),
    "kubeStateMetrics": Image("registry.k8s.io", "kube-state-metrics/kube-state-metrics", "v2.20.0"),
}
