"""Values sections and configs of the log and trace backends: Loki, Tempo, Jaeger.

The configs are built here as data and the charts only ship them (as for
blackbox_exporter and Alertmanager). Anything that depends on the Helm release
or namespace (sibling Service names) or on values the chart checks (bucket,
Secret) is not known here: the configs reference environment variables, which
the charts set. Loki and Tempo run with `-config.expand-env=true` and read
`${VAR}`; Jaeger v2 is an OpenTelemetry Collector and reads `${env:VAR}`.
`ENV_CONTRACT` lists every variable each chart must set.

Ports are fixed by the configs below and repeated in the charts' Services and
container ports; the tests check that they agree.

The per-tier rows are the tier table's (`Tier.backends` in tiers.py); a
profile may override the stores' sizes (`resources.loki`, …, RESOURCE_KEYS).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from .. import web
from ..contract import Endpoint
from ..images import IMAGES, Image
from ..tiers import TIERS as TIER_TABLE
from ..tiers import BackendTier
from . import volumes

LOKI_HTTP_PORT = 3100
LOKI_GRPC_PORT = 9095
LOKI_MEMBERLIST_PORT = 7946
TEMPO_HTTP_PORT = 3200
TEMPO_GRPC_PORT = 9095
OTLP_GRPC_PORT = 4317
OTLP_HTTP_PORT = 4318
JAEGER_QUERY_HTTP_PORT = 16686
JAEGER_QUERY_GRPC_PORT = 16685
JAEGER_HEALTH_PORT = 13133
JAEGER_METRICS_PORT = 8888

LOKI_DATA = "/var/loki"
TEMPO_DATA = "/var/tempo"
JAEGER_DATA = "/var/lib/jaeger"

# Environment variables each chart sets, by the config that reads them.
ENV_CONTRACT: dict[str, tuple[str, ...]] = {
    "loki-monolithic": (),
    "loki-scalable": (
        "LOKI_MEMBERLIST_HOST",  # <release>-loki-memberlist (headless)
        "LOKI_BACKEND_HOST",  # <release>-loki-backend (compactor, delete requests)
        "LOKI_S3_BUCKET",
        "LOKI_S3_ENDPOINT",
        "LOKI_S3_REGION",
        "LOKI_S3_ACCESS_KEY_ID",  # secretKeyRef
        "LOKI_S3_SECRET_ACCESS_KEY",  # secretKeyRef
    ),
    # PROMETHEUS_REMOTE_WRITE_URL_<n>: one per Prometheus replica (prometheus_write_env).
    "tempo-local": (),
    "tempo-s3": (
        "TEMPO_S3_BUCKET",
        "TEMPO_S3_ENDPOINT",
        "TEMPO_S3_REGION",
        "TEMPO_S3_ACCESS_KEY_ID",
        "TEMPO_S3_SECRET_ACCESS_KEY",
    ),
    "jaeger-badger": (),
    "jaeger-elasticsearch": ("JAEGER_ES_URL", "JAEGER_ES_USERNAME", "JAEGER_ES_PASSWORD"),
    "jaeger-opensearch": ("JAEGER_ES_URL", "JAEGER_ES_USERNAME", "JAEGER_ES_PASSWORD"),
}


# The per-tier rows live in the tier table (tiers.py, Tier.backends).
TIERS: Mapping[str, BackendTier] = MappingProxyType({name: tier.backends for name, tier in TIER_TABLE.items()})

# Containers of the stores whose size a profile may set under `resources`.
RESOURCE_KEYS = ("loki", "lokiRead", "lokiWrite", "lokiBackend", "tempo", "jaeger")
_SCALABLE_KEYS = {"read": "lokiRead", "write": "lokiWrite", "backend": "lokiBackend"}


TRACE_RETENTION = "168h"  # 7 d for every backend and tier
# First day of the v13/tsdb schema. A new store starts on it; moving it later
# would orphan data written under an earlier period.
LOKI_SCHEMA_FROM = "2024-04-01"


def _s3_unused() -> dict[str, Any]:
    return {
        "bucket": "",
        "endpoint": "",
        "region": "",
        "insecure": False,
        "forcePathStyle": True,
        "existingSecret": "",
        "accessKeyIdKey": "AWS_ACCESS_KEY_ID",
        "secretAccessKeyKey": "AWS_SECRET_ACCESS_KEY",
    }


def object_storage_values(spec: dict[str, Any] | None) -> dict[str, Any]:
    """`objectStorage` of a values section, from a profile's {bucket, endpoint, region, existingSecret, ...}."""
    out = _s3_unused()
    for key in out:
        if spec and key in spec:
            out[key] = spec[key]
    return out


# ---------------------------------------------------------------- Loki


def loki_config(tier: BackendTier, cluster: str) -> dict[str, Any]:
    scalable = tier.loki_mode == "scalable"
    store = "s3" if scalable else "filesystem"
    common: dict[str, Any] = {
        "path_prefix": LOKI_DATA,
        "replication_factor": 3 if scalable else 1,
    }
    if scalable:
        common["ring"] = {"kvstore": {"store": "memberlist"}}
        common["storage"] = {
            "s3": {
                "bucketnames": "${LOKI_S3_BUCKET}",
                "endpoint": "${LOKI_S3_ENDPOINT}",
                "region": "${LOKI_S3_REGION}",
                "access_key_id": "${LOKI_S3_ACCESS_KEY_ID}",
                "secret_access_key": "${LOKI_S3_SECRET_ACCESS_KEY}",
                "s3forcepathstyle": True,
            }
        }
        # Read and write pods reach the compactor (delete requests, retention)
        # on the backend target.
        common["compactor_address"] = f"http://${{LOKI_BACKEND_HOST}}:{LOKI_HTTP_PORT}"
    else:
        # One process: an in-memory ring is enough and needs no gossip port.
        common["ring"] = {"kvstore": {"store": "inmemory"}}
        common["instance_addr"] = "127.0.0.1"
        common["storage"] = {"filesystem": {"chunks_directory": f"{LOKI_DATA}/chunks", "rules_directory": f"{LOKI_DATA}/rules"}}
    config: dict[str, Any] = {
        # Single tenant: the stack has one Grafana and no gateway that would set X-Scope-OrgID.
        "auth_enabled": False,
        "server": {"http_listen_port": LOKI_HTTP_PORT, "grpc_listen_port": LOKI_GRPC_PORT, "log_level": "info"},
        "common": common,
        "schema_config": {
            "configs": [
                {
                    "from": LOKI_SCHEMA_FROM,
                    "store": "tsdb",
                    "object_store": store,
                    "schema": "v13",
                    "index": {"prefix": "index_", "period": "24h"},
                }
            ]
        },
        "storage_config": {
            "tsdb_shipper": {
                "active_index_directory": f"{LOKI_DATA}/tsdb-index",
                "cache_location": f"{LOKI_DATA}/tsdb-cache",
            }
        },
        "compactor": {
            "working_directory": f"{LOKI_DATA}/compactor",
            "compaction_interval": "10m",
            # Retention is applied by the compactor; deletes go through the
            # delete-request store, which retention requires in Loki 3.
            "retention_enabled": True,
            "retention_delete_delay": "2h",
            "delete_request_store": store,
        },
        "limits_config": {
            "retention_period": tier.log_retention,
            # OTLP ingestion keeps a LogRecord's own trace and span ids as
            # structured metadata already. Container logs parsed by the
            # agent's json_parser carry them as attributes `trace_id` and
            # `span_id` instead: keep those as structured metadata too (no
            # index cardinality), never as labels.
            "allow_structured_metadata": True,
            "volume_enabled": True,
            "otlp_config": {
                "resource_attributes": {"ignore_defaults": False},
                "log_attributes": [{"action": "structured_metadata", "attributes": ["trace_id", "span_id"]}],
            },
        },
        "analytics": {"reporting_enabled": False},
    }
    if scalable:
        # Query scheduling: the read target runs query-frontend and querier,
        # the backend target the query-scheduler. With no frontend_address or
        # scheduler_address anywhere in the config, Loki turns on
        # query_scheduler.use_scheduler_ring by itself, and frontends and
        # queriers find the schedulers in that ring, which lives in the common
        # memberlist KV store every target joins. So no scheduler address is
        # set here: one would pin the read path to a Service instead.
        config["memberlist"] = {
            "join_members": [f"${{LOKI_MEMBERLIST_HOST}}:{LOKI_MEMBERLIST_PORT}"],
            "bind_port": LOKI_MEMBERLIST_PORT,
        }
    return config


def loki_values(
    tier_name: str,
    cluster: str,
    object_storage: dict[str, Any] | None = None,
    resources: Mapping[str, dict[str, Any]] | None = None,
    image: Image = IMAGES["loki"],
) -> dict[str, Any]:
    tier = TIERS[tier_name]
    resources = resources or {}
    scalable_defaults = {
        "read": {"replicas": 2, "resources": tier.loki_resources},
        "write": {"replicas": 3, "resources": tier.loki_resources, "storage": {"size": "10Gi"}},
        "backend": {"replicas": 2, "resources": tier.loki_resources, "storage": {"size": "10Gi"}},
    }
    scalable = {k: {**scalable_defaults[k], **tier.scalable.get(k, {})} for k in scalable_defaults}
    for part, key in _SCALABLE_KEYS.items():
        scalable[part]["resources"] = resources.get(key, scalable[part]["resources"])
    for part in ("write", "backend"):
        scalable[part]["storage"] = volumes.storage(scalable[part]["storage"]["size"])
    return {
        "enabled": TIER_TABLE[tier_name].logs,
        "component": "logs",
        "image": image.as_values(),
        "mode": tier.loki_mode,
        "resources": resources.get("loki", tier.loki_resources),
        "storage": volumes.storage(f"{tier.loki_storage_gi}Gi"),
        "scalable": scalable,
        "objectStorage": object_storage_values(object_storage),
        "config": loki_config(tier, cluster),
    }


# ---------------------------------------------------------------- Tempo


PROMETHEUS_WRITE_ENV = "PROMETHEUS_REMOTE_WRITE_URL"
PROMETHEUS_HOST_ENV = "PROMETHEUS_HOST"  # the Service name a TLS Prometheus's certificate carries


def prometheus_write_env(replica: int) -> str:
    return f"{PROMETHEUS_WRITE_ENV}_{replica}"


def prometheus_write_endpoints(replicas: int, scheme: str) -> list[dict[str, Any]]:
    """The remote-write address of each Prometheus replica, for the chart to set as env."""
    return [
        Endpoint("prometheusHeadless", "http", scheme=scheme, path="/api/v1/write", replica=i).as_values(prometheus_write_env(i))
        for i in range(replicas)
    ]


def _remote_write(web_security: dict[str, Any] | None, replicas: int) -> list[dict[str, Any]]:
    # One queue per replica: an HA pair must both have the span metrics (the
    # Service would send each connection to one of them), and one replica
    # down must not hold the other back. TLS still verifies the Service name.
    client = web.prometheus_client(web_security or {}, "prometheus")
    if "tls_config" in client:
        client["tls_config"]["server_name"] = "${" + PROMETHEUS_HOST_ENV + "}"
    return [{"url": "${" + prometheus_write_env(i) + "}", "send_exemplars": True, **copy.deepcopy(client)} for i in range(replicas)]


def tempo_config(
    tier: BackendTier, cluster: str, web_security: dict[str, Any] | None = None, prometheus_replicas: int = 1
) -> dict[str, Any]:
    if tier.trace_storage == "s3":
        trace_store: dict[str, Any] = {
            "backend": "s3",
            "s3": {
                "bucket": "${TEMPO_S3_BUCKET}",
                "endpoint": "${TEMPO_S3_ENDPOINT}",
                "region": "${TEMPO_S3_REGION}",
                "access_key": "${TEMPO_S3_ACCESS_KEY_ID}",
                "secret_key": "${TEMPO_S3_SECRET_ACCESS_KEY}",
                "forcepathstyle": True,
            },
        }
    else:
        trace_store = {"backend": "local", "local": {"path": f"{TEMPO_DATA}/blocks"}}
    trace_store["wal"] = {"path": f"{TEMPO_DATA}/wal"}
    return {
        # Grafana's Tempo datasource streams search results over HTTP.
        "stream_over_http_enabled": True,
        "server": {"http_listen_port": TEMPO_HTTP_PORT, "grpc_listen_port": TEMPO_GRPC_PORT, "log_level": "info"},
        "distributor": {
            "receivers": {
                # Tempo 2.7+ binds receivers to localhost unless told otherwise.
                "otlp": {
                    "protocols": {
                        "grpc": {"endpoint": f"0.0.0.0:{OTLP_GRPC_PORT}"},
                        "http": {"endpoint": f"0.0.0.0:{OTLP_HTTP_PORT}"},
                    }
                }
            }
        },
        "ingester": {"max_block_duration": "5m"},
        "compactor": {"compaction": {"block_retention": TRACE_RETENTION}},
        "metrics_generator": {
            "registry": {"external_labels": {"source": "tempo", "cluster": cluster}},
            "storage": {
                "path": f"{TEMPO_DATA}/generator/wal",
                # Span metrics carry exemplars, so a latency panel links back to traces.
                "remote_write": _remote_write(web_security, prometheus_replicas),
            },
        },
        "overrides": {"defaults": {"metrics_generator": {"processors": ["service-graphs", "span-metrics"]}}},
        "storage": {"trace": trace_store},
        "usage_report": {"reporting_enabled": False},
    }


def tempo_values(
    tier_name: str,
    cluster: str,
    backend: str = "tempo",
    object_storage: dict[str, Any] | None = None,
    resources: Mapping[str, dict[str, Any]] | None = None,
    image: Image = IMAGES["tempo"],
    web_security: dict[str, Any] | None = None,
) -> dict[str, Any]:
    tier = TIERS[tier_name]
    prometheus_replicas = TIER_TABLE[tier_name].prometheus_replicas
    return {
        "enabled": TIER_TABLE[tier_name].traces and backend == "tempo",
        "component": "traces",
        "image": image.as_values(),
        "resources": (resources or {}).get("tempo", tier.tempo_resources),
        "storage": volumes.storage(f"{tier.tempo_storage_gi}Gi"),
        "traceStorage": tier.trace_storage,
        "objectStorage": object_storage_values(object_storage),
        "config": tempo_config(tier, cluster, web_security, prometheus_replicas),
        "prometheusWrite": prometheus_write_endpoints(prometheus_replicas, web.scheme(web_security or {}, "prometheus")),
    }


# ---------------------------------------------------------------- Jaeger


def jaeger_config(storage: str = "badger") -> dict[str, Any]:
    if storage == "badger":
        backend: dict[str, Any] = {
            "badger": {
                "directories": {"keys": f"{JAEGER_DATA}/keys", "values": f"{JAEGER_DATA}/values"},
                "ephemeral": False,
                "ttl": {"spans": TRACE_RETENTION},
            }
        }
    else:  # elasticsearch | opensearch: an existing cluster, reached by URL
        backend = {
            storage: {
                "server_urls": ["${env:JAEGER_ES_URL}"],
                "auth": {"basic": {"username": "${env:JAEGER_ES_USERNAME}", "password": "${env:JAEGER_ES_PASSWORD}"}},
                "indices": {"index_prefix": "jaeger"},
            }
        }
    return {
        "service": {
            "extensions": ["jaeger_storage", "jaeger_query", "healthcheckv2"],
            "pipelines": {"traces": {"receivers": ["otlp"], "processors": ["batch"], "exporters": ["jaeger_storage_exporter"]}},
            "telemetry": {
                "resource": {"service.name": "jaeger"},
                "metrics": {
                    "level": "detailed",
                    "readers": [{"pull": {"exporter": {"prometheus": {"host": "0.0.0.0", "port": JAEGER_METRICS_PORT}}}}],
                },
                "logs": {"level": "info"},
            },
        },
        "extensions": {
            "healthcheckv2": {"use_v2": True, "http": {"endpoint": f"0.0.0.0:{JAEGER_HEALTH_PORT}"}},
            "jaeger_query": {
                "storage": {"traces": "primary"},
                "http": {"endpoint": f"0.0.0.0:{JAEGER_QUERY_HTTP_PORT}"},
                "grpc": {"endpoint": f"0.0.0.0:{JAEGER_QUERY_GRPC_PORT}"},
            },
            "jaeger_storage": {"backends": {"primary": backend}},
        },
        "receivers": {
            "otlp": {
                "protocols": {
                    "grpc": {"endpoint": f"0.0.0.0:{OTLP_GRPC_PORT}"},
                    "http": {"endpoint": f"0.0.0.0:{OTLP_HTTP_PORT}"},
                }
            }
        },
        "processors": {"batch": {}},
        "exporters": {"jaeger_storage_exporter": {"trace_storage": "primary"}},
    }


def jaeger_values(
    tier_name: str,
    backend: str = "tempo",
    storage: str = "badger",
    elasticsearch: dict[str, Any] | None = None,
    resources: Mapping[str, dict[str, Any]] | None = None,
    image: Image = IMAGES["jaeger"],
) -> dict[str, Any]:
    tier = TIERS[tier_name]
    es = {"url": "", "existingSecret": "", "usernameKey": "username", "passwordKey": "password"}
    for key in es:
        if elasticsearch and key in elasticsearch:
            es[key] = elasticsearch[key]
    return {
        "enabled": TIER_TABLE[tier_name].traces and backend == "jaeger",
        "component": "traces",
        "image": image.as_values(),
        # One pod with Badger (a single-node store); more only with a search cluster.
        "replicas": 1,
        "resources": (resources or {}).get("jaeger", tier.jaeger_resources),
        "storage": volumes.storage(f"{tier.jaeger_storage_gi}Gi"),
        "traceStorage": storage,
        "elasticsearch": es,
        "config": jaeger_config(storage),
    }


def values(
    tier_name: str,
    cluster: str,
    *,
    traces_backend: str = "tempo",
    jaeger_storage: str = "badger",
    logs_object_storage: dict[str, Any] | None = None,
    traces_object_storage: dict[str, Any] | None = None,
    elasticsearch: dict[str, Any] | None = None,
    resources: Mapping[str, dict[str, Any]] | None = None,
    images: Mapping[str, Image] = IMAGES,
    web_security: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The `loki`, `tempo` and `jaeger` sections of the umbrella values (same keys in every tier).

    resources: the profile's sizes for RESOURCE_KEYS, over the tier's."""
    if traces_backend not in ("tempo", "jaeger"):
        raise ValueError(f"traces.backend: {traces_backend!r} is not one of tempo, jaeger")
    return {
        # Separate buckets: Loki and Tempo each own their bucket's layout and lifecycle.
        "loki": loki_values(tier_name, cluster, logs_object_storage, resources, images["loki"]),
        "tempo": tempo_values(tier_name, cluster, traces_backend, traces_object_storage, resources, images["tempo"], web_security),
        "jaeger": jaeger_values(tier_name, traces_backend, jaeger_storage, elasticsearch, resources, images["jaeger"]),
    }
