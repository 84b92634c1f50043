"""Platform presets: every preset's data is consistent with the contract, each fixture (the
documented header row and a few invented lines) is recognised as its own report type,
headers that lack a signature column are not, and the scaffold's guesses follow the data."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from _builders import TEST_DATA, write
from channelops.ingest.contract import CANONICAL_FIELDS, STATUSES, DatasetError
from channelops.ingest.platforms import PRESETS, preset, recognise
from channelops.ingest.platforms.preset import alternatives
from channelops.ingest.platforms.scaffold import (
    build_mapping,
    plan_dataset,
    read_sample,
    write_plan,
)

FIXTURES = TEST_DATA / "platforms"
FIXTURE_FILES = sorted(p for p in FIXTURES.iterdir() if p.is_file())


def _preset_of(path: Path) -> str:
    """``amazon_all_orders.txt`` -> ``amazon/all_orders`` (fixtures are named so)."""
    platform, _, report = path.stem.partition("_")
    return f"{platform}/{report}"


def test_every_preset_has_a_fixture_and_every_fixture_a_preset():
    assert sorted(_preset_of(p) for p in FIXTURE_FILES) == sorted(p.name for p in PRESETS)


@pytest.mark.skipif(
    "line_total" not in CANONICAL_FIELDS,
    reason="needs the intake's new canonical fields (issue 18: line_total, refund)",
)
@pytest.mark.parametrize("p", PRESETS, ids=lambda p: p.name)
def test_preset_data_fits_the_contract(p):
    header = set(p.header)
    assert len(p.header) == len(header), "a documented header names each column once"
    for entry in p.signature:
        assert any(c in header for c in alternatives(entry)), entry
    assert set(p.columns) <= set(CANONICAL_FIELDS)
    for field, cols in p.columns.items():
        assert cols and any(c in header for c in cols), (field, cols)
    # a usable preset maps exactly one of unit_price / line_total, and every required field
    if not p.unusable:
        assert ("unit_price" in p.columns) != ("line_total" in p.columns)
    required = {"order_id", "channel_sku", "quantity"} | ({"order_ts"} if not p.unusable else set())
    if p.buyer_identity == "column" and not p.unusable:
        required.add("buyer_ref")
    assert required <= set(p.columns), required - set(p.columns)
    assert p.buyer_identity in ("column", "none")
    if p.buyer_identity == "none":
        assert "buyer_ref" not in p.columns
    assert set(p.status_words.values()) <= set(STATUSES)
    for rule in p.status_rules:
        assert rule["status"] in STATUSES
        assert rule.get("column") is None or rule["column"] in header
    assert set(p.fill_down) <= set(p.columns)
    assert p.source and p.title


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.name)
def test_fixture_is_recognised_as_its_report_type(path):
    sample = read_sample(path, path.name)
    rec = recognise(sample.header)
    assert rec.preset is not None, rec.closest
    assert rec.preset.name == _preset_of(path)


def test_amazon_flat_files_are_read_as_tab_separated_and_taobao_as_gb18030():
    amazon = read_sample(FIXTURES / "amazon_all_orders.txt", "a.txt")
    assert amazon.sep == "\t" and amazon.encoding == "utf-8" and len(amazon.rows) == 3
    taobao = read_sample(FIXTURES / "taobao_order_report.csv", "t.csv")
    assert taobao.encoding == "gb18030"
    # the seller center's trailing spaces ("宝贝标题 ") are stripped from the names
    assert "宝贝标题" in taobao.header and "宝贝标题 " not in taobao.header


@pytest.mark.parametrize("p", [p for p in PRESETS], ids=lambda p: p.name)
def test_a_header_without_a_signature_column_is_not_taken_for_the_preset(p):
    dropped = alternatives(p.signature[-1])
    header = [c for c in p.header if c not in dropped]
    rec = recognise(header)
    assert rec.preset is None or rec.preset.name != p.name
    if rec.preset is None:  # the closest presets name what is missing
        names = {q.name: missing for q, missing in rec.closest}
        assert p.name in names and p.signature[-1] in names[p.name]


def test_unrecognised_header_lists_closest_presets_and_missing_columns():
    header = [c for c in preset("shopify/orders_export").header if c != "Lineitem sku"]
    rec = recognise(header)
    assert rec.preset is None
    best, missing = rec.closest[0]
    assert best.name == "shopify/orders_export" and missing == ("Lineitem sku",)
    assert recognise(["foo", "bar"]).closest == ()


def test_order_report_and_all_orders_of_amazon_are_told_apart():
    # the seller-fulfilled Order Report has buyer columns, the All Orders Report has none
    rep = preset("amazon/order_report")
    allo = preset("amazon/all_orders")
    assert recognise(rep.header).preset is rep
    assert recognise(allo.header).preset is allo
    assert recognise([*rep.header, "quantity-to-ship", "days-past-promise"]).preset.name in (
        "amazon/order_report",
        "amazon/unshipped_orders",
    )


def test_douyin_older_unit_price_column_is_recognised_and_mapped(tmp_path):
    p = preset("douyin/order_export")
    header = ["商品单价" if c == "商品金额" else c for c in p.header]
    rows = [[""] * len(header)]
    rows[0][header.index("商品单价")] = "29.00"
    text = ",".join(header) + "\n" + ",".join(rows[0]) + "\n"
    sample = read_sample(write(tmp_path / "dy.csv", text), "dy.csv")
    assert recognise(sample.header).preset is p
    mapping, _, _ = build_mapping(p, sample, "Asia/Shanghai")
    assert mapping["columns"]["unit_price"] == "商品单价"


def _sample_with(p, rows: list[dict[str, str]], tmp_path: Path, sep: str = ","):
    lines = [sep.join(p.header)] + [sep.join(r.get(c, "") for c in p.header) for r in rows]
    return read_sample(write(tmp_path / "x.csv", "\n".join(lines) + "\n"), "x.csv")


def test_amazon_all_orders_mapping_has_no_buyer_and_reads_line_totals():
    p = preset("amazon/all_orders")
    sample = read_sample(FIXTURES / "amazon_all_orders.txt", "a.txt")
    mapping, guesses, code = build_mapping(p, sample, "UTC")
    assert mapping["buyer_identity"] == "none" and "buyer_ref" not in mapping["columns"]
    assert mapping["columns"]["line_total"] == "item-price"
    assert "unit_price" not in mapping["columns"]
    assert mapping["read"] == {"sep": "\t"}
    assert mapping["currency"] == {"column": "currency", "default": "USD"} and code == "USD"


def test_shopify_fills_order_level_fields_down_but_never_the_order_discount():
    p = preset("shopify/orders_export")
    sample = read_sample(FIXTURES / "shopify_orders_export.csv", "s.csv")
    mapping, _, _ = build_mapping(p, sample, "UTC")
    assert {"currency", "status", "buyer_ref"} <= set(mapping["fill_down"])
    assert "discount" not in mapping["fill_down"] and "refund" not in mapping["fill_down"]
    assert mapping["currency"]["column"] == "Currency"


def test_mostly_blank_first_choice_column_gives_way_to_a_filled_one(tmp_path):
    p = preset("douyin/order_export")
    rows = [{"主订单编号": str(i), "商品ID": f"36{i}", "商家编码": ""} for i in range(10)]
    rows[0]["商家编码"] = "MUG-01"  # 1 of 10 filled
    mapping, guesses, _ = build_mapping(p, _sample_with(p, rows, tmp_path), "Asia/Shanghai")
    assert mapping["columns"]["channel_sku"] == "商品ID"
    assert any("'商品ID'" in g and "10%" in g for g in guesses)


def test_currency_default_is_the_most_frequent_code_in_the_rows(tmp_path):
    p = preset("woocommerce/order_items")
    rows = [{"order_currency": c} for c in ("EUR", "GBP", "EUR", "", "EUR")]
    mapping, _, code = build_mapping(p, _sample_with(p, rows, tmp_path), "Europe/Berlin")
    assert code == "EUR" and mapping["currency"] == {"column": "order_currency", "default": "EUR"}


def test_unknown_status_words_and_unreadable_timestamps_are_reported(tmp_path):
    p = preset("jd/order_export")
    rows = [
        {"订单状态": "完成", "下单时间": "2026-11-02 12:00:00"},
        {"订单状态": "神秘状态", "下单时间": "02/11/2026"},
    ]
    _, guesses, _ = build_mapping(p, _sample_with(p, rows, tmp_path), "Asia/Shanghai")
    assert any("'神秘状态'" in g and "values.status" in g for g in guesses)
    assert any("1 of the first 2 values of '下单时间'" in g for g in guesses)


def _folder(tmp_path: Path, *names: str) -> Path:
    root = tmp_path / "shop"
    (root / "orders").mkdir(parents=True)
    for n in names:
        shutil.copy(FIXTURES / n, root / "orders" / n)
    return root


def test_plan_skips_unrecognised_and_unusable_exports_with_reasons(tmp_path):
    root = _folder(tmp_path, "jd_order_export.csv", "amazon_unshipped_orders.txt")
    write(root / "orders" / "mystery.csv", "订单号,商品ID,数量\n1,2,3\n")
    write(root / "products.csv", "sku,name\nMUG-01,Mug\n")  # an optional table, not an export
    plan = plan_dataset(root)
    assert [c.channel_id for c in plan.channels] == ["jd"]
    skipped = " | ".join(plan.skipped)
    assert "amazon_unshipped_orders.txt" in skipped and "no prices" in skipped
    assert (
        "mystery.csv: header not recognised (3 columns); closest presets: jd/order_export"
        in skipped
    )
    assert "lacks '订购数量', '京东价'" in skipped
    assert "products.csv" not in skipped
    assert plan.base_currency == "CNY" and plan.timezone == "Asia/Shanghai"


def test_channel_id_keeps_a_file_name_that_names_the_platform(tmp_path):
    root = tmp_path / "shop"
    (root / "orders").mkdir(parents=True)
    shutil.copy(FIXTURES / "taobao_order_report.csv", root / "orders" / "tmall.csv")
    shutil.copy(FIXTURES / "taobao_order_report.csv", root / "orders" / "export_2026.csv")
    plan = plan_dataset(root)
    assert sorted(c.channel_id for c in plan.channels) == ["taobao", "tmall"]


def test_write_plan_writes_paths_inside_the_folder_and_never_overwrites(tmp_path):
    root = _folder(tmp_path, "shopify_orders_export.csv")
    plan = plan_dataset(root)
    written = write_plan(plan)
    assert sorted(p.relative_to(root).as_posix() for p in written) == [
        "dataset.yaml",
        "mappings/shopify.yaml",
    ]
    ds = yaml.safe_load((root / "dataset.yaml").read_text(encoding="utf-8"))
    assert ds["channels"] == [
        {
            "id": "shopify",
            "orders": "orders/shopify_orders_export.csv",
            "mapping": "mappings/shopify.yaml",
        }
    ]
    (root / "dataset.yaml").write_text("# mine\n", encoding="utf-8")
    with pytest.raises(FileExistsError, match="dataset.yaml, mappings/shopify.yaml"):
        write_plan(plan_dataset(root))
    assert (root / "dataset.yaml").read_text(encoding="utf-8") == "# mine\n"
    write_plan(plan_dataset(root), force=True)
    assert "name: shop" in (root / "dataset.yaml").read_text(encoding="utf-8")


def test_plan_of_a_missing_or_empty_folder_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetError, match="not a folder"):
        plan_dataset(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no export found"):
        plan_dataset(tmp_path / "empty")


def test_an_empty_export_is_skipped_with_its_name(tmp_path):
    root = _folder(tmp_path, "jd_order_export.csv")
    write(root / "orders" / "blank.csv", "")
    plan = plan_dataset(root)
    assert any(s.startswith("orders/blank.csv: no header row") for s in plan.skipped)


def test_semicolon_separated_export_is_read_with_its_separator(tmp_path):
    p = preset("jd/order_export")
    sample = _sample_with(p, [{"订单号": "1", "订购数量": "2"}], tmp_path, sep=";")
    assert sample.sep == ";" and recognise(sample.header).preset is p
    mapping, _, _ = build_mapping(p, sample, "Asia/Shanghai")
    assert mapping["read"] == {"sep": ";"}


def test_utf16_export_is_read_and_its_encoding_written(tmp_path):
    text = (FIXTURES / "jd_order_export.csv").read_text(encoding="utf-8").replace(",", "\t")
    path = tmp_path / "jd.txt"
    path.write_text(text, encoding="utf-16")
    sample = read_sample(path, "jd.txt")
    assert (sample.encoding, sample.sep, len(sample.rows)) == ("utf-16", "\t", 3)
    mapping, _, _ = build_mapping(preset("jd/order_export"), sample, "Asia/Shanghai")
    assert mapping["read"] == {"sep": "\t", "encoding": "utf-16"}


def test_a_link_to_a_file_outside_the_folder_is_not_used(tmp_path):
    root = _folder(tmp_path, "jd_order_export.csv")
    outside = tmp_path / "elsewhere.csv"
    shutil.copy(FIXTURES / "douyin_order_export.csv", outside)
    (root / "orders" / "douyin.csv").symlink_to(outside)
    plan = plan_dataset(root)
    assert [c.channel_id for c in plan.channels] == ["jd"]
    assert any("orders/douyin.csv: a link to a file outside" in s for s in plan.skipped)


def test_data_text_cannot_break_out_of_a_yaml_comment(tmp_path):
    p = preset("jd/order_export")
    evil = 'x\nbuyer_identity: none\n# "'
    rows = [{"订单号": "1", "订单状态": evil, "下单时间": "2026-11-02 12:00:00"}]
    lines = [",".join(p.header)] + [
        ",".join('"' + r.get(c, "").replace('"', '""') + '"' for c in p.header) for r in rows
    ]
    root = tmp_path / "shop"
    write(root / "orders" / "jd\nfill_down: [status].csv", "\n".join(lines) + "\n")
    plan = plan_dataset(root)
    write_plan(plan)
    text = (root / plan.channels[0].mapping_rel).read_text(encoding="utf-8")
    assert all(line.startswith("# ") for line in text.splitlines()[:6])
    data = yaml.safe_load(text)
    assert "buyer_identity" not in data and "fill_down" not in data
    assert data["columns"]["order_id"] == "订单号"
    ds = yaml.safe_load((root / "dataset.yaml").read_text(encoding="utf-8"))
    assert ds["channels"][0]["orders"] == "orders/jd\nfill_down: [status].csv"
