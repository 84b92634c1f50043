"""Integration merge: every channel's lines in one truthful, accounted-for star schema.

The steps, each a function on DataFrames:

1. :func:`remove_duplicate_rows` — an export row repeated verbatim is kept once; the copies
   are listed (``duplicates``) so that rows read = accepted + duplicates + quarantined.
2. :func:`buyer_records` — one record per channel buyer (``channel_id``, ``buyer_ref``) with
   its most frequent PII, normalised for matching (:func:`normalise_phone`,
   :func:`normalise_email`).
3. :func:`link_buyers` — identity resolution. Deterministic rules: a buyer of a channel that
   carries CRM ids *is* that CRM customer; otherwise buyers and CRM customers that share a
   normalised phone or email are the same person (connected components of the
   shared-key graph). Then, for the buyers the rules leave alone, the best pair scored by
   :func:`probabilistic_pairs` (a Fellegi-Sunter model in splink on DuckDB, trained
   without labels) above a threshold. Customer ids are stable across re-runs of the same
   data. :func:`borderline_matches` lists the pairs a reviewer should look at and
   :func:`pairwise_link_scores` scores links against known identities.
4. :func:`golden_customers` — one record per customer with stated survivorship rules.
5. :func:`build_orders` — order header table from the lines; :func:`dq_report` — the
   per-channel accounting, with :func:`crm_link_rate`, :func:`revenue_reconciliation`,
   :func:`customer_overlap`, :func:`channel_overlap_matrix` and :func:`price_consistency`.

Private data: customer names, e-mails, phones and addresses (:data:`PII_COLUMNS`) live only
in the golden ``customers`` table and the DuckDB file; :func:`drop_pii` removes them there
too, :func:`redact_quarantine` withholds raw export lines from the quarantine, and
:func:`borderline_matches` shows masked values (:func:`mask_email`, :func:`mask_phone`,
:func:`mask_text`) with per-field agreement flags.
"""

from __future__ import annotations

import hashlib
import logging
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from splink import DuckDBAPI, Linker

from channelops.engine import duckdb_connection, is_spark, spark_session, to_spark
from channelops.frames import arrow_string_dtype, series_from_ns
from channelops.ingest.pii import (
    LINE_PII_COLUMNS,
    mask_email,
    mask_phone,
    mask_text,
    normalise_email,
    normalise_phone,
)

from . import model
from .coverage import customer_lines, is_guest_line

__all__ = [
    "identity_nodes",
    "probabilistic_pairs",
    "link_buyers",
    "borderline_matches",
    "golden_customers",
    "attach_customers",
    "build_orders",
    "crm_link_rate",
    "customer_overlap",
    "channel_overlap_matrix",
    "overlap_views",
    "price_consistency",
    "SURVIVORSHIP_RULES",
    "write_warehouse",
]


SURVIVORSHIP_RULES = {
    "customer_id": "CRM id when the customer is in the CRM, else a stable hash of the "
    "lexicographically first (channel_id, buyer_ref) in the cluster",
    "name, email, phone, address, postcode, city": "CRM value when present; else the value "
    "seen on the most order lines across the customer's channel accounts (ties: the most "
    "recent order)",
    "first_order_ts / first_channel": "earliest accepted order line of any linked account",
}


def _stable_id(prefix: str, text: pd.Series) -> pd.Series:
    ids = [prefix + hashlib.sha1(s.encode("utf-8")).hexdigest()[:10] for s in text]
    return pd.Series(ids, index=text.index, dtype=object)


#: Python's ``\\s`` (Unicode white space) in RE2 syntax, for pyarrow's regex kernels:
#: ASCII space, tab, newline, CR, FF, VT, the separators 0x1c-0x1f and 0x85, and every
#: Unicode space separator (Z: no-break space, ideographic space U+3000, ...).
_RE2_SPACE = r"[\s\x{0b}\x{1c}-\x{1f}\x{85}\p{Z}]+"


def _norm_text(s: pd.Series) -> pd.Series:
    """Lower case with every space removed; empty -> <NA> (names, addresses, cities).

    Runs on Arrow (``utf8_lower``, ``replace_substring_regex``), not per value in Python.
    Returns a ``string[pyarrow]`` Series with the index of ``s``.
    """
    arr = model._arrow(s)
    t = pc.replace_substring_regex(pc.utf8_lower(arr), _RE2_SPACE, "")
    t = pc.if_else(pc.equal(pc.utf8_length(t), 0), pa.scalar(None, t.type), t)
    return pd.Series(pd.arrays.ArrowStringArray(t.cast(pa.large_string())), index=s.index)


#: The columns :func:`probabilistic_pairs` compares beside the plain ones of
#: :func:`identity_nodes` (names, then places), in this order.
COMPARED_FEATURES = (
    "name_norm", "forename", "surname", "surname3",
    "address_norm", "addr_num", "addr_text", "addr_tokens", "postcode", "city_norm",
)  # fmt: skip


def identity_nodes(
    buyers: pd.DataFrame, crm: pd.DataFrame | None, crm_channels: list[str], compared: bool = False
) -> pd.DataFrame:
    """The records of identity resolution, computed once per run and shared by
    :func:`probabilistic_pairs`, :func:`link_buyers` and
    :func:`~channelops.stages.integration.review.cluster_checks` (pass it as their
    ``nodes``; each computes the same table itself when not given one).

    One row per channel buyer (in ``buyers`` order), then per CRM customer (in ``crm``
    order). Columns: node (``b:<channel>:<buyer_ref>`` or ``c:<customer_id>``), crm_id,
    email_norm, phone_norm and key_label: the connected component of the record in the
    shared-key graph (records sharing a normalised e-mail, phone or CRM id), i.e. the
    deterministic rules' clusters (the CRM's keys normalised here, once). With
    ``compared``, also :data:`COMPARED_FEATURES` (what splink compares), computed in two
    more threads while the keys and their graph are (Arrow's string kernels release the
    GIL), and taken by :func:`probabilistic_pairs` instead of computed again.
    ``attrs``: none (the table is plain columns).
    """
    with ThreadPoolExecutor(2, "features") as pool:
        jobs = _feature_jobs(pool, buyers, crm) if compared else None
        nodes = _identity_nodes(buyers, crm, crm_channels, compared=False)
        rows, cols, size = _key_edges(nodes)
        nodes["key_label"] = _components(rows, cols, size, len(nodes))
        if jobs is None:
            return nodes
        return pd.concat([nodes, _features(jobs)], axis=1)


def _given_nodes(
    nodes: pd.DataFrame | None,
    buyers: pd.DataFrame,
    crm: pd.DataFrame | None,
    crm_channels: list[str],
) -> pd.DataFrame:
    """``nodes`` from :func:`identity_nodes` when given (checked to hold a row per buyer
    and CRM record), else computed."""
    if nodes is None:
        return identity_nodes(buyers, crm, crm_channels)
    n_crm = 0 if crm is None else len(crm)
    if len(nodes) != len(buyers) + n_crm or "key_label" not in nodes.columns:
        raise ValueError(
            f"nodes: {len(nodes):,} rows, expected identity_nodes() of these "
            f"{len(buyers):,} buyers and {n_crm:,} CRM records"
        )
    return nodes


_ARROW_TEXT = pd.StringDtype("pyarrow")  # Arrow memory, read by DuckDB without conversion


def _text_col(frame: pd.DataFrame, name: str) -> pd.Series:
    """Column ``name`` of ``frame`` as Arrow text on a fresh RangeIndex (all <NA> when absent)."""
    if name in frame.columns:
        return frame[name].astype(_ARROW_TEXT).reset_index(drop=True)
    return pd.Series(pd.NA, index=range(len(frame)), dtype=_ARROW_TEXT)


def _name_features(frame: pd.DataFrame) -> dict[str, pd.Series]:
    return {
        "name_norm": _norm_text(_text_col(frame, "name")),
        **model.name_features(_text_col(frame, "name")),
    }


def _place_features(frame: pd.DataFrame) -> dict[str, pd.Series]:
    return {
        "address_norm": _norm_text(_text_col(frame, "address")),
        **model.address_features(_text_col(frame, "address")),
        "postcode": _norm_text(_text_col(frame, "postcode")),
        "city_norm": _norm_text(_text_col(frame, "city")),
    }


def _feature_jobs(pool: ThreadPoolExecutor, buyers: pd.DataFrame, crm: pd.DataFrame | None):
    """The compared features of the buyers and the CRM records, names and places, as
    jobs of ``pool`` (each column computed by the same kernels from the same values as
    in one thread)."""
    crm = crm if crm is not None else pd.DataFrame(columns=["customer_id"])
    return [[pool.submit(f, frame) for f in (_name_features, _place_features)]
            for frame in (buyers, crm)]  # fmt: skip


def _features(jobs) -> pd.DataFrame:
    """The frame of :data:`COMPARED_FEATURES` from :func:`_feature_jobs`: buyers' rows,
    then the CRM's."""
    frames = [pd.DataFrame(name.result() | place.result()) for name, place in jobs]
    return pd.concat(frames, ignore_index=True)


def _identity_nodes(
    buyers: pd.DataFrame,
    crm: pd.DataFrame | None,
    crm_channels: list[str],
    compared: bool = True,
    plain: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Graph nodes for identity resolution: channel buyers first, then CRM customers.

    Columns: node (``b:<channel>:<buyer_ref>`` or ``c:<customer_id>``), crm_id, email_norm,
    phone_norm and, with ``compared`` (what splink compares; :func:`link_buyers` does not
    need them), :data:`COMPARED_FEATURES`. ``plain``: the first four columns already
    computed (:func:`identity_nodes`), taken instead of computed again, and its compared
    features too when it has them (``identity_nodes(..., compared=True)``).
    """
    key = ["node", "crm_id", "email_norm", "phone_norm"]
    if plain is not None:
        if compared and all(f in plain.columns for f in COMPARED_FEATURES):
            return plain[[*key, *COMPARED_FEATURES]]
        plain = plain[key]
    with ThreadPoolExecutor(2, "features") as pool:
        jobs = _feature_jobs(pool, buyers, crm) if compared else None
        if plain is None:
            plain = _plain_nodes(buyers, crm, crm_channels)
        if jobs is None:
            return plain
        return pd.concat([plain, _features(jobs)], axis=1)


def _plain_nodes(
    buyers: pd.DataFrame, crm: pd.DataFrame | None, crm_channels: list[str]
) -> pd.DataFrame:
    """node, crm_id, email_norm and phone_norm of the buyers, then the CRM records."""
    crm = crm if crm is not None else pd.DataFrame(columns=["customer_id"])
    b = buyers.reset_index(drop=True)
    c = crm.reset_index(drop=True)
    is_crm = b["channel_id"].isin(crm_channels).to_numpy(dtype=bool, na_value=False)
    ref = _text_col(b, "buyer_ref")
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "node": "b:" + _text_col(b, "channel_id") + ":" + ref,
                    "crm_id": ref.where(is_crm),
                    "email_norm": _text_col(b, "email_norm"),
                    "phone_norm": _text_col(b, "phone_norm"),
                }
            ),
            pd.DataFrame(
                {
                    "node": "c:" + _text_col(c, "customer_id"),
                    "crm_id": _text_col(c, "customer_id"),
                    "email_norm": normalise_email(_text_col(c, "email")).astype(_ARROW_TEXT),
                    "phone_norm": normalise_phone(_text_col(c, "phone")).astype(_ARROW_TEXT),
                }
            ),
        ],
        ignore_index=True,
    )


def probabilistic_pairs(
    buyers: pd.DataFrame,
    crm: pd.DataFrame | None,
    crm_channels: list[str],
    min_probability: float = 0.5,
    seed: int = 42,
    max_em_pairs: float = 2e6,
    engine: str = "local",
    open_only: bool = True,
    nodes: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Score candidate pairs of buyer and CRM records with a Fellegi-Sunter model (splink).

    The model (:mod:`~channelops.stages.integration.model`) is trained without labels: the
    prior match rate from the exact phone/e-mail rule (assumed recall 0.8), u by random
    sampling of record pairs, m by expectation maximisation. Comparisons: names by
    Jaro-Winkler with first and last name swapped and term-frequency adjustments; address
    by token (numbers, street letters, shared words); phone and postcode with one-digit
    tolerance; e-mail; city. Candidate pairs come from the blocking rules of
    :data:`~channelops.stages.integration.model.BLOCKING_KEYS` (one or two keys each, so
    that one typo leaves other rules to pair two records) and swapped names.

    Args:
        buyers: from :func:`buyer_records`.
        crm: the CRM or ``None``.
        crm_channels: channels whose buyer_ref is a CRM id.
        min_probability: pairs scored below this are not returned.
        seed: seed of the random sampling for u.
        max_em_pairs: cap on the pairs each EM session reads.
        open_only: score only pairs with a buyer the deterministic rules leave alone (the
            only pairs :func:`link_buyers` uses); ``False`` scores every blocked pair (to
            measure the blocking's recall).
        engine: ``local`` (splink on DuckDB in this process), or ``spark`` / a Spark master
            URL (splink's Spark backend; :mod:`channelops.engine`). The model is the same;
            the random pair sample that estimates u is the backend's own, so probabilities
            differ a little (see docs/scaling.md) and the links at the threshold do not on
            the tiny data.
        nodes: :func:`identity_nodes` of these buyers and CRM records, when the caller
            has it (computed here otherwise).

    Returns:
        node_l, node_r (node ids, see :func:`link_buyers`), match_probability, match_weight,
        the compared values of both sides (``<field>_l``, ``<field>_r``; Arrow-backed
        strings) and the comparison levels (``gamma_<field>``), sorted by node_l, node_r. Empty, with
        ``attrs['note']`` saying why, when the model cannot be trained:
        the deterministic links then stand alone.
    """
    columns = ["node_l", "node_r", "match_probability", "match_weight"]
    empty = pd.DataFrame(columns=columns).astype(
        {"match_probability": float, "match_weight": float}
    )
    # hand Arrow memory freed by earlier steps (e.g. the lines' personal columns) back to
    # the system before splink's DuckDB takes its share
    pa.default_memory_pool().release_unused()
    plain = _given_nodes(nodes, buyers, crm, crm_channels)
    nodes = _identity_nodes(buyers, crm, crm_channels, plain=plain)
    nodes = nodes.assign(**model.phone_keys(nodes["phone_norm"]))
    nodes["is_open"] = (
        _open_nodes_from(plain["key_label"].to_numpy(), plain, len(buyers)) if open_only else True
    )
    del plain
    nodes = nodes.drop(columns="crm_id").rename(columns={"node": "unique_id"})
    if len(nodes) < 3:
        empty.attrs["note"] = "too few records for a probabilistic model"
        return empty
    try:
        pairs = _splink_predict(nodes, min_probability, seed, max_em_pairs, engine, open_only)
    except Exception as exc:  # noqa: BLE001 - any failure falls back to the rules
        empty.attrs["note"] = (
            f"probabilistic matching skipped ({type(exc).__name__}: {str(exc)[:200]}); "
            "deterministic links only"
        )
        return empty
    pairs = pairs.rename(columns={"unique_id_l": "node_l", "unique_id_r": "node_r"})
    if is_spark(engine):
        pairs = pairs.sort_values(["node_l", "node_r"])
    pairs = pairs.reset_index(drop=True)
    pairs.attrs["note"] = f"{len(pairs):,} pairs scored at or above {min_probability}"
    return pairs


def _splink_predict(
    nodes: pd.DataFrame,
    min_probability: float,
    seed: int,
    max_em_pairs: float,
    engine: str = "local",
    open_only: bool = False,
) -> pd.DataFrame:
    """The splink part of :func:`probabilistic_pairs`: the model trained without labels,
    then the pairs scored at or above ``min_probability`` (columns of :func:`_pair_columns`,
    sorted by unique_id_l, unique_id_r on DuckDB; Spark's order is its own)."""
    with _quiet_splink():
        table, con = _splink_table(nodes, engine)
        try:
            linker = Linker(table, model.settings(open_only), log_level=logging.ERROR)
            _silence_splink_loggers()
            model.train(linker, seed, max_em_pairs, n_records=len(nodes))
            if con is not None and open_only:
                _register_open_pairs(linker, table, con)
            out = linker.inference.predict(threshold_match_probability=min_probability)
            if con is None:
                return _spark_pairs(out)
            return _duckdb_pairs(out, con)
        finally:
            # splink's tables (term frequencies, training pairs, candidate pairs) leave
            # memory now, not whenever the linker's reference cycles are collected
            if con is not None:
                con.close()


def _register_open_pairs(linker: Linker, table, con) -> None:
    """Hand splink the candidate pairs of the open-only blocking rules, computed from the
    open records outwards (:func:`~channelops.stages.integration.model.open_pairs_sql`):
    the same pairs splink's own blocking makes, without joining every record with every
    record first. ``predict`` then scores exactly these pairs."""
    name = "__channelops_open_pairs"
    con.execute(f"CREATE OR REPLACE TABLE {name} AS {model.open_pairs_sql(table.physical_name)}")
    linker.table_management.register_blocked_pairs_for_predict(table.db_api.register(name))


_SPLINK_LOGGERS = ("splink", "splink.internals")


def _silence_splink_loggers() -> None:
    for name in _SPLINK_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


@contextmanager
def _quiet_splink():
    """splink's warnings ignored and its loggers at ERROR inside; the loggers' levels are
    restored on leaving."""
    levels = {name: logging.getLogger(name).level for name in _SPLINK_LOGGERS}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _silence_splink_loggers()
        try:
            yield
        finally:
            for name, level in levels.items():
                logging.getLogger(name).setLevel(level)


def _splink_table(nodes: pd.DataFrame, engine: str):
    """``nodes`` registered in splink's database API for ``engine``, and the DuckDB
    connection (``None`` on Spark)."""
    if is_spark(engine):
        from splink.backends.spark import SparkAPI  # lazy: imports pyspark

        spark = spark_session(engine)
        # persist: intermediate tables stay in executor memory; 'parquet' (splink's
        # default) would need a checkpoint folder on storage every executor reaches
        db = SparkAPI(spark_session=spark, break_lineage_method="persist")
        # Arrow list column -> Python lists (None when missing), which Spark reads as arrays
        tokens = [t if isinstance(t, list) else None for t in nodes["addr_tokens"].tolist()]
        return db.register(to_spark(nodes.assign(addr_tokens=tokens), spark)), None
    # explicit limits: by default DuckDB takes every core and 80% of the memory, beside
    # the lines and buyer records this stage already holds; DuckDB spills what does not
    # fit
    con = duckdb_connection(threads=2, memory_limit="3GB")
    db = DuckDBAPI(connection=con)
    return db.register(nodes), con


def _spark_pairs(out) -> pd.DataFrame:
    """Spark's prediction as pandas, with the dtypes of the DuckDB path (Arrow strings)."""
    pairs = out.as_pandas_dataframe()[_pair_columns(out.columns)]
    text = [c for c in pairs.columns if pairs[c].dtype == object]
    return pairs.astype({c: pd.StringDtype("pyarrow") for c in text})


def _duckdb_pairs(out, con) -> pd.DataFrame:
    """DuckDB's prediction: only the ids, scores and compared values, sorted, through
    Arrow; the wide prediction (gamma columns, Python strings) is never built in pandas."""
    select = ", ".join(f'"{c}"' for c in _pair_columns(out.columns))
    arrow = con.sql(
        f"SELECT {select} FROM {out.physical_name} ORDER BY unique_id_l, unique_id_r"
    ).to_arrow_table()
    return arrow.to_pandas(types_mapper=arrow_string_dtype)


def _pair_columns(columns) -> list[str]:
    """The columns of splink's prediction that :func:`probabilistic_pairs` returns: unique
    ids, match_probability, match_weight, the compared values of both sides and the
    comparison levels (``gamma_<field>``)."""
    names = [c if isinstance(c, str) else c.unquote().name for c in columns]
    keep = ["unique_id_l", "unique_id_r", "match_probability", "match_weight"]
    fields = model.COMPARED
    keep += [f"{f}_{side}" for f in fields for side in ("l", "r")]
    keep += [c for c in names if c.startswith("gamma_")]
    return [c for c in keep if c in names]


def borderline_matches(
    pairs: pd.DataFrame,
    threshold: float,
    links: pd.DataFrame | None = None,
    n: int = 10,
    width: float = 0.15,
    mask: bool = True,
) -> pd.DataFrame:
    """The scored pairs closest to the threshold, for a reviewer to judge.

    Args:
        pairs: from :func:`probabilistic_pairs`.
        threshold: the match-probability threshold used by :func:`link_buyers`.
        links: when given, only pairs with a buyer whose link is ``splink`` or ``unlinked``
            are shown (the decisions the probabilistic model made).
        n: pairs shown at most.
        width: only pairs with ``|match_probability - threshold| <= width``.
        mask: show personal values masked (``'王***'``, ``'j***@qq.com'``,
            ``'*********00'``); ``False`` shows them in full (for a reviewer's own screen,
            never for a report).

    Returns:
        node_l, node_r (pseudonymous node ids), match_probability, accepted (probability >=
        threshold), ``same_<field>`` (both sides equal after normalisation, for name,
        address, city, phone, email) and the values of both sides (``<field>_norm_l``,
        ``<field>_norm_r``, masked unless ``mask=False``; city is not masked); nearest to
        the threshold first.
    """
    if pairs.empty:
        return pairs.assign(accepted=pd.Series(dtype=bool))
    near = pairs.loc[(pairs["match_probability"] - threshold).abs() <= width].copy()
    if links is not None:
        open_ = links.loc[links["rule"].isin(["splink", "unlinked"])]
        ids = set("b:" + open_["channel_id"].astype(str) + ":" + open_["buyer_ref"].astype(str))
        near = near.loc[near["node_l"].isin(ids) | near["node_r"].isin(ids)]
    near["distance"] = (near["match_probability"] - threshold).abs()
    near = near.sort_values(["distance", "node_l", "node_r"]).head(n)
    near["accepted"] = near["match_probability"] >= threshold
    cols = ["node_l", "node_r", "match_probability", "accepted"]
    fields = ("name_norm", "address_norm", "city_norm", "phone_norm", "email_norm")
    present = [f for f in fields if f"{f}_l" in near.columns and f"{f}_r" in near.columns]
    for f in present:
        same = f"same_{f.removesuffix('_norm')}"
        left, right = near[f"{f}_l"].astype("string"), near[f"{f}_r"].astype("string")
        near[same] = (left == right).astype("boolean")  # <NA> when a side is missing
        cols.append(same)
    maskers = {"name_norm": mask_text, "address_norm": mask_text, "phone_norm": mask_phone,
               "email_norm": mask_email}  # fmt: skip
    for f in present:
        for side in (f"{f}_l", f"{f}_r"):
            if mask and f in maskers:
                near[side] = maskers[f](near[side])
            cols.append(side)
    return near[cols].reset_index(drop=True)


def link_buyers(
    buyers: pd.DataFrame,
    crm: pd.DataFrame | None,
    crm_channels: list[str],
    pairs: pd.DataFrame | None = None,
    threshold: float = 0.9,
    reviewed: pd.DataFrame | None = None,
    nodes: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Resolve channel buyers to customers: deterministic rules, then probabilistic pairs.

    Rules, in order: (1) a buyer on a channel that carries CRM ids is the CRM customer with
    that id; (2) buyers and CRM customers sharing a normalised phone or email belong to
    one customer (transitively); (3) a buyer still alone after (1)-(2) joins the record of
    its best-scoring pair in ``pairs`` when that pair's match probability is at least
    ``threshold`` (one link per lone buyer, so a probabilistic link can attach a buyer to a
    customer but never merge two customers the rules kept apart). A cluster with one CRM
    customer takes its id; a cluster with several (conflicting keys) keeps the CRM id of
    each CRM buyer and gives the rest the smallest CRM id, flagged ``rule = 'conflict'``.

    Args:
        buyers: from :func:`buyer_records`.
        crm: the CRM (``customers.csv``) or ``None``.
        crm_channels: channel ids whose buyer_ref is a CRM customer_id.
        pairs: scored pairs from :func:`probabilistic_pairs`, or ``None`` for rules only.
        threshold: minimum match probability of a probabilistic link.
        reviewed: a reviewer's decisions (node_l, node_r, decision ``match`` /
            ``non_match``; :func:`~channelops.stages.integration.review.read_review_decisions`),
            over the model: a ``match`` joins the two records as a deterministic rule
            does (rule ``reviewed``); a ``non_match`` pair is never a probabilistic link.
            Decisions on records not in this run are ignored and counted.
        nodes: :func:`identity_nodes` of these buyers and CRM records, when the caller
            has it (computed here otherwise).

    Returns:
        customer_links: channel_id, buyer_ref, customer_id, match_probability (1.0 for
        deterministic links, the pair's probability for ``splink``), rule (``crm_id``,
        ``phone_or_email``, ``reviewed``, ``splink``, ``conflict``, ``unlinked``).
        ``attrs['rules_only_counts']``: buyers per rule had ``pairs`` not been used (a
        dict; equal to the rule counts of ``link_buyers(buyers, crm, crm_channels)``), so
        the rules-only comparison needs no second call. ``attrs['review']``: decisions
        applied (``matches``, ``non_matches``), ``unknown`` (naming a record not in this
        run) and ``non_matches_joined`` (non-match pairs the deterministic rules or other
        decisions still put in one customer).
    """
    nodes = _given_nodes(nodes, buyers, crm, crm_channels)
    n, nb = len(nodes), len(buyers)
    # the shared-key graph through its components: every record to one node per
    # component (the same clusters, and labels, as the key edges themselves give)
    det_only = nodes["key_label"].to_numpy()
    rows, cols = np.arange(n, dtype=np.int64), det_only.astype(np.int64) + n
    size = n + (int(det_only.max()) + 1 if n else 0)
    review = _review_edges(nodes, reviewed)
    rows = np.concatenate([rows, review.match_src])
    cols = np.concatenate([cols, review.match_dst])
    labels = det_labels = _components(rows, cols, size, n)
    splink_prob = np.full(n, np.nan)
    if pairs is not None and len(pairs) and len(review.non_match_keys):
        pairs = pairs.loc[~_pair_keys(pairs["node_l"], pairs["node_r"]).isin(review.non_match_keys)]
    if pairs is not None and len(pairs):
        cand = _candidates(nodes, pairs, threshold, det_labels)  # for both calls below
        best = _best_pairs_of_lone_buyers(nodes, pairs, threshold, det_labels, nb, cand)
        splink_prob[best["src"].to_numpy()] = best["prob"].to_numpy()
        rows = np.concatenate([rows, best["src"].to_numpy()])
        cols = np.concatenate([cols, best["dst"].to_numpy()])
        labels = _components(rows, cols, size, n)
        extra = _crm_pairs_of_open_clusters(nodes, pairs, threshold, det_labels, labels, nb, cand)
        if len(extra):
            labels = _components(
                np.concatenate([rows, extra["src"].to_numpy()]),
                np.concatenate([cols, extra["dst"].to_numpy()]),
                size,
                n,
            )
    buyer_crm = nodes["crm_id"].iloc[:nb].notna().to_numpy()
    has_key = (nodes["email_norm"].notna() | nodes["phone_norm"].notna()).to_numpy()[:nb]
    crm_codes, crm_uniques = pd.factorize(nodes["crm_id"], sort=True)
    no = np.zeros(nb, dtype=bool)
    det_rule = _link_rules(det_only, crm_codes, buyer_crm, has_key, no, no)
    _, cluster_size = _cluster_counts(labels, crm_codes)
    by_splink = ~np.isnan(splink_prob[:nb]) & (cluster_size[:nb] > 1)
    by_review = np.zeros(n, dtype=bool)
    by_review[review.match_src] = by_review[review.match_dst] = True
    rule = _link_rules(labels, crm_codes, buyer_crm, has_key, by_splink, by_review[:nb])
    out = pd.DataFrame(
        {
            "channel_id": _object_strings(buyers["channel_id"]),
            "buyer_ref": _object_strings(buyers["buyer_ref"]),
            "customer_id": _customer_ids(nodes["node"], labels, crm_codes, crm_uniques, nb),
            "match_probability": np.where(by_splink, splink_prob[:nb], 1.0),
            "rule": rule,
        }
    )
    out.attrs["rules_only_counts"] = {
        str(k): int(v) for k, v in zip(*np.unique(det_rule, return_counts=True), strict=True)
    }
    joined = labels[review.non_match_src] == labels[review.non_match_dst]
    out.attrs["review"] = {
        "matches": len(review.match_src),
        "non_matches": len(review.non_match_src),
        "unknown": review.unknown,
        "non_matches_joined": int(joined.sum()),
    }
    return out


def _object_strings(s: pd.Series) -> np.ndarray:
    """``s.astype("string").to_numpy()`` (an object array of ``str``, ``pd.NA`` when
    missing); a ``string[pyarrow]`` Series straight from its Arrow memory."""
    if isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow":
        return s.array.to_numpy(dtype=object, na_value=pd.NA)
    return s.astype("string").to_numpy()


class _Review(NamedTuple):
    """A reviewer's decisions as node positions (see :func:`_review_edges`)."""

    match_src: np.ndarray
    match_dst: np.ndarray
    non_match_src: np.ndarray
    non_match_dst: np.ndarray
    non_match_keys: set
    unknown: int


def _pair_keys(left: pd.Series, right: pd.Series) -> pd.Series:
    """An order-free key per pair of node ids: ``"<smaller>|<larger>"``."""
    lft, rgt = left.astype(str).to_numpy(), right.astype(str).to_numpy()
    return pd.Series(
        np.where(lft <= rgt, np.char.add(np.char.add(lft.astype(str), "|"), rgt.astype(str)),
                 np.char.add(np.char.add(rgt.astype(str), "|"), lft.astype(str))),
        dtype=object,
    )  # fmt: skip


def _review_edges(nodes: pd.DataFrame, reviewed: pd.DataFrame | None) -> _Review:
    """The decisions of ``reviewed`` whose both records are nodes of this run, as node
    positions; ``unknown`` counts the others."""
    empty = np.zeros(0, dtype=np.int64)
    if reviewed is None or not len(reviewed):
        return _Review(empty, empty, empty, empty, set(), 0)
    pos = pd.Series(np.arange(len(nodes)), index=nodes["node"].astype(str).to_numpy())
    left = pos.reindex(reviewed["node_l"].astype(str).to_numpy()).to_numpy()
    right = pos.reindex(reviewed["node_r"].astype(str).to_numpy()).to_numpy()
    known = ~np.isnan(left) & ~np.isnan(right)
    match = known & (reviewed["decision"] == "match").to_numpy()
    non = known & (reviewed["decision"] == "non_match").to_numpy()
    keys = set(_pair_keys(reviewed["node_l"][non], reviewed["node_r"][non]))
    return _Review(
        left[match].astype(np.int64),
        right[match].astype(np.int64),
        left[non].astype(np.int64),
        right[non].astype(np.int64),
        keys,
        int((~known).sum()),
    )


def _key_edges(nodes: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, int]:
    """Edges of the shared-key graph: every node to one key node per key value it carries
    (normalised e-mail, normalised phone, CRM id). A star per value, not a clique, so the
    graph grows linearly with the nodes.

    Returns:
        rows (node positions), cols (key node positions, after the ``len(nodes)`` record
        nodes) and the size of the graph (record nodes + key nodes).
    """
    arrow = pd.StringDtype("pyarrow")  # Arrow strings: no Python str per key
    keys = pd.concat(
        [
            "e:" + nodes["email_norm"].dropna().astype(arrow),
            "p:" + nodes["phone_norm"].dropna().astype(arrow),
            "i:" + nodes["crm_id"].dropna().astype(arrow),
        ]
    )
    key_codes, key_uniques = pd.factorize(keys)
    return keys.index.to_numpy(), key_codes + len(nodes), len(nodes) + len(key_uniques)


def _components(rows: np.ndarray, cols: np.ndarray, size: int, n: int) -> np.ndarray:
    """Connected-component label of each of the first ``n`` nodes of the undirected graph
    with edges ``rows[i] - cols[i]`` on ``size`` nodes."""
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(size, size))
    return connected_components(graph, directed=False)[1][:n]


def _best_pairs_of_lone_buyers(
    nodes: pd.DataFrame,
    pairs: pd.DataFrame,
    threshold: float,
    labels: np.ndarray,
    nb: int,
    cand: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The best-scoring pair of each buyer the deterministic rules leave alone.

    A buyer is lone when its cluster in ``labels`` has one node and it carries no CRM id.
    Among its pairs with match probability >= ``threshold`` the highest match weight wins
    (probability when ``pairs`` has no weight); ties go to a node whose cluster holds a CRM
    customer, then to the smallest node id.

    ``cand``: ``_candidates(nodes, pairs, threshold, labels)`` when the caller has it.

    Returns:
        src (the lone buyer's node position), dst (the other node's position), prob; one
        row per lone buyer with a pair, sorted by src.
    """
    if cand is None:
        cand = _candidates(nodes, pairs, threshold, labels)
    cand = cand.loc[_open_nodes_from(labels, nodes, nb)[cand["src"].to_numpy()]]
    best = cand.sort_values(["src", "score", "dst_crm", "dst_node"],
                            ascending=[True, False, False, True])  # fmt: skip
    return best.drop_duplicates("src")[["src", "dst", "prob"]]


def _candidates(
    nodes: pd.DataFrame, pairs: pd.DataFrame, threshold: float, labels: np.ndarray
) -> pd.DataFrame:
    """Both directions of each pair at or above ``threshold``: src, dst (node positions),
    prob, score (match weight, else probability), dst_node (its id) and dst_crm (the
    deterministic cluster of dst holds a CRM id)."""
    p = pairs.loc[pairs["match_probability"] >= threshold]
    left, right = _node_positions(nodes["node"], p["node_l"], p["node_r"])
    prob = p["match_probability"].to_numpy(dtype=float)
    score = p["match_weight"].to_numpy(dtype=float) if "match_weight" in p.columns else prob
    cand = pd.DataFrame(
        {
            "src": np.concatenate([left, right]),
            "dst": np.concatenate([right, left]),
            "prob": np.concatenate([prob, prob]),
            "score": np.concatenate([score, score]),
        }
    ).dropna(subset=["src", "dst"])
    cand = cand.astype({"src": np.int64, "dst": np.int64})
    has_crm = nodes["crm_id"].notna().to_numpy()
    crm_cluster = np.zeros(int(labels.max()) + 1 if len(labels) else 0, dtype=bool)
    crm_cluster[labels[has_crm]] = True
    cand["dst_crm"] = crm_cluster[labels[cand["dst"].to_numpy()]]
    cand["dst_node"] = nodes["node"].iloc[cand["dst"].to_numpy()].to_numpy()
    return cand


def _node_positions(node: pd.Series, *ids: pd.Series) -> list[np.ndarray]:
    """Position of each of ``ids`` in ``node`` (float, NaN when absent), per Series of
    ids: what ``pd.Series(np.arange(len(node)), index=node).reindex(ids)`` gives. Only the
    distinct ids are hashed (Arrow) and the node ids probed against them, not a Python
    ``str`` and hash entry per node; an id that more than one node carries is refused as
    that reindex refuses duplicate labels."""
    wanted = [model._arrow(i) for i in ids]
    distinct = pc.unique(pa.chunked_array(wanted, type=pa.large_string()))
    at = pc.index_in(model._arrow(node), value_set=distinct).to_numpy(zero_copy_only=False)
    hit = ~np.isnan(at) if at.dtype.kind == "f" else np.ones(len(at), dtype=bool)
    which = at[hit].astype(np.int64)
    if len(np.unique(which)) != len(which):
        raise ValueError("cannot reindex on an axis with duplicate labels")
    where = np.full(len(distinct), np.nan)
    where[which] = np.flatnonzero(hit)
    return [
        where[pc.index_in(w, value_set=distinct).to_numpy(zero_copy_only=False).astype(np.int64)]
        for w in wanted
    ]


def _open_nodes_from(labels: np.ndarray, nodes: pd.DataFrame, nb: int) -> np.ndarray:
    """Per node of :func:`_identity_nodes`: True for a buyer (one of the first ``nb``) the
    deterministic clusters ``labels`` leave alone (no CRM id, no shared phone or e-mail),
    the only buyers :func:`link_buyers` gives a probabilistic link."""
    det_size = np.bincount(labels)[labels]
    return (det_size == 1) & (np.arange(len(nodes)) < nb) & nodes["crm_id"].isna().to_numpy()


def _crm_pairs_of_open_clusters(
    nodes: pd.DataFrame,
    pairs: pd.DataFrame,
    threshold: float,
    det_labels: np.ndarray,
    labels: np.ndarray,
    nb: int,
    cand: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One link to a CRM customer for each cluster of lone buyers that has none.

    Two duplicates of one person may score each other as high as they score the CRM record
    and pick each other (:func:`_best_pairs_of_lone_buyers`); their cluster then holds no
    CRM id although a member scores the CRM record above ``threshold``. The best such pair
    of the cluster (highest weight, then smallest node id) links it; one link per cluster,
    so no two customers are merged.

    ``cand``: ``_candidates(nodes, pairs, threshold, det_labels)`` when the caller has it.

    Returns:
        src, dst, prob as :func:`_best_pairs_of_lone_buyers`.
    """
    cols = ["src", "dst", "prob"]
    has_crm = nodes["crm_id"].notna().to_numpy()
    k = int(labels.max()) + 1 if len(labels) else 0
    crm_cluster = np.zeros(k, dtype=bool)
    crm_cluster[labels[has_crm]] = True
    if cand is None:
        cand = _candidates(nodes, pairs, threshold, det_labels)
    lone = _open_nodes_from(det_labels, nodes, nb)
    src, dst = cand["src"].to_numpy(), cand["dst"].to_numpy()
    keep = lone[src] & ~crm_cluster[labels[src]] & crm_cluster[labels[dst]]
    keep &= labels[src] != labels[dst]
    cand = cand.loc[keep].assign(cluster=labels[src[keep]])
    if cand.empty:
        return pd.DataFrame(columns=cols).astype({"src": np.int64, "dst": np.int64, "prob": float})
    cand["src_node"] = nodes["node"].iloc[cand["src"].to_numpy()].to_numpy()
    best = cand.sort_values(["cluster", "score", "src_node", "dst_node"],
                            ascending=[True, False, True, True])  # fmt: skip
    return best.drop_duplicates("cluster")[cols]


def _cluster_counts(labels: np.ndarray, crm_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per node: the number of distinct CRM ids in its cluster and the cluster's size.

    Args:
        labels: cluster label per node (0..k-1).
        crm_codes: integer code of the node's CRM id, -1 when it has none.
    """
    k = int(labels.max()) + 1 if len(labels) else 0
    has = crm_codes >= 0
    width = int(crm_codes.max()) + 1 if has.any() else 1
    distinct = np.unique(labels[has].astype(np.int64) * width + crm_codes[has])
    n_crm = np.bincount(distinct // width, minlength=k)
    size = np.bincount(labels, minlength=k)
    return n_crm[labels], size[labels]


def _link_rules(
    labels: np.ndarray,
    crm_codes: np.ndarray,
    buyer_crm: np.ndarray,
    has_key: np.ndarray,
    by_splink: np.ndarray,
    by_review: np.ndarray,
) -> np.ndarray:
    """The ``rule`` of each buyer (the first ``len(buyer_crm)`` nodes) for given clusters."""
    nb = len(buyer_crm)
    n_crm, size = _cluster_counts(labels, crm_codes)
    n_crm, size = n_crm[:nb], size[:nb]
    return np.select(
        [buyer_crm, n_crm > 1, by_review, by_splink, has_key & ((n_crm == 1) | (size > 1))],
        ["crm_id", "conflict", "reviewed", "splink", "phone_or_email"],
        default="unlinked",
    )


def _customer_ids(
    node: pd.Series,
    labels: np.ndarray,
    crm_codes: np.ndarray,
    crm_uniques,
    nb: int,
) -> np.ndarray:
    """customer_id of each buyer node (the first ``nb`` nodes), as an object array of str.

    A CRM buyer keeps its own CRM id; otherwise the smallest CRM id of its cluster; a
    cluster without CRM ids gets :func:`_stable_id` of its lexicographically first node id.
    Group minima run on integer codes (``pd.factorize(sort=True)``), not on strings.
    """
    crm_text = np.asarray(crm_uniques, dtype=object)
    has = crm_codes >= 0
    k = int(labels.max()) + 1 if len(labels) else 0
    cluster_crm = np.full(k, -1, dtype=np.int64)
    if has.any():
        mins = pd.Series(crm_codes[has]).groupby(labels[has]).min()
        cluster_crm[mins.index.to_numpy()] = mins.to_numpy()
    own, lab = crm_codes[:nb], labels[:nb]
    code = np.where(own >= 0, own, cluster_crm[lab])
    out = np.empty(nb, dtype=object)
    known = code >= 0
    out[known] = crm_text[code[known]]
    if (~known).any():
        need = np.unique(lab[~known])
        # the clusters' lexicographically first node: only their nodes are sorted (the
        # order of a subset is the order of all), unless a node id is missing
        members = np.flatnonzero(np.isin(labels, need))
        if node.isna().any():
            members = np.arange(len(node))
        node_codes, node_text = pd.factorize(node.iloc[members], sort=True)
        first = pd.Series(node_codes).groupby(labels[members]).min()
        first_node = pd.Series(np.asarray(node_text, dtype=object)[first.loc[need].to_numpy()])
        new_id = pd.Series(_stable_id("X", first_node).to_numpy(), index=need)
        out[~known] = new_id.loc[lab[~known]].to_numpy()
    return out


def golden_customers(
    buyers: pd.DataFrame, links: pd.DataFrame, crm: pd.DataFrame | None
) -> pd.DataFrame:
    """One record per customer, built by the rules in :data:`SURVIVORSHIP_RULES`.

    The per-customer aggregation runs in DuckDB over Arrow columns: ordered ``first(...)``
    aggregates pick each field's survivor (most order lines, then the latest order, then
    the buyer's position in ``buyers``), ``string_agg(DISTINCT ...)`` lists the channels.

    Args:
        buyers: from :func:`buyer_records`.
        links: from :func:`link_buyers` (channel_id, buyer_ref, customer_id).
        crm: the CRM (``customers.csv``) or ``None``; its values win where present.

    Returns:
        Columns customer_id, in_crm, name, email, phone, address, postcode, city,
        n_accounts, channels (comma-separated, sorted), first_order_ts, first_channel,
        last_order_ts; sorted by customer_id.
    """
    fields = ["name", "email", "phone", "address", "postcode", "city"]
    key = ["channel_id", "buyer_ref"]
    b = pa.table(
        {
            **{c: pa.array(buyers[c]) for c in key},
            "pos": pa.array(np.arange(len(buyers), dtype=np.int64)),
            "n_lines": pa.array(buyers["n_lines"], pa.int64()),
            "first_ts": pa.array(buyers["first_order_ts"].array.asi8, pa.int64()),
            "last_ts": pa.array(buyers["last_order_ts"].array.asi8, pa.int64()),
            **{f: pa.array(buyers[f]) for f in fields},
        }
    )
    ln = pa.table({c: _arrow_text(links[c]) for c in [*key, "customer_id"]})
    res = _golden_on_codes(b, ln, fields)
    if res is None:
        res = _golden_in_duckdb(b, ln, fields)
    agg = pd.DataFrame(
        {
            "n_accounts": res["n_accounts"].to_numpy().astype(np.int64),
            "channels": res["channels"].to_numpy(zero_copy_only=False).astype(object),
            "first_order_ts": series_from_ns(res["first_ts"], buyers["first_order_ts"].dtype),
            "last_order_ts": series_from_ns(res["last_ts"], buyers["last_order_ts"].dtype),
            "first_channel": res["first_channel"].to_numpy(zero_copy_only=False).astype(object),
            **{f: pd.Series(res[f].to_pandas(), dtype=buyers[f].dtype) for f in fields},
        }
    )
    agg.index = pd.Index(res["customer_id"].to_numpy(zero_copy_only=False).astype(object),
                         name="customer_id")  # fmt: skip
    del res
    agg["in_crm"] = False
    if crm is not None and len(crm):
        c = crm.set_index(crm["customer_id"].astype(str))
        agg["in_crm"] = agg.index.isin(c.index)
        # one lookup of the customers in the CRM for every field (reindex per field
        # looked them up six times); duplicate CRM ids take reindex, which refuses them
        at = c.index.get_indexer(agg.index) if c.index.is_unique else None
        for f in fields:
            if f in c.columns:
                crm_val = _crm_values(c[f], agg.index, at)
                agg[f] = crm_val.where(crm_val.notna(), agg[f])
    out = agg.reset_index()
    cols = ["customer_id", "in_crm", *fields, "n_accounts", "channels"]
    cols += ["first_order_ts", "first_channel", "last_order_ts"]
    return out[cols]


def _arrow_text(s: pd.Series) -> pa.Array:
    """``pa.array(s.astype("string"))`` (Arrow ``string``); an object column of ``str``
    and missing values converted by Arrow directly, without pandas' string array between."""
    if s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty"):
        return pa.array(s.to_numpy(), type=pa.string(), from_pandas=True)
    return pa.array(s.astype("string"))


def _crm_values(values: pd.Series, index: pd.Index, at: np.ndarray | None) -> pd.Series:
    """``values.reindex(index)``, from the positions ``at`` of ``index`` in
    ``values.index`` (-1 absent) when given and ``values`` is Arrow text."""
    if at is None or not (
        isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow"
    ):
        return values.reindex(index)
    return pd.Series(values.array.take(at, allow_fill=True), index=index, name=values.name)


def _golden_in_duckdb(b: pa.Table, ln: pa.Table, fields: list[str]) -> pa.Table:
    """The per-customer aggregation of :func:`golden_customers` in DuckDB (any links):
    ordered ``first(...)`` aggregates pick each field's survivor (most order lines, then
    the latest order, then the buyer's position ``pos``). Columns customer_id, n_accounts,
    channels, first_ts, last_ts, first_channel and ``fields``; sorted by customer_id."""
    survivors = ", ".join(
        f'first("{f}" ORDER BY n_lines DESC, last_ts DESC, pos) '
        f'FILTER (WHERE "{f}" IS NOT NULL) AS "{f}"'
        for f in fields
    )
    sql = (
        "SELECT customer_id, count(*) AS n_accounts, "
        "string_agg(DISTINCT channel_id, ',' ORDER BY channel_id) AS channels, "
        "min(first_ts) AS first_ts, max(last_ts) AS last_ts, "
        "first(channel_id ORDER BY first_ts, channel_id) AS first_channel, "
        f"{survivors} "
        "FROM b JOIN ln USING (channel_id, buyer_ref) GROUP BY customer_id ORDER BY customer_id"
    )
    con = duckdb_connection()
    try:
        con.register("b", b)
        con.register("ln", ln)
        return con.sql(sql).to_arrow_table()
    finally:
        con.close()


def _golden_on_codes(b: pa.Table, ln: pa.Table, fields: list[str]) -> pa.Table | None:
    """:func:`_golden_in_duckdb`'s table from one sort of the buyers on integer codes.

    Taken when ``ln`` holds exactly the buyers of ``b`` in the same order (as
    :func:`link_buyers` returns them) with no missing key, customer id, channel or line
    count, so the join is the identity; otherwise returns None (the DuckDB path then
    runs). Customers are the sorted distinct customer ids (Arrow's sort: by code point,
    as DuckDB's ORDER BY); a field's survivor is the value of the customer's first buyer
    by (n_lines descending, last_ts descending, pos) among those that have one; the
    channels are the distinct channel ids sorted and comma-joined; first_channel is the
    channel of the buyer with the smallest (first_ts, channel_id).
    """
    text = ("channel_id", "buyer_ref", "customer_id")
    numbers = ("n_lines", "first_ts", "last_ts")
    if len(b) != len(ln) or not all(_is_text(ln[c].type) for c in text):
        return None
    if any(ln[c].null_count for c in text) or any(b[c].null_count for c in numbers):
        return None  # missing keys, line counts or timestamps: DuckDB's rules
    for c in ("channel_id", "buyer_ref"):
        if not _is_text(b[c].type) or not ln[c].cast(pa.large_string()).equals(
            b[c].cast(pa.large_string())
        ):
            return None
    n_lines = b["n_lines"].to_numpy()
    first_ts, last_ts = b["first_ts"].to_numpy(), b["last_ts"].to_numpy()
    group, customers = pd.factorize(_arrow_strings(ln["customer_id"]), sort=True)
    chan, chan_names = pd.factorize(_arrow_strings(b["channel_id"]), sort=True)
    if len(chan_names) > 62:  # one bit per channel in an int64 below
        return None
    k, pos = len(customers), np.arange(len(b), dtype=np.int64)
    # ~x reverses an int64 order without overflow: n_lines DESC, last_ts DESC, then pos
    order = np.lexsort((pos, ~last_ts, ~n_lines, group))
    g_sorted = group[order]
    out = {
        "customer_id": pa.array(np.asarray(customers, dtype=object), pa.string()),
        "n_accounts": pa.array(np.bincount(group, minlength=k).astype(np.int64)),
    }
    masks = np.zeros(k, dtype=np.int64)
    np.bitwise_or.at(masks, group, np.left_shift(1, chan.astype(np.int64)))
    distinct, inverse = np.unique(masks, return_inverse=True)
    names = [",".join(str(chan_names[j]) for j in range(len(chan_names)) if m >> j & 1)
             for m in distinct]  # fmt: skip
    out["channels"] = pa.array(np.asarray(names, dtype=object)[inverse], pa.string())
    out["first_ts"] = pa.array(_group_extreme(first_ts, group, k, np.minimum))
    out["last_ts"] = pa.array(_group_extreme(last_ts, group, k, np.maximum))
    by_first = np.lexsort((chan, first_ts, group))
    starts = np.unique(group[by_first], return_index=True)[1]
    out["first_channel"] = pa.array(np.asarray(chan_names, dtype=object)[chan[by_first[starts]]],
                                    pa.string())  # fmt: skip
    for f in fields:
        present = b[f].is_valid().to_numpy(zero_copy_only=False)[order]
        take = np.full(k, -1, dtype=np.int64)
        # each group's first buyer with a value: g_sorted is sorted, so where it changes
        # (what np.unique(..., return_index=True) gives, without sorting again)
        g = g_sorted[present]
        first_at = np.flatnonzero(np.concatenate([g[:1] == g[:1], g[1:] != g[:-1]]))
        take[g[first_at]] = order[present][first_at]
        out[f] = b[f].take(pa.array(take, mask=take < 0))
    return pa.table(out)


def _is_text(arrow_type: pa.DataType) -> bool:
    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)


def _arrow_strings(column: pa.ChunkedArray) -> pd.api.extensions.ExtensionArray:
    """A text column as pandas ``string[pyarrow]`` values (no Python ``str`` per value)."""
    return pd.arrays.ArrowStringArray(column.cast(pa.large_string()))


def _group_extreme(values: np.ndarray, group: np.ndarray, k: int, ufunc) -> np.ndarray:
    """Per group 0..k-1 (every group has a member): ``ufunc`` (np.minimum / np.maximum)
    of its ``values``."""
    out = values[np.unique(group, return_index=True)[1]].copy()
    ufunc.at(out, group, values)
    return out


def attach_customers(lines: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """The order lines with their ``customer_id`` and without personal columns.

    Equivalent to ``lines.merge(links[[channel_id, buyer_ref, customer_id]], how='left')``
    minus :data:`LINE_PII_COLUMNS`, but the lookup runs per channel on the buyer_ref index
    and the other columns are shared with ``lines``, not copied.

    Args:
        lines: canonical order lines (channel_id, buyer_ref, ...).
        links: from :func:`link_buyers`; one row per (channel_id, buyer_ref).

    Guest lines (``is_guest``, or no ``buyer_ref``) are never linked: their customer_id
    is missing whatever ``links`` holds.

    Returns:
        The columns of ``lines`` except the personal ones, then ``customer_id``
        (``string[pyarrow]``; <NA> for a guest line or a line whose buyer has no link),
        fresh RangeIndex, same row order.
    """
    customer = np.full(len(lines), None, dtype=object)
    channel = lines["channel_id"].astype("string")
    link_channel = links["channel_id"].astype("string")
    for cid in pd.unique(link_channel.dropna()):
        rows = np.flatnonzero((channel == cid).to_numpy(dtype=bool, na_value=False))
        if not len(rows):
            continue
        sub = links.loc[(link_channel == cid).to_numpy(dtype=bool, na_value=False)]
        index = pd.Index(sub["buyer_ref"].astype("string"))
        pos = index.get_indexer(lines["buyer_ref"].iloc[rows].astype("string"))
        hit = pos >= 0
        customer[rows[hit]] = sub["customer_id"].to_numpy(dtype=object)[pos[hit]]
    customer[is_guest_line(lines).to_numpy()] = None
    keep = [c for c in lines.columns if c not in LINE_PII_COLUMNS]
    out = pd.DataFrame({c: lines[c].array for c in keep}, copy=False)
    out["customer_id"] = pd.array(customer, dtype=pd.StringDtype("pyarrow"))
    return out


def build_orders(order_lines: pd.DataFrame) -> pd.DataFrame:
    """Order header table: one row per (channel_id, order_id).

    Returns columns channel_id, order_id, customer_id (<NA> for a guest order), order_ts,
    order_ts_local, status (of the first line), n_lines, units, revenue_base (sum of line
    revenue, base currency), then where the lines carry them net_revenue_base (sum),
    demand_units (sum), is_guest (any line a guest line), city, postcode.
    """
    key = ["channel_id", "order_id"]
    agg = {
        "customer_id": ("customer_id", "first"),
        "order_ts": ("order_ts", "min"),
        "order_ts_local": ("order_ts_local", "min"),
        "status": ("status", "first"),
        "n_lines": ("line_no", "size"),
        "units": ("quantity", "sum"),
        "revenue_base": ("revenue_base", "sum"),
    }
    for total in ("net_revenue_base", "demand_units"):
        if total in order_lines.columns:
            agg[total] = (total, "sum")
    if "is_guest" in order_lines.columns:
        agg["is_guest"] = ("is_guest", "any")
    for optional in ("city", "postcode"):
        if optional in order_lines.columns:
            agg[optional] = (optional, "first")
    orders = order_lines.groupby(key, observed=True, sort=True).agg(**agg).reset_index()
    return orders


def crm_link_rate(links: pd.DataFrame, crm: pd.DataFrame | None) -> pd.DataFrame:
    """Share of each channel's buyers linked to a CRM customer.

    Returns one row per channel_id: buyers, linked_to_crm, link_rate (0-1), and the buyers
    per rule (``rule_<name>``).
    """
    crm_ids = set(crm["customer_id"].astype(str)) if crm is not None and len(crm) else set()
    t = links.assign(in_crm=links["customer_id"].astype(str).isin(crm_ids))
    out = t.groupby("channel_id").agg(buyers=("buyer_ref", "size"), linked_to_crm=("in_crm", "sum"))
    out["link_rate"] = out["linked_to_crm"] / out["buyers"]
    rules = t.groupby(["channel_id", "rule"]).size().unstack(fill_value=0).add_prefix("rule_")
    return out.join(rules).reset_index()


def customer_overlap(order_lines: pd.DataFrame) -> pd.DataFrame:
    """How many customers buy on 1, 2, 3... channels.

    Group-bys run on integer codes of customer_id and channel_id (``pd.factorize``), not
    on the strings; lines without a customer_id are left out.

    Returns n_channels, customers, share (0-1), revenue_base (their accepted revenue).
    """
    cust, _ = pd.factorize(order_lines["customer_id"], sort=True)
    chan, chan_names = pd.factorize(order_lines["channel_id"], sort=True)
    known = cust >= 0
    revenue = order_lines["revenue_base"].to_numpy()
    return _overlap_from_codes(revenue, cust, chan, len(chan_names), known)


def overlap_views(order_lines: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``customer_overlap(order_lines)`` and
    ``channel_overlap_matrix(customer_lines(order_lines))`` from one factorization of the
    customer and channel ids and one set of distinct (customer, channel) pairs (each
    function alone factorizes and pairs the lines itself: on the large data ten million
    customer ids twice). The same two tables; the matrix takes its own function when a
    line of a customer has no channel_id.

    Args:
        order_lines: lines with customer_id, channel_id and revenue_base.

    Returns:
        (overlap, matrix).
    """
    cust, _ = pd.factorize(order_lines["customer_id"], sort=True)
    chan, chan_names = pd.factorize(order_lines["channel_id"], sort=True)
    revenue = order_lines["revenue_base"].to_numpy()
    overlap, matrix = overlap_views_from_codes(cust, chan, chan_names, revenue)
    if matrix is None:
        matrix = channel_overlap_matrix(customer_lines(order_lines))
    return overlap, matrix


def overlap_views_from_codes(
    cust: np.ndarray, chan: np.ndarray, chan_names, revenue: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """:func:`overlap_views` from the lines' integer codes.

    Args:
        cust: per line, the customer's code, -1 for a line without a customer. Codes must
            follow the customer ids' sorted order (as ``pd.factorize(..., sort=True)``
            gives them); they may skip values (e.g. codes of every linked customer, some of
            whom have no line): the tables are the same.
        chan: per line, the channel's code in ``chan_names`` (-1: no channel_id).
        chan_names: the channel ids, sorted.
        revenue: per line, revenue_base (float).

    Returns:
        (overlap, matrix); the matrix is None when a line of a customer has no channel
        (the caller then takes :func:`channel_overlap_matrix` of the lines).
    """
    known = cust >= 0
    n_chan = len(chan_names)
    cust_k, chan_k = cust[known], chan[known]
    if (chan_k < 0).any():
        return _overlap_from_codes(revenue, cust, chan, n_chan, known), None
    width = max(n_chan, 1)
    pairs = _customer_channel_pairs(cust_k, chan_k, n_chan)  # once for both tables
    n_channels = np.bincount(pairs // width, minlength=int(cust_k.max()) + 1 if len(cust_k) else 0)
    overlap = _overlap_table(revenue[known], cust_k, n_channels)
    pair_cust, pair_chan = pairs // width, pairs % width
    present = np.unique(pair_chan)  # the channels of the customers' lines, sorted by name
    k = len(present)
    n_cust = int(pair_cust.max()) + 1 if len(pairs) else 0
    incidence = np.zeros((n_cust, k), dtype=np.int64)
    incidence[pair_cust, np.searchsorted(present, pair_chan)] = 1
    names = np.asarray(chan_names, dtype=object)[present]
    labels = pd.Index(names.astype(object), name="channel_id")
    m = pd.DataFrame(incidence.T @ incidence, index=labels, columns=labels.copy())
    m.columns.name = "channel_id"
    return overlap, m


def _overlap_from_codes(
    revenue: np.ndarray, cust: np.ndarray, chan: np.ndarray, n_chan: int, known: np.ndarray
) -> pd.DataFrame:
    """:func:`customer_overlap` from the lines' revenue and sorted customer and channel
    codes."""
    n_channels = _channels_per_customer(cust[known], chan[known], n_chan)
    return _overlap_table(revenue[known], cust[known], n_channels)


def _overlap_table(revenue: np.ndarray, cust: np.ndarray, n_channels: np.ndarray) -> pd.DataFrame:
    """The overlap table from the known lines' revenue and customer codes and the number
    of channels per customer code."""
    per_revenue = pd.Series(revenue).groupby(cust).sum()
    per = pd.DataFrame(
        {"n_channels": n_channels[per_revenue.index.to_numpy()], "revenue_base": per_revenue}
    )
    out = per.groupby("n_channels").agg(
        customers=("revenue_base", "size"), revenue_base=("revenue_base", "sum")
    )
    out["share"] = out["customers"] / out["customers"].sum()
    out["revenue_base"] = out["revenue_base"].round(2)
    return out.reset_index()[["n_channels", "customers", "share", "revenue_base"]]


def _customer_channel_pairs(cust: np.ndarray, chan: np.ndarray, n_chan: int) -> np.ndarray:
    """The distinct (customer code, channel code) pairs, encoded as cust * n_chan + chan,
    sorted (``np.unique``). Codes of non-negative keys are marked in a table of one byte
    per possible pair instead of hashing every line's key (the same sorted values)."""
    key = cust.astype(np.int64) * max(n_chan, 1) + chan
    if not len(key):
        return np.unique(key)
    low, high = int(key.min()), int(key.max())
    if low < 0 or high >= max(4 * len(key), 1 << 20):  # negative or sparse keys: hash
        return np.unique(key)
    seen = np.zeros(high + 1, dtype=np.bool_)
    seen[key] = True
    return np.flatnonzero(seen).astype(key.dtype, copy=False)


def _channels_per_customer(cust: np.ndarray, chan: np.ndarray, n_chan: int) -> np.ndarray:
    """Number of distinct channels per customer code (index = code)."""
    pairs = _customer_channel_pairs(cust, chan, n_chan)
    return np.bincount(pairs // max(n_chan, 1), minlength=int(cust.max()) + 1 if len(cust) else 0)


def channel_overlap_matrix(order_lines: pd.DataFrame) -> pd.DataFrame:
    """Customers shared by each pair of channels (diagonal: the channel's customers).

    A customer x channel incidence matrix of 0/1 from the integer codes, then its Gram
    matrix; lines without a customer_id count as one customer ``'nan'`` (as before).

    Returns a square int64 DataFrame, channels sorted by name on both axes.
    """
    cust, _ = pd.factorize(order_lines["customer_id"], use_na_sentinel=False)
    # the groups of astype(str) (a missing id is "<NA>"), in Arrow memory, not a str per line
    names = order_lines["channel_id"].astype(pd.StringDtype("pyarrow")).fillna("<NA>")
    chan, chan_names = pd.factorize(names, sort=True)
    k = len(chan_names)
    pairs = _customer_channel_pairs(cust, chan, k)
    n_cust = int(cust.max()) + 1 if len(cust) else 0
    incidence = np.zeros((n_cust, k), dtype=np.int64)
    incidence[pairs // max(k, 1), pairs % max(k, 1)] = 1
    labels = pd.Index(np.asarray(chan_names, dtype=object), name="channel_id")
    m = pd.DataFrame(incidence.T @ incidence, index=labels, columns=labels.copy())
    m.columns.name = "channel_id"
    return m


def price_consistency(order_lines: pd.DataFrame, tolerance: float = 0.10) -> pd.DataFrame:
    """Price of the same master SKU across channels (channel conflict).

    The price of a SKU on a channel is the median unit_price_base of its accepted lines.
    ``spread`` = max / min - 1 over the channels that sell it; ``conflict`` when the spread
    exceeds ``tolerance``.

    Returns one row per SKU sold on two or more channels: sku, n_channels, min_price,
    max_price, cheapest_channel, dearest_channel, spread, conflict; largest spread first.
    """
    med = order_lines.groupby(["sku", "channel_id"], observed=True)["unit_price_base"].median()
    med = med.reset_index()
    g = med.groupby("sku")
    out = g.agg(
        n_channels=("channel_id", "nunique"),
        min_price=("unit_price_base", "min"),
        max_price=("unit_price_base", "max"),
    )
    out["cheapest_channel"] = med.loc[
        g["unit_price_base"].idxmin(), ["sku", "channel_id"]
    ].set_index("sku")["channel_id"]
    out["dearest_channel"] = med.loc[
        g["unit_price_base"].idxmax(), ["sku", "channel_id"]
    ].set_index("sku")["channel_id"]
    out = out.loc[out["n_channels"] >= 2].copy()
    out["spread"] = out["max_price"] / out["min_price"] - 1
    out["conflict"] = out["spread"] > tolerance
    out[["min_price", "max_price"]] = out[["min_price", "max_price"]].round(2)
    return out.sort_values(["spread", "sku"], ascending=[False, True]).reset_index()


def write_warehouse(tables: dict, output_dir) -> str:
    """Write the star schema as one DuckDB file, ``<output_dir>/warehouse.duckdb``.

    Args:
        tables: table name -> a DataFrame, or the path of a Parquet file (as returned by
            :func:`channelops.run.folder.write_table`). From a Parquet file DuckDB reads the
            columns itself, without going through pandas (and its Python strings).
        output_dir: the run folder.

    The file is built under a temporary name and renamed into place, so a reader never
    opens a half-built warehouse.

    Returns:
        The path of the file.
    """
    target = Path(output_dir) / "warehouse.duckdb"
    tmp = target.with_name(f".warehouse.{os.getpid()}.duckdb.tmp")
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp), config={"threads": 2, "memory_limit": "4GB"})
    try:
        for name, table in tables.items():
            if isinstance(table, pd.DataFrame):
                con.register("frame_view", table)
                con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM frame_view')
                con.unregister("frame_view")
            else:
                con.execute(
                    f'CREATE TABLE "{name}" AS SELECT {_warehouse_columns(con, table)} '
                    "FROM read_parquet(?)",
                    [str(table)],
                )
    finally:
        con.close()
    os.replace(tmp, target)
    return str(target)


def _warehouse_columns(con, path) -> str:
    """SELECT list for a Parquet file in the warehouse: every column, with nanosecond UTC
    timestamps cast to ``TIMESTAMPTZ`` (microseconds), the type DuckDB gives the same
    columns from pandas frames, so the warehouse schema does not depend on the source."""
    described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
    cols = []
    for name, dtype, *_ in described:
        quoted = '"' + name.replace('"', '""') + '"'
        cols.append(f"CAST({quoted} AS TIMESTAMPTZ) AS {quoted}" if dtype == "TIMESTAMPTZ_NS"
                    else quoted)  # fmt: skip
    return ", ".join(cols)
