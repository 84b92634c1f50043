"""Tests for channelops.stages.logistics.delays and .prepare: delays, drivers, stage-05 inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from channelops.frames import left_lookup
from channelops.stages.logistics import (
    DELAY_COLUMNS,
    carrier_speeds,
    delay_drivers,
    delay_summary,
    least_punctual,
    overall_delays,
    shipment_delays,
)
from channelops.stages.logistics import prepare as prep

T = pd.Timestamp("2024-05-01 10:00", tz="UTC")
H = pd.Timedelta(hours=1)


def shipments_frame(rows):
    """rows: (order_id, channel, carrier, promise h, shipped h, delivered h or None)."""
    return pd.DataFrame(
        {
            "order_id": [r[0] for r in rows],
            "channel_id": [r[1] for r in rows],
            "warehouse_id": "W1",
            "promised_ts": [T + r[3] * H for r in rows],
            "shipped_ts": [T + r[4] * H for r in rows],
            "delivered_ts": [T + r[5] * H if r[5] is not None else pd.NaT for r in rows],
            "carrier": [r[2] for r in rows],
        }
    )


def test_delay_summary_by_hand():
    ships = shipments_frame(
        [
            ("o1", "web", "Fast", 48, 10, 30),  # 18 h early
            ("o2", "web", "Slow", 48, 10, 60),  # 12 h late
            ("o3", "app", "Slow", 24, 10, 34),  # 10 h late
            ("o4", "app", "Fast", 24, 10, None),  # in transit: not in the rates
        ]
    )
    orders = pd.DataFrame(
        {
            "channel_id": ["web", "web", "app", "app"],
            "order_id": ["o1", "o2", "o3", "o4"],
            "order_ts": [T] * 4,
            "city": ["beijing", "Beijing", "SHANGHAI", None],
        }
    )
    locations = pd.DataFrame(
        {"city": ["Beijing", "Shanghai"], "lat": [39.9, 31.23], "lon": [116.41, 121.47]}
    )
    warehouses = pd.DataFrame({"warehouse_id": ["W1"], "lat": [31.23], "lon": [121.47]})
    d = shipment_delays(ships, orders, warehouses, locations)
    assert d["delay_h"].tolist()[:3] == [-18, 12, 10] and np.isnan(d["delay_h"].iloc[3])
    assert d["region"].tolist() == ["Beijing", "Beijing", "Shanghai", "unknown"]
    assert d["handling_h"].tolist() == [10] * 4
    assert d.loc[2, "distance_km"] == pytest.approx(0, abs=1e-6)
    s = delay_summary(d)
    assert list(s.columns) == DELAY_COLUMNS
    s = s.set_index(["dimension", "key"])
    assert s.loc[("all", "all"), "shipments"] == 4 and s.loc[("all", "all"), "delivered"] == 3
    assert s.loc[("all", "all"), "on_time_rate"] == pytest.approx(1 / 3)
    assert s.loc[("carrier", "Slow"), "late_rate"] == 1.0
    assert s.loc[("carrier", "Fast"), "on_time_rate"] == 1.0  # o4 in transit is not counted
    assert s.loc[("channel", "web"), "mean_delay_h"] == pytest.approx(-3)
    assert s.loc[("region", "Beijing"), "median_delay_h"] == pytest.approx(-3)


def test_drivers_recover_planted_carrier_speeds():
    # delay = handling + km / speed_per_hour - promise + noise, with a channel whose promise
    # is 24 h shorter: the regression must give back 24000 / speed hours per 1000 km, the
    # 24 h channel effect and a handling slope of 1.
    rng = np.random.default_rng(0)
    n = 4000
    speed = {"A": 900.0, "B": 600.0, "C": 450.0}  # km per day
    carrier = rng.choice(list(speed), n)
    channel = rng.choice(["x", "y"], n)
    km = rng.uniform(50, 2500, n)
    handling = rng.uniform(5, 40, n)
    promise = np.where(channel == "x", 72.0, 48.0)
    transit = km / np.vectorize(speed.get)(carrier) * 24
    delay = handling + transit - promise + rng.normal(0, 2, n)
    d = pd.DataFrame(
        {
            "order_id": np.arange(n).astype(str),
            "carrier": carrier,
            "channel_id": channel,
            "distance_km": km,
            "handling_h": handling,
            "delay_h": delay,
            "delivered": True,
        }
    )
    r = delay_drivers(d).set_index("term")
    for c, v in speed.items():
        assert r.loc[f"km_1000:{c}", "coef_h"] == pytest.approx(24000 / v, rel=0.02)
    assert r.loc["handling_h", "coef_h"] == pytest.approx(1, abs=0.02)
    assert r.loc["channel=y", "coef_h"] == pytest.approx(24, abs=0.5)
    assert r.loc["carrier=B", "coef_h"] == pytest.approx(0, abs=1)  # no fixed part planted
    with pytest.raises(ValueError, match="too few"):
        delay_drivers(d.head(5))


# --------------------------------------------------------------------- prepare


WAREHOUSES = pd.DataFrame(
    {
        "warehouse_id": ["N", "S"],
        "city": ["Beijing", "Guangzhou"],
        "lat": [39.9, 23.13],
        "lon": [116.41, 113.26],
        "daily_capacity_orders": [10, 30],
        "handling_cost_per_order": [1.0, 2.0],
    }
)
LOCATIONS = pd.DataFrame(
    {
        "city": ["Beijing", "Tianjin", "Guangzhou", "Shenzhen"],
        "lat": [39.9, 39.34, 23.13, 22.54],
        "lon": [116.41, 117.36, 113.26, 114.06],
    }
)


def test_fulfilled_orders_without_shipments_use_the_nearest_warehouse():
    orders = pd.DataFrame(
        {
            "channel_id": ["web", "web", "web", "shop", "web"],
            "order_id": ["1", "2", "3", "4", "5"],
            "order_ts": [T] * 5,
            "status": ["paid", "delivered", "cancelled", "paid", "shipped"],
            "city": ["TIANJIN", "Shenzhen", "Beijing", "Beijing", "Atlantis"],
        }
    )
    channels = pd.DataFrame({"channel_id": ["web", "shop"], "kind": ["own_store", "offline"]})
    got = prep.fulfilled_orders(orders, WAREHOUSES, None, LOCATIONS, channels)
    # cancelled (3) and the offline channel (4) are left out; unknown city -> largest (S)
    assert got.set_index("order_id")["warehouse_id"].to_dict() == {"1": "N", "2": "S", "5": "S"}
    assert got.set_index("order_id").loc["1", "region"] == "Tianjin"


def test_own_warehouses_gives_channels_separate_warehouses_largest_first():
    orders = pd.DataFrame(
        {
            "channel_id": ["a"] * 5 + ["b"] * 3 + ["c"],
            "warehouse_id": ["N", "N", "N", "S", "S", "N", "N", "S", "N"],
        }
    )
    # a (5 orders) takes N; b prefers N, which is taken, so gets S; c finds none left and
    # takes its own most used (N).
    assert prep.own_warehouses(orders) == {"a": ["N"], "b": ["S"], "c": ["N"]}
    assert prep.own_warehouses(orders, "b:N+S")["b"] == ["N", "S"]
    with pytest.raises(ValueError, match="channel:WH"):
        prep.own_warehouses(orders, "b")


def test_shipping_cost_by_key_by_hand():
    demand = pd.DataFrame({"region": ["Beijing"], "channel_id": ["web"], "weight_kg": [2.0]})
    cost = prep.shipping_cost_by_key(WAREHOUSES, LOCATIONS, demand, 0.01, 5.0)
    assert cost.loc["N", ("Beijing", "web")] == pytest.approx(5 + 1)  # 0 km, handling 1
    km = 1888.0  # Guangzhou to Beijing, great circle, about
    assert cost.loc["S", ("Beijing", "web")] == pytest.approx(5 + 2 + 0.01 * 2 * km, rel=0.01)


def test_delivery_stops_full_loads_and_routes_table():
    day = pd.DataFrame({"region": ["Tianjin"] * 25 + ["Beijing"] * 3 + ["Shenzhen"] * 2})
    stops, left = prep.delivery_stops(day, WAREHOUSES.iloc[0], LOCATIONS, max_km=500)
    assert stops["city"].tolist()[1:] == ["Beijing", "Tianjin"]
    assert left["city"].tolist() == ["Shenzhen"] and left["parcels"].tolist() == [2]
    cvrp, direct = prep.split_full_loads(stops, 10)
    assert direct["city"].tolist() == ["Tianjin", "Tianjin"]
    assert cvrp["parcels"].tolist() == [0, 3, 5] and cvrp["node"].tolist() == [0, 1, 2]
    dist = np.array([[0, 1, 100], [1, 0, 99], [100, 99, 0]], dtype=float)
    table = prep.routes_long([[1, 2]], cvrp, dist, "x")
    assert table["distance_km"].sum() == 200 and table["load"].tolist() == [3, 5, 0]
    assert table["cum_km"].tolist() == [1, 100, 200]
    assert list(table.columns) == prep.ROUTE_COLUMNS


def test_hourly_contacts_and_seasonal_forecast():
    # Two Mondays: 2 then 4 contacts at 09:00 local on channel a -> the forecast for the
    # next Monday 09:00 is 3; every other hour is 0.
    ts = pd.to_datetime(
        ["2024-03-04 09:10", "2024-03-04 09:20", *(["2024-03-11 09:30"] * 4)]
    ).tz_localize("Asia/Shanghai")
    contacts = pd.DataFrame({"contact_ts": ts, "channel_id": "a", "handle_minutes": 6.0})
    hourly = prep.hourly_contacts(contacts, "Asia/Shanghai")
    assert len(hourly) == 8 * 24 and hourly["contacts"].sum() == 6
    fc = prep.seasonal_forecast(
        hourly, history_weeks=2, horizon_days=7, end=pd.Timestamp("2024-03-12")
    )
    monday9 = fc[(fc["weekday"] == 0) & (fc["hour"] == 9)]
    assert monday9["contacts"].tolist() == [3.0]
    assert fc["contacts"].sum() == 3.0 and (fc["handle_minutes"] == 6.0).all()


def test_drivers_do_not_depend_on_the_blas_thread_count():
    # X'X on 60,000 rows is summed in a different order by one BLAS thread than by two,
    # which moves the last bits of the coefficients; the table must be the same anyway, or
    # two runs of the same data on different machines would not give identical tables.
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(1)
    n = 60_000
    d = pd.DataFrame(
        {
            "order_id": np.arange(n).astype(str),
            "carrier": rng.choice(list("ABCDE"), n),
            "channel_id": rng.choice(list("xyzw"), n),
            "distance_km": rng.uniform(50, 2500, n),
            "handling_h": rng.uniform(5, 40, n),
            "delay_h": rng.normal(0, 30, n),
            "delivered": True,
        }
    )
    default = delay_drivers(d)
    with threadpool_limits(1, user_api="blas"):
        single = delay_drivers(d)
    pd.testing.assert_frame_equal(default, single, check_exact=True)


def test_join_keys_lookups_and_weights_equal_the_string_merges():
    orders = pd.DataFrame(
        {
            "channel_id": ["web", "web", "app", "app", "web"],
            "order_id": ["o1", "o2", "o1", "o3", "o9"],  # o1 on two channels; o9 has no lines
            "order_ts": [T, T + H, T + 2 * H, T + 3 * H, T + 4 * H],
            "city": ["A", None, "B", "C", "D"],
        }
    )
    lines = pd.DataFrame(
        {
            "channel_id": ["web", "app", "web", "app", "app", "web"],
            "order_id": ["o1", "o1", "o1", "o3", "o7", "o2"],  # o7 has no order
            "sku": ["s1", "s2", "s2", "s1", "s1", "zz"],  # zz has no weight
            "quantity": [2, 1, 1, 3, 1, -1],  # a negative quantity weighs nothing
        }
    )
    products = pd.DataFrame({"sku": ["s1", "s2"], "weight_kg": [0.5, 2.0]})
    for keys in (
        lambda f: f,
        lambda f: f.astype({"channel_id": "string[pyarrow]", "order_id": "string[pyarrow]"}),
    ):
        got = prep.with_order_weight(keys(orders), keys(lines), products)
        assert got["weight_kg"].tolist()[:4] == [3.0, 0.0, 2.0, 1.5] and np.isnan(
            got["weight_kg"].iloc[4]
        )
        want = orders.merge(
            prep.order_weight_kg(lines, products), on=["channel_id", "order_id"], how="left"
        )
        np.testing.assert_array_equal(got["weight_kg"], want["weight_kg"])
        # left_lookup == a left merge on the two string columns, unmatched rows NA/NaT
        ships = pd.DataFrame({"channel_id": ["app", "web", "web"], "order_id": ["o3", "o1", "o5"]})
        looked = left_lookup(keys(ships), orders)
        merged = ships.merge(orders, on=["channel_id", "order_id"], how="left")
        assert looked["order_ts"].tolist()[:2] == [T + 3 * H, T] and pd.isna(
            looked["order_ts"].iloc[2]
        )
        pd.testing.assert_frame_equal(looked[["order_ts", "city"]], merged[["order_ts", "city"]])
    weights = prep.order_weight_kg(lines, products).set_index(["channel_id", "order_id"])[
        "weight_kg"
    ]
    assert weights.to_dict() == {
        ("app", "o1"): 2.0,
        ("app", "o3"): 1.5,
        ("app", "o7"): 0.5,
        ("web", "o1"): 3.0,
        ("web", "o2"): 0.0,
    }


def test_fulfilled_orders_keep_the_first_shipment_and_the_order_row_order():
    orders = pd.DataFrame(
        {"channel_id": ["web", "app", "web"], "order_id": ["o2", "o1", "o1"], "order_ts": [T] * 3}
    )
    ships = shipments_frame(
        [
            ("o1", "web", "Fast", 1, 1, 2),
            ("o1", "web", "Slow", 1, 1, 2),
            ("o2", "web", "Slow", 1, 1, 2),
        ]
    )
    got = prep.fulfilled_orders(orders, pd.DataFrame({"warehouse_id": ["W1"]}), ships)
    assert got[["channel_id", "order_id", "carrier"]].values.tolist() == [
        ["web", "o2", "Slow"],
        ["web", "o1", "Fast"],
    ]
    assert list(got.columns[:4]) == ["channel_id", "order_id", "order_ts", "region"]


def test_delay_drivers_do_not_depend_on_the_chunk_size():
    rng = np.random.default_rng(3)
    n = 2000
    d = pd.DataFrame(
        {
            "delivered": True,
            "carrier": rng.choice(["F", "S", "M"], n),
            "channel_id": rng.choice(["web", "app"], n),
            "distance_km": rng.uniform(10, 2000, n),
            "handling_h": rng.uniform(1, 30, n),
        }
    )
    d["delay_h"] = (
        d["handling_h"]
        + d["distance_km"] / 1000 * d["carrier"].map({"F": 5, "S": 20, "M": 10})
        + rng.normal(0, 1, n)
    )
    whole = delay_drivers(d, chunk_rows=n)
    pd.testing.assert_frame_equal(delay_drivers(d, chunk_rows=7), whole, atol=1e-6)
    speed = whole[whole["kind"] == "carrier_per_1000km"].set_index("level")["coef_h"]
    assert speed.to_dict() == pytest.approx({"F": 5, "S": 20, "M": 10}, abs=0.3)


# --------------------------------------------------------------------- read-outs


ANALYSIS = pd.DataFrame(
    {
        "dimension": ["region"] * 4 + ["all"],
        "key": ["A", "B", "C", "D", "all"],
        "delivered": [40, 10, 35, 50, 135],
        "on_time_rate": [0.6, 0.1, 0.9, 0.5, 0.6],
    }
)


def test_overall_delays_and_least_punctual_by_hand():
    assert overall_delays(ANALYSIS)["delivered"] == 135
    # B is worst but has only 10 deliveries: below the 30 it is left out
    worst = least_punctual(ANALYSIS, "region", min_delivered=30, n=2)
    assert worst["key"].tolist() == ["D", "A"]
    assert least_punctual(ANALYSIS, "region", min_delivered=0, n=1)["key"].tolist() == ["B"]
    with pytest.raises(ValueError, match="no 'all' row"):
        overall_delays(ANALYSIS.iloc[0:0])
    with pytest.raises(ValueError, match="no dimension 'carrier'"):
        least_punctual(ANALYSIS, "carrier")


def test_carrier_speeds_keeps_the_per_km_rows_in_order():
    drivers = pd.DataFrame(
        {
            "kind": ["intercept", "carrier_per_1000km", "carrier_per_1000km", "handling"],
            "level": ["x", "Fast", "Slow", "per hour"],
            "coef_h": [1.0, 10.0, 30.0, 0.5],
        }
    )
    assert carrier_speeds(drivers)["level"].tolist() == ["Fast", "Slow"]
    assert carrier_speeds(drivers[drivers["kind"] != "carrier_per_1000km"]).empty
    with pytest.raises(ValueError, match="kind"):
        carrier_speeds(drivers.drop(columns="kind"))


def test_group_quantiles_are_each_groups_series_quantile():
    # groups with and without missing delays, one with none at all, a key groupby drops
    from channelops.stages.logistics.delays import _group_quantiles

    rng = np.random.default_rng(5)
    n = 2_000
    frame = pd.DataFrame(
        {
            "key": pd.array(rng.choice(["a", "b", "c", "d", None], n), dtype="string[pyarrow]"),
            "delay_h": rng.normal(0, 10, n).round(1),
        }
    )
    frame.loc[frame["key"] == "a", "delay_h"] = np.nan  # a group without a value
    frame.loc[rng.random(n) < 0.1, "delay_h"] = np.nan
    frame.loc[frame["key"] == "c", "delay_h"] = frame["delay_h"].fillna(1.5)  # none missing
    g = frame.groupby("key", observed=True)
    for p, got in zip((0.5, 0.9), _group_quantiles(g, "delay_h", (0.5, 0.9)), strict=True):
        want = g["delay_h"].agg(lambda x, p=p: float(x.quantile(p)) if x.notna().any() else np.nan)
        np.testing.assert_array_equal(got, want.to_numpy())  # bit for bit, NaN where NaN
    assert np.isnan(_group_quantiles(g, "delay_h", (0.5,))[0][0])  # group "a"


def test_text_codes_are_factorize_of_the_text():
    from channelops.stages.logistics.delays import _text_codes

    cases = [
        pd.Series(["b", "a", "b", "c"], dtype="string[pyarrow]"),
        pd.Series(["b", None, "a", "b"], dtype="string[pyarrow]"),  # a missing key
        pd.Series(["1", 1, "x", 1], dtype=object),  # 1 and "1" are one text
        pd.Series([3, 1, 3]),
    ]
    for values in cases:
        codes, names = _text_codes(values)
        want_codes, want_names = pd.factorize(values.astype(str))
        np.testing.assert_array_equal(codes, want_codes)
        assert names == list(want_names)


def test_delay_summary_all_row_is_the_group_of_a_column_of_all():
    # the "all" row grouped on one int8 key: the same figures, bit for bit, as grouping a
    # column holding "all" on every row (how it was built before), Arrow keys too
    from channelops.stages.logistics.delays import _summ

    rng = np.random.default_rng(4)
    n = 3001
    d = pd.DataFrame(
        {
            "channel_id": pd.array(rng.choice(["web", "app"], n), dtype="string[pyarrow]"),
            "order_id": [f"o{i}" for i in range(n)],
            "delivered": rng.random(n) < 0.9,
            "delay_h": np.where(rng.random(n) < 0.1, np.nan, rng.normal(0, 30, n)),
            "handling_h": rng.gamma(2.0, 5.0, n),
            "transit_h": rng.gamma(3.0, 10.0, n),
        },
        index=pd.RangeIndex(7, 7 + n),
    )
    d["late"] = d["delay_h"] > 0
    new = delay_summary(d, dimensions=("channel_id",)).set_index("dimension").loc[["all"]]
    old = _summ(d.assign(_all="all").groupby("_all")).reset_index()
    for col in ["shipments", "delivered", "mean_delay_h", "median_delay_h", "p90_delay_h"]:
        assert new[col].to_numpy().tolist() == old[col].to_numpy().tolist(), col
    assert new[["mean_handling_h", "mean_transit_h"]].to_numpy().tolist() == (
        old[["mean_handling_h", "mean_transit_h"]].to_numpy().tolist()
    )
    assert new["key"].tolist() == ["all"]
