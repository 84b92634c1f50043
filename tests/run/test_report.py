"""Report pieces that need no run: formulas drawn offline."""

from channelops.run.report import render_math


def test_inline_and_display_math_become_svg_images():
    out = render_math(r"rate $\lambda \sim \Gamma(r, \alpha)$ and $$\sum_k x_k$$")
    assert out.count("data:image/svg+xml;base64,") == 2
    assert 'class="math display"' in out and 'alt="\\lambda \\sim \\Gamma(r, \\alpha)"' in out


def test_currency_amounts_are_not_taken_for_math():
    text = "costs 5$ or 6$ each, and $ 3 is not math"
    assert render_math(text) == text


def test_formula_mathtext_cannot_draw_stays_as_code():
    assert render_math(r"$\begin{matrix} a \end{matrix}$").startswith("<code>")
