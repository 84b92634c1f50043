"""The star schema as one DuckDB file, ``<run folder>/warehouse.duckdb``, built table by
table in a second thread while the notebook goes on.

:class:`Warehouse` opens the file under a temporary name and creates each table added
(:meth:`Warehouse.add`) in a background thread, one table at a time in the order they
were added; :meth:`Warehouse.close` waits for the last and renames the file into place,
so a reader never opens a half-built warehouse. DuckDB releases the GIL while it copies
a table, so the copy of the order lines runs beside the notebook's next cells (the
cross-channel views, the other tables' Parquet files) on the second core. The same
tables, from the same files, in the same order as :func:`write_warehouse` creates them.
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import duckdb
import pandas as pd

__all__ = ["Warehouse", "write_warehouse"]


class Warehouse:
    """``<output_dir>/warehouse.duckdb``, its tables created in a background thread.

    Args:
        output_dir: the run folder.
        background: False creates each table in :meth:`add` itself (no thread).

    A table is a DataFrame (held until it is copied: do not change it before
    :meth:`close`) or the path of a Parquet file, from which DuckDB reads the columns
    itself, without going through pandas.
    """

    def __init__(self, output_dir, background: bool = True) -> None:
        self.target = Path(output_dir) / "warehouse.duckdb"
        self._tmp = self.target.with_name(f".warehouse.{os.getpid()}.duckdb.tmp")
        self._tmp.unlink(missing_ok=True)
        # 1 GB: beside the notebook's own frames while it goes on (a higher limit held
        # more of the table being copied, no faster); DuckDB spills what does not fit
        self._con = duckdb.connect(str(self._tmp), config={"threads": 2, "memory_limit": "1GB"})
        self._pool = ThreadPoolExecutor(1, "warehouse") if background else None
        self._jobs: list[Future] = []
        self.names: list[str] = []

    def add(self, name: str, table) -> None:
        """Create table ``name`` from ``table`` (a DataFrame or a Parquet file's path),
        after the tables added before it."""
        if self._con is None:
            raise RuntimeError("the warehouse is closed")
        self.names.append(name)
        if self._pool is None:
            _create(self._con, name, table)
        else:
            self._jobs.append(self._pool.submit(_create, self._con, name, table))

    def close(self) -> str:
        """Wait for every table, close the file and move it into place; returns its
        path. An error of any table is raised here (the file is then removed)."""
        try:
            for job in self._jobs:
                job.result()
        except BaseException:
            self.abort()
            raise
        finally:
            self._jobs = []
        self._shutdown()
        os.replace(self._tmp, self.target)
        return str(self.target)

    def abort(self) -> None:
        """Stop after the table being copied and remove the unfinished file."""
        for job in self._jobs:
            job.cancel()
        self._shutdown()
        self._tmp.unlink(missing_ok=True)

    def _shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._con is not None:
            self._con.close()
            self._con = None


def write_warehouse(tables: dict, output_dir) -> str:
    """Write the star schema as one DuckDB file, ``<output_dir>/warehouse.duckdb``.

    Args:
        tables: table name -> a DataFrame, or the path of a Parquet file (as returned by
            :func:`channelops.run.folder.write_table`). From a Parquet file DuckDB reads the
            columns itself, without going through pandas (and its Python strings).
        output_dir: the run folder.

    The file is built under a temporary name and renamed into place, so a reader never
    opens a half-built warehouse (:class:`Warehouse`, in this thread).

    Returns:
        The path of the file.
    """
    warehouse = Warehouse(output_dir, background=False)
    try:
        for name, table in tables.items():
            warehouse.add(name, table)
    except BaseException:
        warehouse.abort()
        raise
    return warehouse.close()


def _create(con, name: str, table) -> None:
    """Table ``name`` from a DataFrame or a Parquet file, checkpointed: its data is
    compressed into the file now (in the background thread) rather than all tables'
    when the file is closed."""
    _copy(con, name, table)
    con.execute("CHECKPOINT")


def _copy(con, name: str, table) -> None:
    if isinstance(table, pd.DataFrame):
        con.register("frame_view", table)
        con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM frame_view')
        con.unregister("frame_view")
    else:
        con.execute(
            f'CREATE TABLE "{name}" AS SELECT {_warehouse_columns(con, table)} '
            "FROM read_parquet(?)",
            [str(table)],
        )


def _warehouse_columns(con, path) -> str:
    """SELECT list for a Parquet file in the warehouse: every column, with nanosecond UTC
    timestamps cast to ``TIMESTAMPTZ`` (microseconds), the type DuckDB gives the same
    columns from pandas frames, so the warehouse schema does not depend on the source."""
    described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
    cols = []
    for name, dtype, *_ in described:
        quoted = '"' + name.replace('"', '""') + '"'
        cols.append(f"CAST({quoted} AS TIMESTAMPTZ) AS {quoted}" if dtype == "TIMESTAMPTZ_NS"
                    else quoted)  # fmt: skip
    return ", ".join(cols)
