"""The intake: every export read, validated, canonicalised and de-duplicated, every row
accounted for (accepted, repeated, or quarantined with a reason).

Stage 00 calls :func:`ingest_lines` once; every other stage reads its tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from channelops.ingest.canonical import canonicalise
from channelops.ingest.contract import CANONICAL_FIELDS, PII_FIELDS, STRING
from channelops.ingest.dataset import read_export
from channelops.ingest.quarantine import _quarantine_frame, empty_quarantine

__all__ = [
    "IngestResult",
    "ingest_lines",
    "remove_duplicate_rows",
    "split_conflicting_duplicates",
    "line_no_numbered",
    "dq_report",
    "revenue_reconciliation",
    "intake_accounting",
    "quarantine_reasons",
    "intake_summary",
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
    ``pd.factorize`` codes, re-factorised after each column so the code stays below the
    row count (no overflow, no hash collisions)."""
    codes = np.zeros(len(frame), dtype=np.int64)
    for c in columns:
        col_codes, uniques = pd.factorize(frame[c], use_na_sentinel=True)
        col_codes = col_codes.astype(np.int64) + 1  # -1 (missing) -> 0
        codes, _ = pd.factorize(codes * (len(uniques) + 1) + col_codes)
        codes = codes.astype(np.int64)
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
    codes = _group_codes(key_frame, list(key_frame.columns))
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
        sub = pd.DataFrame(
            {"f": file_code[renum], "o": pd.factorize(lines["order_id"].iloc[renum])[0]}
        )
        new_no = sub.groupby(["f", "o"], sort=False).cumcount().to_numpy() + 1
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
    codes = _group_codes(
        lines[["channel_id", "order_id", "line_no"]], ["channel_id", "order_id", "line_no"]
    )
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
    """

    lines: pd.DataFrame
    quarantine: pd.DataFrame
    duplicates: pd.DataFrame
    rows_read: dict[str, int]
    warnings: list[str]
    lines_parsed: int = 0
    not_converted: int = 0


def ingest_lines(dataset) -> IngestResult:
    """Read, validate, canonicalise and de-duplicate every channel's export.

    One channel at a time: its raw and canonical lines are dropped as soon as its accepted
    lines exist, so the peak memory is the accepted lines of all channels plus one
    channel's intermediates (not three copies of everything). Repeats never cross files,
    so de-duplicating per channel gives the same result as over all lines at once.

    Args:
        dataset: the loaded :class:`channelops.ingest.dataset.Dataset`.

    Returns:
        :class:`IngestResult`.
    """
    numbered = line_no_numbered(dataset)
    kept, read_q, canon_q, dups, conflict_q = [], [], [], [], []
    rows_read: dict[str, int] = {}
    warnings: list[str] = list(dataset.warnings)
    offset = 0
    for ch in dataset.channels:
        result = read_export(dataset, ch.id)
        rows_read[ch.id] = result.rows_read
        read_q.append(result.quarantine)
        warnings.extend(result.warnings)
        canon, quarantine = canonicalise(result.lines, dataset)
        del result
        canon_q.append(quarantine)
        canon.index = pd.RangeIndex(offset, offset + len(canon))
        offset += len(canon)
        lines, duplicates = remove_duplicate_rows(canon, numbered)
        del canon
        lines, conflicts = split_conflicting_duplicates(lines, numbered)
        if len(conflicts):
            conflict_q.append(conflicts)
        kept.append(lines)
        dups.append(duplicates)
        pa.default_memory_pool().release_unused()
    lines = pd.concat(kept, copy=False) if kept else pd.DataFrame()
    del kept
    canon_quarantine = pd.concat(canon_q, ignore_index=True)
    # canonicalise orders its quarantine by file and row, over whatever lines it is given
    canon_quarantine = canon_quarantine.sort_values(["source_file", "row"], kind="stable")
    quarantine = pd.concat([*read_q, canon_quarantine, *conflict_q], ignore_index=True)
    duplicates = pd.concat(dups, ignore_index=True)
    duplicates = duplicates.sort_values(["source_file", "row"], kind="stable", ignore_index=True)
    return IngestResult(
        lines,
        quarantine,
        duplicates,
        rows_read,
        warnings,
        lines_parsed=len(lines)
        + len(duplicates)
        + len(canon_quarantine)
        + sum(len(c) for c in conflict_q),
        not_converted=len(canon_quarantine),
    )


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
    t = pd.DataFrame(
        {
            "channel_id": order_lines["channel_id"].astype("string"),
            "currency": order_lines["currency"].astype("string"),
            "lines": 1,
            "revenue_raw": raw.astype(float),
            "revenue_base": order_lines["revenue_base"].astype(float),
            "revenue_recomputed": (raw * order_lines["fx_rate"]).astype(float),
        }
    )
    out = t.groupby(["channel_id", "currency"], observed=True).sum().reset_index()
    out["mean_rate"] = (out["revenue_base"] / out["revenue_raw"]).round(6)
    out["difference_cents"] = (
        ((out["revenue_base"] - out["revenue_recomputed"]) * 100).round().astype("int64")
    )
    out["reconciled"] = out["difference_cents"] == 0
    for c in ("revenue_raw", "revenue_base", "revenue_recomputed"):
        out[c] = out[c].round(2)
    return out


def intake_accounting(ingested: IngestResult) -> pd.DataFrame:
    """Where every export row went, per channel: :func:`dq_report` of an :class:`IngestResult`.

    Accepted revenue is summed twice: in each export's own currency units
    (quantity x unit_price - discount) and in the base currency after conversion.

    Raises:
        AssertionError: a channel's rows do not balance (see :func:`dq_report`).
    """
    lines = ingested.lines
    by_channel = lines["channel_id"]
    raw = lines["quantity"] * lines["unit_price"] - lines["discount"]
    return dq_report(
        pd.Series(ingested.rows_read),
        lines.groupby("channel_id").size(),
        ingested.duplicates.groupby("channel_id").size(),
        ingested.quarantine,
        raw.groupby(by_channel).sum(),
        lines.groupby("channel_id")["revenue_base"].sum(),
    )


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
    return text
