"""The scheduler on its own, with stand-in stages (no notebooks, no kernels): order,
dependencies, stages side by side, the first failure, an interrupt."""

from __future__ import annotations

import threading

import pytest

from channelops.run.registry import Stage
from channelops.run.schedule import run_when_ready

A, B, C, D = (Stage(k, f"s{k}", f"{k}.ipynb", k, outputs=()) for k in ("01", "02", "03", "04"))


class FakeWork:
    """Records what the scheduler asked for; ``waits`` makes a stage wait for an event."""

    def __init__(self, broken=(), waits=None, interrupt_on=None):
        self.log: list[tuple[str, str]] = []
        self.finished: list[str] = []
        self.failed: list[str] = []
        self.stopped = False
        self.interrupted_keys: list[str] | None = None
        self.started = {k: threading.Event() for k in ("01", "02", "03", "04")}
        self.broken, self.waits, self.interrupt_on = set(broken), waits or {}, interrupt_on
        self._lock = threading.Lock()

    def _note(self, what: str, key: str) -> None:
        with self._lock:
            self.log.append((what, key))

    def run(self, stage):
        self._note("start", stage.key)
        self.started[stage.key].set()
        if stage.key in self.waits:
            event = self.waits[stage.key]
            if not (self.started.get(event) or event).wait(timeout=10):
                raise TimeoutError(f"{stage.key} waited in vain")
        if stage.key in self.broken:
            raise ValueError(f"{stage.key} broke")
        self._note("end", stage.key)
        return stage.key * 2

    def finish(self, stage, result):
        if stage.key == self.interrupt_on:
            raise KeyboardInterrupt
        assert result == stage.key * 2
        self.finished.append(stage.key)

    def fail(self, stage, error, seconds):
        self.failed.append(stage.key)
        assert seconds >= 0
        return RuntimeError(f"stage {stage.key}: {error}")

    def stop(self):
        self.stopped = True
        for event in self.waits.values():
            if isinstance(event, threading.Event):
                event.set()

    def interrupted(self, stages):
        self.interrupted_keys = [s.key for s in stages]


def test_one_at_a_time_runs_in_list_order():
    work = FakeWork()
    run_when_ready([A, B, C], 1, work, deps={"01": set(), "02": set(), "03": set()})
    assert work.finished == ["01", "02", "03"]
    assert work.log == [("start", "01"), ("end", "01"), ("start", "02"), ("end", "02"),
                        ("start", "03"), ("end", "03")]  # fmt: skip


def test_two_at_a_time_run_side_by_side_and_wait_for_their_inputs():
    """01 waits until 02 has started (so both run at once, or 01 times out); 03 reads 01's
    tables, so it starts only after 01 has ended."""
    work = FakeWork(waits={"01": "02"})
    run_when_ready([A, B, C], 2, work, deps={"01": set(), "02": set(), "03": {"01"}})
    assert sorted(work.finished) == ["01", "02", "03"] and not work.failed
    assert work.log.index(("end", "01")) < work.log.index(("start", "03"))


def test_first_failure_is_raised_after_the_running_stage_and_nothing_new_starts():
    """02 breaks once 01 runs; 01 waits for 02 to have started and finishes; 03 (needs 02)
    and 04 (independent, but after the failure) never start."""
    work = FakeWork(broken={"02"}, waits={"01": "02"})
    deps = {"01": set(), "02": set(), "03": {"02"}, "04": set()}
    with pytest.raises(RuntimeError, match="stage 02: 02 broke"):
        run_when_ready([A, B, C, D], 2, work, deps=deps)
    assert work.finished == ["01"] and work.failed == ["02"]
    assert {key for _, key in work.log} == {"01", "02"}


def test_a_second_failure_alongside_the_first_is_recorded_too():
    """01 and 02 run side by side and both break: the first failure is raised, and the
    second is recorded as well (it used to be skipped, leaving its stage 'running')."""
    work = FakeWork(broken={"01", "02"}, waits={"01": "02"})
    with pytest.raises(RuntimeError, match="broke"):
        run_when_ready([A, B], 2, work, deps={"01": set(), "02": set()})
    assert sorted(work.failed) == ["01", "02"]


def test_interrupt_stops_the_running_stages_and_records_them():
    """An interrupt while 02 runs (02 would wait until stopped): the scheduler stops it,
    waits for it, records it as interrupted, and raises KeyboardInterrupt."""
    release = threading.Event()
    work = FakeWork(waits={"02": release}, interrupt_on="01")
    with pytest.raises(KeyboardInterrupt):
        run_when_ready([A, B], 2, work, deps={"01": set(), "02": set()})
    assert work.stopped and work.interrupted_keys == ["02"]
    assert work.finished == []


def test_jobs_must_be_one_or_more():
    with pytest.raises(ValueError, match="jobs must be >= 1"):
        run_when_ready([A], 0, FakeWork())
