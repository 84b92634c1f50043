"""``channelops init`` then ``channelops check`` on each platform fixture (the documented
header row and a few invented lines): the written dataset reads with every row accepted,
and the accepted revenue is the hand-computed sum (a line total read as a unit price, or a
discount filled down, would change it).

The round trip needs the intake's new mapping keys (fill_down, line_total, buyer_identity,
status_rules, currency default); the tests that read the intake's new line columns
(is_guest) say so in their skip reason.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from _builders import TEST_DATA
from channelops.ingest.contract import LINE_COLUMNS, MAPPING_KEYS
from channelops.ingest.dataset import load_dataset
from channelops.ingest.intake import ingest_lines, intake_accounting
from channelops.run.cli import main

FIXTURES = TEST_DATA / "platforms"

needs_intake_keys = pytest.mark.skipif(
    not {"fill_down", "buyer_identity", "status_rules"} <= set(MAPPING_KEYS),
    reason="needs the intake's new mapping keys (issue 18: fill_down, line_total, ...)",
)
needs_guest_lines = pytest.mark.skipif(
    "is_guest" not in LINE_COLUMNS, reason="needs the intake's is_guest line column (issue 18)"
)

#: fixture -> (channel id init gives it, rows, accepted revenue in the export's currency:
#: sum of quantity x unit price - discount over every line, computed by hand)
ROUND_TRIPS = {
    # #1001: 2 x 12.50 - 5.00 (order discount, first row only) + 1 x 20.00; #1002 12.50;
    # #1003 3 x 20.00
    "shopify_orders_export.csv": ("shopify", 4, 112.50),
    # item-price is the line total: 25.00 (2 mugs) + 20.00 + 12.50, not 2 x 25.00 + ...
    "amazon_all_orders.txt": ("amazon", 3, 57.50),
    # 25.00 - 2.50 promotion + 20.00 + 20.00
    "amazon_order_report.txt": ("amazon", 3, 62.50),
    # item_total (after line discounts) 22.50 + 20.00 + 12.50
    "woocommerce_order_items.csv": ("woocommerce", 3, 55.00),
    # one line per order: 买家应付货款 59.00 + 88.00
    "taobao_order_report.csv": ("taobao", 2, 147.00),
    # 2 x 29.90 + 69.90 + 29.90
    "jd_order_export.csv": ("jd", 3, 159.60),
    # 2 x 29.00 + 66.00 + 29.00
    "douyin_order_export.csv": ("douyin", 3, 153.00),
}


def _folder(tmp_path: Path, *fixtures: str) -> Path:
    root = tmp_path / "shop"
    (root / "orders").mkdir(parents=True)
    for name in fixtures:
        shutil.copy(FIXTURES / name, root / "orders" / name)
    return root


@needs_intake_keys
@pytest.mark.parametrize("fixture", sorted(ROUND_TRIPS))
def test_init_then_check_accepts_every_row_with_the_right_revenue(fixture, tmp_path, capsys):
    channel, rows, revenue = ROUND_TRIPS[fixture]
    root = _folder(tmp_path, fixture)
    assert main(["init", str(root)]) == 0
    out = capsys.readouterr().out
    assert f"-> channel {channel!r}" in out and "wrote" in out
    listing = tmp_path / "q.csv"
    assert main(["check", str(root), "--quarantine-csv", str(listing)]) == 0
    assert listing.read_text(encoding="utf-8-sig").strip() == (
        "file,row,channel_id,column,value,reason,message"
    )
    acc = intake_accounting(ingest_lines(load_dataset(root))).set_index("channel_id")
    assert acc.loc[channel, "rows_read"] == rows
    assert acc.loc[channel, "accepted"] == rows
    assert acc.loc[channel, "revenue_raw"] == pytest.approx(revenue, abs=0.005)


def _init_lines(tmp_path: Path, fixture: str, channel: str):
    """The accepted lines of ``channel`` after ``init`` on a folder holding ``fixture``."""
    root = _folder(tmp_path / channel, fixture)
    assert main(["init", str(root)]) == 0
    lines = ingest_lines(load_dataset(root)).lines
    return lines[lines["channel_id"] == channel]


@needs_intake_keys
@needs_guest_lines
def test_round_trip_lines_carry_guests_fill_down_and_derived_statuses(tmp_path):
    shop = _init_lines(tmp_path, "shopify_orders_export.csv", "shopify")
    shop = shop.set_index(["order_id", "channel_sku"])
    # the second line of #1001 has no Currency/Financial Status cell: filled from the first
    assert shop.loc[("#1001", "POT-01"), "currency"] == "USD"
    assert shop.loc[("#1001", "POT-01"), "status"] == "paid"
    assert shop.loc[("#1002", "MUG-01"), "status"] == "returned"
    assert bool(shop.loc[("#1003", "POT-01"), "is_guest"])  # point of sale, no e-mail
    assert not bool(shop.loc[("#1001", "MUG-01"), "is_guest"])
    amazon = _init_lines(tmp_path, "amazon_all_orders.txt", "amazon")
    assert amazon["is_guest"].all() and amazon["buyer_ref"].isna().all()
    assert sorted(amazon["unit_price"].round(2)) == [12.5, 12.5, 20.0]
    douyin = _init_lines(tmp_path, "douyin_order_export.csv", "douyin").set_index("order_id")
    assert douyin.loc["6900000000000000002", "status"] == "returned"  # 售后状态 退款成功
    assert douyin.loc["6900000000000000003", "status"] == "shipped"
    assert douyin["is_guest"].all()


def test_init_refuses_a_folder_with_no_usable_export(tmp_path, capsys):
    root = _folder(tmp_path, "amazon_unshipped_orders.txt", "taobao_item_report.csv")
    assert main(["init", str(root)]) == 2
    err = capsys.readouterr().err
    assert "no prices" in err and "no order time" in err and "nothing written" in err
    assert not (root / "dataset.yaml").exists() and not (root / "mappings").exists()


def test_init_names_the_closest_presets_of_an_unknown_export(tmp_path, capsys):
    root = _folder(tmp_path, "jd_order_export.csv")
    header = [c for c in yaml.safe_load("[Name, Email, Financial Status, Currency, Created at]")]
    (root / "orders" / "other.csv").write_text(",".join(header) + "\n", encoding="utf-8")
    assert main(["init", str(root)]) == 0
    err = capsys.readouterr().err
    assert "orders/other.csv: header not recognised (5 columns)" in err
    assert "shopify/orders_export" in err and "'Lineitem sku'" in err


def test_init_never_overwrites_without_force(tmp_path, capsys):
    root = _folder(tmp_path, "jd_order_export.csv")
    assert main(["init", str(root)]) == 0
    mapping = root / "mappings" / "jd.yaml"
    mapping.write_text("# edited by hand\n", encoding="utf-8")
    assert main(["init", str(root)]) == 2
    assert "already exist" in capsys.readouterr().err
    assert mapping.read_text(encoding="utf-8") == "# edited by hand\n"
    assert main(["init", str(root), "--force"]) == 0
    assert "订购数量" in mapping.read_text(encoding="utf-8")


def test_init_of_a_missing_folder_exits_2(tmp_path, capsys):
    assert main(["init", str(tmp_path / "nope")]) == 2
    assert f"{tmp_path / 'nope'}: not a folder" in capsys.readouterr().err  # names the folder typed
