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


def _parse(expr: str) -> object:
    try:
        return promql_parser.parse(expr)
    except BaseException as exc:  # the binding raises ValueError, and panics surface as PanicException
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        raise PromQLError(f"does not parse as PromQL: {_one_line(str(exc))}") from None


def check(expr: str) -> None:
    """Raise PromQLError unless `expr` parses as PromQL."""
    _parse(expr)


def _one_line(text: str) -> str:
    return " ".join(text.split())


# Aggregations whose `by` labels are exactly the labels of their result
# (topk, quantile, count_values and limitk keep or add others).
_GROUPING_OPS = frozenset({"sum", "avg", "min", "max", "count", "group", "stddev", "stdvar"})
# Functions whose result is not labelled like their first vector argument.
_RELABELLING = frozenset({"label_replace", "label_join", "absent", "absent_over_time", "scalar", "sort_by_label", "sort_by_label_desc"})


def grouping(expr: str) -> tuple[str, ...] | None:
    """The labels of `expr`'s result when an aggregation `by (…)` decides them:
    `sum(rate(x[5m])) by (route)` → ("route",), `sum(…)` or a scalar → (),
    None when the text does not tell (a bare selector, `without`, mixed sides).
    Raises PromQLError when it does not parse."""
    return _grouping(_parse(expr))


def _grouping(node: object) -> tuple[str, ...] | None:
    kind = type(node).__name__
    if kind in ("NumberLiteral", "StringLiteral"):
        return ()
    if kind in ("ParenExpr", "UnaryExpr", "SubqueryExpr", "MatrixSelector"):
        return _grouping(node.expr) if hasattr(node, "expr") else None
    if kind == "AggregateExpr":
        if str(node.op) not in _GROUPING_OPS:
            return None
        modifier = node.modifier
        if modifier is None:
            return ()
        return tuple(modifier.labels) if str(modifier.type).endswith("By") else None
    if kind == "Call":
        name = node.func.name
        if name == "vector":
            return ()
        if name in _RELABELLING:
            return None
        vectors = [a for a in node.args if type(a).__name__ not in ("NumberLiteral", "StringLiteral")]
        return _grouping(vectors[0]) if vectors else ()
    if kind == "BinaryExpr":
        left, right = _grouping(node.lhs), _grouping(node.rhs)
        literal = ("NumberLiteral", "StringLiteral")
        if type(node.rhs).__name__ in literal:
            return left
        if type(node.lhs).__name__ in literal:
            return right
        if left is not None and str(node.op) == "or" and right == ():
            return left  # `… or on() vector(0)`: the groups, or one zero while there are none
        return left if left == right else None
    return None  # a selector: labelled like the raw series


def functions(expr: str) -> set[str]:
    """Names of every function an expression calls."""
    found: set[str] = set()

    def walk(node: object) -> None:
        if type(node).__name__ == "Call":
            found.add(node.func.name)
            for arg in node.args:
                walk(arg)
        for attr in ("expr", "lhs", "rhs", "param"):
            child = getattr(node, attr, None)
            if child is not None and not isinstance(child, str | int | float):
                walk(child)

    walk(_parse(expr))
    return found
