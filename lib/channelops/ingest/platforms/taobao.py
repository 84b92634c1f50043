"""Taobao and Tmall (one seller center, 千牛 / 卖家中心 > 已卖出的宝贝 > 批量导出): the order
report (订单报表, one row per order) and the item report (宝贝报表, one row per item).

Header sources: Taobao publishes no public page for these files; the headers are those the
seller center writes, as recorded by public code that reads real exports:

* 订单报表 (ExportOrderList*.csv): github.com/c2003070110/TBTool
  ``src/com/walk_nie/taobao/object/TaobaoSaledObject.java`` (one field per column, in
  order), and the header row quoted in the comment of a Taobao-import class
  ("原始数据是 \"订单编号\",\"买家会员名\",...", timestamped 20170708) and in a node reader of
  the 2019+ file (adds 支付单号, 支付详情, 新零售*, 主订单编号). Several names end in a
  space in the real file (``"收货地址 "``, ``"宝贝标题 "``); the intake strips it.
* 宝贝报表 (ExportOrderDetailList*.csv): the header a public PHP exporter writes to mimic
  it, ``订单编号,标题,价格,购买数量,外部系统编号,商品属性,套餐信息,备注,订单状态,商家编码``.

The order report has no line items: its ``宝贝标题`` joins the titles of an order's items
and ``宝贝总数量`` counts them, so one order is one line whose SKU is its title and whose
total is ``买家应付货款``. The item report has the SKUs (商家编码) and prices but no order
time and no buyer: it is recognised, and joining it to the order report on 订单编号 is
left to the user. Status words are the seller center's (交易成功, 交易关闭, ...); the
seller center often writes 订单编号 as ``="..."`` so that spreadsheets keep the digits.
"""

from __future__ import annotations

from channelops.ingest.platforms.preset import Preset

__all__ = ["ORDER_REPORT", "ITEM_REPORT", "PRESETS"]

_ORDER_HEADER = (
    "订单编号",
    "买家会员名",
    "买家支付宝账号",
    "买家应付货款",
    "买家应付邮费",
    "买家支付积分",
    "总金额",
    "返点积分",
    "买家实际支付金额",
    "买家实际支付积分",
    "订单状态",
    "买家留言",
    "收货人姓名",
    "收货地址",
    "运送方式",
    "联系电话",
    "联系手机",
    "订单创建时间",
    "订单付款时间",
    "宝贝标题",
    "宝贝种类",
    "物流单号",
    "物流公司",
    "订单备注",
    "宝贝总数量",
    "店铺Id",
    "店铺名称",
    "订单关闭原因",
    "卖家服务费",
    "买家服务费",
    "发票抬头",
    "是否手机订单",
    "分阶段订单信息",
    "特权订金订单id",
    "是否上传合同照片",
    "是否上传小票",
    "是否代付",
    "定金排名",
    "修改后的sku",
    "修改后的收货地址",
    "异常信息",
    "天猫卡券抵扣",
    "集分宝抵扣",
    "是否是O2O交易",
    "退款金额",
    "预约门店",
)

_STATUS_WORDS = {
    "等待买家付款": "placed",
    "买家已付款，等待卖家发货": "paid",
    "等待卖家发货": "paid",
    "卖家部分发货": "shipped",
    "卖家已发货，等待买家确认": "shipped",
    "买家已签收": "delivered",
    "交易成功": "delivered",
    "交易关闭": "cancelled",
    "付款以前，卖家或买家主动关闭交易": "cancelled",
    "付款以后用户退款成功，交易自动关闭": "returned",
}

ORDER_REPORT = Preset(
    platform="taobao",
    report="order_report",
    title="Taobao/Tmall order report 订单报表 (one row per order)",
    source="seller center export ExportOrderList*.csv as read by public code: "
    "github.com/c2003070110/TBTool TaobaoSaledObject.java (no public Taobao page lists it)",
    header=_ORDER_HEADER,
    signature=(
        "订单编号",
        "买家会员名",
        "买家应付货款",
        "订单状态",
        "订单创建时间",
        "宝贝标题",
        "宝贝总数量",
    ),
    columns={
        "order_id": ("订单编号",),
        "order_ts": ("订单创建时间",),
        "buyer_ref": ("买家会员名",),
        "buyer_name": ("收货人姓名",),
        "buyer_phone": ("联系手机", "联系电话"),
        "ship_address": ("收货地址",),
        "channel_sku": ("宝贝标题",),
        "quantity": ("宝贝总数量",),
        "line_total": ("买家应付货款",),
        "refund": ("退款金额",),
        "status": ("订单状态",),
    },
    kind="marketplace",
    timestamp_format="%Y-%m-%d %H:%M:%S",
    timezone="Asia/Shanghai",
    currency="CNY",
    status_words=_STATUS_WORDS,
    notes=(
        "one line per order: the SKU is the order's item title (宝贝标题) and the amount "
        "买家应付货款; map titles to SKUs in sku_map.csv, or export the item report "
        "(宝贝报表) and join it on 订单编号 for SKUs per line",
        'the seller center often writes 订单编号 as ="..." (kept as the order id)',
    ),
    channel_aliases=("tmall", "tb"),
)

_ITEM_HEADER = (
    "订单编号",
    "标题",
    "价格",
    "购买数量",
    "外部系统编号",
    "商品属性",
    "套餐信息",
    "备注",
    "订单状态",
    "商家编码",
)

ITEM_REPORT = Preset(
    platform="taobao",
    report="item_report",
    title="Taobao/Tmall item report 宝贝报表 (one row per item, no time, no buyer)",
    source="seller center export ExportOrderDetailList*.csv; header as a public exporter "
    "writes it to mimic the file (订单编号,标题,价格,购买数量,外部系统编号,商品属性,套餐信息,"
    "备注,订单状态,商家编码)",
    header=_ITEM_HEADER,
    signature=("订单编号", "标题", "价格", "购买数量", "商家编码", "订单状态"),
    columns={
        "order_id": ("订单编号",),
        "channel_sku": ("商家编码",),
        "quantity": ("购买数量",),
        "unit_price": ("价格",),
        "status": ("订单状态",),
    },
    kind="marketplace",
    timezone="Asia/Shanghai",
    currency="CNY",
    status_words=_STATUS_WORDS,
    unusable="the item report (宝贝报表) has no order time and no buyer; export the order "
    "report (订单报表) of the same days too and join the two on 订单编号 (order time and "
    "buyer from the order report, SKU, quantity and price from the item report)",
    channel_aliases=("tmall", "tb"),
)

PRESETS: tuple[Preset, ...] = (ORDER_REPORT, ITEM_REPORT)
