"""Identity resolution's candidate pairs from the open records outwards, and the address
word sets, against their definitions on hand-made records."""

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from channelops.stages.integration import model

KEYS = sorted({k for keys in model.BLOCKING_KEYS for k in keys} | {"forename", "surname"})


def _records() -> pd.DataFrame:
    """a (open) shares a phone with b (closed) and, names swapped, matches d (closed); c
    (open) shares a postcode and forename with e (open) and a null phone with f; b and f
    (both closed) share an e-mail: no pair, neither is open."""
    rows = {
        "unique_id": ["a", "b", "c", "d", "e", "f"],
        "is_open": [True, False, True, False, True, False],
        "phone_norm": ["111", "111", None, None, "999", None],
        "email_norm": [None, "x@y", None, None, None, "x@y"],
        "forename": ["li", "wei", "ann", "wang", "ann", "bo"],
        "surname": ["wang", "zhou", "lee", "li", "kim", "wu"],
        "postcode": ["10", "20", "30", "40", "30", "50"],
    }
    frame = pd.DataFrame(rows)
    for k in KEYS:
        if k not in frame:
            # distinct values: no other rule pairs anything
            frame[k] = [f"{k}{i}" for i in range(len(frame))]
    return frame


def _open_pairs(frame: pd.DataFrame) -> pd.DataFrame:
    con = duckdb.connect()
    con.register("t", frame)
    sql = f"{model.open_pairs_sql('t')} ORDER BY join_key_l, join_key_r"
    return con.sql(sql).df()


def _splink_pairs(frame: pd.DataFrame) -> pd.DataFrame:
    """Splink's blocking by its definition: each pair l < r once, under the first of
    ``blocking_rules(open_only=True)`` that holds (a null key never agrees)."""
    con = duckdb.connect()
    con.register("t", frame)
    rules = model.blocking_rules(open_only=True)
    first = " ".join(f"WHEN coalesce(({r}), false) THEN '{i}'" for i, r in enumerate(rules))
    sql = (
        f"SELECT CASE {first} END AS match_key, l.unique_id AS join_key_l, "
        "r.unique_id AS join_key_r FROM t AS l JOIN t AS r ON l.unique_id < r.unique_id "
        "WHERE match_key IS NOT NULL ORDER BY join_key_l, join_key_r"
    )
    return con.sql(sql).df()


def test_open_pairs_are_the_pairs_splink_blocks():
    got = _open_pairs(_records())
    swapped = str(len(model.BLOCKING_KEYS))  # the swapped-names rule comes last
    phone = str(model.BLOCKING_KEYS.index(("phone_norm",)))
    postcode_forename = str(model.BLOCKING_KEYS.index(("postcode", "forename")))
    expected = pd.DataFrame(
        {
            "match_key": [phone, swapped, postcode_forename],
            "join_key_l": ["a", "a", "c"],
            "join_key_r": ["b", "d", "e"],
        }
    )
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    pd.testing.assert_frame_equal(got, _splink_pairs(_records()), check_dtype=False)


def test_open_pairs_keep_the_first_rule_and_each_pair_once():
    frame = _records()
    frame.loc[frame["unique_id"] == "b", "forename"] = "li"  # a-b: phone and forename rules
    frame.loc[frame["unique_id"] == "b", "postcode"] = "10"  # and postcode + forename
    frame["is_open"] = True  # every pair seen from both sides
    got = _open_pairs(frame)
    assert not got.duplicated(["join_key_l", "join_key_r"]).any()
    pd.testing.assert_frame_equal(got, _splink_pairs(frame), check_dtype=False)


def test_open_pairs_need_the_open_flag():
    with pytest.raises(duckdb.BinderException, match="is_open"):
        _open_pairs(_records().drop(columns="is_open"))


def test_address_word_sets_as_python_sorts_them():
    texts = [
        "b a b a zz zz aa",
        "über unter über",
        "x",
        "",
        None,
        "çà ça ÇA éé ée",
        "东城区 中山路",
    ]
    got = model._word_sets(pa.array(texts, pa.large_string())).to_pylist()
    expected = [
        sorted({w for w in t.split(" ") if len(w) > 1}) or None if t else None for t in texts
    ]
    assert got == expected
    assert got[:3] == [["aa", "zz"], ["unter", "über"], None]
