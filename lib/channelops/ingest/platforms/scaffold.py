"""A dataset from a folder of platform exports: what ``channelops init DIR`` guesses and
writes.

:func:`plan_dataset` reads the header and the first rows of every export in the folder
(``DIR/orders/`` and ``DIR`` itself, CSV, TSV and Amazon's ``.txt`` flat files), recognises
each one's platform and report type, and builds ``dataset.yaml`` and one mapping per
channel as Python data, with the guesses it made in words. :func:`write_plan` writes them,
paths relative to the folder, never over an existing file unless asked.

The first rows are read to guess what a header cannot tell: the text encoding (UTF-8, else
GB18030, the superset of the GBK Chinese back offices write), the separator, the currency
of a channel whose export has a currency column, and which of a preset's alternative
columns is filled (e.g. Douyin's 商家编码 or 商品ID). Guesses never quote a data row:
they name columns, counts and currency codes only.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from channelops.ingest.contract import DatasetError
from channelops.ingest.platforms import PRESETS, describe_unrecognised, recognise_header
from channelops.ingest.platforms.preset import Preset
from channelops.ingest.tables import TABLES

__all__ = [
    "ChannelPlan",
    "DatasetPlan",
    "ExportSample",
    "build_mapping",
    "export_files",
    "printable",
    "plan_dataset",
    "read_sample",
    "write_plan",
]

#: File endings read as exports (Amazon's flat files are tab-delimited ``.txt``).
EXPORT_SUFFIXES = (".csv", ".tsv", ".txt")
#: Rows read to guess encodings, currencies and filled columns.
SAMPLE_ROWS = 200
_SAMPLE_BYTES = 1 << 18
#: Share of sampled rows a column must fill to be preferred over a later alternative.
FILLED_SHARE = 0.95
#: Field separators tried on the header line (a comma wins ties).
_SEPARATORS = (",", "\t", ";", "|")
_CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")
#: Reporting timezone guessed from the base currency when the channels do not say.
_CURRENCY_TIMEZONE = {
    "CNY": "Asia/Shanghai",
    "USD": "America/New_York",
    "GBP": "Europe/London",
    "EUR": "Europe/Berlin",
    "JPY": "Asia/Tokyo",
    "CAD": "America/Toronto",
    "AUD": "Australia/Sydney",
}


@dataclass(frozen=True)
class ExportSample:
    """An export's header and first rows as text.

    Attributes:
        rel: path relative to the dataset folder (POSIX).
        encoding: ``utf-16`` (byte-order mark), ``utf-8`` or ``gb18030`` (the first that
            decodes the sample).
        sep: the separator the header line holds most of: ``,``, tab, ``;`` or ``|``.
        header: column names, BOM and surrounding spaces removed.
        rows: up to :data:`SAMPLE_ROWS` data rows (lists of cells).
    """

    rel: str
    encoding: str
    sep: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass
class ChannelPlan:
    """One channel to write: its export, preset, mapping and what was guessed."""

    channel_id: str
    export: ExportSample
    preset: Preset
    mapping: dict[str, Any]
    guesses: list[str] = field(default_factory=list)

    @property
    def mapping_rel(self) -> str:
        return f"mappings/{self.channel_id}.yaml"


@dataclass
class DatasetPlan:
    """What ``channelops init`` writes, and what it could not use.

    Attributes:
        root: the dataset folder.
        name, base_currency, timezone: dataset.yaml's keys (guessed).
        channels: one plan per recognised, usable export.
        skipped: one message per export that is not used (header not recognised, or a
            report that cannot feed a channel alone), naming the file and why.
        guesses: dataset-level guesses in words.
    """

    root: Path
    name: str
    base_currency: str
    timezone: str
    channels: list[ChannelPlan]
    skipped: list[str]
    guesses: list[str]


def export_files(root: Path) -> list[Path]:
    """Export files of a dataset folder: ``orders/`` first, then the folder itself, each
    sorted by name; optional tables (products.csv, ...) are not exports."""
    tables = {f"{t}.csv" for t in TABLES}
    found: list[Path] = []
    for folder in (root / "orders", root):
        if folder.is_dir():
            found.extend(
                p
                for p in sorted(folder.iterdir())
                if p.is_file() and p.suffix.lower() in EXPORT_SUFFIXES and p.name not in tables
            )
    return found


def _decode(raw: bytes, complete: bool) -> tuple[str, str]:
    """The sample as text and the encoding that decodes it (UTF-16 when it starts with its
    byte-order mark, else UTF-8, else GB18030).
    A sample cut inside the file drops its last, possibly cut, line first."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # Excel "Unicode text"
        text = raw[: len(raw) - len(raw) % 2].decode("utf-16", errors="replace")
        return (text if complete else text[: text.rfind("\n") + 1]), "utf-16"
    if not complete and b"\n" in raw:
        raw = raw[: raw.rindex(b"\n") + 1]
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("gb18030", errors="replace"), "gb18030"


def read_sample(path: Path, rel: str) -> ExportSample:
    """The header and first rows of one export (see :class:`ExportSample`).

    Raises:
        DatasetError: the file is empty or its first line holds no column names.
    """
    with open(path, "rb") as fh:
        raw = fh.read(_SAMPLE_BYTES + 1)
    complete = len(raw) <= _SAMPLE_BYTES
    text, encoding = _decode(raw[:_SAMPLE_BYTES], complete)
    first = text.split("\n", 1)[0]
    sep = max(_SEPARATORS, key=first.count)  # the most frequent; "," on a tie
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    header: list[str] = []
    rows: list[tuple[str, ...]] = []
    try:
        header = next(reader, [])
        for row in reader:
            rows.append(tuple(row))
            if len(rows) >= SAMPLE_ROWS:
                break
    except csv.Error:
        pass  # a broken quote in the sample: keep what was read; the intake names the line
    header = [c.lstrip("\ufeff").strip() for c in header]
    if not any(header):
        raise DatasetError(
            rel,
            "no header row",
            line=1,
            expected="a header row of column names in line 1",
            found="an empty file" if not text.strip() else "an empty first line",
            fix="re-export the file with its header, or move it out of the folder",
        )
    return ExportSample(rel, encoding, sep, tuple(header), tuple(rows))


def _filled_share(sample: ExportSample, column: str) -> float:
    """Share of sampled rows whose ``column`` cell is not blank (1.0 without rows)."""
    if not sample.rows:
        return 1.0
    i = sample.header.index(column)
    filled = sum(1 for r in sample.rows if i < len(r) and r[i].strip())
    return filled / len(sample.rows)


def _values(sample: ExportSample, column: str) -> list[str]:
    """Non-blank sampled cells of ``column``, stripped."""
    i = sample.header.index(column)
    return [r[i].strip() for r in sample.rows if i < len(r) and r[i].strip()]


def _choose_column(
    field_name: str, candidates: Sequence[str], sample: ExportSample, fill_down: Sequence[str]
) -> tuple[str | None, str | None]:
    """The export column for one field and, when it is not the preset's first choice, why.

    The first candidate present in the header wins, unless it is mostly blank in the
    sampled rows (under :data:`FILLED_SHARE`) and a later candidate is better filled.
    Fields filled down are blank on continuation rows by design and keep their first
    candidate.
    """
    present = [c for c in candidates if c in sample.header]
    if not present:
        return None, None
    if len(present) == 1 or field_name in fill_down or not sample.rows:
        return present[0], None
    shares = {c: _filled_share(sample, c) for c in present}
    for c in present:
        if shares[c] >= FILLED_SHARE:
            chosen = c
            break
    else:
        chosen = max(present, key=lambda c: shares[c])
    if chosen == present[0]:
        return chosen, None
    return chosen, (
        f"{field_name}: column {chosen!r} (filled in {shares[chosen]:.0%} of the first "
        f"{len(sample.rows)} rows) instead of {present[0]!r} ({shares[present[0]]:.0%})"
    )


def _timestamp_check(sample: ExportSample, column: str, fmt: str) -> str | None:
    """A sentence when sampled timestamps do not parse with ``fmt``, else None."""
    vals = _values(sample, column)
    if not vals:
        return None
    s = pd.Series(vals, dtype=object)
    if fmt == "iso8601":
        parsed = pd.to_datetime(s, errors="coerce", utc=True, format="ISO8601")
    else:
        parsed = pd.to_datetime(s, errors="coerce", utc="%z" in fmt, format=fmt)
    bad = int(parsed.isna().sum())
    if not bad:
        return None
    return (
        f"{bad} of the first {len(vals)} values of {column!r} do not read as {fmt}: "
        "correct timestamp.format"
    )


def build_mapping(
    preset: Preset, sample: ExportSample, timezone: str
) -> tuple[dict[str, Any], list[str], str | None]:
    """The mapping of one export read with ``preset``, the guesses made, and the currency
    the export's rows use most (None when the preset fixes it or no row shows one).

    Args:
        preset: the recognised preset (usable: ``preset.unusable`` is None).
        sample: the export's header and first rows.
        timezone: the dataset's reporting timezone, for exports whose naive timestamps are
            in the shop's own timezone (WooCommerce).

    Returns:
        ``(mapping, guesses, currency)``: the mapping as the YAML file holds it (keys
        ``columns``, ``timestamp``, ``currency``, then ``fill_down``, ``buyer_identity``,
        ``status_rules``, ``values``, ``read`` where needed), sentences naming columns and
        counts only, and the currency code.
    """
    guesses: list[str] = []
    columns: dict[str, str] = {}
    for name, candidates in preset.columns.items():
        if name == "buyer_ref" and preset.buyer_identity == "none":
            continue
        chosen, why = _choose_column(name, candidates, sample, preset.fill_down)
        if chosen is not None:
            columns[name] = chosen
        if why:
            guesses.append(why)
    mapping: dict[str, Any] = {}
    currency_column = columns.pop("currency", None)
    mapping["columns"] = columns
    ts_zone = timezone if _shop_local(preset) else preset.timezone
    mapping["timestamp"] = {"format": preset.timestamp_format, "timezone": ts_zone}
    if "order_ts" in columns:
        bad_ts = _timestamp_check(sample, columns["order_ts"], preset.timestamp_format)
        if bad_ts:
            guesses.append(bad_ts)
    code = None
    if currency_column is not None:
        codes = Counter(v for v in _values(sample, currency_column) if _CURRENCY_CODE.match(v))
        code = codes.most_common(1)[0][0] if codes else None
        mapping["currency"] = {"column": currency_column}
        if code:
            mapping["currency"]["default"] = code
            guesses.append(
                f"currency from column {currency_column!r}; blank cells take {code} "
                f"(the most frequent code in the first {len(sample.rows)} rows)"
            )
    elif preset.currency:
        mapping["currency"] = preset.currency
    fill_down = [
        f for f in preset.fill_down if f in columns or (f == "currency" and currency_column)
    ]
    if fill_down:
        mapping["fill_down"] = fill_down
    if preset.buyer_identity == "none":
        mapping["buyer_identity"] = "none"
    rules = [r for r in preset.status_rules if r.get("column") in (None, *sample.header)]
    if rules:
        mapping["status_rules"] = [dict(r) for r in rules]
    if "status" in columns and preset.status_words:
        mapping["values"] = {"status": dict(preset.status_words)}
        unknown = sorted(set(_values(sample, columns["status"])) - set(preset.status_words))
        if unknown:
            shown = ", ".join(repr(w) for w in unknown[:5])
            guesses.append(
                f"status words not in the preset's map: {shown}: add them under "
                "values.status, or their rows are quarantined as unknown_status"
            )
    read: dict[str, str] = {}
    if sample.sep != ",":
        read["sep"] = sample.sep
    if sample.encoding != "utf-8":
        read["encoding"] = sample.encoding
        why = " (a superset of GBK)" if sample.encoding == "gb18030" else ""
        guesses.append(f"the file is not UTF-8: read as {sample.encoding}{why}")
    if read:
        mapping["read"] = read
    return mapping, guesses, code


def _shop_local(preset: Preset) -> bool:
    """True when the export's timestamps are naive and in the shop's own timezone (which the
    platform does not fix, e.g. WooCommerce): they take the dataset's timezone."""
    fmt = preset.timestamp_format
    return preset.timezone == "UTC" and fmt != "iso8601" and "%z" not in fmt


def _slug(text: str) -> str:
    """Lower-case identifier: letters, digits, underscores; starts with a letter."""
    s = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return s if s and s[0].isalpha() else ""


#: Words of export file names that name the report, not the channel.
_REPORT_WORDS = {"order", "orders", "export", "exports", "report", "all", "list", "items", "item"}


def _channel_id(preset: Preset, path: Path, taken: set[str]) -> str:
    """The file's own name when it names the platform, without the report's words
    (``tmall.csv`` -> ``tmall``, ``amazon_us_orders.txt`` -> ``amazon_us``), else the
    platform (``orders_export_1.csv`` -> ``shopify``); ``_2``, ``_3``... when taken."""
    words = {preset.platform, *preset.channel_aliases}
    parts = [w for w in _slug(path.stem).split("_") if w and w not in _REPORT_WORDS]
    parts = [w for w in parts if w not in preset.report.split("_")]
    base = "_".join(parts) if words.intersection(parts) else preset.platform
    cid, n = base, 2
    while cid in taken:
        cid, n = f"{base}_{n}", n + 1
    return cid


def plan_dataset(folder: str | Path) -> DatasetPlan:
    """Recognise every export of ``folder`` and plan dataset.yaml and the mappings.

    Args:
        folder: the dataset folder (exports in it or in its ``orders/``).

    Returns:
        :class:`DatasetPlan` (nothing is written).

    Raises:
        DatasetError: the folder does not exist or holds no export file.
    """
    root = Path(folder).expanduser().resolve()
    if not root.is_dir():
        raise DatasetError(
            str(folder),
            "not a folder",
            expected="a folder holding platform exports (or an orders/ folder of them)",
            found=f"{root} does not exist" if not root.exists() else f"{root} is a file",
            fix="pass the folder that holds the exports",
        )
    files = export_files(root)
    skipped: list[str] = []
    for path in [p for p in files if not p.resolve().is_relative_to(root)]:
        files.remove(path)
        skipped.append(
            f"{printable(path.relative_to(root).as_posix())}: a link to a file outside the "
            "folder (copy the file into the folder to use it)"
        )
    if not files and not skipped:
        raise DatasetError(
            ".",
            "no export found",
            expected=f"files ending in {', '.join(EXPORT_SUFFIXES)} in {root} or {root}/orders",
            found="none",
            fix="copy the platforms' order exports into the folder",
        )
    recognised: list[tuple[ExportSample, Preset, Path]] = []
    for path in files:
        rel = path.relative_to(root).as_posix()
        try:
            sample = read_sample(path, rel)
        except DatasetError as e:
            skipped.append(f"{printable(rel)}: {e.problem}")
            continue
        rec = recognise_header(sample.header, PRESETS)
        if rec.preset is None:
            skipped.append(printable(describe_unrecognised(rec, rel)))
        elif rec.preset.unusable:
            skipped.append(
                f"{printable(rel)}: {rec.preset.title} [{rec.preset.name}] cannot feed a channel on its "
                f"own: {rec.preset.unusable}"
            )
        else:
            recognised.append((sample, rec.preset, path))
    plans: list[ChannelPlan] = []
    codes: Counter[str] = Counter(p.currency for _, p, _ in recognised if p.currency)
    for sample, p, path in recognised:
        cid = _channel_id(p, path, {c.channel_id for c in plans})
        mapping, guesses, code = build_mapping(p, sample, "UTC")
        if code:
            codes[code] += 1
        plans.append(ChannelPlan(cid, sample, p, mapping, guesses))
    return _dataset_plan(root, plans, skipped, codes)


def _dataset_plan(
    root: Path,
    plans: list[ChannelPlan],
    skipped: list[str],
    codes: Counter[str],
) -> DatasetPlan:
    """dataset.yaml's name, base currency and timezone guessed from the channels."""
    guesses: list[str] = []
    base = codes.most_common(1)[0][0] if codes else "USD"
    guesses.append(
        f"base_currency {base}: "
        + (
            "the currency most channels sell in"
            if codes
            else "no export shows its currency; set the one you report in"
        )
    )
    others = sorted(set(codes) - {base})
    if others:
        guesses.append(
            f"channels also sell in {', '.join(others)}: their lines need fx_rates.csv "
            f"(date, currency, rate_to_base) to convert to {base}, or they are quarantined "
            "as unknown_currency"
        )
    local = sorted({c.preset.timezone for c in plans} - {"UTC"})
    if len(local) == 1:
        tz, why = local[0], "the timezone of the platforms' back offices"
    else:
        tz = _CURRENCY_TIMEZONE.get(base, "UTC")
        why = f"guessed from the base currency {base}"
    guesses.append(f"timezone {tz} (reporting timezone): {why}")
    for plan in plans:  # naive shop timestamps take the reporting timezone guessed here
        if _shop_local(plan.preset):
            plan.mapping["timestamp"]["timezone"] = tz
            plan.guesses.append(
                f"timestamp.timezone {tz}: the export's times are the shop's local time"
            )
    name = _slug(root.name) or "dataset"
    return DatasetPlan(root, name, base, tz, plans, skipped, guesses)


def printable(text: str) -> str:
    """``text`` on one line without control characters (each becomes ``?``): file names and
    column names come from the user's files and must not break a YAML comment or drive the
    terminal."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def _comment(lines: Sequence[str]) -> str:
    return "".join(f"# {printable(line)}\n" for line in lines)


def _dump(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)


def mapping_text(plan: ChannelPlan) -> str:
    """The mapping file: comments (what was recognised, the header's source, the preset's
    notes and the guesses) then the YAML."""
    p = plan.preset
    lines = [
        f"mapping of channel {plan.channel_id!r}, written by `channelops init`: edit it where "
        "your export differs",
        f"export: {plan.export.rel}",
        f"recognised as: {p.title} [{p.name}]",
        f"header documented in: {p.source}",
        *(f"note: {n}" for n in p.notes),
        *(f"guessed: {g}" for g in plan.guesses),
    ]
    return _comment(lines) + _dump(plan.mapping)


def dataset_text(plan: DatasetPlan) -> str:
    """dataset.yaml: comments (the guesses) then the YAML."""
    data = {
        "name": plan.name,
        "base_currency": plan.base_currency,
        "timezone": plan.timezone,
        "channels": [
            {"id": c.channel_id, "orders": c.export.rel, "mapping": c.mapping_rel}
            for c in plan.channels
        ],
    }
    lines = [
        "written by `channelops init`: check the guesses below, then run `channelops check`",
        *(f"guessed: {g}" for g in plan.guesses),
    ]
    return _comment(lines) + _dump(data)


def write_plan(plan: DatasetPlan, force: bool = False) -> list[Path]:
    """Write dataset.yaml and the mappings of ``plan`` inside its folder.

    Args:
        plan: from :func:`plan_dataset`, with at least one channel.
        force: overwrite existing files.

    Returns:
        The files written.

    Raises:
        FileExistsError: a file to write exists and ``force`` is false (nothing is written;
            the message lists them all).
        ValueError: the plan has no channel.
    """
    if not plan.channels:
        raise ValueError("no usable export: nothing to write")
    targets = {plan.root / "dataset.yaml": dataset_text(plan)}
    for c in plan.channels:
        targets[plan.root / c.mapping_rel] = mapping_text(c)
    existing = [p for p in targets if p.exists()]
    if existing and not force:
        names = ", ".join(p.relative_to(plan.root).as_posix() for p in existing)
        raise FileExistsError(f"{names} already exist(s) in {plan.root}; pass --force to overwrite")
    for path, text in targets.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return list(targets)
