"""Hostile inputs, case 2: two runs into one folder.

Started 4-7 s apart, both used to exit 0 with the folder holding only the second run's
tables; started together, one crashed half-way. A run now holds an exclusive lock on its
folder (``.channelops-run.lock``: pid, host, run name, start time, command); a second run
is refused at once with a message naming the first, and a lock left by a killed run is
taken over. The runs here are real processes whose stage is a stand-in (a table written,
then a wait until the test releases it; no kernel), so the test takes seconds.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from _builders import ROOT, build_dataset
from channelops.run import lock as run_lock
from channelops.run.cli import main
from channelops.run.folder import read_table
from channelops.run.lock import LOCK_NAME, RunLocked, acquire_run_lock, lock_holder
from channelops.run.params import RunParams
from channelops.run.registry import stage_by_key
from channelops.run.runner import run_stages

RUN = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import pandas as pd
    from channelops.run import runner
    from channelops.run.folder import write_table
    from channelops.run.lock import RunLocked
    from channelops.run.params import RunParams
    from channelops.run.registry import Stage

    data, out, tag = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]

    def stage(source, target, values, kernel, cwd, key, kernels, bar):
        write_table(pd.DataFrame({"run": [tag]}), "intake_lines", out)
        release = out.parent / "release"
        for _ in range(600):  # runs until the test says so (at most a minute)
            if release.exists():
                break
            time.sleep(0.1)
        write_table(pd.DataFrame({"run": [tag]}), "quarantine", out)

    runner.execute_stage_notebook = stage
    params = RunParams(run_name=tag, dataset=data, seed=0)
    try:
        runner.run_stages(params, [Stage("00", "data", "00.ipynb", "x",
                          outputs=("intake_lines", "quarantine"))], out,
                          notebook_folder=data, progress=False, report=False)
    except RunLocked as exc:
        print(f"REFUSED {exc}")
        sys.exit(2)
    print("DONE")
    """
)

HOLD = "import sys, time\nfrom channelops.run.lock import acquire_run_lock\n" \
       "lock = acquire_run_lock(sys.argv[1], 'holder')\nprint('HELD', flush=True)\n" \
       "time.sleep(60)\n"  # fmt: skip


def _start(script, *args):
    return subprocess.Popen([sys.executable, "-c", script, *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip


def test_runs_started_together_and_4_s_apart_one_runs_the_others_are_refused(tmp_path):
    data, out = tmp_path / "data", tmp_path / "run"
    data.mkdir()
    (data / "dataset.yaml").write_text("name: t\n")
    a, b = _start(RUN, data, out, "first"), _start(RUN, data, out, "second")
    deadline = time.time() + 90
    while lock_holder(out) is None and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(4)  # the third starts 4 s into the running one
    c = _start(RUN, data, out, "third")
    deadline = time.time() + 90
    while sum(p.poll() is not None for p in (a, b, c)) < 2 and time.time() < deadline:
        time.sleep(0.1)  # the two refused runs end at once; the running one waits
    (tmp_path / "release").touch()  # only now does the running one finish its stage
    outputs = {name: p.communicate(timeout=120)[0] for name, p in
               (("first", a), ("second", b), ("third", c))}  # fmt: skip
    codes = {"first": a.returncode, "second": b.returncode, "third": c.returncode}
    winners = [n for n, code in codes.items() if code == 0]
    assert len(winners) == 1 and winners[0] in ("first", "second"), (codes, outputs)
    winner = winners[0]
    pid = {"first": a.pid, "second": b.pid}[winner]
    for name in set(codes) - {winner}:
        assert codes[name] == 2, outputs[name]
        text = outputs[name]
        assert text.startswith(f"REFUSED run folder {out} is in use by run {winner!r} "
                               f"(pid {pid} on host {socket.gethostname()}, started "), text  # fmt: skip
        assert "--output DIR" in text and "Traceback" not in text
    # the folder holds the winner's tables only, the manifest says so, and the lock is gone
    assert read_table("intake_lines", out)["run"].tolist() == [winner]
    assert read_table("quarantine", out)["run"].tolist() == [winner]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "ok" and manifest["run_name"] == winner
    assert not (out / LOCK_NAME).exists()


def test_a_lock_left_by_a_killed_run_is_taken_over(tmp_path):
    holder = _start(HOLD, tmp_path)
    assert holder.stdout.readline().strip() == "HELD"
    with pytest.raises(RunLocked, match=rf"in use by run 'holder' \(pid {holder.pid} on host"):
        acquire_run_lock(tmp_path, "mine")
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=10)
    assert lock_holder(tmp_path)["pid"] == holder.pid, "the killed run's details stay"
    with acquire_run_lock(tmp_path, "mine") as lock:
        assert lock.stale is not None and lock.stale["pid"] == holder.pid
        assert lock_holder(tmp_path)["run_name"] == "mine"
    assert lock_holder(tmp_path) is None, "released: the file is removed"
    with acquire_run_lock(tmp_path, "again") as lock:
        assert lock.stale is None, "a clean release leaves nothing stale"


def test_without_flock_the_pid_in_the_file_decides(tmp_path, monkeypatch):
    """On a file system without flock a lock file naming a live process on this host is
    respected, and one naming a process that is gone is taken over."""
    monkeypatch.setattr(run_lock, "_flock", lambda fd: "unsupported")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        details = {"pid": sleeper.pid, "host": socket.gethostname(), "run_name": "other",
                   "started_at": "2026-01-01T00:00:00+00:00"}  # fmt: skip
        (tmp_path / LOCK_NAME).write_text(json.dumps(details))
        with pytest.raises(RunLocked, match=rf"in use by run 'other' \(pid {sleeper.pid}"):
            acquire_run_lock(tmp_path, "mine")
    finally:
        sleeper.kill()
        sleeper.wait()
    with acquire_run_lock(tmp_path, "mine") as lock:
        assert lock.stale["pid"] == sleeper.pid


def test_a_lock_of_another_host_is_not_taken_over(tmp_path):
    details = {"pid": 1, "host": "elsewhere.example", "run_name": "remote"}
    (tmp_path / LOCK_NAME).write_text(json.dumps(details))
    with pytest.raises(RunLocked, match=rf"another machine.*remove {tmp_path / LOCK_NAME}"):
        acquire_run_lock(tmp_path, "mine")


def test_a_refused_run_touches_nothing(tmp_path):
    """The second run's refusal comes before its manifest, tables or temporary files."""
    holder = _start(HOLD, tmp_path)
    assert holder.stdout.readline().strip() == "HELD"
    try:
        (tmp_path / "manifest.json").write_text('{"status": "running", "run_name": "holder"}')
        before = sorted(p.name for p in tmp_path.iterdir())
        params = RunParams(run_name="mine", dataset=tmp_path, seed=0)
        with pytest.raises(RunLocked):
            run_stages(params, [stage_by_key("00")], tmp_path, report=False, progress=False)
        assert sorted(p.name for p in tmp_path.iterdir()) == before
        assert json.loads((tmp_path / "manifest.json").read_text())["run_name"] == "holder"
    finally:
        holder.kill()
        holder.wait()


def test_the_command_line_refuses_with_exit_2_and_one_message(tmp_path, capsys):
    holder = _start(HOLD, tmp_path)
    assert holder.stdout.readline().strip() == "HELD"
    try:
        code = main(["run", "--params", str(ROOT / "parameters" / "ci.yaml"), "--only", "00",
                     "--dataset", str(build_dataset(tmp_path / "ds")), "-p", "calibration_end=", "--output", str(tmp_path),
                     "--no-progress"])  # fmt: skip
    finally:
        holder.kill()
        holder.wait()
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith(f"channelops: run folder {tmp_path} is in use by run 'holder' "
                          f"(pid {holder.pid} on host {socket.gethostname()}, started ")  # fmt: skip
    assert "Traceback" not in err and not (tmp_path / "manifest.json").exists()
