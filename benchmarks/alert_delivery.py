"""Alert delivery time on a live stack: from a fault in a service to the
notification at the receiver, and from its recovery to the resolved one.

    .venv/bin/python benchmarks/alert_delivery.py [--repetitions 3]   # writes benchmarks/reports/alert-delivery.md

The stack is the live tests' (tests/support/live_stack.py): Prometheus 3.5,
Alertmanager 0.33 and blackbox_exporter 0.28 on loopback with the configs,
rules and flags the chart renders from tests/fixtures/profiles/live.yaml
(intermediate tier), two reference services under load, and a webhook
receiver that stamps each notification's arrival. The scenarios are the
live tests' (tests/support/live_scenarios.py):

- hard failure, repeated: `inventory` down (every endpoint 503) until the
  critical ServiceProbeFailing and TargetDown notifications arrive, then up
  until both resolved notifications arrive;
- SLO burn, once per pass: `refservice` fails half its requests until the
  fast-burn page arrives.

Two passes. Pass 1 uses the live tests' shortened SLO evaluation (5 s, and
the ticket's `for` 2m, to see it inhibited); pass 2 runs every rule as
rendered (SLO groups every 1m) for the page's real delivery time, with one
more hard failure. Hard-failure alerts are evaluated as rendered in both.

The report gives, next to the measurements, the bounds that follow from the
rendered intervals, `for`s and Alertmanager timings (computed from the
rendered configs, not typed in).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import random
import signal
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

from tests.support.live_scenarios import HARD_DOWN_ALERTS, PAGE, TWIN, HardDown, SLOBurn, hard_down, slo_burn  # noqa: E402
from tests.support.live_stack import LIVE_PROFILE, SHORTENED_INTERVALS, LiveStack, live_stack  # noqa: E402
from tests.support.tools import tool  # noqa: E402

from obsgen.rules.slo.windows import DAY_TILE, seconds  # noqa: E402

REPORT = ROOT / "benchmarks" / "reports" / "alert-delivery.md"
RAW = ROOT / "benchmarks" / "reports" / "alert-delivery.json"
DOWN_SERVICE, BURN_SERVICE, SLO = "inventory", "refservice", "refservice-availability"
SETTLE = 30.0  # seconds between hard failures, after every target is healthy again


def _version(name: str) -> str:
    import subprocess

    proc = subprocess.run([tool(name), "--version"], capture_output=True, text=True, timeout=30)
    return (proc.stdout + proc.stderr).splitlines()[0].strip()


def settings(stack: LiveStack, intervals: dict[str, str]) -> dict[str, Any]:
    """The timings that bound delivery, read from the rendered configs (and what the pass changed)."""
    prom, am = stack.rendered["prometheus.yml"], stack.rendered["alertmanager.yml"]
    blackbox = next(j for j in prom["scrape_configs"] if j["job_name"] == "blackbox")
    groups = {g["name"]: g for text in stack.rendered["rules"].values() for g in yaml.safe_load(text)["groups"]}
    alerts = {r["alert"]: (name, r) for name, g in groups.items() for r in g["rules"] if "alert" in r}

    def group_interval(alert: str) -> str:
        return groups[alerts[alert][0]].get("interval", prom["global"]["evaluation_interval"])

    routes = {r["matchers"][0]: r for r in am["route"]["routes"]}
    critical, warning = routes['severity="critical"'], routes['severity="warning"']
    return {
        "scrape_interval": prom["global"]["scrape_interval"],
        "probe_interval": blackbox.get("scrape_interval", prom["global"]["scrape_interval"]),
        "evaluation_interval": prom["global"]["evaluation_interval"],
        "alerts": {
            name: {
                "group": alerts[name][0],
                "interval": group_interval(name),
                "for": alerts[name][1].get("for", "0s"),
                "interval_used": next((v for p, v in intervals.items() if fnmatch.fnmatchcase(alerts[name][0], p)), group_interval(name)),
            }
            for name in (*HARD_DOWN_ALERTS, PAGE, TWIN)
        },
        "critical": {k: critical[k] for k in ("group_wait", "group_interval", "repeat_interval")},
        "warning": {k: warning[k] for k in ("group_wait", "group_interval", "repeat_interval")},
    }


def bounds(s: dict[str, Any], shortened: bool) -> dict[str, tuple[float, float, str]]:
    """(best, worst, arithmetic) of each delivery, continuous time, network and processing taken as 0."""
    scrape, probe = seconds(s["scrape_interval"]), seconds(s["probe_interval"])
    wait, tick = seconds(s["critical"]["group_wait"]), seconds(s["critical"]["group_interval"])
    out: dict[str, tuple[float, float, str]] = {}
    for alert, interval, sample in (("ServiceProbeFailing", probe, "probe"), ("TargetDown", scrape, "scrape")):
        ev, fr = seconds(s["alerts"][alert]["interval"]), seconds(s["alerts"][alert]["for"])
        out[f"{alert} firing"] = (
            fr + wait,
            interval + ev + fr + wait,
            f"next {sample} ≤ {interval} s + next evaluation ≤ {ev} s (pending) + for {fr} s + group_wait {wait} s",
        )
    for alert, interval in (("ServiceProbeFailing", probe), ("TargetDown", scrape)):
        ev = seconds(s["alerts"][alert]["interval"])
        out[f"{alert} resolved"] = (
            0,
            interval + ev + tick,
            f"next {'probe' if alert == 'ServiceProbeFailing' else 'scrape'} ≤ {interval} s + next evaluation ≤ {ev} s"
            f" + the group's next flush ≤ group_interval {tick} s (resolved alerts wait for it, not for group_wait)",
        )
    a = s["alerts"][PAGE]
    ev = seconds(a["interval_used"] if shortened else a["interval"])
    fr = seconds(a["for"])
    # A new error series needs two scrapes before increase() sees it; then the
    # group sees it at its next evaluation, pending; firing at the first
    # evaluation at least `for` later (a whole number of intervals).
    for_steps = -(-fr // ev) * ev
    out[f"{PAGE} firing"] = (
        scrape + for_steps + wait,
        2 * scrape + ev + for_steps + wait,
        f"errors in two scrapes ≤ {2 * scrape} s (a new 5xx series needs two samples) + next SLO evaluation ≤ {ev} s"
        f" + for {fr} s (rounded up to evaluations) + group_wait {wait} s",
    )
    if shortened:
        a = s["alerts"][TWIN]
        ev, fr, step = seconds(a["interval_used"]), seconds(a["for"]), seconds(DAY_TILE)
        out[f"{TWIN} held inhibited"] = (
            scrape + fr,
            2 * scrape + step + ev + fr,
            f"errors in two scrapes ≤ {2 * scrape} s + the next {DAY_TILE} boundary ≤ {step} s (its 1d window adds {DAY_TILE} tiles"
            f" at {DAY_TILE}-aligned steps) + next SLO evaluation ≤ {ev} s + for {fr} s; Alertmanager holds it inhibited on arrival",
        )
    return out


def _stats(values: list[float]) -> str:
    if not values:
        return "— | — | — | 0"
    return f"{min(values):.0f} | {statistics.median(values):.0f} | {max(values):.0f} | {len(values)}"


def run_pass(workdir: Path, repetitions: int, shortened: bool, rng: random.Random) -> dict[str, Any]:
    intervals = dict(SHORTENED_INTERVALS) if shortened else {}
    with live_stack(workdir, LIVE_PROFILE, intervals=intervals) as stack:
        stack.wait_healthy()
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="slo") as pool:
            burn_future = pool.submit(slo_burn, stack, BURN_SERVICE, SLO, 0.5, shortened)
            downs: list[HardDown] = []
            for i in range(repetitions):
                if i:
                    time.sleep(SETTLE)
                    stack.wait_healthy()
                # Recover at a random point of the groups' flush cycle (see hard_down).
                critical = next(r for r in stack.rendered["alertmanager.yml"]["route"]["routes"] if 'severity="critical"' in r["matchers"])
                tick = seconds(critical["group_interval"])
                downs.append(hard_down(stack, DOWN_SERVICE, hold=rng.uniform(0, tick)))
                times = [(t.alert, t.status, t.seconds) for t in downs[-1].firing + downs[-1].resolved]
                print(f"  hard failure {i + 1}/{repetitions}: {times}")
            burn: SLOBurn = burn_future.result()
        print(f"  SLO page after {burn.page.seconds if burn.page else None} s; ticket inhibited after {burn.twin_inhibited_after} s")
        return {
            "shortened": shortened,
            "intervals": intervals,
            "settings": settings(stack, intervals),
            "hard_down": [d.as_dict() for d in downs],
            "slo_burn": burn.as_dict(),
            "elapsed_s": round(time.monotonic() - started, 1),
        }


def render(passes: list[dict[str, Any]], versions: dict[str, str]) -> str:
    s = passes[0]["settings"]
    lines = [
        "# Alert delivery",
        "",
        "Generated by `benchmarks/alert_delivery.py` — rerun it to refresh this report.",
        "",
        "What is measured: seconds from a fault being in effect in a reference service to the arrival of Alertmanager's"
        " notification at a webhook receiver (firing), and from the recovery to the resolved notification. Real processes"
        " on loopback, with the configs, rules and flags the chart renders for `tests/fixtures/profiles/live.yaml`"
        " (intermediate tier) through the documented loopback transform; the same stack and scenarios as"
        " `tests/test_live_e2e.py`. 2 CPU cores, shared with the load generator and the services.",
        "",
        "Versions: " + "; ".join(f"{k}: {v}" for k, v in versions.items()) + ".",
        "",
        "## What bounds the times",
        "",
        f"- Scrape interval {s['scrape_interval']}, probe interval {s['probe_interval']}, evaluation interval {s['evaluation_interval']}.",
        f"- Alertmanager, critical route: group_wait {s['critical']['group_wait']}, group_interval {s['critical']['group_interval']},"
        f" repeat_interval {s['critical']['repeat_interval']}; warning route: group_wait {s['warning']['group_wait']}.",
        "",
        "| alert | rule group | evaluated every (rendered) | for (rendered) | pass 1 (shortened) |",
        "|---|---|---|---|---|",
    ]
    for name, a in s["alerts"].items():
        changed = []
        if a["interval_used"] != a["interval"]:
            changed.append(f"every {a['interval_used']}")
        lines.append(f"| {name} | {a['group']} | {a['interval']} | {a['for']} | {', '.join(changed) or 'as rendered'} |")
    lines += [
        "",
        "Shortened in pass 1 only (loopback rule 11), as in the live tests: the SLO group is evaluated every"
        f" {SHORTENED_INTERVALS['slo-*']} instead of every minute. Every `for` is as rendered (the ticket's is the"
        " page's 2m). Pass 2 runs every rule as rendered.",
        "",
        "Expected range (continuous time; network, evaluation and notification costs taken as 0):",
        "",
        "| delivery | best | worst | arithmetic of the worst case |",
        "|---|---:|---:|---|",
    ]
    for p in passes:
        for name, (best, worst, why) in bounds(p["settings"], p["shortened"]).items():
            if not name.startswith((PAGE, TWIN)) and p is not passes[0]:
                continue
            label = name
            if name.startswith((PAGE, TWIN)):
                label += f" ({'SLO group every ' + p['intervals']['slo-*'] if p['shortened'] else 'as rendered'})"
            lines.append(f"| {label} | {best:.0f} s | {worst:.0f} s | {why} |")
    lines += [
        "",
        "## Measured",
        "",
        "Hard failure (`inventory` down: every endpoint answers 503), all passes; seconds:",
        "",
        "| delivery | min | median | max | runs |",
        "|---|---:|---:|---:|---:|",
    ]
    downs = [d for p in passes for d in p["hard_down"]]
    for status in ("firing", "resolved"):
        for alert in HARD_DOWN_ALERTS:
            values = [t["seconds"] for d in downs for t in d[status] if t["alert"] == alert]
            lines.append(f"| {alert} {status} | {_stats(values)} |")
    lines += [
        "",
        "Of which Prometheus (fault → the alert's `startsAt`, or recovery → its `endsAt`); the rest is Alertmanager's grouping:",
        "",
        "| stage | min | median | max | runs |",
        "|---|---:|---:|---:|---:|",
    ]
    for status in ("firing", "resolved"):
        for alert in HARD_DOWN_ALERTS:
            values = [t["fired_after"] for d in downs for t in d[status] if t["alert"] == alert and t["fired_after"] is not None]
            lines.append(f"| {alert} {status}: Prometheus | {_stats(values)} |")
    lines += ["", "SLO burn (`refservice` fails 50 % of its requests; 99.9 % availability over 30d):", ""]
    lines += ["| pass | page delivered | of which Prometheus | ticket held inhibited after | ticket notified | report status | 1h burn |"]
    lines += ["|---|---:|---:|---:|---|---|---:|"]
    for p in passes:
        b = p["slo_burn"]
        page = b["page"] or {}
        entry = (b["report"] or {}).get("entry") or {}
        unchecked = "not checked (this pass measures the page as rendered)"
        twin = f"{b['twin_inhibited_after']:.0f} s" if b["twin_inhibited_after"] is not None else unchecked
        notified = "no" if not b["twin_notified"] else f"yes ({len(b['twin_notified'])})"
        notified = notified if b["twin_inhibited_after"] is not None else "—"
        burn_1h = f"{entry['burn_rate_1h']:.0f}×" if entry.get("burn_rate_1h") is not None else "—"
        name = f"1 (SLO group every {p['intervals']['slo-*']})" if p["shortened"] else "2 (as rendered, every 1m)"
        lines.append(
            f"| {name} | {page['seconds']:.0f} s | {page['fired_after']:.0f} s | {twin} |"
            f" {notified} | {entry.get('status', '—')} | {burn_1h} |"
        )
    lines += [
        "",
        "Per run (seconds, firing / resolved):",
        "",
    ]
    for i, p in enumerate(passes, 1):
        for j, d in enumerate(p["hard_down"], 1):
            res = {t["alert"]: t["seconds"] for t in d["resolved"]}
            cells = ", ".join(f"{t['alert']} {t['seconds']:.0f} / {res.get(t['alert'], float('nan')):.0f}" for t in d["firing"])
            lines.append(f"- pass {i}, hard failure {j}: {cells}")
    lines += [
        "",
        "Reading the numbers:",
        "",
        "- The probe alert is the one that pages within a minute of a hard failure; TargetDown, with its `for: 2m`, follows"
        " and carries the diagnosis (the target cannot be scraped at all).",
        "- Resolved notifications are not sent on their own: Alertmanager adds them to the group's next flush, every"
        " group_interval after the first, hence their spread. Each run stays down a random 0–group_interval after the"
        " last firing notification before recovering, so recoveries fall anywhere in that cycle.",
        f"- The ticket's 1d window adds {DAY_TILE} tiles at {DAY_TILE}-aligned steps, so it can only see the burn after the next"
        f" {DAY_TILE} boundary of the wall clock; the time until it is held inhibited varies by up to that much between runs.",
        "- A fresh Prometheus has minutes of history, so the 30d budget is spent as soon as the period sums include the burn:"
        " the report says `breach` (with the burn rate that pages) rather than `critical`.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repetitions", type=int, default=3, help="hard failures in pass 1 (pass 2 adds one)")
    parser.add_argument("--skip-as-rendered", action="store_true", help="only pass 1")
    parser.add_argument("--render-only", action="store_true", help=f"rewrite the report from {RAW.name} without running anything")
    args = parser.parse_args()
    # A plain SIGTERM would end the interpreter without the stack's cleanup, leaving its processes behind.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.render_only:
        raw = json.loads(RAW.read_text())
        REPORT.write_text(render(raw["passes"], raw["versions"]))
        return
    rng = random.Random(6)  # reproducible recovery points
    versions = {name: _version(name) for name in ("prometheus", "alertmanager", "blackbox_exporter")}
    passes = []
    with tempfile.TemporaryDirectory(prefix="alert-delivery-") as tmp:
        print(f"pass 1: shortened SLO evaluation, {args.repetitions} hard failures")
        passes.append(run_pass(Path(tmp) / "pass1", args.repetitions, shortened=True, rng=rng))
        if not args.skip_as_rendered:
            print("pass 2: every rule as rendered, 1 hard failure")
            passes.append(run_pass(Path(tmp) / "pass2", 1, shortened=False, rng=rng))
    RAW.write_text(json.dumps({"versions": versions, "passes": passes}, indent=2) + "\n")
    REPORT.write_text(render(passes, versions))
    print(f"wrote {REPORT.relative_to(ROOT)} and {RAW.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
