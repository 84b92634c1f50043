"""Which order lines are merchandise: postage, shipping, fees, discounts, manual
adjustments, gift vouchers and samples are not (see :data:`NON_MERCHANDISE_CODES`).

A line's channel code is matched, case-insensitively, against the glob patterns of the
default list plus the mapping's ``non_merchandise:`` list; products.csv's optional
``merchandise`` column (true/false per master SKU) overrides both for the SKUs it names.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

import numpy as np
import pandas as pd

from channelops.ingest.contract import NON_MERCHANDISE_CODES, DatasetError

__all__ = ["MERCHANDISE_WORDS", "is_non_merchandise_code", "merchandise_flags"]

#: products.csv ``merchandise`` cells: text (lower-cased) -> bool; blank: not stated.
MERCHANDISE_WORDS: dict[str, bool] = {
    "true": True,
    "yes": True,
    "y": True,
    "1": True,
    "false": False,
    "no": False,
    "n": False,
    "0": False,
}


def is_non_merchandise_code(codes: pd.Series, extra: Sequence[str] = ()) -> np.ndarray:
    """True where a channel code matches a non-merchandise pattern.

    Args:
        codes: channel codes (text; <NA> never matches).
        extra: the mapping's ``non_merchandise:`` patterns, added to the defaults.

    Returns:
        bool array, one per code. Each distinct code is matched once (fnmatch on
        upper-cased text), so the cost grows with the number of distinct codes.
    """
    patterns = [p.upper() for p in (*NON_MERCHANDISE_CODES, *extra)]
    plain = {p for p in patterns if not any(ch in p for ch in "*?[")}
    globs = [p for p in patterns if p not in plain]
    uniq_codes, uniques = pd.factorize(codes, use_na_sentinel=True)
    hit = np.array(
        [
            (u := str(v).upper()) in plain or any(fnmatch.fnmatchcase(u, g) for g in globs)
            for v in uniques
        ],
        dtype=bool,
    )
    out = np.zeros(len(codes), dtype=bool)
    have = uniq_codes >= 0
    out[have] = hit[uniq_codes[have]]
    return out


def merchandise_flags(products: pd.DataFrame | None) -> dict[str, bool]:
    """Master SKU -> merchandise (bool) from products.csv's optional ``merchandise`` column.

    Args:
        products: products.csv as loaded, or None.

    Returns:
        The SKUs whose cell says true/yes/1 or false/no/0 (case-insensitive); blank cells
        and a missing column give no entry (the code lists decide).

    Raises:
        DatasetError: a cell holds another word (naming products.csv, the line and column).
    """
    if products is None or "merchandise" not in products.columns:
        return {}
    out: dict[str, bool] = {}
    skus = products["sku"].astype(str)
    for i, (sku, cell) in enumerate(zip(skus, products["merchandise"], strict=True)):
        if cell is None or (not isinstance(cell, bool) and pd.isna(cell)):
            continue
        if isinstance(cell, (bool, np.bool_)):
            out[sku] = bool(cell)
            continue
        word = str(cell).strip().lower()
        if not word:
            continue
        if word not in MERCHANDISE_WORDS:
            raise DatasetError(
                "products.csv",
                f"merchandise of sku {sku!r} is not true or false",
                line=i + 2,
                column="merchandise",
                expected="true/false (also yes/no, 1/0), or blank to let the code lists decide",
                found=repr(word[:20]),
                fix="write true for a product, false for postage, fees and the like",
            )
        out[sku] = MERCHANDISE_WORDS[word]
    return out
