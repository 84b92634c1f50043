"""Reading experiment results: the metric's channel, the forest-plot rows, the calibration
group size and verdict."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from channelops.stages import evaluation as ev


def test_metric_channel_falls_back_to_every_channel_with_a_note():
    ids = pd.Series(["own_store", "jd", "jd"])
    assert ev.metric_channel("own_store", ids) == ("own_store", None)
    channel, note = ev.metric_channel("tmall", ids)
    assert channel is None and "channel tmall has no orders here" in note
    assert ev.metric_channel("", ids) == (None, None)  # empty: every channel, as asked
    with pytest.raises(TypeError, match="string"):
        ev.metric_channel(None, ids)


def test_empty_experiment_results_has_the_two_columns_of_a_run_without_experiments():
    empty = ev.empty_experiment_results()
    assert len(empty) == 0 and empty.columns.tolist() == ["name", "verdict"]


def test_forest_rows_by_hand():
    results = pd.DataFrame(
        {
            "name": ["e1", "e2"],
            "diff": [2.0, -1.0],
            "welch_lo": [0.5, -3.0],
            "welch_hi": [3.5, 1.0],
            "boot_lo": [0.6, -2.9],
            "boot_hi": [3.4, 0.9],
            "cuped_diff": [1.8, np.nan],
            "cuped_lo": [1.0, np.nan],
            "cuped_hi": [2.6, np.nan],
        }
    )
    f = ev.forest_rows(results)
    assert f.columns.tolist() == ["name", "method", "estimate", "lo", "hi"]
    assert list(f.itertuples(index=False, name=None)) == [
        ("e1", "Welch", 2.0, 0.5, 3.5),
        ("e1", "bootstrap", 2.0, 0.6, 3.4),
        ("e1", "CUPED", 1.8, 1.0, 2.6),
        ("e2", "Welch", -1.0, -3.0, 1.0),
        ("e2", "bootstrap", -1.0, -2.9, 0.9),  # no CUPED row without a covariate
    ]
    with pytest.raises(ValueError, match="boot_lo"):
        ev.forest_rows(results.drop(columns="boot_lo"))


def test_calibration_group_size_is_half_the_units_within_bounds():
    assert ev.calibration_group_size(1000) == 500
    assert ev.calibration_group_size(100) == 200  # 50, raised to the floor
    assert ev.calibration_group_size(10_000) == 2000  # 5,000, cut to the ceiling
    assert ev.calibration_group_size(None) == 1000  # no experiment: 1,000
    with pytest.raises(ValueError, match="-1"):
        ev.calibration_group_size(-1)


CALIB = pd.DataFrame(
    {
        "method": ["welch", "relative_delta", "cuped", "cuped_relative"],
        "coverage": [0.95, 0.92, 0.97, 0.96],
        "fpr": [0.05, 0.05, 0.03, 0.08],
    }
)


def test_calibrated_methods_by_hand():
    # relative_delta covers too little (92%), cuped_relative errs too often (8%); the band
    # ends (97%, 3%) count as inside
    assert ev.calibrated_methods(CALIB) == ["welch", "cuped"]
    # at a 90% level the bands are 88-92% and 8-12%
    assert ev.calibrated_methods(CALIB.assign(fpr=0.1), level=0.9) == ["relative_delta"]
    with pytest.raises(ValueError, match="fpr"):
        ev.calibrated_methods(CALIB.drop(columns="fpr"))


def test_calibration_text_follows_the_data():
    assert ev.calibration_text(CALIB) == (
        "At this sample size, within 93-97% coverage and 3-7% false positives: welch, cuped. "
        "The verdicts decide on the difference-in-means intervals; the relative lift is quoted "
        "for scale."
    )
    dishonest = CALIB.assign(coverage=0.8)
    assert "false positives: none." in ev.calibration_text(dishonest)
    with pytest.raises(ValueError, match="coverage"):
        ev.calibration_text(CALIB.drop(columns="coverage"))
