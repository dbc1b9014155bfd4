"""obsgen: profile validation, determinism, drift detection, atomic output."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from obsgen import generate, paths, yamlio
from obsgen.cli import app
from obsgen.errors import ObsgenError
from obsgen.profile import load
from tests.conftest import EXAMPLE_PROFILE

runner = CliRunner()

GOOD = {
    "name": "acme",
    "extends": "intermediate",
    "teams": [{"name": "payments"}, {"name": "platform"}],
    "services": [
        {"name": "checkout", "namespace": "shop", "team": "payments"},
        {"name": "ledger", "namespace": "shop", "team": "payments"},
        {"name": "search", "namespace": "shop", "team": "platform"},
    ],
}


def _write(tmp_path: Path, data: dict, name: str = "acme.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _with(**changes) -> dict:
    data = yaml.safe_load(yaml.safe_dump(GOOD))
    for dotted, value in changes.items():
        node = data
        *parents, last = dotted.split("__")
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if value is ...:
            del node[last]
        else:
            node[int(last) if last.isdigit() else last] = value
    return data


def test_good_profile_inherits_its_tier(tmp_path):
    profile = load(_write(tmp_path, GOOD))
    assert profile.tier == "intermediate"
    assert profile.data["cluster"] == {"name": "obs", "environment": "production"}  # from the built-in
    assert [t["name"] for t in profile.data["teams"]] == ["payments", "platform"]  # lists replace


BAD_PROFILES = [
    pytest.param(
        _with(services__2__team="paymnts"),
        "acme.yaml: services[2].team: 'paymnts' is not a declared team (declared: payments, platform)",
        id="undeclared-team",
    ),
    pytest.param(
        _with(services__0__name="Checkout_Svc"),
        "acme.yaml: services[0].name: 'Checkout_Svc' does not match",
        id="not-dns-1123",
    ),
    pytest.param(_with(extends="platinum"), "acme.yaml: extends: 'platinum' is not one of", id="unknown-tier"),
    pytest.param(_with(retention={"time": "-7d"}), "acme.yaml: retention.time: '-7d' does not match", id="negative-retention"),
    pytest.param(
        _with(colour="blue"),
        "acme.yaml: (top level): Additional properties are not allowed ('colour' was unexpected)",
        id="unknown-key",
    ),
    pytest.param(
        _with(
            teams=[{"name": "payments", "receivers": [{"type": "slack", "channel": "#pay", "url": "https://hooks.slack.com/x"}]}],
            services=[],
        ),
        "acme.yaml: teams[0].receivers[0]",
        id="inline-credential",
    ),
    pytest.param(
        _with(teams=[{"name": "payments"}, {"name": "payments"}], services=[]),
        "acme.yaml: teams[1].name: team 'payments' is declared twice",
        id="duplicate-team",
    ),
    pytest.param(
        _with(defaultTeam="ops"),
        "acme.yaml: defaultTeam: 'ops' is not a declared team (declared: payments, platform)",
        id="unknown-default-team",
    ),
    pytest.param(
        _with(resources={"prometheus": {"requests": {"cpu": "2", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "2Gi"}}}),
        "acme.yaml: resources.prometheus.requests.cpu: request 2 is above the limit 1",
        id="request-above-limit",
    ),
    pytest.param(
        _with(services__0__health={"paths": ["/health"]}),
        "acme.yaml: services[0].health.port: no port to probe: set health.port or scrape.port",
        id="probe-without-port",
    ),
    pytest.param(
        _with(services__1__name="checkout"),
        "acme.yaml: services[1]: service 'checkout' in namespace 'shop' is already declared at services[0]",
        id="duplicate-service",
    ),
]


@pytest.mark.parametrize(("data", "message"), BAD_PROFILES)
def test_bad_profile_is_rejected_naming_field_and_reason(tmp_path, data, message):
    path = _write(tmp_path, data)
    with pytest.raises(ObsgenError) as err:
        load(path)
    assert message in str(err.value).replace(str(tmp_path) + "/", "")


def test_cli_reports_error_and_writes_nothing(tmp_path):
    path = _write(tmp_path, _with(services__2__team="paymnts"))
    out_dir = tmp_path / "out"
    result = runner.invoke(app, ["generate", str(path), "--out-dir", str(out_dir)])
    assert result.exit_code == 2
    assert "services[2].team: 'paymnts' is not a declared team" in result.output
    assert not out_dir.exists()


def test_failed_generation_leaves_existing_files_untouched(tmp_path):
    out_dir = tmp_path / "out"
    good = _write(tmp_path, GOOD)
    assert runner.invoke(app, ["generate", str(good), "--out-dir", str(out_dir)]).exit_code == 0
    before = (out_dir / "acme.yaml").read_bytes()
    _write(tmp_path, _with(services__0__team="nobody"))
    assert runner.invoke(app, ["generate", str(good), "--out-dir", str(out_dir)]).exit_code == 2
    assert (out_dir / "acme.yaml").read_bytes() == before
    assert sorted(p.name for p in out_dir.iterdir()) == ["acme.yaml"], "a temporary file was left behind"


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    target = tmp_path / "values.yaml"
    target.write_text("old\n")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        yamlio.write_atomic(target, "new\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["values.yaml"]


def test_generation_is_deterministic_across_processes(tmp_path):
    """Same input, same bytes — also in a fresh interpreter with another hash seed."""
    code = "from obsgen import generate; import sys; sys.stdout.write(''.join(o.text for o in generate.plan_builtin()))"
    runs = [
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={**os.environ, "PYTHONHASHSEED": seed}
        ).stdout
        for seed in ("1", "2")
    ]
    assert runs[0] == runs[1]
    assert runs[0] == "".join(o.text for o in generate.plan_builtin())


def test_committed_outputs_are_current():
    result = runner.invoke(app, ["generate", "--check"])
    assert result.exit_code == 0, result.output


def test_check_detects_drift_and_lists_it(tmp_path, monkeypatch):
    values_dir = tmp_path / "values"
    shutil.copytree(paths.VALUES_DIR, values_dir)
    monkeypatch.setattr(paths, "VALUES_DIR", values_dir)
    edited = values_dir / "intermediate.yaml"
    edited.write_text(edited.read_text().replace("retention:\n    time: 15d", "retention:\n    time: 16d"))
    result = runner.invoke(app, ["generate", "--check"])
    assert result.exit_code == 1
    assert "intermediate.yaml" in result.output and "-    time: 16d" in result.output and "+    time: 15d" in result.output
    assert "basic.yaml" not in result.output.replace("values/basic.yaml (", "")  # only the stale file is listed


def test_values_header_names_source_and_command():
    text = (paths.VALUES_DIR / "advanced.yaml").read_text()
    assert text.startswith("# Generated by obsgen from generator/obsgen/profiles/advanced.yaml — do not edit.\n")
    assert "# Regenerate with: obsgen generate" in text


def test_promql_is_written_as_literal_blocks():
    text = (paths.VALUES_DIR / "basic.yaml").read_text()
    assert "expr: |" in text
    document = yaml.safe_load(text)
    exprs = [r["expr"] for f in document["rules"]["files"] for g in f["groups"] for r in g["rules"]]
    assert any("\n" in e for e in exprs)


def test_validate_command_accepts_profiles_and_values_and_rejects_bad_values(tmp_path):
    assert runner.invoke(app, ["validate", str(EXAMPLE_PROFILE)]).exit_code == 0
    assert runner.invoke(app, ["validate", str(paths.VALUES_DIR / "enterprise.yaml")]).exit_code == 0
    bad = yaml.safe_load((paths.VALUES_DIR / "basic.yaml").read_text())
    bad["prometheus"]["replicas"] = "two"
    path = tmp_path / "bad-values.yaml"
    path.write_text(yaml.safe_dump(bad))
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "prometheus.replicas: 'two' is not of type 'integer'" in result.output


def test_tiers_command_shows_the_matrix_with_totals():
    result = runner.invoke(app, ["tiers"])
    assert result.exit_code == 0
    lines = {line[:28].strip(): line[28:].split() for line in result.output.splitlines()}
    assert lines["nodeExporter"] == ["-", "yes", "yes", "yes"]
    assert lines["prometheus replicas"] == ["1", "1", "2", "2"]
    assert lines["alertmanager replicas"] == ["1", "1", "3", "3"]
    assert lines["requests cpu (cluster)"][0] == "260m"


def test_organisation_profile_values(acme_values):
    values = yaml.safe_load(acme_values.read_text())
    assert values["global"]["cluster"] == "prod-eu-1"
    assert values["global"]["imageRegistry"] == "registry.acme.example/mirror"
    assert values["prometheus"]["storage"]["size"] == "250Gi"
    assert values["prometheus"]["retention"] == {"time": "30d", "size": "200GB"}
    assert values["prometheus"]["resources"]["requests"] == {"cpu": "2", "memory": "8Gi"}
    urls = {p["url"] for p in values["prometheus"]["probes"]}
    assert "http://checkout.shop.svc:8080/health/ready" in urls
    assert "ledger.finance.svc:9001" in urls  # tcp_connect
    config = values["alertmanager"]["config"]
    critical = next(r for r in config["route"]["routes"] if r["matchers"] == ['severity="critical"'])
    assert [r["receiver"] for r in critical["routes"]] == ["platform-critical", "payments-critical"]
    receivers = {r["name"]: r for r in config["receivers"]}
    assert "pagerduty_configs" in receivers["payments-critical"]
    assert "pagerduty_configs" not in receivers["payments-warning"]  # pages only on critical
    assert {m["secretName"] for m in values["alertmanager"]["secretMounts"]} == {
        "smtp-credentials",
        "incident-bot",
        "slack-payments",
        "pagerduty-payments",
    }
    text = acme_values.read_text()
    assert "hooks.slack.com" not in text  # credentials stay in Secrets


def test_readme_tier_matrix_is_current():
    readme = (paths.ROOT / "README.md").read_text()
    block = readme.split("<!-- obsgen tiers:begin -->\n```\n", 1)[1].split("```\n<!-- obsgen tiers:end -->", 1)[0]
    result = runner.invoke(app, ["tiers"])
    assert block == result.output, "README tier matrix is stale: paste the output of `obsgen tiers`"


def test_every_sized_container_can_be_overridden_by_a_profile():
    import json

    from obsgen.artifacts.logs_traces import RESOURCE_KEYS
    from obsgen.tiers import CONTAINERS

    schema = json.loads((paths.ROOT / "schemas" / "profile.schema.json").read_text())
    assert set(schema["properties"]["resources"]["properties"]) == set(CONTAINERS) | set(RESOURCE_KEYS)


def test_profiles_size_the_log_and_trace_stores(tmp_path):
    """The stores' sizes are the tier table's, and a profile overrides them like any container's."""
    import textwrap

    import yaml as _yaml

    from obsgen import generate as _generate

    path = tmp_path / "stores.yaml"
    path.write_text(
        textwrap.dedent("""\
        name: stores
        extends: enterprise
        resources:
          lokiWrite: {requests: {cpu: "1", memory: 2Gi}, limits: {cpu: "2", memory: 4Gi}}
          tempo: {requests: {cpu: 700m, memory: 3Gi}, limits: {cpu: "3", memory: 6Gi}}
        """),
        encoding="utf-8",
    )
    (out,) = _generate.plan_profile(path, tmp_path / "out")
    values = _yaml.safe_load(out.text)
    assert values["loki"]["scalable"]["write"]["resources"]["requests"] == {"cpu": "1", "memory": "2Gi"}
    assert values["loki"]["scalable"]["read"]["resources"] != values["loki"]["scalable"]["write"]["resources"]
    assert values["tempo"]["resources"]["limits"] == {"cpu": "3", "memory": "6Gi"}


@pytest.mark.parametrize("name", ["profile.schema.json", "values.schema.json"])
def test_schemas_are_valid_against_their_meta_schemas(name):
    """obsgen trusts its schemas at run time; this is where they are checked."""
    import json

    from jsonschema import validators

    schema = json.loads((paths.ROOT / "schemas" / name).read_text())
    validators.validator_for(schema).check_schema(schema)
