"""The log and trace backends' subcharts (loki, tempo, jaeger), rendered alone.

Loki, Tempo and Jaeger cannot run here, so these tests catch what they would
reject: config keys outside the pinned version's documented config (checked
against tests/fixtures/upstream-keys/), ports that disagree between config,
container and Service, ${VAR} references without an environment variable,
endpoints that name no Service, and Kubernetes objects a 1.29 or 1.35 API
server would refuse. Each subchart is rendered with both Helm binaries from
the values in tests/fixtures/backends/ (written by _build.py from
obsgen.artifacts.logs_traces).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.support import k8s
from tests.support.render import NAMESPACE, RELEASE, split
from tests.support.tools import HELMS, ROOT, tool

SUBCHARTS = ROOT / "charts" / "obs" / "charts"
FIXTURES = ROOT / "tests" / "fixtures" / "backends"
KEYS = ROOT / "tests" / "fixtures" / "upstream-keys"

sys.path.insert(0, str(FIXTURES))
import _build  # noqa: E402

from obsgen import contract  # noqa: E402
from obsgen.artifacts import logs_traces as lt  # noqa: E402
from obsgen.tiers import TIERS as TIER_TABLE  # noqa: E402

CASES = sorted(p.stem for p in FIXTURES.glob("*.yaml"))
CONFIG_KEY = {"loki": "config.yaml", "tempo": "tempo.yaml", "jaeger": "config.yaml"}
LOG_RETENTION = {"intermediate": "168h", "advanced": "360h", "enterprise": "720h"}


def chart_of(case: str) -> str:
    return case.split("-", 1)[0]


@cache
def _chart_dir(chart: str, tmp: str) -> Path:
    """<tmp>/<chart> with the obs-lib library vendored under charts/, as the umbrella provides it."""
    dest = Path(tmp) / chart
    shutil.copytree(SUBCHARTS / chart, dest)
    shutil.copytree(SUBCHARTS / "obs-lib", dest / "charts" / "obs-lib")
    return dest


def helm(chart_root: str, chart: str, values: Path, helm_bin: str = "helm", sets: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    cmd = [tool(helm_bin), "template", RELEASE, str(_chart_dir(chart, chart_root)), "-n", NAMESPACE, "-f", str(values)]
    for s in sets:
        cmd += ["--set", s]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


_RENDERED: dict[tuple[str, str], tuple[str, list[dict[str, Any]]]] = {}


def render(chart_root: str, case: str, helm_bin: str = "helm") -> list[dict[str, Any]]:
    key = (case, helm_bin)
    if key not in _RENDERED:
        proc = helm(chart_root, chart_of(case), FIXTURES / f"{case}.yaml", helm_bin)
        assert proc.returncode == 0, f"{helm_bin} template {case}: {proc.stderr}"
        _RENDERED[key] = (proc.stdout, split(proc.stdout))
    return _RENDERED[key][1]


def values_of(case: str) -> dict[str, Any]:
    return yaml.safe_load((FIXTURES / f"{case}.yaml").read_text())


def config_of(objects, case: str) -> dict[str, Any]:
    chart = chart_of(case)
    (cm,) = [o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == f"{RELEASE}-{chart}-config"]
    return yaml.safe_load(cm["data"][CONFIG_KEY[chart]])


def workloads(objects):
    return [o for o in objects if o["kind"] in ("Deployment", "StatefulSet", "DaemonSet")]


def containers(objects):
    for w in workloads(objects):
        for c in w["spec"]["template"]["spec"]["containers"]:
            yield w, c


def services(objects) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == "Service"}


def port_of(endpoint: str) -> int:
    return int(endpoint.rsplit(":", 1)[1])


def container_port(container, name: str) -> int:
    (port,) = [p["containerPort"] for p in container["ports"] if p["name"] == name]
    return port


def service_port(svc, name: str) -> int:
    (port,) = [p["port"] for p in svc["spec"]["ports"] if p["name"] == name]
    return port


# ------------------------------------------------------------------ fixtures and rendering


def test_fixtures_are_current():
    """The checked-in values are what the generator module produces (`_build.py` rewrites them)."""
    built = _build.fixtures()
    assert sorted(built) == CASES
    for name, values in built.items():
        assert (FIXTURES / f"{name}.yaml").read_text() == _build.dump(values), (
            f"{name}.yaml is stale: run tests/fixtures/backends/_build.py"
        )


@pytest.mark.parametrize("case", CASES)
def test_both_helms_render_the_same(chart_root, case):
    render(chart_root, case, "helm")
    render(chart_root, case, "helm3")
    assert _RENDERED[(case, "helm")][0] == _RENDERED[(case, "helm3")][0]


@pytest.mark.parametrize("version", k8s.K8S_VERSIONS)
@pytest.mark.parametrize("case", CASES)
def test_objects_pass_strict_kubernetes_validation(chart_root, case, version):
    assert k8s.problems(render(chart_root, case), version) == []


# ------------------------------------------------------------------ config keys


def _tables() -> dict[str, dict[str, Any]]:
    return {c: yaml.safe_load((KEYS / f"{c}.yaml").read_text()) for c in ("loki", "tempo", "jaeger")}


def _section(table: dict[str, Any], path: str) -> dict[str, Any] | None:
    sections = table["sections"]
    if path in sections:
        return sections[path]
    parts = path.split(".")
    for pattern, section in sections.items():
        pp = pattern.split(".")
        if len(pp) == len(parts) and all(p == "*" or p == q for p, q in zip(pp, parts, strict=True)):
            return section
    return None


def unknown_keys(config: dict[str, Any], table: dict[str, Any]) -> list[str]:
    """Every map in the config must be a documented section (or opaque), with documented keys only."""
    found: list[str] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item, f"{path}[]")
            return
        if not isinstance(node, dict) or path in table.get("opaque", []):
            return
        section = _section(table, path or ".")
        if section is None:
            found.append(f"{path or '.'}: section not in the allowed-keys table")
            return
        for key, value in node.items():
            # keys: "*" marks a map of user-chosen names whose values are checked.
            if section["keys"] != "*" and key not in section["keys"]:
                found.append(f"{path or '.'}: {key!r} is not a documented key ({section['ref']})")
            walk(value, f"{path}.{key}" if path else key)

    walk(config, "")
    return found


def test_key_tables_match_the_pinned_images():
    for component, table in _tables().items():
        assert table["version"] == lt.IMAGES[component].tag, (
            f"{component}.yaml documents {table['version']}, image is {lt.IMAGES[component].tag}"
        )
        for path, section in table["sections"].items():
            assert section.get("ref") and section.get("keys"), f"{component}.yaml {path}: needs ref and keys"


@pytest.mark.parametrize("case", CASES)
def test_config_keys_are_documented_for_the_pinned_version(chart_root, case):
    config = config_of(render(chart_root, case), case)
    assert unknown_keys(config, _tables()[chart_of(case)]) == []


def test_key_check_catches_a_typo():
    config = lt.loki_config(lt.TIERS["intermediate"], "obs")
    config["limits_config"]["retention_perod"] = "1h"
    config["compactr"] = {}
    problems = unknown_keys(config, _tables()["loki"])
    assert any("retention_perod" in p for p in problems) and any("compactr" in p for p in problems)


# ------------------------------------------------------------------ environment and endpoints

_VAR = re.compile(r"\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}")


def _env_refs(config: dict[str, Any]) -> set[str]:
    return set(_VAR.findall(yaml.safe_dump(config)))


@pytest.mark.parametrize("case", CASES)
def test_every_config_variable_is_set_in_every_container(chart_root, case):
    objects = render(chart_root, case)
    refs = _env_refs(config_of(objects, case))
    for w, c in containers(objects):
        env = {e["name"] for e in c.get("env", [])}
        assert refs <= env, f"{w['metadata']['name']}: config reads {sorted(refs - env)} but the container does not set them"
        assert env <= refs, f"{w['metadata']['name']}: sets {sorted(env - refs)} which the config never reads"
        if chart_of(case) in ("loki", "tempo"):
            # ${VAR} is only expanded with this flag; without it Loki/Tempo see the literal text.
            assert "-config.expand-env=true" in c["args"]


def test_env_contract_matches_configs():
    """ENV_CONTRACT (what the report promises the lead) is exactly what the configs read."""
    cases = {
        "loki-monolithic": lt.loki_config(lt.TIERS["intermediate"], "obs"),
        "loki-scalable": lt.loki_config(lt.TIERS["enterprise"], "obs"),
        "tempo-local": lt.tempo_config(lt.TIERS["intermediate"], "obs"),
        "tempo-s3": lt.tempo_config(lt.TIERS["enterprise"], "obs"),
        "jaeger-badger": lt.jaeger_config("badger"),
        "jaeger-elasticsearch": lt.jaeger_config("elasticsearch"),
        "jaeger-opensearch": lt.jaeger_config("opensearch"),
    }
    for name, config in cases.items():
        # Tempo also reads one remote-write address per Prometheus replica.
        writes = {
            lt.prometheus_write_env(i) for i in range(len(config.get("metrics_generator", {}).get("storage", {}).get("remote_write", [])))
        }
        assert _env_refs(config) == set(lt.ENV_CONTRACT[name]) | writes, name


def _host_targets(objects) -> list[tuple[str, str, int | None]]:
    """(env var, host, port) of every env value that names a host."""
    out = []
    for _, c in containers(objects):
        for e in c.get("env", []):
            value = e.get("value", "")
            if value.startswith("http://") or value.startswith("https://"):
                u = urlsplit(value)
                out.append((e["name"], u.hostname, u.port))
            elif e["name"].endswith("_HOST"):
                out.append((e["name"], value, None))
    return out


@pytest.mark.parametrize("case", CASES)
def test_endpoint_hosts_are_contract_services(chart_root, case):
    """Hosts are contract Services of the release namespace. Whether each one is
    rendered, with the port, is tests/test_wiring.py's job on the umbrella render."""
    objects = render(chart_root, case)
    names = {contract.service_name(key, RELEASE) for key in contract.SERVICES}
    # A pod of a headless Service: <release>-<statefulset>-<n>.<service>.
    pods = {contract.service_name(key, RELEASE): f"{RELEASE}-{spec.pods}-" for key, spec in contract.SERVICES.items() if spec.pods}
    for var, host, _port in _host_targets(objects):
        if var == "JAEGER_ES_URL":
            continue  # an existing cluster outside the release, by design
        name, _, rest = host.partition(".")
        if rest.partition(".")[0] in pods:
            pod, (name, _, rest) = name, rest.partition(".")
            assert re.fullmatch(re.escape(pods[name]) + "[0-9]+", pod), f"{var}={host}: not a pod of {name}'s StatefulSet"
        assert rest in (f"{NAMESPACE}.svc", f"{NAMESPACE}.svc.cluster.local"), f"{var}={host}: not a Service of the release namespace"
        assert name in names, f"{var}={host}: not a Service of the wiring contract"


@pytest.mark.parametrize("case", CASES)
def test_services_select_pods_and_named_ports(chart_root, case):
    objects = render(chart_root, case)
    pods = [(w["spec"]["template"]["metadata"]["labels"], w["spec"]["template"]["spec"]["containers"]) for w in workloads(objects)]
    for name, svc in services(objects).items():
        selector = svc["spec"]["selector"]
        matched = [cs for labels, cs in pods if selector.items() <= labels.items()]
        assert matched, f"Service {name} selects no pod"
        for port in svc["spec"]["ports"]:
            for cs in matched:
                names = {p["name"] for c in cs for p in c["ports"]}
                assert port["targetPort"] in names, f"Service {name}: targetPort {port['targetPort']} not a container port"
    for w in workloads(objects):
        selector = w["spec"]["selector"]["matchLabels"]
        others = [o for o in workloads(objects) if o is not w and selector.items() <= o["spec"]["template"]["metadata"]["labels"].items()]
        assert not others, f"{w['metadata']['name']}: selector also matches {[o['metadata']['name'] for o in others]}"


# ------------------------------------------------------------------ ports


@pytest.mark.parametrize("case", [c for c in CASES if c.startswith("loki-")])
def test_loki_ports_agree(chart_root, case):
    objects = render(chart_root, case)
    config = config_of(objects, case)
    assert config["server"]["http_listen_port"] == 3100 and config["server"]["grpc_listen_port"] == 9095
    for _, c in containers(objects):
        assert container_port(c, "http") == 3100 and container_port(c, "grpc") == 9095
        if "memberlist" in config:
            assert container_port(c, "memberlist") == config["memberlist"]["bind_port"]
    svcs = services(objects)
    for path in ("read", "write"):
        assert service_port(svcs[f"{RELEASE}-loki-{path}"], "http") == 3100
    if "memberlist" in config:
        assert service_port(svcs[f"{RELEASE}-loki-memberlist"], "memberlist") == config["memberlist"]["bind_port"]
        assert config["memberlist"]["join_members"] == ["${LOKI_MEMBERLIST_HOST}:7946"]


@pytest.mark.parametrize("case", [c for c in CASES if c.startswith("tempo-")])
def test_tempo_ports_agree(chart_root, case):
    objects = render(chart_root, case)
    config = config_of(objects, case)
    protocols = config["distributor"]["receivers"]["otlp"]["protocols"]
    expected = {
        "http": config["server"]["http_listen_port"],
        "grpc": config["server"]["grpc_listen_port"],
        "otlp-grpc": port_of(protocols["grpc"]["endpoint"]),
        "otlp-http": port_of(protocols["http"]["endpoint"]),
    }
    assert expected == {"http": 3200, "grpc": 9095, "otlp-grpc": 4317, "otlp-http": 4318}
    # Tempo 2.7+ binds receivers to localhost by default: unreachable from other pods.
    assert all(p["endpoint"].startswith("0.0.0.0:") for p in protocols.values())
    ((_, c),) = list(containers(objects))
    svc = services(objects)[f"{RELEASE}-tempo"]
    for name, port in expected.items():
        assert container_port(c, name) == port == service_port(svc, name)


@pytest.mark.parametrize("case", [c for c in CASES if c.startswith("jaeger-")])
def test_jaeger_ports_agree(chart_root, case):
    objects = render(chart_root, case)
    config = config_of(objects, case)
    ext = config["extensions"]
    protocols = config["receivers"]["otlp"]["protocols"]
    expected = {
        "query-http": port_of(ext["jaeger_query"]["http"]["endpoint"]),
        "query-grpc": port_of(ext["jaeger_query"]["grpc"]["endpoint"]),
        "otlp-grpc": port_of(protocols["grpc"]["endpoint"]),
        "otlp-http": port_of(protocols["http"]["endpoint"]),
    }
    assert expected == {"query-http": 16686, "query-grpc": 16685, "otlp-grpc": 4317, "otlp-http": 4318}
    ((_, c),) = list(containers(objects))
    svc = services(objects)[f"{RELEASE}-jaeger"]
    for name, port in expected.items():
        assert container_port(c, name) == port == service_port(svc, name)
    assert container_port(c, "health") == port_of(ext["healthcheckv2"]["http"]["endpoint"])
    assert c["readinessProbe"]["httpGet"]["port"] == "health"
    metrics = config["service"]["telemetry"]["metrics"]["readers"][0]["pull"]["exporter"]["prometheus"]
    assert container_port(c, "metrics") == metrics["port"] == service_port(svc, "metrics")
    # Every pipeline component and extension in use is configured.
    assert set(config["service"]["extensions"]) == set(ext)
    pipeline = config["service"]["pipelines"]["traces"]
    for kind in ("receivers", "processors", "exporters"):
        assert set(pipeline[kind]) <= set(config[kind])
    backend = ext["jaeger_storage"]["backends"]
    assert ext["jaeger_query"]["storage"]["traces"] in backend
    assert config["exporters"]["jaeger_storage_exporter"]["trace_storage"] in backend


# ------------------------------------------------------------------ semantics


@pytest.mark.parametrize("tier", ["intermediate", "advanced", "enterprise"])
def test_loki_schema_retention_and_structured_metadata(chart_root, tier):
    case = f"loki-{tier}"
    objects = render(chart_root, case)
    config = config_of(objects, case)
    scalable = values_of(case)["mode"] == "scalable"
    assert scalable == (tier == "enterprise")
    (period,) = config["schema_config"]["configs"]
    store = "s3" if scalable else "filesystem"
    assert (period["schema"], period["store"], period["index"]["period"], period["object_store"]) == ("v13", "tsdb", "24h", store)
    compactor = config["compactor"]
    assert compactor["retention_enabled"] is True and compactor["delete_request_store"] == store
    assert config["limits_config"]["retention_period"] == LOG_RETENTION[tier]
    limits = config["limits_config"]
    assert limits["allow_structured_metadata"] is True
    (rule,) = limits["otlp_config"]["log_attributes"]
    assert rule["action"] == "structured_metadata" and {"trace_id", "span_id"} <= set(rule["attributes"])
    index_labels = [
        a
        for r in limits["otlp_config"]["resource_attributes"].get("attributes_config", [])
        if r["action"] == "index_label"
        for a in r.get("attributes", [])
    ]
    assert "trace_id" not in index_labels and "span_id" not in index_labels
    if scalable:
        assert "s3" in config["common"]["storage"]
        assert config["common"]["storage"]["s3"]["secret_access_key"] == "${LOKI_S3_SECRET_ACCESS_KEY}"
        kinds = {w["metadata"]["name"]: w["kind"] for w in workloads(objects)}
        assert kinds == {
            f"{RELEASE}-loki-read": "Deployment",
            f"{RELEASE}-loki-write": "StatefulSet",
            f"{RELEASE}-loki-backend": "StatefulSet",
        }
        write = next(w for w in workloads(objects) if w["metadata"]["name"].endswith("-write"))
        assert write["spec"]["replicas"] >= config["common"]["replication_factor"]
        for w, c in containers(objects):
            target = w["metadata"]["name"].rsplit("-", 1)[1]
            assert f"-target={target}" in c["args"]
            creds = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in c["env"] if "valueFrom" in e}
            assert set(creds) == {"LOKI_S3_ACCESS_KEY_ID", "LOKI_S3_SECRET_ACCESS_KEY"}
            assert all(ref["name"] == "obs-s3" for ref in creds.values())
    else:
        ((w, c),) = list(containers(objects))
        assert "-target=all" in c["args"] and w["kind"] == "StatefulSet" and w["spec"]["replicas"] == 1
        assert config["common"]["replication_factor"] == 1


def test_loki_read_path_finds_the_query_scheduler_through_the_ring(chart_root):
    """Scalable mode: the read target's frontends and queriers find the
    backend's query-schedulers in the scheduler ring. Loki enables that ring
    by itself only while no frontend_address or scheduler_address is set, and
    the ring is only shared if every target gossips on one memberlist."""
    case = "loki-enterprise"
    objects = render(chart_root, case)
    config = config_of(objects, case)

    def addresses(node: Any, path: str = "") -> list[str]:
        if isinstance(node, dict):
            return [p for k, v in node.items() for p in addresses(v, f"{path}.{k}")] + [
                f"{path}.{k}" for k in node if k in ("frontend_address", "scheduler_address", "downstream_url")
            ]
        return []

    assert addresses(config) == []
    assert config.get("query_scheduler", {}).get("use_scheduler_ring", True) is True
    assert config["common"]["ring"]["kvstore"]["store"] == "memberlist"
    (join,) = config["memberlist"]["join_members"]
    host, port = join.rsplit(":", 1)
    svc = services(objects)[f"{RELEASE}-loki-memberlist"]
    assert host == "${LOKI_MEMBERLIST_HOST}" and int(port) == service_port(svc, "memberlist")
    # Every target (read, write, backend) is behind the memberlist Service.
    members = {
        w["metadata"]["name"]
        for w in workloads(objects)
        if svc["spec"]["selector"].items() <= w["spec"]["template"]["metadata"]["labels"].items()
    }
    assert members == {f"{RELEASE}-loki-{t}" for t in ("read", "write", "backend")}
    for w, c in containers(objects):
        env = {e["name"]: e.get("value") for e in c["env"]}
        assert env["LOKI_MEMBERLIST_HOST"].startswith(f"{RELEASE}-loki-memberlist"), w["metadata"]["name"]


@pytest.mark.parametrize("tier", ["intermediate", "advanced", "enterprise"])
def test_tempo_metrics_generator_and_retention(chart_root, tier):
    case = f"tempo-{tier}"
    objects = render(chart_root, case)
    config = config_of(objects, case)
    ((_, c),) = list(containers(objects))
    env = {e["name"]: e.get("value") for e in c["env"]}
    # One queue per Prometheus replica, each to its pod (tests/test_wiring.py resolves them).
    replicas = TIER_TABLE[tier].prometheus_replicas
    writes = config["metrics_generator"]["storage"]["remote_write"]
    assert writes == [{"url": "${" + lt.prometheus_write_env(i) + "}", "send_exemplars": True} for i in range(replicas)]
    headless = f"{contract.service_name('prometheusHeadless', RELEASE)}.{NAMESPACE}.svc"
    assert [env[lt.prometheus_write_env(i)] for i in range(replicas)] == [
        f"http://{RELEASE}-prometheus-{i}.{headless}:9090/api/v1/write" for i in range(replicas)
    ]
    assert set(config["overrides"]["defaults"]["metrics_generator"]["processors"]) == {"service-graphs", "span-metrics"}
    assert config["compactor"]["compaction"]["block_retention"] == "168h"
    assert config["storage"]["trace"]["backend"] == ("s3" if tier == "enterprise" else "local")


def test_jaeger_badger_retention_and_single_node(chart_root):
    objects = render(chart_root, "jaeger-badger")
    config = config_of(objects, "jaeger-badger")
    badger = config["extensions"]["jaeger_storage"]["backends"]["primary"]["badger"]
    assert badger["ttl"]["spans"] == "168h" and badger["ephemeral"] is False
    (w,) = workloads(objects)
    assert w["kind"] == "StatefulSet" and w["spec"]["replicas"] == 1
    mounts = {m["mountPath"] for m in w["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]}
    assert {str(Path(d).parent) for d in badger["directories"].values()} <= mounts


@pytest.mark.parametrize("storage", ["elasticsearch", "opensearch"])
def test_jaeger_search_cluster_by_reference(chart_root, storage):
    objects = render(chart_root, f"jaeger-{storage}")
    config = config_of(objects, f"jaeger-{storage}")
    backend = config["extensions"]["jaeger_storage"]["backends"]["primary"][storage]
    assert backend["server_urls"] == ["${env:JAEGER_ES_URL}"]
    (w,) = workloads(objects)
    assert w["kind"] == "Deployment" and "volumeClaimTemplates" not in w["spec"]
    env = {e["name"]: e for e in w["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["JAEGER_ES_URL"]["value"] == "https://es.search.svc:9200"
    assert env["JAEGER_ES_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "obs-es"


def test_trace_backend_selection():
    for backend in ("tempo", "jaeger"):
        v = lt.values("advanced", "obs", traces_backend=backend)
        assert (v["tempo"]["enabled"], v["jaeger"]["enabled"]) == (backend == "tempo", backend == "jaeger")
    with pytest.raises(ValueError, match=r"traces\.backend"):
        lt.values("advanced", "obs", traces_backend="zipkin")
    v = lt.values("basic", "obs")
    assert not (v["loki"]["enabled"] or v["tempo"]["enabled"] or v["jaeger"]["enabled"])
    # Same keys in every tier (the umbrella's values shape rule).
    shapes = {t: {k: sorted(s) for k, s in lt.values(t, "obs").items()} for t in lt.TIERS}
    assert len({repr(s) for s in shapes.values()}) == 1


# ------------------------------------------------------------------ security


@pytest.mark.parametrize("case", CASES)
def test_security_contexts_resources_and_probes(chart_root, case):
    objects = render(chart_root, case)
    for w in workloads(objects):
        pod = w["spec"]["template"]["spec"]
        name = w["metadata"]["name"]
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] > 0, name
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        assert pod["automountServiceAccountToken"] is False, name
        for c in pod["containers"]:
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False, name
            assert sc["capabilities"]["drop"] == ["ALL"] and "add" not in sc["capabilities"], name
            assert c["resources"]["requests"] and c["resources"]["limits"], name
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                assert c[probe]["httpGet"]["port"] in {p["name"] for p in c["ports"]}, f"{name} {probe}"
            assert re.fullmatch(r"docker\.io/[a-z]+/[a-z]+:\d+\.\d+\.\d+", c["image"]), c["image"]
        for claim in w["spec"].get("volumeClaimTemplates", []):
            assert claim["spec"]["resources"]["requests"]["storage"], name


def test_storage_class_and_registry_overrides(chart_root):
    proc = helm(
        chart_root,
        "loki",
        FIXTURES / "loki-intermediate.yaml",
        sets=("global.storageClass=fast-ssd", "global.imageRegistry=mirror.example", "global.imagePullSecrets[0].name=pull"),
    )
    assert proc.returncode == 0, proc.stderr
    (w,) = workloads(split(proc.stdout))
    assert w["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"] == "fast-ssd"
    assert w["spec"]["template"]["spec"]["containers"][0]["image"] == "mirror.example/grafana/loki:3.7.3"
    assert w["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "pull"}]


# ------------------------------------------------------------------ render-time failures

FAILURES = [
    (
        "loki-enterprise",
        ("objectStorage.bucket=",),
        "loki.mode is scalable, which stores chunks and index in object storage, but loki.objectStorage.bucket is empty",
    ),
    ("loki-enterprise", ("objectStorage.existingSecret=",), "but loki.objectStorage.existingSecret is empty: name an existing Secret"),
    ("loki-intermediate", ("mode=distributed",), 'loki.mode is "distributed": it must be monolithic or scalable'),
    ("tempo-enterprise", ("objectStorage.bucket=",), "tempo.traceStorage is s3 but tempo.objectStorage.bucket is empty"),
    ("tempo-enterprise", ("objectStorage.existingSecret=",), "tempo.traceStorage is s3 but tempo.objectStorage.existingSecret is empty"),
    ("tempo-intermediate", ("traceStorage=gcs",), 'tempo.traceStorage is "gcs": it must be local or s3'),
    ("jaeger-elasticsearch", ("elasticsearch.url=",), "jaeger.traceStorage is elasticsearch but jaeger.elasticsearch.url is empty"),
    (
        "jaeger-opensearch",
        ("elasticsearch.existingSecret=",),
        "jaeger.traceStorage is opensearch but jaeger.elasticsearch.existingSecret is empty",
    ),
    ("jaeger-badger", ("replicas=2",), "jaeger.replicas is 2 but jaeger.traceStorage is badger, a single-node store"),
    ("jaeger-badger", ("traceStorage=cassandra",), 'jaeger.traceStorage is "cassandra": it must be badger, elasticsearch or opensearch'),
]


@pytest.mark.parametrize("helm_bin", HELMS)
@pytest.mark.parametrize(("case", "sets", "message"), FAILURES)
def test_inconsistent_combinations_fail_with_a_message(chart_root, helm_bin, case, sets, message):
    proc = helm(chart_root, chart_of(case), FIXTURES / f"{case}.yaml", helm_bin, sets)
    assert proc.returncode != 0
    assert message in proc.stderr
