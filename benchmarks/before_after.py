"""Before/after benchmarks: the tree at another commit next to this one, and the reports."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REPORTS = ROOT / "benchmarks" / "reports"
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


def rerender(stem: str, report: Callable[[dict[str, Any]], str]) -> None:
    """Rewrite benchmarks/reports/<stem>.md from its .json (after a change of the text only)."""
    result = json.loads((REPORTS / f"{stem}.json").read_text())
    write_reports(stem, result, report(result))


def write_reports(stem: str, result: dict[str, Any], markdown: str) -> None:
    """benchmarks/reports/<stem>.json (the figures) and .md (for people), and the .md on stdout."""
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    (REPORTS / f"{stem}.md").write_text(markdown)
    print(markdown)
