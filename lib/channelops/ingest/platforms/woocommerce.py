"""WooCommerce: the orders export of the "Customer / Order / Coupon Export" extension sold on
woocommerce.com, in its "Default - One Row per Item" CSV format.

WooCommerce itself exports orders only as Analytics totals (one row per order, products
joined in one cell); line-level exports come from this extension (by SkyVerge). Header
source: WooCommerce.com documentation "Customer / Order / Coupon Export" and its developer
documentation (https://woocommerce.com/document/ordercustomer-csv-exporter/,
https://docs.woocommerce.com/document/ordercustomer-csv-export-developer-documentation/:
"use the column names / keys, which are guaranteed to never change"), and the extension's
generator ``class-wc-customer-order-csv-export-generator.php`` (``get_orders_csv_row_data``:
the order keys, then ``item_*`` per line item when the format's row type is ``item``).

``item_total`` is the line total after the line's discounts (WooCommerce's
``get_line_total``), ``item_refunded`` the amount refunded on the line. ``customer_id`` is 0
for guest checkouts, so the buyer is the billing e-mail, which checkout always asks for.
``order_date`` reads ``Y-m-d H:i:s`` in the shop's timezone. A deleted product exports the
SKU ``unknown_product``.
"""

from __future__ import annotations

from channelops.ingest.platforms.preset import Preset

__all__ = ["ORDER_ITEMS", "PRESETS"]

_HEADER = (
    "order_id",
    "order_number_formatted",
    "order_number",
    "order_date",
    "status",
    "shipping_total",
    "shipping_tax_total",
    "fee_total",
    "fee_tax_total",
    "tax_total",
    "discount_total",
    "order_total",
    "refunded_total",
    "order_currency",
    "payment_method",
    "shipping_method",
    "customer_id",
    "billing_first_name",
    "billing_last_name",
    "billing_full_name",
    "billing_company",
    "billing_email",
    "billing_phone",
    "billing_address_1",
    "billing_address_2",
    "billing_postcode",
    "billing_city",
    "billing_state",
    "billing_state_code",
    "billing_country",
    "shipping_first_name",
    "shipping_last_name",
    "shipping_full_name",
    "shipping_company",
    "shipping_address_1",
    "shipping_address_2",
    "shipping_postcode",
    "shipping_city",
    "shipping_state",
    "shipping_state_code",
    "shipping_country",
    "customer_note",
    "item_id",
    "item_product_id",
    "item_name",
    "item_sku",
    "item_quantity",
    "item_subtotal",
    "item_subtotal_tax",
    "item_total",
    "item_total_tax",
    "item_refunded",
    "item_refunded_qty",
    "item_meta",
    "shipping_items",
    "fee_items",
    "tax_items",
    "coupon_items",
    "refunds",
    "order_notes",
    "download_permissions",
)

ORDER_ITEMS = Preset(
    platform="woocommerce",
    report="order_items",
    title="WooCommerce orders export, one row per item (Customer / Order / Coupon Export)",
    source="WooCommerce.com docs 'Customer / Order / Coupon Export' and its developer "
    "documentation (https://docs.woocommerce.com/document/ordercustomer-csv-export-developer-"
    "documentation/); the extension's CSV generator, get_orders_csv_row_data()",
    header=_HEADER,
    signature=(
        "order_id",
        "order_date",
        "status",
        "order_currency",
        "billing_email",
        "item_sku",
        "item_quantity",
        "item_total",
    ),
    columns={
        "order_id": ("order_number_formatted", "order_number", "order_id"),
        "order_ts": ("order_date",),
        "buyer_ref": ("billing_email",),
        "buyer_email": ("billing_email",),
        "buyer_name": ("billing_full_name", "shipping_full_name"),
        "buyer_phone": ("billing_phone",),
        "ship_address": ("shipping_address_1", "billing_address_1"),
        "postcode": ("shipping_postcode", "billing_postcode"),
        "city": ("shipping_city", "billing_city"),
        "channel_sku": ("item_sku", "item_product_id"),
        "quantity": ("item_quantity",),
        "line_total": ("item_total",),
        "refund": ("item_refunded",),
        "currency": ("order_currency",),
        "status": ("status",),
    },
    kind="own_store",
    timestamp_format="%Y-%m-%d %H:%M:%S",
    timezone="UTC",
    status_words={
        "pending": "placed",
        "on-hold": "placed",
        "checkout-draft": "placed",
        "processing": "paid",
        "completed": "delivered",
        "cancelled": "cancelled",
        "failed": "cancelled",
        "refunded": "returned",
    },
    notes=(
        "order_date is in the shop's timezone (WordPress Settings > General): check "
        "timestamp.timezone",
        "item_total is the line total after the line's discounts: mapped as line_total; "
        "item_refunded is the refund on the line",
        "the buyer is the billing e-mail (customer_id is 0 for guest checkouts)",
    ),
    channel_aliases=("woo", "wc"),
)

PRESETS: tuple[Preset, ...] = (ORDER_ITEMS,)
