"""Turn the unified orders (03) and the dataset's tables into the inputs of stage 05.

- :func:`canonical_city` — map the channels' spellings of a city onto ``locations.csv``;
- :func:`fulfilled_orders` — the shipped orders with their warehouse (from shipments.csv,
  or the nearest warehouse when there is none);
- :func:`order_weight_kg` — each order's weight from its lines and the product master;
- :func:`demand_by_region_channel` and :func:`shipping_cost_by_key` — the transportation
  problem's demand and unit costs;
- :func:`delivery_stops` and :func:`routes_long` — a day's parcels from one warehouse as
  CVRP stops (one per destination city) and the solved routes as a table;
- :func:`hourly_contacts` and :func:`seasonal_forecast` — service contacts per hour and
  channel, and their weekday-by-hour profile carried forward.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from channelops.frames import ORDER_KEY, as_str_keys, order_join_keys

from .allocation import haversine_km

__all__ = [
    "ROUTE_COLUMNS",
    "canonical_city",
    "fulfilled_orders",
    "order_weight_kg",
    "with_order_weight",
    "ships_nothing",
    "orders_for_logistics",
    "order_span_days",
    "allocation_inputs",
    "demand_by_region_channel",
    "shipping_cost_by_key",
    "own_warehouses",
    "delivery_stops",
    "routes_long",
    "split_full_loads",
    "hourly_contacts",
    "seasonal_forecast",
]

SHIPPED_STATUSES = ("paid", "shipped", "delivered", "returned")

#: The order columns the delay analysis reads (section 4 of the notebook).
DELAY_ORDER_COLUMNS = ("channel_id", "order_id", "order_ts", "city")

#: Columns of the ``routes`` table.
ROUTE_COLUMNS = ["solver", "vehicle", "stop", "city", "load", "distance_km", "cum_km"]


def canonical_city(city: pd.Series, locations: pd.DataFrame | None) -> pd.Series:
    """City names in the spelling of ``locations.csv`` when they match ignoring case.

    Args:
        city: city names as the channels wrote them (may hold NA).
        locations: locations.csv (city column), or None to keep the names as they are.

    Returns:
        String series; names not in locations are kept stripped, NA stays NA.
    """
    s = city.astype("string").str.strip()
    if locations is None:
        return s
    canon = {c.casefold(): c for c in locations["city"].astype(str)}
    names = {c: canon.get(c.casefold(), c) for c in s.dropna().unique()}
    return s.map(names).astype("string")


def _nearest_warehouse(
    cities: pd.Series, warehouses: pd.DataFrame, locations: pd.DataFrame | None
) -> pd.Series:
    fallback = warehouses.sort_values("daily_capacity_orders", ascending=False)[
        "warehouse_id"
    ].iloc[0]
    if locations is None:
        return pd.Series(fallback, index=cities.index)
    loc = locations.drop_duplicates("city").set_index("city")[["lat", "lon"]]
    ll = loc.reindex(cities.astype(object)).to_numpy(float)
    km = haversine_km(
        ll[:, :1],
        ll[:, 1:],
        warehouses["lat"].to_numpy(float)[None, :],
        warehouses["lon"].to_numpy(float)[None, :],
    )
    best = np.asarray(warehouses["warehouse_id"])[np.nan_to_num(km, nan=np.inf).argmin(axis=1)]
    return pd.Series(np.where(np.isnan(ll[:, 0]), fallback, best), index=cities.index)


def _with_region(o: pd.DataFrame, locations: pd.DataFrame | None) -> pd.DataFrame:
    """``o`` (modified and returned) with string keys and region, its canonical city or
    ``"unknown"`` (:func:`canonical_region`)."""
    o["channel_id"] = as_str_keys(o["channel_id"])
    o["order_id"] = as_str_keys(o["order_id"])
    city = o["city"] if "city" in o else pd.Series(pd.NA, index=o.index, dtype="string")
    o["region"] = canonical_region(city, locations)
    return o


def canonical_region(city: pd.Series, locations: pd.DataFrame | None) -> np.ndarray:
    """``canonical_city(city, locations).fillna("unknown").astype(str)`` as an object array,
    computed once per distinct city instead of once per row."""
    codes, uniques = pd.factorize(city)
    names = canonical_city(pd.Series(uniques, dtype=city.dtype), locations)
    names = np.append(names.fillna("unknown").astype(str).to_numpy(dtype=object), "unknown")
    return names[codes]  # code -1 (missing city) takes the last name, "unknown"


def fulfilled_orders(
    orders: pd.DataFrame,
    warehouses: pd.DataFrame,
    shipments: pd.DataFrame | None = None,
    locations: pd.DataFrame | None = None,
    channels: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The orders that went through a warehouse, with the warehouse that shipped them.

    Args:
        orders: the unified orders (03): channel_id, order_id, customer_id, order_ts,
            order_ts_local, status, units, revenue_base, city.
        warehouses: warehouses.csv (warehouse_id, lat, lon, daily_capacity_orders).
        shipments: shipments.csv, or None. When given, the orders are those with a shipment
            and carry its warehouse_id, promised_ts, shipped_ts, delivered_ts and carrier.
        locations: locations.csv, to geocode cities (nearest warehouse without shipments).
        channels: channels.csv, to leave out offline channels when there are no shipments.

    Returns:
        The orders (one row each) plus warehouse_id and region (canonical city or
        ``"unknown"``), and the shipment columns when shipments were given. Without
        shipments: orders with status paid/shipped/delivered/returned from non-offline
        channels, each assigned its nearest warehouse (the largest when the city is unknown).
    """
    need = {"channel_id", "order_id", "order_ts"}
    missing = need - set(orders.columns)
    if missing:
        raise ValueError(f"orders is missing column(s) {sorted(missing)}")
    if shipments is not None:
        cols = [
            "channel_id",
            "order_id",
            "warehouse_id",
            "promised_ts",
            "shipped_ts",
            "delivered_ts",
            "carrier",
        ]
        s = shipments[[c for c in cols if c in shipments.columns]]
        ko, ks = order_join_keys(orders, s)
        # the first shipment of each order, as drop_duplicates(keys) kept it
        first = ~pd.Series(ks).duplicated().to_numpy()
        pos = pd.Index(ks[first]).get_indexer(ko)
        hit = pos >= 0
        # one copy of the shipped orders only, then the shipment columns added to it
        o = _with_region(orders.loc[hit].reset_index(drop=True), locations)
        s = s.loc[first].drop(columns=ORDER_KEY).take(pos[hit])
        for c in s.columns:
            o[c] = s[c].astype(str).to_numpy() if c == "warehouse_id" else s[c].array
        return o
    o = _with_region(orders.copy(), locations)
    if "status" in o:
        o = o[o["status"].astype(str).isin(SHIPPED_STATUSES)]
    if channels is not None and "kind" in channels:
        offline = set(channels.loc[channels["kind"] == "offline", "channel_id"].astype(str))
        o = o[~o["channel_id"].isin(offline)]
    o = o.copy()
    o["warehouse_id"] = _nearest_warehouse(o["region"], warehouses, locations).astype(str)
    return o


def order_weight_kg(
    order_lines: pd.DataFrame, products: pd.DataFrame | None, default_kg: float = 1.0
) -> pd.DataFrame:
    """Weight of each order: sum over its lines of quantity x the SKU's weight_kg.

    Args:
        order_lines: the unified order lines (channel_id, order_id, sku, quantity; with
            is_merchandise, a non-merchandise line weighs nothing).
        products: products.csv with sku, weight_kg; None gives every unit ``default_kg``.
        default_kg: weight of a unit whose SKU has no weight, kg.

    Returns:
        DataFrame channel_id, order_id, weight_kg.
    """
    weight = _line_weight_kg(order_lines, products, default_kg)
    ch, ch_names = pd.factorize(as_str_keys(order_lines["channel_id"]), sort=True)
    oid, oid_names = pd.factorize(as_str_keys(order_lines["order_id"]), sort=True)
    ok = (ch >= 0) & (oid >= 0)
    n = max(len(oid_names), 1)
    total = pd.Series(weight[ok]).groupby((ch * n + oid)[ok], sort=True).sum()
    key = total.index.to_numpy()
    return pd.DataFrame(
        {
            "channel_id": np.asarray(ch_names.astype(str), dtype=object)[key // n],
            "order_id": np.asarray(oid_names.astype(str), dtype=object)[key % n],
            "weight_kg": total.to_numpy(),
        }
    )


def _line_weight_kg(
    order_lines: pd.DataFrame, products: pd.DataFrame | None, default_kg: float
) -> np.ndarray:
    """Weight of each line, kg: quantity (negatives as 0) x the SKU's weight_kg; 0 for a
    non-merchandise line (``is_merchandise`` False: postage, fees, ... weigh nothing)."""
    if products is not None and "weight_kg" in products and "sku" in order_lines:
        w = products.drop_duplicates("sku").set_index("sku")["weight_kg"].astype(float)
        unit = order_lines["sku"].map(w).astype(float).fillna(default_kg).to_numpy()
    else:
        unit = np.full(len(order_lines), float(default_kg))
    if "is_merchandise" in order_lines:
        unit = np.where(order_lines["is_merchandise"].fillna(True).to_numpy(dtype=bool), unit, 0.0)
    return order_lines["quantity"].astype(float).clip(lower=0).to_numpy() * unit


def with_order_weight(
    orders: pd.DataFrame,
    order_lines: pd.DataFrame,
    products: pd.DataFrame | None,
    default_kg: float = 1.0,
) -> pd.DataFrame:
    """``orders`` plus weight_kg, the order's weight from its lines (:func:`order_weight_kg`).

    The same as ``orders.merge(order_weight_kg(order_lines, products), how="left")`` on
    channel_id and order_id (same rows, order and sums), but the lines are summed per
    order and looked up on integer join keys (:func:`order_join_keys`), not merged on
    two string columns.

    Args:
        orders: frame with channel_id and order_id (one row per order).
        order_lines: channel_id, order_id, sku, quantity.
        products: products.csv with sku, weight_kg (None: every unit ``default_kg``).
        default_kg: weight of a unit whose SKU has no weight, kg.

    Returns:
        ``orders`` (index reset) plus weight_kg, kg; NaN for an order without lines.
    """
    weight = _line_weight_kg(order_lines, products, default_kg)
    ko, kl = order_join_keys(orders, order_lines)
    total = pd.Series(weight).groupby(kl, sort=True).sum()
    pos = total.index.get_indexer(ko)
    out = orders.reset_index(drop=True)
    out["weight_kg"] = np.where(pos >= 0, total.to_numpy()[np.maximum(pos, 0)], np.nan)
    return out


def ships_nothing(orders: pd.DataFrame, order_lines: pd.DataFrame) -> np.ndarray:
    """Per order, True when it has lines and none of them sends a unit out: every line is a
    reversal (negative quantity: a return or cancellation document) or non-merchandise
    (``is_merchandise`` False: postage, fees, ...).

    Args:
        orders: channel_id, order_id (one row per order).
        order_lines: channel_id, order_id, quantity (signed); is_merchandise when known.

    Returns:
        bool array aligned with ``orders``; False for an order without lines.
    """
    out_units = order_lines["quantity"].astype(float).fillna(0.0).clip(lower=0).to_numpy()
    if "is_merchandise" in order_lines:
        out_units = out_units * order_lines["is_merchandise"].fillna(True).to_numpy(dtype=bool)
    ko, kl = order_join_keys(orders, order_lines)
    total = pd.Series(out_units).groupby(kl, sort=True).sum()
    pos = total.index.get_indexer(ko)
    return (pos >= 0) & (total.to_numpy()[np.maximum(pos, 0)] <= 0)


def orders_for_logistics(
    orders: pd.DataFrame,
    order_lines: pd.DataFrame,
    warehouses: pd.DataFrame | None,
    shipments: pd.DataFrame | None = None,
    locations: pd.DataFrame | None = None,
    channels: pd.DataFrame | None = None,
    products: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """The orders each part of stage 05 reads, from the unified orders and lines (03).

    Args:
        orders: the unified orders (see :func:`fulfilled_orders` for the columns).
        order_lines: the unified order lines (channel_id, order_id, sku, quantity;
            is_merchandise when known).
        warehouses: warehouses.csv, or None when the dataset has none.
        shipments, locations, channels: as in :func:`fulfilled_orders` (each may be None).
        products: products.csv (sku, weight_kg), or None for 1 kg a unit.

    Guest orders (no customer_id) are orders like any other. Without shipments, an order
    whose lines send no unit out (only reversals or non-merchandise lines,
    :func:`ships_nothing`) is not a fulfilled order.

    Returns:
        (fulfilled, delay_orders, n_orders). fulfilled: :func:`fulfilled_orders` plus
        weight_kg (kg; 1.0 for an order without lines), empty (with warehouse_id and region)
        without warehouses. delay_orders: the :data:`DELAY_ORDER_COLUMNS` present, of the
        fulfilled orders (every order with a shipment is one of them), or of all orders
        when there are no warehouses. n_orders: the number of rows of ``orders``.
    """
    if warehouses is None:
        fulfilled = orders.iloc[0:0].assign(
            warehouse_id=pd.Series(dtype=str), region=pd.Series(dtype=str)
        )
    else:
        fulfilled = fulfilled_orders(orders, warehouses, shipments, locations, channels)
        if shipments is None:
            fulfilled = fulfilled[~ships_nothing(fulfilled, order_lines)]
    fulfilled = with_order_weight(fulfilled, order_lines, products)
    fulfilled["weight_kg"] = fulfilled["weight_kg"].fillna(1.0)
    source = fulfilled if warehouses is not None else orders
    delay_orders = source[[c for c in DELAY_ORDER_COLUMNS if c in orders]]
    return fulfilled, delay_orders, len(orders)


def order_span_days(order_ts: pd.Series) -> float:
    """Days between the first and the last order, at least 1.

    Args:
        order_ts: order timestamps.

    Returns:
        (last - first) in days (fractional), or 1.0 when that is shorter than a day.

    Raises:
        ValueError: no timestamps.
    """
    if order_ts.dropna().empty:
        raise ValueError("no order timestamps to measure a span on")
    return max(1.0, (order_ts.max() - order_ts.min()).total_seconds() / 86400)


def allocation_inputs(
    fulfilled: pd.DataFrame,
    warehouses: pd.DataFrame,
    locations: pd.DataFrame,
    cost_per_km_kg: float,
    base_cost: float,
) -> tuple[pd.Series, pd.Series, pd.DataFrame]:
    """Supply, demand and unit costs of the transportation problem.

    Args:
        fulfilled: fulfilled orders with order_ts, region, channel_id, order_id, weight_kg.
        warehouses: warehouse_id, lat, lon, daily_capacity_orders (and
            handling_cost_per_order).
        locations: city, lat, lon; only regions found here are allocated.
        cost_per_km_kg: carrier rate, currency per km per kg.
        base_cost: fixed cost per parcel, currency.

    Returns:
        (supply, demand, cost): supply is warehouse -> daily_capacity_orders (orders/day,
        float); demand is (region, channel) -> average orders per day over the orders' span
        (:func:`order_span_days`); cost is :func:`shipping_cost_by_key`, warehouses x
        (region, channel), currency per order.
    """
    span = order_span_days(fulfilled["order_ts"])
    demand = demand_by_region_channel(fulfilled, span, locations["city"])
    cost = shipping_cost_by_key(warehouses, locations, demand, cost_per_km_kg, base_cost)
    supply = warehouses.set_index("warehouse_id")["daily_capacity_orders"].astype(float)
    dem = demand.set_index(["region", "channel_id"])["orders_per_day"].rename_axis(
        ["region", "channel"]
    )
    return supply, dem, cost


def demand_by_region_channel(
    orders: pd.DataFrame, days: float, known_regions: Sequence[str] | None = None
) -> pd.DataFrame:
    """Average orders per day and mean order weight by (region, channel).

    Args:
        orders: fulfilled orders with region, channel_id and weight_kg.
        days: length of the period the orders cover, days.
        known_regions: keep only these regions (the ones that can be geocoded).

    Returns:
        DataFrame region, channel_id, orders, orders_per_day, weight_kg (mean per order).
    """
    if days <= 0:
        raise ValueError(f"days must be positive, got {days}")
    o = orders
    if known_regions is not None:
        o = o[o["region"].isin(set(known_regions))]
    g = o.groupby(["region", "channel_id"], observed=True)
    out = g.agg(orders=("order_id", "size"), weight_kg=("weight_kg", "mean")).reset_index()
    out["orders_per_day"] = out["orders"] / days
    return out[["region", "channel_id", "orders", "orders_per_day", "weight_kg"]]


def shipping_cost_by_key(
    warehouses: pd.DataFrame,
    locations: pd.DataFrame,
    demand: pd.DataFrame,
    cost_per_km_kg: float,
    base_cost: float,
    include_handling: bool = True,
) -> pd.DataFrame:
    """Unit cost of serving each (region, channel) demand from each warehouse.

    ``cost = base_cost + handling_cost_per_order + cost_per_km_kg * weight_kg * km``, with
    the key's mean order weight and the great-circle distance warehouse -> region.

    Args:
        warehouses: warehouse_id, lat, lon (and handling_cost_per_order).
        locations: city, lat, lon.
        demand: output of :func:`demand_by_region_channel`.
        cost_per_km_kg: carrier rate, currency per km per kg.
        base_cost: fixed cost per parcel, currency.
        include_handling: add the warehouse's handling_cost_per_order when present.

    Returns:
        DataFrame warehouses x (region, channel) MultiIndex columns, currency per order.
    """
    loc = locations.drop_duplicates("city").set_index("city")[["lat", "lon"]]
    missing = sorted(set(demand["region"]) - set(loc.index))
    if missing:
        raise ValueError(f"regions without coordinates in locations.csv: {missing[:5]}")
    ll = loc.loc[demand["region"]].to_numpy(float)
    km = haversine_km(
        warehouses["lat"].to_numpy(float)[:, None],
        warehouses["lon"].to_numpy(float)[:, None],
        ll[None, :, 0],
        ll[None, :, 1],
    )
    cost = base_cost + cost_per_km_kg * km * demand["weight_kg"].to_numpy(float)[None, :]
    if include_handling and "handling_cost_per_order" in warehouses:
        cost = cost + warehouses["handling_cost_per_order"].to_numpy(float)[:, None]
    cols = pd.MultiIndex.from_frame(demand[["region", "channel_id"]], names=["region", "channel"])
    return pd.DataFrame(
        cost, index=pd.Index(warehouses["warehouse_id"], name="warehouse"), columns=cols
    )


def own_warehouses(orders: pd.DataFrame, spec: str = "") -> dict[str, list[str]]:
    """Each channel's own warehouse, for the "every channel on its own" layout.

    Args:
        orders: fulfilled orders with channel_id and warehouse_id.
        spec: ``"channel:WH,channel:WH2+WH3"`` to set them by hand (``+`` joins several);
            channels not named get the default rule.

    Returns:
        channel -> list of warehouse ids. Default rule: channels in order of volume each
        take, among the warehouses no bigger channel has taken, the one that shipped most
        of their orders (so channels get separate warehouses while there are enough);
        when none is left a channel takes the one that shipped most of its orders.
    """
    given: dict[str, list[str]] = {}
    for item in (t.strip() for t in str(spec).split(",")):
        if not item:
            continue
        ch, sep, whs = item.partition(":")
        if not sep or not whs.strip():
            raise ValueError(f"cannot read {item!r} in own warehouses: expected channel:WH")
        given[ch.strip()] = [w.strip() for w in whs.split("+") if w.strip()]
    counts = orders.groupby(["channel_id", "warehouse_id"], observed=True).size()
    volume = counts.groupby(level=0).sum().sort_values(ascending=False)
    taken = {w for ws in given.values() for w in ws}
    out = dict(given)
    for ch in volume.index:
        if ch in out:
            continue
        mine = counts.loc[ch].sort_values(ascending=False)
        free = [w for w in mine.index if w not in taken]
        pick = free[0] if free else mine.index[0]
        out[ch] = [pick]
        taken.add(pick)
    return out


# --------------------------------------------------------------------------- routing


def delivery_stops(
    orders: pd.DataFrame,
    warehouse: pd.Series,
    locations: pd.DataFrame,
    max_km: float,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One day's parcels from one warehouse as CVRP stops, one per destination city.

    Args:
        orders: that day's orders shipped from the warehouse, with region.
        warehouse: the warehouse row (warehouse_id, city, lat, lon).
        locations: city, lat, lon.
        max_km: leave out cities farther than this from the warehouse (they go by air or
            line haul, not by a delivery round).

    Returns:
        (stops, left_out). stops: node 0 is the depot, then one row per city: node, city,
        lat, lon, parcels (depot 0), km_from_depot, x_km / y_km (equirectangular
        projection around the depot, for plots). left_out: city, parcels, km_from_depot,
        reason, for cities not routed (too far, or no coordinates).
    """
    per_city = orders.groupby("region", observed=True).size().rename("parcels")
    loc = locations.drop_duplicates("city").set_index("city")[["lat", "lon"]]
    geo = per_city.to_frame().join(loc, how="left").reset_index(names="city")
    geo["km_from_depot"] = haversine_km(
        float(warehouse["lat"]),
        float(warehouse["lon"]),
        geo["lat"].to_numpy(float),
        geo["lon"].to_numpy(float),
    )
    no_geo = geo["lat"].isna()
    far = ~no_geo & (geo["km_from_depot"] > max_km)
    left = geo[no_geo | far].assign(
        reason=np.where(no_geo[no_geo | far], "no coordinates", f"farther than {max_km:g} km")
    )
    kept = geo[~(no_geo | far)].sort_values("city").reset_index(drop=True)
    depot = pd.DataFrame(
        {
            "city": [f"{warehouse['warehouse_id']} ({warehouse['city']})"],
            "parcels": [0],
            "lat": [float(warehouse["lat"])],
            "lon": [float(warehouse["lon"])],
            "km_from_depot": [0.0],
        }
    )
    stops = pd.concat([depot, kept], ignore_index=True)
    stops.insert(0, "node", np.arange(len(stops)))
    lat0 = np.radians(float(warehouse["lat"]))
    stops["x_km"] = np.radians(stops["lon"] - float(warehouse["lon"])) * 6371.0 * np.cos(lat0)
    stops["y_km"] = np.radians(stops["lat"] - float(warehouse["lat"])) * 6371.0
    return stops, left[["city", "parcels", "km_from_depot", "reason"]].reset_index(drop=True)


def routes_long(
    routes: Sequence[Sequence[int]],
    stops: pd.DataFrame,
    distances: np.ndarray,
    solver: str,
    depot: int = 0,
) -> pd.DataFrame:
    """The ``routes`` table: one row per stop of each vehicle, plus its return to the depot.

    Args:
        routes: node indices per vehicle, depot excluded.
        stops: output of :func:`delivery_stops` (node order = distance matrix order).
        distances: (n, n) distances in km.
        solver: label for the solver column.
        depot: depot node.

    Returns:
        DataFrame with :data:`ROUTE_COLUMNS`: solver, vehicle (1-based), stop (1-based
        position; the last row of a vehicle is its return to the depot), city, load
        (parcels delivered at the stop), distance_km (leg from the previous stop) and cum_km.
        The sum of distance_km per solver is that plan's total distance.
    """
    rows = []
    for v, route in enumerate(routes, start=1):
        prev, cum = depot, 0.0
        for k, node in enumerate([*route, depot], start=1):
            leg = float(distances[prev, node])
            cum += leg
            rows.append(
                (
                    solver,
                    v,
                    k,
                    str(stops["city"].iloc[node]),
                    float(stops["parcels"].iloc[node]) if node != depot else 0.0,
                    leg,
                    cum,
                )
            )
            prev = node
    return pd.DataFrame(rows, columns=ROUTE_COLUMNS)


# --------------------------------------------------------------------------- staffing


def hourly_contacts(contacts: pd.DataFrame, timezone: str) -> pd.DataFrame:
    """Contacts per channel and local hour, with the hours that had none filled with 0.

    Args:
        contacts: service_contacts.csv (contact_ts tz-aware, channel_id, handle_minutes).
        timezone: reporting timezone (IANA name) for the local hour.

    Returns:
        DataFrame channel_id, hour_start (local, naive), contacts, handle_minutes (mean of
        the hour, NaN when none).
    """
    c = contacts.copy()
    ts = c["contact_ts"]
    local = ts.dt.tz_convert(timezone).dt.tz_localize(None) if ts.dt.tz is not None else ts
    c["hour_start"] = local.dt.floor("h")
    c["channel_id"] = c["channel_id"].astype(str)
    g = c.groupby(["channel_id", "hour_start"], observed=True).agg(
        contacts=("channel_id", "size"), handle_minutes=("handle_minutes", "mean")
    )
    hours = pd.date_range(
        c["hour_start"].min().floor("D"),
        c["hour_start"].max().floor("D") + pd.Timedelta(hours=23),
        freq="h",
    )
    full = pd.MultiIndex.from_product(
        [sorted(c["channel_id"].unique()), hours], names=["channel_id", "hour_start"]
    )
    out = g.reindex(full)
    out["contacts"] = out["contacts"].fillna(0).astype(int)
    return out.reset_index()


def seasonal_forecast(
    hourly: pd.DataFrame, history_weeks: int, horizon_days: int, end: pd.Timestamp | None = None
) -> pd.DataFrame:
    """Weekday-by-hour profile of the last ``history_weeks`` weeks, carried forward.

    ``forecast(channel, d, h) = mean of contacts on the same weekday and hour over the
    last history_weeks weeks`` (a seasonal mean; no trend).

    Args:
        hourly: output of :func:`hourly_contacts`.
        history_weeks: weeks of history the profile averages.
        horizon_days: days to forecast.
        end: first hour after the history (default: the day after the last hour).

    Returns:
        DataFrame channel_id, hour_start, weekday (0 = Monday), hour, contacts (forecast per
        hour), handle_minutes (the channel's mean over the history window, contact-weighted).
    """
    if history_weeks < 1 or horizon_days < 1:
        raise ValueError("history_weeks and horizon_days must be at least 1")
    h = hourly.copy()
    if end is None:
        end = h["hour_start"].max().floor("D") + pd.Timedelta(days=1)
    hist = h[
        (h["hour_start"] >= end - pd.Timedelta(weeks=history_weeks)) & (h["hour_start"] < end)
    ].copy()
    if hist.empty:
        raise ValueError("no contacts in the history window")
    hist["weekday"] = hist["hour_start"].dt.weekday
    hist["hour"] = hist["hour_start"].dt.hour
    profile = hist.groupby(["channel_id", "weekday", "hour"], observed=True)["contacts"].mean()
    w = hist.assign(hm=hist["handle_minutes"] * hist["contacts"])
    sums = w.groupby("channel_id", observed=True)[["hm", "contacts"]].sum()
    aht = (sums["hm"] / sums["contacts"].where(sums["contacts"] > 0)).rename("handle_minutes")
    hours = pd.date_range(
        end, end + pd.Timedelta(days=horizon_days) - pd.Timedelta(hours=1), freq="h"
    )
    fut = pd.MultiIndex.from_product(
        [sorted(h["channel_id"].unique()), hours], names=["channel_id", "hour_start"]
    ).to_frame(index=False)
    fut["weekday"] = fut["hour_start"].dt.weekday
    fut["hour"] = fut["hour_start"].dt.hour
    fut = fut.join(profile, on=["channel_id", "weekday", "hour"])
    fut["contacts"] = fut["contacts"].fillna(0.0)
    fut = fut.join(aht, on="channel_id")
    return fut


def split_full_loads(stops: pd.DataFrame, capacity: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Send every full vehicle load straight to its city; route only what is left.

    A city with more parcels than one vehicle holds gets ``parcels // capacity`` direct
    out-and-back trips; the remainder stays a CVRP stop (cities with no remainder drop out).

    Args:
        stops: output of :func:`delivery_stops` (node 0 the depot).
        capacity: parcels per vehicle.

    Returns:
        (cvrp_stops, direct): cvrp_stops renumbered from 0 (depot first) with the remaining
        parcels; direct has one row per full trip: city, load, distance_km (there and back).
    """
    if capacity <= 0:
        raise ValueError(f"vehicle capacity must be positive, got {capacity}")
    s = stops.copy()
    full = (s["parcels"] // capacity).astype(int)
    full.iloc[0] = 0
    direct = s.loc[s.index.repeat(full), ["city", "km_from_depot"]]
    direct = pd.DataFrame(
        {
            "city": direct["city"].to_numpy(),
            "load": float(capacity),
            "distance_km": 2 * direct["km_from_depot"].to_numpy(float),
        }
    )
    s["parcels"] = s["parcels"] - full * capacity
    keep = (s.index == s.index[0]) | (s["parcels"] > 0)
    s = s[keep].reset_index(drop=True)
    s["node"] = np.arange(len(s))
    return s, direct
