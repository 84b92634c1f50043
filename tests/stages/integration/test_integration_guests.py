"""Stage 03 with guest checkouts and with a dataset that lacks the optional files."""

import pandas as pd
import pytest

from channelops.stages import integration as integ


def _guest_lines() -> pd.DataFrame:
    """Five lines: u1 on a (two orders), a guest order of two lines on a, one guest line on
    b, u2 on b. Revenue 10, 20, 5, 7, 3, 40; net revenue the same but the guest line on b
    was cancelled (net 0)."""
    return pd.DataFrame(
        {
            "channel_id": ["a", "a", "a", "a", "b", "b"],
            "order_id": ["o1", "o2", "g1", "g1", "g2", "o3"],
            "line_no": [1, 1, 1, 2, 1, 1],
            "buyer_ref": pd.array(["u1", "u1", None, None, None, "u2"], dtype="string"),
            "is_guest": [False, False, True, True, True, False],
            "quantity": [1, 2, 1, 1, 1, 4],
            "revenue_base": [10.0, 20.0, 5.0, 7.0, 3.0, 40.0],
            "net_revenue_base": [10.0, 20.0, 5.0, 7.0, 0.0, 40.0],
            "buyer_name": ["Li", "Li", "Guest", "Guest", "Guest", "Wang"],
        }
    )


def test_guest_lines_are_never_linked_and_stay_in_orders():
    lines = _guest_lines()
    # even a (wrong) link row with a missing buyer_ref must not reach a guest line
    links = pd.DataFrame(
        {
            "channel_id": ["a", "b", "a"],
            "buyer_ref": pd.array(["u1", "u2", None], dtype="string"),
            "customer_id": ["C1", "C2", "C9"],
        }
    )
    out = integ.attach_customers(lines, links)
    assert out["customer_id"].isna().tolist() == [False, False, True, True, True, False]
    assert out["customer_id"].iloc[2] is pd.NA
    assert "buyer_name" not in out.columns and len(out) == len(lines)
    orders = integ.build_orders(out.assign(status="paid", order_ts=pd.Timestamp(0, tz="UTC"),
                                           order_ts_local=pd.Timestamp(0)))  # fmt: skip
    by = orders.set_index("order_id")
    assert by.loc["g1", "n_lines"] == 2 and pd.isna(by.loc["g1", "customer_id"])
    assert bool(by.loc["g1", "is_guest"]) and not bool(by.loc["o1", "is_guest"])
    assert by["revenue_base"].sum() == pytest.approx(85.0)  # every line's revenue kept
    assert by.loc["g2", "net_revenue_base"] == 0.0


def test_guest_summary_counts_lines_orders_and_net_revenue():
    out = integ.guest_summary(_guest_lines()).set_index("channel_id")
    assert out.loc["a", ["lines", "guest_lines", "guest_orders"]].tolist() == [4, 2, 1]
    assert out.loc["b", ["lines", "guest_lines", "guest_orders"]].tolist() == [2, 1, 1]
    assert out.loc["a", "guest_revenue_base"] == pytest.approx(12.0)
    assert out.loc["b", "guest_revenue_base"] == 0.0  # the cancelled guest line nets to 0
    assert out.loc["a", "guest_line_share"] == pytest.approx(0.5)


def test_guest_summary_without_is_guest_column_uses_the_missing_buyer_ref():
    lines = _guest_lines().drop(columns=["is_guest", "net_revenue_base"])
    out = integ.guest_summary(lines).set_index("channel_id")
    assert out["guest_lines"].to_dict() == {"a": 2, "b": 1}
    assert out.loc["b", "guest_revenue_base"] == pytest.approx(3.0)  # gross without net


def test_identified_buyers_leaves_guest_records_out_and_counts_them():
    buyers = pd.DataFrame(
        {
            "channel_id": ["a", "a", "b"],
            "buyer_ref": pd.array(["u1", None, "u2"], dtype="string"),
            "email_norm": pd.NA,
            "phone_norm": pd.NA,
        }
    )
    out = integ.identified_buyers(buyers)
    assert out["buyer_ref"].tolist() == ["u1", "u2"] and out.attrs["guests"] == 1
    links = integ.link_buyers(out, None, crm_channels=[])
    assert links["customer_id"].notna().all() and links["buyer_ref"].notna().all()


def test_customer_lines_leave_guests_out_of_the_channel_overlap():
    lines = integ.attach_customers(
        _guest_lines(),
        pd.DataFrame(
            {"channel_id": ["a", "b"], "buyer_ref": ["u1", "u2"], "customer_id": ["C1", "C2"]}
        ),  # fmt: skip
    )
    m = integ.channel_overlap_matrix(integ.customer_lines(lines))
    # guests on a and b would otherwise count as one customer shared by both channels
    assert m.to_numpy().tolist() == [[1, 0], [0, 1]]
    assert integ.channel_overlap_matrix(lines).loc["a", "b"] == 1


def test_crm_match_note_only_for_a_customers_file_of_ids_alone():
    crm = pd.DataFrame({"customer_id": ["C1"], "name": ["Li"], "email": [None]})
    assert integ.crm_match_note(crm, ["own"]) is None
    assert integ.crm_match_note(None, ["own"]) is None  # run.needs says that one
    ids_only = integ.crm_match_note(crm.assign(name=None), ["own", "pos"])
    assert ids_only.startswith("Stage 03: customers.csv has none of name, email")
    assert ids_only.endswith("only on own, pos, whose buyer ids are CRM ids.")
    assert "on no channel" in integ.crm_match_note(crm[["customer_id"]], [])


def test_customers_with_customer_id_alone_link_and_make_golden_records():
    buyers = pd.DataFrame(
        {
            "channel_id": ["own", "tmall"],
            "buyer_ref": ["C1", "t1"],
            "n_lines": [2, 1],
            "first_order_ts": pd.to_datetime(["2024-01-01", "2024-02-01"], utc=True),
            "last_order_ts": pd.to_datetime(["2024-03-01", "2024-02-01"], utc=True),
            **{
                f: pd.array(["x", None], dtype="string")
                for f in ("name", "email", "phone", "address", "postcode", "city")
            },  # fmt: skip
            "email_norm": pd.NA,
            "phone_norm": pd.NA,
        }
    )
    crm = pd.DataFrame({"customer_id": ["C1", "C2"]})
    links = integ.link_buyers(buyers, crm, crm_channels=["own"])
    assert links.set_index("buyer_ref").loc["C1", "rule"] == "crm_id"
    golden = integ.golden_customers(buyers, links, crm).set_index("customer_id")
    assert golden.loc["C1", "in_crm"] and golden.loc["C1", "name"] == "x"
    rate = integ.crm_link_rate(links, crm).set_index("channel_id")
    assert rate.loc["own", "link_rate"] == 1.0 and rate.loc["tmall", "link_rate"] == 0.0
