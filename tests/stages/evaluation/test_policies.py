"""Both policy comparisons in one table, and the policy finding that says less or more."""

from __future__ import annotations

import pandas as pd
import pytest

from channelops.stages import evaluation as ev

SIM = pd.DataFrame(
    {
        "policy": ["forecast_fill_rate", "naive_days_of_cover"],
        "stock": ["pooled", "pooled"],
        "fill_rate": [0.92, 0.9],
        "average_stock_value": [94.0, 100.0],
    }
)
FULFIL = pd.DataFrame(
    {
        "policy": ["fifo", "priority"],
        "channel_id": ["a", "a"],
        "orders": [200, 200],
        "mean_cycle_hours": [20.0, 18.7],
        "p95_cycle_hours": [40.0, 38.0],
        "sla_breaches": [51, 34],
        "breach_rate": [0.255, 0.17],
    }
)


def test_policy_comparison_stacks_inventory_then_fulfilment():
    both = ev.policy_comparison(SIM, FULFIL)
    assert both.columns.tolist() == list(ev.POLICY_COLUMNS)
    # 2 inventory metrics at one stock level, 4 fulfilment metrics for a and all channels
    assert both["comparison"].tolist() == ["inventory"] * 2 + ["fulfilment"] * 8
    pd.testing.assert_frame_equal(ev.policy_comparison(SIM, None), ev.inventory_policy_deltas(SIM))
    none = ev.policy_comparison(None, None)
    assert len(none) == 0 and none.columns.tolist() == list(ev.POLICY_COLUMNS)
    with pytest.raises(ValueError, match="fill_rate"):
        ev.policy_comparison(SIM.drop(columns="fill_rate"), None)


def test_policy_text_by_hand():
    text = ev.policy_text(ev.policy_comparison(SIM, FULFIL), "CNY")
    # stock: 94 / 100 - 1 = -6%, -6 CNY; breaches 25.5% -> 17.0%, cycle 18.7 - 20 = -1.3 h
    assert text.splitlines() == [
        "- stock pooled: the forecast policy holds 6.0% less stock value (-6 CNY) at fill rate "
        "92.0% against 90.0%.",
        "- order flow: priority instead of FIFO moves the SLA breach rate from 25.5% to 17.0% "
        "(fewer breaches) and the mean cycle time by -1.3 h.",
    ]


def test_policy_text_flips_with_the_data():
    more_stock = SIM.assign(average_stock_value=[103.0, 100.0])
    worse_flow = FULFIL.assign(sla_breaches=[34, 51], breach_rate=[0.17, 0.255])
    text = ev.policy_text(ev.policy_comparison(more_stock, worse_flow), "CNY")
    assert "holds 3.0% more stock value (+3 CNY)" in text
    assert "from 17.0% to 25.5% (more breaches)" in text
    assert ev.policy_text(ev.policy_comparison(None, None), "CNY") == (
        "No policy comparison is available in this run."
    )
    with pytest.raises(ValueError, match="relative_delta"):
        ev.policy_text(ev.policy_comparison(SIM, None).drop(columns="relative_delta"), "CNY")


def test_policy_text_escapes_the_scope():
    text = ev.policy_text(ev.policy_comparison(SIM.assign(stock="<b>pooled</b>"), None), "CNY")
    assert "- stock &lt;b&gt;pooled&lt;/b&gt;:" in text
