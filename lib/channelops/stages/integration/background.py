"""One call in a second thread, for a notebook to go on with cells that do not need its
result (:func:`in_background`)."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

__all__ = ["in_background"]


def in_background(fn, /, *args, **kwargs) -> Future:
    """``fn(*args, **kwargs)`` started in a thread of its own; ``.result()`` of the
    returned future waits for it and gives its value (or raises its error). The
    arguments must not be changed until then. The thread ends with the call."""
    pool = ThreadPoolExecutor(1, f"background-{getattr(fn, '__name__', 'call')}")
    try:
        return pool.submit(fn, *args, **kwargs)
    finally:
        pool.shutdown(wait=False)
