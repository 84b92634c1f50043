"""Benchmark: read + validate + canonicalise N generated order lines.

    .venv/bin/python benchmarks/bench_loader.py --lines 1000000
    .venv/bin/python benchmarks/bench_loader.py --lines 10000000

Step 1 writes a one-channel dataset (Tmall-like export with Chinese headers, strftime
timestamps in Asia/Shanghai, status words, a currency column mixing CNY and USD, channel SKU
codes through sku_map, 14 columns, about 1% invalid rows) under --workdir, reusing it when it
exists. Step 2 runs the measurement in a fresh child process so that the peak memory
(ru_maxrss) is the loader's own: load_dataset + read_export + canonicalise, wall time per
step. Results are printed as one Markdown table row.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import yaml

N_SKUS = 2000


def _prefix(prefix: str, ints: np.ndarray) -> pa.Array:
    return pc.binary_join_element_wise(prefix, pc.cast(pa.array(ints), pa.string()), "")


def generate(root: Path, n: int, seed: int = 1) -> None:
    """Write the benchmark dataset with ``n`` export lines (vectorised, chunked)."""
    rng = np.random.default_rng(seed)
    (root / "orders").mkdir(parents=True, exist_ok=True)
    (root / "mappings").mkdir(exist_ok=True)
    skus = np.arange(N_SKUS)
    price = np.round(rng.gamma(2.0, 60.0, N_SKUS) + 1, 2)
    (root / "products.csv").write_text(
        "sku,name,category,unit_cost,list_price,weight_kg\n"
        + "".join(
            f"SKU{s:05d},p{s},c{s % 12},{p * 0.6:.2f},{p:.2f},0.5\n"
            for s, p in zip(skus, price, strict=True)
        )
    )
    (root / "sku_map.csv").write_text(
        "channel_id,channel_sku,sku\n" + "".join(f"tmall,TM-{s},SKU{s:05d}\n" for s in skus)
    )
    days = np.arange(np.datetime64("2023-01-01"), np.datetime64("2025-01-01"))
    (root / "fx_rates.csv").write_text(
        "date,currency,rate_to_base\n"
        + "".join(f"{d},USD,{7.1 + 0.1 * np.sin(i / 30):.4f}\n" for i, d in enumerate(days))
    )
    (root / "dataset.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "bench",
                "base_currency": "CNY",
                "timezone": "Asia/Shanghai",
                "channels": [
                    {"id": "tmall", "orders": "orders/tmall.csv", "mapping": "mappings/tmall.yaml"}
                ],
            }
        )
    )
    header = [
        "订单编号",
        "下单时间",
        "买家会员名",
        "收货人姓名",
        "联系手机",
        "收货地址",
        "城市",
        "商家编码",
        "购买数量",
        "价格",
        "优惠",
        "币种",
        "订单状态",
        "备注",
    ]
    (root / "mappings" / "tmall.yaml").write_text(
        yaml.safe_dump(
            {
                "columns": {
                    "order_id": "订单编号",
                    "order_ts": "下单时间",
                    "buyer_ref": "买家会员名",
                    "buyer_name": "收货人姓名",
                    "buyer_phone": "联系手机",
                    "ship_address": "收货地址",
                    "city": "城市",
                    "channel_sku": "商家编码",
                    "quantity": "购买数量",
                    "unit_price": "价格",
                    "discount": "优惠",
                    "currency": "币种",
                    "status": "订单状态",
                },
                "timestamp": {"format": "%Y-%m-%d %H:%M:%S", "timezone": "Asia/Shanghai"},
                "values": {
                    "status": {
                        "等待买家付款": "placed",
                        "买家已付款": "paid",
                        "卖家已发货": "shipped",
                        "交易成功": "delivered",
                        "交易关闭": "cancelled",
                    }
                },
            },
            allow_unicode=True,
            sort_keys=False,
        )
    )
    words = pa.array(["等待买家付款", "买家已付款", "卖家已发货", "交易成功", "交易关闭"])
    t0 = np.datetime64("2023-01-01T00:00:00", "s").astype(np.int64)
    chunk = 1_000_000
    with pacsv.CSVWriter(
        root / "orders" / "tmall.csv", pa.schema([(h, pa.string()) for h in header])
    ) as w:
        for start in range(0, n, chunk):
            m = min(chunk, n - start)
            idx = np.arange(start, start + m)
            buyer = rng.integers(0, max(n // 8, 1), m)
            sku = rng.integers(0, N_SKUS, m)
            qty = rng.integers(1, 4, m)
            ts = pa.array(t0 + rng.integers(0, 2 * 365 * 86400, m), pa.timestamp("s"))
            ts_s = pc.strftime(ts, format="%Y-%m-%d %H:%M:%S")
            bad = rng.random(m)
            qty_s = pc.cast(pa.array(np.where(bad < 0.004, -qty, qty)), pa.string())
            ts_s = pc.if_else(pa.array(bad > 0.996), pa.scalar("2023-02-30 25:00:00"), ts_s)
            sku_s = _prefix("TM-", sku)
            sku_s = pc.if_else(pa.array((bad > 0.004) & (bad < 0.006)), pa.scalar("TM-X"), sku_s)
            usd = rng.random(m) < 0.1
            unit = np.where(usd, np.round(price[sku] / 7.1, 2), price[sku])
            cols = [
                _prefix("T", idx // 2),
                ts_s,
                _prefix("nick", buyer),
                _prefix("name", buyer),
                _prefix("138", 10_000_000 + buyer),
                _prefix("上海市浦东新区路", buyer % 999),
                pa.array(np.where(buyer % 3 == 0, "上海", "北京")),
                sku_s,
                qty_s,
                pc.cast(pa.array(unit), pa.string()),
                pa.array(np.where(rng.random(m) < 0.2, "5.00", "")),
                pa.array(np.where(usd, "USD", "CNY")),
                pc.take(words, pa.array(rng.integers(0, 5, m))),
                pa.array(np.full(m, "")),
            ]
            w.write_table(pa.Table.from_arrays(cols, names=header))


def measure(root: Path) -> dict:
    """Run the loader on ``root``; wall times (s) per step and peak RSS (MiB)."""
    from channelops.ingest.canonical import canonicalise
    from channelops.ingest.dataset import load_dataset, read_export

    t = time.perf_counter()
    ds = load_dataset(root)
    t_load = time.perf_counter() - t
    t = time.perf_counter()
    r = read_export(ds, "tmall")
    t_read = time.perf_counter() - t
    t = time.perf_counter()
    lines, q = canonicalise(r.lines, ds)
    t_canon = time.perf_counter() - t
    assert r.rows_read == len(lines) + len(r.quarantine) + len(q)
    return {
        "rows_read": r.rows_read,
        "accepted": len(lines),
        "quarantined": len(r.quarantine) + len(q),
        "load_s": round(t_load, 2),
        "read_s": round(t_read, 2),
        "canonicalise_s": round(t_canon, 2),
        "total_s": round(t_load + t_read + t_canon, 2),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "revenue_base": round(float(lines["revenue_base"].sum()), 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--workdir", default="/tmp/channelops-bench")
    ap.add_argument("--measure", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(Path(args.measure))))
        return
    root = Path(args.workdir) / f"lines_{args.lines}"
    if not (root / "dataset.yaml").exists():
        t = time.perf_counter()
        generate(root, args.lines)
        size = (root / "orders" / "tmall.csv").stat().st_size / 2**20
        print(
            f"generated {args.lines:,} lines ({size:,.0f} MiB) in "
            f"{time.perf_counter() - t:.1f} s at {root}",
            file=sys.stderr,
        )
    out = subprocess.run(
        [sys.executable, __file__, "--measure", str(root)],
        check=True,
        capture_output=True,
        text=True,
    )
    res = json.loads(out.stdout)
    print(
        "| lines | load s | read s | canonicalise s | total s | peak RSS MiB | accepted | "
        "quarantined |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {res['rows_read']:,} | {res['load_s']} | {res['read_s']} | "
        f"{res['canonicalise_s']} | {res['total_s']} | {res['peak_rss_mib']:,} | "
        f"{res['accepted']:,} | {res['quarantined']:,} |"
    )


if __name__ == "__main__":
    main()
