"""What a platform preset is: one report type of one platform, its documented header, the
columns that identify it and the mapping that reads it.

A preset is data only. :mod:`channelops.ingest.platforms.recognise` tells which preset an
export's header is; :mod:`channelops.ingest.platforms.scaffold` turns a preset and the
export's header into a mapping (``mappings/<channel>.yaml``) with the keys of the data
contract (``columns``, ``fill_down``, ``buyer_identity``, ``status_rules``, ``currency``,
``values``, ``timestamp``, ``read``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Preset", "alternatives"]


def alternatives(entry: str) -> tuple[str, ...]:
    """The column names one signature entry accepts: ``"商品单价|商品金额"`` accepts either
    (platforms renamed the column between versions of their export)."""
    return tuple(part for part in entry.split("|") if part)


@dataclass(frozen=True)
class Preset:
    """One report type of one platform.

    Attributes:
        platform: platform id, lower case (``shopify``, ``amazon``, ``taobao``, ...); the
            default channel id.
        report: report type id within the platform (``orders_export``, ``all_orders``, ...).
        title: the report's name as the platform's seller back office calls it.
        source: where the header list comes from (title and URL of the documentation or of
            the public code that writes or reads the export), for the next maintainer.
        header: the documented header, in the export's column order (fixtures are written
            with it).
        signature: columns that must all be in an export's header for it to be this report
            (``"a|b"``: either column); chosen to tell the platform's report types apart.
        columns: canonical field -> export columns that may hold it, best first; the first
            one present in the export's header (and mostly filled in its first rows) is
            mapped. Exactly one of ``unit_price`` / ``line_total``.
        kind: channel kind for channels.csv (own_store, marketplace, social, ...).
        sep: field separator of the export (Amazon's flat files are tab-delimited).
        timestamp_format: strftime pattern of ``order_ts`` or ``iso8601``.
        timezone: IANA timezone of naive timestamps in the export (a guess the user may edit).
        currency: fixed ISO 4217 code of every line (platforms that sell in one currency),
            or None when ``columns`` maps ``currency``.
        fill_down: canonical fields the export writes on an order's first line only.
        buyer_identity: ``column`` (buyer_ref mapped) or ``none`` (the export has no buyer
            at all: every line is a guest line).
        status_rules: rules deriving status, first match wins (data contract's
            ``status_rules``), each naming an export column by its header name.
        status_words: export status word -> canonical status (``values: status:``).
        unusable: why this report cannot feed a channel on its own (e.g. no prices or no
            order time), or None; ``channelops init`` recognises it and says what to export
            instead.
        notes: sentences ``channelops init`` prints after recognising the report (what the
            preset assumed, what to check).
        channel_aliases: file-name words that name this platform's channel (``tmall`` for
            Taobao's seller center), used to keep a file's own name as the channel id.
    """

    platform: str
    report: str
    title: str
    source: str
    header: tuple[str, ...]
    signature: tuple[str, ...]
    columns: dict[str, tuple[str, ...]]
    kind: str = "marketplace"
    sep: str = ","
    timestamp_format: str = "iso8601"
    timezone: str = "UTC"
    currency: str | None = None
    fill_down: tuple[str, ...] = ()
    buyer_identity: str = "column"
    status_rules: tuple[dict[str, Any], ...] = ()
    status_words: dict[str, str] = field(default_factory=dict)
    unusable: str | None = None
    notes: tuple[str, ...] = ()
    channel_aliases: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """``platform/report``, e.g. ``amazon/all_orders``."""
        return f"{self.platform}/{self.report}"

    def missing(self, header: set[str]) -> tuple[str, ...]:
        """Signature entries the header lacks (as written, ``a|b`` for alternatives)."""
        return tuple(
            entry
            for entry in self.signature
            if not any(col in header for col in alternatives(entry))
        )
