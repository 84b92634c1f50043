"""Hostile inputs, case 10: a Latin-1 export read as UTF-8, and a 50 MB field.

The advice for a Latin-1 file said GBK (which decodes it, as nonsense) and a 50 MB field
gave a CSV reader error with no line. The advice now names the encoding that decodes the
file as plausible text, or says it cannot tell; the huge field is reported with its file,
line and column (its content never quoted).
"""

from __future__ import annotations

import os

import pytest

from _builders import WEB_CSV, WEB_MAPPING, build_dataset
from channelops.ingest.dataset import DatasetError, load_dataset, read_export

H = WEB_CSV.splitlines()[0]


def _error(tmp_path, content: bytes) -> DatasetError:
    root = build_dataset(tmp_path / "ds", exports={"web": content})
    with pytest.raises(DatasetError) as info:
        read_export(load_dataset(root), "web")
    return info.value


def _rows(names: list[str]) -> str:
    return "".join(f"o{i},2024-03-01 08:00:00,{n},SKU1,1,10.50,0,CNY,paid\n" for i, n in
                   enumerate(names))  # fmt: skip


WESTERN = ["Müller", "José", "Françoise", "Søren", "Ñúñez", "Zoë", "Größe"]


def test_latin1_export_is_advised_latin1_and_reads_cleanly_with_it(tmp_path):
    content = (H + "\n" + _rows(WESTERN)).encode("latin-1")
    err = _error(tmp_path, content)
    assert err.found.endswith("; the file decodes as Latin-1"), err.found
    assert (
        err.fix == "declare the file's encoding in mappings/web.yaml: `read: {encoding: latin-1}`"
    )
    # following the advice reads the names as written
    root = build_dataset(tmp_path / "ok", exports={"web": content},
                         mappings={"web": {**WEB_MAPPING, "read": {"encoding": "latin-1"}}})  # fmt: skip
    assert read_export(load_dataset(root), "web").lines["buyer_ref"].tolist() == WESTERN


def test_windows_western_export_is_advised_cp1252(tmp_path):
    names = ["“Café” Ltd", "Ørsted – A/S", "Müller €", "Zoë’s"]
    err = _error(tmp_path, (H + "\n" + _rows(names)).encode("cp1252"))
    assert err.fix.endswith("`read: {encoding: cp1252}`"), err.fix


@pytest.mark.parametrize(
    ("encoding", "names"),
    [("gbk", ["张三", "李四", "王小明", "北京市朝阳区"]),
     ("big5", ["張三", "李四", "陳大文", "臺北市信義區"]),
     ("shift_jis", ["山田太郎", "すずき", "東京都港区"])],
)  # fmt: skip
def test_east_asian_exports_are_advised_their_encoding(tmp_path, encoding, names):
    err = _error(tmp_path, (H + "\n" + _rows(names * 5)).encode(encoding))
    assert err.fix.endswith(f"`read: {{encoding: {encoding}}}`"), (err.found, err.fix)


def test_bytes_no_encoding_explains_say_so(tmp_path):
    noise = bytes(range(0x80, 0x100)) * 4
    err = _error(tmp_path, (H + "\n").encode() + b"o1,2024-03-01 08:00:00," + noise + b"\n")
    assert "its encoding cannot be told from its bytes" in err.found
    assert "`read: {encoding: <name>}`" in err.fix


def test_a_50_mb_field_names_file_line_and_column(tmp_path):
    big = "x" * (50 << 20)
    csv = WEB_CSV + f"o3,2024-03-02 23:30:00,c2,SKU1,1,10.50,,CNY,{big}\n" + _rows(["c9"])
    err = _error(tmp_path, csv.encode())
    assert str(err).splitlines()[0] == "orders/web.csv, line 5, column 'status': a field of 50.0 MB"
    assert err.found == "52,428,800 characters in one field"
    assert "xxxx" not in str(err)
    assert os.path.getsize(tmp_path / "ds" / "orders" / "web.csv") > 50 << 20
