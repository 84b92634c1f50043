"""Text columns on Arrow: the Arrow data behind a string Series and back, clean-up, value
maps and text -> numbers, without copying where nothing changes.

Text clean-up works on the Arrow arrays directly: pandas' ``.str`` accessor ties each
Series into a reference cycle, so temporaries would wait for the garbage collector and a
large export would briefly hold several copies of its text.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from channelops.ingest.contract import STRING, ReadDialect


def _free_memory() -> None:
    """Hand freed Arrow memory back to the system (mimalloc keeps it otherwise), so a
    large read does not hold its freed temporaries between steps."""
    pa.default_memory_pool().release_unused()


def _arrow(s: pd.Series) -> pa.ChunkedArray:
    """The Arrow data behind a Series of Arrow-backed strings (no copy)."""
    return pa.chunked_array(s.array.__arrow_array__())


def _series(a: pa.ChunkedArray | pa.Array) -> pd.Series:
    """Wrap Arrow data as a pandas Series without copying (strings -> string[pyarrow])."""
    a = pa.chunked_array(a) if isinstance(a, pa.Array) else a
    if pa.types.is_string(a.type) or pa.types.is_large_string(a.type):
        # one string dtype for every text column, whatever width Arrow chose, so frames of
        # different channels concatenate without dtype changes (and without warnings)
        return pd.Series(pd.arrays.ArrowStringArray(a), dtype=STRING, copy=False)
    return pd.Series(pd.arrays.ArrowExtensionArray(a), copy=False)


def _clean_text(s: pd.Series) -> pd.Series:
    """Strip surrounding whitespace; empty -> <NA>. Returns ``s`` itself (no copy) when
    nothing changes, which is the common case and spares a large export a second copy."""
    a = _arrow(s)
    stripped = pc.utf8_trim_whitespace(a)
    if pc.all(pc.equal(pc.binary_length(stripped), pc.binary_length(a))).as_py() is not False:
        stripped = a
    empty = pc.equal(stripped, "")
    if pc.any(empty).as_py():
        stripped = pc.if_else(empty, pa.scalar(None, pa.string()), stripped)
        return _series(stripped)
    return s if stripped is a else _series(stripped)


def _apply_values(s: pd.Series, words: dict[str, str]) -> pd.Series:
    """Replace export words by canonical words (exact match on stripped text)."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    mapped = np.array([words.get(u, u) for u in uniques], dtype=object)
    if len(mapped) == 0:
        return s
    out = np.where(codes >= 0, mapped[np.maximum(codes, 0)], None)
    return pd.Series(out, index=s.index, dtype=STRING)


#: with ``decimal: ","`` and no thousands mark declared: ``1.234,56``, ``-12.345.678``
_DOT_GROUPED_RE = r"^\s*[+-]?[0-9]{1,3}(\.[0-9]{3})+(,[0-9]*)?\s*$"


def _to_float(s: pd.Series, dialect: ReadDialect) -> np.ndarray:
    """Text -> float64 with NaN where the text is empty or not a number.

    The dialect's thousands mark is removed and its decimal mark read as ``.``. With
    ``decimal: ","`` and no thousands mark declared, dots that group digits in threes
    (``1.234,56``, ``1.234``) are taken as thousands marks; any other dot is left alone
    (so ``1.5`` stays 1.5, and ``1.23,4`` is no number).
    """
    a = _arrow(s)
    if dialect.thousands:
        a = pc.replace_substring(a, dialect.thousands, "")
    elif dialect.decimal == ",":
        grouped = pc.fill_null(pc.match_substring_regex(a, _DOT_GROUPED_RE), False)
        if pc.any(grouped).as_py():
            a = pc.if_else(grouped, pc.replace_substring(a, ".", ""), a)
    if dialect.decimal != ".":
        a = pc.replace_substring(a, dialect.decimal, ".")
    return _text_to_float(a)


#: plain decimals (``-12``, ``209.99``), the shape nearly every number in an export has
_PLAIN_NUMBER_RE = r"^-?[0-9]{1,15}(\.[0-9]{1,15})?$"


def _text_to_float(a: pa.ChunkedArray) -> np.ndarray:
    """Arrow text -> float64 array, NaN where a value is missing or not a number.

    Plain decimals (:data:`_PLAIN_NUMBER_RE`) are converted by an Arrow cast without
    leaving Arrow memory; only the other values (exponents, ``inf``, junk) go through
    ``pandas.to_numeric(errors="coerce")``, so every value gets pandas' own answer.
    """
    n = len(a)
    plain = pc.fill_null(pc.match_substring_regex(a, _PLAIN_NUMBER_RE), False)
    n_plain = pc.sum(plain).as_py() or 0
    if n_plain == n:
        return pc.cast(a, pa.float64()).to_numpy(zero_copy_only=False)
    out = np.full(n, np.nan)
    mask = plain.to_numpy(zero_copy_only=False)
    if n_plain:
        out[mask] = pc.cast(a.filter(plain), pa.float64()).to_numpy(zero_copy_only=False)
    rest = ~mask & pc.is_valid(a).to_numpy(zero_copy_only=False)
    if rest.any():
        other = _series(a.filter(pa.array(rest)))
        out[rest] = (
            pd.to_numeric(other, errors="coerce")
            .astype("Float64")
            .to_numpy(dtype="float64", na_value=np.nan)
        )
    return out


def _constant_text(value: str | None, n: int) -> pd.Series:
    """``n`` copies of ``value`` (None: missing) as string[pyarrow], built in Arrow rather
    than from a Python list, which is slow to convert for long columns."""
    return _series(pa.repeat(pa.scalar(value, pa.string()), n))
