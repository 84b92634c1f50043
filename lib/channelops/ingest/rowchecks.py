"""The row checks of an export: each row's first problem, found column by column.

The checks run in the order of :data:`channelops.ingest.contract.REASONS` (missing_value,
bad_timestamp, implausible_timestamp, bad_number, nonpositive_quantity, negative_price,
negative_discount, unknown_status); a row keeps the first problem found and later checks
skip it. Every check is a boolean mask over the rows; no loop runs over rows.

What is *not* a problem: a blank buyer_ref (a guest line), a negative quantity (a
reversal: units coming back), a zero price, and a negative price on a non-merchandise line
(a discount, a manual adjustment, a bad-debt write-off: money the books hold).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from channelops.ingest.arrowtext import _arrow, _series, _to_float
from channelops.ingest.contract import NUMERIC_FIELDS, STATUSES, Mapping
from channelops.ingest.merchandise import is_non_merchandise_code
from channelops.ingest.timestamps import _far_years, _parse_order_ts, _plausible_window

#: builds the quarantine message from the rejected values (text), or is one fixed message
_Message = Callable[[pd.Series], "str | pd.Series"]

#: the fields whose empty value rejects a row (line_no only when the export carries it;
#: a blank buyer_ref is a guest line, not a problem)
_NONEMPTY_FIELDS: tuple[str, ...] = (
    "order_id",
    "line_no",
    "order_ts",
    "channel_sku",
    "quantity",
    "unit_price",
    "line_total",
)


@dataclass
class _Problems:
    """The first problem of every row.

    Attributes:
        flag: int16 per row: 0 when the row has no problem, else k, the 1-based position in
            ``found`` of the problem that rejected it.
        found: (reason, canonical field, message) of each problem, in the order found.
    """

    flag: np.ndarray
    found: list[tuple[str, str, _Message]] = field(default_factory=list)

    def add(self, reason: str, f: str, mask: np.ndarray, message: _Message) -> None:
        """Reject the rows of ``mask`` that have no problem yet, for ``reason`` on ``f``."""
        new = mask & (self.flag == 0)
        if new.any():
            self.found.append((reason, f, message))
            self.flag[new] = len(self.found)

    @property
    def ok(self) -> np.ndarray:
        """Bool mask of the rows without a problem."""
        return self.flag == 0


@dataclass
class _CheckedRows:
    """What the checks found and parsed along the way.

    Attributes:
        problems: the first problem of every row.
        order_ts: order timestamps, datetime64[ns, UTC] (NaT where missing or unparseable).
        nums: canonical numeric field -> float64 per row (NaN where empty or not a number),
            for the numeric fields the export carries; ``unit_price`` is line_total /
            quantity when the mapping maps line_total; ``refund`` is its magnitude.
        status: lower-cased status per row (status rules applied), or None when the export
            has no status and no rule matched any row.
        non_merchandise: bool per row, the channel code is a non-merchandise code.
    """

    problems: _Problems
    order_ts: pd.Series
    nums: dict[str, np.ndarray]
    status: pd.Series | None
    non_merchandise: np.ndarray


def _check_rows(
    text: dict[str, pd.Series],
    fields: dict[str, str],
    m: Mapping,
    ts_tz: str,
    dates: tuple[dt.date, dt.date] | None = None,
    report_tz: str = "UTC",
    rule_text: dict[str, pd.Series] | None = None,
) -> _CheckedRows:
    """Run every row check over an export's field text.

    Args:
        text: canonical field -> stripped text per row (<NA> where empty), value maps applied.
        fields: canonical field -> export column (for messages).
        m: the channel's mapping (timestamp format, read dialect, file for messages).
        ts_tz: timezone of naive timestamps.
        dates, report_tz: dataset.yaml's ``plausible_dates`` (None: derived from the
            export, see :func:`_plausible_window`) and the reporting timezone they are in.
        rule_text: export column -> stripped text per row, for the columns the mapping's
            ``status_rules`` name.

    Returns:
        The problems found, in check order, and the parsed timestamps, numbers and statuses.
    """
    problems = _Problems(np.zeros(len(text["order_id"]), dtype=np.int16))
    _check_missing(problems, text, fields)
    order_ts, far = _check_timestamps(problems, text, m, ts_tz)
    _check_plausible(problems, order_ts, far, dates, report_tz)
    nums = _check_numbers(problems, text, fields, m)
    non_merch = is_non_merchandise_code(text["channel_sku"], m.non_merchandise)
    _check_ranges(problems, nums, non_merch, "line_total" in fields)
    status = _check_status(problems, text, fields, m, nums, rule_text or {})
    return _CheckedRows(problems, order_ts, nums, status, non_merch)


def _isna(text: dict[str, pd.Series], f: str) -> np.ndarray:
    return text[f].isna().to_numpy()


def _check_missing(problems: _Problems, text: dict[str, pd.Series], fields: dict[str, str]) -> None:
    """missing_value: a required field (or line_no when mapped) is empty."""
    for f in _NONEMPTY_FIELDS:
        if f in fields:
            problems.add(
                "missing_value",
                f,
                _isna(text, f),
                lambda v, f=f: f"{f} is empty (column {fields[f]!r})",
            )


def _check_timestamps(
    problems: _Problems, text: dict[str, pd.Series], m: Mapping, ts_tz: str
) -> tuple[pd.Series, np.ndarray]:
    """bad_timestamp: order_ts does not parse as the mapping says, and is not a date with a
    year no timestamp can hold. Returns the parsed order timestamps (datetime64[ns, UTC])
    and the mask of those far years (see :func:`_far_years`)."""
    order_ts, what = _parse_order_ts(text["order_ts"], m, ts_tz)
    far = _far_years(text["order_ts"], order_ts, m, ts_tz)
    problems.add(
        "bad_timestamp",
        "order_ts",
        order_ts.isna().to_numpy() & ~_isna(text, "order_ts") & ~far,
        lambda v: "'" + v + f"' is not {what}",
    )
    return order_ts, far


def _check_plausible(
    problems: _Problems,
    order_ts: pd.Series,
    far: np.ndarray,
    dates: tuple[dt.date, dt.date] | None,
    report_tz: str,
) -> None:
    """implausible_timestamp: order_ts is a date outside the plausible window (see
    :func:`_plausible_window`), or one whose year no timestamp can hold (``far``)."""
    window = _plausible_window(order_ts, dates, report_tz)
    if window is None:
        outside, what = far, "a year a timestamp can hold"
    else:
        start, end, what = window
        outside = far | ((order_ts < start) | (order_ts >= end)).to_numpy(dtype=bool)
    problems.add(
        "implausible_timestamp",
        "order_ts",
        outside,
        lambda v: "'" + v + f"' is outside the plausible order dates {what}",
    )


def _check_numbers(
    problems: _Problems, text: dict[str, pd.Series], fields: dict[str, str], m: Mapping
) -> dict[str, np.ndarray]:
    """bad_number: a numeric field is not a number (line_no and quantity: not a whole
    number; line_no also below 1). Returns field -> float64 per row."""
    nums: dict[str, np.ndarray] = {}
    for f in NUMERIC_FIELDS:
        if f not in fields:
            continue
        x = _to_float(text[f], m.read)
        nums[f] = x
        notna = ~_isna(text, f)
        whole = f in ("line_no", "quantity")
        bad = notna & ~np.isfinite(x)
        if whole:
            bad |= notna & np.isfinite(x) & ((x != np.floor(x)) | (np.abs(x) > 2**53))
        kind = "a whole number" if whole else "a number"
        if f == "line_no":
            bad |= notna & np.isfinite(x) & (x < 1)
            kind = "a whole number >= 1"
        problems.add("bad_number", f, bad, lambda v, k=kind: "'" + v + f"' is not {k}")
    if "line_total" in nums:
        q = nums["quantity"]
        with np.errstate(divide="ignore", invalid="ignore"):
            nums["unit_price"] = np.where(q != 0, nums["line_total"] / q, np.nan)
    if "refund" in nums:
        # a refund is an amount paid back: some platforms write it negative, its sign is dropped
        nums["refund"] = np.abs(nums["refund"])
    return nums


def _check_ranges(
    problems: _Problems, nums: dict[str, np.ndarray], non_merch: np.ndarray, line_total: bool
) -> None:
    """nonpositive_quantity (quantity 0: a line that moves no units and no money; a
    negative quantity is a reversal and accepted), negative_price (a merchandise line sold
    below 0; non-merchandise lines such as discounts and bad-debt adjustments may be
    negative), negative_discount."""
    problems.add(
        "nonpositive_quantity",
        "quantity",
        nums["quantity"] == 0,
        lambda v: "quantity must not be 0 (a negative quantity is a reversal), found '" + v + "'",
    )
    price = "line_total" if line_total else "unit_price"
    problems.add(
        "negative_price",
        price,
        (nums["unit_price"] < 0) & ~non_merch,
        lambda v: (
            (
                "line_total of a merchandise line must have the sign of its quantity"
                if line_total
                else "unit_price of a merchandise line must be >= 0"
            )
            + " (only non-merchandise codes such as discounts and adjustments may be "
            "negative), found '" + v + "'"
        ),
    )
    if "discount" in nums:
        problems.add(
            "negative_discount",
            "discount",
            nums["discount"] < 0,
            lambda v: "discount must be >= 0, found '" + v + "'",
        )


def _rule_status(
    text: dict[str, pd.Series],
    m: Mapping,
    nums: dict[str, np.ndarray],
    rule_text: dict[str, pd.Series],
) -> pd.Series | None:
    """The status the mapping's ``status_rules`` give each row (first match wins), <NA>
    where no rule matches; None when the mapping has no rules."""
    if not m.status_rules:
        return None
    n = len(text["order_id"])
    out = np.full(n, None, dtype=object)
    free = np.ones(n, dtype=bool)
    for rule in m.status_rules:
        if rule.order_id_prefix is not None:
            hit = pc.starts_with(_arrow(text["order_id"]), rule.order_id_prefix)
            match = hit.to_numpy(zero_copy_only=False)
            match = np.asarray(pd.array(match, dtype="boolean").fillna(False), dtype=bool)
        elif rule.quantity == "negative":
            match = np.nan_to_num(nums["quantity"], nan=0.0) < 0
        else:
            words = _series(pc.utf8_lower(_arrow(rule_text[rule.column])))
            match = words.isin(list(rule.value)).to_numpy(dtype=bool, na_value=False)
        new = match & free
        out[new] = rule.status
        free &= ~new
    return pd.Series(out, dtype=pd.StringDtype("pyarrow"))


def _check_status(
    problems: _Problems,
    text: dict[str, pd.Series],
    fields: dict[str, str],
    m: Mapping,
    nums: dict[str, np.ndarray] | None = None,
    rule_text: dict[str, pd.Series] | None = None,
) -> pd.Series | None:
    """unknown_status: a status word (after the mapping's value map) that is not a canonical
    status, on a row no status rule matched. Returns the lower-cased statuses (a rule's
    status where one matched), or None when the export has no status and no rules."""
    ruled = _rule_status(text, m, nums or {}, rule_text or {})
    if "status" not in fields:
        return ruled
    status = _series(pc.utf8_lower(_arrow(text["status"])))
    bad = ~_isna(text, "status") & ~status.isin(STATUSES).to_numpy(dtype=bool, na_value=False)
    if ruled is not None:
        matched = ruled.notna().to_numpy()
        bad &= ~matched
        status = pd.Series(
            np.where(matched, ruled.to_numpy(dtype=object), status.to_numpy(dtype=object)),
            index=status.index,
            dtype=pd.StringDtype("pyarrow"),
        )
    problems.add(
        "unknown_status",
        "status",
        bad,
        lambda v: (
            "'"
            + v
            + "' is not a canonical status ("
            + ", ".join(STATUSES)
            + f") and has no entry under values.status in {m.file}"
        ),
    )
    return status
