"""Pinned upstream images. Bumping a version is a one-line change here,
followed by `make generate`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Image:
    registry: str
    repository: str
    tag: str
    # The Go module release the suite builds this program from (ci/engines/),
    # where it differs in name from the tag; tests check the build links it.
    module: str = ""
    # sha256:… from the profile (`images.<key>.digest`): pulled by digest, the tag kept readable.
    digest: str = ""

    def as_values(self) -> dict:
        return {"registry": self.registry, "repository": self.repository, "tag": self.tag, "digest": self.digest}


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
    # The contrib distribution: it carries every component the pipeline uses
    # (file_log, k8s_attributes, resource_detection, load_balancing, tail_sampling).
    # 0.160.0 is the newest release whose every module the Go module proxy
    # serves, so the suite runs the same release (ci/engines/otelcol).
    "otelCollector": Image(
        "docker.io", "otel/opentelemetry-collector-contrib", "0.160.0", "go.opentelemetry.io/collector/otelcol v0.160.0"
    ),
    # Loki 3.7 (3.x line), Tempo 2.10 (last 2.x line; 3.0 changes the storage
    # layout), Jaeger 2.13 (v2: the OpenTelemetry-Collector-based binary),
    # released with the module version v1.76.0, which the suite builds and runs.
    "loki": Image("docker.io", "grafana/loki", "3.7.3"),
    "tempo": Image("docker.io", "grafana/tempo", "2.10.8"),
    "jaeger": Image("docker.io", "jaegertracing/jaeger", "2.13.0", "github.com/jaegertracing/jaeger v1.76.0"),
    # The post-upgrade hook that grows volumes after a tier change; the
    # Kubernetes project's own kubectl image (no shell: one patch per container).
    "kubectl": Image("registry.k8s.io", "kubectl", "v1.35.0"),
}
