"""Segment-by-channel reach from audience shares.

A channel's audience and a segment's customers are each described by shares over the same
bands: age (``age_18_24``, ``age_25_34``, ``age_35_44``, ``age_45_plus``) and city tier
(``tier_1``, ``tier_2``, ``tier_3``). The reach of segment s through channel c is the
Bhattacharyya coefficient of the two distributions over the joint (age x tier) bands,
taking age and tier independent within a channel and within a segment:

    reach[s, c] = BC_age(s, c) * BC_tier(s, c),   BC(p, q) = sum_b sqrt(p_b * q_b)

It is 1 when the channel's audience looks exactly like the segment and 0 when they share no
band: how well the channel's audience matches the segment, not how many of the segment's
customers it reaches. The plan's reach objective (stage 02's plan) multiplies it by the
channel's audience size (its share of customers) and by the share of that audience the
channel's spend reaches, which gives the expected share of the segment reached per week.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

AGE_BANDS = ("age_18_24", "age_25_34", "age_35_44", "age_45_plus")
TIER_BANDS = ("tier_1", "tier_2", "tier_3")
BAND_GROUPS = {"age": AGE_BANDS, "tier": TIER_BANDS}


def _shares(df: pd.DataFrame, bands: tuple[str, ...], name: str) -> np.ndarray:
    """Band shares as an array, each row renormalised to sum to 1."""
    values = df[list(bands)].to_numpy(float)
    if np.isnan(values).any() or (values < 0).any():
        raise ValueError(f"{name} has missing or negative shares in {list(bands)}")
    totals = values.sum(axis=1, keepdims=True)
    if (totals <= 0).any():
        raise ValueError(f"{name} has a row whose {list(bands)} shares sum to 0")
    return values / totals


def segment_channel_reach(segment_profiles: pd.DataFrame, channels: pd.DataFrame) -> pd.DataFrame:
    """Probability of reaching a customer of each segment through each channel.

    Args:
        segment_profiles: one row per segment, column ``segment`` (or the index) and band
            shares (fractions of the segment's customers) for the age and/or tier bands.
        channels: channels.csv rows: channel_id and the same audience share columns.

    Returns:
        Matrix with index ``segment`` and one column per channel_id, values in [0, 1]: the
        product over band groups present in both inputs of the Bhattacharyya coefficient.
    """
    seg = (
        segment_profiles
        if "segment" in segment_profiles.columns
        else segment_profiles.rename_axis("segment").reset_index()
    )
    if "channel_id" not in channels.columns:
        raise ValueError("channels is missing column 'channel_id'")
    groups = [
        bands
        for bands in BAND_GROUPS.values()
        if set(bands) <= set(seg.columns) and set(bands) <= set(channels.columns)
    ]
    if not groups:
        raise ValueError(
            "segment_profiles and channels share no complete band group; need "
            f"{list(AGE_BANDS)} and/or {list(TIER_BANDS)} in both"
        )
    reach = np.ones((len(seg), len(channels)))
    for bands in groups:
        p = _shares(seg, bands, "segment_profiles")
        q = _shares(channels, bands, "channels")
        reach *= np.sqrt(p) @ np.sqrt(q).T
    out = pd.DataFrame(
        np.clip(reach, 0.0, 1.0),
        index=seg["segment"].astype(str),
        columns=channels["channel_id"].astype(str),
    )
    out.index.name = "segment"
    out.columns.name = "channel_id"
    return out


def segment_band_shares(customers: pd.DataFrame, as_of_year: int) -> pd.DataFrame:
    """Age-band and city-tier shares per segment, in the layout :func:`segment_channel_reach` reads.

    Args:
        customers: one row per customer with segment, birth_year and city_tier (1, 2 or 3);
            rows with a missing birth_year or city_tier count only in the other group.
        as_of_year: year used to turn birth_year into age.

    Returns:
        One row per segment: segment, n_customers, the four age-band shares and the three
        tier shares (each group sums to 1 over customers with a known value).
    """
    for col in ("segment", "birth_year", "city_tier"):
        if col not in customers.columns:
            raise ValueError(f"customers is missing column {col!r}")
    age = as_of_year - pd.to_numeric(customers["birth_year"], errors="coerce")
    age_band = pd.cut(age, bins=[-np.inf, 24, 34, 44, np.inf], labels=list(AGE_BANDS))
    tier = pd.to_numeric(customers["city_tier"], errors="coerce")
    tier_band = tier.map({1: "tier_1", 2: "tier_2", 3: "tier_3"})
    seg = customers["segment"].astype(str)
    ages = pd.crosstab(seg, age_band, normalize="index").reindex(
        columns=list(AGE_BANDS), fill_value=0.0
    )
    tiers = pd.crosstab(seg, tier_band, normalize="index").reindex(
        columns=list(TIER_BANDS), fill_value=0.0
    )
    counts = seg.value_counts().rename("n_customers")
    out = pd.concat([counts, ages, tiers], axis=1).fillna(0.0)
    out.index.name = "segment"
    return out.reset_index()
