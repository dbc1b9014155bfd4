"""Sloth files as teams write them generate unchanged.

tests/fixtures/slo/sloth-corpus holds our own files that, between them, use
every feature of the plugin-free files in Sloth's public examples and
integration tests (Sloth v0.16.0). Each is read as it is, in one profile with
the period and window tables Sloth takes as flags, and the result goes
through the real engines: promtool for the rules, amtool for the
Alertmanager configuration with their inhibitions.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from obsgen import model
from obsgen.artifacts import alertmanager as alertmanager_artifact
from obsgen.profile import load
from obsgen.rules import slo as slo_engine
from obsgen.rules.types import AlertRule, RecordingRule
from tests.support import engines
from tests.test_slo_engine import assert_promtool_accepts

CORPUS = Path(__file__).parent / "fixtures" / "slo" / "sloth-corpus"

# Our file → the Sloth file(s) whose features it covers, and what must come out of it:
# SLO ids, and the burn alert names with their kinds (page: fast, medium; ticket: slow, chronic).
PAGE, TICKET = ("fast", "medium"), ("slow", "chronic")
FILES: dict[str, tuple[str, dict[str, tuple[str, tuple[str, ...]]]]] = {
    "events-alerting.yaml": (
        "examples/getting-started.yml, test/integration/prometheus/testdata/in-base.yaml",
        {"orders-requests-availability": ("OrdersHighErrorRate", PAGE + TICKET)},
    ),
    "satisfaction-subquery.yaml": (
        "examples/home-wifi.yml",
        {
            "office-wifi-client-satisfaction-good": ("WifiSatisfactionLow", PAGE + TICKET),
            "office-wifi-client-satisfaction-critical": ("WifiSatisfactionCritical", PAGE + TICKET),
        },
    ),
    "no-alerts.yaml": ("examples/no-alerts.yml", {"ledger-writes-availability": ("", ())}),
    "raw-ratio.yaml": ("examples/raw-home-wifi.yml", {"office-wifi-average-satisfaction": ("WifiAverageSatisfaction", PAGE)}),
    "multi-document.yaml": (
        "examples/multifile.yml, test/integration/prometheus/testdata/in-multifile.yaml",
        {
            "orders-Latency_p99.fast": ("OrdersSlow", PAGE + TICKET),
            "ledger-Latency_p99.fast": ("ledger-slow.requests", PAGE + TICKET),
        },
    ),
    "resource.yaml": (
        "examples/k8s-getting-started.yml, examples/k8s-home-wifi.yml, examples/k8s-multifile.yml, in-base-k8s.yaml",
        {
            "orders-checkout-availability": ("CheckoutErrors", PAGE),
            "orders-ratio-availability": ("", ()),
        },
    ),
    "control-plane.yaml": (
        "examples/kubernetes-apiserver.yml",
        {
            "kube-apiserver-requests-availability": ("K8sApiserverAvailabilityAlert", PAGE + TICKET),
            "kube-apiserver-requests-latency": ("K8sApiserverLatencyAlert", PAGE + TICKET),
        },
    ),
    "grouped.yaml": ("grouped SLIs (Sloth's `by (…)` queries)", {"orders-routes-availability": ("OrdersRouteErrors", PAGE + TICKET)}),
    "openslo-v1alpha.yaml": (
        "examples/openslo-getting-started.yml, test/integration/prometheus/testdata/in-openslo.yaml",
        {"orders-requests-availability-0": ("", ()), "orders-requests-availability-1": ("", ())},
    ),
}
WINDOWS = {"windows-7d.yaml": "examples/windows/7d.yaml", "windows-custom-30d.yaml": "examples/windows/custom-30d.yaml"}
SERVICES = {"orders": "shop", "office-wifi": "facilities", "ledger": "finance", "kube-apiserver": "kube-system"}


def profile(tmp_path: Path, defaults: dict[str, Any]) -> model.Stack:
    for name in [*FILES, *WINDOWS]:
        shutil.copy(CORPUS / name, tmp_path / name)
    data = {
        "name": "corpus",
        "extends": "advanced",
        "teams": [{"name": "platform"}],
        "services": [{"name": s, "namespace": ns, "team": "platform"} for s, ns in SERVICES.items()],
        "sloFiles": list(FILES),
        **({"sloDefaults": defaults} if defaults else {}),
    }
    path = tmp_path / "corpus.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return model.build(load(path))


def test_the_corpus_is_complete():
    assert sorted(p.name for p in CORPUS.glob("*.yaml")) == sorted([*FILES, *WINDOWS])


@pytest.mark.parametrize(
    "defaults",
    [{}, {"period": "7d", "windows": ["windows-7d.yaml"]}, {"period": "30d", "windows": ["windows-custom-30d.yaml"]}],
    ids=["30d", "7d-windows", "custom-30d"],
)
def test_every_file_generates_unchanged_and_passes_the_engines(tmp_path, defaults):
    stack = profile(tmp_path, defaults)
    found = {slo.name: slo for slo in slo_engine.slos(stack)}
    assert sorted(found) == sorted(slo for _, slos in FILES.values() for slo in slos)
    for name, (alert, roles) in (item for _, slos in FILES.values() for item in slos.items()):
        slo = found[name]
        burn = [r for r in slo_engine.alert_rules(slo, stack) if r.identity.startswith("SLOErrorBudgetBurn")]
        assert sorted(r.identity.removeprefix("SLOErrorBudgetBurn").lower() for r in burn) == sorted(roles), name
        assert all(r.name == (alert or r.identity) for r in burn), name
    # Sloth periods: the openslo file names its own (28 days); the Sloth files take sloDefaults.period.
    assert found["orders-requests-availability-0"].period == "28d"
    assert found["orders-requests-availability"].period == defaults.get("period", "30d")
    assert_promtool_accepts(stack, tmp_path)
    proc = engines.amtool_config(yaml.safe_dump(alertmanager_artifact.config(stack)), tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_labels_reach_recordings_and_alerts_as_sloth_puts_them(tmp_path):
    """File and SLO labels on every recording (via slo:info) and alert; alerting.labels
    and the per-kind labels on the alerts only; obs's own names kept as slo_<name>."""
    stack = profile(tmp_path, {})
    slo = next(s for s in slo_engine.slos(stack) if s.name == "orders-requests-availability")
    assert dict(slo.labels) == {"owner": "orders-team", "repo": "acme/orders", "slo_tier": "1", "category": "availability"}
    groups = slo_engine.rule_groups(stack)
    info = next(r for g in groups for r in g.rules if isinstance(r, RecordingRule) and r.labels.get("slo") == slo.name)
    assert {k: info.labels[k] for k in dict(slo.labels)} == dict(slo.labels) and "component" not in info.labels
    rules = slo_engine.alert_rules(slo, stack)
    fast = next(r for r in rules if isinstance(r, AlertRule) and r.identity == "SLOErrorBudgetBurnFast")
    slow = next(r for r in rules if isinstance(r, AlertRule) and r.identity == "SLOErrorBudgetBurnSlow")
    rendered = fast.render(stack)
    assert rendered["labels"]["component"] == "api" and rendered["labels"]["slo_severity"] == "pageteam"
    assert rendered["labels"]["severity"] == "critical"  # obs's routing
    assert rendered["annotations"]["summary"] == "Orders API returns too many errors"
    assert slow.render(stack)["labels"]["slack_channel"] == "#orders-alerts"
    ledger = next(s for s in slo_engine.slos(stack) if s.name == "ledger-writes-availability")
    assert dict(ledger.labels) == {"owner": "finance", "pci": "true", "priority": "2"}
