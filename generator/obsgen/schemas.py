"""JSON Schema validation with errors that name the field and the reason."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
from jsonschema import FormatChecker, validators
from jsonschema.exceptions import ValidationError, best_match

from . import paths, workloads
from .errors import ValidationErrors, field_path


def _read(schema_path: Path) -> dict[str, Any]:
    return json.loads(schema_path.read_text(encoding="utf-8"))


def _schema(schema_path: Path) -> dict[str, Any]:
    if schema_path.resolve() == paths.VALUES_SCHEMA.resolve():
        return values_schema()
    return _read(schema_path)


def values_schema() -> dict[str, Any]:
    """schemas/values.schema.json with the workload knobs filled in.

    The knobs' schemas are written once, in the profile schema's $defs (the
    profile takes the same names); here they are copied to `global`, to
    every workload's values path (workloads.WORKLOADS) and to the top-level
    and Prometheus extension points, so the chart's schema stays strict
    about typos in all of them. Draft-07 reads them as written: they use
    no newer keyword and no $ref of their own."""
    schema = _read(paths.VALUES_SCHEMA)
    profile = _read(paths.PROFILE_SCHEMA)
    knobs = profile["$defs"]["workload"]
    schema["definitions"]["pod"] = knobs

    def ref(knob: str) -> dict[str, str]:
        return {"$ref": f"#/definitions/pod/properties/{knob}"}

    def extend(node: dict[str, Any], properties: dict[str, Any]) -> None:
        clash = set(properties) & set(node["properties"])
        if clash:
            raise ValueError(f"values schema: {sorted(clash)} are both written and filled in")
        node["properties"].update(properties)
        node.setdefault("required", []).extend(properties)

    for workload in workloads.WORKLOADS:
        node = schema
        for key in workload.path:
            node = node["properties"][key]
        extend(node, {k: ref(k) for k in workloads.KNOBS})
    extend(schema["properties"]["global"], {k: ref(k) for k in workloads.GLOBAL_KNOBS if k != "commonLabels"})
    extend(schema["properties"]["global"], {"commonLabels": profile["properties"]["commonLabels"]})
    extend(schema, {"extraObjects": profile["properties"]["extraObjects"]})
    extend(schema["properties"]["prometheus"], {"additionalScrapeConfigs": profile["properties"]["additionalScrapeConfigs"]})
    return schema


@cache
def _validator(schema_path: Path) -> validators.Validator:
    # Each schema names its draft: the profile uses 2020-12, the values schema
    # draft-07 because Helm 3's validator reads no newer draft. The schemas
    # themselves are checked against their meta-schemas by the test suite.
    schema = _schema(schema_path)
    return validators.validator_for(schema)(schema, format_checker=FormatChecker())


@cache
def _fast(schema_path: Path) -> Any:
    """The Rust validator: decides validity (ECMA regexes: `$` does not match
    before a trailing newline, as Python's does), in a millisecond where the
    Python one takes a tenth of a second. The Python one words the errors."""
    return jsonschema_rs.validator_for(_schema(schema_path), validate_formats=True)


_MAX_REASON = 240


def _reason(error: ValidationError) -> str:
    # oneOf/anyOf/if-then errors are vague at the top; the most specific
    # sub-error says what is actually wrong.
    if error.context:
        return _reason(best_match(error.context))
    # The message starts with the offending value's repr, which can be a
    # whole subtree: one line, bounded.
    return _one_line(error.message)


def _one_line(message: str) -> str:
    text = " ".join(message.split())
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"


def _path(error: ValidationError) -> str:
    if error.context:
        return _path(best_match(error.context))
    return field_path(error.absolute_path)


def validate(document: Any, schema_path: Path, source: str) -> None:
    """Raise ValidationErrors listing every violation of the schema."""
    try:
        if _fast(schema_path).is_valid(document):
            return
    except (ValueError, TypeError, OverflowError):
        pass  # a value JSON has no type for (a date, a set): the Python validator says which
    errors = sorted(_validator(schema_path).iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        raise ValidationErrors(source, [(_path(e), _reason(e)) for e in errors])
    # Invalid only where Python's regexes are lax (a trailing newline) or its
    # format checks are off: the Rust validator words those.
    problems = [(field_path(e.instance_path), _one_line(e.message)) for e in _fast(schema_path).iter_errors(document)]
    if problems:
        raise ValidationErrors(source, problems)
