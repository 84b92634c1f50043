"""``channelops params [STAGE]``: every parameter a run takes, with its type, default and help.

The notebooks' ``parameters`` cells are the one place a parameter is declared
(``name: type = default  # help``, one per line); this module reads them without starting
Jupyter (Python's ``ast`` for name, type and default, the line's comment for the help), adds
the allowed range the run checks (:data:`channelops.run.params.PARAM_RANGES`) and the value
a parameter file sets, and lays them out for a terminal.
"""

from __future__ import annotations

import ast
import io
import json
import textwrap
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from channelops.run.params import (
    COMMON_NOTEBOOK_PARAMS,
    MEMORY_LIMIT_KEY,
    PARAM_RANGES,
    RUN_KEYS,
)
from channelops.run.registry import STAGES, Stage

__all__ = ["ParamDoc", "RUN_KEY_HELP", "parameters_cell", "read_param_docs", "format_param_docs"]

#: The runner's own keys, said once for every stage (they are in every notebook too).
RUN_KEY_HELP = {
    "run_name": ("str", "run", "the run folder is output/<run_name> (letters, digits, _ - .)"),
    "dataset": ("str", "-", "dataset folder (dataset.yaml, orders/, ...); --dataset overrides"),
    "seed": ("int", "0", "seed of every random step of every notebook"),
    MEMORY_LIMIT_KEY: (
        "str",
        "80% of free memory",
        "the whole run's memory cap, e.g. 12GB: a stage starts only when its peak fits beside"
        " the running ones; --memory-limit overrides",
    ),
}


@dataclass(frozen=True)
class ParamDoc:
    """One parameter of one notebook: ``type_name`` and ``default`` as written in the
    cell, ``help`` its comment, ``allowed`` the checked range ('' when there is none)."""

    name: str
    type_name: str
    default: str
    help: str
    allowed: str
    stage: str


def parameters_cell(notebook: Path) -> str:
    """The source of ``notebook``'s cell tagged ``parameters`` ('' when it has none)."""
    nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
    for cell in nb.get("cells", []):
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            source = cell.get("source", "")
            return source if isinstance(source, str) else "".join(source)
    return ""


def _comments(source: str) -> dict[int, str]:
    """Line number -> the text of the comment on that line."""
    found = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            found[tok.start[0]] = tok.string.lstrip("#").strip()
    return found


def _cell_params(source: str) -> list[tuple[str, str, str, str]]:
    """(name, type, default, help) of each assignment of a parameters cell, in order."""
    tree = ast.parse(source)
    comments = _comments(source)
    out = []
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            name, type_name = node.target.id, ast.unparse(node.annotation)
        elif (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            name, type_name = node.targets[0].id, ""
        else:
            continue
        value = node.value
        default = ast.get_source_segment(source, value) if value is not None else ""
        if not type_name and value is not None:
            try:
                type_name = type(ast.literal_eval(value)).__name__
            except ValueError:
                type_name = ""
        lines = range(node.lineno, (node.end_lineno or node.lineno) + 1)
        help_text = " ".join(comments[n] for n in lines if n in comments)
        out.append((name, type_name, default or "", help_text))
    return out


def notebook_defaults(notebook: Path) -> dict[str, Any]:
    """The defaults of ``notebook``'s parameters cell, name -> value.

    Literal defaults (numbers, strings, lists, booleans, None) come back as Python values;
    any other expression as its source text. The runner records them beside the injected
    values, so a manifest names every parameter a stage ran with, not only those set.
    A notebook that cannot be read gives no defaults.
    """
    values: dict[str, Any] = {}
    try:
        source = parameters_cell(notebook)
    except (OSError, ValueError):  # no such notebook (papermill then says so), or not JSON
        return values
    for name, _type, default, _help in _cell_params(source):
        try:
            values[name] = ast.literal_eval(default)
        except (ValueError, SyntaxError):
            values[name] = default
    return values


def read_param_docs(
    stages: list[Stage] | None = None, notebooks: Path | None = None
) -> list[ParamDoc]:
    """Every notebook parameter of ``stages`` (default all), in stage and cell order.

    The parameters the runner fills (``dataset``, ``output_dir``, ``seed``) are left out:
    :data:`RUN_KEY_HELP` says them once.

    Args:
        stages: the stages to document.
        notebooks: the folder of the stage notebooks (default: the project's).
    """
    if notebooks is None:
        from channelops.run.kernel import notebooks_dir  # lazy: papermill and Jupyter load slowly

        notebooks = notebooks_dir()
    docs = []
    for stage in stages if stages is not None else list(STAGES):
        source = parameters_cell(notebooks / stage.notebook)
        for name, type_name, default, help_text in _cell_params(source):
            if name in COMMON_NOTEBOOK_PARAMS:
                continue
            allowed = PARAM_RANGES[name].text() if name in PARAM_RANGES else ""
            docs.append(ParamDoc(name, type_name, default, help_text, allowed, stage.key))
    return docs


def format_param_docs(
    docs: list[ParamDoc],
    stages: list[Stage],
    values: dict[str, Any] | None = None,
    values_source: str = "",
    width: int = 100,
) -> str:
    """The listing ``channelops params`` prints: the run's keys, then one block per stage.

    Args:
        docs: from :func:`read_param_docs`.
        stages: the stages, in order, whose blocks to print (a stage without parameters
            says so).
        values: values of a parameter file, shown beside the default when they differ.
        values_source: the file's name, for that note.
        width: line width to wrap the help to.
    """
    values = values or {}
    lines = ["Parameters are set in a YAML file (--params FILE) or with -p NAME=VALUE.", ""]
    lines.append("run (every stage)")
    for name in (*RUN_KEYS, MEMORY_LIMIT_KEY):
        type_name, default, help_text = RUN_KEY_HELP[name]
        lines += _entry(name, type_name, default, help_text, "", values, values_source, width)
    by_stage: dict[str, list[ParamDoc]] = {}
    for doc in docs:
        by_stage.setdefault(doc.stage, []).append(doc)
    for stage in stages:
        lines += ["", f"{stage.key} {stage.name} ({stage.notebook})"]
        if not by_stage.get(stage.key):
            lines.append("  (no parameters of its own)")
        for doc in by_stage.get(stage.key, []):
            lines += _entry(
                doc.name, doc.type_name, doc.default, doc.help, doc.allowed, values,
                values_source, width,
            )  # fmt: skip
    return "\n".join(lines)


def _entry(
    name: str,
    type_name: str,
    default: str,
    help_text: str,
    allowed: str,
    values: dict[str, Any],
    values_source: str,
    width: int,
) -> list[str]:
    head = f"  {name} ({type_name or 'any'}), default {default}"
    if allowed:
        head += f", allowed {allowed}"
    if name in values:
        head += f"; {values_source or 'the parameter file'} sets {values[name]!r}"
    body = textwrap.wrap(help_text or "(no help)", width=width, initial_indent="      ",
                         subsequent_indent="      ")  # fmt: skip
    return [head, *body]
