"""03's findings sentences: each claim flips when the numbers it describes do."""

import pandas as pd

from channelops.stages import integration as integ


def _pairs(probs, note="") -> pd.DataFrame:
    p = pd.DataFrame({"node_l": "a", "node_r": "b", "match_probability": probs}, dtype=object)
    p = p.astype({"match_probability": float})
    p.attrs["note"] = note
    return p


def test_scores_separate_sharply_only_when_few_pairs_are_near_the_threshold():
    sharp = integ.score_spread_finding(_pairs([1.0] * 19 + [0.8]), 0.9, 0.5, open_buyers=30)
    assert "separate sharply" in sharp and "do not" not in sharp
    assert "19 (95%) score above 0.986" in sharp and "1 (5%) lie within 3 bits" in sharp
    blurred = integ.score_spread_finding(_pairs([1.0] * 5 + [0.8] * 5), 0.9, 0.5, open_buyers=30)
    assert "do not separate sharply" in blurred and "5 (50%) lie within" in blurred


def test_empty_histogram_says_why():
    none_open = integ.score_spread_finding(_pairs([]), 0.9, 0.5, open_buyers=0)
    assert "empty" in none_open and "linked every buyer" in none_open
    none_near = integ.score_spread_finding(_pairs([]), 0.9, 0.5, open_buyers=12)
    assert "none of the 12 buyers" in none_near and "0.50 or more" in none_near
    skipped = integ.score_spread_finding(
        _pairs([], note="probabilistic matching skipped (ValueError: x)"), 0.9, 0.5, 12
    )
    assert "did not run" in skipped and "ValueError" in skipped
    assert "separate" not in none_near + none_open + skipped


def test_review_finding_nothing_to_review_or_the_pairs_near_the_threshold():
    empty = integ.review_finding(pd.DataFrame(columns=["match_probability"]), 0.9)
    assert "nothing for a reviewer" in empty and "0.53 to 0.986" in empty
    some = integ.review_finding(pd.DataFrame({"match_probability": [0.6, 0.92, 0.95]}), 0.9)
    assert some.startswith("3 pairs") and "0.600 to 0.950" in some
    assert "2 linked by the model and 1 not" in some


def _overlap(customers_by_n, revenue_by_n) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "n_channels": list(range(1, len(customers_by_n) + 1)),
            "customers": customers_by_n,
            "revenue_base": revenue_by_n,
        }
    )


def test_overlap_says_most_only_when_more_than_half_buy_on_several_channels():
    single = integ.overlap_finding(_overlap([100], [5000.0]))
    assert "All 100 customers buy on one channel only" in single
    assert "several" not in single
    few = integ.overlap_finding(_overlap([90, 10], [600.0, 400.0]))
    assert "10 of 100 customers (10.0%)" in few and "40.0% of the customers' revenue" in few
    assert "most customers buy on one channel" in few
    many = integ.overlap_finding(_overlap([30, 50, 20], [1.0, 1.0, 2.0]))
    assert "70 of 100" in many and "most customers buy on several channels" in many
    assert "No order line" in integ.overlap_finding(_overlap([], []))


def test_link_rate_finding_from_the_channels_without_crm_ids():
    rate = pd.DataFrame(
        {
            "channel_id": ["web", "jd", "tmall"],
            "buyers": [10, 100, 300],
            "linked_to_crm": [10, 20, 240],
            "link_rate": [1.0, 0.2, 0.8],
        }
    )
    s = integ.link_rate_finding(rate, ["web"], has_crm=True)
    assert s.startswith("65.0% of the buyers") and "20.0% on jd to 80.0% on tmall" in s
    assert "no buyer is linked" in integ.link_rate_finding(rate, ["web"], has_crm=False)
    only_crm = integ.link_rate_finding(rate.iloc[:1], ["web"], has_crm=True)
    assert "all are known" in only_crm


def test_integration_findings_counts_links_and_price_conflicts():
    links = pd.DataFrame(
        {
            "channel_id": ["web", "jd", "jd", "tmall"],
            "buyer_ref": ["1", "2", "3", "4"],
            "customer_id": ["C1", "C1", "X2", "X3"],
            "rule": ["crm_id", "splink", "unlinked", "phone_or_email"],
        }
    )
    rate = integ.crm_link_rate(links, pd.DataFrame({"customer_id": ["C1"]}))
    prices = pd.DataFrame({"sku": ["a", "b"], "conflict": [True, False]})
    review = pd.DataFrame(columns=["match_probability"])
    out = integ.integration_findings(
        links, _overlap([2, 1], [1.0, 1.0]), rate, prices, review, ["web"], True, 0.9, 0.1
    )
    assert out[0].startswith("4 channel buyers resolve to 3 customers")
    assert "linked 1 buyers" in out[0] and "1 buyers match no other record" in out[0]
    assert "1 of 2 SKUs" in out[3] and "more than 10%" in out[3]
    assert "nothing for a reviewer" in out[4]
    no_prices = integ.integration_findings(
        links, _overlap([3], [1.0]), rate, prices.iloc[:0], review, ["web"], True, 0.9, 0.1
    )
    assert "No SKU is sold on two or more channels" in no_prices[3]
