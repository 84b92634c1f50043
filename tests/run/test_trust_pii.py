"""Private data: customers' e-mails, phones, names and addresses stay in the golden table.

They may appear only in ``tables/customers.parquet`` and ``warehouse.duckdb`` of a run
folder; never in another table, an executed notebook, the report, the manifest or the
run's console output. With ``drop_pii`` they appear nowhere at all.

The scanner looks for the simulator's own values (from the CRM and every channel export),
in the raw forms the exports carry (``+86 138 0013 8000``, ``138-0013-8000``) and in the
normalised forms the pipeline makes (``13800138000``, lower-case e-mail):

* every file is read as text (Parquet and DuckDB tables cell by cell, PNG images skipped);
  e-mail-like and phone-like tokens are normalised and looked up;
* table cells are also compared exactly with every name and address; in text, runs of
  Chinese characters are compared with the Chinese names and addresses.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from _builders import ROOT, build_dataset
from channelops.ingest import pii as personal
from channelops.ingest.dataset import load_dataset, read_export
from channelops.stages import integration as integ

#: the only places personal data may be
ALLOWED = {"tables/customers.parquet", "tables/buyers.parquet", "warehouse.duckdb"}
EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
PHONE = re.compile(r"\+?\d(?:[ \-]?\d){6,}")
CJK = re.compile(r"[\u4e00-\u9fff][\u4e00-\u9fff0-9]+")
IMAGE = re.compile(r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=\s\\n]+|\"image/png\": \"[^\"]*\"")


@dataclass
class Pii:
    """The personal values of a dataset, raw and normalised."""

    emails: set[str]  # normalised (lower case)
    phones: set[str]  # normalised (digits, no 86 prefix)
    names: set[str]
    addresses: set[str]
    raw: set[str]  # e-mails and phones as the files write them

    def exact(self) -> set[str]:
        return self.names | self.addresses | self.raw | self.emails | self.phones


def dataset_pii(path: Path) -> Pii:
    """Collect the personal values of the CRM and of every channel export."""
    ds = load_dataset(path)
    frames = [read_export(ds, ch.id).lines for ch in ds.channels]
    crm = ds.table("customers")
    if crm is not None:
        frames.append(
            crm.rename(
                columns={
                    "name": "buyer_name",
                    "email": "buyer_email",
                    "phone": "buyer_phone",
                    "address": "ship_address",
                }
            )
        )

    def values(col: str) -> pd.Series:
        parts = [f[col].dropna().astype(str) for f in frames if col in f.columns]
        s = pd.concat(parts, ignore_index=True).str.strip() if parts else pd.Series([], dtype=str)
        return s[s.str.len() > 0].drop_duplicates()

    emails, phones = values("buyer_email"), values("buyer_phone")
    return Pii(
        emails=set(personal.normalise_email(emails).dropna()),
        phones=set(personal.normalise_phone(phones).dropna()),
        names=set(values("buyer_name")),
        addresses=set(values("ship_address")),
        raw=set(emails) | set(phones),
    )


def find_in_text(text: str, pii: Pii) -> set[str]:
    """Personal values in free text (notebooks, HTML, JSON, logs)."""
    found: set[str] = set()
    for token in EMAIL.findall(text):
        if token.lower() in pii.emails:
            found.add(token)
    tokens = PHONE.findall(text)
    if tokens:
        norm = personal.normalise_phone(pd.Series(tokens, dtype="string"))
        found |= {t for t, n in zip(tokens, norm, strict=True) if pd.notna(n) and n in pii.phones}
    for token in CJK.findall(text):
        if token in pii.names or token in pii.addresses:
            found.add(token)
    return found


def find_in_frame(df: pd.DataFrame, pii: Pii) -> set[str]:
    """Personal values in a table: exact cells, and e-mails/phones inside text cells."""
    exact = pii.exact()
    found: set[str] = set()
    for col in df.columns:
        s = df[col]
        if not (s.dtype == object or isinstance(s.dtype, pd.StringDtype)):
            if pd.api.types.is_integer_dtype(s.dtype):  # a phone stored as a number
                found |= set(s.dropna().astype(str)) & pii.phones
            continue
        text = s.dropna().astype(str).drop_duplicates()
        found |= set(text[text.isin(exact)])
        found |= find_in_text("\n".join(text), pii)
    if not isinstance(df.index, pd.RangeIndex):
        found |= find_in_frame(df.index.to_frame(index=False), pii)
    return found


def scan_run(folder: Path, pii: Pii) -> dict[str, set[str]]:
    """Personal values found in each file of a run folder (relative path -> values)."""
    hits: dict[str, set[str]] = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.suffix == ".png":
            continue
        rel = path.relative_to(folder).as_posix()
        if path.suffix == ".parquet":
            found = find_in_frame(pd.read_parquet(path), pii)
        elif path.suffix == ".duckdb":
            import duckdb

            con = duckdb.connect(str(path), read_only=True)
            try:
                names = [r[0] for r in con.execute("SHOW TABLES").fetchall()]
                found = set().union(
                    *(find_in_frame(con.execute(f'SELECT * FROM "{n}"').df(), pii) for n in names)
                )
            finally:
                con.close()
        else:
            text = IMAGE.sub("", path.read_bytes().decode("utf-8", errors="replace"))
            found = find_in_text(text, pii)
        if found:
            hits[rel] = found
    return hits


def _report(hits: dict[str, set[str]]) -> str:
    return "; ".join(f"{f}: {sorted(v)[:5]} ({len(v)} values)" for f, v in hits.items())


@pytest.fixture(scope="module")
def pii(tiny_dataset) -> Pii:
    return dataset_pii(tiny_dataset)


def test_scanner_finds_every_form_it_is_meant_to_find(tmp_path, pii):
    """The scanner is itself tested: values planted in each kind of file are found."""
    email = sorted(pii.emails)[0]
    phone_raw = next(p for p in sorted(pii.raw) if " " in p or "-" in p)
    phone_norm = personal.normalise_phone(pd.Series([phone_raw])).iloc[0]
    name = next(n for n in sorted(pii.names) if CJK.fullmatch(n))
    address = sorted(pii.addresses)[0]
    (tmp_path / "tables").mkdir()
    pd.DataFrame({"x": ["ok", name], "y": [address, "ok"]}).to_parquet(
        tmp_path / "tables" / "t.parquet"
    )
    pd.DataFrame({"p": [int(phone_norm)]}).to_parquet(tmp_path / "tables" / "n.parquet")
    nb = {"cells": [{"outputs": [{"text": f"contact: {email.upper()} or tel:{phone_raw}."}]}]}
    (tmp_path / "nb.ipynb").write_text(json.dumps(nb))
    (tmp_path / "log.txt").write_text(f"linked {phone_norm} and {name}\n")
    (tmp_path / "clean.txt").write_text("order 2100000000000000 revenue 13,800,138.00 j***@qq.com")
    hits = scan_run(tmp_path, pii)
    assert hits["tables/t.parquet"] == {name, address}
    assert hits["tables/n.parquet"] == {phone_norm}
    assert hits["nb.ipynb"] == {email.upper(), phone_raw}
    assert hits["log.txt"] == {phone_norm, name}
    assert "clean.txt" not in hits


def test_personal_data_only_in_the_golden_table_and_the_warehouse(tiny_run, pii):
    hits = scan_run(tiny_run, pii)
    assert "tables/customers.parquet" in hits, "the golden table keeps PII by default"
    leaks = {f: v for f, v in hits.items() if f not in ALLOWED}
    assert not leaks, f"personal data outside {sorted(ALLOWED)}: {_report(leaks)}"


def test_drop_pii_leaves_no_personal_data_anywhere(tiny_dataset, tiny_run, pii, tmp_path):
    """Stages 00 and 03 with drop_pii=true into a fresh folder: nothing in files or console
    output (the intake's buyers table is removed when the run ends)."""
    out = tmp_path / "nopii"
    args = ["run", "--params", str(ROOT / "parameters" / "ci.yaml"), "--dataset",
            str(tiny_dataset), "--only", "00,03", "--output", str(out), "-p", "drop_pii=true",
            "--no-progress"]  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-m", "channelops.run.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    customers = pd.read_parquet(out / "tables" / "customers.parquet")
    assert not set(personal.PII_COLUMNS) & set(customers.columns)
    # the same customers as with PII: only the personal columns went
    full = pd.read_parquet(tiny_run / "tables" / "customers.parquet")
    pd.testing.assert_frame_equal(customers, integ.drop_pii(full))
    hits = scan_run(out, pii)
    found_in_log = find_in_text(proc.stdout + proc.stderr, pii)
    if found_in_log:
        hits["console output"] = found_in_log
    assert not hits, f"personal data with drop_pii: {_report(hits)}"


def test_masks_keep_only_a_hint():
    assert personal.mask_email(pd.Series(["Jane.Doe@Example.com", None, "no-at"])).tolist() == [
        "J***@Example.com",
        pd.NA,
        "n***",
    ]
    assert personal.mask_phone(pd.Series(["+86 138-0013-8000", "12"])).tolist() == [
        "*********00",
        "***",
    ]
    assert personal.mask_text(pd.Series(["王小明", " 12 Main St"])).tolist() == ["王***", "1***"]


def test_borderline_matches_show_ids_scores_and_masked_values():
    pairs = pd.DataFrame(
        {
            "node_l": ["b:tmall:tb1", "b:jd:jd2"],
            "node_r": ["c:C001", "c:C002"],
            "match_probability": [0.91, 0.85],
            "match_weight": [3.3, 2.5],
            "name_norm_l": ["王小明", "李雷"],
            "name_norm_r": ["王小明", "李蕾"],
            "phone_norm_l": ["13800138000", None],
            "phone_norm_r": ["13800138000", "13900139000"],
            "email_norm_l": ["xm@qq.com", None],
            "email_norm_r": ["wxm@qq.com", None],
            "city_norm_l": ["hangzhou", "wuhan"],
            "city_norm_r": ["hangzhou", "wuhan"],
        }
    )
    out = integ.borderline_matches(pairs, threshold=0.9, n=5, width=0.1)
    assert out["node_l"].tolist() == ["b:tmall:tb1", "b:jd:jd2"]
    assert out["same_name"].tolist() == [True, False]
    assert out["same_phone"].iloc[0] and pd.isna(out["same_phone"].iloc[1]), "unknown if missing"
    assert out["name_norm_r"].tolist() == ["王***", "李***"]
    assert out["phone_norm_r"].tolist() == ["*********00", "*********00"]
    assert out["email_norm_l"].iloc[0] == "x***@qq.com"
    assert out["city_norm_l"].tolist() == ["hangzhou", "wuhan"], "cities are not masked"
    text = out.to_string()
    for value in ("王小明", "13800138000", "xm@qq.com", "李蕾"):
        assert value not in text
    unmasked = integ.borderline_matches(pairs, threshold=0.9, n=5, width=0.1, mask=False)
    assert unmasked["name_norm_r"].tolist() == ["王小明", "李蕾"]


def test_quarantine_withholds_raw_lines_and_masks_personal_columns(tmp_path):
    csv = (
        "order_id,order_ts,buyer_ref,channel_sku,quantity,unit_price,buyer_email,buyer_phone\n"
        "o1,2024-03-01 08:00:00,c1,SKU1,2,10.50,jane@qq.com,13800138000\n"
        "o2,2024-03-01 09:00:00,c2,SKU1,1,10.50,li@163.com,13900139000,EXTRA\n"
        "o3,2024-03-01 10:00:00,c3,SKU1,x,10.50,wu@qq.com,13700137000\n"
    )
    mapping = {
        "columns": {},
        "timestamp": {"format": "%Y-%m-%d %H:%M:%S", "timezone": "Asia/Shanghai"},
    }
    ds = load_dataset(
        build_dataset(tmp_path / "ds", exports={"web": csv}, mappings={"web": mapping})
    )
    q = read_export(ds, "web").quarantine
    assert "li@163.com" in q["value"].str.cat(), "the loader keeps the raw ragged line"
    red = personal.redact_quarantine(q, ds)
    assert red["reason"].tolist() == q["reason"].tolist() == ["ragged_row", "bad_number"]
    assert red["row"].tolist() == [3, 4] and red["value"].iloc[1] == "x"
    assert "withheld" in red["value"].iloc[0] and "li@163.com" not in red.to_string()
    # a personal column's value in the quarantine is masked
    fake = q.iloc[[1]].assign(column="buyer_email", value="wu@qq.com")
    assert personal.redact_quarantine(fake, ds)["value"].tolist() == ["w***@qq.com"]
