"""04's global LightGBM model and the holidays file, on series with a known answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from channelops.stages import forecasting as fc
from channelops.stages.forecasting.gbm import gbm_forecast, holiday_features
from channelops.stages.forecasting.models import _base_for_gbm, forecast_matrix

DAYS = 420
START = pd.Timestamp("2023-01-02")  # a Monday
LEVEL = np.linspace(2, 40, 40)


def _closed_on_holidays(seed: int = 1) -> tuple[np.ndarray, pd.DatetimeIndex, pd.DatetimeIndex]:
    """40 series, Poisson around levels 2..40 a day, no sales on the holidays: one day in
    ten at random and two of the forecast days (no weekday or yearly pattern gives them away)."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range(START, periods=DAYS + 28, freq="D")
    closed = rng.random(len(dates)) < 0.1
    closed[[DAYS + 3, DAYS + 17]] = True  # at least two in the forecast days
    hol = dates[closed]
    y = rng.poisson(LEVEL[:, None] * np.ones(len(dates))).astype(float)
    y[:, dates.isin(hol)] = 0.0
    return y, dates, pd.DatetimeIndex(hol)


def test_gbm_learns_closed_holidays_only_when_told():
    y, dates, hol = _closed_on_holidays()
    hist, future = y[:, :DAYS], dates[DAYS:]
    on_hol = future.isin(hol)
    assert on_hol.any() and (~on_hol).any()
    kw = {"dates": dates[:DAYS], "gbm_origins": 6, "seed": 3}
    told = forecast_matrix("gbm", hist, 28, holidays=hol, **kw)
    # a closed day: the truth is 0; other days: the level (Poisson mean)
    assert told[:, on_hol].mean() < 0.1 * LEVEL.mean()
    ratio = told[:, ~on_hol].mean(axis=1) / LEVEL
    assert abs(ratio.mean() - 1) < 0.12 and np.abs(ratio - 1).max() < 0.25
    assert (told >= 0).all()


def test_gbm_blind_to_holidays_and_same_seed_same_forecast():
    y, dates, hol = _closed_on_holidays(seed=2)
    on_hol = dates[DAYS:].isin(hol)
    kw = {"dates": dates[:DAYS], "gbm_origins": 6, "seed": 5}
    a = forecast_matrix("gbm", y[:, :DAYS], 28, **kw)
    b = forecast_matrix("gbm", y[:, :DAYS], 28, **kw)
    assert np.array_equal(a, b)
    # not told, it cannot know the closed days: they get about the level, less the closures
    assert a[:, on_hol].mean() > 0.7 * LEVEL.mean()


def test_gbm_without_enough_history_falls_back_to_the_level():
    y = np.full((3, 40), 2.0)
    f = forecast_matrix("gbm", y, 7, dates=pd.date_range(START, periods=40, freq="D"))
    assert np.allclose(f, 2.0)


def test_holiday_features_distance_by_hand():
    days = pd.date_range("2024-12-20", periods=10, freq="D")
    f = holiday_features(days, pd.DatetimeIndex(["2024-12-25", "2024-12-26"]))
    # 12-20: 5 days to Christmas, none before (capped at 15)
    assert f[0].tolist() == [0.0, 5.0, 15.0]
    assert f[5].tolist() == [1.0, 0.0, 0.0]  # 12-25
    assert f[7].tolist() == [0.0, 15.0, 1.0]  # 12-27: none after, one day since boxing day
    assert holiday_features(days, None)[:, 0].sum() == 0


def test_read_holidays_and_country(tmp_path):
    p = tmp_path / "holidays.csv"
    p.write_text("date,name,country\n2024-12-25,Christmas,\n2024-05-01,Labour day,cn\n")
    h = fc.read_holidays(p)
    assert h["country"].tolist() == ["", "CN"]
    assert list(fc.holiday_dates(h, "GB")) == [pd.Timestamp("2024-12-25")]
    assert len(fc.holiday_dates(h)) == 2
    assert list(fc.dataset_holidays(tmp_path, "CN")) == list(
        pd.to_datetime(["2024-05-01", "2024-12-25"])
    )
    assert fc.dataset_holidays(tmp_path / "nowhere") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("date,name\n2024-12-25,Christmas\n25/12/2024,Secret Santa Smith\n", "line 3, column date"),
        ("date,name\n2024-12-25, \n", "line 2, column name"),
        ("day,name\n2024-12-25,Christmas\n", "missing column(s) date"),
    ],
)
def test_read_holidays_bad_rows(tmp_path, text, message):
    p = tmp_path / "holidays.csv"
    p.write_text(text)
    with pytest.raises(ValueError, match=r"holidays\.csv") as err:
        fc.read_holidays(p)
    assert message in str(err.value)
    assert "Smith" not in str(err.value)


class _FakeDataset:
    """The three things stage_inputs asks of a dataset."""

    def __init__(self, root):
        self.root = root

    def table(self, name):
        return pd.DataFrame({"sku": ["A"], "unit_cost": [2.0]}) if name == "products" else None

    def has(self, name):
        return False


def test_stage_inputs_reads_holidays_and_rejects_bad_ones(tmp_path):
    got = fc.stage_inputs(_FakeDataset(tmp_path), "naive, gbm")
    assert got.models == ["naive", "gbm"] and got.holidays is None and got.shipment_counts is None
    assert got.unit_cost["A"] == 2.0
    (tmp_path / "holidays.csv").write_text("date,name\n2024-12-25,Christmas\n")
    assert list(fc.stage_inputs(_FakeDataset(tmp_path), "naive").holidays) == [
        pd.Timestamp("2024-12-25")
    ]
    (tmp_path / "holidays.csv").write_text("date,name\n2024-12-32,Christmas\n")
    with pytest.raises(ValueError, match="holidays.csv, line 2, column date"):
        fc.stage_inputs(_FakeDataset(tmp_path), "naive")
    with pytest.raises(ValueError, match="unknown model"):
        fc.stage_inputs(_FakeDataset(tmp_path), "prophet")


def test_gbm_bags_average_fits_on_their_own_subsamples():
    y, dates, _ = _closed_on_holidays(seed=4)
    hist, days = y[:, :160], dates[:160]
    base = _base_for_gbm(7, 28)
    kw = {"n_origins": 4, "origin_step": 7}

    def fit(seed, bags, rows):
        return gbm_forecast(hist, 14, days, base, seed=seed, bags=bags, bag_rows=rows, **kw)

    # 40 series x 14 days x 4 origins = 2,240 training rows
    # no more than bags x bag_rows: one fit on all of them, whatever bags says
    assert np.array_equal(fit(5, 3, 1_000), fit(5, 1, 2_240))
    # more: three fits on 500-row subsamples (seeds 5, 6, 7); they differ, and the forecast
    # is their mean
    singles = [fit(s, 1, 500) for s in (5, 6, 7)]
    assert not np.array_equal(singles[0], singles[1])
    assert np.allclose(fit(5, 3, 500), np.mean(singles, axis=0))
    with pytest.raises(ValueError, match="bags and bag_rows must be at least 1"):
        fit(5, 0, 300)
