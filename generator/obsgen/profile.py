"""Stage 1: read a profile, resolve `extends`, validate it.

The schema checks each file's shape; the cross-field checks here catch what
a schema cannot express (references between sections, units compared across
fields). Every problem is reported with file, field path and reason, and all
of them at once so a user fixes a profile in one pass.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from . import exposure, paths, schemas, yamlio
from .artifacts import grafana as grafana_settings
from .artifacts import remote_write
from .errors import ObsgenError, ValidationErrors
from .tiers import SCRAPE_JOBS


@dataclass(frozen=True)
class Profile:
    """A validated profile with its built-in base merged in."""

    name: str
    source: Path
    data: dict[str, Any]

    @property
    def tier(self) -> str:
        return self.data["tier"]


def builtin_path(tier: str) -> Path:
    return paths.BUILTIN_PROFILES / f"{tier}.yaml"


def builtin_names() -> list[str]:
    return sorted(p.stem for p in paths.BUILTIN_PROFILES.glob("*.yaml"))


def merge(base: Any, override: Any) -> Any:
    """Maps merge key by key; everything else, lists included, is replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = copy.deepcopy(base)
        for key, value in override.items():
            out[key] = merge(base[key], value) if key in base else copy.deepcopy(value)
        return out
    return copy.deepcopy(override)


def _read(path: Path) -> dict[str, Any]:
    source = paths.display(path)
    data = yamlio.load_file(path)
    if not isinstance(data, dict):
        raise ObsgenError(f"{source}: (top level): a profile is a mapping, got {type(data).__name__}")
    schemas.validate(data, paths.PROFILE_SCHEMA, source)
    return data


def load(path: Path) -> Profile:
    """Load and fully validate a profile file."""
    data = _read(path)
    if "extends" in data:
        base = _read(builtin_path(data["extends"]))
        merged = merge(base, {k: v for k, v in data.items() if k != "extends"})
        merged["tier"] = base["tier"]
    else:
        merged = data
    check(merged, paths.display(path))
    return Profile(name=merged["name"], source=path, data=merged)


@cache
def load_builtin(tier: str) -> Profile:
    """A built-in tier's profile, read once per process (callers do not change it)."""
    return load(builtin_path(tier))


# --- cross-field checks -----------------------------------------------------

_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$")
_FACTOR = {
    None: 1,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
}


def quantity(text: str) -> float:
    """Value of a Kubernetes quantity (the forms the schema admits)."""
    match = _QUANTITY.match(str(text))
    if not match:
        raise ValueError(f"not a quantity: {text!r}")
    return float(match.group(1)) * _FACTOR[match.group(2)]


def _names(items: list[dict[str, Any]]) -> list[str]:
    return [item["name"] for item in items]


def check(data: dict[str, Any], source: str) -> None:
    problems: list[tuple[str, str]] = []
    teams = data.get("teams", [])
    team_names = _names(teams)
    declared = ", ".join(sorted(team_names)) or "none"

    for i, name in enumerate(team_names):
        if name in team_names[:i]:
            problems.append((f"teams[{i}].name", f"team {name!r} is declared twice"))

    if not teams:
        problems.append(("teams", "at least one team is needed to receive alerts"))
    default_team = data.get("defaultTeam")
    if default_team is not None and default_team not in team_names:
        problems.append(("defaultTeam", f"{default_team!r} is not a declared team (declared: {declared})"))

    policy_team = data.get("policy", {}).get("team")
    if policy_team is not None and policy_team not in team_names:
        problems.append(("policy.team", f"{policy_team!r} is not a declared team (declared: {declared})"))

    service_names = {s["name"] for s in data.get("services", [])}
    for i, service in enumerate(data.get("services", [])):
        for d, dep in enumerate(service.get("dependencies", [])):
            if "service" in dep and dep["service"] not in service_names:
                problems.append((f"services[{i}].dependencies[{d}].service", f"{dep['service']!r} is not a declared service"))

    seen_services: dict[tuple[str, str], int] = {}
    for i, service in enumerate(data.get("services", [])):
        key = (service["namespace"], service["name"])
        if key in seen_services:
            problems.append(
                (f"services[{i}]", f"service {key[1]!r} in namespace {key[0]!r} is already declared at services[{seen_services[key]}]")
            )
        seen_services.setdefault(key, i)
        if service["team"] not in team_names:
            problems.append((f"services[{i}].team", f"{service['team']!r} is not a declared team (declared: {declared})"))
        health = service.get("health")
        if health and "port" not in health and "scrape" not in service:
            problems.append((f"services[{i}].health.port", "no port to probe: set health.port or scrape.port"))
        if health and not health.get("paths") and not health.get("tcp"):
            problems.append((f"services[{i}].health", "nothing to probe: give paths, or tcp: true"))

    for container, res in data.get("resources", {}).items():
        for resource in ("cpu", "memory"):
            request, limit = res["requests"][resource], res["limits"][resource]
            if quantity(request) > quantity(limit):
                problems.append((f"resources.{container}.requests.{resource}", f"request {request} is above the limit {limit}"))

    for t, team in enumerate(teams):
        for r, receiver in enumerate(team.get("receivers", [])):
            if receiver["type"] == "email" and "authUsername" not in receiver:
                problems.append(
                    (f"teams[{t}].receivers[{r}].authUsername", "required: the secretRef holds the SMTP password for this user")
                )

    problems += _extension_problems(data)
    problems += remote_write.problems(data.get("remoteWrite", []))
    problems += exposure.problems(data)
    problems += grafana_settings.problems(data)
    if problems:
        raise ValidationErrors(source, problems)


def _extension_problems(data: dict[str, Any]) -> list[tuple[str, str]]:
    """What the chart would refuse at render time, said at generate time."""
    problems: list[tuple[str, str]] = []
    taken = {job.job_name for job in SCRAPE_JOBS}
    for i, config in enumerate(data.get("additionalScrapeConfigs", [])):
        name = config["job_name"]
        if name in taken:
            problems.append((f"additionalScrapeConfigs[{i}].job_name", f"{name!r} is already a scrape job of obs or of an earlier entry"))
        taken.add(name)
    seen: dict[tuple[str, str, str], int] = {}
    for i, obj in enumerate(data.get("extraObjects", [])):
        key = (obj["kind"], obj["metadata"]["name"], obj["metadata"].get("namespace", ""))
        if key in seen:
            problems.append((f"extraObjects[{i}]", f"{key[0]} {key[1]!r} is already declared at extraObjects[{seen[key]}]"))
        seen.setdefault(key, i)
    for name, knobs in data.get("workloads", {}).items():
        for knob in ("extraVolumes", "extraContainers", "extraInitContainers"):
            names = [item["name"] for item in knobs.get(knob, [])]
            for j, item_name in enumerate(names):
                if item_name in names[:j]:
                    problems.append((f"workloads.{name}.{knob}[{j}].name", f"{item_name!r} is declared twice"))
    return problems
