"""Errors that reach the user: each names the file, the field path and the reason."""

from __future__ import annotations

from collections.abc import Iterable


class ObsgenError(Exception):
    """A problem in the user's input. The message is printed as is."""


class FileError(ObsgenError):
    """A file that cannot be read as what it should be; `reason` without the file name."""

    def __init__(self, source: str, reason: str):
        self.source = source
        self.reason = reason
        super().__init__(f"{source}: {reason}")


def field_path(parts: Iterable[object]) -> str:
    """Render a JSON path like services[2].team from its parts."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


class ValidationErrors(ObsgenError):
    """One or more field-level problems in one file."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = problems
        lines = [f"{source}: {path}: {reason}" for path, reason in problems]
        super().__init__("\n".join(lines))
