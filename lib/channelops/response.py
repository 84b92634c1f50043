"""The response-curve formula shared by 02 (which fits it) and 06 (which reads the fitted
parameters from 02's ``response_curves`` table): geometric adstock and a Hill saturation.

``revenue = base + revenue_max * hill(adstock(spend))``, money in base currency per week.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.signal import lfilter

__all__ = ["adstock", "hill", "steady_state_revenue"]


def adstock(spend: np.ndarray | pd.Series, decay: float, initial: float = 0.0) -> np.ndarray:
    """Geometric adstock ``a_t = s_t + decay * a_{t-1}``.

    Args:
        spend: weekly spend, base currency per week, in time order.
        decay: carry-over share per week, 0 <= decay < 1.
        initial: adstock carried into the first week (``a_{-1}``); 0 means no earlier spend.

    Returns:
        Adstocked spend, same length and units as ``spend``.
    """
    if not 0.0 <= decay < 1.0:
        raise ValueError(f"decay must be in [0, 1), got {decay}")
    s = np.asarray(spend, dtype=float)
    if s.size == 0:
        return s.copy()
    out, _ = lfilter([1.0], [1.0, -decay], s, zi=[decay * float(initial)])
    return out


def hill(x: np.ndarray | float, half_saturation: float, slope: float) -> np.ndarray:
    """Hill saturation ``x^n / (x^n + K^n)``, 0 at x = 0, 0.5 at x = K, tending to 1.

    Args:
        x: non-negative input (adstocked spend), any shape.
        half_saturation: K > 0, in the units of ``x``.
        slope: n > 0; n <= 1 gives a concave curve, n > 1 an S-curve.

    Returns:
        Array of the same shape as ``x`` with values in [0, 1).
    """
    xs = np.maximum(np.asarray(x, dtype=float), 0.0)
    ratio = np.power(xs / half_saturation, slope)
    return ratio / (1.0 + ratio)


def steady_state_revenue(spend: np.ndarray | float, params: np.ndarray) -> np.ndarray:
    """Steady-state weekly revenue for constant weekly spend.

    Args:
        spend: weekly spend (base currency), any shape.
        params: ``(base, revenue_max, decay, half_saturation, slope)`` as a 1-D array, or a
            2-D array of such rows (e.g. bootstrap draws) giving one row of results per draw.

    Returns:
        Revenue per week, shape ``spend.shape`` (1-D params) or ``(n_draws,) + spend.shape``.
    """
    p = np.asarray(params, dtype=float)
    s = np.asarray(spend, dtype=float)
    if p.ndim == 1:
        base, rmax, decay, half, slope = p
        return base + rmax * hill(s / (1.0 - decay), half, slope)
    shape = (-1,) + (1,) * s.ndim
    base, rmax, decay, half, slope = (p[:, i].reshape(shape) for i in range(5))
    x = np.maximum(s / (1.0 - decay), 0.0)
    ratio = np.power(x / half, slope)
    return base + rmax * ratio / (1.0 + ratio)
