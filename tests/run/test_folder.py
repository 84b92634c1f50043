"""Run-folder I/O: atomic writes, clear errors, and refusal of unfinished stages' tables."""

import json

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from channelops.run import folder as runio
from channelops.run.folder import RunFolderError, read_table, write_table


def test_write_then_read_round_trip(tmp_path):
    df = pd.DataFrame({"customer_id": ["a", "b", "c"], "value": [1.5, 2.0, 0.0]})
    path = write_table(df, "segments", tmp_path)
    assert path == tmp_path / "tables" / "segments.parquet"
    back = read_table("segments", tmp_path)
    # strings come back as Arrow-backed pandas strings, numbers numpy-backed as written
    assert back["customer_id"].dtype == pd.StringDtype("pyarrow")
    assert back["value"].dtype == "float64"
    pd.testing.assert_frame_equal(back, df.astype({"customer_id": pd.StringDtype("pyarrow")}))
    assert not list((tmp_path / "tables").glob(".*tmp")), "no temporary file is left behind"


def test_read_keeps_numbers_dates_categories_and_missing_values(tmp_path):
    df = pd.DataFrame(
        {
            "s": ["x", None, "z"],
            "f": [1.0, None, 3.0],
            "i": [1, 2, 3],
            "b": [True, False, True],
            "t": pd.to_datetime(["2024-01-01", None, "2024-03-01"]).tz_localize("UTC"),
            "c": pd.Categorical(["p", "q", "p"]),
        }
    )
    write_table(df, "t", tmp_path)
    back = read_table("t", tmp_path)
    assert dict(back.dtypes.astype(str)) == {
        "s": "string",
        "f": "float64",
        "i": "int64",
        "b": "bool",
        "t": "datetime64[ns, UTC]",
        "c": "category",
    }
    assert back["s"].isna().tolist() == [False, True, False]
    assert back["s"].tolist()[::2] == ["x", "z"]
    assert list(read_table("t", tmp_path, columns=["f", "s"]).columns) == ["f", "s"]


def test_named_index_is_kept(tmp_path):
    df = pd.DataFrame({"x": [1, 2]}, index=pd.Index(["a", "b"], name="customer_id"))
    write_table(df, "t", tmp_path)
    assert read_table("t", tmp_path).index.name == "customer_id"


def test_missing_table_names_the_producing_stage(tmp_path):
    with pytest.raises(RunFolderError, match=r"written by stage 04 \(forecasting\).*--only 04"):
        read_table("forecasts", tmp_path)


@pytest.mark.parametrize("bad", ["../escape", "Segments", "1abc", "a-b", ""])
def test_bad_table_names_are_refused(tmp_path, bad):
    with pytest.raises(RunFolderError, match="not allowed"):
        write_table(pd.DataFrame({"x": [1]}), bad, tmp_path)


@pytest.mark.parametrize("status", ["failed", "interrupted", "running"])
def test_table_of_unfinished_stage_is_refused(tmp_path, monkeypatch, status):
    write_table(pd.DataFrame({"x": [1]}), "segments", tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"stages": {"01": {"status": status}}}))
    monkeypatch.setenv(runio.STAGE_ENV, "02")
    with pytest.raises(RunFolderError, match=f"marked '{status}'"):
        read_table("segments", tmp_path)


def test_stage_may_read_its_own_table_while_running(tmp_path, monkeypatch):
    write_table(pd.DataFrame({"x": [1]}), "segments", tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"stages": {"01": {"status": "running"}}}))
    monkeypatch.setenv(runio.STAGE_ENV, "01")
    assert len(read_table("segments", tmp_path)) == 1


def test_save_figure_writes_png(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    path = runio.save_figure(fig, "line", tmp_path)
    plt.close(fig)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
