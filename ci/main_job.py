"""The main job (`make run`): generate every tier, render and validate the
chart with the real tools, and print a summary.

Exit status is non-zero if any tier fails any check; the summary says which.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import k8s, otelcol  # noqa: E402
from tests.support.render import CHART, TIERS, configmap_file, find, render_tier  # noqa: E402
from tests.support.tools import HELMS, tool  # noqa: E402

from obsgen import generate, model  # noqa: E402
from obsgen.cli import requests_total  # noqa: E402
from obsgen.profile import load_builtin  # noqa: E402


def _run(cmd: list[str]) -> tuple[bool, str]:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    return proc.returncode == 0, (proc.stdout + proc.stderr).strip()


def check_tier(tier: str, workdir: Path) -> tuple[dict[str, str], list[str]]:
    """Run every check on one tier; return a status per check and the failure details."""
    status: dict[str, str] = {}
    failures: list[str] = []

    def record(check: str, ok: bool, detail: str = "") -> None:
        status[check] = "ok" if ok else "FAIL"
        if not ok:
            failures.append(f"[{tier}] {check}: {detail}")

    values = ROOT / "values" / f"{tier}.yaml"
    for helm in HELMS:
        ok, out = _run([tool(helm), "lint", "--strict", str(CHART), "-f", str(values)])
        record(f"{helm} lint", ok, out)
        try:
            render_tier(tier, helm)
            record(f"{helm} template", True)
        except Exception as exc:  # a render failure is a finding, not a crash
            record(f"{helm} template", False, str(exc))
            return status, failures
    objects = list(render_tier(tier))
    status["objects"] = str(len(objects))
    validator = Path(k8s.validator()).name
    for version in k8s.K8S_VERSIONS:
        problems = k8s.problems(objects, version)
        record(f"{validator} k8s {version}", not problems, "\n".join(problems))
    for role in ("agent", "gateway"):
        name = f"obs-otel-collector-{role}"
        workloads = [o for o in objects if o["metadata"]["name"] == name and o["kind"] in ("DaemonSet", "Deployment", "StatefulSet")]
        if workloads:
            config = yaml.safe_load(configmap_file(objects, name, "config.yaml"))
            env = workloads[0]["spec"]["template"]["spec"]["containers"][0].get("env", [])
            (workdir / f"{tier}-{role}").mkdir(exist_ok=True)
            proc = otelcol.validate(config, env, workdir / f"{tier}-{role}")
            record(f"otelcol validate {role}", proc.returncode == 0, proc.stderr)

    config = workdir / f"{tier}-prometheus.yml"
    config.write_text(configmap_file(objects, "obs-prometheus-config", "prometheus.yml"))
    record("promtool config", *_run([tool("promtool"), "check", "config", "--syntax-only", str(config)]))
    rule_files = []
    for cm in find(objects, "ConfigMap"):
        if cm["metadata"].get("labels", {}).get("obs.dev/rule-file") == "true":
            for name, text in cm["data"].items():
                path = workdir / f"{tier}-{name}"
                path.write_text(text)
                rule_files.append(str(path))
    record("promtool rules", *_run([tool("promtool"), "check", "rules", *rule_files]))
    am = workdir / f"{tier}-alertmanager.yml"
    am_config = yaml.safe_load(configmap_file(objects, "obs-alertmanager-config", "alertmanager.yml"))
    am.write_text(yaml.safe_dump(am_config))
    record("amtool", *_run([tool("amtool"), "check-config", str(am)]))
    return status, failures


def main() -> int:
    started = time.monotonic()
    changed = generate.write(generate.plan_builtin())
    print(f"obsgen generate: {len(changed)} file(s) changed" + (f" ({', '.join(p.name for p in changed)})" if changed else ""))

    rows, failures = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for tier in TIERS:
            status, tier_failures = check_tier(tier, Path(tmp))
            totals = requests_total(model.build(load_builtin(tier)))
            rows.append((tier, status, totals))
            failures += tier_failures

    # Every check any tier ran, in the order run (basic has no collector to validate).
    checks = list(dict.fromkeys(c for _, status, _ in rows for c in status if c != "objects"))
    print()
    print(f"{'tier':14}{'objects':>8}{'cpu req':>9}{'mem req':>9}  " + "  ".join(checks))
    for tier, status, totals in rows:
        cells = "  ".join(f"{status.get(c, '-'):^{len(c)}}" for c in checks)
        print(f"{tier:14}{status.get('objects', '-'):>8}{totals['cpu']:>8.0f}m{totals['memory']:>7.0f}Mi  {cells}")
    print(f"\n(DaemonSet requests are per node and not included; `obsgen tiers` shows them.) {time.monotonic() - started:.0f}s")
    for failure in failures:
        print(f"\n{failure}")
    print("\nall checks passed" if not failures else f"\n{len(failures)} check(s) failed")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
