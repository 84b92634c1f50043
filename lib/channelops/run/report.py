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
"""

from __future__ import annotations

import base64
import functools
import html
import io
import os
import re
from pathlib import Path
from typing import Any

import nbformat
import nh3
from matplotlib.mathtext import math_to_image
from nbconvert import HTMLExporter

from channelops.run.registry import STAGES

__all__ = ["build_report", "notebook_body_html", "render_math", "sanitise_html"]

_CSS = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 0;
       color: #1f2328; background: #fff; line-height: 1.45; }
main { max-width: 1100px; margin: 0 auto; padding: 1.5rem 2rem 4rem; }
header.run { background: #0f3d5e; color: #fff; padding: 1.2rem 2rem; }
header.run h1 { margin: 0 0 .3rem; font-size: 1.6rem; }
header.run .meta { opacity: .85; font-size: .9rem; }
.status-ok { color: #1a7f37; font-weight: 600; } .status-failed { color: #cf222e; font-weight: 600; }
nav.toc { border: 1px solid #d0d7de; border-radius: 6px; padding: .6rem 1rem; margin: 1rem 0; }
nav.toc a { text-decoration: none; }
section.stage { border-top: 3px solid #0f3d5e; margin-top: 2.5rem; padding-top: .5rem; }
table { border-collapse: collapse; margin: .6rem 0; font-size: .86rem; }
th, td { border: 1px solid #d0d7de; padding: .25rem .55rem; text-align: right; }
th { background: #f6f8fa; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; height: auto; }
img.math { vertical-align: middle; max-height: 2.6em; } img.math.display { display: block; margin: .5em auto; }
pre { background: #f6f8fa; padding: .6rem; overflow-x: auto; font-size: .85rem; }
.jp-OutputArea-output pre { background: none; padding: 0; }
.jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"] { display: none; }
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


@functools.lru_cache(maxsize=512)
def _math_svg(tex: str) -> str | None:
    """LaTeX rendered by matplotlib's mathtext to an inline SVG data URI (None if it cannot)."""
    buf = io.BytesIO()
    try:
        math_to_image(f"${tex.strip()}$", buf, format="svg")
    except Exception:  # mathtext covers most but not all of LaTeX
        return None
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def render_math(markdown: str) -> str:
    """Replace ``$...$`` and ``$$...$$`` in markdown by inline images of the formula.

    The report must open without a network, so MathJax (fetched from a CDN) is not an
    option; matplotlib's mathtext draws the formulas instead. A formula it cannot draw is
    left as code.
    """

    def replace(match: re.Match[str], display: bool) -> str:
        tex = match.group(1)
        uri = _math_svg(" ".join(tex.split()))
        if uri is None:
            return f"<code>{html.escape(tex)}</code>"
        cls = "math display" if display else "math"
        return f'<img class="{cls}" alt="{html.escape(tex, quote=True)}" src="{uri}">'

    out = _DISPLAY_MATH.sub(lambda m: replace(m, True), markdown)
    return _INLINE_MATH.sub(lambda m: replace(m, False), out)


def notebook_body_html(path: Path) -> str:
    """Render one executed notebook to an HTML fragment with code and prompts hidden."""
    nb = nbformat.read(str(path), as_version=4)
    nb.cells = [
        c
        for c in nb.cells
        if "injected-parameters" not in c.get("metadata", {}).get("tags", [])
        and "parameters" not in c.get("metadata", {}).get("tags", [])
        and "remove-from-report" not in c.get("metadata", {}).get("tags", [])
    ]
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = render_math(cell.source)
    exporter = HTMLExporter(template_name="basic")
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    body, _ = exporter.from_notebook_node(nb)
    # the basic template adds no external resources, but make sure none slipped in
    body = re.sub(r"<script[^>]+src=[\"']https?://[^>]*>\s*</script>", "", body)
    body = re.sub(r"<link[^>]+href=[\"']https?://[^>]*>", "", body)
    return body


def _summary_table(manifest: dict[str, Any]) -> str:
    rows = []
    for key, entry in manifest.get("stages", {}).items():
        status = entry.get("status", "?")
        tables = ", ".join(
            f"{t} ({manifest.get('tables', {}).get(t, {}).get('rows', '?'):,})"
            if isinstance(manifest.get("tables", {}).get(t, {}).get("rows"), int)
            else t
            for t in entry.get("tables", [])
        )
        rows.append(
            f"<tr><td>{html.escape(key)} {html.escape(entry.get('name', ''))}</td>"
            f"<td class='status-{html.escape(status)}'>{html.escape(status)}</td>"
            f"<td>{entry.get('seconds', '')}</td><td style='text-align:left'>{html.escape(tables)}</td></tr>"
        )
    return (
        "<table><thead><tr><th>stage</th><th>status</th><th>seconds</th>"
        "<th>tables (rows)</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def _total_seconds(manifest: dict[str, Any]) -> float:
    """Sum of the stages' own times (a run of --only 04 keeps the other stages' times)."""
    return float(sum(e.get("seconds", 0) or 0 for e in manifest.get("stages", {}).values()))


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


def _page_body(run_dir: Path, manifest: dict[str, Any]) -> str:
    """The report's header and main part (summary, contents, one section per notebook)."""
    sections, toc = [], []
    summary_path = run_dir / "summary.html"
    if summary_path.exists():
        sections.append(
            f"<section class='summary'>{summary_path.read_text(encoding='utf-8')}</section>"
        )
    for stage in STAGES:
        path = run_dir / "notebooks" / stage.notebook
        if not path.exists():
            continue
        anchor = f"stage-{stage.key}"
        toc.append(f"<li><a href='#{anchor}'>{stage.key} {html.escape(stage.title)}</a></li>")
        sections.append(
            f"<section class='stage' id='{anchor}'>{notebook_body_html(path)}</section>"
        )
    status = manifest.get("status", "?")
    return f"""<header class="run"><h1>{_title(run_dir, manifest)}</h1>
<div class="meta">status <b>{html.escape(status)}</b> &middot; dataset
{html.escape(Path(str(manifest.get("dataset", {}).get("path", ""))).name)} &middot; seed
{html.escape(str(manifest.get("parameters", {}).get("seed", "")))} &middot; {_total_seconds(manifest):.1f} s of notebooks</div>
</header><main>
<h2>Run summary</h2>{_summary_table(manifest)}
<nav class="toc"><b>Contents</b><ol>{"".join(toc)}</ol></nav>
{"".join(sections)}
</main>"""


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
