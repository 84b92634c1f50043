"""The ``engine`` parameter of a run: refused values with a message before the run, no pyspark
on the local path. channelops.engine itself: tests/shared/test_shared_engine.py."""

import subprocess
import sys

import pytest

from channelops.engine import is_spark
from channelops.run.params import ParameterError, ParamSpec, validate_params


def _specs():
    return {
        "dataset": ParamSpec("dataset", "str", "'../data/demo'", "", ("01.ipynb",)),
        "engine": ParamSpec("engine", "str", "'local'", "", ("01.ipynb", "04.ipynb")),
    }


@pytest.fixture
def dataset_dir(tmp_path):
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "dataset.yaml").write_text("name: x\n")
    return tmp_path / "ds"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("lokal", "is not 'local', 'spark' or a Spark master URL"),
        ("local[two]", "is not 'local', 'spark' or a Spark master URL"),
        ("spark://", "is not 'local', 'spark' or a Spark master URL"),
        ("sc://host:15002", "Spark Connect is not supported"),
    ],
)
def test_wrong_engines_are_refused_with_what_to_give(dataset_dir, value, expected):
    with pytest.raises(
        ParameterError, match=r"parameter 'engine': engine .*" + expected.replace("[", r"\[")
    ):
        validate_params({"dataset": str(dataset_dir), "engine": value}, _specs())


def test_engine_must_be_text(dataset_dir):
    with pytest.raises(ParameterError, match=r"parameter 'engine' must be str"):
        validate_params({"dataset": str(dataset_dir), "engine": 2}, _specs())


def test_missing_java_is_reported_before_the_run(dataset_dir, monkeypatch):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ParameterError, match=r"needs Java 17 or later"):
        validate_params({"dataset": str(dataset_dir), "engine": "local[2]"}, _specs())


def test_local_is_the_default_and_never_imports_pyspark():
    assert not is_spark("local") and not is_spark("") and is_spark("local[2]")
    code = (
        "import sys; import pandas as pd; from channelops.stages import segmentation as seg;"
        "lines = pd.DataFrame({'buyer_ref': ['a', 'a'], 'order_id': ['1', '2'],"
        " 'channel_id': ['web', 'web'], 'order_ts_local': pd.to_datetime(['2024-01-01',"
        " '2024-01-05']), 'revenue_base': [10.0, 5.0], 'status': ['paid', 'paid']});"
        "o = seg.customer_orders(lines); seg.customer_features(o, '2024-01-10');"
        "assert 'pyspark' not in sys.modules, 'pyspark imported on the local path'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
