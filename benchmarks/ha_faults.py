"""HA under faults: does every incident give exactly one page and one resolve?

    .venv/bin/python benchmarks/ha_faults.py [--minutes 30]   # writes benchmarks/reports/ha-faults.md

Two copies of the HA stack run side by side on the same targets and the
same fault schedule (tests/support/ha_stack.py: the advanced tier's two
Prometheus replicas and three clustered Alertmanagers, rendered from
tests/fixtures/profiles/ha.yaml):

- `rendered`: the configs and flags the chart renders now;
- `before`: the same, with the Alertmanager timings obs rendered before
  (critical group_wait 10 s, no --cluster.peer-timeout, so 15 s), which let
  a waiting replica's stale "resolved" go out after a re-fired alert's page.

Each service's target (the profile's 12 services) goes down until both
critical alerts about it must have paged, ServiceProbeFailing (`for` 15s)
and TargetDown (`for` 2m), comes back, and goes down again after 1.5 to 8
minutes: every re-fire is within the 15 minutes in which Prometheus keeps
resending the previous incident's resolved alert. The race needs an alert
whose `for` is shorter than the last Alertmanager's wait ((replicas - 1) x
peer timeout): Prometheus stops resending the old resolve when the alert
turns pending again, so a `for` of 2 minutes keeps the re-fired page far
from the last resend; ServiceProbeFailing's 15 s does not. Meanwhile an Alertmanager is killed
(SIGKILL) for 90 s every few minutes, before or after some sends, and a
Prometheus replica twice for 2 minutes; killed processes restart on their
data directory, as a rescheduled pod would.

An incident is one down period of one service, judged per alert. Its
notifications are the webhook's notifications of that alert for that
service from its start to the next incident's start. Right: exactly one firing, then exactly one
resolved. The report counts every other outcome (duplicate or missed page,
a resolved during the incident, a lost or duplicate resolve).
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.ha_stack import HA_PROFILE, HAStack, Targets, critical_group_wait, ha_stack  # noqa: E402
from tests.support.tools import tool  # noqa: E402

from obsgen.profile import load as load_profile  # noqa: E402

REPORT = ROOT / "benchmarks" / "reports" / "ha-faults.md"
RAW = ROOT / "benchmarks" / "reports" / "ha-faults.json"
ALERTS = ("ServiceProbeFailing", "TargetDown")
# Down long enough for a page in every variant: scrape 15 s + evaluation 15 s
# + for 2m + group_wait (15 s at most) + a peer wait and slack.
DOWN = 240.0
# Up between two incidents of one service, seconds: long enough for the
# resolve to be flushed (group_interval 1m) before the alert fires again.
GAP = (90.0, 480.0)
TAIL = 300.0  # after the last incident: every resolve has arrived (group_interval 1m, resend 1m)
AM_OUTAGE, PROM_OUTAGE = 90.0, 120.0


def _before(config: dict[str, Any], args: list[str]) -> tuple[dict[str, Any], list[str]]:
    """The Alertmanager timings obs rendered before: critical group_wait 10 s, the default 15 s peer timeout."""
    for route in config["route"]["routes"]:
        if route.get("matchers") == ['severity="critical"']:
            route["group_wait"] = "10s"
    return config, [a for a in args if not a.startswith("--cluster.peer-timeout=")]


VARIANTS: dict[str, Callable[[dict[str, Any], list[str]], tuple[dict[str, Any], list[str]]] | None] = {
    "rendered": None,
    "before": _before,
}


@dataclass
class Incident:
    service: str
    down: float  # time.time() the target went down
    up: float = 0.0


@dataclass
class Fault:
    what: str  # alertmanager-1, prometheus-0
    start: float
    end: float = 0.0


@dataclass
class Run:
    incidents: list[Incident] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)


def schedule(services: list[str], minutes: float, rng: random.Random, alertmanagers: int) -> list[tuple[float, str, str]]:
    """(seconds from start, action, subject): target down/up per service, kills and restarts."""
    events: list[tuple[float, str, str]] = []
    end = minutes * 60
    for s in services:
        t = rng.uniform(0, 120)
        while t + DOWN < end:
            events += [(t, "down", s), (t + DOWN, "up", s)]
            t += DOWN + rng.uniform(*GAP)
    t, n = 150.0, 0
    while t + PROM_OUTAGE < end:
        # Every third fault is a Prometheus replica, the others an Alertmanager.
        if n % 3 == 2:
            subject, outage = f"prometheus-{(n // 3) % 2}", PROM_OUTAGE
        else:
            subject, outage = f"alertmanager-{rng.randrange(alertmanagers)}", AM_OUTAGE
        events += [(t, "kill", subject), (t + outage, "start", subject)]
        t += outage + rng.uniform(120, 240)
        n += 1
    return sorted(events)


def execute(events: list[tuple[float, str, str]], targets: Targets, stacks: dict[str, HAStack]) -> Run:
    run = Run()
    open_incidents: dict[str, Incident] = {}
    open_faults: dict[str, Fault] = {}
    start = time.time()
    queue = list(events)
    heapq.heapify(queue)
    while queue:
        at, action, subject = heapq.heappop(queue)
        time.sleep(max(0.0, start + at - time.time()))
        now = time.time()
        if action == "down":
            targets.down.add(subject)
            open_incidents[subject] = Incident(subject, now)
            run.incidents.append(open_incidents[subject])
        elif action == "up":
            targets.down.discard(subject)
            open_incidents.pop(subject).up = now
        else:
            replicas = [next(r for r in stack.replicas() if r.name == subject) for stack in stacks.values()]
            if action == "kill":
                for r in replicas:
                    r.kill()
                open_faults[subject] = Fault(subject, now)
                run.faults.append(open_faults[subject])
            else:
                for r in replicas:
                    r.start()
                open_faults.pop(subject).end = now
        print(f"[{now - start:7.1f}s] {action} {subject}", flush=True)
    time.sleep(TAIL)
    return run


def _notifications(stack: HAStack, service: str, alert: str) -> list[tuple[float, str]]:
    """(arrival, status) of one alert's notifications for one service."""
    out = []
    for n in stack.receiver.notifications():
        alerts = [a for a in n.body.get("alerts", []) if a["labels"].get("alertname") == alert and a["labels"].get("service") == service]
        if alerts:
            out.append((n.wall, n.body["status"]))
    return sorted(out)


def judge(run: Run, stack: HAStack, alert: str) -> list[dict[str, Any]]:
    """Every incident with one alert's notifications and what was wrong with them."""
    verdicts = []
    by_service: dict[str, list[Incident]] = {}
    for i in run.incidents:
        by_service.setdefault(i.service, []).append(i)
    for service, incidents in by_service.items():
        notes = _notifications(stack, service, alert)
        for k, incident in enumerate(incidents):
            until = incidents[k + 1].down if k + 1 < len(incidents) else float("inf")
            seen = [(t - incident.down, status) for t, status in notes if incident.down <= t < until]
            firing = [t for t, s in seen if s == "firing"]
            resolved = [t for t, s in seen if s == "resolved"]
            problems = []
            if not firing:
                problems.append("no page")
            if len(firing) > 1:
                problems.append(f"{len(firing)} pages")
            if any(t < incident.up - incident.down for t in resolved):
                problems.append("resolved while down")
            if not [t for t in resolved if t >= incident.up - incident.down]:
                problems.append("resolve lost")
            if len(resolved) > 1:
                problems.append(f"{len(resolved)} resolves")
            if firing and resolved and min(resolved) < min(firing):
                problems.append("resolved before its page")
            end = min(until, incident.up + TAIL)
            faults = [f.what for f in run.faults if f.start < end and (f.end or end) > incident.down]
            verdicts.append(
                {
                    "service": service,
                    "alert": alert,
                    "down": round(incident.down, 3),
                    "up_after": round(incident.up - incident.down, 1),
                    "notifications": [(round(t, 1), s) for t, s in seen],
                    "problems": problems,
                    "faults_during": faults,
                }
            )
    return sorted(verdicts, key=lambda v: v["down"])


def _version(name: str) -> str:
    import subprocess

    proc = subprocess.run([tool(name), "--version"], capture_output=True, text=True, timeout=30)
    return (proc.stdout + proc.stderr).splitlines()[0].strip()


def summary(verdicts: list[dict[str, Any]]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for v in verdicts:
        for p in v["problems"]:
            key = p.split(" ", 1)[1] if p[0].isdigit() else p
            counts[key] = counts.get(key, 0) + 1
    right = sum(1 for v in verdicts if not v["problems"])
    return {"incidents": len(verdicts), "right": right, "problems": counts}


def write_report(result: dict[str, Any]) -> None:
    lines = [
        "# HA under faults: one page and one resolve per incident",
        "",
        "Generated by `benchmarks/ha_faults.py` — do not edit; rerun it to refresh.",
        "",
        f"{result['minutes']} minutes, {result['services']} services, seed {result['seed']}; "
        f"{result['versions']['prometheus']}, {result['versions']['alertmanager']}.",
        "Both variants ran at the same time on the same targets and faults: 2 Prometheus replicas and "
        "3 clustered Alertmanagers each, from `tests/fixtures/profiles/ha.yaml` (advanced tier).",
        "",
        "| variant | critical group_wait | peer timeout | alert | incidents | right | wrong | what went wrong |",
        "|---|---|---|---|---:|---:|---:|---|",
    ]
    for name, v in result["variants"].items():
        for alert, s in v["summary"].items():
            wrong = ", ".join(f"{k}: {n}" for k, n in sorted(s["problems"].items())) or "—"
            cells = [name, v["group_wait"], v["peer_timeout"], alert, s["incidents"], s["right"], s["incidents"] - s["right"], wrong]
            lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    lines += [
        "",
        "Right: exactly one firing notification of the alert, then exactly one resolved one after the target came back, "
        "between the incident's start and the next incident of the same service. Every re-fire came 1.5 to 8 "
        "minutes after the previous incident's recovery, while Prometheus still resent its resolved alert.",
        "",
        "Only an alert whose `for` is shorter than the last Alertmanager's wait ((replicas - 1) x peer timeout: 30 s "
        "before) can meet the race: Prometheus stops resending the previous resolve when the alert turns pending "
        "again, so TargetDown's 2 minutes keep its new page far from the stale flush, and ServiceProbeFailing's 15 s "
        "do not. The earlier timings' wrong incidents are the issue's: a resolve 5 s after the new page, then the "
        "page again and a second resolve.",
        "",
        "## Faults",
        "",
        "| process | killed at (s) | back after (s) | incidents overlapping |",
        "|---|---:|---:|---:|",
    ]
    t0 = result["started"]
    for f in result["faults"]:
        lines.append(f"| {f['what']} | {f['start'] - t0:.0f} | {f['end'] - f['start']:.0f} | {f['incidents']} |")
    for name, v in result["variants"].items():
        bad = [x for x in v["incidents"] if x["problems"]]
        if not bad:
            continue
        lines += [
            "",
            f"## Wrong incidents: {name}",
            "",
            "| service | alert | down at (s) | up after (s) | notifications (s after down) | wrong | faults |",
            "|---|---|---:|---:|---|---|---|",
        ]
        for x in bad:
            notes = ", ".join(f"{s} {t}" for t, s in x["notifications"])
            cells = [
                x["service"],
                x["alert"],
                f"{x['down'] - t0:.0f}",
                x["up_after"],
                notes,
                "; ".join(x["problems"]),
                ", ".join(x["faults_during"]) or "—",
            ]
            lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    REPORT.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--no-report", action="store_true", help="print, do not write benchmarks/reports")
    parser.add_argument("--render-only", action="store_true", help=f"rewrite the report from {RAW.name} without running anything")
    args = parser.parse_args()
    if args.render_only:
        write_report(json.loads(RAW.read_text()))
        return
    rng = random.Random(args.seed)
    services = [svc["name"] for svc in load_profile(HA_PROFILE).data["services"]]
    targets = Targets(services)
    with tempfile.TemporaryDirectory(prefix="ha-faults-") as tmp, ExitStack() as stack_of:
        stacks = {
            name: stack_of.enter_context(ha_stack(Path(tmp) / name, targets, alertmanager=change)) for name, change in VARIANTS.items()
        }
        alertmanagers = len(stacks["rendered"].alertmanagers)
        events = schedule(services, args.minutes, rng, alertmanagers)
        time.sleep(30)  # every replica has scraped the healthy targets and evaluated once
        started = time.time()
        run = execute(events, targets, stacks)
        result: dict[str, Any] = {
            "minutes": args.minutes,
            "services": len(services),
            "seed": args.seed,
            "started": started,
            "versions": {"prometheus": _version("prometheus"), "alertmanager": _version("alertmanager")},
            "faults": [],
            "variants": {},
        }
        for name, stack in stacks.items():
            config, am_args = stack.rendered["alertmanager.yml"], stack.rendered["alertmanager args"]
            timeout = next((a.split("=", 1)[1] for a in am_args if a.startswith("--cluster.peer-timeout=")), "15s (default)")
            verdicts = {alert: judge(run, stack, alert) for alert in ALERTS}
            result["variants"][name] = {
                "group_wait": critical_group_wait(config),
                "peer_timeout": timeout,
                "summary": {alert: summary(v) for alert, v in verdicts.items()},
                "incidents": [x for v in verdicts.values() for x in v],
            }
        rendered = result["variants"]["rendered"]["incidents"]
        for f in run.faults:
            result["faults"].append(
                {
                    "what": f.what,
                    "start": f.start,
                    "end": f.end,
                    "incidents": len({v["down"] for v in rendered if f.what in v["faults_during"]}),
                }
            )
    targets.close()
    print(json.dumps({k: v["summary"] for k, v in result["variants"].items()}, indent=2))
    if not args.no_report:
        RAW.write_text(json.dumps(result, indent=2) + "\n")
        write_report(result)
        print(f"wrote {REPORT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
