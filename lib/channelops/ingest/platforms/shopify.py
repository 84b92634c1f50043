"""Shopify: the orders export (Shopify admin > Orders > Export, "CSV for Excel, Numbers, or
other spreadsheet programs").

Header source: Shopify Help Center, "Exporting orders" -> "Order export CSV structure"
(https://help.shopify.com/en/manual/fulfillment/managing-orders/exporting-orders; its
zh-CN page "导出订单" lists the same headers), cross-checked with the header maps of two
public readers of the file (github.com/jadwro/allegro_csv_parser
``src/Shopify/types/ShopifyOrderTypeCSV.ts`` and github.com/laplace-live/shopify-csv-converter
``src/types/index.d.ts``).

The export writes one row per line item. Order-level fields (Financial Status, Currency,
totals, discount, addresses) are filled on an order's first row only and left blank on its
other rows (the help page: "Many fields will be left blank"); ``Name``, ``Email``,
``Created at`` and the ``Lineitem *`` fields are on every row. ``Created at`` reads
``2025-10-07 09:50:26 +0200``. ``Lineitem price`` is the unit price; ``Discount Amount``
(order level, first row only) is the order's discount, so it is mapped as the first
line's discount and never filled down; ``Refunded Amount`` likewise.
"""

from __future__ import annotations

from channelops.ingest.platforms.preset import Preset

__all__ = ["ORDERS_EXPORT", "PRESETS"]

_HEADER = (
    "Name",
    "Email",
    "Financial Status",
    "Paid at",
    "Fulfillment Status",
    "Fulfilled at",
    "Accepts Marketing",
    "Currency",
    "Subtotal",
    "Shipping",
    "Taxes",
    "Total",
    "Discount Code",
    "Discount Amount",
    "Shipping Method",
    "Created at",
    "Lineitem quantity",
    "Lineitem name",
    "Lineitem price",
    "Lineitem compare at price",
    "Lineitem sku",
    "Lineitem requires shipping",
    "Lineitem taxable",
    "Lineitem fulfillment status",
    "Billing Name",
    "Billing Street",
    "Billing Address1",
    "Billing Address2",
    "Billing Company",
    "Billing City",
    "Billing Zip",
    "Billing Province",
    "Billing Country",
    "Billing Phone",
    "Shipping Name",
    "Shipping Street",
    "Shipping Address1",
    "Shipping Address2",
    "Shipping Company",
    "Shipping City",
    "Shipping Zip",
    "Shipping Province",
    "Shipping Country",
    "Shipping Phone",
    "Notes",
    "Note Attributes",
    "Cancelled at",
    "Payment Method",
    "Payment Reference",
    "Refunded Amount",
    "Vendor",
    "Outstanding Balance",
    "Employee",
    "Location",
    "Device ID",
    "Id",
    "Tags",
    "Risk Level",
    "Source",
    "Lineitem discount",
    "Tax 1 Name",
    "Tax 1 Value",
    "Tax 2 Name",
    "Tax 2 Value",
    "Tax 3 Name",
    "Tax 3 Value",
    "Tax 4 Name",
    "Tax 4 Value",
    "Tax 5 Name",
    "Tax 5 Value",
    "Phone",
    "Receipt Number",
    "Duties",
    "Billing Province Name",
    "Shipping Province Name",
    "Payment ID",
    "Payment Terms Name",
    "Next Payment Due At",
    "Payment References",
)

ORDERS_EXPORT = Preset(
    platform="shopify",
    report="orders_export",
    title="Shopify orders export (Orders > Export, one row per line item)",
    source="Shopify Help Center, 'Exporting orders' / 'Order export CSV structure', "
    "https://help.shopify.com/en/manual/fulfillment/managing-orders/exporting-orders",
    header=_HEADER,
    signature=(
        "Name",
        "Email",
        "Financial Status",
        "Currency",
        "Created at",
        "Lineitem quantity",
        "Lineitem name",
        "Lineitem price",
        "Lineitem sku",
    ),
    columns={
        "order_id": ("Name",),
        "order_ts": ("Created at",),
        "buyer_ref": ("Email",),
        "buyer_email": ("Email",),
        "buyer_name": ("Billing Name", "Shipping Name"),
        "buyer_phone": ("Billing Phone", "Shipping Phone", "Phone"),
        "ship_address": ("Shipping Address1", "Shipping Street"),
        "postcode": ("Shipping Zip",),
        "city": ("Shipping City",),
        "channel_sku": ("Lineitem sku",),
        "quantity": ("Lineitem quantity",),
        "unit_price": ("Lineitem price",),
        "discount": ("Discount Amount",),
        "refund": ("Refunded Amount",),
        "currency": ("Currency",),
        "status": ("Financial Status",),
    },
    kind="own_store",
    timestamp_format="%Y-%m-%d %H:%M:%S %z",
    timezone="UTC",
    fill_down=(
        "buyer_ref",
        "buyer_email",
        "buyer_name",
        "buyer_phone",
        "ship_address",
        "postcode",
        "city",
        "currency",
        "status",
    ),
    status_words={
        "pending": "placed",
        "authorized": "placed",
        "partially_paid": "paid",
        "paid": "paid",
        "partially_refunded": "paid",
        "refunded": "returned",
        "voided": "cancelled",
        "expired": "cancelled",
    },
    notes=(
        "status comes from Financial Status (refunded -> returned, voided -> cancelled); "
        "a partial refund keeps the order paid and its Refunded Amount reduces net revenue",
        "Discount Amount and Refunded Amount are order totals on the order's first row: "
        "mapped to that row, never filled down",
        "orders without an e-mail (e.g. point of sale) are guest orders",
    ),
)

PRESETS: tuple[Preset, ...] = (ORDERS_EXPORT,)
