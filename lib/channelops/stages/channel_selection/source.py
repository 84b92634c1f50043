"""What 02 reads, column by column: the few columns of the order lines and of shipments.csv
each step needs, so no line-level copy of a wide table sits in memory on large data.

* :data:`WEEKLY_REVENUE_COLUMNS` are the columns of ``intake_lines`` the weekly revenue per
  channel needs (:func:`channelops.revenue.weekly_channel_revenue`), and
  :data:`MARGIN_LINE_COLUMNS` those the channel margins need
  (:func:`channelops.margins.channel_margin_rates`); the notebook reads one set, computes,
  and lets it go before reading the next.
* :data:`SHIPMENT_COST_COLUMNS` are the columns of ``shipments.csv`` the margins read,
  through ``Dataset.table(name, columns=...)`` (those columns parsed, typed and checked,
  not the three timestamps, and nothing cached).

The figures are the same as from the whole tables: the same rows in the same order reach the
same functions.
"""

from __future__ import annotations

__all__ = ["MARGIN_LINE_COLUMNS", "SHIPMENT_COST_COLUMNS", "WEEKLY_REVENUE_COLUMNS"]

#: Columns of ``intake_lines`` that :func:`channelops.revenue.weekly_channel_revenue` reads
#: (and the last order time, for the audience's age reference year).
WEEKLY_REVENUE_COLUMNS = ["channel_id", "order_ts_local", "revenue_base", "status", "quantity"]
#: Columns of ``intake_lines`` that :func:`channelops.margins.channel_margin_rates` reads.
MARGIN_LINE_COLUMNS = [
    "channel_id",
    "order_id",
    "sku",
    "quantity",
    "is_merchandise",
    "net_revenue_base",
    "demand_units",
]
#: Columns of ``shipments.csv`` the channel margins read (fulfilment cost per channel).
SHIPMENT_COST_COLUMNS = ["order_id", "channel_id", "warehouse_id", "cost"]
