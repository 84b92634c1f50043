"""Which stages run when: dependencies, stages side by side, failures and interrupts.

A stage starts, in list order, as soon as the earlier stages whose tables it reads are done
(:func:`stage_dependencies`), at most ``jobs`` at a time, each in a worker thread (the
notebook itself runs in its own kernel process). What running, finishing and failing a
stage mean is the caller's (:class:`StageWork`); the scheduler only decides the order and
what happens after a failure or an interrupt.
"""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, Protocol

from channelops.run.registry import Stage, producer_of

__all__ = ["BIG_EXPORTS_BYTES", "default_jobs", "stage_dependencies", "StageWork", "run_when_ready"]

#: Order exports larger than this run one stage at a time by default: two stages of a large
#: dataset side by side would need the sum of their peak memories (benchmarks/results/
#: large_run.md has the stages' peaks).
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
    stages: list[Stage], jobs: int, work: StageWork, deps: dict[str, set[str]] | None = None
) -> None:
    """Run ``stages`` with ``work``, each once the stages it depends on are done.

    Args:
        stages: in run order.
        jobs: stages at a time (>= 1); with 1 they run one after the other in list order.
        work: runs, finishes and fails the stages.
        deps: stage key -> keys it waits for (default :func:`stage_dependencies`).

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
    try:
        failure = _run_until_done(stages, jobs, work, deps, pool, running)
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


def _run_until_done(
    stages: list[Stage],
    jobs: int,
    work: StageWork,
    deps: dict[str, set[str]],
    pool: ThreadPoolExecutor,
    running: dict[Future[Any], tuple[Stage, float]],
) -> Exception | None:
    """The scheduler loop: start what is ready, wait for one to end, record it; repeat.

    ``running`` (future -> stage and start time) is the caller's, so an interrupt can see
    what was running. Returns the first failure, or None.
    """
    pending = list(stages)
    done: set[str] = set()
    failure: Exception | None = None
    while pending or running:
        if failure is None:
            for stage in _ready(pending, done, deps, jobs - len(running)):
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


def _ready(
    pending: list[Stage], done: set[str], deps: dict[str, set[str]], free: int
) -> list[Stage]:
    """Up to ``free`` pending stages, in list order, whose dependencies are all done."""
    return [stage for stage in pending if deps[stage.key] <= done][: max(free, 0)]


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
