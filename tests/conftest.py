"""Shared fixtures: one tiny simulated dataset and one tiny full run per test session."""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
ROOT = Path(__file__).resolve().parents[1]


def _built_once(tmp_path_factory, name: str, build) -> Path:
    """``build(folder)`` once per test session, even across pytest-xdist workers.

    Without workers the folder is this session's own. Under pytest-xdist (make test) the
    workers share one: the first to need it builds it under a file lock in the session's
    common temporary folder, the others wait and read it. Tests never change these folders
    (they copy what they change).
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is None:
        folder = tmp_path_factory.mktemp(name) / "out"
        build(folder)
        return folder
    shared = tmp_path_factory.getbasetemp().parent / f"shared_{name}"
    shared.mkdir(exist_ok=True)
    folder, done = shared / "out", shared / "done"
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not done.exists():
                shutil.rmtree(folder, ignore_errors=True)  # what a failed attempt left
                build(folder)
                done.touch()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return folder


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    """The tiny multi-category dataset (seed 7), generated once per session."""
    from channelops.synth import generate_dataset

    return _built_once(
        tmp_path_factory,
        "tiny",
        lambda out: generate_dataset(out, scenario="multi_category", size="tiny", seed=7),
    )


def _tiny_run_into(tiny_dataset: Path, out: Path) -> None:
    """Run every stage on the tiny dataset into ``out``; assert it ended ok."""
    from channelops.run.cli import main

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


@pytest.fixture(scope="session")
def tiny_run(tiny_dataset, tmp_path_factory) -> Path:
    """A full run of every stage on the tiny dataset (built once, shared by the workers);
    returns the run folder."""
    return _built_once(tmp_path_factory, "run", lambda out: _tiny_run_into(tiny_dataset, out))


def _java_available() -> bool:
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
