"""Evaluation: the channel scorecard, user-base growth, plan vs actual, policy deltas, summary.

Every scorecard figure is defined in :data:`SCORECARD_DEFINITIONS` (the notebook prints
that table) and computed by one small function on DataFrames; money is in the base
currency. A figure whose input is absent (no ``shipments.csv``, no CLV, ...) is NaN and
:func:`channel_scorecard` says why in its notes; nothing crashes for a missing optional
input. Experiments are in :mod:`channelops.stages.evaluation.experiments`.
"""

from __future__ import annotations


import numpy as np
import pandas as pd

from channelops.customers import customer_features, customer_orders
from channelops.customers import place_in_segments as _nearest_segment
from channelops.frames import ORDER_KEY, as_str_keys, order_join_keys
from channelops.response import steady_state_revenue
from channelops.revenue import weekly_channel_revenue
from channelops.shipments import warehouse_shares

__all__ = [
    "SOLD_STATUSES",
    "SCORECARD_DEFINITIONS",
    "SCORECARD_COLUMNS",
    "first_seen",
    "sales_figures",
    "shipment_figures",
    "marketing_figures",
    "ltv_figures",
    "inventory_figures",
    "service_figures",
    "channel_scorecard",
    "place_in_segments",
    "user_base_growth",
    "segment_mix",
    "overlap_summary",
    "channel_overlap",
    "plan_vs_actual",
    "inventory_policy_deltas",
    "fulfilment_policy_deltas",
    "executive_summary",
    "ranking_text",
    "scorecard_kpis",
]

#: Line statuses that count as sold (cancelled and returned lines do not).
SOLD_STATUSES = ("placed", "paid", "shipped", "delivered")

SCORECARD_DEFINITIONS = {
    "revenue": "sum over sold lines (not cancelled or returned) of quantity x unit price - discount",
    "orders": "distinct orders with at least one sold line",
    "customers": "distinct resolved customers (03's customer_id) with at least one sold line",
    "aov": "revenue / orders",
    "cogs": "sum of quantity x unit_cost (product master) over sold lines",
    "commission": "revenue x the channel's commission_rate (channels.csv; 0 when absent)",
    "gross_margin": "revenue - cogs - commission",
    "gross_margin_rate": "gross_margin / revenue",
    "fulfilment_cost": "sum of shipment cost (shipments.csv) of the channel's shipments; 0 for a channel that ships nothing",
    "marketing_spend": "sum of spend (marketing_spend.csv) of the channel over all weeks",
    "contribution": "gross_margin - fulfilment_cost - marketing_spend (margin after commission, fulfilment and marketing)",
    "roas": "revenue / marketing_spend (NaN without spend)",
    "marketing_roi": "contribution / marketing_spend: profit left per unit of spend after paying for it (NaN without spend)",
    "new_customers": "customers whose first order line (any channel, any status) is on this channel, inside the spend weeks",
    "cac": "marketing_spend / new_customers (customer acquisition cost)",
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

SCORECARD_COLUMNS = tuple(["channel_id", *SCORECARD_DEFINITIONS])


def _require(frame: pd.DataFrame, columns: list[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {missing}; it has {list(frame.columns)}")


def _sold(lines: pd.DataFrame) -> pd.DataFrame:
    return lines.loc[lines["status"].isin(SOLD_STATUSES).to_numpy(dtype=bool)]


def _codes_or_nan(values: pd.Series) -> pd.Series:
    """Integer codes of ``values`` as float, NaN where missing (same ``nunique`` per group)."""
    codes = pd.factorize(values)[0]
    return pd.Series(np.where(codes < 0, np.nan, codes), index=values.index)


def _div(a, b):
    """a / b with NaN where b is 0 or NaN."""
    a = pd.to_numeric(a, errors="coerce")
    b = pd.to_numeric(b, errors="coerce")
    return a / b.where(b != 0)


# ---------------------------------------------------------------------------- scorecard parts


def first_seen(lines: pd.DataFrame) -> pd.DataFrame:
    """Where and when each customer was first seen.

    Args:
        lines: unified order lines with customer_id, channel_id, order_ts_local (any status:
            a cancelled first order still shows where the customer came from).

    Returns:
        customer_id, first_seen (local timestamp of the earliest line), first_channel (its
        channel; ties broken by channel_id).
    """
    _require(lines, ["customer_id", "channel_id", "order_ts_local"], "lines")
    # A stable sort on (time, channel) and the first line of each customer, on integer
    # codes: the same rows as sort_values(kind="mergesort") + drop_duplicates, without
    # sorting ten million object strings. Missing times and channels sort last, as there.
    ts = pd.to_datetime(lines["order_ts_local"])
    if ts.dt.tz is not None:
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    t = ts.to_numpy("datetime64[ns]").view(np.int64).copy()
    t[ts.isna().to_numpy()] = np.iinfo(np.int64).max
    ch, ch_names = pd.factorize(lines["channel_id"], sort=True)
    ch = np.where(ch < 0, len(ch_names), ch)
    order = np.lexsort((ch, t))
    cust = pd.factorize(lines["customer_id"].take(order), use_na_sentinel=False)[0]
    _, first = np.unique(cust, return_index=True)
    rows = order[np.sort(first)]
    return pd.DataFrame(
        {
            "customer_id": lines["customer_id"].take(rows).astype(str).to_numpy(),
            "first_seen": pd.to_datetime(lines["order_ts_local"].take(rows)).to_numpy(),
            "first_channel": lines["channel_id"].take(rows).astype(str).to_numpy(),
        }
    )


def sales_figures(
    lines: pd.DataFrame, products: pd.DataFrame | None, channels: pd.DataFrame | None
) -> pd.DataFrame:
    """Revenue, orders, customers, aov, cogs, commission, gross margin (and rate) per channel.

    Args:
        lines: order lines with channel_id, order_id, customer_id, sku, quantity,
            revenue_base, status.
        products: sku, unit_cost (None: cogs NaN).
        channels: channel_id, commission_rate (None or no column: commission 0).

    Returns:
        Indexed by channel_id.
    """
    _require(
        lines,
        ["channel_id", "order_id", "customer_id", "sku", "quantity", "revenue_base", "status"],
        "lines",
    )
    sold = _sold(
        lines[
            ["channel_id", "order_id", "customer_id", "sku", "quantity", "revenue_base", "status"]
        ]
    )
    if products is not None and "unit_cost" in products:
        cost = products.set_index("sku")["unit_cost"]
        cogs = sold["quantity"] * sold["sku"].map(cost).astype(float)
    else:
        cogs = pd.Series(np.nan, index=sold.index)
    card = (
        pd.DataFrame(
            {
                "channel_id": sold["channel_id"],
                "revenue_base": sold["revenue_base"],
                # distinct counts on integer codes (NA stays NA): hashing 10M strings per
                # channel twice was most of this function's time
                "order_id": _codes_or_nan(sold["order_id"]),
                "customer_id": _codes_or_nan(sold["customer_id"]),
                "cogs": cogs,
            }
        )
        .groupby("channel_id", observed=True)
        .agg(
            revenue=("revenue_base", "sum"),
            orders=("order_id", "nunique"),
            customers=("customer_id", "nunique"),
            cogs=("cogs", lambda s: s.sum(min_count=1)),
        )
    )
    card.index = card.index.astype(str)
    rate = (
        channels.set_index(channels["channel_id"].astype(str))["commission_rate"]
        if channels is not None and "commission_rate" in channels
        else pd.Series(dtype=float)
    )
    card["aov"] = _div(card["revenue"], card["orders"])
    card["commission"] = card["revenue"] * rate.reindex(card.index).fillna(0.0)
    card["gross_margin"] = card["revenue"] - card["cogs"] - card["commission"]
    card["gross_margin_rate"] = _div(card["gross_margin"], card["revenue"])
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
    _require(
        shipments, ["order_id", "channel_id", "promised_ts", "delivered_ts", "cost"], "shipments"
    )
    s = shipments[["channel_id", "order_id", "promised_ts", "delivered_ts", "cost"]].copy()
    s["channel_id"] = s["channel_id"].astype(str)
    delivered = s["delivered_ts"].notna()
    s["on_time"] = np.where(delivered, s["delivered_ts"] <= s["promised_ts"], np.nan)
    if orders is not None:
        # each shipment's order time, looked up on integer join keys (the first order row
        # per key, as drop_duplicates + left merge on the string keys gave it)
        o = orders[[*ORDER_KEY, "order_ts"]]
        ks, ko = order_join_keys(s, o)
        first = ~pd.Series(ko).duplicated().to_numpy()
        pos = pd.Index(ko[first]).get_indexer(ks)
        order_ts = pd.api.extensions.take(o["order_ts"].array[first], pos, allow_fill=True)
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
    out["cost_per_delivery"] = _div(out["fulfilment_cost"], out["shipments"])
    return out


def marketing_figures(marketing: pd.DataFrame, seen: pd.DataFrame) -> pd.DataFrame:
    """Marketing spend, new customers in the spend weeks and CAC per channel.

    Args:
        marketing: week_start, channel_id, spend (marketing_spend.csv).
        seen: from :func:`first_seen`.

    Returns:
        Indexed by channel_id: marketing_spend, new_customers, cac. New customers count
        only those first seen in ``[first week_start, last week_start + 7 days)``.
    """
    _require(marketing, ["week_start", "channel_id", "spend"], "marketing_spend")
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
    out["cac"] = _div(out["marketing_spend"], out["new_customers"])
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
    _require(c, ["customer_id", "clv"], "clv")
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
    _require(
        policy,
        ["sku", "mean_daily", "unit_cost", "simulated_average_stock", "simulated_fill_rate"],
        "inventory_policy",
    )
    sold = _sold(lines[["channel_id", "sku", "quantity", "status"]])
    # group on the keys as they are and turn only the result's keys into str (missing
    # keys kept as their own group, as astype(str) on every line made them "nan" before)
    units = (
        sold.groupby(["channel_id", "sku"], observed=True, dropna=False)["quantity"]
        .sum()
        .rename("units")
        .reset_index()
        .astype({"channel_id": str, "sku": str})
    )
    p = policy.assign(sku=policy["sku"].astype(str))
    by_wh = "warehouse_id" in p.columns and shipments is not None
    if by_wh:
        shares = warehouse_shares(
            # the two columns it counts, not a converted copy of all of shipments.csv
            shipments[["channel_id", "warehouse_id"]].astype({"channel_id": str}),
            sorted(units["channel_id"].unique()),
        )
        demand = units.merge(shares, on="channel_id")
        demand["d"] = demand["units"] * demand["share"]
        key = ["warehouse_id", "sku"]
    else:
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
        p["simulated_fill_rate"] = _div(p["fill_units"], p["mean_daily"])
        demand = units.assign(d=units["units"])
        key = ["sku"]
    if "stock_value" not in p:
        p = p.assign(
            stock_value=p["simulated_average_stock"] * p["unit_cost"],
            flow_value=p["mean_daily"] * p["unit_cost"],
        )
    demand["w"] = demand["d"] / demand.groupby(key)["d"].transform("sum")
    m = demand.merge(
        p[[*key, "stock_value", "flow_value", "simulated_fill_rate"]], on=key, how="inner"
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
            "inventory_turnover": _div(out["flow"], out["stock"]),
            "fill_rate": _div(out["served"], out["d"]),
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
    _require(contacts, ["channel_id"], "service_contacts")
    ch = contacts["channel_id"].astype(str)
    n = contacts.groupby(ch).size()
    out = pd.DataFrame(
        {"contacts_per_100_orders": 100 * _div(n, orders_per_channel.reindex(n.index))}
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

    Returns:
        (scorecard with the columns of :data:`SCORECARD_COLUMNS`, one row per channel that
        sold, ranked; notes: one sentence per figure left NaN and why).
    """
    notes: list[str] = []
    card = sales_figures(lines, products, channels)
    if products is None or "unit_cost" not in products:
        notes.append("no product master with unit_cost: cogs, margins and contribution are NaN")
    if seen is None:
        seen = first_seen(lines)
    if shipments is not None and len(shipments):
        ship = shipment_figures(shipments, orders)
        card = card.join(ship)
        card["fulfilment_cost"] = card["fulfilment_cost"].fillna(0.0)
        card["shipments"] = card["shipments"].fillna(0)
        if orders is None:
            notes.append("no orders table: order_cycle_hours is NaN")
    else:
        notes.append(
            "no shipments.csv: fulfilment_cost, cost_per_delivery, order cycle time and "
            "on-time rate are NaN, and contribution is unknown"
        )
    if marketing is not None and len(marketing):
        mk = marketing_figures(marketing, seen)
        card = card.join(mk)
        card["marketing_spend"] = card["marketing_spend"].fillna(0.0)
        card["new_customers"] = card["new_customers"].fillna(0).astype(int)
        new_ids = None
        weeks = pd.to_datetime(marketing["week_start"])
        inside = seen.loc[
            (seen["first_seen"] >= weeks.min())
            & (seen["first_seen"] < weeks.max() + pd.Timedelta(days=7))
        ]
        new_ids = inside["customer_id"]
    else:
        notes.append("no marketing_spend.csv: marketing spend, ROAS, ROI, CAC and LTV/CAC are NaN")
        new_ids = None
    if clv is not None and len(clv):
        card = card.join(ltv_figures(seen, clv, new_ids))
    else:
        notes.append("no CLV table from 01: ltv and ltv_cac are NaN")
    if inventory_policy is not None and len(inventory_policy):
        card = card.join(inventory_figures(inventory_policy, lines, shipments))
    else:
        notes.append("no inventory_policy from 04: inventory turnover and fill rate are NaN")
    if contacts is not None and len(contacts):
        card = card.join(service_figures(contacts, card["orders"], target_wait_s))
        if "wait_seconds" not in contacts:
            notes.append(
                "service_contacts.csv has no wait_seconds (answer time) column: "
                "service_level is NaN; contacts per 100 orders is shown instead"
            )
    else:
        notes.append("no service_contacts.csv: contacts per 100 orders and service level are NaN")
    card = card.reindex(
        columns=[c for c in SCORECARD_COLUMNS if c not in ("channel_id", "rank")]
        + (["shipments"] if "shipments" in card else [])
    )
    card["contribution"] = card["gross_margin"] - card["fulfilment_cost"] - card["marketing_spend"]
    card["roas"] = _div(card["revenue"], card["marketing_spend"])
    card["marketing_roi"] = _div(card["contribution"], card["marketing_spend"])
    card["ltv_cac"] = _div(card["ltv"] * card["gross_margin_rate"], card["cac"])
    key = "contribution" if card["contribution"].notna().any() else "gross_margin"
    if key == "gross_margin":
        notes.append(
            "contribution is unknown: channels are ranked by gross margin after commission"
        )
    card = card.sort_values(key, ascending=False, na_position="last")
    card["rank"] = np.arange(1, len(card) + 1)
    card.index.name = "channel_id"
    cols = [c for c in SCORECARD_COLUMNS if c != "channel_id"]
    extra = ["shipments"] if "shipments" in card else []
    return card.reset_index()[["channel_id", *cols, *extra]], notes


# ---------------------------------------------------------------------------- user-base growth


def place_in_segments(
    lines: pd.DataFrame, model: pd.DataFrame, as_of: pd.Timestamp | str | None = None
) -> pd.Series:
    """Place every resolved customer into 01's segments with 01's ``segment_model`` table.

    Features are 01's (:func:`channelops.stages.segmentation.customer_features`) computed from all
    of the customer's sold lines on every channel (03's customer_id), measured the day after
    the last order; they are scaled as 01 scaled them and each customer goes to the nearest centre
    (:func:`channelops.customers.place_in_segments`).

    Args:
        lines: unified order lines (customer_id, order_id, channel_id, order_ts_local,
            revenue_base, status).
        model: 01's ``segment_model`` table (standardisation and centres).
        as_of: observation instant (local, naive); default the day after the last order.

    Returns:
        segment per customer_id; customers with no sold line are absent.
    """
    cols = [
        c
        for c in (
            "order_id",
            "channel_id",
            "order_ts_local",
            "revenue_base",
            "status",
            "discount_base",
        )
        if c in lines.columns
    ]
    # a frame over the lines' own columns, not a copy of them (customer_orders copies the
    # sold lines once itself; on large, two more copies made this cell the stage's peak)
    view = pd.DataFrame(
        {**{c: lines[c] for c in cols}, "buyer_ref": as_str_keys(lines["customer_id"])}, copy=False
    )
    orders = customer_orders(view)
    if as_of is None:
        as_of = orders["order_ts"].max().normalize() + pd.Timedelta(days=1)
    return _nearest_segment(customer_features(orders, as_of), model)


def user_base_growth(
    seen: pd.DataFrame, segments: pd.Series | None = None, freq: str = "M"
) -> pd.DataFrame:
    """New customers per first channel and month, split by segment.

    Args:
        seen: from :func:`first_seen`.
        segments: segment per customer_id (e.g. 01's model applied to every resolved
            customer); None puts every customer in ``"all"``.
        freq: period of the time axis (``"M"`` months).

    Returns:
        month (period start), channel_id, segment, new_customers, cumulative_customers
        (running total per channel and segment).
    """
    s = seen.copy()
    s["segment"] = (
        s["customer_id"].map(segments).fillna("unplaced") if segments is not None else "all"
    )
    s["month"] = pd.to_datetime(s["first_seen"]).dt.to_period(freq).dt.start_time
    g = (
        s.groupby(["month", "first_channel", "segment"])
        .size()
        .rename("new_customers")
        .reset_index()
        .rename(columns={"first_channel": "channel_id"})
    )
    g = g.sort_values(["channel_id", "segment", "month"]).reset_index(drop=True)
    g["cumulative_customers"] = g.groupby(["channel_id", "segment"])["new_customers"].cumsum()
    return g.sort_values(["month", "channel_id", "segment"]).reset_index(drop=True)


def segment_mix(growth: pd.DataFrame) -> pd.DataFrame:
    """Share of each segment among the new customers of each channel (rows sum to 1).

    An extra row ``all channels`` gives the mix of the whole base, so a channel whose row
    leans away from it changes the mix.
    """
    t = growth.pivot_table(
        index="channel_id", columns="segment", values="new_customers", aggfunc="sum", fill_value=0
    )
    t.loc["all channels"] = t.sum()
    return t.div(t.sum(axis=1), axis=0)


def overlap_summary(lines: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    """Pairwise channel overlap (customers buying on both) and the share on 2+ channels.

    Returns:
        (square matrix of shared customers, diagonal = the channel's customers; share of
        customers who bought on two or more channels).
    """
    return channel_overlap(lines)


def channel_overlap(lines: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    """:func:`overlap_summary` from each customer's set of channels as a bit mask.

    Equal to ``channelops.stages.integration.channel_overlap_matrix`` (a customer x channel
    crosstab, then its Gram matrix) but counts the few distinct channel sets instead of
    building a customers x channels table (27 s on the large data's 10.8M lines).

    Args:
        lines: customer_id, channel_id (any status).

    Returns:
        (channels x channels int64 matrix of customers bought on both, index and columns
        the sorted channel ids as ``str``, both named channel_id; share of customers, NA
        ids left out, on two or more channels).
    """
    # missing ids get a code (and a name, "nan") of their own, as astype(str) gave them
    ch, ch_names = pd.factorize(lines["channel_id"], use_na_sentinel=False)
    cust, cust_names = pd.factorize(lines["customer_id"], use_na_sentinel=False)
    names = [str(c) for c in ch_names]
    if len(names) > 62:
        raise ValueError(f"{len(names)} channels: channel_overlap handles at most 62")
    mask = np.zeros(len(cust_names), dtype=np.int64)
    np.bitwise_or.at(mask, cust, np.left_shift(np.int64(1), ch.astype(np.int64)))
    sets, n_cust = np.unique(mask, return_counts=True)
    has = (sets[:, None] >> np.arange(len(names))[None, :]) & 1
    m = pd.DataFrame(
        (has * n_cust[:, None]).T @ has,
        index=pd.Index(names, name="channel_id"),
        columns=pd.Index(names, name="channel_id"),
    ).astype(np.int64)
    m = m.loc[sorted(names), sorted(names)]
    known = ~pd.isna(pd.Series(cust_names, dtype=object)).to_numpy()
    n_channels = np.bitwise_count(mask[known])
    share = float((n_channels >= 2).mean()) if known.any() else float("nan")
    return m, share


# ---------------------------------------------------------------------------- plan vs actual


def plan_vs_actual(
    plan: pd.DataFrame,
    lines: pd.DataFrame,
    marketing: pd.DataFrame | None,
    scorecard: pd.DataFrame,
    channels: pd.DataFrame | None = None,
    curves: pd.DataFrame | None = None,
    weeks: int = 13,
) -> pd.DataFrame:
    """02's recommended weekly plan next to what each channel returned in its last weeks.

    Args:
        plan: 02's ``channel_plan`` (channel_id, selected, budget, revenue, profit; weekly).
        lines: order lines (revenue per week as 02 measures it:
            :func:`channelops.stages.channel_selection.weekly_channel_revenue`).
        marketing: marketing_spend.csv (None: actual spend NaN).
        scorecard: for each channel's actual gross_margin_rate (after commission, real COGS).
        channels: fixed_cost_per_month (None: 0).
        curves: 02's ``response_curves``; gives ``model_revenue_at_actual``, the fitted
            curve's steady-state revenue at the actual spend (is the model right?).
        weeks: the actual period: the last ``weeks`` weeks of spend (02 plans the budget of
            the last 13 weeks by default).

    Returns:
        channel_id, selected, planned_budget, planned_revenue, planned_profit,
        planned_revenue_per_spend, actual_spend, actual_revenue, actual_profit,
        actual_revenue_per_spend, model_revenue_at_actual, budget_change (planned -
        actual), revenue_change, profit_change, period_start, period_end and weeks (the
        actual period); all per week, base currency. actual_profit
        = revenue x gross_margin_rate - spend - fixed cost per week (monthly x 12 / 52).
    """
    _require(plan, ["channel_id", "selected", "budget", "revenue", "profit"], "channel_plan")
    rev = weekly_channel_revenue(lines)
    last_week = rev["week_start"].max()
    if marketing is not None and len(marketing):
        mk = marketing.assign(
            week_start=pd.to_datetime(marketing["week_start"]),
            channel_id=marketing["channel_id"].astype(str),
        )
        last_week = min(last_week, mk["week_start"].max())
    first_week = last_week - pd.Timedelta(weeks=weeks - 1)
    recent = rev.loc[(rev["week_start"] >= first_week) & (rev["week_start"] <= last_week)]
    n_weeks = max(recent["week_start"].nunique(), 1)
    actual_rev = recent.groupby(recent["channel_id"].astype(str))["revenue"].sum() / n_weeks
    out = plan[["channel_id", "selected", "budget", "revenue", "profit"]].rename(
        columns={
            "budget": "planned_budget",
            "revenue": "planned_revenue",
            "profit": "planned_profit",
        }
    )
    out["channel_id"] = out["channel_id"].astype(str)
    out = out.set_index("channel_id")
    out["planned_revenue_per_spend"] = _div(out["planned_revenue"], out["planned_budget"])
    if marketing is not None and len(marketing):
        sp = mk.loc[(mk["week_start"] >= first_week) & (mk["week_start"] <= last_week)]
        actual_spend = sp.groupby("channel_id")["spend"].sum() / n_weeks
        out["actual_spend"] = actual_spend.reindex(out.index).fillna(0.0)
    else:
        out["actual_spend"] = np.nan
    out["actual_revenue"] = actual_rev.reindex(out.index).fillna(0.0)
    rate = scorecard.set_index(scorecard["channel_id"].astype(str))["gross_margin_rate"]
    fixed = (
        channels.set_index(channels["channel_id"].astype(str))["fixed_cost_per_month"]
        .reindex(out.index)
        .fillna(0.0)
        * 12
        / 52
        if channels is not None and "fixed_cost_per_month" in channels
        else 0.0
    )
    active = out["actual_revenue"] > 0
    out["actual_profit"] = np.where(
        active, out["actual_revenue"] * rate.reindex(out.index) - out["actual_spend"] - fixed, 0.0
    )
    out["actual_revenue_per_spend"] = _div(out["actual_revenue"], out["actual_spend"])
    out["model_revenue_at_actual"] = np.nan
    if curves is not None and len(curves):
        need = [
            "base_weekly_revenue",
            "revenue_max",
            "adstock_decay",
            "hill_half_saturation",
            "hill_slope",
        ]
        if set(need) <= set(curves.columns):
            c = curves.set_index(curves["channel_id"].astype(str))[need]
            for ch in out.index.intersection(c.index):
                if np.isfinite(out.at[ch, "actual_spend"]):
                    out.at[ch, "model_revenue_at_actual"] = float(
                        steady_state_revenue(out.at[ch, "actual_spend"], c.loc[ch].to_numpy(float))
                    )
    out["budget_change"] = out["planned_budget"] - out["actual_spend"]
    out["revenue_change"] = out["planned_revenue"] - out["actual_revenue"]
    out["profit_change"] = out["planned_profit"] - out["actual_profit"]
    out["period_start"] = first_week
    out["period_end"] = last_week + pd.Timedelta(days=6)
    out["weeks"] = n_weeks
    return out.reset_index()


# ---------------------------------------------------------------------------- policy deltas


def _delta_rows(
    before: pd.Series,
    after: pd.Series,
    metrics: list[str],
    comparison: str,
    scope: str,
    before_name: str,
    after_name: str,
) -> list[dict]:
    rows = []
    for m in metrics:
        b, a = float(before[m]), float(after[m])
        rows.append(
            {
                "comparison": comparison,
                "scope": scope,
                "metric": m,
                "before_policy": before_name,
                "after_policy": after_name,
                "before": b,
                "after": a,
                "delta": a - b,
                "relative_delta": (a - b) / b if b else np.nan,
            }
        )
    return rows


def inventory_policy_deltas(simulation: pd.DataFrame) -> pd.DataFrame:
    """04's forecast-driven policy against the naive days-of-cover policy, per stock level.

    Args:
        simulation: 04's ``policy_simulation`` (policy, stock, fill_rate,
            average_stock_value, holding_cost, turnover_per_year, stockout_days; rows with
            ``curve`` set are the trade-off curve and are skipped).

    Returns:
        comparison ("inventory"), scope (stock level: pooled, per_channel, per_warehouse),
        metric, before_policy, after_policy, before, after, delta (after - before),
        relative_delta.
    """
    _require(simulation, ["policy", "fill_rate", "average_stock_value"], "policy_simulation")
    s = simulation
    if "curve" in s:
        s = s.loc[s["curve"].isna() | (s["curve"] == False)]  # noqa: E712 - object column
    if "stock" not in s:
        s = s.assign(stock="all")
    metrics = [
        m
        for m in (
            "fill_rate",
            "average_stock_value",
            "holding_cost",
            "turnover_per_year",
            "stockout_days",
        )
        if m in s
    ]
    rows = []
    for stock, g in s.groupby("stock", sort=False):
        pol = g.set_index("policy")
        if {"naive_days_of_cover", "forecast_fill_rate"} <= set(pol.index):
            rows += _delta_rows(
                pol.loc["naive_days_of_cover"],
                pol.loc["forecast_fill_rate"],
                metrics,
                "inventory",
                str(stock),
                "naive_days_of_cover",
                "forecast_fill_rate",
            )
    return pd.DataFrame(rows)


def fulfilment_policy_deltas(sim: pd.DataFrame) -> pd.DataFrame:
    """05's priority order flow against FIFO, per channel and over all channels.

    Args:
        sim: 05's ``fulfilment_sim``: policy ('fifo' / 'priority'), channel_id, orders,
            mean_cycle_hours, p95_cycle_hours, sla_breaches, breach_rate.

    Returns:
        Same columns as :func:`inventory_policy_deltas`, comparison "fulfilment", scope =
        channel_id or "all channels" (orders-weighted means, summed breaches; the p95 of
        all channels is the orders-weighted mean of the channels' p95 when no total row).
    """
    _require(
        sim,
        [
            "policy",
            "channel_id",
            "orders",
            "mean_cycle_hours",
            "p95_cycle_hours",
            "sla_breaches",
            "breach_rate",
        ],
        "fulfilment_sim",
    )
    metrics = ["mean_cycle_hours", "p95_cycle_hours", "sla_breaches", "breach_rate"]
    s = sim.assign(channel_id=sim["channel_id"].astype(str))
    total_names = {"all", "total", "all channels"}
    if not s["channel_id"].isin(total_names).any():

        def total(g: pd.DataFrame) -> pd.Series:
            w = g["orders"].to_numpy(float)
            return pd.Series(
                {
                    "orders": w.sum(),
                    "sla_breaches": g["sla_breaches"].sum(),
                    "mean_cycle_hours": np.average(g["mean_cycle_hours"], weights=w),
                    "p95_cycle_hours": np.average(g["p95_cycle_hours"], weights=w),
                    "breach_rate": g["sla_breaches"].sum() / w.sum(),
                }
            )

        tot = pd.DataFrame([total(g).rename(p) for p, g in s.groupby("policy")])
        tot = tot.rename_axis("policy").reset_index().assign(channel_id="all channels")
        s = pd.concat([s, tot], ignore_index=True)
    rows = []
    for ch, g in s.groupby("channel_id", sort=True):
        pol = g.set_index("policy")
        if {"fifo", "priority"} <= set(pol.index):
            rows += _delta_rows(
                pol.loc["fifo"],
                pol.loc["priority"],
                metrics,
                "fulfilment",
                "all channels" if ch in total_names else ch,
                "fifo",
                "priority",
            )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- summary


def _money(v: float, currency: str) -> str:
    return f"{v:,.0f} {currency}"


def executive_summary(
    scorecard: pd.DataFrame,
    experiments: pd.DataFrame | None,
    growth: pd.DataFrame | None,
    plan: pd.DataFrame | None,
    policies: pd.DataFrame | None,
    currency: str,
) -> tuple[list[str], pd.DataFrame]:
    """Five to eight sentences and the key table, from this run's tables only.

    Every number in the sentences is formatted from a cell of the given tables (rounded
    as shown), so the summary cannot drift from the tables.

    Returns:
        (sentences, key table: channel_id, rank, revenue, gross_margin, contribution,
        marketing_roi, cac, ltv_cac, on_time_rate, fill_rate).
    """
    sc = scorecard.sort_values("rank")
    total_rev = sc["revenue"].sum()
    top = sc.iloc[0]
    out = [
        f"The {len(sc)} channels sold {_money(total_rev, currency)} and kept "
        f"{_money(sc['gross_margin'].sum(), currency)} of gross margin after product cost "
        f"and commission ({sc['gross_margin'].sum() / total_rev:.1%})."
    ]
    key = "contribution" if sc["contribution"].notna().any() else "gross_margin"
    label = (
        "contribution after fulfilment and marketing" if key == "contribution" else "gross margin"
    )
    out.append(
        f"{top['channel_id']} ranks first with {_money(top[key], currency)} of {label} "
        f"on {_money(top['revenue'], currency)} of revenue."
    )
    if key == "contribution":
        losers = sc.loc[sc["contribution"] < 0, "channel_id"].tolist()
        if losers:
            verb = "loses" if len(losers) == 1 else "lose"
            out.append(
                f"Not every channel earns its place yet: {', '.join(losers)} {verb} money "
                "after fulfilment and marketing."
            )
        else:
            out.append("Every channel covers its fulfilment and marketing cost.")
    ratio = sc.dropna(subset=["ltv_cac"])
    if len(ratio):
        best = ratio.sort_values("ltv_cac", ascending=False).iloc[0]
        out.append(
            f"The best acquisition channel is {best['channel_id']}: a new customer costs "
            f"{_money(best['cac'], currency)} and returns {best['ltv_cac']:.1f}x that "
            "in lifetime margin."
        )
    if growth is not None and len(growth):
        new = growth.groupby("channel_id")["new_customers"].sum().sort_values(ascending=False)
        out.append(
            f"{int(new.sum()):,} customers were first seen in the data; "
            f"{new.index[0]} brought the most ({int(new.iloc[0]):,}, "
            f"{new.iloc[0] / new.sum():.0%})."
        )
    if experiments is not None and len(experiments):
        e = experiments.iloc[0]
        pre = "cuped_" if pd.notna(e.get("cuped_diff")) else ""
        lo, hi = (e["cuped_lo"], e["cuped_hi"]) if pre else (e["welch_lo"], e["welch_hi"])
        sig = "a real effect" if lo > 0 or hi < 0 else "not distinguishable from zero"
        level = float(e["level"]) if "level" in e and pd.notna(e["level"]) else 0.95
        out.append(
            f"Experiment {e['name']}: {e[pre + 'lift']:+.1%} revenue per customer "
            f"({level:.0%} interval {e[pre + 'lift_lo']:+.1%} to {e[pre + 'lift_hi']:+.1%}), {sig}."
        )
    if plan is not None and len(plan) and plan["actual_spend"].notna().any():
        moved = plan["budget_change"].abs().sum() / 2
        sel = plan.loc[plan["selected"].astype(bool), "channel_id"].tolist()
        out.append(
            f"02's plan runs {len(sel)} channel(s) ({', '.join(sel)}) and moves "
            f"{_money(moved, currency)} of weekly budget; it expects "
            f"{_money(plan['planned_profit'].sum(), currency)} weekly profit against "
            f"{_money(plan['actual_profit'].sum(), currency)} now."
        )
    if policies is not None and len(policies):
        said = []
        inv = policies.loc[
            (policies["comparison"] == "inventory") & (policies["metric"] == "average_stock_value")
        ]
        if len(inv):
            r = inv.iloc[0]
            delta = float(r["relative_delta"])
            more_or_less = "less" if delta < 0 else "more"
            said.append(
                f"the forecast-driven stock policy ({r['scope']} stock) holds "
                f"{abs(delta):.1%} {more_or_less} stock value than the naive policy at "
                "the same fill rate"
            )
        ful = policies.loc[
            (policies["comparison"] == "fulfilment")
            & (policies["scope"] == "all channels")
            & (policies["metric"] == "breach_rate")
        ]
        if len(ful):
            r = ful.iloc[0]
            said.append(
                f"prioritising orders moves the SLA breach rate from {r['before']:.1%} "
                f"to {r['after']:.1%}"
            )
        if said:
            text = " and ".join(said)
            out.append(f"Policies: {text}.")
    if len(out) < 5 and sc["aov"].notna().any():
        a = sc.dropna(subset=["aov"]).sort_values("aov")
        lo_ch, hi_ch = a.iloc[0], a.iloc[-1]
        out.append(
            f"An average order is worth {_money(lo_ch['aov'], currency)} on "
            f"{lo_ch['channel_id']} and {_money(hi_ch['aov'], currency)} on {hi_ch['channel_id']}."
        )
    if len(out) < 5 and key == "gross_margin":
        out.append(
            "Fulfilment and marketing costs are not in the data, so no channel can yet be "
            "shown to earn its place after them."
        )
    cols = [
        "channel_id",
        "rank",
        "revenue",
        "gross_margin",
        "contribution",
        "marketing_roi",
        "cac",
        "ltv_cac",
        "on_time_rate",
        "fill_rate",
    ]
    return out[:8], sc[[c for c in cols if c in sc]].reset_index(drop=True)


def ranking_text(scorecard: pd.DataFrame, currency: str) -> str:
    """One Markdown paragraph on the ranking: who is first and last, who loses money.

    Uses contribution when it is known, else gross margin (and says so).
    """
    sc = scorecard.sort_values("rank")
    top, last = sc.iloc[0], sc.iloc[-1]
    if sc["contribution"].notna().any():
        losing = sc.loc[sc["contribution"] < 0, "channel_id"].tolist()
        text = (
            f"**{top['channel_id']}** earns the most after every cost "
            f"({top['contribution']:,.0f} {currency} contribution on {top['revenue']:,.0f} "
            f"{currency} revenue); **{last['channel_id']}** ranks last. "
        )
        if losing:
            verb = "loses" if len(losing) == 1 else "lose"
            text += (
                f"{', '.join(losing)} {verb} money once fulfilment and marketing are paid, "
                "which revenue alone hides."
            )
        else:
            text += "Every channel covers its fulfilment and marketing."
        return text
    return (
        f"Without fulfilment and marketing costs the ranking is by gross margin after "
        f"commission: **{top['channel_id']}** first ({top['gross_margin']:,.0f} {currency}), "
        f"**{last['channel_id']}** last."
    )


# ---------------------------------------------------------------------------- compare runs


def scorecard_kpis(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Long KPI table (kpi, scope, value) from one run's tables.

    Args:
        tables: table name -> DataFrame; ``scorecard`` is required, ``experiment_results``,
            ``plan_vs_actual``, ``policy_comparison``, ``dq_report``, ``recommender_metrics``
            add their KPIs when present.
    """
    if "scorecard" not in tables:
        raise KeyError("the scorecard table is required to compare runs")
    rows = []
    sc = tables["scorecard"]
    numeric = [
        c
        for c in sc.columns
        if c not in ("channel_id", "rank") and pd.api.types.is_numeric_dtype(sc[c])
    ]
    for _, r in sc.iterrows():
        rows += [{"kpi": c, "scope": str(r["channel_id"]), "value": float(r[c])} for c in numeric]
    for c in (
        "revenue",
        "gross_margin",
        "fulfilment_cost",
        "marketing_spend",
        "contribution",
        "orders",
        "new_customers",
    ):
        if c in sc:
            rows.append({"kpi": c, "scope": "all channels", "value": float(sc[c].sum(min_count=1))})
    if "revenue" in sc and "gross_margin" in sc:
        rows.append(
            {
                "kpi": "gross_margin_rate",
                "scope": "all channels",
                "value": float(sc["gross_margin"].sum() / sc["revenue"].sum()),
            }
        )
    ex = tables.get("experiment_results")
    if ex is not None:
        for _, r in ex.iterrows():
            for c in ("diff", "lift", "cuped_lift", "p_value"):
                if c in ex:
                    rows.append(
                        {"kpi": f"experiment_{c}", "scope": str(r["name"]), "value": float(r[c])}
                    )
    pva = tables.get("plan_vs_actual")
    if pva is not None:
        for c in ("planned_profit", "actual_profit", "planned_budget", "actual_spend"):
            if c in pva:
                rows.append({"kpi": c, "scope": "all channels", "value": float(pva[c].sum())})
    pol = tables.get("policy_comparison")
    if pol is not None and len(pol):
        for _, r in pol.iterrows():
            rows.append(
                {
                    "kpi": f"{r['comparison']}_{r['metric']}_after",
                    "scope": str(r["scope"]),
                    "value": float(r["after"]),
                }
            )
    dq = tables.get("dq_report")
    if dq is not None and "accepted" in dq:
        rows.append(
            {"kpi": "accepted_rows", "scope": "all channels", "value": float(dq["accepted"].sum())}
        )
    rm = tables.get("recommender_metrics")
    if rm is not None:
        # stage 07 scores every model on a validation and a test split, overall and by
        # segment, channel and cohort: compare the overall test-period figures only
        if "split" in rm:
            rm = rm[rm["split"] == "test"]
        if "group_by" in rm:
            rm = rm[rm["group_by"] == "all"]
        for _, r in rm.iterrows():
            for c in ("precision_at_k", "recall_at_k", "ndcg_at_k"):
                if c in rm:
                    rows.append({"kpi": c, "scope": str(r.get("model", "")), "value": float(r[c])})
    return pd.DataFrame(rows)


