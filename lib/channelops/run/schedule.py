"""Which stages run when: dependencies, memory, stages side by side, failures and interrupts.

A stage starts, in list order, as soon as the earlier stages whose tables it reads are done
(:func:`stage_dependencies`), at most ``jobs`` at a time, each in a worker thread (the
notebook itself runs in its own kernel process). With a memory limit, a stage starts only
when its memory (:func:`stage_memory`: its measured peak from a run's manifest, or a
budget) fits beside the stages already running; otherwise it waits, and a later stage that
fits may start first. A stage bigger than the limit runs alone. What running, finishing and
failing a stage mean is the caller's (:class:`StageWork`); the scheduler only decides the
order and what happens after a failure or an interrupt.
"""

from __future__ import annotations

import math
import os
import re
import signal
import time
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, Protocol

from channelops.run.registry import Stage, producer_of

__all__ = [
    "BIG_EXPORTS_BYTES",
    "SMALL_STAGE_BYTES",
    "GB",
    "default_jobs",
    "exports_bytes",
    "parse_memory",
    "format_gb",
    "default_memory_limit",
    "measured_peaks",
    "stage_memory",
    "duckdb_memory_share",
    "stage_dependencies",
    "StageWork",
    "run_when_ready",
    "simulate_schedule",
]

GB = 2**30
#: Order exports above this make a dataset large: a stage with no measured peak and no
#: budget is then taken to need the whole memory limit (it runs alone) until a run has
#: measured it (benchmarks/results/large_run.md has the stages' peaks on the large data).
BIG_EXPORTS_BYTES = 500 * 2**20
#: Memory taken for a stage of a small dataset with no measured peak and no budget (every
#: stage of the demo peaks below it, benchmarks/results/large_run.md).
SMALL_STAGE_BYTES = 1 * GB
_UNITS = {"": GB, "b": 1, "k": 2**10, "m": 2**20, "g": GB, "t": 2**40}
_MEMORY_TEXT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)


def default_jobs(cpus: int | None = None) -> int:
    """Stages to run side by side when ``--jobs`` is not given: 2, or 1 on a one-core
    machine. Memory decides the rest: with a memory limit a stage starts beside another
    only when both fit (:func:`run_when_ready`)."""
    cpus = os.cpu_count() if cpus is None else cpus
    return max(1, min(2, cpus or 1))


def exports_bytes(dataset: Path) -> int:
    """Bytes of the dataset's order exports (``orders/*``; 0 without the folder)."""
    exports = Path(dataset) / "orders"
    if not exports.is_dir():
        return 0
    return sum(f.stat().st_size for f in exports.glob("*") if f.is_file())


def parse_memory(text: str | int | float) -> int:
    """Bytes of a memory size: ``6GB``, ``6g``, ``6 GiB``, ``1536MB``, ``0.5T``; a bare
    number is GB. Units are binary (1 GB = 2**30 bytes, as the manifest's ``peak_rss_gb``).

    Raises:
        ValueError: not a size, or not above 0.
    """
    if isinstance(text, bool):
        raise ValueError(f"memory size {text!r} is not a size like 6GB")
    if isinstance(text, int | float):
        value, unit = float(text), ""
    else:
        match = _MEMORY_TEXT.match(str(text))
        if not match:
            raise ValueError(
                f"memory size {text!r} is not a size like 6GB, 1536MB or 0.5TB "
                "(a number, then B, KB, MB, GB or TB)"
            )
        value, unit = float(match.group(1)), match.group(2).lower()
    size = int(value * _UNITS[unit])
    if not math.isfinite(value) or size <= 0:
        raise ValueError(f"memory size {text!r} must be above 0")
    return size


def format_gb(size: int) -> str:
    """``6.0 GB`` (binary GB, one decimal)."""
    return f"{size / GB:.1f} GB"


def default_memory_limit(meminfo: Path = Path("/proc/meminfo"), share: float = 0.8) -> int:
    """The memory limit of a run without ``--memory-limit``: ``share`` of the memory
    available when the run starts (Linux ``MemAvailable``; elsewhere of the physical
    memory)."""
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(int(line.split()[1]) * 1024 * share)
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") * share)
    except (ValueError, OSError, AttributeError):
        return 8 * GB


def measured_peaks(manifest: Mapping[str, Any] | None) -> dict[str, int]:
    """Each stage's kernel peak in bytes from a run's manifest (``peak_rss_gb`` of stages
    that finished ``ok``)."""
    out = {}
    for key, entry in ((manifest or {}).get("stages") or {}).items():
        peak = entry.get("peak_rss_gb")
        if entry.get("status") == "ok" and isinstance(peak, int | float) and peak > 0:
            out[key] = int(peak * GB)
    return out


def stage_memory(
    keys: list[str],
    limit: int,
    *,
    budgets: Mapping[str, int] | None = None,
    measured: list[tuple[str, Mapping[str, int]]] = (),
    big: bool = False,
) -> dict[str, tuple[int, str]]:
    """The memory each stage is taken to need, and where that figure comes from.

    In this order: a budget given for the stage (``budgets``); its measured peak in the
    first of ``measured`` that has one (``(source, measured_peaks(...))`` pairs, e.g. this
    run folder's manifest, then another run's); else the whole ``limit`` for a large
    dataset (``big``: it runs alone until measured) or :data:`SMALL_STAGE_BYTES`.

    Returns:
        stage key -> (bytes, source text).
    """
    out = {}
    for key in keys:
        if budgets and key in budgets:
            out[key] = (int(budgets[key]), "budget")
        elif found := next(((src, m[key]) for src, m in measured if key in m), None):
            out[key] = (found[1], f"measured in {found[0]}")
        elif big:
            out[key] = (limit, "not measured yet, large data: alone")
        else:
            out[key] = (SMALL_STAGE_BYTES, "not measured, small data")
    return out


def duckdb_memory_share(limit: int, jobs: int) -> str:
    """DuckDB's memory limit in a stage of a run capped at ``limit`` bytes with ``jobs``
    stages side by side: half of a stage's share (the other half is the notebook's own
    frames), at least 256 MiB, as DuckDB reads it (``1536MiB``)."""
    share = max(limit // max(jobs, 1) // 2, 256 * 2**20)
    return f"{share // 2**20}MiB"


def stage_dependencies(stages: list[Stage]) -> dict[str, set[str]]:
    """For each stage, the earlier stages in ``stages`` whose tables it reads.

    Stages not in the list are not waited for (their tables are expected in the run folder
    already, as with ``--only``).
    """
    keys = [s.key for s in stages]
    deps: dict[str, set[str]] = {}
    for i, stage in enumerate(stages):
        earlier = set(keys[:i])
        deps[stage.key] = {
            p.key for t in stage.inputs if (p := producer_of(t)) is not None and p.key in earlier
        }
    return deps


class StageWork(Protocol):
    """What the scheduler does with a stage (the runner's implementation records it all in
    the manifest)."""

    def run(self, stage: Stage) -> Any:
        """Run the stage; called in a worker thread. The result goes to :meth:`finish`."""

    def finish(self, stage: Stage, result: Any) -> None:
        """Check and record a stage that ran; raise if it did not do its job."""

    def fail(self, stage: Stage, error: Exception, seconds: float) -> Exception:
        """Record a stage whose run or finish raised ``error``; return the error to raise."""

    def stop(self) -> None:
        """Stop the running stages at once (on an interrupt)."""

    def interrupted(self, stages: list[Stage]) -> None:
        """Record the stages an interrupt stopped, once they have stopped."""


def run_when_ready(
    stages: list[Stage],
    jobs: int,
    work: StageWork,
    deps: dict[str, set[str]] | None = None,
    memory: Mapping[str, int] | None = None,
    limit: int | None = None,
) -> None:
    """Run ``stages`` with ``work``, each once the stages it depends on are done and, with a
    memory ``limit``, once its memory fits beside the stages running.

    Args:
        stages: in run order.
        jobs: stages at a time (>= 1); with 1 they run one after the other in list order.
        work: runs, finishes and fails the stages.
        deps: stage key -> keys it waits for (default :func:`stage_dependencies`).
        memory: stage key -> bytes it is taken to need (:func:`stage_memory`); a stage
            missing from it counts 0.
        limit: bytes the stages running together may need at most (None: no limit). A
            stage waits while it does not fit; a later stage that fits may start before
            it; a stage above the limit by itself runs alone.

    Raises:
        Exception: the first failure, as returned by ``work.fail``, once the stages already
            running are done (each of them finished or failed through ``work``); no new
            stage starts after a failure.
        KeyboardInterrupt: on Ctrl-C or SIGTERM, after ``work.stop`` and once the running
            stages have stopped and ``work.interrupted`` recorded them.
        ValueError: ``jobs`` < 1.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1 (stages at a time), got {jobs}")
    deps = stage_dependencies(stages) if deps is None else deps
    running: dict[Future[Any], tuple[Stage, float]] = {}
    previous_term = _interrupt_on_sigterm()
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="stage")
    fit = _Fit(jobs, dict(memory or {}), limit)
    try:
        failure = _run_until_done(stages, fit, work, deps, pool, running)
        if failure is not None:
            raise failure
    except KeyboardInterrupt:
        work.stop()
        wait(list(running))
        work.interrupted([stage for stage, _ in running.values()])
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if previous_term is not None:
            signal.signal(signal.SIGTERM, previous_term)


class _Fit:
    """Which ready stages may start beside the running ones: at most ``jobs`` at a time,
    and with a ``limit`` their ``memory`` (bytes per stage key) must fit under it."""

    def __init__(self, jobs: int, memory: dict[str, int], limit: int | None) -> None:
        self.jobs, self.memory, self.limit = jobs, memory, limit

    def choose(self, ready: list[Stage], running: list[str]) -> list[Stage]:
        """The stages of ``ready`` (in order) to start now beside ``running`` (keys)."""
        chosen: list[Stage] = []
        used = sum(self.memory.get(k, 0) for k in running)
        for stage in ready:
            if len(running) + len(chosen) >= self.jobs:
                break
            need = self.memory.get(stage.key, 0)
            alone = not running and not chosen
            if self.limit is None or alone or used + need <= self.limit:
                chosen.append(stage)
                used += need
        return chosen


def _run_until_done(
    stages: list[Stage],
    fit: _Fit,
    work: StageWork,
    deps: dict[str, set[str]],
    pool: ThreadPoolExecutor,
    running: dict[Future[Any], tuple[Stage, float]],
) -> Exception | None:
    """The scheduler loop: start what is ready and fits, wait for one to end, record it;
    repeat.

    ``running`` (future -> stage and start time) is the caller's, so an interrupt can see
    what was running. Returns the first failure, or None.
    """
    pending = list(stages)
    done: set[str] = set()
    failure: Exception | None = None
    while pending or running:
        if failure is None:
            ready = [stage for stage in pending if deps[stage.key] <= done]
            for stage in fit.choose(ready, [s.key for s, _ in running.values()]):
                pending.remove(stage)
                running[pool.submit(work.run, stage)] = (stage, time.perf_counter())
        if not running:
            break
        finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
        for future in finished:
            stage, t0 = running.pop(future)
            try:
                work.finish(stage, future.result())
                done.add(stage.key)
            except Exception as err:  # noqa: BLE001 - notebook error, kernel died, ...
                # every failure is recorded (a stage failing alongside the first must not
                # stay 'running'); only the first is raised
                recorded = work.fail(stage, err, time.perf_counter() - t0)
                failure = failure or recorded
    return failure


def simulate_schedule(
    stages: list[Stage],
    jobs: int,
    seconds: Mapping[str, float],
    deps: dict[str, set[str]] | None = None,
    memory: Mapping[str, int] | None = None,
    limit: int | None = None,
) -> list[tuple[float, float, str]]:
    """When each stage would start and end under :func:`run_when_ready`'s rules if each
    took ``seconds[key]``: to see (and test) which stages a limit lets run together.

    Returns:
        (start, end, key) per stage, in start order (ties in list order).
    """
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1 (stages at a time), got {jobs}")
    deps = stage_dependencies(stages) if deps is None else deps
    fit = _Fit(jobs, dict(memory or {}), limit)
    pending, done = list(stages), set()
    running: dict[str, float] = {}  # key -> end time
    now, out = 0.0, []
    while pending or running:
        ready = [stage for stage in pending if deps[stage.key] <= done]
        for stage in fit.choose(ready, list(running)):
            pending.remove(stage)
            running[stage.key] = now + float(seconds[stage.key])
            out.append((now, running[stage.key], stage.key))
        if not running:
            break  # what is left waits for a stage not in the list
        now = min(running.values())
        for key in [k for k, end in running.items() if end == now]:
            del running[key]
            done.add(key)
    return out


def _interrupt_on_sigterm() -> Any:
    """Treat SIGTERM (a killed job, a CI timeout) like Ctrl-C so the manifest says so.

    Returns the previous handler, or None when not in the main thread (then nothing is set).
    """

    def handler(signum, frame):  # noqa: ARG001
        raise KeyboardInterrupt(f"signal {signum}")

    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        return None
