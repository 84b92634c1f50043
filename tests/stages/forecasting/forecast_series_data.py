"""Hand-made daily series shared by the forecasting reuse and threads tests (not a test
module: imported by them from this folder)."""

from __future__ import annotations

import numpy as np
import pandas as pd

START = pd.Timestamp("2023-01-02")


def history(n: int = 12, days: int = 200, seed: int = 4) -> np.ndarray:
    """Poisson counts, late starts (NaN before), one series without sales lately."""
    rng = np.random.default_rng(seed)
    y = rng.poisson(np.linspace(0.5, 6, n)[:, None] * np.ones(days)).astype(float)
    start = rng.integers(0, days // 2, n)
    y[np.arange(days)[None, :] < start[:, None]] = np.nan
    y[0, -120:] = 0.0  # level 0 over the last 91 days: forecast 0, no training rows
    return y


def series_frame(y: np.ndarray) -> pd.DataFrame:
    """The daily series of ``y`` (series x days, NaN before a series starts) as 04's long
    frame: odd series on "shop", even on "web", days from START."""
    dates = pd.date_range(START, periods=y.shape[1], freq="D")
    r, c = np.nonzero(~np.isnan(y))
    return pd.DataFrame(
        {
            "channel_id": np.where(r % 2, "shop", "web"),
            "sku": np.array([f"S{i}" for i in range(len(y))])[r],
            "date": dates[c],
            "units": y[r, c],
        }
    )
