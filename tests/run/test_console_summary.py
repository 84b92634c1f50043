"""What the command line prints when a run ends: stages in a line, the executive summary's
first findings, what is stale, where the report is; no wall of row counts."""

from __future__ import annotations

from pathlib import Path

from channelops.run.summary import console_summary, summary_findings

PAGE = (
    "<h2>Executive summary</h2>\n<p>The 2 channels sold 1,000 CNY (41.7%). tmall ranks "
    "first with 600 CNY. Not every channel earns its place: dy&lt;b&gt;\x1b[2J loses money. "
    "A fourth. A fifth.</p>\n<p><b>Channel scorecard</b></p><table><tr><td>x</td></tr></table>"
)


def _manifest(**stages) -> dict:
    entries = {k: {"name": n, "status": st, "seconds": 12.4} for k, (n, st) in stages.items()}
    return {"status": "ok", "seconds": 75.2, "stages": entries, "report": "/r/report.html",
            "tables": {"orders": {"rows": 15636}}}  # fmt: skip


def test_findings_are_the_first_sentences_as_plain_text():
    found = summary_findings(PAGE)
    assert found == [
        "The 2 channels sold 1,000 CNY (41.7%).",
        "tmall ranks first with 600 CNY.",  # a sentence may start with a channel id
        "Not every channel earns its place: dy<b>[2J loses money.",  # no terminal escape
        "A fourth.",
    ]
    assert summary_findings("<ul><li>one &amp; two</li><li><b>three</b></li></ul>", 1) == [
        "one & two"
    ]
    assert summary_findings("<h2>Executive summary</h2>") == []


def test_console_summary_gives_findings_and_the_report_not_row_counts(tmp_path: Path):
    (tmp_path / "summary.html").write_text(PAGE, encoding="utf-8")
    m = _manifest(**{"04": ("forecasting", "ok"), "06": ("evaluation", "ok")})
    text = "\n".join(console_summary(m, tmp_path))
    assert "ok: 2 of 2 stage(s) ok, 1 min 15 s wall time" in text
    assert "04 forecasting ok 12 s | 06 evaluation ok 12 s" in text
    assert text.count("\n  - ") == 4 and "A fifth" not in text
    assert text.rstrip().endswith("report: /r/report.html")
    assert "15,636" not in text and "rows" not in text


def test_console_summary_says_when_the_findings_are_stale(tmp_path: Path):
    (tmp_path / "summary.html").write_text(PAGE, encoding="utf-8")
    m = _manifest(**{"04": ("forecasting", "ok"), "06": ("evaluation", "stale")})
    m["stages"]["06"]["stale_because"] = "stage 04 (forecasting), whose tables it reads, ran again"
    m["stages"]["04"]["kernel_log"] = {"file": "notebooks/04_forecasting.kernel.log", "lines": 3}
    text = "\n".join(console_summary(m, tmp_path))
    assert "key findings (from stage 06, which is STALE" in text
    assert "STALE 06 evaluation: stage 04 (forecasting)" in text
    assert f"kernel log of 04: {tmp_path / 'notebooks/04_forecasting.kernel.log'}" in text


def test_console_summary_without_stage_06_says_where_findings_come_from(tmp_path: Path):
    m = _manifest(**{"04": ("forecasting", "ok")})
    del m["report"]
    text = "\n".join(console_summary(m, tmp_path))
    assert "no key findings yet: stage 06 (evaluation) writes them" in text
    assert "no report (--no-report)" in text
