"""YAML files of the contract (dataset.yaml, mappings): parsed with the line of every key,
so that a problem can name the line it is on, and checked for unknown keys."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from channelops.ingest.contract import DatasetError


def _load_yaml(path: Path, rel: str) -> tuple[Any, dict[tuple, int]]:
    """Parse a YAML file. Returns the data and a map key-path -> 1-based line of the key."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise DatasetError(
            rel,
            "not valid UTF-8 text",
            expected="a UTF-8 YAML file",
            found=f"byte 0x{e.object[e.start]:02x} at byte offset {e.start}",
            fix=f"save {rel} as UTF-8",
        ) from None
    try:
        data = yaml.safe_load(text)
        node = yaml.compose(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        col = mark.column + 1 if mark is not None else None
        lines = text.splitlines()
        found = repr(lines[line - 1]) if line is not None and line <= len(lines) else "?"
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        where = f" near line {line}" if line else ""
        raise DatasetError(
            rel,
            f"malformed YAML ({problem}, column {col})",
            expected="valid YAML",
            found=found,
            fix=f"check the indentation, colons and quotes{where}",
            line=line,
        ) from None
    lines_of: dict[tuple, int] = {}

    def walk(n: Any, prefix: tuple) -> None:
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                key = (*prefix, k.value)
                lines_of[key] = k.start_mark.line + 1
                walk(v, key)
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                lines_of[(*prefix, i)] = v.start_mark.line + 1
                walk(v, (*prefix, i))

    walk(node, ())
    return data, lines_of


def _keys(d: dict) -> str:
    """The keys of ``d`` comma-separated, for messages ("(none)" when empty)."""
    return ", ".join(str(k) for k in d) if d else "(none)"


def _check_keys(
    d: dict, allowed: Sequence[str], rel: str, lines: dict, prefix: tuple, what: str
) -> None:
    """DatasetError naming the line of the first key of ``d`` not in ``allowed``.

    Args:
        d: a YAML mapping; ``prefix`` is its key path in the file, ``what`` its name in the
            message (e.g. "a mapping").
        allowed: the keys it may hold.
        rel, lines: the file and the line of every key path (from :func:`_load_yaml`).
    """
    for k in d:
        if k not in allowed:
            path = ".".join(str(p) for p in (*prefix, k))
            raise DatasetError(
                rel,
                f"unknown key {path!r} in {what}",
                line=lines.get((*prefix, k)),
                expected=f"keys among {', '.join(allowed)}",
                found=repr(k),
                fix=f"remove {path!r} or rename it to one of the expected keys",
            )
