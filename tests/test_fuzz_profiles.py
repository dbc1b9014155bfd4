"""Seeded mutation fuzzing of profiles through the real CLI code path.

Mutants of the built-in profiles and the example organisation profile:
type swaps, deletions, duplicated list items and keys, unicode and control
characters, huge numbers, deep nesting, bad tags, broken bytes, truncation.
Every mutant is run through `obsgen generate` (which checks everything
`validate` does, then writes) in-process with typer's runner, and must end
in exit 0 with exactly its values file written, or exit 2 with one `error:`
line per problem and nothing written. Never an exception.

A sample of the mutants that generate is rendered with Helm, and its
Prometheus config and rules pass promtool, its Alertmanager config amtool.

OBS_FUZZ_MUTANTS sets the count (default 1000); OBS_FUZZ_SEED the seed.
"""

from __future__ import annotations

import copy
import os
import random
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from obsgen import paths
from obsgen.cli import app
from obsgen.profile import builtin_names, builtin_path
from tests.support import engines
from tests.support.render import configmap_file, helm_template, split
from tests.support.tools import ROOT

pytestmark = pytest.mark.slow

MUTANTS = int(os.environ.get("OBS_FUZZ_MUTANTS", "1000"))
SEED = int(os.environ.get("OBS_FUZZ_SEED", "20261202"))
CHUNKS = 4
RENDERED_SAMPLE = 24  # mutants that generate and are rendered and checked by the engines

SEEDS = [builtin_path(t) for t in builtin_names()] + [ROOT / "examples" / "profiles" / "acme.yaml"]

ODD_STRINGS = [
    "",
    " ",
    '"',
    "'",
    "{",
    "}",
    "\\",
    "a\nb",
    "a: b",
    "- x",
    "#",
    "&a",
    "*a",
    "{{ .Values }}",
    "${env:X}",
    "$1",
    "\u202e",  # right-to-left override
    "é✓漢字",
    "\t",
    "\x07",
    "x" * 10_000,
    "5\\d\\d",
    "(?=x)",
    "..",
    ".",
    "https://r.example.com/",
    "NaN",
    "1e309",
]
ODD_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1.5,
    10**30,
    -(10**30),
    1e308,
    float("inf"),
    float("nan"),
    [],
    {},
    [None],
    {"x": 1},
    *ODD_STRINGS,
]
TAGS = ["!!float abc", "!!int 1.5.6", "!!binary ###", "!!timestamp 2026-13-45", "!!python/object:os.system x", "!!set {a}", "!!omap [a]"]


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


def _get(node: Any, path: tuple) -> Any:
    for part in path:
        node = node[part]
    return node


def _set(root: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    _get(root, path[:-1])[path[-1]] = value
    return root


def _nest(value: Any, depth: int) -> Any:
    for _ in range(depth):
        value = [value]
    return value


def _data_mutant(rng: random.Random, data: Any) -> Any:
    data = copy.deepcopy(data)
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        path = rng.choice(_paths(data))
        target = _get(data, path)
        kind = rng.randrange(7)
        if kind == 0:  # type swap
            data = _set(data, path, copy.deepcopy(rng.choice(ODD_VALUES)))
        elif kind == 1 and path:  # deletion
            parent = _get(data, path[:-1])
            del parent[path[-1]]
        elif kind == 2 and isinstance(target, list) and target:  # duplicate an item
            target.append(copy.deepcopy(rng.choice(target)))
        elif kind == 3 and isinstance(target, str):  # string surgery
            data = _set(data, path, target + rng.choice(ODD_STRINGS) if rng.random() < 0.7 else rng.choice(ODD_STRINGS))
        elif kind == 4:  # deep nesting
            data = _set(data, path, _nest(target, rng.choice((5, 40, 80))))
        elif kind == 5 and isinstance(target, int | float) and not isinstance(target, bool):  # number extremes
            data = _set(data, path, rng.choice((0, -target, target * 10**12, 0.1, 10**30)))
        elif kind == 6 and isinstance(target, dict):  # unknown key
            target[rng.choice(("extra", "Name", "tier", "x-y", "__proto__"))] = rng.choice(ODD_VALUES)
    return data


def _text_mutant(rng: random.Random, text: str) -> bytes:
    kind = rng.randrange(5)
    lines = text.splitlines()
    if kind == 0:  # a top-level key again
        keys = [line for line in lines if line and not line.startswith((" ", "#", "-"))]
        return (text + "\n" + rng.choice(keys) + "\n").encode()
    if kind == 1:  # a byte that is not UTF-8
        data = text.encode()
        at = rng.randrange(len(data))
        return data[:at] + bytes([rng.choice((0xFF, 0xC3, 0x80, 0xE9))]) + data[at:]
    if kind == 2:  # truncated
        return text[: rng.randrange(len(text))].encode()
    if kind == 3:  # a tagged scalar
        scalars = [i for i, line in enumerate(lines) if ": " in line and not line.rstrip().endswith(":")]
        i = rng.choice(scalars)
        key = lines[i].split(": ", 1)[0]
        lines[i] = f"{key}: {rng.choice(TAGS)}"
        return "\n".join(lines).encode()
    # an alias expansion
    return (text + "\nx-a: &xa [1, 1, 1, 1, 1, 1, 1, 1]\nx-b: &xb [*xa, *xa, *xa, *xa, *xa, *xa, *xa, *xa]\n").encode()


def mutants(count: int, seed: int) -> list[tuple[str, bytes]]:
    rng = random.Random(seed)
    sources = [(p, p.read_text(encoding="utf-8")) for p in SEEDS]
    out = []
    for i in range(count):
        path, text = rng.choice(sources)
        if rng.random() < 0.7:
            mutant = yaml.safe_dump(_data_mutant(rng, yaml.safe_load(text)), sort_keys=False, allow_unicode=True).encode()
        else:
            mutant = _text_mutant(rng, text)
        out.append((f"{i:04d}-{path.stem}", mutant))
    return out


_runner = CliRunner()


def run_generate(profile: Path, out_dir: Path):
    result = _runner.invoke(app, ["generate", str(profile), "--out-dir", str(out_dir)])
    return result


def _check(name: str, result, out_dir: Path) -> list[str]:
    problems = []
    written = sorted(p.name for p in out_dir.iterdir()) if out_dir.exists() else []
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        problems.append(f"{name}: raised {type(result.exception).__name__}: {result.exception}")
    elif result.exit_code == 0:
        if len(written) != 1:
            problems.append(f"{name}: exit 0 but wrote {written}")
    elif result.exit_code == 2:
        lines = result.output.strip().splitlines()
        if written:
            problems.append(f"{name}: exit 2 but wrote {written}")
        if not lines or any(not line.startswith("error: ") for line in lines):
            problems.append(f"{name}: exit 2 without one error line per problem: {result.output[:300]!r}")
    else:
        problems.append(f"{name}: exit {result.exit_code}: {result.output[:300]!r}")
    if "Traceback" in result.output:
        problems.append(f"{name}: printed a traceback")
    return problems


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _chunk(k: int) -> list[tuple[str, bytes]]:
    return mutants(MUTANTS, SEED)[k::CHUNKS]


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_mutants_exit_0_or_2_and_never_half_write(chunk, workdir):
    problems, generated = [], 0
    for name, data in _chunk(chunk):
        profile = workdir / f"{name}.yaml"
        profile.write_bytes(data)
        out_dir = workdir / f"{name}-out"
        result = run_generate(profile, out_dir)
        problems += _check(name, result, out_dir)
        generated += result.exit_code == 0
    assert not problems, "\n".join(problems[:20])
    # The mutator must leave some profiles valid, or the pipeline past the schema is not exercised.
    assert generated > 0


def test_mutants_that_generate_pass_helm_promtool_and_amtool(workdir, tmp_path):
    valid = []
    for name, data in mutants(MUTANTS, SEED):
        if len(valid) >= RENDERED_SAMPLE:
            break
        profile = workdir / f"render-{name}.yaml"
        profile.write_bytes(data)
        out_dir = workdir / f"render-{name}-out"
        if run_generate(profile, out_dir).exit_code == 0:
            valid.append((name, next(out_dir.iterdir())))
    assert len(valid) >= RENDERED_SAMPLE // 2, f"only {len(valid)} mutants generate"
    failures = []
    for name, values in valid:
        objects = split(helm_template(values=(values,)))
        here = tmp_path / name
        here.mkdir()
        for label, proc in (
            ("promtool check config", engines.promtool_config(objects, here)),
            ("promtool check rules", engines.promtool_rules(objects, here)),
            ("amtool check-config", engines.amtool_config(configmap_file(objects, *engines.ALERTMANAGER_CONFIG), here)),
        ):
            if proc.returncode != 0:
                failures.append(f"{name} ({paths.display(values)}): {label}: {(proc.stdout + proc.stderr)[-400:]}")
    assert not failures, "\n".join(failures)


def test_the_mutator_is_deterministic_and_varied():
    first, again = mutants(50, SEED), mutants(50, SEED)
    assert first == again
    assert len({data for _, data in first}) >= 40
