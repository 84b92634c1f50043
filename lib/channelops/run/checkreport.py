"""``channelops check``: the run's intake without the run.

:func:`check_dataset` reads every export exactly as stage 00 does
(:func:`channelops.ingest.intake.ingest_lines`), accounts for every row per channel
(:func:`channelops.ingest.intake.intake_accounting`), lists every quarantined row for a
spreadsheet (:func:`quarantine_listing`: file, row, column, value, reason; values of
personal-data columns masked, formula-like cells neutralised), says per stage what the
missing optional files will limit (:func:`channelops.run.needs.stage_limitations`) and
whether the run would fail (:func:`check_verdict`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from channelops.ingest.folder import Dataset
from channelops.ingest.intake import (
    IngestResult,
    ingest_lines,
    intake_accounting,
    quarantine_reasons,
)
from channelops.ingest.pii import redact_quarantine
from channelops.run.csv_safe import neutralise_formulas
from channelops.run.needs import stage_limitations

__all__ = [
    "QUARANTINE_CSV_COLUMNS",
    "CheckResult",
    "check_dataset",
    "check_verdict",
    "quarantine_listing",
    "report_lines",
    "write_quarantine_csv",
]

#: Columns of the quarantine CSV, in order.
QUARANTINE_CSV_COLUMNS: tuple[str, ...] = (
    "file",
    "row",
    "channel_id",
    "column",
    "value",
    "reason",
    "message",
)


@dataclass
class CheckResult:
    """What ``channelops check`` found.

    Attributes:
        dataset: the loaded dataset.
        accounting: :func:`intake_accounting`'s table (one row per channel: rows_read,
            accepted, duplicates, quarantined, ``q_<reason>`` counts, revenue_raw,
            revenue_base).
        reasons: :func:`quarantine_reasons`' table (channel, reason, rows, first file/row).
        listing: :func:`quarantine_listing` of every quarantined row.
        limitations: one sentence per stage limited by a missing optional file.
        warnings: the intake's warnings (e.g. exports dataset.yaml does not list).
        exit_code: 0 when the run can go ahead, 2 when it would fail.
        problems: why the run would fail (empty when exit_code is 0).
    """

    dataset: Dataset
    accounting: pd.DataFrame
    reasons: pd.DataFrame
    listing: pd.DataFrame
    limitations: list[str]
    warnings: list[str]
    exit_code: int = 0
    problems: list[str] = field(default_factory=list)


def quarantine_listing(quarantine: pd.DataFrame, dataset: Dataset | None = None) -> pd.DataFrame:
    """Every quarantined row, ready for a CSV a spreadsheet opens safely.

    Args:
        quarantine: the intake's quarantine (columns source_file, row, channel_id, column,
            value, reason, message).
        dataset: the dataset, to know which export columns hold personal data; without it
            only raw lines of ragged rows are withheld.

    Returns:
        Columns :data:`QUARANTINE_CSV_COLUMNS` (``file`` is the export's path in the dataset
        folder, ``row`` its record number, header = 1), in the quarantine's order. Values of
        columns mapped to buyer name, e-mail, phone or address are masked
        (:func:`channelops.ingest.pii.redact_quarantine`) and every text cell that a
        spreadsheet would run as a formula (``= + - @``, tab, CR first) gets a leading ``'``
        (:func:`channelops.run.csv_safe.neutralise_formulas`).
    """
    q = redact_quarantine(quarantine, dataset)
    out = pd.DataFrame(
        {
            "file": q["source_file"].astype(object),
            "row": q["row"].astype("int64"),
            "channel_id": q["channel_id"].astype(object),
            "column": q["column"].astype(object),
            "value": q["value"].astype(object),
            "reason": q["reason"].astype(object),
            "message": q["message"].astype(object),
        },
        columns=list(QUARANTINE_CSV_COLUMNS),
    )
    return neutralise_formulas(out.reset_index(drop=True))


def write_quarantine_csv(listing: pd.DataFrame, path: str | Path) -> Path:
    """Write :func:`quarantine_listing`'s table as UTF-8 CSV with a BOM (Excel then reads
    Chinese text right); the header row is written even when nothing was quarantined."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    listing.to_csv(out, index=False, encoding="utf-8-sig")
    return out


def check_verdict(accounting: pd.DataFrame) -> tuple[int, list[str]]:
    """Whether the run would fail on this intake, and why.

    Args:
        accounting: :func:`intake_accounting`'s table.

    Returns:
        ``(2, reasons)`` when the run would have nothing to work on (no channel, or no
        line accepted on any channel: every row quarantined or every export empty), else
        ``(0, [])``.
    """
    if accounting.empty:
        return 2, ["dataset.yaml lists no channel, so there is nothing to run on"]
    read = int(accounting["rows_read"].sum())
    accepted = int(accounting["accepted"].sum())
    if read == 0:
        return 2, ["every export is empty (no data rows), so the run has no order line"]
    if accepted == 0:
        return 2, [
            f"none of the {read:,} rows read was accepted (every row quarantined or a "
            "duplicate), so every stage would run on no order line: fix the mappings "
            "with the quarantine listing"
        ]
    return 0, []


def check_dataset(dataset: Dataset) -> CheckResult:
    """Run the intake on ``dataset`` and gather what ``channelops check`` reports.

    Raises:
        DatasetError: a file-level problem (as the run's intake would raise it).
    """
    ingested: IngestResult = ingest_lines(dataset)
    accounting = intake_accounting(ingested)
    code, problems = check_verdict(accounting)
    return CheckResult(
        dataset=dataset,
        accounting=accounting,
        reasons=quarantine_reasons(ingested.quarantine),
        listing=quarantine_listing(ingested.quarantine, dataset),
        limitations=stage_limitations(dataset),
        warnings=list(ingested.warnings),
        exit_code=code,
        problems=problems,
    )


def _channel_lines(accounting: pd.DataFrame) -> list[str]:
    """The per-channel accounting as aligned text lines."""
    lines = [
        f"  {'channel':<18}{'read':>10}{'accepted':>10}{'duplicates':>11}{'quarantined':>12}"
        f"{'revenue (export units)':>24}{'revenue (base)':>16}"
    ]
    for r in accounting.itertuples(index=False):
        lines.append(
            f"  {str(r.channel_id):<18}{r.rows_read:>10,}{r.accepted:>10,}{r.duplicates:>11,}"
            f"{r.quarantined:>12,}{r.revenue_raw:>24,.2f}{r.revenue_base:>16,.2f}"
        )
    return lines


def _money_lines(accounting: pd.DataFrame) -> list[str]:
    """Where each export's money went (the intake's money accounting: quantity x price in
    the export's own units, before discount) and the accepted lines' kinds, as text lines;
    empty when the accounting carries no money columns."""
    if "money_export" not in accounting.columns:
        return []
    lines = [
        "money per channel (quantity x price in the export's own units, before discount): "
        "export = accepted + duplicates + quarantined",
        f"  {'channel':<18}{'export':>16}{'accepted':>16}{'duplicates':>14}{'quarantined':>14}"
        f"{'off by':>10}  repeated rows",
    ]
    for r in accounting.itertuples(index=False):
        off = "0" if r.money_reconciled else f"{r.money_difference_pennies / 100:,.2f}"
        lines.append(
            f"  {str(r.channel_id):<18}{r.money_export:>16,.2f}{r.money_accepted:>16,.2f}"
            f"{r.money_duplicates:>14,.2f}{r.money_quarantined:>14,.2f}{off:>10}  "
            f"{r.repeated_rows}"
        )
        if r.rows_without_money:
            lines.append(
                f"    {r.rows_without_money:,} quarantined row(s) of {r.channel_id} have no "
                "number for quantity or price: no money to count"
            )
    if "guest_lines" in accounting.columns:
        lines.append("accepted lines by kind:")
        for r in accounting.itertuples(index=False):
            lines.append(
                f"  {str(r.channel_id):<18}{r.guest_lines:,} guest ({r.guest_share:.1%}), "
                f"{r.cancelled_lines:,} cancelled, {r.returned_lines:,} returned, "
                f"{r.reversal_lines:,} reversal (negative quantity), "
                f"{r.non_merchandise_lines:,} non-merchandise; net revenue "
                f"{r.net_revenue_base:,.2f} (base currency)"
            )
    return lines


def report_lines(result: CheckResult, listing_path: Path | None) -> list[str]:
    """What ``channelops check`` prints, line by line (no data row is quoted: counts,
    channel ids, reasons, file names and row numbers only)."""
    ds = result.dataset
    lines = [
        f"dataset {ds.name} ({ds.root}): base currency {ds.base_currency}, timezone {ds.timezone}",
        "rows per channel (read = accepted + duplicates + quarantined; revenue of the "
        "accepted lines, quantity x unit price - discount):",
        *_channel_lines(result.accounting),
        *_money_lines(result.accounting),
    ]
    lines.extend(f"  warning: {w}" for w in result.warnings)
    dead = result.accounting[
        (result.accounting["rows_read"] > 0) & (result.accounting["accepted"] == 0)
    ]
    if result.exit_code == 0:
        lines.extend(
            f"  warning: none of the {r.rows_read:,} rows of channel {r.channel_id} was "
            "accepted: the run goes ahead without it"
            for r in dead.itertuples(index=False)
        )
    n_q = len(result.listing)
    if n_q:
        lines.append(f"{n_q:,} row(s) would be quarantined:")
        for r in result.reasons.itertuples(index=False):
            lines.append(
                f"  {r.channel_id}: {r.rows:,} {r.reason} (first: {r.first_file}, row {r.first_row})"
            )
    else:
        lines.append("no row would be quarantined")
    if listing_path is not None:
        lines.append(
            f"quarantined rows listed in {listing_path} (file, row, column, value, reason; "
            "personal data masked)"
        )
    if result.limitations:
        lines.append("what the missing optional files will limit:")
        lines.extend(f"  {s}" for s in result.limitations)
    else:
        lines.append("every stage has the optional files it reads")
    if result.exit_code:
        lines.extend(f"THE RUN WOULD FAIL: {p}" for p in result.problems)
    else:
        lines.append("the run can go ahead: `channelops run --dataset " + str(ds.root) + "`")
    return lines
