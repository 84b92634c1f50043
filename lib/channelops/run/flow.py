"""The data flow between stages, as a table a reader can scan (START_HERE.ipynb shows it).

Built from the stage registry (:mod:`channelops.run.registry`), the same list the runner
uses, so the table can never drift from what the runner does.
"""

from __future__ import annotations

import pandas as pd

from channelops.run.registry import STAGES, Stage, producer_of

__all__ = ["stage_flow"]

EXPORTS_ONLY = "the dataset's exports"


def _reads(stage: Stage) -> str:
    """``table (producer key), ...`` for every table the stage reads, or the exports."""
    parts = []
    for table in stage.inputs:
        producer = producer_of(table)
        parts.append(f"{table} ({producer.key if producer else 'dataset'})")
    return ", ".join(parts) or EXPORTS_ONLY


def stage_flow(stages: tuple[Stage, ...] = STAGES) -> pd.DataFrame:
    """One row per stage: its notebook, the tables it reads (with the stage that writes each)
    and the tables it writes.

    Args:
        stages: the stages to list (default: every registered stage, in registry order).

    Returns:
        DataFrame indexed by stage key with string columns ``notebook``,
        ``reads (from stage)`` and ``writes``.
    """
    return pd.DataFrame(
        {
            "notebook": [s.notebook for s in stages],
            "reads (from stage)": [_reads(s) for s in stages],
            "writes": [", ".join(s.outputs) for s in stages],
        },
        index=pd.Index([s.key for s in stages], name="stage"),
    )
