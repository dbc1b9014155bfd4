"""Run the obsgen CLI as a user would: a child process, never in-process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

OBSGEN = [sys.executable, "-m", "obsgen.cli"]


def obsgen(*args: str, cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*OBSGEN, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd)


def validate_profile(directory: Path, **sections: object) -> subprocess.CompletedProcess:
    """`obsgen validate` on a profile extending basic with these top-level sections."""
    import yaml

    source = directory / "profile.yaml"
    source.write_text(yaml.safe_dump({"name": "p", "extends": "basic", **sections}))
    return obsgen("validate", str(source))


def refused_naming(proc: subprocess.CompletedProcess, field: str) -> bool:
    """Exit 2, no traceback, and the field named on stderr."""
    return proc.returncode == 2 and "Traceback" not in proc.stderr and field in proc.stderr
