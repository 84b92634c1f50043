"""Spark implementations of the heavy steps, chosen by the ``engine`` parameter.

Each function here computes what its local counterpart computes, on a SparkSession from
:func:`channelops.engine.spark_session`, and returns pandas frames in the local shape:

* :mod:`channelops.spark.segmentation` — 01's customer orders and per-customer features;
* :mod:`channelops.spark.identity` — 03's Fellegi-Sunter scoring with splink's Spark backend;
* :mod:`channelops.spark.forecasting` — 04's per-series backtest and forecasts, series
  spread over Spark tasks with ``groupBy().applyInPandas``.

Importing this package imports pyspark; the local path never does.
"""
