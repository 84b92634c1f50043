"""The executive summary: made from the run's tables, on top of a report that needs no network."""

from __future__ import annotations

import base64
import re

import pandas as pd
import pytest

from channelops.run.folder import write_table
from channelops.run.summary import write_summary
from channelops.stages import evaluation as ev


def _scorecard() -> pd.DataFrame:
    # two channels; b ranks first on contribution 120 against 61
    return pd.DataFrame(
        {
            "channel_id": ["b", "a"],
            "rank": [1, 2],
            "revenue": [240.0, 250.0],
            "gross_margin": [140.0, 125.0],
            "contribution": [120.0, -61.0],
            "marketing_return_rate": [6.0, 1.525],
            "cac": [20.0, 20.0],
            "ltv_cac": [3.5, 7.5],
            "on_time_rate": [float("nan"), 0.5],
            "fill_rate": [0.725, 0.9333],
        }
    )


def test_summary_sentences_by_hand(tmp_path):
    write_table(_scorecard(), "scorecard", tmp_path)
    growth = pd.DataFrame(
        {
            "month": pd.to_datetime(["2024-01-01"] * 3),
            "channel_id": ["a", "a", "b"],
            "segment": ["x", "y", "x"],
            "new_customers": [2, 1, 1],
            "cumulative_customers": [2, 1, 1],
        }
    )
    write_table(growth, "user_base_growth", tmp_path)
    path = write_summary(tmp_path, "CNY")
    text = path.read_text(encoding="utf-8")
    # 240 + 250 = 490 revenue, 140 + 125 = 265 margin = 54.1%
    assert (
        "sold 490 CNY of net revenue and kept 265 CNY of gross margin" in text and "(54.1%)" in text
    )
    assert "b ranks first with 120 CNY of contribution" in text
    assert "a loses money" in text
    # best LTV/CAC is a (7.5): CAC 20
    assert "The best acquisition channel is a: a new customer costs 20 CNY and returns 7.5x" in text
    # 4 new customers, a brought 3 = 75%
    assert "4 customers were first seen in the data; a brought the most (3, 75%)" in text
    sentences, table = ev.executive_summary(_scorecard(), None, growth, None, None, "CNY")
    assert 5 <= len(sentences) <= 8
    assert table["channel_id"].tolist() == ["b", "a"]


def test_run_summary_numbers_equal_the_run_tables(tiny_run):
    tables = tiny_run / "tables"
    sc = pd.read_parquet(tables / "scorecard.parquet").sort_values("rank")
    ex = pd.read_parquet(tables / "experiment_results.parquet")
    growth = pd.read_parquet(tables / "user_base_growth.parquet")
    summary = (tiny_run / "summary.html").read_text(encoding="utf-8")
    prose = summary.split("<table>")[0]
    assert prose.count("<li>") == prose.count("</li>") >= 5  # one finding an item
    n_sentences = len(re.findall(r"[.!?](?:\s|</p>|</li>)", re.sub(r"\d\.\d", "", prose)))
    # five to eight findings; the plan's finding has up to three sentences
    assert 5 <= n_sentences <= 10
    top = sc.iloc[0]
    expected = [
        f"{sc['revenue'].sum():,.0f} CNY",
        f"{sc['gross_margin'].sum():,.0f} CNY",
        f"{top['channel_id']} ranks first with {top['contribution']:,.0f} CNY",
        f"{int(growth['new_customers'].sum()):,} customers were first seen",
    ]
    e = ex.iloc[0]
    cuped = pd.notna(e["cuped_diff"])
    diff = e["cuped_diff"] if cuped else e["diff"]
    lo, hi = (e["cuped_lo"], e["cuped_hi"]) if cuped else (e["welch_lo"], e["welch_hi"])
    expected.append(f"{diff:+,.1f} net revenue per customer (95% interval {lo:+,.1f} to {hi:+,.1f}")
    for snippet in expected:
        assert snippet in summary, snippet
    # the key table: every channel's revenue and contribution, as in the scorecard
    for _, r in sc.iterrows():
        assert (
            f"<td>{r['channel_id']}</td><td>{int(r['rank'])}</td><td>{r['revenue']:,.0f}</td>"
            in summary
        )

    # and the whole prose is what the run's own tables give, sentence for sentence
    def opt(name):
        path = tables / f"{name}.parquet"
        return pd.read_parquet(path) if path.exists() else None

    gain = opt("plan_vs_current")
    sentences, _ = ev.executive_summary(
        sc, ex, growth, opt("plan_vs_actual"), opt("policy_comparison"), "CNY", gain
    )
    # the plan's finding is 02's like-for-like gain over now, not the realised season's
    g = gain.set_index("allocation").loc["gain"]
    assert (
        f"earn {abs(g['profit']):,.0f} CNY a week {'more' if g['profit'] >= 0 else 'less'} "
        f"profit (90% interval {g['profit_lo']:,.0f} CNY to {g['profit_hi']:,.0f} CNY"
    ) in summary
    # the sentences carry their data strings escaped already: the page adds no escaping
    assert "".join(f"<li>{s}</li>" for s in sentences) in prose  # every finding, in order


def test_report_opens_with_the_summary_and_needs_no_network(tiny_run):
    report = (tiny_run / "report.html").read_text(encoding="utf-8")
    first_stage = re.search(r"id=[\"']stage-01[\"']", report)
    assert first_stage and report.index("Executive summary") < first_stage.start()
    assert not re.findall(r"https?://", report), (
        "no URL at all: nothing to fetch, no link that needs a network"
    )
    images = re.findall(r"<img[^>]+src=[\"']([^\"']+)", report)
    assert images
    for src in images:
        head, _, data = src.partition(",")
        raw = base64.b64decode(data, validate=True)
        if head == "data:image/png;base64":
            assert raw.startswith(b"\x89PNG\r\n\x1a\n") and len(raw) > 200
        else:
            assert head == "data:image/svg+xml;base64" and b"<svg" in raw[:500]
    for name in ("scorecard", "user_base_growth", "channel_overlap", "experiment_forest"):
        assert (tiny_run / "figures" / f"{name}.png").stat().st_size > 1000


@pytest.mark.parametrize(
    "table", ["scorecard", "experiment_results", "user_base_growth", "plan_vs_actual"]
)
def test_stage_06_tables_are_written(tiny_run, table):
    assert len(pd.read_parquet(tiny_run / "tables" / f"{table}.parquet"))


def test_policy_sentence_says_less_or_more_in_words():
    policies = pd.DataFrame(
        {
            "comparison": ["inventory", "fulfilment"],
            "scope": ["pooled", "all channels"],
            "metric": ["average_stock_value", "breach_rate"],
            "before": [100.0, 0.255],
            "after": [94.1, 0.173],
            "relative_delta": [-0.059, (0.173 - 0.255) / 0.255],
        }
    )
    sentences, _ = ev.executive_summary(_scorecard(), None, None, None, policies, "CNY")
    said = " ".join(sentences)
    # 94.1 / 100 - 1 = -5.9%: "5.9% less", never "-5.9%"
    assert "holds 5.9% less stock value than the naive policy" in said
    assert "moves the SLA breach rate from 25.5% to 17.3%" in said
    more = policies.assign(relative_delta=[0.02, -0.3])
    said = " ".join(ev.executive_summary(_scorecard(), None, None, None, more, "CNY")[0])
    assert "holds 2.0% more stock value" in said
