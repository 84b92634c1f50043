"""Tests for channelops.stages.logistics.staffing: Erlang C and the staffing plan."""

from __future__ import annotations

import heapq
import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from scipy.special import gammaln, logsumexp

from channelops.stages.logistics import (
    agents_needed,
    average_speed_of_answer,
    erlang_b,
    erlang_c,
    service_level,
    staffing_plan,
)

# Call Centre Helper, "Erlang C Formula - Made Simple With an Easy Worked Example":
# 100 calls per 30 minutes, average handling time 180 s, target 80% answered in 20 s.
# Traffic 10 Erlangs; with 11 agents the probability of waiting is 68.21%; the raw number
# of agents that meets the target is 14 (before shrinkage and the occupancy check).
LAM = 100 / 1800  # calls per second
AHT = 180.0  # seconds


def exact_erlang_c(traffic: Fraction, agents: int) -> Fraction:
    """Erlang C from the textbook M/M/N formula in exact rational arithmetic."""
    term = [traffic**k / math.factorial(k) for k in range(agents + 1)]
    top = term[agents] * Fraction(agents) / (agents - traffic)
    return top / (sum(term[:agents]) + top)


def log_space_erlang_c(traffic: float, agents: int) -> float:
    """Erlang C with log-factorials and log-sum-exp, an independent route for large N."""
    k = np.arange(agents)
    log_terms = k * math.log(traffic) - gammaln(k + 1)
    log_top = (
        agents * math.log(traffic)
        - gammaln(agents + 1)
        + math.log(agents)
        - math.log(agents - traffic)
    )
    return math.exp(log_top - logsumexp(np.append(log_terms, log_top)))


def simulate_mmc_waits(
    lam: float, mean_service: float, agents: int, n: int, seed: int
) -> np.ndarray:
    """Waits of n customers in a first-come-first-served M/M/c queue."""
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1 / lam, size=n))
    services = rng.exponential(mean_service, size=n)
    free_at = [0.0] * agents  # heap of the times each agent becomes free
    waits = np.empty(n)
    for i in range(n):
        start = max(arrivals[i], heapq.heappop(free_at))
        waits[i] = start - arrivals[i]
        heapq.heappush(free_at, start + services[i])
    return waits


# --------------------------------------------------------------------- known answers


def test_textbook_example():
    assert LAM * AHT == pytest.approx(10.0)
    assert erlang_c(LAM, AHT, 11) == pytest.approx(0.6821, abs=5e-5)  # published: 68.21%
    assert agents_needed(LAM, AHT, 20, 0.80) == 14  # published: 14 agents
    # Figures for 14 agents, checked against the exact computation below.
    assert erlang_c(LAM, AHT, 14) == pytest.approx(0.1741, abs=5e-5)
    assert service_level(LAM, AHT, 14, 20) == pytest.approx(0.8884, abs=5e-5)
    assert average_speed_of_answer(LAM, AHT, 14) == pytest.approx(7.84, abs=0.01)
    assert service_level(LAM, AHT, 13, 20) < 0.80 <= service_level(LAM, AHT, 14, 20)
    # The example's 85% occupancy cap does not bind (10 / 14 = 71%); a 60% cap does.
    assert agents_needed(LAM, AHT, 20, 0.80, max_occupancy=0.85) == 14
    assert agents_needed(LAM, AHT, 20, 0.80, max_occupancy=0.60) == 17


@pytest.mark.parametrize("agents", range(11, 21))
def test_agrees_with_exact_fractions(agents):
    exact = exact_erlang_c(Fraction(10), agents)
    assert erlang_c(LAM, AHT, agents) == pytest.approx(float(exact), rel=1e-12)
    sl = 1 - float(exact) * math.exp(-(agents - 10) * 20 / AHT)
    assert service_level(LAM, AHT, agents, 20) == pytest.approx(sl, rel=1e-12)
    asa = float(exact * Fraction(180) / (agents - 10))
    assert average_speed_of_answer(LAM, AHT, agents) == pytest.approx(asa, rel=1e-12)


def test_small_case_exact_fraction_by_hand():
    # A = 1 Erlang, N = 2: C = (1/2 * 2/1) / (1 + 1 + 1) = 1/3.
    assert erlang_c(1.0, 1.0, 2) == pytest.approx(1 / 3, rel=1e-15)
    assert erlang_b(1.0, 2) == pytest.approx(0.2, rel=1e-15)
    assert erlang_b(3.0, 1) == pytest.approx(0.75, rel=1e-15)


@pytest.mark.parametrize(("traffic", "agents"), [(480.0, 500), (5000.0, 5100), (20000.0, 20150)])
def test_stable_for_large_agent_counts(traffic, agents):
    c = erlang_c(traffic / 3600, 3600.0, agents)
    assert 0 < c < 1
    assert c == pytest.approx(log_space_erlang_c(traffic, agents), rel=1e-9)


def test_agrees_with_simulation():
    lam, mean_service, agents = 2.4, 1.0, 3  # 80% occupancy
    waits = simulate_mmc_waits(lam, mean_service, agents, n=200_000, seed=sum(map(ord, "mmc")))
    waits = waits[10_000:]  # drop the warm-up from an empty system
    assert np.mean(waits > 0) == pytest.approx(erlang_c(lam, mean_service, agents), abs=0.02)
    assert np.mean(waits <= 0.25) == pytest.approx(
        service_level(lam, mean_service, agents, 0.25), abs=0.02
    )
    assert waits.mean() == pytest.approx(
        average_speed_of_answer(lam, mean_service, agents), rel=0.08
    )


def test_overloaded_and_idle_queues():
    assert erlang_c(1.0, 10.0, 10) == 1.0  # N = A: the queue never settles
    assert service_level(1.0, 10.0, 9, 20) == 0.0
    assert average_speed_of_answer(1.0, 10.0, 10) == math.inf
    assert erlang_c(0.0, 10.0, 3) == 0.0
    assert service_level(0.0, 10.0, 0, 20) == 1.0
    assert agents_needed(0.0, 180.0, 20, 0.8) == 0


# --------------------------------------------------------------------- staffing plan


def test_staffing_plan():
    hours = pd.DataFrame(
        {
            "hour": [9, 9, 10, 10],
            "channel": ["web", "tmall", "web", "tmall"],
            "contacts": [200.0, 50.0, 0.0, 120.0],
        }
    )
    plan = staffing_plan(
        hours, handle_minutes=3.0, target_wait_s=20, target_sl=0.8, cost_per_agent_hour=40.0
    )
    assert list(plan.columns) == [
        "hour",
        "channel",
        "contacts",
        "traffic_erlangs",
        "agents",
        "service_level",
        "prob_wait",
        "asa_s",
        "occupancy",
        "cost",
    ]
    assert plan.loc[0, "traffic_erlangs"] == pytest.approx(10.0)
    assert plan.loc[0, "agents"] == 14  # the textbook example, as an hourly row
    assert plan.loc[2, "agents"] == 0 and plan.loc[2, "cost"] == 0
    assert (plan["service_level"] >= 0.8).all()
    assert (plan["cost"] == plan["agents"] * 40.0).all()
    for _, row in plan.iterrows():
        assert row["agents"] == agents_needed(row["contacts"] / 3600, 180.0, 20, 0.8)


def test_staffing_plan_with_handle_time_per_row():
    hours = pd.DataFrame({"contacts": [200.0, 200.0], "handle_minutes": [3.0, 6.0]})
    plan = staffing_plan(hours, None, 20, 0.8, 30.0, max_occupancy=0.85)
    assert plan["traffic_erlangs"].tolist() == pytest.approx([10.0, 20.0])
    assert plan["agents"].iloc[1] > plan["agents"].iloc[0]
    assert (plan["occupancy"] <= 0.85).all()


# --------------------------------------------------------------------- bad input


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError, match="arrival_rate"):
        erlang_c(-1.0, 180.0, 5)
    with pytest.raises(ValueError, match="service_time"):
        erlang_c(1.0, 0.0, 5)
    with pytest.raises(ValueError, match="whole number"):
        erlang_c(1.0, 1.0, 2.5)
    with pytest.raises(ValueError, match="target_service_level"):
        agents_needed(1.0, 1.0, 20, 80)
    with pytest.raises(ValueError, match="max_occupancy"):
        agents_needed(1.0, 1.0, 20, 0.8, max_occupancy=1.5)
    with pytest.raises(ValueError, match="target_wait"):
        service_level(1.0, 1.0, 3, -5)
    with pytest.raises(ValueError, match="no 'contacts' column"):
        staffing_plan(pd.DataFrame({"calls": [1.0]}), 3.0, 20, 0.8, 30.0)
    with pytest.raises(ValueError, match="handle_minutes"):
        staffing_plan(pd.DataFrame({"contacts": [1.0]}), None, 20, 0.8, 30.0)
    with pytest.raises(ValueError, match="non-negative and not missing"):
        staffing_plan(pd.DataFrame({"contacts": [-1.0]}), 3.0, 20, 0.8, 30.0)
