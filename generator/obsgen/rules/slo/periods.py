"""The window tables of a stack: the built-in ones (windows.py) and those of
the profile's `sloDefaults.windows` (Sloth AlertWindows files), which add a
period or replace a built-in one for every SLO of that period."""

from __future__ import annotations

from ... import paths, yamlio
from ...errors import FileError
from ...model import Stack
from .validate import Problems
from .windows import WindowTable, catalog, from_alert_windows


def window_tables(stack: Stack, profile_source: str, problems: Problems) -> tuple[WindowTable, ...]:
    """The tables of sloDefaults.windows, one per file; a period given twice is an error."""
    out: dict[str, tuple[WindowTable, str]] = {}
    for k, path in enumerate(stack.slo_window_files):
        src = paths.display(path)
        field = f"sloDefaults.windows[{k}]"
        if not path.exists():
            problems.add(profile_source, field, f"no such file: {src}")
            continue
        try:
            documents = [doc for doc in yamlio.load_documents(path) if doc is not None]
        except FileError as exc:
            problems.add(profile_source, field, f"{src}: {exc.reason}")
            continue
        if len(documents) != 1:
            problems.add(src, "(top level)", f"one AlertWindows document per file, found {len(documents)}")
            continue
        table, found = from_alert_windows(documents[0])
        for where, reason in found:
            problems.add(src, where, reason)
        if table is None:
            continue
        if table.period in out:
            problems.add(src, "spec.sloPeriod", f"period {table.period} is already defined by {out[table.period][1]}")
            continue
        out[table.period] = (table, src)
    return tuple(table for table, _ in out.values())


# Keyed by identity; the entry holds the stack, so the id cannot be reused.
_CATALOGS: dict[int, tuple[Stack, dict[str, WindowTable]]] = {}


def of(stack: Stack) -> dict[str, WindowTable]:
    """period → window table for this stack. Problems in the files are
    reported by slos() (check); here a broken file only adds no table."""
    cached = _CATALOGS.get(id(stack))
    if cached is None or cached[0] is not stack:
        _CATALOGS.clear()
        cached = _CATALOGS[id(stack)] = (stack, catalog(window_tables(stack, "", Problems())))
    return cached[1]


def check(stack: Stack, profile_source: str, problems: Problems) -> None:
    """Every problem of sloDefaults: the window files, and a default period they do not provide."""
    tables = catalog(window_tables(stack, profile_source, problems))
    if stack.slo_default_period not in tables:
        supported = ", ".join(sorted(tables, key=lambda p: -tables[p].period_seconds))
        reason = f"no alert windows for period {stack.slo_default_period!r}: use one of {supported}"
        problems.add(profile_source, "sloDefaults.period", reason)
