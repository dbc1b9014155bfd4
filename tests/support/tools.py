"""Locate the external binaries the tests run (installed by ci/install-tools.sh).

A missing tool is an error naming the command that installs it: a test that
silently skipped for want of promtool would prove nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOLS_BIN = ROOT / ".tools" / "bin"
HELMS = ("helm", "helm3")  # Helm 4.1 and Helm 3.17


class MissingTool(RuntimeError):
    pass


def tool(name: str) -> str:
    local = TOOLS_BIN / name
    if local.exists() and os.access(local, os.X_OK):
        return str(local)
    found = shutil.which(name)
    if found:
        return found
    raise MissingTool(f"{name} not found in {TOOLS_BIN} or on PATH: run `make tools` (ci/install-tools.sh)")


def unsupported_prometheus_flags() -> list[str]:
    """Flags of the deployed image that the local (Debian) build lacks: loopback rule 7."""
    proc = subprocess.run([tool("prometheus"), "--help"], capture_output=True, text=True, timeout=30)
    known = proc.stdout + proc.stderr
    return [flag for flag in ("--web.enable-otlp-receiver",) if flag not in known]


def module_files(name: str) -> Path:
    """Upstream files fetched from a project's Go module (MODULE_FILES in ci/install-tools.sh)."""
    where = ROOT / ".tools" / "share" / "files" / name
    if not (where / ".version").exists():
        raise MissingTool(f"{name} files not found in {where}: run `make tools` (ci/install-tools.sh)")
    return where
