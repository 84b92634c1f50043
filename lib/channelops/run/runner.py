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

The pieces live beside this module: :mod:`~channelops.run.kernel` (the kernel and
papermill), :mod:`~channelops.run.schedule` (which stage runs when),
:mod:`~channelops.run.manifest` and :mod:`~channelops.run.hashing`; this module ties them
together and re-exports the names the command line and the Makefile use.
"""

from __future__ import annotations

import errno
import os
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from papermill.exceptions import PapermillExecutionError

from channelops.engine import DUCKDB_MEMORY_ENV
from channelops.run.folder import RunFolderError, RunPaths, run_paths, verify_table
from channelops.run.hashing import hash_inputs, table_content_hash
from channelops.run.kernel import (
    KERNEL_NAME,
    StageKernels,
    ensure_kernel,
    execute_stage_notebook,
    kernel_log_path,
    notebook_error,
    notebooks_dir,
    prepare_notebooks,
    project_root,
)
from channelops.run.lock import RunLocked, acquire_run_lock
from channelops.run.manifest import (
    finish_manifest,
    load_manifest,
    now,
    package_versions,
    previous_tables,
    refresh_tables,
    start_manifest,
    table_mtimes,
    write_json,
    written_since,
)
from channelops.run.paramdocs import notebook_defaults
from channelops.run.params import RunParams
from channelops.run.registry import Stage, producer_of
from channelops.run.report import build_report
from channelops.run.schedule import (
    BIG_EXPORTS_BYTES,
    GB,
    default_jobs,
    duckdb_memory_share,
    exports_bytes,
    format_gb,
    measured_peaks,
    run_when_ready,
    stage_dependencies,
    stage_memory,
)
from channelops.run.staleness import mark_stale, next_sequence, run_prerequisites

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

#: Tables that hold personal data only to hand it from one stage to the next: with
#: ``drop_pii`` they are removed when the run ends (03's golden table drops them itself).
PERSONAL_HANDOFF_TABLES = ("buyers",)


class RunFailed(RuntimeError):
    """A stage failed; the message names the notebook, the cell and the error."""


def run_stages(
    params: RunParams,
    stages: list[Stage],
    output_dir: Path,
    *,
    notebook_folder: Path | None = None,
    declared: dict[str, set[str]] | None = None,
    progress: bool = True,
    report: bool = True,
    echo: Callable[[str], Any] = print,
    jobs: int = 1,
    force: bool = False,
    memory_limit: int | None = None,
    stage_budgets: Mapping[str, int] | None = None,
    memory_from: tuple[str, dict[str, Any]] | None = None,
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
        force: run even when a table the stages read comes from a stale stage (the
            stages that ran are then stale too).
        memory_limit: bytes the stages running together may need at most (None: no
            limit). Each stage is taken to need its budget (``stage_budgets``), else its
            peak measured in this folder's manifest, else in ``memory_from``, else
            :func:`channelops.run.schedule.stage_memory`'s default; a stage starts only when
            it fits beside the running ones (one above the limit runs alone). The stages'
            DuckDB connections get a share of it (:data:`channelops.engine.DUCKDB_MEMORY_ENV`,
            :func:`channelops.run.schedule.duckdb_memory_share`). The plan is in the
            manifest (``memory``).
        stage_budgets: stage key -> bytes (with ``memory_limit``).
        memory_from: (name, manifest) of another run whose measured peaks to use.

    The run holds the folder's lock (:func:`channelops.run.lock.acquire_run_lock`) from
    start to end. Before anything runs, the tables it reads from earlier runs are checked
    against the hashes the manifest recorded (:func:`changed_inputs`), and the tables the
    stages need from stages not in this run must be in the folder, from stages that
    finished and are not stale (:func:`channelops.run.staleness.run_prerequisites`).
    When the run ends, the stages of the folder built on inputs that changed since are
    marked ``stale`` (:func:`channelops.run.staleness.mark_stale`). Whatever ends the
    run, the manifest is written with its status and no stage left ``running``
    (:func:`settle_stages`), and temporary files are removed.

    Raises:
        RunFailed: a stage failed or did not write its tables, or the run folder could not
            be written during the run (a full disk); the manifest is left with status
            ``failed`` and the executed notebook stays in ``notebooks/``. Stages already
            running alongside are finished first; no new stage starts.
        RunLocked: another run holds the folder (nothing is touched).
        RunFolderError: the folder cannot be written (read-only, full), a table this
            run reads from an earlier run changed since it was written, or the folder
            lacks a table the stages need or holds it from a stale stage (without
            ``force``); nothing is run then.
        KeyboardInterrupt: Ctrl-C or SIGTERM; the manifest says ``interrupted``.
        ValueError: ``jobs`` < 1.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1 (stages at a time), got {jobs}")
    kernel = ensure_kernel()
    paths = run_paths(output_dir)
    try:
        paths.root.mkdir(parents=True, exist_ok=True)
        lock = acquire_run_lock(paths.root, params.run_name)
    except RunLocked:
        raise
    except OSError as err:
        raise RunFolderError(folder_problem(err, paths.root, "cannot be written")) from None
    with lock:
        if lock.stale:
            echo(
                f"  note: took over the lock a run that did not end cleanly left "
                f"(pid {lock.stale.get('pid', '?')} on {lock.stale.get('host', '?')}, started "
                f"{lock.stale.get('started_at', '?')}); its unfinished stages are re-run"
            )
        return _run_locked(
            params,
            stages,
            paths,
            kernel,
            notebook_folder,
            declared,
            progress,
            report,
            echo,
            jobs,
            force,
            _Memory(memory_limit, dict(stage_budgets or {}), memory_from),
        )


def _run_locked(
    params: RunParams,
    stages: list[Stage],
    paths: RunPaths,
    kernel: str,
    notebook_folder: Path | None,
    declared: dict[str, set[str]] | None,
    progress: bool,
    report: bool,
    echo: Callable[[str], Any],
    jobs: int,
    force: bool = False,
    memory: _Memory | None = None,
) -> dict[str, Any]:
    """:func:`run_stages` once the run folder's lock is held."""
    problems = changed_inputs(stages, paths)
    if problems:
        raise RunFolderError(
            f"{len(problems)} table(s) this run reads from earlier runs changed since they "
            "were written; nothing was run:\n" + "\n".join(f"  - {p}" for p in problems)
        )
    before = load_manifest(paths.manifest)
    needs = run_prerequisites(stages, before, lambda t: paths.table(t).exists())
    problem = needs.problem([s.key for s in stages], str(paths.root), force)
    if problem:
        raise RunFolderError(problem)
    if needs.stale:
        froms = sorted({k for v in needs.stale.values() for k in v})
        echo(f"  note: --force: reading tables of stale stage(s) {', '.join(froms)}")
    try:
        removed = remove_temp_files(paths)
        for sub in (paths.tables, paths.figures, paths.notebooks):
            sub.mkdir(parents=True, exist_ok=True)
        manifest = start_manifest(params, stages, paths)
    except OSError as err:
        raise RunFolderError(folder_problem(err, paths.root, "cannot be written")) from None
    if removed:
        echo(f"  note: removed {len(removed)} temporary file(s) an earlier run left: {removed}")
    need, limit, duckdb_share = _memory_plan(memory, stages, before, params, jobs, manifest, echo)
    work = _StageRunner(
        params=params,
        stages=stages,
        paths=paths,
        manifest=manifest,
        kernel=kernel,
        folder=notebook_folder or notebooks_dir(),
        declared=declared,
        show_cells=progress and jobs == 1,
        echo=echo,
        before=before,
    )
    total_start = time.perf_counter()
    failure: BaseException | None = None
    duckdb_before = os.environ.get(DUCKDB_MEMORY_ENV)
    if duckdb_share and duckdb_before is None:  # a value the user set stays
        os.environ[DUCKDB_MEMORY_ENV] = duckdb_share  # the kernels inherit it
    try:
        run_when_ready(stages, jobs, work, memory=need, limit=limit)
        manifest["status"] = "ok"
    except RunFailed as err:
        manifest["status"] = "failed"
        failure = err
    except KeyboardInterrupt as err:
        manifest["status"] = "interrupted"
        failure = err
    except BaseException as err:  # noqa: BLE001 - whatever it is, the manifest says so
        manifest["status"] = "failed"
        manifest["error"] = {"error": type(err).__name__, "message": str(err)[:2000]}
        failure = RunFailed(_unexpected(err, paths))
        failure.__cause__ = err
    finally:
        if duckdb_share and duckdb_before is None:
            os.environ.pop(DUCKDB_MEMORY_ENV, None)
    # no stage stays 'running' once the run is over, however it ended
    settle_stages(manifest, [s.key for s in stages])
    try:
        _end_run(manifest, paths, params, total_start, report, set(work.started))
    except OSError as err:
        end = RunFailed(
            folder_problem(err, paths.root, "could not be written at the end of the run")
            + f"; {paths.manifest} may still show the run as it was before"
        )
        raise end from (failure or err)
    if failure is not None:
        raise failure
    return manifest


@dataclass(frozen=True)
class _Memory:
    """The memory options of :func:`run_stages`."""

    limit: int | None
    budgets: dict[str, int]
    measured_from: tuple[str, dict[str, Any]] | None


def _memory_plan(
    memory: _Memory | None,
    stages: list[Stage],
    before: dict[str, Any],
    params: RunParams,
    jobs: int,
    manifest: dict[str, Any],
    echo: Callable[[str], Any],
) -> tuple[dict[str, int] | None, int | None, str | None]:
    """Each stage's memory, the limit and DuckDB's share; said on the console and
    recorded in the manifest (``memory``). (None, None, None) without a limit."""
    if memory is None or memory.limit is None:
        return None, None, None
    measured = [("this run folder", measured_peaks(before))]
    if memory.measured_from is not None:
        name, other = memory.measured_from
        measured.append((name, measured_peaks(other)))
    big = exports_bytes(params.dataset) > BIG_EXPORTS_BYTES
    plan = stage_memory(
        [s.key for s in stages], memory.limit, budgets=memory.budgets, measured=measured, big=big
    )
    share = duckdb_memory_share(memory.limit, jobs)
    manifest["memory"] = {
        "limit_gb": round(memory.limit / GB, 2),
        "duckdb_memory_limit": os.environ.get(DUCKDB_MEMORY_ENV) or share,
        "stages": {k: {"gb": round(b / GB, 2), "from": src} for k, (b, src) in plan.items()},
    }
    echo(
        f"  memory limit {format_gb(memory.limit)}: a stage starts when its memory fits beside "
        f"the running ones; DuckDB {manifest['memory']['duckdb_memory_limit']} per stage"
    )
    sources: dict[str, list[str]] = {}
    for key, (size, src) in plan.items():
        sources.setdefault(src, []).append(f"{key} {format_gb(size)}")
    for src, items in sources.items():
        echo(f"    {', '.join(items)} ({src})")
    above = [k for k, (b, _) in plan.items() if b > memory.limit]
    if above:
        echo(f"    above the limit, so run alone: {', '.join(above)}")
    return {k: b for k, (b, _) in plan.items()}, memory.limit, share


def _unexpected(err: BaseException, paths: RunPaths) -> str:
    """The message of a run stopped by an error outside any notebook."""
    if isinstance(err, OSError):
        return folder_problem(err, paths.root, "could not be written")
    return f"the run stopped outside the notebooks: {type(err).__name__}: {err}"


def folder_problem(err: OSError, root: Path, what: str) -> str:
    """One line for an operating-system error writing into the run folder ``root``: a full
    disk (with the space left), a read-only or forbidden folder, or the error itself."""
    if err.errno == errno.ENOSPC or err.errno == errno.EDQUOT:
        try:
            free = shutil.disk_usage(root).free / 2**20
            left = f", {free:.1f} MB free"
        except OSError:
            left = ""
        return (
            f"the run folder {root} {what}: the disk is full (no space left on device{left}). "
            "Free some space or choose another folder (--output DIR), then run again"
        )
    if err.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        why = "read-only file system" if err.errno == errno.EROFS else "permission denied"
        return (
            f"the run folder {root} {what} ({why}). Choose a folder you can write to "
            "(--output DIR), or make this one writable"
        )
    return f"the run folder {root} {what}: {type(err).__name__}: {err}"


def settle_stages(manifest: dict[str, Any], keys: list[str]) -> None:
    """Mark stages of this run still ``running`` when it ends as ``failed`` (``interrupted``
    for an interrupted run), so no manifest shows a stage running after its run is over."""
    status = "interrupted" if manifest.get("status") == "interrupted" else "failed"
    for key in keys:
        entry = manifest.get("stages", {}).get(key)
        if entry is not None and entry.get("status") == "running":
            entry["status"] = status
            entry.setdefault(
                "error",
                {"error": "RunEnded", "message": "the run ended before this stage finished"},
            )


def changed_inputs(stages: list[Stage], paths: RunPaths) -> list[str]:
    """Problems with the tables ``stages`` read that no stage of this run writes (tables of
    earlier runs, as with ``--only``): files changed since their stage wrote them."""
    ours = {t for s in stages for t in s.outputs}
    wanted = sorted({t for s in stages for t in s.inputs} - ours)
    return [p for t in wanted if paths.table(t).exists() and (p := verify_table(t, paths.root))]


def remove_temp_files(paths: RunPaths) -> list[str]:
    """Remove the temporary files (``.*.tmp``) in the run folder and return their names
    relative to it. Only while the run lock is held: then no writer can still be using one."""
    removed = []
    for folder in (paths.root, paths.tables, paths.figures, paths.notebooks):
        if folder.is_dir():
            for tmp in folder.glob(".*.tmp"):
                tmp.unlink(missing_ok=True)
                removed.append(tmp.relative_to(paths.root).as_posix())
    return sorted(removed)


@dataclass
class _StageRunner:
    """One run's stages: start, execute, finish or fail each, recording it in the manifest.

    The scheduler (:func:`channelops.run.schedule.run_when_ready`) calls :meth:`run` in
    worker threads and the rest in the main thread; ``lock`` guards the manifest dict and
    file between them.
    """

    params: RunParams
    stages: list[Stage]
    paths: RunPaths
    manifest: dict[str, Any]
    kernel: str
    folder: Path
    declared: dict[str, set[str]] | None
    show_cells: bool
    echo: Callable[[str], Any]
    lock: threading.Lock = field(default_factory=threading.Lock)
    kernels: StageKernels = field(default_factory=StageKernels)
    #: stage key -> table modification times when the stage started
    started: dict[str, dict[str, int]] = field(default_factory=dict)
    #: stage key -> the parameters it was given (the run folder left out)
    used: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: the folder's manifest before this run (what each stage wrote last time)
    before: dict[str, Any] = field(default_factory=dict)

    def run(self, stage: Stage) -> tuple[float, int | None]:
        """Execute the stage's notebook; return its seconds and the kernel's peak memory."""
        target, values = self._start(stage)
        bar = {"desc": f"    {stage.key} cells", "leave": False} if self.show_cells else False
        t0 = time.perf_counter()
        peak = execute_stage_notebook(
            self.folder / stage.notebook,
            target,
            values,
            self.kernel,
            self.folder,
            stage.key,
            self.kernels,
            bar,
        )
        return time.perf_counter() - t0, peak

    def finish(self, stage: Stage, result: tuple[float, int | None]) -> None:
        """Mark a stage that ran ``ok`` with its tables, or ``failed`` if any is missing.

        Raises:
            RunFailed: the stage did not write one of its declared tables.
        """
        seconds, peak = result
        entry = self.manifest["stages"][stage.key]
        missing = [t for t in stage.outputs if not self.paths.table(t).exists()]
        with self.lock:
            entry["tables"] = self._written_by(stage)
            refresh_tables(self.manifest, self.paths, set(self.started))
            broken = [
                t for t in self._written_by(stage) if "error" in self.manifest["tables"].get(t, {})
            ]
            if broken:
                entry.update(
                    {
                        "status": "failed",
                        "seconds": round(seconds, 2),
                        "error": {
                            "error": "UnreadableTables",
                            "message": f"not readable Parquet: {broken}",
                        },
                        "tables": self._written_by(stage),
                    }
                )
                write_json(self.paths.manifest, self.manifest)
                raise RunFailed(
                    f"stage {stage.key} ({stage.name}) wrote table(s) {broken} that are not "
                    f"readable Parquet (cut off or damaged); see {self.paths.manifest}"
                )
            if missing:
                entry.update(
                    {
                        "status": "failed",
                        "seconds": round(seconds, 2),
                        "error": {"error": "MissingTables", "message": f"not written: {missing}"},
                        "tables": self._written_by(stage),
                    }
                )
                write_json(self.paths.manifest, self.manifest)
                raise RunFailed(
                    f"stage {stage.key} ({stage.name}) finished but did not write its tables "
                    f"{missing}; see {self.paths.notebooks / stage.notebook}"
                )
            written = self._written_by(stage)
            entry.update(
                {
                    "status": "ok",
                    "seconds": round(seconds, 2),
                    "finished_at": now(),
                    "sequence": self._sequence(stage, written),
                    "parameters": self.used.get(stage.key, {}),
                    "tables": written,
                    **({"peak_rss_gb": round(peak / 2**30, 2)} if peak is not None else {}),
                }
            )
            log = self._kernel_log(stage)
            write_json(self.paths.manifest, self.manifest)
        memory = f", peak {peak / 2**30:.1f} GB" if peak is not None else ""
        self.echo(
            f"      {stage.key} done in {seconds:6.1f} s{memory}; "
            f"tables: {', '.join(written) or '-'}"
        )
        if log:
            self.echo(f"      note: {log}")

    def _sequence(self, stage: Stage, written: list[str]) -> int:
        """The stage's place in the folder's finish order (:mod:`channelops.run.staleness`).

        A stage that was ``ok`` before and wrote the same tables with the same content
        hashes keeps its earlier number: what reads it is not made stale by a re-run that
        changed nothing. Otherwise the next number. The caller holds ``lock``.
        """
        old = self.before.get("stages", {}).get(stage.key, {})
        old_tables = self.before.get("tables", {})
        was = {t: old_tables.get(t, {}).get("content_hash") for t in old.get("tables") or []}
        now_ = {t: self.manifest["tables"].get(t, {}).get("content_hash") for t in written}
        if old.get("status") == "ok" and was == now_ and all(now_.values()):
            return int(old.get("sequence") or 0)
        return next_sequence(self.manifest)

    def _kernel_log(self, stage: Stage) -> str | None:
        """Record the kernel's own output of ``stage`` in its manifest entry (``kernel_log``:
        the file, relative to the run folder, and its lines) and return a one-line note
        about it, or None when the kernel wrote nothing. The caller holds ``lock``."""
        path = kernel_log_path(self.paths.notebooks / stage.notebook)
        if not path.exists():
            return None
        lines = len(path.read_bytes().splitlines())
        rel = path.relative_to(self.paths.root).as_posix()
        self.manifest["stages"][stage.key]["kernel_log"] = {"file": rel, "lines": lines}
        return (
            f"the kernel of {stage.key} wrote {lines:,} line(s) outside the notebook (its own "
            f"messages, native libraries); they are in {path}"
        )

    def fail(self, stage: Stage, error: Exception, seconds: float) -> RunFailed:
        """Mark a stage ``failed`` with its error; a :class:`RunFailed` is already recorded."""
        if isinstance(error, RunFailed):
            return error
        target = self.paths.notebooks / stage.notebook
        with self.lock:
            self._kernel_log(stage)
            self.manifest["stages"][stage.key].update(
                {
                    "status": "failed",
                    "error": notebook_error(error, target),
                    "tables": self._written_by(stage),
                    "seconds": round(seconds, 2),
                }
            )
            try:
                write_json(self.paths.manifest, self.manifest)
            except OSError:
                pass  # kept in memory; the end of the run writes it (or says it could not)
        if isinstance(error, PapermillExecutionError):
            hint = ""
            if "[Errno 28]" in str(error.evalue) or "[Errno 30]" in str(error.evalue):
                err = OSError(28 if "[Errno 28]" in str(error.evalue) else 30, "")
                hint = f"\n  {folder_problem(err, self.paths.root, 'could not be written')}"
            return RunFailed(
                f"stage {stage.key} ({stage.name}) failed in cell {error.cell_index} of "
                f"{target}: {error.ename}: {error.evalue}{hint}"
            )
        if isinstance(error, OSError):
            return RunFailed(
                f"stage {stage.key} ({stage.name}) failed: "
                + folder_problem(error, self.paths.root, "could not be written")
            )
        return RunFailed(f"stage {stage.key} could not run: {type(error).__name__}: {error}")

    def stop(self) -> None:
        """Kill the kernels of the running stages."""
        self.kernels.stop_all()

    def interrupted(self, stages: list[Stage]) -> None:
        """Mark the stages an interrupt stopped, with the tables they wrote before it."""
        with self.lock:
            for stage in stages:
                self.manifest["stages"][stage.key]["status"] = "interrupted"
                self.manifest["stages"][stage.key]["tables"] = self._written_by(stage)

    def _start(self, stage: Stage) -> tuple[Path, dict[str, Any]]:
        """Clear the stage's old tables, mark it running; return its target and parameters."""
        with self.lock:
            entry = self.manifest["stages"][stage.key]
            kernel_log_path(self.paths.notebooks / stage.notebook).unlink(missing_ok=True)
            # declared outputs and whatever this stage wrote last time (undeclared extras)
            for table in {*stage.outputs, *previous_tables(self.manifest, stage.key)}:
                self.paths.table(table).unlink(missing_ok=True)
            entry.pop("tables", None)
            entry.update({"status": "running", "started_at": now()})
            write_json(self.paths.manifest, self.manifest)
            self.started[stage.key] = table_mtimes(self.paths)
        names = self.declared.get(stage.notebook) if self.declared else None
        values = self.params.for_notebook(
            names or {"dataset", "output_dir", "seed"}, self.paths.root
        )
        values = {k: v for k, v in values.items() if names is None or k in names}
        defaults = notebook_defaults(self.folder / stage.notebook)
        self.used[stage.key] = {
            k: v for k, v in {**defaults, **values}.items() if k != "output_dir"
        }  # every parameter the stage ran with: its notebook's defaults, then what was set
        number = [s.key for s in self.stages].index(stage.key) + 1
        self.echo(f"[{number}/{len(self.stages)}] {stage.key} {stage.name}: {stage.title}")
        return self.paths.notebooks / stage.notebook, values

    def _written_by(self, stage: Stage) -> list[str]:
        """Tables written since the stage started that no other stage declares."""
        return [
            t
            for t in written_since(self.started[stage.key], self.paths)
            if (p := producer_of(t)) is None or p.key == stage.key
        ]


def _end_run(
    manifest: dict[str, Any],
    paths: RunPaths,
    params: RunParams,
    total_start: float,
    report: bool,
    rewritten: set[str],
) -> None:
    """The end of every run, finished or not: clean up, mark the stale stages, stamp, report,
    write the manifest.

    Temporary files left by a stage that failed writing (a full disk) are removed first, so
    the manifest can still be written. Only tables of stages that ran (``rewritten``) get
    new hashes.

    Raises:
        OSError: the manifest could not be written (after the temporary files were removed).
    """
    removed = remove_temp_files(paths)
    if params.notebook_params.get("drop_pii"):
        _remove_personal_tables(paths, manifest)
    mark_stale(manifest)
    finish_manifest(manifest, paths, time.perf_counter() - total_start, rewritten)
    if report:
        _add_report(manifest, paths)
        removed += remove_temp_files(paths)  # what a report cut off by a full disk left
    if removed:
        manifest["temp_files_removed"] = removed
    write_json(paths.manifest, manifest)


def _remove_personal_tables(paths: RunPaths, manifest: dict[str, Any]) -> None:
    """Remove the personal-data handoff tables and say so in the manifest."""
    removed = []
    for name in PERSONAL_HANDOFF_TABLES:
        if paths.table(name).exists():
            paths.table(name).unlink()
            removed.append(name)
    if removed:
        manifest["personal_data_removed"] = removed


def _add_report(manifest: dict[str, Any], paths: RunPaths) -> None:
    """Build ``report.html`` and note it in the manifest, or note why it could not be built."""
    try:
        build_report(paths.root, manifest)
        manifest["report"] = str(paths.report)
    except Exception as exc:  # a report problem must not hide the run's own status
        manifest["report_error"] = f"{type(exc).__name__}: {exc}"
