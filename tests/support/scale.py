"""A large organisation as a profile, and the size of what Helm stores for it.

`synthetic_profile(n)`: the enterprise tier with n services across ten
namespaces and five teams, half on each telemetry preset; every service has
health probes, an availability SLO, a latency SLO and a dependency on the
previous service (the first one on an external database).

`release_record_bytes`: the bytes of the Secret data Helm 3 and 4 write for a
release (storage driver: JSON of the release, gzip, base64): the chart's
files, the user's values and the rendered manifest. Helm adds a few small
fields (info, hooks' own manifests); the estimate leaves them out.
"""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

import yaml

TEAMS = ("platform", "payments", "search", "growth", "data")


def synthetic_profile(services: int, name: str = "scale") -> dict[str, Any]:
    teams = [{"name": t, "receivers": []} for t in TEAMS]
    out = []
    for i in range(services):
        service = f"svc-{i:03d}"
        entry: dict[str, Any] = {
            "name": service,
            "namespace": f"ns-{i % 10}",
            "team": TEAMS[i % len(TEAMS)],
            "scrape": {"port": 8080},
            "health": {"paths": ["/health/ready"]},
            "telemetry": {"preset": "otel" if i % 2 == 0 else "prometheus-classic"},
            "dependencies": [{"name": "upstream", "service": f"svc-{i - 1:03d}"} if i else {"name": "db", "tcp": "db.example.com:5432"}],
            "slos": [
                {"name": f"{service}-availability", "objective": 99.9, "type": "availability"},
                {"name": f"{service}-latency", "objective": 99, "type": "latency", "latency": {"threshold": 0.5}},
            ],
        }
        out.append(entry)
    return {"name": name, "extends": "enterprise", "defaultTeam": "platform", "teams": teams, "services": out}


def write_profile(path: Path, services: int) -> Path:
    path.write_text(yaml.safe_dump(synthetic_profile(services, path.stem), sort_keys=False), encoding="utf-8")
    return path


def _chart_files(chart: Path) -> list[dict[str, str]]:
    return [
        {"name": str(p.relative_to(chart)), "data": base64.b64encode(p.read_bytes()).decode()}
        for p in sorted(chart.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    ]


def release_record_bytes(chart: Path, values_text: str, manifest: str) -> int:
    release = {
        "name": "obs",
        "chart": {"files": _chart_files(chart)},
        "config": yaml.safe_load(values_text),
        "manifest": manifest,
        "version": 1,
        "namespace": "monitoring",
    }
    raw = json.dumps(release, separators=(",", ":")).encode()
    return len(base64.b64encode(gzip.compress(raw, compresslevel=9)))
