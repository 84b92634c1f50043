"""channelops.audience: segment x channel reach (Bhattacharyya match of audience shares)."""

import numpy as np
import pandas as pd
import pytest

from channelops.audience import AGE_BANDS, TIER_BANDS, segment_band_shares, segment_channel_reach


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
