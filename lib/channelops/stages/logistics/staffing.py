"""Customer-service staffing with the Erlang C (M/M/N) queue.

Contacts arrive at random (Poisson, rate ``lambda``), each takes an exponentially
distributed handle time with mean ``h``, ``N`` agents answer them first come first served,
and nobody hangs up. With offered traffic ``A = lambda * h`` (Erlangs) and ``N > A``:

    P(wait > 0)        = C(N, A)                       (the Erlang C formula)
    P(wait <= t)       = 1 - C(N, A) * exp(-(N - A) * t / h)      (service level)
    average wait (ASA) = C(N, A) * h / (N - A)
    occupancy          = A / N

C is computed from the Erlang B recursion ``B(0) = 1, B(k) = A B(k-1) / (k + A B(k-1))`` and
``C = N B / (N - A (1 - B))``, which never forms a factorial or a power and so stays exact
to rounding for thousands of agents.

Units: ``arrival_rate`` and ``service_time`` must use the same time unit (e.g. contacts per
second and seconds), and ``target_wait`` is in that unit too. With ``N <= A`` the queue
grows without bound: every contact waits, the service level is 0 and the ASA infinite.
"""

from __future__ import annotations

import math

import pandas as pd


def _traffic(arrival_rate: float, service_time: float) -> float:
    if not (math.isfinite(arrival_rate) and arrival_rate >= 0):
        raise ValueError(f"arrival_rate must be a non-negative number, got {arrival_rate}")
    if not (math.isfinite(service_time) and service_time > 0):
        raise ValueError(f"service_time must be a positive number, got {service_time}")
    return arrival_rate * service_time


def _check_agents(agents: int) -> int:
    if isinstance(agents, bool) or int(agents) != agents or agents < 0:
        raise ValueError(f"agents must be a non-negative whole number, got {agents}")
    return int(agents)


def erlang_b(traffic: float, agents: int) -> float:
    """Erlang B blocking probability (loss system, no queue).

    Args:
        traffic: offered traffic A in Erlangs (arrival rate x mean handle time).
        agents: number of servers N.

    Returns:
        B(N, A), the share of arrivals that find all N servers busy.
    """
    n = _check_agents(agents)
    if traffic < 0:
        raise ValueError(f"traffic must be non-negative, got {traffic}")
    b = 1.0
    for k in range(1, n + 1):
        b = traffic * b / (k + traffic * b)
    return b


def erlang_c(arrival_rate: float, service_time: float, agents: int) -> float:
    """Probability that a contact has to wait (Erlang C).

    Args:
        arrival_rate: contacts per unit time.
        service_time: mean handle time, same time unit.
        agents: number of agents N.

    Returns:
        C(N, A) in [0, 1]; 1.0 when N <= A (the queue is unstable).
    """
    a = _traffic(arrival_rate, service_time)
    n = _check_agents(agents)
    if a == 0:
        return 0.0
    if n <= a:
        return 1.0
    b = erlang_b(a, n)
    return n * b / (n - a * (1.0 - b))


def service_level(
    arrival_rate: float, service_time: float, agents: int, target_wait: float
) -> float:
    """Share of contacts answered within ``target_wait``.

    Args:
        arrival_rate: contacts per unit time.
        service_time: mean handle time, same time unit.
        agents: number of agents N.
        target_wait: answer-time target, same time unit (e.g. 20 s).

    Returns:
        P(wait <= target_wait) in [0, 1]; 0.0 when N <= A.
    """
    if not (math.isfinite(target_wait) and target_wait >= 0):
        raise ValueError(f"target_wait must be a non-negative number, got {target_wait}")
    a = _traffic(arrival_rate, service_time)
    n = _check_agents(agents)
    if a == 0:
        return 1.0
    if n <= a:
        return 0.0
    c = erlang_c(arrival_rate, service_time, n)
    return 1.0 - c * math.exp(-(n - a) * target_wait / service_time)


def average_speed_of_answer(arrival_rate: float, service_time: float, agents: int) -> float:
    """Mean wait before an agent answers, over all contacts (ASA).

    Args:
        arrival_rate: contacts per unit time.
        service_time: mean handle time, same time unit.
        agents: number of agents N.

    Returns:
        ASA in the same time unit; ``inf`` when N <= A.
    """
    a = _traffic(arrival_rate, service_time)
    n = _check_agents(agents)
    if a == 0:
        return 0.0
    if n <= a:
        return math.inf
    return erlang_c(arrival_rate, service_time, n) * service_time / (n - a)


def agents_needed(
    arrival_rate: float,
    service_time: float,
    target_wait: float,
    target_service_level: float,
    max_occupancy: float | None = None,
    *,
    max_agents: int = 1_000_000,
) -> int:
    """Fewest agents that answer ``target_service_level`` of contacts within ``target_wait``.

    Args:
        arrival_rate: contacts per unit time.
        service_time: mean handle time, same time unit.
        target_wait: answer-time target, same time unit.
        target_service_level: required share answered in time, in (0, 1), e.g. 0.8.
        max_occupancy: optional cap on A / N in (0, 1], e.g. 0.85.
        max_agents: give up above this many agents.

    Returns:
        The smallest N meeting both targets (0 when there are no arrivals). Raw agents on
        the phones: add shrinkage (breaks, training, absence) separately.
    """
    if not 0 < target_service_level < 1:
        raise ValueError(f"target_service_level must be in (0, 1), got {target_service_level}")
    if max_occupancy is not None and not 0 < max_occupancy <= 1:
        raise ValueError(f"max_occupancy must be in (0, 1], got {max_occupancy}")
    a = _traffic(arrival_rate, service_time)
    if a == 0:
        return 0
    n = math.floor(a) + 1
    if max_occupancy is not None:
        n = max(n, math.ceil(a / max_occupancy - 1e-12))
    while service_level(arrival_rate, service_time, n, target_wait) < target_service_level:
        n += 1
        if n > max_agents:
            raise ValueError(f"more than max_agents={max_agents} agents would be needed")
    return n


def staffing_plan(
    hourly_arrivals: pd.DataFrame,
    handle_minutes: float | None,
    target_wait_s: float,
    target_sl: float,
    cost_per_agent_hour: float,
    *,
    max_occupancy: float | None = None,
    arrivals_col: str = "contacts",
) -> pd.DataFrame:
    """Agents needed in each hour, with the service they give and what they cost.

    Args:
        hourly_arrivals: one row per hour (and per channel, queue, ... as the caller likes)
            with ``arrivals_col`` = contacts arriving in that hour. Other columns (hour,
            channel, ...) are kept as they are.
        handle_minutes: mean handle time per contact in minutes, or None to read it from a
            ``handle_minutes`` column (e.g. one value per channel).
        target_wait_s: answer-time target in seconds (e.g. 20).
        target_sl: share of contacts to answer within the target (e.g. 0.8).
        cost_per_agent_hour: loaded cost of one agent for one hour (currency).
        max_occupancy: optional cap on agent occupancy (e.g. 0.85).
        arrivals_col: name of the contacts column.

    Returns:
        The input rows plus traffic_erlangs, agents, service_level, prob_wait, asa_s
        (average speed of answer, seconds), occupancy and cost (currency per hour).
    """
    if arrivals_col not in hourly_arrivals.columns:
        raise ValueError(
            f"hourly_arrivals has no {arrivals_col!r} column "
            f"(columns: {list(hourly_arrivals.columns)})"
        )
    if handle_minutes is None and "handle_minutes" not in hourly_arrivals.columns:
        raise ValueError("pass handle_minutes= or give hourly_arrivals a handle_minutes column")
    if cost_per_agent_hour < 0:
        raise ValueError("cost_per_agent_hour must be non-negative")
    plan = hourly_arrivals.copy()
    contacts = plan[arrivals_col].astype(float)
    if contacts.isna().any() or (contacts < 0).any():
        raise ValueError(f"{arrivals_col} must be non-negative and not missing")
    aht_s = (
        pd.Series(float(handle_minutes), index=plan.index)
        if handle_minutes is not None
        else plan["handle_minutes"].astype(float)
    ) * 60.0
    rows = []
    for lam_h, h in zip(contacts, aht_s, strict=True):
        lam = lam_h / 3600.0  # contacts per second
        n = agents_needed(lam, h, target_wait_s, target_sl, max_occupancy)
        a = lam * h
        rows.append(
            {
                "traffic_erlangs": a,
                "agents": n,
                "service_level": service_level(lam, h, n, target_wait_s),
                "prob_wait": erlang_c(lam, h, n),
                "asa_s": average_speed_of_answer(lam, h, n),
                "occupancy": a / n if n else 0.0,
                "cost": n * cost_per_agent_hour,
            }
        )
    extra = pd.DataFrame(rows, index=plan.index)
    return pd.concat([plan, extra], axis=1)
