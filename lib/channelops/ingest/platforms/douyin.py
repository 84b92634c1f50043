"""Douyin shop (抖店, 抖音电商) merchant back office (订单 > 订单管理 > 批量导出): the order
export, one row per sub-order (子订单, one SKU of an order).

Header source: Douyin documents the file inside the merchant back office only; the header
is the one public reconciliation code seeds as the shop's order sheet
(``ORDER_HEADERS`` of a 抖音 settlement tool's configuration: 主订单编号, 子订单编号, 支付方式,
选购商品, 货号, 商品ID, 商家编码, 商品数量, 商品金额, 订单提交时间, ...), cross-checked with
other readers of the export (``DY_COL_UNIT_PRICE = '商品金额' # 注意：这是单价``; older files
call the column 商品单价). Numbers in id columns are written with a leading tab
(``"\\t6917926768823643751"``) so spreadsheets keep the digits; the intake strips it.

The export has no buyer column (收件人 and the phone are encrypted, ``##密文``), so every
line is a guest line. Refunds show in 售后状态 (退款成功), not in 订单状态.
"""

from __future__ import annotations

from channelops.ingest.platforms.preset import Preset

__all__ = ["ORDER_EXPORT", "PRESETS"]

_HEADER = (
    "主订单编号",
    "子订单编号",
    "支付方式",
    "选购商品",
    "货号",
    "商品ID",
    "商家编码",
    "商品数量",
    "商品金额",
    "订单提交时间",
    "支付完成时间",
    "订单完成时间",
    "承诺发货时间",
    "预约发货时间",
    "买家留言",
    "旗帜颜色",
    "商家备注",
    "APP渠道",
    "订单状态",
    "取消原因",
    "售后状态",
    "订单类型",
    "发货时间",
    "订单应付金额",
    "运费",
    "优惠总金额",
    "平台优惠",
    "商家优惠",
    "达人优惠",
    "商家改价",
    "支付优惠",
    "手续费",
    "红包抵扣",
    "收件人",
    "收件人手机号",
    "省",
    "市",
    "区",
    "街道",
    "详细地址",
    "是否修改过地址",
    "快递信息",
    "达人ID",
    "达人昵称",
    "所属门店ID",
    "流量来源",
    "仓库ID",
    "仓库名称",
    "广告渠道",
    "流量类型",
    "流量体裁",
    "流量渠道",
)

ORDER_EXPORT = Preset(
    platform="douyin",
    report="order_export",
    title="Douyin shop 抖店 order export 订单导出 (one row per sub-order)",
    source="抖店 merchant back office order export as seeded by public reconciliation code "
    "(ORDER_HEADERS of a 抖音 settlement tool's config; 商品金额 = unit price per another "
    "reader of the file)",
    header=_HEADER,
    signature=(
        "主订单编号",
        "子订单编号",
        "商品ID",
        "商品数量",
        "商品单价|商品金额",
        "订单提交时间",
        "订单状态",
    ),
    columns={
        "order_id": ("主订单编号",),
        "order_ts": ("订单提交时间",),
        "buyer_name": ("收件人",),
        "buyer_phone": ("收件人手机号",),
        "ship_address": ("详细地址",),
        "city": ("市",),
        "channel_sku": ("商家编码", "商品ID"),
        "quantity": ("商品数量",),
        "unit_price": ("商品单价", "商品金额"),
        "status": ("订单状态",),
    },
    kind="social",
    timestamp_format="%Y-%m-%d %H:%M:%S",
    timezone="Asia/Shanghai",
    currency="CNY",
    buyer_identity="none",
    status_rules=(
        {"column": "售后状态", "value": ["退款成功", "同意退款，退款成功"], "status": "returned"},
    ),
    status_words={
        "待支付": "placed",
        "待付款": "placed",
        "待发货": "paid",
        "备货中": "paid",
        "部分发货": "shipped",
        "已发货": "shipped",
        "已完成": "delivered",
        "已关闭": "cancelled",
        "已取消": "cancelled",
    },
    notes=(
        "the export has no buyer id (收件人 is encrypted): every line is a guest line",
        "a refunded sub-order (售后状态 退款成功) is returned, whatever 订单状态 says",
        "channel_sku is 商家编码 when the shop fills it, else 商品ID (the product, not the "
        "variant)",
    ),
    channel_aliases=("doudian", "dy", "tiktok"),
)

PRESETS: tuple[Preset, ...] = (ORDER_EXPORT,)
