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


def customer_people(
    crm: pd.DataFrame | None, locations: pd.DataFrame | None
) -> pd.DataFrame | None:
    """Birth year and city tier of each CRM customer, the inputs of the band shares.

    Args:
        crm: customers.csv (customer_id; birth_year and city may be absent or NA), or None.
        locations: locations.csv (city, city_tier), or None.

    Returns:
        Indexed by customer_id: birth_year (Int64) and city_tier (float, NaN where the city
        or its tier is unknown); None without a CRM or when no customer has either.
    """
    if crm is None:
        return None
    people = pd.DataFrame(index=pd.Index(crm["customer_id"].astype(str), name="customer_id"))
    birth = crm["birth_year"] if "birth_year" in crm else pd.Series(pd.NA, index=crm.index)
    people["birth_year"] = pd.to_numeric(birth, errors="coerce").astype("Int64").to_numpy()
    tier = pd.Series(np.nan, index=crm.index)
    if locations is not None and "city" in crm and "city_tier" in locations:
        tiers = pd.to_numeric(locations.set_index("city")["city_tier"], errors="coerce")
        tier = pd.to_numeric(crm["city"].map(tiers), errors="coerce")
    people["city_tier"] = tier.to_numpy(float)
    if people["birth_year"].isna().all() and people["city_tier"].isna().all():
        return None  # nothing known about anyone: no band shares to give
    return people


def known_band_groups(shares: pd.DataFrame, channels: pd.DataFrame | None) -> list[str]:
    """The band groups (``age``, ``tier``) that both sides describe for every row.

    Args:
        shares: :func:`segment_band_shares` (one row per segment).
        channels: channels.csv rows (channel_id and audience share columns), or None.

    Returns:
        Group names whose bands are present in both, with shares summing to more than 0
        in every segment and every channel and no missing channel share.
    """
    if channels is None or shares.empty or channels.empty:
        return []
    out = []
    for name, bands in BAND_GROUPS.items():
        cols = list(bands)
        if not (set(cols) <= set(shares.columns) and set(cols) <= set(channels.columns)):
            continue
        seg = shares[cols].to_numpy(float)
        chan = channels[cols].to_numpy(float)
        if np.isnan(chan).any() or (seg.sum(axis=1) <= 0).any() or (chan.sum(axis=1) <= 0).any():
            continue
        out.append(name)
    return out


def audience_reach(
    people: pd.DataFrame, channels: pd.DataFrame | None, as_of_year: int
) -> pd.DataFrame | None:
    """Segment x channel reach over the band groups known on both sides, or None.

    Args:
        people: one row per customer with segment, birth_year, city_tier (NA allowed).
        channels: channels.csv (channel_id and audience share columns), or None.
        as_of_year: year used to turn birth_year into age.

    Returns:
        :func:`segment_channel_reach` on the groups of :func:`known_band_groups`; None
        when no group is known on both sides (no ages or tiers of customers, or no
        audience shares of channels), so reach cannot be scored.
    """
    if people.empty:  # no segmented customer
        return None
    shares = segment_band_shares(people, as_of_year)
    groups = known_band_groups(shares, channels)
    if not groups or channels is None:
        return None
    cols = [b for g in groups for b in BAND_GROUPS[g]]
    return segment_channel_reach(shares[["segment", *cols]], channels[["channel_id", *cols]])


def segment_people(segments: pd.Series, people: pd.DataFrame | None) -> pd.DataFrame:
    """Each segmented customer with their birth year and city tier, for the band shares.

    Args:
        segments: segment per customer (index customer_id).
        people: :func:`customer_people` (None without a CRM: every value NA).

    Returns:
        One row per customer of ``segments``: segment, birth_year, city_tier (NA where
        unknown), index reset.
    """
    out = segments.rename("segment").to_frame()
    if people is None:
        out["birth_year"] = pd.array([pd.NA] * len(out), dtype="Int64")
        out["city_tier"] = np.nan
    else:
        idx = out.index.astype(str)
        out["birth_year"] = people["birth_year"].reindex(idx).to_numpy()
        out["city_tier"] = people["city_tier"].reindex(idx).to_numpy(float)
    return out.reset_index(drop=True)
