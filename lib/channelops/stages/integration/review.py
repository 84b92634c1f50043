"""The review loop of identity resolution: pairs for a person to judge, their decisions
read back, and clusters that look wrong.

1. :func:`review_pairs` — the scored pairs really near the threshold (within a few bits
   of match weight), both records side by side, personal values masked except the
   postcode and city a reviewer needs to place a record, with each field's comparison
   level in words. The notebook writes it as ``review/links_review.csv`` in the run folder.
2. :func:`read_review_decisions` — a reviewer's ``links_reviewed.csv`` in the dataset
   folder (the same columns; ``decision`` filled with ``match`` or ``non_match``), read
   back on the next run; :func:`channelops.stages.integration.link_buyers` takes the
   decisions as definite matches and non-matches, over the model.
3. :func:`cluster_checks` — customers whose records disagree on both e-mail and phone.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from channelops.ingest.contract import DatasetError
from channelops.ingest.pii import (
    mask_email,
    mask_phone,
    mask_text,
    normalise_email,
    normalise_phone,
)

__all__ = [
    "REVIEW_FILE",
    "DECISIONS",
    "LEVEL_LABELS",
    "review_pairs",
    "read_review_decisions",
    "cluster_checks",
    "write_review_file",
]

#: The reviewer's file in the dataset folder.
REVIEW_FILE = "links_reviewed.csv"

#: Accepted spellings of a decision (lower case, spaces and hyphens as underscores).
DECISIONS = {
    "match": "match",
    "same": "match",
    "yes": "match",
    "non_match": "non_match",
    "nonmatch": "non_match",
    "no_match": "non_match",
    "different": "non_match",
    "no": "non_match",
}

#: Comparison levels of :func:`channelops.stages.integration.model.comparisons` in words,
#: by the ``gamma_<comparison>`` value splink gives them (-1: a side is missing).
LEVEL_LABELS: dict[str, dict[int, str]] = {
    "forename_surname": {
        6: "same name",
        5: "first and last name swapped",
        4: "both names nearly the same",
        3: "both names similar",
        2: "same surname",
        1: "same first name",
        0: "different",
    },
    "email_norm": {1: "same", 0: "different"},
    "phone_norm": {2: "same", 1: "one digit off", 0: "different"},
    "postcode": {2: "same", 1: "one digit off", 0: "different"},
    "city_norm": {2: "same", 1: "nearly the same", 0: "different"},
    "address": {
        5: "same",
        4: "same numbers, street nearly the same",
        3: "same numbers, a word shared",
        2: "street nearly the same or two words shared",
        1: "same numbers or a word shared",
        0: "different",
    },
}

#: Field shown side by side -> (compared column of the pairs, gamma column, masker or None).
_SHOWN = {
    "name": ("name_norm", "gamma_forename_surname", mask_text),
    "address": ("address_norm", "gamma_address", mask_text),
    "postcode": ("postcode", "gamma_postcode", None),
    "city": ("city_norm", "gamma_city_norm", None),
    "phone": ("phone_norm", "gamma_phone_norm", mask_phone),
    "email": ("email_norm", "gamma_email_norm", mask_email),
}


def _weight(probability: float) -> float:
    """Match weight (log2 odds) of a probability."""
    p = min(max(probability, 1e-12), 1 - 1e-12)
    return math.log2(p / (1 - p))


def review_pairs(
    pairs: pd.DataFrame,
    threshold: float,
    links: pd.DataFrame | None = None,
    band: float = 3.0,
    n: int = 200,
    mask: bool = True,
) -> pd.DataFrame:
    """The pairs whose match weight lies within ``band`` bits of the threshold's.

    Args:
        pairs: from :func:`~channelops.stages.integration.probabilistic_pairs`.
        threshold: match probability of a link (its weight is log2(t / (1 - t))).
        links: when given, only pairs with a buyer whose link is ``splink`` or
            ``unlinked`` (the decisions the model made).
        band: half-width in bits of match weight (3 bits around 0.9: 0.53 to 0.986).
        n: pairs at most, nearest the threshold first.
        mask: personal values masked (first character; a phone's last two digits; an
            e-mail's first character and domain); postcode and city are shown.

    Returns:
        node_l, node_r, match_probability, model (``match`` / ``non_match`` at the
        threshold), decision (empty, for the reviewer), then for name, address, postcode,
        city, phone, email: ``<field>_l``, ``<field>_r`` and ``<field>_level`` (the
        comparison level in words, ``missing`` when a side is empty).
    """
    cols = ["node_l", "node_r", "match_probability", "model", "decision"]
    cols += [f"{f}_{s}" for f in _SHOWN for s in ("l", "r", "level")]
    if pairs.empty:
        return pd.DataFrame(columns=cols)
    weight = pairs["match_weight"] if "match_weight" in pairs.columns else None
    if weight is None:
        weight = pairs["match_probability"].map(_weight)
    distance = (weight.astype(float) - _weight(threshold)).abs()
    near = pairs.assign(distance=distance).loc[distance <= band]
    if links is not None:
        open_ = links.loc[links["rule"].isin(["splink", "unlinked"])]
        ids = set("b:" + open_["channel_id"].astype(str) + ":" + open_["buyer_ref"].astype(str))
        near = near.loc[near["node_l"].isin(ids) | near["node_r"].isin(ids)]
    near = near.sort_values(["distance", "node_l", "node_r"]).head(n)
    out = pd.DataFrame(
        {
            "node_l": near["node_l"].astype(str).to_numpy(),
            "node_r": near["node_r"].astype(str).to_numpy(),
            "match_probability": near["match_probability"].astype(float).round(4).to_numpy(),
            "model": np.where(near["match_probability"] >= threshold, "match", "non_match"),
            "decision": "",
        }
    )
    for field, (col, gamma, masker) in _SHOWN.items():
        for side in ("l", "r"):
            name = f"{col}_{side}"
            values = (
                near[name].astype("string")
                if name in near.columns
                else pd.Series(pd.NA, index=near.index, dtype="string")
            )
            out[f"{field}_{side}"] = (masker(values) if mask and masker else values).to_numpy()
        labels = LEVEL_LABELS[gamma.removeprefix("gamma_")]
        if gamma in near.columns:
            level = near[gamma].astype(int).map(lambda g, lab=labels: lab.get(g, "missing"))
            out[f"{field}_level"] = level.to_numpy()
        else:
            out[f"{field}_level"] = "not compared"
    return out[cols]


def read_review_decisions(dataset_root: str | Path) -> pd.DataFrame:
    """A reviewer's decisions from ``<dataset>/links_reviewed.csv`` (:data:`REVIEW_FILE`).

    The file has the columns of :func:`review_pairs` (others are ignored); ``node_l``,
    ``node_r`` and ``decision`` are required. A blank decision is no decision. Decisions are
    ``match`` or ``non_match`` (:data:`DECISIONS` lists the accepted spellings). When a pair
    is listed more than once, its last decision counts.

    Args:
        dataset_root: the dataset folder.

    Returns:
        node_l, node_r, decision (``match`` / ``non_match``), line (the file's line,
        header = 1); empty when the file is absent.

    Raises:
        DatasetError: a required column is missing, a node id is not ``b:<channel>:<buyer>``
            or ``c:<customer_id>``, or a decision is not one of :data:`DECISIONS` (naming the
            line and column).
    """
    cols = ["node_l", "node_r", "decision", "line"]
    path = Path(dataset_root) / REVIEW_FILE
    if not path.is_file():
        return pd.DataFrame(columns=cols)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in ("node_l", "node_r", "decision") if c not in raw.columns]
    if missing:
        raise DatasetError(
            REVIEW_FILE,
            f"missing column {missing[0]!r}",
            expected="columns node_l, node_r and decision (as in review/links_review.csv)",
            found="columns " + ", ".join(map(repr, raw.columns)),
            fix="start from the run's review/links_review.csv and fill in its decision column",
            line=1,
        )
    raw["line"] = np.arange(len(raw)) + 2
    raw = raw.loc[raw["decision"].str.strip() != ""].copy()
    key = raw["decision"].str.strip().str.lower().str.replace(r"[\s\-]+", "_", regex=True)
    raw["decision"] = key.map(DECISIONS)
    bad = raw.loc[raw["decision"].isna()]
    if len(bad):
        raise DatasetError(
            REVIEW_FILE,
            "unknown decision",
            expected="match or non_match (or blank for no decision)",
            found=f"{len(bad)} row(s) with another value, first on line {bad['line'].iloc[0]}",
            fix="write match or non_match in the decision column",
            line=int(bad["line"].iloc[0]),
            column="decision",
        )
    for side in ("node_l", "node_r"):
        ok = raw[side].str.match(r"^(b:[^:]+:.+|c:.+)$")
        if not ok.all():
            first = int(raw.loc[~ok, "line"].iloc[0])
            raise DatasetError(
                REVIEW_FILE,
                "not a record id",
                expected="b:<channel>:<buyer account> or c:<CRM customer id>",
                found=f"{int((~ok).sum())} row(s) with another value, first on line {first}",
                fix="copy node_l and node_r from review/links_review.csv unchanged",
                line=first,
                column=side,
            )
    lo = raw[["node_l", "node_r"]].min(axis=1)
    hi = raw[["node_l", "node_r"]].max(axis=1)
    raw = raw.assign(node_l=lo, node_r=hi).drop_duplicates(["node_l", "node_r"], keep="last")
    return raw[cols].reset_index(drop=True)


def cluster_checks(
    links: pd.DataFrame,
    buyers: pd.DataFrame,
    crm: pd.DataFrame | None,
    nodes: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Customers whose records disagree on both e-mail and phone.

    A customer's records are its channel buyers and, when in the CRM, its CRM record. The
    cluster is flagged when its records hold two or more distinct normalised e-mails and two
    or more distinct normalised phones: a sign that two people were joined.

    Args:
        links: from ``link_buyers`` (channel_id, buyer_ref, customer_id, rule).
        buyers: the buyer records (channel_id, buyer_ref, email_norm, phone_norm).
        crm: the CRM or None.
        nodes: ``identity_nodes(buyers, crm, ...)`` when the caller has it: the CRM's
            normalised e-mails and phones are taken from it instead of normalised again.

    Returns:
        One row per flagged customer: customer_id, records, emails, phones (distinct
        counts), rules (the link rules of its buyers, comma-separated); sorted by
        customer_id.
    """
    key = ["channel_id", "buyer_ref"]
    crm_norm = None
    if crm is not None and len(crm):
        crm_norm = _crm_norm(crm, buyers, nodes)
    keep = _disagreeing_customers(links, buyers, crm, crm_norm)
    if keep is not None:  # only the customers that can be flagged go on
        links, buyers = links.loc[keep], buyers.loc[keep]
    b = buyers[[*key, "email_norm", "phone_norm"]].astype("string")
    rec = links[[*key, "customer_id", "rule"]].astype("string").merge(b, on=key, how="left")
    rec = rec[["customer_id", "rule", "email_norm", "phone_norm"]]
    if crm is not None and len(crm):
        c = pd.DataFrame(
            {
                "customer_id": crm["customer_id"].astype("string"),
                "rule": pd.NA,
                "email_norm": crm_norm[0],
                "phone_norm": crm_norm[1],
            }
        ).astype("string")
        rec = pd.concat([rec, c.loc[c["customer_id"].isin(set(rec["customer_id"]))]])
    g = rec.groupby("customer_id", sort=True)
    out = pd.DataFrame(
        {
            "records": g.size(),
            "emails": g["email_norm"].nunique(),
            "phones": g["phone_norm"].nunique(),
        }
    )
    out = out.loc[(out["emails"] >= 2) & (out["phones"] >= 2)].copy()
    # the rules list (a Python join per customer) only for the flagged few
    flagged = rec.loc[rec["customer_id"].isin(set(out.index))]
    rules = flagged.groupby("customer_id", sort=True)["rule"]
    joined = rules.agg(lambda r: ",".join(sorted(set(r.dropna()))))
    out["rules"] = joined.reindex(out.index).astype(object)
    return out.reset_index()


def _crm_norm(crm: pd.DataFrame, buyers: pd.DataFrame, nodes: pd.DataFrame | None) -> tuple:
    """The CRM's normalised e-mails and phones (index of ``crm``; ``pd.NA`` for a column
    the CRM lacks): from ``nodes`` (its rows after the buyers' are the CRM's, in order)
    when given and of the right length, else normalised here."""
    if nodes is not None and len(nodes) == len(buyers) + len(crm):
        return tuple(
            pd.Series(nodes[norm].array[len(buyers) :], index=crm.index) if raw in crm else pd.NA
            for raw, norm in (("email", "email_norm"), ("phone", "phone_norm"))
        )
    return (
        normalise_email(crm["email"]) if "email" in crm else pd.NA,
        normalise_phone(crm["phone"]) if "phone" in crm else pd.NA,
    )


def _disagreeing_customers(
    links: pd.DataFrame,
    buyers: pd.DataFrame,
    crm: pd.DataFrame | None,
    crm_norm: tuple | None,
) -> np.ndarray | None:
    """Rows of ``links`` (and of ``buyers``, row for row) whose customer has two or more
    distinct e-mails and two or more distinct phones over its records (buyers and CRM
    record), counted on integer codes; :func:`cluster_checks` then builds its table from
    these few customers only. None when ``links`` is not ``buyers``' own links in the
    same order (``link_buyers``' output): then every customer goes on."""
    key = ["channel_id", "buyer_ref"]
    if len(links) != len(buyers) or links.index.has_duplicates or buyers.index.has_duplicates:
        return None
    text = pd.StringDtype("pyarrow")
    for c in key:
        if (
            not links[c]
            .astype(text)
            .reset_index(drop=True)
            .equals(buyers[c].astype(text).reset_index(drop=True))
        ):
            return None
    customer, ids = pd.factorize(links["customer_id"].astype(text))
    n, k = len(links), len(ids)
    group = customer
    values = {"email_norm": [buyers["email_norm"].astype(text)],
              "phone_norm": [buyers["phone_norm"].astype(text)]}  # fmt: skip
    if crm_norm is not None:
        at = pd.Index(ids).get_indexer(crm["customer_id"].astype(text))
        group = np.concatenate([customer, at])
        for name, norm in zip(values, crm_norm, strict=True):
            col = pd.Series(norm, index=crm.index) if norm is pd.NA else norm
            values[name].append(col.astype(text))
    enough = np.ones(k, dtype=bool)
    for parts in values.values():
        codes, uniques = pd.factorize(pd.concat(parts, ignore_index=True))
        ok = (codes >= 0) & (group >= 0)
        pairs = np.unique(group[ok].astype(np.int64) * (len(uniques) + 1) + codes[ok])
        enough &= np.bincount(pairs // (len(uniques) + 1), minlength=k) >= 2
    return (customer >= 0) & enough[np.maximum(customer, 0)] if k else np.zeros(n, dtype=bool)


def write_review_file(frame: pd.DataFrame, output_dir: str | Path, name: str) -> Path:
    """Write ``frame`` as ``<output_dir>/review/<name>`` (CSV without the index; the
    folder is made when missing) for a reviewer, and return the path. Pass text that may
    start like a spreadsheet formula through ``channelops.run.csv_safe`` first (the
    notebook does)."""
    folder = Path(output_dir) / "review"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    frame.to_csv(path, index=False)
    return path
