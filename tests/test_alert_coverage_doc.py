"""docs/alert-coverage-kube-prometheus-stack.md stays true to the catalogue:
every obs alert it names exists, and every alert obs can generate appears in
it (a new alert is placed against kube-prometheus-stack's, or listed as one
it does not have)."""

from __future__ import annotations

import re

from obsgen import model
from obsgen.rules import alerts, runbooks, self_monitoring, slo
from tests.support.tools import ROOT

DOC = ROOT / "docs" / "alert-coverage-kube-prometheus-stack.md"


def _obs_alerts() -> set[str]:
    names = {spec.name for spec in alerts.CATALOGUE}
    names |= {rule.name for rule, _ in slo.catalogue()}
    for tier in ("basic", "enterprise"):
        names |= {rule.name for group in self_monitoring.groups(model.builtin_stack(tier)) for rule in group.rules}
    # And those a profile switches on (docs/runbooks has a page for each).
    names |= {p.name for p in runbooks.all_pages()}
    return names


def _named_in_doc() -> tuple[set[str], dict[str, int]]:
    """obs alerts the doc names (third column of the comparison tables, second
    of the last one), and the verdict counts of its summary."""
    text = DOC.read_text(encoding="utf-8")
    comparison, _, extra = text.partition("## obs alerts kube-prometheus-stack does not have")
    named: set[str] = set()
    for line in comparison.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].startswith("`"):
            named |= set(re.findall(r"`(\w+)`", cells[2]))
    for line in extra.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3:
            named |= set(re.findall(r"`(\w+)`", cells[1]))
    counts = {m.group(1): int(m.group(2)) for m in re.finditer(r"^\| (same|better|partial|n/a|missing) \| (\d+) \|$", comparison, re.M)}
    return named, counts


def test_every_alert_the_doc_names_exists():
    named, _ = _named_in_doc()
    assert named - _obs_alerts() == set()


def test_every_obs_alert_is_in_the_doc():
    named, _ = _named_in_doc()
    assert _obs_alerts() - named == set()


def test_the_summary_counts_the_rows():
    text = DOC.read_text(encoding="utf-8").partition("## obs alerts kube-prometheus-stack does not have")[0]
    verdicts = re.findall(r"^\| `\w+` \| \w+ \| [^|]* \| (same|better|partial|n/a|missing) \|", text, re.M)
    _, counts = _named_in_doc()
    assert counts == {v: verdicts.count(v) for v in ("same", "better", "partial", "n/a", "missing")}
    assert sum(counts.values()) == 139
