"""Read a channelops dataset: ``dataset.yaml``, the mappings, the optional tables and the exports.

A dataset is a folder with a ``dataset.yaml`` (see ``docs/design-notes.md`` and the data
contract in DESIGN.md). This module

* parses and validates ``dataset.yaml`` and every mapping up front (:func:`load_dataset`),
  including each export's header against its mapping;
* reads the optional reference tables with their required columns and types
  (:meth:`Dataset.table`);
* turns one channel export into canonical order lines plus a quarantine of row-level
  problems (:func:`read_export`, :func:`read_all_exports`).

File-level problems raise :class:`DatasetError` with a message that names the file (path
relative to the dataset folder), the line and column where known, what was expected, what
was found and how to fix it. Row-level problems never raise: each bad row goes to the
quarantine exactly once, with the first problem found, and ``rows_read == len(lines) +
len(quarantine)`` is asserted for every export.

Row numbers follow the design notes: the header is line 1, the first data row is line 2.
A "row" is a CSV record; it equals the text line number unless a quoted field contains a
line break.

Row validation is vectorised: exports are read as text with pyarrow's CSV reader (only the
mapped columns are materialised, as Arrow-backed strings) and parsed with
``pandas.to_datetime`` / ``pandas.to_numeric`` and boolean masks, so 10 million lines are
handled without a Python loop over rows.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import re
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import yaml

__all__ = [
    "CANONICAL_FIELDS",
    "LINE_COLUMNS",
    "QUARANTINE_COLUMNS",
    "REASONS",
    "REQUIRED_FIELDS",
    "STATUSES",
    "TABLES",
    "ChannelSpec",
    "Dataset",
    "DatasetError",
    "ExportResult",
    "Mapping",
    "ReadDialect",
    "load_dataset",
    "read_all_exports",
    "read_export",
]

# --------------------------------------------------------------------------------------
# The contract
# --------------------------------------------------------------------------------------

#: Canonical order-line fields a mapping may map to (``channel_id`` comes from dataset.yaml).
CANONICAL_FIELDS: tuple[str, ...] = (
    "order_id", "line_no", "order_ts", "buyer_ref", "buyer_name", "buyer_email",
    "buyer_phone", "ship_address", "postcode", "city", "channel_sku", "quantity",
    "unit_price", "discount", "currency", "status",
)
REQUIRED_FIELDS: tuple[str, ...] = (
    "order_id", "order_ts", "buyer_ref", "channel_sku", "quantity", "unit_price",
)
PII_FIELDS: tuple[str, ...] = (
    "buyer_name", "buyer_email", "buyer_phone", "ship_address", "postcode", "city",
)
STATUSES: tuple[str, ...] = ("placed", "paid", "shipped", "delivered", "cancelled", "returned")
NUMERIC_FIELDS: tuple[str, ...] = ("line_no", "quantity", "unit_price", "discount")

#: Columns of ``ExportResult.lines``, in order (dtypes in docs/design-notes.md).
LINE_COLUMNS: tuple[str, ...] = (
    "source_file", "row", "channel_id", "order_id", "line_no", "order_ts", "buyer_ref",
    *PII_FIELDS, "channel_sku", "quantity", "unit_price", "discount", "currency", "status",
)
QUARANTINE_COLUMNS: tuple[str, ...] = (
    "source_file", "row", "channel_id", "column", "value", "reason", "message",
)
REASONS: tuple[str, ...] = (
    "missing_value", "bad_timestamp", "bad_number", "nonpositive_quantity", "negative_price",
    "negative_discount", "unknown_status", "unknown_sku", "unknown_currency",
    "missing_fx_rate", "ragged_row",
)
SPECIAL_TS_FORMATS: tuple[str, ...] = ("iso8601", "unix_s", "unix_ms")
MAPPING_KEYS: tuple[str, ...] = ("columns", "timestamp", "currency", "values", "read")
DATASET_KEYS: tuple[str, ...] = ("name", "base_currency", "timezone", "channels")
CHANNEL_KEYS: tuple[str, ...] = ("id", "orders", "mapping", "crm_ids")
READ_KEYS: tuple[str, ...] = ("sep", "encoding", "decimal", "thousands")
CHANNEL_KINDS: tuple[str, ...] = ("own_store", "marketplace", "social", "offline", "cross_border")

STRING = pd.StringDtype("pyarrow")
_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
# a time of day followed by a UTC designator or an offset: +08:00, +0800, +08, Z
_OFFSET_RE = r"\d{2}:?\d{2}(?::?\d{2}(?:[.,]\d+)?)?\s*(?:[Zz]|[+-]\d{2}(?::?\d{2})?)$"


@dataclass(frozen=True)
class _Col:
    """Type of one column of an optional table: kind in str, float, int, date, datetime, tz."""

    kind: str
    nullable: bool = False
    choices: tuple[str, ...] = ()


#: Optional tables: required columns with their types, optional typed columns, unique keys.
TABLES: dict[str, dict[str, Any]] = {
    "channels": {
        "required": {
            "channel_id": _Col("str"), "name": _Col("str"),
            "kind": _Col("str", choices=CHANNEL_KINDS), "commission_rate": _Col("float"),
            "fixed_cost_per_month": _Col("float"), "currency": _Col("str"),
            "timezone": _Col("tz"),
        },
        "optional": {
            **{c: _Col("float") for c in (
                "age_18_24", "age_25_34", "age_35_44", "age_45_plus", "tier_1", "tier_2",
                "tier_3", "prior_weekly_revenue_max", "prior_half_saturation_spend")},
        },
        "key": ("channel_id",),
    },
    "products": {
        "required": {
            "sku": _Col("str"), "name": _Col("str"), "category": _Col("str"),
            "unit_cost": _Col("float"), "list_price": _Col("float"),
            "weight_kg": _Col("float"),
        },
        "key": ("sku",),
    },
    "sku_map": {
        "required": {"channel_id": _Col("str"), "channel_sku": _Col("str"), "sku": _Col("str")},
        "key": ("channel_id", "channel_sku"),
    },
    "customers": {
        "required": {
            "customer_id": _Col("str"), "signup_date": _Col("date"),
            **{c: _Col("str", nullable=True) for c in (
                "name", "email", "phone", "address", "postcode", "city")},
            "birth_year": _Col("int", nullable=True), "gender": _Col("str", nullable=True),
        },
        "key": ("customer_id",),
    },
    "fx_rates": {
        "required": {"date": _Col("date"), "currency": _Col("str"), "rate_to_base": _Col("float")},
        "key": ("date", "currency"),
    },
    "marketing_spend": {
        "required": {"week_start": _Col("date"), "channel_id": _Col("str"), "spend": _Col("float")},
        "optional": {"impressions": _Col("float", nullable=True),
                     "clicks": _Col("float", nullable=True)},
    },
    "warehouses": {
        "required": {
            "warehouse_id": _Col("str"), "city": _Col("str"), "lat": _Col("float"),
            "lon": _Col("float"), "daily_capacity_orders": _Col("int"),
            "handling_cost_per_order": _Col("float"),
        },
        "key": ("warehouse_id",),
    },
    "locations": {
        "required": {"city": _Col("str"), "lat": _Col("float"), "lon": _Col("float"),
                     "city_tier": _Col("int")},
        "key": ("city",),
    },
    "shipments": {
        "required": {
            "order_id": _Col("str"), "channel_id": _Col("str"), "warehouse_id": _Col("str"),
            "promised_ts": _Col("datetime"), "shipped_ts": _Col("datetime", nullable=True),
            "delivered_ts": _Col("datetime", nullable=True),
            "carrier": _Col("str", nullable=True), "cost": _Col("float", nullable=True),
        },
    },
    "service_contacts": {
        "required": {"contact_ts": _Col("datetime"), "channel_id": _Col("str"),
                      "reason": _Col("str"), "handle_minutes": _Col("float")},
    },
    "experiments": {
        "required": {
            "unit_id": _Col("str"), "unit_type": _Col("str"),
            "group": _Col("str", choices=("control", "treatment")),
            "start_date": _Col("date"), "end_date": _Col("date"), "name": _Col("str"),
        },
    },
}


class DatasetError(Exception):
    """A file-level problem in a dataset.

    The message reads ``<file>[, line L][, column 'C']: <problem>`` followed by
    ``expected:``, ``found:`` and ``fix:`` lines. ``file`` is relative to the dataset folder.

    Attributes:
        file: the file at fault, relative to the dataset folder.
        line: 1-based line number (header = 1) or None.
        column: the column (or YAML key) at fault, or None.
        problem, expected, found, fix: the parts of the message.
    """

    def __init__(self, file: str, problem: str, *, expected: str, found: str, fix: str,
                 line: int | None = None, column: str | None = None) -> None:
        self.file, self.line, self.column = file, line, column
        self.problem, self.expected, self.found, self.fix = problem, expected, found, fix
        where = file
        if line is not None:
            where += f", line {line}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {problem}\n  expected: {expected}\n  found: {found}\n"
                         f"  fix: {fix}")


# --------------------------------------------------------------------------------------
# Specs
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReadDialect:
    """CSV dialect of an export: field separator, text encoding, decimal mark, thousands mark."""

    sep: str = ","
    encoding: str = "utf-8"
    decimal: str = "."
    thousands: str | None = None


@dataclass(frozen=True)
class Mapping:
    """A parsed ``mappings/<channel>.yaml``.

    Attributes:
        file: mapping path relative to the dataset folder.
        columns: canonical field -> export column, as written in ``columns:`` (plus the
            currency column when given as ``currency: {column: ...}``).
        timestamp_format: a strftime pattern or one of iso8601, unix_s, unix_ms.
        timestamp_timezone: IANA name for naive timestamps, or None (then the channel's
            timezone from channels.csv, else the dataset's).
        currency: a fixed ISO code for every line, or None.
        values: canonical field -> {export word: canonical word}.
        read: the CSV dialect.
    """

    file: str
    columns: dict[str, str]
    timestamp_format: str = "iso8601"
    timestamp_timezone: str | None = None
    currency: str | None = None
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    read: ReadDialect = ReadDialect()
    currency_from_key: bool = False  # the currency column came from `currency: {column: ..}`

    def resolve(self, header: Sequence[str]) -> dict[str, str]:
        """Field -> export column actually used: explicit ``columns`` plus, for unmapped
        fields, an export column named exactly like the field (not for ``currency`` when the
        mapping fixes a code)."""
        out = dict(self.columns)
        for f in CANONICAL_FIELDS:
            if f in out or f not in header:
                continue
            if f == "currency" and self.currency is not None:
                continue
            out[f] = f
        return out


@dataclass(frozen=True)
class ChannelSpec:
    """One channel of ``dataset.yaml``.

    Attributes:
        id: channel id.
        orders: absolute path of the export.
        source_file: the export's path relative to the dataset folder (POSIX).
        mapping: the parsed mapping.
        crm_ids: True when the export's buyer_ref is a CRM customer_id.
        header: the export's column names (BOM and surrounding spaces removed).
    """

    id: str
    orders: Path
    source_file: str
    mapping: Mapping
    crm_ids: bool
    header: tuple[str, ...]


@dataclass
class ExportResult:
    """Canonical order lines read from one or more exports.

    Attributes:
        lines: accepted lines, columns :data:`LINE_COLUMNS` (dtypes as in the design notes).
        quarantine: rejected rows, columns :data:`QUARANTINE_COLUMNS`.
        rows_read: data rows read (header excluded); equals len(lines) + len(quarantine).
        warnings: human-readable notes that did not stop the read (e.g. header only).
    """

    lines: pd.DataFrame
    quarantine: pd.DataFrame
    rows_read: int
    warnings: list[str]


class Dataset:
    """A loaded dataset folder. Build it with :func:`load_dataset`.

    Attributes:
        root: absolute dataset folder.
        name, base_currency, timezone: from dataset.yaml (timezone = reporting timezone).
        channels: the channels of dataset.yaml, in file order.
    """

    def __init__(self, root: Path, name: str, base_currency: str, timezone: str,
                 channels: list[ChannelSpec]) -> None:
        self.root = root
        self.name = name
        self.base_currency = base_currency
        self.timezone = timezone
        self.channels = channels
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

    def table(self, name: str) -> pd.DataFrame | None:
        """The optional table ``name`` read from ``<name>.csv``, or None when absent.

        Required columns are checked and typed (text -> string, numbers -> float64/Int64,
        dates -> datetime64[ns] naive, timestamps -> datetime64[ns, UTC] with naive values
        taken in the dataset timezone); other columns are kept as text. Unique keys are
        checked. Any problem raises DatasetError naming the file, line and column. The
        result is cached; a copy is returned.
        """
        _check_table_name(name)
        if name not in self._tables:
            self._tables[name] = _read_table(self, name) if self.has(name) else None
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


def _check_table_name(name: str) -> None:
    if name not in TABLES:
        raise ValueError(f"unknown table {name!r}; known tables: {', '.join(TABLES)}")


# --------------------------------------------------------------------------------------
# YAML helpers
# --------------------------------------------------------------------------------------

def _load_yaml(path: Path, rel: str) -> tuple[Any, dict[tuple, int]]:
    """Parse a YAML file. Returns the data and a map key-path -> 1-based line of the key."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise DatasetError(rel, "not valid UTF-8 text", expected="a UTF-8 YAML file",
                           found=f"byte 0x{e.object[e.start]:02x} at byte offset {e.start}",
                           fix=f"save {rel} as UTF-8") from None
    try:
        data = yaml.safe_load(text)
        node = yaml.compose(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        col = mark.column + 1 if mark is not None else None
        lines = text.splitlines()
        found = repr(lines[line - 1]) if line is not None and line <= len(lines) else "?"
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        where = f" near line {line}" if line else ""
        raise DatasetError(rel, f"malformed YAML ({problem}, column {col})",
                           expected="valid YAML", found=found,
                           fix=f"check the indentation, colons and quotes{where}",
                           line=line) from None
    lines_of: dict[tuple, int] = {}

    def walk(n: Any, prefix: tuple) -> None:
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                key = (*prefix, k.value)
                lines_of[key] = k.start_mark.line + 1
                walk(v, key)
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                lines_of[(*prefix, i)] = v.start_mark.line + 1
                walk(v, (*prefix, i))

    walk(node, ())
    return data, lines_of


def _keys(d: dict) -> str:
    return ", ".join(str(k) for k in d) if d else "(none)"


def _check_keys(d: dict, allowed: Sequence[str], rel: str, lines: dict, prefix: tuple,
                what: str) -> None:
    for k in d:
        if k not in allowed:
            path = ".".join(str(p) for p in (*prefix, k))
            raise DatasetError(
                rel, f"unknown key {path!r} in {what}", line=lines.get((*prefix, k)),
                expected=f"keys among {', '.join(allowed)}", found=repr(k),
                fix=f"remove {path!r} or rename it to one of the expected keys")


def _valid_tz(name: Any) -> bool:
    if not isinstance(name, str) or not name:
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


# --------------------------------------------------------------------------------------
# load_dataset
# --------------------------------------------------------------------------------------

def load_dataset(path: str | Path) -> Dataset:
    """Load and validate a dataset folder (or its ``dataset.yaml``).

    Checks dataset.yaml, every mapping, every export's header against its mapping (columns
    exist, no duplicate names, required fields present, encoding of the header) and, when
    channels.csv exists, that it lists every channel. Rows are not read here.

    Args:
        path: the dataset folder, or the path of its dataset.yaml.

    Returns:
        The Dataset.

    Raises:
        DatasetError: for any file-level problem.
    """
    p = Path(path).expanduser().resolve()
    root = p.parent if p.name == "dataset.yaml" else p
    yml = root / "dataset.yaml"
    if not yml.is_file():
        found = (f"no dataset.yaml in {root}" if root.is_dir()
                 else f"the folder {root} does not exist")
        raise DatasetError("dataset.yaml", "file not found",
                           expected="a dataset folder holding dataset.yaml", found=found,
                           fix="pass the dataset folder that holds dataset.yaml, or generate "
                               "one with `channelops synth --out <folder>`")
    data, lines = _load_yaml(yml, "dataset.yaml")
    rel = "dataset.yaml"
    if not isinstance(data, dict):
        raise DatasetError(rel, "not a YAML mapping",
                           expected=f"keys {', '.join(DATASET_KEYS)}",
                           found=type(data).__name__,
                           fix="write dataset.yaml as `key: value` lines (see DESIGN.md)")
    _check_keys(data, DATASET_KEYS, rel, lines, (), "dataset.yaml")
    for k in DATASET_KEYS:
        if k not in data or data[k] in (None, "", []):
            raise DatasetError(rel, f"missing required key {k!r}",
                               expected=f"keys {', '.join(DATASET_KEYS)}",
                               found=f"keys {_keys(data)}",
                               fix=f"add `{k}:` to dataset.yaml")
    name = str(data["name"])
    base = data["base_currency"]
    if not isinstance(base, str) or not _CURRENCY_RE.match(base):
        raise DatasetError(rel, "base_currency is not an ISO 4217 code",
                           line=lines.get(("base_currency",)),
                           expected="three capital letters such as CNY", found=repr(base),
                           fix="write base_currency as an ISO 4217 code, e.g. `CNY`")
    tz = data["timezone"]
    if not _valid_tz(tz):
        raise DatasetError(rel, "timezone is not an IANA timezone name",
                           line=lines.get(("timezone",)),
                           expected="an IANA name such as Asia/Shanghai", found=repr(tz),
                           fix="write timezone as an IANA name, e.g. `Asia/Shanghai`")
    chans = data["channels"]
    if not isinstance(chans, list):
        raise DatasetError(rel, "channels is not a list", line=lines.get(("channels",)),
                           expected="a list of {id, orders, mapping}",
                           found=type(chans).__name__,
                           fix="write each channel as `- id: ...` under `channels:`")
    entries: list[tuple[str, str, str, bool | None]] = []
    seen: set[str] = set()
    for i, ch in enumerate(chans):
        line = lines.get(("channels", i))
        if not isinstance(ch, dict):
            raise DatasetError(rel, f"channel entry {i + 1} is not a mapping", line=line,
                               expected="{id, orders, mapping}", found=repr(ch),
                               fix="write the entry as `- id: ...` with orders and mapping")
        _check_keys(ch, CHANNEL_KEYS, rel, lines, ("channels", i), "a channel entry")
        for k in ("id", "orders", "mapping"):
            if not isinstance(ch.get(k), str) or not ch.get(k):
                raise DatasetError(rel, f"channel entry {i + 1} lacks {k!r}", line=line,
                                   expected="id, orders and mapping as text",
                                   found=f"keys {_keys(ch)}",
                                   fix=f"add `{k}:` to channel entry {i + 1}")
        cid = ch["id"]
        if cid in seen:
            raise DatasetError(rel, f"channel id {cid!r} appears twice", line=line,
                               expected="unique channel ids", found=repr(cid),
                               fix="give each channel its own id")
        seen.add(cid)
        crm = ch.get("crm_ids")
        if crm is not None and not isinstance(crm, bool):
            raise DatasetError(rel, f"crm_ids of channel {cid!r} is not true/false",
                               line=lines.get(("channels", i, "crm_ids")),
                               expected="true or false", found=repr(crm),
                               fix="write `crm_ids: true` or `crm_ids: false`")
        entries.append((cid, ch["orders"], ch["mapping"], crm))

    ds = Dataset(root, name, base, tz, [])
    kinds: dict[str, str] = {}
    if ds.has("channels"):
        cat = ds.table("channels")
        assert cat is not None
        kinds = dict(zip(cat["channel_id"], cat["kind"], strict=True))
        missing = [cid for cid, *_ in entries if cid not in kinds]
        if missing:
            listed = ", ".join(sorted(kinds)) or "(none)"
            raise DatasetError(
                "channels.csv", f"channel {missing[0]!r} of dataset.yaml is not listed",
                expected=f"a row for every channel of dataset.yaml "
                         f"({', '.join(c for c, *_ in entries)})",
                found=f"channel_id values {listed}",
                fix=f"add a row for {missing[0]!r} to channels.csv, or correct its id in "
                    "dataset.yaml")
    for cid, orders, mapping_rel, crm in entries:
        orders_rel = _norm_rel(orders)
        mapping = _load_mapping(root, _norm_rel(mapping_rel), cid, orders_rel)
        opath = root / orders_rel
        if not opath.is_file():
            raise DatasetError(orders_rel, "file not found",
                               expected=f"the export of channel {cid!r} named in dataset.yaml",
                               found=f"no such file in {root}",
                               fix=f"put the export at {orders_rel} or correct `orders:` of "
                                   f"channel {cid!r} in dataset.yaml")
        header = _read_header(opath, mapping.read, orders_rel, mapping.file)
        _check_mapping_against_header(mapping, header, orders_rel)
        crm_ids = crm if crm is not None else kinds.get(cid) == "own_store"
        ds.channels.append(ChannelSpec(cid, opath, orders_rel, mapping, crm_ids, tuple(header)))
    return ds


def _norm_rel(p: str) -> str:
    return Path(p).as_posix()


def _load_mapping(root: Path, rel: str, cid: str, orders_rel: str) -> Mapping:
    """Parse and check one mapping file; unknown keys and fields also list the export's
    columns (read best-effort with the mapping's dialect) to help fix them."""
    try:
        return _parse_mapping(root, rel, cid)
    except DatasetError as e:
        if e.file != rel or not e.problem.startswith("unknown"):
            raise
        cols = _export_columns_hint(root, rel, orders_rel)
        raise DatasetError(e.file, e.problem, expected=e.expected, found=e.found,
                           fix=f"{e.fix}; {orders_rel} has columns: {cols}", line=e.line,
                           column=e.column) from None


def _export_columns_hint(root: Path, rel: str, orders_rel: str) -> str:
    try:
        data = yaml.safe_load((root / rel).read_text(encoding="utf-8-sig"))
        rd = data.get("read") if isinstance(data, dict) else None
        rd = rd if isinstance(rd, dict) else {}
        dialect = ReadDialect(sep=str(rd.get("sep", ",")),
                              encoding=str(rd.get("encoding", "utf-8")))
        return ", ".join(_read_header(root / orders_rel, dialect, orders_rel, rel))
    except (DatasetError, OSError, LookupError, csv.Error, TypeError, yaml.YAMLError):
        return "(unreadable)"


def _parse_mapping(root: Path, rel: str, cid: str) -> Mapping:
    path = root / rel
    if not path.is_file():
        raise DatasetError(rel, "file not found",
                           expected=f"the mapping of channel {cid!r} named in dataset.yaml",
                           found=f"no such file in {root}",
                           fix=f"write the mapping at {rel} or correct `mapping:` of channel "
                               f"{cid!r} in dataset.yaml")
    data, lines = _load_yaml(path, rel)
    if not isinstance(data, dict):
        raise DatasetError(rel, "not a YAML mapping",
                           expected=f"keys among {', '.join(MAPPING_KEYS)}",
                           found=type(data).__name__,
                           fix="write the mapping as `columns:` etc. (see DESIGN.md)")
    _check_keys(data, MAPPING_KEYS, rel, lines, (), "a mapping")
    cols = data.get("columns") or {}
    if not isinstance(cols, dict):
        raise DatasetError(rel, "columns is not a mapping", line=lines.get(("columns",)),
                           expected="canonical field: export column", found=repr(cols),
                           fix="write one `field: column` per line under `columns:`")
    columns: dict[str, str] = {}
    for f, c in cols.items():
        if f not in CANONICAL_FIELDS:
            hint = (" (channel_id comes from dataset.yaml)" if f == "channel_id" else "")
            close = difflib.get_close_matches(str(f), CANONICAL_FIELDS, n=1)
            guess = f" (did you mean {close[0]!r}?)" if close else ""
            raise DatasetError(rel, f"unknown canonical field {f!r} in columns{hint}",
                               line=lines.get(("columns", f)),
                               expected=f"fields among {', '.join(CANONICAL_FIELDS)}",
                               found=repr(f),
                               fix=f"rename {f!r} to a canonical field{guess} or remove it")
        if not isinstance(c, str) or not c.strip():
            raise DatasetError(rel, f"columns.{f} is not a column name",
                               line=lines.get(("columns", f)),
                               expected="the export's column name as text", found=repr(c),
                               fix=f"write the export's column name after `{f}:` (quote it "
                                   "if it looks like a number)")
        columns[str(f)] = c.strip()
    ts = data.get("timestamp")
    fmt, ts_tz = "iso8601", None
    if isinstance(ts, str):
        fmt = ts
    elif isinstance(ts, dict):
        _check_keys(ts, ("format", "timezone"), rel, lines, ("timestamp",), "timestamp")
        fmt = ts.get("format") or "iso8601"
        ts_tz = ts.get("timezone")
    elif ts is not None:
        raise DatasetError(rel, "timestamp is not a mapping", line=lines.get(("timestamp",)),
                           expected="{format: ..., timezone: ...}", found=repr(ts),
                           fix="write `timestamp: {format: \"%Y-%m-%d %H:%M:%S\", timezone: "
                               "Asia/Shanghai}`")
    if not isinstance(fmt, str) or (fmt not in SPECIAL_TS_FORMATS and "%" not in fmt):
        raise DatasetError(rel, "timestamp.format is not a strftime pattern or special word",
                           line=lines.get(("timestamp", "format")),
                           expected="a strftime pattern such as %Y-%m-%d %H:%M:%S, or "
                                    "iso8601, unix_s, unix_ms", found=repr(fmt),
                           fix="correct timestamp.format")
    if ts_tz is not None and not _valid_tz(ts_tz):
        raise DatasetError(rel, "timestamp.timezone is not an IANA timezone name",
                           line=lines.get(("timestamp", "timezone")),
                           expected="an IANA name such as Asia/Shanghai", found=repr(ts_tz),
                           fix="write an IANA timezone name, e.g. `Europe/Berlin`")
    cur = data.get("currency")
    currency = None
    currency_from_key = False
    if isinstance(cur, dict):
        _check_keys(cur, ("column",), rel, lines, ("currency",), "currency")
        col = cur.get("column")
        if not isinstance(col, str) or not col.strip():
            raise DatasetError(rel, "currency.column is not a column name",
                               line=lines.get(("currency",)),
                               expected="{column: <export column>}", found=repr(cur),
                               fix="write `currency: {column: <export column>}`")
        if "currency" in columns and columns["currency"] != col.strip():
            raise DatasetError(rel, "currency is mapped twice", line=lines.get(("currency",)),
                               expected="either columns.currency or currency: {column: ...}",
                               found=f"{columns['currency']!r} and {col.strip()!r}",
                               fix="keep one of the two")
        columns["currency"] = col.strip()
        currency_from_key = True
    elif cur is not None:
        if not isinstance(cur, str) or not _CURRENCY_RE.match(cur):
            raise DatasetError(rel, "currency is not an ISO 4217 code",
                               line=lines.get(("currency",)),
                               expected="a code such as CNY, or {column: <export column>}",
                               found=repr(cur), fix="write e.g. `currency: USD`")
        if "currency" in columns:
            raise DatasetError(rel, "currency is mapped twice", line=lines.get(("currency",)),
                               expected="either a currency code or a currency column",
                               found=f"currency: {cur} and columns.currency: "
                                     f"{columns['currency']}",
                               fix="keep one of the two")
        currency = cur
    vals = data.get("values") or {}
    if not isinstance(vals, dict):
        raise DatasetError(rel, "values is not a mapping", line=lines.get(("values",)),
                           expected="field: {export word: canonical word}", found=repr(vals),
                           fix="write e.g. `values: {status: {已付款: paid}}`")
    values: dict[str, dict[str, str]] = {}
    for f, m in vals.items():
        if f not in CANONICAL_FIELDS:
            raise DatasetError(rel, f"unknown canonical field {f!r} in values",
                               line=lines.get(("values", f)),
                               expected=f"fields among {', '.join(CANONICAL_FIELDS)}",
                               found=repr(f), fix=f"rename {f!r} or remove it")
        if not isinstance(m, dict):
            raise DatasetError(rel, f"values.{f} is not a mapping",
                               line=lines.get(("values", f)),
                               expected="{export word: canonical word}", found=repr(m),
                               fix=f"write `{f}: {{word: canonical}}`")
        values[f] = {_yaml_word(k): _yaml_word(v) for k, v in m.items()}
        if f == "status":
            bad = sorted({v for v in values[f].values() if v not in STATUSES})
            if bad:
                raise DatasetError(rel, "values.status maps to a word that is not a status",
                                   line=lines.get(("values", f)),
                                   expected=f"targets among {', '.join(STATUSES)}",
                                   found=", ".join(repr(b) for b in bad),
                                   fix="map every export word to a canonical status")
    rd = data.get("read") or {}
    if not isinstance(rd, dict):
        raise DatasetError(rel, "read is not a mapping", line=lines.get(("read",)),
                           expected="{sep, encoding, decimal, thousands}", found=repr(rd),
                           fix='write e.g. `read: {sep: ";", decimal: ","}`')
    _check_keys(rd, READ_KEYS, rel, lines, ("read",), "read")
    dialect = ReadDialect(sep=rd.get("sep", ","), encoding=rd.get("encoding", "utf-8"),
                          decimal=rd.get("decimal", "."), thousands=rd.get("thousands"))
    for k in ("sep", "decimal", "thousands"):
        v = getattr(dialect, k)
        if v is None and k == "thousands":
            continue
        if not isinstance(v, str) or len(v) != 1 or v in "\r\n\"":
            raise DatasetError(rel, f"read.{k} is not a single character",
                               line=lines.get(("read", k)),
                               expected="one character such as , ; . or a tab", found=repr(v),
                               fix=f"write read.{k} as one quoted character")
    try:
        codecs.lookup(dialect.encoding)
    except (LookupError, TypeError):
        raise DatasetError(rel, "read.encoding is not a known text encoding",
                           line=lines.get(("read", "encoding")),
                           expected="an encoding name such as utf-8, gbk, gb18030, latin-1",
                           found=repr(dialect.encoding),
                           fix="correct read.encoding") from None
    if dialect.decimal == dialect.thousands:
        raise DatasetError(rel, "read.decimal and read.thousands are the same character",
                           line=lines.get(("read", "thousands")),
                           expected="two different characters", found=repr(dialect.decimal),
                           fix="correct one of them")
    return Mapping(file=rel, columns=columns, timestamp_format=fmt, timestamp_timezone=ts_tz,
                   currency=currency, values=values, read=dialect,
                   currency_from_key=currency_from_key)


def _yaml_word(v: Any) -> str:
    """A YAML scalar as the text it stands for in a CSV (``true`` -> "true", 1 -> "1")."""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v).strip()


# --------------------------------------------------------------------------------------
# CSV reading
# --------------------------------------------------------------------------------------

def _is_utf8(encoding: str) -> bool:
    return codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")


def _read_header(path: Path, dialect: ReadDialect, rel: str,
                 mapping_rel: str | None) -> list[str]:
    """Column names of a CSV (BOM and surrounding spaces removed); errors as DatasetError."""
    if path.stat().st_size == 0:
        raise DatasetError(rel, "the file is empty (0 bytes)",
                           expected="a header row followed by data rows", found="0 bytes",
                           fix="re-export the file, or remove it from the dataset")
    enc = "utf-8-sig" if _is_utf8(dialect.encoding) else dialect.encoding
    try:
        with open(path, encoding=enc, newline="") as fh:
            row = next(csv.reader(fh, delimiter=dialect.sep), None)
    except UnicodeDecodeError:
        raise _encoding_error(path, dialect.encoding, rel, mapping_rel) from None
    except csv.Error as e:
        raise DatasetError(rel, f"the header row cannot be parsed as CSV ({e})", line=1,
                           expected="a header row of column names", found="unparseable text",
                           fix="check the header's quotes and separator") from None
    header = [c.strip() for c in (row or [])]
    if not header or all(c == "" for c in header):
        raise DatasetError(rel, "the header row is blank", line=1,
                           expected="column names in line 1", found="an empty line",
                           fix="put the header row in line 1")
    counts: dict[str, list[int]] = {}
    for i, c in enumerate(header, 1):
        counts.setdefault(c, []).append(i)
    dups = {c: pos for c, pos in counts.items() if len(pos) > 1}
    if dups:
        names = ", ".join(f"{c!r} (columns {', '.join(map(str, p))})" for c, p in dups.items())
        raise DatasetError(rel, "duplicate column names", line=1,
                           expected="unique column names in the header", found=names,
                           fix="rename the repeated columns in the header"
                               + (f" (and in {mapping_rel})" if mapping_rel else ""))
    if "" in counts:
        pos = counts[""][0]
        raise DatasetError(rel, f"column {pos} has no name", line=1,
                           expected="a name for every column", found="an empty name",
                           fix=f"name column {pos} in the header")
    return header


def _encoding_error(path: Path, encoding: str, rel: str, mapping_rel: str | None) -> DatasetError:
    """Locate the first byte that does not decode and say what the file probably is."""
    dec = codecs.getincrementaldecoder(encoding)()
    line, offset = 1, 0
    bad = b""
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            try:
                dec.decode(chunk)
            except UnicodeDecodeError as e:
                # e.start is relative to the decoder's buffered input; re-locate in the chunk
                buf = e.object
                head = len(buf) - len(chunk)
                pos = e.start - head
                line += chunk[:max(pos, 0)].count(b"\n")
                offset += max(pos, 0)
                bad = buf[e.start:e.start + 4]
                sample = chunk[max(pos - 2000, 0):pos + 2000]
                break
            line += chunk.count(b"\n")
            offset += len(chunk)
        else:
            sample = b""
    guess = None
    for cand in ("gbk", "gb18030", "big5", "shift_jis", "utf-16"):
        if _is_utf8(encoding) or codecs.lookup(cand).name != codecs.lookup(encoding).name:
            try:
                sample.decode(cand)
            except UnicodeDecodeError:
                # the sample may cut a multi-byte character at its ends
                try:
                    sample[1:-1].decode(cand)
                except UnicodeDecodeError:
                    continue
            guess = cand
            break
    hexes = " ".join(f"0x{b:02x}" for b in bad)
    declared = "UTF-8" if _is_utf8(encoding) else encoding
    where = mapping_rel or "the mapping"
    found = f"bytes {hexes} at byte offset {offset} that are not {declared}"
    if guess:
        found += f"; the file decodes as {guess.upper()}"
    suggestion = guess or "gbk"
    return DatasetError(
        rel, f"the file is not valid {declared} text", line=line,
        expected=f"{declared} text" + ("" if not _is_utf8(encoding) else
                                       f", or the encoding declared in {where}"),
        found=found,
        fix=f"declare the file's encoding in {where}: `read: {{encoding: {suggestion}}}`")


def _arrow_read(path: Path, dialect: ReadDialect, header: Sequence[str], wanted: Sequence[str],
                rel: str, mapping_rel: str | None, threads: bool,
                ) -> tuple[pa.Table, list[tuple[int | None, int, str]]]:
    names = [f"c{i}" for i in range(len(header))]
    bad: list[tuple[int | None, int, str]] = []

    def on_bad(row: Any) -> str:
        bad.append((row.number, row.actual_columns, row.text))
        return "skip"

    enc = "utf8" if _is_utf8(dialect.encoding) else dialect.encoding
    include = [names[header.index(c)] for c in wanted]
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(
                use_threads=threads, column_names=names, skip_rows=1, encoding=enc,
                block_size=16 << 20),
            parse_options=pacsv.ParseOptions(
                delimiter=dialect.sep, invalid_row_handler=on_bad, ignore_empty_lines=False,
                newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(include, pa.string()), include_columns=include,
                strings_can_be_null=False, quoted_strings_can_be_null=False,
                null_values=[]),
        )
    except UnicodeDecodeError:
        raise _encoding_error(path, dialect.encoding, rel, mapping_rel) from None
    except (pa.ArrowInvalid, OSError) as e:
        if "UTF8" in str(e) or "decode" in str(e):
            raise _encoding_error(path, dialect.encoding, rel, mapping_rel) from None
        raise DatasetError(rel, f"the file cannot be parsed as CSV ({e})",
                           expected=f"CSV separated by {dialect.sep!r} with double-quoted "
                                    "fields",
                           found="text the CSV reader rejects",
                           fix="check quotes (an unclosed quote swallows the rest of the file) "
                               f"and the separator declared in {mapping_rel or 'the mapping'}"
                           ) from None
    return table.rename_columns([header[names.index(n)] for n in table.column_names]), bad


def _read_strings(path: Path, dialect: ReadDialect, header: Sequence[str], wanted: Sequence[str],
                  rel: str, mapping_rel: str | None,
                  ) -> tuple[dict[str, pd.Series], np.ndarray, list[tuple[int, int, str]], int]:
    """Read ``wanted`` columns as text.

    Returns:
        columns: column name -> Series of Arrow-backed strings (good rows only);
        rows: int64 record number of each good row (header = 1);
        ragged: (record number, field count, text) of rows with the wrong field count;
        total: number of data records read.
    """
    table, bad = _arrow_read(path, dialect, header, wanted, rel, mapping_rel, threads=True)
    if bad and any(b[0] is None for b in bad):
        # the threaded reader does not number rows; read again serially to place them
        table, bad = _arrow_read(path, dialect, header, wanted, rel, mapping_rel,
                                 threads=False)
    ragged = sorted((int(b[0]), b[1], b[2]) for b in bad)  # type: ignore[arg-type]
    for r, n, text in ragged:
        if "\n" in text or "\r" in text:
            # a record spanning lines with the wrong field count: an unclosed quote that
            # swallowed the lines after it; counting it as one row would hide those lines
            nlines = text.count("\n") + 1
            raise DatasetError(
                rel, "a quoted field is not closed", line=r,
                expected='every opening quote " closed within its field',
                found=f"a record of {nlines} lines and {n} fields starting "
                      f"{text.splitlines()[0][:60]!r}",
                fix='close the quote, or double a quote inside a quoted field ("")')
    total = table.num_rows + len(ragged)
    rows = np.arange(2, total + 2, dtype=np.int64)
    if ragged:
        rows = np.setdiff1d(rows, np.array([r[0] for r in ragged], dtype=np.int64),
                            assume_unique=True)
    assert len(rows) == table.num_rows
    cols = {}
    for name in table.column_names:
        arr = table.column(name)
        cols[name] = pd.Series(pd.arrays.ArrowStringArray(arr) if arr.num_chunks else
                               pd.array([], dtype=STRING), dtype=STRING)
    return cols, rows, ragged, total


# --------------------------------------------------------------------------------------
# Optional tables
# --------------------------------------------------------------------------------------

def _read_table(ds: Dataset, name: str) -> pd.DataFrame:
    rel = f"{name}.csv"
    path = ds.root / rel
    spec = TABLES[name]
    dialect = ReadDialect()
    header = _read_header(path, dialect, rel, None)
    missing = [c for c in spec["required"] if c not in header]
    if missing:
        raise DatasetError(rel, f"missing required column {missing[0]!r}", line=1,
                           expected=f"columns {', '.join(spec['required'])}",
                           found=f"columns {', '.join(header)}",
                           fix=f"add the column {missing[0]!r} to {rel}")
    cols, rows, ragged, _ = _read_strings(path, dialect, header, header, rel, None)
    if ragged:
        r, n, text = ragged[0]
        raise DatasetError(rel, "wrong number of fields", line=r,
                           expected=f"{len(header)} fields, as in the header",
                           found=f"{n} fields: {text[:80]!r}"
                                 + (f" (and {len(ragged) - 1} more such lines)"
                                    if len(ragged) > 1 else ""),
                           fix="correct the separators or quotes in that line")
    types = {**spec["required"], **spec.get("optional", {})}
    out: dict[str, pd.Series] = {}
    for c in header:
        s = cols[c]
        t = types.get(c)
        out[c] = s if t is None else _typed_column(s, t, rows, rel, c, ds.timezone)
    df = pd.DataFrame(out)
    key = spec.get("key")
    if key:
        dup = df.duplicated(list(key), keep=False).to_numpy()
        if dup.any():
            idx = np.flatnonzero(dup)
            lines = ", ".join(str(r) for r in rows[idx[:5]])
            vals = ", ".join(str(df[k].iloc[idx[0]]) for k in key)
            raise DatasetError(rel, f"duplicate {' + '.join(key)}", line=int(rows[idx[0]]),
                               expected=f"one row per {' + '.join(key)}",
                               found=f"{vals} on lines {lines}",
                               fix="remove or merge the repeated rows")
    return df


def _typed_column(s: pd.Series, t: _Col, rows: np.ndarray, rel: str, col: str,
                  tz: str) -> pd.Series:
    stripped = s.str.strip()
    empty = (stripped == "").to_numpy(dtype=bool, na_value=True)
    if not t.nullable and empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise DatasetError(rel, "empty value in a required column", line=int(rows[i]),
                           column=col, expected="a value in every row", found="an empty value"
                           + _more(empty), fix=f"fill in {col!r} on that line")
    val = stripped.mask(pd.Series(empty, index=s.index))
    if t.kind in ("str", "tz"):
        bad = np.zeros(len(s), dtype=bool)
        if t.choices:
            bad = ~empty & ~val.isin(t.choices).to_numpy(dtype=bool, na_value=False)
            expected = f"one of {', '.join(t.choices)}"
        elif t.kind == "tz":
            uniq = {u for u in val.dropna().unique()}
            wrong = {u for u in uniq if not _valid_tz(u)}
            bad = val.isin(wrong).to_numpy(dtype=bool, na_value=False)
            expected = "an IANA timezone name such as Asia/Shanghai"
        out = val
    elif t.kind in ("float", "int"):
        num = _text_to_float(_arrow(val))
        bad = ~empty & ~np.isfinite(num)
        if t.kind == "int":
            bad |= ~empty & np.isfinite(num) & (num != np.round(num))
            out = pd.Series(num, index=s.index).round().astype("Int64")
            expected = "a whole number"
        else:
            out = pd.Series(num, index=s.index, dtype="float64")
            expected = "a number"
    else:
        if t.kind == "date":
            out = pd.to_datetime(val, format="ISO8601", errors="coerce")
            if isinstance(out.dtype, pd.DatetimeTZDtype):
                out = out.dt.tz_localize(None)
            out = out.dt.normalize()
            expected = "a date as YYYY-MM-DD"
        else:
            out = _parse_iso(val, tz)
            expected = "an ISO 8601 timestamp such as 2024-06-18 10:30:00 or with an offset"
        bad = ~empty & out.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DatasetError(rel, "value of the wrong type", line=int(rows[i]), column=col,
                           expected=expected, found=repr(s.iloc[i]) + _more(bad),
                           fix=f"correct {col!r} on that line")
    return out


def _more(mask: np.ndarray) -> str:
    n = int(mask.sum()) - 1
    return f" (and {n} more such rows)" if n > 0 else ""


def _parse_iso(s: pd.Series, tz: str) -> pd.Series:
    """ISO 8601 text -> datetime64[ns, UTC]: offsets honoured, naive values taken in ``tz``."""
    strict = _cast_strict_iso(s)
    if strict is None:
        return _parse_iso_general(s, tz)
    fast, done = strict
    if done.all():
        return fast
    # the values of another shape (or missing) take the general path
    rest = _parse_iso_general(s[~done], tz)
    vals = fast.dt.tz_localize(None).to_numpy(copy=True)
    vals[~done] = rest.dt.tz_localize(None).to_numpy()
    return pd.Series(vals, index=s.index).dt.tz_localize("UTC")


def _parse_iso_general(s: pd.Series, tz: str) -> pd.Series:
    """:func:`_parse_iso` for values of any ISO 8601 shape (the slow, general path)."""
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns, UTC]")
    aware = _series(pc.match_substring_regex(_arrow(s), _OFFSET_RE)).to_numpy(
        dtype=bool, na_value=False)
    if aware.any():
        out[aware] = _parse_iso_aware(s[aware])
    naive = ~aware & s.notna().to_numpy()
    if naive.any():
        out[naive] = _localize(pd.to_datetime(s[naive], format="ISO8601", errors="coerce"), tz)
    return out


_STRICT_ISO_RE = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$"


def _cast_strict_iso(s: pd.Series) -> tuple[pd.Series, np.ndarray] | None:
    """The fast path of :func:`_parse_iso`: values of the common shape
    ``YYYY-MM-DDTHH:MM:SS+HH:MM`` -> datetime64[ns, UTC] by one Arrow cast (about 15 times
    faster than the general path on 8 million values).

    Returns:
        ``(parsed, done)``: ``parsed`` aligned with ``s`` (NaT where not ``done``) and the
        bool mask of the values it parsed (the non-missing values of that shape); None when
        no value has that shape or Arrow refuses one of them (out of range), so that odd
        spellings and bad values get exactly the general path's results.
    """
    a = _arrow(s)
    strict = pc.fill_null(pc.match_substring_regex(a, _STRICT_ISO_RE), False)
    if not pc.any(strict).as_py():
        return None
    done = strict.to_numpy(zero_copy_only=False)
    whole = bool(done.all())
    try:
        utc = pc.cast(a if whole else a.filter(strict), pa.timestamp("ns", tz="UTC"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    vals = np.full(len(s), np.datetime64("NaT"), dtype="datetime64[ns]")
    vals[done] = pc.cast(utc, pa.int64()).to_numpy(zero_copy_only=False).view("datetime64[ns]")
    return pd.Series(vals, index=s.index).dt.tz_localize("UTC"), done


def _parse_iso_aware(s: pd.Series) -> pd.Series:
    """ISO 8601 text with a UTC offset -> datetime64[ns, UTC].

    Values in the common shape ``YYYY-MM-DDTHH:MM:SS+HH:MM`` with fields in range go
    through Arrow's strptime (about 20 times faster than pandas, which takes a slow
    per-value path when offsets differ). Arrow rolls out-of-range fields over (Feb 30 ->
    Mar 1), so only values whose fields are checked in range take that path; every other
    spelling (fractions, ``Z``, a space, no seconds) and anything invalid is left to
    ``pandas.to_datetime(format="ISO8601")``, so results and errors are pandas' own.
    """
    a = _arrow(s)
    strict = pc.fill_null(pc.match_substring_regex(a, _STRICT_ISO_RE), False)

    def field(start: int, stop: int) -> np.ndarray:
        part = pc.if_else(strict, pc.utf8_slice_codeunits(a, start, stop), "0")
        return pc.cast(part, pa.int64()).to_numpy(zero_copy_only=False)

    year, month, day = field(0, 4), field(5, 7), field(8, 10)
    hour, minute, second = field(11, 13), field(14, 16), field(17, 19)
    off_h, off_m = field(20, 22), field(23, 25)
    month_ok = (month >= 1) & (month <= 12)
    first = (year.astype("datetime64[Y]") - 1970).astype("datetime64[M]")
    first = first + np.where(month_ok, month - 1, 0)
    days_in_month = ((first + 1).astype("datetime64[D]") - first.astype("datetime64[D]")).astype(
        int
    )
    ok = (
        strict.to_numpy(zero_copy_only=False)
        & month_ok & (day >= 1) & (day <= days_in_month)
        & (hour < 24) & (minute < 60) & (second < 60) & (off_h <= 14) & (off_m < 60)
    )  # fmt: skip
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns, UTC]")
    if ok.any():
        fast = pc.strptime(a.filter(pa.array(ok)), format="%Y-%m-%dT%H:%M:%S%z", unit="ns")
        utc = pd.DatetimeIndex(fast.to_pandas()).tz_convert("UTC")
        out[ok] = pd.Series(utc, index=s.index[ok])
    if (~ok).any():
        out[~ok] = pd.to_datetime(s[~ok], format="ISO8601", errors="coerce", utc=True)
    return out


def _localize(naive: pd.Series, tz: str) -> pd.Series:
    """Naive wall times in ``tz`` -> UTC. Ambiguous times (DST fall-back) take the first
    (daylight) instant; nonexistent times (spring-forward gap) shift forward."""
    if isinstance(naive.dtype, pd.DatetimeTZDtype):
        return naive.dt.tz_convert("UTC")
    loc = naive.dt.tz_localize(tz, ambiguous=np.ones(len(naive), dtype=bool),
                               nonexistent="shift_forward")
    return loc.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")


# --------------------------------------------------------------------------------------
# Exports
# --------------------------------------------------------------------------------------

def _check_mapping_against_header(m: Mapping, header: Sequence[str], orders_rel: str) -> None:
    cols = ", ".join(header)
    for f, c in m.columns.items():
        if c not in header:
            key = "currency.column" if f == "currency" and m.currency_from_key else \
                f"columns.{f}"
            raise DatasetError(
                m.file, f"{key} names column {c!r}, which {orders_rel} does not have",
                column=c, expected=f"one of the export's columns: {cols}", found=repr(c),
                fix=f"correct {key} in {m.file} to one of the export's columns")
    resolved = m.resolve(header)
    for f in REQUIRED_FIELDS:
        if f not in resolved:
            raise DatasetError(
                orders_rel, f"missing required column for {f!r}", line=1,
                expected=f"a column mapped to {f} in {m.file} (or a column named {f!r})",
                found=f"columns {cols}; {m.file} maps {_keys(m.columns)}",
                fix=f"add `{f}: <export column>` under `columns:` in {m.file}")


def read_export(dataset: Dataset, channel_id: str) -> ExportResult:
    """Read one channel's export into canonical order lines and a quarantine.

    Args:
        dataset: the loaded dataset.
        channel_id: a channel of dataset.yaml.

    Returns:
        ExportResult with ``lines`` (columns :data:`LINE_COLUMNS`; order_ts as
        datetime64[ns, UTC]; quantity int64 > 0; unit_price, discount float64 >= 0 in the
        line's own currency), ``quarantine`` (one row per rejected input row, first problem
        only, checked in the order missing_value, bad_timestamp, bad_number,
        nonpositive_quantity, negative_price, negative_discount, unknown_status; rows with
        the wrong field count are ``ragged_row``), ``rows_read`` and ``warnings``.

    Raises:
        DatasetError: for file-level problems (encoding, unparseable CSV, header changes).
    """
    ch = dataset.channel(channel_id)
    m = ch.mapping
    rel = ch.source_file
    header = _read_header(ch.orders, m.read, rel, m.file)
    _check_mapping_against_header(m, header, rel)
    fields = m.resolve(header)
    wanted = list(dict.fromkeys(fields.values()))
    raw, rows, ragged, total = _read_strings(ch.orders, m.read, header, wanted, rel, m.file)
    warnings: list[str] = []
    if total == 0:
        warnings.append(f"{rel}: header only, no data rows; channel {ch.id!r} contributes no "
                        "order lines")
    n = len(rows)
    catalog = dataset.table("channels") if dataset.has("channels") else None
    chan_row = (catalog.loc[catalog["channel_id"] == ch.id].iloc[0]
                if catalog is not None else None)
    ts_tz = m.timestamp_timezone or (chan_row["timezone"] if chan_row is not None
                                     else dataset.timezone)

    # text of each mapped field: stripped, value maps applied; empty -> <NA>
    text: dict[str, pd.Series] = {}
    for f, c in fields.items():
        s = _clean_text(raw[c])
        if f in m.values:
            s = _apply_values(s, m.values[f])
        text[f] = s

    flag = np.zeros(n, dtype=np.int16)
    problems: list[tuple[str, str, Any]] = []

    def add(reason: str, f: str, mask: np.ndarray, message: Any) -> None:
        new = mask & (flag == 0)
        if new.any():
            problems.append((reason, f, message))
            flag[new] = len(problems)

    def isna(f: str) -> np.ndarray:
        return text[f].isna().to_numpy()

    # 1. missing values (required fields, and line_no when the export carries it)
    for f in ("order_id", "line_no", "order_ts", "buyer_ref", "channel_sku", "quantity",
              "unit_price"):
        if f in fields:
            add("missing_value", f, isna(f),
                lambda v, f=f: f"{f} is empty (column {fields[f]!r})")
    # 2. timestamps
    order_ts, what = _parse_order_ts(text["order_ts"], m, ts_tz)
    add("bad_timestamp", "order_ts", order_ts.isna().to_numpy() & ~isna("order_ts"),
        lambda v: "'" + v + f"' is not {what}")
    # 3. numbers
    nums: dict[str, np.ndarray] = {}
    for f in NUMERIC_FIELDS:
        if f not in fields:
            continue
        x = _to_float(text[f], m.read)
        nums[f] = x
        notna = ~isna(f)
        whole = f in ("line_no", "quantity")
        bad = notna & ~np.isfinite(x)
        if whole:
            bad |= notna & np.isfinite(x) & ((x != np.floor(x)) | (np.abs(x) > 2**53))
        kind = "a whole number" if whole else "a number"
        if f == "line_no":
            bad |= notna & np.isfinite(x) & (x < 1)
            kind = "a whole number >= 1"
        add("bad_number", f, bad, lambda v, k=kind: "'" + v + f"' is not {k}")
    # 4-6. ranges
    add("nonpositive_quantity", "quantity", nums["quantity"] <= 0,
        lambda v: "quantity must be > 0, found '" + v + "'")
    add("negative_price", "unit_price", nums["unit_price"] < 0,
        lambda v: "unit_price must be >= 0, found '" + v + "'")
    if "discount" in nums:
        add("negative_discount", "discount", nums["discount"] < 0,
            lambda v: "discount must be >= 0, found '" + v + "'")
    # 7. status words
    status = None
    if "status" in fields:
        status = _series(pc.utf8_lower(_arrow(text["status"])))
        bad = ~isna("status") & ~status.isin(STATUSES).to_numpy(dtype=bool, na_value=False)
        add("unknown_status", "status", bad,
            lambda v: "'" + v + "' is not a canonical status (" + ", ".join(STATUSES)
            + f") and has no entry under values.status in {m.file}")

    ok = flag == 0
    quarantine = _build_quarantine(ch, raw, fields, rows, flag, problems, ragged, len(header))
    raw.clear()  # the text is now only in ``text``, which _build_lines consumes column by column
    lines = _build_lines(dataset, ch, text, fields, rows, ok, order_ts, nums, status, chan_row,
                         warnings)
    assert total == len(lines) + len(quarantine), (
        f"{rel}: rows read {total} != accepted {len(lines)} + quarantined {len(quarantine)}")
    _free_memory()
    return ExportResult(lines, quarantine, total, warnings)


def _free_memory() -> None:
    """Hand freed Arrow memory back to the system (mimalloc keeps it otherwise), so a
    10-million-line read does not hold twice its size between steps."""
    pa.default_memory_pool().release_unused()


def _arrow(s: pd.Series) -> pa.ChunkedArray:
    """The Arrow data behind a Series of Arrow-backed strings (no copy)."""
    return pa.chunked_array(s.array.__arrow_array__())


def _series(a: pa.ChunkedArray | pa.Array) -> pd.Series:
    """Wrap Arrow data as a pandas Series without copying (strings -> string[pyarrow])."""
    a = pa.chunked_array(a) if isinstance(a, pa.Array) else a
    if pa.types.is_string(a.type) or pa.types.is_large_string(a.type):
        # one string dtype for every text column, whatever width Arrow chose, so frames of
        # different channels concatenate without dtype changes (and without warnings)
        return pd.Series(pd.arrays.ArrowStringArray(a), dtype=STRING, copy=False)
    return pd.Series(pd.arrays.ArrowExtensionArray(a), copy=False)


# Text clean-up works on the Arrow arrays directly: pandas' ``.str`` accessor ties each
# Series into a reference cycle, so temporaries would wait for the garbage collector and
# a 10-million-line export would briefly hold several copies of its text.

def _clean_text(s: pd.Series) -> pd.Series:
    """Strip surrounding whitespace; empty -> <NA>. Returns ``s`` itself (no copy) when
    nothing changes, which is the common case and halves the memory of a large export."""
    a = _arrow(s)
    stripped = pc.utf8_trim_whitespace(a)
    if pc.all(pc.equal(pc.binary_length(stripped), pc.binary_length(a))).as_py() is not False:
        stripped = a
    empty = pc.equal(stripped, "")
    if pc.any(empty).as_py():
        stripped = pc.if_else(empty, pa.scalar(None, pa.string()), stripped)
        return _series(stripped)
    return s if stripped is a else _series(stripped)


def _apply_values(s: pd.Series, words: dict[str, str]) -> pd.Series:
    """Replace export words by canonical words (exact match on stripped text)."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    mapped = np.array([words.get(u, u) for u in uniques], dtype=object)
    if len(mapped) == 0:
        return s
    out = np.where(codes >= 0, mapped[np.maximum(codes, 0)], None)
    return pd.Series(out, index=s.index, dtype=STRING)


def _to_float(s: pd.Series, dialect: ReadDialect) -> np.ndarray:
    """Text -> float64 with NaN where the text is empty or not a number."""
    a = _arrow(s)
    if dialect.thousands:
        a = pc.replace_substring(a, dialect.thousands, "")
    if dialect.decimal != ".":
        a = pc.replace_substring(a, dialect.decimal, ".")
    return _text_to_float(a)


#: plain decimals (``-12``, ``209.99``), the shape nearly every number in an export has
_PLAIN_NUMBER_RE = r"^-?[0-9]{1,15}(\.[0-9]{1,15})?$"


def _text_to_float(a: pa.ChunkedArray) -> np.ndarray:
    """Arrow text -> float64 array, NaN where a value is missing or not a number.

    Plain decimals (:data:`_PLAIN_NUMBER_RE`) are converted by an Arrow cast without
    leaving Arrow memory; only the other values (exponents, ``inf``, junk) go through
    ``pandas.to_numeric(errors="coerce")``, which decides them exactly as before.
    """
    n = len(a)
    plain = pc.fill_null(pc.match_substring_regex(a, _PLAIN_NUMBER_RE), False)
    n_plain = pc.sum(plain).as_py() or 0
    if n_plain == n:
        return pc.cast(a, pa.float64()).to_numpy(zero_copy_only=False)
    out = np.full(n, np.nan)
    mask = plain.to_numpy(zero_copy_only=False)
    if n_plain:
        out[mask] = pc.cast(a.filter(plain), pa.float64()).to_numpy(zero_copy_only=False)
    rest = ~mask & pc.is_valid(a).to_numpy(zero_copy_only=False)
    if rest.any():
        other = _series(a.filter(pa.array(rest)))
        out[rest] = pd.to_numeric(other, errors="coerce").astype("Float64").to_numpy(
            dtype="float64", na_value=np.nan)
    return out


def _parse_order_ts(s: pd.Series, m: Mapping, tz: str) -> tuple[pd.Series, str]:
    """Order timestamps -> datetime64[ns, UTC] (NaT where unparseable) and a description of
    the expected form for messages."""
    fmt = m.timestamp_format
    if fmt == "iso8601":
        return _parse_iso(s, tz), "an ISO 8601 timestamp"
    if fmt in ("unix_s", "unix_ms"):
        x = _text_to_float(_arrow(s))
        scale = 1.0 if fmt == "unix_s" else 1000.0
        x = np.where(np.isfinite(x) & (np.abs(x / scale) < 9.2e9), x, np.nan)
        out = pd.to_datetime(pd.Series(x, index=s.index), unit=fmt[5:], utc=True,
                             errors="coerce")
        unit = "seconds" if fmt == "unix_s" else "milliseconds"
        return out.astype("datetime64[ns, UTC]"), f"a unix timestamp in {unit}"
    aware = "%z" in fmt or "%Z" in fmt
    parsed = pd.to_datetime(s, format=fmt, errors="coerce", utc=aware)
    out = parsed.astype("datetime64[ns, UTC]") if aware else _localize(parsed, tz)
    return out, f"a timestamp in the form {fmt}"


def _build_quarantine(ch: ChannelSpec, raw: dict[str, pd.Series], fields: dict[str, str],
                      rows: np.ndarray, flag: np.ndarray, problems: list, ragged: list,
                      n_fields: int) -> pd.DataFrame:
    parts = []
    for k, (reason, f, message) in enumerate(problems, 1):
        idx = np.flatnonzero(flag == k)
        value = raw[fields[f]].iloc[idx].fillna("").reset_index(drop=True)
        parts.append(pd.DataFrame({
            "row": rows[idx], "column": fields[f], "value": value, "reason": reason,
            "message": _messages(message(value), len(idx)),
        }))
    if ragged:
        parts.append(pd.DataFrame({
            "row": np.array([r[0] for r in ragged], dtype=np.int64), "column": pd.NA,
            "value": [r[2] for r in ragged], "reason": "ragged_row",
            "message": [f"expected {n_fields} fields (as in the header), found {r[1]}"
                        for r in ragged],
        }))
    q = (pd.concat(parts, ignore_index=True) if parts else
         pd.DataFrame({"row": np.array([], dtype=np.int64), "column": [], "value": [],
                       "reason": [], "message": []}))
    q = q.sort_values("row", kind="stable").reset_index(drop=True)
    q.insert(0, "source_file", ch.source_file)
    q.insert(2, "channel_id", ch.id)
    return _quarantine_frame(q)


def _messages(msg: str | pd.Series, n: int) -> pd.Series:
    if isinstance(msg, str):
        return pd.Series([msg] * n, dtype=STRING)
    return msg.astype(STRING).reset_index(drop=True)


def _quarantine_frame(q: pd.DataFrame) -> pd.DataFrame:
    """Coerce a frame to the quarantine columns and dtypes."""
    out = pd.DataFrame({c: q[c] for c in QUARANTINE_COLUMNS})
    for c in QUARANTINE_COLUMNS:
        out[c] = out[c].astype("int64") if c == "row" else out[c].astype(STRING)
    return out.reset_index(drop=True)


def empty_quarantine() -> pd.DataFrame:
    """A quarantine frame with no rows (columns :data:`QUARANTINE_COLUMNS`)."""
    return _quarantine_frame(pd.DataFrame({c: [] for c in QUARANTINE_COLUMNS}))


def _build_lines(ds: Dataset, ch: ChannelSpec, text: dict[str, pd.Series],
                 fields: dict[str, str], rows: np.ndarray, ok: np.ndarray,
                 order_ts: pd.Series, nums: dict[str, np.ndarray], status: pd.Series | None,
                 chan_row: pd.Series | None, warnings: list[str]) -> pd.DataFrame:
    n_ok = int(ok.sum())
    order_id = text["order_id"]
    everything = n_ok == len(ok)

    def keep(s: pd.Series) -> pd.Series:
        return s.reset_index(drop=True) if everything else s[ok].reset_index(drop=True)

    out: dict[str, Any] = {
        "source_file": _constant_text(ch.source_file, n_ok),
        "row": rows[ok],
        "channel_id": _constant_text(ch.id, n_ok),
        "order_id": keep(order_id),
    }
    if "line_no" in nums:
        out["line_no"] = nums["line_no"][ok].astype(np.int64)
    else:
        # numbered within the order in file order, over all rows read (stable under quarantine)
        codes, _ = pd.factorize(order_id)
        out["line_no"] = (pd.Series(codes).groupby(codes).cumcount().to_numpy()[ok] + 1
                          ).astype(np.int64)
    del order_id
    text.pop("order_id")
    out["order_ts"] = keep(order_ts)
    out["buyer_ref"] = keep(text.pop("buyer_ref"))
    for f in PII_FIELDS:
        out[f] = (keep(text.pop(f)) if f in text
                  else _constant_text(None, n_ok))
    out["channel_sku"] = keep(text.pop("channel_sku"))
    out["quantity"] = nums["quantity"][ok].astype(np.int64)
    out["unit_price"] = nums["unit_price"][ok].astype(np.float64)
    out["discount"] = (np.nan_to_num(nums["discount"][ok], nan=0.0) if "discount" in nums
                       else np.zeros(n_ok))
    default_cur = m_cur = ch.mapping.currency
    if m_cur is None:
        default_cur = chan_row["currency"] if chan_row is not None else None
    if "currency" in text:
        cur = _series(pc.utf8_upper(_arrow(keep(text.pop("currency")))))
        if default_cur is not None:
            cur = cur.fillna(default_cur)
    else:
        if default_cur is None:
            default_cur = ds.base_currency
            if n_ok:
                warnings.append(f"{ch.source_file}: no currency in {ch.mapping.file} or "
                                f"channels.csv; assuming the base currency "
                                f"{ds.base_currency}")
        cur = _constant_text(default_cur, n_ok)
    out["currency"] = cur.astype(STRING)
    out["status"] = (keep(status).fillna("paid") if status is not None
                     else _constant_text("paid", n_ok)).astype(STRING)
    text.clear()
    return pd.DataFrame({c: out.pop(c) for c in LINE_COLUMNS}, copy=False)


def _constant_text(value: str | None, n: int) -> pd.Series:
    """``n`` copies of ``value`` (None: missing) as string[pyarrow], built in Arrow (a
    Python list of 4 million strings takes seconds to convert)."""
    return _series(pa.repeat(pa.scalar(value, pa.string()), n))


def empty_lines() -> pd.DataFrame:
    """An order-lines frame with no rows (columns :data:`LINE_COLUMNS`)."""
    cols: dict[str, Any] = {}
    for c in LINE_COLUMNS:
        if c in ("row", "line_no", "quantity"):
            cols[c] = np.array([], dtype=np.int64)
        elif c in ("unit_price", "discount"):
            cols[c] = np.array([], dtype=np.float64)
        elif c == "order_ts":
            cols[c] = pd.Series([], dtype="datetime64[ns, UTC]")
        else:
            cols[c] = pd.Series([], dtype=STRING)
    return pd.DataFrame(cols)


def read_all_exports(dataset: Dataset, channels: Iterable[str] | None = None) -> ExportResult:
    """Read several channels' exports (all by default) and concatenate the results.

    Args:
        dataset: the loaded dataset.
        channels: channel ids to read, in that order; None for every channel of dataset.yaml.

    Returns:
        One ExportResult: lines and quarantine concatenated (fresh RangeIndex), rows_read
        summed, warnings in channel order.
    """
    ids = [c.id for c in dataset.channels] if channels is None else list(channels)
    results = [read_export(dataset, cid) for cid in ids]
    lines = [r.lines for r in results if len(r.lines)]
    quar = [r.quarantine for r in results if len(r.quarantine)]
    out = ExportResult(
        lines=pd.concat(lines, ignore_index=True) if lines else empty_lines(),
        quarantine=pd.concat(quar, ignore_index=True) if quar else empty_quarantine(),
        rows_read=sum(r.rows_read for r in results),
        warnings=[w for r in results for w in r.warnings],
    )
    assert out.rows_read == len(out.lines) + len(out.quarantine)
    return out

