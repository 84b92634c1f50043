"""Shared fixtures: one tiny simulated dataset and one tiny full run per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    """The tiny multi-category dataset (seed 7), generated once per session."""
    from channelops.synth import generate_dataset

    out = tmp_path_factory.mktemp("tiny") / "data"
    generate_dataset(out, scenario="multi_category", size="tiny", seed=7)
    return out


@pytest.fixture(scope="session")
def tiny_run(tiny_dataset, tmp_path_factory) -> Path:
    """A full run of every stage on the tiny dataset; returns the run folder."""
    from channelops.run.cli import main

    out = tmp_path_factory.mktemp("run") / "ci"
    code = main(
        [
            "run",
            "--params",
            str(ROOT / "parameters" / "ci.yaml"),
            "--dataset",
            str(tiny_dataset),
            "--output",
            str(out),
            "--no-progress",
        ]
    )
    assert code == 0, f"the tiny run failed; see {out / 'manifest.json'}"
    return out


def _java_available() -> bool:
    import shutil

    return bool(os.environ.get("JAVA_HOME") or shutil.which("java"))


@pytest.fixture(scope="session")
def spark():
    """One ``local[2]`` SparkSession for every Spark test (the engine of the parity tests).

    Few shuffle partitions and no UI keep the tests fast; skipped only when Java is absent
    (pyspark itself is installed by ``make install``).
    """
    if not _java_available():
        pytest.skip("Spark tests need Java 17+ (no JAVA_HOME and no 'java' on PATH)")
    from channelops.engine import spark_session, stop_spark

    session = spark_session(
        "local[2]",
        {
            "spark.ui.enabled": "false",
            "spark.sql.shuffle.partitions": "4",
            "spark.default.parallelism": "4",
            "spark.driver.memory": "2g",
        },
    )
    yield session
    stop_spark()


def _shared_scope(item) -> str | None:
    """The module or class whose fixture ``item`` shares with its neighbours, if any."""
    info = getattr(item, "_fixtureinfo", None)
    for defs in info.name2fixturedefs.values() if info else ():
        scope = defs[-1].scope if defs else "function"
        if scope in ("module", "class", "package"):
            return item.nodeid.split("::")[0]
    return None


def pytest_collection_modifyitems(config, items) -> None:
    """Under ``pytest -n 2 --dist loadgroup`` (make test), the tests of the one tiny run and of
    the one SparkSession go to one worker, so each session fixture is built once; the tests
    of a module with a module-scoped fixture (a stage run on stripped data, say) stay
    together for the same reason; everything else is spread over the workers. (The notebooks
    under nbval run in a pytest of their own without workers: a worker may interleave other
    tests between a notebook's cells, and nbval then restarts the kernel.)"""
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "spark" in fixtures or "tiny_run" in fixtures:  # one Spark test reads the tiny run
            item.add_marker(pytest.mark.xdist_group("tiny_run"))
        elif (module := _shared_scope(item)) is not None:
            item.add_marker(pytest.mark.xdist_group(module))
