"""Browser check of a run's report.html in headless Chromium (Debian's ``chromium``).

    .venv/bin/python benchmarks/bench_report_browser.py --run /tmp/me/ci
    .venv/bin/python benchmarks/bench_report_browser.py --run /tmp/me/ci --rebuild
    .venv/bin/python benchmarks/bench_report_browser.py            # runs parameters/ci.yaml first

What it counts, in the page as Chromium lays it out at each window width:

- ``raw_latex``: pieces of LaTeX a reader would see as text (``$$``, ``\\frac``-like
  commands, ``$...$`` spans holding ``\\``, ``^`` or ``_``) in the page's visible text
  (``innerText``; an image's ``alt`` is not visible text).
- ``page_overflow_px``: how far the page scrolls sideways (document scrollWidth - viewport).
- ``wide_elements``: elements whose right edge passes the viewport and that no scrolling
  frame of theirs clips (the elements that make the page scroll sideways).
- ``broken_images``: images that did not decode (naturalWidth 0 after load).
- ``clipped_code_boxes``: ``<pre>`` boxes whose text is wider than the box (scrolls inside).
- ``notes`` / ``tables_framed`` / ``tables``: warnings shown as notes, tables inside a
  scrolling frame, all tables.

The report itself holds no script (the sanitiser removes every one); the check adds its own
to a copy under a temporary folder, and Chromium writes the figures into the page it dumps.
Screenshots go to ``--shots`` (default /tmp/report_shots), never into the repository.
``--rebuild`` rewrites the run's report.html with the current code first, so the same run
can be measured before and after a change of the report code.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]

_PROBE = r"""
<script>
(function () {
  function run() {
    const vw = document.documentElement.clientWidth;
    const text = document.body.innerText;
    const latex = /\$\$|\\(frac|sum|sqrt|text|mathrm|hat|bar|lambda|gamma|beta|alpha|sigma|ge|le|geq|leq|lVert|rVert|qquad|quad|cdot|mid|in|approx|top|prod|left|right|log|min|max|Delta|Gamma|pi|theta|rho|nu|mathbf|tfrac|sim|cap|pm)(?![a-zA-Z])|\$[^$\n]*[\\^_][^$\n]*\$/g;
    const raw = (text.match(latex) || []);
    function clippedByFrame(el) {
      for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
        const ox = getComputedStyle(p).overflowX;
        if (ox === 'auto' || ox === 'scroll' || ox === 'hidden' || ox === 'clip') {
          return p.getBoundingClientRect().right <= vw + 1;
        }
      }
      return false;
    }
    const wide = [];
    for (const el of document.body.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.width > 0 && r.right > vw + 1 && !clippedByFrame(el)) {
        // count the outermost offender only
        const parent = el.parentElement;
        const pr = parent ? parent.getBoundingClientRect() : null;
        if (!pr || pr.right <= vw + 1 || clippedByFrame(parent)) {
          wide.push(el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).split(' ')[0] : '')
                    + ' ' + Math.round(r.right - vw) + 'px');
        }
      }
    }
    const imgs = Array.from(document.images);
    const broken = imgs.filter(i => !(i.complete && i.naturalWidth > 0)).length;
    const pres = Array.from(document.querySelectorAll('pre'));
    const clippedPres = pres.filter(p => p.scrollWidth > p.clientWidth + 1);
    const clipped = clippedPres.length;
    const tables = document.querySelectorAll('table').length;
    const framed = document.querySelectorAll('div.table-scroll > table').length;
    const notes = document.querySelectorAll('.note').length;
    const out = {viewport: vw, page_overflow_px: document.documentElement.scrollWidth - vw,
                 raw_latex: raw.length, raw_latex_examples: raw.slice(0, 12),
                 wide_elements: wide.length, wide_examples: wide.slice(0, 12),
                 images: imgs.length, broken_images: broken, pre_boxes: pres.length,
                 clipped_code_boxes: clipped,
                 clipped_examples: clippedPres.slice(0, 12).map(p => p.textContent.slice(0, 70)),
                 tables: tables, tables_framed: framed, notes: notes,
                 math_images: document.querySelectorAll('img.math').length};
    const pre = document.createElement('pre');
    pre.id = 'bench-result';
    pre.textContent = JSON.stringify(out);
    document.body.appendChild(pre);
  }
  if (document.readyState === 'complete') run(); else window.addEventListener('load', run);
})();
</script>
"""


def measure(report: Path, width: int, workdir: Path) -> dict:
    """Lay ``report`` out in headless Chromium at ``width`` px and return the probe's figures."""
    page = report.read_text(encoding="utf-8")
    probe = workdir / f"probe_{width}.html"
    probe.write_text(page.replace("</body>", _PROBE + "</body>", 1), encoding="utf-8")
    profile = workdir / f"profile_{width}"
    cmd = [
        CHROMIUM,
        *FLAGS,
        f"--user-data-dir={profile}",
        f"--window-size={width},1000",
        "--virtual-time-budget=20000",
        "--dump-dom",
        probe.as_uri(),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    found = re.search(r'<pre id="bench-result">(.*?)</pre>', done.stdout, re.S)
    if not found:
        raise RuntimeError(
            f"no figures from Chromium (exit {done.returncode}): {done.stderr[-800:]}"
        )
    return json.loads(html.unescape(found.group(1)))


def screenshot(report: Path, target: Path, width: int, height: int, workdir: Path) -> None:
    """A screenshot of the top ``height`` px of the page at ``width`` px (for a person to look at)."""
    cmd = [
        CHROMIUM,
        *FLAGS,
        f"--user-data-dir={workdir / 'profile_shot'}",
        f"--window-size={width},{height}",
        f"--screenshot={target}",
        report.as_uri(),
    ]
    subprocess.run(cmd, capture_output=True, timeout=300, check=False)


def stage_pages(report: Path, workdir: Path) -> dict[str, Path]:
    """One page per stage section of ``report`` (its head and that section), for screenshots
    of each stage from its top (a page's ``#anchor`` is not scrolled to by --screenshot)."""
    page = report.read_text(encoding="utf-8")
    head = page[: page.index("<body>")]
    pages = {}
    for m in re.finditer(r'<section class="stage" id="stage-(\d+)">.*?</section>', page, re.S):
        target = workdir / f"stage_{m.group(1)}.html"
        target.write_text(f"{head}<body><main>{m.group(0)}</main></body></html>", "utf-8")
        pages[m.group(1)] = target
    return pages


def _tiny_run(folder: Path) -> None:
    subprocess.run(
        [
            str(Path(sys.executable).with_name("channelops")),
            "run",
            "--params",
            "parameters/ci.yaml",
            "--output",
            str(folder),
            "--no-progress",
        ],
        check=True,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", help="run folder holding report.html (default: a new tiny run)")
    ap.add_argument("--rebuild", action="store_true", help="rebuild report.html first")
    ap.add_argument("--widths", default="1280,800", help="window widths in px")
    ap.add_argument("--shots", default="/tmp/report_shots", help="screenshot folder (not git)")
    ap.add_argument("--label", default="", help="name of the measurement in the printed row")
    args = ap.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print("Chromium is not installed: apt-get install -y chromium", file=sys.stderr)
        return 2
    run = Path(args.run) if args.run else Path(tempfile.mkdtemp(prefix="bench_report_")) / "ci"
    if not args.run:
        _tiny_run(run)
    if args.rebuild:
        from channelops.run.report import build_report  # lazy: only with --rebuild

        build_report(run, json.loads((run / "manifest.json").read_text(encoding="utf-8")))
    report = run / "report.html"
    shots = Path(args.shots)
    shots.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench_report_") as tmp:
        workdir = Path(tmp)
        for width in (int(w) for w in args.widths.split(",")):
            fig = measure(report, width, workdir)
            print(
                f"| {args.label or run.name} | {width} | {fig['raw_latex']} | "
                f"{fig['page_overflow_px']} | {fig['wide_elements']} | {fig['broken_images']} | "
                f"{fig['clipped_code_boxes']} | {fig['math_images']} | "
                f"{fig['tables_framed']}/{fig['tables']} | {fig['notes']} |"
            )
            print(json.dumps(fig, indent=None), file=sys.stderr)
            screenshot(report, shots / f"report_{width}.png", width, 2400, workdir)
        for key, page in stage_pages(report, workdir).items():
            screenshot(page, shots / f"stage_{key}.png", 1280, 4000, workdir)
        shutil.rmtree(workdir / "profile_shot", ignore_errors=True)
    print(f"screenshots in {shots}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
