"""The tree at another commit, next to this one, for before/after benchmarks."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# main before the issue "correct by construction" (issue 10): the baseline of its measurements.
DEFAULT_BEFORE = "6cdaa51"


@contextmanager
def checked_out(ref: str, where: Path) -> Iterator[Path]:
    """A detached git worktree of ref at `where`, removed afterwards."""
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-f", str(where), ref], check=True, capture_output=True)
    try:
        yield where
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(where)], capture_output=True)


def head() -> str:
    return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
