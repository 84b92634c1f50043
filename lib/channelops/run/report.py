"""The run's ``report.html``: one self-contained page built from the executed notebooks.

Code is hidden, figures are embedded as data URIs, the style sheet is inline, and nothing
is fetched from the network, so the file can be mailed or opened on a plane. An executive
summary written by the evaluation stage (``summary.html`` in the run folder) opens the page
when it exists.

Notebook outputs and the summary carry text from the data (channel ids, experiment names,
product titles), so the page's body goes through a maintained HTML sanitiser (``nh3``,
:func:`sanitise_html`) before it is written: what a report needs stays (headings, text,
tables, lists, code, figures and formulas as ``data:image`` URIs, the classes and the few
inline styles the page's CSS uses), scripts, event handlers and ``javascript:`` URLs go.

Made for a reader, not a notebook user: formulas are drawn at report time (matplotlib's
mathtext, as inline SVG; no renderer is fetched when the page is opened), the text a
"What we found" cell prints is shown as text (lists, bold) instead of a code box, a
warning a notebook wrote to stderr is shown as a note (library deprecation notices and
progress bars are left out), every table sits in a frame that scrolls sideways inside the
page, and the header gives the run's wall time.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import html
import io
import os
import re
from pathlib import Path
from typing import Any

import matplotlib as mpl
import nbformat
import nh3
from matplotlib.font_manager import FontProperties
from matplotlib.mathtext import math_to_image
from nbconvert import HTMLExporter
from nbconvert.filters.markdown_mistune import markdown2html_mistune
from nbformat import NotebookNode

from channelops.run.registry import STAGES

__all__ = [
    "build_report",
    "describe_figures",
    "findings_as_text",
    "frame_tables",
    "humanise_tables",
    "last_heading",
    "notebook_body_html",
    "render_math",
    "sanitise_html",
    "stderr_notes",
    "stale_notes",
]

_CSS = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 0;
       color: #1f2328; background: #fff; line-height: 1.45; }
main { max-width: 1100px; margin: 0 auto; padding: 1.5rem 2rem 4rem; }
header.run { background: #0f3d5e; color: #fff; padding: 1.2rem 2rem; }
header.run h1 { margin: 0 0 .3rem; font-size: 1.6rem; }
header.run .meta { opacity: .85; font-size: .9rem; }
.status-ok { color: #1a7f37; font-weight: 600; } .status-failed { color: #cf222e; font-weight: 600; }
.status-stale, .status-running, .status-skipped { color: #9a6700; font-weight: 600; }
nav.toc { border: 1px solid #d0d7de; border-radius: 6px; padding: .6rem 1rem; margin: 1rem 0; }
nav.toc a { text-decoration: none; }
section.stage { border-top: 3px solid #0f3d5e; margin-top: 2.5rem; padding-top: .5rem; }
p, li, dd, td, th { overflow-wrap: break-word; }
a.anchor-link { display: none; }
div.table-scroll { max-width: 100%; overflow-x: auto; margin: .6rem 0; }
div.table-scroll > table { margin: 0; }
table { border-collapse: collapse; margin: .6rem 0; font-size: .86rem; }
th, td { border: 1px solid #d0d7de; padding: .25rem .55rem; text-align: right; }
th { background: #f6f8fa; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; height: auto; }
img.math { display: inline; } img.math.display { display: block; margin: .6em auto; }
pre { background: #f6f8fa; padding: .6rem; overflow-x: auto; font-size: .85rem; }
.output_area pre { background: none; padding: 0; }
.output_subarea, .text_cell_render { max-width: 100%; overflow-x: auto; }
.finding, .printed { max-width: 80ch; } .printed { white-space: pre-line; margin: .4rem 0; }
.note, .output_stderr { background: #fff8c5; border-left: 4px solid #d4a72c; padding: .4rem .8rem;
       margin: .5rem 0; font-size: .9rem; white-space: normal; }
.note .note-label { font-weight: 600; margin-right: .4em; }
.output_stderr pre { white-space: pre-wrap; }
.dataframe tbody tr th:only-of-type { vertical-align: middle; }
.dataframe tbody tr th { vertical-align: top; }
.dataframe thead th { text-align: right; }
"""

#: What :func:`sanitise_html` keeps. pandas' tables bring a scoped ``<style>`` of their own,
#: which is dropped: its three rules are in ``_CSS`` above.
_TAGS = {
    "a", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del", "div",
    "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hr", "i", "img", "kbd", "li", "main", "nav", "ol", "p", "pre", "s", "samp", "section",
    "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead",
    "tr", "u", "ul", "var",
}  # fmt: skip
_ATTRIBUTES = {
    "*": {"class", "id", "title", "style"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "table": {"border"},
    "td": {"colspan", "rowspan", "valign", "align"},
    "th": {"colspan", "rowspan", "valign", "align"},
    "div": {"data-mime-type"},
}
#: Inline style properties kept (pandas aligns table headers, the run summary a column).
_STYLE_PROPERTIES = {"text-align", "vertical-align", "white-space", "font-weight", "color"}
#: The only ``src`` an image may have: an embedded picture, never a URL to fetch.
_DATA_IMAGE = re.compile(r"^data:image/(?:png|jpeg|gif|svg\+xml);base64,[A-Za-z0-9+/=\s]*$")


_DISPLAY_MATH = re.compile(r"\$\$(.+?)\$\$", re.DOTALL)
_INLINE_MATH = re.compile(r"(?<![\\$])\$(?![\s$])([^$\n]+?)(?<![\s\\])\$")

#: LaTeX that mathtext does not know, rewritten to what it does (same drawing).
_TEX_TO_MATHTEXT = (
    (re.compile(r"\\(?:lVert|rVert)(?![A-Za-z])"), r"\\Vert "),
    (re.compile(r"\\(?:lvert|rvert)(?![A-Za-z])"), "|"),
    (re.compile(r"\\ge(?![A-Za-z])"), r"\\geq "),
    (re.compile(r"\\le(?![A-Za-z])"), r"\\leq "),
    (re.compile(r"\\ne(?![A-Za-z])"), r"\\neq "),
    (re.compile(r"\\[td]frac(?![A-Za-z])"), r"\\frac"),
    # \frac12 (single-token arguments without braces) as \frac{1}{2}
    (re.compile(r"\\frac\s*([A-Za-z0-9])\s*([A-Za-z0-9])"), r"\\frac{\1}{\2}"),
    (re.compile(r"\\textrm(?![A-Za-z])"), r"\\mathrm"),
    (re.compile(r"\\(?:displaystyle|textstyle|limits|nolimits)(?![A-Za-z])"), ""),
    (re.compile(r"\\!"), ""),
)
#: Symbols for the text fallback of a formula mathtext cannot draw at all.
_TEX_SYMBOLS = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "theta": "θ",
    "lambda": "λ", "mu": "μ", "nu": "ν", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ",
    "phi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω", "Gamma": "Γ", "Delta": "Δ",
    "Sigma": "Σ", "Pi": "Π", "Omega": "Ω", "sum": "∑", "prod": "∏", "int": "∫",
    "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "ne": "≠", "neq": "≠", "approx": "≈",
    "sim": "~", "pm": "±", "times": "×", "cdot": "·", "in": "∈", "cap": "∩", "cup": "∪",
    "infty": "∞", "to": "→", "mid": "|", "lVert": "‖", "rVert": "‖", "Vert": "‖",
    "top": "ᵀ", "sqrt": "√", "partial": "∂", "quad": " ", "qquad": "  ",
}  # fmt: skip


def _mathtext(tex: str) -> str:
    """``tex`` (whitespace folded) with the LaTeX mathtext lacks spelt the way it draws."""
    tex = " ".join(tex.split())
    for pattern, repl in _TEX_TO_MATHTEXT:
        tex = pattern.sub(repl, tex)
    return tex


def math_as_text(tex: str) -> str:
    """A readable plain-text form of ``tex`` (Greek letters and operators as symbols,
    ``\\frac{a}{b}`` as ``(a)/(b)``, no backslashes or braces) for a formula no drawing
    covers."""
    out = re.sub(r"\\(?:hat|bar|tilde|vec)\s*\{?([A-Za-z])\}?", r"\1", _mathtext(tex))
    out = re.sub(r"\\(?:text|mathrm|mathbf|mathit|operatorname)\s*\{([^{}]*)\}", r"\1", out)
    out = re.sub(r"\\(?:begin|end)\s*\{[^{}]*\}", " ", out)
    while True:  # innermost braces first: indices, then fractions
        out, n = re.subn(r"([_^])\{([^{}]*)\}", r"\1(\2)", out)
        out, m = re.subn(r"\\frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}", r"(\1)/(\2)", out)
        if not n + m:
            break
    out = re.sub(r"\\([A-Za-z]+)", lambda m: _TEX_SYMBOLS.get(m.group(1), m.group(1)), out)
    out = re.sub(r"\\[,;:! ]", " ", out).replace("\\\\", " ").replace("&", " ")
    out = out.replace("{", "").replace("}", "").replace("\\", "")
    return " ".join(out.split())


@functools.lru_cache(maxsize=512)
def _math_svg(tex: str, size: float = 12.0) -> tuple[str, float] | None:
    """``tex`` drawn by matplotlib's mathtext at ``size`` pt (the page's text: 12 pt = 16 px).

    Returns (SVG data URI, depth below the baseline in pt), or None when mathtext cannot
    draw it. The SVG's date stamp is removed, so a report is the same for the same run.
    """
    buf = io.BytesIO()
    try:
        with mpl.rc_context({"svg.hashsalt": "channelops", "svg.fonttype": "path"}):
            depth = math_to_image(f"${tex}$", buf, format="svg", prop=FontProperties(size=size))
    except Exception:  # mathtext covers most but not all of LaTeX
        return None
    svg = re.sub(rb"\s*<metadata>.*?</metadata>", b"", buf.getvalue(), flags=re.DOTALL)
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii"), float(depth)


def render_math(markdown: str) -> str:
    """Replace ``$...$`` and ``$$...$$`` in markdown by inline images of the formula.

    The report must open without a network, so MathJax (fetched from a CDN) is not an
    option; matplotlib's mathtext draws the formulas at report time, after LaTeX it lacks
    (``\\lVert``, ``\\ge``, ``\\tfrac``, ...) is respelt (:data:`_TEX_TO_MATHTEXT`). A
    formula it still cannot draw is shown as readable text (:func:`math_as_text`), never
    as raw LaTeX. The LaTeX stays in the image's ``alt`` text.
    """

    def replace(match: re.Match[str], display: bool) -> str:
        tex = match.group(1)
        alt = html.escape(" ".join(tex.split()), quote=True)
        drawn = _math_svg(_mathtext(tex), 14.0 if display else 12.0)
        if drawn is None:
            return f'<span class="math-text" title="{alt}">{html.escape(math_as_text(tex))}</span>'
        uri, depth = drawn
        cls = "math display" if display else "math"
        return f'<img class="{cls}" alt="{alt}" style="vertical-align: -{depth:.1f}pt" src="{uri}">'

    out = _DISPLAY_MATH.sub(lambda m: replace(m, True), markdown)
    return _INLINE_MATH.sub(lambda m: replace(m, False), out)


_FINDINGS_HEADING = re.compile(r"^\s*#{1,6}\s*What we found\s*$", re.IGNORECASE)
#: Cell tags that mark a code cell whose printed text is a finding (shown as text).
FINDINGS_TAGS = frozenset({"findings", "finding"})


def _is_findings_cell(cell: NotebookNode, previous: NotebookNode | None) -> bool:
    """A code cell tagged ``findings``, or one right under a bare "What we found" heading."""
    if cell.cell_type != "code":
        return False
    if FINDINGS_TAGS & set(cell.get("metadata", {}).get("tags", [])):
        return True
    return (
        previous is not None
        and previous.cell_type == "markdown"
        and bool(_FINDINGS_HEADING.match(previous.source.strip()))
    )


def findings_as_text(cell: NotebookNode) -> NotebookNode:
    """The text a findings cell printed (stdout) as rendered text, not a code box.

    The stages print their findings as markdown (``- `` lists, ``**bold**``), so the text
    is rendered as markdown into a ``div.finding``; it is HTML-escaped first, so a name
    from the data stays text. Other outputs (tables, figures) are kept as they are.
    """
    outputs, text = [], []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stdout":
            text.append(_text(out.get("text", "")))
        else:
            outputs.append(out)
    if text:
        body = markdown2html_mistune(html.escape("".join(text), quote=False))
        outputs.insert(
            0,
            nbformat.v4.new_output(
                "display_data", data={"text/html": f'<div class="finding">{body}</div>'}
            ),
        )
    cell.outputs = outputs
    return cell


_COLUMNS = re.compile(r"\S(?: {2,}|\t)\S")


def is_prose(text: str) -> bool:
    """True when printed ``text`` is sentences, not a layout: no line aligns columns
    (two or more spaces or a tab between words) and no line is a rule of ``-`` or ``=``."""
    lines = [line for line in text.splitlines() if line.strip()]
    return bool(lines) and not any(
        _COLUMNS.search(line.strip()) or re.fullmatch(r"[-=_ ]{4,}", line.strip()) for line in lines
    )


def _prose_as_text(cell: NotebookNode) -> NotebookNode:
    """Each stdout block of ``cell`` that is prose (:func:`is_prose`) shown as wrapped text
    (escaped, line breaks kept) instead of a code box cut off at the right."""
    for i, out in enumerate(cell.get("outputs", [])):
        text = _text(out.get("text", "")) if out.get("output_type") == "stream" else ""
        if out.get("name") == "stdout" and is_prose(text):
            box = f'<div class="printed">{html.escape(text.strip(chr(10)))}</div>'
            cell.outputs[i] = nbformat.v4.new_output("display_data", data={"text/html": box})
    return cell


#: Warning categories that say something about a library's future, not about the data.
_QUIET_WARNINGS = ("DeprecationWarning", "PendingDeprecationWarning", "FutureWarning")
_WARNING_LINE = re.compile(r"^(?:[^\s:][^:]*):\d+: ([A-Za-z_]*Warning): (.*)$")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_PROGRESS = re.compile(r"\d+%\|")


def stderr_notes(text: str) -> list[str]:
    """The messages of a cell's stderr that a reader should see, one per note.

    A Python warning (``path:line: Category: message`` and its echoed source line) becomes
    its message; deprecation and future warnings of libraries and progress bars (lines
    redrawn with ``\\r``) are left out; any other line is kept as it is.
    """
    notes: list[str] = []
    skip_echo = False
    for raw in _ANSI.sub("", text).split("\n"):
        line = raw.rsplit("\r", 1)[-1]
        if "\r" in raw or not line.strip() or _PROGRESS.search(line):
            skip_echo = False
            continue
        if skip_echo and raw.startswith((" ", "\t")):
            continue  # the source line a warning echoes
        skip_echo = False
        warning = _WARNING_LINE.match(line)
        if warning:
            skip_echo = True
            category, message = warning.groups()
            if category in _QUIET_WARNINGS:
                continue
            prefix = "" if category == "UserWarning" else f"{category}: "
            notes.append(prefix + message.strip())
        else:
            notes.append(line.strip())
    return notes


def _stderr_to_notes(cell: NotebookNode) -> NotebookNode:
    """Replace each stderr stream of ``cell`` by notes (escaped text in a ``note`` box)."""
    outputs = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stderr":
            for note in stderr_notes(out.get("text", "")):
                box = (
                    '<div class="note"><span class="note-label">Note</span>'
                    f"{html.escape(note)}</div>"
                )
                outputs.append(nbformat.v4.new_output("display_data", data={"text/html": box}))
        else:
            outputs.append(out)
    cell.outputs = outputs
    return cell


_IMAGE_TYPES = ("image/png", "image/jpeg", "image/svg+xml")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def last_heading(markdown: str) -> str | None:
    """The text of the last Markdown heading in ``markdown`` (``None`` without one), with
    inline code marks and emphasis removed."""
    found = _HEADING.findall(markdown)
    return re.sub(r"[`*_]", "", found[-1]).strip() if found else None


def describe_figures(cell: NotebookNode, section: str | None) -> NotebookNode:
    """Give every image output of ``cell`` alternative text (for screen readers and when an
    image cannot be shown): the notebook section it illustrates, unless the output has its
    own. nbconvert reads it from the output's ``metadata[mime]["alt"]`` and escapes it."""
    text = f"Figure: {section}" if section else "Figure"
    for out in cell.get("outputs", []):
        for mime in _IMAGE_TYPES:
            if mime in out.get("data", {}):
                meta = out.setdefault("metadata", {}).setdefault(mime, {})
                meta.setdefault("alt", text)
    return cell


def _prepare_for_report(nb: NotebookNode) -> NotebookNode:
    """The notebook as a reader sees it: hidden cells gone, math drawn, findings as text,
    stderr as notes, figures described by their section."""
    cells, previous, section = [], None, None
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & {"injected-parameters", "parameters", "remove-from-report"}:
            continue
        if cell.cell_type == "markdown":
            section = last_heading(cell.source) or section
            cell.source = render_math(cell.source)
        elif cell.cell_type == "code":
            if _is_findings_cell(cell, previous):
                cell = findings_as_text(cell)
            cell = describe_figures(_prose_as_text(_stderr_to_notes(cell)), section)
            for out in cell.get("outputs", []):
                data = out.get("data", {})
                if "text/markdown" in data:
                    data["text/markdown"] = render_math(_text(data["text/markdown"]))
        cells.append(cell)
        previous = cell
    nb.cells = cells
    return nb


def _text(value: str | list[str]) -> str:
    return value if isinstance(value, str) else "".join(value)


def notebook_body_html(path: Path) -> str:
    """Render one executed notebook to an HTML fragment with code and prompts hidden."""
    nb = _prepare_for_report(nbformat.read(str(path), as_version=4))
    exporter = HTMLExporter(template_name="basic")
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    body, _ = exporter.from_notebook_node(nb)
    # the basic template adds no external resources, but make sure none slipped in
    body = re.sub(r"<script[^>]+src=[\"']https?://[^>]*>\s*</script>", "", body)
    body = re.sub(r"<link[^>]+href=[\"']https?://[^>]*>", "", body)
    return humanise_tables(body)


_TABLE = re.compile(r"<table\b.*?</table\s*>", re.DOTALL | re.IGNORECASE)
_ROW = re.compile(r"<tr\b[^>]*>.*?</tr\s*>", re.DOTALL | re.IGNORECASE)
_CELL = re.compile(r"(<(t[dh])\b[^>]*>)([^<]*)(</t[dh]>)", re.IGNORECASE)
_FIXED = re.compile(r"^(-?)(\d{1,3}(?:,\d{3})*|\d+)\.(\d+)$")
_STAMP = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2})(:\d{2}(?:\.\d+)?)?$")


def _human_cell(text: str, whole: bool) -> str:
    """One table cell for a reader: ``-0.000`` as ``0.000``, a whole number without its
    ``.000`` when ``whole`` (every figure of its column is whole), a timestamp to the minute
    (a midnight one as its date)."""
    value = text.strip()
    stamp = _STAMP.match(value)
    if stamp:
        date, hm = stamp.group(1), stamp.group(2)
        return date if hm == "00:00" and not (stamp.group(3) or "").strip(":0.") else f"{date} {hm}"
    fixed = _FIXED.match(value)
    if not fixed:
        return text
    sign, units, decimals = fixed.groups()
    if sign and not units.strip("0,") and not decimals.strip("0"):
        sign = ""  # -0.000
    if whole:
        return f"{sign}{units}"
    return f"{sign}{units}.{decimals}"


def humanise_tables(fragment: str) -> str:
    """Numbers and times of every table in ``fragment`` as people read them.

    The notebooks print floats with three decimals; in a column whose figures are all
    whole (counts, ranks, money rounded upstream) the ``.000`` goes; ``-0.000`` reads
    ``0.000``; timestamps lose their seconds and nanoseconds. Only a cell whose whole text
    is one number or timestamp is touched.
    """

    def table(match: re.Match[str]) -> str:
        rows = _ROW.findall(match.group(0))
        whole: dict[int, bool] = {}
        for row in rows:
            for i, cell in enumerate(_CELL.finditer(row)):
                fixed = _FIXED.match(cell.group(3).strip())
                if fixed:
                    whole[i] = whole.get(i, True) and not fixed.group(3).strip("0")
        out = match.group(0)
        for row in rows:
            cells = list(_CELL.finditer(row))
            new_row = row
            for i, cell in reversed(list(enumerate(cells))):
                if cell.group(2).lower() != "td":
                    continue
                text = _human_cell(cell.group(3), whole.get(i, False))
                new_row = new_row[: cell.start(3)] + text + new_row[cell.end(3) :]
            out = out.replace(row, new_row, 1)
        return out

    return _TABLE.sub(table, fragment)


def frame_tables(fragment: str) -> str:
    """Every ``<table>`` of ``fragment`` inside a ``div.table-scroll`` frame, which scrolls
    sideways when the table is wider than the page (the page itself never does)."""
    out = re.sub(r"<table\b", '<div class="table-scroll"><table', fragment, flags=re.IGNORECASE)
    return re.sub(r"</table\s*>", "</table></div>", out, flags=re.IGNORECASE)


def duration_text(seconds: float) -> str:
    """``seconds`` as a person reads a duration: ``45 s``, ``3 min 27 s``, ``1 h 02 min``."""
    total = round(float(seconds))
    if total < 60:
        return f"{float(seconds):.0f} s" if seconds >= 1 else f"{float(seconds):.1f} s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _summary_table(manifest: dict[str, Any]) -> str:
    rows = []
    tables_rows = manifest.get("tables", {})
    for key, entry in manifest.get("stages", {}).items():
        status = str(entry.get("status", "?"))
        tables = ", ".join(
            f"{t} ({tables_rows[t]['rows']:,})"
            if isinstance(tables_rows.get(t, {}).get("rows"), int)
            else t
            for t in entry.get("tables", [])
        )
        seconds = entry.get("seconds")
        took = duration_text(seconds) if isinstance(seconds, int | float) else ""
        if entry.get("stale_because"):
            tables = f"stale: {entry['stale_because']}. {tables}"
        rows.append(
            f"<tr><td style='white-space:nowrap'>{html.escape(key)} "
            f"{html.escape(str(entry.get('name', '')))}</td>"
            f"<td class='status-{html.escape(status)}'>{html.escape(status)}</td>"
            f"<td style='white-space:nowrap'>{took}</td><td style='text-align:left'>{html.escape(tables)}</td></tr>"
        )
    return (
        "<table><thead><tr><th>stage</th><th>status</th><th>time</th>"
        "<th style='text-align:left'>tables (rows)</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def wall_time_text(manifest: dict[str, Any]) -> str:
    """The header's time: the run's wall time from the manifest (``seconds``, else the span
    from ``started_at`` to ``finished_at``); stages running side by side make it shorter
    than the sum of the stages' times, which the run table lists."""
    seconds = manifest.get("seconds")
    if not isinstance(seconds, int | float):
        try:
            start = dt.datetime.fromisoformat(str(manifest["started_at"]))
            end = dt.datetime.fromisoformat(str(manifest["finished_at"]))
        except (KeyError, TypeError, ValueError):
            return "run time unknown"
        seconds = (end - start).total_seconds()
    finished = str(manifest.get("finished_at") or "")[:16].replace("T", " ")
    when = f", finished {html.escape(finished)} UTC" if finished else ""
    return f"ran {duration_text(seconds)}{when}"


def sanitise_html(fragment: str) -> str:
    """``fragment`` with only what a report needs left, through the ``nh3`` sanitiser.

    Kept: the tags of :data:`_TAGS` (text, headings, tables, lists, code, images), classes
    and ids, the inline style properties of :data:`_STYLE_PROPERTIES`, images whose
    ``src`` is an embedded ``data:image`` (figures and formulas), links to anchors and to
    http(s)/mailto addresses. Dropped: ``<script>`` and ``<style>`` with their content,
    every other tag (its text stays, escaped), event handlers (``onerror``, ``onclick``,
    ...), ``javascript:`` and other URLs, images that would be fetched.
    """
    return nh3.clean(
        fragment,
        tags=_TAGS,
        clean_content_tags={"script", "style"},
        attributes=_ATTRIBUTES,
        attribute_filter=_keep_attribute,
        url_schemes={"http", "https", "mailto", "data"},
        filter_style_properties=_STYLE_PROPERTIES,
        strip_comments=True,
    )


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    """``data:`` URLs only as an image's embedded picture; an image only from one."""
    if attribute == "src":
        return value if tag == "img" and _DATA_IMAGE.match(value) else None
    if attribute == "href" and value.strip().lower().startswith("data:"):
        return None
    return value


def stale_notes(manifest: dict[str, Any]) -> dict[str, str]:
    """Stage key -> the note the report shows for a stage the manifest marks ``stale``
    (plain text; :mod:`channelops.run.staleness` wrote why)."""
    notes = {}
    for key, entry in manifest.get("stages", {}).items():
        if entry.get("status") == "stale":
            why = entry.get("stale_because") or "its inputs changed after it ran"
            notes[key] = f"Stage {key} ({entry.get('name', '?')}) is out of date: {why}."
    return notes


def _note(text: str) -> str:
    return f"<div class='note'><span class='note-label'>Stale</span>{html.escape(text)}</div>"


def _page_body(run_dir: Path, manifest: dict[str, Any]) -> str:
    """The report's header and main part (summary, contents, one section per notebook).

    Stages the manifest marks ``stale`` get a note on top of the page, above their section
    and, for the evaluation stage that builds it, above the executive summary.
    """
    sections, toc = [], []
    stale = stale_notes(manifest)
    summary_path = run_dir / "summary.html"
    summary = (
        f"<section class='summary'>{_note(stale['06']) if '06' in stale else ''}"
        f"{summary_path.read_text(encoding='utf-8')}</section>"
        if summary_path.exists()
        else ""
    )
    banner = "".join(_note(text) for text in stale.values())
    for stage in STAGES:
        path = run_dir / "notebooks" / stage.notebook
        if not path.exists():
            continue
        anchor = f"stage-{stage.key}"
        toc.append(f"<li><a href='#{anchor}'>{stage.key} {html.escape(stage.title)}</a></li>")
        note = _note(stale[stage.key]) if stage.key in stale else ""
        sections.append(
            f"<section class='stage' id='{anchor}'>{note}{notebook_body_html(path)}</section>"
        )
    status = manifest.get("status", "?")
    stale_meta = (
        f" &middot; <b class='status-stale'>stale: stage(s) {html.escape(', '.join(stale))}</b>"
        if stale
        else ""
    )
    body = f"""<header class="run"><h1>{_title(run_dir, manifest)}</h1>
<div class="meta">status <b>{html.escape(status)}</b>{stale_meta} &middot; dataset
{html.escape(Path(str(manifest.get("dataset", {}).get("path", ""))).name)} &middot; seed
{html.escape(str(manifest.get("parameters", {}).get("seed", "")))} &middot; {wall_time_text(manifest)}</div>
</header><main>
{banner}
{summary}
<nav class="toc"><b>Contents</b><ol>{"".join(toc)}</ol></nav>
<h2>Run</h2>{_summary_table(manifest)}
{"".join(sections)}
</main>"""
    return frame_tables(body)


def _title(run_dir: Path, manifest: dict[str, Any]) -> str:
    return f"channelops run: {html.escape(str(manifest.get('run_name', run_dir.name)))}"


def build_report(run_dir: str | os.PathLike[str], manifest: dict[str, Any]) -> Path:
    """Write ``<run_dir>/report.html`` from the executed notebooks and return its path.

    The page's body is sanitised (:func:`sanitise_html`); its head is this module's own
    (the escaped title and the style sheet).

    Args:
        run_dir: the run folder (``notebooks/`` inside holds the executed copies).
        manifest: the run's manifest (status, timings, row counts).
    """
    run_dir = Path(run_dir)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_title(run_dir, manifest)}</title><style>{_CSS}</style></head>
<body>{sanitise_html(_page_body(run_dir, manifest))}</body></html>
"""
    target = run_dir / "report.html"
    tmp = target.with_name(f".report.{os.getpid()}.tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, target)
    return target
