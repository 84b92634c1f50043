"""Small conveniences for the stage notebooks: plot style, display options, run banner.

Nothing here computes a result; it only makes every notebook look and print the same way.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib as mpl
import pandas as pd
import seaborn as sns

__all__ = ["setup_notebook", "banner"]


def setup_notebook() -> None:
    """Set one plot style and sensible pandas display options for every notebook."""
    sns.set_theme(style="whitegrid", context="notebook", palette="deep")
    mpl.rcParams.update({"figure.figsize": (8, 4.2), "figure.dpi": 100, "axes.titleweight": "bold"})
    pd.set_option("display.max_columns", 30)
    pd.set_option("display.width", 160)
    pd.set_option("display.float_format", lambda v: f"{v:,.3f}")


def banner(dataset: str | Path, output_dir: str | Path, seed: int) -> str:
    """One line saying what this notebook reads and writes (no absolute machine paths)."""
    return f"dataset: {Path(dataset).name} | run folder: {Path(output_dir).name} | seed: {seed}"
