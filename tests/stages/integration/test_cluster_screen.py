"""cluster_checks screens customers on integer codes, then builds its table from them."""

import pandas as pd

from channelops.stages import integration as integ
from channelops.stages.integration import review


def _records():
    """K1: two e-mails, two phones (flagged). K2: two e-mails, one phone of its own and a
    second phone only on its CRM record (flagged). K3: one e-mail (not flagged)."""
    links = pd.DataFrame(
        {
            "channel_id": ["a", "b", "a", "b", "a", "b"],
            "buyer_ref": ["1", "2", "3", "4", "5", "6"],
            "customer_id": ["K1", "K1", "K2", "K2", "K3", "K3"],
            "rule": ["splink", "phone_or_email", "splink", "crm_id", "splink", "splink"],
        }
    )
    buyers = links[["channel_id", "buyer_ref"]].assign(
        email_norm=["x@a.cn", "y@a.cn", "z@a.cn", "w@a.cn", "u@a.cn", None],
        phone_norm=["111", "222", "13800000003", "13800000003", "555", "666"],
    )
    crm = pd.DataFrame(
        {
            "customer_id": ["K2", "K9"],
            "email": ["v@a.cn", "q@a.cn"],
            "phone": ["13900000004", "13900000009"],
        }  # fmt: skip
    )
    return links, buyers, crm


def test_cluster_checks_screen_counts_buyers_and_crm_records():
    links, buyers, crm = _records()
    keep = review._disagreeing_customers(links, buyers, crm, (crm["email"], crm["phone"]))
    assert keep.tolist() == [True, True, True, True, False, False]
    out = integ.cluster_checks(links, buyers, crm)
    assert out["customer_id"].tolist() == ["K1", "K2"]
    assert out[["records", "emails", "phones"]].values.tolist() == [[2, 2, 2], [3, 3, 2]]
    assert out["rules"].tolist() == ["phone_or_email,splink", "crm_id,splink"]


def test_cluster_checks_other_links_take_every_customer_to_the_same_table():
    links, buyers, crm = _records()
    shuffled = links.iloc[[5, 0, 3, 1, 4, 2]]
    assert (
        review._disagreeing_customers(shuffled, buyers, crm, (crm["email"], crm["phone"])) is None
    )
    pd.testing.assert_frame_equal(
        integ.cluster_checks(shuffled, buyers, crm), integ.cluster_checks(links, buyers, crm)
    )
