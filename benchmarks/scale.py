"""Generator cost and object sizes at the scale of a large organisation, before and after.

    .venv/bin/python benchmarks/scale.py [--before REF]   # writes benchmarks/reports/scale.md and scale.json

"Before" is the tree at REF (default: the commit before the issue's work),
checked out as a git worktree and run with the same interpreter and
packages; "after" is this tree. Both run in the same invocation, one after
the other for each measurement, so the ratios are comparable on a noisy
machine.

For the four built-in tiers and for organisations of 10, 100 and 300
services (tests/support/scale.py: an availability SLO, a latency SLO and a
dependency each) it records:
- generator CPU: `obsgen generate` as a whole process (user + sys of the
  child, median of 3), and for the tiers also the work alone (process time
  of plan_builtin() in-process, median of 3, imports excluded);
- rule counts (recording, alerting) and the size of the values file;
- the largest ConfigMap and the largest PrometheusRule as Helm renders them,
  and the number of rule objects;
- the Helm release record (the release as JSON, gzipped, base64: what
  Helm's Secret holds), estimated from the chart, the values and the
  rendered manifest (tests/support/scale.py);
- whether the SLO rule groups evaluate the same queries before and after
  (annotations and `for` aside; if they do, their evaluation cost on
  Prometheus is the same too).
A profile the after tree refuses (over a budget) is reported with its error.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from before_after import DEFAULT_BEFORE, checked_out, head, write_reports  # noqa: E402
from tests.support.render import NAMESPACE, RELEASE, split  # noqa: E402
from tests.support.scale import release_record_bytes, write_profile  # noqa: E402
from tests.support.tools import tool  # noqa: E402

SIZES = (10, 100, 300)
RUNS = 3
KIB = 1024


def _child_cpu(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, subprocess.CompletedProcess]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, timeout=1800)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), proc


class Tree:
    def __init__(self, label: str, root: Path):
        self.label, self.root = label, root
        self.env = {**os.environ, "PYTHONPATH": str(root / "generator")}

    def obsgen(self, *args: str) -> tuple[float, subprocess.CompletedProcess]:
        return _child_cpu([sys.executable, "-m", "obsgen.cli", *args], self.env, self.root)

    def work_seconds(self) -> float:
        code = (
            "import time, obsgen.generate as g, obsgen.dashboards, obsgen.rules\n"
            "t = time.process_time(); g.plan_builtin(); print(time.process_time() - t)"
        )
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=self.env, cwd=self.root, check=True)
        return float(proc.stdout.strip().splitlines()[-1])

    def chart(self) -> Path:
        return self.root / "charts" / "obs"


def _median(values: list[float]) -> float:
    return statistics.median(values)


def helm(chart: Path, values: Path, *sets: str) -> str:
    cmd = [tool("helm"), "template", RELEASE, str(chart), "--namespace", NAMESPACE, "-f", str(values)]
    for s in sets:
        cmd += ["--set", s]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    if proc.returncode:
        raise RuntimeError(proc.stderr.strip()[:500])
    return proc.stdout


def _evaluated(rule: dict[str, Any]) -> dict[str, Any]:
    # What the rule manager evaluates: annotations (links, text) and `for`
    # (a timer on the result) cost nothing per evaluation.
    return {k: v for k, v in rule.items() if k not in ("annotations", "for")}


def _slo_groups(document: dict[str, Any]) -> dict[str, Any]:
    return {
        g["name"]: {**g, "rules": [_evaluated(r) for r in g["rules"]]}
        for f in document["rules"]["files"]
        for g in f["groups"]
        if g["name"].startswith("slo-")
    }


def _kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def measure_profile(tree: Tree, profile: Path, out: Path) -> dict[str, Any]:
    cpus, proc = [], None
    for _ in range(RUNS):
        cpu, proc = tree.obsgen("generate", str(profile), "--out-dir", str(out))
        cpus.append(cpu)
        if proc.returncode:
            break
    row: dict[str, Any] = {"generator_cpu_s": round(_median(cpus), 2)}
    if proc.returncode:
        row["refused"] = " | ".join(line.split(": ", 2)[-1] for line in proc.stderr.strip().splitlines())
        return row
    values = out / f"{profile.stem}.yaml"
    text = values.read_text()
    document = yaml.safe_load(text)
    rules = [r for f in document["rules"]["files"] for g in f["groups"] for r in g["rules"]]
    row["values_kib"] = round(len(text.encode()) / KIB)
    row["recording_rules"] = sum("record" in r for r in rules)
    row["alerting_rules"] = sum("alert" in r for r in rules)
    started = time.monotonic()
    manifest = helm(tree.chart(), values)
    row["render_s"] = round(time.monotonic() - started, 1)
    objects = split(manifest)
    configmaps = sorted(
        ((sum(len(v.encode()) for v in (o.get("data") or {}).values()), o["metadata"]["name"]) for o in _kind(objects, "ConfigMap")),
        reverse=True,
    )
    row["largest_configmap_kib"] = round(configmaps[0][0] / KIB)
    row["largest_configmap"] = configmaps[0][1]
    row["rule_objects"] = sum(1 for o in _kind(objects, "ConfigMap") if o["metadata"].get("labels", {}).get("obs.dev/rule-file") == "true")
    operator = _kind(split(helm(tree.chart(), values, "rules.format=operator")), "PrometheusRule")
    row["largest_prometheusrule_kib"] = round(max(len(yaml.safe_dump(o).encode()) for o in operator) / KIB)
    row["release_record_kib"] = round(release_record_bytes(tree.chart(), text, manifest) / KIB)
    row["_slo_groups"] = _slo_groups(document)
    return row


def run(before_ref: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="obs-scale-") as tmp_name:
        tmp = Path(tmp_name)
        with checked_out(before_ref, tmp / "before") as worktree:
            trees = [Tree("before", worktree), Tree("after", ROOT)]
            result: dict[str, Any] = {"before": before_ref, "after": head(), "tiers": {}, "profiles": {}}
            for tree in trees:
                work = [tree.work_seconds() for _ in range(RUNS)]
                whole = [tree.obsgen("generate", "--check")[0] for _ in range(RUNS)]
                result["tiers"][tree.label] = {"work_cpu_s": round(_median(work), 3), "process_cpu_s": round(_median(whole), 2)}
            for n in SIZES:
                profile = write_profile(tmp / f"org{n}.yaml", n)
                rows = {tree.label: measure_profile(tree, profile, tmp / f"{tree.label}-{n}") for tree in trees}
                before_groups, after_groups = (rows[t].pop("_slo_groups", None) for t in ("before", "after"))
                if before_groups is not None and after_groups is not None:
                    rows["slo_groups_identical"] = before_groups == after_groups
                result["profiles"][str(n)] = rows
            return result


def _cell(row: dict[str, Any], key: str) -> str:
    if "refused" in row:
        return "refused" if key != "generator_cpu_s" else f"{row[key]}"
    value = row.get(key, "")
    return f"{value:,}" if isinstance(value, int) else str(value)


ROWS = (
    ("generator CPU, whole process (s)", "generator_cpu_s"),
    ("values file (KiB)", "values_kib"),
    ("recording rules", "recording_rules"),
    ("alerting rules", "alerting_rules"),
    ("rule objects (ConfigMaps)", "rule_objects"),
    ("largest ConfigMap (KiB)", "largest_configmap_kib"),
    ("largest PrometheusRule (KiB)", "largest_prometheusrule_kib"),
    ("Helm release record (KiB)", "release_record_kib"),
    ("helm template (s)", "render_s"),
)


def report(result: dict[str, Any]) -> str:
    tiers = result["tiers"]
    lines = [
        "# Scale: generator cost and object sizes, before and after",
        "",
        f"Generated by `benchmarks/scale.py` (before: `{result['before']}`, after: `{result['after']}`), both trees measured in one run.",
        "Budgets enforced by the generator after (generator/obsgen/limits.py): 512 KiB per object, 768 KiB for the release record.",
        "",
        "## The four built-in tiers",
        "",
        "| | before | after | after / before |",
        "|---|---:|---:|---:|",
    ]
    measures = (("plan_builtin() CPU, imports excluded (s)", "work_cpu_s"), ("`obsgen generate --check` process CPU (s)", "process_cpu_s"))
    for label, key in measures:
        b, a = tiers["before"][key], tiers["after"][key]
        lines.append(f"| {label} | {b} | {a} | {a / b:.2f} |")
    for n, rows in result["profiles"].items():
        lines += ["", f"## {n} services (2 SLOs and a dependency each)", "", "| | before | after |", "|---|---:|---:|"]
        for label, key in ROWS:
            lines.append(f"| {label} | {_cell(rows['before'], key)} | {_cell(rows['after'], key)} |")
        for tree in ("before", "after"):
            if "refused" in rows[tree]:
                lines.append(f"\n{tree}: refused by the generator — {rows[tree]['refused']}")
        if "slo_groups_identical" in rows:
            same = "yes" if rows["slo_groups_identical"] else "no"
            lines.append(f"\nSLO rule groups evaluate the same queries before and after (annotations and `for` aside): {same}.")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", default=DEFAULT_BEFORE, help="git ref of the 'before' tree")
    args = parser.parse_args()
    result = run(args.before)
    write_reports("scale", result, report(result))


if __name__ == "__main__":
    main()
