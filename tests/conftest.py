from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.tools import ROOT

EXAMPLE_PROFILE = ROOT / "examples" / "profiles" / "acme.yaml"


@pytest.fixture(scope="session")
def acme_values(tmp_path_factory) -> Path:
    """Values generated from the example organisation profile."""
    from obsgen import generate

    out_dir = tmp_path_factory.mktemp("acme")
    generate.write(generate.plan_profile(EXAMPLE_PROFILE, out_dir))
    return out_dir / "acme.yaml"


@pytest.fixture(scope="session")
def chart_root(tmp_path_factory) -> str:
    """Where the backend subcharts are copied with obs-lib vendored (tests/test_log_trace_backends.py)."""
    return str(tmp_path_factory.mktemp("backend-charts"))
