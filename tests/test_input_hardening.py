"""Bad input gets one line naming the file, the field and the reason; exit 2;
nothing written; never a traceback, never a hang.

Each case here is a defect that was found on main (issue "correct by
construction"); the test runs the real CLI as a user would.
"""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

import pytest
import yaml

from obsgen import generate, promql, yamlio
from obsgen.profile import load_builtin
from tests.support.cli import OBSGEN, obsgen
from tests.support.render import RenderError, helm_template
from tests.support.tools import ROOT, tool


def assert_refused(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert lines and all(line.startswith("error: ") for line in lines), proc.stderr
    for fragment in fragments:
        assert fragment in proc.stderr, (fragment, proc.stderr)


def profile(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


SERVICE = """\
name: shop
extends: basic
services:
  - name: checkout
    namespace: shop
    team: platform
{extra}
"""


def service_profile(tmp_path: Path, extra: str) -> Path:
    return profile(tmp_path, SERVICE.format(extra=textwrap.indent(textwrap.dedent(extra), "    ")))


# --- PromQL reaches the rules only when Prometheus can read it ---------------------------

BAD_PROMQL = {
    "unclosed ratio selector": (
        """\
        slos:
          - name: pay
            objective: 99.9
            type: ratio
            ratio: {errors: 'payments_failed_total{job="checkout"', total: payments_total}
        """,
        ["services[0].slos[0].ratio.errors", "does not parse as PromQL"],
    ),
    "lookahead status regex": (
        """\
        slos:
          - {name: errs, objective: 99, type: error-rate, errorStatus: '5(?=0)'}
        """,
        ["services[0].slos[0].errorStatus", "not a valid RE2 regex"],
    ),
}


@pytest.mark.parametrize("case", BAD_PROMQL)
@pytest.mark.parametrize("command", ["validate", "generate"])
def test_bad_promql_is_refused_naming_the_field(tmp_path, case, command):
    extra, fragments = BAD_PROMQL[case]
    path = service_profile(tmp_path, extra)
    args = [command, str(path)] + (["--out-dir", str(tmp_path / "out")] if command == "generate" else [])
    assert_refused(obsgen(*args), str(path), *fragments)
    assert not (tmp_path / "out").exists()


def test_broken_sloth_query_is_refused(tmp_path):
    (tmp_path / "sloth.yaml").write_text(
        textwrap.dedent("""\
        version: prometheus/v1
        service: checkout
        slos:
          - name: checkout-requests
            objective: 99.9
            sli:
              events:
                error_query: sum(rate(http_requests_total{code=~"5.."[{{.window}}]))
                total_query: sum(rate(http_requests_total[{{.window}}]))
        """),
        encoding="utf-8",
    )
    path = service_profile(tmp_path, "")
    path.write_text(path.read_text() + "sloFiles: [sloth.yaml]\n", encoding="utf-8")
    proc = obsgen("validate", str(path))
    assert_refused(proc, "sloth.yaml", "does not parse as PromQL")


def _rule_files(values: Path, dest: Path) -> list[Path]:
    document = yaml.safe_load(values.read_text())
    out = []
    for rule_file in document["rules"]["files"]:
        target = dest / rule_file["name"]
        target.write_text(yaml.safe_dump({"groups": rule_file["groups"]}))
        out.append(target)
    return out


def test_strings_reach_promql_as_literals_and_promtool_agrees(tmp_path):
    """The natural regex 5\\d\\d and a `"` in a selector value are data, not syntax."""
    path = service_profile(
        tmp_path,
        """\
        telemetry:
          preset: prometheus-classic
          selector: {service: 'check"out', namespace: 'shop\\\\x'}
        slos:
          - {name: errs, objective: 99, type: error-rate, errorStatus: '5\\d\\d'}
        """,
    )
    out = tmp_path / "out"
    proc = obsgen("generate", str(path), "--out-dir", str(out))
    assert proc.returncode == 0, proc.stderr
    files = _rule_files(out / "shop.yaml", tmp_path)
    check = subprocess.run([tool("promtool"), "check", "rules", *map(str, files)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    text = (out / "shop.yaml").read_text()
    assert 'service=\\"check\\\\\\"out\\"' in text or 'service="check\\"out"' in text
    assert '=~"5\\\\d\\\\d"' in text


def test_promql_helpers():
    assert promql.string('a"b\\c\n') == '"a\\"b\\\\c\\n"'
    assert promql.matcher("status", "=~", "5..") == 'status=~"5.."'
    with pytest.raises(promql.PromQLError):
        promql.matcher("status", "=~", "(5")
    with pytest.raises(promql.PromQLError):
        promql.matcher("bad-label", "=", "x")
    with pytest.raises(promql.PromQLError):
        promql.check("sum(rate(x[5m])")
    promql.check('sum by (a) (rate(x{a=~"5\\\\d\\\\d"}[5m]))')


# --- validate says what generate says ------------------------------------------------------

SLO_CASES = {
    "objective 0": ("slos: [{name: a, objective: 0, type: availability}]", "slos[0].objective"),
    "objective 100": ("slos: [{name: a, objective: 100, type: availability}]", "slos[0].objective"),
    "objective -1": ("slos: [{name: a, objective: -1, type: availability}]", "slos[0].objective"),
    "objective NaN": ("slos: [{name: a, objective: .nan, type: availability}]", "slos[0].objective"),
    "threshold not a bucket": ("slos: [{name: a, objective: 99, type: latency, latency: {threshold: 0.3}}]", "latency.threshold"),
    "duplicate SLO names": (
        "slos: [{name: a, objective: 99, type: availability}, {name: a, objective: 98, type: availability}]",
        "slos[1].name",
    ),
}


@pytest.mark.parametrize("case", SLO_CASES)
def test_validate_refuses_what_generate_refuses(tmp_path, case):
    extra, field = SLO_CASES[case]
    path = service_profile(tmp_path, extra)
    validate = obsgen("validate", str(path))
    gen = obsgen("generate", str(path), "--out-dir", str(tmp_path / "out"))
    assert_refused(validate, field)
    assert_refused(gen, field)
    assert validate.stderr == gen.stderr


@pytest.mark.parametrize("target", ["missing.yaml", "a-directory"])
def test_slo_file_that_is_not_a_file(tmp_path, target):
    (tmp_path / "a-directory").mkdir()
    path = service_profile(tmp_path, "")
    path.write_text(path.read_text() + f"sloFiles: [{target}]\n", encoding="utf-8")
    assert_refused(obsgen("validate", str(path)), "sloFiles[0]")


# --- alert names ---------------------------------------------------------------------------


def test_unknown_alert_names_are_errors(tmp_path):
    path = profile(
        tmp_path,
        """\
        name: p
        extends: basic
        alerts:
          disabled: [TargetDwn]
          overrides: {PrometheusRuleEvaluationFailures: {threshold: 3}}
        """,
    )
    assert_refused(obsgen("validate", str(path)), "alerts.disabled[0]", "did you mean 'TargetDown'", "has no threshold")


def test_durations_are_checked_the_way_prometheus_parses_them(tmp_path):
    """Units out of order or repeated pass a naive pattern and fail promtool."""
    path = profile(tmp_path, "name: p\nextends: basic\nalerts:\n  overrides: {TargetDown: {for: 30m1h}}\n")
    assert_refused(obsgen("validate", str(path)), "alerts.overrides.TargetDown.for")


def test_disabled_and_overrides_reach_self_monitoring(tmp_path):
    path = profile(
        tmp_path,
        """\
        name: p
        extends: basic
        alerts:
          disabled: [PrometheusConfigReloadFailed]
          overrides: {PrometheusRuleEvaluationFailures: {for: 42m}}
        """,
    )
    (out,) = generate.plan_profile(path, tmp_path)
    rules = {r["alert"]: r for f in yaml.safe_load(out.text)["rules"]["files"] for g in f["groups"] for r in g["rules"] if "alert" in r}
    assert "PrometheusConfigReloadFailed" not in rules
    assert rules["PrometheusRuleEvaluationFailures"]["for"] == "42m"


# --- files that are not what they should be -----------------------------------------------

ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(9)
)


def _bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    def put(name: str, data: bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    base = b"name: p\nextends: basic\n"
    return {
        "latin-1": (put("latin1.yaml", base + b"cluster: {name: caf\xe9}\n"), "not UTF-8 text"),
        "float tag": (put("float.yaml", base + b"retention: {storageGi: !!float abc}\n"), "does not convert"),
        "int tag": (put("int.yaml", base + b"retention: {storageGi: !!int 1.5.6}\n"), "not valid YAML"),
        "deep nesting": (put("deep.yaml", base + b"x: " + b"[" * 200 + b"]" * 200 + b"\n"), "levels deep"),
        "alias bomb": (put("bomb.yaml", base + ALIAS_BOMB.encode()), "alias bomb"),
        "recursive alias": (put("cycle.yaml", base + b"x: &c [*c]\n"), "refers to a value that contains it"),
        "duplicate key": (put("dup.yaml", base + b"name: q\n"), "'name' appears twice"),
        "huge file": (put("huge.yaml", base + b"#" * (yamlio.MAX_BYTES + 1)), "bytes; more than"),
        "NUL": (put("nul.yaml", base + b"a: \x00\n"), "NUL"),
        "directory": ((tmp_path / "dir.yaml"), "is a directory"),
        "device": (Path("/dev/zero"), "not a regular file"),
        "missing": ((tmp_path / "missing.yaml"), "no such file"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "latin-1",
        "float tag",
        "int tag",
        "deep nesting",
        "alias bomb",
        "recursive alias",
        "duplicate key",
        "huge file",
        "NUL",
        "directory",
        "device",
        "missing",
    ],
)
@pytest.mark.parametrize("command", ["validate", "generate"])
def test_unreadable_profiles_get_one_line(tmp_path, case, command):
    (tmp_path / "dir.yaml").mkdir()
    path, fragment = _bad_files(tmp_path)[case]
    out = tmp_path / "out"
    args = [command, str(path)] + (["--out-dir", str(out)] if command == "generate" else [])
    proc = obsgen(*args, timeout=30)
    assert_refused(proc, fragment)
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("case", ["latin-1", "alias bomb", "duplicate key", "directory"])
def test_unreadable_slo_files_name_the_profile_field(tmp_path, case):
    (tmp_path / "dir.yaml").mkdir()
    bad, fragment = _bad_files(tmp_path)[case]
    path = service_profile(tmp_path, "")
    path.write_text(path.read_text() + f"sloFiles: [{bad.name}]\n", encoding="utf-8")
    assert_refused(obsgen("validate", str(path)), "sloFiles[0]", fragment)


def test_yaml_merge_keys_still_work(tmp_path):
    path = profile(
        tmp_path,
        """\
        name: p
        extends: basic
        x-size: &size {requests: {cpu: 10m, memory: 32Mi}, limits: {cpu: 100m, memory: 64Mi}}
        resources:
          blackboxExporter:
            <<: *size
        """,
    )
    data = yamlio.load_file(path)
    assert data["resources"]["blackboxExporter"]["limits"]["cpu"] == "100m"


# --- generate never writes over what it must not --------------------------------------------


def test_generate_refuses_to_overwrite_its_input(tmp_path):
    path = profile(tmp_path, "name: p\nextends: basic\n")
    before = path.read_text()
    assert_refused(obsgen("generate", "p.yaml", "--out-dir", ".", cwd=tmp_path), "would overwrite the input")
    assert path.read_text() == before


def test_profile_named_like_a_tier_does_not_replace_committed_values(tmp_path):
    path = profile(tmp_path, "name: enterprise\nextends: basic\n")
    committed = (ROOT / "values" / "enterprise.yaml").read_text()
    assert_refused(obsgen("generate", str(path)), "committed values of the built-in enterprise tier")
    assert (ROOT / "values" / "enterprise.yaml").read_text() == committed


def test_two_profiles_writing_one_file(tmp_path):
    a = profile(tmp_path, "name: same\nextends: basic\n", "a.yaml")
    b = profile(tmp_path, "name: same\nextends: basic\n", "b.yaml")
    assert_refused(obsgen("generate", str(a), str(b), "--out-dir", str(tmp_path / "out")), "also writes")
    assert not (tmp_path / "out").exists()


# --- strings reach the rendered YAML as data ---------------------------------------------------


def test_secret_key_names_cannot_inject_yaml(tmp_path):
    path = profile(
        tmp_path,
        """\
        name: p
        extends: enterprise
        objectStorage:
          logs: {bucket: b, endpoint: s3.example.com, region: r, existingSecret: s3, accessKeyIdKey: "AWS\\n  - name: HTTPS_PROXY"}
        """,
    )
    assert_refused(obsgen("validate", str(path)), "accessKeyIdKey")


def test_template_text_in_an_email_address_is_refused(tmp_path):
    path = profile(
        tmp_path,
        """\
        name: p
        extends: basic
        teams:
          - name: platform
            receivers:
              - {type: email, to: '{{ template "x" . }}@example.com', from: a@example.com, smarthost: 'smtp.example.com:25',
                 authUsername: u, secretRef: {name: s, key: p}}
        """,
    )
    assert_refused(obsgen("validate", str(path)), "teams[0].receivers[0].to")


def test_a_trailing_newline_does_not_slip_through_a_pattern(tmp_path):
    """Python's `$` matches before a final newline; the schema's patterns must not."""
    path = profile(tmp_path, 'name: "shop\\n"\nextends: basic\n')
    assert_refused(obsgen("validate", str(path)), "name")


@pytest.mark.parametrize("key", [".", ".."])
def test_secret_keys_dot_and_dotdot_are_refused(tmp_path, key):
    path = profile(
        tmp_path,
        f"""\
        name: p
        extends: basic
        teams:
          - name: platform
            receivers: [{{type: slack, channel: '#x', secretRef: {{name: s, key: '{key}'}}}}]
        """,
    )
    assert_refused(obsgen("validate", str(path)), "key")


def test_quoted_secret_keys_render_as_data():
    """A key that YAML would read as another type still reaches the pod spec as the same string."""
    objects = yaml.safe_load_all(
        helm_template(values=(ROOT / "values" / "enterprise.yaml",), sets=("loki.objectStorage.accessKeyIdKey=0x10",))
    )
    refs = [
        e["valueFrom"]["secretKeyRef"]["key"]
        for o in objects
        if o and o["kind"] == "StatefulSet" and "loki" in o["metadata"]["name"]
        for c in o["spec"]["template"]["spec"]["containers"]
        for e in c.get("env", [])
        if e.get("name") == "LOKI_S3_ACCESS_KEY_ID"
    ]
    assert refs and set(refs) == {"0x10"}


# --- values overlays the schema alone cannot judge ----------------------------------------------

OVERLAYS = {
    "request above limit": (("prometheus.resources.requests.cpu=9",), "prometheus.resources.requests.cpu is 9, above"),
    "nested request above limit": (("loki.scalable.write.resources.requests.memory=100Gi",), "loki.scalable.write.resources"),
    "negative limit": (("prometheus.resources.limits.memory=-1",), "limits"),
    "timeout above interval": (("prometheus.scrapeTimeout=1m",), "scrapeTimeout 1m is longer"),
    "undefined receiver": (("alertmanager.config.route.receiver=nobody",), 'receiver is "nobody"'),
    "registry with scheme": (("global.imageRegistry=https://registry.example.com/",), "imageRegistry"),
    "budget allows all down": (("prometheus.podDisruptionBudget.maxUnavailable=2",), "must be below the replica count"),
}


@pytest.mark.parametrize("case", OVERLAYS)
@pytest.mark.parametrize("helm", ["helm", "helm3"])
def test_overlays_that_cannot_work_fail_the_render(case, helm):
    sets, fragment = OVERLAYS[case]
    with pytest.raises(RenderError) as failure:
        helm_template(helm, values=(ROOT / "values" / "enterprise.yaml",), sets=sets)
    assert fragment in str(failure.value)


# --- output ------------------------------------------------------------------------------------


def test_c_emitter_writes_the_same_bytes_as_the_python_one():
    from obsgen import model
    from obsgen.artifacts import values as values_artifact

    assert yamlio.dump.__module__ == "obsgen.yamlio"
    assert getattr(yaml, "CSafeDumper", None) is not None, "PyYAML without libyaml: the fast path is not exercised"
    for tier in ("basic", "enterprise"):
        document = values_artifact.build(model.build(load_builtin(tier)))
        assert yamlio.dump(document) == yamlio.dump_pure_python(document)
    tricky = {"a": "line\nwith trailing  \nspaces", "b": "ünïcode ✓", "c": ["", "null", "yes", "0x10", "1e3"], "d": {"k": None}}
    assert yamlio.dump(tricky) == yamlio.dump_pure_python(tricky)


def test_cli_entry_point_runs():
    proc = subprocess.run([*OBSGEN, "--help"], capture_output=True, text=True, env={**os.environ}, timeout=60)
    assert proc.returncode == 0 and "generate" in proc.stdout


def test_the_generate_time_net_catches_what_slips_past_the_field_checks():
    """checks.problems parses every rule and dashboard query and walks the routes; each part can fail."""
    import copy
    import json

    from obsgen import checks, model
    from obsgen.artifacts import values as values_artifact

    document = values_artifact.build(model.builtin_stack("intermediate"))
    assert checks.problems(document) == []
    broken = copy.deepcopy(document)
    broken["rules"]["files"][0]["groups"][0]["rules"][0]["expr"] = "sum(rate(x[5m])"
    board = json.loads(broken["dashboards"]["items"][0]["json"])
    target = {"expr": "rate(up[$nowhere])", "datasource": {"type": "prometheus"}}
    board["panels"].append({"type": "timeseries", "title": "x", "targets": [target]})
    broken["dashboards"]["items"][0]["json"] = json.dumps(board)
    broken["alertmanager"]["config"]["route"]["routes"][0]["receiver"] = "nobody"
    found = dict(checks.problems(broken))
    assert any("does not parse as PromQL" in reason for reason in found.values()), found
    assert any("$nowhere" in reason for reason in found.values()), found
    assert any(path.endswith("routes[0].receiver") for path in found), found
