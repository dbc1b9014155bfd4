"""Kubernetes' size limits, checked before anything is written.

A ConfigMap holds at most 1 MiB of data, any object must fit etcd's 1.5 MiB
request limit, and Helm keeps each release in one Secret of at most 1 MiB
(the release as JSON, gzipped, base64-encoded: the chart, the values and the
rendered manifest). obs keeps a margin under each: rule files are cut into
parts well under the object budget at group boundaries, and a profile whose
values would make any object or the release record pass its budget is
refused with one line saying which and by how much.
"""

from __future__ import annotations

import base64
import json
import zlib
from functools import cache
from pathlib import Path
from typing import Any

from . import paths, yamlio

KIB = 1024
OBJECT_BUDGET = 512 * KIB  # half the 1 MiB ConfigMap limit
RELEASE_BUDGET = 768 * KIB  # three quarters of the 1 MiB Secret that holds a release
RULE_FILE_TARGET = 256 * KIB  # rule files are cut into parts of about this size


def _size(groups: list[dict[str, Any]]) -> int:
    return len(yamlio.dump({"groups": groups}).encode())


# Rule groups' YAML is within 2 % of their compact JSON (measured over every
# group of a 60-service stack: 0.98-1.02); JSON costs a fiftieth of a YAML
# dump to measure, so sizes are estimated from it with a wide margin and a
# YAML dump is made only for a file the estimate puts near a budget.
_YAML_PER_JSON = 1.25


def _estimate(groups: list[dict[str, Any]]) -> int:
    return int(len(json.dumps(groups, separators=(",", ":"), ensure_ascii=False).encode()) * _YAML_PER_JSON)


def split_rule_file(name: str, groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One rule file, or parts `<stem>-<k>.yaml` of about RULE_FILE_TARGET each.

    A group never spans parts (Prometheus reads a group from one file), so
    one group larger than the object budget is refused by `problems`.
    """
    if _estimate(groups) <= RULE_FILE_TARGET:
        return [{"name": name, "groups": groups}]
    parts: list[list[dict[str, Any]]] = [[]]
    filled = 0
    for group in groups:
        size = _estimate([group])
        if parts[-1] and filled + size > RULE_FILE_TARGET:
            parts.append([])
            filled = 0
        parts[-1].append(group)
        filled += size
    stem = name.removesuffix(".yaml")
    return [{"name": f"{stem}-{k}.yaml", "groups": part} for k, part in enumerate(parts, start=1)]


@cache
def _chart_bytes(chart: Path) -> bytes:
    """Every file of the chart, as Helm keeps them in the release."""
    return b"".join(p.read_bytes() for p in sorted(chart.rglob("*")) if p.is_file() and not p.name.startswith("."))


def release_record_estimate(values_text: str, chart: Path = paths.CHART) -> int:
    """Bytes of the release Secret's data: Helm stores the values and the manifest,
    and the manifest repeats what the values carry (rules, dashboards, configs)."""
    record = json.dumps({"chart": base64.b64encode(_chart_bytes(chart)).decode(), "config": values_text, "manifest": values_text})
    # Level 6 where Helm uses 9 (a third of the time), and a tenth more for
    # what the manifest adds to the values (metadata, labels, pod specs):
    # tests/test_limits.py keeps the estimate above the measured record.
    return int(len(base64.b64encode(zlib.compress(record.encode(), 6))) * 1.1)


def _mib(size: int) -> str:
    return f"{size / KIB:,.0f} KiB"


def problems(document: dict[str, Any], values_text: str) -> list[tuple[str, str]]:
    """(values path, reason) for every object, and the release, over its budget."""
    found = []
    for rule_file in document["rules"]["files"]:
        if _estimate(rule_file["groups"]) <= OBJECT_BUDGET:
            continue
        size = _size(rule_file["groups"])
        if size > OBJECT_BUDGET:
            found.append(
                (
                    f"rules.files[{rule_file['name']}]",
                    f"one rule group of {_mib(size)} is over the {_mib(OBJECT_BUDGET)} budget of one ConfigMap or PrometheusRule",
                )
            )
    for item in document["dashboards"]["items"]:
        size = len(item["json"].encode())
        if size > OBJECT_BUDGET:
            reason = f"the dashboard is {_mib(size)}, over the {_mib(OBJECT_BUDGET)} ConfigMap budget"
            found.append((f"dashboards.items[{item['name']}]", reason))
    release = release_record_estimate(values_text)
    if release > RELEASE_BUDGET:
        found.append(
            (
                "(release)",
                f"Helm would store this release in about {_mib(release)}, over the {_mib(RELEASE_BUDGET)} budget"
                " (a release lives in one Secret of at most 1 MiB): declare fewer services or SLOs in this profile",
            )
        )
    return found
