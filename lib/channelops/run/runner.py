"""``channelops run``: execute the stage notebooks with papermill into one run folder.

The runner validates parameters before anything runs, executes each selected notebook in
the project's own Jupyter kernel (``channelops``, installed into this virtual environment),
in order or, with ``jobs`` > 1, independent stages side by side (a stage starts once the
stages whose tables it reads are done), checks that each stage wrote the tables it promises, and keeps
``manifest.json`` current after every step, so a run that fails or is killed says so.

Before a stage runs, the tables it declares are removed: a stage that fails half-way can
therefore never leave an old table behind that looks like its output, and
:func:`channelops.run.folder.read_table` refuses tables of a stage the manifest does not mark
``ok``. Tables a notebook writes beyond its declared outputs are attributed to it in the
manifest (``stages.<key>.tables``) and get the same treatment.

The manifest records a content hash of every table (:func:`table_content_hash`): two runs
of the same data, parameters and seed give the same hashes, so runs can be compared
without opening the tables.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import json
import os
import platform
import signal
import sys
import time
from pathlib import Path
from typing import Any

from channelops.run.folder import STAGE_ENV, run_paths
from channelops.run.params import RunParams
from channelops.run.registry import Stage

__all__ = [
    "KERNEL_NAME",
    "RunFailed",
    "project_root",
    "notebooks_dir",
    "ensure_kernel",
    "hash_inputs",
    "table_content_hash",
    "package_versions",
    "run_stages",
    "stage_dependencies",
    "default_jobs",
    "prepare_notebooks",
]

KERNEL_NAME = "channelops"
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


class RunFailed(RuntimeError):
    """A stage failed; the message names the notebook, the cell and the error."""




def project_root() -> Path:
    """The repository folder (the one holding ``notebooks/`` and ``lib/``)."""
    return Path(__file__).resolve().parents[3]


def notebooks_dir() -> Path:
    """The folder of the stage notebooks."""
    return project_root() / "notebooks"


def ensure_kernel() -> str:
    """Make the ``channelops`` kernel of *this* Python the one Jupyter finds.

    The kernel spec lives in ``<sys.prefix>/share/jupyter/kernels/channelops``; it is put
    first on ``JUPYTER_PATH`` so that a kernel of the same name elsewhere on the machine
    (another clone, a user-wide install) is never used. Written here if absent or stale.

    Returns:
        The kernel name.
    """
    share = Path(sys.prefix) / "share" / "jupyter"
    paths = [str(share)] + [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    os.environ["JUPYTER_PATH"] = os.pathsep.join(dict.fromkeys(paths))
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    spec_dir = share / "kernels" / KERNEL_NAME
    wanted = {
        # log level CRITICAL: ipykernel's start-up and shutdown chatter (plain-TCP warning,
        # the interrupt used to stop it) is not a problem of the run and must not look like one
        "argv": [
            sys.executable,
            "-m",
            "ipykernel_launcher",
            "-f",
            "{connection_file}",
            "--IPKernelApp.log_level=CRITICAL",
        ],
        "display_name": "Python (channelops)",
        "language": "python",
        # figures must be captured into the notebook (and so the report), whatever backend
        # the calling process uses (tests run with Agg)
        "env": {"MPLBACKEND": "module://matplotlib_inline.backend_inline"},
        "metadata": {"debugger": True},
    }
    spec = spec_dir / "kernel.json"
    try:
        current = json.loads(spec.read_text()) if spec.exists() else None
    except (OSError, json.JSONDecodeError):
        current = None
    if current != wanted:
        # written under a temporary name and renamed: two runs starting at once never see
        # a half-written spec
        spec_dir.mkdir(parents=True, exist_ok=True)
        _write_json(spec, wanted)
    return KERNEL_NAME


def hash_inputs(dataset_dir: Path) -> dict[str, str]:
    """SHA-256 of every file of the dataset, keyed by path relative to it.

    The ``truth/`` folder (simulator ground truth) is not an input and is left out.
    """
    out: dict[str, str] = {}
    for path in sorted(dataset_dir.rglob("*")):
        rel = path.relative_to(dataset_dir)
        if not path.is_file() or rel.parts[0] == "truth" or rel.name.startswith("."):
            continue
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        out[rel.as_posix()] = digest.hexdigest()
    return out


#: How :func:`table_content_hash` hashes; a hash recorded under another scheme is redone.
HASH_SCHEME = "arrow-columns-1"


def table_content_hash(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a Parquet table's content: column names, types and values, in row order.

    File bytes are not compared (Parquet metadata such as the writer's version, the
    compression or the row groups may differ between identical tables). The table is read
    one column at a time with pyarrow, so memory stays at about one column, and each
    column's values are hashed from their Arrow buffers: the null mask, then the values
    (nulls as zero / empty). String and binary columns hash their lengths and bytes, so a
    column written from Python ``str`` objects and one written from pandas
    ``string[pyarrow]`` hash alike (``string`` and ``large_string`` are one type here, as
    are dictionary-encoded columns and their values). Nested values (lists, structs) are
    hashed by the text of their Python values. A named pandas index is stored by pandas as a
    column and so is included.

    Args:
        path: a ``.parquet`` file.

    Returns:
        64 hex characters.
    """
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    digest = hashlib.sha256()
    digest.update(f"{pf.metadata.num_rows} rows\n".encode())
    for name in pf.schema_arrow.names:
        column = pf.read(columns=[name], use_pandas_metadata=False).column(0)
        digest.update(f"{name}:{_hash_type_name(column.type)}\n".encode())
        # nulls, lengths and values in separate streams, so row-group boundaries don't count
        parts = {"nulls": hashlib.sha256(), "lengths": hashlib.sha256(), "values": hashlib.sha256()}
        for chunk in column.chunks:
            _hash_arrow_values(parts, chunk)
        for part in parts.values():
            digest.update(part.digest())
    return digest.hexdigest()


def _hash_type_name(arrow_type: Any) -> str:
    """The type as hashed: dictionaries by their values, large_* as the plain type."""
    import pyarrow as pa

    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    if pa.types.is_large_string(arrow_type):
        return "string"
    if pa.types.is_large_binary(arrow_type):
        return "binary"
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return f"list<{_hash_type_name(arrow_type.value_type)}>"
    return str(arrow_type)


def _hash_arrow_values(parts: dict[str, Any], array: Any) -> None:
    """Feed one Arrow array's null mask, value lengths and values into ``parts``.

    ``parts`` maps "nulls", "lengths" and "values" to running hashes (see
    :func:`table_content_hash`); arrays of one column are fed in row order.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    parts["nulls"].update(np.asarray(array.is_null(), dtype=np.bool_).tobytes())
    kind = array.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        array = array.cast(pa.large_string()).fill_null("")
    elif pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        array = array.cast(pa.large_binary()).fill_null(b"")
    if pa.types.is_large_string(array.type) or pa.types.is_large_binary(array.type):
        offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)
        offsets = offsets[array.offset : array.offset + len(array) + 1]
        parts["lengths"].update(np.diff(offsets).tobytes())
        parts["values"].update(memoryview(array.buffers()[2])[offsets[0] : offsets[-1]])
    elif pa.types.is_nested(kind):
        parts["values"].update("".join(f"{v!r}\x1f" for v in array.to_pylist()).encode())
    elif pa.types.is_boolean(kind):
        parts["values"].update(pc.fill_null(array, False).to_numpy(zero_copy_only=False).tobytes())
    elif pa.types.is_null(kind):
        pass  # all null: the mask says everything
    else:  # fixed width (numbers, dates, timestamps, decimals): the value bytes, nulls zeroed
        width = kind.bit_width // 8
        raw = np.frombuffer(array.buffers()[1], dtype=np.uint8)
        raw = raw[array.offset * width : (array.offset + len(array)) * width]
        if array.null_count:
            raw = raw.reshape(len(array), width).copy()
            raw[np.asarray(array.is_null(), dtype=np.bool_)] = 0
        parts["values"].update(raw.tobytes())


def package_versions() -> dict[str, str]:
    """Versions of Python and the packages that shape the results."""
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
    os.replace(tmp, path)


def _table_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return int(pq.read_metadata(path).num_rows)


def _load_manifest(path: Path) -> dict[str, Any]:
    if path.exists():
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError:
            return {}
    return {}


def _error_of(exc: BaseException, notebook: Path) -> dict[str, Any]:
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        return {
            "notebook": str(notebook),
            "cell": exc.cell_index,
            "execution_count": exc.exec_count,
            "error": exc.ename,
            "message": str(exc.evalue)[:2000],
        }
    return {"notebook": str(notebook), "error": type(exc).__name__, "message": str(exc)[:2000]}


#: Order exports larger than this run one stage at a time by default: on the large
#: simulated dataset (1.6 GB of exports) stages peak at 2-10 GB, and 01 beside 03 would
#: pass the 12 GB target of a whole run (benchmarks/bench_large_run.py).
BIG_EXPORTS_BYTES = 500 * 2**20


def default_jobs(dataset: Path, cpus: int | None = None, big_bytes: int = BIG_EXPORTS_BYTES) -> int:
    """Stages to run side by side when ``--jobs`` is not given.

    2 (or 1 on a one-core machine), but 1 when the dataset's order exports
    (``orders/*``) exceed ``big_bytes``: two stages of a large dataset at once would need the
    sum of their peak memories.
    """
    cpus = os.cpu_count() if cpus is None else cpus
    exports = Path(dataset) / "orders"
    size = (
        sum(f.stat().st_size for f in exports.glob("*") if f.is_file()) if exports.is_dir() else 0
    )
    return 1 if size > big_bytes else max(1, min(2, cpus or 1))


def stage_dependencies(stages: list[Stage]) -> dict[str, set[str]]:
    """For each stage, the earlier stages in ``stages`` whose tables it reads.

    Stages not in the list are not waited for (their tables are expected in the run folder
    already, as with ``--only``).
    """
    from channelops.run.registry import producer_of

    keys = [s.key for s in stages]
    deps: dict[str, set[str]] = {}
    for i, stage in enumerate(stages):
        earlier = set(keys[:i])
        deps[stage.key] = {
            p.key for t in stage.inputs if (p := producer_of(t)) is not None and p.key in earlier
        }
    return deps


class _StageKernels:
    """The kernels of running stages, so an interrupt can stop them from the main thread."""

    def __init__(self) -> None:
        import threading

        self._lock = threading.Lock()
        self._managers: dict[str, Any] = {}

    def add(self, key: str, km: Any) -> None:
        with self._lock:
            self._managers[key] = km

    def remove(self, key: str) -> None:
        with self._lock:
            self._managers.pop(key, None)

    def stop_all(self) -> None:
        """Kill every registered kernel (and its process group): the stage then fails fast."""
        with self._lock:
            managers = list(self._managers.values())
        for km in managers:
            process = getattr(getattr(km, "provisioner", None), "process", None)
            if process is None:
                continue
            try:
                os.killpg(os.getpgid(process.pid), signal.SIGKILL)
            except (ProcessLookupError, PermissionError, OSError):
                try:
                    process.kill()
                except Exception:  # noqa: BLE001 - already gone
                    pass


def _peak_rss_bytes(pid: int | None) -> int | None:
    """Peak resident memory of process ``pid`` so far (Linux ``VmHWM``), or None if unknown."""
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _kernel_pid(km: Any) -> int | None:
    provisioner = getattr(km, "provisioner", None)
    process = getattr(provisioner, "process", None)
    return getattr(process, "pid", None)


def _execute_stage_notebook(
    source: Path,
    target: Path,
    values: dict[str, Any],
    kernel: str,
    cwd: Path,
    stage_key: str,
    kernels: _StageKernels,
    progress_bar: Any,
) -> int | None:
    """Run one notebook with papermill in its own kernel, told which stage it is.

    The kernel gets ``CHANNELOPS_STAGE`` in its own environment (not the runner's, which
    stages running side by side share) and is registered in ``kernels`` so an interrupt
    can shut it down.

    Returns:
        the kernel's peak resident memory in bytes (Linux; None where unknown). Processes
        the kernel starts (a Spark JVM) are not included.
    """
    import papermill
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.utils import run_sync
    from papermill.engines import NBClientEngine, papermill_engines

    km = AsyncKernelManager(kernel_name=kernel)
    env = {**os.environ, STAGE_ENV: stage_key}

    class _StageEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, **kwargs):  # noqa: ANN001
            from papermill.clientwrap import PapermillNotebookClient
            from papermill.engines import logger

            passed = ("log_output", "stdout_file", "stderr_file")
            client = PapermillNotebookClient(
                nb_man,
                km=km,
                kernel_name=kernel_name,
                log=logger,
                startup_timeout=kwargs.get("start_timeout", 60),
                **{k: v for k, v in kwargs.items() if k in passed},
            )
            return client.execute(env=env, cwd=str(cwd))

    name = f"channelops-stage-{stage_key}"
    papermill_engines.register(name, _StageEngine)
    kernels.add(stage_key, km)
    peak = None
    try:
        papermill.execute_notebook(
            str(source),
            str(target),
            parameters=values,
            kernel_name=kernel,
            # no cwd here: papermill would chdir the whole process, which stages running
            # side by side share; the kernel gets its cwd from the engine instead
            engine_name=name,
            progress_bar=progress_bar,
            log_output=False,
        )
        peak = _peak_rss_bytes(_kernel_pid(km))
    finally:
        kernels.remove(stage_key)
        try:
            if km.has_kernel:
                run_sync(km.shutdown_kernel)(now=True)
        except Exception:  # noqa: BLE001 - the kernel may already be gone
            pass
    return peak


def run_stages(
    params: RunParams,
    stages: list[Stage],
    output_dir: Path,
    *,
    notebook_folder: Path | None = None,
    declared: dict[str, set[str]] | None = None,
    progress: bool = True,
    report: bool = True,
    echo=print,
    jobs: int = 1,
) -> dict[str, Any]:
    """Execute ``stages`` into ``output_dir`` and return the final manifest.

    Stages start in list order as soon as the earlier stages whose tables they read have
    finished (:func:`stage_dependencies`), at most ``jobs`` at a time, each in its own
    kernel. With ``jobs=1`` they run one after the other in list order.

    Args:
        params: validated run parameters.
        stages: stages to run, in order (see :func:`channelops.run.registry.select_stages`).
        output_dir: the run folder (created if absent; earlier results of other stages
            are kept, so ``--only 04`` re-runs one stage of an existing run).
        notebook_folder: where the stage notebooks are (default: the repo's notebooks/).
        declared: parameter names each notebook declares (from papermill's inspection);
            only those are injected, so no notebook sees a parameter it does not know.
        progress: show papermill's per-cell progress bar (only with ``jobs=1``: bars of
            stages running side by side would overwrite each other).
        report: build ``report.html`` at the end.
        echo: where progress lines go (``print`` by default).
        jobs: stages that may run at the same time (>= 1). Peak memory is up to the sum of
            the stages running together.

    Raises:
        RunFailed: a stage failed or did not write its tables; the manifest is left with
            status ``failed`` and the executed notebook stays in ``notebooks/``. Stages
            already running alongside are finished first; no new stage starts.
        ValueError: ``jobs`` < 1.
    """
    import threading
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    from papermill.exceptions import PapermillExecutionError

    from channelops.run.registry import producer_of

    if jobs < 1:
        raise ValueError(f"jobs must be >= 1 (stages at a time), got {jobs}")
    kernel = ensure_kernel()
    folder = notebook_folder or notebooks_dir()
    paths = run_paths(output_dir)
    for sub in (paths.tables, paths.figures, paths.notebooks):
        sub.mkdir(parents=True, exist_ok=True)

    manifest = _load_manifest(paths.manifest)
    for stale in ("report", "report_error"):  # set again below only if this run builds one
        manifest.pop(stale, None)
    manifest.update(
        {
            "channelops_version": package_versions().get("channelops"),
            "run_name": params.run_name,
            "status": "running",
            "started_at": _now(),
            "finished_at": None,
            "parameters": {
                "run_name": params.run_name,
                "dataset": str(params.dataset),
                "seed": params.seed,
                **params.notebook_params,
            },
            "dataset": {"path": str(params.dataset), "files": hash_inputs(params.dataset)},
            "packages": package_versions(),
            "platform": platform.platform(),
        }
    )
    manifest.setdefault("stages", {})
    for stage in stages:
        # what the stage wrote last time stays listed until it runs: removed then, and
        # attributed to it meanwhile
        previous = _previous_tables(manifest, stage.key)
        manifest["stages"][stage.key] = {
            "name": stage.name,
            "notebook": stage.notebook,
            "status": "pending",
            **({"tables": previous} if previous else {}),
        }
    _write_json(paths.manifest, manifest)

    lock = threading.Lock()  # guards the manifest dict and file
    kernels = _StageKernels()
    deps = stage_dependencies(stages)
    number = {s.key: i for i, s in enumerate(stages, 1)}
    started: dict[str, dict[str, int]] = {}  # stage key -> table mtimes when it started

    def written_by(stage: Stage) -> list[str]:
        """Tables written since the stage started that no other stage declares."""
        return [
            t
            for t in _written_since(started[stage.key], paths)
            if (p := producer_of(t)) is None or p.key == stage.key
        ]

    def start(stage: Stage) -> tuple[Path, dict[str, Any]]:
        with lock:
            entry = manifest["stages"][stage.key]
            # declared outputs and whatever this stage wrote last time (undeclared extras)
            for table in {*stage.outputs, *_previous_tables(manifest, stage.key)}:
                paths.table(table).unlink(missing_ok=True)
            entry.pop("tables", None)
            entry.update({"status": "running", "started_at": _now()})
            _write_json(paths.manifest, manifest)
            started[stage.key] = _table_mtimes(paths)
        names = declared.get(stage.notebook) if declared else None
        values = params.for_notebook(names or {"dataset", "output_dir", "seed"}, paths.root)
        values = {k: v for k, v in values.items() if names is None or k in names}
        echo(f"[{number[stage.key]}/{len(stages)}] {stage.key} {stage.name}: {stage.title}")
        return paths.notebooks / stage.notebook, values

    def run_one(stage: Stage) -> tuple[float, int | None]:
        target, values = start(stage)
        bar = (
            {"desc": f"    {stage.key} cells", "leave": False} if progress and jobs == 1 else False
        )
        t0 = time.perf_counter()
        peak = _execute_stage_notebook(
            folder / stage.notebook, target, values, kernel, folder, stage.key, kernels, bar
        )
        return time.perf_counter() - t0, peak

    def finish(stage: Stage, seconds: float, peak: int | None = None) -> None:
        target = paths.notebooks / stage.notebook
        entry = manifest["stages"][stage.key]
        missing = [t for t in stage.outputs if not paths.table(t).exists()]
        with lock:
            if missing:
                entry.update(
                    {
                        "status": "failed",
                        "seconds": round(seconds, 2),
                        "error": {"error": "MissingTables", "message": f"not written: {missing}"},
                        "tables": written_by(stage),
                    }
                )
                _write_json(paths.manifest, manifest)
                raise RunFailed(
                    f"stage {stage.key} ({stage.name}) finished but did not write its tables "
                    f"{missing}; see {target}"
                )
            written = written_by(stage)
            entry.update(
                {
                    "status": "ok",
                    "seconds": round(seconds, 2),
                    "finished_at": _now(),
                    "tables": written,
                    **({"peak_rss_gb": round(peak / 2**30, 2)} if peak is not None else {}),
                }
            )
            _refresh_tables(manifest, paths)
            _write_json(paths.manifest, manifest)
        memory = f", peak {peak / 2**30:.1f} GB" if peak is not None else ""
        echo(
            f"      {stage.key} done in {seconds:6.1f} s{memory}; "
            f"tables: {', '.join(written) or '-'}"
        )

    def fail(stage: Stage, exc: BaseException, seconds: float | None) -> RunFailed:
        target = paths.notebooks / stage.notebook
        with lock:
            entry = manifest["stages"][stage.key]
            entry.update(
                {
                    "status": "failed",
                    "error": _error_of(exc, target),
                    "tables": written_by(stage),
                    **({"seconds": round(seconds, 2)} if seconds is not None else {}),
                }
            )
            _write_json(paths.manifest, manifest)
        if isinstance(exc, PapermillExecutionError):
            return RunFailed(
                f"stage {stage.key} ({stage.name}) failed in cell {exc.cell_index} of "
                f"{target}: {exc.ename}: {exc.evalue}"
            )
        return RunFailed(f"stage {stage.key} could not run: {type(exc).__name__}: {exc}")

    total_start = time.perf_counter()
    pending = list(stages)
    running: dict[Any, tuple[Stage, float]] = {}
    done: set[str] = set()
    failure: RunFailed | None = None
    previous_term = _interrupt_on_sigterm()
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="stage")
    try:
        while pending or running:
            if failure is None:
                for stage in list(pending):
                    if len(running) >= jobs:
                        break
                    if deps[stage.key] <= done:
                        pending.remove(stage)
                        running[pool.submit(run_one, stage)] = (stage, time.perf_counter())
            if not running:
                break
            finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in finished:
                stage, t0 = running.pop(future)
                exc = future.exception()
                try:
                    if exc is not None:
                        raise exc
                    finish(stage, *future.result())
                    done.add(stage.key)
                except RunFailed as err:
                    failure = failure or err
                except Exception as err:  # noqa: BLE001 - notebook error, kernel died, ...
                    failure = failure or fail(stage, err, time.perf_counter() - t0)
        if failure is not None:
            raise failure
        manifest["status"] = "ok"
    except RunFailed:
        manifest["status"] = "failed"
        raise
    except KeyboardInterrupt:
        manifest["status"] = "interrupted"
        kernels.stop_all()
        wait(list(running))
        with lock:
            for stage, _ in running.values():
                manifest["stages"][stage.key]["status"] = "interrupted"
                manifest["stages"][stage.key]["tables"] = written_by(stage)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if previous_term is not None:
            signal.signal(signal.SIGTERM, previous_term)
        import shutil

        shutil.rmtree(paths.scratch, ignore_errors=True)  # frames a failed stage set aside
        if params.notebook_params.get("drop_pii"):
            _remove_personal_tables(paths, manifest)
        manifest["finished_at"] = _now()
        manifest["seconds"] = round(time.perf_counter() - total_start, 2)
        _refresh_tables(manifest, paths)
        if report:
            try:
                from channelops.run.report import build_report

                build_report(paths.root, manifest)
                manifest["report"] = str(paths.report)
            except Exception as exc:  # a report problem must not hide the run's own status
                manifest["report_error"] = f"{type(exc).__name__}: {exc}"
        _write_json(paths.manifest, manifest)
    return manifest


#: Tables that hold personal data only to hand it from one stage to the next: with
#: ``drop_pii`` they are removed when the run ends (03's golden table drops them itself).
PERSONAL_HANDOFF_TABLES = ("buyers",)


def _remove_personal_tables(paths, manifest: dict[str, Any]) -> None:
    """Remove the personal-data handoff tables and say so in the manifest."""
    removed = []
    for name in PERSONAL_HANDOFF_TABLES:
        if paths.table(name).exists():
            paths.table(name).unlink()
            removed.append(name)
    if removed:
        manifest["personal_data_removed"] = removed


def _interrupt_on_sigterm():
    """Treat SIGTERM (a killed job, a CI timeout) like Ctrl-C so the manifest says so.

    Returns the previous handler, or None when not in the main thread (then nothing is set).
    """

    def handler(signum, frame):  # noqa: ARG001
        raise KeyboardInterrupt(f"signal {signum}")

    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        return None


def _table_mtimes(paths) -> dict[str, int]:
    return {p.stem: p.stat().st_mtime_ns for p in paths.tables.glob("*.parquet")}


def _written_since(before: dict[str, int], paths) -> list[str]:
    """Tables whose file appeared or changed since ``before`` (from :func:`_table_mtimes`)."""
    return sorted(name for name, mtime in _table_mtimes(paths).items() if before.get(name) != mtime)


def _previous_tables(manifest: dict[str, Any], stage_key: str) -> list[str]:
    """Tables the manifest says ``stage_key`` wrote when it last ran."""
    return list(manifest.get("stages", {}).get(stage_key, {}).get("tables") or [])


def _refresh_tables(manifest: dict[str, Any], paths) -> None:
    """Rows, producing stage and content hash of every table in the run folder.

    The producing stage is the declared one (:mod:`channelops.run.registry`), else the stage whose
    manifest entry lists the table. A hash is recomputed only when the file changed since
    the last refresh (same size and modification time, same :data:`HASH_SCHEME`: the
    recorded hash is kept).
    """
    from channelops.run.registry import producer_of

    old = manifest.get("tables", {})
    written_by = {
        table: key
        for key, entry in manifest.get("stages", {}).items()
        for table in entry.get("tables") or []
    }
    tables = {}
    for path in sorted(paths.tables.glob("*.parquet")):
        producer = producer_of(path.stem)
        stat = path.stat()
        stamp = f"{stat.st_size}:{stat.st_mtime_ns}"
        previous = old.get(path.stem, {})
        if (
            previous.get("file_stamp") == stamp
            and previous.get("content_hash")
            and previous.get("hash_scheme") == HASH_SCHEME
        ):
            content_hash = previous["content_hash"]
        else:
            content_hash = table_content_hash(path)
        tables[path.stem] = {
            "rows": _table_rows(path),
            "stage": producer.key if producer else written_by.get(path.stem),
            "content_hash": content_hash,
            "hash_scheme": HASH_SCHEME,
            "file_stamp": stamp,
        }
    manifest["tables"] = tables


def prepare_notebooks(
    params: RunParams,
    stages: list[Stage],
    into: Path,
    output_dir: Path,
    declared: dict[str, set[str]],
    notebook_folder: Path | None = None,
) -> list[Path]:
    """Write parameterised, unexecuted copies of the notebooks (for ``pytest --nbval-lax``).

    papermill injects the parameters cell exactly as in a run, without executing, so nbval
    then runs the same notebooks on the same parameters, cell by cell. Copies keep their
    names: pytest runs a folder's files in name order, which is the run order (every stage
    reads only tables of stages with a smaller number, see
    :func:`channelops.run.registry.check_registry`).
    """
    import papermill

    ensure_kernel()
    folder = notebook_folder or notebooks_dir()
    into.mkdir(parents=True, exist_ok=True)
    for old in into.glob("*.ipynb"):
        old.unlink()
    out = []
    for stage in stages:
        names = declared.get(stage.notebook, set())
        values = params.for_notebook(names, output_dir)
        target = into / stage.notebook
        papermill.execute_notebook(
            str(folder / stage.notebook),
            str(target),
            parameters=values,
            prepare_only=True,
            kernel_name=KERNEL_NAME,
            progress_bar=False,
        )
        out.append(target)
    return out
