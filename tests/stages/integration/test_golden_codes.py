"""Golden customers from one sort on integer codes against DuckDB's ordered aggregates."""

import numpy as np
import pandas as pd
import pytest

from channelops.stages import integration as integ
from channelops.stages.integration import merge


def _buyers(n: int = 60, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Buyers with tied line counts and order times, missing values, a missing timestamp
    and customers spanning channels; the links as ``link_buyers`` returns them."""
    rng = np.random.default_rng(seed)
    days = pd.to_datetime("2024-01-01", utc=True) + pd.to_timedelta(rng.integers(0, 3, n), "D")
    first = pd.Series(days).where(np.arange(n) != 5)  # one NaT
    text = {f: pd.Series(rng.choice(["a", "b", None, "ä"], n), dtype="string[pyarrow]")
            for f in ("name", "email", "phone", "address", "postcode", "city")}  # fmt: skip
    buyers = pd.DataFrame(
        {
            "channel_id": pd.Series(rng.choice(["web", "jd", "tmall"], n), dtype="string[pyarrow]"),
            "buyer_ref": pd.Series([f"b{i}" for i in range(n)], dtype="string[pyarrow]"),
            "n_lines": rng.integers(1, 3, n),
            "first_order_ts": first,
            "last_order_ts": pd.Series(days),
            **text,
        }
    )
    links = buyers[["channel_id", "buyer_ref"]].assign(
        customer_id=[f"X{i % 9}" if i % 4 else f"C{i % 3}" for i in range(n)]
    )
    return buyers, links


def _duckdb_only(monkeypatch) -> None:
    monkeypatch.setattr(merge, "_golden_on_codes", lambda *a: None)


def test_golden_customers_on_codes_equal_duckdb(monkeypatch):
    buyers, links = _buyers()
    crm = pd.DataFrame({"customer_id": ["C1"], "name": ["CRM name"]})
    fast = integ.golden_customers(buyers, links, crm)
    assert fast["n_accounts"].sum() == len(buyers) and fast["customer_id"].is_monotonic_increasing
    _duckdb_only(monkeypatch)
    pd.testing.assert_frame_equal(fast, integ.golden_customers(buyers, links, crm))


def test_golden_customers_on_codes_only_for_the_buyers_own_links():
    buyers, links = _buyers(12)
    b = merge.pa.table(
        {
            **{c: merge.pa.array(buyers[c]) for c in ("channel_id", "buyer_ref", "n_lines")},
            **{c: merge.pa.array(np.arange(12)) for c in ("first_ts", "last_ts")},
        }
    )
    ln = merge.pa.table({c: merge.pa.array(links[c].astype("string")) for c in links})
    assert merge._golden_on_codes(b, ln, []) is not None  # the buyers' own links, in order
    shuffled = links.iloc[::-1]
    ln = merge.pa.table({c: merge.pa.array(shuffled[c].astype("string")) for c in links})
    assert merge._golden_on_codes(b, ln, []) is None  # another order: DuckDB's join runs


def test_golden_customers_reordered_links_give_the_same_table(monkeypatch):
    buyers, links = _buyers(30, seed=3)
    ordered = integ.golden_customers(buyers, links, None)
    _duckdb_only(monkeypatch)
    pd.testing.assert_frame_equal(ordered, integ.golden_customers(buyers, links.iloc[::-1], None))


def test_golden_customers_without_links_fail_clearly():
    buyers, links = _buyers(5)
    with pytest.raises(KeyError, match="customer_id"):
        integ.golden_customers(buyers, links.drop(columns="customer_id"), None)
