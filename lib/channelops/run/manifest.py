"""``manifest.json``: what a run did, kept current after every step.

The manifest records the parameters, the dataset's file hashes, the package versions, each
stage's status, time and tables, and every table's rows, producing stage and content hash
(:func:`channelops.run.hashing.table_content_hash`). It is written whole to a temporary
file and renamed after each change, so a reader never sees half of one.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import os
import platform
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from channelops.run.folder import RunPaths
from channelops.run.hashing import HASH_SCHEME, file_sha256, hash_inputs, table_content_hash
from channelops.run.params import RunParams
from channelops.run.registry import Stage, producer_of

__all__ = [
    "package_versions",
    "now",
    "write_json",
    "load_manifest",
    "start_manifest",
    "finish_manifest",
    "table_mtimes",
    "written_since",
    "previous_tables",
    "refresh_tables",
]

_PACKAGES = (
    "channelops",
    "numpy",
    "pandas",
    "pyarrow",
    "duckdb",
    "scipy",
    "scikit-learn",
    "pymoo",
    "statsforecast",
    "splink",
    "pyvrp",
    "simpy",
    "matplotlib",
    "seaborn",
    "papermill",
    "implicit",
    "pyspark",  # only used with engine != local; "not installed" otherwise
)


def package_versions() -> dict[str, str]:
    """Versions of Python and the packages that shape the results."""
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def now() -> str:
    """The current UTC time as ISO text to the second."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` to ``path`` under a temporary name and rename it into place."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
        os.replace(tmp, path)
    finally:  # a full disk leaves the previous file whole and no temporary one
        tmp.unlink(missing_ok=True)


def load_manifest(path: Path) -> dict[str, Any]:
    """The manifest at ``path``, or ``{}`` when there is none or it is not JSON."""
    if path.exists():
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError:
            return {}
    return {}


def start_manifest(params: RunParams, stages: list[Stage], paths: RunPaths) -> dict[str, Any]:
    """Mark a run as started in its folder's manifest, write it and return it.

    What an earlier run recorded about other stages is kept (a run of ``--only 04`` keeps
    the rest); the report entries, the run's error and the temporary files removed are
    dropped (set again only if this run has them). The
    stages of this run become ``pending``, each still listing the tables it wrote last time
    until it runs (they are removed then, and attributed to it meanwhile).
    """
    manifest = load_manifest(paths.manifest)
    for stale in ("report", "report_error", "error", "temp_files_removed"):
        manifest.pop(stale, None)
    versions = package_versions()
    manifest.update(
        {
            "channelops_version": versions.get("channelops"),
            "run_name": params.run_name,
            "status": "running",
            "started_at": now(),
            "finished_at": None,
            "parameters": {
                "run_name": params.run_name,
                "dataset": str(params.dataset),
                "seed": params.seed,
                **params.notebook_params,
            },
            "dataset": {"path": str(params.dataset), "files": hash_inputs(params.dataset)},
            "packages": versions,
            "platform": platform.platform(),
        }
    )
    manifest.setdefault("stages", {})
    for stage in stages:
        previous = previous_tables(manifest, stage.key)
        manifest["stages"][stage.key] = {
            "name": stage.name,
            "notebook": stage.notebook,
            "status": "pending",
            **({"tables": previous} if previous else {}),
        }
    write_json(paths.manifest, manifest)
    return manifest


def finish_manifest(
    manifest: dict[str, Any],
    paths: RunPaths,
    seconds: float,
    rewritten: Collection[str] | None = None,
) -> None:
    """Stamp the end of a run (time, duration in seconds) and refresh its table entries.

    ``rewritten`` is passed to :func:`refresh_tables`. The caller writes the file
    (:func:`write_json`) once it has added what it still has to.
    """
    manifest["finished_at"] = now()
    manifest["seconds"] = round(seconds, 2)
    refresh_tables(manifest, paths, rewritten)


def table_mtimes(paths: RunPaths) -> dict[str, int]:
    """Modification time (ns) of every table file of the run folder, by table name."""
    return {p.stem: p.stat().st_mtime_ns for p in paths.tables.glob("*.parquet")}


def written_since(before: dict[str, int], paths: RunPaths) -> list[str]:
    """Tables whose file appeared or changed since ``before`` (from :func:`table_mtimes`)."""
    return sorted(name for name, mtime in table_mtimes(paths).items() if before.get(name) != mtime)


def previous_tables(manifest: dict[str, Any], stage_key: str) -> list[str]:
    """Tables the manifest says ``stage_key`` wrote when it last ran."""
    return list(manifest.get("stages", {}).get(stage_key, {}).get("tables") or [])


def refresh_tables(
    manifest: dict[str, Any], paths: RunPaths, rewritten: Collection[str] | None = None
) -> None:
    """Rows, producing stage, content hash and file hash of every table in the run folder.

    The producing stage is the declared one (:mod:`channelops.run.registry`), else the stage whose
    manifest entry lists the table. A hash is recomputed only when the file changed since
    the last refresh (same size and modification time, same :data:`HASH_SCHEME`: the
    recorded hashes are kept).

    Args:
        manifest: updated in place (``tables``).
        paths: the run folder.
        rewritten: keys of the stages that ran in this run. A table already recorded whose
            producing stage is not among them keeps its recorded entry even when its file
            changed: a file changed behind the run's back must not have its new hash
            recorded as if a stage wrote it (reading it is refused instead,
            :func:`channelops.run.folder.verify_table`). None recomputes every changed table.

    A file that is not readable Parquet gets an entry with ``error`` (and no hash) instead
    of stopping the run; reading it is refused.
    """
    old = manifest.get("tables", {})
    written_by = {
        table: key
        for key, entry in manifest.get("stages", {}).items()
        for table in entry.get("tables") or []
    }
    tables = {}
    file_hasher = ThreadPoolExecutor(max_workers=1)
    try:
        for path in sorted(paths.tables.glob("*.parquet")):
            producer = producer_of(path.stem)
            stage = producer.key if producer else written_by.get(path.stem)
            stat = path.stat()
            stamp = f"{stat.st_size}:{stat.st_mtime_ns}"
            previous = old.get(path.stem, {})
            if rewritten is not None and previous and stage not in rewritten:
                tables[path.stem] = previous
                continue
            if (
                previous.get("file_stamp") == stamp
                and previous.get("content_hash")
                and previous.get("file_sha256")
                and previous.get("hash_scheme") == HASH_SCHEME
            ):
                tables[path.stem] = {**previous, "stage": stage}
                continue
            # the file's bytes are hashed beside its content (hashlib releases the GIL)
            file_hash = file_hasher.submit(file_sha256, path)
            try:
                rows = int(pq.read_metadata(path).num_rows)
                content_hash = table_content_hash(path)
            except (pa.ArrowInvalid, OSError) as err:
                file_hash.cancel()
                tables[path.stem] = {
                    "stage": stage,
                    "error": f"not readable Parquet: {type(err).__name__}: {err}"[:500],
                    "file_stamp": stamp,
                }
                continue
            tables[path.stem] = {
                "rows": rows,
                "stage": stage,
                "content_hash": content_hash,
                "hash_scheme": HASH_SCHEME,
                "file_sha256": file_hash.result(),
                "file_stamp": stamp,
            }
    finally:
        file_hasher.shutdown(wait=True, cancel_futures=True)
    manifest["tables"] = tables
