"""Presets for the platforms our users export from, and the recogniser that tells which
platform's report an export is from its header.

Each platform module holds its presets with the source of their header list: Shopify
(orders export), Amazon (All Orders Report, Order Report, Unshipped Orders Report),
WooCommerce (Customer / Order / Coupon Export, one row per item), Taobao/Tmall (订单报表,
宝贝报表), JD (订单导出) and Douyin shop (抖店 订单导出). ``channelops init`` uses
:mod:`channelops.ingest.platforms.scaffold` to write a dataset from a folder of exports.
"""

from __future__ import annotations

from channelops.ingest.platforms import amazon, douyin, jd, shopify, taobao, woocommerce
from channelops.ingest.platforms.preset import Preset
from channelops.ingest.platforms.recognise import (
    Recognition,
    describe_unrecognised,
    recognise_header,
)

__all__ = ["PRESETS", "Preset", "Recognition", "describe_unrecognised", "recognise", "preset"]

#: Every preset, platform by platform.
PRESETS: tuple[Preset, ...] = (
    *shopify.PRESETS,
    *amazon.PRESETS,
    *woocommerce.PRESETS,
    *taobao.PRESETS,
    *jd.PRESETS,
    *douyin.PRESETS,
)


def recognise(header: list[str] | tuple[str, ...]) -> Recognition:
    """:func:`recognise_header` over :data:`PRESETS`."""
    return recognise_header(header, PRESETS)


def preset(name: str) -> Preset:
    """The preset called ``platform/report`` (e.g. ``amazon/all_orders``).

    Raises:
        KeyError: no such preset (the message lists the known names).
    """
    for p in PRESETS:
        if p.name == name:
            return p
    raise KeyError(f"no preset {name!r}; known presets: {', '.join(p.name for p in PRESETS)}")
