"""Step 4 of the order-flow simulation, pick and pack: the simpy model of the packers.

:func:`pack_times` runs each policy's simpy model of the window and gives every order's
pack start and end. One simpy run is pure Python and holds the interpreter's lock, so
threads cannot run two side by side; the policies share nothing but their inputs, so
:func:`pack_times` can run the first of them in a second Python process while this one
runs the others, on the same arrays and with the same code, so with the same floats as
one after the other. The second process loads this file alone (numpy and simpy: not
pandas, not the channelops package and what its stages import), so it starts in well
under a second and holds a few tens of MB.

Everything here is private to :mod:`.simulation`, which documents the model.
"""

from __future__ import annotations

import bisect
import gc
import heapq
import math
import os
import pickle
import subprocess
import sys
import tempfile
import types
import warnings
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import simpy
from simpy.events import PENDING

# the simulation's parameters (:class:`.simulation.SimConfig`: shifts, pickup hours, tz
# offset); not imported, so this module loads without channelops in the second process and
# the two modules don't import each other
SimConfig = Any

#: Windows of at least this many orders simulate their first policy in a second process
#: when ``workers`` is None (see :func:`pack_times`).
PARALLEL_MIN_ORDERS = 20_000


@dataclass(frozen=True)
class _OrderTimes:
    """Per-order times of steps 1-3 and the pack times, hours on the simulation clock."""

    arrive: np.ndarray
    deadline: np.ndarray
    ready: np.ndarray
    pack_h: np.ndarray
    eff_deadline: np.ndarray


def pack_times(
    policies: list[str],
    times: _OrderTimes,
    wh: np.ndarray,
    n_packers: dict,
    config: SimConfig,
    workers: int | None = None,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Step 4 under each policy: {policy: (pack start, pack end)}, hours (inf if never).

    Args:
        policies: the policies to simulate.
        times: the orders' times (:func:`~.simulation._order_times`).
        wh: each order's warehouse.
        n_packers: warehouse -> packers, every warehouse of ``wh`` in the order they
            first appear in it.
        config: the simulation parameters (shifts, pickup hours, tz offset).
        workers: 1 simulates the policies one after the other here; 2 simulates the first
            in a second process meanwhile (the same result). None: 2 when this process
            may run on two cores or more, there are two policies or more and at least
            :data:`PARALLEL_MIN_ORDERS` orders (below that starting the second process
            costs more than it saves), else 1.
    """
    if workers is None:
        workers = 2 if _cores() >= 2 and len(wh) >= PARALLEL_MIN_ORDERS else 1
    away = None
    if workers >= 2 and len(policies) >= 2:
        away = _Elsewhere(policies[:1], times, wh, n_packers, config)
    packed = {
        p: _pack_times(p, times, wh, n_packers, config)
        for p in (policies[1:] if away is not None else policies)
    }
    if away is not None:
        packed.update(away.result())
    return {p: packed[p] for p in policies}


def _cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


# The second process: loads this file alone, reads its job from stdin, writes the pack
# times to stdout.
_WORKER = """
import importlib.util, pickle, sys
spec = importlib.util.spec_from_file_location("_channelops_packing", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = mod
spec.loader.exec_module(mod)
pickle.dump(mod._worker_run(pickle.load(sys.stdin.buffer)), sys.stdout.buffer, protocol=5)
"""


class _Elsewhere:
    """:func:`_pack_times` of some policies in a second Python process (started here);
    :meth:`result` waits for it, and computes them here if that process failed."""

    def __init__(self, policies, times, wh, n_packers, config) -> None:
        self._here = lambda: {p: _pack_times(p, times, wh, n_packers, config) for p in policies}
        job = {
            "policies": policies,
            "times": {f.name: getattr(times, f.name) for f in fields(times)},
            "wh": wh,
            "n_packers": n_packers,
            "config": {
                "shifts": config.shifts,
                "pickup_hours": config.pickup_hours,
                "tz_offset_h": config.tz_offset_h,
            },
        }
        self._proc: subprocess.Popen | None = None
        self._err = tempfile.TemporaryFile()  # a file: a pipe nobody reads could fill up
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", _WORKER, __file__],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._err,
            )
            with self._proc.stdin as stdin:
                stdin.write(pickle.dumps(job, protocol=5))
        except OSError as err:
            self._failed(f"could not start it or send it the job ({err})")

    def _failed(self, why: str) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._proc = None
        warnings.warn(
            f"the second simulation process failed, {why}; simulating here instead",
            RuntimeWarning,
            stacklevel=3,
        )

    def result(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """{policy: (pack start, pack end)} from the second process, or computed here."""
        try:
            if self._proc is not None:
                with self._proc.stdout as stdout:
                    out = stdout.read()
                if self._proc.wait() == 0:
                    return pickle.loads(out)
                self._err.seek(0)
                err = self._err.read().decode(errors="replace")[-500:]
                self._failed(f"exit code {self._proc.returncode}: {err}")
        finally:
            self._err.close()
        return self._here()


def _worker_run(job: dict) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The second process's part: :func:`_pack_times` of each policy of ``job``."""
    config = types.SimpleNamespace(**job["config"])
    times = _OrderTimes(**job["times"])
    return {p: _pack_times(p, times, job["wh"], job["n_packers"], config) for p in job["policies"]}


def _pack_times(
    policy: str, times: _OrderTimes, wh: np.ndarray, n_packers: dict, config: SimConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Step 4 under one policy: each order's pack start and end, hours (inf if never).
    ``n_packers``: warehouse -> packers, the warehouses of ``wh`` in the order they first
    appear in it (the stations are made in that order)."""
    n = len(wh)
    pstart = np.full(n, np.inf)
    pend = np.full(n, np.inf)
    env = simpy.Environment()
    # the per-order times as Python floats (the same values): the simulation reads them
    # one order at a time, where indexing a list is cheaper than indexing numpy
    ready, pack_h = times.ready.tolist(), times.pack_h.tolist()
    deadline, eff = times.deadline.tolist(), times.eff_deadline.tolist()
    for w in n_packers:
        idx = np.flatnonzero(wh == w)
        idx = idx[np.argsort(times.ready[idx], kind="stable")]
        _Station(
            env,
            idx.tolist(),
            ready,
            pack_h,
            deadline,
            eff,
            int(n_packers[w]),
            config,
            policy,
            pstart,
            pend,
        )
    # The run allocates millions of short-lived events that reference counting frees;
    # the cyclic collector's passes over them cost a third of the run and find nothing
    # to free, so it is paused for the run (and back as it was afterwards).
    paused = gc.isenabled()
    gc.disable()
    try:
        env.run()
    finally:
        if paused:
            gc.enable()
    return pstart, pend


# --------------------------------------------------------------------------- the clock


def _on_shift(packer: int, packers: int, config: SimConfig) -> list[tuple[float, float]]:
    """Local-hour intervals of a day when this packer works (packer k works a shift when
    k < round(share x packers))."""
    return [(s, e) for s, e, share in config.shifts if packer < round(share * packers)]


def _next_working(t: float, intervals: list[tuple[float, float]], tz: float) -> float:
    """The first time >= t (hours) inside a working interval, or inf when none."""
    if not intervals:
        return math.inf
    day = math.floor((t + tz) / 24.0)
    local = t + tz - 24.0 * day
    for d in (0, 1):
        for s, e in intervals:
            if d == 0 and local < e - 1e-12:
                return t + max(0.0, s - local)
            if d == 1:
                return t + (24.0 - local) + s
    return math.inf  # pragma: no cover


def _shift_end(t: float, intervals: list[tuple[float, float]], tz: float) -> float:
    """End of the working interval containing t (t must be inside one)."""
    day = math.floor((t + tz) / 24.0)
    local = t + tz - 24.0 * day
    ends = [e for s, e in intervals if s - 1e-12 <= local < e]
    return t + (max(ends) - local if ends else 0.0)


def _next_pickup_at(t: float, hours: list[float], tz: float) -> float:
    """:func:`next_pickup` of one time ``t`` (``hours``: the pickup hours sorted, as Python
    floats): the same float operations in the same order, so the same value, without
    building a numpy array for each order the priority policy considers."""
    if not hours:
        return t
    local = t + tz
    within = local - 24.0 * math.floor(local / 24.0)
    idx = bisect.bisect_left(hours, within - 1e-9)
    nxt = hours[idx] if idx < len(hours) else hours[0] + 24.0
    return t + (nxt - within)


# --------------------------------------------------------------------------- the packers


class _FirstOf(simpy.Event):
    """``a | b`` for two events of which neither has been processed: scheduled once, when
    the first of them is processed, as simpy's ``Condition`` is (the same events are
    scheduled in the same order), without building the condition's value, which the
    packers never read. An idle packer waits on one of these for every order that
    arrives while it is idle, so their cost is a large part of the simulation's."""

    def __init__(self, env, a, b) -> None:
        super().__init__(env)
        for event in (a, b):
            if event.callbacks is None:  # already processed
                self._check(event)
            else:
                event.callbacks.append(self._check)

    def _check(self, event) -> None:
        if self._value is PENDING:
            self._ok = True
            self._value = None
            self.env.schedule(self)


class _Station:
    """The pick-and-pack station of one warehouse: a queue and one simpy process per
    packer. The queue is ours (not a simpy resource) so that the priority policy can look
    at the clock when it chooses, and packers can go off shift between orders."""

    def __init__(
        self,
        env,
        order_idx,
        ready,
        pack_h,
        deadline,
        eff_deadline,
        n_packers,
        config: SimConfig,
        policy: str,
        pstart,
        pend,
    ) -> None:
        self.env = env
        self.ready, self.pack_h = ready, pack_h
        self.deadline, self.eff = deadline, eff_deadline
        self.config, self.policy = config, policy
        self.pstart, self.pend = pstart, pend
        self.pickups = sorted(float(h) for h in config.pickup_hours)
        self.tz = config.tz_offset_h
        self.queue: list[tuple[float, int]] = []  # (key, order index)
        self.lost: list[tuple[float, int]] = []  # priority: orders that will breach anyway
        self.pending = len(order_idx)
        self.wake = env.event()
        env.process(self._arrivals(order_idx))
        for k in range(n_packers):
            intervals = _on_shift(k, n_packers, config)
            if intervals:
                env.process(self._packer(intervals))

    def _arrivals(self, order_idx):
        for i in order_idx:
            wait = self.ready[i] - self.env.now
            if wait > 0:
                yield self.env.timeout(wait)
            key = self.ready[i] if self.policy == "fifo" else self.eff[i]
            heapq.heappush(self.queue, (key, i))
            self._notify()

    def _notify(self) -> None:
        if not self.wake.triggered:
            self.wake.succeed()

    def _take(self) -> int | None:
        """The next order to pack now, or None when nothing waits."""
        if self.policy == "priority":
            now = self.env.now
            while self.queue:
                key, i = heapq.heappop(self.queue)
                ship = _next_pickup_at(now + self.pack_h[i], self.pickups, self.tz)
                if ship <= self.deadline[i] + 1e-9:
                    return i
                heapq.heappush(self.lost, (self.deadline[i], i))
            if self.lost:
                return heapq.heappop(self.lost)[1]
            return None
        if self.queue:
            return heapq.heappop(self.queue)[1]
        return None

    def _packer(self, intervals):
        tz = self.config.tz_offset_h
        while self.pending > 0:
            t = _next_working(self.env.now, intervals, tz)
            if t > self.env.now + 1e-12:
                yield self.env.timeout(t - self.env.now)
                continue
            i = self._take()
            if i is None:
                if self.wake.triggered:
                    self.wake = self.env.event()
                # Sleep until an order arrives or the shift ends, whichever is first.
                end = _shift_end(self.env.now, intervals, tz)
                yield _FirstOf(self.env, self.wake, self.env.timeout(max(end - self.env.now, 1e-6)))
                continue
            self.pending -= 1
            self.pstart[i] = self.env.now
            yield self.env.timeout(self.pack_h[i])
            self.pend[i] = self.env.now
