"""Each channel's own contribution margin: what is left of a unit of its net revenue after
the variable costs the data records (product cost, commission, fulfilment, payment).

Shared, not a stage: 02 values incremental revenue with it (plan profit) and 06 values
marketing return and the scorecard with it, so both use the same money. It reads tables
only (00's ``intake_lines``, ``products.csv``, ``channels.csv``, optional ``shipments.csv``
and ``warehouses.csv``); the cost per order is computed here once.

Money is in the dataset's base currency; rates are shares of the channel's net revenue.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = [
    "CODE_SUFFIX",
    "MARGIN_COLUMNS",
    "channel_margin_rates",
    "given_codes",
    "margin_rate_map",
    "ranked_codes",
    "sorted_codes",
]

#: Suffix of an optional int32 code column beside a text column of the lines (e.g.
#: ``order_id#code``): distinct values numbered from 0 (any numbering), -1 where the text
#: is missing. A reader that encodes the text anyway (06's ``read_lines``) gives it, so
#: group-bys run on integers instead of hashing a string per line again.
CODE_SUFFIX = "#code"

#: Columns of :func:`channel_margin_rates`, one row per channel.
MARGIN_COLUMNS: tuple[str, ...] = (
    "channel_id",
    "revenue",
    "orders",
    "cogs",
    "commission",
    "fulfilment_cost",
    "payment_cost",
    "margin_rate",
    "cost_per_order",
    "cost_coverage",
    "costs_included",
)

_LINE_COLUMNS = ("channel_id", "order_id", "sku", "quantity")


def _require(frame: pd.DataFrame, columns: tuple[str, ...] | list[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {missing}; it has {list(frame.columns)}")


def _line_money(lines: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Per line: net revenue, units that left stock for good (signed), merchandise flag.

    A float column without a missing value is used as it is, not copied (the values are
    what ``fillna(0.0).astype(float)`` gives; nothing here writes into them)."""
    net = lines["net_revenue_base"] if "net_revenue_base" in lines else lines["revenue_base"]
    net = _as_float(net)
    qty = _as_float(lines["quantity"])
    if "demand_units" in lines:
        sold = _as_float(lines["demand_units"])
        # a reversal line (negative quantity) brings its units back: cost leaves with it
        units = sold + qty.where(qty < 0, 0.0)
        del sold
    else:
        units = qty
    if "is_merchandise" in lines:
        merch = lines["is_merchandise"].fillna(True).astype(bool)
        units = units.where(merch, 0.0)
    else:  # every line is merchandise: ``where`` would copy the units unchanged
        merch = pd.Series(True, index=lines.index)
    return net, units, merch


def _as_float(values: pd.Series) -> pd.Series:
    """``pd.to_numeric(values, errors="coerce").fillna(0.0).astype(float)``, without the
    copies when the column is already float64 with nothing missing."""
    values = pd.to_numeric(values, errors="coerce")
    if values.isna().any():
        values = values.fillna(0.0)
    return values.astype(float, copy=False)


def _text_codes(values: pd.Series, missing_as_text: bool = True) -> tuple[np.ndarray, list[str]]:
    """``values`` as text coded: (int64 code per row, the distinct texts sorted), without a
    Python string per row on large columns. A missing value is coded as the text
    ``astype(str)`` writes for it (``missing_as_text``), else as -1."""
    if missing_as_text and values.isna().any():  # rare: astype(str)'s spelling of missing
        values = values.astype(str)
    codes, uniques = pd.factorize(values, sort=True)
    texts = [str(u) for u in np.asarray(uniques, dtype=object)]
    order = np.argsort(np.array(texts, dtype=object), kind="stable")
    codes = np.asarray(codes, dtype=np.int64)
    if (order != np.arange(len(texts))).any():  # factorize's sort differs from str order
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        codes = np.where(codes >= 0, rank[np.maximum(codes, 0)], -1)
        texts = [texts[i] for i in order]
    return codes, texts


def given_codes(frame: pd.DataFrame, column: str) -> np.ndarray | None:
    """The code column of ``column`` (:data:`CODE_SUFFIX`) as int64, or None when ``frame``
    has none."""
    name = column + CODE_SUFFIX
    return frame[name].to_numpy(dtype=np.int64) if name in frame.columns else None


def sorted_codes(values: pd.Series, codes: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """What :func:`_text_codes` gives for ``values`` (``missing_as_text=False``) from
    ``codes``, a given numbering of the same values: re-numbered in ``str`` order of the
    values present, -1 kept for a missing value."""
    rows = np.flatnonzero(codes >= 0)
    k = int(codes[rows].max()) + 1 if len(rows) else 0
    row_of = np.full(k, -1, dtype=np.int64)
    row_of[codes[rows]] = rows  # a row of each code (every row of a code has its value)
    present = np.flatnonzero(row_of >= 0)
    texts = [str(v) for v in values.to_numpy(dtype=object)[row_of[present]]]
    order = np.argsort(np.array(texts, dtype=object), kind="stable")
    rank = np.full(k + 1, -1, dtype=np.int64)  # rank[-1]: a missing value stays -1
    rank[present[order]] = np.arange(len(order))
    return rank[codes], [texts[i] for i in order]


def ranked_codes(frame: pd.DataFrame, column: str) -> tuple[np.ndarray, list[str]] | None:
    """:func:`sorted_codes` of ``frame[column]`` from its given codes (:data:`CODE_SUFFIX`)
    when it has them, has rows and no value is missing; else None (group on the text)."""
    codes = given_codes(frame, column)
    if codes is None or not len(codes) or codes.min() < 0:
        return None
    return sorted_codes(frame[column], codes)


def _given_or_text_codes(frame: pd.DataFrame, column: str) -> tuple[np.ndarray, list[str]]:
    """:func:`_text_codes` of ``frame[column]`` (missing as text), from the column's given
    codes (:data:`CODE_SUFFIX`) when it has them and no value is missing."""
    return ranked_codes(frame, column) or _text_codes(frame[column])


def _take(per_code: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``per_code[codes]`` as floats, NaN where the code is -1 (a missing value)."""
    out = np.asarray(per_code, dtype=float)[np.maximum(codes, 0)] if len(per_code) else None
    if out is None:
        return np.full(len(codes), np.nan)
    out[codes < 0] = np.nan
    return out


def _orders_with_revenue(
    ch_code: np.ndarray,
    order_id: pd.Series,
    net: pd.Series,
    ids: pd.Index,
    o_code: np.ndarray | None = None,
) -> pd.Series:
    """Distinct (channel, order) pairs whose net revenue sums to more than 0, per channel
    of ``ids`` (codes of ``ch_code`` index ``ids``' leading names); ``o_code``: the order
    ids' given codes (:data:`CODE_SUFFIX`), or None."""
    if o_code is not None and len(o_code) and o_code.min() >= 0:
        n = int(o_code.max()) + 1  # only which lines share an order matters
    else:
        if order_id.isna().any():  # rare: astype(str)'s spelling of a missing order id
            order_id = order_id.astype(str)
        o_code, o_names = pd.factorize(order_id)  # only which lines share an order matters
        n = max(len(o_names), 1)
    pair, pair_channel = _pair_groups(np.asarray(ch_code, dtype=np.int64), o_code, n)
    per_order = _pair_sums(pair, np.asarray(net.to_numpy(), dtype=float), len(pair_channel))
    del pair
    positive = pair_channel[per_order > 0]  # a number no line has sums to 0: never counted
    counts = np.bincount(positive, minlength=len(ids)) if len(ids) else np.zeros(0, np.int64)
    return pd.Series(counts[: len(ids)], index=ids).astype(np.int64)


def _pair_sums(pair: np.ndarray, values: np.ndarray, m: int) -> np.ndarray:
    """The sum of ``values`` per number 0..m-1 of ``pair``, equal to the last bit to
    pandas' group-by sum (compensated, in row order) of ``values`` on ``pair``.

    A group of one or two lines sums alike either way (0 + a, then + b: the compensation
    is 0 until the second addition), so ``np.bincount`` sums those; the few groups of
    three lines or more are summed again by pandas over their lines alone (each group's
    lines in row order, as the group-by over every line sums them). No per-line key is
    hashed, sorted or copied into a categorical: arrays of the groups' size and one flag
    per line.
    """
    size = np.bincount(pair, minlength=m)
    sums = np.bincount(pair, weights=values, minlength=m)
    many = size >= 3
    del size
    rows = np.flatnonzero(many[pair])
    if len(rows):
        key = pair[rows]
        again = pd.Series(values[rows]).groupby(key).sum()
        sums[again.index.to_numpy()] = again.to_numpy()
    return sums


def _pair_groups(ch_code: np.ndarray, o_code: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """A number per (channel, order) pair of the lines, and each number's channel.

    ``o_code`` numbers the orders 0..n-1. A line on its order's primary channel (the
    channel of any one of the order's lines) takes the order's number; a line of the same
    order on another channel (rare) takes n + the rank of its (channel, order) pair among
    those. Equal pairs get equal numbers and different pairs different ones, without
    sorting or hashing every line's pair (a number no line takes sums to 0: never counted).

    Returns:
        (int64 number per line, int64 channel of every number 0..max).
    """
    o_code = np.asarray(o_code, dtype=np.int64)
    primary = np.zeros(max(n, 1), dtype=np.int64)
    primary[o_code] = ch_code  # any one line's channel per order: which one does not matter
    other = np.flatnonzero(ch_code != primary[o_code])
    pair = o_code.copy()
    extra, rank = np.unique(ch_code[other] * n + o_code[other], return_inverse=True)
    pair[other] = n + rank.ravel()
    return pair, np.concatenate([primary, extra // n])


def _channel_sums(
    ch_code: np.ndarray,
    net: pd.Series,
    units: pd.Series,
    unit_cost: np.ndarray,
    merch: np.ndarray,
    known: np.ndarray,
) -> pd.DataFrame:
    """Per channel code present (sorted): revenue, merch_revenue, known_revenue and
    known_cogs, summed by pandas' group-by in row order. One line-level column at a time
    (each freed before the next), grouped on one categorical key: the sums of a group-by of
    the four-column frame on ``ch_code`` (pandas sums every column on its own), without the
    frame and its 2-D copy."""
    k = int(ch_code.max()) + 1 if len(ch_code) else 0
    key = pd.Categorical.from_codes(ch_code, categories=pd.RangeIndex(k))
    net_values = net.to_numpy()

    def column(make):  # the column's sums per code present
        return pd.Series(make()).groupby(key, observed=True).sum()

    sums = {
        "revenue": column(lambda: net_values),
        "merch_revenue": column(lambda: np.where(merch, net_values, 0.0)),
        "known_revenue": column(lambda: np.where(known, net_values, 0.0)),
        "known_cogs": column(lambda: np.where(known, units.to_numpy() * unit_cost, 0.0)),
    }
    g = pd.DataFrame({name: s.to_numpy() for name, s in sums.items()})
    g.index = np.asarray(sums["revenue"].index, dtype=np.int64)  # the codes present
    return g


def channel_margin_rates(
    intake_lines: pd.DataFrame,
    products: pd.DataFrame,
    channels: pd.DataFrame | None,
    shipments: pd.DataFrame | None = None,
    warehouses: pd.DataFrame | None = None,
    payment_fee_rate: float | Mapping[str, float] = 0.0,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """Contribution margin rate of every channel over a period.

    Costs per channel (base currency, over the period):

    * ``cogs``: units that left stock for good (``demand_units``, less the units of
      reversal lines) x products.csv ``unit_cost``. Merchandise lines whose SKU has no cost
      are valued at the channel's cost share of the lines that have one; ``cost_coverage``
      is the share of merchandise net revenue whose cost is known (1.0 = all).
    * ``commission``: channels.csv ``commission_rate`` x revenue (0 without channels.csv).
    * ``fulfilment_cost``: shipments.csv ``cost`` of the channel's orders, plus the
      serving warehouse's ``handling_cost_per_order`` per shipment when warehouses.csv is
      given (0 without shipments: an offline store ships nothing).
    * ``payment_cost``: ``payment_fee_rate`` x revenue; the rate is the argument (one
      number, or ``{channel_id: rate}``), else channels.csv's optional ``payment_fee_rate``
      column, else 0.

    Args:
        intake_lines: 00's lines: channel_id, order_id, sku, quantity, and net_revenue_base
            (else revenue_base), demand_units and is_merchandise when present; optional
            order_ts_local for ``start``/``end``.
        products: products.csv (sku, unit_cost).
        channels: channels.csv (channel_id, commission_rate), or None.
        shipments: shipments.csv (channel_id, cost; warehouse_id for handling; order_id
            with ``start``/``end``), or None.
        warehouses: warehouses.csv (warehouse_id, handling_cost_per_order), or None.
        payment_fee_rate: payment provider fee as a share of revenue (0 <= rate < 1).
        start, end: keep lines ordered on ``start <= order_ts_local < end`` (and
            shipments of those orders); None = no bound.

    Returns:
        One row per channel with lines (plus every channel of ``channels``), columns
        :data:`MARGIN_COLUMNS`: revenue (net), orders (distinct orders with revenue > 0),
        cogs, commission, fulfilment_cost, payment_cost, margin_rate = (revenue - all
        four costs) / revenue (NaN without revenue), cost_per_order = fulfilment_cost /
        orders (NaN without orders), cost_coverage, costs_included (which costs the data
        had, e.g. "product, commission, fulfilment").

    Raises:
        ValueError: a table lacks a needed column, a payment rate is outside [0, 1), or a
            commission rate is missing or outside [0, 1) (names the channel).
    """
    _require(intake_lines, _LINE_COLUMNS, "intake_lines")
    _require(products, ("sku", "unit_cost"), "products.csv")
    lines = intake_lines
    if start is not None or end is not None:
        _require(lines, ("order_ts_local",), "intake_lines")
        ts = lines["order_ts_local"]
        keep = pd.Series(True, index=lines.index)
        if start is not None:
            keep &= ts >= pd.Timestamp(start)
        if end is not None:
            keep &= ts < pd.Timestamp(end)
        lines = lines.loc[keep]
    net, units, merch = _line_money(lines)
    ch_code, ids = _given_or_text_codes(lines, "channel_id")
    # distinct orders with revenue per channel first, while only the net revenue and the
    # channel codes are held beside the lines (their sums are the memory peak on large)
    orders = _orders_with_revenue(
        ch_code, lines["order_id"], net, pd.Index(ids), given_codes(lines, "order_id")
    )
    sku_given = given_codes(lines, "sku")
    if sku_given is not None and len(sku_given):
        # a missing SKU keeps code -1 (no cost), as _text_codes codes it
        sku_code, skus = sorted_codes(lines["sku"], sku_given)
    else:
        sku_code, skus = _text_codes(lines["sku"], missing_as_text=False)
    del sku_given
    cost = pd.to_numeric(products.set_index(products["sku"].astype(str))["unit_cost"], "coerce")
    cost = cost[~cost.index.duplicated()]
    unit_cost = _take(pd.Series(skus, dtype="string").map(cost).astype(float).to_numpy(), sku_code)
    del sku_code
    known = merch.to_numpy() & ~np.isnan(unit_cost)
    # sums per channel in row order (the groupby's own compensated sums, column by column
    # as the frame's group-by sums them), channels by name
    g = _channel_sums(ch_code, net, units, unit_cost, merch.to_numpy(), known)
    del units, unit_cost, known, merch
    g.index = pd.Index([ids[i] for i in g.index], dtype=object, name="channel_id")
    ids = list(g.index)
    if channels is not None:
        _require(channels, ("channel_id",), "channels.csv")
        ids += [c for c in channels["channel_id"].astype(str) if c not in g.index]
    g = g.reindex(ids, fill_value=0.0)
    orders = orders.reindex(g.index, fill_value=0).astype(np.int64)
    coverage = (g["known_revenue"] / g["merch_revenue"].where(g["merch_revenue"] > 0)).fillna(1.0)
    cost_share = (g["known_cogs"] / g["known_revenue"].where(g["known_revenue"] > 0)).fillna(0.0)
    cogs = g["known_cogs"] + cost_share * (g["merch_revenue"] - g["known_revenue"])
    included = ["product"]

    commission = pd.Series(0.0, index=ids)
    if channels is not None:
        _require(channels, ("commission_rate",), "channels.csv")
        rate = pd.to_numeric(
            channels.set_index(channels["channel_id"].astype(str))["commission_rate"], "coerce"
        )
        bad = rate[~rate.between(0.0, 1.0, inclusive="left")]
        if len(bad):
            raise ValueError(
                f"channels.csv column commission_rate: channel {bad.index[0]!s} has "
                f"{rate[bad.index[0]]!r}; expected a share of revenue in [0, 1)"
            )
        commission = g["revenue"] * rate.reindex(ids).fillna(0.0)
        included.append("commission")

    fulfil = pd.Series(0.0, index=ids)
    if shipments is not None and len(shipments):
        _require(shipments, ("channel_id", "cost"), "shipments.csv")
        ship = shipments
        if start is not None or end is not None:
            _require(shipments, ("order_id",), "shipments.csv")  # the period's orders
            cid = lines["channel_id"].astype(str)
            kept = set(zip(cid, lines["order_id"].astype(str), strict=True))
            pairs = zip(ship["channel_id"].astype(str), ship["order_id"].astype(str), strict=True)
            ship = ship.loc[[p in kept for p in pairs]]
        amount = pd.to_numeric(ship["cost"], errors="coerce").fillna(0.0).astype(float)
        if warehouses is not None and "warehouse_id" in ship:
            _require(warehouses, ("warehouse_id", "handling_cost_per_order"), "warehouses.csv")
            handling = warehouses.set_index(warehouses["warehouse_id"].astype(str))[
                "handling_cost_per_order"
            ]
            wh_code, whs = _given_or_text_codes(ship, "warehouse_id")
            per_wh = pd.Series(whs, dtype=object).map(handling).astype(float).to_numpy()
            amount = amount + pd.Series(_take(per_wh, wh_code), index=amount.index).fillna(0.0)
        ship_code, ship_ids = _given_or_text_codes(ship, "channel_id")
        fulfil = amount.groupby(ship_code).sum()
        fulfil.index = pd.Index([ship_ids[i] for i in fulfil.index], dtype=object)
        fulfil = fulfil.reindex(ids, fill_value=0.0)
        included.append("fulfilment")

    if isinstance(payment_fee_rate, Mapping):
        pay_rate = pd.Series({str(k): float(v) for k, v in payment_fee_rate.items()})
    elif payment_fee_rate == 0 and channels is not None and "payment_fee_rate" in channels:
        pay_rate = pd.to_numeric(
            channels.set_index(channels["channel_id"].astype(str))["payment_fee_rate"], "coerce"
        )
    else:
        pay_rate = pd.Series(float(payment_fee_rate), index=ids)
    pay_rate = pay_rate.reindex(ids).fillna(0.0)
    if not pay_rate.between(0.0, 1.0, inclusive="left").all():
        raise ValueError(f"payment_fee_rate must be shares in [0, 1), got {pay_rate.to_dict()}")
    payment = g["revenue"] * pay_rate
    if (pay_rate > 0).any():
        included.append("payment")

    revenue = g["revenue"]
    total = cogs + commission + fulfil + payment
    out = pd.DataFrame(
        {
            "channel_id": ids,
            "revenue": revenue.to_numpy(),
            "orders": orders.to_numpy().astype(np.int64),
            "cogs": cogs.to_numpy(),
            "commission": commission.to_numpy(),
            "fulfilment_cost": fulfil.to_numpy(),
            "payment_cost": payment.to_numpy(),
            "margin_rate": ((revenue - total) / revenue.where(revenue > 0)).to_numpy(),
            "cost_per_order": (fulfil / orders.where(orders > 0)).to_numpy(),
            "cost_coverage": coverage.to_numpy(),
            "costs_included": ", ".join(included),
        }
    )
    return out[list(MARGIN_COLUMNS)]


def margin_rate_map(margins: pd.DataFrame, default: float | None = None) -> dict[str, float]:
    """``{channel_id: margin_rate}`` from :func:`channel_margin_rates`; a channel without
    revenue (NaN rate) takes ``default``, or the revenue-weighted mean of the others when
    ``default`` is None (a channel with no sales yet is valued like the business)."""
    rate = margins.set_index("channel_id")["margin_rate"]
    ok = rate.notna()
    if default is None:
        w = margins.set_index("channel_id")["revenue"][ok]
        default = float((rate[ok] * w).sum() / w.sum()) if w.sum() > 0 else 0.0
    return {str(c): float(v) if np.isfinite(v) else float(default) for c, v in rate.items()}
