"""Local preview (`make preview`): the obs stack on this machine, for a person.

Runs what the live end-to-end tests run (tests/support/live_stack.py), until
Ctrl-C: Prometheus, Alertmanager and the blackbox exporter with the configs
and rules the chart renders from a profile, the reference service (one per
declared service) under steady load with its fault toggle, and a webhook
receiver that shows the notifications Alertmanager sends. Prints the URLs,
example fault commands, and each notification as it arrives.

    .venv/bin/python ci/preview.py                       # the live test profile (intermediate tier)
    .venv/bin/python ci/preview.py --tier advanced       # the same services on another tier
    .venv/bin/python ci/preview.py --profile my.yaml --port-base 29090

Like the live tests, the SLO rule groups are evaluated every 5 s instead of
every minute, so an SLO burn shows within minutes; `--as-rendered` runs
every rule as rendered.
HA tiers run one Prometheus and one Alertmanager here.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.live_stack import LIVE_PROFILE, SHORTENED_INTERVALS, LiveStack, Notification, live_stack  # noqa: E402
from tests.support.render import TIERS  # noqa: E402


def _profile_for_tier(tier: str, workdir: Path) -> Path:
    """The live profile's teams and services on another built-in tier."""
    data = yaml.safe_load(LIVE_PROFILE.read_text())
    data.update(name=f"live-{tier}", extends=tier)
    path = workdir / f"live-{tier}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _ports(base: int, profile: Path) -> dict[str, int]:
    services = yaml.safe_load(profile.read_text()).get("services", [])
    ports = {"prometheus": base, "alertmanager": base + 1, "blackbox": base + 2, "receiver": base + 3}
    ports.update({s["name"]: base + 10 + i for i, s in enumerate(services)})
    return ports


def _banner(stack: LiveStack, profile: Path, shortened: bool) -> str:
    prom, am = stack.prometheus_url, stack.alertmanager_url
    lines = [
        "",
        f"obs preview: profile {profile}, logs and configs in {stack.workdir}",
        "",
        f"  Prometheus     {prom}            alerts: {prom}/alerts   targets: {prom}/targets   rules: {prom}/rules",
        f"  Alertmanager   {am}            alerts: {am}/#/alerts   (inhibited ones: tick 'Inhibited')",
        f"  Notifications  {stack.receiver.url}            every webhook notification Alertmanager sent, as JSON",
        f"  Blackbox       {stack.blackbox_url}",
    ]
    for svc in stack.services.values():
        lines.append(f"  {svc.namespace}/{svc.name:<11} {svc.url}/api/items   metrics: {svc.url}/metrics   faults: {svc.url}/admin/faults")
    first = next(iter(stack.services.values()))
    lines += [
        "",
        f"Steady load: {stack.load_rate:g} requests/s on each service. Faults (any service, any subset of the fields):",
        "",
        f"  curl -s {first.url}/admin/faults                                           # current faults",
        f"  curl -s -X POST -d '{{\"down\": true}}' {first.url}/admin/faults              # down: probe page ~1 min, TargetDown ~2.5 min",
        f"  curl -s -X POST -d '{{\"error_ratio\": 0.5}}' {first.url}/admin/faults        # SLO burn: fast-burn page in ~2.5 min",
        f"  curl -s -X POST -d '{{\"latency_ms\": 600}}' {first.url}/admin/faults         # slow answers (p95 latency alert after 10m)",
        f'  curl -s -X POST -d \'{{"down": false, "error_ratio": 0, "latency_ms": 0}}\' {first.url}/admin/faults   # recover',
        "",
        f"  .venv/bin/obsgen report --prometheus-url {prom} --profile {profile}      # SLO report",
        "",
        (
            f"Shortened to show SLO alerts within minutes: SLO rule groups every {SHORTENED_INTERVALS['slo-*']} (rendered: 1m)."
            " --as-rendered turns this off."
            if shortened
            else "Every rule as rendered (SLO rule groups every 1m)."
        ),
        "Notifications appear below as they arrive. Ctrl-C stops everything.",
        "",
    ]
    return "\n".join(lines)


def _describe(n: Notification) -> list[str]:
    stamp = time.strftime("%H:%M:%S", time.localtime(n.wall))
    out = []
    for alert in n.body.get("alerts", []):
        labels = alert["labels"]
        where = " ".join(f"{k}={labels[k]}" for k in ("service", "slo", "job", "instance") if k in labels)
        out.append(f"[{stamp}] {alert['status']:<8} {labels.get('severity', ''):<8} {labels.get('alertname')} {where}")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description="Run the obs stack on localhost for a person, until Ctrl-C.")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--profile", type=Path, help=f"profile with services to run (default: {LIVE_PROFILE.relative_to(ROOT)})")
    source.add_argument("--tier", choices=TIERS, help="the default profile's services on this built-in tier")
    parser.add_argument(
        "--port-base",
        type=int,
        default=19090,
        help="Prometheus on this port, Alertmanager +1, blackbox +2, receiver +3, services +10… (default 19090)",
    )
    parser.add_argument("--load-rate", type=float, default=5.0, help="requests/s on each service (default 5)")
    parser.add_argument("--as-rendered", action="store_true", help="do not shorten the SLO rule interval")
    args = parser.parse_args()

    # SIGTERM stops like Ctrl-C does, so every process is stopped on the way out.
    # SIGINT is set explicitly: a shell starting us in the background ignores it.
    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with tempfile.TemporaryDirectory(prefix="obs-preview-") as tmp:
        workdir = Path(tmp)
        profile = args.profile.resolve() if args.profile else _profile_for_tier(args.tier, workdir) if args.tier else LIVE_PROFILE
        print(f"starting the obs stack for {profile} (rendering the chart, starting the processes) …", flush=True)
        try:
            with live_stack(
                workdir / "stack",
                profile,
                intervals={} if args.as_rendered else SHORTENED_INTERVALS,
                load_rate=args.load_rate,
                ports=_ports(args.port_base, profile),
            ) as stack:
                print(_banner(stack, profile, not args.as_rendered), flush=True)
                shown = 0
                while True:
                    for d in stack.running:
                        if d.proc.poll() is not None:
                            print(f"{d.name} exited with {d.proc.returncode}:\n{d.log_tail()}", file=sys.stderr)
                            return 1
                    notifications = stack.receiver.notifications()
                    for n in notifications[shown:]:
                        for line in _describe(n):
                            print(line, flush=True)
                    shown = len(notifications)
                    time.sleep(1)
        except KeyboardInterrupt:
            print("\nstopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
