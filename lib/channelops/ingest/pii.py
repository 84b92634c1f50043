"""Personal data on order lines: normalising e-mails and phones, masking, dropping.

Names, e-mails, phones and addresses leave the intake only in the buyer records that 03
resolves identities with, and end in 03's golden ``customers`` table and the warehouse.
"""

from __future__ import annotations

import pandas as pd

__all__ = [
    "PII_COLUMNS",
    "LINE_PII_COLUMNS",
    "normalise_phone",
    "normalise_email",
    "mask_email",
    "mask_phone",
    "mask_text",
    "drop_pii",
    "redact_quarantine",
    "mask_field",
]


#: Personal columns of the golden ``customers`` table (and of :func:`buyer_records`).
PII_COLUMNS = ("name", "email", "phone", "address")


#: The same on canonical order lines; stage 03 drops them from ``order_lines``.
LINE_PII_COLUMNS = ("buyer_name", "buyer_email", "buyer_phone", "ship_address")


def normalise_phone(phone: pd.Series) -> pd.Series:
    """Digits only, country code 86 and leading zeros of mainland numbers removed.

    ``'+86 138-0013-8000'``, ``'86 13800138000'`` and ``'138 0013 8000'`` all become
    ``'13800138000'``. Values with fewer than 7 digits become ``<NA>``.
    """
    digits = phone.astype("string").str.replace(r"\D", "", regex=True)
    digits = digits.str.replace(r"^(?:0086|86)(?=1\d{10}$)", "", regex=True)
    return digits.where(digits.str.len() >= 7)


def normalise_email(email: pd.Series) -> pd.Series:
    """Lower case, surrounding spaces removed; values without ``@`` become ``<NA>``."""
    e = email.astype("string").str.strip().str.lower().str.replace(r"\s+", "", regex=True)
    return e.where(e.str.contains("@", regex=False, na=False))


def mask_email(email: pd.Series) -> pd.Series:
    """First character of the local part and the domain: ``'j***@example.com'``.

    Missing values stay missing; text without ``@`` is masked as by :func:`mask_text`.
    """
    e = email.astype("string")
    parts = e.str.extract(r"^\s*(?P<first>[^@\s])[^@]*@(?P<domain>.+?)\s*$")
    masked = parts["first"] + "***@" + parts["domain"]
    return masked.where(parts["first"].notna(), mask_text(e))


def mask_phone(phone: pd.Series) -> pd.Series:
    """Only the last two digits kept: ``'+86 138-0013-8000'`` -> ``'*********00'``.

    Missing values stay missing; values with fewer than 3 digits become ``'***'``.
    """
    digits = phone.astype("string").str.replace(r"\D", "", regex=True)
    masked = ("*" * 9) + digits.str[-2:]
    return masked.where(digits.str.len() >= 3, "***").where(phone.notna())


def mask_text(text: pd.Series) -> pd.Series:
    """First character and ``***`` (names, addresses): ``'王小明'`` -> ``'王***'``."""
    t = text.astype("string").str.strip()
    return (t.str[:1] + "***").where(t.str.len() > 0)


def mask_field(field: str, values: pd.Series) -> pd.Series:
    """``values`` of the canonical personal ``field`` masked as its kind is (e-mails by
    :func:`mask_email`, phones by :func:`mask_phone`, names, addresses and anything else by
    :func:`mask_text`)."""
    masker = {"buyer_email": mask_email, "buyer_phone": mask_phone}.get(field, mask_text)
    return masker(values)


def drop_pii(table: pd.DataFrame, columns: tuple[str, ...] = PII_COLUMNS) -> pd.DataFrame:
    """The table without its personal columns (names, e-mails, phones, addresses).

    Args:
        table: e.g. the golden ``customers`` table from :func:`golden_customers`.
        columns: the columns to remove where present (default :data:`PII_COLUMNS`).

    Returns:
        A copy without those columns; ``customer_id``, ``postcode``, ``city`` and the order
        history stay (pseudonymous; postcode and city locate a customer only to a district).
    """
    return table.drop(columns=[c for c in columns if c in table.columns])


def redact_quarantine(quarantine: pd.DataFrame, dataset=None) -> pd.DataFrame:
    """The quarantine without personal data in its ``value`` column.

    A ``ragged_row`` carries the whole raw export line (names, phones, addresses): its value
    is withheld (the file and line say where to look). A value from an export column mapped
    to a personal field (buyer name, e-mail, phone, address) is masked.

    Args:
        quarantine: from :func:`channelops.ingest.dataset.read_export` (concatenated).
        dataset: the :class:`channelops.ingest.dataset.Dataset`, to know which export columns are
            personal; without it only ragged rows are redacted.

    Returns:
        A copy with ``value`` redacted where needed.
    """
    q = quarantine.copy()
    if q.empty:
        return q
    value = q["value"].astype("string")
    ragged = (q["reason"] == "ragged_row").to_numpy(dtype=bool, na_value=False)
    value = value.where(~ragged, "<raw line withheld: may hold personal data>")
    if dataset is not None:
        maskers = {
            "buyer_email": mask_email,
            "buyer_phone": mask_phone,
            "buyer_name": mask_text,
            "ship_address": mask_text,
        }
        for ch in dataset.channels:
            fields = ch.mapping.resolve(list(ch.header))
            for field, masker in maskers.items():
                column = fields.get(field)
                if column is None:
                    continue
                hit = ((q["channel_id"] == ch.id) & (q["column"] == column)).to_numpy(
                    dtype=bool, na_value=False
                )
                if hit.any():
                    value[hit] = masker(value[hit])
    q["value"] = value
    return q
