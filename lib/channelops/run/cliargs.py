"""Command-line values checked as command-line values, so a mistake names its true source.

``channelops run --params parameters/default.yaml --dataset data/demmo`` used to be
reported as a problem of ``parameters/default.yaml``; these helpers check the flags before
they are merged with the file, and label what the merged values came from.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from channelops.run.params import ParameterError

__all__ = ["check_dataset_flag", "values_source"]


def check_dataset_flag(dataset: str | None) -> None:
    """Raise :class:`ParameterError` naming ``--dataset`` when its folder does not exist
    or holds no ``dataset.yaml`` (with the closest folder beside it suggested)."""
    if not dataset:
        return
    path = Path(dataset)
    if path.is_dir() and (path / "dataset.yaml").is_file():
        return
    if path.is_dir():
        raise ParameterError(
            f"command line: --dataset {dataset}: the folder has no dataset.yaml "
            "(make one with `channelops init FOLDER`)"
        )
    parent = path.parent if path.parent.is_dir() else None
    siblings = sorted(p.name for p in parent.iterdir() if p.is_dir()) if parent else []
    close = difflib.get_close_matches(path.name, siblings, n=1)
    hint = f"; did you mean {parent / close[0]}?" if close and parent is not None else ""
    raise ParameterError(f"command line: --dataset {dataset}: no such folder{hint}")


def values_source(params_file: str | None, overrides: list[str], dataset: str | None) -> str:
    """Where a run's merged values came from, for messages: ``parameters/ci.yaml``,
    ``parameters/ci.yaml and the command line (-p horizon_days)``, ``the command line``."""
    flags = []
    names = [item.split("=", 1)[0].strip() for item in overrides]
    if names:
        flags.append("-p " + ", ".join(names))
    if dataset:
        flags.append("--dataset")
    cli = f"the command line ({'; '.join(flags)})" if flags else ""
    if params_file and cli:
        return f"{params_file} and {cli}"
    return params_file or cli or "parameters"
