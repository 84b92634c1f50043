"""The executive summary page (``summary.html``) built from the tables stage 06 saved;
``report.html`` puts it on top. And what the command line prints when a run ends
(:func:`console_summary`): the stages in one line, the first key findings of that page,
what is stale, and where the report is.
"""

from __future__ import annotations

import html
import os
import re
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from channelops.run.folder import read_table, run_paths, table_exists
from channelops.stages.evaluation import executive_summary

__all__ = ["write_summary", "summary_findings", "console_summary"]

#: Findings the end-of-run summary prints (the executive summary's first sentences).
KEY_FINDINGS = 4


def write_summary(output_dir: str | os.PathLike[str], currency: str) -> Path:
    """Build the executive summary from the run's saved tables and write ``summary.html``.

    One finding a list item (a manager scans them; a paragraph of eight findings hid them).

    It reads ``scorecard`` (required), ``experiment_results``, ``user_base_growth``,
    ``plan_vs_actual``, ``policy_comparison`` and 02's ``plan_vs_current`` (the plan's
    gain over now, like for like) back from the run folder, so the summary
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
        _optional_table("plan_vs_current", output_dir),
    )
    by = "contribution" if table["contribution"].notna().any() else "gross margin"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_fmt_cell(c, r[c])}</td>" for c in table.columns) + "</tr>"
        for _, r in table.iterrows()
    )
    page = (
        "<h2>Executive summary</h2>\n<ul>"
        + "".join(f"<li>{sentence}</li>" for sentence in sentences)
        + f"</ul>\n<p><b>Channel scorecard</b> (money in {html.escape(currency)}; ranked by "
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


_TAG = re.compile(r"<[^>]+>")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
#: a sentence ends at ., ! or ? followed by a space (a decimal point has a digit after it)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")


def summary_findings(page: str, limit: int = KEY_FINDINGS) -> list[str]:
    """The first ``limit`` findings of an executive summary page, as plain text.

    Args:
        page: ``summary.html`` as written by :func:`write_summary` (findings as list items,
            or as sentences of its first paragraph).
        limit: findings to keep.

    Returns:
        Sentences without markup, entities decoded, control characters removed (text from
        the data must not move a terminal's cursor); ``[]`` for a page without findings.
    """

    def plain(fragment: str) -> str:
        text = html.unescape(_TAG.sub("", fragment))
        return " ".join(_CONTROL.sub("", text).split())

    items = [plain(m) for m in re.findall(r"<li[^>]*>(.*?)</li>", page, flags=re.S)]
    if not items:
        first = re.search(r"<p[^>]*>(.*?)</p>", page, flags=re.S)
        items = _SENTENCE_END.split(plain(first.group(1))) if first else []
    return [item for item in items if item][:limit]


def console_summary(manifest: dict[str, Any], output: Path) -> list[str]:
    """The lines the command line prints when a run ends.

    One line of stages with status and time, the run's wall time, the first
    :data:`KEY_FINDINGS` findings of the executive summary (``summary.html``, stage 06),
    the stale stages and kernel logs when there are any, and the report's path. Row counts
    stay in ``manifest.json`` and the report.

    Args:
        manifest: the finished run's manifest.
        output: the run folder.
    """
    stages = manifest.get("stages", {})
    seconds = manifest.get("seconds") or 0.0
    ok = sum(e.get("status") == "ok" for e in stages.values())
    lines = [f"\n{manifest.get('status', '?')}: {ok} of {len(stages)} stage(s) ok, "
             f"{_duration(seconds)} wall time"]  # fmt: skip
    parts = [
        f"{key} {e.get('name', '?')} {e.get('status', '?')}"
        + (f" {_duration(e['seconds'])}" if isinstance(e.get("seconds"), int | float) else "")
        for key, e in stages.items()
    ]
    row = "  " + parts[0] if parts else ""
    for part in parts[1:]:  # whole stages per line, never one cut in two
        if len(row) + 3 + len(part) > 100:
            lines.append(row + " |")
            row = "  " + part
        else:
            row += " | " + part
    lines.append(row)
    page = Path(output) / "summary.html"
    findings = summary_findings(page.read_text(encoding="utf-8")) if page.exists() else []
    if findings:
        stale = stages.get("06", {}).get("status") == "stale"
        lines.append(
            "key findings"
            + (" (from stage 06, which is STALE: see below)" if stale else "")
            + " - the executive summary opens the report:"
        )
        for finding in findings:
            lines += textwrap.wrap(finding, width=100, initial_indent="  - ",
                                   subsequent_indent="    ")  # fmt: skip
    elif "06" not in stages:
        lines.append("no key findings yet: stage 06 (evaluation) writes them; run it to get them")
    for key, entry in stages.items():
        if entry.get("status") == "stale":
            lines += textwrap.wrap(
                f"STALE {key} {entry.get('name', '?')}: {entry.get('stale_because', '')}",
                width=100, initial_indent="  ", subsequent_indent="    ",
            )  # fmt: skip
        log = entry.get("kernel_log")
        if isinstance(log, dict):
            lines.append(f"  kernel log of {key}: {Path(output) / log.get('file', '')}")
    if manifest.get("report"):
        lines.append(f"report: {manifest['report']}")
    elif manifest.get("report_error"):
        lines.append(f"report could not be built: {manifest['report_error']}")
    else:
        lines.append(f"no report (--no-report); tables and manifest.json in {output}")
    return lines


def _duration(seconds: float) -> str:
    """``45 s``, ``3 min 27 s``."""
    total = round(float(seconds))
    if total < 60:
        return f"{float(seconds):.0f} s"
    return f"{total // 60} min {total % 60:02d} s"
