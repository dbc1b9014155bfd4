"""SLO compliance report from a live Prometheus (`obsgen report`).

The report reads only the SLO recording rules' outputs, so it works against
any Prometheus that evaluates them; a profile is optional and adds a coverage
check of the declared services.

Inputs
------
Every SLO is one `slo:objective:ratio` series; its labels `slo`, `service`,
`namespace` (and `team`) identify it, and every other `slo:*` series with the
same `slo`, `service` and `namespace` labels is joined to it:

    slo:objective:ratio                 objective, e.g. 0.999
    slo:error_budget:ratio              1 - objective
    slo:period:seconds                  SLO period (assumed 30d when absent)
    slo:sli:ratio_period                good share over the period
    slo:error_budget_remaining:ratio    1 - period error ratio / budget (may be < 0)
    slo:burn_rate:ratio_rate<W>         burn rate over window W (5m, 1h, 6h, ...)
    slo:sli_error:ratio_rate<W>         error ratio over window W
    slo:time_to_exhaustion:seconds      absent when not burning

All series are read by one instant query at the evaluation time (`--at`, or
now). NaN (0/0: no requests) counts as no data. When a series is missing but
can be derived, it is: remaining from the period SLI (1 - (1 - sli) / budget)
and back, the 1h burn rate from `slo:sli_error:ratio_rate1h` / budget, the
budget from the objective.

Status rules (first match wins)
-------------------------------
    no-data   no error budget remaining value (and no period SLI to derive it
              from): the period saw no traffic, or the rules are not loaded
    breach    error budget remaining <= 0 (the period SLI is below objective)
    critical  1h burn rate >= the page burn rate of the SLO's period,
              0.02 x period / 1h: 2 % of the budget spent in one hour
              (14.4 for 30d, 3.36 for 7d, 0.48 for 1d)
    warning   1h burn rate >= 1 (the budget would not last the period), or
              less than 25 % of the budget remains
    healthy   otherwise

Coverage rule
-------------
With `--profile`, each declared service counts as live when at least one of
these holds at the evaluation time (each reported as evidence):

    up           `up{<telemetry selector>} == 1` exists (a scraped target is up)
    requests     the service's request counter `<requests>{<selector>}` has a
                 sample in the lookback window (covers OTLP-pushed services,
                 which have no `up` series)
    slo-traffic  one of its SLOs has a numeric error ratio over a window of 1h
                 or less (it served requests within the last hour)

The selector and the request counter come from the service's telemetry
contract (`obsgen.telemetry.resolve`). An SLO series alone (the objective is a
constant) is not evidence: it exists as soon as the rules are loaded.
Declared services with no evidence are listed as `missing`; services with
SLO series that the profile does not declare are listed as `undeclared`.

Exit codes
----------
    0  report printed (whatever the statuses, unless --fail-on says otherwise)
    1  --fail-on warning|critical|breach given and some SLO has that status
       or a worse one (order: healthy < warning < critical < breach; no-data
       never fails the run)
    2  Prometheus unreachable, an HTTP or query error, a bad profile or option

JSON output (`--format json`), keys stable; absent or NaN numbers are null:

    {
      "version": 1,
      "prometheus_url": str,
      "evaluated_at": str,            # RFC 3339, UTC
      "evaluated_at_unix": float,
      "summary": {
        "slos": int,
        "healthy": int, "warning": int, "critical": int, "breach": int, "no-data": int,
        "worst": str | null           # worst status present, null without SLOs
      },
      "slos": [                       # worst status first, then namespace, service, slo
        {
          "slo": str, "service": str, "namespace": str, "team": str,
          "status": "healthy" | "warning" | "critical" | "breach" | "no-data",
          "objective": float,          # e.g. 0.999
          "error_budget": float,       # 1 - objective
          "period_seconds": float,     # from slo:period:seconds, else 2592000
          "period": str,               # e.g. "30d"
          "period_assumed": bool,      # true when slo:period:seconds was absent
          "sli": float | null,         # good share over the period
          "error_budget_remaining": float | null,  # fraction of the budget; may be negative
          "burn_rate_1h": float | null,
          "burn_rates": {str: float | null},       # every window found, shortest first
          "page_burn_rate": float,     # the critical threshold: 0.02 x period / 1h
          "time_to_exhaustion_seconds": float | null,
          "traffic_1h": bool,          # false when the 1h error ratio and burn rate are absent or NaN
          "recommendations": [str]
        }
      ],
      "coverage": null | {            # null without --profile
        "profile": str,
        "declared": int, "live": int,
        "services": [{"service": str, "namespace": str, "team": str, "selector": str,
                      "live": bool, "evidence": ["up" | "requests" | "slo-traffic"]}],
        "missing": [{"service": str, "namespace": str, "team": str, "selector": str}],
        "undeclared": [{"service": str, "namespace": str}]
      }
    }
"""

from __future__ import annotations

import base64
import json
import math
import os
import re
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import ObsgenError

VERSION = 1
STATUSES = ("healthy", "warning", "critical", "breach")  # by increasing severity
NO_DATA = "no-data"
FORMATS = ("markdown", "json")
FAIL_ON = ("never", "warning", "critical", "breach")
DEFAULT_PERIOD = 30 * 86400.0
PAGE_BUDGET_SHARE = 0.02  # share of the budget spent in 1h that pages
LOW_BUDGET = 0.25
TRAFFIC_WINDOW = 3600.0  # SLI windows up to this long show that a service is serving now
EVIDENCE = ("up", "requests", "slo-traffic")

_KEY = ("namespace", "service", "slo")
_WINDOWED = re.compile(r"^slo:(burn_rate|sli_error):ratio_rate(\w+)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}


class PrometheusError(ObsgenError):
    """Prometheus could not be reached or answered with an error."""


# --- Prometheus HTTP API ------------------------------------------------------


# The password of --username, from the environment rather than a flag, so it
# never lands in shell history or a process listing.
PASSWORD_ENV = "OBS_PROMETHEUS_PASSWORD"


@dataclass(frozen=True)
class Access:
    """How to reach a web-secured Prometheus (profile `web.prometheus`)."""

    ca_file: Path | None = None  # verify the serving certificate with this CA
    username: str | None = None  # basic auth; the password is read from PASSWORD_ENV


class Prometheus:
    """Instant queries against the Prometheus HTTP API, all at one evaluation time."""

    def __init__(self, url: str, at: float, timeout: float = 10.0, access: Access = Access()):
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise PrometheusError(f"--prometheus-url {url!r}: expected an http:// or https:// URL, e.g. http://localhost:9090")
        self.url = url.rstrip("/")
        self.at = at
        self.timeout = timeout
        self.headers = {"Accept": "application/json", "User-Agent": "obsgen-report"}
        self.context = None
        if access.ca_file is not None:
            if not access.ca_file.is_file():
                raise PrometheusError(f"--ca-file {access.ca_file}: no such file")
            try:
                self.context = ssl.create_default_context(cafile=str(access.ca_file))
            except ssl.SSLError as exc:
                raise PrometheusError(f"--ca-file {access.ca_file}: not a PEM certificate ({exc.reason})") from exc
        if access.username is not None:
            password = os.environ.get(PASSWORD_ENV)
            if password is None:
                raise PrometheusError(f"--username {access.username!r}: set the password in the environment variable {PASSWORD_ENV}")
            token = base64.b64encode(f"{access.username}:{password}".encode()).decode()
            self.headers["Authorization"] = f"Basic {token}"

    def query(self, expr: str) -> list[tuple[dict[str, str], float]]:
        """The instant vector of expr: (labels, value) pairs; NaN stays NaN."""
        params = urllib.parse.urlencode({"query": expr, "time": f"{self.at:.3f}"})
        request = urllib.request.Request(f"{self.url}/api/v1/query?{params}", headers=self.headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self.context) as resp:
                body = resp.read()
        except urllib.error.HTTPError as exc:
            raise PrometheusError(f"Prometheus at {self.url} answered HTTP {exc.code} to {expr!r}: {_error_detail(exc)}") from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise PrometheusError(f"cannot reach Prometheus at {self.url}: {reason}") from exc
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise PrometheusError(f"{self.url} did not answer with JSON (is it a Prometheus API URL?): {body[:200]!r}") from exc
        if not isinstance(data, dict) or data.get("status") != "success":
            detail = data.get("error", data) if isinstance(data, dict) else data
            raise PrometheusError(f"Prometheus at {self.url} rejected {expr!r}: {detail}")
        result = data.get("data", {})
        if result.get("resultType") == "scalar":
            return [({}, float(result["result"][1]))]
        if result.get("resultType") != "vector":
            raise PrometheusError(f"Prometheus at {self.url}: expected an instant vector for {expr!r}, got {result.get('resultType')}")
        return [(item.get("metric", {}), float(item["value"][1])) for item in result.get("result", [])]


def _error_detail(exc: urllib.error.HTTPError) -> str:
    try:
        body = exc.read()
    except OSError:
        body = b""
    try:
        data = json.loads(body)
        return f"{data.get('errorType', 'error')}: {data.get('error', body.decode(errors='replace'))}"
    except (ValueError, AttributeError):
        return body.decode(errors="replace").strip()[:300] or str(exc.reason)


def parse_time(text: str | None) -> float:
    """Evaluation time from RFC 3339 (naive means UTC) or unix seconds; now when None."""
    if text is None:
        return time.time()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ObsgenError(f"--at {text!r}: expected RFC 3339 (2025-01-31T12:00:00Z) or unix seconds") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


# --- evaluation ---------------------------------------------------------------


def page_burn_rate(period_seconds: float) -> float:
    """Burn rate that spends 2 % of the budget in one hour: 14.4 for a 30d period."""
    return PAGE_BUDGET_SHARE * period_seconds / 3600


def classify(remaining: float | None, burn_1h: float | None, period_seconds: float) -> str:
    """The status rule of the module docstring."""
    if remaining is None:
        return NO_DATA
    if remaining <= 0:
        return "breach"
    if burn_1h is not None and burn_1h >= page_burn_rate(period_seconds):
        return "critical"
    if (burn_1h is not None and burn_1h >= 1) or remaining < LOW_BUDGET:
        return "warning"
    return "healthy"


def window_seconds(window: str) -> float:
    """Seconds of a Prometheus duration like 5m, 1h30m, 3d; inf when unparsable."""
    parts = re.findall(r"(\d+)(ms|[smhdwy])", window)
    if not parts or "".join(n + u for n, u in parts) != window:
        return math.inf
    return sum(int(n) * (0.001 if u == "ms" else _UNITS[u]) for n, u in parts)


def _number(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else value


def _recommendations(s: dict[str, Any]) -> list[str]:
    status, burn, remaining, tte = s["status"], s["burn_rate_1h"], s["error_budget_remaining"], s["time_to_exhaustion_seconds"]
    owner = f"page the owner ({s['team']})" if s["team"] else "page the owner"
    out = []
    if status == NO_DATA:
        out.append("no SLI data over the period: check that the SLO rules are loaded and the SLI selector matches live series")
    if status == "breach":
        out.append("budget exhausted: freeze risky releases per policy")
        out.append(f"put reliability work first until the SLI is back above {percent(s['objective'])}")
    if burn is not None and burn >= s["page_burn_rate"]:
        out.append(f"burning {rate(burn)}x: {owner}, check recent deploys")
    elif burn is not None and burn >= 1 and status != "breach":
        when = f"in {duration(tte)}" if tte is not None else "before the period ends"
        out.append(f"burning {rate(burn)}x: the budget runs out {when} at this rate; review recent changes")
    if remaining is not None and 0 < remaining < LOW_BUDGET:
        out.append(f"only {percent(remaining, 1)} of the budget left: slow down risky releases")
    if status != NO_DATA and not s["traffic_1h"]:
        out.append("no traffic in 1h: check the SLI selector")
    if s["period_assumed"]:
        out.append("slo:period:seconds is missing: a 30d period was assumed for the thresholds")
    return out


_LOWER_IS_WORSE = frozenset({"slo:sli:ratio_period", "slo:error_budget_remaining:ratio", "slo:time_to_exhaustion:seconds"})


def _worst(name: str, seen: float, value: float) -> float:
    if math.isnan(seen):
        return value
    if math.isnan(value) or (_WINDOWED.match(name) is None and name not in _LOWER_IS_WORSE):
        return seen
    return min(seen, value) if name in _LOWER_IS_WORSE else max(seen, value)


def _slo_entries(series: list[tuple[dict[str, str], float]]) -> list[dict[str, Any]]:
    by_key: dict[tuple[str, ...], dict[str, float]] = {}
    objectives: dict[tuple[str, ...], dict[str, str]] = {}
    for labels, value in sorted(series, key=lambda s: sorted(s[0].items())):
        if "slo" not in labels:
            continue
        key = tuple(labels.get(k, "") for k in _KEY)
        values = by_key.setdefault(key, {})
        name = labels["__name__"]
        # A grouped SLI (one series per group) is reported by its worst group.
        values[name] = _worst(name, values[name], value) if name in values else value
        if labels["__name__"] == "slo:objective:ratio":
            objectives.setdefault(key, labels)
    entries = []
    for key, labels in objectives.items():
        values = by_key[key]
        objective = values["slo:objective:ratio"]
        budget = _number(values.get("slo:error_budget:ratio"))
        budget = 1 - objective if budget is None else budget
        period = _number(values.get("slo:period:seconds"))
        sli = _number(values.get("slo:sli:ratio_period"))
        remaining = _number(values.get("slo:error_budget_remaining:ratio"))
        if remaining is None and sli is not None and budget > 0:
            remaining = 1 - (1 - sli) / budget
        if sli is None and remaining is not None:
            sli = 1 - (1 - remaining) * budget
        burn_rates, errors = {}, {}
        for name, value in values.items():
            match = _WINDOWED.match(name)
            if match:
                (burn_rates if match.group(1) == "burn_rate" else errors)[match.group(2)] = _number(value)
        burn_1h = burn_rates.get("1h")
        if burn_1h is None and errors.get("1h") is not None and budget > 0:
            burn_1h = errors["1h"] / budget
        tte = _number(values.get("slo:time_to_exhaustion:seconds"))
        entry = {
            "slo": labels["slo"],
            "service": labels.get("service", ""),
            "namespace": labels.get("namespace", ""),
            "team": labels.get("team", ""),
            "status": "",
            "objective": objective,
            "error_budget": budget,
            "period_seconds": period if period is not None else DEFAULT_PERIOD,
            "period": duration(period if period is not None else DEFAULT_PERIOD, parts=1),
            "period_assumed": period is None,
            "sli": sli,
            "error_budget_remaining": remaining,
            "burn_rate_1h": burn_1h,
            "burn_rates": dict(sorted(burn_rates.items(), key=lambda kv: window_seconds(kv[0]))),
            "page_burn_rate": page_burn_rate(period if period is not None else DEFAULT_PERIOD),
            "time_to_exhaustion_seconds": tte,
            "traffic_1h": burn_1h is not None,
            "recommendations": [],
            "_short_window_traffic": any(v is not None for w, v in errors.items() if window_seconds(w) <= TRAFFIC_WINDOW),
        }
        entry["status"] = classify(remaining, burn_1h, entry["period_seconds"])
        entry["recommendations"] = _recommendations(entry)
        entries.append(entry)
    return sorted(entries, key=_severity_order)


def _rank(status: str) -> int:
    return STATUSES.index(status) if status in STATUSES else -1


def _severity_order(entry: dict[str, Any]) -> tuple[Any, ...]:
    return (-_rank(entry["status"]), entry["namespace"], entry["service"], entry["slo"])


def _coverage(prom: Prometheus, profile_name: str, stack: Any, slos: list[dict[str, Any]]) -> dict[str, Any]:
    slo_traffic = {(s["namespace"], s["service"]) for s in slos if s["_short_window_traffic"] or s["traffic_1h"]}
    services, missing = [], []
    for svc in sorted(stack.services, key=lambda s: (s.namespace, s.name)):
        selector = svc.contract.matchers()
        evidence = []
        if prom.query(f"up{selector} == 1"):
            evidence.append("up")
        if prom.query(f"count({svc.contract.requests}{selector})"):
            evidence.append("requests")
        if (svc.namespace, svc.name) in slo_traffic:
            evidence.append("slo-traffic")
        row = {"service": svc.name, "namespace": svc.namespace, "team": svc.team, "selector": selector}
        services.append({**row, "live": bool(evidence), "evidence": evidence})
        if not evidence:
            missing.append(row)
    declared = {(s.namespace, s.name) for s in stack.services}
    undeclared = sorted({(s["namespace"], s["service"]) for s in slos} - declared)
    return {
        "profile": profile_name,
        "declared": len(services),
        "live": sum(1 for s in services if s["live"]),
        "services": services,
        "missing": missing,
        "undeclared": [{"service": name, "namespace": ns} for ns, name in undeclared],
    }


def build(
    prometheus_url: str, profile: Path | None = None, at: str | None = None, timeout: float = 10.0, access: Access = Access()
) -> dict[str, Any]:
    """Query Prometheus and assemble the report (the JSON document of the module docstring)."""
    evaluated = parse_time(at)
    prom = Prometheus(prometheus_url, evaluated, timeout, access)
    stack, profile_name = None, ""
    if profile is not None:  # a bad profile fails before any query
        from . import model
        from .profile import load

        loaded = load(profile)
        stack, profile_name = model.build(loaded), loaded.name
    slos = _slo_entries(prom.query('{__name__=~"slo:.+"}'))
    coverage = _coverage(prom, profile_name, stack, slos) if stack is not None else None
    counts = {status: sum(1 for s in slos if s["status"] == status) for status in (*STATUSES, NO_DATA)}
    present = [s["status"] for s in slos]
    worst = max(present, key=_rank) if present else None
    for s in slos:
        del s["_short_window_traffic"]
    return {
        "version": VERSION,
        "prometheus_url": prom.url,
        "evaluated_at": datetime.fromtimestamp(evaluated, UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "evaluated_at_unix": evaluated,
        "summary": {"slos": len(slos), **counts, "worst": worst},
        "slos": slos,
        "coverage": coverage,
    }


def exit_code(report: dict[str, Any], fail_on: str) -> int:
    """1 when some SLO's status is fail_on or worse; fail_on "never" always gives 0."""
    if fail_on == "never":
        return 0
    threshold = _rank(fail_on)
    return 1 if any(_rank(s["status"]) >= threshold for s in report["slos"]) else 0


def check_choice(option: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ObsgenError(f"{option} {value!r}: expected one of {', '.join(choices)}")
    return value


# --- rendering ----------------------------------------------------------------


def percent(value: float | None, decimals: int = 3) -> str:
    """0.999 -> 99.9%, 0.99853 -> 99.853%, -0.4 -> -40%: at most `decimals` decimals."""
    if value is None:
        return "—"
    text = f"{value * 100:.{decimals}f}".rstrip("0").rstrip(".")
    return f"{'0' if text in ('', '-0') else text}%"


def rate(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"


def duration(seconds: float | None, parts: int = 2) -> str:
    """3d 4h, 5h 12m, 42m, 30s: the largest `parts` non-zero units."""
    if seconds is None:
        return "—"
    remaining = round(seconds)
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, remaining = divmod(remaining, size)
        if count:
            out.append(f"{count}{unit}")
    return " ".join(out[:parts]) or "0s"


def render_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, allow_nan=False)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown(report: dict[str, Any]) -> str:
    summary = report["summary"]
    lines = [
        "# SLO compliance report",
        "",
        f"- Prometheus: {report['prometheus_url']}",
        f"- Evaluated at: {report['evaluated_at']}",
    ]
    if summary["slos"]:
        counts = ", ".join(f"{summary[s]} {s}" for s in (*reversed(STATUSES), NO_DATA) if summary[s])
        lines.append(f"- SLOs: {summary['slos']} ({counts})")
    else:
        lines.append("- SLOs: none found: no `slo:objective:ratio` series (are the SLO recording rules loaded?)")
    if report["slos"]:
        lines += [
            "",
            "| Status | Service | SLO | Team | Objective | SLI (period) | Budget left | Burn 1h | Page at | Exhausted in |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for s in report["slos"]:
            exhausted = "now" if s["status"] == "breach" else duration(s["time_to_exhaustion_seconds"])
            cells = [
                s["status"],
                f"{s['namespace']}/{s['service']}",
                s["slo"],
                s["team"] or "—",
                f"{percent(s['objective'])} / {s['period']}",
                percent(s["sli"]),
                percent(s["error_budget_remaining"], 1),
                f"{rate(s['burn_rate_1h'])}x" if s["burn_rate_1h"] is not None else "—",
                f"{rate(s['page_burn_rate'])}x",
                exhausted,
            ]
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        advice = [s for s in report["slos"] if s["recommendations"]]
        if advice:
            lines += ["", "## Recommendations", ""]
            for s in advice:
                lines.append(f"- **{s['namespace']}/{s['service']} {s['slo']}** ({s['status']})")
                lines += [f"  - {r}" for r in s["recommendations"]]
    lines += ["", "## Coverage", ""]
    coverage = report["coverage"]
    if coverage is None:
        lines.append("No profile given (`--profile`): declared services were not checked.")
        return "\n".join(lines)
    lines.append(f"Profile `{coverage['profile']}`: {coverage['live']} of {coverage['declared']} declared services live.")
    if coverage["services"]:
        lines += ["", "| Service | Team | Selector | Live | Evidence |", "|---|---|---|---|---|"]
        for s in coverage["services"]:
            cells = [f"{s['namespace']}/{s['service']}", s["team"], f"`{s['selector']}`", "yes" if s["live"] else "no"]
            cells.append(", ".join(s["evidence"]) or "—")
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    if coverage["missing"]:
        lines += ["", "Declared but not seen (no `up == 1`, no request series, no SLO traffic in 1h):", ""]
        lines += [f"- {m['namespace']}/{m['service']} (team {m['team']}): check its scrape or OTLP export" for m in coverage["missing"]]
    if coverage["undeclared"]:
        lines += ["", "SLOs of services the profile does not declare:", ""]
        lines += [f"- {u['namespace']}/{u['service']}" for u in coverage["undeclared"]]
    return "\n".join(lines)


def render(report: dict[str, Any], fmt: str) -> str:
    return render_json(report) if fmt == "json" else render_markdown(report)


def run(prometheus_url: str, profile: Path | None, fmt: str, fail_on: str, at: str | None, access: Access = Access()) -> tuple[str, int]:
    """What `obsgen report` prints and its exit code; ObsgenError means exit 2."""
    check_choice("--format", fmt, FORMATS)
    check_choice("--fail-on", fail_on, FAIL_ON)
    result = build(prometheus_url, profile=profile, at=at, access=access)
    return render(result, fmt), exit_code(result, fail_on)
