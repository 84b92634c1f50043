"""The report as a reader sees it: formulas drawn, findings as text, warnings as notes,
wide tables in a frame that scrolls, the run's wall time in the header."""

import re

import nbformat
import pandas as pd

from channelops.run.registry import stage_by_key
from channelops.run.report import (
    _CSS,
    build_report,
    describe_figures,
    duration_text,
    frame_tables,
    is_prose,
    last_heading,
    math_as_text,
    notebook_body_html,
    render_math,
    stderr_notes,
    wall_time_text,
)

#: formulas of the stage notebooks that mathtext does not know as written
NOTEBOOK_FORMULAS = [
    r"$\sum_i \lVert x_i - \mu_{c(i)} \rVert^2$",
    r"$P \ge$",
    r"$\sum_k x_{wk} \le s_w$",
    r"$s = \sqrt{\hat y} + \tfrac12\,\text{scale}$",
    r"$$\text{MASE} = \frac{\tfrac1H\sum_h |y_{T+h}-\hat y_{T+h}|}{\tfrac{1}{T-7}"
    r"\sum_{t>7}|y_t-y_{t-7}|},\qquad"
    "\n"
    r"\text{WAPE} = \frac{\sum|e|}{\sum y}.$$",
    r"$P(\text{wait} \le t) = 1 - C(N, A)\,e^{-(N-A)t/h}$",
]
HOSTILE = "dy<img src=x onerror=alert(10)><script>alert(4)</script>"


def _visible_text(fragment: str) -> str:
    """The text of ``fragment`` outside tags (attributes such as alt and title are not shown)."""
    return re.sub(r"<[^>]*>", " ", fragment)


def test_every_notebook_formula_is_drawn_and_no_latex_is_left_as_text():
    for formula in NOTEBOOK_FORMULAS:
        out = render_math(f"before {formula} after")
        assert out.count('<img class="math') == 1, formula
        text = _visible_text(out)
        assert "$" not in text and "\\" not in text, (formula, text)


def test_display_formula_is_a_block_and_aligned_on_its_baseline():
    out = render_math(r"$$\frac{a}{b}$$ and $x_i$")
    assert 'class="math display"' in out and 'class="math"' in out
    depths = [float(d) for d in re.findall(r"vertical-align: -([\d.]+)pt", out)]
    assert len(depths) == 2 and all(d > 0 for d in depths), "both reach below the baseline"


def test_text_fallback_has_symbols_not_commands():
    assert math_as_text(r"\frac{\lambda}{1-\lambda} \ge \tfrac12") == "(λ)/(1-λ) ≥ (1)/(2)"
    assert math_as_text(r"\sum_{t>7} \hat y_{t}") == "∑_(t>7) y_(t)"


def test_formula_drawing_is_the_same_twice():
    """No date stamp in the SVG: the same run gives the same report."""
    assert render_math(r"$x^2 + \lVert v \rVert$") == render_math(r"$x^2 + \lVert v \rVert$")


def test_stderr_notes_keep_warnings_about_the_data_and_drop_library_noise():
    text = (
        "/work/lib/channelops/x.py:12: UserWarning: 3 of 5 score bins are empty\n"
        "  warnings.warn(msg)\n"
        "/venv/lib/pandas/core.py:9: FutureWarning: the default of observed will change\n"
        "  return f(x)\n"
        "/venv/lib/numpy/core.py:9: RuntimeWarning: invalid value encountered in divide\n"
        "  ret = a / b\n"
        "fitting:  50%|#####     | 1/2\rfitting: 100%|##########| 2/2\n"
        "no shipments file: delays are left out\n"
    )
    assert stderr_notes(text) == [
        "3 of 5 score bins are empty",
        "RuntimeWarning: invalid value encountered in divide",
        "no shipments file: delays are left out",
    ]
    assert stderr_notes("") == []


def test_frame_tables_wraps_each_table_in_a_scrolling_frame():
    out = frame_tables(
        "<p>x</p><table class='dataframe'><tr><td>1</td></tr></table><TABLE></TABLE>"
    )
    assert out.count('<div class="table-scroll"><table') == 2, "upper case tags too"
    assert out.count("</table></div>") == 2
    assert "div.table-scroll { max-width: 100%; overflow-x: auto;" in _CSS


def test_prose_is_told_from_a_printed_layout():
    assert is_prose("rule: among the 12 plans with profit >= 98% of the best\nrecommended: x")
    assert not is_prose("model      mase\nnaive     1.000\n")
    assert not is_prose("a\n-----\nb")
    assert not is_prose("\n\n")


def test_css_styles_the_classes_the_template_emits():
    """The old rule hid stderr with JupyterLab class names the basic template never emits."""
    assert "jp-" not in _CSS and "display: none" not in _CSS.split("a.anchor-link")[0]
    for cls in (".note", ".output_stderr", ".finding", ".printed", ".table-scroll"):
        assert cls in _CSS, cls


def test_duration_and_wall_time_for_people():
    assert duration_text(0.4) == "0.4 s" and duration_text(45.2) == "45 s"
    assert duration_text(207.09) == "3 min 27 s" and duration_text(3725) == "1 h 02 min"
    manifest = {"seconds": 76.5, "finished_at": "2026-12-06T12:00:29+00:00"}
    assert wall_time_text(manifest) == "ran 1 min 16 s, finished 2026-12-06 12:00 UTC"
    spans = {"started_at": "2026-12-06T11:57:02+00:00", "finished_at": "2026-12-06T12:00:29+00:00"}
    assert wall_time_text(spans).startswith("ran 3 min 27 s")
    assert wall_time_text({}) == "run time unknown"


def _run(root):
    """A run folder with stage 05's notebook: formulas, a findings cell, a warning, a wide
    table, printed prose and a printed layout; plus an executive summary."""
    stage = stage_by_key("05")
    wide = pd.DataFrame({f"column_{i}": [i * 1000.5] for i in range(40)})
    shown = nbformat.v4.new_code_cell("show()")
    shown.outputs = [
        nbformat.v4.new_output(
            "stream",
            name="stderr",
            text=f"/x/y.py:3: UserWarning: histogram of {HOSTILE} is empty\n  warn()\n",
        ),
        nbformat.v4.new_output("stream", name="stdout", text="2 of 5 channels ship late\n"),
        nbformat.v4.new_output("stream", name="stdout", text="model   mase\nnaive   1.0\n"),
        nbformat.v4.new_output(
            "execute_result", data={"text/html": wide.to_html()}, execution_count=1
        ),
    ]
    finding = nbformat.v4.new_code_cell("print(found)")
    finding.outputs = [
        nbformat.v4.new_output(
            "stream",
            name="stdout",
            text=f"- Chosen: **buy_again** on {HOSTILE}\n- second point\n",
        )
    ]
    cells = [
        nbformat.v4.new_markdown_cell(r"# Logistics" "\n" r"Cost $\sum_k x_{wk} \le s_w$."),
        shown,
        nbformat.v4.new_markdown_cell("## What we found"),
        finding,
    ]
    (root / "notebooks").mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(cells=cells), str(root / "notebooks" / stage.notebook))
    (root / "summary.html").write_text("<h2>Executive summary</h2><p>The plan.</p>")
    return {
        "run_name": "reader",
        "status": "ok",
        "seconds": 76.5,
        "finished_at": "2026-12-06T12:00:29+00:00",
        "stages": {"05": {"name": stage.name, "status": "ok", "seconds": 134.5, "tables": []}},
        "parameters": {"seed": 1},
    }


def test_report_reads_as_a_page(tmp_path):
    page = build_report(tmp_path, _run(tmp_path)).read_text(encoding="utf-8")
    body = page[page.index("<body>") :]
    # formulas drawn, none left as LaTeX
    assert len(re.findall(r'<img[^>]*class="math"', body)) == 1 and "$" not in _visible_text(body)
    assert "\\le" not in _visible_text(body)
    # the findings as a list with bold, not a code box; the data's markup stays text
    finding = re.search(r'<div class="finding">(.*?)</div>', body, re.S).group(1)
    assert "<li>Chosen: <strong>buy_again</strong>" in finding and "<pre" not in finding
    assert "dy&lt;img src=x onerror=alert(10)&gt;" in finding
    # the warning as a note, escaped; no stderr code box
    note = re.search(r'<div class="note">(.*?)</div>', body, re.S).group(1)
    assert "histogram of dy&lt;img" in note and "warn()" not in note
    assert "output_stderr" not in body
    # printed prose as text, a printed layout stays a code box
    assert '<div class="printed">2 of 5 channels ship late</div>' in body
    assert re.search(r"<pre>model   mase", body)
    # every table in a frame that scrolls
    assert body.count("<table") == body.count('<div class="table-scroll"><table') == 2
    # nothing runs
    lowered = body.lower()
    assert "<script" not in lowered and "onerror=" not in lowered.replace(
        "onerror=alert(10)&gt;", ""
    )
    # the executive summary opens the page, before the run table; wall time in the header
    assert body.index("Executive summary") < body.index("<h2>Run</h2>")
    assert "ran 1 min 16 s" in body and "134" not in body.split("</header>")[0]
    assert "2 min 14 s" in body, "the stage's own time in the run table"


def test_table_numbers_and_times_for_people():
    from channelops.run.report import humanise_tables

    table = (
        "<table><tr><th></th><th>orders</th><th>share</th><th>at</th></tr>"
        "<tr><th>a</th><td>62,085.000</td><td>-0.000</td><td>2023-05-17 12:18:00.041916416</td></tr>"
        "<tr><th>b</th><td>1.000</td><td>0.250</td><td>2023-05-17 00:00:00</td></tr>"
        "<tr><th>c</th><td>-3.000</td><td>-0.125</td><td>not a time 00:00</td></tr></table>"
    )
    out = humanise_tables(f"<p>62,085.000 in text stays</p>{table}")
    cells = re.findall(r"<td>([^<]*)</td>", out)
    assert cells == [
        "62,085", "0.000", "2023-05-17 12:18",
        "1", "0.250", "2023-05-17",
        "-3", "-0.125", "not a time 00:00",
    ]  # fmt: skip
    assert "<p>62,085.000 in text stays</p>" in out
    # a column with one fractional figure keeps its decimals everywhere
    mixed = humanise_tables("<table><tr><td>2.000</td></tr><tr><td>2.500</td></tr></table>")
    assert re.findall(r"<td>([^<]*)</td>", mixed) == ["2.000", "2.500"]


def test_every_figure_has_alternative_text_naming_its_section(tmp_path):
    """nbconvert warns 'Alternative text is missing' on an image without alt text; each
    figure takes the last heading above it (markup in it escaped), its own alt text wins."""
    png = "iVBORw0KGgo="
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("plot()", outputs=[_image(png)]),
        nbformat.v4.new_markdown_cell("Some text\n\n## Response `curves` & <b>x</b>\n\nmore"),
        nbformat.v4.new_code_cell("plot()", outputs=[_image(png), _image(png, alt="own")]),
    ]
    alts = [describe_figures(c, last_heading(nb.cells[1].source)) for c in nb.cells[2:]]
    metas = [o["metadata"]["image/png"]["alt"] for o in alts[0].outputs]
    assert metas == ["Figure: Response curves & <b>x</b>", "own"]
    assert last_heading("no heading here") is None
    nbformat.write(nb, str(tmp_path / "figures.ipynb"))
    body = notebook_body_html(tmp_path / "figures.ipynb")
    found = re.findall(r'<img[^>]*alt="([^"]*)"', body)
    assert found == ["Figure", "Figure: Response curves &amp; &lt;b&gt;x&lt;/b&gt;", "own"]


def _image(png: str, alt: str | None = None) -> nbformat.NotebookNode:
    meta = {"image/png": {"alt": alt}} if alt else {}
    return nbformat.v4.new_output("display_data", data={"image/png": png}, metadata=meta)
