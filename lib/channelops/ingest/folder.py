"""The loaded dataset folder: :class:`Dataset`, its channels and its optional tables."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from channelops.ingest.contract import ChannelSpec
from channelops.ingest.tables import TABLES, _check_table_name, _read_table

__all__ = ["Dataset"]


class Dataset:
    """A loaded dataset folder. Build it with
    :func:`channelops.ingest.dataset.load_dataset`.

    Attributes:
        root: absolute dataset folder.
        name, base_currency, timezone: from dataset.yaml (timezone = reporting timezone).
        channels: the channels of dataset.yaml, in file order.
        plausible_dates: ``(from, to)`` of dataset.yaml's ``plausible_dates`` (order dates
            in the reporting timezone outside them are ``implausible_timestamp``), or None:
            then each export's window is derived from its own median order date.
        allow_outside_paths: dataset.yaml's ``allow_outside_paths`` (default False): input
            files may lie outside the dataset folder.
        warnings: what :func:`~channelops.ingest.dataset.load_dataset` found worth a look
            without stopping (e.g. exports in orders/ that dataset.yaml does not list).
    """

    def __init__(
        self,
        root: Path,
        name: str,
        base_currency: str,
        timezone: str,
        channels: list[ChannelSpec],
        *,
        plausible_dates: tuple[dt.date, dt.date] | None = None,
        allow_outside_paths: bool = False,
    ) -> None:
        self.root = root
        self.name = name
        self.base_currency = base_currency
        self.timezone = timezone
        self.channels = channels
        self.plausible_dates = plausible_dates
        self.allow_outside_paths = allow_outside_paths
        self.warnings: list[str] = []
        self._tables: dict[str, pd.DataFrame | None] = {}

    def __repr__(self) -> str:
        ids = ", ".join(c.id for c in self.channels)
        return f"Dataset({self.name!r}, root={str(self.root)!r}, channels=[{ids}])"

    @property
    def crm_channel_ids(self) -> list[str]:
        """Ids of the channels whose buyer_ref is a CRM customer_id (``crm_ids``)."""
        return [c.id for c in self.channels if c.crm_ids]

    def channel(self, channel_id: str) -> ChannelSpec:
        """The ChannelSpec of ``channel_id``; ValueError listing the ids when unknown."""
        for c in self.channels:
            if c.id == channel_id:
                return c
        ids = ", ".join(c.id for c in self.channels)
        raise ValueError(f"unknown channel {channel_id!r}; dataset.yaml has: {ids}")

    def has(self, name: str) -> bool:
        """True when the optional table ``name`` (e.g. "fx_rates") exists as ``<name>.csv``."""
        _check_table_name(name)
        return (self.root / f"{name}.csv").is_file()

    def table(
        self, name: str, columns: Sequence[str] | None = None, *, cache: bool = True
    ) -> pd.DataFrame | None:
        """The optional table ``name`` read from ``<name>.csv``, or None when absent.

        Required columns are checked and typed (text -> string, numbers -> float64/Int64,
        dates -> datetime64[ns] naive, timestamps -> datetime64[ns, UTC] with naive values
        taken in the dataset timezone); other columns are kept as text. Unique keys are
        checked. Any problem raises DatasetError naming the file, line and column. The
        whole table is cached; a copy is returned.

        ``columns`` (declared columns of the table, e.g. shipments.csv's cost columns of a
        file of millions of rows) reads only those, in that order: the same values and types
        as ``table(name)[columns]``, checked the same way, nothing cached (a table already
        cached whole is cut from the cache). The file's required columns must still exist;
        a column the table does not declare is a ValueError.

        ``cache=False`` reads the whole table without keeping it (a big table a stage reads
        once, e.g. shipments.csv in 05: the cache would hold a second copy for nothing);
        one already cached is copied from the cache.
        """
        _check_table_name(name)
        if columns is None and not cache and name not in self._tables:
            return _read_table(self.root, name, self.timezone) if self.has(name) else None
        if columns is not None:
            columns = list(columns)
            if not self.has(name):
                return None
            cached = self._tables.get(name)
            if cached is not None:
                unknown = [c for c in columns if c not in cached.columns]
                if not unknown:
                    return cached[columns].copy()
            return _read_table(self.root, name, self.timezone, columns)
        if name not in self._tables:
            self._tables[name] = (
                _read_table(self.root, name, self.timezone) if self.has(name) else None
            )
        df = self._tables[name]
        return None if df is None else df.copy()

    def input_files(self) -> list[Path]:
        """Absolute paths of every input file (dataset.yaml, mappings, exports, present
        optional tables), sorted, for hashing into a run manifest."""
        files = {self.root / "dataset.yaml"}
        for c in self.channels:
            files.add(c.orders)
            files.add(self.root / c.mapping.file)
        files.update(self.root / f"{t}.csv" for t in TABLES if self.has(t))
        return sorted(files)
