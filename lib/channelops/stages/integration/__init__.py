"""Stage 03, integration merge: identities resolved, golden customers, one star schema, cross-channel views."""

from channelops.ingest.pii import drop_pii

from .background import in_background
from .coverage import (
    GUEST_COLUMNS,
    crm_match_note,
    customer_lines,
    guest_summary,
    identified_buyers,
    is_guest_line,
)
from .findings import (
    integration_findings,
    link_rate_finding,
    overlap_finding,
    review_finding,
    score_spread_finding,
)
from .merge import (
    SURVIVORSHIP_RULES,
    attach_customers,
    borderline_matches,
    build_orders,
    channel_overlap_matrix,
    crm_link_rate,
    customer_overlap,
    golden_customers,
    identity_nodes,
    link_buyers,
    overlap_views,
    price_consistency,
    probabilistic_pairs,
)
from .review import (
    REVIEW_FILE,
    cluster_checks,
    read_review_decisions,
    review_pairs,
    write_review_file,
)
from .star import (
    dimension_tables,
    line_count,
    orders_and_guests,
    orders_by_channel,
    orders_on_codes,
    read_lines,
    write_order_lines,
    write_star_lines,
)
from .warehouse import Warehouse, write_warehouse

__all__ = [
    "drop_pii",
    "identity_nodes",
    "probabilistic_pairs",
    "link_buyers",
    "borderline_matches",
    "golden_customers",
    "attach_customers",
    "build_orders",
    "crm_link_rate",
    "customer_overlap",
    "channel_overlap_matrix",
    "overlap_views",
    "price_consistency",
    "SURVIVORSHIP_RULES",
    "write_warehouse",
    "Warehouse",
    "in_background",
    "identified_buyers",
    "is_guest_line",
    "guest_summary",
    "customer_lines",
    "crm_match_note",
    "REVIEW_FILE",
    "review_pairs",
    "read_review_decisions",
    "cluster_checks",
    "write_review_file",
    "write_order_lines",
    "write_star_lines",
    "orders_by_channel",
    "orders_and_guests",
    "orders_on_codes",
    "read_lines",
    "line_count",
    "dimension_tables",
    "GUEST_COLUMNS",
    "score_spread_finding",
    "review_finding",
    "overlap_finding",
    "link_rate_finding",
    "integration_findings",
]
