"""Tests of the simulator channelops.synth at the tiny size: determinism, the data contract,
and the truth/ folder being consistent with the raw exports."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler

from channelops.ingest.dataset import load_dataset
from channelops.ingest.exports import read_export
from channelops.synth import SCENARIOS, SIZES, generate_dataset

REQUIRED = {
    "channels.csv": [
        "channel_id",
        "name",
        "kind",
        "commission_rate",
        "fixed_cost_per_month",
        "currency",
        "timezone",
        "age_18_24",
        "age_25_34",
        "age_35_44",
        "age_45_plus",
        "tier_1",
        "tier_2",
        "tier_3",
        "prior_weekly_revenue_max",
        "prior_half_saturation_spend",
    ],
    "products.csv": ["sku", "name", "category", "unit_cost", "list_price", "weight_kg"],
    "sku_map.csv": ["channel_id", "channel_sku", "sku"],
    "customers.csv": [
        "customer_id",
        "signup_date",
        "name",
        "email",
        "phone",
        "address",
        "postcode",
        "city",
        "birth_year",
        "gender",
    ],
    "fx_rates.csv": ["date", "currency", "rate_to_base"],
    "marketing_spend.csv": ["week_start", "channel_id", "spend", "impressions", "clicks"],
    "warehouses.csv": [
        "warehouse_id",
        "city",
        "lat",
        "lon",
        "daily_capacity_orders",
        "handling_cost_per_order",
    ],
    "locations.csv": ["city", "lat", "lon", "city_tier"],
    "shipments.csv": [
        "order_id",
        "channel_id",
        "warehouse_id",
        "promised_ts",
        "shipped_ts",
        "delivered_ts",
        "carrier",
        "cost",
    ],
    "service_contacts.csv": ["contact_ts", "channel_id", "reason", "handle_minutes"],
    "experiments.csv": ["unit_id", "unit_type", "group", "start_date", "end_date", "name"],
}
TRUTH = {
    "customers.parquet": [
        "customer_id",
        "segment",
        "acquisition_date",
        "acquisition_channel",
        "in_crm",
        "bgnbd_lambda",
        "bgnbd_p",
        "mean_spend",
    ],
    "buyer_identity.parquet": ["channel_id", "buyer_ref", "customer_id"],
    "duplicate_rows.parquet": ["channel_id", "source_file", "row", "duplicate_of_row"],
    "invalid_rows.parquet": ["channel_id", "source_file", "row", "column", "reason"],
    "response_curves.parquet": [
        "channel_id",
        "adstock_decay",
        "hill_half_saturation",
        "hill_slope",
        "revenue_max",
        "base_weekly_revenue",
    ],
    "demand.parquet": ["channel_id", "date", "multiplier", "expected_units"],
}
CANONICAL = {
    "order_id",
    "line_no",
    "order_ts",
    "channel_id",
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
    "line_total",
    "refund",
}
STATUSES = {"placed", "paid", "shipped", "delivered", "cancelled", "returned"}


def _hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def worlds(tmp_path_factory) -> dict[str, Path]:
    """Tiny worlds: multi_category twice with seed 7, once with seed 8, other scenarios."""
    root = tmp_path_factory.mktemp("synth")
    out = {}
    for key, scn, seed in (
        ("a", "multi_category", 7),
        ("b", "multi_category", 7),
        ("c", "multi_category", 8),
        ("social", "social", 7),
        ("cross_border", "cross_border", 7),
    ):
        out[key] = root / key
        generate_dataset(out[key], scn, "tiny", seed)
    return out


def _ds(folder: Path) -> dict:
    return yaml.safe_load((folder / "dataset.yaml").read_text(encoding="utf-8"))


def _mapping(folder: Path, ch: dict) -> dict:
    return yaml.safe_load((folder / ch["mapping"]).read_text(encoding="utf-8"))


def _export(folder: Path, ch: dict) -> tuple[pd.DataFrame, dict]:
    m = _mapping(folder, ch)
    sep = m.get("read", {}).get("sep", ",")
    df = pd.read_csv(folder / ch["orders"], sep=sep, dtype=str, keep_default_na=False)
    df.index = np.arange(2, len(df) + 2)  # file line numbers, header = line 1
    return df, m


def test_presets() -> None:
    assert set(SCENARIOS) == {"multi_category", "social", "cross_border"}
    assert set(SIZES) == {"tiny", "demo", "large"}
    with pytest.raises(ValueError, match="unknown scenario"):
        generate_dataset("/nonexistent/never", "nope", "tiny", 1)
    with pytest.raises(ValueError, match="unknown size"):
        generate_dataset("/nonexistent/never", "social", "huge", 1)


def test_same_seed_same_bytes_different_seed_differs(worlds) -> None:
    a, b, c = (_hashes(worlds[k]) for k in "abc")
    assert a == b
    assert a.keys() == c.keys()
    for f in ("orders/tmall.csv", "customers.csv", "truth/buyer_identity.parquet"):
        assert a[f] != c[f]


@pytest.mark.parametrize("key", ["a", "social", "cross_border"])
def test_contract_files_and_columns(worlds, key) -> None:
    folder = worlds[key]
    for name, cols in REQUIRED.items():
        df = pd.read_csv(folder / name, nrows=5)
        assert list(df.columns[: len(cols)]) == cols or set(cols) <= set(df.columns), name
    for name, cols in TRUTH.items():
        assert set(cols) <= set(pd.read_parquet(folder / "truth" / name).columns), name
    for name in ("experiment.yaml", "world.yaml"):
        assert yaml.safe_load((folder / "truth" / name).read_text(encoding="utf-8"))
    ds = _ds(folder)
    assert ds["base_currency"] == "CNY" and ds["timezone"] == "Asia/Shanghai"
    chans = pd.read_csv(folder / "channels.csv")
    active = [c["id"] for c in ds["channels"]]
    assert 4 <= len(active) <= 8
    assert set(active) < set(chans["channel_id"])  # candidates have no export
    assert set(chans["kind"]) <= {"own_store", "marketplace", "social", "offline", "cross_border"}
    ages = chans[["age_18_24", "age_25_34", "age_35_44", "age_45_plus"]].sum(axis=1)
    tiers = chans[["tier_1", "tier_2", "tier_3"]].sum(axis=1)
    assert np.allclose(ages, 1, atol=1e-9) and np.allclose(tiers, 1, atol=1e-9)
    for ch in ds["channels"]:
        df, m = _export(folder, ch)
        assert set(m["columns"]) <= CANONICAL
        assert {"order_id", "order_ts", "channel_sku", "quantity"} <= set(m["columns"])
        # exactly one price field; a buyer column unless the channel exports no buyer
        assert len({"unit_price", "line_total"} & set(m["columns"])) == 1, ch["id"]
        if m.get("buyer_identity", "column") != "none":
            assert "buyer_ref" in m["columns"], ch["id"]
        assert set(m["columns"].values()) <= set(df.columns), ch["id"]
        assert m["timestamp"]["format"]
        if "status" in m["columns"]:
            words = m["values"]["status"]
            assert set(words.values()) <= STATUSES
            # blank: a fill_down column written only on an order's first line
            assert set(df[m["columns"]["status"]]) - {""} <= set(words), ch["id"]
        if isinstance(m.get("currency"), dict):
            assert m["currency"]["column"] in df.columns
        assert len(df) > 0
    fx = pd.read_csv(folder / "fx_rates.csv")
    spend = pd.read_csv(folder / "marketing_spend.csv")
    assert set(spend["channel_id"]) == set(active)
    used = {c for cur in chans.loc[chans["channel_id"].isin(active), "currency"] for c in [cur]}
    assert used - {"CNY"} <= set(fx["currency"])
    days = fx.groupby("currency")["date"].nunique()
    assert (days == fx["date"].nunique()).all()  # every currency every day


def test_mapping_features_vary_across_channels(worlds) -> None:
    """The demo scenario exercises strftime, iso8601 with offsets, unix_s, a dialect, a
    Chinese header, an export without PII or line_no."""
    folder = worlds["a"]
    maps = {c["id"]: _mapping(folder, c) for c in _ds(folder)["channels"]}
    fmts = {m["timestamp"]["format"] for m in maps.values()}
    assert "iso8601" in fmts and any("%" in f for f in fmts)
    assert any(m.get("read", {}).get("sep") == ";" for m in maps.values())
    assert any(re.search(r"[\u4e00-\u9fff]", "".join(m["columns"].values())) for m in maps.values())
    assert any(
        "line_no" not in m["columns"] and "buyer_phone" not in m["columns"] for m in maps.values()
    )
    cb = {
        c["id"]: _mapping(worlds["cross_border"], c)
        for c in _ds(worlds["cross_border"])["channels"]
    }
    assert any(isinstance(m.get("currency"), dict) for m in cb.values())
    assert any(m["timestamp"]["format"] == "unix_s" for m in cb.values())
    assert len({m["timestamp"]["timezone"] for m in cb.values()}) >= 3


@pytest.mark.parametrize("key", ["a", "cross_border"])
def test_truth_consistent_with_exports(worlds, key) -> None:
    folder = worlds[key]
    ds = _ds(folder)
    ident = pd.read_parquet(folder / "truth/buyer_identity.parquet")
    dups = pd.read_parquet(folder / "truth/duplicate_rows.parquet")
    inv = pd.read_parquet(folder / "truth/invalid_rows.parquet")
    skus = pd.read_csv(folder / "sku_map.csv", dtype=str)
    crm = set(pd.read_csv(folder / "customers.csv", dtype=str)["customer_id"])
    assert not ident.duplicated(["channel_id", "buyer_ref"]).any()
    total_rows = 0
    for ch in ds["channels"]:
        df, m = _export(folder, ch)
        total_rows += len(df)
        cols = m["columns"]
        if "buyer_ref" in cols:  # blank = a guest checkout; buyerless exports have none
            refs = set(df[cols["buyer_ref"]]) - {""}
            assert refs <= set(ident.loc[ident["channel_id"] == ch["id"], "buyer_ref"])
            if ch.get("crm_ids"):
                assert refs <= crm
        # duplicates: byte-identical copies of an earlier line
        raw = (folder / ch["orders"]).read_text(encoding="utf-8").split("\n")
        d = dups[dups["channel_id"] == ch["id"]]
        assert (d["duplicate_of_row"] < d["row"]).all()
        for r, o in zip(d["row"], d["duplicate_of_row"], strict=True):
            assert raw[r - 1] == raw[o - 1]
        # invalid rows are invalid as stated, and never duplicates or duplicated
        i = inv[inv["channel_id"] == ch["id"]]
        assert not set(i["row"]) & (set(d["row"]) | set(d["duplicate_of_row"]))
        known = set(skus.loc[skus["channel_id"] == ch["id"], "channel_sku"])
        for row in i.itertuples():
            val = df.at[row.row, cols[row.column]]
            assert val == row.value
            if row.reason == "nonpositive_quantity":
                assert int(val) <= 0
            elif row.reason == "unknown_sku":
                assert val not in known
            elif row.reason == "bad_timestamp":
                assert not re.fullmatch(r"[0-9: T/.+\-Z]+", val) or "25:61" in val or "99:99" in val
            elif row.reason == "bad_number" and row.column == "quantity":
                assert not re.fullmatch(r"-?[0-9]+", val)  # not a whole number
            elif row.reason == "bad_number":
                assert pd.isna(pd.to_numeric(val.replace(",", "."), errors="coerce"))
        ok = ~df.index.isin(i["row"])
        assert set(df.loc[ok, cols["channel_sku"]]) <= known
        # negative quantities are reversals (returns, cancelled receipts), never 0
        assert (df.loc[ok, cols["quantity"]].astype(int) != 0).all()
    assert 0.005 < len(dups) / total_rows < 0.02
    assert 0.0005 < len(inv) / total_rows < 0.01
    assert set(inv["reason"]) <= {
        "nonpositive_quantity",
        "bad_timestamp",
        "unknown_sku",
        "bad_number",
    }


def test_identity_is_resolvable(worlds) -> None:
    """Nearly every buyer record has a phone (or email) that normalises to its customer's,
    once the records whose phone carries a simulated typo (truth/buyer_records errors
    phone:*) are set aside."""
    folder = worlds["a"]
    ident = pd.read_parquet(folder / "truth/buyer_identity.parquet")
    rec = pd.read_parquet(folder / "truth" / "buyer_records")
    typo = rec.loc[rec["errors"].str.contains("phone:", regex=False), ["channel_id", "buyer_ref"]]
    recs = []
    for ch in _ds(folder)["channels"]:
        df, m = _export(folder, ch)
        cols = m["columns"]
        if "buyer_phone" not in cols or "buyer_ref" not in cols:
            continue
        part = pd.DataFrame(
            {
                "buyer_ref": df[cols["buyer_ref"]],
                "phone": df[cols["buyer_phone"]],
                "email": df[cols["buyer_email"]] if "buyer_email" in cols else "",
            }
        )
        recs.append(part.drop_duplicates("buyer_ref").assign(channel_id=ch["id"]))
    r = pd.concat(recs).merge(ident, on=["channel_id", "buyer_ref"])
    bad = pd.MultiIndex.from_frame(typo)
    r = r[~pd.MultiIndex.from_frame(r[["channel_id", "buyer_ref"]]).isin(bad)]
    digits = r["phone"].str.replace(r"\D", "", regex=True)
    r["phone_n"] = np.where(digits.str.len() == 13, digits.str[2:], digits)
    r["email_n"] = r["email"].str.strip().str.lower()
    assert ((r["phone_n"] != "") | (r["email_n"] != "")).mean() >= 0.98
    ph = r[r["phone_n"] != ""]
    assert (ph.groupby("phone_n")["customer_id"].nunique() == 1).all()  # precision
    assert (ph.groupby("customer_id")["phone_n"].nunique() == 1).mean() >= 0.98  # recall
    crm = pd.read_csv(folder / "customers.csv", dtype=str, keep_default_na=False)
    assert crm["name"].duplicated().mean() > 0.05  # names collide realistically


def test_experiment_groups_balanced(worlds) -> None:
    folder = worlds["a"]
    exp = pd.read_csv(folder / "experiments.csv")
    n = exp["group"].value_counts()
    assert set(n.index) == {"control", "treatment"}
    assert abs(n["control"] - n["treatment"]) <= 1
    assert exp["unit_id"].is_unique
    crm = set(pd.read_csv(folder / "customers.csv", dtype=str)["customer_id"])
    assert set(exp["unit_id"]) <= crm
    truth = yaml.safe_load((folder / "truth/experiment.yaml").read_text(encoding="utf-8"))
    assert truth["true_relative_lift"] > 0 and truth["start_date"] == exp["start_date"].iat[0]


@pytest.mark.xfail(
    strict=True,
    reason="simulator 2 (issue 19): life events, experience-driven churn and paid "
    "acquisition blur the RFM segment structure; ARI 0.61 on tiny seed 7 (was >= 0.75)",
)
def test_segments_recoverable_from_own_channel_orders(worlds) -> None:
    """K-means on log RFM features of CRM customers finds the true segments (tiny: looser
    threshold than the >= 0.8 reached at demo size). The CRM channels' exports are read by
    the intake (their layouts are the real platforms')."""
    folder = worlds["a"]
    ds = load_dataset(folder)
    parts = []
    for ch in _ds(folder)["channels"]:
        if not ch.get("crm_ids"):
            continue
        ln = read_export(ds, ch["id"]).lines
        ln = ln[~ln["is_guest"].astype(bool) & ln["is_merchandise"].astype(bool)]
        parts.append(
            pd.DataFrame(
                {
                    "o": ch["id"] + ln["order_id"].astype(str),
                    "ref": ln["buyer_ref"].astype(str),
                    "ts": ln["order_ts"],
                    "rev": ln["quantity"] * ln["unit_price"] - ln["discount"],
                    "d": ln["discount"],
                    "q": ln["quantity"],
                }
            ).drop_duplicates()
        )
    x = pd.concat(parts).dropna()
    x = x[x["q"] > 0]
    o = x.groupby("o").agg(
        ref=("ref", "first"), ts=("ts", "first"), rev=("rev", "sum"), d=("d", "sum")
    )
    end = o["ts"].max()
    f = o.groupby("ref").agg(
        first=("ts", "min"),
        last=("ts", "max"),
        n=("rev", "size"),
        m=("rev", "mean"),
        ds=("d", lambda s: (s > 0).mean()),
    )
    feats = pd.DataFrame(
        {
            "rec": (end - f["last"]).dt.days,
            "freq": f["n"],
            "aov": f["m"],
            "ten": (end - f["first"]).dt.days,
            "ds": f["ds"],
        }
    ).clip(lower=0)
    X = StandardScaler().fit_transform(np.log1p(feats))
    seg = pd.read_parquet(folder / "truth/customers.parquet").set_index("customer_id")
    lab = KMeans(4, n_init=10, random_state=0).fit_predict(X)
    assert adjusted_rand_score(seg.loc[feats.index, "segment"], lab) >= 0.75


def test_response_truth_shows_in_revenue(worlds) -> None:
    folder = worlds["a"]
    wr = pd.read_parquet(folder / "truth/weekly_revenue.parquet")
    g = wr.groupby("channel_id")[["marketing_revenue", "expected_marketing_revenue"]].sum()
    ratio = g["marketing_revenue"] / g["expected_marketing_revenue"]
    assert ratio.between(0.8, 1.2).all(), ratio
    curves = pd.read_parquet(folder / "truth/response_curves.parquet")
    assert (curves["revenue_max"] > 0).all() and curves["adstock_decay"].between(0, 1).all()
    dem = pd.read_parquet(folder / "truth/demand.parquet")
    tot = dem.groupby("channel_id")[["expected_orders", "realised_orders"]].sum()
    assert (tot["realised_orders"] / tot["expected_orders"]).between(0.8, 1.25).all()


@pytest.mark.xfail(
    strict=True,
    reason="simulator 2 (issue 19): complements (12% extra lines), launches replacing "
    "favourites and per-customer habits move the placebo estimate below the segment habit: "
    "|h_hat - habit| up to 0.21 on tiny seed 7 (dormant 0.29 vs 0.50); the per-customer "
    "test is test_synth_world2.py::test_habit_strength_varies_within_a_segment",
)
def test_habitual_choice_shows_in_exports(worlds) -> None:
    """truth/favourites.parquet: 1-3 favourite SKUs of the right category per customer and
    category; in the exports, each segment's lines repeat the customer's favourites at about
    its habit_probability. The habit is estimated against a placebo (each customer scored
    against the favourites of another customer of the same segment, q):
    h_hat = (share - q) / (1 - q). It falls a little short of the true value because a
    favourite not listed on the order's channel falls back to the ordinary rule, and a little
    over it because the ordinary rule picks one's own (price-fitting) favourites more often
    than a stranger's (tiny: 0.25-0.58 against 0.30-0.65)."""
    folder = worlds["a"]
    fav = pd.read_parquet(folder / "truth/favourites.parquet")
    prod = pd.read_csv(folder / "products.csv", dtype=str)
    truth = pd.read_parquet(folder / "truth/customers.parquet").set_index("customer_id")
    n_fav = fav.groupby(["customer_id", "category"]).size()
    assert len(n_fav) == len(truth) * prod["category"].nunique()
    assert n_fav.between(1, 3).all()
    assert not fav.duplicated(["customer_id", "category", "sku"]).any()
    assert (fav["sku"].map(prod.set_index("sku")["category"]) == fav["category"]).all()
    lines = pd.read_parquet(folder / "truth" / "export_lines")  # who bought what, per row
    lines = lines[~lines["is_guest"].astype(bool) & lines["customer_id"].notna()]
    x = lines[["channel_id", "customer_id", "sku"]].merge(prod[["sku", "category"]], on="sku")
    x["segment"] = x["customer_id"].map(truth["segment"])
    keys = pd.MultiIndex.from_frame(fav[["customer_id", "category", "sku"]])

    def fav_share(customer_ids: pd.Series) -> pd.Series:
        hit = pd.MultiIndex.from_arrays([customer_ids, x["category"], x["sku"]]).isin(keys)
        return pd.Series(hit, index=x.index).groupby(x["segment"]).mean()

    stranger = {}
    for _, ids in truth.groupby("segment").groups.items():
        a = np.asarray(ids)
        stranger.update(zip(a, np.roll(a, 1), strict=True))
    share, q = fav_share(x["customer_id"]), fav_share(x["customer_id"].map(stranger))
    h_hat = (share - q) / (1 - q)
    world = yaml.safe_load((folder / "truth/world.yaml").read_text(encoding="utf-8"))
    habit = pd.Series({s["name"]: s["habit_probability"] for s in world["segments"]})
    lines = x["segment"].value_counts()
    big = lines.index[lines >= 500]
    print(pd.DataFrame({"h_hat": h_hat, "habit": habit, "lines": lines}).round(3))
    assert (h_hat[big] - habit[big]).abs().max() < 0.12
    assert h_hat["loyal_high_value"] > h_hat["bargain_hunter"] + 0.15
