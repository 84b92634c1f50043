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

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from papermill.exceptions import PapermillExecutionError

from channelops.run.folder import RunPaths, run_paths
from channelops.run.hashing import hash_inputs, table_content_hash
from channelops.run.kernel import (
    KERNEL_NAME,
    StageKernels,
    ensure_kernel,
    execute_stage_notebook,
    notebook_error,
    notebooks_dir,
    prepare_notebooks,
    project_root,
)
from channelops.run.manifest import (
    finish_manifest,
    now,
    package_versions,
    previous_tables,
    refresh_tables,
    start_manifest,
    table_mtimes,
    write_json,
    written_since,
)
from channelops.run.params import RunParams
from channelops.run.registry import Stage, producer_of
from channelops.run.report import build_report
from channelops.run.schedule import default_jobs, run_when_ready, stage_dependencies

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
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1 (stages at a time), got {jobs}")
    kernel = ensure_kernel()
    paths = run_paths(output_dir)
    for sub in (paths.tables, paths.figures, paths.notebooks):
        sub.mkdir(parents=True, exist_ok=True)
    work = _StageRunner(
        params=params,
        stages=stages,
        paths=paths,
        manifest=start_manifest(params, stages, paths),
        kernel=kernel,
        folder=notebook_folder or notebooks_dir(),
        declared=declared,
        show_cells=progress and jobs == 1,
        echo=echo,
    )
    manifest = work.manifest
    total_start = time.perf_counter()
    try:
        run_when_ready(stages, jobs, work)
        manifest["status"] = "ok"
    except RunFailed:
        manifest["status"] = "failed"
        raise
    except KeyboardInterrupt:
        manifest["status"] = "interrupted"
        raise
    finally:
        _end_run(manifest, paths, params, total_start, report)
    return manifest


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
                    "tables": written,
                    **({"peak_rss_gb": round(peak / 2**30, 2)} if peak is not None else {}),
                }
            )
            refresh_tables(self.manifest, self.paths)
            write_json(self.paths.manifest, self.manifest)
        memory = f", peak {peak / 2**30:.1f} GB" if peak is not None else ""
        self.echo(
            f"      {stage.key} done in {seconds:6.1f} s{memory}; "
            f"tables: {', '.join(written) or '-'}"
        )

    def fail(self, stage: Stage, error: Exception, seconds: float) -> RunFailed:
        """Mark a stage ``failed`` with its error; a :class:`RunFailed` is already recorded."""
        if isinstance(error, RunFailed):
            return error
        target = self.paths.notebooks / stage.notebook
        with self.lock:
            self.manifest["stages"][stage.key].update(
                {
                    "status": "failed",
                    "error": notebook_error(error, target),
                    "tables": self._written_by(stage),
                    "seconds": round(seconds, 2),
                }
            )
            write_json(self.paths.manifest, self.manifest)
        if isinstance(error, PapermillExecutionError):
            return RunFailed(
                f"stage {stage.key} ({stage.name}) failed in cell {error.cell_index} of "
                f"{target}: {error.ename}: {error.evalue}"
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
) -> None:
    """The end of every run, finished or not: clean up, stamp, report, write the manifest."""
    if params.notebook_params.get("drop_pii"):
        _remove_personal_tables(paths, manifest)
    finish_manifest(manifest, paths, time.perf_counter() - total_start)
    if report:
        _add_report(manifest, paths)
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
