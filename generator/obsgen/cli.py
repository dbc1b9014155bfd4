"""obsgen command line."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from . import generate as gen
from . import model, paths, schemas, yamlio
from .errors import ObsgenError
from .profile import load_builtin
from .tiers import COMPONENTS, CONTAINERS, TIER_ORDER, TIERS

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Generate obs values, rules and dashboards from tier profiles.")


def _fail(exc: ObsgenError) -> None:
    typer.echo(f"error: {exc}".replace("\n", "\nerror: "), err=True)
    raise typer.Exit(code=2)


@app.command()
def generate(
    profiles: list[Path] | None = typer.Argument(None, help="Profile files; none means every built-in tier."),
    check: bool = typer.Option(False, "--check", help="Write nothing; exit 1 and show what differs if outputs are stale."),
    out_dir: Path = typer.Option(paths.VALUES_DIR, "--out-dir", help="Where values/<name>.yaml files of given profiles go."),
) -> None:
    """Generate values files (every built-in tier, or the given profiles)."""
    try:
        outputs = gen.plan_profiles(profiles, out_dir) if profiles else gen.plan_builtin()
    except ObsgenError as exc:
        _fail(exc)
    # Pages of alerts that no longer exist go too, so docs/runbooks holds
    # exactly the alerts obs can generate.
    stale = [] if profiles else gen.stale_runbooks(outputs)
    if check:
        reports = gen.drift(outputs) + [f"{paths.display(p)}: no longer generated\n" for p in stale]
        for report in reports:
            typer.echo(report)
        if reports:
            typer.echo(f"{len(reports)} generated file(s) are stale: run `obsgen generate`", err=True)
            raise typer.Exit(code=1)
        typer.echo(f"{len(outputs)} generated file(s) are current")
        return
    changed = gen.write(outputs)
    for path in stale:
        path.unlink()
        typer.echo(f"{'removed':9}  {paths.display(path)}")
    for out in outputs:
        state = "written" if out.path in changed else "unchanged"
        typer.echo(f"{state:9}  {paths.display(out.path)}")


@app.command()
def validate(file: Path = typer.Argument(..., help="A profile or a values file.")) -> None:
    """Validate a profile (everything `generate` checks, nothing written) or a values file."""
    try:
        data = yamlio.load_file(file)
        if isinstance(data, dict) and ("tier" in data or "extends" in data):
            profile = gen.check_profile(file)
            typer.echo(f"{file}: valid profile {profile.name!r} (tier {profile.tier})")
        else:
            schemas.validate(data, paths.VALUES_SCHEMA, str(file))
            typer.echo(f"{file}: valid values file")
    except ObsgenError as exc:
        _fail(exc)


def _cpu_millis(q: str) -> float:
    from .profile import quantity

    return quantity(q) * 1000


def _mem_mib(q: str) -> float:
    from .profile import quantity

    return quantity(q) / 2**20


@app.command()
def tiers() -> None:
    """Print the tier matrix with each tier's summed resource requests."""
    header = f"{'':28}" + "".join(f"{t:>14}" for t in TIER_ORDER)
    lines = [header]

    def row(label: str, cells: list[str]) -> None:
        lines.append(f"{label:28}" + "".join(f"{c:>14}" for c in cells))

    stacks = {t: model.build(load_builtin(t)) for t in TIER_ORDER}
    for component in COMPONENTS:
        row(component, ["yes" if component in TIERS[t].components else "-" for t in TIER_ORDER])
    row("high availability", ["yes" if TIERS[t].high_availability else "-" for t in TIER_ORDER])
    row("prometheus replicas", [str(TIERS[t].prometheus_replicas) for t in TIER_ORDER])
    row("alertmanager replicas", [str(TIERS[t].alertmanager_replicas) for t in TIER_ORDER])
    row("retention", [f"{stacks[t].retention_time}/{stacks[t].retention_size}" for t in TIER_ORDER])
    row("prometheus volume", [f"{stacks[t].prometheus_storage_gi}Gi" for t in TIER_ORDER])
    row("scrape interval", [TIERS[t].scrape_interval for t in TIER_ORDER])
    row("logs / traces", [f"{'yes' if TIERS[t].logs else '-'} / {'yes' if TIERS[t].traces else '-'}" for t in TIER_ORDER])
    row("trace sampling", [TIERS[t].trace_sampling if TIERS[t].traces else "-" for t in TIER_ORDER])
    totals = {t: requests_total(stacks[t]) for t in TIER_ORDER}
    row("requests cpu (cluster)", [f"{totals[t]['cpu']:.0f}m" for t in TIER_ORDER])
    row("requests memory (cluster)", [f"{totals[t]['memory']:.0f}Mi" for t in TIER_ORDER])
    row("  + per node (DaemonSets)", [f"{totals[t]['node_cpu']:.0f}m/{totals[t]['node_memory']:.0f}Mi" for t in TIER_ORDER])
    typer.echo("\n".join(lines))


# The component that switches each container on (sidecars go with their pod).
_OWNER = {"grafanaDashboardSidecar": "grafana", "otelAgent": "otelCollector", "otelGateway": "otelCollector"}


def _backend_requests(stack: model.Stack) -> list[tuple[int, dict]]:
    """(replicas, resources) of the log and trace stores, as their values say."""
    from .artifacts import logs_traces

    sections = logs_traces.values(stack.tier.name, stack.cluster, traces_backend=stack.traces_backend, resources=stack.backend_resources)
    out = []
    loki = sections["loki"]
    if loki["enabled"]:
        if loki["mode"] == "scalable":
            out += [(t["replicas"], t["resources"]) for t in loki["scalable"].values()]
        else:
            out.append((1, loki["resources"]))
    for name in ("tempo", "jaeger"):
        if sections[name]["enabled"]:
            out.append((sections[name].get("replicas", 1), sections[name]["resources"]))
    return out


def requests_total(stack: model.Stack) -> dict[str, float]:
    """Summed requests of a stack: cluster-wide workloads, and per node for DaemonSets."""
    total = {"cpu": 0.0, "memory": 0.0, "node_cpu": 0.0, "node_memory": 0.0}
    for container in CONTAINERS:
        if not stack.enabled(_OWNER.get(container, container)):
            continue
        size = stack.sizes[container]
        count = stack.tier.replicas(container)
        if count is None:
            total["node_cpu"] += _cpu_millis(size.cpu)
            total["node_memory"] += _mem_mib(size.memory)
        else:
            total["cpu"] += count * _cpu_millis(size.cpu)
            total["memory"] += count * _mem_mib(size.memory)
    for count, resources in _backend_requests(stack):
        total["cpu"] += count * _cpu_millis(resources["requests"]["cpu"])
        total["memory"] += count * _mem_mib(resources["requests"]["memory"])
    return total


@app.command()
def report(
    prometheus_url: str = typer.Option(..., "--prometheus-url", help="Prometheus base URL, e.g. http://localhost:9090."),
    profile: Path | None = typer.Option(None, "--profile", help="Profile whose declared services are checked for live telemetry."),
    fmt: str = typer.Option("markdown", "--format", help="markdown (for people) or json (for machines)."),
    fail_on: str = typer.Option("never", "--fail-on", help="Exit 1 when an SLO is at this status or worse: never|warning|critical|breach."),
    at: str | None = typer.Option(None, "--at", help="Evaluate at this time: RFC 3339 or unix seconds (reproducible reports)."),
    ca_file: Path | None = typer.Option(None, "--ca-file", help="CA of a Prometheus serving TLS (profile web.prometheus.tls)."),
    username: str | None = typer.Option(
        None, "--username", help="Basic-auth user of a Prometheus that requires it; the password is read from OBS_PROMETHEUS_PASSWORD."
    ),
) -> None:
    """Print an SLO compliance report (status, budget, burn rate, coverage) from a live Prometheus."""
    from . import report as slo_report

    try:
        access = slo_report.Access(ca_file=ca_file, username=username)
        text, code = slo_report.run(prometheus_url, profile, fmt, fail_on, at, access)
    except ObsgenError as exc:
        _fail(exc)
    typer.echo(text)
    raise typer.Exit(code=code)


def main() -> None:
    # A bug must not show a user a traceback either: one line, exit 3 (bad
    # input is exit 2); OBSGEN_DEBUG=1 shows the traceback for a report.
    try:
        app()
    except Exception as exc:
        if os.environ.get("OBSGEN_DEBUG"):
            raise
        reason = " ".join(str(exc).split())[:300]
        typer.echo(f"error: obsgen failed on this input ({type(exc).__name__}: {reason}); this is a bug: please report it", err=True)
        sys.exit(3)


if __name__ == "__main__":
    sys.exit(main())
