"""Read a channelops dataset: ``dataset.yaml``, the mappings, the optional tables and the exports.

A dataset is a folder with a ``dataset.yaml`` (see ``docs/design-notes.md`` and the data
contract in DESIGN.md). This module is the entry point of the intake's reading side:

* :func:`load_dataset` parses and validates ``dataset.yaml`` and every mapping up front,
  including each export's header against its mapping;
* :meth:`Dataset.table` reads the optional reference tables with their required columns
  and types;
* :func:`read_export` / :func:`read_all_exports` turn channel exports into canonical order
  lines plus a quarantine of row-level problems.

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
``pandas.to_datetime`` / ``pandas.to_numeric`` and boolean masks, so large exports are
handled without a Python loop over rows.

The work is split over the modules of :mod:`channelops.ingest`, and every name is
re-exported here:

* ``contract``: field names, column orders, reasons, :class:`DatasetError`, the parsed forms
  :class:`Mapping`, :class:`ReadDialect` and :class:`ChannelSpec`;
* ``yamlfile``: YAML with the line of every key; ``mapping``: the mapping files;
* ``csvread``: CSV headers and rows as text; ``arrowtext``: text columns on Arrow;
  ``timestamps``: timestamps to UTC;
* ``tables`` and ``folder``: the optional tables (:data:`TABLES`) and :class:`Dataset`;
* ``exports``: :func:`read_export`, with ``rowchecks`` (each row's first problem),
  ``quarantine`` and ``lines`` (the accepted rows as order lines).
"""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path
from typing import Any, NamedTuple

from channelops.ingest.arrowtext import _clean_text as _clean_text
from channelops.ingest.contract import (
    _CURRENCY_RE,
    CANONICAL_FIELDS,
    CHANNEL_KEYS,
    CHANNEL_KINDS,
    DATASET_KEYS,
    LINE_COLUMNS,
    MAPPING_KEYS,
    NUMERIC_FIELDS,
    OPTIONAL_DATASET_KEYS,
    PII_FIELDS,
    QUARANTINE_COLUMNS,
    READ_KEYS,
    REASONS,
    REQUIRED_FIELDS,
    SPECIAL_TS_FORMATS,
    STATUSES,
    STRING,
    ChannelSpec,
    DatasetError,
    DatasetWarning,
    Mapping,
    ReadDialect,
    _valid_tz,
)
from channelops.ingest.csvread import _read_header
from channelops.ingest.csvread import _read_strings as _read_strings
from channelops.ingest.exports import ExportResult, read_all_exports, read_export
from channelops.ingest.folder import Dataset
from channelops.ingest.lines import empty_lines
from channelops.ingest.mapping import _check_mapping_against_header, _load_mapping
from channelops.ingest.quarantine import empty_quarantine
from channelops.ingest.tables import TABLES
from channelops.ingest.timestamps import _parse_order_ts as _parse_order_ts
from channelops.ingest.yamlfile import _check_keys, _keys, _load_yaml

# Re-exported: every public name of the reading side (``__all__``), and the private helpers
# channelops.run.params reads a dataset's order dates with (_read_header, _read_strings,
# _clean_text, _parse_order_ts; imported ``as`` themselves).
__all__ = [
    "CANONICAL_FIELDS",
    "CHANNEL_KEYS",
    "CHANNEL_KINDS",
    "DATASET_KEYS",
    "LINE_COLUMNS",
    "MAPPING_KEYS",
    "NUMERIC_FIELDS",
    "PII_FIELDS",
    "QUARANTINE_COLUMNS",
    "READ_KEYS",
    "REASONS",
    "REQUIRED_FIELDS",
    "SPECIAL_TS_FORMATS",
    "STATUSES",
    "STRING",
    "TABLES",
    "ChannelSpec",
    "Dataset",
    "DatasetError",
    "DatasetWarning",
    "ExportResult",
    "Mapping",
    "ReadDialect",
    "empty_lines",
    "empty_quarantine",
    "load_dataset",
    "read_all_exports",
    "read_export",
]


class _ChannelEntry(NamedTuple):
    """One channel entry of dataset.yaml, as written (paths relative to the dataset)."""

    id: str
    orders: str
    mapping: str
    crm_ids: bool | None


def load_dataset(path: str | Path) -> Dataset:
    """Load and validate a dataset folder (or its ``dataset.yaml``).

    Checks dataset.yaml, every mapping, every export's header against its mapping (columns
    exist, no duplicate names, required fields present, encoding of the header) and, when
    channels.csv exists, that it lists every channel. Rows are not read here. Every input
    file (exports, mappings, optional tables) must lie inside the dataset folder, symlinks
    resolved, unless dataset.yaml says ``allow_outside_paths: true``. CSV files in orders/
    that dataset.yaml does not list are warnings (``Dataset.warnings``, and a
    :class:`DatasetWarning`).

    Args:
        path: the dataset folder, or the path of its dataset.yaml.

    Returns:
        The Dataset.

    Raises:
        DatasetError: for any file-level problem.
    """
    p = Path(path).expanduser().resolve()
    root = p.parent if p.name == "dataset.yaml" else p
    data, lines = _read_dataset_yaml(root)
    name = str(data["name"])
    base = _base_currency(data, lines)
    tz = _reporting_timezone(data, lines)
    entries = _channel_entries(data["channels"], lines)
    outside = _allow_outside_paths(data.get("allow_outside_paths", False), lines)
    if not outside:
        _check_inside(root, entries, lines)
    ds = Dataset(
        root,
        name,
        base,
        tz,
        [],
        plausible_dates=_plausible_dates(data.get("plausible_dates"), lines),
        allow_outside_paths=outside,
    )
    kinds = _channel_kinds(ds, entries)
    for entry in entries:
        ds.channels.append(_channel_spec(root, entry, kinds))
    ds.warnings.extend(_unlisted_exports(root, ds.channels))
    for w in ds.warnings:
        warnings.warn(w, DatasetWarning, stacklevel=2)
    return ds


def _allow_outside_paths(value: Any, lines: dict[tuple, int]) -> bool:
    """``allow_outside_paths`` of dataset.yaml: true or false (default false)."""
    if not isinstance(value, bool):
        raise DatasetError(
            "dataset.yaml",
            "allow_outside_paths is not true/false",
            line=lines.get(("allow_outside_paths",)),
            column="allow_outside_paths",
            expected="true or false",
            found=repr(value),
            fix="write `allow_outside_paths: true` or remove the key",
        )
    return value


def _outside(root: Path, rel: str) -> Path | None:
    """Where ``rel`` (relative to ``root``, or absolute) resolves to, symlinks followed,
    when that is outside ``root``; None when it is inside."""
    target = (root / rel).resolve()
    return None if target.is_relative_to(root.resolve()) else target


def _check_inside(root: Path, entries: list[_ChannelEntry], lines: dict[tuple, int]) -> None:
    """DatasetError for the first export, mapping or optional table that resolves outside
    the dataset folder (``..``, an absolute path, a symlink)."""
    for i, e in enumerate(entries):
        for key, rel in (("mapping", e.mapping), ("orders", e.orders)):
            target = _outside(root, rel)
            if target is not None:
                raise DatasetError(
                    "dataset.yaml",
                    f"{key} of channel {e.id!r} is outside the dataset folder",
                    line=lines.get(("channels", i, key)),
                    column=key,
                    expected=f"a path inside {root}",
                    found=f"{rel!r}, which resolves to {target}",
                    fix="copy the file into the dataset folder, or set `allow_outside_paths: "
                    "true` in dataset.yaml if you trust it",
                )
    for t in TABLES:
        if (root / f"{t}.csv").exists() and _outside(root, f"{t}.csv") is not None:
            raise DatasetError(
                f"{t}.csv",
                "a link to a file outside the dataset folder",
                expected=f"a file inside {root}",
                found=f"a link to {_outside(root, f'{t}.csv')}",
                fix="copy the file into the dataset folder, or set `allow_outside_paths: true` "
                "in dataset.yaml if you trust it",
            )


def _unlisted_exports(root: Path, channels: list[ChannelSpec]) -> list[str]:
    """One note per CSV file in ``orders/`` that no channel of dataset.yaml reads."""
    listed = {c.orders.resolve() for c in channels}
    folder = root / "orders"
    found = sorted(folder.glob("*.csv")) if folder.is_dir() else []
    return [
        f"orders/{p.name}: not listed in dataset.yaml; its rows are not read"
        for p in found
        if p.resolve() not in listed
    ]


def _read_dataset_yaml(root: Path) -> tuple[dict[str, Any], dict[tuple, int]]:
    """``<root>/dataset.yaml`` as a mapping with every required key and no unknown one, and
    the line of every key."""
    yml = root / "dataset.yaml"
    if not yml.is_file():
        found = (
            f"no dataset.yaml in {root}" if root.is_dir() else f"the folder {root} does not exist"
        )
        raise DatasetError(
            "dataset.yaml",
            "file not found",
            expected="a dataset folder holding dataset.yaml",
            found=found,
            fix="pass the dataset folder that holds dataset.yaml, or generate "
            "one with `channelops synth --out <folder>`",
        )
    data, lines = _load_yaml(yml, "dataset.yaml")
    rel = "dataset.yaml"
    if not isinstance(data, dict):
        raise DatasetError(
            rel,
            "not a YAML mapping",
            expected=f"keys {', '.join(DATASET_KEYS)}",
            found=type(data).__name__,
            fix="write dataset.yaml as `key: value` lines (see DESIGN.md)",
        )
    _check_keys(data, DATASET_KEYS + OPTIONAL_DATASET_KEYS, rel, lines, (), "dataset.yaml")
    for k in DATASET_KEYS:
        if k not in data or data[k] in (None, "", []):
            raise DatasetError(
                rel,
                f"missing required key {k!r}",
                expected=f"keys {', '.join(DATASET_KEYS)}",
                found=f"keys {_keys(data)}",
                fix=f"add `{k}:` to dataset.yaml",
            )
    return data, lines


def _base_currency(data: dict[str, Any], lines: dict[tuple, int]) -> str:
    """``base_currency`` of dataset.yaml, an ISO 4217 code."""
    base = data["base_currency"]
    if not isinstance(base, str) or not _CURRENCY_RE.match(base):
        raise DatasetError(
            "dataset.yaml",
            "base_currency is not an ISO 4217 code",
            line=lines.get(("base_currency",)),
            expected="three capital letters such as CNY",
            found=repr(base),
            fix="write base_currency as an ISO 4217 code, e.g. `CNY`",
        )
    return base


def _reporting_timezone(data: dict[str, Any], lines: dict[tuple, int]) -> str:
    """``timezone`` of dataset.yaml, an IANA timezone name."""
    tz = data["timezone"]
    if not _valid_tz(tz):
        raise DatasetError(
            "dataset.yaml",
            "timezone is not an IANA timezone name",
            line=lines.get(("timezone",)),
            expected="an IANA name such as Asia/Shanghai",
            found=repr(tz),
            fix="write timezone as an IANA name, e.g. `Asia/Shanghai`",
        )
    return tz


def _plausible_dates(value: Any, lines: dict[tuple, int]) -> tuple[dt.date, dt.date] | None:
    """``plausible_dates: {from: YYYY-MM-DD, to: YYYY-MM-DD}`` of dataset.yaml as two dates
    (from <= to, both in years 1700-2200), or None when the key is absent."""
    if value is None:
        return None
    fix = "write `plausible_dates: {from: 2015-01-01, to: 2030-12-31}` or remove the key"
    if not isinstance(value, dict) or set(value) != {"from", "to"}:
        raise DatasetError(
            "dataset.yaml",
            "plausible_dates is not {from, to}",
            line=lines.get(("plausible_dates",)),
            column="plausible_dates",
            expected="a mapping with the keys from and to",
            found=repr(value),
            fix=fix,
        )
    bounds = []
    for k in ("from", "to"):
        v = value[k]
        try:
            d = v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v))
        except ValueError:
            d = None
        if d is None or isinstance(d, dt.datetime) or not 1700 <= d.year <= 2200:
            raise DatasetError(
                "dataset.yaml",
                f"plausible_dates.{k} is not a date",
                line=lines.get(("plausible_dates", k)),
                column=f"plausible_dates.{k}",
                expected="a date YYYY-MM-DD between the years 1700 and 2200",
                found=repr(v),
                fix=fix,
            )
        bounds.append(d)
    if bounds[0] > bounds[1]:
        raise DatasetError(
            "dataset.yaml",
            "plausible_dates.from is after plausible_dates.to",
            line=lines.get(("plausible_dates",)),
            column="plausible_dates",
            expected="from <= to",
            found=f"from {bounds[0]}, to {bounds[1]}",
            fix=fix,
        )
    return bounds[0], bounds[1]


def _channel_entries(chans: Any, lines: dict[tuple, int]) -> list[_ChannelEntry]:
    """``channels`` of dataset.yaml: a list of entries with unique ids, in file order."""
    if not isinstance(chans, list):
        raise DatasetError(
            "dataset.yaml",
            "channels is not a list",
            line=lines.get(("channels",)),
            expected="a list of {id, orders, mapping}",
            found=type(chans).__name__,
            fix="write each channel as `- id: ...` under `channels:`",
        )
    entries: list[_ChannelEntry] = []
    for i, ch in enumerate(chans):
        entries.append(_channel_entry(i, ch, lines, {e.id for e in entries}))
    return entries


def _channel_entry(i: int, ch: Any, lines: dict[tuple, int], seen: set[str]) -> _ChannelEntry:
    """Entry ``i`` (0-based) of ``channels``: id (not among ``seen``), orders and mapping as
    text, crm_ids true, false or absent."""
    rel = "dataset.yaml"
    line = lines.get(("channels", i))
    if not isinstance(ch, dict):
        raise DatasetError(
            rel,
            f"channel entry {i + 1} is not a mapping",
            line=line,
            expected="{id, orders, mapping}",
            found=repr(ch),
            fix="write the entry as `- id: ...` with orders and mapping",
        )
    _check_keys(ch, CHANNEL_KEYS, rel, lines, ("channels", i), "a channel entry")
    for k in ("id", "orders", "mapping"):
        if not isinstance(ch.get(k), str) or not ch.get(k):
            raise DatasetError(
                rel,
                f"channel entry {i + 1} lacks {k!r}",
                line=line,
                expected="id, orders and mapping as text",
                found=f"keys {_keys(ch)}",
                fix=f"add `{k}:` to channel entry {i + 1}",
            )
    cid = ch["id"]
    if cid in seen:
        raise DatasetError(
            rel,
            f"channel id {cid!r} appears twice",
            line=line,
            expected="unique channel ids",
            found=repr(cid),
            fix="give each channel its own id",
        )
    crm = ch.get("crm_ids")
    if crm is not None and not isinstance(crm, bool):
        raise DatasetError(
            rel,
            f"crm_ids of channel {cid!r} is not true/false",
            line=lines.get(("channels", i, "crm_ids")),
            expected="true or false",
            found=repr(crm),
            fix="write `crm_ids: true` or `crm_ids: false`",
        )
    return _ChannelEntry(cid, ch["orders"], ch["mapping"], crm)


def _channel_kinds(ds: Dataset, entries: list[_ChannelEntry]) -> dict[str, str]:
    """channel_id -> kind from channels.csv (empty without it); channels.csv must list every
    channel of dataset.yaml."""
    if not ds.has("channels"):
        return {}
    cat = ds.table("channels")
    assert cat is not None
    kinds = dict(zip(cat["channel_id"], cat["kind"], strict=True))
    missing = [e.id for e in entries if e.id not in kinds]
    if missing:
        listed = ", ".join(sorted(kinds)) or "(none)"
        raise DatasetError(
            "channels.csv",
            f"channel {missing[0]!r} of dataset.yaml is not listed",
            expected=f"a row for every channel of dataset.yaml "
            f"({', '.join(e.id for e in entries)})",
            found=f"channel_id values {listed}",
            fix=f"add a row for {missing[0]!r} to channels.csv, or correct its id in dataset.yaml",
        )
    return kinds


def _channel_spec(root: Path, entry: _ChannelEntry, kinds: dict[str, str]) -> ChannelSpec:
    """The checked channel: its mapping parsed, its export present with a header that fits
    the mapping; crm_ids defaults to true for own stores in channels.csv."""
    cid = entry.id
    orders_rel = _norm_rel(entry.orders)
    mapping = _load_mapping(root, _norm_rel(entry.mapping), cid, orders_rel)
    opath = root / orders_rel
    if not opath.is_file():
        raise DatasetError(
            orders_rel,
            "file not found",
            expected=f"the export of channel {cid!r} named in dataset.yaml",
            found=f"no such file in {root}",
            fix=f"put the export at {orders_rel} or correct `orders:` of "
            f"channel {cid!r} in dataset.yaml",
        )
    header = _read_header(opath, mapping.read, orders_rel, mapping.file)
    _check_mapping_against_header(mapping, header, orders_rel)
    crm_ids = entry.crm_ids if entry.crm_ids is not None else kinds.get(cid) == "own_store"
    return ChannelSpec(cid, opath, orders_rel, mapping, crm_ids, tuple(header))


def _norm_rel(p: str) -> str:
    """A path of dataset.yaml as a POSIX path relative to the dataset folder."""
    return Path(p).as_posix()
