"""The executive summary page (``summary.html``) built from the tables stage 06 saved;
``report.html`` puts it on top.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

import numpy as np
import pandas as pd

from channelops.run.folder import read_table, run_paths, table_exists
from channelops.stages.evaluation import executive_summary

__all__ = ["write_summary"]


def write_summary(output_dir: str | os.PathLike[str], currency: str) -> Path:
    """Build the executive summary from the run's saved tables and write ``summary.html``.

    It reads ``scorecard`` (required), ``experiment_results``, ``user_base_growth``,
    ``plan_vs_actual`` and ``policy_comparison`` back from the run folder, so the summary
    is made from exactly what the run wrote; ``report.html`` puts it on top. The sentences
    come with their data strings escaped (:func:`executive_summary`), the table cells and
    the currency are escaped here.
    """
    sentences, table = executive_summary(
        read_table("scorecard", output_dir),
        _optional_table("experiment_results", output_dir),
        _optional_table("user_base_growth", output_dir),
        _optional_table("plan_vs_actual", output_dir),
        _optional_table("policy_comparison", output_dir),
        currency,
    )
    by = "contribution" if table["contribution"].notna().any() else "gross margin"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_fmt_cell(c, r[c])}</td>" for c in table.columns) + "</tr>"
        for _, r in table.iterrows()
    )
    page = (
        "<h2>Executive summary</h2>\n<p>"
        + " ".join(sentences)
        + f"</p>\n<p><b>Channel scorecard</b> (money in {html.escape(currency)}; ranked by "
        f"{by}; definitions in stage 06)</p>\n"
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>\n"
    )
    target = run_paths(output_dir).root / "summary.html"
    tmp = target.with_name(f".summary.{os.getpid()}.tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, target)
    return target


def _optional_table(name: str, output_dir: str | os.PathLike[str]) -> pd.DataFrame | None:
    """The run's table ``name``, or None when no stage wrote it."""
    return read_table(name, output_dir) if table_exists(name, output_dir) else None


def _fmt_cell(col: str, v: object) -> str:
    if isinstance(v, (float, np.floating)):
        if not np.isfinite(v):
            return "&ndash;"
        if col in ("marketing_roi", "ltv_cac"):
            return f"{v:,.2f}"
        if col.endswith("_rate"):
            return f"{v:.1%}"
        return f"{v:,.0f}"
    return html.escape(str(v))
