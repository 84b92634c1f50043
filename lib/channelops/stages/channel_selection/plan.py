"""The channel plan: constraints, the plan model, NSGA-II, recommendation, sensitivity.

A plan says, for every candidate channel, whether it runs and its weekly marketing spend
(base currency per week, steady state). For a plan with selection z and spend s:

    profit = sum_c z_c * (m * (1 - commission_c) * revenue_c(s_c) - s_c - fixed_c)
    reach  = sum_g v_g * (1 - prod_c (1 - z_c * reach[g, c] * audience_c * paid_c(s_c)))
             / sum_g v_g
    risk   = sqrt(sum_c z_c * (m * (1 - commission_c) * sd_c(s_c))^2)

revenue_c is the steady-state response curve (base revenue included: a channel that runs
sells something even without paid spend; a channel that does not run sells nothing and
costs nothing); m is the gross margin share (1.0 = revenue less commission only); fixed_c
is fixed_cost_per_month * 12 / 52 (taken in base currency); sd_c(s) is the standard
deviation of revenue_c(s) over the curve's bootstrap (or prior) draws, channels taken
independent. profit and reach are maximised, risk minimised. All three are weekly figures.

Reach is the expected share of target-segment customers that the plan's paid marketing
reaches in a week (value-weighted over target segments, in [0, 1]). Channel c can reach at
most its audience: audience_c is the channel's share of the business's customers, proxied
by its revenue at saturation, (base_c + revenue_max_c) / sum over candidates of the same;
reach[g, c] (from :func:`segment_channel_reach`) is how well that audience matches segment
g; paid_c(s) = hill(s / (1 - decay_c)) is the share of the audience the spend reaches at
steady state (0 at no spend, 1/2 at half saturation). Channels are taken independent. An
earlier version used revenue_c(s) / (base_c + revenue_max_c) without audience_c: organic
revenue alone put every running channel near full exposure, so any plan with two channels
scored a reach of about 1 and reach did not tell plans apart.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.core.mutation import Mutation
from pymoo.core.problem import Problem
from pymoo.core.repair import Repair
from pymoo.decomposition.asf import ASF
from pymoo.operators.mutation.pm import PM
from pymoo.optimize import minimize
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from .curves import ResponseCurve, as_curve_map

with warnings.catch_warnings():
    # pymoo's decision-making module imports a deprecated scipy path
    warnings.simplefilter("ignore")
    from pymoo.mcdm.high_tradeoff import HighTradeoffPoints

OBJECTIVES = ("profit", "reach", "risk")
SENSE = {"profit": -1.0, "reach": -1.0, "risk": 1.0}  # multiply to get a minimisation
WEEKS_PER_MONTH = 52.0 / 12.0
_TOL = 1e-6


class ChannelPlanError(ValueError):
    """Bad plan parameters, raised before any optimisation runs."""


@dataclass(frozen=True)
class PlanConstraints:
    """Constraints on a weekly channel plan (money in base currency per week).

    Attributes:
        total_budget: maximum total weekly marketing spend over running channels (fixed
            costs are not part of it; they are charged in profit).
        min_channels, max_channels: how many channels run (None = no upper limit).
        min_budget, max_budget: per-channel spend bounds that apply when the channel runs;
            channels not listed use default_min_budget / default_max_budget.
        default_min_budget: spend floor of a running channel (default 0).
        default_max_budget: spend cap of a running channel (None = total_budget).
        force_in: channels that must run.
        force_out: channels that must not run.
        fixed_budget: channels that run at exactly this spend (implies force_in).
        max_spend_multiple: a fitted channel's spend is capped at this multiple of its
            largest observed weekly spend, because a curve fitted on a narrow spend range
            extrapolates badly (None = no cap). It does not apply to prior curves or to
            fixed budgets.
    """

    total_budget: float
    min_channels: int = 1
    max_channels: int | None = None
    min_budget: Mapping[str, float] = field(default_factory=dict)
    max_budget: Mapping[str, float] = field(default_factory=dict)
    default_min_budget: float = 0.0
    default_max_budget: float | None = None
    force_in: Sequence[str] = ()
    force_out: Sequence[str] = ()
    fixed_budget: Mapping[str, float] = field(default_factory=dict)
    max_spend_multiple: float | None = 2.0

    def scaled(self, factor: float) -> PlanConstraints:
        """The same constraints with total_budget multiplied by ``factor``."""
        return replace(self, total_budget=self.total_budget * factor)


def _bounds(
    constraints: PlanConstraints, ids: list[str], curves: Mapping[str, ResponseCurve] | None = None
) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """Per-channel spend bounds and the extrapolation caps that lowered a maximum."""
    cap = (
        constraints.total_budget
        if constraints.default_max_budget is None
        else constraints.default_max_budget
    )
    lo = np.array(
        [float(constraints.min_budget.get(c, constraints.default_min_budget)) for c in ids]
    )
    hi = np.array([float(constraints.max_budget.get(c, cap)) for c in ids])
    capped: dict[str, float] = {}
    k = constraints.max_spend_multiple
    for i, c in enumerate(ids):
        curve = (curves or {}).get(c)
        if k is None or curve is None or c in constraints.fixed_budget:
            continue
        observed = curve.diagnostics.get("spend_max", np.nan)
        if curve.source == "fitted" and np.isfinite(observed) and k * observed < hi[i]:
            hi[i] = k * observed
            capped[c] = observed
    return lo, hi, capped


def _names(values: Sequence[str] | Mapping[str, Any]) -> list[str]:
    if isinstance(values, str):
        return [values]
    return [str(v) for v in values]


def validate_constraints(
    constraints: PlanConstraints,
    channels: pd.DataFrame,
    curves: pd.DataFrame | Mapping[str, ResponseCurve] | None = None,
    reach: pd.DataFrame | None = None,
    target_segments: Mapping[str, float] | None = None,
) -> None:
    """Check plan parameters and stop with a clear message before optimising.

    The checks run in this order, one family at a time, and the first failure stops:
    the total budget; the channel names; per-channel budget values; forced in against
    forced out; spend bounds and fixed budgets; channel counts; the least spend a plan
    needs against the total budget; the response curves; the reach objective.

    Args:
        constraints: the plan constraints.
        channels: channels.csv (channel_id, ...); its channel_ids are the candidates.
        curves: response curves; every channel not forced out needs one.
        reach: segment x channel matrix from :func:`segment_channel_reach`.
        target_segments: ``{segment: value}`` weights for the reach objective.

    Raises:
        ChannelPlanError: with a message naming the offending parameter and values.
    """
    ids = channels["channel_id"].astype(str).tolist()
    c = constraints
    _check_total_budget(c)
    _check_channel_names(c, ids)
    _check_budget_values(c)
    _check_forced_channels(c)
    cmap = as_curve_map(curves) if curves is not None else None
    lo = _check_spend_bounds(c, ids, cmap)
    forced = sorted(set(_names(c.force_in)) | set(_names(c.fixed_budget)))
    available = [ch for ch in ids if ch not in set(_names(c.force_out))]
    _check_channel_counts(c, forced, available)
    _check_budget_covers_minimums(c, ids, lo, forced, available)
    if cmap is not None:
        _check_curves(cmap, available)
    if target_segments:
        _check_targets(target_segments, reach, available)


def _check_total_budget(c: PlanConstraints) -> None:
    """total_budget is a positive, finite number (base currency per week)."""
    if not (np.isfinite(c.total_budget) and c.total_budget > 0):
        raise ChannelPlanError(f"total_budget must be a positive number, got {c.total_budget}")


def _check_channel_names(c: PlanConstraints, ids: list[str]) -> None:
    """Every channel a constraint names is a candidate."""
    known = set(ids)
    for name in ("force_in", "force_out", "fixed_budget", "min_budget", "max_budget"):
        unknown = sorted(set(_names(getattr(c, name))) - known)
        if unknown:
            raise ChannelPlanError(
                f"unknown channel(s) in {name}: {unknown}; known channels: {sorted(known)}"
            )


def _check_budget_values(c: PlanConstraints) -> None:
    """Per-channel budgets (fixed, minimum, maximum) are finite numbers >= 0."""
    for name in ("fixed_budget", "min_budget", "max_budget"):
        for ch, v in getattr(c, name).items():
            if not (np.isfinite(v) and v >= 0):
                raise ChannelPlanError(f"{name}[{ch!r}] must be a number >= 0, got {v}")


def _check_forced_channels(c: PlanConstraints) -> None:
    """No channel is both forced in (or given a fixed budget) and forced out."""
    both = sorted(set(_names(c.force_in)) & set(_names(c.force_out)))
    if both:
        raise ChannelPlanError(f"channel(s) {both} are both in force_in and force_out")
    both = sorted(set(_names(c.fixed_budget)) & set(_names(c.force_out)))
    if both:
        raise ChannelPlanError(f"channel(s) {both} have a fixed_budget but are in force_out")


def _check_spend_bounds(
    c: PlanConstraints, ids: list[str], cmap: Mapping[str, ResponseCurve] | None
) -> np.ndarray:
    """Each channel's minimum spend is at most its maximum (extrapolation cap included),
    and each fixed budget lies between them; returns the minimum spends (in ``ids`` order)."""
    lo, hi, capped = _bounds(c, ids, cmap)
    for ch, a, b in zip(ids, lo, hi, strict=True):
        if a > b:
            why = (
                f" ({c.max_spend_multiple:g} x the largest observed weekly spend "
                f"{capped[ch]:g}; raise max_spend_multiple to allow more)"
                if ch in capped
                else ""
            )
            raise ChannelPlanError(f"channel {ch!r}: min_budget {a:g} > max_budget {b:g}{why}")
    for ch, f in c.fixed_budget.items():
        a, b = lo[ids.index(ch)], hi[ids.index(ch)]
        if not a <= f <= b:
            raise ChannelPlanError(
                f"channel {ch!r}: fixed_budget {f:g} is outside "
                f"[min_budget {a:g}, max_budget {b:g}]"
            )
    return lo


def _check_channel_counts(c: PlanConstraints, forced: list[str], available: list[str]) -> None:
    """min_channels and max_channels are >= 0, ordered, and leave room for the available
    (not forced-out) and the forced-in channels."""
    if c.min_channels < 0 or (c.max_channels is not None and c.max_channels < 0):
        raise ChannelPlanError(
            f"min_channels ({c.min_channels}) and max_channels ({c.max_channels}) must be >= 0"
        )
    if c.max_channels is not None and c.min_channels > c.max_channels:
        raise ChannelPlanError(f"min_channels ({c.min_channels}) > max_channels ({c.max_channels})")
    if c.min_channels > len(available):
        raise ChannelPlanError(
            f"min_channels ({c.min_channels}) > available channels "
            f"({len(available)} not in force_out)"
        )
    if c.max_channels is not None and len(forced) > c.max_channels:
        raise ChannelPlanError(
            f"forced-in channels ({len(forced)}: {forced}) exceed max_channels ({c.max_channels})"
        )


def _check_budget_covers_minimums(
    c: PlanConstraints, ids: list[str], lo: np.ndarray, forced: list[str], available: list[str]
) -> None:
    """total_budget pays at least the fixed budgets, the forced-in minimums and the cheapest
    minimums that make up min_channels (see :func:`_minimum_spend`)."""
    need, detail = _minimum_spend(c, ids, lo, forced, available)
    if c.total_budget < need - _TOL:
        raise ChannelPlanError(
            f"total_budget {c.total_budget:g} is below the sum of forced "
            f"minimum and fixed budgets {need:g} ({detail})"
        )


def _check_curves(cmap: Mapping[str, ResponseCurve], available: list[str]) -> None:
    """Every channel that may run has a response curve."""
    missing = [ch for ch in available if ch not in cmap]
    if missing:
        raise ChannelPlanError(
            f"no response curve for channel(s) {missing}; add priors "
            "to channels.csv or put them in force_out"
        )


def _check_targets(
    target_segments: Mapping[str, float], reach: pd.DataFrame | None, available: list[str]
) -> None:
    """The reach objective can be computed: a reach matrix with every target segment as a
    row and every available channel as a column, and weights >= 0 with a positive sum."""
    if reach is None:
        raise ChannelPlanError("target_segments given but no reach matrix")
    unknown = sorted(set(map(str, target_segments)) - set(reach.index.astype(str)))
    if unknown:
        raise ChannelPlanError(
            f"unknown target segment(s) {unknown}; reach has "
            f"segments {sorted(reach.index.astype(str))}"
        )
    missing = [ch for ch in available if ch not in set(reach.columns.astype(str))]
    if missing:
        raise ChannelPlanError(f"reach has no column for channel(s) {missing}")
    values = np.array(list(target_segments.values()), dtype=float)
    if (values < 0).any() or values.sum() <= 0:
        raise ChannelPlanError("target segment values must be >= 0 with a positive sum")


def _minimum_spend(
    c: PlanConstraints, ids: list[str], lo: np.ndarray, forced: list[str], available: list[str]
) -> tuple[float, str]:
    """Least spend any feasible plan needs, and a description of where it comes from."""
    fixed = {ch: float(v) for ch, v in c.fixed_budget.items()}
    forced_min = {ch: float(lo[ids.index(ch)]) for ch in forced if ch not in fixed}
    extra_n = max(0, c.min_channels - len(forced))
    others = sorted((float(lo[ids.index(ch)]), ch) for ch in available if ch not in forced)
    extra = {ch: v for v, ch in others[:extra_n]}
    parts = []
    for label, d in (
        ("fixed", fixed),
        ("forced-in minimums", forced_min),
        (f"cheapest minimums to reach min_channels={c.min_channels}", extra),
    ):
        if d:
            parts.append(f"{label}: " + ", ".join(f"{k}={v:g}" for k, v in d.items()))
    total = sum(fixed.values()) + sum(forced_min.values()) + sum(extra.values())
    return total, "; ".join(parts) or "nothing forced"


@dataclass
class PlanModel:
    """A validated plan instance as arrays, one entry per candidate channel.

    Built by :func:`build_plan_model`; every objective and check of the plan goes through
    it, so NSGA-II, the exact reference and the tables agree.
    """

    channel_ids: list[str]
    params: np.ndarray  # (n, 5) point curves
    net_share: np.ndarray  # m * (1 - commission)
    fixed_cost: np.ndarray  # per week
    lo: np.ndarray
    hi: np.ndarray
    fixed: np.ndarray  # NaN where not fixed
    force_in: np.ndarray  # bool, includes fixed
    force_out: np.ndarray  # bool
    total_budget: float
    min_channels: int
    max_channels: int
    reach: np.ndarray  # (n_targets, n)
    audience: np.ndarray  # (n,) channel's share of customers, sums to 1
    target_values: np.ndarray  # (n_targets,)
    target_segments: list[str]
    sd_grid: np.ndarray  # (n, G) spend grid for the revenue sd
    sd_values: np.ndarray  # (n, G) revenue sd over draws
    constraints: PlanConstraints
    curves: dict[str, ResponseCurve]

    @property
    def n(self) -> int:
        return len(self.channel_ids)

    def revenue(self, spend: np.ndarray) -> np.ndarray:
        """Steady-state weekly revenue per channel, spend shape (..., n)."""
        base, rmax, decay, half, slope = (self.params[:, i] for i in range(5))
        x = np.maximum(spend, 0.0) / (1.0 - decay)
        ratio = np.power(x / half, slope)
        return base + rmax * ratio / (1.0 + ratio)

    def exposure(self, spend: np.ndarray) -> np.ndarray:
        """Share of all customers reached per week through each channel, spend (..., n):
        audience_c * hill_c(s_c / (1 - decay_c)); the paid response, not organic sales."""
        _, _, decay, half, slope = (self.params[:, i] for i in range(5))
        x = np.maximum(spend, 0.0) / (1.0 - decay)
        ratio = np.power(x / half, slope)
        return self.audience * ratio / (1.0 + ratio)

    def objectives(self, selected: np.ndarray, spend: np.ndarray) -> dict[str, np.ndarray]:
        """profit, reach, risk, revenue and spend totals for plans (rows) of z and s."""
        z = np.asarray(selected, dtype=float)
        s = np.asarray(spend, dtype=float) * z
        rev = self.revenue(s) * z
        profit = (self.net_share * rev - s - self.fixed_cost * z).sum(axis=-1)
        if len(self.target_values):
            p_reach = (
                self.reach[None, :, :] * (z * self.exposure(s))[:, None, :]
                if s.ndim == 2
                else self.reach * (z * self.exposure(s))[None, :]
            )
            miss = np.prod(1.0 - p_reach, axis=-1)
            reach = ((1.0 - miss) * self.target_values).sum(axis=-1) / self.target_values.sum()
        else:
            reach = np.zeros(profit.shape)
        sd = np.stack(
            [np.interp(s[..., i], self.sd_grid[i], self.sd_values[i]) for i in range(self.n)],
            axis=-1,
        )
        risk = np.sqrt(((self.net_share * sd) ** 2 * z).sum(axis=-1))
        return {
            "profit": profit,
            "reach": reach,
            "risk": risk,
            "revenue": rev.sum(axis=-1),
            "spend": s.sum(axis=-1),
        }

    def violations(self, selected: np.ndarray, spend: np.ndarray) -> dict[str, np.ndarray]:
        """Constraint violations per plan (0 = satisfied), same units as the constraint."""
        z = np.asarray(selected) > 0.5
        s = np.where(z, spend, 0.0)
        count = z.sum(axis=-1)
        fixed_dev = np.where(np.isnan(self.fixed), 0.0, np.abs(s - np.nan_to_num(self.fixed)))
        return {
            "total_budget": np.maximum(s.sum(axis=-1) - self.total_budget, 0.0),
            "min_channels": np.maximum(self.min_channels - count, 0),
            "max_channels": np.maximum(count - self.max_channels, 0),
            "min_budget": (np.maximum(self.lo - s, 0.0) * z).sum(axis=-1),
            "max_budget": (np.maximum(s - self.hi, 0.0) * z).sum(axis=-1),
            "force_in": (self.force_in & ~z).sum(axis=-1),
            "force_out": (self.force_out & z).sum(axis=-1),
            "fixed_budget": (fixed_dev * z).sum(axis=-1),
        }


def net_margin_shares(
    channels: pd.DataFrame, gross_margin: float | Mapping[str, float]
) -> np.ndarray:
    """Share of each channel's revenue the plan keeps as contribution (order of ``channels``).

    Args:
        channels: channels.csv rows (channel_id, commission_rate).
        gross_margin: a flat share of revenue left after product cost, from which each
            channel's commission is then taken (``m * (1 - commission)``); or a mapping
            ``{channel_id: margin_rate}`` of each channel's own contribution margin (after
            product cost, commission, fulfilment and payment: channelops.margins), used
            as it is.

    Returns:
        One share per channel, float array.

    Raises:
        ChannelPlanError: a mapping lacks a channel or holds a non-finite rate.
    """
    ids = channels["channel_id"].astype(str).tolist()
    if isinstance(gross_margin, Mapping):
        missing = [c for c in ids if c not in gross_margin]
        if missing:
            raise ChannelPlanError(f"no margin rate for channel(s) {missing}")
        out = np.array([float(gross_margin[c]) for c in ids])
        if not np.isfinite(out).all():
            raise ChannelPlanError(
                f"margin rates must be finite, got {dict(zip(ids, out, strict=True))}"
            )
        return out
    return float(gross_margin) * (1.0 - channels["commission_rate"].to_numpy(float))


def build_plan_model(
    curves: pd.DataFrame | Mapping[str, ResponseCurve],
    channels: pd.DataFrame,
    reach: pd.DataFrame | None,
    constraints: PlanConstraints,
    target_segments: Mapping[str, float] | None = None,
    gross_margin: float | Mapping[str, float] = 1.0,
    sd_grid_points: int = 128,
) -> PlanModel:
    """Validate the inputs and compile them into a :class:`PlanModel`.

    Args:
        curves: :func:`fit_response_curves` table or ``{channel_id: ResponseCurve}``.
        channels: channels.csv with channel_id, commission_rate, fixed_cost_per_month.
        reach: segment x channel matrix (may be None when target_segments is empty).
        constraints: plan constraints.
        target_segments: ``{segment: value}``; empty or None makes reach 0 for every plan.
        gross_margin: share of revenue left after product cost (1.0 = ignore product cost),
            commission taken off on top; or ``{channel_id: margin_rate}`` from
            :func:`channelops.margins.channel_margin_rates` (commission and every other
            variable cost already in it), see :func:`net_margin_shares`.

    Returns:
        The compiled model. Channels forced out without a curve get a zero curve.
    """
    for col in ("channel_id", "commission_rate", "fixed_cost_per_month"):
        if col not in channels.columns:
            raise ChannelPlanError(f"channels is missing column {col!r}")
    validate_constraints(constraints, channels, curves, reach, target_segments)
    cmap = as_curve_map(curves)
    ids = channels["channel_id"].astype(str).tolist()
    c = constraints
    lo, hi, _ = _bounds(c, ids, cmap)
    zero = ResponseCurve("", 0.0, 0.0, 0.0, 1.0, 1.0, source="none")
    params = np.array([cmap.get(ch, zero).params for ch in ids])
    grid = np.linspace(0.0, 1.0, sd_grid_points)[None, :] * np.maximum(hi, 1e-9)[:, None]
    sd = np.zeros_like(grid)
    for i, ch in enumerate(ids):
        if ch in cmap and len(cmap[ch].draws) > 1:
            sd[i] = cmap[ch].revenue_draws(grid[i]).std(axis=0)
    fixed = np.array([float(c.fixed_budget.get(ch, np.nan)) for ch in ids])
    force_in = np.array([ch in set(_names(c.force_in)) or ch in c.fixed_budget for ch in ids])
    force_out = np.array([ch in set(_names(c.force_out)) for ch in ids])
    targets = [str(t) for t in (target_segments or {})]
    if targets:
        assert reach is not None
        r = reach.copy()
        r.index = r.index.astype(str)
        r.columns = r.columns.astype(str)
        rmat = np.array(
            [[float(r.at[t, ch]) if ch in r.columns else 0.0 for ch in ids] for t in targets]
        )
        values = np.array([float(target_segments[t]) for t in targets])  # type: ignore[index]
    else:
        rmat, values = np.zeros((0, len(ids))), np.zeros(0)
    n_avail = int((~force_out).sum())
    potential = np.maximum(params[:, 0] + params[:, 1], 0.0)
    audience = (
        potential / potential.sum()
        if potential.sum() > 0
        else np.full(len(ids), 1.0 / max(len(ids), 1))
    )
    return PlanModel(
        channel_ids=ids,
        params=params,
        net_share=net_margin_shares(channels, gross_margin),
        fixed_cost=channels["fixed_cost_per_month"].to_numpy(float) / WEEKS_PER_MONTH,
        lo=lo,
        hi=hi,
        fixed=fixed,
        force_in=force_in,
        force_out=force_out,
        total_budget=float(c.total_budget),
        min_channels=int(c.min_channels),
        max_channels=n_avail if c.max_channels is None else min(int(c.max_channels), n_avail),
        reach=rmat,
        audience=audience,
        target_values=values,
        target_segments=targets,
        sd_grid=grid,
        sd_values=sd,
        constraints=c,
        curves=cmap,
    )


def repair_plans(
    model: PlanModel, z_raw: np.ndarray, spend: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Turn any (selection score, spend) rows into feasible plans.

    Selection: score >= 0.5 runs, forced channels are set, then the channel count is
    brought into [min, max] by dropping the lowest-scored or adding the highest-scored
    free channels. If the running channels' minimum spends exceed the budget, free
    channels with the largest minimum are swapped for the cheapest ones. Spend: clipped to
    [min, max] per running channel, fixed channels set, and the spend above the minimums
    scaled down proportionally when the total exceeds the budget.

    Args:
        model: the compiled plan.
        z_raw: (P, n) selection scores in [0, 1].
        spend: (P, n) weekly spend genes (base currency).

    Returns:
        (z, spend): z in {0, 1}; spend of non-running channels is left as is (dormant).
    """
    prio = np.where(model.force_in, 2.0, np.where(model.force_out, -2.0, z_raw))
    z = prio >= 0.5
    big = 10.0
    key = np.where(z, prio, -big)
    rank = np.argsort(np.argsort(-key, axis=1, kind="stable"), axis=1, kind="stable")
    z &= rank < model.max_channels
    count = z.sum(axis=1)
    allowed = ~model.force_out
    key = np.where(~z & allowed, prio, -big)
    rank = np.argsort(np.argsort(-key, axis=1, kind="stable"), axis=1, kind="stable")
    z |= (rank < (model.min_channels - count)[:, None]) & allowed
    fixed = ~np.isnan(model.fixed)
    s = np.clip(spend, model.lo, model.hi)
    s = np.where(fixed, np.nan_to_num(model.fixed), s)
    floor = np.where(fixed, s, model.lo)
    over = (floor * z).sum(axis=1) > model.total_budget + _TOL
    for p in np.flatnonzero(over):
        z[p] = _cheapest_selection(model, z[p], prio[p])
    free = z & ~fixed
    room = model.total_budget - (floor * z).sum(axis=1)
    above = ((s - model.lo) * free).sum(axis=1)
    scale = np.where(above > room, np.maximum(room, 0.0) / np.maximum(above, 1e-300), 1.0)
    s = np.where(free, model.lo + (s - model.lo) * scale[:, None], s)
    s = np.where(free, np.minimum(s, model.hi), s)
    return z.astype(float), s


def _cheapest_selection(model: PlanModel, z: np.ndarray, prio: np.ndarray) -> np.ndarray:
    """Swap expensive free channels out until the minimum spends fit the budget."""
    floor = np.where(np.isnan(model.fixed), model.lo, model.fixed)
    z = z.copy()
    free_sel = [i for i in np.argsort(-floor) if z[i] and not model.force_in[i]]
    for i in free_sel:
        if (floor * z).sum() <= model.total_budget + _TOL:
            break
        z[i] = False
        cand = [j for j in np.argsort(floor) if not z[j] and not model.force_out[j] and j != i]
        if z.sum() < model.min_channels and cand:
            z[cand[0]] = True
    return z


class _PlanRepair(Repair):
    def _do(self, problem: ChannelPlanProblem, X: np.ndarray, **kwargs: Any) -> np.ndarray:
        n = problem.model.n
        z, s = repair_plans(problem.model, X[:, :n], X[:, n:])
        return np.hstack([z, s])


class _PlanMutation(Mutation):
    """Polynomial mutation on every gene, plus two moves PM rarely makes on this encoding.

    Repair stores selections as exact 0/1, which PM's small steps seldom cross, so each
    selection bit is also flipped with probability 1/n; and a running channel's best spend
    is often its floor (run it for its organic sales only), so each spend gene is also reset
    to the channel's minimum with probability 1/(2n).
    """

    def __init__(self) -> None:
        super().__init__(prob=1.0)
        self.pm = PM(eta=20)

    def _do(
        self,
        problem: ChannelPlanProblem,
        X: np.ndarray,
        *args: Any,
        random_state: np.random.Generator | None = None,
        **kwargs: Any,
    ) -> np.ndarray:
        rng = random_state if random_state is not None else np.random.default_rng()
        n = problem.model.n
        Xp = self.pm._do(problem, X, random_state=rng)
        flip = rng.random((len(X), n)) < 1.0 / n
        Xp[:, :n] = np.where(flip, 1.0 - np.round(X[:, :n]), Xp[:, :n])
        floor = rng.random((len(X), n)) < 0.5 / n
        Xp[:, n:] = np.where(floor, problem.model.lo, Xp[:, n:])
        return Xp


class ChannelPlanProblem(Problem):
    """pymoo problem: x = (z_1..z_n in [0, 1], s_1..s_n in [0, max_budget]).

    z_c >= 0.5 means channel c runs; :class:`_PlanRepair` makes every candidate feasible
    before evaluation, and the constraint functions (all <= 0 when feasible) are kept as a
    safety net. F holds the chosen objectives in minimisation form.
    """

    def __init__(self, model: PlanModel, objectives: Sequence[str] = OBJECTIVES) -> None:
        self.model = model
        self.objective_names = tuple(objectives)
        n = model.n
        super().__init__(
            n_var=2 * n,
            n_obj=len(self.objective_names),
            n_ieq_constr=3,
            xl=np.zeros(2 * n),
            xu=np.concatenate([np.ones(n), np.maximum(model.hi, 1e-9)]),
        )

    def _evaluate(self, X: np.ndarray, out: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        n = self.model.n
        z, s = (X[:, :n] >= 0.5).astype(float), X[:, n:]
        obj = self.model.objectives(z, s)
        out["F"] = np.column_stack([SENSE[k] * obj[k] for k in self.objective_names])
        v = self.model.violations(z, s)
        out["G"] = np.column_stack(
            [
                v["total_budget"] - _TOL,
                v["min_channels"] + v["max_channels"] + v["force_in"] + v["force_out"] - 0.5,
                v["min_budget"] + v["max_budget"] + v["fixed_budget"] - _TOL,
            ]
        )


@dataclass
class ParetoResult:
    """NSGA-II output.

    Attributes:
        front: one row per non-dominated plan: plan, profit, reach, risk, revenue, spend
            (weekly, base currency; reach in [0, 1]), n_channels, channels (names, comma
            separated), then ``budget_<channel_id>`` and ``selected_<channel_id>``.
        objectives: the objectives optimised.
        model: the compiled plan model (curves, constraints, reach).
        n_evals: plans evaluated.
        seconds: wall time of the optimisation.
        seed: the seed used.
    """

    front: pd.DataFrame
    objectives: tuple[str, ...]
    model: PlanModel
    n_evals: int
    seconds: float
    seed: int


def plans_table(model: PlanModel, z: np.ndarray, spend: np.ndarray) -> pd.DataFrame:
    """Plans (rows of z and spend) as the front layout (see :class:`ParetoResult`)."""
    z = np.atleast_2d(z) > 0.5
    s = np.where(z, np.atleast_2d(spend), 0.0)
    obj = model.objectives(z.astype(float), s)
    df = pd.DataFrame({k: obj[k] for k in (*OBJECTIVES, "revenue", "spend")})
    df.insert(0, "plan", np.arange(len(df)))
    df["n_channels"] = z.sum(axis=1)
    ids = np.array(model.channel_ids)
    df["channels"] = [",".join(ids[row]) for row in z]
    for i, ch in enumerate(model.channel_ids):
        df[f"budget_{ch}"] = s[:, i]
    for i, ch in enumerate(model.channel_ids):
        df[f"selected_{ch}"] = z[:, i]
    return df


def non_dominated(df: pd.DataFrame, objectives: Sequence[str]) -> pd.DataFrame:
    """Rows of ``df`` not dominated by another row on ``objectives``, duplicates dropped."""
    F = np.column_stack([SENSE[k] * df[k].to_numpy(float) for k in objectives])
    keep = NonDominatedSorting().do(F, only_non_dominated_front=True)
    out = df.iloc[np.sort(keep)]
    out = out.loc[~out[list(objectives)].round(9).duplicated()]
    return out.reset_index(drop=True)


def optimise_channel_plan(
    curves: pd.DataFrame | Mapping[str, ResponseCurve],
    channels: pd.DataFrame,
    reach: pd.DataFrame | None,
    constraints: PlanConstraints,
    target_segments: Mapping[str, float] | None,
    pop_size: int = 100,
    n_gen: int = 200,
    seed: int = 0,
    objectives: Sequence[str] = OBJECTIVES,
    gross_margin: float | Mapping[str, float] = 1.0,
) -> ParetoResult:
    """Search the Pareto front of weekly channel plans with NSGA-II.

    Args:
        curves: response curves (table or dict).
        channels: channels.csv (channel_id, commission_rate, fixed_cost_per_month, ...).
        reach: segment x channel matrix from :func:`segment_channel_reach`.
        constraints: plan constraints; checked by :func:`validate_constraints` first.
        target_segments: ``{segment: value}`` weights of the reach objective.
        pop_size, n_gen: NSGA-II population and generations.
        seed: random seed; the same seed and inputs give the same front.
        objectives: any of 'profit', 'reach', 'risk' (all three by default).
        gross_margin: share of revenue left after product cost.

    Returns:
        A :class:`ParetoResult`; its front is feasible and mutually non-dominated on the
        optimised objectives, sorted by profit (highest first).
    """
    bad = [k for k in objectives if k not in OBJECTIVES]
    if bad or len(objectives) < 2:
        raise ChannelPlanError(
            f"objectives must be two or three of {list(OBJECTIVES)}, got {list(objectives)}"
        )
    model = build_plan_model(curves, channels, reach, constraints, target_segments, gross_margin)
    problem = ChannelPlanProblem(model, objectives)
    algorithm = NSGA2(
        pop_size=pop_size, mutation=_PlanMutation(), repair=_PlanRepair(), eliminate_duplicates=True
    )
    start = time.perf_counter()
    res = minimize(problem, algorithm, ("n_gen", n_gen), seed=seed, verbose=False)
    seconds = time.perf_counter() - start
    X = res.pop.get("X")
    n = model.n
    table = plans_table(model, X[:, :n], X[:, n:])
    ok = _feasible(model, table)
    front = non_dominated(table[ok], objectives)
    front = front.sort_values("profit", ascending=False, kind="stable").reset_index(drop=True)
    front["plan"] = np.arange(len(front))
    return ParetoResult(
        front, tuple(objectives), model, int(res.algorithm.evaluator.n_eval), seconds, seed
    )


def _feasible(model: PlanModel, table: pd.DataFrame) -> np.ndarray:
    z = table[[f"selected_{c}" for c in model.channel_ids]].to_numpy(float)
    s = table[[f"budget_{c}" for c in model.channel_ids]].to_numpy(float)
    v = model.violations(z, s)
    return np.all(np.column_stack([v[k] for k in v]) <= 1e-6, axis=1)


def evaluate_plans(plans: pd.DataFrame | pd.Series, model: PlanModel) -> pd.DataFrame:
    """Re-score plans under another plan model (e.g. the true curves, or a curve draw).

    Args:
        plans: rows in the front layout (a front, or one row from :func:`recommend_plan`);
            only ``selected_<c>`` and ``budget_<c>`` are read.
        model: built with :func:`build_plan_model` from the curves to score under.

    Returns:
        The plans in the front layout with objectives recomputed under ``model``.
    """
    df = plans.to_frame().T if isinstance(plans, pd.Series) else plans
    ids = model.channel_ids
    z = df[[f"selected_{c}" for c in ids]].to_numpy(dtype=float)
    s = df[[f"budget_{c}" for c in ids]].to_numpy(dtype=float)
    out = plans_table(model, z, s)
    if "plan" in df.columns:
        out["plan"] = df["plan"].to_numpy()
    return out


def plan_violations(result: ParetoResult, front: pd.DataFrame | None = None) -> pd.DataFrame:
    """Constraint violations of every plan (0 everywhere for a feasible front).

    Args:
        result: the optimisation result (its model holds the constraints).
        front: plans in the front layout; defaults to ``result.front``.

    Returns:
        One row per plan: plan and one column per constraint with the violation amount
        (budget in base currency per week, counts in channels).
    """
    df = result.front if front is None else front
    ids = result.model.channel_ids
    v = result.model.violations(
        df[[f"selected_{c}" for c in ids]].to_numpy(float),
        df[[f"budget_{c}" for c in ids]].to_numpy(float),
    )
    return pd.DataFrame({"plan": df["plan"].to_numpy(), **v})


def recommend_plan(
    front: pd.DataFrame | ParetoResult,
    rule: str | Mapping[str, float] = "knee",
    objectives: Sequence[str] | None = None,
    min_profit_share: float | None = None,
) -> pd.Series:
    """Pick one plan from the front by a stated rule.

    Objectives are min-max normalised over the front (0 = best value on the front).

    * ``"knee"``: pymoo's ``HighTradeoffPoints`` (the plan whose neighbours give up most
      for what they gain); when it flags several, the one closest to the ideal point; when
      it flags none (or the front has fewer than 4 plans), the plan closest to the ideal.
    * ``{"profit": w1, "reach": w2, "risk": w3}``: pymoo's achievement scalarising
      function with weights 1/w (larger weight = closer to that objective's best; an
      objective with weight 0 is ignored), ties broken by the weighted sum.

    Args:
        front: the front table (or a :class:`ParetoResult`).
        rule: "knee" or a weights mapping.
        objectives: objectives to decide on; defaults to those optimised (result) or all
            three.
        min_profit_share: when given (e.g. 0.95), only plans whose profit is at least this
            share of the front's best profit are considered ("the best trade-off among
            plans that give up at most 5% of profit"); normalisation is over those plans.

    Returns:
        The chosen row, with an extra ``rule`` entry describing the rule and its outcome.
    """
    if isinstance(front, ParetoResult):
        objectives = objectives or front.objectives
        front = front.front
    objectives = tuple(objectives or OBJECTIVES)
    if front.empty:
        raise ChannelPlanError("the front is empty")
    front, prefix = _within_profit_share(front, min_profit_share)
    nF = _normalised_objectives(front, objectives)
    if isinstance(rule, str):
        if rule != "knee":
            raise ChannelPlanError(f"rule must be 'knee' or a weights mapping, got {rule!r}")
        idx, text = _knee_plan(nF, objectives)
    else:
        idx, text = _weighted_plan(nF, rule, objectives)
    row = front.iloc[idx].copy()
    row["rule"] = prefix + text
    return row


def _within_profit_share(
    front: pd.DataFrame, min_profit_share: float | None
) -> tuple[pd.DataFrame, str]:
    """The plans whose profit is at least ``min_profit_share`` of the front's best (all
    plans when None), and the phrase that opens the rule's description ('' when None)."""
    if min_profit_share is None:
        return front, ""
    if not 0.0 <= min_profit_share <= 1.0:
        raise ChannelPlanError(f"min_profit_share must be in [0, 1], got {min_profit_share}")
    best = float(front["profit"].max())
    floor = best - (1.0 - min_profit_share) * abs(best)
    front = front[front["profit"] >= floor - 1e-9]
    prefix = (
        f"among the {len(front)} plans with profit >= {min_profit_share:.0%} of the "
        f"front's best ({floor:,.0f}/week), "
    )
    return front, prefix


def _normalised_objectives(front: pd.DataFrame, objectives: Sequence[str]) -> np.ndarray:
    """Plans x objectives, each objective turned into a minimisation and min-max scaled over
    the plans to [0, 1] (0 = best on the front; an objective equal on every plan is 0)."""
    F = np.column_stack([SENSE[k] * front[k].to_numpy(float) for k in objectives])
    span = F.max(axis=0) - F.min(axis=0)
    return (F - F.min(axis=0)) / np.where(span > 0, span, 1.0)


def _knee_plan(nF: np.ndarray, objectives: Sequence[str]) -> tuple[int, str]:
    """Row of the knee of the normalised front (see :func:`recommend_plan`) and how it was found."""
    names = ", ".join(objectives)
    dist = np.linalg.norm(nF, axis=1)
    cand = None
    if len(nF) >= 4:
        with warnings.catch_warnings():
            # the method divides by zero gains on purpose; keep it quiet without touching
            # global filters
            warnings.simplefilter("ignore")
            cand = HighTradeoffPoints().do(nF)
    if cand is None or len(np.atleast_1d(cand)) == 0:
        return int(np.argmin(dist)), (
            f"knee: no high trade-off point flagged by pymoo HighTradeoffPoints on "
            f"normalised ({names}); plan closest to the ideal point"
        )
    cand = np.atleast_1d(cand)
    return int(cand[np.argmin(dist[cand])]), (
        f"knee: pymoo HighTradeoffPoints on normalised ({names}); "
        f"{len(cand)} flagged, closest to the ideal point kept"
    )


def _weighted_plan(
    nF: np.ndarray, rule: Mapping[str, float], objectives: Sequence[str]
) -> tuple[int, str]:
    """Row the achievement scalarising function picks with weights ``rule`` (see
    :func:`recommend_plan`), and the rule's description."""
    unknown = sorted(set(rule) - set(objectives))
    if unknown:
        raise ChannelPlanError(
            f"weights for unknown objective(s) {unknown}; objectives are {list(objectives)}"
        )
    w = np.array([float(rule.get(k, 0.0)) for k in objectives])
    if (w < 0).any() or w.sum() <= 0:
        raise ChannelPlanError(f"weights must be >= 0 with a positive sum, got {dict(rule)}")
    w = w / w.sum()
    inv = 1.0 / np.maximum(w, 1e-9)
    asf = ASF().do(nF, inv, utopian_point=np.zeros(len(objectives)))
    score = np.asarray(asf).ravel() + 1e-6 * (nF * w).sum(axis=1)
    text = (
        "weights: pymoo ASF with weights 1/w on normalised ("
        + ", ".join(f"{k}={v:.3g}" for k, v in zip(objectives, w, strict=True))
        + ")"
    )
    return int(np.argmin(score)), text


def channel_plan(plan: pd.Series, result: ParetoResult, level: float = 0.9) -> pd.DataFrame:
    """The ``channel_plan`` table: one row per candidate channel for a chosen plan.

    Args:
        plan: a row of the front (e.g. from :func:`recommend_plan`).
        result: the optimisation result it came from.
        level: band coverage for revenue and profit (from the curve draws).

    Returns:
        channel_id, selected, budget, revenue, revenue_lo, revenue_hi, profit, profit_lo,
        profit_hi (weekly, base currency; profit is after commission, margin, fixed cost
        and spend), source (curve source), and ``reach_<segment>`` per target segment: the
        expected share of the segment's customers this channel's paid marketing reaches per
        week under this plan (see the module docstring).
    """
    m = result.model
    rows = []
    q = (1.0 - level) / 2.0
    for i, ch in enumerate(m.channel_ids):
        sel = bool(plan[f"selected_{ch}"])
        s = float(plan[f"budget_{ch}"]) if sel else 0.0
        curve = m.curves.get(ch)
        rec: dict[str, Any] = {
            "channel_id": ch,
            "selected": sel,
            "budget": s,
            "source": curve.source if curve else "none",
        }
        if sel and curve is not None:
            draws = curve.revenue_draws(np.array([s]))[:, 0]
            rev = float(curve.revenue(s))
            lo, hi = np.quantile(draws, [q, 1 - q])
            cost = s + m.fixed_cost[i]
            rec.update(
                revenue=rev,
                revenue_lo=lo,
                revenue_hi=hi,
                profit=m.net_share[i] * rev - cost,
                profit_lo=m.net_share[i] * lo - cost,
                profit_hi=m.net_share[i] * hi - cost,
            )
        else:
            rec.update(
                revenue=0.0,
                revenue_lo=0.0,
                revenue_hi=0.0,
                profit=0.0,
                profit_lo=0.0,
                profit_hi=0.0,
            )
        expo = float(m.exposure(np.full(m.n, s))[i]) if sel else 0.0
        for t, seg in enumerate(m.target_segments):
            rec[f"reach_{seg}"] = m.reach[t, i] * expo
        rows.append(rec)
    return pd.DataFrame(rows)


def sensitivity(
    curves: pd.DataFrame | Mapping[str, ResponseCurve],
    channels: pd.DataFrame,
    reach: pd.DataFrame | None,
    constraints: PlanConstraints,
    target_segments: Mapping[str, float] | None,
    rule: str | Mapping[str, float] = "knee",
    budget_changes: Sequence[float] = (-0.2, 0.2),
    n_curve_draws: int = 5,
    pop_size: int = 60,
    n_gen: int = 100,
    seed: int = 0,
    objectives: Sequence[str] = OBJECTIVES,
    gross_margin: float | Mapping[str, float] = 1.0,
    min_profit_share: float | None = None,
) -> pd.DataFrame:
    """How the recommended plan moves when the budget or the curves change.

    Scenarios: 'base'; 'budget +x%' for each change (total_budget scaled, everything else
    kept); 'curve draw k' for k < n_curve_draws, every channel's point curve replaced by its
    k-th bootstrap (or prior) draw (the spread of draws, hence risk, is kept). Each scenario is re-optimised with NSGA-II and the same
    rule picks its plan.

    Args:
        curves, channels, reach, constraints, target_segments, objectives, gross_margin:
            as for :func:`optimise_channel_plan`.
        rule, min_profit_share: as for :func:`recommend_plan`.
        budget_changes: relative total-budget changes.
        n_curve_draws: number of curve-draw scenarios.
        pop_size, n_gen, seed: NSGA-II settings per scenario (smaller than the main run).

    Returns:
        One row per scenario: scenario, total_budget, profit, reach, risk, spend,
        n_channels, channels, budget_<channel_id> ..., base_plan_profit (the base plan's
        profit under this scenario's curves), budget_moved (sum of absolute budget changes
        against the base plan, base currency per week), added, removed (channel names), and
        note (why a scenario could not be solved, else empty).
    """
    cmap = as_curve_map(curves)
    scenarios: list[tuple[str, PlanConstraints, dict[str, ResponseCurve]]] = [
        ("base", constraints, cmap)
    ]
    for d in budget_changes:
        scenarios.append((f"budget {d:+.0%}", constraints.scaled(1.0 + d), cmap))
    for k in range(n_curve_draws):
        # the k-th draw becomes the point curve; the draws stay, so risk keeps its meaning
        drawn = {
            ch: (
                replace(
                    cv.with_params(cv.draws[k % len(cv.draws)], source=f"draw {k}"), draws=cv.draws
                )
                if len(cv.draws)
                else cv
            )
            for ch, cv in cmap.items()
        }
        scenarios.append((f"curve draw {k}", constraints, drawn))
    rows = []
    base_plan = None
    ids = channels["channel_id"].astype(str).tolist()
    for name, cons, cm in scenarios:
        rec: dict[str, Any] = {"scenario": name, "total_budget": cons.total_budget, "note": ""}
        try:
            res = optimise_channel_plan(
                cm,
                channels,
                reach,
                cons,
                target_segments,
                pop_size,
                n_gen,
                seed,
                objectives,
                gross_margin,
            )
        except ChannelPlanError as exc:
            rec["note"] = str(exc)
            rows.append(rec)
            continue
        plan = recommend_plan(res, rule, min_profit_share=min_profit_share)
        if base_plan is None:
            base_plan = plan
        rec.update(
            {k: plan[k] for k in ("profit", "reach", "risk", "spend", "n_channels", "channels")}
        )
        rec.update({f"budget_{c}": plan[f"budget_{c}"] for c in ids})
        bz = np.array([float(base_plan[f"selected_{c}"]) for c in ids])
        bs = np.array([float(base_plan[f"budget_{c}"]) for c in ids])
        rec["base_plan_profit"] = float(res.model.objectives(bz, bs)["profit"])
        now = np.array([float(plan[f"budget_{c}"]) for c in ids])
        rec["budget_moved"] = float(np.abs(now - bs).sum())
        sel = {c for c in ids if plan[f"selected_{c}"]}
        base_sel = {c for c in ids if base_plan[f"selected_{c}"]}
        rec["added"] = ",".join(sorted(sel - base_sel))
        rec["removed"] = ",".join(sorted(base_sel - sel))
        rows.append(rec)
    return pd.DataFrame(rows)
