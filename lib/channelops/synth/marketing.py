"""Weekly marketing spend and the true saturating, carried-over response per channel.

Response of channel c in week t (revenue in CNY, gross of cancellations and returns):

    adstock_t = spend_t + adstock_decay * adstock_{t-1},   adstock_{-1} = 0
    R_t       = revenue_max * adstock_t**hill_slope
                / (hill_half_saturation**hill_slope + adstock_t**hill_slope)

E[weekly channel revenue_t] = organic_t + R_t, where organic_t is the revenue of the
customers' own (BG/NBD) purchases on the channel; its mean over the history is
`base_weekly_revenue`. Weeks start on Monday (week 0 = the start date).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .presets import ChannelPreset


def adstock(spend: np.ndarray, decay: float) -> np.ndarray:
    """Geometric adstock of a weekly spend series (starts from zero carry-over)."""
    out = np.empty(len(spend))
    carry = 0.0
    for t, s in enumerate(spend):  # weeks, not rows: ~100 iterations
        carry = s + decay * carry
        out[t] = carry
    return out


def hill(x: np.ndarray, half: float, slope: float, top: float) -> np.ndarray:
    """Hill saturation top * x^slope / (half^slope + x^slope)."""
    xs = np.power(np.maximum(x, 0.0), slope)
    return top * xs / (half**slope + xs)


def build_spend(
    channels: list[ChannelPreset], weeks: int, scale: float, rng: np.random.Generator
) -> tuple[pd.DataFrame, dict[str, dict]]:
    """Weekly spend per active channel with flighting, and partly drawn curve shapes.

    Args:
        scale: business size relative to the demo (customers / 10,000).
    Returns:
        spend frame (week index, channel_id, spend, impressions, clicks) and per channel the
        drawn shape {adstock_decay, hill_half_saturation, hill_slope, typical_spend}.
    """
    rows, shapes = [], {}
    for ch in channels:
        typical = ch.spend * scale
        level = typical * np.exp(rng.normal(-0.15, 0.55, weeks))
        u = rng.random(weeks)
        level = np.where(u < 0.15, level * 0.03, np.where(u > 0.87, level * 2.2, level))
        spend = np.round(level, 2)
        a_typ = typical / (1 - ch.adstock)
        half = a_typ * rng.uniform(0.8, 1.3)
        cpm = rng.uniform(20, 60)
        imps = np.floor(spend / cpm * 1000 * np.exp(rng.normal(0, 0.1, weeks))).astype(np.int64)
        clicks = rng.binomial(imps, rng.uniform(0.008, 0.03))
        rows.append(
            pd.DataFrame(
                {
                    "week": np.arange(weeks),
                    "channel_id": ch.id,
                    "spend": spend,
                    "impressions": imps,
                    "clicks": clicks,
                }
            )
        )
        shapes[ch.id] = {
            "adstock_decay": ch.adstock,
            "hill_half_saturation": float(half),
            "hill_slope": ch.slope,
            "typical_spend": float(typical),
        }
    return pd.concat(rows, ignore_index=True), shapes


def calibrate(
    shapes: dict[str, dict], channels: list[ChannelPreset], organic_weekly: dict[str, float]
) -> pd.DataFrame:
    """Set revenue_max so marketing revenue at typical spend = mkt_ratio x organic revenue.

    Returns:
        the truth table: channel_id, adstock_decay, hill_half_saturation, hill_slope,
        revenue_max, base_weekly_revenue (a first estimate, replaced by the realised mean),
        typical_spend.
    """
    out = []
    for ch in channels:
        s = shapes[ch.id]
        a_typ = s["typical_spend"] / (1 - s["adstock_decay"])
        frac = hill(np.array([a_typ]), s["hill_half_saturation"], s["hill_slope"], 1.0)[0]
        base = max(organic_weekly.get(ch.id, 0.0), 1.0)
        out.append(
            {
                "channel_id": ch.id,
                "adstock_decay": s["adstock_decay"],
                "hill_half_saturation": round(s["hill_half_saturation"], 2),
                "hill_slope": s["hill_slope"],
                "revenue_max": round(ch.mkt_ratio * base / frac, 2),
                "base_weekly_revenue": round(base, 2),
                "typical_spend": round(s["typical_spend"], 2),
            }
        )
    return pd.DataFrame(out)


def expected_response(curves: pd.DataFrame, spend: pd.DataFrame, weeks: int) -> np.ndarray:
    """(channels, weeks) expected marketing revenue R_t in curves' channel order."""
    out = np.zeros((len(curves), weeks))
    for c, r in enumerate(curves.itertuples()):
        s = spend.loc[spend["channel_id"] == r.channel_id].sort_values("week")["spend"]
        out[c] = hill(
            adstock(s.to_numpy(), r.adstock_decay),
            r.hill_half_saturation,
            r.hill_slope,
            r.revenue_max,
        )
    return out
