"""SLO files listed in the profile's `sloFiles`: Sloth prometheus/v1 (and its
PrometheusServiceLevel resource), OpenSLO v1, and OpenSLO v1alpha as Sloth reads it."""

from __future__ import annotations

from ... import paths, yamlio
from ...errors import FileError
from ...model import Stack
from . import openslo, openslo_v1alpha, sloth
from .definition import SLO
from .validate import Problems

_NEITHER = "neither a Sloth prometheus/v1 file (version, service, slos) nor OpenSLO v1 objects (apiVersion: openslo/v1)"


def slos(stack: Stack, profile_source: str, problems: Problems) -> list[SLO]:
    reader = openslo.Reader(stack, problems)
    out: list[SLO] = []
    for k, path in enumerate(stack.slo_files):
        src = paths.display(path)
        if not path.exists():
            problems.add(profile_source, f"sloFiles[{k}]", f"no such file: {src}")
            continue
        try:
            documents = [doc for doc in yamlio.load_documents(path) if doc is not None]
        except FileError as exc:
            problems.add(profile_source, f"sloFiles[{k}]", f"{src}: {exc.reason}")
            continue
        if not documents:
            problems.add(src, "(top level)", "the file holds no SLO")
        for i, document in enumerate(documents):
            where = f"documents[{i}]" if len(documents) > 1 else "(top level)"
            if openslo_v1alpha.is_v1alpha(document):
                out.extend(openslo_v1alpha.slos(document, src, stack, problems))
            elif sloth.is_sloth(document):
                out.extend(sloth.slos(document, src, stack, problems))
            elif openslo.is_openslo(document):
                reader.add(document, src, i)
            elif sloth.is_resource(document):
                out.extend(sloth.resource_slos(document, src, stack, problems))
            else:
                problems.add(src, where, _NEITHER)
    return out + reader.slos()
