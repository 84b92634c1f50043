"""Identity resolution's features, tie-breaks and the reviewer's loop, on hand-made records."""

import pandas as pd
import pytest

from channelops.ingest.contract import DatasetError
from channelops.stages import integration as integ
from channelops.stages.integration import model


def _buyers() -> pd.DataFrame:
    """web:C001 is CRM customer C001; jd_li shares C001's phone; dy_zhao and dy_zhou are
    alone (no shared key)."""
    return pd.DataFrame(
        {
            "channel_id": ["web", "jd", "douyin", "douyin"],
            "buyer_ref": ["C001", "jd_li", "dy_zhao", "dy_zhou"],
            "email_norm": pd.NA,
            "phone_norm": ["13800000001", "13800000001", "13700000003", "13600000004"],
        }
    )


CRM = pd.DataFrame({"customer_id": ["C001", "C002"], "phone": ["13800000001", "13900000002"]})


def _pairs(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["node_l", "node_r", "match_probability"])


def _link(buyers, pairs=None, reviewed=None):
    links = integ.link_buyers(buyers, CRM, ["web"], pairs=pairs, threshold=0.9, reviewed=reviewed)
    return links.set_index("buyer_ref")


def test_name_features_split_first_name_and_surname():
    f = model.name_features(pd.Series(["Jessica  Mac Kinder", "王伟", None, " li "]))
    assert f["forename"].tolist()[:2] == ["jessica", "王伟"] and pd.isna(f["forename"][2])
    assert f["surname"][0] == "mackinder" and pd.isna(f["surname"][1]) and pd.isna(f["surname"][3])
    assert f["surname3"][0] == "mac"


def test_address_features_by_token():
    f = model.address_features(
        pd.Series(["15 Wright Place Lavender Bay", "东城区中山路274号20栋", None])
    )
    assert f["addr_num"].tolist()[:2] == ["15", "274 20"]
    assert f["addr_text"][0] == "wrightplacelavenderbay"
    assert list(f["addr_tokens"][0]) == ["bay", "lavender", "place", "wright"]
    assert list(f["addr_tokens"][1]) == ["东城区中山路"]  # one-character words dropped
    assert pd.isna(f["addr_num"][2]) and pd.isna(f["addr_tokens"][2])


def test_phone_keys_split_each_phone_in_halves():
    k = model.phone_keys(pd.Series(["1762210", "13800000001", None], dtype="string"))
    assert k["phone_head"].tolist()[:2] == ["176", "13800"]
    assert k["phone_tail"].tolist()[:2] == ["2210", "000001"]
    assert pd.isna(k["phone_head"][2])


def test_blocking_rules_pair_only_open_records_when_asked():
    rules = model.blocking_rules(open_only=True)
    assert len(rules) == len(model.BLOCKING_KEYS) + 1  # and the swapped-names rule
    assert all(r.endswith("(l.is_open OR r.is_open)") for r in rules)
    assert "l.forename = r.surname" in rules[-1]
    assert not any("is_open" in r for r in model.blocking_rules(open_only=False))


def test_tie_between_a_buyer_and_the_crm_record_goes_to_the_crm_record():
    # dy_zhao and dy_zhou are two accounts of C002 with a phone typo each: they score each
    # other and C002 the same; b: sorts before c:, which used to make them a cluster alone
    pairs = _pairs(
        [
            ("b:douyin:dy_zhao", "b:douyin:dy_zhou", 0.99),
            ("b:douyin:dy_zhao", "c:C002", 0.99),
            ("b:douyin:dy_zhou", "c:C002", 0.99),
        ]
    )
    got = _link(_buyers(), pairs)
    assert got.loc["dy_zhao", "customer_id"] == got.loc["dy_zhou", "customer_id"] == "C002"


def test_a_cluster_of_lone_buyers_inherits_its_crm_pair():
    # each buyer's best pair is the other buyer; only dy_zhou scores C002 above 0.9
    pairs = _pairs(
        [
            ("b:douyin:dy_zhao", "b:douyin:dy_zhou", 0.999),
            ("b:douyin:dy_zhou", "c:C002", 0.95),
        ]
    ).assign(match_weight=[10.0, 4.3])
    got = _link(_buyers(), pairs)
    assert got.loc["dy_zhao", "customer_id"] == got.loc["dy_zhou", "customer_id"] == "C002"
    assert set(got.loc[["dy_zhao", "dy_zhou"], "rule"]) == {"splink"}


def test_a_reviewers_decisions_override_the_model_on_the_next_run(tmp_path):
    pairs = _pairs(
        [
            ("b:douyin:dy_zhao", "b:jd:jd_li", 0.92),  # the model links dy_zhao to C001
            ("b:douyin:dy_zhou", "c:C002", 0.60),  # and leaves dy_zhou alone
        ]
    )
    first = _link(_buyers(), pairs)
    assert first.loc["dy_zhao", ["customer_id", "rule"]].tolist() == ["C001", "splink"]
    assert first.loc["dy_zhou", "rule"] == "unlinked"
    # run 1 writes the review file; the reviewer disagrees with both and saves it in the
    # dataset folder
    review = integ.review_pairs(pairs, threshold=0.9)
    assert set(review["model"]) == {"match", "non_match"} and (review["decision"] == "").all()
    review["decision"] = review["model"].map({"match": "non_match", "non_match": "Match"})
    review.to_csv(tmp_path / integ.REVIEW_FILE, index=False)
    # run 2 reads it back
    decisions = integ.read_review_decisions(tmp_path)
    assert sorted(decisions["decision"]) == ["match", "non_match"]
    second = _link(_buyers(), pairs, reviewed=decisions)
    assert second.loc["dy_zhao", "rule"] == "unlinked"
    assert second.loc["dy_zhao", "customer_id"] != "C001"
    assert second.loc["dy_zhou", ["customer_id", "rule"]].tolist() == ["C002", "reviewed"]
    assert second.attrs["review"] == {
        "matches": 1, "non_matches": 1, "unknown": 0, "non_matches_joined": 0
    }  # fmt: skip


def test_a_non_match_the_phone_rule_still_joins_is_counted():
    decisions = pd.DataFrame(
        {
            "node_l": ["b:jd:jd_li", "b:gone:x"],
            "node_r": ["c:C001", "c:C001"],
            "decision": ["non_match", "match"],
        }  # fmt: skip
    )
    got = _link(_buyers(), reviewed=decisions)
    assert got.loc["jd_li", "customer_id"] == "C001"  # shared phone: not split
    assert got.attrs["review"]["non_matches_joined"] == 1 and got.attrs["review"]["unknown"] == 1


def test_review_pairs_near_the_threshold_masked_with_levels():
    pairs = pd.DataFrame(
        {
            "node_l": ["b:a:1", "b:a:2", "b:a:3"],
            "node_r": ["c:C1", "c:C2", "c:C3"],
            "match_probability": [0.95, 0.999999, 0.2],
            "name_norm_l": ["wangwei", "x", "y"],
            "name_norm_r": ["wangwe", "x", "y"],
            "phone_norm_l": ["13800000001", "1", "2"],
            "phone_norm_r": ["13800000010", "1", "2"],
            "postcode_l": ["4727", "1", "2"],
            "postcode_r": ["4727", "1", "2"],
            "gamma_forename_surname": [4, 6, 0],
            "gamma_phone_norm": [1, 2, 0],
            "gamma_postcode": [2, 2, -1],
        }
    )
    out = integ.review_pairs(pairs, threshold=0.9, band=3.0)
    # 0.95 is 1.1 bits above 0.9's weight; 0.999999 (19.9 bits) and 0.2 (-2 bits) are not
    assert out["node_l"].tolist() == ["b:a:1"] and out["model"].tolist() == ["match"]
    row = out.iloc[0]
    assert (row["name_l"], row["phone_l"], row["postcode_l"]) == ("w***", "*********01", "4727")
    assert row["name_level"] == "both names nearly the same"
    assert row["phone_level"] == "one digit off" and row["postcode_level"] == "same"
    assert row["address_level"] == "not compared"
    assert integ.review_pairs(pairs.iloc[:0], 0.9).columns.tolist() == out.columns.tolist()


@pytest.mark.parametrize(
    ("text", "problem", "line", "column"),
    [
        ("node_l,node_r\nb:a:1,c:C1\n", "missing column 'decision'", 1, None),
        ("node_l,node_r,decision\nb:a:1,c:C1,match\nb:a:2,c:C2,maybe\n", "unknown decision", 3,
         "decision"),
        ("node_l,node_r,decision\nWang Wei,c:C1,match\n", "not a record id", 2, "node_l"),
    ],
)  # fmt: skip
def test_bad_review_files_name_line_and_column(tmp_path, text, problem, line, column):
    (tmp_path / integ.REVIEW_FILE).write_text(text)
    with pytest.raises(DatasetError) as err:
        integ.read_review_decisions(tmp_path)
    e = err.value
    assert (e.file, e.problem, e.line, e.column) == (integ.REVIEW_FILE, problem, line, column)
    assert "Wang" not in str(e)  # the row's text is not quoted


def test_review_decisions_absent_blank_and_repeated():
    assert integ.read_review_decisions("/nonexistent").empty


def test_review_decisions_last_word_counts(tmp_path):
    (tmp_path / integ.REVIEW_FILE).write_text(
        "node_l,node_r,decision,name_l\nc:C1,b:a:1,match,x\nb:a:1,c:C1,non-match,x\nb:a:2,c:C2,,y\n"
    )
    got = integ.read_review_decisions(tmp_path)
    assert got[["node_l", "node_r", "decision", "line"]].values.tolist() == [
        ["b:a:1", "c:C1", "non_match", 3]
    ]


def test_cluster_checks_flag_customers_with_two_emails_and_two_phones():
    links = pd.DataFrame(
        {
            "channel_id": ["a", "b", "a", "b"],
            "buyer_ref": ["1", "2", "3", "4"],
            "customer_id": ["K1", "K1", "K2", "K2"],
            "rule": ["splink", "phone_or_email", "splink", "splink"],
        }
    )
    buyers = links[["channel_id", "buyer_ref"]].assign(
        email_norm=["x@a.cn", "y@a.cn", "z@a.cn", "w@a.cn"],
        phone_norm=["111", "222", "333", "333"],  # K2 shares a phone: not flagged
    )
    crm = pd.DataFrame({"customer_id": ["K2"], "email": ["v@a.cn"], "phone": ["+86 444"]})
    out = integ.cluster_checks(links, buyers, crm)
    assert out["customer_id"].tolist() == ["K1"]
    assert out[["records", "emails", "phones"]].values.tolist() == [[2, 2, 2]]
    assert out["rules"].tolist() == ["phone_or_email,splink"]
