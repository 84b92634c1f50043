"""Two workers for 01's independent fits, each in one library thread.

The holdout check and the lifetime values each fit several models that do not read each
other's results: BG/NBD, Gamma-Gamma and the two gradient-boosted regressors (with the
purchase days and features they are built from). :func:`two_workers` runs such pieces as
tasks on a fixed pool of two threads (numpy, scipy's special functions and scikit-learn's
tree building release the GIL), so the second core works while the first fits.

The rules (docs/design-notes.md, "Two cores, the same numbers"):

* always :data:`WORKERS` threads, never "every core", so nothing depends on the machine;
* every task runs with one BLAS and one OpenMP thread (BLAS pinned for the pool's life, a
  process-wide setting; OpenMP in each task, a per-thread one), so each task computes what
  it computes alone;
* a task reads only its arguments and the results of tasks *submitted before it* (through
  their futures). The pool takes tasks in submission order, so the task waited for is
  running or done and the pool cannot deadlock, with two workers or one. With one worker
  the tasks run one after the other in submission order: the serial path the tests compare
  the two workers with, byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

from threadpoolctl import threadpool_limits

__all__ = ["WORKERS", "Workers", "two_workers"]

#: Threads of the pool (fixed; tests set 1 for the serial path).
WORKERS = 2

T = TypeVar("T")


class Workers:
    """A pool whose tasks each run in one OpenMP thread (see the module's rules)."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self._pool = pool

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        """Run ``fn(*args, **kwargs)`` on a worker; it may wait on earlier tasks' futures."""
        return self._pool.submit(_one_thread, fn, args, kwargs)


@contextmanager
def two_workers() -> Iterator[Workers]:
    """The pool of :data:`WORKERS` threads, with BLAS held to one thread while it lives.

    Leaving the block waits for every task submitted (an early ``return`` included).
    """
    with (
        threadpool_limits(limits=1),
        ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="segmentation") as pool,
    ):
        yield Workers(pool)


def _one_thread(fn: Callable[..., T], args: tuple, kwargs: dict) -> T:
    with threadpool_limits(limits=1, user_api="openmp"):  # this thread's own setting
        return fn(*args, **kwargs)
