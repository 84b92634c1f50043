"""Fulfilment and service: warehouses, locations, shipments, service contacts.

Shipments: one per shipped order (not offline, not cancelled, not still unpaid/unshipped).
Handling time is log-normal (median ~16 h) stretched by the channel's demand peak that
day (Double 11, 618 backlogs) and stopped during the Spring Festival; transit days are
distance / carrier speed plus log-normal noise (carrier reliability), plus customs for
cross-border. Costs: carrier fixed + per kg + distance. Timestamps are ISO 8601 in
Asia/Shanghai with offset.

Service contacts: pre-sale questions shortly before some orders, delay enquiries after
late deliveries, return requests, payment issues on cancellations and a few complaints;
arrival hour follows a service-desk profile (8-23 h), handle time is log-normal by reason.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import geo, timefmt
from .presets import ChannelPreset
from .world import Calendar

SHANGHAI = "Asia/Shanghai"
_CONTACT_HOURS = np.array(
    [
        0.3,
        0.1,
        0.05,
        0.05,
        0.05,
        0.1,
        0.3,
        0.8,
        2.5,
        4.5,
        5.5,
        5.5,
        4.5,
        4.8,
        5.2,
        5.0,
        4.8,
        4.5,
        4.0,
        4.5,
        5.2,
        5.0,
        3.5,
        1.5,
    ]
)
_REASONS = {  # reason: median handle minutes
    "product_question": 4.0,
    "delivery_delay": 7.0,
    "return_request": 9.0,
    "payment_issue": 6.0,
    "complaint": 12.0,
    "invoice_request": 5.0,
}


def locations_frame() -> pd.DataFrame:
    """locations.csv: city, lat, lon, city_tier."""
    return pd.DataFrame(
        [(c[0], c[2], c[3], c[4]) for c in geo.CITIES], columns=["city", "lat", "lon", "city_tier"]
    )


def warehouses_frame(daily_orders: float) -> pd.DataFrame:
    """warehouses.csv with capacities sized to ~1.3x the average daily shipped orders."""
    city = {c[0]: c for c in geo.CITIES}
    rows = []
    for wid, cname, share, cost in geo.WAREHOUSES:
        c = city[cname]
        rows.append(
            (wid, cname, c[2], c[3], int(max(20, np.ceil(daily_orders * share * 1.3))), cost)
        )
    return pd.DataFrame(
        rows,
        columns=[
            "warehouse_id",
            "city",
            "lat",
            "lon",
            "daily_capacity_orders",
            "handling_cost_per_order",
        ],
    )


def _haversine(lat1, lon1, lat2, lon2) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl = np.radians(lon2 - lon1)
    dp = p2 - p1
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 6371.0 * 2 * np.arcsin(np.sqrt(h))


def iso_shanghai(utc: np.ndarray) -> pa.Array:
    """Epoch seconds as ISO 8601 strings in Asia/Shanghai with +08:00."""
    return timefmt.strftime(utc, "%Y-%m-%dT%H:%M:%S+08:00", SHANGHAI)


def shipments_chunk(
    order_id: pa.Array,
    ch: np.ndarray,
    city: np.ndarray,
    utc: np.ndarray,
    day: np.ndarray,
    status: np.ndarray,
    weight: np.ndarray,
    channels: list[ChannelPreset],
    cal: Calendar,
    snapshot: int,
    rng: np.random.Generator,
) -> tuple[pa.Table, dict[str, np.ndarray]]:
    """Shipments of a chunk's orders (one entry per order given).

    Args:
        status: order status index (2 shipped, 3 delivered, 5 returned are shipped).
        weight: order weight, kg.
    Returns:
        shipments table (string columns in shipments.csv order) and per-shipped-order
        arrays {sel, delivered_utc, promised_utc, late} for service contacts.
    """
    offline = np.array([c.kind == "offline" for c in channels])[ch]
    sel = np.flatnonzero(np.isin(status, (2, 3, 5)) & ~offline)
    n = len(sel)
    ch_s, city_s, utc_s, day_s, st_s = ch[sel], city[sel], utc[sel], day[sel], status[sel]
    clat = np.array([c[2] for c in geo.CITIES])[city_s]
    clon = np.array([c[3] for c in geo.CITIES])[city_s]
    wcity = {c[0]: c for c in geo.CITIES}
    wlat = np.array([wcity[w[1]][2] for w in geo.WAREHOUSES])
    wlon = np.array([wcity[w[1]][3] for w in geo.WAREHOUSES])
    dist = _haversine(clat[:, None], clon[:, None], wlat[None, :], wlon[None, :])
    rank = np.argsort(dist, axis=1)
    second = rng.random(n) < 0.15
    wh = np.where(second, rank[:, 1], rank[:, 0])
    km = dist[np.arange(n), wh]
    intl = np.array([c[5] != "CN" for c in geo.CITIES])[city_s]
    # carrier
    dom_c, int_c = geo.CARRIERS_DOMESTIC, geo.CARRIERS_INTL
    is_jd = np.array([c.id == "jd" for c in channels])[ch_s]
    dc = rng.choice(len(dom_c), n, p=[0.25, 0.10, 0.25, 0.2, 0.2])
    dc = np.where(is_jd & (rng.random(n) < 0.8), 1, dc)
    ic = rng.choice(len(int_c), n, p=[0.3, 0.4, 0.3])
    fixed = np.where(intl, np.array([c[1] for c in int_c])[ic], np.array([c[1] for c in dom_c])[dc])
    perkg = np.where(intl, np.array([c[2] for c in int_c])[ic], np.array([c[2] for c in dom_c])[dc])
    speed = np.where(intl, np.array([c[3] for c in int_c])[ic], np.array([c[3] for c in dom_c])[dc])
    rel = np.where(intl, np.array([c[4] for c in int_c])[ic], np.array([c[4] for c in dom_c])[dc])
    carrier_names = [c[0] for c in dom_c] + [c[0] for c in int_c]
    carrier = np.where(intl, len(dom_c) + ic, dc)
    # handling: peak backlog and spring-festival stop
    m = cal.mult[ch_s, cal.idx(day_s)]
    med = np.median(cal.mult[:, cal.idx(np.arange(0, cal.horizon))], axis=1)[ch_s]
    backlog = np.clip(1 + 0.6 * (m / med - 1), 1, 6)
    handling_h = np.exp(rng.normal(np.log(16), 0.6, n)) * backlog
    transit_d = (0.4 + km / speed) * np.exp(rng.normal(0, rel, n)) * (1 + 0.15 * (backlog - 1))
    transit_d += np.where(intl, rng.uniform(2, 6, n), 0)
    sla = np.array([c.sla_hours for c in channels])[ch_s]
    promised = utc_s + (sla * 3600).astype(np.int64)
    shipped = utc_s + (handling_h * 3600).astype(np.int64)
    delivered = shipped + (transit_d * 86400).astype(np.int64)
    shipped = np.minimum(shipped, snapshot - 3600)
    delivered = np.minimum(delivered, snapshot - 60)
    delivered = np.maximum(delivered, shipped + 3600)
    in_transit = st_s == 2
    cost = np.round(fixed + perkg * np.maximum(weight[sel], 0.1) + np.where(intl, 0, km * 0.002), 2)
    wh_ids = pa.array([w[0] for w in geo.WAREHOUSES]).take(pa.array(wh))
    chan = pa.array([c.id for c in channels]).take(pa.array(ch_s))
    deliv = pc.if_else(pa.array(in_transit), "", iso_shanghai(delivered))
    table = pa.table(
        {
            "order_id": order_id.take(pa.array(sel)),
            "channel_id": chan,
            "warehouse_id": wh_ids,
            "promised_ts": iso_shanghai(promised),
            "shipped_ts": iso_shanghai(shipped),
            "delivered_ts": deliv,
            "carrier": pa.array(carrier_names).take(pa.array(carrier)),
            "cost": pc.cast(pa.array(cost), pa.string()),
        }
    )
    late = (~in_transit) & (delivered > promised)
    return table, {"sel": sel, "delivered": np.where(in_transit, -1, delivered), "late": late}


def contacts_chunk(
    ch: np.ndarray,
    utc: np.ndarray,
    status: np.ndarray,
    ship: dict,
    channels: list[ChannelPreset],
    snapshot: int,
    rng: np.random.Generator,
) -> pa.Table:
    """Service contacts caused by a chunk's orders (see module docstring)."""
    n = len(ch)
    offline = np.array([c.kind == "offline" for c in channels])[ch]
    late = np.zeros(n, dtype=bool)
    late[ship["sel"]] = ship["late"]
    delivered = np.full(n, -1, dtype=np.int64)
    delivered[ship["sel"]] = ship["delivered"]
    events = []  # (order index, reason, event time)
    u = rng.random((5, n))
    k = np.flatnonzero((u[0] < 0.035) & ~offline)
    events.append((k, "product_question", utc[k] - rng.integers(600, 3 * 3600, len(k))))
    k = np.flatnonzero(late & (u[1] < 0.3))
    events.append((k, "delivery_delay", delivered[k] - rng.integers(3600, 2 * 86400, len(k))))
    k = np.flatnonzero((status == 5) & (u[2] < 0.65))
    base = np.where(delivered[k] > 0, delivered[k], utc[k] + 5 * 86400)
    events.append((k, "return_request", base + rng.integers(3600, 5 * 86400, len(k))))
    k = np.flatnonzero((status == 4) & (u[3] < 0.25))
    events.append((k, "payment_issue", utc[k] + rng.integers(300, 86400, len(k))))
    k = np.flatnonzero(~offline & (u[4] < 0.008))
    events.append((k, "complaint", utc[k] + rng.integers(86400, 10 * 86400, len(k))))
    k = np.flatnonzero(~offline & (u[4] > 0.992))
    events.append((k, "invoice_request", utc[k] + rng.integers(86400, 20 * 86400, len(k))))
    idx = np.concatenate([e[0] for e in events])
    reason = np.concatenate([np.full(len(e[0]), j) for j, e in enumerate(events)])
    t = np.concatenate([e[2] for e in events])
    # arrival hour on the event's Shanghai day from the service-desk profile
    local_day = (t + 8 * 3600) // 86400
    hc = np.cumsum(_CONTACT_HOURS) / _CONTACT_HOURS.sum()
    hour = np.minimum(np.searchsorted(hc, rng.random(len(t)), side="right"), 23)
    t = local_day * 86400 - 8 * 3600 + hour * 3600 + rng.integers(0, 3600, len(t))
    keep = t < snapshot
    idx, reason, t = idx[keep], reason[keep], t[keep]
    names = [e[1] for e in events]
    med = np.array([_REASONS[r] for r in names])[reason]
    minutes = np.round(np.exp(rng.normal(np.log(med), 0.5)), 1)
    o = np.argsort(t, kind="stable")
    return pa.table(
        {
            "contact_ts": iso_shanghai(t[o]),
            "channel_id": pa.array([c.id for c in channels]).take(pa.array(ch[idx][o])),
            "reason": pa.array(names).take(pa.array(reason[o])),
            "handle_minutes": pc.cast(pa.array(minutes[o]), pa.string()),
        }
    )
