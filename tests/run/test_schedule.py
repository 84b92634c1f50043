"""The scheduler on its own, with stand-in stages (no notebooks, no kernels): order,
dependencies, stages side by side, the first failure, an interrupt, and which stages a
memory limit lets run together (hand-computed schedules)."""

from __future__ import annotations

import threading
import time

import pytest

from channelops.run.registry import Stage
from channelops.run.schedule import (
    SMALL_STAGE_BYTES,
    default_memory_limit,
    duckdb_memory_share,
    measured_peaks,
    parse_memory,
    run_when_ready,
    simulate_schedule,
    stage_memory,
)

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


# --- memory: which stages run together under a limit (issue 27) -----------------------

# the eight stages with the registry's dependencies, hand-chosen memories and durations
S = {k: Stage(k, f"s{k}", f"{k}.ipynb", k, outputs=()) for k in ("00", "01", "02", "03",
                                                                 "04", "05", "06", "07")}  # fmt: skip
RUN_DEPS = {
    "00": set(),
    "01": {"00"},
    "02": {"01"},
    "03": {"00"},
    "04": {"00"},
    "05": {"03"},
    "06": {"01", "02", "03", "04", "05"},
    "07": {"01", "03"},
}
GIB = 2**30
MEM = {"00": 1, "01": 3, "02": 2, "03": 6, "04": 5, "05": 6, "06": 4, "07": 4}
SECONDS = {"00": 10, "01": 40, "02": 10, "03": 100, "04": 60, "05": 50, "06": 30, "07": 40}


def _plan(limit_gb, jobs=2, mem=MEM):
    return simulate_schedule(
        list(S.values()), jobs, SECONDS, RUN_DEPS,
        memory={k: v * GIB for k, v in mem.items()},
        limit=None if limit_gb is None else limit_gb * GIB,
    )  # fmt: skip


def test_limit_8_pairs_the_stages_that_fit_and_makes_03_wait():
    # t=10: 01 (3) + 04 (5) = 8 fit, 03 (6) would make 9; t=50: 02 (2) beside 04 (7);
    # t=60: 03 beside 04 would be 11: it waits for 04 (t=70); 05 (6) + 07 (4) = 10 do not
    # fit, so 05 runs alone after 03 and 07 joins 06 (4 + 4 = 8) at t=220
    assert _plan(8) == [
        (0, 10, "00"), (10, 50, "01"), (10, 70, "04"), (50, 60, "02"),
        (70, 170, "03"), (170, 220, "05"), (220, 250, "06"), (220, 260, "07"),
    ]  # fmt: skip


def test_limit_6_runs_these_stages_one_at_a_time():
    # no two stages that are ready together fit under 6: the whole run is the sum
    plan = _plan(6)
    assert [k for _, _, k in plan] == ["00", "01", "02", "03", "04", "05", "06", "07"]
    assert all(a[1] <= b[0] for a, b in zip(plan, plan[1:], strict=False))
    assert plan[-1][1] == sum(SECONDS.values()) == 340


def test_no_limit_is_the_jobs_only_schedule():
    assert _plan(None) == [
        (0, 10, "00"), (10, 50, "01"), (10, 110, "03"), (50, 60, "02"), (60, 120, "04"),
        (110, 160, "05"), (120, 160, "07"), (160, 190, "06"),
    ]  # fmt: skip


def test_a_stage_above_the_limit_runs_alone():
    # 03 needs 9 GB of a 8 GB limit: it starts only when nothing runs, and nothing starts
    # beside it (04, 2 GB, would fit in the memory left by anything else)
    plan = _plan(8, mem={**MEM, "03": 9, "04": 2})
    start = {k: (a, b) for a, b, k in plan}
    assert start["03"] == (70, 170)  # once 01 (t=50), 02 (t=60) and 04 (t=70) are done
    others = [(a, b) for a, b, k in plan if k != "03"]
    assert not [1 for a, b in others if a < 170 and b > 70]


def test_the_threaded_scheduler_waits_for_memory():
    """Two independent 4 GB stages: under a 6 GB limit they never overlap, under 8 GB
    they run side by side (01 waits until 02 has started, or times out)."""
    deps = {"01": set(), "02": set()}
    active, peak, lock = set(), [0], threading.Lock()

    class Counting(FakeWork):
        def run(self, stage):
            with lock:
                active.add(stage.key)
                peak[0] = max(peak[0], len(active))
            try:
                time.sleep(0.05)
                return super().run(stage)
            finally:
                with lock:
                    active.discard(stage.key)

    mem = {"01": 4 * GIB, "02": 4 * GIB}
    work = Counting()
    run_when_ready([A, B], 2, work, deps=deps, memory=mem, limit=6 * GIB)
    assert sorted(work.finished) == ["01", "02"] and peak[0] == 1
    peak[0] = 0
    work = Counting(waits={"01": "02"})
    run_when_ready([A, B], 2, work, deps=deps, memory=mem, limit=8 * GIB)
    assert sorted(work.finished) == ["01", "02"] and peak[0] == 2


def test_memory_sizes_are_read_in_binary_units():
    assert parse_memory("6GB") == parse_memory("6g") == parse_memory("6 GiB") == 6 * GIB
    assert parse_memory("1536MB") == parse_memory(1.5) == 1536 * 2**20
    assert parse_memory("0.5T") == 512 * GIB
    for bad in ("six", "6 GBs", "-1GB", "0", True, ""):
        with pytest.raises(ValueError, match="memory size"):
            parse_memory(bad)


def test_stage_memory_prefers_budgets_then_the_first_measured_run():
    here, other = {"01": 2 * GIB}, {"01": 9 * GIB, "03": 5 * GIB}
    plan = stage_memory(
        ["01", "03", "04", "07"], 6 * GIB, budgets={"07": 3 * GIB},
        measured=[("this run folder", here), ("output/old", other)], big=True,
    )  # fmt: skip
    assert plan == {
        "01": (2 * GIB, "measured in this run folder"),
        "03": (5 * GIB, "measured in output/old"),
        "04": (6 * GIB, "not measured yet, large data: alone"),
        "07": (3 * GIB, "budget"),
    }
    small = stage_memory(["04"], 6 * GIB)
    assert small == {"04": (SMALL_STAGE_BYTES, "not measured, small data")}


def test_measured_peaks_only_from_stages_that_finished():
    manifest = {"stages": {"01": {"status": "ok", "peak_rss_gb": 2.5},
                           "03": {"status": "failed", "peak_rss_gb": 9.0},
                           "04": {"status": "ok"}}}  # fmt: skip
    assert measured_peaks(manifest) == {"01": int(2.5 * GIB)}
    assert measured_peaks(None) == {}


def test_duckdb_gets_half_of_a_stage_share():
    assert duckdb_memory_share(6 * GIB, 2) == "1536MiB"
    assert duckdb_memory_share(16 * GIB, 1) == "8192MiB"
    assert duckdb_memory_share(GIB // 4, 2) == "256MiB"  # never below 256 MiB


def test_default_memory_limit_is_a_share_of_the_available_memory(tmp_path):
    info = tmp_path / "meminfo"
    info.write_text("MemTotal:       24000000 kB\nMemAvailable:   10000000 kB\n")
    assert default_memory_limit(info) == int(10_000_000 * 1024 * 0.8)
    assert default_memory_limit(tmp_path / "missing") > 0  # from the physical memory
