"""channelops.engine on the local path: engine values, DuckDB connections with limits.

The Spark session itself is tested in tests/test_engine_spark.py (slow: it starts a JVM).
"""

import importlib.util
import os

import duckdb
import pandas as pd
import pytest

from channelops import engine
from channelops.engine import (
    check_engine,
    duckdb_connection,
    engine_problem,
    is_spark,
    spark_session,
    to_spark,
)


@pytest.mark.parametrize(
    "value",
    [
        "local",
        "spark",
        "local[1]",
        "local[2]",
        "local[*]",
        "local[4,2]",
        "spark://host:7077",
        "spark://a.example:7077,b.example:7077",
        "yarn",
        "k8s://https://k8s.example:443",
    ],
)
def test_master_urls_are_accepted(value):
    assert engine_problem(value, need_runtime=False) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (2, "engine must be text, got 2 (int)"),
        ("lokal", "engine 'lokal' is not 'local', 'spark' or a Spark master URL"),
        ("local[two]", "is not 'local', 'spark' or a Spark master URL"),
        ("sc://host:15002", "Spark Connect is not supported"),
    ],
)
def test_engine_problem_says_what_is_wrong(value, expected):
    assert expected in engine_problem(value, need_runtime=False)


def test_local_needs_no_runtime_and_spark_needs_pyspark_and_java(monkeypatch):
    assert engine_problem("local") is None
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert "needs pyspark, which is not installed" in engine_problem("local[2]")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: object())  # pyspark "there"
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    assert "needs Java 17 or later" in engine_problem("local[2]")
    monkeypatch.setenv("JAVA_HOME", "/opt/java")
    assert engine_problem("local[2]") is None


def test_check_engine_returns_a_good_value_and_raises_on_a_bad_one():
    assert check_engine("local") == "local"
    with pytest.raises(ValueError, match="engine 'lokal' is not 'local'"):
        check_engine("lokal")


def test_is_spark_is_anything_but_local_or_empty():
    assert not is_spark("local") and not is_spark("") and not is_spark(None)
    assert is_spark("spark") and is_spark("local[2]")


def test_the_local_engine_has_no_spark_session():
    with pytest.raises(ValueError, match="engine 'local' has no Spark session"):
        spark_session("local")
    assert engine._sessions == {}


def test_to_spark_leaves_what_is_not_a_pandas_frame_alone():
    already = object()
    assert to_spark(already, spark=None) is already


def test_duckdb_connection_has_the_limits_asked_for_and_spills_to_its_own_folder():
    con = duckdb_connection(threads=1, memory_limit="1GB")
    try:
        threads, memory, spill = con.execute(
            "SELECT current_setting('threads'), current_setting('memory_limit'), "
            "current_setting('temp_directory')"
        ).fetchall()[0]
        assert threads == 1
        assert memory == "953.6 MiB"  # DuckDB reports 1 GB (10^9 bytes) in binary units
        assert os.path.basename(spill) == f"channelops-duckdb-{os.getpid()}"
        frame = pd.DataFrame({"x": [1, 2, 3]})  # noqa: F841 - read by name below
        assert con.execute("SELECT sum(x) FROM frame").fetchall() == [(6,)]
    finally:
        con.close()
    with pytest.raises(duckdb.Error, match="Memory must have a number"):
        duckdb_connection(memory_limit="lots")
