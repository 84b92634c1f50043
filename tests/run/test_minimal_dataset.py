"""The minimal dataset: dataset.yaml, the exports and their mappings, no optional file.

The data contract promises that such a dataset runs end to end: every stage ends ok,
writes every table the registry declares (empty where it cannot compute it, with its
columns), and says in one sentence what it cannot do without which optional file
(:mod:`channelops.run.needs`). The tiny dataset, stripped, is run once through every stage.
Also: the sentences of :mod:`channelops.run.needs` themselves, on hand-made folders.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from channelops.customers import SEGMENT_MODEL_COLUMNS, identified_lines, left_out_text
from channelops.ingest.dataset import load_dataset
from channelops.ingest.tables import TABLES
from channelops.run.cli import main
from channelops.run.needs import (
    NEEDS,
    limitation_sentence,
    missing_inputs,
    stage_limitation,
    stage_limitations,
)
from channelops.run.registry import STAGES
from channelops.stages.channel_selection import CHANNEL_PLAN_COLUMNS, RESPONSE_CURVE_COLUMNS
from channelops.stages.evaluation import SCORECARD_COLUMNS

ROOT = Path(__file__).resolve().parents[2]

#: Tables whose columns a library constant declares (the minimal run must write them all).
DECLARED = {
    "segment_model": SEGMENT_MODEL_COLUMNS,
    "response_curves": RESPONSE_CURVE_COLUMNS,
    "channel_plan": CHANNEL_PLAN_COLUMNS,
    "scorecard": SCORECARD_COLUMNS,
}


def _strip(src: Path, dst: Path) -> Path:
    """Copy dataset.yaml, orders/ and mappings/ of ``src`` to ``dst``: nothing else."""
    dst.mkdir(parents=True)
    shutil.copy2(src / "dataset.yaml", dst / "dataset.yaml")
    for folder in ("orders", "mappings"):
        shutil.copytree(src / folder, dst / folder)
    return dst


@pytest.fixture(scope="module")
def minimal_dataset(tiny_dataset, tmp_path_factory) -> Path:
    return _strip(tiny_dataset, tmp_path_factory.mktemp("minimal") / "data")


@pytest.fixture(scope="module")
def minimal_run(minimal_dataset, tmp_path_factory) -> tuple[int, Path]:
    out = tmp_path_factory.mktemp("minimal_run") / "ci"
    args = ["run", "--params", str(ROOT / "parameters" / "ci.yaml"), "--dataset"]
    args += [str(minimal_dataset), "--output", str(out), "--no-progress", "--no-report"]
    return main(args), out


def _outputs_text(notebook: Path) -> str:
    """Every text output of an executed notebook (stream, plain text and Markdown)."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    parts = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            parts.append("".join(out.get("text", "")))
            data = out.get("data", {})
            for kind in ("text/plain", "text/markdown"):
                parts.append("".join(data.get(kind, "")))
    return "\n".join(parts)


def test_the_stripped_dataset_has_no_optional_file(minimal_dataset):
    ds = load_dataset(minimal_dataset)
    assert not [t for t in TABLES if ds.has(t)]


def test_every_stage_ends_ok(minimal_run):
    code, out = minimal_run
    manifest = json.loads((out / "manifest.json").read_text())
    status = {k: e["status"] for k, e in manifest["stages"].items()}
    failed = {
        k: (e.get("error") or {}).get("message", "")[:300]
        for k, e in manifest["stages"].items()
        if e["status"] != "ok"
    }
    assert status == {s.key: "ok" for s in STAGES}, failed
    assert code == 0 and manifest["status"] == "ok"


def test_every_declared_table_exists_with_its_columns(minimal_run):
    _, out = minimal_run
    missing, wrong = [], {}
    for stage in STAGES:
        for table in stage.outputs:
            path = out / "tables" / f"{table}.parquet"
            if not path.exists():
                missing.append(f"{stage.key}:{table}")
                continue
            columns = [c for c in pq.read_schema(path).names if c != "__index_level_0__"]
            if not columns:
                wrong[table] = "no columns"
            elif table in DECLARED and not set(DECLARED[table]) <= set(columns):
                wrong[table] = sorted(set(DECLARED[table]) - set(columns))
    assert not missing, f"tables not written: {missing}"
    assert not wrong, wrong


def test_every_stage_prints_its_limitation_sentence(minimal_run, minimal_dataset):
    _, out = minimal_run
    ds = load_dataset(minimal_dataset)
    silent = []
    for stage in STAGES:
        sentence = stage_limitation(ds, stage.key)
        notebook = out / "notebooks" / stage.notebook
        if sentence and (not notebook.exists() or sentence not in _outputs_text(notebook)):
            silent.append(stage.key)
    assert not silent, f"stages that do not say what they cannot do: {silent}"


def test_the_minimal_run_writes_empty_plans_and_says_why(minimal_run):
    _, out = minimal_run
    for table in ("pareto_front", "channel_plan", "plan_sensitivity", "experiment_results"):
        assert len(pd.read_parquet(out / "tables" / f"{table}.parquet")) == 0, table
    curves = pd.read_parquet(out / "tables" / "response_curves.parquet")
    assert set(curves["source"]) == {"unavailable"}
    assert curves["reason"].str.contains("no marketing_spend.csv").all()
    text = _outputs_text(out / "notebooks" / "02_channel_selection.ipynb")
    assert "No channel plan, Pareto front or sensitivity: there is no channels.csv" in text


# ------------------------------------------------------------------ needs, on hand-made folders


def _dataset(tmp_path: Path, files: dict[str, str]) -> Path:
    """A one-channel dataset with the given optional files (name -> CSV text)."""
    (tmp_path / "orders").mkdir()
    (tmp_path / "mappings").mkdir()
    (tmp_path / "dataset.yaml").write_text(
        "name: t\nbase_currency: CNY\ntimezone: Asia/Shanghai\nchannels:\n"
        "  - id: shop\n    orders: orders/shop.csv\n    mapping: mappings/shop.yaml\n"
    )
    (tmp_path / "orders" / "shop.csv").write_text(
        "oid,ts,buyer,sku,qty,price\nO1,2024-01-02 10:00:00,B1,S1,1,10\n"
    )
    (tmp_path / "mappings" / "shop.yaml").write_text(
        "columns: {order_id: oid, order_ts: ts, buyer_ref: buyer, channel_sku: sku, "
        "quantity: qty, unit_price: price}\n"
    )
    for name, text in files.items():
        (tmp_path / f"{name}.csv").write_text(text)
    return tmp_path


def test_every_entry_of_needs_names_a_stage_and_an_optional_file():
    assert set(NEEDS) == {s.key for s in STAGES}
    for entries in NEEDS.values():
        for item in entries:
            assert item.partition(".")[0] in TABLES, item


def test_without_any_optional_file_each_stage_lists_each_of_its_files(tmp_path):
    ds = load_dataset(_dataset(tmp_path, {}))
    assert missing_inputs(ds, "02") == [
        "channels",
        "marketing_spend",
        "customers",
        "locations",
        "products",
        "shipments",
    ]
    sentence = stage_limitation(ds, "06")
    assert sentence.startswith("Stage 06 (evaluation): without products.csv, ")
    assert sentence.count(".csv") == len([k for k in NEEDS["06"] if "." not in k])
    assert sentence.endswith(".") and sentence.count(". ") == 0  # one sentence
    assert len(stage_limitations(ds)) == len(NEEDS)


def test_a_present_file_without_a_column_is_named_by_its_column(tmp_path):
    files = {
        "customers": "customer_id,birth_year\nC1,\nC2,\n",  # birth_year present but empty
        "locations": "city,lat,lon,city_tier\nA,1,2,1\n",
        "products": "sku,category\nS1,toys\n",
    }
    ds = load_dataset(_dataset(tmp_path, files))
    # city absent and birth_year empty in every row; products.category present
    assert missing_inputs(ds, "01") == ["customers.birth_year", "customers.city"]
    assert stage_limitation(ds, "01") == (
        "Stage 01 (segmentation): without column birth_year of customers.csv, the segment "
        "profiles carry no age shares; without column city of customers.csv, the segment "
        "profiles carry no city-tier shares."
    )


def test_inputs_limiting_the_same_thing_share_one_clause():
    sentence = limitation_sentence("01", ["customers.city", "locations"])
    assert sentence == (
        "Stage 01 (segmentation): without column city of customers.csv or locations.csv, "
        "the segment profiles carry no city-tier shares."
    )


def test_a_stage_with_everything_says_so_and_unknown_needs_are_refused():
    assert limitation_sentence("07", []) == (
        "Stage 07 (recommendation) has every optional file it reads."
    )
    with pytest.raises(KeyError, match="lists no need 'warehouses'"):
        limitation_sentence("01", ["warehouses"])
    with pytest.raises(KeyError, match="unknown stage"):
        limitation_sentence("09", [])


def test_guest_orders_count_in_revenue_but_not_as_customers(minimal_run, minimal_dataset):
    _, out = minimal_run
    cols = ["channel_id", "order_id", "customer_id", "status", "net_revenue_base"]
    lines = pd.read_parquet(out / "tables" / "order_lines.parquet", columns=cols)
    card = pd.read_parquet(out / "tables" / "scorecard.parquet").set_index("channel_id")
    # revenue: every line's net revenue, guest lines included
    net = lines.groupby("channel_id")["net_revenue_base"].sum()
    assert card["revenue"].to_dict() == pytest.approx(net.reindex(card.index).to_dict())
    # customers: resolved customers with a sold line; a guest line is nobody
    sold = lines[lines["status"].isin(["placed", "paid", "shipped", "delivered"])]
    customers = sold.dropna(subset=["customer_id"]).groupby("channel_id")["customer_id"].nunique()
    assert card["customers"].to_dict() == customers.reindex(card.index, fill_value=0).to_dict()
    # the notebook says how much the customer figures leave out, from these lines
    _, left = identified_lines(lines, customer="customer_id")
    currency = load_dataset(minimal_dataset).base_currency
    what = "customer counts, new customers, segments and channel overlap"
    text = _outputs_text(out / "notebooks" / "06_evaluation.ipynb")
    assert left_out_text(left, currency, what) in text
