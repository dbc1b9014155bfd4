"""Fault scenarios against a running live stack (tests/support/live_stack.py),
shared by tests/test_live_e2e.py and benchmarks/alert_delivery.py.

Every wait is bounded and fails with what did arrive. Times are seconds from
the moment the fault (or the recovery) was in effect in the service to the
moment the webhook receiver had the notification; `fired` is when
Prometheus says the alert started firing (the alert's `startsAt`), so the
difference is Alertmanager's grouping wait plus delivery.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .live_stack import Delivery, LiveStack

# Bounds of the waits, well above the expected worst cases computed in
# benchmarks/reports/alert_delivery.md: they only turn "never" into a failure.
FIRING_TIMEOUT = 240.0
RESOLVED_TIMEOUT = 180.0
# The SLO ticket needs a 1m boundary after the burn starts (its 1d window sums
# 1m tiles at 1m-aligned steps) plus its 2m `for`: up to 3m35s.
TWIN_TIMEOUT = 540.0
# The period's budget sums 5m tiles at 5m-aligned steps: a stack minutes old
# has none until the first 5m boundary after its first tile, which may come
# after the page and the ticket.
REPORT_TIMEOUT = 360.0

HARD_DOWN_ALERTS = ("ServiceProbeFailing", "TargetDown")
PAGE = "SLOErrorBudgetBurnFast"
TWIN = "SLOErrorBudgetBurnSlow"


def _unix(rfc3339: str) -> float:
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


@dataclass
class Timing:
    alert: str
    status: str  # firing | resolved
    seconds: float  # from the fault (or recovery) in effect to arrival at the webhook
    fired_after: float | None  # from the fault to Prometheus' startsAt (firing) or endsAt (resolved)
    labels: dict[str, str]

    @classmethod
    def of(cls, delivery: Delivery, status: str, since_wall: float) -> Timing:
        stamp = delivery.alert.get("startsAt" if status == "firing" else "endsAt")
        fired = _unix(stamp) - since_wall if stamp and not stamp.startswith("0001") else None
        return cls(delivery.alert["labels"]["alertname"], status, round(delivery.seconds, 1), _round(fired), delivery.alert["labels"])


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


@dataclass
class HardDown:
    service: str
    held: float = 0.0  # seconds kept down after the last firing notification
    firing: list[Timing] = field(default_factory=list)
    resolved: list[Timing] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def hard_down(stack: LiveStack, service: str, alerts: tuple[str, ...] = HARD_DOWN_ALERTS, hold: float = 0.0) -> HardDown:
    """Take `service` down (every endpoint 503: scrape and probes fail), wait for
    each critical alert's firing notification, stay down `hold` seconds more,
    bring it back, wait for each resolved notification.

    Resolved notifications go out at the group's flushes, every group_interval
    after its first one; recovering right after a firing notification (hold 0)
    always lands a full interval before the next flush. A benchmark holds a
    random part of the interval to measure what a recovery at any time sees."""
    result = HardDown(service)
    wall, since = time.time(), stack.set_faults(service, down=True)
    for alert in alerts:
        delivery = stack.wait_notification(alert, "firing", {"service": service}, since, FIRING_TIMEOUT - (time.monotonic() - since))
        result.firing.append(Timing.of(delivery, "firing", wall))
    time.sleep(hold)
    result.held = round(hold, 1)
    wall, since = time.time(), stack.set_faults(service, down=False)
    for alert in alerts:
        delivery = stack.wait_notification(alert, "resolved", {"service": service}, since, RESOLVED_TIMEOUT - (time.monotonic() - since))
        result.resolved.append(Timing.of(delivery, "resolved", wall))
    return result


@dataclass
class SLOBurn:
    service: str
    slo: str
    error_ratio: float
    page: Timing | None = None
    twin_inhibited_after: float | None = None  # seconds from the burn until Alertmanager held the ticket inhibited
    twin_inhibited_by: list[str] = field(default_factory=list)
    twin_notified: list[dict[str, Any]] = field(default_factory=list)  # firing ticket notifications: must stay empty
    report: dict[str, Any] | None = None  # the SLO's entry of `obsgen report --format json`

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def slo_burn(stack: LiveStack, service: str, slo: str, error_ratio: float = 0.5, check_twin: bool = True) -> SLOBurn:
    """Make `service` fail `error_ratio` of its requests; wait for the fast-burn page;
    then (check_twin) for Alertmanager to hold the ticket inhibited, and past
    the ticket's grouping wait to be sure it was never notified; then run
    `obsgen report` against the stack's Prometheus. The burn is left on."""
    result = SLOBurn(service, slo, error_ratio)
    labels = {"service": service, "slo": slo}
    wall, since = time.time(), stack.set_faults(service, error_ratio=error_ratio)
    page = stack.wait_notification(PAGE, "firing", labels, since, FIRING_TIMEOUT)
    result.page = Timing.of(page, "firing", wall)
    if check_twin:
        deadline = since + TWIN_TIMEOUT
        twin: dict[str, Any] | None = None
        while twin is None:
            inhibited = [a for a in stack.alertmanager_alerts(alertname=TWIN, slo=slo) if a["status"]["inhibitedBy"]]
            if inhibited:
                twin = inhibited[0]
                break
            if time.monotonic() > deadline:
                held = stack.alertmanager_alerts(alertname=TWIN, slo=slo)
                raise AssertionError(f"{TWIN} of {slo} was not held inhibited by Alertmanager within {TWIN_TIMEOUT:.0f}s: {held}")
            time.sleep(2)
        result.twin_inhibited_after = round(time.monotonic() - since, 1)
        result.twin_inhibited_by = list(twin["status"]["inhibitedBy"])
        result.report = report_entry(stack, slo)
        # Were the inhibition missing, the ticket would be notified once its new
        # group waited group_wait after the alert arrived (at its startsAt, when
        # Prometheus sent it): wait that long, then look.
        flush = _unix(twin["startsAt"]) + _group_wait(stack, "warning") + 10
        time.sleep(max(0.0, flush - time.time()))
        result.twin_notified = [d.notification.body for d in stack.receiver.find(TWIN, "firing", labels)]
    else:
        result.report = report_entry(stack, slo)
    return result


def _group_wait(stack: LiveStack, severity: str) -> float:
    """group_wait of the severity's route in the rendered Alertmanager config, in seconds."""
    from obsgen.rules.slo.windows import seconds

    for route in stack.rendered["alertmanager.yml"]["route"]["routes"]:
        if f'severity="{severity}"' in route.get("matchers", []):
            return float(seconds(route["group_wait"]))
    raise KeyError(f"no route for severity {severity}")


def obsgen_report(stack: LiveStack) -> dict[str, Any]:
    """`obsgen report --format json` against the stack, run as a person would (the CLI, in a subprocess)."""
    obsgen = Path(sys.executable).parent / "obsgen"
    cmd = [str(obsgen), "report", "--prometheus-url", stack.prometheus_url, "--profile", str(stack.profile), "--format", "json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr}"
    return json.loads(proc.stdout)


def report_entry(stack: LiveStack, slo: str, timeout: float = REPORT_TIMEOUT) -> dict[str, Any]:
    """The SLO's entry of the report, once the report sees its budget (not no-data); with coverage."""
    deadline = time.monotonic() + timeout
    while True:
        report = obsgen_report(stack)
        entry = next((s for s in report["slos"] if s["slo"] == slo), None)
        if (entry is not None and entry["status"] != "no-data") or time.monotonic() > deadline:
            return {"entry": entry, "summary": report["summary"], "coverage": report["coverage"]}
        time.sleep(5)
