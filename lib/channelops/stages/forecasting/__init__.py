"""Stage 04, forecasting: demand per SKU x channel with rolling-origin backtests, and the inventory policy it implies.

* :mod:`.demand`: what counts as demand (the intake's ``demand_units``) and what does not;
* :mod:`.models`: series, features, the forecasting models, backtests, metrics, intervals;
* :mod:`.gbm`: the global LightGBM model over all series;
* :mod:`.holidays`: the dataset's optional holidays file;
* :mod:`.inputs`: what the notebook reads from the dataset besides the order lines;
* :mod:`.coherence`: SKU totals forecast bottom-up, directly or reconciled, compared;
* :mod:`.entry`: the backtest and the forecast the notebook calls, run here or on Spark;
* :mod:`.inventory`: the stock policy the forecasts imply, simulated;
* :mod:`.comparison`: the same stock rule with the chosen and a baseline forecast;
* :mod:`.findings`: the sentences of "What we found", computed from the numbers;
* :mod:`.plots`: a series' forecast and its backtest, the stock a fill rate costs;
* :mod:`.spark`: the Spark variant, imported only when the ``engine`` parameter asks for it.
"""

from .coherence import coherence_finding, level_accuracy, level_backtest
from .comparison import STOCK_COMPARISON_COLUMNS, stock_comparison, stock_tradeoff_finding
from .demand import DEMAND_LINE_COLUMNS, demand_accounting, demand_sentence, demand_tables
from .entry import backtest, forecast_future
from .findings import (
    accuracy_finding,
    forecast_findings,
    interval_finding,
    selection_finding,
    stock_findings,
)
from .holidays import HOLIDAYS_FILE, dataset_holidays, holiday_dates, read_holidays
from .inputs import StageInputs, channel_warehouse_shares, shipment_counts, stage_inputs
from .models import (
    BACKTEST_COLUMNS,
    DEFAULT_MODELS,
    GLOBAL_MODELS,
    add_intervals,
    aggregate_forecasts,
    backtest_intervals,
    choose_models,
    chosen_backtest,
    conformal_quantiles,
    daily_demand,
    demand_features,
    forecast_level_totals,
    forecast_matrix,
    forecast_metrics,
    future_points,
    global_model,
    has_categories,
    interval_coverage,
    interval_score,
    model_names,
    model_summary,
    scored_metrics,
    seasonal_naive,
    series_matrix,
    series_metrics,
    series_per_chosen_model,
    velocity_class,
    velocity_coverage,
    velocity_edges,
    window_origins,
)
from .plots import (
    plot_backtest_series,
    plot_calibration,
    plot_forecast,
    plot_level_accuracy,
    plot_service_level_vs_stock,
)

__all__ = [
    "StageInputs",
    "channel_warehouse_shares",
    "stage_inputs",
    "shipment_counts",
    "coherence_finding",
    "level_accuracy",
    "level_backtest",
    "plot_level_accuracy",
    "GLOBAL_MODELS",
    "HOLIDAYS_FILE",
    "dataset_holidays",
    "holiday_dates",
    "read_holidays",
    "STOCK_COMPARISON_COLUMNS",
    "stock_comparison",
    "stock_tradeoff_finding",
    "accuracy_finding",
    "forecast_findings",
    "interval_finding",
    "selection_finding",
    "stock_findings",
    "BACKTEST_COLUMNS",
    "DEFAULT_MODELS",
    "DEMAND_LINE_COLUMNS",
    "add_intervals",
    "aggregate_forecasts",
    "backtest",
    "backtest_intervals",
    "choose_models",
    "chosen_backtest",
    "conformal_quantiles",
    "daily_demand",
    "demand_accounting",
    "demand_features",
    "demand_sentence",
    "demand_tables",
    "forecast_future",
    "forecast_level_totals",
    "forecast_matrix",
    "forecast_metrics",
    "future_points",
    "global_model",
    "has_categories",
    "interval_coverage",
    "model_names",
    "model_summary",
    "plot_backtest_series",
    "plot_calibration",
    "plot_forecast",
    "plot_service_level_vs_stock",
    "seasonal_naive",
    "series_matrix",
    "scored_metrics",
    "series_metrics",
    "series_per_chosen_model",
    "interval_score",
    "velocity_class",
    "velocity_coverage",
    "velocity_edges",
    "window_origins",
]
