"""SLO files listed in the profile's `sloFiles`: Sloth prometheus/v1 and OpenSLO v1."""

from __future__ import annotations

from typing import Any

import yaml

from ... import paths
from ...model import Stack
from . import openslo, sloth
from .definition import SLO
from .validate import Problems

_NEITHER = "neither a Sloth prometheus/v1 file (version, service, slos) nor OpenSLO v1 objects (apiVersion: openslo/v1)"


def _documents(text: str) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(text) if doc is not None]


def slos(stack: Stack, profile_source: str, problems: Problems) -> list[SLO]:
    reader = openslo.Reader(stack, problems)
    out: list[SLO] = []
    for k, path in enumerate(stack.slo_files):
        src = paths.display(path)
        if not path.is_file():
            problems.add(profile_source, f"sloFiles[{k}]", f"no such file: {src}")
            continue
        try:
            documents = _documents(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            problems.add(src, "(top level)", f"not valid YAML: {exc}")
            continue
        if not documents:
            problems.add(src, "(top level)", "the file holds no SLO")
        for i, document in enumerate(documents):
            where = f"documents[{i}]" if len(documents) > 1 else "(top level)"
            if sloth.is_sloth(document):
                out.extend(sloth.slos(document, src, stack, problems))
            elif openslo.is_openslo(document):
                reader.add(document, src, i)
            elif isinstance(document, dict) and str(document.get("apiVersion", "")).startswith("sloth.slok.dev/"):
                problems.add(
                    src, where, "Sloth's Kubernetes resource (PrometheusServiceLevel) is not supported: use the prometheus/v1 file format"
                )
            else:
                problems.add(src, where, _NEITHER)
    return out + reader.slos()
