"""The intake: every export read, validated, canonicalised and de-duplicated, every row
accounted for (accepted, repeated, or quarantined with a reason).

Stage 00 calls :func:`ingest_lines` once; every other stage reads its tables.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from channelops.ingest.buyers import buyer_records, lines_with_buyers
from channelops.ingest.canonical import canonicalise
from channelops.ingest.contract import CANONICAL_FIELDS, PII_FIELDS, STRING
from channelops.ingest.dataset import read_export
from channelops.ingest.pii import LINE_PII_COLUMNS, drop_pii
from channelops.ingest.quarantine import _quarantine_frame, empty_quarantine

__all__ = [
    "IngestResult",
    "ingest_lines",
    "WrittenIntake",
    "write_intake",
    "remove_duplicate_rows",
    "split_conflicting_duplicates",
    "line_no_numbered",
    "dq_report",
    "revenue_reconciliation",
    "intake_accounting",
    "quarantine_reasons",
    "intake_summary",
    "money_accounting",
    "line_kinds",
]


#: Columns that identify an export row's content (everything but where it sits in the file).
_CONTENT = ["channel_id", *CANONICAL_FIELDS]  # the columns a repeated export row repeats


def line_no_numbered(dataset) -> list[str]:
    """Channel ids whose export has no ``line_no`` column (the loader numbered the lines).

    A verbatim repeat of a row in such an export gets the next line number from the loader,
    so :func:`remove_duplicate_rows` must not compare ``line_no`` for these channels.
    """
    return [
        ch.id for ch in dataset.channels if "line_no" not in ch.mapping.resolve(list(ch.header))
    ]


def _filter_rows(df: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    """Rows of ``df`` where ``keep`` (bool array), original index labels kept.

    Column by column (an Arrow filter for Arrow-backed columns, a numpy mask otherwise), so
    a large frame is copied once, not several times through pandas' block
    consolidation.
    """
    mask = pa.array(keep)
    cols: dict[str, pd.Series] = {}
    index = df.index[keep]
    for c in df.columns:
        arr = df[c].array
        if isinstance(arr, pd.arrays.ArrowExtensionArray):
            kept = type(arr)(pa.chunked_array(arr.__arrow_array__()).filter(mask))
        else:
            kept = arr[keep]
        cols[c] = pd.Series(kept, index=index, dtype=df[c].dtype, copy=False)
    return pd.DataFrame(cols, index=index, copy=False)


def _group_codes(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """One int64 code per row, equal exactly when the rows agree on every column in
    ``columns`` (missing values equal each other). Built column by column from
    ``pd.factorize`` codes, mixed into one integer and re-factorised only when the next
    column could overflow it and once at the end, so the code stays below the row count
    (no overflow, no hash collisions)."""
    codes = np.zeros(len(frame), dtype=np.int64)
    bound = 1  # codes < bound
    for c in columns:
        col_codes, uniques = pd.factorize(_factorizable(frame[c]), use_na_sentinel=True)
        width = len(uniques) + 1  # -1 (missing) -> 0
        if bound * width >= 2**62:
            codes, seen = pd.factorize(codes)
            bound = len(seen)
        codes = codes * width + (col_codes.astype(np.int64) + 1)
        bound *= width
    codes, _ = pd.factorize(codes)
    return codes.astype(np.int64)


def _factorizable(s: pd.Series):
    """``s`` as ``pd.factorize`` groups it fastest: timestamps as their int64 nanoseconds
    (NaT is one value of its own, as a missing value is), anything else as it is."""
    if isinstance(s.dtype, pd.DatetimeTZDtype) or s.dtype.kind == "M":
        return s.array.asi8
    return s


#: Columns compared first by :func:`_repeat_codes`: cheap, and together they tell almost
#: every pair of different lines apart.
_PREFILTER = ("source_file", "order_id", "line_no", "order_ts", "quantity", "unit_price")


def _repeat_codes(key_frame: pd.DataFrame) -> np.ndarray:
    """:func:`_group_codes` over every column of ``key_frame``, computed in full only for
    the rows that could be repeats: rows that agree with no other row on the
    :data:`_PREFILTER` columns agree with no other row on all columns, so each gets a code
    of its own. Codes are equal exactly when the rows agree on every column, as
    :func:`_group_codes` gives, at a fraction of its cost when repeats are few."""
    pre = [c for c in _PREFILTER if c in key_frame.columns]
    if not pre or len(pre) == len(key_frame.columns):
        return _group_codes(key_frame, list(key_frame.columns))
    pre_codes = _group_codes(key_frame[pre], pre)
    maybe = np.bincount(pre_codes)[pre_codes] > 1
    n_maybe = int(maybe.sum())
    codes = np.empty(len(key_frame), dtype=np.int64)
    if n_maybe:
        sub = key_frame[maybe]
        codes[maybe] = _group_codes(sub, list(sub.columns))
    start = int(codes[maybe].max()) + 1 if n_maybe else 0
    codes[~maybe] = np.arange(start, start + len(key_frame) - n_maybe, dtype=np.int64)
    return codes


def remove_duplicate_rows(
    lines: pd.DataFrame, numbered_channels: list[str] | tuple[str, ...] = ()
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep the first of each set of identical export rows; list the rest.

    Rows are compared on ``source_file`` and the content columns (:data:`_CONTENT`); the
    first of a set is the one with the smallest ``row`` of its file. The comparison runs on
    integer codes of the key columns and the kept rows are filtered once, column by column,
    in the input's order (memory: about one copy of ``lines``).

    Args:
        lines: canonical order lines with ``source_file`` and ``row``.
        numbered_channels: channels whose ``line_no`` was numbered by the loader (see
            :func:`line_no_numbered`); their ``line_no`` is left out of the comparison and
            renumbered within the order after the repeats are removed.

    Returns:
        ``(kept, duplicates)``: ``kept`` has the rows of ``lines`` that are not repeats, in
        the input's order with its index labels; ``duplicates`` has ``channel_id``,
        ``source_file``, ``row`` and ``duplicate_of_row`` (the row kept), ordered by
        source_file and row.
    """
    cols = [c for c in _CONTENT if c in lines.columns]
    numbered = (
        lines["channel_id"].isin(list(numbered_channels)).to_numpy(dtype=bool, na_value=False)
    )
    key_frame = lines[["source_file", *cols]]
    if numbered.any() and "line_no" in key_frame.columns:
        key_frame = key_frame.assign(line_no=lines["line_no"].where(~numbered, 0))
    order_code = None
    if "order_id" in key_frame.columns:
        # the order ids' codes (missing: -1, one value) compare as the ids do; factorised
        # once here and reused to renumber lines below
        order_code = pd.factorize(lines["order_id"])[0].astype(np.int64)
        key_frame = key_frame.assign(order_id=order_code)
    codes = _repeat_codes(key_frame)
    del key_frame
    # file order: source_file (sorted) then row; the first row of each code is kept
    file_code, _ = pd.factorize(lines["source_file"], sort=True)
    row = lines["row"].to_numpy(dtype=np.int64)
    order = np.lexsort((row, file_code))
    _, first = np.unique(codes[order], return_index=True)
    dup_sorted = np.ones(len(order), dtype=bool)
    dup_sorted[first] = False
    is_dup = np.empty(len(order), dtype=bool)
    is_dup[order] = dup_sorted
    first_row = np.empty(codes.max() + 1 if len(codes) else 0, dtype=np.int64)
    first_row[codes[order[first]]] = row[order[first]]

    dup_pos = order[dup_sorted]
    dups = pd.DataFrame(
        {
            "channel_id": lines["channel_id"].iloc[dup_pos].reset_index(drop=True),
            "source_file": lines["source_file"].iloc[dup_pos].reset_index(drop=True),
            "row": row[dup_pos],
            "duplicate_of_row": first_row[codes[dup_pos]],
        }
    )
    kept = _filter_rows(lines, ~is_dup) if is_dup.any() else lines.copy(deep=False)
    if numbered.any() and "line_no" in kept.columns and is_dup[numbered].any():
        # renumber the loader-numbered lines within their order, in file order
        renum = order[~dup_sorted & numbered[order]]  # positions in lines, file order
        if order_code is None:
            order_code = pd.factorize(lines["order_id"])[0].astype(np.int64)
        key = file_code[renum].astype(np.int64) * (int(order_code.max()) + 2) + order_code[renum]
        new_no = pd.Series(key).groupby(key, sort=False).cumcount().to_numpy() + 1
        line_no = lines["line_no"].to_numpy().copy()
        line_no[renum] = new_no
        kept["line_no"] = pd.Series(
            line_no[~is_dup], index=kept.index, dtype=lines["line_no"].dtype
        )
    return kept, dups


def split_conflicting_duplicates(
    lines: pd.DataFrame, numbered_channels: list[str] | tuple[str, ...] = ()
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Set aside the lines that claim the same order line with different content.

    An export that carries ``line_no`` names each order line once: two rows with the same
    (channel_id, order_id, line_no) that are not verbatim repeats (run
    :func:`remove_duplicate_rows` first) contradict each other (e.g. prices 10.00 and
    9,999.00), and neither can be trusted, so all of them are quarantined as
    ``conflicting_duplicate``. Channels whose line_no the loader numbered
    (``numbered_channels``) cannot conflict this way and are left alone.

    Args:
        lines: canonical order lines without verbatim repeats (``source_file``, ``row`` and
            the content columns of :data:`_CONTENT`).
        numbered_channels: see :func:`line_no_numbered`.

    Returns:
        ``(kept, quarantine)``: ``kept`` is ``lines`` without the conflicting rows (order and
        index labels kept); ``quarantine`` has one row per conflicting row (columns
        QUARANTINE_COLUMNS, column ``line_no``, value the line number, the message naming
        the other rows and the columns that differ, never their values), ordered by
        source_file and row.

    Raises:
        KeyError: ``lines`` lacks channel_id, order_id, line_no, source_file or row.
    """
    carried = ~lines["channel_id"].isin(list(numbered_channels)).to_numpy(
        dtype=bool, na_value=False
    )
    keys = lines[["channel_id", "order_id", "line_no"]]  # KeyError when one is missing
    if not carried.any():  # only loader-numbered lines: nothing can conflict
        return lines, empty_quarantine()
    codes = _group_codes(keys, ["channel_id", "order_id", "line_no"])
    del keys
    sizes = np.bincount(codes[carried], minlength=codes.max() + 1 if len(codes) else 0)
    conflict = carried & (sizes[codes] > 1) if len(codes) else carried
    if not conflict.any():
        return lines, empty_quarantine()
    bad = lines[conflict].assign(grp=codes[conflict])
    content = [
        c for c in _CONTENT if c in bad.columns and c not in ("channel_id", "order_id", "line_no")
    ]
    differ = bad.groupby("grp")[content].nunique(dropna=False) > 1
    rows = bad.groupby("grp")["row"].agg(list)
    labels = {
        g: ", ".join(
            dict.fromkeys(
                "a personal field" if c in PII_FIELDS else c for c in content if differ.at[g, c]
            )
        )
        for g in differ.index
    }
    messages = [
        f"order_id {r.order_id!r} line_no {int(r.line_no)} also on row(s) "
        + ", ".join(str(x) for x in rows[r.grp] if x != r.row)
        + f" with different {labels[r.grp]}"
        for r in bad.itertuples()
    ]
    q = pd.DataFrame(
        {
            "source_file": bad["source_file"].to_numpy(),
            "row": bad["row"].to_numpy(),
            "channel_id": bad["channel_id"].to_numpy(),
            "column": "line_no",
            "value": bad["line_no"].astype("int64").astype(str).to_numpy(),
            "reason": "conflicting_duplicate",
            "message": pd.Series(messages, dtype=STRING),
        }
    )
    q = _quarantine_frame(q.sort_values(["source_file", "row"], kind="stable"))
    return _filter_rows(lines, ~conflict), q


@dataclass
class IngestResult:
    """Accepted order lines of every channel and where the other rows went.

    Attributes:
        lines: canonical, de-duplicated order lines of all channels, in channel then file
            order; the index numbers the canonical lines of all channels before the repeats
            were removed (as ``remove_duplicate_rows(canonicalise(all lines))`` gives).
        quarantine: rows that failed validation (per channel, in channel order), then the
            rows that could not be canonicalised (ordered by source_file and row), then the
            conflicting duplicates (see :func:`split_conflicting_duplicates`, ordered the
            same way).
        duplicates: repeated export rows (see :func:`remove_duplicate_rows`), ordered by
            source_file and row.
        rows_read: data rows read per channel id.
        warnings: the dataset's warnings (see :func:`load_dataset`), then the readers', in
            channel order.
        lines_parsed: lines that passed validation (before canonicalisation), conflicting
            duplicates included.
        not_converted: of those, lines canonicalisation could not convert (quarantined).
        money: per channel id, the export's own money (quantity x price, or line_total)
            in each bucket: ``export`` (all rows read), ``accepted``, ``duplicates``,
            ``quarantined`` and ``rows_without_money`` (rows whose quantity or price is not
            a number; see :func:`money_accounting`).
        currency_filled: per channel id, accepted lines whose blank currency cell was
            filled (mapping default, channel's or base currency).
        repeated_rows: per channel id, the repeated-line rule applied: ``duplicate`` (a
            verbatim repeat is an export duplicate kept once), ``keep`` (kept as a real
            line), or ``line_no`` (the export numbers its lines: a repeat names the same
            line twice and is a duplicate).
    """

    lines: pd.DataFrame
    quarantine: pd.DataFrame
    duplicates: pd.DataFrame
    rows_read: dict[str, int]
    warnings: list[str]
    lines_parsed: int = 0
    not_converted: int = 0
    money: dict[str, dict[str, float]] = field(default_factory=dict)
    currency_filled: dict[str, int] = field(default_factory=dict)
    repeated_rows: dict[str, str] = field(default_factory=dict)


@dataclass
class _ChannelIntake:
    """One channel's part of the intake (see :func:`_channel_intakes`)."""

    channel_id: str
    lines: pd.DataFrame  # accepted lines; index continues the previous channel's numbering
    read_quarantine: pd.DataFrame
    canon_quarantine: pd.DataFrame
    conflicts: pd.DataFrame | None
    duplicates: pd.DataFrame
    rows_read: int
    currency_filled: int
    rule: str
    money: dict[str, float]
    warnings: list[str]
    accepted: int = 0  # len(lines)


class _Now:
    """A read done on demand in the calling thread (:func:`_channel_intakes` without a
    worker): ``result()`` runs it."""

    def __init__(self, fn, *args) -> None:
        self._call = (fn, args)

    def result(self):
        fn, args = self._call
        return fn(*args)


def _channel_intakes(dataset, read_ahead: bool = False):
    """Each channel's export read, validated, canonicalised and de-duplicated, one channel
    at a time (a generator of :class:`_ChannelIntake`, in the dataset's channel order).

    The raw and canonical copies of a channel are dropped before the next channel is read.
    Repeats never cross files, so de-duplicating per channel gives the same result as over
    all lines at once. The accepted lines' index numbers the canonical lines of all
    channels before repeats were removed (it continues from one channel to the next).

    With ``read_ahead``, the next channel's export is read (:func:`read_export`: the CSV
    read, the row checks and the raw lines) by one worker thread while the caller works
    on the channel just yielded; canonicalisation and de-duplication still run here, after
    the read, when nothing else runs. The reads are the same calls on the same inputs in
    the same channel order, so every part is the same as without (a read's error is
    raised when its channel's turn comes). Memory: the caller's channel beside the next
    channel's read, never beside its canonicalisation, which is where one channel peaks.
    """
    numbered = line_no_numbered(dataset)
    kept_as_lines = {ch.id for ch in dataset.channels if ch.mapping.repeated_rows == "keep"}
    # repeated_rows: keep -> the loader's line numbers (distinct per row) are compared, so
    # a verbatim repeat is not a duplicate
    dedup_numbered = [c for c in numbered if c not in kept_as_lines]
    channels = list(dataset.channels)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="intake-read") as pool:

        def read(i: int):
            if read_ahead:
                return pool.submit(read_export, dataset, channels[i].id)
            return _Now(read_export, dataset, channels[i].id)

        offset = 0
        pending = read(0) if channels else None
        for i, ch in enumerate(channels):
            result = pending.result()
            pending = None
            canon, quarantine = canonicalise(result.lines, dataset)
            m = {
                "export": result.money_read,
                "quarantined": result.money_quarantined
                + _money_of_rows(result.lines, quarantine["row"]),
                "rows_without_money": float(result.rows_without_money),
            }
            part = dict(
                channel_id=ch.id,
                read_quarantine=result.quarantine,
                canon_quarantine=quarantine,
                rows_read=result.rows_read,
                currency_filled=result.currency_filled,
                rule="line_no" if ch.id not in numbered else ch.mapping.repeated_rows,
                warnings=list(result.warnings),
            )
            del result
            canon.index = pd.RangeIndex(offset, offset + len(canon))
            offset += len(canon)
            lines, duplicates = remove_duplicate_rows(canon, dedup_numbered)
            m["duplicates"] = _money_of_rows(canon, duplicates["row"])
            del canon
            before = lines
            lines, conflicts = split_conflicting_duplicates(before, numbered)
            if len(conflicts):
                m["quarantined"] += _money_of_rows(before, conflicts["row"])
            del before
            m["accepted"] = _money_of_rows(lines, None)
            pa.default_memory_pool().release_unused()
            if i + 1 < len(channels):
                pending = read(i + 1)  # with read_ahead: read while the caller works
            yield _ChannelIntake(
                lines=lines,
                accepted=len(lines),
                conflicts=conflicts if len(conflicts) else None,
                duplicates=duplicates,
                money=m,
                **part,
            )
            del lines


def _intake_result(parts: list[_ChannelIntake], dataset, lines: pd.DataFrame) -> IngestResult:
    """The :class:`IngestResult` of the channels' parts (their ``lines`` not used: the
    accepted lines are given as ``lines``)."""
    canon_quarantine = pd.concat([p.canon_quarantine for p in parts], ignore_index=True)
    # canonicalise orders its quarantine by file and row, over whatever lines it is given
    canon_quarantine = canon_quarantine.sort_values(["source_file", "row"], kind="stable")
    conflict_q = [p.conflicts for p in parts if p.conflicts is not None]
    quarantine = pd.concat(
        [*(p.read_quarantine for p in parts), canon_quarantine, *conflict_q], ignore_index=True
    )
    duplicates = pd.concat([p.duplicates for p in parts], ignore_index=True)
    duplicates = duplicates.sort_values(["source_file", "row"], kind="stable", ignore_index=True)
    accepted = sum(p.accepted for p in parts)
    return IngestResult(
        lines,
        quarantine,
        duplicates,
        {p.channel_id: p.rows_read for p in parts},
        [*dataset.warnings, *(w for p in parts for w in p.warnings)],
        lines_parsed=accepted
        + len(duplicates)
        + len(canon_quarantine)
        + sum(len(c) for c in conflict_q),
        not_converted=len(canon_quarantine),
        money={p.channel_id: p.money for p in parts},
        currency_filled={p.channel_id: p.currency_filled for p in parts},
        repeated_rows={p.channel_id: p.rule for p in parts},
    )


def ingest_lines(dataset) -> IngestResult:
    """Read, validate, canonicalise and de-duplicate every channel's export.

    One channel at a time: its raw and canonical lines are dropped as soon as its accepted
    lines exist, so the peak memory is the accepted lines of all channels plus one
    channel's intermediates (not three copies of everything). Repeats never cross files,
    so de-duplicating per channel gives the same result as over all lines at once.
    :func:`write_intake` gives the same tables without holding the accepted lines.

    Args:
        dataset: the loaded :class:`channelops.ingest.dataset.Dataset`.

    Returns:
        :class:`IngestResult`.
    """
    parts, kept = [], []
    for part in _channel_intakes(dataset):
        kept.append(part.lines)
        part.lines = None
        parts.append(part)
    lines = pd.concat(kept, copy=False) if kept else pd.DataFrame()
    del kept
    return _intake_result(parts, dataset, lines)


@dataclass
class WrittenIntake:
    """:func:`write_intake`'s result: the intake with its accepted lines in a Parquet file.

    Attributes:
        ingested: the :class:`IngestResult`, its ``lines`` without rows (the lines'
            columns and dtypes).
        lines_file: the Parquet file of the accepted lines (personal columns dropped).
        lines_written: rows of ``lines_file``.
        sums: per channel_id, accepted lines, revenue in the export's own currency units
            and revenue_base (what :func:`intake_accounting` sums over the lines).
        kinds: :func:`line_kinds` of the accepted lines, one row per channel.
        reconciliation: :func:`revenue_reconciliation` of the accepted lines.
        buyers: :func:`channelops.ingest.buyers.buyer_records` of the accepted lines.
    """

    ingested: IngestResult
    lines_file: Path
    lines_written: int
    sums: tuple[pd.Series, pd.Series, pd.Series]
    kinds: pd.DataFrame
    reconciliation: pd.DataFrame
    buyers: pd.DataFrame


def write_intake(
    dataset,
    lines_file: str | os.PathLike[str],
    drop: tuple[str, ...] = LINE_PII_COLUMNS,
    read_ahead: bool = True,
) -> WrittenIntake:
    """:func:`ingest_lines`, with the accepted lines streamed to a Parquet file one
    channel at a time instead of held together in memory.

    Each channel's accepted lines are summed (:func:`intake_accounting`'s per-channel
    sums, :func:`line_kinds`, :func:`revenue_reconciliation`), give their buyer records
    (:func:`~channelops.ingest.buyers.buyer_records`; a buyer belongs to one channel) and
    are appended to the file, then dropped: the peak memory is one channel's
    intermediates. With ``read_ahead`` the next channel's export is read in a worker
    thread meanwhile (its canonicalisation waits, see :func:`_channel_intakes`). The file holds what ``drop_pii(ingest_lines(dataset).lines, drop)``
    written by pandas holds (same rows, order, columns, types, values and stored index),
    and the sums, kinds, reconciliation and buyers equal those computed over all lines at
    once (each is a per-channel group-by over the channel's lines in the same order). The
    file is written under a temporary name beside ``lines_file`` and renamed into place.

    Args:
        dataset: the loaded :class:`channelops.ingest.dataset.Dataset`.
        lines_file: the Parquet file to write (e.g. the run's ``tables/intake_lines.parquet``).
        drop: columns left out of the file (default the personal columns,
            :data:`~channelops.ingest.pii.LINE_PII_COLUMNS`).
        read_ahead: read the next channel's export in a worker thread while this one is
            summed and written (see :func:`_channel_intakes`; the same results either way).

    Returns:
        :class:`WrittenIntake`.
    """
    target = Path(lines_file)
    tmp = target.with_name(f".{target.stem}.{os.getpid()}.parquet.tmp")
    parts: list[_ChannelIntake] = []
    sums: list[tuple[pd.Series, pd.Series, pd.Series]] = []
    kinds, recs, buyers, index_probe = [], [], [], []
    template = pd.DataFrame()
    writer, written = None, 0
    try:
        for part in _channel_intakes(dataset, read_ahead=read_ahead):
            lines = part.lines
            part.lines = None
            template = _no_rows(lines)  # not a view: the channel's memory is let go
            sums.append(_line_sums(lines))
            kinds.append(line_kinds(lines, pd.Series([part.channel_id])))
            if len(lines):
                recs.append(revenue_reconciliation(lines))
            buyers.append(buyer_records(lines_with_buyers(lines)))
            index_probe.append(lines.index if isinstance(lines.index, pd.RangeIndex) else None)
            table = pa.Table.from_pandas(drop_pii(lines, drop), preserve_index=True)
            del lines
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            elif not table.schema.equals(writer.schema, check_metadata=False):
                raise ValueError(
                    f"channel {part.channel_id!r}: its lines' columns or types differ from "
                    f"the first channel's: {table.schema} against {writer.schema}"
                )
            writer.write_table(table)
            written += table.num_rows
            del table
            parts.append(part)
            pa.default_memory_pool().release_unused()
        if writer is not None:
            writer.close()
            writer = None
            if _index_dropped(index_probe):
                plain = drop_pii(template, drop).reset_index(drop=True)
                _drop_stored_index(tmp, target, pa.Schema.from_pandas(plain, preserve_index=False))
            else:
                os.replace(tmp, target)
        else:
            pd.DataFrame().to_parquet(target, index=False)
    finally:
        if writer is not None:
            writer.close()
        if tmp.exists():
            tmp.unlink()
    return WrittenIntake(
        ingested=_intake_result(parts, dataset, template),
        lines_file=target,
        lines_written=written,
        sums=tuple(pd.concat([s[i] for s in sums]) for i in range(3))
        if sums
        else _line_sums(template),
        kinds=pd.concat(kinds, ignore_index=True) if kinds else line_kinds(template),
        reconciliation=_concat_sorted(recs, ["channel_id", "currency"])
        if recs
        else revenue_reconciliation(template),
        buyers=_concat_sorted(buyers, ["channel_id"]) if buyers else buyer_records(template),
    )


def _no_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame.iloc[:0]`` (the same columns, dtypes and index type) holding none of
    ``frame``'s memory: a zero-row slice is a view that keeps the whole columns alive."""
    head = frame.iloc[:0]
    cols = {}
    for i in range(head.shape[1]):
        arr = head.iloc[:, i].array
        if isinstance(arr, pd.arrays.ArrowExtensionArray):
            arr = type(arr)(pa.chunked_array([], type=arr.__arrow_array__().type))
        else:
            arr = arr.copy()
        cols[i] = pd.Series(arr, dtype=head.dtypes.iloc[i], copy=False)
    out = pd.DataFrame(cols, copy=False)
    out.columns = head.columns
    out.index = head.index.copy(deep=True)
    return out


def _concat_sorted(parts: list[pd.DataFrame], by: list[str]) -> pd.DataFrame:
    """Per-channel tables stacked and ordered by ``by`` (stable), as one group-by over all
    channels orders them; empty parts are left out unless all are empty."""
    full = [p for p in parts if len(p)] or parts[:1]
    out = pd.concat(full, ignore_index=True)
    return out.sort_values(by, kind="stable", ignore_index=True)


def _index_dropped(probe: list[pd.RangeIndex | None]) -> bool:
    """True when ``pd.concat`` of the channels' lines would have a RangeIndex (so that
    pandas writes no index column): every channel's index is a RangeIndex (``None`` in
    ``probe`` stands for any other index) and together they count on without a gap."""
    if any(ix is None for ix in probe):
        return False
    return isinstance(pd.concat([pd.DataFrame(index=ix) for ix in probe]).index, pd.RangeIndex)


def _drop_stored_index(src: Path, target: Path, schema: pa.Schema) -> None:
    """Copy Parquet file ``src`` to ``target`` as ``schema`` (its columns without the
    stored pandas index, and the pandas metadata of a table written without an index);
    ``src`` is removed."""
    pf = pq.ParquetFile(src)
    names = schema.names
    tmp = target.with_name(f".{target.stem}.{os.getpid()}.noindex.tmp")
    try:
        with pq.ParquetWriter(tmp, schema) as writer:
            for batch in pf.iter_batches(columns=names):
                writer.write_table(pa.Table.from_batches([batch]).cast(schema))
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
        src.unlink()


def _money_of_rows(lines: pd.DataFrame, rows: pd.Series | None) -> float:
    """Sum of quantity x unit_price (the export's own money, before discount and
    conversion) over the lines whose ``row`` is in ``rows`` (all lines when None). One
    channel's lines come from one file, so ``row`` identifies a line."""
    if rows is not None:
        if len(rows) == 0:
            return 0.0
        lines = lines.loc[lines["row"].isin(rows.to_numpy()).to_numpy()]
    q = lines["quantity"].to_numpy(dtype=np.float64)
    return float((q * lines["unit_price"].to_numpy(dtype=np.float64)).sum())


def dq_report(
    rows_read: pd.Series,
    accepted: pd.Series,
    duplicates: pd.Series,
    quarantine: pd.DataFrame,
    revenue_raw: pd.Series,
    revenue_base: pd.Series,
) -> pd.DataFrame:
    """Per-channel accounting: rows read = accepted + duplicates + quarantined.

    Args:
        rows_read, accepted, duplicates: counts per channel_id.
        quarantine: the quarantine table (channel_id, reason).
        revenue_raw: accepted revenue per channel in the export's own currency units,
            summed as quantity x unit_price - discount (before conversion).
        revenue_base: the same lines' revenue in the base currency.

    Returns:
        One row per channel with rows_read, accepted, duplicates, quarantined, one column
        per quarantine reason (``q_<reason>``), balanced (bool), revenue_raw,
        revenue_base.

    Raises:
        AssertionError: a channel's rows do not balance (something was lost).
    """
    q = quarantine.groupby("channel_id").size() if len(quarantine) else pd.Series(dtype=int)
    rep = pd.DataFrame({"rows_read": rows_read, "accepted": accepted, "duplicates": duplicates})
    rep = rep.fillna(0).astype(int)
    rep["quarantined"] = q.reindex(rep.index).fillna(0).astype(int)
    if len(quarantine):
        by_reason = quarantine.groupby(["channel_id", "reason"]).size().unstack(fill_value=0)
        by_reason.columns = [f"q_{c}" for c in by_reason.columns]
        rep = rep.join(by_reason).fillna(0)
    rep["balanced"] = rep["rows_read"] == rep["accepted"] + rep["duplicates"] + rep["quarantined"]
    rep["revenue_raw"] = revenue_raw.reindex(rep.index).fillna(0.0).round(2)
    rep["revenue_base"] = revenue_base.reindex(rep.index).fillna(0.0).round(2)
    lost = rep.index[~rep["balanced"]].tolist()
    if lost:
        raise AssertionError(f"rows not accounted for in channel(s) {lost}:\n{rep.loc[lost]}")
    rep.index.name = "channel_id"
    return rep.reset_index()


def revenue_reconciliation(order_lines: pd.DataFrame) -> pd.DataFrame:
    """Revenue before and after canonicalisation, per channel and currency, to the cent.

    ``revenue_raw`` is sum(quantity x unit_price - discount) in the export's own currency;
    ``revenue_base`` is the canonical sum in the base currency; ``revenue_recomputed`` is
    sum((quantity x unit_price - discount) x fx_rate), an independent recomputation from
    the raw fields. ``difference_cents`` = round(100 x (revenue_base - recomputed)) and
    ``reconciled`` is True when it is 0. ``mean_rate`` = revenue_base / revenue_raw.
    """
    raw = order_lines["quantity"] * order_lines["unit_price"] - order_lines["discount"]
    # grouped on sorted integer codes (value order, missing -1 and left out as groupby
    # leaves out missing keys): the groups, their order and the lines' order within each
    # are those of grouping on the text, without a Python string per line
    ch, ch_names = pd.factorize(order_lines["channel_id"], sort=True)
    cur, cur_names = pd.factorize(order_lines["currency"], sort=True)
    t = pd.DataFrame(
        {
            "channel_id": ch,
            "currency": cur,
            "lines": 1,
            "revenue_raw": raw.astype(float).to_numpy(),
            "revenue_base": order_lines["revenue_base"].astype(float).to_numpy(),
            "revenue_recomputed": (raw * order_lines["fx_rate"]).astype(float).to_numpy(),
        }
    )
    keyed = (ch >= 0) & (cur >= 0)
    if not keyed.all():
        t = t[keyed]
    out = t.groupby(["channel_id", "currency"]).sum().reset_index()
    for c, names in (("channel_id", ch_names), ("currency", cur_names)):
        out[c] = pd.Series(pd.Index(names).take(out[c].to_numpy())).astype("string")
    out["mean_rate"] = (out["revenue_base"] / out["revenue_raw"]).round(6)
    out["difference_cents"] = (
        ((out["revenue_base"] - out["revenue_recomputed"]) * 100).round().astype("int64")
    )
    out["reconciled"] = out["difference_cents"] == 0
    for c in ("revenue_raw", "revenue_base", "revenue_recomputed"):
        out[c] = out[c].round(2)
    return out


def intake_accounting(ingested: IngestResult | WrittenIntake) -> pd.DataFrame:
    """Where every export row went, per channel: :func:`dq_report` of an :class:`IngestResult`
    (or of a :class:`WrittenIntake`, from the per-channel sums it kept),
    joined with :func:`money_accounting` (where the export's money went) and
    :func:`line_kinds` (guest, reversal and non-merchandise lines of the accepted lines).

    Accepted revenue is summed twice: in each export's own currency units
    (quantity x unit_price - discount) and in the base currency after conversion.

    Returns:
        :func:`dq_report`'s columns, then ``currency_filled`` (accepted lines whose blank
        currency cell was filled), :func:`money_accounting`'s and :func:`line_kinds`'
        columns; one row per channel.

    Raises:
        AssertionError: a channel's rows do not balance (see :func:`dq_report`).
    """
    if isinstance(ingested, WrittenIntake):
        sums, kinds, ingested = ingested.sums, ingested.kinds, ingested.ingested
    else:
        sums, kinds = _line_sums(ingested.lines), None
    dq = dq_report(
        pd.Series(ingested.rows_read),
        sums[0],
        ingested.duplicates.groupby("channel_id").size(),
        ingested.quarantine,
        sums[1],
        sums[2],
    )
    dq["currency_filled"] = dq["channel_id"].map(ingested.currency_filled).fillna(0).astype("int64")
    dq = dq.merge(money_accounting(ingested), on="channel_id", how="left")
    if kinds is None:
        kinds = line_kinds(ingested.lines, dq["channel_id"])
    return dq.merge(kinds, on="channel_id", how="left")


def _line_sums(lines: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Per channel_id: accepted lines, revenue in the export's own currency units
    (quantity x unit_price - discount) and revenue_base (base currency)."""
    raw = lines["quantity"] * lines["unit_price"] - lines["discount"]
    return (
        lines.groupby("channel_id").size(),
        raw.groupby(lines["channel_id"]).sum(),
        lines.groupby("channel_id")["revenue_base"].sum(),
    )


def money_accounting(ingested: IngestResult) -> pd.DataFrame:
    """Where each export's money went, per channel, to the penny.

    Money is the export's own: quantity x price (line_total when the mapping maps it),
    before discount and conversion, in the export's currency units. The export's total is
    summed over every row read where both are numbers, straight from the parsed text; the
    buckets are summed separately from the rows that landed in each.

    Args:
        ingested: :func:`ingest_lines`'s result.

    Returns:
        channel_id, money_export, money_accepted, money_duplicates, money_quarantined,
        rows_without_money (quarantined rows whose quantity or price is not a number: no
        money to count), money_difference_pennies = round(100 x (export - accepted -
        duplicates - quarantined)), money_reconciled (difference 0), repeated_rows (the
        rule applied to verbatim repeats: duplicate, keep, or line_no).
    """
    rows = []
    for cid, m in ingested.money.items():
        diff = m["export"] - m["accepted"] - m["duplicates"] - m["quarantined"]
        rows.append(
            {
                "channel_id": cid,
                "money_export": round(m["export"], 2),
                "money_accepted": round(m["accepted"], 2),
                "money_duplicates": round(m["duplicates"], 2),
                "money_quarantined": round(m["quarantined"], 2),
                "rows_without_money": int(m["rows_without_money"]),
                "money_difference_pennies": int(round(diff * 100)),
                "repeated_rows": ingested.repeated_rows.get(cid, "duplicate"),
            }
        )
    out = pd.DataFrame(
        rows,
        columns=[
            "channel_id",
            "money_export",
            "money_accepted",
            "money_duplicates",
            "money_quarantined",
            "rows_without_money",
            "money_difference_pennies",
            "repeated_rows",
        ],
    )
    out.insert(7, "money_reconciled", out["money_difference_pennies"].eq(0))
    return out


def line_kinds(lines: pd.DataFrame, channels: pd.Series | None = None) -> pd.DataFrame:
    """Guest, reversal and non-merchandise lines among the accepted lines, per channel.

    Args:
        lines: accepted canonical lines (channel_id, is_guest, is_merchandise, quantity,
            status, revenue_base, refund_base, net_revenue_base).
        channels: channel ids to report (channels with no lines get zeros); default the
            channels of ``lines``.

    Returns:
        channel_id, guest_lines, guest_share (of the channel's accepted lines),
        guest_net_revenue_base, cancelled_lines, returned_lines (status), reversal_lines
        (quantity < 0), non_merchandise_lines, refund_base, net_revenue_base (base
        currency).
    """
    ids = pd.Index(
        channels.astype(str) if channels is not None else lines["channel_id"].astype(str).unique(),
        name="channel_id",
    )
    if len(lines) == 0:
        zeros = pd.DataFrame(0, index=ids, columns=["guest_lines"])
        for c in ("guest_share", "guest_net_revenue_base"):
            zeros[c] = 0.0
        for c in ("cancelled_lines", "returned_lines", "reversal_lines", "non_merchandise_lines"):
            zeros[c] = 0
        zeros["refund_base"] = 0.0
        zeros["net_revenue_base"] = 0.0
        return zeros.reset_index()
    n = len(lines)

    def col(name: str, default: Any) -> np.ndarray:
        # lines built before the intake contract of issue 18 lack the newer columns
        if name in lines.columns:
            return lines[name].to_numpy()
        return np.asarray(default() if callable(default) else np.full(n, default))

    guest = col(
        "is_guest",
        lambda: (
            lines["buyer_ref"].isna().to_numpy()
            if "buyer_ref" in lines.columns
            else np.zeros(n, dtype=bool)
        ),
    ).astype(bool)
    net = col("net_revenue_base", lambda: lines["revenue_base"].to_numpy()).astype(np.float64)
    status = lines["status"] if "status" in lines.columns else pd.Series([pd.NA] * n)
    # grouped on integer codes of the channel (no Python string per line), the same
    # groups in the same line order as grouping on the text
    code, names = pd.factorize(lines["channel_id"], use_na_sentinel=False)
    g = pd.DataFrame(
        {
            "channel_id": code,
            "n": 1,
            "guest_lines": guest.astype(np.int64),
            "guest_net_revenue_base": np.where(guest, net, 0.0),
            "cancelled_lines": status.eq("cancelled").to_numpy(dtype=np.int64, na_value=0),
            "returned_lines": status.eq("returned").to_numpy(dtype=np.int64, na_value=0),
            "reversal_lines": (lines["quantity"].to_numpy() < 0).astype(np.int64),
            "non_merchandise_lines": (~col("is_merchandise", True).astype(bool)).astype(np.int64),
            "refund_base": col("refund_base", 0.0).astype(np.float64),
            "net_revenue_base": net,
        }
    )
    out = g.groupby("channel_id").sum()
    out.index = pd.Index(pd.Series(names).astype(str).to_numpy(), name="channel_id")
    out = out.reindex(ids, fill_value=0)
    out.insert(2, "guest_share", (out["guest_lines"] / out["n"].where(out["n"] > 0)).fillna(0.0))
    out = out.drop(columns="n")
    for c in ("guest_net_revenue_base", "refund_base", "net_revenue_base"):
        out[c] = out[c].round(2)
    return out.reset_index()


def quarantine_reasons(quarantine: pd.DataFrame) -> pd.DataFrame:
    """Quarantined rows per channel and reason, most frequent first, with one example
    location (file and row) each, for the analyst who fixes the mapping or the export."""
    if quarantine.empty:
        return pd.DataFrame(columns=["channel_id", "reason", "rows", "first_file", "first_row"])
    g = quarantine.groupby(["channel_id", "reason"], sort=False)
    out = g.size().rename("rows").to_frame()
    out["first_file"] = g["source_file"].first()
    out["first_row"] = g["row"].first()
    return out.reset_index().sort_values(
        ["rows", "channel_id"], ascending=[False, True], ignore_index=True
    )


def intake_summary(dq: pd.DataFrame, reconciliation: pd.DataFrame) -> str:
    """The intake's finding in two sentences, computed from its two tables.

    Args:
        dq: :func:`intake_accounting`'s table (rows_read, accepted, duplicates, quarantined,
            ``q_<reason>`` columns per channel).
        reconciliation: :func:`revenue_reconciliation`'s table (channel_id, reconciled).

    Returns:
        What share of the rows was accepted, repeated and set aside (with the largest
        reason and where), and whether revenue reconciles on every channel.
    """
    read = int(dq["rows_read"].sum())
    if read == 0:
        return "No export rows were read: the dataset's exports are empty."
    parts = {k: int(dq[k].sum()) for k in ("accepted", "duplicates", "quarantined")}
    text = (
        f"Of {read:,} export rows in {len(dq)} channel(s), {parts['accepted']:,} "
        f"({parts['accepted'] / read:.1%}) were accepted, {parts['duplicates']:,} "
        f"({parts['duplicates'] / read:.1%}) repeated another row and {parts['quarantined']:,} "
        f"({parts['quarantined'] / read:.1%}) were set aside"
    )
    reasons = dq.set_index("channel_id")[[c for c in dq.columns if c.startswith("q_")]]
    if parts["quarantined"] and reasons.size:
        by_reason = reasons.sum().sort_values(ascending=False)
        top = by_reason.index[0]
        where = reasons[top].idxmax()
        text += (
            f"; the most frequent reason is {top[2:]} ({int(by_reason.iloc[0]):,} rows, "
            f"most of them in {where})"
        )
    text += ". "
    bad = reconciliation.loc[~reconciliation["reconciled"].astype(bool), "channel_id"]
    if len(reconciliation) == 0:
        text += "No revenue was accepted, so there is nothing to reconcile."
    elif bad.empty:
        text += "Revenue reconciles to the cent on every channel."
    else:
        text += (
            f"Revenue does not reconcile to the cent on {', '.join(sorted(set(bad.astype(str))))}: "
            "see dq_revenue's difference_cents."
        )
    for extra in (_kinds_sentence(dq), _money_sentence(dq), _repeats_sentence(dq)):
        if extra:
            text += " " + extra
    return text


def _kinds_sentence(dq: pd.DataFrame) -> str:
    """Guest, reversal, cancelled/returned and non-merchandise lines among the accepted
    (empty when ``dq`` lacks :func:`line_kinds`' columns or nothing was accepted)."""
    need = ("guest_lines", "reversal_lines", "cancelled_lines", "returned_lines")
    accepted = int(dq["accepted"].sum())
    if not accepted or any(c not in dq.columns for c in need):
        return ""
    n = {
        c: int(dq[c].sum()) for c in (*need, "non_merchandise_lines", "currency_filled") if c in dq
    }
    if not any(n.values()):
        return ""
    text = (
        f"Of the {accepted:,} accepted lines, {n['guest_lines']:,} "
        f"({n['guest_lines'] / accepted:.1%}) are guest lines (no buyer identity: counted in "
        f"revenue and demand, left out of per-customer analyses), {n['reversal_lines']:,} are "
        f"reversals (negative quantity), {n['cancelled_lines']:,} have the status cancelled "
        f"and {n['returned_lines']:,} returned"
    )
    if "non_merchandise_lines" in n:
        text += (
            f", and {n['non_merchandise_lines']:,} are non-merchandise (postage, fees, "
            "adjustments: in the money, never in demand)"
        )
    text += "."
    if n.get("currency_filled"):
        text += (
            f" {n['currency_filled']:,} blank currency cells took the mapping's default, the "
            "channel's or the base currency."
        )
    return text


def _money_sentence(dq: pd.DataFrame) -> str:
    """Whether each export's money (quantity x price) adds up to the penny over the
    accepted, repeated and quarantined buckets, with the buckets' totals."""
    if "money_difference_pennies" not in dq.columns or dq["money_export"].isna().any():
        return ""
    tot = {
        c: float(dq[f"money_{c}"].sum())
        for c in ("export", "accepted", "duplicates", "quarantined")
    }
    off = dq.loc[dq["money_difference_pennies"] != 0, "channel_id"].astype(str).tolist()
    where = (
        "on every channel"
        if not off
        else f"except on {', '.join(off)} (see dq_report's money_difference_pennies)"
    )
    text = (
        f"The exports' own money (quantity x price, in each export's currency units) adds up "
        f"to the penny {where}: {tot['export']:,.2f} read = {tot['accepted']:,.2f} accepted + "
        f"{tot['duplicates']:,.2f} in repeated rows + {tot['quarantined']:,.2f} quarantined"
    )
    nomoney = int(dq["rows_without_money"].sum()) if "rows_without_money" in dq else 0
    if nomoney:
        text += f" ({nomoney:,} quarantined rows have no number to count)"
    return text + "."


def _repeats_sentence(dq: pd.DataFrame) -> str:
    """The repeated-line rule each channel's repeats were judged by."""
    if "repeated_rows" not in dq.columns or dq["repeated_rows"].isna().any():
        return ""
    words = {
        "duplicate": "a verbatim repeat of a row is an export duplicate, kept once",
        "keep": "a verbatim repeat is a real repeated line, kept (mapping `repeated_rows: keep`)",
        "line_no": "the export numbers its lines, so a repeat names the same line twice and is "
        "kept once",
    }
    parts = [
        f"on {', '.join(sorted(g['channel_id'].astype(str)))}, {words.get(rule, rule)}"
        for rule, g in dq.groupby("repeated_rows", sort=True)
    ]
    return "Repeated-line rule: " + "; ".join(parts) + "."
