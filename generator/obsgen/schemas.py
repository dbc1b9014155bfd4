"""JSON Schema validation with errors that name the field and the reason."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import FormatChecker, validators
from jsonschema.exceptions import ValidationError, best_match

from .errors import ValidationErrors, field_path


@cache
def _validator(schema_path: Path) -> validators.Validator:
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    # Each schema names its draft: the profile uses 2020-12, the values schema
    # draft-07 because Helm 3's validator reads no newer draft.
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=FormatChecker())


_MAX_REASON = 240


def _reason(error: ValidationError) -> str:
    # oneOf/anyOf/if-then errors are vague at the top; the most specific
    # sub-error says what is actually wrong.
    if error.context:
        return _reason(best_match(error.context))
    # The message starts with the offending value's repr, which can be a
    # whole subtree: one line, bounded.
    text = " ".join(error.message.split())
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"


def _path(error: ValidationError) -> str:
    if error.context:
        return _path(best_match(error.context))
    return field_path(error.absolute_path)


def validate(document: Any, schema_path: Path, source: str) -> None:
    """Raise ValidationErrors listing every violation of the schema."""
    errors = sorted(_validator(schema_path).iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        raise ValidationErrors(source, [(_path(e), _reason(e)) for e in errors])
