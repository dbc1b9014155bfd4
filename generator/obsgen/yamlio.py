"""Deterministic YAML in and out, and atomic writes.

Out: same input, same bytes. Keys keep the order the generator built them
in, multi-line strings (PromQL, templates) are literal blocks, no anchors.
libyaml's C emitter is used when PyYAML has it; it writes the same bytes
as the pure-Python one (tests/test_input_hardening.py checks) several
times faster.

In: a file a user hands us is read defensively. It must be a regular file
of bounded size and UTF-8 text; the YAML may not repeat a key in a
mapping, nest deeper than a profile ever needs, or expand through aliases
into more nodes than it plausibly holds (the "billion laughs" alias bomb
costs nothing to parse and everything to walk). Every such problem is one
line naming the file and, where there is one, the line.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import Any

import yaml

from . import paths
from .errors import FileError

MAX_BYTES = 4 * 2**20  # a 300-service profile is about 200 KiB
MAX_DEPTH = 64  # profiles nest about 10 deep
MAX_NODES = 200_000  # after alias expansion; a 300-service profile has about 20 000

_CDumper = getattr(yaml, "CSafeDumper", None)
_CLoader = getattr(yaml, "CSafeLoader", None)


class _PyDumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:  # shared objects must not become anchors
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        # Literal blocks cannot carry trailing spaces on a line; strip them so
        # the block style is always possible.
        value = "\n".join(line.rstrip() for line in value.split("\n"))
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_PyDumper.add_representer(str, _str)

if _CDumper is not None:

    class _FastDumper(_CDumper):  # type: ignore[misc, valid-type]
        def ignore_aliases(self, data: Any) -> bool:
            return True

    _FastDumper.add_representer(str, _str)
    _Dumper: type = _FastDumper
else:  # pragma: no cover - PyYAML built without libyaml
    _Dumper = _PyDumper

_DUMP_OPTIONS = {"sort_keys": False, "default_flow_style": False, "width": 4096, "allow_unicode": True}


def dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, **_DUMP_OPTIONS)


def dump_pure_python(data: Any) -> str:
    """The pure-Python emitter's output, for the test that the C emitter matches it."""
    return yaml.dump(data, Dumper=_PyDumper, **_DUMP_OPTIONS)


# --- reading ---------------------------------------------------------------------------


class _Loader(_CLoader or yaml.SafeLoader):  # type: ignore[misc]
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: SafeLoader reports it below
                continue
            if first is not None:
                line, before = key_node.start_mark.line + 1, first.start_mark.line + 1
                raise _Problem(f"line {line}: key {key!r} appears twice in one mapping (first at line {before})")
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


class _Problem(Exception):
    pass


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


_OPEN = -1


def _check_shape(root: yaml.Node) -> None:
    """Depth, alias cycles and alias-expanded size, without expanding anything.

    Iterative depth-first walk: a node is open from its first visit until its
    children are done, so the open nodes are exactly the current node's
    ancestors, and an alias to one of them is a cycle.
    """
    state: dict[int, int] = {}  # id(node) -> _OPEN, or the expanded size
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, done = stack.pop()
        if done:
            total = 1 + sum(state[id(c)] for c in _children(node))
            if total > MAX_NODES:
                raise _Problem(f"expands through aliases to more than {MAX_NODES:,} values (an alias bomb?)")
            state[id(node)] = total
            continue
        if id(node) in state:
            continue
        if depth > MAX_DEPTH:
            raise _Problem(f"line {node.start_mark.line + 1}: nested more than {MAX_DEPTH} levels deep")
        state[id(node)] = _OPEN
        stack.append((node, depth, True))
        for child in _children(node):
            if state.get(id(child)) == _OPEN:
                raise _Problem(f"line {child.start_mark.line + 1}: an alias refers to a value that contains it")
            if id(child) not in state:
                stack.append((child, depth + 1, False))


def _one_line(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    text = f"{context}: {problem}" if context else str(problem)
    text = " ".join(text.split())
    return f"line {mark.line + 1}, column {mark.column + 1}: {text}" if mark else text


def read_text(path: Path) -> str:
    """The text of a user's file, or FileError with one line saying why not."""
    source = paths.display(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise FileError(source, "no such file") from None
    except OSError as exc:
        raise FileError(source, f"cannot be read: {exc.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise FileError(source, "is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise FileError(source, "is not a regular file (a device, pipe or socket)")
    if info.st_size > MAX_BYTES:
        raise FileError(source, f"is {info.st_size:,} bytes; more than the {MAX_BYTES:,} a profile or SLO file may have")
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise FileError(source, f"cannot be read: {exc.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FileError(source, f"line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None


def load_documents(path: Path) -> list[Any]:
    """Every YAML document of a user's file, read with the checks above."""
    source = paths.display(path)
    text = read_text(path)
    if "\x00" in text:
        raise FileError(source, "holds a NUL character; not a YAML text file")
    loader = _Loader(text)
    documents = []
    try:
        while loader.check_node():
            node = loader.get_node()
            _check_shape(node)
            documents.append(loader.construct_document(node))
    except _Problem as exc:
        raise FileError(source, str(exc)) from None
    except yaml.YAMLError as exc:
        raise FileError(source, f"not valid YAML: {_one_line(exc)}") from None
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. `!!float abc`, `!!timestamp 2026-13-45`
        raise FileError(source, f"not valid YAML: a tagged value does not convert ({' '.join(str(exc).split())})") from None
    except RecursionError:
        raise FileError(source, "nested too deeply to read") from None
    finally:
        loader.dispose()
    return documents


def load_file(path: Path) -> Any:
    """The one YAML document of a user's file (None when empty)."""
    documents = load_documents(path)
    if len(documents) > 1:
        raise FileError(paths.display(path), f"holds {len(documents)} YAML documents; a profile is one")
    return documents[0] if documents else None


def write_atomic(path: Path, text: str) -> None:
    """Replace path with text in one rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
