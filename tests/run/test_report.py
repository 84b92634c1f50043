"""The report: formulas drawn offline, and a page that runs nothing it was handed."""

import json
import re

import nbformat
import pytest

from channelops.run import report
from channelops.run.registry import stage_by_key
from channelops.run.report import build_report, render_math, sanitise_html

COUPON = "free<script>alert(4)</script>_coupon"
CHANNEL = "dy<img src=x onerror=alert(10)>"
#: a 1x1 PNG, as a figure output of a notebook
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="


def test_inline_and_display_math_become_svg_images():
    out = render_math(r"rate $\lambda \sim \Gamma(r, \alpha)$ and $$\sum_k x_k$$")
    assert out.count("data:image/svg+xml;base64,") == 2
    assert 'class="math display"' in out and 'alt="\\lambda \\sim \\Gamma(r, \\alpha)"' in out


def test_currency_amounts_are_not_taken_for_math():
    text = "costs 5$ or 6$ each, and $ 3 is not math"
    assert render_math(text) == text


def test_formula_mathtext_cannot_draw_is_shown_as_readable_text():
    out = render_math(r"$\begin{matrix} a \le b \end{matrix}$")
    assert out.startswith('<span class="math-text"') and out.endswith(">a ≤ b</span>")


def test_sanitiser_keeps_what_a_report_needs():
    formula = render_math(r"$x^2$")
    kept = (
        f"<h2 id='a'>T</h2><p><b>b</b> <code>c</code></p>{formula}"
        "<table border='1' class='dataframe'><thead><tr style='text-align: right;'><th>k</th>"
        "</tr></thead><tbody><tr><td style='text-align:left'>v</td></tr></tbody></table>"
        f"<img alt='fig' src='data:image/png;base64,{PNG}'><a href='#a'>up</a><ul><li>i</li></ul>"
    )
    out = sanitise_html(kept)
    for piece in ('<h2 id="a">', "<b>b</b>", "<code>c</code>", 'class="math"',
                  "data:image/svg+xml;base64,", 'class="dataframe"', 'style="text-align:right"',
                  'style="text-align:left"', f'src="data:image/png;base64,{PNG}"', 'href="#a"',
                  "<li>i</li>"):  # fmt: skip
        assert piece in out, piece


def test_sanitiser_drops_scripts_handlers_and_urls_that_run_or_fetch():
    out = sanitise_html(
        f"<p>{COUPON} {CHANNEL}<a href='javascript:alert(1)'>j</a><a href='data:text/html,x'>d"
        "</a><img src='https://tracker.example/p.png'><svg onload=alert(2)></svg>"
        "<iframe src='x'></iframe><div style='position:fixed;background:url(http://x)'>s</div>"
        "<style>body{display:none}</style></p>"
    )
    lowered = out.lower()
    for gone in ("<script", "alert(4)", "onerror", "onload", "javascript:", "data:text",
                 "tracker.example", "<iframe", "<svg", "position", "url(", "<style"):  # fmt: skip
        assert gone not in lowered, gone
    assert "free_coupon" in out and "dy<img>" in out


def test_sanitiser_takes_text_only():
    with pytest.raises(TypeError):
        sanitise_html(None)


def _hostile_run(root):
    """A run folder with one executed notebook and a summary that carry hostile text."""
    stage = stage_by_key("06")
    cell = nbformat.v4.new_code_cell("show()")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text=f"{COUPON} {CHANNEL}\n"),
        nbformat.v4.new_output(
            "execute_result",
            data={"text/html": f"<table><tr><td>{CHANNEL}</td><td>{COUPON}</td></tr></table>"},
            execution_count=1,
        ),
        nbformat.v4.new_output("display_data", data={"image/png": PNG}),
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {COUPON}"), cell])
    (root / "notebooks").mkdir(parents=True)
    nbformat.write(nb, str(root / "notebooks" / stage.notebook))
    (root / "summary.html").write_text(f"<p>Experiment {COUPON} on {CHANNEL}</p>")
    return {
        "run_name": "hostile",
        "status": "ok",
        "stages": {"06": {"name": stage.name, "status": "ok", "seconds": 1.0, "tables": []}},
        "parameters": {"seed": 1},
    }


def test_report_of_hostile_run_runs_nothing_and_keeps_the_figure(tmp_path):
    manifest = _hostile_run(tmp_path)
    page = build_report(tmp_path, manifest).read_text(encoding="utf-8")
    lowered = page.lower()
    assert "<script" not in lowered and not re.search(r"<[^>]*onerror", lowered)
    # the printed output keeps the name as visible, escaped text: data, not markup
    assert "dy&lt;img src=x onerror=alert(10)&gt;" in page
    assert page.count(f"data:image/png;base64,{PNG}") == 1, "the figure stays"
    assert "free_coupon" in page and "Experiment" in page and "<table>" in page
    assert 'id="stage-06"' in page and "<style>" in page, "own anchors and style sheet stay"


def test_tiny_run_report_keeps_its_figures_formulas_and_tables(tiny_run):
    """The sanitised page has every image and table the unsanitised body had."""
    manifest = json.loads((tiny_run / "manifest.json").read_text())
    raw = report._page_body(tiny_run, manifest)
    page = (tiny_run / "report.html").read_text(encoding="utf-8")
    for tag in ("<img", "<table", "<tr", "<td", "<th", "<h2", "<pre"):
        assert len(re.findall(tag, page)) == len(re.findall(tag, raw)) > 0, tag
    assert page.count("data:image/png;base64,") >= 5
    assert page.count('class="math') == raw.count('class="math') > 0
