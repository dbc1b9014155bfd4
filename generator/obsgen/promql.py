"""PromQL as Prometheus reads it: string literals, regexes and whole expressions.

Everything from a profile that ends up inside PromQL goes through here, so a
label value is always one quoted literal (never spliced text that could close
the matcher early), a regex is checked with RE2 (the engine Prometheus' Go
regexp implements) and anchored the way Prometheus anchors it, and every
expression the generator emits is parsed before anything is written.
"""

from __future__ import annotations

import json
import re

import promql_parser
import re2

_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # the error comes back as an exception; no stderr noise


class PromQLError(ValueError):
    """A string that Prometheus would refuse; the message says why, in one line."""


def string(value: str) -> str:
    """A double-quoted PromQL string literal holding exactly `value`.

    JSON's escapes (\\", \\\\, \\n, \\t, \\uXXXX) are a subset of the Go escapes
    the PromQL lexer accepts, so the literal reads back as the same text.
    """
    return json.dumps(value, ensure_ascii=False)


def check_regex(regex: str) -> None:
    """Raise PromQLError unless Prometheus can compile `regex` (fully anchored RE2)."""
    try:
        re2.compile(f"^(?s:{regex})$", _RE2_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise PromQLError(f"{regex!r} is not a valid RE2 regex as Prometheus reads it ({_one_line(reason)})") from None


def matcher(label: str, op: str, value: str) -> str:
    """One label matcher, e.g. matcher("status", "=~", "5..") → status=~"5.."."""
    if not _LABEL_NAME.match(label):
        raise PromQLError(f"{label!r} is not a Prometheus label name")
    if op not in ("=", "!=", "=~", "!~"):
        raise PromQLError(f"{op!r} is not a matcher operator")
    if op in ("=~", "!~"):
        check_regex(value)
    return f"{label}{op}{string(value)}"


def check(expr: str) -> None:
    """Raise PromQLError unless `expr` parses as PromQL."""
    try:
        promql_parser.parse(expr)
    except BaseException as exc:  # the binding raises ValueError, and panics surface as PanicException
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        raise PromQLError(f"does not parse as PromQL: {_one_line(str(exc))}") from None


def _one_line(text: str) -> str:
    return " ".join(text.split())
