"""Live end-to-end: alerts from real faults reach a receiver.

Real processes on loopback, started and stopped here (tests/support/live_stack.py):
Prometheus 3.5, Alertmanager 0.33 and blackbox_exporter 0.28 run the configs,
rules and flags the chart renders from tests/fixtures/profiles/live.yaml (the
intermediate tier: 15 s scrape, probe and evaluation), adapted by the
documented loopback transform (obsgen.loopback); two reference services
(`refservice` and `inventory`) under steady load; a webhook receiver,
reached through the `url_file` Secret of the profile's webhook receiver,
records every notification with its arrival time.

Both scenarios run at the same time on one stack, on different services:

1. Hard failure: `inventory` goes down (every endpoint answers 503, so its
   scrape and its health probes fail). The critical ServiceProbeFailing
   (`for: 15s`) and TargetDown (`for: 2m`) reach the webhook as firing;
   after recovery, both as resolved.
2. SLO burn: `refservice` fails half its requests. The fast-burn page
   (SLOErrorBudgetBurnFast, critical, 1h/5m at 14.4×, `for: 2m`) reaches
   the webhook. Its warning twin, the 1d/2h ticket (SLOErrorBudgetBurnSlow),
   is held by Alertmanager inhibited by the page (`status.inhibitedBy`),
   and never reaches the webhook, even after its grouping wait.
3. The dead man's switch: the always-firing Watchdog reaches the heartbeat
   webhook of the profile (alerts.heartbeat) every minute, and no team.
4. The links in those notifications are the profile's external URLs:
   Alertmanager's own, Prometheus' generator link, and Grafana's dashboard
   and runbook pages in the annotations.
5. `obsgen report` (the CLI) against that Prometheus shows the SLO burning:
   `critical`, or `breach` once the 30d sums (5m-aligned) include the burn
   and the young stack's budget is gone; either way the 1h burn rate is
   above the page threshold.

Shortened, and only this (loopback rule 11; see README "Local preview" and
benchmarks/reports/alert_delivery.md): the SLO rule group is evaluated every
5 s instead of every 1m, so the page does not wait up to a minute for the
next evaluation twice. The ticket's `for` is the rendered one (the page's
2m), so it fires within the test and its inhibition by the page is seen.

Scrape and probe intervals, every other group's 15 s evaluation, every
`for` and Alertmanager's timings are as rendered, so the hard-failure times
are the real ones. Delivery times are measured, printed and written to
alert-delivery.json in the test's tmp dir, never asserted (speed targets are
measured): the waits are bounds that fail the test when an alert never
comes.

Runtime 4 to 9 minutes, set by the SLO scenario: the ticket needs the next
1m boundary after the burn starts (its 1d window adds 1m tiles at 1m-aligned
steps), then its 2m `for`; the report needs the period's first 5m-aligned
step with a tile (a fresh stack has no budget before it); then the warning
route's 1m group_wait is waited out to show the ticket was never notified. The hard failure is done within
about 4 minutes (TargetDown's `for: 2m`, then a resolved notification waits
for its group's next flush, up to 1m).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from tests.support.live_scenarios import HARD_DOWN_ALERTS, PAGE, TWIN, HardDown, SLOBurn, hard_down, slo_burn
from tests.support.live_stack import LIVE_PROFILE, live_stack

pytestmark = pytest.mark.e2e

DOWN_SERVICE = "inventory"
BURN_SERVICE = "refservice"
SLO = "refservice-availability"


def test_faults_reach_the_webhook_and_the_report(tmp_path):
    with live_stack(tmp_path / "stack") as stack:
        stack.wait_healthy()
        # Both scenarios at once: their services are independent (TargetDown
        # inhibits only alerts of its own service), and the run takes as long
        # as the slower one instead of the sum.
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="scenario") as pool:
            down_future = pool.submit(hard_down, stack, DOWN_SERVICE)
            burn_future = pool.submit(slo_burn, stack, BURN_SERVICE, SLO)
            outcomes: dict[str, HardDown | SLOBurn | BaseException] = {}
            for name, future in (("hard_down", down_future), ("slo_burn", burn_future)):
                try:
                    outcomes[name] = future.result()
                except Exception as exc:  # keep the other scenario's result and report both
                    outcomes[name] = exc
        page_alerts = stack.alertmanager_alerts(alertname=PAGE, slo=SLO)
        notifications = stack.receiver.notifications()

    record = {name: value.as_dict() if not isinstance(value, BaseException) else repr(value) for name, value in outcomes.items()}
    (tmp_path / "alert-delivery.json").write_text(json.dumps(record, indent=2))
    print(f"\nmeasured delivery (written to {tmp_path / 'alert-delivery.json'}):\n{json.dumps(record, indent=2)}")
    failed = {name: value for name, value in outcomes.items() if isinstance(value, BaseException)}
    if failed:
        raise AssertionError("; ".join(f"{name}: {value}" for name, value in failed.items())) from next(iter(failed.values()))

    down, burn = outcomes["hard_down"], outcomes["slo_burn"]
    assert isinstance(down, HardDown) and isinstance(burn, SLOBurn)

    # 1. Hard failure: each critical alert the rules define for it, firing then resolved.
    assert [t.alert for t in down.firing] == list(HARD_DOWN_ALERTS)
    assert [t.alert for t in down.resolved] == list(HARD_DOWN_ALERTS)
    for timing in down.firing:
        assert timing.labels["severity"] == "critical" and timing.labels["service"] == DOWN_SERVICE, timing
    assert next(t for t in down.firing if t.alert == "TargetDown").labels["job"] == "kubernetes-pods"
    # The burning service stayed up: no availability page about it.
    for alert in HARD_DOWN_ALERTS:
        assert not any(n.alerts(alert, "firing", {"service": BURN_SERVICE}) for n in notifications), alert

    # 2. SLO burn: the page, and its ticket held back by it.
    assert burn.page is not None
    assert burn.page.labels["severity"] == "critical" and burn.page.labels["burn_window"] == "1h", burn.page
    page_fingerprints = {a["fingerprint"] for a in page_alerts}
    assert page_fingerprints & set(burn.twin_inhibited_by), (burn.twin_inhibited_by, page_fingerprints)
    assert burn.twin_notified == [], f"{TWIN} reached the webhook although {PAGE} fires"

    # 3. The dead man's switch: Watchdog reached the heartbeat webhook again and
    # again (repeat_interval 1m) during the run, and no team's receiver.
    beats = [n for n in notifications if n.alerts("Watchdog", "firing")]
    assert {n.path for n in beats} == {"/heartbeat/url"}, {n.path for n in beats}
    assert len(beats) >= 2 and beats[-1].arrived - beats[0].arrived >= 50, [round(n.arrived - beats[0].arrived) for n in beats]

    # 4. Links in what the real engines sent resolve outside the cluster: the
    # UIs' external URLs of the profile, through --web.external-url (Alertmanager's
    # links, Prometheus' generator links) and the rules' annotations (Grafana).
    urls = {ui: spec["externalUrl"] for ui, spec in yaml.safe_load(LIVE_PROFILE.read_text())["exposure"].items()}
    team_notifications = [n for n in notifications if n.path != "/heartbeat/url"]
    assert team_notifications
    for n in notifications:
        assert n.body["externalURL"] == urls["alertmanager"], n.body["externalURL"]
        for alert in n.body["alerts"]:
            assert alert["generatorURL"].startswith(urls["prometheus"] + "/"), alert["generatorURL"]
            for key in ("runbook_url", "dashboard_url"):
                if key in alert["annotations"]:
                    assert alert["annotations"][key].startswith(urls["grafana"] + "/d/"), (key, alert["annotations"][key])
    assert all("runbook_url" in a["annotations"] for n in team_notifications for a in n.body["alerts"])

    # 5. The report shows the SLO burning at or above the page rate.
    assert burn.report is not None and burn.report["entry"] is not None, burn.report
    entry = burn.report["entry"]
    assert entry["status"] in ("critical", "breach"), entry
    assert entry["burn_rate_1h"] >= entry["page_burn_rate"], entry
    assert any(r.startswith("burning ") for r in entry["recommendations"]), entry["recommendations"]
    live = {(s["namespace"], s["service"]) for s in burn.report["coverage"]["services"] if s["live"]}
    assert ("shop", BURN_SERVICE) in live, burn.report["coverage"]
