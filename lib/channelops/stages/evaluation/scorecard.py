"""The channel scorecard: what each channel earns once every cost is paid.

Every scorecard figure is defined in :data:`SCORECARD_DEFINITIONS` (the notebook prints
that table) and computed by one small function on DataFrames; money is in the base
currency. A figure whose input is absent (no ``shipments.csv``, no CLV, ...) is NaN and
:func:`channel_scorecard` says why in its notes; nothing crashes for a missing optional
input. Growth, plan vs actual, policy deltas, experiments and the summary have their own
modules in this package.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from channelops.customers.guests import money_column
from channelops.frames import ORDER_KEY, order_join_keys, require_columns
from channelops.margins import CODE_SUFFIX, given_codes, ranked_codes, sorted_codes
from channelops.shipments import warehouse_shares

from .returns import acquisition_model, incremental_revenue
from .source import release_arrow_memory

__all__ = [
    "SOLD_STATUSES",
    "SCORECARD_DEFINITIONS",
    "SCORECARD_COLUMNS",
    "LINE_COLUMNS",
    "ORDER_COLUMNS",
    "SHIPMENT_COLUMNS",
    "safe_ratio",
    "ranking_key",
    "first_seen",
    "sales_figures",
    "shipment_figures",
    "shipment_part",
    "marketing_figures",
    "ltv_figures",
    "inventory_figures",
    "service_figures",
    "channel_scorecard",
]

#: Line statuses that count as sold (cancelled and returned lines do not).
SOLD_STATUSES = ("placed", "paid", "shipped", "delivered")

SCORECARD_DEFINITIONS = {
    "revenue": "net revenue: sum of the lines' net_revenue_base (quantity x unit price - discount - refund; cancelled and returned sales count 0, reversal lines subtract), guest orders included",
    "orders": "distinct orders with at least one sold line (not cancelled or returned), guest orders included",
    "customers": "distinct resolved customers (03's customer_id) with at least one sold line; guests are not customers",
    "aov": "revenue / orders",
    "cogs": "sum of demand units (sold merchandise units) x unit_cost (product master); with the shared margins (channelops.margins), merchandise without a unit cost is valued at the channel's cost share",
    "commission": "revenue x the channel's commission_rate (channels.csv; 0 when absent)",
    "gross_margin": "revenue - cogs - commission",
    "gross_margin_rate": "gross_margin / revenue",
    "fulfilment_cost": "sum of shipment cost (shipments.csv) of the channel's shipments, plus the warehouse's handling cost per shipment with the shared margins (channelops.margins); 0 for a channel that ships nothing",
    "marketing_spend": "sum of spend (marketing_spend.csv) of the channel over all weeks",
    "payment_cost": "payment provider fees (channelops.margins: payment_fee_rate x revenue; NaN when the margins are not given)",
    "margin_rate": "the channel's own contribution margin rate before marketing (channelops.margins: revenue - product cost - commission - fulfilment - payment, over revenue); NaN when not given",
    "contribution": "gross_margin - fulfilment_cost - payment_cost (when known) - marketing_spend (margin after commission, fulfilment, payment and marketing)",
    "roas": "revenue / marketing_spend: all revenue, organic included, per unit of spend (NaN without spend; not the return of the spend)",
    "incremental_revenue": "revenue the spend added over the spend weeks, by 02's fitted response curve (carry-over and saturation; organic base left out); NaN without a curve fitted on the channel's data",
    "marketing_return_rate": "incremental_revenue x margin_rate (else (gross_margin - fulfilment_cost) / revenue) / marketing_spend: incremental margin per unit of spend (100% = the spend pays for itself)",
    "new_customers": "customers whose first order line (any channel, any status) is on this channel, inside the spend weeks",
    "incremental_new_customers": "new customers the spend brought: slope of weekly new customers on weekly spend (least squares with an intercept for organic arrivals) x total spend",
    "cac": "cost of acquisition: 1 / (new customers per unit of spend) from that regression; NaN where its interval reaches 0 (nothing attributes acquisition to spend)",
    "cac_lo, cac_hi": "interval of cac at the run's confidence level (1 / the slope's upper and lower bound)",
    "ltv": "mean of 01's CLV (revenue over the CLV horizon) over the channel's new customers that have one",
    "ltv_coverage": "share of the channel's new customers with a CLV from 01 (01 values CRM customers only)",
    "ltv_cac": "ltv x gross_margin_rate / cac: lifetime margin per unit of acquisition cost",
    "inventory_turnover": "per year: sum over warehouse x SKU cells of w x mean daily units x unit cost x 365 / sum of w x simulated average stock value (04's inventory_policy), w = the channel's share of the cell's demand",
    "fill_rate": "sum over cells of the channel's demand x the cell's simulated fill rate / the channel's demand",
    "order_cycle_hours": "mean hours from order placed (orders.order_ts) to delivered_ts, delivered shipments",
    "on_time_rate": "share of delivered shipments with delivered_ts <= promised_ts",
    "cost_per_delivery": "fulfilment_cost / shipments",
    "contacts_per_100_orders": "service contacts (service_contacts.csv) per 100 orders",
    "service_level": "share of contacts answered within the target wait (needs a wait_seconds column; NaN without)",
    "rank": "order by contribution (gross_margin when contribution is unknown), 1 = best",
}

SCORECARD_COLUMNS = tuple(
    ["channel_id", *[c for k in SCORECARD_DEFINITIONS for c in k.split(", ")]]
)


#: The columns of 03's ``order_lines`` that stage 06 reads (scorecard, growth, segments,
#: plan vs actual and experiments); the notebook reads only these.
LINE_COLUMNS = (
    "channel_id",
    "order_id",
    "customer_id",
    "sku",
    "quantity",
    "revenue_base",
    "net_revenue_base",
    "demand_units",
    "status",
    "order_ts_local",
    "discount_base",
)

#: The columns of 03's ``orders`` that stage 06 reads (the order cycle time).
ORDER_COLUMNS = ("channel_id", "order_id", "order_ts")

#: The columns of shipments.csv that stage 06 reads (fulfilment cost and time, the shared
#: margins' handling cost per warehouse); the notebook reads only these.
SHIPMENT_COLUMNS = ("order_id", "channel_id", "warehouse_id", "promised_ts", "delivered_ts", "cost")


def _sold(lines: pd.DataFrame) -> pd.DataFrame:
    return lines.loc[lines["status"].isin(SOLD_STATUSES).to_numpy(dtype=bool)]


def _codes_or_nan(values: pd.Series, codes: np.ndarray | None = None) -> pd.Series:
    """Integer codes of ``values`` as float, NaN where missing (same ``nunique`` per group);
    ``codes``: the values' given codes (:data:`channelops.margins.CODE_SUFFIX`), or None."""
    if codes is None:
        codes = pd.factorize(values)[0]
    return pd.Series(np.where(codes < 0, np.nan, codes), index=values.index)


def _mapped(lines: pd.DataFrame, column: str, values: pd.Series) -> np.ndarray:
    """``lines[column].map(values)`` as floats (NaN where unmapped); with the column's
    given codes and no missing value, mapped once per distinct value, then taken per row."""
    codes = given_codes(lines, column)
    if codes is None or not len(codes) or codes.min() < 0:
        return lines[column].map(values).to_numpy(dtype=float, na_value=np.nan)
    row_of = np.zeros(int(codes.max()) + 1, dtype=np.int64)  # a row of each code
    row_of[codes] = np.arange(len(codes))
    distinct = lines[column].take(row_of).reset_index(drop=True)  # codes never seen: unused
    return distinct.map(values).to_numpy(dtype=float, na_value=np.nan)[codes]


def _distinct_per_group(group: np.ndarray, n_groups: int, codes: np.ndarray) -> np.ndarray:
    """Distinct codes (>= 0; -1 = missing, not counted) per group 0..n_groups-1, int64:
    ``nunique`` of the codes per group, counted on a table of (group, code) pairs."""
    ok = codes >= 0
    k = int(codes[ok].max()) + 1 if ok.any() else 1
    seen = np.zeros(n_groups * k, dtype=bool)
    seen[group[ok] * k + codes[ok]] = True
    return seen.reshape(n_groups, k).sum(axis=1).astype(np.int64)


def _code_column(lines: pd.DataFrame, column: str) -> np.ndarray | None:
    """The code column of ``column`` (:data:`channelops.margins.CODE_SUFFIX`) as it is
    (int32 as read, not an int64 copy), or None."""
    name = column + CODE_SUFFIX
    return lines[name].to_numpy() if name in lines.columns else None


def _sales_by_codes(
    ch_key: np.ndarray,
    n_channels: int,
    revenue: np.ndarray,
    cogs: np.ndarray,
    sold: np.ndarray,
    o_codes: np.ndarray,
    c_codes: np.ndarray,
) -> pd.DataFrame:
    """:func:`sales_figures`' group-by on the channels' ranks ``ch_key`` (0..n_channels-1,
    each present): revenue and cogs summed in row order by pandas, orders and customers
    counted as distinct order and customer codes of the sold lines."""
    # each column grouped on its own (no frame copying the three line-level columns): the
    # same group-by sums as the frame's, revenue compensated, cogs by Series.sum per group
    key = pd.Categorical.from_codes(ch_key, categories=pd.RangeIndex(n_channels))
    revenue_sums = pd.Series(revenue).groupby(key, observed=True).sum()
    cogs_sums = pd.Series(cogs).groupby(key, observed=True).agg(lambda s: s.sum(min_count=1))
    card = pd.DataFrame(
        {"revenue": revenue_sums.to_numpy(), "cogs": cogs_sums.to_numpy()},
        index=pd.Index(np.asarray(revenue_sums.index, dtype=np.int64), name="channel_id"),
    )
    ch = ch_key.astype(np.int64)
    card.insert(1, "orders", _distinct_per_group(ch, n_channels, np.where(sold, o_codes, -1)))
    card.insert(2, "customers", _distinct_per_group(ch, n_channels, np.where(sold, c_codes, -1)))
    return card


def safe_ratio(a: pd.Series | float, b: pd.Series | float) -> pd.Series | float:
    """``a / b`` with NaN where ``b`` is 0 or NaN (a ratio with nothing to divide by).

    Args:
        a, b: numbers or aligned Series; non-numeric values count as NaN.

    Returns:
        The ratio, in the units of a per unit of b.

    Raises:
        ValueError: ``a`` and ``b`` are Series on different indexes (figures of different
            channels divided by each other).
    """
    if isinstance(a, pd.Series) and isinstance(b, pd.Series) and not a.index.equals(b.index):
        raise ValueError("safe_ratio divides figures on the same index; reindex one first")
    a = pd.to_numeric(a, errors="coerce")
    b = pd.to_numeric(b, errors="coerce")
    if np.ndim(b) == 0:
        return a / b if b != 0 and not pd.isna(b) else a * np.nan
    return a / b.where(b != 0)


def ranking_key(scorecard: pd.DataFrame) -> str:
    """The scorecard column channels are ranked by: contribution when any is known, else
    gross_margin (the dataset lacks fulfilment or marketing costs), else revenue (it lacks
    product costs too).

    Raises:
        ValueError: the scorecard lacks a contribution column.
    """
    require_columns(scorecard, ["contribution"], "scorecard")
    if scorecard["contribution"].notna().any():
        return "contribution"
    if "gross_margin" in scorecard and scorecard["gross_margin"].notna().any():
        return "gross_margin"
    return "revenue"


# ---------------------------------------------------------------------------- scorecard parts


def first_seen(lines: pd.DataFrame) -> pd.DataFrame:
    """Where and when each customer was first seen.

    Args:
        lines: unified order lines with customer_id, channel_id, order_ts_local (any status:
            a cancelled first order still shows where the customer came from); guest lines
            (customer_id <NA>) are left out.

    Returns:
        customer_id, first_seen (local timestamp of the earliest line), first_channel (its
        channel; ties broken by channel_id).
    """
    cols = ["customer_id", "channel_id", "order_ts_local"]
    require_columns(lines, cols, "lines")
    # guests are no customer; the rows are kept as positions, nothing is copied
    rows = np.flatnonzero(lines["customer_id"].notna().to_numpy())
    ts = pd.to_datetime(lines["order_ts_local"])
    if ts.dt.tz is not None:
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    t = ts.to_numpy("datetime64[ns]").view(np.int64)[rows]
    missing_t = ts.isna().to_numpy()[rows]
    # channels ranked in sorted order (missing last), customers by any numbering: with
    # given codes, no string is hashed here
    ch_given, cust_given = given_codes(lines, "channel_id"), given_codes(lines, "customer_id")
    channel = lines["channel_id"]
    if ch_given is not None:
        ch, ch_names = sorted_codes(channel.take(rows), ch_given[rows])
    else:
        ch, ch_names = pd.factorize(channel.take(rows), sort=True)
    ch = np.where(ch < 0, len(ch_names), ch)
    if cust_given is not None:
        cust = cust_given[rows]
    else:
        cust = pd.factorize(lines["customer_id"].take(rows), use_na_sentinel=False)[0]
    first = _first_rows(t, missing_t, ch, len(ch_names) + 1, cust)
    if first is None:  # times too far apart for one int64 key: sort as (time, channel)
        order = np.lexsort((ch, np.where(missing_t, np.iinfo(np.int64).max, t)))
        _, at = np.unique(cust[order], return_index=True)
        first = order[np.sort(at)]
    rows = rows[first]
    return pd.DataFrame(
        {
            "customer_id": lines["customer_id"].take(rows).astype(str).to_numpy(),
            "first_seen": pd.to_datetime(lines["order_ts_local"].take(rows)).to_numpy(),
            "first_channel": channel.take(rows).astype(str).to_numpy(),
        }
    )


def _first_rows(
    t: np.ndarray, missing_t: np.ndarray, ch: np.ndarray, n_ch: int, cust: np.ndarray
) -> np.ndarray | None:
    """Each customer's first row in the order (time, channel rank, row), missing times
    last: the rows a stable sort on (time, channel) keeps first per customer, in that
    order. One int64 key (time since the earliest x ``n_ch`` + channel) and a minimum per
    customer, instead of sorting every row. None when the key would not fit in int64."""
    if not len(t):
        return np.zeros(0, dtype=np.int64)
    ok = ~missing_t
    lo = int(t[ok].min()) if ok.any() else 0
    span = (int(t[ok].max()) - lo + 1) if ok.any() else 0  # missing times: one step later
    if (span + 1) * n_ch >= np.iinfo(np.int64).max:
        return None
    key = np.where(ok, t - lo, span) * n_ch + ch
    n_cust = int(cust.max()) + 1
    best = np.full(n_cust, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(best, cust, key)
    tie = np.flatnonzero(key == best[cust])  # rows at their customer's minimum key
    row = np.full(n_cust, len(t), dtype=np.int64)
    np.minimum.at(row, cust[tie], tie)  # the earliest of those rows
    first = row[row < len(t)]
    return first[np.lexsort((first, key[first]))]


def sales_figures(
    lines: pd.DataFrame, products: pd.DataFrame | None, channels: pd.DataFrame | None
) -> pd.DataFrame:
    """Revenue, orders, customers, aov, cogs, commission, gross margin (and rate) per channel.

    Guest lines (customer_id <NA>) count in revenue, orders and cogs, never in customers.

    Args:
        lines: order lines with channel_id, order_id, customer_id, sku, status, and either
            the intake's net_revenue_base and demand_units (revenue is then the sum of
            net_revenue_base over every line: after cancellations, returns and refunds;
            cogs on demand_units less the units reversal lines bring back, as
            :func:`channelops.margins.channel_margin_rates` counts them) or revenue_base and quantity (revenue and cogs over the
            sold lines).
        products: sku, unit_cost (None: cogs NaN).
        channels: channel_id, commission_rate (None or no column: commission 0).

    Returns:
        Indexed by channel_id (every channel with a line): revenue (base currency), orders
        and customers (with a sold line), aov, cogs, commission, gross_margin,
        gross_margin_rate.
    """
    money = money_column(lines)
    units = "demand_units" if "demand_units" in lines.columns else "quantity"
    require_columns(
        lines, ["channel_id", "order_id", "customer_id", "sku", units, money, "status"], "lines"
    )
    sold = lines["status"].isin(SOLD_STATUSES).to_numpy(dtype=bool, na_value=False)
    revenue = lines[money].to_numpy(dtype=float, na_value=np.nan)
    qty = lines[units].to_numpy(dtype=float, na_value=np.nan)
    if money == "revenue_base":
        revenue = np.where(sold, revenue, 0.0)
    if units == "quantity":
        qty = np.where(sold, qty, 0.0)
    elif "quantity" in lines.columns:
        # a reversal line (negative quantity) brings its units back, and their cost with
        # them: the same units as channelops.margins, so the two margins agree
        signed = lines["quantity"].to_numpy(dtype=float, na_value=0.0)
        merch = (
            lines["is_merchandise"].to_numpy(dtype=bool, na_value=True)
            if "is_merchandise" in lines.columns
            else np.ones(len(lines), dtype=bool)
        )
        qty = qty + np.where(merch & (signed < 0), signed, 0.0)  # qty may view the lines
        del signed, merch
    if products is not None and "unit_cost" in products:
        cost = products.set_index("sku")["unit_cost"]
        cogs = qty * _mapped(lines, "sku", cost)
    else:
        cogs = np.full(len(lines), np.nan)
    cogs[qty == 0] = np.nan  # no units, no cost (and no unknown cost)
    del qty
    # with given codes and no missing channel, group on the channels' ranks in sorted order
    # (the rows and order of a group-by on the names, no string hashed per line)
    ranked = ranked_codes(lines, "channel_id")
    ch_key, ch_names = ranked or (lines["channel_id"].to_numpy(), None)
    o_codes, c_codes = _code_column(lines, "order_id"), _code_column(lines, "customer_id")
    if ch_names is not None and o_codes is not None and c_codes is not None:
        card = _sales_by_codes(ch_key, len(ch_names), revenue, cogs, sold, o_codes, c_codes)
    else:
        o_codes, c_codes = given_codes(lines, "order_id"), given_codes(lines, "customer_id")
        card = (
            pd.DataFrame(
                {
                    "channel_id": ch_key,
                    "revenue": revenue,
                    # distinct counts on integer codes (NA stays NA), not on the id strings
                    "order_id": _codes_or_nan(lines["order_id"], o_codes).where(sold).to_numpy(),
                    "customer_id": _codes_or_nan(lines["customer_id"], c_codes)
                    .where(sold)
                    .to_numpy(),
                    "cogs": cogs,
                }
            )
            .groupby("channel_id", observed=True)
            .agg(
                revenue=("revenue", "sum"),
                orders=("order_id", "nunique"),
                customers=("customer_id", "nunique"),
                cogs=("cogs", lambda s: s.sum(min_count=1)),
            )
        )
    if ch_names is not None:
        card.index = pd.Index([ch_names[i] for i in card.index], dtype=object, name="channel_id")
    card.index = card.index.astype(str)
    rate = (
        channels.set_index(channels["channel_id"].astype(str))["commission_rate"]
        if channels is not None and "commission_rate" in channels
        else pd.Series(dtype=float)
    )
    card["aov"] = safe_ratio(card["revenue"], card["orders"])
    card["commission"] = card["revenue"] * rate.reindex(card.index).fillna(0.0)
    card["gross_margin"] = card["revenue"] - card["cogs"] - card["commission"]
    card["gross_margin_rate"] = safe_ratio(card["gross_margin"], card["revenue"])
    return card


def shipment_figures(shipments: pd.DataFrame, orders: pd.DataFrame | None) -> pd.DataFrame:
    """Fulfilment cost, shipments, cost per delivery, cycle time and on-time rate per channel.

    Args:
        shipments: order_id, channel_id, promised_ts, delivered_ts, cost (shipments.csv;
            timestamps timezone-aware or all naive UTC).
        orders: channel_id, order_id, order_ts (03's orders) for the cycle time; None: NaN.

    Returns:
        Indexed by channel_id: fulfilment_cost, shipments, cost_per_delivery,
        order_cycle_hours, on_time_rate.
    """
    require_columns(
        shipments, ["order_id", "channel_id", "promised_ts", "delivered_ts", "cost"], "shipments"
    )
    # with given codes and no missing channel, group on their ranks in sorted order (and
    # look the orders up by them): no string per shipment is made or hashed for the channel
    ranked = ranked_codes(shipments, "channel_id")
    ch_names = None
    if ranked is not None:
        ch, ch_names = ranked
        s = pd.DataFrame(
            {
                "channel_id": ch,
                **{c: shipments[c].array for c in ("promised_ts", "delivered_ts", "cost")},
            }
        )
    else:
        s = shipments[["channel_id", "order_id", "promised_ts", "delivered_ts", "cost"]].copy()
        s["channel_id"] = s["channel_id"].astype(str)
    delivered = s["delivered_ts"].notna()
    s["on_time"] = np.where(delivered, s["delivered_ts"] <= s["promised_ts"], np.nan)
    if orders is not None:
        # each shipment's order time, looked up on integer join keys (the first order row
        # per key, as drop_duplicates + left merge on the string keys gave it)
        o = orders[[*ORDER_KEY, "order_ts"]]
        if ch_names is None:
            ks, ko = order_join_keys(s, o)
        else:
            ks, ko = _ranked_order_keys(shipments["order_id"], ch, ch_names, o)
        row = _first_rows_of(ko, ks)
        order_ts = pd.api.extensions.take(o["order_ts"].array, row, allow_fill=True)
        s["cycle_hours"] = (
            s["delivered_ts"] - pd.Series(order_ts, index=s.index)
        ).dt.total_seconds() / 3600
    else:
        s["cycle_hours"] = np.nan
    out = s.groupby("channel_id").agg(
        fulfilment_cost=("cost", "sum"),
        shipments=("cost", "size"),
        order_cycle_hours=("cycle_hours", "mean"),
        on_time_rate=("on_time", "mean"),
    )
    if ch_names is not None:
        out.index = pd.Index([ch_names[i] for i in out.index], dtype=object, name="channel_id")
    out["cost_per_delivery"] = safe_ratio(out["fulfilment_cost"], out["shipments"])
    return out


def _first_rows_of(keys: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """For each of ``wanted``, the first row of ``keys`` holding it, -1 where none does:
    the rows a look-up of the first row per key (``~duplicated``, then
    ``Index.get_indexer``) finds, by a stable sort and a binary search instead of two
    hash tables of every key."""
    uniq, first = np.unique(keys, return_index=True)  # stable: each key's first row
    if not len(uniq):
        return np.full(len(wanted), -1, dtype=np.int64)
    pos = np.minimum(np.searchsorted(uniq, wanted), len(uniq) - 1)
    return np.where(uniq[pos] == wanted, first[pos], -1).astype(np.int64)


def _ranked_order_keys(
    order_id: pd.Series, ch: np.ndarray, ch_names: list[str], orders: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`channelops.frames.order_join_keys` of shipments and ``orders`` when the
    shipments' channels are given as ranks ``ch`` of ``ch_names``: the orders' channels are
    named once per distinct value and numbered the same way (a channel no shipment has, or
    a missing one, matches nothing: key -1), the order ids factorised together as there.
    Equal keys where (channel_id, order_id) are equal, as the text keys give them."""
    ks, ko = order_join_keys(
        pd.DataFrame({"order_id": order_id}, copy=False),
        pd.DataFrame({"order_id": orders["order_id"]}, copy=False),
        on=["order_id"],
    )
    o_codes, o_names = pd.factorize(orders["channel_id"])  # missing: -1
    rank = {name: i for i, name in enumerate(ch_names)}
    o_rank = np.array([rank.get(str(v), -1) for v in o_names] + [-1], dtype=np.int64)[o_codes]
    n = int(max(ks.max(initial=0), ko.max(initial=0))) + 1
    return ch.astype(np.int64) * n + ks, np.where(o_rank >= 0, o_rank * n + ko, -1)


def marketing_figures(marketing: pd.DataFrame, seen: pd.DataFrame) -> pd.DataFrame:
    """Marketing spend, new customers in the spend weeks and CAC per channel.

    Args:
        marketing: week_start, channel_id, spend (marketing_spend.csv).
        seen: from :func:`first_seen`.

    Returns:
        Indexed by channel_id: marketing_spend, new_customers, cac. New customers count
        only those first seen in ``[first week_start, last week_start + 7 days)``.
    """
    require_columns(marketing, ["week_start", "channel_id", "spend"], "marketing_spend")
    weeks = pd.to_datetime(marketing["week_start"])
    lo, hi = weeks.min(), weeks.max() + pd.Timedelta(days=7)
    spend = marketing.groupby(marketing["channel_id"].astype(str))["spend"].sum()
    inside = seen.loc[(seen["first_seen"] >= lo) & (seen["first_seen"] < hi)]
    new = inside.groupby("first_channel").size()
    idx = spend.index.union(new.index)
    out = pd.DataFrame(
        {
            "marketing_spend": spend.reindex(idx).fillna(0.0),
            "new_customers": new.reindex(idx).fillna(0).astype(int),
        }
    )
    out["cac"] = safe_ratio(out["marketing_spend"], out["new_customers"])
    out.index.name = "channel_id"
    return out


def ltv_figures(
    seen: pd.DataFrame, clv: pd.DataFrame, customers: pd.Index | None = None
) -> pd.DataFrame:
    """Mean CLV of each channel's new customers, and the share that has one.

    Args:
        seen: from :func:`first_seen`.
        clv: 01's ``clv`` table (index or column customer_id, column clv). 01 values CRM
            customers; 03 gives a CRM customer its CRM id as golden customer_id, so the
            join is on customer_id directly.
        customers: restrict to these customer ids (e.g. the new customers of the spend
            weeks); None: all.

    Returns:
        Indexed by channel_id: ltv, ltv_coverage.
    """
    c = clv.reset_index() if "customer_id" not in clv.columns else clv
    require_columns(c, ["customer_id", "clv"], "clv")
    value = c.set_index(c["customer_id"].astype(str))["clv"]
    s = seen if customers is None else seen.loc[seen["customer_id"].isin(customers)]
    v = s.assign(clv=s["customer_id"].map(value))
    out = v.groupby("first_channel").agg(
        ltv=("clv", "mean"), ltv_coverage=("clv", lambda x: x.notna().mean())
    )
    out.index.name = "channel_id"
    return out


def inventory_figures(
    policy: pd.DataFrame, lines: pd.DataFrame, shipments: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Inventory turnover and fill rate per channel from 04's inventory policy.

    Stock is shared, so a channel's figures weight every warehouse x SKU cell of the policy
    by the channel's demand in it: ``d_c(w, k) = units of k sold on c x share of c's
    shipments from w`` (:func:`channelops.shipments.warehouse_shares`; a channel that ships
    nothing holds its own ``<channel>_stock``). Without a warehouse column or without
    shipments, the policy is summed per SKU and ``d_c(k)`` is the channel's units of k.

    Args:
        policy: 04's ``inventory_policy``: sku, mean_daily, unit_cost,
            simulated_average_stock, simulated_fill_rate and optionally warehouse_id.
        lines: order lines (channel_id, sku, quantity, status).
        shipments: channel_id, warehouse_id, or None.

    Returns:
        Indexed by channel_id: inventory_turnover (per year), fill_rate.
    """
    require_columns(
        policy,
        ["sku", "mean_daily", "unit_cost", "simulated_average_stock", "simulated_fill_rate"],
        "inventory_policy",
    )
    units = _units_sold(lines)
    p = policy.assign(sku=policy["sku"].astype(str))
    if "warehouse_id" in p.columns and shipments is not None:
        demand = _warehouse_demand(units, shipments)
        cells = _with_cell_values(p)
        key = ["warehouse_id", "sku"]
    else:
        demand = units.assign(d=units["units"])
        cells = _policy_per_sku(p)
        key = ["sku"]
    return _demand_weighted_figures(demand, cells, key)


def _units_sold(lines: pd.DataFrame) -> pd.DataFrame:
    """channel_id, sku (both str), units: sold quantity per channel and SKU (the intake's
    demand_units when the lines carry them: merchandise only, returns and cancellations
    out)."""
    if "demand_units" in lines.columns:
        keep = lines["demand_units"].to_numpy(dtype=float, na_value=0.0) > 0
        by_codes = _units_by_codes(lines, keep)
        if by_codes is not None:
            return by_codes
        sold = lines.loc[keep, ["channel_id", "sku", "demand_units"]].rename(
            columns={"demand_units": "quantity"}
        )
    else:
        sold = _sold(lines[["channel_id", "sku", "quantity", "status"]])
    # group on the keys as they are and turn only the result's keys into str (missing
    # keys kept as their own group, named "nan" as astype(str) names them)
    return (
        sold.groupby(["channel_id", "sku"], observed=True, dropna=False)["quantity"]
        .sum()
        .rename("units")
        .reset_index()
        .astype({"channel_id": str, "sku": str})
    )


def _units_by_codes(lines: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame | None:
    """:func:`_units_sold` of the ``keep`` rows grouped on the channels' and SKUs' given
    codes (:data:`channelops.margins.CODE_SUFFIX`) ranked in sorted order: the groups,
    their order and sums of the group-by on the strings. None when a code is not given or
    a kept row misses its channel or SKU (the string group-by names those)."""
    ch, sku = given_codes(lines, "channel_id"), given_codes(lines, "sku")
    if ch is None or sku is None:
        return None
    ch, sku = ch[keep], sku[keep]
    if len(ch) == 0 or min(ch.min(), sku.min()) < 0:
        return None
    ch_rank, ch_names = sorted_codes(lines["channel_id"][keep], ch)
    sku_rank, sku_names = sorted_codes(lines["sku"][keep], sku)
    units = lines["demand_units"][keep].reset_index(drop=True)
    g = units.groupby([ch_rank, sku_rank]).sum()
    return pd.DataFrame(
        {
            "channel_id": np.array(ch_names, dtype=object)[g.index.get_level_values(0)],
            "sku": np.array(sku_names, dtype=object)[g.index.get_level_values(1)],
            "units": g.to_numpy(),
        }
    )


def _warehouse_demand(units: pd.DataFrame, shipments: pd.DataFrame) -> pd.DataFrame:
    """``units`` spread over warehouses by each channel's shipment shares: column d = units
    x share, one row per channel x warehouse x SKU."""
    shares = warehouse_shares(
        # the two columns it counts, not a converted copy of all of shipments.csv
        shipments[["channel_id", "warehouse_id"]].astype({"channel_id": str}),
        sorted(units["channel_id"].unique()),
    )
    demand = units.merge(shares, on="channel_id")
    demand["d"] = demand["units"] * demand["share"]
    return demand


def _with_cell_values(p: pd.DataFrame) -> pd.DataFrame:
    """Each policy cell's average stock value and daily flow value (unit cost x units)."""
    if "stock_value" in p:
        return p
    return p.assign(
        stock_value=p["simulated_average_stock"] * p["unit_cost"],
        flow_value=p["mean_daily"] * p["unit_cost"],
    )


def _policy_per_sku(p: pd.DataFrame) -> pd.DataFrame:
    """The policy summed over warehouses per SKU; the fill rate weighted by daily demand."""
    p = p.assign(
        fill_units=p["simulated_fill_rate"] * p["mean_daily"],
        stock_value=p["simulated_average_stock"] * p["unit_cost"],
        flow_value=p["mean_daily"] * p["unit_cost"],
    )
    p = p.groupby("sku", as_index=False).agg(
        mean_daily=("mean_daily", "sum"),
        fill_units=("fill_units", "sum"),
        stock_value=("stock_value", "sum"),
        flow_value=("flow_value", "sum"),
    )
    p["simulated_fill_rate"] = safe_ratio(p["fill_units"], p["mean_daily"])
    return p


def _demand_weighted_figures(
    demand: pd.DataFrame, cells: pd.DataFrame, key: list[str]
) -> pd.DataFrame:
    """Turnover and fill rate per channel, every cell weighted by the channel's share w of
    its demand d (turnover: yearly flow value / stock value; fill rate: served / demand)."""
    demand["w"] = demand["d"] / demand.groupby(key)["d"].transform("sum")
    m = demand.merge(
        cells[[*key, "stock_value", "flow_value", "simulated_fill_rate"]], on=key, how="inner"
    )
    g = m.assign(
        flow=m["w"] * m["flow_value"] * 365,
        stock=m["w"] * m["stock_value"],
        served=m["d"] * m["simulated_fill_rate"],
    )
    out = g.groupby("channel_id").agg(
        flow=("flow", "sum"), stock=("stock", "sum"), served=("served", "sum"), d=("d", "sum")
    )
    return pd.DataFrame(
        {
            "inventory_turnover": safe_ratio(out["flow"], out["stock"]),
            "fill_rate": safe_ratio(out["served"], out["d"]),
        }
    )


def service_figures(
    contacts: pd.DataFrame, orders_per_channel: pd.Series, target_wait_s: float = 20.0
) -> pd.DataFrame:
    """Contacts per 100 orders and, when wait times exist, the service level per channel.

    Args:
        contacts: channel_id and optionally wait_seconds (service_contacts.csv).
        orders_per_channel: orders per channel (the scorecard's ``orders``).
        target_wait_s: answered within this many seconds counts as served in time.

    Returns:
        Indexed by channel_id: contacts_per_100_orders, service_level (NaN without a
        wait_seconds column).
    """
    require_columns(contacts, ["channel_id"], "service_contacts")
    ch = contacts["channel_id"].astype(str)
    n = contacts.groupby(ch).size()
    out = pd.DataFrame(
        {"contacts_per_100_orders": 100 * safe_ratio(n, orders_per_channel.reindex(n.index))}
    )
    if "wait_seconds" in contacts:
        out["service_level"] = (contacts["wait_seconds"] <= target_wait_s).groupby(ch).mean()
    else:
        out["service_level"] = np.nan
    out.index.name = "channel_id"
    return out


def channel_scorecard(
    lines: pd.DataFrame,
    products: pd.DataFrame | None = None,
    channels: pd.DataFrame | None = None,
    *,
    orders: pd.DataFrame | None = None,
    marketing: pd.DataFrame | None = None,
    shipments: pd.DataFrame | None = None,
    contacts: pd.DataFrame | None = None,
    clv: pd.DataFrame | None = None,
    inventory_policy: pd.DataFrame | None = None,
    target_wait_s: float = 20.0,
    seen: pd.DataFrame | None = None,
    curves: pd.DataFrame | None = None,
    level: float = 0.95,
    margins: pd.DataFrame | None = None,
    shipped: tuple[pd.DataFrame | None, list[str]] | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """The ranked channel scorecard with every figure of :data:`SCORECARD_DEFINITIONS`.

    Args:
        lines: unified order lines (03's ``order_lines``).
        products, channels: product master and channel table (03).
        orders: 03's ``orders`` (cycle time needs order_ts).
        marketing: marketing_spend.csv; shipments: shipments.csv; contacts:
            service_contacts.csv; clv: 01's ``clv``; inventory_policy: 04's. Each may be
            None: its figures are NaN and a note says so.
        target_wait_s: service-level target wait, seconds.
        seen: :func:`first_seen` of ``lines`` when the caller has it already (None:
            computed here).
        curves: 02's ``response_curves`` for the incremental revenue (None: NaN).
        level: coverage of the cost-of-acquisition interval.
        margins: :func:`channelops.margins.channel_margin_rates` of the same lines
            (channel_id, payment_cost, margin_rate), or None: payment_cost and margin_rate
            NaN, contribution without payment fees.
        shipped: :func:`shipment_part` of the shipments and orders, computed beforehand
            (then ``orders`` is not read, and ``shipments`` only for the warehouses that
            serve each channel: channel_id, warehouse_id); None: computed here.

    Returns:
        (scorecard with the columns of :data:`SCORECARD_COLUMNS`, one row per channel that
        sold, ranked, then period_start and period_end (first and last order day of
        ``lines``: the period every figure covers) when the lines have order_ts_local; notes: one sentence per figure left NaN and why).
    """
    notes: list[str] = []
    card = sales_figures(lines, products, channels)
    if products is None or "unit_cost" not in products:
        notes.append("no product master with unit_cost: cogs, margins and contribution are NaN")
    if seen is None:
        seen = first_seen(lines)
    if shipped is None:
        shipped = shipment_part(shipments, orders)
    card = _with_shipments(card, shipped, notes)
    card, new_ids = _with_marketing(card, marketing, seen, notes, curves, level)
    if clv is not None and len(clv):
        card = card.join(ltv_figures(seen, clv, new_ids))
    else:
        notes.append("no CLV table from 01: ltv and ltv_cac are NaN")
    if inventory_policy is not None and len(inventory_policy):
        card = card.join(inventory_figures(inventory_policy, lines, shipments))
    else:
        notes.append("no inventory_policy from 04: inventory turnover and fill rate are NaN")
    card = _with_service(card, contacts, target_wait_s, notes)
    if margins is not None and len(margins):
        require_columns(margins, ["channel_id", "payment_cost", "margin_rate"], "margins")
        m = margins.set_index(margins["channel_id"].astype(str))
        card = _costs_from_margins(card.join(m[["payment_cost", "margin_rate"]]), m)
    card, notes = _ranked(_with_ratios(card), notes)
    if "order_ts_local" in lines and len(lines):  # the period every figure covers
        ts = pd.to_datetime(lines["order_ts_local"])
        card["period_start"], card["period_end"] = ts.min().normalize(), ts.max().normalize()
    return card, notes


def _costs_from_margins(card: pd.DataFrame, m: pd.DataFrame) -> pd.DataFrame:
    """One cost rule for 02 and 06: where the shared margins
    (:func:`channelops.margins.channel_margin_rates`, indexed by channel) carry ``cogs``
    and ``fulfilment_cost``, the scorecard takes them: merchandise without a unit cost is
    valued at the channel's cost share (not left out), and fulfilment includes the
    warehouses' handling cost per shipment (not the carrier's cost alone). gross_margin,
    its rate and cost_per_delivery follow. Channels the margins do not list keep their own
    figures."""
    card = card.copy()
    if "cogs" in m:
        known = m["cogs"].reindex(card.index)
        card["cogs"] = known.where(known.notna(), card["cogs"])
        card["gross_margin"] = card["revenue"] - card["cogs"] - card["commission"]
        card["gross_margin_rate"] = safe_ratio(card["gross_margin"], card["revenue"])
    if "fulfilment_cost" in m and "fulfilment_cost" in card:
        known = m["fulfilment_cost"].reindex(card.index)
        card["fulfilment_cost"] = known.where(known.notna(), card["fulfilment_cost"])
        if "shipments" in card:
            card["cost_per_delivery"] = safe_ratio(card["fulfilment_cost"], card["shipments"])
    return card


def shipment_part(
    shipments: pd.DataFrame | None, orders: pd.DataFrame | None
) -> tuple[pd.DataFrame | None, list[str]]:
    """The scorecard's shipment figures and their notes, ready to join: :func:`shipment_figures`
    of ``shipments`` and ``orders`` (None without shipments) and a note when shipments or
    orders are absent. Computed on its own (:func:`channel_scorecard` ``shipped``), so a
    caller can free the orders and the shipments' order ids and times before reading the
    lines.

    Args:
        shipments, orders: as :func:`channel_scorecard` takes them.

    Returns:
        (figures indexed by channel_id or None, notes).
    """
    if shipments is None or not len(shipments):
        return None, [
            "no shipments.csv: fulfilment_cost, cost_per_delivery, order cycle time and "
            "on-time rate are NaN, and contribution is unknown"
        ]
    notes = [] if orders is not None else ["no orders table: order_cycle_hours is NaN"]
    figures = shipment_figures(shipments, orders)
    release_arrow_memory()  # the order ids' encoding, before the caller reads the lines
    return figures, notes


def _with_shipments(
    card: pd.DataFrame,
    shipped: tuple[pd.DataFrame | None, list[str]],
    notes: list[str],
) -> pd.DataFrame:
    """``card`` joined with :func:`shipment_part`'s figures (a channel without shipments
    costs 0); its notes added to ``notes``."""
    figures, why = shipped
    notes.extend(why)
    if figures is None:
        return card
    card = card.join(figures)
    card["fulfilment_cost"] = card["fulfilment_cost"].fillna(0.0)
    card["shipments"] = card["shipments"].fillna(0)
    return card


def _with_marketing(
    card: pd.DataFrame,
    marketing: pd.DataFrame | None,
    seen: pd.DataFrame,
    notes: list[str],
    curves: pd.DataFrame | None = None,
    level: float = 0.95,
) -> tuple[pd.DataFrame, pd.Series | None]:
    """``card`` joined with :func:`marketing_figures`, the incremental revenue and the
    acquisition model (:mod:`.returns`), and the ids of the customers first seen inside the
    spend weeks (None without marketing_spend.csv: every customer)."""
    if marketing is None or not len(marketing):
        notes.append(
            "no marketing_spend.csv: marketing spend, ROAS, marketing return, cost of "
            "acquisition and LTV/CAC are NaN"
        )
        return card, None
    card = card.join(marketing_figures(marketing, seen).drop(columns="cac"))
    card["marketing_spend"] = card["marketing_spend"].fillna(0.0)
    card["new_customers"] = card["new_customers"].fillna(0).astype(int)
    inc = incremental_revenue(marketing, curves)
    card = card.join(inc[["incremental_revenue"]])
    if inc["incremental_revenue"].isna().all():
        notes.append(
            "no response curve fitted on this data (02's response_curves): incremental "
            "revenue and the marketing return are NaN"
        )
    acq = acquisition_model(marketing, seen, level)
    card = card.join(acq[["incremental_new_customers", "cac", "cac_lo", "cac_hi"]])
    for ch, why in acq["acquisition_note"].items():
        if why and ch in card.index:
            notes.append(f"{ch}: no cost of acquisition shown: {why}")
    weeks = pd.to_datetime(marketing["week_start"])
    inside = seen.loc[
        (seen["first_seen"] >= weeks.min())
        & (seen["first_seen"] < weeks.max() + pd.Timedelta(days=7))
    ]
    return card, inside["customer_id"]


def _with_service(
    card: pd.DataFrame, contacts: pd.DataFrame | None, target_wait_s: float, notes: list[str]
) -> pd.DataFrame:
    """``card`` joined with :func:`service_figures`; a note when contacts or waits are absent."""
    if contacts is None or not len(contacts):
        notes.append("no service_contacts.csv: contacts per 100 orders and service level are NaN")
        return card
    card = card.join(service_figures(contacts, card["orders"], target_wait_s))
    if "wait_seconds" not in contacts:
        notes.append(
            "service_contacts.csv has no wait_seconds (answer time) column: "
            "service_level is NaN; contacts per 100 orders is shown instead"
        )
    return card


def _with_ratios(card: pd.DataFrame) -> pd.DataFrame:
    """Every scorecard column in order (absent figures NaN), then contribution and the
    ratios computed from the figures."""
    card = card.reindex(
        columns=[c for c in SCORECARD_COLUMNS if c not in ("channel_id", "rank")]
        + (["shipments"] if "shipments" in card else [])
    )
    card["contribution"] = (
        card["gross_margin"]
        - card["fulfilment_cost"]
        - card["payment_cost"].fillna(0.0)
        - card["marketing_spend"]
    )
    card["roas"] = safe_ratio(card["revenue"], card["marketing_spend"])
    variable_margin = card["gross_margin"] - card["fulfilment_cost"].fillna(0.0)
    rate = card["margin_rate"].fillna(safe_ratio(variable_margin, card["revenue"]))
    card["marketing_return_rate"] = safe_ratio(
        card["incremental_revenue"] * rate, card["marketing_spend"]
    )
    card["ltv_cac"] = safe_ratio(card["ltv"] * card["gross_margin_rate"], card["cac"])
    return card


def _ranked(card: pd.DataFrame, notes: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """The card sorted by :func:`ranking_key` (best first) with rank 1..n, channel_id a column."""
    key = ranking_key(card)
    if key == "gross_margin":
        notes.append(
            "contribution is unknown: channels are ranked by gross margin after commission"
        )
    elif key == "revenue":
        notes.append("contribution and gross margin are unknown: channels are ranked by revenue")
    card = card.sort_values(key, ascending=False, na_position="last")
    card["rank"] = np.arange(1, len(card) + 1)
    card.index.name = "channel_id"
    cols = [c for c in SCORECARD_COLUMNS if c != "channel_id"]
    extra = ["shipments"] if "shipments" in card else []
    return card.reset_index()[["channel_id", *cols, *extra]], notes
