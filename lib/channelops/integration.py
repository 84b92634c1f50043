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

import numpy as np
import pandas as pd

from channelops.engine import is_spark, spark_session, to_spark

__all__ = [
    "normalise_phone",
    "normalise_email",
    "remove_duplicate_rows",
    "line_no_numbered",
    "buyer_records",
    "probabilistic_pairs",
    "link_buyers",
    "borderline_matches",
    "pairwise_link_scores",
    "golden_customers",
    "build_orders",
    "dq_report",
    "crm_link_rate",
    "revenue_reconciliation",
    "customer_overlap",
    "channel_overlap_matrix",
    "price_consistency",
    "SURVIVORSHIP_RULES",
    "write_warehouse",
    "PII_COLUMNS",
    "LINE_PII_COLUMNS",
    "drop_pii",
    "redact_quarantine",
    "mask_email",
    "mask_phone",
    "mask_text",
]

#: Personal columns of the golden ``customers`` table (and of :func:`buyer_records`).
PII_COLUMNS = ("name", "email", "phone", "address")
#: The same on canonical order lines; stage 03 drops them from ``order_lines``.
LINE_PII_COLUMNS = ("buyer_name", "buyer_email", "buyer_phone", "ship_address")

#: Columns that identify an export row's content (everything but where it sits in the file).
_CONTENT = [
    "channel_id",
    "order_id",
    "line_no",
    "order_ts",
    "buyer_ref",
    "buyer_name",
    "buyer_email",
    "buyer_phone",
    "ship_address",
    "postcode",
    "city",
    "channel_sku",
    "quantity",
    "unit_price",
    "discount",
    "currency",
    "status",
]

SURVIVORSHIP_RULES = {
    "customer_id": "CRM id when the customer is in the CRM, else a stable hash of the "
    "lexicographically first (channel_id, buyer_ref) in the cluster",
    "name, email, phone, address, postcode, city": "CRM value when present; else the value "
    "seen on the most order lines across the customer's channel accounts (ties: the most "
    "recent order)",
    "first_order_ts / first_channel": "earliest accepted order line of any linked account",
}


def normalise_phone(phone: pd.Series) -> pd.Series:
    """Digits only, country code 86 and leading zeros of mainland numbers removed.

    ``'+86 138-0013-8000'``, ``'86 13800138000'`` and ``'138 0013 8000'`` all become
    ``'13800138000'``. Values with fewer than 7 digits become ``<NA>``.
    """
    digits = phone.astype("string").str.replace(r"\D", "", regex=True)
    digits = digits.str.replace(r"^(?:0086|86)(?=1\d{10}$)", "", regex=True)
    return digits.where(digits.str.len() >= 7)


def normalise_email(email: pd.Series) -> pd.Series:
    """Lower case, surrounding spaces removed; values without ``@`` become ``<NA>``."""
    e = email.astype("string").str.strip().str.lower().str.replace(r"\s+", "", regex=True)
    return e.where(e.str.contains("@", regex=False, na=False))


def line_no_numbered(dataset) -> list[str]:
    """Channel ids whose export has no ``line_no`` column (the loader numbered the lines).

    A verbatim repeat of a row in such an export gets the next line number from the loader,
    so :func:`remove_duplicate_rows` must not compare ``line_no`` for these channels.
    """
    return [
        ch.id for ch in dataset.channels if "line_no" not in ch.mapping.resolve(list(ch.header))
    ]


def remove_duplicate_rows(
    lines: pd.DataFrame, numbered_channels: list[str] | tuple[str, ...] = ()
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep the first of each set of identical export rows; list the rest.

    Args:
        lines: canonical order lines with ``source_file`` and ``row``.
        numbered_channels: channels whose ``line_no`` was numbered by the loader (see
            :func:`line_no_numbered`); their ``line_no`` is left out of the comparison and
            renumbered within the order after the repeats are removed.

    Returns:
        ``(kept, duplicates)``; ``duplicates`` has ``channel_id``, ``source_file``, ``row``
        and ``duplicate_of_row`` (the row kept).
    """
    cols = [c for c in _CONTENT if c in lines.columns]
    ordered = lines.sort_values(["source_file", "row"], kind="stable")
    numbered = ordered["channel_id"].isin(list(numbered_channels)).to_numpy()
    key_frame = ordered[["source_file", *cols]]
    if numbered.any() and "line_no" in key_frame.columns:
        key_frame = key_frame.assign(line_no=ordered["line_no"].where(~numbered, 0))
    keys = pd.util.hash_pandas_object(key_frame, index=False)
    is_dup = keys.duplicated(keep="first").to_numpy()
    first_row = ordered["row"].groupby(keys.to_numpy()).transform("first")
    dups = ordered.loc[is_dup, ["channel_id", "source_file", "row"]].copy()
    dups["duplicate_of_row"] = first_row[is_dup].to_numpy()
    kept = ordered.loc[~is_dup]
    if numbered.any() and "line_no" in kept.columns and is_dup[numbered].any():
        renum = kept["channel_id"].isin(list(numbered_channels))
        sub = kept.loc[renum]
        new_no = sub.groupby(["source_file", "order_id"], observed=True).cumcount() + 1
        kept = kept.copy()
        kept.loc[renum, "line_no"] = new_no.astype(kept["line_no"].dtype)
    return kept.sort_index(), dups.reset_index(drop=True)


def _mode(frame: pd.DataFrame, key: list[str], col: str) -> pd.Series:
    """Most frequent non-null value of ``col`` per key (ties: latest order)."""
    sub = frame.loc[frame[col].notna(), [*key, col, "order_ts"]]
    if sub.empty:
        return pd.Series(dtype="string", name=col)
    stats = sub.groupby([*key, col], observed=True).agg(
        n=("order_ts", "size"), last=("order_ts", "max")
    )
    stats = stats.sort_values(["n", "last"], ascending=False).reset_index()
    return stats.drop_duplicates(key).set_index(key)[col]


def buyer_records(lines: pd.DataFrame) -> pd.DataFrame:
    """One row per (channel_id, buyer_ref): the buyer's PII and order counts.

    Returns columns channel_id, buyer_ref, name, email, phone, address, postcode, city,
    email_norm, phone_norm, n_lines, first_order_ts, last_order_ts.
    """
    key = ["channel_id", "buyer_ref"]
    base = lines.groupby(key, observed=True).agg(
        n_lines=("order_id", "size"),
        first_order_ts=("order_ts", "min"),
        last_order_ts=("order_ts", "max"),
    )
    rename = {
        "buyer_name": "name",
        "buyer_email": "email",
        "buyer_phone": "phone",
        "ship_address": "address",
        "postcode": "postcode",
        "city": "city",
    }
    for src, dst in rename.items():
        if src in lines.columns:
            base[dst] = _mode(lines, key, src).reindex(base.index)
        else:
            base[dst] = pd.Series(pd.NA, index=base.index, dtype="string")
    out = base.reset_index()
    out["email_norm"] = normalise_email(out["email"])
    out["phone_norm"] = normalise_phone(out["phone"])
    return out


def _stable_id(prefix: str, text: pd.Series) -> pd.Series:
    return text.map(lambda s: prefix + hashlib.sha1(s.encode("utf-8")).hexdigest()[:10])


def _norm_text(s: pd.Series) -> pd.Series:
    """Lower case with every space removed; empty -> <NA> (names, addresses, cities)."""
    t = s.astype("string").str.lower().str.replace(r"\s+", "", regex=True)
    return t.where(t.str.len() > 0)


def _identity_nodes(
    buyers: pd.DataFrame, crm: pd.DataFrame | None, crm_channels: list[str]
) -> pd.DataFrame:
    """Graph nodes for identity resolution: channel buyers first, then CRM customers.

    Columns: node (``b:<channel>:<buyer_ref>`` or ``c:<customer_id>``), crm_id, email_norm,
    phone_norm, name_norm, address_norm, postcode, city_norm.
    """
    crm = crm if crm is not None else pd.DataFrame(columns=["customer_id"])

    def col(frame: pd.DataFrame, name: str) -> pd.Series:
        if name in frame.columns:
            return frame[name].astype("string").reset_index(drop=True)
        return pd.Series(pd.NA, index=range(len(frame)), dtype="string")

    b = buyers.reset_index(drop=True)
    c = crm.reset_index(drop=True)
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "node": "b:" + b["channel_id"].astype(str) + ":" + b["buyer_ref"].astype(str),
                    "crm_id": pd.Series(
                        np.where(
                            b["channel_id"].isin(crm_channels), b["buyer_ref"].astype(str), None
                        ),
                        dtype="string",
                    ),
                    "email_norm": col(b, "email_norm"),
                    "phone_norm": col(b, "phone_norm"),
                    "name_norm": _norm_text(col(b, "name")),
                    "address_norm": _norm_text(col(b, "address")),
                    "postcode": col(b, "postcode").str.strip(),
                    "city_norm": _norm_text(col(b, "city")),
                }
            ),
            pd.DataFrame(
                {
                    "node": "c:" + c["customer_id"].astype(str),
                    "crm_id": c["customer_id"].astype("string"),
                    "email_norm": normalise_email(col(c, "email")),
                    "phone_norm": normalise_phone(col(c, "phone")),
                    "name_norm": _norm_text(col(c, "name")),
                    "address_norm": _norm_text(col(c, "address")),
                    "postcode": col(c, "postcode").str.strip(),
                    "city_norm": _norm_text(col(c, "city")),
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
) -> pd.DataFrame:
    """Score candidate pairs of buyer and CRM records with a Fellegi-Sunter model (splink).

    The model is trained without labels: u probabilities by random sampling of record
    pairs, the prior match rate from the exact phone/email rule (assumed recall 0.8), and
    m probabilities by expectation maximisation on two blocking rules (same address; same
    name, city and first six characters of the address). Comparisons: name (exact, Jaro-Winkler >= 0.9), e-mail, phone,
    postcode, city (exact) and address (exact, Levenshtein <= 2), all on normalised values.
    Candidate pairs come from blocking on address, phone, e-mail and name + city +
    address start (name + city alone grows quadratically with common names at scale).

    Args:
        buyers: from :func:`buyer_records`.
        crm: the CRM or ``None``.
        crm_channels: channels whose buyer_ref is a CRM id.
        min_probability: pairs scored below this are not returned.
        seed: seed of the random sampling for u.
        max_em_pairs: cap on the pairs each EM session reads.
        engine: ``local`` (splink on DuckDB in this process), or ``spark`` / a Spark master
            URL (splink's Spark backend; :mod:`channelops.engine`). The model is the same;
            the random pair sample that estimates u is the backend's own, so probabilities
            differ a little (see docs/scaling.md) and the links at the threshold do not on
            the tiny data.

    Returns:
        node_l, node_r (node ids, see :func:`link_buyers`), match_probability, match_weight
        and the compared values of both sides (``<field>_l``, ``<field>_r``). Empty, with
        ``attrs['note']`` saying why, when splink is missing or the model cannot be trained:
        the deterministic links then stand alone.
    """
    columns = ["node_l", "node_r", "match_probability", "match_weight"]
    empty = pd.DataFrame(columns=columns).astype(
        {"match_probability": float, "match_weight": float}
    )
    nodes = _identity_nodes(buyers, crm, crm_channels).drop(columns="crm_id")
    nodes = nodes.rename(columns={"node": "unique_id"})
    # first characters of the address (district and street): narrows name + city blocking,
    # which grows quadratically with common names in a big city
    nodes["street"] = nodes["address_norm"].str.slice(0, 6)
    if len(nodes) < 3:
        empty.attrs["note"] = "too few records for a probabilistic model"
        return empty
    try:
        pairs = _splink_predict(nodes, min_probability, seed, max_em_pairs, engine)
    except Exception as exc:  # noqa: BLE001 - any failure falls back to the rules
        empty.attrs["note"] = (
            f"probabilistic matching skipped ({type(exc).__name__}: {str(exc)[:200]}); "
            "deterministic links only"
        )
        return empty
    pairs = pairs.rename(columns={"unique_id_l": "node_l", "unique_id_r": "node_r"})
    pairs = pairs.sort_values(["node_l", "node_r"]).reset_index(drop=True)
    pairs.attrs["note"] = f"{len(pairs):,} pairs scored at or above {min_probability}"
    return pairs


def _splink_predict(
    nodes: pd.DataFrame,
    min_probability: float,
    seed: int,
    max_em_pairs: float,
    engine: str = "local",
) -> pd.DataFrame:
    """The splink part of :func:`probabilistic_pairs`, kept in one place."""
    import logging
    import warnings

    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            cl.JaroWinklerAtThresholds("name_norm", [0.9]),
            cl.ExactMatch("email_norm"),
            cl.ExactMatch("phone_norm"),
            cl.ExactMatch("postcode"),
            cl.ExactMatch("city_norm"),
            cl.LevenshteinAtThresholds("address_norm", [2]),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("address_norm"),
            block_on("phone_norm"),
            block_on("email_norm"),
            block_on("name_norm", "city_norm", "street"),
        ],
        retain_intermediate_calculation_columns=False,
        linker_uid="channelops",
    )
    quiet = ["splink", "splink.internals"]
    levels = {name: logging.getLogger(name).level for name in quiet}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in quiet:
            logging.getLogger(name).setLevel(logging.ERROR)
        try:
            if is_spark(engine):
                from splink.backends.spark import SparkAPI

                spark = spark_session(engine)
                # persist: intermediate tables stay in executor memory; 'parquet' (splink's
                # default) would need a checkpoint folder on storage every executor reaches
                db = SparkAPI(spark_session=spark, break_lineage_method="persist")
                table = db.register(to_spark(nodes, spark))
            else:
                db = DuckDBAPI()
                table = db.register(nodes)
            linker = Linker(table, settings, log_level=logging.ERROR)
            for name in quiet:
                logging.getLogger(name).setLevel(logging.ERROR)
            linker.training.estimate_probability_two_random_records_match(
                [block_on("email_norm"), block_on("phone_norm")], recall=0.8
            )
            linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=seed)
            for rule in (block_on("address_norm"), block_on("name_norm", "city_norm", "street")):
                linker.training.estimate_parameters_using_expectation_maximisation(
                    rule, record_sample_proportion=1.0, max_pairs=max_em_pairs
                )
            out = linker.inference.predict(threshold_match_probability=min_probability)
            pairs = out.as_pandas_dataframe()
        finally:
            for name, level in levels.items():
                logging.getLogger(name).setLevel(level)
    return pairs


def mask_email(email: pd.Series) -> pd.Series:
    """First character of the local part and the domain: ``'j***@example.com'``.

    Missing values stay missing; text without ``@`` is masked as by :func:`mask_text`.
    """
    e = email.astype("string")
    parts = e.str.extract(r"^\s*(?P<first>[^@\s])[^@]*@(?P<domain>.+?)\s*$")
    masked = parts["first"] + "***@" + parts["domain"]
    return masked.where(parts["first"].notna(), mask_text(e))


def mask_phone(phone: pd.Series) -> pd.Series:
    """Only the last two digits kept: ``'+86 138-0013-8000'`` -> ``'*********00'``.

    Missing values stay missing; values with fewer than 3 digits become ``'***'``.
    """
    digits = phone.astype("string").str.replace(r"\D", "", regex=True)
    masked = ("*" * 9) + digits.str[-2:]
    return masked.where(digits.str.len() >= 3, "***").where(phone.notna())


def mask_text(text: pd.Series) -> pd.Series:
    """First character and ``***`` (names, addresses): ``'王小明'`` -> ``'王***'``."""
    t = text.astype("string").str.strip()
    return (t.str[:1] + "***").where(t.str.len() > 0)


def drop_pii(table: pd.DataFrame, columns: tuple[str, ...] = PII_COLUMNS) -> pd.DataFrame:
    """The table without its personal columns (names, e-mails, phones, addresses).

    Args:
        table: e.g. the golden ``customers`` table from :func:`golden_customers`.
        columns: the columns to remove where present (default :data:`PII_COLUMNS`).

    Returns:
        A copy without those columns; ``customer_id``, ``postcode``, ``city`` and the order
        history stay (pseudonymous; postcode and city locate a customer only to a district).
    """
    return table.drop(columns=[c for c in columns if c in table.columns])


def redact_quarantine(quarantine: pd.DataFrame, dataset=None) -> pd.DataFrame:
    """The quarantine without personal data in its ``value`` column.

    A ``ragged_row`` carries the whole raw export line (names, phones, addresses): its value
    is withheld (the file and line say where to look). A value from an export column mapped
    to a personal field (buyer name, e-mail, phone, address) is masked.

    Args:
        quarantine: from :func:`channelops.dataset.read_export` (concatenated).
        dataset: the :class:`channelops.dataset.Dataset`, to know which export columns are
            personal; without it only ragged rows are redacted.

    Returns:
        A copy with ``value`` redacted where needed.
    """
    q = quarantine.copy()
    if q.empty:
        return q
    value = q["value"].astype("string")
    ragged = (q["reason"] == "ragged_row").to_numpy(dtype=bool, na_value=False)
    value = value.where(~ragged, "<raw line withheld: may hold personal data>")
    if dataset is not None:
        maskers = {
            "buyer_email": mask_email,
            "buyer_phone": mask_phone,
            "buyer_name": mask_text,
            "ship_address": mask_text,
        }
        for ch in dataset.channels:
            fields = ch.mapping.resolve(list(ch.header))
            for field, masker in maskers.items():
                column = fields.get(field)
                if column is None:
                    continue
                hit = ((q["channel_id"] == ch.id) & (q["column"] == column)).to_numpy(
                    dtype=bool, na_value=False
                )
                if hit.any():
                    value[hit] = masker(value[hit])
    q["value"] = value
    return q


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

    Returns:
        customer_links: channel_id, buyer_ref, customer_id, match_probability (1.0 for
        deterministic links, the pair's probability for ``splink``), rule (``crm_id``,
        ``phone_or_email``, ``splink``, ``conflict``, ``unlinked``).
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    nodes = _identity_nodes(buyers, crm, crm_channels)
    n, nb = len(nodes), len(buyers)
    # edges: every node to a key node per shared key value (star, not clique: linear size)
    keys = pd.concat(
        [
            "e:" + nodes["email_norm"].dropna().astype(str),
            "p:" + nodes["phone_norm"].dropna().astype(str),
            "i:" + nodes["crm_id"].dropna().astype(str),
        ]
    )
    key_codes, key_uniques = pd.factorize(keys)
    rows = keys.index.to_numpy()
    cols = key_codes + n
    size = n + len(key_uniques)

    def components(r: np.ndarray, c: np.ndarray) -> np.ndarray:
        graph = coo_matrix((np.ones(len(r)), (r, c)), shape=(size, size))
        return connected_components(graph, directed=False)[1][:n]

    labels = components(rows, cols)
    splink_prob = np.full(n, np.nan)
    if pairs is not None and len(pairs):
        det_size = pd.Series(labels).map(pd.Series(labels).value_counts()).to_numpy()
        lone = (det_size == 1) & (np.arange(n) < nb) & nodes["crm_id"].isna().to_numpy()
        pos = pd.Series(np.arange(n), index=nodes["node"].to_numpy())
        p = pairs.loc[pairs["match_probability"] >= threshold]
        left = pos.reindex(p["node_l"].to_numpy()).to_numpy()
        right = pos.reindex(p["node_r"].to_numpy()).to_numpy()
        prob = p["match_probability"].to_numpy(dtype=float)
        cand = pd.DataFrame(
            {
                "src": np.concatenate([left, right]),
                "dst": np.concatenate([right, left]),
                "prob": np.concatenate([prob, prob]),
            }
        ).dropna()
        cand = cand.astype({"src": np.int64, "dst": np.int64})
        cand = cand.loc[lone[cand["src"].to_numpy()]]
        cand["dst_node"] = nodes["node"].to_numpy()[cand["dst"].to_numpy()]
        best = cand.sort_values(["src", "prob", "dst_node"], ascending=[True, False, True])
        best = best.drop_duplicates("src")
        splink_prob[best["src"].to_numpy()] = best["prob"].to_numpy()
        labels = components(
            np.concatenate([rows, best["src"].to_numpy()]),
            np.concatenate([cols, best["dst"].to_numpy()]),
        )
    nodes["cluster"] = labels

    crm_ids = nodes.loc[nodes["crm_id"].notna()].groupby("cluster")["crm_id"]
    nodes["n_crm"] = nodes["cluster"].map(crm_ids.nunique()).fillna(0).astype(int)
    nodes["cluster_crm"] = nodes["cluster"].map(crm_ids.min())
    first_member = nodes.groupby("cluster")["node"].transform("min")
    new_ids = _stable_id("X", first_member)

    buyer_nodes = nodes.iloc[:nb].reset_index(drop=True)
    customer_id = buyer_nodes["crm_id"].where(
        buyer_nodes["crm_id"].notna(), buyer_nodes["cluster_crm"]
    )
    customer_id = customer_id.where(customer_id.notna(), new_ids.iloc[:nb].reset_index(drop=True))
    has_key = buyer_nodes["email_norm"].notna() | buyer_nodes["phone_norm"].notna()
    cluster_size = nodes.groupby("cluster")["node"].transform("size").iloc[:nb].to_numpy()
    by_splink = ~np.isnan(splink_prob[:nb]) & (cluster_size > 1)
    rule = np.select(
        [
            buyer_nodes["crm_id"].notna(),
            buyer_nodes["n_crm"] > 1,
            by_splink,
            has_key & ((buyer_nodes["n_crm"] == 1) | (cluster_size > 1)),
        ],
        ["crm_id", "conflict", "splink", "phone_or_email"],
        default="unlinked",
    )
    return pd.DataFrame(
        {
            "channel_id": buyers["channel_id"].astype("string").to_numpy(),
            "buyer_ref": buyers["buyer_ref"].astype("string").to_numpy(),
            "customer_id": customer_id.astype("string").to_numpy(),
            "match_probability": np.where(by_splink, splink_prob[:nb], 1.0),
            "rule": rule,
        }
    )


def pairwise_link_scores(links: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float]:
    """Pairwise precision, recall and F1 of identity links against known identities.

    A pair is two channel buyers; it is *predicted* when both get the same ``customer_id``
    in ``links`` and *true* when both have the same ``customer_id`` in ``truth``. Only buyers
    present in both tables are scored.

    Args:
        links: channel_id, buyer_ref, customer_id (from :func:`link_buyers`).
        truth: channel_id, buyer_ref, customer_id (e.g. the simulator's buyer identities).

    Returns:
        ``precision``, ``recall``, ``f1``, ``true_pairs``, ``predicted_pairs``,
        ``correct_pairs``, ``buyers``.
    """
    key = ["channel_id", "buyer_ref"]
    m = (
        links[[*key, "customer_id"]]
        .astype("string")
        .merge(truth[[*key, "customer_id"]].astype("string"), on=key, suffixes=("_pred", "_true"))
    )

    def pairs(sizes: pd.Series) -> int:
        n = sizes.to_numpy(dtype=np.int64)
        return int((n * (n - 1) // 2).sum())

    correct = pairs(m.groupby(["customer_id_pred", "customer_id_true"]).size())
    predicted = pairs(m.groupby("customer_id_pred").size())
    true = pairs(m.groupby("customer_id_true").size())
    precision = correct / predicted if predicted else 1.0
    recall = correct / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "true_pairs": true,
        "predicted_pairs": predicted,
        "correct_pairs": correct,
        "buyers": len(m),
    }


def golden_customers(
    buyers: pd.DataFrame, links: pd.DataFrame, crm: pd.DataFrame | None
) -> pd.DataFrame:
    """One record per customer, built by the rules in :data:`SURVIVORSHIP_RULES`.

    Returns columns customer_id, in_crm, name, email, phone, address, postcode, city,
    n_accounts, channels (comma-separated, sorted), first_order_ts, first_channel,
    last_order_ts.
    """
    b = buyers.merge(
        links[["channel_id", "buyer_ref", "customer_id"]], on=["channel_id", "buyer_ref"]
    )
    fields = ["name", "email", "phone", "address", "postcode", "city"]
    agg = b.groupby("customer_id").agg(
        n_accounts=("buyer_ref", "size"),
        channels=("channel_id", lambda s: ",".join(sorted(set(map(str, s))))),
        first_order_ts=("first_order_ts", "min"),
        last_order_ts=("last_order_ts", "max"),
    )
    first = b.sort_values(["first_order_ts", "channel_id"]).drop_duplicates("customer_id")
    agg["first_channel"] = first.set_index("customer_id")["channel_id"]
    ranked = b.sort_values(["n_lines", "last_order_ts"], ascending=False)
    for f in fields:
        agg[f] = (
            ranked.dropna(subset=[f]).drop_duplicates("customer_id").set_index("customer_id")[f]
        )
    agg["in_crm"] = False
    if crm is not None and len(crm):
        c = crm.set_index(crm["customer_id"].astype(str))
        agg["in_crm"] = agg.index.isin(c.index)
        for f in fields:
            if f in c.columns:
                crm_val = c[f].reindex(agg.index)
                agg[f] = crm_val.where(crm_val.notna(), agg[f])
    out = agg.reset_index()
    cols = ["customer_id", "in_crm", *fields, "n_accounts", "channels"]
    cols += ["first_order_ts", "first_channel", "last_order_ts"]
    return out[cols].sort_values("customer_id").reset_index(drop=True)


def build_orders(order_lines: pd.DataFrame) -> pd.DataFrame:
    """Order header table: one row per (channel_id, order_id).

    Returns columns channel_id, order_id, customer_id, order_ts, order_ts_local, status
    (of the first line), n_lines, units, revenue_base (sum of line revenue, base currency),
    city, postcode.
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
    for optional in ("city", "postcode"):
        if optional in order_lines.columns:
            agg[optional] = (optional, "first")
    orders = order_lines.groupby(key, observed=True, sort=True).agg(**agg).reset_index()
    return orders


def dq_report(
    rows_read: pd.Series,
    accepted: pd.Series,
    duplicates: pd.Series,
    quarantine: pd.DataFrame,
    revenue_raw: pd.Series,
    revenue_base: pd.Series,
) -> pd.DataFrame:
    """Per-channel accounting: rows read = accepted + duplicates + quarantined.

    Args:
        rows_read, accepted, duplicates: counts per channel_id.
        quarantine: the quarantine table (channel_id, reason).
        revenue_raw: accepted revenue per channel in the export's own currency units,
            summed as quantity x unit_price - discount (before conversion).
        revenue_base: the same lines' revenue in the base currency.

    Returns:
        One row per channel with rows_read, accepted, duplicates, quarantined, one column
        per quarantine reason (``q_<reason>``), balanced (bool), revenue_raw,
        revenue_base.

    Raises:
        AssertionError: a channel's rows do not balance (something was lost).
    """
    q = quarantine.groupby("channel_id").size() if len(quarantine) else pd.Series(dtype=int)
    rep = pd.DataFrame({"rows_read": rows_read, "accepted": accepted, "duplicates": duplicates})
    rep = rep.fillna(0).astype(int)
    rep["quarantined"] = q.reindex(rep.index).fillna(0).astype(int)
    if len(quarantine):
        by_reason = quarantine.groupby(["channel_id", "reason"]).size().unstack(fill_value=0)
        by_reason.columns = [f"q_{c}" for c in by_reason.columns]
        rep = rep.join(by_reason).fillna(0)
    rep["balanced"] = rep["rows_read"] == rep["accepted"] + rep["duplicates"] + rep["quarantined"]
    rep["revenue_raw"] = revenue_raw.reindex(rep.index).fillna(0.0).round(2)
    rep["revenue_base"] = revenue_base.reindex(rep.index).fillna(0.0).round(2)
    lost = rep.index[~rep["balanced"]].tolist()
    if lost:
        raise AssertionError(f"rows not accounted for in channel(s) {lost}:\n{rep.loc[lost]}")
    rep.index.name = "channel_id"
    return rep.reset_index()


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


def revenue_reconciliation(order_lines: pd.DataFrame) -> pd.DataFrame:
    """Revenue before and after canonicalisation, per channel and currency, to the cent.

    ``revenue_raw`` is sum(quantity x unit_price - discount) in the export's own currency;
    ``revenue_base`` is the canonical sum in the base currency; ``revenue_recomputed`` is
    sum((quantity x unit_price - discount) x fx_rate), an independent recomputation from
    the raw fields. ``difference_cents`` = round(100 x (revenue_base - recomputed)) and
    ``reconciled`` is True when it is 0. ``mean_rate`` = revenue_base / revenue_raw.
    """
    raw = order_lines["quantity"] * order_lines["unit_price"] - order_lines["discount"]
    t = pd.DataFrame(
        {
            "channel_id": order_lines["channel_id"].astype("string"),
            "currency": order_lines["currency"].astype("string"),
            "lines": 1,
            "revenue_raw": raw.astype(float),
            "revenue_base": order_lines["revenue_base"].astype(float),
            "revenue_recomputed": (raw * order_lines["fx_rate"]).astype(float),
        }
    )
    out = t.groupby(["channel_id", "currency"], observed=True).sum().reset_index()
    out["mean_rate"] = (out["revenue_base"] / out["revenue_raw"]).round(6)
    out["difference_cents"] = (
        ((out["revenue_base"] - out["revenue_recomputed"]) * 100).round().astype("int64")
    )
    out["reconciled"] = out["difference_cents"] == 0
    for c in ("revenue_raw", "revenue_base", "revenue_recomputed"):
        out[c] = out[c].round(2)
    return out


def customer_overlap(order_lines: pd.DataFrame) -> pd.DataFrame:
    """How many customers buy on 1, 2, 3... channels.

    Returns n_channels, customers, share (0-1), revenue_base (their accepted revenue).
    """
    per = order_lines.groupby("customer_id", observed=True).agg(
        n_channels=("channel_id", "nunique"), revenue_base=("revenue_base", "sum")
    )
    out = per.groupby("n_channels").agg(
        customers=("revenue_base", "size"), revenue_base=("revenue_base", "sum")
    )
    out["share"] = out["customers"] / out["customers"].sum()
    out["revenue_base"] = out["revenue_base"].round(2)
    return out.reset_index()[["n_channels", "customers", "share", "revenue_base"]]


def channel_overlap_matrix(order_lines: pd.DataFrame) -> pd.DataFrame:
    """Customers shared by each pair of channels (diagonal: the channel's customers)."""
    pairs = order_lines[["customer_id", "channel_id"]].drop_duplicates().astype(str)
    incidence = pd.crosstab(pairs["customer_id"], pairs["channel_id"])
    m = incidence.T @ incidence
    m.index.name, m.columns.name = "channel_id", "channel_id"
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


def write_warehouse(tables: dict[str, pd.DataFrame], output_dir) -> str:
    """Write the star schema as one DuckDB file, ``<output_dir>/warehouse.duckdb``.

    The file is built under a temporary name and renamed into place, so a reader never
    opens a half-built warehouse.

    Returns:
        The path of the file.
    """
    import os
    from pathlib import Path

    import duckdb

    target = Path(output_dir) / "warehouse.duckdb"
    tmp = target.with_name(f".warehouse.{os.getpid()}.duckdb.tmp")
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    try:
        for name, frame in tables.items():
            con.register("frame_view", frame)
            con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM frame_view')
            con.unregister("frame_view")
    finally:
        con.close()
    os.replace(tmp, target)
    return str(target)
