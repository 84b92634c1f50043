"""Text pieces of stage 06's findings: data strings escaped, money and name lists formatted.

The notebook shows its findings as Markdown and the summary page puts the executive summary
into HTML, so every data string that enters a sentence (a channel id, an experiment or
segment name, a policy scope, the currency) goes through :func:`escape_data` first: a name
like ``free<script>alert(4)</script>_coupon`` then shows as text and never runs.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

import pandas as pd

__all__ = ["escape_data", "money_text", "names_text"]


def escape_data(value: object) -> str:
    """``value`` as text that is safe inside Markdown and HTML.

    Args:
        value: a data string (or anything with a meaningful ``str``), e.g. a channel id.

    Returns:
        ``str(value)`` with ``&``, ``<``, ``>``, ``"`` and ``'`` replaced by HTML entities
        (``html.escape``); both Markdown and HTML show the entities as the characters.

    Raises:
        ValueError: ``value`` is None or NaN (a missing name would print as "nan").
    """
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        raise ValueError("a missing value (None or NaN) cannot be written into a sentence")
    return html.escape(str(value))


def money_text(value: float, currency: str) -> str:
    """A money amount as a sentence shows it: ``1,234 CNY``.

    Args:
        value: amount in ``currency``.
        currency: currency code (data: escaped).

    Returns:
        ``value`` rounded to whole units with thousands separators, a space, the currency.

    Raises:
        TypeError, ValueError: ``value`` is not a number.
    """
    return f"{float(value):,.0f} {escape_data(currency)}"


def names_text(names: Iterable[object]) -> str:
    """Data names as a comma-separated list, each escaped: ``a, b&amp;c``.

    Raises:
        ValueError: a name is None or NaN.
    """
    return ", ".join(escape_data(n) for n in names)
