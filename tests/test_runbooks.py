"""Every alert links a runbook page that exists and says what to do."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from obsgen import paths
from obsgen.dashboards import FOLDER_ANNOTATION, SIDECAR_LABEL, SIDECAR_LABEL_VALUE, panels
from obsgen.dashboards.runbooks import FOLDER
from obsgen.rules import known_alerts
from obsgen.rules.types import runbook_uid
from tests.support.cli import refused_naming, validate_profile
from tests.support.render import TIERS, find, helm_template, render_tier, rule_files, split


def _alerts(objects) -> list[dict]:
    """Every alert rule the render delivers to Prometheus."""
    return [r for text in rule_files(objects).values() for g in yaml.safe_load(text)["groups"] for r in g["rules"] if "alert" in r]


def _dashboards(objects) -> dict[str, tuple[str, dict]]:
    """uid → (folder, JSON model) of every dashboard ConfigMap the sidecar loads."""
    out = {}
    for cm in find(objects, "ConfigMap"):
        if cm["metadata"].get("labels", {}).get(SIDECAR_LABEL) == SIDECAR_LABEL_VALUE:
            for text in cm["data"].values():
                document = json.loads(text)
                out[document["uid"]] = (cm["metadata"]["annotations"][FOLDER_ANNOTATION], document)
    return out


def _renders(acme_values) -> dict[str, list[dict]]:
    renders = {tier: list(render_tier(tier)) for tier in TIERS}
    renders["acme"] = split(helm_template(values=(acme_values,)))
    return renders


def _page_text(name: str) -> str:
    """The docs/runbooks page without its generated-file comment."""
    return (paths.RUNBOOKS / f"{name}.md").read_text().split("\n\n", 1)[1]


def test_every_alert_links_its_runbook_page_in_the_same_render(acme_values):
    """The oracle is the render: every runbook_url resolves to a dashboard
    the same release loads into Grafana's runbook folder, and that page says
    what docs/runbooks says."""
    acme_grafana = yaml.safe_load(acme_values.read_text())["grafana"]["exposure"]["externalUrl"]
    assert acme_grafana.startswith("https://")
    seen = set()
    for name, objects in _renders(acme_values).items():
        base = acme_grafana if name == "acme" else ""
        dashboards = _dashboards(objects)
        alerts = _alerts(objects)
        assert alerts, name
        for alert in alerts:
            url = alert["annotations"]["runbook_url"]
            assert url.startswith(f"{base}/d/"), f"{name}: {alert['alert']} links {url}"
            uid = url.removeprefix(f"{base}/d/")
            assert uid in dashboards, f"{name}: {alert['alert']} links {url}, which no dashboard of the render serves"
            folder, document = dashboards[uid]
            assert folder == FOLDER
            texts = [p["options"]["content"] for p in panels(document) if p["type"] == "text"]
            assert texts == [_page_text(alert["alert"])], f"{name}: {uid} is not {alert['alert']}'s page"
            if "dashboard_url" in alert["annotations"]:
                assert alert["annotations"]["dashboard_url"].startswith(f"{base}/d/")
            seen.add(alert["alert"])
        pages = {uid for uid, (folder, _) in dashboards.items() if folder == FOLDER}
        assert pages == {runbook_uid(a["alert"]) for a in alerts}, f"{name}: a page for an alert the render lacks"
    assert len(seen) >= 40


def test_runbook_uids_fit_grafana_and_stay_distinct():
    names = [*known_alerts(), "A" * 60, "A" * 59 + "B"]
    uids = [runbook_uid(n) for n in names]
    assert len(set(uids)) == len(uids)
    assert all(len(u) <= 40 and re.fullmatch(r"[a-z0-9-]+", u) for u in uids)


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
    assert {u.rsplit("/", 1)[1] for u in urls} <= {p.name for p in paths.RUNBOOKS.glob("*.md")}


def test_a_relative_runbook_base_url_is_refused(tmp_path):
    assert refused_naming(validate_profile(tmp_path, alerts={"runbookBaseUrl": "docs/runbooks"}), "alerts.runbookBaseUrl")
