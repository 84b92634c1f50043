"""The intake on real exports: the UCI Online Retail II file as two raw web-store exports.

Data: ``../shared/data/online_retail_ii_2009_2010.parquet`` (Chen 2019, UCI Machine Learning
Repository, CC BY 4.0), written by :func:`online_retail.write_dataset` (the one converter the
forecasting, recommendation and customer benchmarks use too) with nothing but
``dataset.yaml``, the two exports and their mappings. Measured:

1. the intake's accounting (:func:`channelops.ingest.intake.ingest_lines` and
   ``intake_accounting``, what stage 00 and ``channelops check`` run): rows read, accepted,
   duplicates, quarantined by reason, guest share, cancelled and returned lines, and per
   channel the money reconciliation (the export's own quantity x price = accepted +
   repeated + quarantined, to the penny), under both repeated-line rules;
2. an independent recomputation of each export's quantity x price straight from the parquet
   file (pandas, no channelops code), against the intake's ``money_export``;
3. known-bad rows injected into a copy of the UK export at seeded positions (bad timestamps,
   unknown SKUs against a products.csv listing every code of the file, non-numeric
   quantities): each must be quarantined with its reason and nothing else may change;
4. ``channelops check`` on the dataset: its exit code;
5. with ``--full-run``, the whole report (``channelops run``, the CI parameters with the
   CLV calibration end moved into the file's year) on the dataset: each stage's status.

    .venv/bin/python benchmarks/bench_intake_real.py            # writes results/intake_real.md
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import online_retail
import pandas as pd
import yaml

from channelops.ingest import intake
from channelops.ingest.dataset import load_dataset

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "intake_real.md"
CHANNELOPS = Path(sys.executable).with_name("channelops")

#: injected rows per kind: (reason they must get, the field changed, the bad values)
INJECTED = {
    "bad_timestamp": ("InvoiceDate", ["2010-02-30 10:00:00", "yesterday", "31/12/2010 10:00"]),
    "unknown_sku": ("StockCode", ["ZZ-NOT-SOLD-1", "ZZ-NOT-SOLD-2", "99999X"]),
    "bad_number": ("Quantity", ["twelve", "1.5", "3 pcs"]),
}


def accounting(folder: Path) -> tuple[intake.IngestResult, pd.DataFrame, float]:
    """The intake of ``folder``: its result, its accounting and the seconds it took."""
    t0 = time.perf_counter()
    result = intake.ingest_lines(load_dataset(folder))
    dq = intake.intake_accounting(result)
    return result, dq, time.perf_counter() - t0


def independent_money(source: Path) -> pd.Series:
    """Each export's own sum of Quantity x Price, straight from the parquet (no channelops)."""
    retail = pd.read_parquet(source)
    channel = np.where(retail["Country"].eq(online_retail.DOMESTIC), "uk_web", "intl_web")
    return (retail["Quantity"] * retail["Price"]).groupby(channel).sum()


def inject(folder: Path, dest: Path, seed: int) -> dict[int, str]:
    """Copy ``folder`` to ``dest`` with a products.csv of every StockCode of the UK export
    and known-bad rows inserted into the UK export at seeded positions.

    Returns:
        row number in the new export (header = 1) -> the reason it must be quarantined with.
    """
    shutil.copytree(folder, dest)
    path = dest / "orders" / "uk_web.csv"
    export = pd.read_csv(path, dtype=str, keep_default_na=False)
    intl = pd.read_csv(folder / "orders" / "intl_web.csv", dtype=str, keep_default_na=False)
    codes = sorted({c.strip() for c in (*export["StockCode"], *intl["StockCode"])} - {""})
    pd.DataFrame({"sku": codes}).to_csv(dest / "products.csv", index=False)
    rng = np.random.default_rng(seed)
    bad_rows = []
    for reason, (column, values) in INJECTED.items():
        for value in values:
            row = export.iloc[int(rng.integers(len(export)))].copy()
            row[column] = value
            bad_rows.append((reason, row))
    positions = np.sort(rng.choice(len(export) + 1, size=len(bad_rows), replace=False))
    parts, expected, start = [], {}, 0
    for k, (pos, (reason, row)) in enumerate(zip(positions, bad_rows, strict=True)):
        parts.append(export.iloc[start:pos])
        parts.append(row.to_frame().T)
        expected[int(pos) + k + 2] = reason
        start = pos
    parts.append(export.iloc[start:])
    pd.concat(parts, ignore_index=True).to_csv(path, index=False)
    return expected


def check_exit_code(folder: Path, out: Path) -> int:
    """Exit code of ``channelops check`` on ``folder`` (its files written under ``out``)."""
    done = subprocess.run(
        [str(CHANNELOPS), "check", str(folder)], cwd=out, capture_output=True, text=True
    )
    return done.returncode


def full_run(tmp: Path) -> list[str]:
    """Run every stage on the dataset (repeated_rows: duplicate); the report's lines."""
    folder = online_retail.write_dataset(tmp / "full")
    params = yaml.safe_load((HERE.parent / "parameters" / "ci.yaml").read_text())
    params.update(run_name="online_retail", dataset=str(folder), calibration_end="2010-09-10")
    (tmp / "params.yaml").write_text(yaml.safe_dump(params))
    cmd = [str(CHANNELOPS), "run", "--params", str(tmp / "params.yaml"), "--output",
           str(tmp / "run"), "--no-progress"]  # fmt: skip
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=HERE.parent)
    seconds = time.perf_counter() - t0
    out = done.stdout.splitlines()
    start = next((i for i, line in enumerate(out) if line.strip() == "summary"), len(out))
    stages = [line for line in out[start + 1 :] if line.strip().startswith(("0", "total"))]
    shutil.rmtree(tmp / "full")
    return [
        "## The whole run on the dataset",
        "",
        f"`channelops run` with parameters/ci.yaml (calibration_end 2010-09-10), exports and "
        f"mappings only: exit code {done.returncode}, {seconds:.0f} s wall clock on this "
        "machine (shared with other jobs).",
        "",
        "```",
        *stages,
        "```",
        "",
    ]


def _cell(v) -> str:
    """A table cell: booleans as yes/no, shares as percentages, money with 2 decimals."""
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.2f}"
    return str(v)


def _table(df: pd.DataFrame) -> str:
    """``df`` as a Markdown table (a ``*_share`` column as a percentage)."""
    df = df.copy()
    for c in df.columns:
        if c.endswith("_share"):
            df[c] = df[c].map(lambda x: f"{x:.1%}")
    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=str(online_retail.SOURCE))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--full-run", action="store_true", help="also run every stage on it")
    args = parser.parse_args()
    source = Path(args.source)
    report = [
        "# The intake on real exports: UCI Online Retail II (2009-2010)",
        "",
        f"Data: {online_retail.ATTRIBUTION}; 525,461 invoice lines written by "
        "`benchmarks/online_retail.py` as two raw exports (uk_web: customers in the United "
        "Kingdom; intl_web: every other country) with their mappings and nothing else "
        "(no products, CRM, fx, channels).",
        "",
        "Command: `.venv/bin/python benchmarks/bench_intake_real.py --seed "
        f"{args.seed}{' --full-run' if args.full_run else ''}`",
        "",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.full_run:
            report += full_run(tmp)
        recomputed = independent_money(source)
        retail = pd.read_parquet(source)
        for rule in ("duplicate", "keep"):
            folder = online_retail.write_dataset(tmp / rule, source, rule, retail=retail)
            result, dq, seconds = accounting(folder)
            read = int(dq["rows_read"].sum())
            quarantined = int(dq["quarantined"].sum())
            report += [
                f"## Repeated-line rule `repeated_rows: {rule}`",
                "",
                f"Intake: {seconds:.1f} s on this machine. Rows read {read:,}; accepted "
                f"{int(dq['accepted'].sum()):,}; duplicates {int(dq['duplicates'].sum()):,}; "
                f"quarantined {quarantined:,} ({quarantined / read:.2%} of lines; target <= 1%).",
                "",
                _table(
                    dq[
                        [
                            "channel_id",
                            "rows_read",
                            "accepted",
                            "duplicates",
                            "quarantined",
                            "guest_lines",
                            "guest_share",
                            "cancelled_lines",
                            "returned_lines",
                            "reversal_lines",
                            "non_merchandise_lines",
                        ]
                    ]  # fmt: skip
                ),
                "",
                "Quarantined by reason: "
                + (
                    ", ".join(
                        f"{r} {n:,}" for r, n in result.quarantine["reason"].value_counts().items()
                    )
                    or "none"
                )
                + ".",
                "",
                "Money per channel (GBP, the export's own quantity x price; "
                "`recomputed` is the parquet's own sum, computed with pandas alone):",
                "",
            ]
            money = intake.money_accounting(result)
            money["recomputed"] = money["channel_id"].map(recomputed).round(2)
            money["recomputed_off_pennies"] = (
                ((money["recomputed"] - money["money_export"]) * 100).round().astype(int)
            )
            report += [_table(money), ""]
            report += [
                "Summary as stage 00 prints it:",
                "",
                "> " + intake.intake_summary(dq, intake.revenue_reconciliation(result.lines)),
                "",
            ]
            if rule == "duplicate":
                guests = result.lines.loc[result.lines["is_guest"]]
                report += [
                    f"Guest lines carry {int(guests['demand_units'].sum()):,} of the "
                    f"{int(result.lines['demand_units'].sum()):,} demand units "
                    f"and {guests['net_revenue_base'].sum():,.2f} of "
                    f"{result.lines['net_revenue_base'].sum():,.2f} GBP net revenue.",
                    "",
                ]
                code = check_exit_code(folder, tmp)
                report += [f"`channelops check` on the dataset: exit code {code}.", ""]
                del result
                expected = inject(folder, tmp / "injected", args.seed)
                bad, _, _ = accounting(tmp / "injected")
                q = bad.quarantine.loc[bad.quarantine["channel_id"].eq("uk_web")]
                got = dict(zip(q["row"].astype(int), q["reason"].astype(str), strict=True))
                right = sum(got.get(r) == reason for r, reason in expected.items())
                extra = sorted(set(got) - set(expected))
                report += [
                    "## Known-bad rows injected into a copy of uk_web",
                    "",
                    f"With a products.csv listing every StockCode of the file, {len(expected)} "
                    f"rows inserted at seeded positions (seed {args.seed}): "
                    + ", ".join(f"{len(v[1])} {k}" for k, v in INJECTED.items())
                    + f". Quarantined with the right reason: {right} of {len(expected)}; "
                    f"other rows quarantined: {len(extra)}. Money of the copy (a quantity that is not a number "
                    "has no money to count):",
                    "",
                    _table(intake.money_accounting(bad)),
                    "",
                    _table(
                        pd.DataFrame(
                            [
                                {
                                    "row": r,
                                    "expected": e,
                                    "quarantined as": got.get(r, "(accepted)"),
                                }
                                for r, e in sorted(expected.items())
                            ]
                        )
                    ),
                    "",
                ]
            else:
                del result
    Path(args.out).write_text("\n".join(report))
    print("\n".join(report))


if __name__ == "__main__":
    main()
