"""The intake's accounting and its sentence (channelops.ingest.intake), on hand-made results:
intake_accounting, quarantine_reasons and intake_summary, with data that flips each clause
of the sentence notebook 00 prints."""

import pandas as pd
import pytest

from channelops.ingest.intake import (
    IngestResult,
    intake_accounting,
    intake_summary,
    quarantine_reasons,
    revenue_reconciliation,
)
from channelops.revenue import weekly_channel_revenue

LINE_COLUMNS = [
    "channel_id",
    "order_id",
    "quantity",
    "unit_price",
    "discount",
    "currency",
    "fx_rate",
    "revenue_base",
]


def _lines(rows):
    numbers = {c: float for c in ("unit_price", "discount", "fx_rate", "revenue_base")}
    return pd.DataFrame(rows, columns=LINE_COLUMNS).astype({"quantity": "int64", **numbers})


def _quarantine(rows):
    return pd.DataFrame(rows, columns=["channel_id", "source_file", "row", "reason"])


def _result(lines=None, quarantine=None, duplicates=None, rows_read=None) -> IngestResult:
    """web (CNY): 2 accepted, 1 repeat, 2 quarantined; hk (HKD at 0.9): 1 accepted, 2
    quarantined. 8 rows read."""
    if lines is None:
        lines = _lines(
            [
                ("web", "o1", 2, 10.0, 1.0, "CNY", 1.0, 19.0),
                ("web", "o2", 1, 5.0, 0.0, "CNY", 1.0, 5.0),
                ("hk", "h1", 1, 100.0, 0.0, "HKD", 0.9, 90.0),
            ]
        )
    if quarantine is None:
        quarantine = _quarantine(
            [
                ("web", "orders/web.csv", 5, "bad_quantity"),
                ("hk", "orders/hk.csv", 3, "bad_ts"),
                ("web", "orders/web.csv", 9, "bad_ts"),
                ("hk", "orders/hk.csv", 7, "bad_ts"),
            ]
        )
    if duplicates is None:
        duplicates = pd.DataFrame(
            {"channel_id": ["web"], "source_file": ["orders/web.csv"], "row": [4]}
        )
    return IngestResult(lines, quarantine, duplicates, rows_read or {"web": 5, "hk": 3}, [])


def _sentence(result: IngestResult) -> str:
    return intake_summary(intake_accounting(result), revenue_reconciliation(result.lines))


# ---------------------------------------------------------------- intake_accounting


def test_intake_accounting_by_hand():
    dq = intake_accounting(_result()).set_index("channel_id")
    assert dq.loc["web", ["rows_read", "accepted", "duplicates", "quarantined"]].tolist() == [
        5,
        2,
        1,
        2,
    ]
    assert dq.loc["hk", ["rows_read", "accepted", "duplicates", "quarantined"]].tolist() == [
        3,
        1,
        0,
        2,
    ]
    assert dq.loc["web", "q_bad_quantity"] == 1 and dq.loc["web", "q_bad_ts"] == 1
    assert dq.loc["hk", "q_bad_quantity"] == 0 and dq.loc["hk", "q_bad_ts"] == 2
    assert dq["balanced"].all()
    # raw: 2 x 10 - 1 + 1 x 5 in CNY; 100 HKD is 90 in the base currency
    assert dq.loc["web", "revenue_raw"] == 24.0 and dq.loc["web", "revenue_base"] == 24.0
    assert dq.loc["hk", "revenue_raw"] == 100.0 and dq.loc["hk", "revenue_base"] == 90.0


def test_intake_accounting_counts_a_channel_with_nothing_accepted():
    result = _result(
        rows_read={"web": 5, "hk": 3, "shop": 1},
        quarantine=pd.concat(
            [_result().quarantine, _quarantine([("shop", "orders/shop.csv", 2, "unknown_sku")])],
            ignore_index=True,
        ),
    )
    dq = intake_accounting(result).set_index("channel_id")
    assert dq.loc["shop", ["rows_read", "accepted", "quarantined", "q_unknown_sku"]].tolist() == [
        1,
        0,
        1,
        1,
    ]
    assert dq.loc["shop", "revenue_base"] == 0.0


def test_intake_accounting_raises_when_rows_are_lost():
    with pytest.raises(AssertionError, match=r"rows not accounted for in channel\(s\) \['web'\]"):
        intake_accounting(_result(rows_read={"web": 6, "hk": 3}))


# ---------------------------------------------------------------- quarantine_reasons


def test_quarantine_reasons_most_frequent_first_with_the_first_location():
    out = quarantine_reasons(_result().quarantine)
    assert list(out.itertuples(index=False, name=None)) == [
        ("hk", "bad_ts", 2, "orders/hk.csv", 3),
        ("web", "bad_quantity", 1, "orders/web.csv", 5),
        ("web", "bad_ts", 1, "orders/web.csv", 9),
    ]


def test_quarantine_reasons_of_an_empty_quarantine_is_an_empty_table():
    out = quarantine_reasons(_quarantine([]))
    assert out.empty
    assert out.columns.tolist() == ["channel_id", "reason", "rows", "first_file", "first_row"]


# ---------------------------------------------------------------- intake_summary


def test_summary_names_the_shares_the_top_reason_and_that_revenue_reconciles():
    assert _sentence(_result()) == (
        "Of 8 export rows in 2 channel(s), 3 (37.5%) were accepted, 1 (12.5%) repeated "
        "another row and 4 (50.0%) were set aside; the most frequent reason is bad_ts "
        "(3 rows, most of them in hk). Revenue reconciles to the cent on every channel."
    )


def test_summary_names_a_channel_that_does_not_reconcile():
    lines = _result().lines
    lines.loc[lines["channel_id"] == "hk", "revenue_base"] = 90.05  # 5 cents off 100 x 0.9
    text = _sentence(_result(lines=lines))
    assert text.endswith(
        "Revenue does not reconcile to the cent on hk: see dq_revenue's difference_cents."
    )
    assert "reconciles to the cent on every channel" not in text


def test_summary_without_quarantine_has_no_reason_clause():
    text = _sentence(_result(quarantine=_quarantine([]), rows_read={"web": 3, "hk": 1}))
    assert text == (
        "Of 4 export rows in 2 channel(s), 3 (75.0%) were accepted, 1 (25.0%) repeated "
        "another row and 0 (0.0%) were set aside. Revenue reconciles to the cent on every "
        "channel."
    )


def test_summary_when_every_row_was_set_aside():
    result = _result(
        lines=_lines([]), duplicates=pd.DataFrame({"channel_id": []}), rows_read={"web": 2, "hk": 2}
    )
    text = _sentence(result)
    assert text.startswith("Of 4 export rows in 2 channel(s), 0 (0.0%) were accepted")
    assert text.endswith("No revenue was accepted, so there is nothing to reconcile.")


def test_summary_of_an_empty_dataset():
    result = _result(
        lines=_lines([]),
        quarantine=_quarantine([]),
        duplicates=pd.DataFrame({"channel_id": []}),
        rows_read={"web": 0},
    )
    assert _sentence(result) == "No export rows were read: the dataset's exports are empty."


# ---------------------------------------------------------------- weekly revenue, reversals


def test_weekly_revenue_a_cancellation_line_reverses_its_sale_a_return_line_does_not():
    """Online Retail style: the sale (paid) and its cancellation (a C invoice, negative
    quantity, status cancelled) are separate lines; a return line (negative, returned) is a
    later event and, like a positive returned line, does not move the order's week; a
    negative adjustment (status paid) is money."""
    lines = pd.DataFrame(
        {
            "channel_id": ["web"] * 5,
            "order_ts_local": pd.to_datetime(
                [
                    "2024-01-01 09:00",
                    "2024-01-02 09:00",
                    "2024-01-09 09:00",
                    "2024-01-10 09:00",
                    "2024-01-10 10:00",
                ]  # fmt: skip
            ),
            "revenue_base": [30.0, -30.0, 12.0, -12.0, -5.0],
            "status": ["paid", "cancelled", "paid", "returned", "paid"],
        }
    )
    assert weekly_channel_revenue(lines)["revenue"].tolist() == [0.0, 7.0]
    with_qty = lines.assign(quantity=[3, -3, 1, -1, 1])
    assert weekly_channel_revenue(with_qty)["revenue"].tolist() == [0.0, 7.0]
