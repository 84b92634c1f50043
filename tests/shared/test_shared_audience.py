"""channelops.audience: segment x channel reach (Bhattacharyya match of audience shares)."""

import numpy as np
import pandas as pd
import pytest

from channelops.audience import (
    AGE_BANDS,
    TIER_BANDS,
    audience_reach,
    customer_people,
    segment_band_shares,
    segment_channel_reach,
    segment_people,
)


def _ages(*rows):
    return {band: [r[i] for r in rows] for i, band in enumerate(AGE_BANDS)}


def test_reach_is_one_for_the_same_audience_zero_for_none_shared_by_hand():
    channels = pd.DataFrame(
        {
            "channel_id": ["young", "older", "mixed"],
            **_ages((1, 0, 0, 0), (0, 1, 0, 0), (1, 1, 0, 0)),
        }
    )
    segments = pd.DataFrame({"segment": ["s"], **_ages((1, 0, 0, 0))})
    r = segment_channel_reach(segments, channels)
    assert r.index.name == "segment" and r.columns.name == "channel_id"
    # "mixed" has shares 1, 1 renormalised to 0.5, 0.5: sqrt(1 * 0.5)
    np.testing.assert_allclose(r.loc["s"].to_numpy(), [1.0, 0.0, np.sqrt(0.5)])


def test_reach_multiplies_the_age_and_tier_matches():
    tiers = {"tier_1": [0.25], "tier_2": [0.75], "tier_3": [0.0]}
    channels = pd.DataFrame({"channel_id": ["c"], **_ages((0.5, 0.5, 0, 0)), **tiers})
    # the segment as the index, not a column
    segments = pd.DataFrame(
        {**_ages((1, 0, 0, 0)), "tier_1": [1.0], "tier_2": [0.0], "tier_3": [0.0]},
        index=pd.Index(["s"]),
    )
    r = segment_channel_reach(segments, channels)
    # age: sqrt(1 * 0.5); tier: sqrt(1 * 0.25)
    assert r.loc["s", "c"] == pytest.approx(np.sqrt(0.5) * 0.5)


def test_reach_refuses_inputs_it_cannot_compare():
    segments = pd.DataFrame({"segment": ["s"], **_ages((1, 0, 0, 0))})
    channels = pd.DataFrame({"channel_id": ["c"], **_ages((1, 0, 0, 0))})
    with pytest.raises(ValueError, match="share no complete band group"):
        segment_channel_reach(segments, channels.drop(columns="age_45_plus"))
    with pytest.raises(ValueError, match="missing column 'channel_id'"):
        segment_channel_reach(segments, channels.drop(columns="channel_id"))
    with pytest.raises(ValueError, match="channels has missing or negative shares"):
        segment_channel_reach(segments, channels.assign(age_18_24=-1.0))
    with pytest.raises(ValueError, match="segment_profiles has a row whose .* shares sum to 0"):
        segment_channel_reach(segments.assign(age_18_24=0.0), channels)


def test_segment_band_shares_by_hand():
    customers = pd.DataFrame(
        {
            "segment": ["a", "a", "b", "b"],
            "birth_year": [2000, 1970, 1990, None],  # ages 24, 54, 34, unknown
            "city_tier": [1, 2, 3, 1],
        }
    )
    out = segment_band_shares(customers, as_of_year=2024).set_index("segment")
    assert out.columns.tolist() == ["n_customers", *AGE_BANDS, *TIER_BANDS]
    assert out.loc["a", ["age_18_24", "age_25_34", "age_35_44", "age_45_plus"]].tolist() == [
        0.5,
        0.0,
        0.0,
        0.5,
    ]
    # b's unknown birth year counts only for the tier shares
    assert out.loc["b", "age_25_34"] == 1.0
    assert out.loc["b", ["tier_1", "tier_2", "tier_3"]].tolist() == [0.5, 0.0, 0.5]
    assert out["n_customers"].tolist() == [2, 2]


def test_segment_band_shares_needs_its_columns():
    with pytest.raises(ValueError, match="customers is missing column 'city_tier'"):
        segment_band_shares(pd.DataFrame({"segment": ["a"], "birth_year": [1990]}), 2024)


def test_customer_people_types_births_and_tiers_and_is_none_when_nothing_is_known():
    crm = pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3"],
            "birth_year": [1990, None, 1970],
            "city": ["A", "B", None],
        }
    )
    locations = pd.DataFrame({"city": ["A", "B"], "city_tier": [1, 3]})
    people = customer_people(crm, locations)
    assert people["birth_year"].tolist()[0] == 1990 and pd.isna(people.loc["c2", "birth_year"])
    assert people["city_tier"].tolist()[:2] == [1.0, 3.0] and np.isnan(
        people.loc["c3", "city_tier"]
    )
    assert customer_people(None, locations) is None
    assert customer_people(pd.DataFrame({"customer_id": ["c1"]}), None) is None
    no_tier = customer_people(crm, None)
    assert no_tier["city_tier"].isna().all() and no_tier["birth_year"].notna().sum() == 2


def test_audience_reach_uses_only_the_groups_known_on_both_sides():
    # two segments whose tiers are known (ages are not); channels with tier and age shares
    people = pd.DataFrame(
        {"segment": ["s1", "s1", "s2"], "birth_year": [pd.NA] * 3, "city_tier": [1.0, 1.0, 3.0]}
    )
    channels = pd.DataFrame(
        {
            "channel_id": ["x", "y"],
            **dict.fromkeys(AGE_BANDS, 0.25),
            "tier_1": [1.0, 0.0],
            "tier_2": [0.0, 0.0],
            "tier_3": [0.0, 1.0],
        }
    )
    reach = audience_reach(people, channels, 2024)
    # by hand: the tier match alone (s1 is all tier 1, s2 all tier 3); ages ignored
    assert reach.loc["s1"].tolist() == [1.0, 0.0] and reach.loc["s2"].tolist() == [0.0, 1.0]
    assert audience_reach(people, None, 2024) is None
    assert audience_reach(people, channels.drop(columns=list(TIER_BANDS)), 2024) is None
    gap = channels.assign(tier_2=[0.0, np.nan])  # a channel share missing: group unusable
    assert audience_reach(people, gap, 2024) is None


def test_segment_people_aligns_people_on_the_segmented_customers():
    segments = pd.Series(["s1", "s2"], index=pd.Index(["c1", "c9"], name="customer_id"))
    people = pd.DataFrame(
        {"birth_year": pd.array([1980], dtype="Int64"), "city_tier": [2.0]},
        index=pd.Index(["c1"], name="customer_id"),
    )
    out = segment_people(segments, people)
    assert out["segment"].tolist() == ["s1", "s2"] and out["city_tier"].tolist()[0] == 2.0
    assert pd.isna(out.loc[1, "birth_year"])  # c9 is not in the CRM
    blank = segment_people(segments, None)
    assert blank["birth_year"].isna().all() and blank["city_tier"].isna().all()
