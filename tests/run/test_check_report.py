"""``channelops check``: the quarantine CSV (columns, personal data masked, formula-like
cells neutralised), the per-channel accounting, the stage limitation lines and the exit
code when the run would fail."""

from __future__ import annotations

import csv

import pandas as pd
import pytest

from _builders import WEB_MAPPING, build_dataset
from channelops.ingest import intake
from channelops.ingest.dataset import load_dataset
from channelops.ingest.quarantine import empty_quarantine
from channelops.run.checkreport import (
    QUARANTINE_CSV_COLUMNS,
    check_dataset,
    check_verdict,
    quarantine_listing,
    report_lines,
)
from channelops.run.cli import main

HEADER = "order_id,order_ts,buyer_ref,email,channel_sku,quantity,unit_price\n"
MAPPING = {**WEB_MAPPING, "columns": {**WEB_MAPPING["columns"], "buyer_email": "email"}}


def _dataset(tmp_path, body: str):
    return build_dataset(tmp_path / "ds", exports={"web": HEADER + body}, mappings={"web": MAPPING})


def _read_csv(path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_check_lists_quarantined_rows_neutralised_and_without_raw_lines(tmp_path, capsys):
    root = _dataset(
        tmp_path,
        "o1,2024-03-01 08:00:00,c1,ann@example.com,SKU1,2,10.50\n"
        "o2,2024-03-01 09:00:00,c2,bob@example.com,SKU1,=1+2,10.50\n"
        "o3,not a time,c3,cy@example.com,SKU1,1,10.50\n"
        "o4,2024-03-02 09:00:00,c4,dee@example.com,SKU1,1,10.50,13800138000,extra\n",
    )
    out = tmp_path / "q" / "quarantine.csv"
    assert main(["check", str(root), "--quarantine-csv", str(out)]) == 0
    rows = _read_csv(out)
    assert list(rows[0]) == list(QUARANTINE_CSV_COLUMNS)
    by_row = {int(r["row"]): r for r in rows}
    assert set(by_row) == {3, 4, 5}
    assert by_row[3]["reason"] == "bad_number" and by_row[3]["column"] == "quantity"
    assert by_row[3]["value"] == "'=1+2"  # a spreadsheet shows it, never runs it
    assert by_row[4]["reason"] == "bad_timestamp" and by_row[4]["file"] == "orders/web.csv"
    assert by_row[5]["reason"] == "ragged_row"
    text = out.read_text(encoding="utf-8-sig")
    assert "13800138000" not in text and "dee@example.com" not in text
    printed = capsys.readouterr().out
    assert "web" in printed and "3 row(s) would be quarantined" in printed
    assert "13800138000" not in printed and "@example.com" not in printed


def test_listing_masks_values_of_personal_data_columns(tmp_path):
    ds = load_dataset(_dataset(tmp_path, "o1,2024-03-01 08:00:00,c1,ann@example.com,SKU1,1,1\n"))
    q = pd.concat(
        [
            empty_quarantine(),
            pd.DataFrame(
                {
                    "source_file": ["orders/web.csv", "orders/web.csv"],
                    "row": [7, 8],
                    "channel_id": ["web", "web"],
                    "column": ["email", "quantity"],
                    "value": ["alice@example.com", "+SUM(A1:A9)"],
                    "reason": ["missing_value", "bad_number"],
                    "message": ["m", "m"],
                }
            ),
        ],
        ignore_index=True,
    )
    listing = quarantine_listing(q, ds)
    assert list(listing.columns) == list(QUARANTINE_CSV_COLUMNS)
    assert listing["value"].tolist() == ["a***@example.com", "'+SUM(A1:A9)"]
    assert listing["row"].tolist() == [7, 8] and listing["file"].tolist() == ["orders/web.csv"] * 2


def test_check_exits_2_when_every_line_is_quarantined(tmp_path, capsys):
    root = _dataset(
        tmp_path,
        "o1,yesterday,c1,ann@example.com,SKU1,2,10.50\no2,,c2,bob@example.com,SKU1,1,10.50\n",
    )
    out = tmp_path / "q.csv"
    assert main(["check", str(root), "--quarantine-csv", str(out)]) == 2
    captured = capsys.readouterr()
    assert "THE RUN WOULD FAIL" in captured.err and "none of the 2 rows" in captured.err
    assert len(_read_csv(out)) == 2


def test_check_exits_2_on_a_file_level_error(tmp_path, capsys):
    root = _dataset(tmp_path, "o1,2024-03-01 08:00:00,c1,ann@example.com,SKU1,1,1\n")
    (root / "mappings" / "web.yaml").write_text("columns: {order_id: nope}\n", encoding="utf-8")
    assert main(["check", str(root), "--quarantine-csv", str(tmp_path / "q.csv")]) == 2
    assert "mappings/web.yaml" in capsys.readouterr().err


def test_verdict_known_cases():
    def acc(read, accepted):
        return pd.DataFrame({"channel_id": ["a"], "rows_read": [read], "accepted": [accepted]})

    assert check_verdict(acc(5, 1)) == (0, [])
    assert check_verdict(acc(5, 0))[0] == 2
    assert check_verdict(acc(0, 0))[0] == 2
    assert check_verdict(acc(5, 0).iloc[:0])[0] == 2


def test_report_names_what_missing_optional_files_limit(tmp_path):
    ds = load_dataset(_dataset(tmp_path, "o1,2024-03-01 08:00:00,c1,ann@example.com,SKU1,2,1\n"))
    result = check_dataset(ds)
    assert result.exit_code == 0
    acc = result.accounting.set_index("channel_id")
    assert (acc.loc["web", "rows_read"], acc.loc["web", "accepted"]) == (1, 1)
    assert acc.loc["web", "revenue_raw"] == pytest.approx(2.0)
    lines = report_lines(result, None)
    limits = [line for line in lines if line.strip().startswith("Stage 02")]
    assert len(limits) == 1 and "without marketing_spend.csv" in limits[0]
    assert lines[-1].startswith("the run can go ahead")


@pytest.mark.skipif(
    not hasattr(intake, "money_accounting"),
    reason="needs the intake's money accounting (issue 18)",
)
def test_check_shows_where_the_money_went_per_bucket(tmp_path):
    # accepted 2 x 10.50, a verbatim repeat of it (an export duplicate), a row with a bad
    # timestamp 1 x 5.00 (quarantined): export 47.00 = 21.00 + 21.00 + 5.00
    ds = load_dataset(
        _dataset(
            tmp_path,
            "o1,2024-03-01 08:00:00,c1,ann@example.com,SKU1,2,10.50\n"
            "o1,2024-03-01 08:00:00,c1,ann@example.com,SKU1,2,10.50\n"
            "o2,someday,c2,bob@example.com,SKU1,1,5.00\n",
        )
    )
    result = check_dataset(ds)
    row = result.accounting.set_index("channel_id").loc["web"]
    assert (row["money_export"], row["money_accepted"]) == (47.0, 21.0)
    assert (row["money_duplicates"], row["money_quarantined"]) == (21.0, 5.0)
    assert bool(row["money_reconciled"])
    text = "\n".join(report_lines(result, None))
    assert "export = accepted + duplicates + quarantined" in text
    assert "47.00           21.00         21.00          5.00" in text


def test_default_listing_path_stays_under_output_whatever_the_dataset_name(tmp_path, monkeypatch):
    root = _dataset(tmp_path, "o1,2024-03-01 08:00:00,c1,ann@example.com,SKU1,1,1\n")
    text = (root / "dataset.yaml").read_text(encoding="utf-8")
    (root / "dataset.yaml").write_text(
        text.replace("name: t", "name: ../../escaped"), encoding="utf-8"
    )
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main(["check", str(root)]) == 0
    written = [p.relative_to(work).as_posix() for p in work.rglob("*.csv")]
    assert written == ["output/check_escaped/quarantine.csv"]
    assert not (tmp_path / "escaped").exists()


def test_a_channel_with_no_accepted_row_is_named_while_the_run_goes_ahead(tmp_path):
    good = HEADER + "o1,2024-03-01 08:00:00,c1,ann@example.com,SKU1,1,1\n"
    bad = HEADER + "o9,never,c9,zed@example.com,SKU1,1,1\no8,later,c8,yu@example.com,SKU1,1,1\n"
    root = build_dataset(
        tmp_path / "ds",
        exports={"web": good, "pos": bad},
        mappings={"web": MAPPING, "pos": MAPPING},
    )
    result = check_dataset(load_dataset(root))
    assert result.exit_code == 0
    text = "\n".join(report_lines(result, None))
    assert "none of the 2 rows of channel pos was accepted" in text
    assert "channel web was" not in text
