"""Purchases as implicit feedback: clean lines, time split, the weighted customer x SKU matrix.

Implicit feedback: we never see a rating, only that a customer bought a product (and how
many, and when). A purchase is read as evidence of preference, its strength the quantity
bought, discounted by age with a half-life:

    r[u, i] = sum over u's lines of i of  quantity * 0.5 ** (age_days / half_life_days)

where ``age_days`` is measured back from the training period's end. Zero means "no
evidence", not "dislike". Alongside it, :class:`Interactions` keeps the plain counts the
repeat-purchase model needs: purchase lines per customer and SKU (no weights) and, when the
lines carry a ``channel_id``, lines per customer and channel and per channel and SKU.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import scipy.sparse as sp

from channelops.frames import arrow_string_dtype

__all__ = [
    "REQUIRED_COLUMNS",
    "LINE_COLUMNS",
    "Interactions",
    "catalogue",
    "purchase_accounting",
    "left_out_sentence",
    "purchase_lines",
    "read_purchases",
    "time_split",
    "resolve_cutoff",
    "sample_customers",
    "build_interactions",
]

#: Columns of 03's ``order_lines`` every function here needs.
REQUIRED_COLUMNS = ("customer_id", "sku", "order_ts", "quantity")
#: Columns of 03's ``order_lines`` the notebook reads: the purchases and, for what is left
#: out, the guest flag, order ids, net revenue and the intake's merchandise flag and
#: demand units (data contract).
LINE_COLUMNS = (
    "customer_id",
    "channel_id",
    "order_id",
    "sku",
    "order_ts",
    "quantity",
    "status",
    "revenue_base",
    "net_revenue_base",
    "is_guest",
    "is_merchandise",
    "demand_units",
)
#: Statuses that are not kept purchases and so are not evidence of preference.
IGNORED_STATUSES = ("cancelled", "returned")
#: Columns of the catalogue (:func:`catalogue`).
CATALOGUE_COLUMNS = ("sku", "category", "list_price")


def _require(frame: pd.DataFrame, columns: tuple[str, ...] | list[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{name} is missing column(s) {missing}; expected at least {list(columns)}"
        )


def _guest(lines: pd.DataFrame) -> np.ndarray:
    """Per line, True for a guest line: ``is_guest`` (the intake's flag) or no customer_id."""
    guest = lines["customer_id"].isna().to_numpy(dtype=bool)
    if "is_guest" in lines:
        guest |= lines["is_guest"].fillna(False).to_numpy(dtype=bool)
    return guest


def _non_merchandise(lines: pd.DataFrame) -> np.ndarray:
    """Per line, True for a non-merchandise line (``is_merchandise`` False: postage, fees,
    discounts, gift cards, ...); all False without the column."""
    if "is_merchandise" not in lines:
        return np.zeros(len(lines), dtype=bool)
    return ~lines["is_merchandise"].fillna(True).to_numpy(dtype=bool)


def _purchase_mask(lines: pd.DataFrame, ignore_status: tuple[str, ...]) -> np.ndarray:
    """Per line, True when it is evidence of a customer's taste: a merchandise line of a
    known customer with a SKU and a time and ``demand_units`` > 0 (with no demand_units
    column: quantity > 0 and a status not in ``ignore_status``)."""
    mask = lines[["customer_id", "sku", "order_ts", "quantity"]].notna().all(axis=1).to_numpy()
    mask &= ~_guest(lines) & ~_non_merchandise(lines)
    if "demand_units" in lines:
        mask &= (lines["demand_units"].fillna(0) > 0).to_numpy(dtype=bool)
        return mask
    if "status" in lines and ignore_status:
        mask &= ~lines["status"].isin(list(ignore_status)).to_numpy(dtype=bool)
    mask &= (lines["quantity"] > 0).to_numpy(dtype=bool)
    return mask


def purchase_accounting(
    lines: pd.DataFrame, ignore_status: tuple[str, ...] = IGNORED_STATUSES
) -> pd.Series:
    """What of 03's order lines 07 learns from, and what it leaves out and why.

    Each line is counted once, in this order: a guest line (no customer: guest checkout,
    :func:`_guest`), a non-merchandise line of a customer (postage, fees, ...), a line that
    is no purchase (cancelled, returned, a reversal; ``demand_units`` 0), else a purchase.

    Args:
        lines: 03's ``order_lines`` (customer_id, sku, order_ts, quantity; optional
            is_guest, is_merchandise, demand_units, status, order_id, channel_id,
            net_revenue_base or revenue_base).

    Returns:
        Series: lines, purchase_lines, customers (with a purchase), guest_lines,
        guest_orders (distinct channel x order of the guest lines; 0 without order_id),
        guest_revenue (their net revenue, base currency; 0 without a revenue column),
        non_merchandise_lines, not_purchase_lines.
    """
    _require(lines, REQUIRED_COLUMNS, "order_lines")
    guest = _guest(lines)
    non_merch = _non_merchandise(lines) & ~guest
    bought = _purchase_mask(lines, ignore_status)
    g = lines.loc[guest]
    orders = 0
    if "order_id" in g:
        keys = [c for c in ("channel_id", "order_id") if c in g]
        orders = len(g[keys].drop_duplicates())
    money = next((c for c in ("net_revenue_base", "revenue_base") if c in g), None)
    return pd.Series(
        {
            "lines": len(lines),
            "purchase_lines": int(bought.sum()),
            "customers": int(lines.loc[bought, "customer_id"].nunique()),
            "guest_lines": int(guest.sum()),
            "guest_orders": orders,
            "guest_revenue": float(g[money].sum()) if money else 0.0,
            "non_merchandise_lines": int(non_merch.sum()),
            "not_purchase_lines": int((~guest & ~non_merch & ~bought).sum()),
        },
        dtype=object,
    )


def _count(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def left_out_sentence(acc: pd.Series, currency: str = "") -> str:
    """One sentence: what 07 learns from and what it leaves out, from :func:`purchase_accounting`.

    Args:
        acc: :func:`purchase_accounting`.
        currency: the base currency's code, written after the guest revenue.

    Returns:
        e.g. "07 learns from 900 purchase lines of 120 customers; left out: 80 guest lines
        (40 orders, 1,234 CNY net revenue) that no customer can be recommended for, 5
        non-merchandise lines (never recommended) and 15 cancelled, returned or reversed
        lines."
    """
    cur = f" {currency}" if currency else ""
    parts = []
    if acc["guest_lines"]:
        parts.append(
            f"{_count(acc['guest_lines'], 'guest line', 'guest lines')} "
            f"({_count(acc['guest_orders'], 'order', 'orders')}, "
            f"{acc['guest_revenue']:,.0f}{cur} net revenue) that no customer can be "
            "recommended for"
        )
    if acc["non_merchandise_lines"]:
        n = acc["non_merchandise_lines"]
        parts.append(
            f"{_count(n, 'non-merchandise line', 'non-merchandise lines')} (never recommended)"
        )
    if acc["not_purchase_lines"]:
        n = acc["not_purchase_lines"]
        parts.append(
            _count(
                n, "cancelled, returned or reversed line", "cancelled, returned or reversed lines"
            )
        )
    head = (
        f"07 learns from {_count(acc['purchase_lines'], 'purchase line', 'purchase lines')} "
        f"of {_count(acc['customers'], 'customer', 'customers')}"
    )
    if not parts:
        return head + "; no line is left out."
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"{head}; left out: {listed}."


def catalogue(products: pd.DataFrame | None, lines: pd.DataFrame | None = None) -> pd.DataFrame:
    """The SKUs 07 may recommend and list: the products that are merchandise.

    Args:
        products: 03's ``products`` (sku; category, list_price and merchandise when known).
        lines: 03's ``order_lines`` with sku and is_merchandise: a SKU that appears on a
            non-merchandise line (its code is a postage, fee, ... code) is left out.

    Returns:
        sku (str), category and list_price (NA where the products do not say), one row per
        SKU, products marked ``merchandise`` False and non-merchandise codes left out.
    """
    if products is None or "sku" not in products:
        out = pd.DataFrame({"sku": pd.Series(dtype=object)})
    else:
        out = products.drop_duplicates("sku").reset_index(drop=True)
        if "merchandise" in out:
            keep = out["merchandise"].astype("boolean").fillna(True).to_numpy(dtype=bool)
            out = out[keep]
        out = out.assign(sku=_plain_strings(out["sku"]))
    if lines is not None and "sku" in lines:
        codes = set(lines.loc[_non_merchandise(lines), "sku"].dropna().astype(str))
        out = out[~out["sku"].isin(codes)]
    for col, empty, dtype in (("category", pd.NA, "string"), ("list_price", np.nan, "float64")):
        if col not in out:
            out[col] = pd.Series(empty, index=out.index, dtype=dtype)
    return out[list(CATALOGUE_COLUMNS)].reset_index(drop=True)


def purchase_lines(
    lines: pd.DataFrame,
    ignore_status: tuple[str, ...] = IGNORED_STATUSES,
    allow_empty: bool = False,
) -> pd.DataFrame:
    """Order lines that count as purchases, with clean keys.

    A purchase is a merchandise line of a known customer: guest lines (``is_guest`` or no
    customer_id) and non-merchandise lines (``is_merchandise`` False) are left out
    (:func:`purchase_accounting` counts them). With the intake's ``demand_units`` a
    purchase is a line with demand_units > 0 and its quantity is demand_units; without it,
    quantity > 0 and a status not in ``ignore_status``.

    Args:
        lines: 03's ``order_lines`` (customer_id, sku, order_ts, quantity; optional
            channel_id, status, revenue_base, is_guest, is_merchandise, demand_units).
        ignore_status: statuses dropped when there is no demand_units (a cancelled or
            returned line is no evidence of taste).
        allow_empty: True returns the (empty) kept columns when no purchase is left, e.g.
            when every line is a guest line; False raises.

    Returns:
        The kept lines with customer_id and sku as plain strings, order_ts as UTC timestamps,
        quantity > 0 (float); rows with a missing customer or SKU are dropped.

    Raises:
        ValueError: a required column is missing, or no purchase is left (unless
            ``allow_empty``).
    """
    _require(lines, REQUIRED_COLUMNS, "order_lines")
    keep = [c for c in (*REQUIRED_COLUMNS, "channel_id", "status", "revenue_base") if c in lines]
    # one boolean mask and one copy of the kept rows
    mask = _purchase_mask(lines, ignore_status)
    if not mask.any() and allow_empty:
        out = pd.DataFrame({c: pd.Series(dtype=object) for c in keep})
        return out.astype({"order_ts": "datetime64[ns, UTC]", "quantity": float})
    if not mask.any():
        raise ValueError(
            "order_lines holds no purchase (after dropping guest lines, lines without a "
            "SKU, non-merchandise lines, and lines with no demand units or, without "
            f"demand_units, quantities <= 0 and statuses {list(ignore_status)})"
        )
    out = lines.loc[mask, keep].reset_index(drop=True)
    units = (
        lines.loc[mask, "demand_units"].to_numpy(dtype=float) if "demand_units" in lines else None
    )
    return _clean_purchases(out, units)


def _clean_purchases(out: pd.DataFrame, units: np.ndarray | None) -> pd.DataFrame:
    """The kept purchase rows with plain-string keys, UTC times and float quantities
    (``units``: the demand units that replace the quantity, None to keep it)."""
    if units is not None:
        out["quantity"] = units
    out["customer_id"] = _plain_strings(out["customer_id"])
    out["sku"] = _plain_strings(out["sku"])
    out["order_ts"] = pd.to_datetime(out["order_ts"], utc=True)
    out["quantity"] = out["quantity"].astype(float)
    if "channel_id" in out:
        out["channel_id"] = _plain_strings(out["channel_id"])
    return out


def read_purchases(
    path,
    ignore_status: tuple[str, ...] = IGNORED_STATUSES,
    allow_empty: bool = False,
    batch_rows: int = 1 << 20,
) -> tuple[pd.Series, pd.DataFrame, pd.DataFrame]:
    """:func:`purchase_accounting` and :func:`purchase_lines` of 03's ``order_lines`` file,
    read once with Arrow, and the non-merchandise codes for :func:`catalogue`.

    Equal to the two functions on the whole table read into pandas, at a fraction of the
    memory: the file is read ``batch_rows`` lines at a time, the masks are computed on Arrow
    columns, and only the purchase rows (and the guest lines' order ids and net revenue)
    are kept; only the purchase rows become a pandas frame.

    Args:
        path: the ``order_lines`` Parquet file (``channelops.run.folder.table_file``).
        ignore_status, allow_empty: as :func:`purchase_lines`.
        batch_rows: lines read at a time.

    Returns:
        (accounting as :func:`purchase_accounting`; purchases as :func:`purchase_lines`;
        codes: one row per SKU code on a non-merchandise line, columns sku and
        is_merchandise (False), for :func:`catalogue`'s ``lines``).

    Raises:
        ValueError: a required column is missing, or no purchase is left (unless
            ``allow_empty``).
    """
    names = pq.read_schema(path).names
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise ValueError(
            f"order_lines ({path}) is missing column(s) {missing}; expected at least "
            f"{list(REQUIRED_COLUMNS)}"
        )
    keep = [c for c in (*REQUIRED_COLUMNS, "channel_id", "status", "revenue_base") if c in names]
    flags = [c for c in ("is_guest", "is_merchandise", "demand_units") if c in names]
    g_cols = [
        c for c in ("channel_id", "order_id", "net_revenue_base", "revenue_base") if c in names
    ]
    columns = list(dict.fromkeys([*keep, *flags, *g_cols]))
    counts = dict.fromkeys(("lines", "guest_lines", "non_merchandise_lines"), 0)
    kept, guests, codes = [], [], set()
    # batch by batch: the whole file is never in memory, only its purchase and guest rows
    for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_rows, columns=columns):
        table = pa.Table.from_batches([batch])
        guest = _arrow_guest(table)
        non_merch = (
            pc.invert(pc.fill_null(table["is_merchandise"], True))
            if "is_merchandise" in names
            else pa.array(np.zeros(len(table), dtype=bool))
        )
        bought = _arrow_purchase_mask(table, guest, non_merch, ignore_status)
        counts["lines"] += len(table)
        counts["guest_lines"] += pc.sum(guest).as_py() or 0
        other = pc.and_(pc.invert(guest), non_merch)
        counts["non_merchandise_lines"] += pc.sum(other).as_py() or 0
        named = table["sku"].filter(pc.and_(non_merch, pc.is_valid(table["sku"])))
        codes.update(pc.unique(named).to_pylist())
        kept.append(table.select([*keep, *flags]).filter(bought))
        guests.append(table.select(g_cols).filter(guest))
    schema = pa.schema([f for f in pq.read_schema(path) if f.name in columns])
    kept = pa.concat_tables(kept) if kept else schema.empty_table()
    n_bought = len(kept)
    g = (pa.concat_tables(guests) if guests else schema.empty_table().select(g_cols)).to_pandas(
        types_mapper=arrow_string_dtype
    )
    orders = 0
    if "order_id" in g:
        orders = len(g[[c for c in ("channel_id", "order_id") if c in g]].drop_duplicates())
    money = next((c for c in ("net_revenue_base", "revenue_base") if c in g), None)
    acc = pd.Series(
        {
            "lines": counts["lines"],
            "purchase_lines": n_bought,
            "customers": pc.count_distinct(kept["customer_id"]).as_py(),
            "guest_lines": counts["guest_lines"],
            "guest_orders": orders,
            "guest_revenue": float(g[money].sum()) if money else 0.0,
            "non_merchandise_lines": counts["non_merchandise_lines"],
            "not_purchase_lines": counts["lines"]
            - n_bought
            - counts["guest_lines"]
            - counts["non_merchandise_lines"],
        },
        dtype=object,
    )
    del g, guests
    codes = pd.DataFrame({"sku": pd.Series(sorted(codes), dtype=object)})
    codes["is_merchandise"] = False
    if not n_bought:
        if allow_empty:
            out = pd.DataFrame({c: pd.Series(dtype=object) for c in keep})
            return acc, out.astype({"order_ts": "datetime64[ns, UTC]", "quantity": float}), codes
        raise ValueError(
            "order_lines holds no purchase (after dropping guest lines, lines without a "
            "SKU, non-merchandise lines, and lines with no demand units or, without "
            f"demand_units, quantities <= 0 and statuses {list(ignore_status)})"
        )
    units = None
    if "demand_units" in names:
        units = kept["demand_units"].to_numpy().astype(float)
    kept = kept.select(keep)
    # each Arrow column is freed once converted
    out = kept.to_pandas(types_mapper=arrow_string_dtype, self_destruct=True, split_blocks=True)
    del kept
    return acc, _clean_purchases(out, units), codes


def _arrow_guest(table: pa.Table) -> pa.Array:
    """:func:`_guest` on an Arrow table: no customer_id, or ``is_guest`` True."""
    guest = pc.is_null(table["customer_id"])
    if "is_guest" in table.column_names:
        guest = pc.or_(guest, pc.fill_null(table["is_guest"], False))
    return guest


def _arrow_purchase_mask(
    table: pa.Table, guest, non_merch, ignore_status: tuple[str, ...]
) -> pa.Array:
    """:func:`_purchase_mask` on an Arrow table (missing values and NaN quantities are NA)."""
    mask = pc.and_(pc.invert(guest), pc.invert(non_merch))
    for c in ("customer_id", "sku", "order_ts"):
        mask = pc.and_(mask, pc.is_valid(table[c]))
    quantity = table["quantity"]
    mask = pc.and_(mask, pc.invert(pc.is_null(quantity, nan_is_null=True)))
    if "demand_units" in table.column_names:
        return pc.and_(mask, pc.fill_null(pc.greater(table["demand_units"], 0), False))
    if "status" in table.column_names and ignore_status:
        inside = pc.fill_null(pc.is_in(table["status"], pa.array(list(ignore_status))), False)
        mask = pc.and_(mask, pc.invert(inside))
    return pc.and_(mask, pc.fill_null(pc.greater(quantity, 0), False))


def in_sorted(values: np.ndarray, sorted_unique: np.ndarray) -> np.ndarray:
    """``np.isin(values, sorted_unique)`` for a sorted array of distinct values: a binary
    search per value instead of sorting both arrays together (the same booleans)."""
    if len(sorted_unique) == 0:
        return np.zeros(len(values), dtype=bool)
    at = np.searchsorted(sorted_unique, values)
    np.minimum(at, len(sorted_unique) - 1, out=at)
    return sorted_unique[at] == values


def str_index(values) -> pd.Index:
    """``values`` as an Index of Python strings (object dtype), converting only when needed.

    Arrow strings are converted in C; an index already of Python strings is returned as is
    (``Index.astype(str)`` would copy it element by element).
    """
    index = pd.Index(values)
    if index.dtype == object and pd.api.types.infer_dtype(index, skipna=False) == "string":
        return index
    if isinstance(index.dtype, pd.StringDtype) and not index.hasnans:
        return pd.Index(index.to_numpy(dtype=object), name=index.name)
    return index.astype(str)


def _plain_strings(values: pd.Series) -> pd.Series:
    """The values as Python ``str`` objects (object dtype); Arrow strings are converted in C.

    Arrow strings without missing values become one ``str`` object per distinct value,
    shared by its rows (one object per customer, not one per line).
    """
    if isinstance(values.dtype, pd.StringDtype):
        if values.hasnans:
            plain = values.to_numpy(dtype=object)
        else:
            codes, uniques = pd.factorize(values)
            plain = np.asarray(uniques, dtype=object)[codes]
        return pd.Series(plain, index=values.index, name=values.name)
    return values.astype(str)


def resolve_cutoff(
    order_ts: pd.Series, cutoff: str | pd.Timestamp | None = None, test_weeks: float = 8
) -> pd.Timestamp:
    """First instant of the test period as a UTC timestamp (see :func:`time_split`).

    Args:
        order_ts: purchase timestamps (UTC).
        cutoff: a date or instant (a date is read as 00:00 UTC); ``None`` or empty: the last
            timestamp minus ``test_weeks`` weeks.
    """
    if cutoff is None or cutoff == "":
        if test_weeks <= 0:
            raise ValueError(f"test_weeks must be > 0, got {test_weeks}")
        return order_ts.max() - pd.Timedelta(weeks=test_weeks)
    cut = pd.Timestamp(cutoff)
    return cut.tz_localize("UTC") if cut.tzinfo is None else cut.tz_convert("UTC")


def time_split(
    lines: pd.DataFrame, cutoff: str | pd.Timestamp | None = None, test_weeks: float = 8
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Timestamp]:
    """Split purchases in time: train before the cut-off, test from it on.

    Args:
        lines: purchases (:func:`purchase_lines`).
        cutoff: first instant of the test period (a date is read as 00:00 UTC); ``None`` or
            empty holds out the last ``test_weeks`` weeks.
        test_weeks: length of the held-out period when no cutoff is given, in weeks.

    Returns:
        (train, test, cutoff as a UTC timestamp).

    Raises:
        ValueError: either side of the split is empty (with the data's period).
    """
    ts = lines["order_ts"]
    cut = resolve_cutoff(ts, cutoff, test_weeks)
    train, test = lines[ts < cut], lines[ts >= cut]
    if train.empty or test.empty:
        raise ValueError(
            f"the cut-off {cut} leaves {len(train)} training and {len(test)} test lines; the "
            f"purchases run from {ts.min()} to {ts.max()}: choose a cut-off inside that period"
        )
    return train.reset_index(drop=True), test.reset_index(drop=True), cut


def sample_customers(
    lines: pd.DataFrame, max_customers: int | None, seed: int = 0
) -> tuple[pd.DataFrame, int]:
    """All purchases of a seeded random sample of at most ``max_customers`` customers.

    Args:
        lines: purchases with customer_id (strings).
        max_customers: sample size; None (or at least the number of customers) keeps every
            line, unchanged.
        seed: the sample's seed (customers are drawn from the sorted ids, so the sample does
            not depend on the order of the lines).

    Returns:
        (the sampled customers' lines, the number of customers in ``lines``).
    """
    # each line's customer as a code into the distinct ids (pd.unique's order): the lines
    # are hashed once, and the sample is picked on the distinct ids
    codes, ids = pd.factorize(lines["customer_id"])
    if max_customers is None or len(ids) <= max_customers:
        return lines, len(ids)
    if max_customers < 1:
        raise ValueError(f"max_customers must be >= 1 (or None for all), got {max_customers}")
    chosen = np.random.default_rng(seed).choice(np.sort(ids), size=max_customers, replace=False)
    keep = pd.Index(ids).isin(chosen)[codes] & (codes >= 0)
    return lines[keep].reset_index(drop=True), len(ids)


@dataclass
class Interactions:
    """The customer x SKU matrix of recency- and quantity-weighted purchases.

    Attributes:
        matrix: CSR float32, one row per customer, one column per SKU.
        customers: customer_id of each row.
        skus: sku of each column (the catalogue, including SKUs nobody bought in training).
        as_of: the instant ages are measured from (end of the training period).
        line_counts: CSR float32 like ``matrix``: the number of purchase lines per customer
            and SKU, unweighted (None when built by hand without it).
        channels: channel_id of each column of the two channel matrices (None without
            channel_id in the lines).
        customer_channel: CSR (customers x channels), purchase lines per customer and channel.
        channel_sku: CSR (channels x skus), purchase lines per channel and SKU.
        events: one row per distinct (customer row, SKU column, basket): row, col, age_days
            (days before ``as_of`` of the basket) and basket (0 = the customer's most recent
            basket, 1 the one before, ...; a basket is one purchase instant of the
            customer). The basket-level models (GP-TopFreq, TIFU-KNN, recent popularity)
            read it; None when built by hand without it.
        fitted: what fitted models share, by a key of their settings (the explore and
            next_basket models fitted on this data once for all their variants).
    """

    matrix: sp.csr_matrix
    customers: pd.Index
    skus: pd.Index
    as_of: pd.Timestamp
    line_counts: sp.csr_matrix | None = None
    channels: pd.Index | None = None
    customer_channel: sp.csr_matrix | None = None
    channel_sku: sp.csr_matrix | None = None
    events: pd.DataFrame | None = None
    fitted: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape

    def rows(self, customer_ids) -> np.ndarray:
        """Row number of each customer id, -1 for customers unseen in training."""
        return self.customers.get_indexer(str_index(customer_ids))


def build_interactions(
    lines: pd.DataFrame, as_of: pd.Timestamp | None = None, half_life_days: float = 180.0, skus=None
) -> Interactions:
    """Weighted customer x SKU matrix from purchases.

    Args:
        lines: purchases (:func:`purchase_lines`), all before ``as_of``.
        as_of: end of the training period; ``None`` takes the last purchase.
        half_life_days: a purchase this many days old counts half as much as one today
            (``inf`` switches recency weighting off).
        skus: the catalogue (columns); ``None`` uses the SKUs in ``lines``. SKUs in lines
            but not in the catalogue are added.

    Returns:
        :class:`Interactions` with r[u, i] = sum of quantity * 0.5 ** (age_days / half_life).
    """
    if half_life_days <= 0:
        raise ValueError(f"half_life_days must be > 0 (days), got {half_life_days}")
    as_of = lines["order_ts"].max() if as_of is None else pd.Timestamp(as_of)
    cust_codes, customers = pd.factorize(lines["customer_id"].astype(str), sort=True)
    # the SKU strings hashed once; the catalogue is matched on the distinct ones only
    sku_codes, sku_values = pd.factorize(lines["sku"].astype(str))
    catalogue = pd.Index(
        sorted(set(sku_values).union([] if skus is None else pd.Index(skus).astype(str)))
    )
    item_codes = catalogue.get_indexer(pd.Index(sku_values, dtype=object))[sku_codes]
    age = ((as_of - lines["order_ts"]).dt.total_seconds() / 86400.0).clip(lower=0).to_numpy()
    # the basket events (sorts, GIL-free) in a second thread while the matrices are built
    pool = ThreadPoolExecutor(max_workers=1)
    events = pool.submit(_basket_events, cust_codes, item_codes, lines["order_ts"], age)
    pool.shutdown(wait=False)
    weight = lines["quantity"].to_numpy(float) * np.power(0.5, age / half_life_days)
    matrix = sp.csr_matrix(
        (weight.astype(np.float32), (cust_codes, item_codes)),
        shape=(len(customers), len(catalogue)),
    )
    matrix.sum_duplicates()
    shape = (len(customers), len(catalogue))
    ones = np.ones(len(lines), np.float32)
    counts = sp.csr_matrix((ones, (cust_codes, item_codes)), shape=shape)
    counts.sum_duplicates()
    channels = customer_channel = channel_sku = None
    if "channel_id" in lines:
        chan_codes, channels = pd.factorize(lines["channel_id"].astype(str), sort=True)
        channels = pd.Index(channels, name="channel_id")
        customer_channel = sp.csr_matrix(
            (ones, (cust_codes, chan_codes)), shape=(len(customers), len(channels))
        )
        channel_sku = sp.csr_matrix(
            (ones, (chan_codes, item_codes)), shape=(len(channels), len(catalogue))
        )
        customer_channel.sum_duplicates()
        channel_sku.sum_duplicates()
    return Interactions(
        matrix,
        pd.Index(customers, name="customer_id"),
        pd.Index(catalogue, name="sku"),
        as_of,
        counts,
        channels,
        customer_channel,
        channel_sku,
        events.result(),
    )


def _basket_events(
    rows: np.ndarray, cols: np.ndarray, order_ts: pd.Series, age_days: np.ndarray
) -> pd.DataFrame:
    """Distinct (row, col, basket) events, basket 0 = each customer's latest purchase instant.

    Returns:
        row, col (int64), age_days (float, days before as_of), basket (int64).
    """
    rows, cols = rows.astype(np.int64), cols.astype(np.int64)
    ts = pd.to_datetime(order_ts, utc=True).dt.tz_localize(None).to_numpy("datetime64[ns]")
    basket = _dense_rank_desc(rows, ts.view(np.int64))
    # the first line of each distinct (row, col, basket), in the lines' order
    n_cols = int(cols.max()) + 1 if len(cols) else 1
    n_baskets = int(basket.max()) + 1 if len(basket) else 1
    if len(rows) and (int(rows.max()) + 1) * n_cols * n_baskets < 2**62:
        key = (rows * n_cols + cols) * n_baskets + basket
        first = np.sort(np.unique(key, return_index=True)[1])
    else:  # keys would overflow int64
        frame = pd.DataFrame({"row": rows, "col": cols, "basket": basket})
        first = np.flatnonzero(~frame.duplicated(["row", "col", "basket"]).to_numpy())
    return pd.DataFrame(
        {
            "row": rows[first],
            "col": cols[first],
            "age_days": age_days.astype(float)[first],
            "basket": basket[first],
        }
    )


def _dense_rank_desc(rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per element, the dense rank (0 = largest) of its value among the values of its row."""
    if len(rows) == 0:
        return np.zeros(0, np.int64)
    order = np.lexsort((-values, rows))
    r, v = rows[order], values[order]
    new_row = np.empty(len(r), bool)
    new_row[0] = True
    new_row[1:] = r[1:] != r[:-1]
    new_value = new_row.copy()
    new_value[1:] |= v[1:] != v[:-1]
    dense = np.cumsum(new_value)
    ranked = np.empty(len(r), np.int64)
    ranked[order] = dense - np.maximum.accumulate(np.where(new_row, dense, 0))
    return ranked
