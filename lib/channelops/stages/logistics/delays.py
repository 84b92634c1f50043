"""Delivery delay analysis from ``shipments.csv``: on-time rates, delay distributions, drivers.

A shipment is *on time* when it was delivered no later than its promise
(``delivered_ts <= promised_ts``); its delay is ``delivered_ts - promised_ts`` in hours
(negative = early). Parcels still in transit (no ``delivered_ts``) are left out of the
rates. Each delay splits into the warehouse's part, handling = ``shipped_ts - order_ts``,
and the carrier's part, transit = ``delivered_ts - shipped_ts``.

Drivers. Raw on-time rates by carrier are confounded: a carrier used mostly by a channel
with a short promise looks slow even when it is fast, and one that carries far looks
slower than one that carries near. :func:`delay_drivers` therefore fits one ordinary least
squares regression of the delay in hours on carrier (a fixed part and hours per 1000 km),
channel and handling time together, so each carrier's hours per 1000 km is its speed *at
the same channel, distance and handling time*.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from channelops.frames import as_str_keys, lookup_columns

from .allocation import haversine_km
from .prepare import canonical_region
from .source import SHIPMENT_COLUMNS

__all__ = [
    "DELAY_COLUMNS",
    "DRIVER_COLUMNS",
    "shipment_delays",
    "delay_summary",
    "delay_drivers",
    "overall_delays",
    "least_punctual",
    "carrier_speeds",
]

#: Columns of the ``delay_analysis`` table.
DELAY_COLUMNS = [
    "dimension",
    "key",
    "shipments",
    "delivered",
    "on_time_rate",
    "late_rate",
    "mean_delay_h",
    "median_delay_h",
    "p90_delay_h",
    "mean_handling_h",
    "mean_transit_h",
]

#: Columns of the ``delay_drivers`` table.
DRIVER_COLUMNS = ["term", "kind", "level", "n", "coef_h", "std_err", "t"]


def shipment_delays(
    shipments: pd.DataFrame,
    orders: pd.DataFrame | None = None,
    warehouses: pd.DataFrame | None = None,
    locations: pd.DataFrame | None = None,
    order_columns: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per shipment with its delay, handling and transit times.

    Args:
        shipments: shipments.csv as loaded (order_id, channel_id, warehouse_id, promised_ts,
            shipped_ts, delivered_ts, carrier; timestamps tz-aware or all naive).
        orders: the unified orders (03) with channel_id, order_id, order_ts, city; adds
            region (the customer's city) and handling time. Optional.
        warehouses, locations: lat/lon of warehouses and cities; add distance_km when both
            are given together with ``orders``.
        order_columns: instead of ``orders``, each shipment's order_ts and city already
            looked up (:func:`~.source.shipment_order_columns`: srow, the shipment's row
            position, order_ts, city); the same result as passing the orders.

    Returns:
        The shipments plus delivered (bool), delay_h (delivered - promised, hours; NaN in
        transit), late (bool, False in transit), transit_h, and when ``orders`` is given
        region, handling_h (shipped - ordered, hours) and distance_km.
    """
    need = set(SHIPMENT_COLUMNS)
    missing = need - set(shipments.columns)
    if missing:
        raise ValueError(f"shipments is missing column(s) {sorted(missing)}")
    out = shipments.copy()
    out["channel_id"] = as_str_keys(out["channel_id"])
    out["carrier"] = as_str_keys(out["carrier"])
    out["warehouse_id"] = as_str_keys(out["warehouse_id"])
    out["delivered"] = out["delivered_ts"].notna()
    out["delay_h"] = (out["delivered_ts"] - out["promised_ts"]).dt.total_seconds() / 3600
    out["late"] = out["delay_h"] > 0
    out["transit_h"] = (out["delivered_ts"] - out["shipped_ts"]).dt.total_seconds() / 3600
    if orders is not None and order_columns is not None:
        raise ValueError("give orders or order_columns, not both")
    if order_columns is not None:
        out["order_id"] = as_str_keys(out["order_id"])
        out = _with_order_columns(out, order_columns)
    elif orders is not None:
        cols = ["channel_id", "order_id", "order_ts"] + (["city"] if "city" in orders else [])
        out["order_id"] = as_str_keys(out["order_id"])
        extra = lookup_columns(out, orders[cols])
        if extra is None:  # an order twice in orders: the merge repeats its shipments
            out = out.merge(orders[cols], on=["channel_id", "order_id"], how="left")
        else:  # add the order columns to our copy instead of copying it once more
            out = out.reset_index(drop=True)
            extra.index = out.index
            for c in extra.columns:
                out[c] = extra[c]
    if orders is not None or order_columns is not None:
        out["handling_h"] = (out["shipped_ts"] - out["order_ts"]).dt.total_seconds() / 3600
        out["region"] = canonical_region(out["city"], locations) if "city" in out else "unknown"
        if warehouses is not None and locations is not None:
            w = warehouses.set_index("warehouse_id")[["lat", "lon"]]
            c = locations.drop_duplicates("city").set_index("city")[["lat", "lon"]]
            wl = w.reindex(out["warehouse_id"]).to_numpy(float)
            cl = c.reindex(out["region"]).to_numpy(float)
            out["distance_km"] = haversine_km(wl[:, 0], wl[:, 1], cl[:, 0], cl[:, 1])
    return out


def _with_order_columns(out: pd.DataFrame, order_columns: pd.DataFrame) -> pd.DataFrame:
    """``out`` (the shipments, modified) with order_ts and city of ``order_columns`` (srow,
    order_ts, city: one row per shipment, more when its order is repeated in orders)."""
    missing = {"srow", "order_ts", "city"} - set(order_columns.columns)
    if missing:
        raise ValueError(f"order_columns is missing column(s) {sorted(missing)}")
    srow = order_columns["srow"].to_numpy(np.int64)
    if len(srow) != len(out) or (srow != np.arange(len(out))).any():
        if len(out) and (srow.min() < 0 or srow.max() >= len(out)):
            raise ValueError("order_columns has rows of shipments that do not exist (srow)")
        out = out.take(srow)
    out = out.reset_index(drop=True)
    out["order_ts"] = order_columns["order_ts"].array
    out["city"] = order_columns["city"].array
    return out


def _summ(g) -> pd.DataFrame:
    out = g.agg(
        shipments=("order_id", "size"),
        delivered=("delivered", "sum"),
        late_n=("late", "sum"),
        mean_delay_h=("delay_h", "mean"),
        mean_handling_h=("handling_h", "mean"),
        mean_transit_h=("transit_h", "mean"),
    )
    median, p90 = _group_quantiles(g, "delay_h", (0.5, 0.9))
    out.insert(4, "median_delay_h", median)
    out.insert(5, "p90_delay_h", p90)
    return out


def _group_quantiles(g, column: str, ps: tuple[float, ...]) -> list[np.ndarray]:
    """Each group's ``Series.quantile(p)`` of ``column`` (NaN for a group without a value),
    for each p of ``ps``, in the groups' order (that of ``g.agg``).

    The same numpy call on the same values as pandas makes for ``x.quantile(p)`` of each
    group (``np.percentile`` of the values that are not NaN at ``[p] * 100.0``, of a row of
    them when none is NaN), so the same floats; without building a Series per group, which
    was most of the cost on thousands of regions.
    """
    codes = np.asarray(g.ngroup(), dtype=float)  # NaN: a row whose key groupby drops
    values = g.obj[column].to_numpy(dtype=float)
    keep = ~np.isnan(codes)
    codes, values = codes[keep].astype(np.int64), values[keep]
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=g.ngroups)
    groups = np.split(values[order], np.cumsum(counts)[:-1]) if g.ngroups else []
    out = [np.full(g.ngroups, np.nan) for _ in ps]
    qs = [np.asarray([p], dtype=np.float64) * 100.0 for p in ps]
    for k, x in enumerate(groups):
        missing = np.isnan(x)
        if missing.all():
            continue
        for j, q in enumerate(qs):
            if missing.any():  # pandas: np.percentile of the values that are not missing
                out[j][k] = np.percentile(x[~missing], q, method="linear")[0]
            else:  # pandas: np.percentile of the one row, along it
                out[j][k] = np.percentile(x[np.newaxis, :], q, axis=1, method="linear")[0, 0]
    return out


def delay_summary(
    delays: pd.DataFrame, dimensions: tuple[str, ...] = ("channel_id", "carrier", "region")
) -> pd.DataFrame:
    """On-time rate and delay distribution by each dimension, in one long table.

    Args:
        delays: output of :func:`shipment_delays`.
        dimensions: columns to group by, one at a time (missing ones are skipped).

    Returns:
        The ``delay_analysis`` table (:data:`DELAY_COLUMNS`): dimension (``channel``,
        ``carrier``, ``region``, or ``all``), key, shipments, delivered, on_time_rate and
        late_rate (shares of delivered shipments), mean/median/p90 delay in hours (delivered
        minus promised), mean handling and transit hours.
    """
    need = ["order_id", "delivered", "late", "delay_h", "handling_h", "transit_h"]
    d = delays[[c for c in [*dimensions, *need] if c in delays.columns]].copy()
    if "handling_h" not in d:
        d["handling_h"] = np.nan
    parts = []
    for dim in [c for c in dimensions if c in d.columns]:
        s = _summ(d.groupby(dim, observed=True)).reset_index().rename(columns={dim: "key"})
        parts.append(s.assign(dimension=dim.removesuffix("_id")))
    # every row in one group: keyed by a constant int8 (the same rows in the same order as
    # a column of "all", without building and hashing a string per shipment)
    one = pd.Series(np.zeros(len(d), dtype=np.int8), index=d.index, name="_all")
    everything = _summ(d.groupby(one)).reset_index(drop=True)
    everything.insert(0, "key", "all")
    parts.append(everything.assign(dimension="all"))
    out = pd.concat(parts, ignore_index=True)
    delivered = out["delivered"].astype(float)
    out["late_rate"] = np.where(
        delivered > 0, out["late_n"] / delivered.where(delivered > 0), np.nan
    )
    out["on_time_rate"] = 1 - out["late_rate"]
    out["key"] = out["key"].astype(str)
    out["delivered"] = out["delivered"].astype(int)
    out["shipments"] = out["shipments"].astype(np.int64)  # Int64 when keys are Arrow strings
    return out[DELAY_COLUMNS]


def _design_rows(
    specs: list[tuple[str, int]], data: dict[str, np.ndarray | None], lo: int, hi: int
) -> np.ndarray:
    """Rows ``lo:hi`` of the drivers' design matrix (float64, one column per spec).

    Specs: ("one", -1) intercept; ("carrier", c) / ("channel", k) 0/1 dummies of a code;
    ("km", c) distance in 1000 km when the carrier is c, else 0; ("handling", -1) hours.
    """
    x = np.empty((hi - lo, len(specs)))
    for j, (kind, code) in enumerate(specs):
        if kind == "one":
            x[:, j] = 1.0
        elif kind in ("carrier", "channel"):
            x[:, j] = data[kind][lo:hi] == code
        elif kind == "km":
            x[:, j] = data["km"][lo:hi] * (data["carrier"][lo:hi] == code)
        else:
            x[:, j] = data["handling"][lo:hi]
    return x


def delay_drivers(
    delays: pd.DataFrame, reference_carrier: str | None = None, chunk_rows: int = 500_000
) -> pd.DataFrame:
    """OLS of delay hours on carrier, channel, distance and handling time.

    ``delay_h = b0 + sum_c (b_c + d_c * distance_km / 1000) [carrier = c]
    + sum_k g_k [channel = k] + h * handling_h + e``, on delivered shipments with all fields
    known. ``d_c`` is carrier c's transit hours per 1000 km (its speed, the part of delay it
    controls); ``b_c`` its fixed extra hours (pickup, customs), relative to the reference
    carrier; ``g_k`` a channel's extra delay (mostly a shorter or longer promise).

    Args:
        delays: output of :func:`shipment_delays` with ``orders`` (needs handling_h and
            distance_km; without them those terms are dropped).
        reference_carrier: the carrier every other is compared with; default the one with
            the most shipments.
        chunk_rows: rows of the design built at a time (memory: chunk_rows x ~20 x 8 bytes).

    Returns:
        DataFrame with term, kind (``carrier_per_1000km``, ``carrier``, ``channel``,
        ``handling``, ``intercept``), level, coef_h (hours of delay per unit of the term; for a carrier
        or channel, relative to the reference), std_err, t, and the number of shipments
        with that level (n); sorted by kind then coefficient. The R^2 and the number of
        rows used are in ``attrs``.
    """
    d, numeric = _driver_rows(delays)
    ref_c = reference_carrier or d["carrier"].value_counts().idxmax()
    ref_k = d["channel_id"].value_counts().idxmax()
    specs, meta, data = _design_specs(d, numeric, ref_c, ref_k)
    y = d["delay_h"].to_numpy(float)
    del d  # the design is built from ``data``; the rows are not needed any more
    coef, se, rss = _ols_in_chunks(specs, data, y, chunk_rows)
    out = _drivers_table(meta, coef, se)
    out.attrs["r2"] = 1 - rss / float(((y - y.mean()) ** 2).sum())
    out.attrs["n"] = len(y)
    out.attrs["reference_carrier"] = ref_c
    out.attrs["reference_channel"] = ref_k
    return out


def _driver_rows(delays: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The delivered shipments the drivers are fitted on, and the numeric terms they use.

    Returns:
        (rows, numeric): the delivered rows with carrier, channel_id, delay_h (and
        distance_km, handling_h when present), none missing delay_h or a numeric term;
        numeric lists the terms of distance_km and handling_h that have any value.
    """
    use = [
        c for c in ("carrier", "channel_id", "delay_h", "distance_km", "handling_h") if c in delays
    ]
    # the delivered rows without a missing delay or numeric term, taken once (the same rows
    # as taking the delivered ones and dropping those with a missing value)
    keep = delays["delivered"].to_numpy(dtype=bool)
    numeric = [
        c
        for c in ("distance_km", "handling_h")
        if c in delays and (keep & delays[c].notna().to_numpy()).any()
    ]
    for c in ["delay_h", *numeric]:
        keep = keep & delays[c].notna().to_numpy()
    d = delays.loc[keep, use]
    if len(d) < 10 or d["carrier"].nunique() < 2:
        raise ValueError(f"too few delivered shipments ({len(d)}) or carriers to fit drivers")
    return d, numeric


def _text_codes(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """``pd.factorize(values.astype(str))`` as (codes, names), without turning every row
    into a Python string: the keys are factorized as they are and only the distinct ones
    become text (the same codes and names whenever no two keys have the same text and
    none is missing; otherwise it is done the long way)."""
    if not values.isna().any():
        codes, uniques = pd.factorize(values)
        names = [str(u) for u in uniques]
        if len(set(names)) == len(names):
            return codes, names
    codes, uniques = pd.factorize(values.astype(str))
    return codes, list(uniques)


def _design_specs(
    d: pd.DataFrame, numeric: list[str], ref_c: str, ref_k: str
) -> tuple[list[tuple[str, int]], list[tuple[str, str, str, int]], dict[str, np.ndarray | None]]:
    """The design's columns as (kind, code) specs for :func:`_design_rows`, their
    (term, kind, level, n) labels, and the coded data the rows are built from."""
    car_code, car_names = _text_codes(d["carrier"])
    ch_code, ch_names = _text_codes(d["channel_id"])
    specs: list[tuple[str, int]] = [("one", -1)]
    meta = [("intercept", "intercept", f"{ref_c} / {ref_k}", len(d))]
    for c in sorted(c for c in car_names if c != ref_c):
        code = car_names.index(c)
        specs.append(("carrier", code))
        meta.append((f"carrier={c}", "carrier", c, int((car_code == code).sum())))
    for k in sorted(k for k in ch_names if k != ref_k):
        code = ch_names.index(k)
        specs.append(("channel", code))
        meta.append((f"channel={k}", "channel", k, int((ch_code == code).sum())))
    km = d["distance_km"].to_numpy(float) / 1000 if "distance_km" in numeric else None
    if km is not None:
        for c in sorted(car_names):
            code = car_names.index(c)
            specs.append(("km", code))
            meta.append((f"km_1000:{c}", "carrier_per_1000km", c, int((car_code == code).sum())))
    handling = d["handling_h"].to_numpy(float) if "handling_h" in numeric else None
    if handling is not None:
        specs.append(("handling", -1))
        meta.append(("handling_h", "handling", "per hour", len(d)))
    data = {"carrier": car_code, "channel": ch_code, "km": km, "handling": handling}
    return specs, meta, data


def _ols_in_chunks(
    specs: list[tuple[str, int]],
    data: dict[str, np.ndarray | None],
    y: np.ndarray,
    chunk_rows: int,
) -> tuple[np.ndarray, np.ndarray, float]:
    """OLS coefficients, their standard errors and the residual sum of squares.

    Normal equations: the design has few columns, so X'X is small and solving it beats a
    QR of the whole design; pinv covers a rank-deficient design. X'X and X'y are summed
    over row chunks, so the n x k design never exists whole.
    """
    k = len(specs)
    xtx, xty = np.zeros((k, k)), np.zeros(k)
    for lo in range(0, len(y), chunk_rows):
        x = _design_rows(specs, data, lo, min(lo + chunk_rows, len(y)))
        xtx += x.T @ x
        xty += x.T @ y[lo : lo + chunk_rows]
    xtx_inv = np.linalg.pinv(xtx)
    coef = xtx_inv @ xty
    rss = 0.0
    for lo in range(0, len(y), chunk_rows):
        resid = (
            y[lo : lo + chunk_rows]
            - _design_rows(specs, data, lo, min(lo + chunk_rows, len(y))) @ coef
        )
        rss += float(resid @ resid)
    dof = max(len(y) - k, 1)
    sigma2 = rss / dof
    cov = sigma2 * xtx_inv
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    return coef, se, rss


def _drivers_table(
    meta: list[tuple[str, str, str, int]], coef: np.ndarray, se: np.ndarray
) -> pd.DataFrame:
    """The drivers table: term, kind, level, n, coef_h, std_err, t, sorted by kind then
    coefficient."""
    out = pd.DataFrame(meta, columns=["term", "kind", "level", "n"])
    # Rounded far below any meaningful precision (a microhour) so that the table does not
    # depend on the last bits of BLAS, which change with its thread count: the same data
    # gives the same table on any machine.
    out["coef_h"] = np.round(coef, 6)
    out["std_err"] = np.round(se, 6)
    out["t"] = np.round(np.where(se > 0, coef / np.where(se > 0, se, 1), np.nan), 4)
    order = {"intercept": 0, "carrier_per_1000km": 1, "carrier": 2, "channel": 3, "handling": 4}
    out = out.sort_values(
        ["kind", "coef_h"], key=lambda s: s.map(order) if s.name == "kind" else s
    ).reset_index(drop=True)
    return out[DRIVER_COLUMNS].copy()


def overall_delays(delay_analysis: pd.DataFrame) -> pd.Series:
    """The all-shipments row of the ``delay_analysis`` table.

    Args:
        delay_analysis: output of :func:`delay_summary`.

    Returns:
        The row whose dimension is ``all`` (shipments, delivered, on_time_rate as a share,
        delays in hours, ...).

    Raises:
        ValueError: the table has no ``all`` row (e.g. it is empty).
    """
    rows = delay_analysis[delay_analysis["dimension"] == "all"]
    if rows.empty:
        raise ValueError("delay_analysis has no 'all' row")
    return rows.iloc[0]


def least_punctual(
    delay_analysis: pd.DataFrame, dimension: str = "region", min_delivered: int = 30, n: int = 5
) -> pd.DataFrame:
    """The keys of one dimension with the lowest on-time rates.

    Args:
        delay_analysis: output of :func:`delay_summary`.
        dimension: ``channel``, ``carrier`` or ``region``.
        min_delivered: leave out keys with fewer delivered shipments than this (their rates
            are noise).
        n: how many keys to return.

    Returns:
        Up to ``n`` rows of ``delay_analysis``, lowest on_time_rate (share) first.

    Raises:
        ValueError: ``dimension`` is not in the table or ``n`` is below 1.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if dimension not in set(delay_analysis["dimension"]):
        raise ValueError(f"delay_analysis has no dimension {dimension!r}")
    rows = delay_analysis[
        (delay_analysis["dimension"] == dimension) & (delay_analysis["delivered"] >= min_delivered)
    ]
    return rows.nsmallest(n, "on_time_rate")


def carrier_speeds(drivers: pd.DataFrame) -> pd.DataFrame:
    """The carriers' transit hours per 1000 km from :func:`delay_drivers`, fastest first.

    Args:
        drivers: output of :func:`delay_drivers` (columns :data:`DRIVER_COLUMNS`).

    Returns:
        The ``carrier_per_1000km`` rows (level = carrier, coef_h = hours per 1000 km),
        in the drivers' order (lowest coef_h first); empty when the fit had no distances.

    Raises:
        ValueError: ``drivers`` lacks the kind or coef_h column.
    """
    missing = {"kind", "coef_h"} - set(drivers.columns)
    if missing:
        raise ValueError(f"drivers is missing column(s) {sorted(missing)}")
    return drivers[drivers["kind"] == "carrier_per_1000km"]
