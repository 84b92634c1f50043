"""The quarantine: rejected rows with the file, row, column, value, reason and message.

:func:`_build_quarantine` builds an export's quarantine from its row checks;
:func:`_quarantine_frame` gives any quarantine the columns and dtypes of
:data:`QUARANTINE_COLUMNS` (canonicalisation adds its own rejected rows in this form).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from channelops.ingest.contract import QUARANTINE_COLUMNS, STRING, ChannelSpec
from channelops.ingest.pii import LINE_PII_COLUMNS, mask_field
from channelops.ingest.rowchecks import _Problems

__all__ = ["empty_quarantine"]


def _build_quarantine(
    ch: ChannelSpec,
    raw: dict[str, pd.Series],
    fields: dict[str, str],
    rows: np.ndarray,
    problems: _Problems,
    ragged: list[tuple[int, int, str]],
    n_fields: int,
) -> pd.DataFrame:
    """The quarantine of one export: one row per rejected row, sorted by row.

    Args:
        ch: the channel (source_file and id of every row).
        raw: export column -> the text as read, per good row (the quarantined ``value``).
        fields: canonical field -> export column.
        rows: record number of each good row.
        problems: the first problem of every good row.
        ragged: (record number, field count, text) of the rows with the wrong field count.
        n_fields: the header's field count (for the ragged_row message).

    Returns:
        Columns :data:`QUARANTINE_COLUMNS`. A value from an export column the mapping also
        maps to a personal field (buyer name, e-mail, phone, address) is masked, in
        ``value`` and in the message.
    """
    personal = {fields[p]: p for p in LINE_PII_COLUMNS if p in fields}
    parts = []
    for k, (reason, f, message) in enumerate(problems.found, 1):
        idx = np.flatnonzero(problems.flag == k)
        value = raw[fields[f]].iloc[idx].fillna("").reset_index(drop=True)
        if fields[f] in personal:
            value = mask_field(personal[fields[f]], value).fillna("").astype(STRING)
        parts.append(
            pd.DataFrame(
                {
                    "row": rows[idx],
                    "column": fields[f],
                    "value": value,
                    "reason": reason,
                    "message": _messages(message(value), len(idx)),
                }
            )
        )
    if ragged:
        parts.append(
            pd.DataFrame(
                {
                    "row": np.array([r[0] for r in ragged], dtype=np.int64),
                    "column": pd.NA,
                    "value": [r[2] for r in ragged],
                    "reason": "ragged_row",
                    "message": [
                        f"expected {n_fields} fields (as in the header), found {r[1]}"
                        for r in ragged
                    ],
                }
            )
        )
    q = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(
            {
                "row": np.array([], dtype=np.int64),
                "column": [],
                "value": [],
                "reason": [],
                "message": [],
            }
        )
    )
    q = q.sort_values("row", kind="stable").reset_index(drop=True)
    q.insert(0, "source_file", ch.source_file)
    q.insert(2, "channel_id", ch.id)
    return _quarantine_frame(q)


def _messages(msg: str | pd.Series, n: int) -> pd.Series:
    """One message per quarantined row: ``msg`` repeated ``n`` times, or ``msg`` itself."""
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
