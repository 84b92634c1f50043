"""Amazon Seller Central: the All Orders Report, the seller-fulfilled Order Report and the
Unshipped Orders Report (all tab-delimited flat files).

Header sources:

* All Orders Report (``GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL``): Amazon
  Seller Central help "All Orders Report" (sellercentral.amazon.com/gp/help/external/200547170),
  and the Selling Partner API documentation "Order Tracking reports attributes"
  (https://developer-docs.amazon.com/sp-api/docs/order-tracking-reports-attributes). The
  help page says it: "The report does not include customer-identifying information" (no
  buyer column: ``buyer_identity: none``), and ``item-price`` is the amount for the line's
  whole quantity (``line_total``). Pending orders carry no price and no currency yet.
* Order Report, seller-fulfilled (``GET_FLAT_FILE_ORDERS_DATA``): Seller Central help
  "Order Report fields" (sellercentral.amazon.co.jp/gp/help/external/help.html?itemID=201648780,
  the same page on sellercentral-europe.amazon.com): "All amounts are aggregates of the
  quantity, not unit prices", and (help item 651) "an order may take up several lines ...
  We indicate that the extra lines are a continuation of the same order information by
  leaving most of the columns blank" (``fill_down``). ``purchase-date`` is written in
  ISO 8601 with its offset.
* Unshipped Orders Report (``GET_FLAT_FILE_ACTIONABLE_ORDER_DATA_SHIPPING``): Seller Central
  help "Unshipped Orders Report" (www.amazon.ca/gp/help/customer/display.html?nodeId=200350680)
  and the SP-API page "Order reports attributes"
  (https://developer-docs.amazon.com/sp-api/docs/order-reports-attributes). It lists what
  to ship and carries no prices, so it cannot feed revenue on its own.
"""

from __future__ import annotations

from channelops.ingest.platforms.preset import Preset

__all__ = ["ALL_ORDERS", "ORDER_REPORT", "UNSHIPPED_ORDERS", "PRESETS"]

_ALL_ORDERS_HEADER = (
    "amazon-order-id",
    "merchant-order-id",
    "purchase-date",
    "last-updated-date",
    "order-status",
    "fulfillment-channel",
    "sales-channel",
    "order-channel",
    "ship-service-level",
    "product-name",
    "sku",
    "asin",
    "item-status",
    "quantity",
    "currency",
    "item-price",
    "item-tax",
    "shipping-price",
    "shipping-tax",
    "gift-wrap-price",
    "gift-wrap-tax",
    "item-promotion-discount",
    "ship-promotion-discount",
    "ship-city",
    "ship-state",
    "ship-postal-code",
    "ship-country",
    "promotion-ids",
    "is-business-order",
    "purchase-order-number",
    "price-designation",
)

ALL_ORDERS = Preset(
    platform="amazon",
    report="all_orders",
    title="Amazon All Orders Report (flat file, FBA and seller-fulfilled orders)",
    source="Amazon Seller Central help 'All Orders Report' (help/external/200547170); "
    "SP-API 'Order Tracking reports attributes', "
    "https://developer-docs.amazon.com/sp-api/docs/order-tracking-reports-attributes",
    header=_ALL_ORDERS_HEADER,
    signature=(
        "amazon-order-id",
        "merchant-order-id",
        "purchase-date",
        "last-updated-date",
        "order-status",
        "sku",
        "asin",
        "item-status",
        "quantity",
        "currency",
        "item-price",
    ),
    columns={
        "order_id": ("amazon-order-id",),
        "order_ts": ("purchase-date",),
        "postcode": ("ship-postal-code",),
        "city": ("ship-city",),
        "channel_sku": ("sku",),
        "quantity": ("quantity",),
        "line_total": ("item-price",),
        "discount": ("item-promotion-discount",),
        "currency": ("currency",),
        "status": ("item-status",),
    },
    kind="marketplace",
    sep="\t",
    timestamp_format="iso8601",
    timezone="UTC",
    buyer_identity="none",
    status_words={
        "Pending": "placed",
        "Unshipped": "paid",
        "Shipping": "shipped",
        "Shipped": "shipped",
        "Shipped - Delivered to Buyer": "delivered",
        "Cancelled": "cancelled",
    },
    notes=(
        "the report has no buyer column (Amazon: 'does not include customer-identifying "
        "information'): every line is a guest line, left out of per-customer stages only",
        "item-price is the line total (quantity x unit price): mapped as line_total",
        "status comes from item-status (the line's own state); Pending lines have no price "
        "or currency yet",
    ),
)

_ORDER_REPORT_HEADER = (
    "order-id",
    "order-item-id",
    "purchase-date",
    "payments-date",
    "buyer-email",
    "buyer-name",
    "buyer-phone-number",
    "sku",
    "product-name",
    "quantity-purchased",
    "currency",
    "item-price",
    "item-tax",
    "shipping-price",
    "shipping-tax",
    "ship-service-level",
    "recipient-name",
    "ship-address-1",
    "ship-address-2",
    "ship-address-3",
    "ship-city",
    "ship-state",
    "ship-postal-code",
    "ship-country",
    "ship-phone-number",
    "item-promotion-discount",
    "item-promotion-id",
    "ship-promotion-discount",
    "ship-promotion-id",
    "delivery-start-date",
    "delivery-end-date",
    "delivery-time-zone",
    "delivery-Instructions",
    "sales-channel",
)

ORDER_REPORT = Preset(
    platform="amazon",
    report="order_report",
    title="Amazon Order Report (seller-fulfilled orders, flat file)",
    source="Amazon Seller Central help 'Order Report' fields (help.html?itemID=201648780) "
    "and 'Order Reports' (itemID=651)",
    header=_ORDER_REPORT_HEADER,
    signature=(
        "order-id",
        "order-item-id",
        "purchase-date",
        "payments-date",
        "buyer-email",
        "sku",
        "quantity-purchased",
        "currency",
        "item-price",
    ),
    columns={
        "order_id": ("order-id",),
        "order_ts": ("purchase-date",),
        "buyer_ref": ("buyer-email",),
        "buyer_email": ("buyer-email",),
        "buyer_name": ("buyer-name",),
        "buyer_phone": ("buyer-phone-number",),
        "ship_address": ("ship-address-1",),
        "postcode": ("ship-postal-code",),
        "city": ("ship-city",),
        "channel_sku": ("sku",),
        "quantity": ("quantity-purchased",),
        "line_total": ("item-price",),
        "discount": ("item-promotion-discount",),
        "currency": ("currency",),
    },
    kind="marketplace",
    sep="\t",
    timestamp_format="iso8601",
    timezone="UTC",
    fill_down=(
        "order_ts",
        "buyer_ref",
        "buyer_email",
        "buyer_name",
        "buyer_phone",
        "ship_address",
        "postcode",
        "city",
        "currency",
    ),
    notes=(
        "item-price is the line total (Amazon: 'aggregates of the quantity, not unit "
        "prices'): mapped as line_total",
        "continuation lines (several promotions on one order) leave most columns blank: "
        "order-level fields are filled down within the order",
        "the report has no status column: every line is taken as paid",
    ),
)

_UNSHIPPED_HEADER = (
    "order-id",
    "order-item-id",
    "purchase-date",
    "payments-date",
    "reporting-date",
    "promise-date",
    "days-past-promise",
    "buyer-email",
    "buyer-name",
    "buyer-phone-number",
    "sku",
    "product-name",
    "quantity-purchased",
    "quantity-shipped",
    "quantity-to-ship",
    "ship-service-level",
    "recipient-name",
    "ship-address-1",
    "ship-address-2",
    "ship-address-3",
    "ship-city",
    "ship-state",
    "ship-postal-code",
    "ship-country",
    "is-business-order",
    "purchase-order-number",
    "price-designation",
    "is-prime",
)

UNSHIPPED_ORDERS = Preset(
    platform="amazon",
    report="unshipped_orders",
    title="Amazon Unshipped Orders Report (seller-fulfilled orders still to ship)",
    source="Amazon Seller Central help 'Unshipped Orders Report' (nodeId=200350680); SP-API "
    "'Order reports attributes', https://developer-docs.amazon.com/sp-api/docs/"
    "order-reports-attributes (GET_FLAT_FILE_ACTIONABLE_ORDER_DATA_SHIPPING)",
    header=_UNSHIPPED_HEADER,
    signature=(
        "order-id",
        "order-item-id",
        "purchase-date",
        "buyer-email",
        "sku",
        "quantity-purchased",
        "quantity-to-ship",
        "days-past-promise",
    ),
    columns={
        "order_id": ("order-id",),
        "order_ts": ("purchase-date",),
        "buyer_ref": ("buyer-email",),
        "channel_sku": ("sku",),
        "quantity": ("quantity-purchased",),
    },
    kind="marketplace",
    sep="\t",
    unusable="it lists orders still to ship and has no prices or currency; export the "
    "Order Report (Orders > Order Reports) or the All Orders Report (Reports > "
    "Fulfillment > All Orders) for the same days instead",
)

PRESETS: tuple[Preset, ...] = (ALL_ORDERS, ORDER_REPORT, UNSHIPPED_ORDERS)
