"""Stage 06 evaluation: every scorecard figure against a hand computation on a hand-made
two-channel business, plus growth, overlap, plan vs actual and the policy deltas.

The business (all timestamps UTC = local):

    line  channel order customer sku qty revenue status     ordered
    1     a       o1    c1       s1  2   200     delivered  2024-01-01 10:00
    2     a       o2    c2       s2  1   50      paid       2024-01-08 00:00
    3     a       o3    c1       s1  1   100     cancelled  2024-01-09 00:00
    4     b       o4    c3       s2  3   150     delivered  2024-01-02 00:00
    5     b       o5    c1       s1  1   90      shipped    2024-01-03 00:00

unit cost s1 40, s2 20; commission a 10%, b 0; b ships nothing (a store).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from channelops.ingest.dataset import load_dataset
from channelops.margins import channel_margin_rates
from channelops.stages import evaluation as ev
from channelops.stages.integration import channel_overlap_matrix


def _lines() -> pd.DataFrame:
    rows = [
        ("a", "o1", "c1", "s1", 2, 200.0, "delivered", "2024-01-01 10:00"),
        ("a", "o2", "c2", "s2", 1, 50.0, "paid", "2024-01-08 00:00"),
        ("a", "o3", "c1", "s1", 1, 100.0, "cancelled", "2024-01-09 00:00"),
        ("b", "o4", "c3", "s2", 3, 150.0, "delivered", "2024-01-02 00:00"),
        ("b", "o5", "c1", "s1", 1, 90.0, "shipped", "2024-01-03 00:00"),
    ]
    d = pd.DataFrame(
        rows,
        columns=[
            "channel_id",
            "order_id",
            "customer_id",
            "sku",
            "quantity",
            "revenue_base",
            "status",
            "order_ts_local",
        ],
    )
    d["order_ts_local"] = pd.to_datetime(d["order_ts_local"])
    d["order_ts"] = d["order_ts_local"].dt.tz_localize("UTC")
    return d


def _orders(lines: pd.DataFrame) -> pd.DataFrame:
    return lines[["channel_id", "order_id", "customer_id", "order_ts"]].drop_duplicates()


PRODUCTS = pd.DataFrame({"sku": ["s1", "s2"], "unit_cost": [40.0, 20.0]})
CHANNELS = pd.DataFrame(
    {"channel_id": ["a", "b"], "commission_rate": [0.1, 0.0], "fixed_cost_per_month": [130.0, 0.0]}
)


def _utc(s: str) -> pd.Timestamp:
    return pd.Timestamp(s, tz="UTC")


SHIPMENTS = pd.DataFrame(
    {
        "order_id": ["o1", "o2"],
        "channel_id": ["a", "a"],
        "warehouse_id": ["W1", "W1"],
        "promised_ts": [_utc("2024-01-03 00:00"), _utc("2024-01-09 00:00")],
        "delivered_ts": [_utc("2024-01-02 10:00"), _utc("2024-01-10 08:00")],
        "cost": [10.0, 14.0],
    }
)
MARKETING = pd.DataFrame(
    {
        "week_start": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-08", "2024-01-08"]),
        "channel_id": ["a", "b", "a", "b"],
        "spend": [30.0, 20.0, 10.0, 0.0],
    }
)
CLV = pd.DataFrame({"clv": [300.0, 120.0]}, index=pd.Index(["c1", "c3"], name="customer_id"))
POLICY = pd.DataFrame(
    {
        "warehouse_id": ["W1", "W1", "b_stock", "b_stock"],
        "sku": ["s1", "s2", "s1", "s2"],
        "mean_daily": [1.0, 2.0, 0.5, 1.0],
        "unit_cost": [40.0, 20.0, 40.0, 20.0],
        "simulated_average_stock": [10.0, 5.0, 4.0, 6.0],
        "simulated_fill_rate": [0.9, 1.0, 0.8, 0.7],
    }
)
CONTACTS = pd.DataFrame({"channel_id": ["a", "b"], "wait_seconds": [10.0, 30.0]})


@pytest.fixture()
def card() -> pd.DataFrame:
    lines = _lines()
    sc, notes = ev.channel_scorecard(
        lines,
        PRODUCTS,
        CHANNELS,
        orders=_orders(lines),
        marketing=MARKETING,
        shipments=SHIPMENTS,
        contacts=CONTACTS,
        clv=CLV,
        inventory_policy=POLICY,
        target_wait_s=20,
    )
    # two spend weeks: too few to tell what spend does, so no incremental figures
    assert notes == [
        "no response curve fitted on this data (02's response_curves): incremental revenue "
        "and the marketing return are NaN",
        "a: no cost of acquisition shown: 2 spend weeks, fewer than 8",
        "b: no cost of acquisition shown: 2 spend weeks, fewer than 8",
    ]
    return sc.set_index("channel_id")


def test_sales_figures_by_hand(card):
    a, b = card.loc["a"], card.loc["b"]
    # a: o1 200 + o2 50 (o3 cancelled); cogs 2x40 + 1x20 = 100; commission 10% of 250 = 25
    assert (a["revenue"], a["orders"], a["customers"], a["aov"]) == (250.0, 2, 2, 125.0)
    assert (a["cogs"], a["commission"], a["gross_margin"], a["gross_margin_rate"]) == (
        100.0,
        25.0,
        125.0,
        0.5,
    )
    # b: 150 + 90 = 240; cogs 3x20 + 1x40 = 100; no commission; margin 140 = 58.33%
    assert (b["revenue"], b["orders"], b["customers"], b["aov"]) == (240.0, 2, 2, 120.0)
    assert (b["cogs"], b["commission"], b["gross_margin"]) == (100.0, 0.0, 140.0)
    assert b["gross_margin_rate"] == pytest.approx(140 / 240)


def test_fulfilment_and_delivery_figures_by_hand(card):
    a, b = card.loc["a"], card.loc["b"]
    # o1 on time, 24 h from order to delivery; o2 late, 56 h; cost 10 + 14
    assert (a["fulfilment_cost"], a["shipments"], a["cost_per_delivery"]) == (24.0, 2, 12.0)
    assert (a["order_cycle_hours"], a["on_time_rate"]) == (40.0, 0.5)
    # b ships nothing: no fulfilment cost, no delivery figures
    assert b["fulfilment_cost"] == 0.0 and b["shipments"] == 0
    assert (
        np.isnan(b["cost_per_delivery"])
        and np.isnan(b["order_cycle_hours"])
        and np.isnan(b["on_time_rate"])
    )


def test_marketing_acquisition_and_ltv_by_hand(card):
    a, b = card.loc["a"], card.loc["b"]
    # spend a 30 + 10, b 20 + 0; first seen: c1 on a (01-01), c2 on a, c3 on b
    assert (a["marketing_spend"], a["new_customers"]) == (40.0, 2)
    assert (b["marketing_spend"], b["new_customers"]) == (20.0, 1)
    # no cost of acquisition from two weeks, and no curve for a marketing return
    assert card[["cac", "cac_lo", "cac_hi", "marketing_return_rate"]].isna().all().all()
    # contribution a 125 - 24 - 40 = 61, b 140 - 0 - 20 = 120
    assert (a["contribution"], b["contribution"]) == (61.0, 120.0)
    assert (a["roas"], b["roas"]) == (6.25, 12.0)
    # LTV: a's new customers c1 (300) and c2 (no CLV) -> 300, coverage 1/2; b: c3 -> 120
    assert (a["ltv"], a["ltv_coverage"], b["ltv"], b["ltv_coverage"]) == (300.0, 0.5, 120.0, 1.0)
    assert card["ltv_cac"].isna().all()  # no cost of acquisition to divide by


def test_inventory_and_service_figures_by_hand(card):
    a, b = card.loc["a"], card.loc["b"]
    # a owns W1 (all its shipments): turnover 365 x (1x40 + 2x20) / (10x40 + 5x20) = 58.4,
    # fill (2 units s1 x 0.9 + 1 unit s2 x 1.0) / 3 units
    assert a["inventory_turnover"] == pytest.approx(58.4)
    assert a["fill_rate"] == pytest.approx(2.8 / 3)
    # b holds b_stock: 365 x (0.5x40 + 1x20) / (4x40 + 6x20) = 365 x 40 / 280; fill (1x0.8 + 3x0.7) / 4
    assert b["inventory_turnover"] == pytest.approx(365 * 40 / 280)
    assert b["fill_rate"] == pytest.approx(0.725)
    # one contact each, 2 orders each; waits 10 s and 30 s against a 20 s target
    assert (a["contacts_per_100_orders"], a["service_level"]) == (50.0, 1.0)
    assert (b["contacts_per_100_orders"], b["service_level"]) == (50.0, 0.0)


def test_rank_is_by_contribution(card):
    assert card["rank"].to_dict() == {"b": 1, "a": 2}
    assert list(card.columns[: len(ev.SCORECARD_COLUMNS) - 1]) == list(ev.SCORECARD_COLUMNS[1:])


def test_shared_warehouse_stock_is_split_by_demand():
    # a: 4 units of s1, shipments 3 from W1 and 1 from W2 -> demand W1 3, W2 1; b: 2 units,
    # all from W2 -> W2 2. Weights: a W1 1, a W2 1/3, b W2 2/3.
    lines = pd.DataFrame(
        {
            "channel_id": ["a", "b"],
            "sku": ["s1", "s1"],
            "quantity": [4, 2],
            "status": ["paid", "paid"],
        }
    )
    ships = pd.DataFrame(
        {"channel_id": ["a", "a", "a", "a", "b"], "warehouse_id": ["W1", "W1", "W1", "W2", "W2"]}
    )
    policy = pd.DataFrame(
        {
            "warehouse_id": ["W1", "W2"],
            "sku": ["s1", "s1"],
            "mean_daily": [2.0, 1.0],
            "unit_cost": [10.0, 10.0],
            "simulated_average_stock": [4.0, 5.0],
            "simulated_fill_rate": [0.9, 0.6],
        }
    )
    inv = ev.inventory_figures(policy, lines, ships)
    # a: 365 x (2x10 + 1/3 x 1x10) / (4x10 + 1/3 x 5x10) = 365 x 70/170; fill (3x0.9 + 1x0.6) / 4
    assert inv.loc["a", "inventory_turnover"] == pytest.approx(365 * 70 / 170)
    assert inv.loc["a", "fill_rate"] == pytest.approx(0.825)
    # b: 365 x (2/3 x 10) / (2/3 x 50) = 73; fill 0.6
    assert inv.loc["b", "inventory_turnover"] == pytest.approx(73.0)
    assert inv.loc["b", "fill_rate"] == pytest.approx(0.6)


def test_missing_inputs_give_nan_and_notes_not_errors():
    sc, notes = ev.channel_scorecard(_lines(), PRODUCTS, CHANNELS)
    sc = sc.set_index("channel_id")
    for col in (
        "fulfilment_cost",
        "marketing_spend",
        "cac",
        "ltv",
        "ltv_cac",
        "inventory_turnover",
        "fill_rate",
        "order_cycle_hours",
        "on_time_rate",
        "contacts_per_100_orders",
        "service_level",
        "contribution",
    ):
        assert sc[col].isna().all(), col
    text = " ".join(notes)
    for word in (
        "shipments.csv",
        "marketing_spend.csv",
        "CLV",
        "inventory_policy",
        "service_contacts.csv",
        "ranked by gross margin",
    ):
        assert word in text
    assert sc["rank"].to_dict() == {"b": 1, "a": 2}  # gross margin 140 > 125
    # no wait times: service level NaN with its own note, contacts per 100 orders still there
    sc2, notes2 = ev.channel_scorecard(
        _lines(), PRODUCTS, CHANNELS, contacts=CONTACTS[["channel_id"]]
    )
    assert sc2["service_level"].isna().all() and (sc2["contacts_per_100_orders"] == 50.0).all()
    assert any("wait_seconds" in n for n in notes2)


def test_bad_scorecard_input_names_the_column():
    with pytest.raises(ValueError, match="revenue_base"):
        ev.channel_scorecard(_lines().drop(columns="revenue_base"), PRODUCTS, CHANNELS)
    with pytest.raises(ValueError, match="delivered_ts"):
        ev.shipment_figures(SHIPMENTS.drop(columns="delivered_ts"), None)


def test_first_seen_growth_and_segment_mix_by_hand():
    seen = ev.first_seen(_lines()).set_index("customer_id")
    assert seen["first_channel"].to_dict() == {"c1": "a", "c3": "b", "c2": "a"}
    extra = pd.DataFrame(
        {"customer_id": ["c4"], "first_seen": [pd.Timestamp("2024-02-05")], "first_channel": ["a"]}
    )
    seen = pd.concat([seen.reset_index(), extra], ignore_index=True)
    segments = pd.Series({"c1": "loyal", "c2": "new", "c4": "loyal"})  # c3 not placed
    g = ev.user_base_growth(seen, segments)
    key = g.set_index(["month", "channel_id", "segment"])
    jan, feb = pd.Timestamp("2024-01-01"), pd.Timestamp("2024-02-01")
    assert key.loc[(jan, "a", "loyal"), "new_customers"] == 1
    assert key.loc[(feb, "a", "loyal"), "cumulative_customers"] == 2
    assert key.loc[(jan, "b", "unplaced"), "new_customers"] == 1
    assert g["new_customers"].sum() == 4
    mix = ev.segment_mix(g)
    # a: loyal 2/3, new 1/3; b: unplaced 1; all: loyal 2/4, new 1/4, unplaced 1/4
    assert mix.loc["a", "loyal"] == pytest.approx(2 / 3) and mix.loc["b", "unplaced"] == 1.0
    assert mix.loc["all channels"].to_dict() == pytest.approx(
        {"loyal": 0.5, "new": 0.25, "unplaced": 0.25}
    )


def test_overlap_by_hand():
    m, share = ev.overlap_summary(_lines())
    # c1 buys on a and b, c2 only a, c3 only b
    assert m.loc["a", "a"] == 2 and m.loc["b", "b"] == 2 and m.loc["a", "b"] == 1
    assert share == pytest.approx(1 / 3)


def test_plan_vs_actual_by_hand(card):
    plan = pd.DataFrame(
        {
            "channel_id": ["a", "b"],
            "selected": [True, False],
            "budget": [50.0, 0.0],
            "revenue": [400.0, 0.0],
            "profit": [100.0, 0.0],
        }
    )
    curves = pd.DataFrame(
        {
            "channel_id": ["a"],
            "base_weekly_revenue": [10.0],
            "revenue_max": [100.0],
            "adstock_decay": [0.5],
            "hill_half_saturation": [40.0],
            "hill_slope": [1.0],
        }
    )
    out = ev.plan_vs_actual(
        plan, _lines(), MARKETING, card.reset_index(), CHANNELS, curves, weeks=2
    ).set_index("channel_id")
    a, b = out.loc["a"], out.loc["b"]
    # two weeks (01-01, 01-08): a revenue (200 + 50) / 2, spend (30 + 10) / 2; b 240 / 2, 20 / 2
    assert (a["actual_revenue"], a["actual_spend"], b["actual_revenue"], b["actual_spend"]) == (
        125,
        20,
        120,
        10,
    )
    # profit = revenue x margin rate - spend - fixed 130 x 12 / 52 = 30: a 62.5 - 20 - 30, b 70 - 10
    assert a["actual_profit"] == pytest.approx(12.5) and b["actual_profit"] == pytest.approx(60.0)
    assert (
        a["planned_revenue_per_spend"],
        a["actual_revenue_per_spend"],
        b["actual_revenue_per_spend"],
    ) == (8.0, 6.25, 12.0)
    assert (a["budget_change"], b["budget_change"]) == (30.0, -10.0)
    assert a["profit_change"] == pytest.approx(87.5)
    # the curve at spend 20: adstock 20 / (1 - 0.5) = 40 = half saturation -> 10 + 100 x 0.5
    assert a["model_revenue_at_actual"] == pytest.approx(60.0) and np.isnan(
        b["model_revenue_at_actual"]
    )
    assert a["weeks"] == 2 and a["period_start"] == pd.Timestamp("2024-01-01")


def test_inventory_policy_deltas_by_hand():
    sim = pd.DataFrame(
        {
            "policy": ["forecast_fill_rate", "naive_days_of_cover", "forecast_fill_rate"],
            "stock": ["pooled", "pooled", "pooled"],
            "fill_rate": [0.95, 0.95, 0.99],
            "average_stock_value": [90.0, 100.0, 500.0],
            "holding_cost": [9.0, 10.0, 50.0],
            "curve": [None, None, True],
        }
    )
    d = ev.inventory_policy_deltas(sim).set_index("metric")
    assert d.loc["average_stock_value", ["before", "after", "delta"]].tolist() == [
        100.0,
        90.0,
        -10.0,
    ]
    assert d.loc["average_stock_value", "relative_delta"] == pytest.approx(-0.1)
    assert d.loc["fill_rate", "delta"] == pytest.approx(0.0)


def test_fulfilment_policy_deltas_with_totals_by_hand():
    sim = pd.DataFrame(
        {
            "policy": ["fifo", "fifo", "priority", "priority"],
            "channel_id": ["a", "b", "a", "b"],
            "orders": [10, 30, 10, 30],
            "mean_cycle_hours": [20.0, 10.0, 15.0, 12.0],
            "p95_cycle_hours": [40.0, 30.0, 30.0, 32.0],
            "sla_breaches": [2, 3, 1, 3],
            "breach_rate": [0.2, 0.1, 0.1, 0.1],
        }
    )
    d = ev.fulfilment_policy_deltas(sim).set_index(["scope", "metric"])
    # all channels: fifo 5 breaches / 40 orders, mean (10x20 + 30x10) / 40 = 12.5;
    # priority 4 / 40, mean (10x15 + 30x12) / 40 = 12.75
    assert d.loc[("all channels", "breach_rate"), ["before", "after"]].tolist() == [0.125, 0.1]
    assert d.loc[("all channels", "mean_cycle_hours"), "delta"] == pytest.approx(0.25)
    assert d.loc[("all channels", "sla_breaches"), "delta"] == -1
    assert d.loc[("a", "breach_rate"), "relative_delta"] == pytest.approx(-0.5)
    with pytest.raises(ValueError, match="breach_rate"):
        ev.fulfilment_policy_deltas(sim.drop(columns="breach_rate"))


def test_segments_placed_in_06_match_01_for_crm_only_customers(tiny_dataset, tiny_run):
    """Customers who bought only on CRM channels get the same features in 01 and 06, so 01's
    segment_model table must put them in 01's segment (03 gives them their CRM id)."""
    lines = pd.read_parquet(tiny_run / "tables" / "order_lines.parquet")
    seg01 = pd.read_parquet(tiny_run / "tables" / "segments.parquet")["segment"]
    crm_channels = set(load_dataset(tiny_dataset).crm_channel_ids)
    only_crm = lines.groupby("customer_id")["channel_id"].agg(lambda s: set(s) <= crm_channels)
    ids = only_crm.index[only_crm].intersection(seg01.index)
    placed = ev.place_in_segments(
        lines, pd.read_parquet(tiny_run / "tables" / "segment_model.parquet")
    )
    assert len(ids) >= 20
    assert (placed.reindex(ids) == seg01.reindex(ids)).mean() == 1.0


def test_overlap_and_first_seen_on_codes_match_the_string_versions():
    lines = pd.DataFrame(
        {
            "customer_id": ["c1", "c1", "c2", "c3", "c3", "c3", "c4", None],
            "channel_id": ["b", "a", "c", "a", "b", "c", "a", "b"],
            "order_ts_local": pd.to_datetime(
                [
                    "2024-01-02",
                    "2024-01-02",
                    None,
                    "2024-01-05",
                    "2024-01-01",
                    "2024-01-01",
                    "2024-01-03",
                    "2024-01-01",
                ]
            ),
        }
    )
    for frame in (
        lines,
        lines.astype({"customer_id": "string[pyarrow]", "channel_id": "string[pyarrow]"}),
    ):
        m, share = ev.overlap_summary(frame)
        pd.testing.assert_frame_equal(m, channel_overlap_matrix(lines))
        # c1 {a, b}, c3 {a, b, c} on two or more; c2 {c} and c4 {a} on one; the NA id not counted
        assert share == 0.5 and m.loc["a", "b"] == 2 and m.loc["c", "c"] == 2
        assert m.loc["b", "b"] == 3  # the crosstab counted the missing id as a customer "nan"
        seen = ev.first_seen(frame).set_index("customer_id")
        # c1's tie at the same instant goes to channel a; c2's only line has no time (kept,
        # last); the guest line (no customer id) is no customer and is left out
        assert seen["first_channel"].to_dict() == {"c3": "b", "c1": "a", "c4": "a", "c2": "c"}
        assert list(seen.index)[-1] == "c2" and pd.isna(seen.loc["c2", "first_seen"])


def _net_lines() -> pd.DataFrame:
    """The business above as the intake now writes it, plus a guest order and a return.

    o1's customer got 50 back (refund); o6 is a guest order on b (2 x s2 for 70, with 5 of
    postage); o7 reverses one unit of o5 (a return line, -1 x s1, -90).
    """
    d = _lines()
    extra = pd.DataFrame(
        [
            ("b", "o6", None, "s2", 2, 70.0, "paid", "2024-01-04 00:00"),
            ("b", "o6", None, "POST", 1, 5.0, "paid", "2024-01-04 00:00"),
            ("b", "o7", "c1", "s1", -1, -90.0, "returned", "2024-01-05 00:00"),
        ],
        columns=list(d.columns[:-1]),
    )
    extra["order_ts_local"] = pd.to_datetime(extra["order_ts_local"])
    extra["order_ts"] = extra["order_ts_local"].dt.tz_localize("UTC")
    d = pd.concat([d, extra], ignore_index=True)
    d["net_revenue_base"] = [150.0, 50.0, 0.0, 150.0, 90.0, 70.0, 5.0, -90.0]
    d["demand_units"] = [2, 1, 0, 3, 1, 2, 0, 0]
    return d


def test_sales_figures_use_net_revenue_count_guest_orders_but_never_guests():
    card = ev.sales_figures(_net_lines(), PRODUCTS, CHANNELS)
    # a: 150 + 50 (o3 cancelled: 0); b: 150 + 90 + 70 + 5 - 90
    assert card.loc["a", "revenue"] == 200.0 and card.loc["b", "revenue"] == 225.0
    # b's orders o4, o5, o6 (the guest order counts; the reversal o7 is no sale)
    assert card.loc["b", "orders"] == 3 and card.loc["b", "customers"] == 2  # c3, c1
    # cogs on demand units: b 3 x 20 + 1 x 40 + 2 x 20, less the unit of s1 (40) that the
    # return o7 brings back, as its -90 leaves revenue; postage has no product cost
    assert card.loc["b", "cogs"] == 100.0 and card.loc["a", "cogs"] == 100.0
    assert card.loc["a", "commission"] == pytest.approx(20.0)


def test_without_any_cost_channels_rank_by_revenue_and_say_so():
    card, notes = ev.channel_scorecard(_net_lines(), None, None)
    assert list(card["channel_id"]) == ["b", "a"] and card["gross_margin"].isna().all()
    assert notes[-1] == "contribution and gross margin are unknown: channels are ranked by revenue"
    assert ev.ranking_text(card, "CNY") == (
        "Without product costs (nor fulfilment and marketing costs) the ranking is by revenue: "
        "**b** first (225 CNY), **a** last."
    )
    sentences = ev.channel_sentences(card, "CNY")
    assert sentences[:2] == [
        "From 2024-01-01 to 2024-01-09, the 2 channels sold 425 CNY of net revenue; their gross margin is unknown because the data has no "
        "product cost.",
        "b ranks first by revenue with 225 CNY.",
    ]


def test_scorecard_cogs_agree_with_the_shared_margins():
    """06's gross margin and channelops.margins count the same units at the same cost: on
    lines with a return and postage, revenue minus cogs minus commission is the same."""
    lines = _net_lines().assign(is_merchandise=lambda d: d["sku"] != "POST")  # as the intake
    card = ev.sales_figures(lines, PRODUCTS, CHANNELS)
    shared = channel_margin_rates(lines, PRODUCTS, CHANNELS).set_index("channel_id")
    for channel in ("a", "b"):
        assert card.loc[channel, "cogs"] == pytest.approx(shared.loc[channel, "cogs"])
        assert card.loc[channel, "gross_margin_rate"] == pytest.approx(
            shared.loc[channel, "margin_rate"]
        )  # no shipments or payment fees here: the two margins are the same margin


def test_scorecard_takes_each_channels_own_margin():
    # a payment fee of 5 on a and a margin rate of 30%: contribution 61 - 5 = 56
    lines = _lines()
    margins = pd.DataFrame(
        {"channel_id": ["a", "b"], "payment_cost": [5.0, 0.0], "margin_rate": [0.3, 0.55]}
    )
    sc, _ = ev.channel_scorecard(
        lines,
        PRODUCTS,
        CHANNELS,
        orders=_orders(lines),
        marketing=MARKETING,
        shipments=SHIPMENTS,
        margins=margins,
    )
    sc = sc.set_index("channel_id")
    assert sc.loc["a", "contribution"] == 56.0 and sc.loc["b", "contribution"] == 120.0
    assert sc.loc["a", "margin_rate"] == 0.3
    # the plan's "now" uses the same rate: 100 a week x 30% - 10 spend = 20
    plan = pd.DataFrame(
        {
            "channel_id": ["a"],
            "selected": [True],
            "budget": [10.0],
            "revenue": [50.0],
            "profit": [5.0],
        }
    )
    week = pd.Timestamp("2024-01-01")
    wl = pd.DataFrame(
        {
            "channel_id": ["a"],
            "order_ts_local": [week],
            "net_revenue_base": [100.0],
            "revenue_base": [100.0],
            "status": ["paid"],
            "quantity": [1],
            "demand_units": [1],
        }
    )
    mk = pd.DataFrame({"week_start": [week], "channel_id": ["a"], "spend": [10.0]})
    pva = ev.plan_vs_actual(plan, wl, mk, sc.reset_index(), None, None, weeks=1)
    assert pva.loc[0, "actual_profit"] == pytest.approx(100 * 0.3 - 10)
    with pytest.raises(ValueError, match="margin_rate"):
        ev.channel_scorecard(lines, PRODUCTS, CHANNELS, margins=margins.drop(columns="margin_rate"))
