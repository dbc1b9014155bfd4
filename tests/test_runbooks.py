"""Every alert links a runbook page that exists and says what to do."""

from __future__ import annotations

import pytest
import yaml

from obsgen import paths
from tests.support.render import TIERS


def _alerts(values: dict) -> list[dict]:
    return [r for f in values["rules"]["files"] for g in f["groups"] for r in g["rules"] if "alert" in r]


def _all_alerts(acme_values) -> list[dict]:
    documents = [yaml.safe_load((paths.VALUES_DIR / f"{tier}.yaml").read_text()) for tier in TIERS]
    documents.append(yaml.safe_load(acme_values.read_text()))
    return [a for d in documents for a in _alerts(d)]


def test_every_alert_links_an_existing_runbook(acme_values):
    alerts = _all_alerts(acme_values)
    assert len({a["alert"] for a in alerts}) >= 20
    for alert in alerts:
        url = alert["annotations"]["runbook_url"]
        assert url == f"docs/runbooks/{alert['alert']}.md"
        assert (paths.ROOT / url).is_file(), f"{alert['alert']}: no runbook page"


@pytest.mark.parametrize("section", ["## Meaning", "## Likely causes", "## First checks", "## Queries to run"])
def test_every_runbook_has_each_section(section):
    pages = [p for p in paths.RUNBOOKS.glob("*.md") if p.name != "README.md"]
    assert pages
    for page in pages:
        text = page.read_text()
        assert section in text, f"{page.name} lacks {section}"
        body = text.split(section, 1)[1].split("\n## ", 1)[0].strip()
        assert body and "<<" not in text, f"{page.name}: empty {section} or unfilled placeholder"


def test_index_lists_every_page():
    index = (paths.RUNBOOKS / "README.md").read_text()
    for page in paths.RUNBOOKS.glob("*.md"):
        if page.name != "README.md":
            assert f"]({page.name})" in index, page.name


def test_runbook_base_url_is_overridable(tmp_path):
    from obsgen import model
    from obsgen.profile import load
    from obsgen.rules import alert_rules

    profile = tmp_path / "p.yaml"
    profile.write_text(yaml.safe_dump({"name": "p", "extends": "basic", "alerts": {"runbookBaseUrl": "https://wiki.example.com/obs/"}}))
    stack = model.build(load(profile))
    urls = {r.render(stack)["annotations"]["runbook_url"] for r in alert_rules(stack)}
    assert urls and all(u.startswith("https://wiki.example.com/obs/") and u.endswith(".md") for u in urls)
