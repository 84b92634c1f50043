"""identity_nodes: the records of identity resolution computed once and handed to
probabilistic_pairs, link_buyers and cluster_checks give what each computes alone."""

import pandas as pd
import pytest

from channelops.stages import integration as integ
from channelops.stages.integration import merge


def _buyers():
    """web carries CRM ids. tb_li shares C001's e-mail, jd_li its phone; jd_wang shares
    C002's phone; dy_zhao shares nothing."""
    return pd.DataFrame(
        {
            "channel_id": ["web", "tmall", "jd", "jd", "douyin"],
            "buyer_ref": ["C001", "tb_li", "jd_li", "jd_wang", "dy_zhao"],
            "email_norm": [pd.NA, "li@x.com", pd.NA, pd.NA, pd.NA],
            "phone_norm": [pd.NA, pd.NA, "13800000001", "13900000002", "13700000003"],
            "name": ["Li Wei", "li wei", "Li  Wei", "Wang Fang", "Zhao Lei"],
            "address": ["1 Road", "1 road", "1 Road", "2 Street", "3 Lane"],
        }
    )


CRM = pd.DataFrame(
    {
        "customer_id": ["C001", "C002"],
        "email": ["LI@x.com ", "wang@x.com"],  # normalised: li@x.com
        "phone": ["+86 138 0000 0001", "139-0000-0002"],
    },
    index=[7, 3],  # not a range: the CRM's values must follow its rows, not its labels
)


def test_identity_nodes_normalise_the_crm_once_and_label_the_shared_key_clusters():
    nodes = integ.identity_nodes(_buyers(), CRM, ["web"])
    assert nodes["node"].tolist() == [
        "b:web:C001",
        "b:tmall:tb_li",
        "b:jd:jd_li",
        "b:jd:jd_wang",
        "b:douyin:dy_zhao",
        "c:C001",
        "c:C002",
    ]
    assert nodes["email_norm"].iloc[5:].tolist() == ["li@x.com", "wang@x.com"]
    assert nodes["phone_norm"].iloc[5:].tolist() == ["13800000001", "13900000002"]
    # C001 with its web buyer (CRM id), tb_li (e-mail) and jd_li (phone); C002 with
    # jd_wang (phone); dy_zhao alone; labels numbered by each cluster's first record
    assert nodes["key_label"].tolist() == [0, 0, 0, 1, 2, 0, 1]


def test_link_buyers_with_given_nodes_equals_link_buyers_alone():
    pairs = pd.DataFrame(
        {
            "node_l": ["b:douyin:dy_zhao", "b:douyin:dy_zhao"],
            "node_r": ["b:jd:jd_wang", "c:C001"],
            "match_probability": [0.95, 0.97],
            "match_weight": [4.0, 5.0],
        }
    )
    reviewed = pd.DataFrame(
        {"node_l": ["b:jd:jd_li"], "node_r": ["b:jd:jd_wang"], "decision": ["non_match"]}
    )
    nodes = integ.identity_nodes(_buyers(), CRM, ["web"])
    kw = {"crm_channels": ["web"], "pairs": pairs, "threshold": 0.9, "reviewed": reviewed}
    alone = integ.link_buyers(_buyers(), CRM, **kw)
    shared = integ.link_buyers(_buyers(), CRM, nodes=nodes, **kw)
    pd.testing.assert_frame_equal(shared, alone, check_exact=True)
    assert shared.attrs == alone.attrs
    # dy_zhao's best pair (weight 5.0) is the CRM record C001
    assert shared.set_index("buyer_ref").loc["dy_zhao", "customer_id"] == "C001"
    assert shared.set_index("buyer_ref")["rule"].tolist() == [
        "crm_id",
        "phone_or_email",
        "phone_or_email",
        "phone_or_email",
        "splink",
    ]


def test_probabilistic_pairs_scores_the_same_records_with_given_nodes(monkeypatch):
    seen = []

    def capture(nodes, *args, **kwargs):
        seen.append(nodes)
        raise RuntimeError("stop")  # the fallback: nothing is trained

    monkeypatch.setattr(merge, "_splink_predict", capture)
    integ.probabilistic_pairs(_buyers(), CRM, ["web"])
    nodes = integ.identity_nodes(_buyers(), CRM, ["web"])
    integ.probabilistic_pairs(_buyers(), CRM, ["web"], nodes=nodes)
    pd.testing.assert_frame_equal(seen[1], seen[0], check_exact=True)
    assert "key_label" not in seen[1].columns
    # only dy_zhao is left alone by the deterministic rules
    assert seen[1].loc[seen[1]["is_open"], "unique_id"].tolist() == ["b:douyin:dy_zhao"]


def test_cluster_checks_take_the_crm_keys_from_given_nodes():
    # web's C001 buyer gets an e-mail and a phone of its own
    buyers = _buyers()
    buyers.loc[0, ["email_norm", "phone_norm"]] = ["a@x.cn", "13500000005"]
    links = integ.link_buyers(buyers, CRM, crm_channels=["web"])
    nodes = integ.identity_nodes(buyers, CRM, ["web"])
    alone = integ.cluster_checks(links, buyers, CRM)
    shared = integ.cluster_checks(links, buyers, CRM, nodes=nodes)
    pd.testing.assert_frame_equal(shared, alone, check_exact=True)
    # C001: web (a@x.cn, 135..05), tb_li (li@x.com), jd_li (138..01) and the CRM record
    # (li@x.com, 138..01): 4 records, 2 e-mails, 2 phones; C002 has one of each
    assert shared[["customer_id", "records", "emails", "phones"]].values.tolist() == [
        ["C001", 4, 2, 2]
    ]
    assert shared["rules"].tolist() == ["crm_id,phone_or_email"]


def test_nodes_of_other_records_are_refused():
    nodes = integ.identity_nodes(_buyers(), None, [])
    with pytest.raises(ValueError, match="expected identity_nodes"):
        integ.link_buyers(_buyers(), CRM, crm_channels=["web"], nodes=nodes)


def test_identity_nodes_with_compared_features_equal_those_computed_alone():
    buyers, crm = _buyers(), CRM.assign(name=["LI Wei", None], city=["Beijing ", "SH"])
    both = integ.identity_nodes(buyers, crm, ["web"], compared=True)
    plain = integ.identity_nodes(buyers, crm, ["web"])
    pd.testing.assert_frame_equal(both[list(plain.columns)], plain)
    alone = merge._identity_nodes(buyers, crm, ["web"])  # features alone, no key graph
    pd.testing.assert_frame_equal(
        both[list(merge.COMPARED_FEATURES)], alone[list(merge.COMPARED_FEATURES)]
    )
    # probabilistic_pairs' records from these nodes: the features taken, not recomputed
    taken = merge._identity_nodes(buyers, crm, ["web"], plain=both)
    pd.testing.assert_frame_equal(taken, alone)
    assert both["surname"].tolist()[:3] == ["wei", "wei", "wei"]
    assert both["city_norm"].tolist()[5:] == ["beijing", "sh"]
