"""The optional ``holidays.csv`` of a dataset: days the business's demand may not follow the
usual week (public holidays, store closures, sales events), used by 04's ``gbm`` as features.

File format (docs/data-contract.md, "Holidays and events"): columns ``date`` (YYYY-MM-DD),
``name`` (free text), optional ``country`` (ISO code; blank = every country). Other columns
are ignored. A bad row stops the run with a message naming the file, the line and the
column; a cell's text is never quoted back.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["HOLIDAYS_FILE", "read_holidays", "holiday_dates", "dataset_holidays"]

HOLIDAYS_FILE = "holidays.csv"


def read_holidays(path: Path) -> pd.DataFrame:
    """Read and check a holidays file.

    Args:
        path: the CSV file (UTF-8, header row).

    Returns:
        date (datetime64, midnight), name (str), country (str, "" when blank), one row per
        line of the file, in file order.

    Raises:
        ValueError: a required column is missing, or a row's date is not a YYYY-MM-DD day
            or its name is blank (the message names the file, line and column).
    """
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    missing = [c for c in ("date", "name") if c not in raw.columns]
    if missing:
        raise ValueError(
            f"{path.name}: missing column(s) {', '.join(missing)}; expected date, name and "
            "optionally country"
        )
    text = raw["date"].str.strip()
    dates = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    for col, bad in (("date", dates.isna()), ("name", raw["name"].str.strip() == "")):
        if bad.any():
            line = int(bad.to_numpy().nonzero()[0][0]) + 2  # header is line 1
            want = "a day as YYYY-MM-DD" if col == "date" else "a holiday name"
            raise ValueError(
                f"{path.name}, line {line}, column {col}: expected {want} "
                f"({int(bad.sum())} such row(s) in the file)"
            )
    country = raw["country"].str.strip().str.upper() if "country" in raw else ""
    return pd.DataFrame({"date": dates, "name": raw["name"].str.strip(), "country": country})


def holiday_dates(holidays: pd.DataFrame, country: str | None = None) -> pd.DatetimeIndex:
    """The distinct holiday days of ``holidays`` (:func:`read_holidays`), sorted.

    Args:
        country: keep rows of this country and rows with no country; None: every row.
    """
    h = holidays
    if country:
        h = h[(h["country"] == "") | (h["country"] == country.strip().upper())]
    return pd.DatetimeIndex(sorted(pd.unique(h["date"])), name="date")


def dataset_holidays(folder: Path, country: str | None = None) -> pd.DatetimeIndex | None:
    """The holiday days of the dataset in ``folder`` (None when it has no holidays file).

    Raises:
        ValueError: as :func:`read_holidays`.
    """
    path = Path(folder) / HOLIDAYS_FILE
    if not path.is_file():
        return None
    return holiday_dates(read_holidays(path), country)
