"""Run-folder I/O: the only place notebooks read and write tables and figures.

A run folder (``output/<run-name>/``) holds ``tables/*.parquet``, ``figures/*.png``,
``notebooks/`` (executed copies), ``manifest.json`` and ``report.html``.

Two promises, kept here so that no notebook has to remember them:

* a table is written to a temporary file and renamed into place, so a reader never sees a
  half-written table (a rename within one folder is atomic);
* a table whose producing stage did not finish (the manifest says ``failed``,
  ``interrupted`` or ``running``) is refused, so no stage builds on what a failed stage left.
  The producing stage is the one that declares the table (:mod:`channelops.run.registry`), or,
  for a table no stage declares, the stage whose manifest entry lists it as written;
* a table whose file no longer has the SHA-256 the manifest recorded when its stage
  finished (changed, truncated or damaged since) is refused, with the stage to re-run
  (:func:`verify_table`); a file that is not readable Parquet is refused the same way,
  never with a raw reader error.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from IPython import get_ipython
from IPython.display import Image, display
from matplotlib.figure import Figure

from channelops.frames import arrow_string_dtype
from channelops.run.hashing import file_sha256
from channelops.run.registry import producer_of

__all__ = [
    "RunPaths",
    "run_paths",
    "write_table",
    "read_table",
    "table_file",
    "table_exists",
    "read_optional",
    "save_figure",
    "RunFolderError",
    "STAGE_ENV",
    "verify_table",
]

#: Environment variable the runner sets to the key of the stage being executed.
STAGE_ENV = "CHANNELOPS_STAGE"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class RunFolderError(RuntimeError):
    """A table is missing, unfinished, or would be written under a bad name."""


@dataclass(frozen=True)
class RunPaths:
    """The folders and files of one run folder."""

    root: Path

    @property
    def tables(self) -> Path:
        return self.root / "tables"

    @property
    def figures(self) -> Path:
        return self.root / "figures"

    @property
    def notebooks(self) -> Path:
        return self.root / "notebooks"

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"

    @property
    def report(self) -> Path:
        return self.root / "report.html"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    def table(self, name: str) -> Path:
        return self.tables / f"{name}.parquet"


def run_paths(output_dir: str | os.PathLike[str]) -> RunPaths:
    """Return the paths of the run folder ``output_dir`` (nothing is created)."""
    return RunPaths(Path(output_dir))


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise RunFolderError(
            f"table name {name!r} is not allowed: use lower-case letters, digits and '_', "
            "starting with a letter (it becomes a file name and a SQL table name)"
        )


def write_table(df: pd.DataFrame, name: str, output_dir: str | os.PathLike[str]) -> Path:
    """Write ``df`` as ``<output_dir>/tables/<name>.parquet`` atomically.

    Args:
        df: the table. The index is kept only if it is named (a ``RangeIndex`` is dropped).
        name: table name (``[a-z][a-z0-9_]*``).
        output_dir: the run folder.

    Returns:
        The path of the written file.
    """
    _check_name(name)
    paths = run_paths(output_dir)
    paths.tables.mkdir(parents=True, exist_ok=True)
    target = paths.table(name)
    tmp = target.with_name(f".{name}.{os.getpid()}.parquet.tmp")
    keep_index = not isinstance(df.index, pd.RangeIndex) or df.index.name is not None
    try:
        df.to_parquet(tmp, index=keep_index)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


def _manifest(paths: RunPaths) -> dict:
    if not paths.manifest.exists():
        return {}
    try:
        return json.loads(paths.manifest.read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def _stage_status(paths: RunPaths, stage_key: str) -> str | None:
    return _manifest(paths).get("stages", {}).get(stage_key, {}).get("status")


def _producer_key(paths: RunPaths, name: str) -> str | None:
    """The stage that writes table ``name``: declared, else as recorded in the manifest."""
    producer = producer_of(name)
    if producer is not None:
        return producer.key
    for key, entry in _manifest(paths).get("stages", {}).items():
        if name in (entry.get("tables") or []):
            return key
    return None


def table_exists(name: str, output_dir: str | os.PathLike[str]) -> bool:
    """True when the table file exists in the run folder."""
    return run_paths(output_dir).table(name).exists()


def table_file(name: str, output_dir: str | os.PathLike[str]) -> Path:
    """The Parquet file of a table of this run, checked as :func:`read_table` checks it.

    For code that hands the file to DuckDB or Arrow instead of reading it into pandas: the
    file must exist, its producing stage must not be marked failed, interrupted or running,
    and its content must match the hash the manifest recorded.

    Args:
        name: table name.
        output_dir: the run folder.

    Returns:
        The path of ``<output_dir>/tables/<name>.parquet``.

    Raises:
        RunFolderError: as :func:`read_table`.
    """
    _check_name(name)
    paths = run_paths(output_dir)
    producer = producer_of(name)
    current = os.environ.get(STAGE_ENV)
    producer_key = _producer_key(paths, name)
    if producer_key is not None and producer_key != current:
        status = _stage_status(paths, producer_key)
        if status in ("failed", "interrupted", "running"):
            stage_name = (
                producer.name
                if producer is not None
                else _manifest(paths)["stages"][producer_key].get("name", "?")
            )
            raise RunFolderError(
                f"table {name!r} comes from stage {producer_key} ({stage_name}), which is "
                f"marked {status!r} in {paths.manifest}; re-run it first: "
                f"channelops run --only {producer_key} --output {paths.root}"
            )
    path = paths.table(name)
    if not path.exists():
        how = (
            f"it is written by stage {producer.key} ({producer.name}); run it first: "
            f"channelops run --only {producer.key} --output {paths.root}"
            if producer
            else "no stage declares it"
        )
        raise RunFolderError(f"table {name!r} not found at {path}: {how}")
    if producer_key is None or producer_key != current:  # a stage's own tables are in flux
        problem = verify_table(name, paths.root)
        if problem:
            raise RunFolderError(problem)
    return path


def read_table(
    name: str, output_dir: str | os.PathLike[str], columns: list[str] | None = None
) -> pd.DataFrame:
    """Read a table of this run, refusing one that an unfinished stage left behind.

    Args:
        name: table name.
        output_dir: the run folder.
        columns: read only these columns (faster on wide tables).

    Raises:
        RunFolderError: the table is missing (says which stage writes it and how to run
            it), its producing stage is marked failed/interrupted/running in the manifest
            while another stage is reading it, or its file does not match the manifest's hash.
    """
    path = table_file(name, output_dir)
    try:
        return _read_parquet_arrow_strings(path, columns)
    except (pa.ArrowInvalid, OSError) as err:
        paths = run_paths(output_dir)
        raise RunFolderError(
            f"table {name!r} ({path}) cannot be read as Parquet ({type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else '-'}): the file is damaged or "
            f"incomplete. {_rerun_hint(paths, name, _producer_key(paths, name))}"
        ) from None


#: (path, inode, size, mtime, ctime, recorded hash) of files already checked in this process
_VERIFIED: set[tuple] = set()


def _rerun_hint(paths: RunPaths, name: str, producer_key: str | None) -> str:
    if producer_key is None:
        return f"No stage declares table {name!r}: write it again or remove it."
    return (
        f"Re-run stage {producer_key} to write it again: "
        f"channelops run --only {producer_key} --output {paths.root}"
    )


def verify_table(name: str, output_dir: str | os.PathLike[str]) -> str | None:
    """Check a table's file against the SHA-256 the manifest recorded for it.

    A table the manifest does not list, or lists without a file hash (written outside a
    run, or by an older version), is not checked. A file is hashed once per process while
    its inode, size and times stay the same.

    Args:
        name: table name.
        output_dir: the run folder.

    Returns:
        None when the file matches (or nothing was recorded), else the problem: which table,
        what differs, and the stage to re-run.
    """
    paths = run_paths(output_dir)
    path = paths.table(name)
    entry = _manifest(paths).get("tables", {}).get(name) or {}
    recorded = entry.get("file_sha256")
    if not recorded:
        return None
    try:
        st = path.stat()
    except OSError:
        return None  # missing: the caller says so
    key = (str(path.resolve()), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, recorded)
    if key in _VERIFIED:
        return None
    actual = file_sha256(path)
    if actual == recorded:
        _VERIFIED.add(key)
        return None
    producer_key = _producer_key(paths, name) or entry.get("stage")
    size = entry.get("file_stamp", "").split(":")[0]
    was = f"{int(size):,} bytes" if size.isdigit() else "?"
    return (
        f"table {name!r} ({path}) was changed after its stage wrote it: the file no longer "
        f"matches the SHA-256 recorded in {paths.manifest} (now {st.st_size:,} bytes, "
        f"sha256 {actual[:12]}...; recorded {was}, sha256 {recorded[:12]}...). It may be "
        f"truncated or damaged, so its values are not used. "
        f"{_rerun_hint(paths, name, producer_key)}"
    )


def _read_parquet_arrow_strings(path: Path, columns: list[str] | None) -> pd.DataFrame:
    """Read a Parquet file into pandas with string columns as ``string[pyarrow]``.

    Numbers, booleans and timestamps come back numpy-backed, exactly as
    ``pd.read_parquet`` gives them; only string columns (and string indexes) stay in
    Arrow memory instead of becoming Python ``str`` objects, which is faster and takes
    less memory on large tables (benchmarks/results/large_run.md). Missing strings read
    as ``pd.NA``. Dictionary-encoded
    (categorical) columns and the stored index are restored from the pandas metadata
    as before.

    Args:
        path: the Parquet file.
        columns: read only these columns (None: all).
    """
    table = pq.read_table(path, columns=columns, use_pandas_metadata=True)
    return table.to_pandas(types_mapper=arrow_string_dtype)


def save_figure(
    fig: Figure, name: str, output_dir: str | os.PathLike[str], dpi: int = 110, show: bool = True
) -> Path:
    """Save a matplotlib figure as ``<output_dir>/figures/<name>.png`` and return the path.

    In a notebook (an IPython kernel) with ``show`` true, the saved PNG is displayed as the
    cell's output and the figure is closed, so the picture is drawn once rather than again
    by the inline backend at the end of the cell. Outside a kernel the figure is only saved
    and left open.
    """
    _check_name(name)
    paths = run_paths(output_dir)
    paths.figures.mkdir(parents=True, exist_ok=True)
    target = paths.figures / f"{name}.png"
    tmp = target.with_name(f".{name}.{os.getpid()}.png.tmp")
    try:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png", metadata={"Software": None})
        os.replace(tmp, target)
    finally:  # a full disk leaves neither a temporary file nor a cut-off figure
        tmp.unlink(missing_ok=True)
    if show and _in_kernel():
        display(Image(data=target.read_bytes(), format="png"))
        plt.close(fig)
    return target


def _in_kernel() -> bool:
    """True inside a Jupyter kernel (where figures are shown inline), else False."""
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def read_optional(
    name: str, output_dir: str | os.PathLike[str], columns: list[str] | None = None
) -> pd.DataFrame | None:
    """A table of this run, or None with a printed note when no stage wrote it.

    For a notebook whose figures use a table when the run has it (a stage that was not
    run, or a dataset without the file behind it): the parts that need it are skipped.
    """
    if table_exists(name, output_dir):
        return read_table(name, output_dir, columns=columns)
    print(f"note: table {name} is not in this run; the parts that need it are skipped")
    return None
