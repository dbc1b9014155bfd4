"""Windows of a day and more: how exactly they count, and what they cost.

    .venv/bin/python benchmarks/long_windows.py [--services 100] [--skip-cost]
    # writes benchmarks/reports/long-windows.md and .json

Three ways to count a counter's events over 1d (and 3d), on the rules the
engine generates for the enterprise fixture's availability SLO
(tests/fixtures/slo/enterprise-shop.yaml):

- increase tiles: the sum of 5m `increase()` counts at 5m steps (obs before
  this change: the SLO built without its tile templates);
- exact tiles: the sum of 1m differences of the counter's samples at every
  evaluation (obs now; the period adds up 5m differences at 5m steps);
- raw: `increase()` over the whole window, the SLI's own template over 1d,
  read from the raw samples at each evaluation.

Error: `promtool test rules` (Prometheus 3.5's rule engine) on one error every
10 minutes, at each of the 10 positions an error can take against the 5m
tiles, scraped every 15 s and every 1 m, and on a day with a counter reset
(a restarted pod). The truth is the number of errors in the window.

Cost: the real Prometheus 3.5 over a backfilled TSDB, the SLO rule groups of
the scale organisation (benchmarks/scale.py: an availability and a latency
SLO per service) evaluated every 15 s, once with the long windows as sums of
tiles (the tiles' own 3 days of history backfilled as well, as a
long-running Prometheus holds them) and once with 1d and 3d read raw. The raw
series the SLOs read cover 3 days and an hour, one sample every 150 s and
every 60 s; a raw window reads every sample, so its cost grows with the
scrape rate, which the two resolutions show.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import slo_evaluation  # noqa: E402
from before_after import head, rerender, write_reports  # noqa: E402
from dashboard_latency import ROUTES, STATUSES, Data, _h, backfill, counter  # noqa: E402
from tests import test_slo_scenarios as sc  # noqa: E402
from tests.support.scale import write_profile  # noqa: E402

from obsgen import model, yamlio  # noqa: E402
from obsgen.profile import load  # noqa: E402
from obsgen.rules import slo as slo_engine  # noqa: E402
from obsgen.rules.slo import engine  # noqa: E402
from obsgen.rules.slo.windows import DAY_TILE  # noqa: E402
from obsgen.rules.types import RecordingRule, RuleGroup  # noqa: E402

TIER, SLO = "enterprise", "checkout-availability"
DAY_MIN = 24 * 60
ERRORS_EVERY_MIN = 10
HOUR = 3600
HISTORY = 3 * 24 * HOUR + HOUR
RESOLUTIONS = (150, 60)
THRESHOLD = 0.5  # the scale organisation's latency threshold


# --- error ----------------------------------------------------------------------


def _untiled(slo: slo_engine.SLO) -> slo_engine.SLO:
    sli = slo.sli
    shape = dataclasses.replace(sli.shape, tile_total="", tile_bad="", exact_tiles=False) if sli.shape else None
    return dataclasses.replace(slo, sli=dataclasses.replace(sli, tile_total="", tile_bad="", exact_tiles=False, shape=shape))


def _day_rules(slo: slo_engine.SLO) -> RuleGroup:
    full = slo_engine.group(slo, sc.stack(TIER))
    tiles = (DAY_TILE, engine.SHORTEST)
    wanted = {engine.bad("1d"), engine.INFO, *(name(t) for t in tiles for name in (engine.bad, engine.total))}
    return RuleGroup(full.name, tuple(r for r in full.rules if isinstance(r, RecordingRule) and r.record in wanted), full.interval)


def _errors(phase_s: int, scrape_s: int, samples: int, reset_at: int | None) -> tuple[list[int], list[int]]:
    """(bad counter, total counter) per scrape: one error every 10 minutes at `phase_s`
    into each 10 minutes, 1000 requests a minute; at `reset_at` (a sample) both restart from 0."""
    bad, total, out_bad, out_total = 0, 0, [], []
    for k in range(samples):
        t = k * scrape_s
        if k and (t - phase_s) // (ERRORS_EVERY_MIN * 60) != (t - scrape_s - phase_s) // (ERRORS_EVERY_MIN * 60):
            bad += 1
        total = 1000 * t // 60
        out_bad.append(bad)
        out_total.append(total)
    if reset_at is not None:
        base_bad, base_total = out_bad[reset_at], out_total[reset_at]
        out_bad[reset_at:] = [b - base_bad for b in out_bad[reset_at:]]
        out_total[reset_at:] = [t - base_total for t in out_total[reset_at:]]
    return out_bad, out_total


_GOT = re.compile(r"got: (.*)")


def count_error(phase_s: int, scrape_s: int, reset: bool) -> dict[str, float]:
    """Each way's count of the errors of the last day, and the truth."""
    end_min = DAY_MIN + 60
    samples = end_min * 60 // scrape_s + 1
    reset_at = samples // 2 if reset else None
    bad, total = _errors(phase_s, scrape_s, samples, reset_at)
    first = (end_min - DAY_MIN) * 60 // scrape_s
    truth = bad[-1] - bad[first] + (bad[reset_at - 1] if reset_at else 0)
    series = [
        {
            "series": f'http_requests_total{{{sc.CHECKOUT}, status="200"}}',
            "values": " ".join(str(t - b) for t, b in zip(total, bad, strict=True)),
        },
        {"series": f'http_requests_total{{{sc.CHECKOUT}, status="500"}}', "values": " ".join(map(str, bad))},
    ]
    slo = sc.slos(TIER)[SLO]
    got: dict[str, float] = {}
    for label, variant in (("increase tiles", _untiled(slo)), ("exact tiles", slo)):
        rules = _day_rules(variant)
        query = f'{engine.bad("1d")}{{slo="{SLO}"}}'
        got[label] = _evaluate(rules, series, scrape_s, end_min, [query])[0]
    raw = slo.sli.bad_in("1d")
    got["raw"] = _evaluate(_day_rules(slo), series, scrape_s, end_min, [raw])[0]
    got["truth"] = truth
    return got


def _evaluate(rules: RuleGroup, series: list[dict[str, str]], scrape_s: int, end_min: int, queries: list[str]) -> list[float]:
    tests = [{"expr": q, "eval_time": f"{end_min}m", "exp_samples": [{"labels": "{}", "value": -1}]} for q in queries]
    test = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [{"interval": f"{scrape_s}s", "input_series": series, "promql_expr_test": tests}],
    }
    result = sc.run(yamlio.dump({"groups": [rules.render(sc.stack(TIER))]}), yamlio.dump(test))
    got = _GOT.findall(result.stdout + result.stderr)
    if len(got) != len(queries):
        raise RuntimeError(f"unexpected promtool output\n{result.stdout}\n{result.stderr}")
    return [float(g.split()[-1]) for g in got]


def errors() -> list[dict[str, Any]]:
    cases = [(s, r, p) for s in (15, 60) for r in (False, True) for p in range(ERRORS_EVERY_MIN)]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        found = list(pool.map(lambda c: count_error(c[2] * 60 + 7, c[0], c[1]), cases))
    return [{"scrape_seconds": s, "reset": r, "phase_minutes": p, **got} for (s, r, p), got in zip(cases, found, strict=True)]


# --- cost -----------------------------------------------------------------------


def raw_series(data: Data, stack: model.Stack, start: int, end: int, resolution: int) -> None:
    """The series the SLO rules read, per service: requests by route and status, and
    the latency threshold's bucket; nothing else (other series only add index entries)."""
    for service in stack.services:
        c = service.contract
        labels0 = {**dict(c.selector), "instance": f"10.0.0.{_h(service.name) * 250:.0f}:8080", "pod": f"{service.name}-0"}
        labels0.setdefault("job", "kubernetes-pods")
        bucket = {"le": repr(float(THRESHOLD))}
        for route, method in ROUTES:
            rps = 2 + 20 * _h(service.name, route)
            for status, share in STATUSES.items():
                labels = {**labels0, c.route: route, c.method: method, c.status: status}
                data.family(f"{c.duration}_count").add(labels, start, end, counter(rps * share, start), resolution)
                data.family(c.duration_bucket).add({**labels, **bucket}, start, end, counter(rps * share * 0.997, start), resolution)
                if c.requests != f"{c.duration}_count":
                    data.family(c.requests).add(labels, start, end, counter(rps * share, start), resolution)


def tile_history(data: Data, slos: list[slo_engine.SLO], start: int, end: int) -> None:
    """The tiles a long-running Prometheus holds (1m and 5m, recorded every minute), for the SLOs that have them."""
    for slo in slos:
        labels = slo.series_labels
        for tile, events in ((DAY_TILE, 600.0), (engine.SHORTEST, 3000.0)):
            if tile == engine.SHORTEST or slo.sli.exact_tiles:
                data.family(engine.total(tile)).add(labels, start, end, lambda t, n=events: n, 60)
                data.family(engine.bad(tile)).add(labels, start, end, lambda t, n=events: n / 1000, 60)


def _rule_files(stack: model.Stack, dest: Path, raw_limit: str) -> tuple[list[Path], int]:
    """The stack's SLO rule groups, evaluated every 15 s, with windows up to raw_limit read raw."""
    saved = engine.RAW_WINDOW_LIMIT
    engine.RAW_WINDOW_LIMIT = raw_limit
    try:
        groups = [dict(g.render(stack), interval="15s") for g in slo_engine.rule_groups(stack)]
    finally:
        engine.RAW_WINDOW_LIMIT = saved
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / "slo.rules.yaml"
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    return [path], sum(len(g["rules"]) for g in groups)


def cost(services: int, rounds: int) -> list[dict[str, Any]]:
    # Shorter than slo_evaluation's runs: four variants to time, each settles within a minute.
    slo_evaluation.WARMUP_S, slo_evaluation.MEASURE_S = 45, 90
    out = []
    with tempfile.TemporaryDirectory(prefix="obs-long-windows-") as tmp_name:
        tmp = Path(tmp_name)
        stack = model.build(load(write_profile(tmp / f"org{services}.yaml", services)))
        slos = slo_engine.slos(stack)
        variants = {"tiles (1d, 3d summed)": "6h", "raw (1d, 3d read raw)": "3d"}
        rules = {label: _rule_files(stack, tmp / f"rules-{k}", limit) for k, (label, limit) in enumerate(variants.items())}
        for resolution in RESOLUTIONS:
            now = int(time.time()) // 60 * 60
            data = Data()
            raw_series(data, stack, now - HISTORY, now, resolution)
            tile_history(data, slos, now - HISTORY, now)
            series, samples = data.counts()
            tsdb = tmp / f"tsdb-{resolution}"
            backfill(data.write(tmp, f"raw-{resolution}", 2), tsdb)
            runs: dict[str, list[dict[str, Any]]] = {label: [] for label in variants}
            for _ in range(rounds):
                for label in variants:
                    runs[label].append(slo_evaluation._run(label.split()[0], tsdb, rules[label][0], tmp))
            out.append(
                {
                    "resolution_seconds": resolution,
                    "series": series,
                    "samples": samples,
                    "rules": {label: r[1] for label, r in rules.items()},
                    "runs": runs,
                }
            )
    return out


# --- report ---------------------------------------------------------------------


def report(result: dict[str, Any]) -> str:
    lines = [
        "# Long windows: exactness and cost",
        "",
        f"Generated by `benchmarks/long_windows.py` at `{result['head']}`; promtool and Prometheus 3.5 on 2 cores.",
        "",
        "## How exactly a day is counted",
        "",
        f"One error every {ERRORS_EVERY_MIN} minutes (144 a day), at each of the 10 positions an error can take"
        " against the 5m tiles; the 1d count of bad events at the end of the day (min … max over the positions; truth per row).",
        "With a reset, the counters of the service restart from 0 at mid-day (a restarted pod).",
        "",
        "| scrape | reset | truth | 5m increase tiles (before) | 1m exact tiles (now) | raw `increase(…[1d])` |",
        "|---|---|---:|---:|---:|---:|",
    ]
    rows: dict[tuple[int, bool], list[dict[str, Any]]] = {}
    for row in result["errors"]:
        rows.setdefault((row["scrape_seconds"], row["reset"]), []).append(row)
    for (scrape, reset), items in rows.items():

        def span(key: str, items: list[dict[str, Any]] = items) -> str:
            values = [r[key] for r in items]
            lo, hi = min(values), max(values)
            return f"{lo:g}" if lo == hi else f"{lo:g} … {hi:g}"

        spans = " | ".join(span(k) for k in ("truth", "increase tiles", "exact tiles", "raw"))
        lines.append(f"| {scrape} s | {'yes' if reset else 'no'} | {spans} |")
    lines += [
        "",
        "Increase tiles extrapolate each 5m count to its edges and drop what happens between the last sample of one tile and"
        " the first of the next, so an error counts 0 or 1.05 (15 s scrape) or 1.25 (1 m) times by where it falls."
        " Exact tiles telescope: their sum is the counter's increase over the day, up to the tile in which a reset falls"
        " (an `increase()` there). The raw window extrapolates only at its two edges. A sum of 5m tiles at 5m steps ends at"
        " the last 5m boundary, so a ticket could wait up to 5 minutes for it; 1m tiles end at the evaluation.",
    ]
    if result.get("cost"):
        lines += [
            "",
            "## What it costs",
            "",
            f"{result['services']} services, an availability and a latency SLO each; SLO groups evaluated every 15 s;"
            f" median of {result['rounds']} runs per variant, alternating.",
            "",
            "| samples every | backfilled series | variant | SLO rules | seconds per evaluation cycle | CPU seconds per minute |",
            "|---|---:|---|---:|---:|---:|",
        ]
        for block in result["cost"]:
            for label, runs in block["runs"].items():
                cycle = statistics.median(r["cycle_seconds"] for r in runs if r["cycle_seconds"] is not None)
                cpu = statistics.median(r["cpu_seconds_per_minute"] for r in runs)
                where = f"| {block['resolution_seconds']} s | {block['series']:,} | {label} |"
                lines.append(f"{where} {block['rules'][label]:,} | {cycle:.3f} | {cpu:.2f} |")
        lines += [
            "",
            "A raw window reads every sample of every matching series at each evaluation: its cost follows the scrape rate"
            " (a 15 s scrape is 10× the samples of the 150 s rows), while a tile is one recorded sample per step"
            " whatever the scrape rate. Backfilled series: the raw series the SLOs read and three days of the tiles.",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--skip-cost", action="store_true", help="only the promtool error study (a minute)")
    parser.add_argument("--render-only", action="store_true", help="rewrite the .md from the .json")
    args = parser.parse_args()
    if args.render_only:
        rerender("long-windows", report)
        return
    result: dict[str, Any] = {"head": head(), "services": args.services, "rounds": args.rounds, "errors": errors()}
    if not args.skip_cost:
        result["cost"] = cost(args.services, args.rounds)
    write_reports("long-windows", result, report(result))


if __name__ == "__main__":
    main()
