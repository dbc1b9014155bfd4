"""obs's SLO alerts next to Sloth's, scenario by scenario, for 30d, 28d and 7d.

    .venv/bin/python benchmarks/sloth_comparison.py [--services 100] [--skip-cost]
    # writes benchmarks/reports/sloth-comparison.md and .json

The harness is tests/support/sloth_compare.py (tests/test_sloth_comparison.py
keeps the key properties in the suite): the same SLO and input in promtool,
obs's generated rules and the rules Sloth would write (from its documented
formulas, tests/support/sloth_rules.py). Theory: continuous time, the windows
alone (no `for`, no traffic guard): a pair fires at f·b·L/e and resolves at
S·(1 − f·b/e) after the burn ends; a kind (page, ticket) fires with its first
pair and resolves with its last.

Cost: the real Prometheus 3.5 over a backfilled TSDB, every SLO of the scale
organisation (an availability and a latency SLO per service) as obs's rule
groups and as Sloth's, all evaluated every 15 s, runs alternating. The raw
series the SLOs read cover 3 days and an hour (one sample a minute), and so
do each engine's own recordings that its long windows read (obs's tiles,
Sloth's 5m ratios), as in a Prometheus that has run for days.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import slo_evaluation  # noqa: E402
import yaml  # noqa: E402
from before_after import head, rerender, write_reports  # noqa: E402
from dashboard_latency import Data, backfill  # noqa: E402
from long_windows import HISTORY, raw_series, tile_history  # noqa: E402
from tests.support import sloth_compare as cmp  # noqa: E402
from tests.support import sloth_rules  # noqa: E402
from tests.support.scale import write_profile  # noqa: E402
from tests.support.tools import tool  # noqa: E402

from obsgen import model  # noqa: E402
from obsgen.profile import load  # noqa: E402
from obsgen.rules import slo as slo_engine  # noqa: E402
from obsgen.rules.slo import periods  # noqa: E402
from obsgen.rules.slo.windows import PAIR_FOR  # noqa: E402

RESOLUTION = 60  # seconds between samples of the backfilled series


def _fmt(value: float | None, none: str) -> str:
    return none if value is None else f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def _outcome(o: cmp.Outcome | dict[str, Any] | None) -> str:
    if o is None:
        return "—"
    fire, resolve = (o.fire, o.resolve) if isinstance(o, cmp.Outcome) else (o["fire"], o["resolve"])
    if fire is None:
        return "silent"
    return f"{_fmt(fire, '')} / {_fmt(resolve, 'firing')}"


def _budget(value: float | None) -> str:
    if value is None:
        return "absent"
    return "NaN" if value != value else f"{value:.1%}"


def run() -> dict[str, Any]:
    items = cmp.runs()
    with ThreadPoolExecutor() as pool:
        measured = list(pool.map(lambda item: cmp.measure(item[1], item[0], item[2]), items))
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for (period, scenario, engine), got in zip(items, measured, strict=True):
        row = rows.setdefault((period, scenario.name), {"period": period, "scenario": scenario.name, "error": scenario.error})
        row["theory"] = {k: asdict(v) for k, v in cmp.theory(scenario, period).items()}
        row[engine] = {k: (asdict(v) if isinstance(v, cmp.Outcome) else v) for k, v in got.items()}
    order = {(p, s.name): k for k, (p, s) in enumerate((p, s) for p in cmp.PERIODS for s in cmp.scenarios(p))}
    version = subprocess.run([tool("promtool"), "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    return {"head": head(), "engine": version, "rows": sorted(rows.values(), key=lambda r: order[(r["period"], r["scenario"])])}


def _write(groups: list[dict[str, Any]], path: Path) -> list[Path]:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"groups": [dict(g, interval="15s") for g in groups]}, sort_keys=False))
    return [path]


def cost(services: int, rounds: int) -> dict[str, Any]:
    slo_evaluation.WARMUP_S, slo_evaluation.MEASURE_S = 45, 90
    with tempfile.TemporaryDirectory(prefix="obs-sloth-cost-") as tmp_name:
        tmp = Path(tmp_name)
        stack = model.build(load(write_profile(tmp / f"org{services}.yaml", services)))
        slos = slo_engine.slos(stack)
        tables = periods.of(stack)
        sloth_groups = [g for slo in slos for g in sloth_rules.rule_groups(sloth_rules.from_obs(slo), tables[slo.period])]
        files = {
            "obs": _write([g.render(stack) for g in slo_engine.rule_groups(stack)], tmp / "obs" / "rules.yaml"),
            "sloth": _write(sloth_groups, tmp / "sloth" / "rules.yaml"),
        }
        rules = {label: sum(len(g["rules"]) for g in yaml.safe_load(f[0].read_text())["groups"]) for label, f in files.items()}
        now = int(time.time()) // 60 * 60
        data = Data()
        raw_series(data, stack, now - HISTORY, now, RESOLUTION)
        tile_history(data, slos, now - HISTORY, now)
        for slo in slos:
            labels = {**sloth_rules.from_obs(slo).labels, sloth_rules.WINDOW: "5m"}
            data.family("slo:sli_error:ratio_rate5m").add(labels, now - HISTORY, now, lambda t: 0.001, 60)
        series, samples = data.counts()
        backfill(data.write(tmp, "raw", 2), tmp / "tsdb")
        runs: dict[str, list[dict[str, Any]]] = {label: [] for label in files}
        for _ in range(rounds):
            for label in files:
                runs[label].append(slo_evaluation._run(label, tmp / "tsdb", files[label], tmp))
    return {"services": services, "slos": len(slos), "series": series, "samples": samples, "rules": rules, "runs": runs}


def report(result: dict[str, Any]) -> str:
    lines = [
        "# obs and Sloth, scenario by scenario",
        "",
        f"Generated by `benchmarks/sloth_comparison.py` at `{result['head']}` ({result['engine']}).",
        "",
        (__doc__ or "").split("\n\n", 2)[2].strip(),
        "",
        f"SLO: `{cmp.SLO}` of the {cmp.TIER} fixture, 99.9 %, {cmp.sc.RATE} requests/min. Each cell: fire / resolve, in"
        ' minutes after the incident starts / ends ("firing": still firing at the end of the run). obs\'s pairs have'
        f" `for: {PAIR_FOR}` and a traffic guard (10 events in the short window); Sloth's have neither. Budget: remaining"
        " at the end of the run (obs: slo:error_budget_remaining:ratio, traffic-weighted; Sloth:"
        " slo:period_error_budget_remaining:ratio, the average of 5m ratios).",
        "",
        "| period | scenario | error ratio | theory page | obs page | Sloth page | theory ticket | obs ticket | Sloth ticket |"
        " obs no-data | obs budget | Sloth budget |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["rows"]:
        t, o, s = row["theory"], row["obs"], row["sloth"]
        lines.append(
            f"| {row['period']} | {row['scenario']} | {row['error']} | {_outcome(t['page'])} | {_outcome(o['page'])} |"
            f" {_outcome(s['page'])} | {_outcome(t['ticket'])} | {_outcome(o['ticket'])} | {_outcome(s['ticket'])} |"
            f" {_outcome(o.get('no data'))} | {_budget(o['budget'])} | {_budget(s['budget'])} |"
        )
    if result.get("cost"):
        c = result["cost"]
        lines += [
            "",
            "## Rule evaluation cost",
            "",
            f"{c['services']} services, {c['slos']} SLOs; {c['series']:,} backfilled series, {c['samples']:,} samples;"
            f" every SLO group evaluated every 15 s; median of {len(c['runs']['obs'])} runs per engine, alternating.",
            "",
            "| | obs | Sloth | obs / Sloth |",
            "|---|---:|---:|---:|",
        ]
        lines += slo_evaluation.cost_rows(c["runs"], ("obs", "sloth"), ("obs", "sloth"))
        lines.append(f"| rules | {c['rules']['obs']:,} | {c['rules']['sloth']:,} | {c['rules']['obs'] / c['rules']['sloth']:.2f} |")
        lines += ["", slo_evaluation.failures_line(c["runs"], {"obs": "obs", "sloth": "Sloth"})]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--skip-cost", action="store_true", help="only the promtool scenarios (half an hour)")
    parser.add_argument("--render-only", action="store_true", help="rewrite the .md from the .json")
    args = parser.parse_args()
    if args.render_only:
        rerender("sloth-comparison", report)
        return
    result = run()
    if not args.skip_cost:
        result["cost"] = cost(args.services, args.rounds)
    write_reports("sloth-comparison", result, report(result))


if __name__ == "__main__":
    main()
