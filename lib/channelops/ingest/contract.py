"""The data contract: field names, column orders, quarantine reasons, the keys dataset.yaml
and a mapping may hold, the error of every file-level problem, and the parsed forms of a
mapping and of a channel.

See ``docs/design-notes.md`` for what each field means and the dtypes of the columns.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "CANONICAL_FIELDS",
    "CHANNEL_KEYS",
    "CHANNEL_KINDS",
    "DATASET_KEYS",
    "LINE_COLUMNS",
    "MAPPING_KEYS",
    "NON_MERCHANDISE_CODES",
    "NUMERIC_FIELDS",
    "OPTIONAL_DATASET_KEYS",
    "PII_FIELDS",
    "PLAUSIBLE_YEARS",
    "QUARANTINE_COLUMNS",
    "READ_KEYS",
    "REASONS",
    "REPEATED_ROWS",
    "REVERSAL_STATUSES",
    "REQUIRED_FIELDS",
    "SPECIAL_TS_FORMATS",
    "STATUSES",
    "STRING",
    "BUYER_IDENTITIES",
    "ChannelSpec",
    "DatasetError",
    "DatasetWarning",
    "Mapping",
    "ReadDialect",
    "StatusRule",
]


#: Canonical order-line fields a mapping may map to (``channel_id`` comes from dataset.yaml).
CANONICAL_FIELDS: tuple[str, ...] = (
    "order_id",
    "line_no",
    "order_ts",
    "buyer_ref",
    "buyer_name",
    "buyer_email",
    "buyer_phone",
    "ship_address",
    "postcode",
    "city",
    "channel_sku",
    "quantity",
    "unit_price",
    "line_total",
    "discount",
    "refund",
    "currency",
    "status",
)
#: Fields every export must have a column for. ``buyer_ref`` too unless the mapping says
#: ``buyer_identity: none``; and exactly one of ``unit_price`` / ``line_total``.
REQUIRED_FIELDS: tuple[str, ...] = (
    "order_id",
    "order_ts",
    "channel_sku",
    "quantity",
)
PII_FIELDS: tuple[str, ...] = (
    "buyer_name",
    "buyer_email",
    "buyer_phone",
    "ship_address",
    "postcode",
    "city",
)
STATUSES: tuple[str, ...] = ("placed", "paid", "shipped", "delivered", "cancelled", "returned")
NUMERIC_FIELDS: tuple[str, ...] = (
    "line_no",
    "quantity",
    "unit_price",
    "line_total",
    "discount",
    "refund",
)
#: Statuses whose positive-quantity lines earn no net revenue and no demand.
REVERSAL_STATUSES: tuple[str, ...] = ("cancelled", "returned")
#: ``buyer_identity:`` of a mapping: ``column`` (buyer_ref mapped; a blank cell is a guest
#: line) or ``none`` (the channel exports no buyer: every line is a guest line).
BUYER_IDENTITIES: tuple[str, ...] = ("column", "none")
#: ``repeated_rows:`` of a mapping (exports without line_no): ``duplicate`` counts a verbatim
#: repeat of a row as an export duplicate kept once; ``keep`` keeps it as a real line.
REPEATED_ROWS: tuple[str, ...] = ("duplicate", "keep")
#: Channel codes that are not merchandise (postage, shipping, fees, discounts, manual
#: adjustments, bad debt, gift vouchers, samples, test lines), matched case-insensitively
#: as glob patterns against channel_sku. From the UCI Online Retail II README and the
#: shipping / fee / discount lines of common platform exports. A mapping adds codes with
#: ``non_merchandise:``; products.csv's optional ``merchandise`` column overrides both.
#: One-letter codes (Online Retail's M manual, D discount, S samples, B bad debt) are left
#: to the mapping: as a default they would catch size codes and short SKUs of other stores.
NON_MERCHANDISE_CODES: tuple[str, ...] = (
    # UCI Online Retail II
    "POST",
    "DOT",
    "C2",
    "C3",
    "ADJUST",
    "ADJUST2",
    "BANK CHARGES",
    "AMAZONFEE",
    "CRUK",
    "PADS",
    "TEST001",
    "TEST002",
    "GIFT",
    "gift_0001_*",
    # shipping, fees, discounts, gift cards on platform exports
    "SHIPPING",
    "SHIPPING_FEE",
    "SHIPPING-FEE",
    "POSTAGE",
    "DELIVERY",
    "FREIGHT",
    "CARRIAGE",
    "HANDLING",
    "FEE",
    "SERVICE_FEE",
    "TIP",
    "DISCOUNT",
    "COUPON",
    "ADJUSTMENT",
    "GIFT_CARD",
    "GIFTCARD",
    "GIFT-CARD",
    "SAMPLE",
    "SAMPLES",
)

#: Columns of ``ExportResult.lines``, in order (dtypes in docs/design-notes.md).
LINE_COLUMNS: tuple[str, ...] = (
    "source_file",
    "row",
    "channel_id",
    "order_id",
    "line_no",
    "order_ts",
    "buyer_ref",
    *PII_FIELDS,
    "channel_sku",
    "quantity",
    "unit_price",
    "discount",
    "currency",
    "status",
    "refund",
    "is_guest",
    "is_merchandise",
)
QUARANTINE_COLUMNS: tuple[str, ...] = (
    "source_file",
    "row",
    "channel_id",
    "column",
    "value",
    "reason",
    "message",
)
REASONS: tuple[str, ...] = (
    "missing_value",
    "bad_timestamp",
    "implausible_timestamp",
    "bad_number",
    "nonpositive_quantity",
    "negative_price",
    "negative_discount",
    "unknown_status",
    "unknown_sku",
    "unknown_currency",
    "missing_fx_rate",
    "ragged_row",
    "conflicting_duplicate",
)
SPECIAL_TS_FORMATS: tuple[str, ...] = ("iso8601", "unix_s", "unix_ms")
MAPPING_KEYS: tuple[str, ...] = (
    "columns",
    "timestamp",
    "currency",
    "values",
    "read",
    "fill_down",
    "buyer_identity",
    "status_rules",
    "non_merchandise",
    "repeated_rows",
)
DATASET_KEYS: tuple[str, ...] = ("name", "base_currency", "timezone", "channels")
#: Keys dataset.yaml may hold besides :data:`DATASET_KEYS` (see docs/data-contract.md).
OPTIONAL_DATASET_KEYS: tuple[str, ...] = ("plausible_dates", "allow_outside_paths")
#: Without ``plausible_dates`` in dataset.yaml, order timestamps more than this many years
#: before or after the export's median order date are ``implausible_timestamp``.
PLAUSIBLE_YEARS: int = 10
CHANNEL_KEYS: tuple[str, ...] = ("id", "orders", "mapping", "crm_ids")
READ_KEYS: tuple[str, ...] = ("sep", "encoding", "decimal", "thousands")
CHANNEL_KINDS: tuple[str, ...] = ("own_store", "marketplace", "social", "offline", "cross_border")

STRING = pd.StringDtype("pyarrow")
_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")


class DatasetError(Exception):
    """A file-level problem in a dataset.

    The message reads ``<file>[, line L][, column 'C']: <problem>`` followed by
    ``expected:``, ``found:`` and ``fix:`` lines. ``file`` is relative to the dataset folder.

    Attributes:
        file: the file at fault, relative to the dataset folder.
        line: 1-based line number (header = 1) or None.
        column: the column (or YAML key) at fault, or None.
        problem, expected, found, fix: the parts of the message.
    """

    def __init__(
        self,
        file: str,
        problem: str,
        *,
        expected: str,
        found: str,
        fix: str,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        self.file, self.line, self.column = file, line, column
        self.problem, self.expected, self.found, self.fix = problem, expected, found, fix
        where = file
        if line is not None:
            where += f", line {line}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(
            f"{where}: {problem}\n  expected: {expected}\n  found: {found}\n  fix: {fix}"
        )


class DatasetWarning(UserWarning):
    """Something in a dataset folder worth a look that does not stop the read (e.g. an
    export in ``orders/`` that dataset.yaml does not list)."""


@dataclass(frozen=True)
class ReadDialect:
    """CSV dialect of an export: field separator, text encoding, decimal mark, thousands mark."""

    sep: str = ","
    encoding: str = "utf-8"
    decimal: str = "."
    thousands: str | None = None


@dataclass(frozen=True)
class StatusRule:
    """One entry of a mapping's ``status_rules:`` (exactly one condition set).

    Attributes:
        status: the canonical status a matching line takes.
        order_id_prefix: the line matches when its order id starts with this text.
        quantity: ``negative``: the line matches when its quantity is below 0.
        column, value: the line matches when export column ``column`` holds one of
            ``value`` (stripped, compared case-insensitively).
        line: the rule's line in the mapping file (for messages).
    """

    status: str
    order_id_prefix: str | None = None
    quantity: str | None = None
    column: str | None = None
    value: tuple[str, ...] = ()
    line: int | None = None


@dataclass(frozen=True)
class Mapping:
    """A parsed ``mappings/<channel>.yaml``.

    Attributes:
        file: mapping path relative to the dataset folder.
        columns: canonical field -> export column, as written in ``columns:`` (plus the
            currency column when given as ``currency: {column: ...}``).
        timestamp_format: a strftime pattern or one of iso8601, unix_s, unix_ms.
        timestamp_timezone: IANA name for naive timestamps, or None (then the channel's
            timezone from channels.csv, else the dataset's).
        currency: a fixed ISO code for every line, or None.
        values: canonical field -> {export word: canonical word}.
        read: the CSV dialect.
        currency_from_key: the currency column came from ``currency: {column: ...}``.
        currency_default: ``currency: {column: ..., default: XXX}``: the code of blank cells.
        fill_down: canonical fields whose blank cells take the previous non-blank value of
            the same order (file order).
        buyer_identity: ``column`` or ``none`` (see :data:`BUYER_IDENTITIES`).
        status_rules: rules deriving the status, first match wins, before ``values: status``.
        non_merchandise: the mapping's extra non-merchandise channel codes (glob patterns).
        repeated_rows: ``duplicate`` or ``keep`` (see :data:`REPEATED_ROWS`).
    """

    file: str
    columns: dict[str, str]
    timestamp_format: str = "iso8601"
    timestamp_timezone: str | None = None
    currency: str | None = None
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    read: ReadDialect = ReadDialect()
    currency_from_key: bool = False  # the currency column came from `currency: {column: ..}`
    currency_default: str | None = None  # `currency: {column: .., default: XXX}`
    fill_down: tuple[str, ...] = ()
    buyer_identity: str = "column"
    status_rules: tuple[StatusRule, ...] = ()
    non_merchandise: tuple[str, ...] = ()
    repeated_rows: str = "duplicate"

    def resolve(self, header: Sequence[str]) -> dict[str, str]:
        """Field -> export column actually used: explicit ``columns`` plus, for unmapped
        fields, an export column named exactly like the field (not for ``currency`` when the
        mapping fixes a code)."""
        out = dict(self.columns)
        for f in CANONICAL_FIELDS:
            if f in out or f not in header:
                continue
            if f == "currency" and self.currency is not None:
                continue
            if f == "buyer_ref" and self.buyer_identity == "none":
                continue
            if f in ("unit_price", "line_total") and ({"unit_price", "line_total"} & set(out)):
                continue
            out[f] = f
        return out


@dataclass(frozen=True)
class ChannelSpec:
    """One channel of ``dataset.yaml``.

    Attributes:
        id: channel id.
        orders: absolute path of the export.
        source_file: the export's path relative to the dataset folder (POSIX).
        mapping: the parsed mapping.
        crm_ids: True when the export's buyer_ref is a CRM customer_id.
        header: the export's column names (BOM and surrounding spaces removed).
    """

    id: str
    orders: Path
    source_file: str
    mapping: Mapping
    crm_ids: bool
    header: tuple[str, ...]


def _valid_tz(name: Any) -> bool:
    """True when ``name`` is an IANA timezone name the system's tz database knows."""
    if not isinstance(name, str) or not name:
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True
