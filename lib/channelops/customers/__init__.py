"""Customer orders and features as of a date, and placing customers into fitted segments.

Stage-neutral: 01 fits its segments on these features and writes the fitted model as a
table (``segment_model``); 06 and 07 place customers with :func:`place_in_segments` and that
table, as of their own cut-off dates.
"""

from .features import customer_features, customer_orders, design_matrix
from .guests import GuestsLeftOut, guest_mask, identified_lines, left_out_text, money_column
from .placement import SEGMENT_MODEL_COLUMNS, place_in_segments, segment_model_table
from .sums import PURCHASE_STATUSES

__all__ = [
    "GuestsLeftOut",
    "guest_mask",
    "identified_lines",
    "left_out_text",
    "money_column",
    "PURCHASE_STATUSES",
    "SEGMENT_MODEL_COLUMNS",
    "customer_orders",
    "customer_features",
    "design_matrix",
    "place_in_segments",
    "segment_model_table",
]
