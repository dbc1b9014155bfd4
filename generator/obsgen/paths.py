"""Where the repository's inputs and outputs live.

obsgen works on this repository (it writes the committed values files), so
paths are resolved from the package's place in the checkout.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parents[1]
BUILTIN_PROFILES = PACKAGE / "profiles"
SCHEMAS = ROOT / "schemas"
PROFILE_SCHEMA = SCHEMAS / "profile.schema.json"
VALUES_SCHEMA = SCHEMAS / "values.schema.json"
VALUES_DIR = ROOT / "values"
CHART = ROOT / "charts" / "obs"
CHART_VALUES = CHART / "values.yaml"
CHART_SCHEMA = CHART / "values.schema.json"
RUNBOOKS = ROOT / "docs" / "runbooks"
# The library chart app charts include for instrumentation; its tier table is generated.
INSTRUMENTATION_CHART = ROOT / "charts" / "obs-instrumentation"
INSTRUMENTATION_TIERS = INSTRUMENTATION_CHART / "templates" / "_tiers.tpl"


def display(path: Path) -> str:
    """A path as the user should read it: relative to the repository when inside it."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)
