"""Integration merge on hand-made frames: dedup, deterministic identity, golden records, accounting."""

import duckdb
import pandas as pd
import pytest

from channelops.ingest import buyers as byr
from channelops.ingest import intake, pii
from channelops.stages import integration as integ
from channelops.stages.integration import merge


def test_normalise_phone_formats_agree():
    raw = pd.Series(
        ["+86 138-0013-8000", "86 13800138000", "138 0013 8000", "0086-138 0013 8000", "12", None]
    )
    out = pii.normalise_phone(raw)
    assert out.iloc[:4].tolist() == ["13800138000"] * 4
    assert out.iloc[4:].isna().all()


def test_normalise_email():
    out = pii.normalise_email(
        pd.Series([" Li.Wei@Example.COM ", "li.wei@example.com", "not-an-email", None])
    )
    assert out.iloc[0] == out.iloc[1] == "li.wei@example.com"
    assert out.iloc[2:].isna().all()


def _lines(rows):
    cols = [
        "channel_id",
        "source_file",
        "row",
        "order_id",
        "line_no",
        "order_ts",
        "buyer_ref",
        "channel_sku",
        "quantity",
        "unit_price",
    ]
    df = pd.DataFrame(rows, columns=cols)
    df["order_ts"] = pd.to_datetime(df["order_ts"], utc=True)
    return df


def test_remove_duplicate_rows_keeps_first_and_lists_copies():
    lines = _lines(
        [
            ("a", "orders/a.csv", 2, "o1", 1, "2024-01-01", "u1", "s1", 1, 9.5),
            ("a", "orders/a.csv", 3, "o1", 2, "2024-01-01", "u1", "s2", 1, 3.0),
            ("a", "orders/a.csv", 4, "o1", 1, "2024-01-01", "u1", "s1", 1, 9.5),  # copy of row 2
            ("a", "orders/a.csv", 5, "o1", 1, "2024-01-01", "u1", "s1", 1, 9.5),  # second copy
            (
                "b",
                "orders/b.csv",
                2,
                "o1",
                1,
                "2024-01-01",
                "u1",
                "s1",
                1,
                9.5,
            ),  # other file: not a copy
            ("a", "orders/a.csv", 6, "o1", 1, "2024-01-01", "u1", "s1", 2, 9.5),  # quantity differs
        ]
    )
    kept, dups = intake.remove_duplicate_rows(lines)
    assert sorted(kept["row"].tolist()) == [2, 2, 3, 6]
    assert dups[["row", "duplicate_of_row"]].values.tolist() == [[4, 2], [5, 2]]
    assert len(kept) + len(dups) == len(lines)


def _buyers():
    return pd.DataFrame(
        {
            "channel_id": ["web", "tmall", "jd", "jd", "douyin"],
            "buyer_ref": ["C001", "tb_li", "jd_li", "jd_wang", "dy_zhao"],
            "email_norm": [pd.NA, "li@x.com", pd.NA, pd.NA, pd.NA],
            "phone_norm": [pd.NA, pd.NA, "13800000001", "13900000002", "13700000003"],
        }
    )


def test_link_buyers_deterministic_rules():
    crm = pd.DataFrame(
        {
            "customer_id": ["C001", "C002"],
            "email": ["LI@x.com ", "wang@x.com"],
            "phone": ["+86 138 0000 0001", "13900000002"],
        }
    )
    links = integ.link_buyers(_buyers(), crm, crm_channels=["web"])
    got = dict(
        zip(links["buyer_ref"], zip(links["customer_id"], links["rule"], strict=True), strict=True)
    )
    assert got["C001"] == ("C001", "crm_id")
    assert got["tb_li"] == ("C001", "phone_or_email")  # email matches the CRM record of C001
    assert got["jd_li"] == ("C001", "phone_or_email")  # phone matches C001
    assert got["jd_wang"] == ("C002", "phone_or_email")
    assert got["dy_zhao"][1] == "unlinked" and got["dy_zhao"][0].startswith("X")


def test_link_buyers_ids_are_stable_and_order_free():
    a = integ.link_buyers(_buyers(), None, crm_channels=[])
    b = integ.link_buyers(_buyers().iloc[::-1].reset_index(drop=True), None, crm_channels=[])
    merged = a.merge(b, on=["channel_id", "buyer_ref"])
    assert (merged["customer_id_x"] == merged["customer_id_y"]).all()


def test_link_buyers_without_crm_links_across_channels():
    buyers = pd.DataFrame(
        {
            "channel_id": ["tmall", "jd"],
            "buyer_ref": ["tb_1", "jd_1"],
            "email_norm": ["a@b.cn", "a@b.cn"],
            "phone_norm": [pd.NA, pd.NA],
        }
    )
    links = integ.link_buyers(buyers, None, crm_channels=[])
    assert links["customer_id"].nunique() == 1
    assert set(links["rule"]) == {"phone_or_email"}


def test_dq_report_balances_and_raises_when_rows_are_lost():
    idx = pd.Index(["a", "b"])
    q = pd.DataFrame({"channel_id": ["a"], "reason": ["bad_timestamp"]})
    rep = intake.dq_report(
        pd.Series([10, 5], idx),
        pd.Series([8, 5], idx),
        pd.Series([1, 0], idx),
        q,
        pd.Series([1.0, 2.0], idx),
        pd.Series([1.0, 2.0], idx),
    )
    assert rep["balanced"].all() and rep.loc[rep.channel_id == "a", "q_bad_timestamp"].item() == 1
    with pytest.raises(AssertionError, match=r"rows not accounted for in channel\(s\) \['b'\]"):
        intake.dq_report(
            pd.Series([10, 6], idx),
            pd.Series([8, 5], idx),
            pd.Series([1, 0], idx),
            q,
            pd.Series(dtype=float),
            pd.Series(dtype=float),
        )


def test_remove_duplicate_rows_ignores_loader_line_numbers():
    # an export without line_no: the loader numbered the copy 2, it is still a copy
    lines = _lines(
        [
            ("a", "orders/a.csv", 2, "o1", 1, "2024-01-01", "u1", "s1", 1, 9.5),
            ("a", "orders/a.csv", 3, "o1", 2, "2024-01-01", "u1", "s1", 1, 9.5),
            ("a", "orders/a.csv", 4, "o1", 3, "2024-01-01", "u1", "s2", 1, 3.0),
        ]
    )
    kept, dups = intake.remove_duplicate_rows(lines)
    assert dups.empty  # line_no from the export: distinct lines
    kept, dups = intake.remove_duplicate_rows(lines, numbered_channels=["a"])
    assert dups[["row", "duplicate_of_row"]].values.tolist() == [[3, 2]]
    assert kept.sort_values("row")["line_no"].tolist() == [1, 2]  # renumbered


def _pairs(rows):
    return pd.DataFrame(rows, columns=["node_l", "node_r", "match_probability"])


def test_link_buyers_probabilistic_pair_attaches_a_lone_buyer():
    pairs = _pairs(
        [("b:douyin:dy_zhao", "b:jd:jd_li", 0.97), ("b:douyin:dy_zhao", "b:jd:jd_wang", 0.6)]
    )
    crm = pd.DataFrame({"customer_id": ["C001"], "phone": ["13800000001"]})
    links = integ.link_buyers(_buyers(), crm, crm_channels=["web"], pairs=pairs, threshold=0.9)
    row = links.set_index("buyer_ref").loc["dy_zhao"]
    assert (row["customer_id"], row["rule"]) == ("C001", "splink")
    assert row["match_probability"] == pytest.approx(0.97)
    above = integ.link_buyers(_buyers(), crm, crm_channels=["web"], pairs=pairs, threshold=0.99)
    assert above.set_index("buyer_ref").loc["dy_zhao", "rule"] == "unlinked"


def test_link_buyers_probabilistic_pairs_never_merge_two_customers():
    # jd_li and jd_wang are each already linked: a strong pair between them is ignored
    crm = pd.DataFrame({"customer_id": ["C001", "C002"], "phone": ["13800000001", "13900000002"]})
    pairs = _pairs([("b:jd:jd_li", "b:jd:jd_wang", 0.999)])
    links = integ.link_buyers(_buyers(), crm, crm_channels=["web"], pairs=pairs)
    got = links.set_index("buyer_ref")["customer_id"]
    assert (got["jd_li"], got["jd_wang"]) == ("C001", "C002")


def test_probabilistic_pairs_falls_back_with_a_note(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("EM did not converge")

    monkeypatch.setattr(merge, "_splink_predict", broken)
    buyers = _buyers().assign(name="li", address="x", city="y", postcode="1")
    pairs = integ.probabilistic_pairs(buyers, None, crm_channels=[])
    assert pairs.empty and "EM did not converge" in pairs.attrs["note"]
    links = integ.link_buyers(buyers, None, crm_channels=[], pairs=pairs)
    assert links.equals(integ.link_buyers(buyers, None, crm_channels=[]))


def test_borderline_matches_nearest_the_threshold_first():
    pairs = _pairs([("a", "b", 0.91), ("a", "c", 0.5), ("b", "c", 0.88)])
    out = integ.borderline_matches(pairs, threshold=0.9, n=5, width=0.05)
    assert out["node_r"].tolist() == ["b", "c"] and out["accepted"].tolist() == [True, False]


def _canon_lines():
    return pd.DataFrame(
        {
            "channel_id": ["a", "a", "b", "b", "b"],
            "customer_id": ["c1", "c2", "c1", "c1", "c3"],
            "sku": ["S1", "S2", "S1", "S1", "S2"],
            "currency": ["CNY", "CNY", "USD", "USD", "USD"],
            "quantity": [1, 2, 1, 3, 1],
            "unit_price": [10.0, 5.0, 2.0, 2.0, 1.0],
            "discount": [0.0, 1.0, 0.0, 0.5, 0.0],
            "fx_rate": [1.0, 1.0, 7.1, 7.2, 7.1],
            "unit_price_base": [10.0, 5.0, 14.2, 14.4, 7.1],
        }
    ).assign(
        revenue_base=lambda d: d["quantity"] * d["unit_price_base"] - d["discount"] * d["fx_rate"]
    )


def test_revenue_reconciliation_to_the_cent():
    rec = intake.revenue_reconciliation(_canon_lines()).set_index("channel_id")
    assert rec.loc["a", "revenue_raw"] == pytest.approx(19.0)
    # b: 2*7.1 + (6-0.5)*7.2 + 1*7.1 = 14.2 + 39.6 + 7.1
    assert rec.loc["b", "revenue_base"] == pytest.approx(60.9)
    assert rec["reconciled"].all()
    broken = _canon_lines()
    broken.loc[0, "revenue_base"] += 0.02
    assert (
        intake.revenue_reconciliation(broken).set_index("channel_id").loc["a", "difference_cents"]
        == 2
    )


def test_customer_overlap_and_matrix():
    lines = _canon_lines()
    ov = integ.customer_overlap(lines).set_index("n_channels")
    assert ov["customers"].to_dict() == {1: 2, 2: 1}
    m = integ.channel_overlap_matrix(lines)
    assert m.loc["a", "b"] == 1 and m.loc["b", "b"] == 2


def test_price_consistency_flags_conflicts():
    prices = integ.price_consistency(_canon_lines(), tolerance=0.10)
    row = prices.set_index("sku").loc["S1"]
    assert (row["cheapest_channel"], row["dearest_channel"]) == ("a", "b")
    assert row["spread"] == pytest.approx(14.3 / 10 - 1) and bool(row["conflict"])


def test_crm_link_rate_per_channel():
    links = pd.DataFrame(
        {
            "channel_id": ["a", "a", "b"],
            "buyer_ref": ["1", "2", "3"],
            "customer_id": ["C1", "X9", "C1"],
            "rule": ["crm_id", "unlinked", "phone_or_email"],
        }
    )
    rate = integ.crm_link_rate(links, pd.DataFrame({"customer_id": ["C1"]})).set_index("channel_id")
    assert rate.loc["a", "link_rate"] == 0.5 and rate.loc["b", "link_rate"] == 1.0


def test_dq_extras_fail_clearly_on_missing_columns():
    with pytest.raises(KeyError):
        intake.revenue_reconciliation(_canon_lines().drop(columns="fx_rate"))


def test_remove_duplicate_rows_keeps_input_order_index_and_missing_values_equal():
    # rows out of file order; the copy (row 5) comes first in the frame; None == None
    lines = _lines(
        [
            ("a", "orders/a.csv", 5, "o1", 1, "2024-01-01", None, "s1", 1, 9.5),
            ("a", "orders/a.csv", 3, "o2", 1, "2024-01-02", "u2", "s2", 1, 3.0),
            ("a", "orders/a.csv", 2, "o1", 1, "2024-01-01", None, "s1", 1, 9.5),
        ]
    ).set_axis([10, 11, 12])
    kept, dups = intake.remove_duplicate_rows(lines)
    assert kept.index.tolist() == [11, 12] and kept["row"].tolist() == [3, 2]
    assert dups.to_dict("records") == [
        {"channel_id": "a", "source_file": "orders/a.csv", "row": 5, "duplicate_of_row": 2}
    ]


def _buyer_lines():
    ts = pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"], utc=True)
    return pd.DataFrame(
        {
            "channel_id": ["a", "a", "a", "a"],
            "buyer_ref": ["u1", "u1", "u1", "u1"],
            "order_id": ["o1", "o2", "o3", "o4"],
            "order_ts": ts,
            # Li and Lee twice each: Lee is on the latest order
            "buyer_name": ["Li", "Lee", "Li", "Lee"],
            # one each, Zed on the latest order
            "buyer_email": ["b@x.cn", "a@x.cn", None, "Zed@X.cn"],
            "buyer_phone": [None, None, None, None],
        }
    )


def test_buyer_records_most_frequent_value_ties_to_the_latest_order():
    lines = pd.concat(
        [_buyer_lines(), _buyer_lines().assign(channel_id="b", buyer_name="Wu")],
        ignore_index=True,
    )
    lines.loc[7, "order_ts"] = lines.loc[6, "order_ts"]  # channel b: a@ and Zed@ tie on both
    lines.loc[7, "buyer_email"] = "a@x.cn"
    lines.loc[6, "buyer_email"] = "Zed@X.cn"
    lines.loc[5, "buyer_email"] = None
    b = byr.buyer_records(lines).set_index("channel_id")
    assert b.loc["a", "name"] == "Lee" and b.loc["a", "email"] == "Zed@X.cn"
    assert b.loc["a", "email_norm"] == "zed@x.cn" and pd.isna(b.loc["a", "phone"])
    assert b.loc["a", "n_lines"] == 4
    assert b.loc["a", "first_order_ts"] == pd.Timestamp("2024-01-01", tz="UTC")
    assert b.loc["a", "last_order_ts"] == pd.Timestamp("2024-01-04", tz="UTC")
    # same count, same latest order: the smaller value ('Z' < 'a' in code point order)
    assert b.loc["b", "email"] == "Zed@X.cn" and b.loc["b", "name"] == "Wu"
    assert pd.isna(b.loc["b", "address"])  # no ship_address column at all


def test_link_buyers_reports_the_rules_only_counts():
    pairs = _pairs(
        [("b:douyin:dy_zhao", "b:jd:jd_li", 0.97), ("b:douyin:dy_zhao", "b:jd:jd_wang", 0.6)]
    )
    crm = pd.DataFrame({"customer_id": ["C001"], "phone": ["13800000001"]})
    links = integ.link_buyers(_buyers(), crm, crm_channels=["web"], pairs=pairs)
    rules_only = integ.link_buyers(_buyers(), crm, crm_channels=["web"])
    assert links.attrs["rules_only_counts"] == rules_only["rule"].value_counts().to_dict()
    # dy_zhao: unlinked by the rules, linked by splink; tb_li and jd_wang stay alone
    assert links.attrs["rules_only_counts"]["unlinked"] == 3
    assert links["rule"].value_counts().to_dict()["unlinked"] == 2
    assert rules_only.attrs["rules_only_counts"] == links.attrs["rules_only_counts"]


def test_golden_customers_survivorship():
    ts = pd.to_datetime
    buyers = pd.DataFrame(
        {
            "channel_id": ["tmall", "jd", "jd", "web"],
            "buyer_ref": ["t1", "j1", "j2", "C9"],
            "n_lines": [3, 3, 1, 1],
            "first_order_ts": ts(
                ["2024-02-01", "2024-01-05", "2024-01-01", "2024-03-01"], utc=True
            ),
            "last_order_ts": ts(["2024-05-01", "2024-06-01", "2024-01-01", "2024-03-01"], utc=True),
            "name": ["Li T", "Li J", "Li X", "Wang"],
            "email": [None, None, "li@x.cn", "w@x.cn"],
            "phone": ["1", "2", "3", None],
            "address": ["addr t", "addr j", None, None],
            "postcode": ["100", "100", "100", None],
            "city": ["BJ", "BJ", "BJ", None],
        }
    )
    links = pd.DataFrame(
        {
            "channel_id": ["tmall", "jd", "jd", "web"],
            "buyer_ref": ["t1", "j1", "j2", "C9"],
            "customer_id": ["X1", "X1", "X1", "C9"],
        }
    )
    crm = pd.DataFrame({"customer_id": ["C9"], "name": ["Wang CRM"], "email": [None]})
    g = integ.golden_customers(buyers, links, crm).set_index("customer_id")
    x1 = g.loc["X1"]
    # most lines (3 each), then the latest order: jd's j1; email only j2 has
    assert (x1["name"], x1["phone"], x1["address"], x1["email"]) == (
        "Li J",
        "2",
        "addr j",
        "li@x.cn",
    )
    assert x1["channels"] == "jd,tmall" and x1["n_accounts"] == 3
    assert x1["first_channel"] == "jd" and x1["first_order_ts"] == ts("2024-01-01", utc=True)
    assert x1["last_order_ts"] == ts("2024-06-01", utc=True) and not x1["in_crm"]
    c9 = g.loc["C9"]
    assert c9["in_crm"] and c9["name"] == "Wang CRM" and c9["email"] == "w@x.cn"  # CRM wins
    assert g.index.tolist() == ["C9", "X1"]


def test_attach_customers_equals_a_left_merge_without_pii():
    lines = _lines(
        [
            ("a", "orders/a.csv", 2, "o1", 1, "2024-01-01", "u1", "s1", 1, 9.5),
            ("b", "orders/b.csv", 2, "o2", 1, "2024-01-01", "u1", "s1", 1, 9.5),
            ("a", "orders/a.csv", 3, "o3", 1, "2024-01-01", "u2", "s1", 1, 9.5),
            ("a", "orders/a.csv", 4, "o4", 1, "2024-01-01", "u9", "s1", 1, 9.5),  # no link
        ]
    ).assign(buyer_name="Li", buyer_phone="1")
    links = pd.DataFrame(
        {
            "channel_id": ["b", "a", "a"],
            "buyer_ref": ["u1", "u2", "u1"],
            "customer_id": ["Y", "Z", "X"],
        }
    )
    got = integ.attach_customers(lines, links)
    want = lines.merge(links, on=["channel_id", "buyer_ref"], how="left").drop(
        columns=["buyer_name", "buyer_phone"]
    )
    want["customer_id"] = want["customer_id"].astype("string[pyarrow]")
    pd.testing.assert_frame_equal(got, want)
    assert got["customer_id"].tolist()[:3] == ["X", "Y", "Z"]


def test_channel_overlap_matrix_and_overlap_match_a_crosstab():
    lines = _canon_lines()
    lines.loc[4, "customer_id"] = None  # a line without customer counts as customer 'nan'
    pairs = lines[["customer_id", "channel_id"]].drop_duplicates().astype(str)
    incidence = pd.crosstab(pairs["customer_id"], pairs["channel_id"])
    want = incidence.T @ incidence
    want.index.name = want.columns.name = "channel_id"
    pd.testing.assert_frame_equal(integ.channel_overlap_matrix(lines), want)
    ov = integ.customer_overlap(lines).set_index("n_channels")  # without the 'nan' customer
    assert ov["customers"].to_dict() == {1: 1, 2: 1}
    assert ov.loc[2, "revenue_base"] == pytest.approx(round(10.0 + 14.2 + 3 * 14.4 - 0.5 * 7.2, 2))


def test_write_warehouse_from_parquet_equals_from_frames(tmp_path):
    lines = _lines([("a", "orders/a.csv", 2, "o1", 1, "2024-01-01", "u1", "s1", 1, 9.5)])
    path = tmp_path / "order_lines.parquet"
    lines.to_parquet(path, index=False)
    schemas, rows = [], []
    for name, table in (("frames", lines), ("files", path)):
        out = tmp_path / name
        out.mkdir()
        con = duckdb.connect(integ.write_warehouse({"order_lines": table}, out), read_only=True)
        schemas.append(con.sql("DESCRIBE order_lines").fetchall())
        rows.append(con.sql("SELECT * FROM order_lines").fetchall())
        con.close()
    assert schemas[0] == schemas[1] and rows[0] == rows[1]


def test_in_background_gives_the_calls_value_and_raises_its_error():
    frame = pd.DataFrame({"x": [3, 1, 2]})
    job = integ.in_background(pd.DataFrame.sort_values, frame, by="x")
    pd.testing.assert_frame_equal(job.result(), frame.sort_values(by="x"))
    with pytest.raises(ZeroDivisionError):
        integ.in_background(lambda: 1 / 0).result()
