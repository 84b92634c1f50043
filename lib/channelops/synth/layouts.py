"""Export layouts of the simulator's channels: the real platforms' column names, status
words, order-level fields, guest checkouts and reversals (docs/design-notes.md, "Simulator:
channel exports and identity noise").

Plain data. ``presets`` re-exports :class:`ExportStyle` and :data:`STYLES`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExportStyle:
    """The shape of one channel's export.

    columns: (field, export column) pairs in file order. A canonical field is mapped;
    ``line_total`` holds quantity x unit price (minus the discount when ``net_total``); a
    field starting with ``_`` is an extra column the mapping does not map (``_store``,
    ``_sub_order``, ``_seller_sku``, ``_discount``, constants in ``const`` and status
    columns in ``status_cols``). No ``buyer_ref`` column: the mapping says
    ``buyer_identity: none``.
    ts_format: the mapping's timestamp format (strftime pattern, iso8601 or unix_s);
    ts_write: the pattern the export writes when it differs (e.g. iso8601 with +00:00);
    ts_tz: the timezone the export writes local times in (default: the channel's).
    status: canonical status -> word of the status column (None: no status column);
    status_map: export word -> canonical status for the mapping (default: status
    inverted); status_cols: (extra field, canonical status -> word) of further status
    columns; status_rules: the mapping's ``status_rules:`` (export column names).
    sku/ref/oid: code styles. phone: phone format style. email_rate: share of buyer
    records with an email (0 when the export has no email column).
    first_only: fields written on an order's first line only (the canonical ones are the
    mapping's ``fill_down``). guest_rate: share of orders checked out as a guest (blank
    buyer_ref and e-mail). net_total: line_total is net of the line discount.
    reversal: how a cancelled or returned sale shows: None (status words), ``prefix``
    (a new order whose id starts with ``reversal_prefix``, negative quantities) or
    ``negative`` (negative-quantity lines under the same order id). return_rate: share of
    lines the export returns after the sale (a store's returns desk; 0: only the
    simulated statuses). const: (extra field, value) columns with one value.
    """

    columns: tuple[tuple[str, str], ...]
    ts_format: str
    status: dict[str, str] | None
    sku: str
    ref: str
    oid: str
    phone: str
    email_rate: float
    name: str = "zh"  # zh (Chinese characters) or latin (pinyin / latin names)
    sep: str = ","
    decimal: str = "."
    ts_write: str | None = None
    ts_tz: str | None = None
    status_map: dict[str, str] | None = None
    status_cols: tuple[tuple[str, dict[str, str]], ...] = ()
    status_rules: tuple[dict, ...] = ()
    first_only: tuple[str, ...] = ()
    guest_rate: float = 0.0
    net_total: bool = False
    reversal: str | None = None
    reversal_prefix: str = "C"
    return_rate: float = 0.0
    const: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.reversal not in (None, "prefix", "negative"):
            raise ValueError(
                f"ExportStyle.reversal must be None, 'prefix' or 'negative', got {self.reversal!r}"
            )
        for name in ("guest_rate", "return_rate", "email_rate"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"ExportStyle.{name} must be a share in [0, 1], got {v!r}")
        fields = {f for f, _ in self.columns}
        if ("unit_price" in fields) == ("line_total" in fields):
            raise ValueError("ExportStyle.columns needs exactly one of unit_price, line_total")
        unknown = [f for f in self.first_only if f not in fields]
        if unknown:
            raise ValueError(f"ExportStyle.first_only names fields without a column: {unknown}")


#: Share of own-store orders checked out as a guest (no account): 20.5% of the lines of
#: the UCI Online Retail II store (2009-2010) have no customer id; see the design notes.
GUEST_RATE = 0.2
#: Share of store (POS) lines brought back to the returns desk. NRF/Appriss Retail,
#: "Consumer Returns in the Retail Industry 2023": 14.5% of US retail sales returned,
#: 17.6% of online sales, so roughly a tenth of in-store sales.
STORE_RETURN_RATE = 0.08

_ST_EN = {
    "placed": "pending",
    "paid": "paid",
    "shipped": "shipped",
    "delivered": "completed",
    "cancelled": "cancelled",
    "returned": "refunded",
}
# Shopify orders export: Financial Status (order level), Fulfillment Status (order level),
# Lineitem fulfillment status (every line). A Shopify order is not "delivered" in the
# export: fulfilled is as far as it shows.
_SHOPIFY_FIN = {
    "placed": "pending",
    "paid": "paid",
    "shipped": "paid",
    "delivered": "paid",
    "cancelled": "voided",
    "returned": "refunded",
}
_SHOPIFY_FUL = {
    "placed": "unfulfilled",
    "paid": "unfulfilled",
    "shipped": "fulfilled",
    "delivered": "fulfilled",
    "cancelled": "unfulfilled",
    "returned": "fulfilled",
}
_SHOPIFY_ITEM_FUL = {
    "placed": "pending",
    "paid": "pending",
    "shipped": "fulfilled",
    "delivered": "fulfilled",
    "cancelled": "pending",
    "returned": "fulfilled",
}
_SHOPIFY_RULES = (
    {"column": "Financial Status", "value": ["refunded"], "status": "returned"},
    {"column": "Financial Status", "value": ["voided"], "status": "cancelled"},
    {"column": "Lineitem fulfillment status", "value": ["fulfilled"], "status": "shipped"},
)
_SHOPIFY_WORDS = {
    "pending": "placed",
    "paid": "paid",
    "refunded": "returned",
    "voided": "cancelled",
}
# Shopify's order-level columns: written on an order's first line only (Name, Email,
# Created at and the Lineitem fields are on every line)
_SHOPIFY_FIRST = (
    "buyer_ref",
    "status",
    "_ful",
    "currency",
    "buyer_name",
    "ship_address",
    "city",
    "postcode",
    "buyer_phone",
)
# Taobao / Tmall: the order report (订单报表) joined with the item report (宝贝报表) on
# 订单编号, as the seller center leaves it to the seller (ingest/platforms/taobao.py)
_ST_TM = {
    "placed": "等待买家付款",
    "paid": "买家已付款，等待卖家发货",
    "shipped": "卖家已发货，等待买家确认",
    "delivered": "交易成功",
    "cancelled": "付款以前，卖家或买家主动关闭交易",
    "returned": "付款以后用户退款成功，交易自动关闭",
}
# JD POP order export: returns are handled in a separate after-sales list, so a returned
# order shows 完成 here
_ST_JD = {
    "placed": "等待付款",
    "paid": "等待出库",
    "shipped": "等待确认收货",
    "delivered": "完成",
    "cancelled": "已取消",
    "returned": "完成",
}
_JD_WORDS = {
    "等待付款": "placed",
    "等待出库": "paid",
    "等待确认收货": "shipped",
    "完成": "delivered",
    "已取消": "cancelled",
}
# Douyin shop (抖店) order export: 订单状态 plus 售后状态 (after-sales status)
_ST_DYZ = {
    "placed": "待支付",
    "paid": "备货中",
    "shipped": "已发货",
    "delivered": "已完成",
    "cancelled": "已关闭",
    "returned": "已完成",
}
_DY_AFTER = {s: ("退款成功" if s == "returned" else "-") for s in _ST_DYZ}
_DY_WORDS = {
    "待支付": "placed",
    "备货中": "paid",
    "已发货": "shipped",
    "已完成": "delivered",
    "已关闭": "cancelled",
}
_ST_DY = {
    "placed": "UNPAID",
    "paid": "PAID",
    "shipped": "SHIPPED",
    "delivered": "FINISHED",
    "cancelled": "CANCELED",
    "returned": "REFUNDED",
}
_ST_AMZ = {
    "placed": "Pending",
    "paid": "Unshipped",
    "shipped": "Shipped",
    "delivered": "Delivered",
    "cancelled": "Canceled",
    "returned": "Returned",
}
# Amazon All Orders Report: order-status and item-status; returns are in a separate
# returns report, so a returned order shows Shipped here
_ST_AMZ_ALL = {
    "placed": "Pending",
    "paid": "Unshipped",
    "shipped": "Shipped",
    "delivered": "Shipped - Delivered to Buyer",
    "cancelled": "Cancelled",
    "returned": "Shipped - Delivered to Buyer",
}
_AMZ_ITEM = {
    "placed": "Unshipped",
    "paid": "Unshipped",
    "shipped": "Unshipped",
    "delivered": "Shipped",
    "cancelled": "Cancelled",
    "returned": "Shipped",
}
_AMZ_WORDS = {
    "Pending": "placed",
    "Unshipped": "paid",
    "Shipped": "shipped",
    "Shipped - Delivered to Buyer": "delivered",
    "Cancelled": "cancelled",
}
_ST_KS = {
    "placed": "待付款",
    "paid": "待发货",
    "shipped": "已发货",
    "delivered": "已收货",
    "cancelled": "已取消",
    "returned": "已退款",
}
_ST_EU = {**_ST_AMZ, "returned": "Erstattet"}


def _shopify(phone: str, email_rate: float, name: str) -> ExportStyle:
    """A Shopify orders export (Orders > Export, CSV), with the store's customer id added
    as the CRM key (``Customer ID``, as Shopify's customers export names it)."""
    return ExportStyle(
        (
            ("order_id", "Name"),
            ("buyer_email", "Email"),
            ("status", "Financial Status"),
            ("_ful", "Fulfillment Status"),
            ("currency", "Currency"),
            ("order_ts", "Created at"),
            ("quantity", "Lineitem quantity"),
            ("unit_price", "Lineitem price"),
            ("channel_sku", "Lineitem sku"),
            ("_item_ful", "Lineitem fulfillment status"),
            ("buyer_name", "Billing Name"),
            ("ship_address", "Shipping Address1"),
            ("city", "Shipping City"),
            ("postcode", "Shipping Zip"),
            ("buyer_phone", "Shipping Phone"),
            ("discount", "Lineitem discount"),
            ("buyer_ref", "Customer ID"),
        ),
        "%Y-%m-%d %H:%M:%S %z",
        _SHOPIFY_FIN,
        "master",
        "crm",
        "shopify",
        phone,
        email_rate,
        name=name,
        status_map=_SHOPIFY_WORDS,
        status_cols=(("_ful", _SHOPIFY_FUL), ("_item_ful", _SHOPIFY_ITEM_FUL)),
        status_rules=_SHOPIFY_RULES,
        first_only=_SHOPIFY_FIRST,
        guest_rate=GUEST_RATE,
    )


STYLES: dict[str, ExportStyle] = {
    "own_web": _shopify("plain", 0.92, "zh"),
    "global_web": _shopify("intl", 0.97, "latin"),
    "tmall_cn": ExportStyle(
        (
            ("order_id", "订单编号"),
            ("buyer_ref", "买家会员名"),
            ("status", "订单状态"),
            ("buyer_name", "收货人姓名"),
            ("ship_address", "收货地址"),
            ("buyer_phone", "联系手机"),
            ("order_ts", "订单创建时间"),
            ("unit_price", "价格"),
            ("quantity", "购买数量"),
            ("channel_sku", "商家编码"),
            ("discount", "优惠金额"),
        ),
        "%Y-%m-%d %H:%M:%S",
        _ST_TM,
        "tm",
        "tb",
        "num16",
        "plain",
        0.0,
    ),
    "jd": ExportStyle(
        (
            ("order_id", "订单号"),
            ("channel_sku", "商品ID"),
            ("quantity", "订购数量"),
            ("order_ts", "下单时间"),
            ("unit_price", "京东价"),
            ("discount", "优惠金额"),
            ("status", "订单状态"),
            ("buyer_ref", "下单帐号"),
            ("buyer_name", "客户姓名"),
            ("ship_address", "客户地址"),
            ("buyer_phone", "联系电话"),
        ),
        "%Y-%m-%d %H:%M:%S",
        _ST_JD,
        "jd",
        "jd",
        "num12",
        "dash",
        0.0,
        status_map=_JD_WORDS,
    ),
    "douyin": ExportStyle(
        (
            ("order_id", "主订单编号"),
            ("_sub_order", "子订单编号"),
            ("channel_sku", "商品ID"),
            ("quantity", "商品数量"),
            ("_unit_price", "商品金额"),
            ("order_ts", "订单提交时间"),
            ("status", "订单状态"),
            ("_after", "售后状态"),
            ("line_total", "订单应付金额"),
            ("_discount", "商家优惠"),
            ("buyer_name", "收件人"),
            ("buyer_phone", "收件人手机号"),
            ("city", "市"),
            ("ship_address", "详细地址"),
        ),
        "%Y-%m-%d %H:%M:%S",
        _ST_DYZ,
        "dy",
        "dy",
        "num19",
        "plain",
        0.0,
        status_map=_DY_WORDS,
        status_cols=(("_after", _DY_AFTER),),
        status_rules=({"column": "售后状态", "value": ["退款成功"], "status": "returned"},),
        net_total=True,
    ),
    "kuaishou": ExportStyle(
        (
            ("order_id", "订单号"),
            ("order_ts", "下单时间"),
            ("buyer_ref", "买家ID"),
            ("buyer_name", "收件人"),
            ("buyer_phone", "收件人电话"),
            ("ship_address", "收件地址"),
            ("city", "城市"),
            ("channel_sku", "商品编码"),
            ("quantity", "数量"),
            ("unit_price", "单价"),
            ("discount", "优惠"),
            ("status", "订单状态"),
        ),
        "%Y%m%d%H%M%S",
        _ST_KS,
        "ks",
        "ks",
        "num16",
        "spaces",
        0.0,
    ),
    "xhs": ExportStyle(
        (
            ("order_id", "package_id"),
            ("line_no", "item_index"),
            ("order_ts", "order_time"),
            ("buyer_ref", "user_id"),
            ("buyer_name", "receiver"),
            ("buyer_phone", "mobile"),
            ("buyer_email", "email"),
            ("ship_address", "address"),
            ("city", "city"),
            ("channel_sku", "item_id"),
            ("quantity", "qty"),
            ("unit_price", "unit_price"),
            ("discount", "discount"),
            ("status", "status"),
        ),
        "iso8601",
        _ST_DY,
        "xhs",
        "xhs",
        "web",
        "plain",
        0.35,
    ),
    "pos": ExportStyle(
        (
            ("order_id", "receipt_no"),
            ("_store", "store_id"),
            ("order_ts", "timestamp"),
            ("buyer_ref", "member_no"),
            ("channel_sku", "article"),
            ("quantity", "qty"),
            ("unit_price", "price"),
            ("discount", "rebate"),
        ),
        "%d.%m.%Y %H:%M:%S",
        None,
        "ean",
        "crm",
        "pos",
        "none",
        0.0,
        sep=";",
        decimal=",",
        status_rules=({"order_id_prefix": "C", "status": "returned"},),
        reversal="prefix",
        return_rate=STORE_RETURN_RATE,
    ),
    # Amazon Seller Central, Reports > Fulfillment > All Orders (flat file, tab-separated):
    # no buyer at all, item-price is the line's total, ship-to city and postcode only
    "amazon": ExportStyle(
        (
            ("order_id", "amazon-order-id"),
            ("order_ts", "purchase-date"),
            ("_updated", "last-updated-date"),
            ("status", "order-status"),
            ("_fulfillment", "fulfillment-channel"),
            ("_sales_channel", "sales-channel"),
            ("_seller_sku", "sku"),
            ("channel_sku", "asin"),
            ("_item_status", "item-status"),
            ("quantity", "quantity"),
            ("currency", "currency"),
            ("line_total", "item-price"),
            ("discount", "item-promotion-discount"),
            ("city", "ship-city"),
            ("postcode", "ship-postal-code"),
            ("_country", "ship-country"),
        ),
        "iso8601",
        _ST_AMZ_ALL,
        "asin",
        "amz",
        "amz",
        "intl",
        0.0,
        name="latin",
        sep="\t",
        ts_write="%Y-%m-%dT%H:%M:%S+00:00",
        ts_tz="UTC",
        status_map=_AMZ_WORDS,
        status_cols=(("_item_status", _AMZ_ITEM),),
        const=(
            ("_fulfillment", "Amazon"),
            ("_sales_channel", "Amazon.com"),
            ("_country", "US"),
        ),
    ),
    "eu_market": ExportStyle(
        (
            ("order_id", "Bestellnummer"),
            ("line_no", "Position"),
            ("order_ts", "Bestelldatum"),
            ("buyer_ref", "Kundennummer"),
            ("buyer_name", "Name"),
            ("buyer_email", "E-Mail"),
            ("buyer_phone", "Telefon"),
            ("ship_address", "Adresse"),
            ("postcode", "PLZ"),
            ("city", "Ort"),
            ("channel_sku", "Artikelnummer"),
            ("quantity", "Menge"),
            ("unit_price", "Einzelpreis"),
            ("discount", "Rabatt"),
            ("currency", "Waehrung"),
            ("status", "Status"),
        ),
        "%d.%m.%Y %H:%M:%S%z",
        _ST_EU,
        "asin",
        "eu",
        "eu",
        "intl",
        0.95,
        name="latin",
        sep=";",
        decimal=",",
        status_rules=({"quantity": "negative", "status": "returned"},),
        reversal="negative",
    ),
    "shopee": ExportStyle(
        (
            ("order_id", "Order ID"),
            ("order_ts", "Order Creation Date"),
            ("buyer_ref", "Username (Buyer)"),
            ("buyer_name", "Receiver Name"),
            ("buyer_phone", "Phone Number"),
            ("buyer_email", "Email"),
            ("ship_address", "Delivery Address"),
            ("postcode", "Zip Code"),
            ("city", "City"),
            ("channel_sku", "SKU Reference No."),
            ("quantity", "Quantity"),
            ("unit_price", "Deal Price"),
            ("discount", "Seller Voucher"),
            ("status", "Order Status"),
        ),
        "%d/%m/%Y %H:%M",
        _ST_AMZ,
        "shp",
        "shp",
        "shp",
        "intl",
        0.5,
        name="latin",
    ),
    "aliexpress": ExportStyle(
        (
            ("order_id", "order_id"),
            ("line_no", "line"),
            ("order_ts", "gmt_create"),
            ("buyer_ref", "buyer_login_id"),
            ("buyer_name", "contact_person"),
            ("buyer_email", "buyer_email"),
            ("buyer_phone", "mobile_no"),
            ("ship_address", "address"),
            ("postcode", "zip"),
            ("city", "city"),
            ("channel_sku", "product_sku"),
            ("quantity", "product_count"),
            ("unit_price", "product_unit_price"),
            ("discount", "coupon_amount"),
            ("currency", "currency_code"),
            ("status", "order_status"),
        ),
        "unix_s",
        _ST_DY,
        "ae",
        "ae",
        "num16",
        "intl",
        0.8,
        name="latin",
    ),
}
