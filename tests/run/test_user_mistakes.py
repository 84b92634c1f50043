"""Every user mistake tried as a new user would gets a message, exit 2, never a traceback.

Each case runs ``channelops`` in-process (no kernel starts: every one is refused before).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from channelops.run.cli import main

ROOT = Path(__file__).resolve().parents[2]
CI = str(ROOT / "parameters" / "ci.yaml")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["synth", "--scenario", "socal"], "--scenario 'socal' is not known"),
        (["synth", "--size", "huge"], "--size 'huge' is not known"),
        (["synth", "--size", "tiny", "--out", "/proc/none/x"], "synth: No such file"),
        (["run", "--params", CI, "--jobs", "0"], "--jobs must be 1 or more"),
        (["run", "--params", CI, "--only", "9"], "unknown stage '9'; known stages: 00 (data)"),
        (["run", "--params", "no_such.yaml"], "parameter file no_such.yaml does not exist"),
        (["run", "--params", CI, "-p", "horizon_days"], "must look like name=value"),
        (["params", "12"], "unknown stage '12'"),
    ],
)
def test_mistake_is_one_line_exit_2(argv, expected, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # synth's default folders and output/ land here
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert expected in err and "Traceback" not in err
    assert len(err.splitlines()) == 1, err


def test_a_broken_parameter_file_is_one_line_without_its_content(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: 7\nhorizon_days: [14\n")
    assert main(["run", "--params", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"channelops: parameter file {bad} is not valid YAML at line 3")
    assert len(err.splitlines()) == 1 and "horizon_days: [14" not in err


@pytest.mark.parametrize(
    ("param", "expected"),
    [
        ("horizon_days=-3", "'horizon_days' = -3 is outside its allowed range 1 .. 365"),
        ("seed=1.5", "seed must be a non-negative integer, got 1.5"),
        ("horizon_days=abc", "parameter 'horizon_days' must be int"),
    ],
)
def test_bad_parameter_values_name_the_file_and_the_flag(param, expected, tmp_path, capsys):
    code = main(["run", "--params", CI, "-p", param, "--output", str(tmp_path / "x")])
    err = capsys.readouterr().err
    name = param.split("=")[0]
    assert code == 2 and "Traceback" not in err
    assert err.startswith(f"channelops: {CI} and the command line (-p {name}): 1 problem(s):")
    assert expected in err
    assert not (tmp_path / "x").exists()
