"""The stage registry: which notebook each stage runs, which tables it reads and writes.

One place that the runner, the run-folder I/O and the tests all read, so that a stage's
contract is written down once. Table names are the Parquet file stems in
``<run>/tables/``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Stage", "STAGES", "stage_by_key", "select_stages", "producer_of", "check_registry"]


@dataclass(frozen=True)
class Stage:
    """One notebook of the run.

    Attributes:
        key: two-digit order key, e.g. ``"01"``.
        name: short name used in messages, e.g. ``"segmentation"``.
        notebook: file name under ``notebooks/``.
        title: the question the stage answers, for the report and the progress bar.
        outputs: tables the stage must write (checked after it runs).
        inputs: tables of earlier stages it reads.
        optional_inputs: those of ``inputs`` it reads only when they exist (the parts that
            need them are skipped otherwise); a run of this stage alone does not need the
            stages that write them (:mod:`channelops.run.staleness`).
    """

    key: str
    name: str
    notebook: str
    title: str
    outputs: tuple[str, ...]
    inputs: tuple[str, ...] = ()
    optional_inputs: tuple[str, ...] = ()

    @property
    def required_inputs(self) -> tuple[str, ...]:
        """The inputs the stage cannot run without."""
        return tuple(t for t in self.inputs if t not in self.optional_inputs)


STAGES: tuple[Stage, ...] = (
    Stage(
        "00",
        "data",
        "00_data.ipynb",
        "Can we trust the data? Every export read, checked and accounted for",
        outputs=("intake_lines", "buyers", "quarantine", "dq_report", "dq_revenue"),
    ),
    Stage(
        "01",
        "segmentation",
        "01_segmentation.ipynb",
        "Who are our customers, and what is each worth?",
        outputs=(
            "customer_features",
            "segments",
            "segment_profiles",
            "segment_model",
            "clv",
            "clv_params",
        ),
        inputs=("intake_lines",),
    ),
    Stage(
        "02",
        "channel_selection",
        "02_channel_selection.ipynb",
        "Which channels should we run, with how much budget?",
        outputs=(
            "response_curves",
            "response_holdout",
            "pareto_front",
            "channel_plan",
            "plan_sensitivity",
            "channel_margins",
            "plan_vs_current",
            "channel_returns",
        ),
        inputs=("segments", "segment_profiles", "intake_lines"),
    ),
    Stage(
        "03",
        "integration",
        "03_integration_merge.ipynb",
        "What does the business look like when every channel is seen as one?",
        outputs=(
            "order_lines",
            "orders",
            "customers",
            "customer_links",
            "products",
            "channels",
            "dq_link_rate",
            "dq_customer_overlap",
            "dq_price_consistency",
        ),
        inputs=("intake_lines", "buyers", "quarantine", "dq_report", "dq_revenue"),
    ),
    Stage(
        "04",
        "forecasting",
        "04_forecasting.ipynb",
        "How much will we sell, and how much stock must we hold?",
        outputs=(
            "forecasts",
            "backtest_metrics",
            "inventory_policy",
            "policy_simulation",
            "stock_comparison",
        ),
        inputs=("intake_lines",),
    ),
    Stage(
        "05",
        "order_logistics",
        "05_order_logistics.ipynb",
        "How do we get every order to the customer on time at the lowest cost?",
        outputs=(
            "fulfilment_sim",
            "allocation",
            "routes",
            "delay_analysis",
            "delay_drivers",
            "staffing_plan",
        ),
        inputs=("orders", "order_lines"),
    ),
    Stage(
        "06",
        "evaluation",
        "06_evaluation.ipynb",
        "Is the multi-channel operation working, and which channel earns its place?",
        outputs=(
            "scorecard",
            "experiment_results",
            "user_base_growth",
            "plan_vs_actual",
            "policy_comparison",
            "channel_overlap",
        ),
        inputs=(
            "order_lines",
            "orders",
            "products",
            "channels",
            "clv",
            "segment_model",
            "channel_plan",
            "response_curves",
            "plan_vs_current",
            "inventory_policy",
            "policy_simulation",
            # read when it exists; declared so that 06 waits for 05 in a run of both
            # (else, side by side, the policy comparison would depend on which ends first)
            "fulfilment_sim",
        ),
        optional_inputs=(
            "clv",
            "segment_model",
            "channel_plan",
            "response_curves",
            "plan_vs_current",
            "inventory_policy",
            "policy_simulation",
            "fulfilment_sim",
        ),
    ),
    Stage(
        "07",
        "recommendation",
        "07_recommendation.ipynb",
        "What should each customer see, and what should each channel list?",
        outputs=("recommendations", "recommender_metrics", "channel_assortment"),
        inputs=(
            "order_lines",
            "products",
            "channels",
            "customer_links",
            "segments",
            "segment_profiles",
        ),
    ),
)


def stage_by_key(key: str) -> Stage:
    """Return the stage whose key (``"04"``), number (``"4"``) or name matches.

    Raises:
        KeyError: with the list of known stages when nothing matches.
    """
    wanted = key.strip().lower()
    for stage in STAGES:
        if wanted in (stage.key, stage.key.lstrip("0"), stage.name):
            return stage
    known = ", ".join(f"{s.key} ({s.name})" for s in STAGES)
    raise KeyError(f"unknown stage {key!r}; known stages: {known}")


def select_stages(only: str | list[str] | None) -> list[Stage]:
    """The stages to run, in run order.

    Args:
        only: ``None`` or ``"all"`` for every stage, else a comma-separated string or a
            list of stage keys, numbers or names (``"01,03"``, ``["4", "evaluation"]``).
    """
    if only is None or only == "all" or only == []:
        return _run_order(list(STAGES))
    items = only.split(",") if isinstance(only, str) else list(only)
    chosen = {stage_by_key(str(item)).key for item in items if str(item).strip()}
    return _run_order([s for s in STAGES if s.key in chosen])


def _run_order(stages: list[Stage]) -> list[Stage]:
    """``stages`` in key order, which is the run order: every stage reads only tables of
    stages with a smaller key (checked by :func:`check_registry` and a test)."""
    return sorted(stages, key=lambda s: s.key)


def check_registry(stages: tuple[Stage, ...] = STAGES) -> None:
    """Raise ``ValueError`` when a stage reads a table that no earlier stage writes, or two
    stages declare the same output."""
    written: dict[str, str] = {}
    for stage in sorted(stages, key=lambda s: s.key):
        extra = sorted(set(stage.optional_inputs) - set(stage.inputs))
        if extra:
            raise ValueError(f"stage {stage.key} lists optional inputs {extra} it does not read")
        for table in stage.inputs:
            if table not in written:
                raise ValueError(
                    f"stage {stage.key} ({stage.name}) reads {table!r}, which no earlier "
                    "stage writes: the notebook order must be the run order"
                )
        for table in stage.outputs:
            if table in written:
                raise ValueError(f"{table!r} is written by stages {written[table]} and {stage.key}")
            written[table] = stage.key


def producer_of(table: str) -> Stage | None:
    """The stage that declares ``table`` as an output, or ``None``."""
    for stage in STAGES:
        if table in stage.outputs:
            return stage
    return None
