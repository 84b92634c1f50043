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

from .allocation import haversine_km
from .prepare import canonical_city

__all__ = ["DELAY_COLUMNS", "shipment_delays", "delay_summary", "delay_drivers"]

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


def shipment_delays(
    shipments: pd.DataFrame,
    orders: pd.DataFrame | None = None,
    warehouses: pd.DataFrame | None = None,
    locations: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per shipment with its delay, handling and transit times.

    Args:
        shipments: shipments.csv as loaded (order_id, channel_id, warehouse_id, promised_ts,
            shipped_ts, delivered_ts, carrier; timestamps tz-aware or all naive).
        orders: the unified orders (03) with channel_id, order_id, order_ts, city; adds
            region (the customer's city) and handling time. Optional.
        warehouses, locations: lat/lon of warehouses and cities; add distance_km when both
            are given together with ``orders``.

    Returns:
        The shipments plus delivered (bool), delay_h (delivered - promised, hours; NaN in
        transit), late (bool, False in transit), transit_h, and when ``orders`` is given
        region, handling_h (shipped - ordered, hours) and distance_km.
    """
    need = {
        "order_id",
        "channel_id",
        "warehouse_id",
        "promised_ts",
        "shipped_ts",
        "delivered_ts",
        "carrier",
    }
    missing = need - set(shipments.columns)
    if missing:
        raise ValueError(f"shipments is missing column(s) {sorted(missing)}")
    out = shipments.copy()
    out["channel_id"] = out["channel_id"].astype(str)
    out["carrier"] = out["carrier"].astype(str)
    out["warehouse_id"] = out["warehouse_id"].astype(str)
    out["delivered"] = out["delivered_ts"].notna()
    out["delay_h"] = (out["delivered_ts"] - out["promised_ts"]).dt.total_seconds() / 3600
    out["late"] = out["delay_h"] > 0
    out["transit_h"] = (out["delivered_ts"] - out["shipped_ts"]).dt.total_seconds() / 3600
    if orders is not None:
        cols = ["channel_id", "order_id", "order_ts"] + (["city"] if "city" in orders else [])
        o = orders[cols].copy()
        o["channel_id"] = o["channel_id"].astype(str)
        o["order_id"] = o["order_id"].astype(str)
        out["order_id"] = out["order_id"].astype(str)
        out = out.merge(o, on=["channel_id", "order_id"], how="left")
        out["handling_h"] = (out["shipped_ts"] - out["order_ts"]).dt.total_seconds() / 3600
        region = canonical_city(out["city"], locations) if "city" in out else None
        out["region"] = region.fillna("unknown").astype(str) if region is not None else "unknown"
        if warehouses is not None and locations is not None:
            w = warehouses.set_index("warehouse_id")[["lat", "lon"]]
            c = locations.drop_duplicates("city").set_index("city")[["lat", "lon"]]
            wl = w.reindex(out["warehouse_id"]).to_numpy(float)
            cl = c.reindex(out["region"]).to_numpy(float)
            out["distance_km"] = haversine_km(wl[:, 0], wl[:, 1], cl[:, 0], cl[:, 1])
    return out


def _summ(g) -> pd.DataFrame:
    def q(p):
        return lambda x: float(x.quantile(p)) if x.notna().any() else np.nan

    return g.agg(
        shipments=("order_id", "size"),
        delivered=("delivered", "sum"),
        late_n=("late", "sum"),
        mean_delay_h=("delay_h", "mean"),
        median_delay_h=("delay_h", q(0.5)),
        p90_delay_h=("delay_h", q(0.9)),
        mean_handling_h=("handling_h", "mean"),
        mean_transit_h=("transit_h", "mean"),
    )


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
    d = delays.copy()
    if "handling_h" not in d:
        d["handling_h"] = np.nan
    parts = []
    for dim in [c for c in dimensions if c in d.columns]:
        s = _summ(d.groupby(dim, observed=True)).reset_index().rename(columns={dim: "key"})
        parts.append(s.assign(dimension=dim.removesuffix("_id")))
    parts.append(
        _summ(d.assign(_all="all").groupby("_all"))
        .reset_index()
        .rename(columns={"_all": "key"})
        .assign(dimension="all")
    )
    out = pd.concat(parts, ignore_index=True)
    delivered = out["delivered"].astype(float)
    out["late_rate"] = np.where(
        delivered > 0, out["late_n"] / delivered.where(delivered > 0), np.nan
    )
    out["on_time_rate"] = 1 - out["late_rate"]
    out["key"] = out["key"].astype(str)
    out["delivered"] = out["delivered"].astype(int)
    return out[DELAY_COLUMNS]


def delay_drivers(delays: pd.DataFrame, reference_carrier: str | None = None) -> pd.DataFrame:
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

    Returns:
        DataFrame with term, kind (``carrier_per_1000km``, ``carrier``, ``channel``,
        ``handling``, ``intercept``), level, coef_h (hours of delay per unit of the term; for a carrier
        or channel, relative to the reference), std_err, t, and the number of shipments
        with that level (n); sorted by kind then coefficient. The R^2 and the number of
        rows used are in ``attrs``.
    """
    d = delays[delays["delivered"]].copy()
    numeric = [c for c in ("distance_km", "handling_h") if c in d and d[c].notna().any()]
    d = d.dropna(subset=["delay_h", *numeric])
    if len(d) < 10 or d["carrier"].nunique() < 2:
        raise ValueError(f"too few delivered shipments ({len(d)}) or carriers to fit drivers")
    ref_c = reference_carrier or d["carrier"].value_counts().idxmax()
    ref_k = d["channel_id"].value_counts().idxmax()
    car_code, car_names = pd.factorize(d["carrier"].astype(str))
    ch_code, ch_names = pd.factorize(d["channel_id"].astype(str))
    car_names, ch_names = list(car_names), list(ch_names)
    cols = {"intercept": np.ones(len(d))}
    meta = [("intercept", "intercept", f"{ref_c} / {ref_k}", len(d))]
    for c in sorted(c for c in car_names if c != ref_c):
        is_c = car_code == car_names.index(c)
        cols[f"carrier={c}"] = is_c.astype(float)
        meta.append((f"carrier={c}", "carrier", c, int(is_c.sum())))
    for k in sorted(k for k in ch_names if k != ref_k):
        is_k = ch_code == ch_names.index(k)
        cols[f"channel={k}"] = is_k.astype(float)
        meta.append((f"channel={k}", "channel", k, int(is_k.sum())))
    if "distance_km" in numeric:
        km = d["distance_km"].to_numpy(float) / 1000
        for c in sorted(car_names):
            is_c = car_code == car_names.index(c)
            cols[f"km_1000:{c}"] = km * is_c
            meta.append((f"km_1000:{c}", "carrier_per_1000km", c, int(is_c.sum())))
    if "handling_h" in numeric:
        cols["handling_h"] = d["handling_h"].to_numpy(float)
        meta.append(("handling_h", "handling", "per hour", len(d)))
    x = np.empty((len(d), len(cols)))
    for j, v in enumerate(cols.values()):
        x[:, j] = v
    y = d["delay_h"].to_numpy(float)
    # Normal equations: k is ~20 columns, so X'X is small and this is much faster than a
    # QR of the whole design on 10^5+ rows; pinv covers a rank-deficient design.
    xtx_inv = np.linalg.pinv(x.T @ x)
    coef = xtx_inv @ (x.T @ y)
    resid = y - x @ coef
    dof = max(len(y) - x.shape[1], 1)
    sigma2 = float(resid @ resid) / dof
    cov = sigma2 * xtx_inv
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
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
    out = out[["term", "kind", "level", "n", "coef_h", "std_err", "t"]].copy()
    out.attrs["r2"] = 1 - float(resid @ resid) / float(((y - y.mean()) ** 2).sum())
    out.attrs["n"] = len(y)
    out.attrs["reference_carrier"] = ref_c
    out.attrs["reference_channel"] = ref_k
    return out
