"""Tiny hand-made datasets for the loader tests (dataset.yaml, one or more exports, mappings,
optional tables), written into a pytest ``tmp_path``.

    root = build_dataset(tmp_path, exports={"web": CSV_TEXT}, mappings={"web": MAPPING})
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import yaml

#: A clean export already in canonical column names (the identity mapping applies).
WEB_CSV = (
    "order_id,order_ts,buyer_ref,channel_sku,quantity,unit_price,discount,currency,status\n"
    "o1,2024-03-01 08:00:00,c1,SKU1,2,10.50,1.00,CNY,paid\n"
    "o1,2024-03-01 08:00:00,c1,SKU2,1,5.25,0,CNY,shipped\n"
    "o2,2024-03-02 23:30:00,c2,SKU1,1,10.50,,CNY,delivered\n"
)
WEB_MAPPING: dict[str, Any] = {
    "columns": {
        "order_id": "order_id",
        "order_ts": "order_ts",
        "buyer_ref": "buyer_ref",
        "channel_sku": "channel_sku",
        "quantity": "quantity",
        "unit_price": "unit_price",
    },
    "timestamp": {"format": "%Y-%m-%d %H:%M:%S", "timezone": "Asia/Shanghai"},
}


def write(path: Path, content: str | bytes, encoding: str = "utf-8") -> Path:
    """Write text (in ``encoding``) or bytes to ``path``, creating folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_bytes(content.encode(encoding))
    return path


def build_dataset(
    root: Path,
    exports: dict[str, str | bytes] | None = None,
    mappings: dict[str, dict | str] | None = None,
    tables: dict[str, str] | None = None,
    *,
    name: str = "t",
    base_currency: str = "CNY",
    timezone: str = "Asia/Shanghai",
    channel_extra: dict[str, dict] | None = None,
    dataset_yaml: str | None = None,
) -> Path:
    """Write a dataset folder and return it.

    Args:
        root: the folder (created).
        exports: channel id -> export content (text is written as UTF-8, bytes as is).
            Default: one channel ``web`` with :data:`WEB_CSV`.
        mappings: channel id -> mapping dict (dumped as YAML) or raw YAML text.
            Default: :data:`WEB_MAPPING` for every channel.
        tables: table name -> CSV text, written as ``<name>.csv``.
        channel_extra: channel id -> extra keys of its dataset.yaml entry (e.g. crm_ids).
        dataset_yaml: raw dataset.yaml text instead of the generated one.
    """
    root.mkdir(parents=True, exist_ok=True)
    exports = {"web": WEB_CSV} if exports is None else exports
    mappings = mappings or {}
    channels = []
    for cid, content in exports.items():
        write(root / "orders" / f"{cid}.csv", content)
        m = mappings.get(cid, WEB_MAPPING)
        text = m if isinstance(m, str) else yaml.safe_dump(m, allow_unicode=True, sort_keys=False)
        write(root / "mappings" / f"{cid}.yaml", text)
        channels.append(
            {
                "id": cid,
                "orders": f"orders/{cid}.csv",
                "mapping": f"mappings/{cid}.yaml",
                **(channel_extra or {}).get(cid, {}),
            }
        )
    if dataset_yaml is None:
        dataset_yaml = yaml.safe_dump(
            {
                "name": name,
                "base_currency": base_currency,
                "timezone": timezone,
                "channels": channels,
            },
            sort_keys=False,
        )
    write(root / "dataset.yaml", dataset_yaml)
    for t, content in (tables or {}).items():
        write(root / f"{t}.csv", content)
    return root


PRODUCTS_CSV = (
    "sku,name,category,unit_cost,list_price,weight_kg\n"
    "SKU1,Tea,food,4,10.5,0.2\n"
    "SKU2,Cup,home,2,5.25,0.3\n"
    "SKU3,Pot,home,10,30,1.0\n"
)
FX_CSV = "date,currency,rate_to_base\n2024-03-01,USD,7.2\n2024-03-02,USD,7.1\n2024-03-01,EUR,7.8\n"


def channels_csv(*rows: tuple[str, str, str, str]) -> str:
    """channels.csv text from (channel_id, kind, currency, timezone) rows."""
    head = "channel_id,name,kind,commission_rate,fixed_cost_per_month,currency,timezone\n"
    return head + "".join(f"{c},{c.title()},{k},0.05,1000,{cur},{tz}\n" for c, k, cur, tz in rows)


def copy_without(dataset: Path, dest: Path, *tables: str) -> Path:
    """A copy of ``dataset`` at ``dest`` without its ``truth/`` folder and without the optional
    tables named (``<table>.csv``), as a user's export that lacks them would be."""
    import shutil

    shutil.copytree(dataset, dest, ignore=shutil.ignore_patterns("truth"))
    for table in tables:
        (dest / f"{table}.csv").unlink()
    return dest


#: The repository folder and the tests' data folder, for tests in any subfolder.
ROOT = Path(__file__).resolve().parents[1]
TEST_DATA = ROOT / "tests" / "data"


def customer_lines(rows: list[tuple]) -> pd.DataFrame:
    """Canonical lines from (customer, order, channel, local time, sku, revenue, discount, status)."""
    cols = [
        "buyer_ref",
        "order_id",
        "channel_id",
        "order_ts_local",
        "sku",
        "revenue_base",
        "discount_base",
        "status",
    ]
    df = pd.DataFrame(rows, columns=cols)
    df["order_ts_local"] = pd.to_datetime(df["order_ts_local"])
    return df


def stage_notebook(path: Path, body: str) -> None:
    """Write a one-cell stage notebook at ``path``: a ``parameters`` cell (dataset,
    output_dir, seed, as the runner injects them) and ``body``, on the channelops kernel."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('dataset = ""\noutput_dir = ""\nseed = 0')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {
        "name": "channelops",
        "display_name": "channelops",
        "language": "python",
    }
    nbformat.write(nb, path)


def run_table_hashes(run: Path) -> dict[str, str]:
    """Each table's content hash, as the run folder's manifest recorded it."""
    tables = json.loads((run / "manifest.json").read_text())["tables"]
    return {name: entry["content_hash"] for name, entry in tables.items()}


def run_stage_tables(run: Path, key: str) -> set[str]:
    """The tables the manifest says stage ``key`` wrote."""
    return set(json.loads((run / "manifest.json").read_text())["stages"][key]["tables"])


def differing_tables(a: dict[str, str], b: dict[str, str]) -> list[str]:
    """Names whose hashes differ between two {table: hash} maps (or are in only one)."""
    return sorted(t for t in a.keys() | b.keys() if a.get(t) != b.get(t))
