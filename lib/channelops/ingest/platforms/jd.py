"""JD (京东) POP seller back office (商家后台 > 订单管理 > 订单查询与跟踪 > 订单导出): the order
export, one row per SKU of an order.

Header source: JD documents the file only inside the seller back office; the header is the
one public code that collects real exports records, in order, in the comment of
``SaleJdOrderLineInfo`` ("京东订单每行采集的数据": 订单号,商品ID,商品名称,订购数量,支付方式,下单时间,
京东价,订单金额,结算金额,余额支付,应付金额,订单状态,订单类型,下单帐号,客户姓名,客户地址,联系电话,...),
and the test fixture of a JD order importer that uses the same names (订单号,商品ID,商品名称,
订购数量,下单时间,订单金额,客户姓名,客户地址,联系电话,京东价). Status words (等待出库,
等待确认收货, 完成, 锁定, ...) as a public JD order model lists them.

``京东价`` is the unit price; ``订单金额``/``应付金额`` are order totals repeated on every
row and are not mapped. ``商品ID`` is JD's SKU id (``货号`` the seller's own article
number, often blank). ``下单帐号`` is the buyer's JD account.
"""

from __future__ import annotations

from channelops.ingest.platforms.preset import Preset

__all__ = ["ORDER_EXPORT", "PRESETS"]

_HEADER = (
    "订单号",
    "商品ID",
    "商品名称",
    "订购数量",
    "支付方式",
    "下单时间",
    "京东价",
    "订单金额",
    "结算金额",
    "余额支付",
    "应付金额",
    "订单状态",
    "订单类型",
    "下单帐号",
    "客户姓名",
    "客户地址",
    "联系电话",
    "订单备注",
    "发票类型",
    "发票抬头",
    "发票内容",
    "商家备注",
    "商家备注等级（等级1-5为由高到低）",
    "运费金额",
    "付款确认时间",
    "增值税发票",
    "货号",
    "订单完成时间",
    "订单来源",
    "订单渠道",
)

ORDER_EXPORT = Preset(
    platform="jd",
    report="order_export",
    title="JD order export 订单导出 (seller back office, one row per SKU)",
    source="JD seller back office order export as recorded by public code: "
    "SaleJdOrderLineInfo.java ('京东订单每行采集的数据', the header in its comment)",
    header=_HEADER,
    signature=("订单号", "商品ID", "订购数量", "京东价", "下单时间", "订单状态", "下单帐号"),
    columns={
        "order_id": ("订单号",),
        "order_ts": ("下单时间",),
        "buyer_ref": ("下单帐号",),
        "buyer_name": ("客户姓名",),
        "buyer_phone": ("联系电话",),
        "ship_address": ("客户地址",),
        "channel_sku": ("商品ID", "货号"),
        "quantity": ("订购数量",),
        "unit_price": ("京东价",),
        "status": ("订单状态",),
    },
    kind="marketplace",
    timestamp_format="%Y-%m-%d %H:%M:%S",
    timezone="Asia/Shanghai",
    currency="CNY",
    status_words={
        "等待付款": "placed",
        "等待出库": "paid",
        "锁定": "paid",
        "暂停": "paid",
        "等待确认收货": "shipped",
        "已发货": "shipped",
        "完成": "delivered",
        "已完成": "delivered",
        "取消": "cancelled",
        "已取消": "cancelled",
        "删除": "cancelled",
    },
    notes=(
        "京东价 is the unit price; 订单金额 and 应付金额 are order totals and are not read",
        "锁定 (locked, e.g. a cancellation being decided) is taken as paid: edit "
        "values.status if your shop means otherwise",
    ),
    channel_aliases=("jingdong",),
)

PRESETS: tuple[Preset, ...] = (ORDER_EXPORT,)
