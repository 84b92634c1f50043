"""The Fellegi-Sunter model of stage 03's probabilistic matching, in splink.

* :func:`name_features` and :func:`address_features` derive what the model compares from
  a buyer's or CRM customer's name and street address: forename and surname (first token /
  the rest), the house and unit numbers, the address's letters and its word tokens.
* :func:`comparisons` are the model's comparisons: names by Jaro-Winkler with first and
  last name swapped, term-frequency adjusted; addresses by token (numbers, street words,
  whole text); phones and postcodes with one-digit tolerance (Damerau-Levenshtein <= 1: one
  edit or two adjacent digits swapped); e-mail and city.
* :data:`BLOCKING_KEYS` are the blocking rules that generate candidate pairs; each rule
  needs agreement on one or two keys, so one typo in a field leaves other rules to pair
  the records. :func:`blocking_rules` turns them into splink rules, optionally restricted
  to pairs that touch an open record (a buyer the deterministic rules leave alone).
* :func:`train` estimates the model without labels: the prior from the exact phone /
  e-mail rule, u from random pairs, m by expectation maximisation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import Linker, SettingsCreator, block_on
from splink.internals.exceptions import EMTrainingException

__all__ = [
    "BLOCKING_KEYS",
    "COMPARED",
    "name_features",
    "address_features",
    "phone_keys",
    "comparisons",
    "blocking_rules",
    "open_pairs_sql",
    "settings",
    "EM_RULES",
    "u_pairs",
    "train",
]

#: Candidate pairs: records that agree on every key of at least one of these.
BLOCKING_KEYS: tuple[tuple[str, ...], ...] = (
    ("phone_norm",),
    ("email_norm",),
    ("address_norm",),
    ("postcode", "forename"),
    ("postcode", "surname"),
    ("city_norm", "forename"),
    ("city_norm", "surname"),
    ("postcode", "addr_num"),
    ("city_norm", "addr_num"),
    ("forename", "surname"),
    ("postcode", "phone_head"),
    ("postcode", "phone_tail"),
    ("postcode", "addr_text"),
    ("postcode", "surname3"),
    ("surname", "addr_num"),
    ("surname", "phone_head"),
    ("surname", "phone_tail"),
    ("forename", "phone_head"),
    ("forename", "phone_tail"),
)

#: Candidate pairs whose first and last names are swapped (as SQL on splink's l / r).
SWAPPED_NAMES = "l.forename = r.surname AND l.surname = r.forename"


#: The values of both sides that :func:`probabilistic_pairs` returns for each pair.
COMPARED = ("name_norm", "email_norm", "phone_norm", "postcode", "city_norm", "address_norm")

#: Python's ``\\s`` (Unicode white space) in RE2 syntax, for pyarrow's regex kernels.
_RE2_SPACE = r"[\s\x{0b}\x{1c}-\x{1f}\x{85}\p{Z}]+"


def _arrow(s: pd.Series) -> pa.Array:
    """``s`` as one Arrow ``large_string`` array: a ``string[pyarrow]`` Series from its
    own Arrow memory (no Python ``str`` per value in between), anything else through
    pandas' ``string`` dtype. The same values either way."""
    if isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow":
        arr = pa.array(s.array).cast(pa.large_string())  # its own chunks (or one array)
        return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    return pa.array(s.astype("string"), type=pa.large_string())


def _series(arr: pa.Array, index: pd.Index) -> pd.Series:
    """An Arrow string array as a ``string[pyarrow]`` Series, empty strings -> <NA>."""
    arr = pc.if_else(pc.equal(pc.utf8_length(arr), 0), pa.scalar(None, arr.type), arr)
    return pd.Series(pd.arrays.ArrowStringArray(arr.cast(pa.large_string())), index=index)


def name_features(name: pd.Series) -> dict[str, pd.Series]:
    """Forename (first token) and surname (the other tokens, spaces removed) of a name.

    Args:
        name: full names as written (any case and spacing); <NA> allowed.

    Returns:
        ``forename`` and ``surname`` (lower case, ``string[pyarrow]``, <NA> when absent: a
        one-token name has no surname), index of ``name``.
    """
    low = pc.utf8_trim_whitespace(
        pc.replace_substring_regex(pc.utf8_lower(_arrow(name)), _RE2_SPACE, " ")
    )
    parts = pc.extract_regex(low, r"^(?P<first>\S+)(?: (?P<rest>.*))?$")
    first = pc.struct_field(parts, "first")
    rest = pc.replace_substring(pc.struct_field(parts, "rest"), " ", "")
    surname = _series(rest, name.index)
    return {
        "forename": _series(first, name.index),
        "surname": surname,
        "surname3": surname.str.slice(0, 3),
    }


def address_features(address: pd.Series) -> dict[str, pd.Series]:
    """What the model compares of a street address, by token.

    Args:
        address: addresses as written; <NA> allowed.

    Returns:
        ``addr_num``: the address's numbers (house, building, unit) in order, one space
        apart; ``addr_text``: its letters only, lower case, without spaces (street and
        locality words, robust to split or merged words); ``addr_tokens``: its words of two
        or more letters (a list, robust to swapped address lines). Index of ``address``.
    """
    low = pc.utf8_lower(_arrow(address))
    nums = pc.utf8_trim_whitespace(pc.replace_substring_regex(low, r"[^0-9]+", " "))
    text = pc.replace_substring_regex(low, r"[^\pL]+", "")
    words = pc.utf8_trim_whitespace(pc.replace_substring_regex(low, r"[^\pL]+", " "))
    token_arr = _word_sets(words)
    return {
        "addr_num": _series(nums, address.index),
        "addr_text": _series(text, address.index),
        "addr_tokens": pd.Series(pd.arrays.ArrowExtensionArray(token_arr), index=address.index),
    }


def _word_sets(words: pa.Array) -> pa.ListArray:
    """Per text of single-space separated words: its distinct words of two or more
    characters, sorted (by code point, as Python sorts ``str``), or null when it has none
    (or is empty or null). Computed on the flattened words with Arrow sorts, not per text in
    Python. Returns a ``list<string>`` array of ``len(words)``."""
    n = len(words)
    nonempty = pc.if_else(pc.equal(pc.utf8_length(words), 0), pa.scalar(None, words.type), words)
    lists = pc.split_pattern(nonempty, " ")
    parent = pc.list_parent_indices(lists)
    flat = pc.list_flatten(lists).cast(pa.string())
    long = pc.greater(pc.utf8_length(flat), 1)
    t = pa.table({"parent": parent, "word": flat}).filter(long)
    t = t.take(pc.sort_indices(t, sort_keys=[("parent", "ascending"), ("word", "ascending")]))
    p = t["parent"].to_numpy()
    w = t["word"].combine_chunks()
    if len(p):  # drop a word repeated within its text (equal neighbours after the sort)
        same = pc.and_(pa.array(p[1:] == p[:-1]), pc.equal(w.slice(1), w.slice(0, len(w) - 1)))
        keep = np.concatenate([[True], ~same.to_numpy(zero_copy_only=False)])
        p, w = p[keep], w.filter(pa.array(keep))
    counts = np.bincount(p.astype(np.int64), minlength=n)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    return pa.ListArray.from_arrays(
        pa.array(offsets), w, type=pa.list_(pa.string()), mask=pa.array(counts == 0)
    )


def phone_keys(phone_norm: pd.Series) -> dict[str, pd.Series]:
    """Blocking keys that survive one wrong digit of a phone: its first and its last half.

    Returns ``phone_head`` (the first ``len // 2`` digits) and ``phone_tail`` (the rest);
    <NA> when the phone is missing.
    """
    p = phone_norm.astype("string[pyarrow]")
    n = p.str.len()
    head = pd.Series(pd.NA, index=p.index, dtype="string[pyarrow]")
    tail = head.copy()
    for length in n.dropna().unique():
        rows = (n == length).to_numpy(dtype=bool, na_value=False)
        head[rows] = p[rows].str.slice(0, int(length) // 2)
        tail[rows] = p[rows].str.slice(int(length) // 2)
    return {"phone_head": head, "phone_tail": tail}


def _address_comparison() -> cl.CustomComparison:
    """Addresses by token: exact; same numbers and street letters within Jaro-Winkler 0.9;
    same numbers and a shared word; letters within 0.88 or two shared words (number missing
    or mistyped); same numbers or one shared word; else."""
    num_same = cll.ExactMatchLevel("addr_num")
    text_close = cll.JaroWinklerLevel("addr_text", 0.9)
    return cl.CustomComparison(
        output_column_name="address",
        comparison_levels=[
            cll.NullLevel("address_norm"),
            cll.ExactMatchLevel("address_norm").configure(tf_adjustment_column="address_norm"),
            cll.And(num_same, text_close).configure(label_for_charts="numbers same, street close"),
            cll.And(num_same, cll.ArrayIntersectLevel("addr_tokens", 1)).configure(
                label_for_charts="numbers same, a word shared"
            ),
            cll.Or(
                cll.JaroWinklerLevel("addr_text", 0.88), cll.ArrayIntersectLevel("addr_tokens", 2)
            ).configure(label_for_charts="street close or two words shared"),
            cll.Or(num_same, cll.ArrayIntersectLevel("addr_tokens", 1)).configure(
                label_for_charts="numbers same or a word shared"
            ),
            cll.ElseLevel(),
        ],
    )


class _OneEditLevel(cll.DamerauLevenshteinLevel):
    """Damerau-Levenshtein distance <= 1 (one edit, or two adjacent characters swapped),
    computed only for pairs within Levenshtein distance 2 (which every such pair is):
    DuckDB's Damerau-Levenshtein costs several times its Levenshtein, and a CASE spares
    the random pairs of u estimation the dearer function."""

    def __init__(self, col_name: str) -> None:
        super().__init__(col_name, 1)

    def create_sql(self, sql_dialect) -> str:
        damerau = super().create_sql(sql_dialect)
        col = self.col_expression
        lev = sql_dialect.levenshtein_function_name
        return f"CASE WHEN {lev}({col.name_l}, {col.name_r}) <= 2 THEN {damerau} ELSE FALSE END"

    def create_label_for_charts(self) -> str:
        return "one edit or two adjacent characters swapped"


def _one_digit(col: str, tf: bool = False) -> cl.CustomComparison:
    """Exact; one edit or two adjacent characters swapped (Damerau-Levenshtein <= 1); else."""
    exact = cll.ExactMatchLevel(col)
    if tf:
        exact = exact.configure(tf_adjustment_column=col)
    return cl.CustomComparison(
        output_column_name=col,
        comparison_levels=[
            cll.NullLevel(col),
            exact,
            _OneEditLevel(col),
            cll.ElseLevel(),
        ],
    )


def comparisons() -> list:
    """The model's comparisons (see the module docstring)."""
    return [
        cl.ForenameSurnameComparison(
            "forename",
            "surname",
            jaro_winkler_thresholds=[0.92, 0.85],
            forename_surname_concat_col_name="name_norm",
        ),
        cl.ExactMatch("email_norm"),
        _one_digit("phone_norm"),
        _one_digit("postcode", tf=True),
        cl.JaroWinklerAtThresholds("city_norm", [0.9]).configure(term_frequency_adjustments=True),
        _address_comparison(),
    ]


def blocking_rules(open_only: bool) -> list:
    """:data:`BLOCKING_KEYS` as splink blocking rules; with ``open_only`` each rule also
    needs one side to be an open record (column ``is_open``). Column names are left
    unquoted (plain identifiers), so DuckDB and Spark read the rules alike."""
    rules = [" AND ".join(f"l.{k} = r.{k}" for k in keys) for keys in BLOCKING_KEYS]
    rules.append(SWAPPED_NAMES)
    if open_only:
        rules = [f"{r} AND (l.is_open OR r.is_open)" for r in rules]
    return rules


def open_pairs_sql(table: str) -> str:
    """DuckDB SQL of the candidate pairs of ``blocking_rules(open_only=True)``, built from
    the open records outwards, as splink's blocked-pairs table.

    Splink joins every record with every record per rule and only then drops the pairs
    without an open side (and, per rule, those an earlier rule made); with few open
    records most of that work is thrown away. Here each rule joins only the open records
    (``is_open``) to all records, so the join yields just the wanted pairs. The set of
    pairs is splink's: a pair (l, r) with ``l.unique_id < r.unique_id``, at least one side
    open, agreeing on every key of at least one rule (every rule is symmetric in l and r,
    the swapped-names rule included), each pair once with the first such rule's index as
    ``match_key``.

    Args:
        table: the DuckDB table of the records (unique_id, is_open and the blocking keys).

    Returns:
        A SELECT giving match_key (text), join_key_l, join_key_r.
    """
    conditions = [" AND ".join(f"o.{k} = a.{k}" for k in keys) for keys in BLOCKING_KEYS]
    conditions.append("o.forename = a.surname AND o.surname = a.forename")
    per_rule = [
        f"SELECT {i} AS k, least(o.unique_id, a.unique_id) AS l, "
        f"greatest(o.unique_id, a.unique_id) AS r "
        f"FROM {table} AS o JOIN {table} AS a ON {cond} "
        "WHERE o.is_open AND o.unique_id <> a.unique_id"
        for i, cond in enumerate(conditions)
    ]
    union = " UNION ALL ".join(per_rule)
    return (
        "SELECT CAST(min(k) AS VARCHAR) AS match_key, l AS join_key_l, r AS join_key_r "
        f"FROM ({union}) GROUP BY l, r"
    )


def settings(open_only: bool) -> SettingsCreator:
    """The model: :func:`comparisons` and :func:`blocking_rules`."""
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=comparisons(),
        blocking_rules_to_generate_predictions=blocking_rules(open_only),
        retain_intermediate_calculation_columns=False,
        linker_uid="channelops",
    )


#: EM sessions of :func:`train`: each estimates m of the comparisons its rule leaves free.
EM_RULES: tuple[tuple[str, ...], ...] = (
    ("phone_norm",),
    ("address_norm",),
    ("postcode", "surname"),
    ("city_norm", "forename"),
)


#: Up to this many record pairs, u is computed from every pair (no sample, no seed).
U_ALL_PAIRS_UP_TO = 2_000_000

#: Random record pairs that estimate u on larger data.
U_SAMPLE_PAIRS = 1_000_000


def u_pairs(n_records: int) -> float:
    """Record pairs that estimate u for ``n_records`` records.

    Every pair when there are at most :data:`U_ALL_PAIRS_UP_TO` (small data: u is then
    exact and does not depend on the seed; a sample of such data can hold no pair at a rare
    level, e.g. phones one digit apart, and splink would keep that level's default u, a
    hundred times too large); else a random sample of :data:`U_SAMPLE_PAIRS` pairs (splink's
    usual size), drawn with the seed.
    """
    total = n_records * (n_records - 1) // 2
    if total <= U_ALL_PAIRS_UP_TO:
        return float(total + n_records)  # >= every pair: splink samples nothing
    return float(U_SAMPLE_PAIRS)


def train(linker: Linker, seed: int, max_em_pairs: float, n_records: int = 10**4) -> int:
    """Train without labels: the prior from the exact phone / e-mail rule (assumed recall
    0.8), u by random sampling (:func:`u_pairs` pairs for ``n_records`` records), m by
    expectation maximisation on the pairs of each rule of
    :data:`EM_RULES` (pairs that share a phone, an address, a postcode and surname, a city
    and forename). A rule that pairs no records (e.g. no surnames in one-token names) is
    skipped.

    Returns:
        The number of EM sessions run; :class:`EMTrainingException` when none could run.
    """
    linker.training.estimate_probability_two_random_records_match(
        [block_on("email_norm"), block_on("phone_norm")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=u_pairs(n_records), seed=seed)
    sessions, last = 0, None
    for keys in EM_RULES:
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                block_on(*keys), record_sample_proportion=1.0, max_pairs=max_em_pairs
            )
        except EMTrainingException as exc:
            last = exc
            continue
        sessions += 1
    if not sessions and last is not None:
        raise last
    return sessions
