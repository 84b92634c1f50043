"""Hostile inputs, case 3: inputs confined to the dataset folder.

``orders: /etc/passwd`` used to be read (its first line printed in the error) and
``orders: ../../outside.csv`` ran. Exports, mappings and optional tables resolving outside
the dataset folder (``..``, absolute paths, symlinks) are refused, unless dataset.yaml says
``allow_outside_paths: true``; CSV files in orders/ that dataset.yaml does not list are
warnings.
"""

from __future__ import annotations

import pytest
import yaml

from _builders import WEB_CSV, WEB_MAPPING, build_dataset, write
from channelops.ingest.dataset import DatasetError, DatasetWarning, load_dataset
from channelops.ingest.intake import ingest_lines


def _yaml(orders: str, mapping: str = "mappings/web.yaml", extra: str = "") -> str:
    return (
        "name: t\nbase_currency: CNY\ntimezone: Asia/Shanghai\n"
        + extra
        + f"channels:\n  - id: web\n    orders: {orders}\n    mapping: {mapping}\n"
    )


def _err(root) -> str:
    with pytest.raises(DatasetError) as info:
        load_dataset(root)
    return str(info.value)


def test_absolute_path_refused_without_reading_it(tmp_path):
    msg = _err(build_dataset(tmp_path / "ds", dataset_yaml=_yaml("/etc/passwd")))
    assert msg.splitlines()[0] == (
        "dataset.yaml, line 6, column 'orders': orders of channel "
        "'web' is outside the dataset folder"
    )
    assert "root:" not in msg  # nothing of the file is read or shown


def test_parent_path_refused(tmp_path):
    write(tmp_path / "outside.csv", WEB_CSV)
    root = build_dataset(tmp_path / "a" / "ds", dataset_yaml=_yaml("../../outside.csv"))
    assert _err(root).startswith("dataset.yaml, line 6, column 'orders': ")


def test_mapping_outside_refused(tmp_path):
    write(tmp_path / "m.yaml", yaml.safe_dump(WEB_MAPPING))
    root = build_dataset(tmp_path / "ds", dataset_yaml=_yaml("orders/web.csv", "../m.yaml"))
    assert _err(root).startswith("dataset.yaml, line 7, column 'mapping': mapping of channel")


def test_symlinks_refused(tmp_path):
    out = write(tmp_path / "secret.csv", WEB_CSV)
    root = build_dataset(tmp_path / "ds", dataset_yaml=_yaml("orders/link.csv"))
    (root / "orders" / "link.csv").symlink_to(out)
    assert _err(root).startswith("dataset.yaml, line 6, column 'orders': ")
    root = build_dataset(tmp_path / "ds2")
    (root / "customers.csv").symlink_to(out)
    assert _err(root).startswith("customers.csv: a link to a file outside the dataset folder")


def test_allow_outside_paths(tmp_path):
    write(tmp_path / "outside.csv", WEB_CSV)
    root = build_dataset(
        tmp_path / "a" / "ds",
        dataset_yaml=_yaml("../../outside.csv", extra="allow_outside_paths: true\n"),
    )
    with pytest.warns(DatasetWarning, match="orders/web.csv: not listed"):
        ds = load_dataset(root)  # build_dataset also wrote orders/web.csv, unread here
    assert ds.allow_outside_paths and len(ingest_lines(ds).lines) == 3
    bad = build_dataset(
        tmp_path / "b",
        dataset_yaml=_yaml("orders/web.csv", extra="allow_outside_paths: yes please\n"),
    )
    assert _err(bad).startswith("dataset.yaml, line 4, column 'allow_outside_paths': ")


def test_unlisted_export_is_a_warning(tmp_path):
    root = build_dataset(tmp_path / "ds")
    write(root / "orders" / "old_web.csv", WEB_CSV)
    with pytest.warns(DatasetWarning, match="orders/old_web.csv: not listed"):
        ds = load_dataset(root)
    assert ds.warnings == ["orders/old_web.csv: not listed in dataset.yaml; its rows are not read"]
    assert ingest_lines(ds).warnings[0] == ds.warnings[0]
