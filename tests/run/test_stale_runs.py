"""``--only`` into an existing run folder: what was built on changed inputs is marked stale,
and a stage whose inputs the folder lacks (or holds from a stale stage) is refused before
anything runs.

The runs here replace the notebooks by a stand-in that writes each stage's declared tables
(``execute_stage_notebook`` patched), so the runner's bookkeeping is tested in a second,
without a kernel.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from channelops.run import runner
from channelops.run.cli import main
from channelops.run.folder import RunFolderError, write_table
from channelops.run.params import RunParams
from channelops.run.registry import STAGES, select_stages, stage_by_key
from channelops.run.report import build_report
from channelops.run.staleness import (
    downstream_of,
    mark_stale,
    run_prerequisites,
    stale_reasons,
)


def _manifest(sequence: dict[str, int], status: dict[str, str] | None = None) -> dict:
    status = status or {}
    return {
        "stages": {
            s.key: {"name": s.name, "status": status.get(s.key, "ok"), "sequence": sequence[s.key]}
            for s in STAGES
            if s.key in sequence
        }
    }


FULL = {s.key: i + 1 for i, s in enumerate(STAGES)}  # a full run: 00 first, 07 last


# ---- which stages depend on which --------------------------------------------------------


def test_downstream_follows_the_tables_each_stage_reads():
    assert downstream_of(["04"]) == ["06"]  # only 06 reads 04's forecasts and policies
    assert downstream_of(["03"]) == ["05", "06", "07"]
    assert downstream_of(["01"]) == ["02", "06", "07"]
    assert downstream_of(["00"]) == ["01", "02", "03", "04", "05", "06", "07"]
    assert downstream_of(["07"]) == []


def test_a_stage_rerun_after_its_readers_makes_them_stale():
    m = _manifest({**FULL, "04": 9})  # --only 04 after a full run
    assert list(stale_reasons(m)) == ["06"]
    assert mark_stale(m) == ["06"] and m["stale_stages"] == ["06"]
    entry = m["stages"]["06"]
    assert entry["status"] == "stale"
    assert (
        "stage 04 (forecasting), whose tables it reads, ran again after it"
        in entry["stale_because"]
    )
    assert "--only 06" in entry["stale_because"]
    assert {k for k, e in m["stages"].items() if e["status"] == "ok"} == set(FULL) - {"06"}
    # re-running 06 afterwards makes it current again
    m["stages"]["06"].update(status="ok", sequence=10)
    assert mark_stale(m) == [] and "stale_stages" not in m
    assert "stale_because" not in m["stages"]["06"]


def test_staleness_passes_through_a_stale_stage_and_a_failed_one():
    m = _manifest({**FULL, "00": 9})  # --only 00: everything after it is stale
    assert mark_stale(m) == ["01", "02", "03", "04", "05", "06", "07"]
    assert (
        "stage 03 (integration), whose tables it reads, is stale"
        in m["stages"]["05"]["stale_because"]
    )
    failed = _manifest(FULL, {"03": "failed"})  # 03 failed in a later --only run
    assert mark_stale(failed) == ["05", "06", "07"]
    assert "is failed" in failed["stages"]["05"]["stale_because"]


def test_a_manifest_from_before_the_sequence_counts_every_stage_as_equal():
    legacy = _manifest(dict.fromkeys(FULL, 0))
    assert mark_stale(legacy) == []
    legacy["stages"]["04"]["sequence"] = 1  # the first --only run with this version
    assert mark_stale(legacy) == ["06"]


# ---- what a run needs before it starts ---------------------------------------------------


def test_only_06_on_an_empty_folder_names_the_stages_to_run_first():
    needs = run_prerequisites(select_stages("06"), {}, lambda t: False)
    assert needs.missing == {"06": ["order_lines", "orders", "products", "channels"]}
    assert needs.first == ["00", "03"]  # 03 writes them, and 03 needs 00's intake
    text = needs.problem(["06"], "/tmp/x", force=False)
    assert text.startswith("nothing was run: stage 06 needs order_lines, orders, products,")
    assert "channelops run --only 00,03,06 --output /tmp/x" in text


def test_optional_inputs_are_not_required_but_stale_ones_are_refused_without_force():
    present = {"order_lines", "orders", "products", "channels", "inventory_policy"}
    m = _manifest({**FULL, "04": 9}, {"04": "stale"})
    needs = run_prerequisites(select_stages("06"), m, present.__contains__)
    assert needs.missing == {} and needs.stale == {"06": ["04"]}
    text = needs.problem(["06"], "out", force=False)
    assert "stage 06 would read tables of stale stage(s) 04" in text
    assert "--only 04,06 --output out" in text and "--force" in text
    assert needs.problem(["06"], "out", force=True) is None
    # a required input from a failed stage is as good as missing
    failed = _manifest(FULL, {"03": "failed"})
    needs = run_prerequisites(select_stages("05"), failed, lambda t: True)
    assert needs.missing == {"05": ["orders", "order_lines"]} and needs.first == ["03"]


# ---- through the runner ------------------------------------------------------------------


@pytest.fixture
def fake_stages(monkeypatch):
    """Stages that write one row into each declared table, recording what they were given."""
    given: list[tuple[str, dict]] = []

    def execute(source, target, values, kernel, cwd, stage_key, kernels, bar):
        given.append((stage_key, dict(values)))
        for table in stage_by_key(stage_key).outputs:
            x = {"00": values["seed"], "04": values.get("horizon_days", 0)}.get(stage_key, 1)
            write_table(pd.DataFrame({"x": [x]}), table, values["output_dir"])
        return None

    monkeypatch.setattr(runner, "execute_stage_notebook", execute)
    return given


def _run(out: Path, only: str | None, horizon: int, force: bool = False, seed: int = 1) -> dict:
    params = RunParams(
        run_name="t", dataset=out.parent, seed=seed, notebook_params={"horizon_days": horizon}
    )
    declared = {s.notebook: {"dataset", "output_dir", "seed", "horizon_days"} for s in STAGES}
    return runner.run_stages(params, select_stages(only), out, declared=declared, report=False,
                             progress=False, echo=lambda *_: None, force=force)  # fmt: skip


def test_only_04_with_a_new_parameter_marks_06_stale_in_manifest_and_report(tmp_path, fake_stages):
    out = tmp_path / "run"
    _run(out, None, 28)
    m = _run(out, "04", 14)
    assert m["status"] == "ok" and m["stale_stages"] == ["06"]
    assert m["stages"]["04"]["parameters"]["horizon_days"] == 14
    assert m["stages"]["06"]["parameters"]["horizon_days"] == 28  # what 06 was built on
    assert m["stages"]["06"]["status"] == "stale"
    assert json.loads((out / "manifest.json").read_text())["stages"]["06"]["status"] == "stale"
    (out / "summary.html").write_text("<h2>Executive summary</h2><p>old figures</p>")
    page = build_report(out, m).read_text(encoding="utf-8")
    note = "Stage 06 (evaluation) is out of date: stage 04 (forecasting), whose tables"
    assert page.count(note) == 2  # on top of the page and above the executive summary
    assert '<b class="status-stale">stale: stage(s) 06</b>' in page  # in the header
    # re-running 06 makes the folder current
    m = _run(out, "06", 14)
    assert "stale_stages" not in m and m["stages"]["06"]["status"] == "ok"


def test_a_rerun_that_writes_the_same_tables_leaves_its_readers_current(tmp_path, fake_stages):
    out = tmp_path / "run"
    _run(out, None, 28)
    before = json.loads((out / "manifest.json").read_text())["stages"]["04"]["sequence"]
    m = _run(out, "04", 28)  # same parameters, same tables (same content hashes)
    assert m["stages"]["04"]["sequence"] == before
    assert "stale_stages" not in m and m["stages"]["06"]["status"] == "ok"


def test_only_06_on_an_empty_folder_is_refused_before_any_stage(tmp_path, fake_stages):
    out = tmp_path / "empty"
    with pytest.raises(RunFolderError, match=r"--only 00,03,06 --output"):
        _run(out, "06", 28)
    assert fake_stages == [] and not (out / "manifest.json").exists()


def test_reading_a_stale_stage_needs_force(tmp_path, fake_stages):
    out = tmp_path / "run"
    _run(out, None, 28)
    _run(out, "00", 28, seed=2)  # new intake tables: everything after 00 is stale now
    with pytest.raises(RunFolderError, match=r"stale stage\(s\) 03.*--force"):
        _run(out, "05", 28)
    m = _run(out, "05", 28, force=True)
    assert m["stages"]["05"]["status"] == "stale"  # built on a stale 03, so stale itself


def test_the_command_line_says_it_in_one_message(tmp_path, capsys):
    root = Path(__file__).resolve().parents[2]
    code = main(["run", "--params", str(root / "parameters" / "ci.yaml"), "--only", "06",
                 "--output", str(tmp_path / "empty"), "--no-progress"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert "stage 06 needs order_lines" in err and "--only 00,03,06" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "empty").exists(), "nothing is created before the refusal"
