"""CSV cells a spreadsheet would run as a formula get a leading apostrophe (OWASP)."""

import pandas as pd
import pytest

from channelops.run.csv_safe import neutralise_cell, neutralise_formulas


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+33 1 23", "'+33 1 23"),
        ("-x", "'-x"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a=b", "a=b"),
        ("", ""),
        (-3.5, -3.5),
        (None, None),
    ],
)
def test_cell(value, written):
    assert neutralise_cell(value) == written


def test_frame_text_cells_names_and_index_numbers_untouched(tmp_path):
    df = pd.DataFrame(
        {
            "name": ["=cmd", "plain", None],
            "arrow": pd.array(["-1", "ok", None], dtype="string[pyarrow]"),
            "cat": pd.Categorical(["@a", "b", "@a"]),
            "value": [-1.5, 2.0, 3.0],
            "-label": [1, 2, 3],
        },
        index=pd.Index(["+i", "j", "k"], name="key"),
    )
    out = neutralise_formulas(df)
    assert out["name"].tolist() == ["'=cmd", "plain", None]
    assert out["arrow"].tolist()[:2] == ["'-1", "ok"] and pd.isna(out["arrow"].iloc[2])
    assert out["cat"].tolist() == ["'@a", "b", "'@a"]
    assert out["value"].tolist() == [-1.5, 2.0, 3.0] and out["value"].dtype == "float64"
    assert list(out.columns) == ["name", "arrow", "cat", "value", "'-label"]
    assert out.index.tolist() == ["'+i", "j", "k"]
    assert df["name"].iloc[0] == "=cmd", "the input is not changed"
    out.to_csv(tmp_path / "t.csv")
    assert pd.read_csv(tmp_path / "t.csv")["value"].tolist() == [-1.5, 2.0, 3.0]


def test_frame_only():
    with pytest.raises(TypeError, match="DataFrame"):
        neutralise_formulas(["=1"])
