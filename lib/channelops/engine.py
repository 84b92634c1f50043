"""Where the heavy stages run: in this Python process (``local``) or on Apache Spark.

The ``engine`` parameter of stages 01, 03 and 04 picks it:

* ``local`` (the default): pandas, numpy and DuckDB in this process; pyspark is never
  imported.
* ``spark``: the SparkSession that Spark's own configuration gives (``spark-submit``,
  ``$SPARK_CONF_DIR/spark-defaults.conf``, a Databricks or EMR notebook's session);
  ``local[*]`` when nothing is configured.
* a Spark master URL: ``local[N]`` (N worker threads on this machine), ``local[*]``,
  ``spark://host:7077`` (a standalone cluster), ``yarn``, ``k8s://https://host:443``.

:func:`spark_session` builds the session once per process and reuses it: the splink
similarity jar is put on ``spark.jars`` (splink's Jaro-Winkler and Levenshtein functions
live in it), the SQL session time zone is UTC (naive pandas timestamps then round-trip
unchanged), and Arrow moves frames between pandas and Spark.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import re
import shutil
import sys
import tempfile
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

__all__ = [
    "LOCAL",
    "SPARK_MASTER_PATTERN",
    "engine_problem",
    "check_engine",
    "is_spark",
    "spark_session",
    "stop_spark",
    "to_spark",
    "duckdb_connection",
    "duckdb_memory_limit",
    "DUCKDB_MEMORY_ENV",
    "release_unused_memory",
]

LOCAL = "local"
#: Values of ``engine`` besides ``local``: ``spark`` or a Spark master URL.
SPARK_MASTER_PATTERN = re.compile(
    r"^(?:spark"
    r"|local\[(?:\d+|\*)(?:,\d+)?\]"
    r"|local-cluster\[\d+,\d+,\d+\]"
    r"|spark://[A-Za-z0-9.\-]+(?::\d+)?(?:,[A-Za-z0-9.\-]+(?::\d+)?)*"
    r"|yarn"
    r"|k8s://\S+"
    r"|mesos://\S+)$"
)
_sessions: dict[str, Any] = {}


def engine_problem(engine: Any, *, need_runtime: bool = True) -> str | None:
    """What is wrong with an ``engine`` value, or ``None`` when it can run.

    Args:
        engine: the parameter's value.
        need_runtime: also check that pyspark is installed and Java can be found (the
            Spark driver is a JVM on this machine, whatever the master).
    """
    if not isinstance(engine, str):
        return f"engine must be text, got {engine!r} ({type(engine).__name__})"
    if engine == LOCAL:
        return None
    if engine.startswith("sc://"):
        return (
            f"engine {engine!r}: Spark Connect is not supported (splink registers Java "
            "functions, which a Connect client cannot); give the cluster's master URL, "
            "e.g. spark://host:7077"
        )
    if not SPARK_MASTER_PATTERN.match(engine):
        return (
            f"engine {engine!r} is not 'local', 'spark' or a Spark master URL "
            "(local[N], local[*], spark://host:7077, yarn, k8s://https://host:443)"
        )
    if not need_runtime:
        return None
    if importlib.util.find_spec("pyspark") is None:
        return (
            f"engine {engine!r} needs pyspark, which is not installed: "
            "pip install 'channelops[spark]' (make install does)"
        )
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        return (
            f"engine {engine!r} needs Java 17 or later for the Spark driver, and neither "
            "JAVA_HOME nor a 'java' on PATH was found"
        )
    return None


def check_engine(engine: Any) -> str:
    """Return ``engine`` when it can run.

    Raises:
        ValueError: with :func:`engine_problem`'s message.
    """
    problem = engine_problem(engine)
    if problem:
        raise ValueError(problem)
    return engine


def is_spark(engine: str | None) -> bool:
    """True when ``engine`` asks for Spark (anything but ``local``/empty)."""
    return bool(engine) and engine != LOCAL


def spark_session(engine: str = "spark", conf: dict[str, str] | None = None):
    """The SparkSession for ``engine``, built on first use and reused afterwards.

    Args:
        engine: ``spark`` (Spark's own configuration decides the master) or a master URL.
        conf: extra Spark settings for a session built here (ignored when one is reused).

    Returns:
        ``pyspark.sql.SparkSession``.
    """
    check_engine(engine)
    if not is_spark(engine):
        raise ValueError("engine 'local' has no Spark session")
    cached = _sessions.get(engine)
    if cached is not None and not _stopped(cached):
        return cached
    from pyspark.sql import SparkSession  # lazy: pyspark, Spark engine only

    builder = SparkSession.builder.appName("channelops")
    if engine != "spark":
        builder = builder.master(engine)
    settings = {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.execution.arrow.pyspark.fallback.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.jars": _splink_jar(),
    }
    if engine.startswith("local"):
        # Spark's 200 shuffle partitions are made for clusters: on N local threads each
        # shuffle would run 200 tiny tasks; 4 per thread keeps every thread busy
        threads = re.match(r"local\[(\d+|\*)", engine)
        n = os.cpu_count() or 1
        if threads and threads.group(1) != "*":
            n = int(threads.group(1))
        settings["spark.sql.shuffle.partitions"] = str(4 * n)
        # a local driver runs the executors too; Spark's 1 GB default is too small for the demo
        settings["spark.driver.memory"] = os.environ.get("CHANNELOPS_SPARK_DRIVER_MEMORY", "4g")
        # Python workers of a local master: this interpreter (it has channelops and pandas);
        # a cluster's executors need an environment with channelops installed, see
        # docs/scaling.md
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    settings.update(conf or {})
    for key, value in settings.items():
        if value:
            builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    _sessions[engine] = session
    return session


def stop_spark() -> None:
    """Stop every session this module built."""
    for session in _sessions.values():
        try:
            session.stop()
        except Exception:  # noqa: BLE001 - stopping a dead session is not an error
            pass
    _sessions.clear()


def to_spark(frame, spark):
    """A Spark DataFrame of ``frame`` (a pandas frame is converted through Arrow).

    pandas ``string``/``category`` columns become plain text first, since Arrow's
    large_string and dictionary types are not all accepted by Spark.
    """
    if not isinstance(frame, pd.DataFrame):
        return frame
    plain = frame.copy()
    for name in plain.columns:
        dtype = plain[name].dtype
        if isinstance(dtype, pd.StringDtype | pd.CategoricalDtype):
            plain[name] = plain[name].astype(object).where(plain[name].notna(), None)
        elif isinstance(dtype, pd.DatetimeTZDtype):
            plain[name] = plain[name].dt.tz_convert("UTC").dt.tz_localize(None)
    return spark.createDataFrame(plain)


def _stopped(session) -> bool:
    try:
        return session.sparkContext._jsc is None
    except Exception:  # noqa: BLE001
        return True


def _splink_jar() -> str:
    """Path of splink's Spark similarity-function jar ('' when splink is absent)."""
    try:
        from splink.backends.spark import similarity_jar_location  # lazy: imports pyspark

        return similarity_jar_location()
    except Exception:  # noqa: BLE001 - splink without its Spark part: no identity on Spark
        return ""


#: Environment variable with the memory DuckDB may use in a stage (e.g. ``3GB``); the runner
#: sets it from ``--memory-limit`` (:func:`channelops.run.schedule.duckdb_memory_share`).
DUCKDB_MEMORY_ENV = "CHANNELOPS_DUCKDB_MEMORY_LIMIT"
#: DuckDB's memory limit when neither the caller nor the runner gives one.
DUCKDB_DEFAULT_MEMORY = "4GB"


def duckdb_memory_limit(default: str = DUCKDB_DEFAULT_MEMORY) -> str:
    """The memory limit for a DuckDB connection of this process: the runner's
    (:data:`DUCKDB_MEMORY_ENV`, set from the run's ``--memory-limit``) or ``default``."""
    return os.environ.get(DUCKDB_MEMORY_ENV) or default


def duckdb_connection(threads: int = 2, memory_limit: str | None = None):
    """An in-memory DuckDB connection with explicit limits (it would otherwise take every
    core and 80% of the machine's memory, beside the notebook's own frames). Above the
    limit DuckDB spills to a folder of this process under the system's temp directory.

    Args:
        threads: worker threads.
        memory_limit: e.g. ``"3GB"``; None: :func:`duckdb_memory_limit` (the run's share
            when the runner has a memory limit, else 4 GB).
    """
    spill = os.path.join(tempfile.gettempdir(), f"channelops-duckdb-{os.getpid()}")
    return duckdb.connect(
        config={
            "threads": threads,
            "memory_limit": memory_limit or duckdb_memory_limit(),
            "temp_directory": spill,
        }
    )


def release_unused_memory() -> None:
    """Give the memory that freed frames left behind back to the operating system.

    Arrow's memory pool and the C heap keep freed blocks for reuse, so a process's resident
    memory stays at its high-water mark after a large intermediate is gone, and the next
    library (DuckDB, with its own allocator) adds to it. This returns Arrow's unused blocks
    (``MemoryPool.release_unused``) and, on glibc, trims the C heap (``malloc_trim``).
    Nothing still referenced is touched; elsewhere it does nothing.
    """
    pa.default_memory_pool().release_unused()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, Windows, musl)
        pass
