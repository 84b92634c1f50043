"""Channel mappings (``mappings/<channel>.yaml``): parsed and checked section by section
(columns, timestamp, currency, values, read), then checked against the export's header.

Every problem raises :class:`DatasetError` naming the mapping file and the line of the key
at fault; an unknown key or field also lists the export's columns, to help fix it.
"""

from __future__ import annotations

import codecs
import csv
import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from channelops.ingest.contract import (
    _CURRENCY_RE,
    BUYER_IDENTITIES,
    CANONICAL_FIELDS,
    MAPPING_KEYS,
    READ_KEYS,
    REPEATED_ROWS,
    SPECIAL_TS_FORMATS,
    STATUSES,
    DatasetError,
    Mapping,
    ReadDialect,
    StatusRule,
    _valid_tz,
)
from channelops.ingest.csvread import _read_header
from channelops.ingest.yamlfile import _check_keys, _keys, _load_yaml

#: key path -> 1-based line of the key in the mapping file
_Lines = dict[tuple, int]


def _load_mapping(root: Path, rel: str, cid: str, orders_rel: str) -> Mapping:
    """Parse and check one mapping file; unknown keys and fields also list the export's
    columns (read best-effort with the mapping's dialect) to help fix them."""
    try:
        return _parse_mapping(root, rel, cid)
    except DatasetError as e:
        if e.file != rel or not e.problem.startswith("unknown"):
            raise
        cols = _export_columns_hint(root, rel, orders_rel)
        raise DatasetError(
            e.file,
            e.problem,
            expected=e.expected,
            found=e.found,
            fix=f"{e.fix}; {orders_rel} has columns: {cols}",
            line=e.line,
            column=e.column,
        ) from None


def _export_columns_hint(root: Path, rel: str, orders_rel: str) -> str:
    """The export's column names, comma-separated, read with the separator and encoding the
    mapping declares (if it can be read at all), else "(unreadable)"."""
    try:
        data = yaml.safe_load((root / rel).read_text(encoding="utf-8-sig"))
        rd = data.get("read") if isinstance(data, dict) else None
        rd = rd if isinstance(rd, dict) else {}
        dialect = ReadDialect(
            sep=str(rd.get("sep", ",")), encoding=str(rd.get("encoding", "utf-8"))
        )
        return ", ".join(_read_header(root / orders_rel, dialect, orders_rel, rel))
    except (DatasetError, OSError, LookupError, csv.Error, TypeError, yaml.YAMLError):
        return "(unreadable)"


def _parse_mapping(root: Path, rel: str, cid: str) -> Mapping:
    """Parse and check the mapping ``rel`` of channel ``cid``, section by section."""
    data, lines = _read_mapping_yaml(root, rel, cid)
    columns = _columns_section(data, rel, lines)
    fmt, ts_tz = _timestamp_section(data, rel, lines)
    currency, currency_column = _currency_section(data, rel, lines, columns)
    if currency_column is not None:
        columns["currency"] = currency_column
    values = _values_section(data, rel, lines)
    dialect = _read_section(data, rel, lines)
    buyer_identity = _choice(data, "buyer_identity", BUYER_IDENTITIES, rel, lines)
    if buyer_identity == "none" and "buyer_ref" in columns:
        raise DatasetError(
            rel,
            "buyer_identity is none but columns maps buyer_ref",
            line=lines.get(("buyer_identity",)),
            expected="either a buyer_ref column or `buyer_identity: none`",
            found=f"buyer_identity: none and columns.buyer_ref: {columns['buyer_ref']!r}",
            fix="remove `buyer_ref:` from columns, or remove `buyer_identity: none`",
        )
    return Mapping(
        file=rel,
        columns=columns,
        timestamp_format=fmt,
        timestamp_timezone=ts_tz,
        currency=currency,
        values=values,
        read=dialect,
        currency_from_key=currency_column is not None,
        currency_default=_currency_default(data, rel, lines),
        fill_down=_fill_down_section(data, rel, lines),
        buyer_identity=buyer_identity,
        status_rules=_status_rules_section(data, rel, lines),
        non_merchandise=_non_merchandise_section(data, rel, lines),
        repeated_rows=_choice(data, "repeated_rows", REPEATED_ROWS, rel, lines),
    )


def _choice(data: dict[str, Any], key: str, choices: Sequence[str], rel: str, lines: _Lines) -> str:
    """A key whose value is one of ``choices`` (the first is the default)."""
    v = data.get(key, choices[0])
    if not isinstance(v, str) or v not in choices:
        raise DatasetError(
            rel,
            f"{key} is not one of {', '.join(choices)}",
            line=lines.get((key,)),
            expected=" or ".join(choices),
            found=repr(v),
            fix=f"write `{key}: {choices[0]}` (the default) or `{key}: {choices[-1]}`",
        )
    return v


def _currency_default(data: dict[str, Any], rel: str, lines: _Lines) -> str | None:
    """``currency: {column: ..., default: XXX}``: the ISO code of blank currency cells."""
    cur = data.get("currency")
    if not isinstance(cur, dict) or "default" not in cur:
        return None
    code = cur["default"]
    if not isinstance(code, str) or not _CURRENCY_RE.match(code):
        raise DatasetError(
            rel,
            "currency.default is not an ISO 4217 code",
            line=lines.get(("currency", "default"), lines.get(("currency",))),
            expected="a code such as USD",
            found=repr(code),
            fix="write e.g. `currency: {column: Currency, default: USD}`",
        )
    return code


def _string_list(data: dict[str, Any], key: str, rel: str, lines: _Lines, example: str) -> list:
    """A key holding a list of non-empty texts (numbers become their text); [] when absent."""
    v = data.get(key)
    if v is None:
        return []
    if not isinstance(v, list):
        raise DatasetError(
            rel,
            f"{key} is not a list",
            line=lines.get((key,)),
            expected=f"a list such as `{key}: {example}`",
            found=repr(v),
            fix=f"write `{key}: {example}`",
        )
    out = []
    for i, item in enumerate(v):
        if isinstance(item, (dict, list)) or item is None or not str(item).strip():
            raise DatasetError(
                rel,
                f"{key} item {i + 1} is not a text",
                line=lines.get((key, i), lines.get((key,))),
                expected="one text per item",
                found=repr(item),
                fix=f"write each item of {key} as plain text, e.g. `{key}: {example}`",
            )
        out.append(_yaml_word(item))
    return out


def _fill_down_section(data: dict[str, Any], rel: str, lines: _Lines) -> tuple[str, ...]:
    """``fill_down:``: canonical fields (not order_id) filled down within an order."""
    fields = _string_list(data, "fill_down", rel, lines, "[currency, buyer_email, status]")
    for i, f in enumerate(fields):
        if f not in CANONICAL_FIELDS or f == "order_id":
            close = difflib.get_close_matches(f, CANONICAL_FIELDS, n=1)
            guess = f" (did you mean {close[0]!r}?)" if close and close[0] != "order_id" else ""
            raise DatasetError(
                rel,
                f"fill_down names {f!r}, which is not a canonical field it can fill",
                line=lines.get(("fill_down", i), lines.get(("fill_down",))),
                expected=f"canonical fields other than order_id: {', '.join(CANONICAL_FIELDS[1:])}",
                found=repr(f),
                fix=f"write a canonical field{guess} or remove it from fill_down",
            )
    return tuple(dict.fromkeys(fields))


def _non_merchandise_section(data: dict[str, Any], rel: str, lines: _Lines) -> tuple[str, ...]:
    """``non_merchandise:``: the channel's codes of non-merchandise lines (glob patterns)."""
    return tuple(_string_list(data, "non_merchandise", rel, lines, '[POST, "gift_*"]'))


_RULE_CONDITIONS = ("order_id_prefix", "quantity", "column")


def _status_rules_section(data: dict[str, Any], rel: str, lines: _Lines) -> tuple[StatusRule, ...]:
    """``status_rules:``: a list of {<one condition>, status}; first match wins."""
    rules = data.get("status_rules")
    if rules is None:
        return ()
    if not isinstance(rules, list):
        raise DatasetError(
            rel,
            "status_rules is not a list",
            line=lines.get(("status_rules",)),
            expected='a list such as `- {order_id_prefix: "C", status: cancelled}`',
            found=repr(rules),
            fix="write one `- {condition, status}` item per rule under `status_rules:`",
        )
    return tuple(_status_rule(r, i, rel, lines) for i, r in enumerate(rules))


def _status_rule(r: Any, i: int, rel: str, lines: _Lines) -> StatusRule:
    """Item ``i`` of ``status_rules:``: exactly one condition and a canonical status."""
    line = lines.get(("status_rules", i), lines.get(("status_rules",)))
    example = (
        '{order_id_prefix: "C", status: cancelled}, {quantity: negative, status: returned} '
        'or {column: "Financial Status", value: [refunded], status: returned}'
    )

    def bad(problem: str, found: Any) -> DatasetError:
        return DatasetError(
            rel,
            f"status_rules item {i + 1}: {problem}",
            line=line,
            expected=example,
            found=repr(found),
            fix=f"rewrite item {i + 1} of status_rules like one of the expected forms",
        )

    if not isinstance(r, dict):
        raise bad("not a mapping", r)
    allowed = (*_RULE_CONDITIONS, "value", "status")
    unknown = [k for k in r if k not in allowed]
    if unknown:
        raise bad(f"unknown key {unknown[0]!r} (keys: {', '.join(allowed)})", unknown[0])
    conds = [k for k in _RULE_CONDITIONS if k in r]
    if len(conds) != 1:
        raise bad(f"needs exactly one of {', '.join(_RULE_CONDITIONS)}", sorted(r))
    status = r.get("status")
    if status not in STATUSES:
        raise bad(f"status must be one of {', '.join(STATUSES)}", status)
    cond = conds[0]
    if cond == "order_id_prefix":
        prefix = r["order_id_prefix"]
        if isinstance(prefix, (dict, list, bool)) or prefix is None or not str(prefix).strip():
            raise bad("order_id_prefix is not a text", prefix)
        if "value" in r:
            raise bad("value goes with column, not with order_id_prefix", r["value"])
        return StatusRule(status=status, order_id_prefix=_yaml_word(prefix), line=line)
    if cond == "quantity":
        if r["quantity"] != "negative":
            raise bad("quantity must be `negative`", r["quantity"])
        if "value" in r:
            raise bad("value goes with column, not with quantity", r["value"])
        return StatusRule(status=status, quantity="negative", line=line)
    col = r["column"]
    if not isinstance(col, str) or not col.strip():
        raise bad("column is not a column name", col)
    vals = r.get("value")
    vals = vals if isinstance(vals, list) else [vals]
    if not vals or any(v is None or isinstance(v, (dict, list)) for v in vals):
        raise bad("column needs a value (a word or a list of words)", r.get("value"))
    return StatusRule(
        status=status,
        column=col.strip(),
        value=tuple(_yaml_word(v).lower() for v in vals),
        line=line,
    )


def _read_mapping_yaml(root: Path, rel: str, cid: str) -> tuple[dict[str, Any], _Lines]:
    """The mapping file as a YAML mapping of known keys, and the line of every key."""
    path = root / rel
    if not path.is_file():
        raise DatasetError(
            rel,
            "file not found",
            expected=f"the mapping of channel {cid!r} named in dataset.yaml",
            found=f"no such file in {root}",
            fix=f"write the mapping at {rel} or correct `mapping:` of channel "
            f"{cid!r} in dataset.yaml",
        )
    data, lines = _load_yaml(path, rel)
    if not isinstance(data, dict):
        raise DatasetError(
            rel,
            "not a YAML mapping",
            expected=f"keys among {', '.join(MAPPING_KEYS)}",
            found=type(data).__name__,
            fix="write the mapping as `columns:` etc. (see DESIGN.md)",
        )
    _check_keys(data, MAPPING_KEYS, rel, lines, (), "a mapping")
    return data, lines


def _columns_section(data: dict[str, Any], rel: str, lines: _Lines) -> dict[str, str]:
    """``columns:``: canonical field -> export column (stripped)."""
    cols = data.get("columns") or {}
    if not isinstance(cols, dict):
        raise DatasetError(
            rel,
            "columns is not a mapping",
            line=lines.get(("columns",)),
            expected="canonical field: export column",
            found=repr(cols),
            fix="write one `field: column` per line under `columns:`",
        )
    out = {str(f): _column_entry(f, c, rel, lines) for f, c in cols.items()}
    if "unit_price" in out and "line_total" in out:
        raise DatasetError(
            rel,
            "columns maps both unit_price and line_total",
            line=lines.get(("columns", "line_total")),
            expected="exactly one of unit_price (price per unit) or line_total (the line's total)",
            found=f"unit_price: {out['unit_price']!r}, line_total: {out['line_total']!r}",
            fix="keep the one the export holds; unit_price is line_total / quantity",
        )
    return out


def _column_entry(f: Any, c: Any, rel: str, lines: _Lines) -> str:
    """One entry ``f: c`` of ``columns:``: ``f`` a canonical field, ``c`` a column name.
    Returns the column name, stripped."""
    if f not in CANONICAL_FIELDS:
        hint = " (channel_id comes from dataset.yaml)" if f == "channel_id" else ""
        close = difflib.get_close_matches(str(f), CANONICAL_FIELDS, n=1)
        guess = f" (did you mean {close[0]!r}?)" if close else ""
        raise DatasetError(
            rel,
            f"unknown canonical field {f!r} in columns{hint}",
            line=lines.get(("columns", f)),
            expected=f"fields among {', '.join(CANONICAL_FIELDS)}",
            found=repr(f),
            fix=f"rename {f!r} to a canonical field{guess} or remove it",
        )
    if not isinstance(c, str) or not c.strip():
        raise DatasetError(
            rel,
            f"columns.{f} is not a column name",
            line=lines.get(("columns", f)),
            expected="the export's column name as text",
            found=repr(c),
            fix=f"write the export's column name after `{f}:` (quote it if it looks like a number)",
        )
    return c.strip()


def _timestamp_section(
    data: dict[str, Any],
    rel: str,
    lines: _Lines,
) -> tuple[str, str | None]:
    """``timestamp:`` (a format, or {format, timezone}): the format (default iso8601) and
    the timezone of naive timestamps, or None."""
    ts = data.get("timestamp")
    fmt, ts_tz = "iso8601", None
    if isinstance(ts, str):
        fmt = ts
    elif isinstance(ts, dict):
        _check_keys(ts, ("format", "timezone"), rel, lines, ("timestamp",), "timestamp")
        fmt = ts.get("format") or "iso8601"
        ts_tz = ts.get("timezone")
    elif ts is not None:
        raise DatasetError(
            rel,
            "timestamp is not a mapping",
            line=lines.get(("timestamp",)),
            expected="{format: ..., timezone: ...}",
            found=repr(ts),
            fix='write `timestamp: {format: "%Y-%m-%d %H:%M:%S", timezone: Asia/Shanghai}`',
        )
    if not isinstance(fmt, str) or (fmt not in SPECIAL_TS_FORMATS and "%" not in fmt):
        raise DatasetError(
            rel,
            "timestamp.format is not a strftime pattern or special word",
            line=lines.get(("timestamp", "format")),
            expected="a strftime pattern such as %Y-%m-%d %H:%M:%S, or iso8601, unix_s, unix_ms",
            found=repr(fmt),
            fix="correct timestamp.format",
        )
    if ts_tz is not None and not _valid_tz(ts_tz):
        raise DatasetError(
            rel,
            "timestamp.timezone is not an IANA timezone name",
            line=lines.get(("timestamp", "timezone")),
            expected="an IANA name such as Asia/Shanghai",
            found=repr(ts_tz),
            fix="write an IANA timezone name, e.g. `Europe/Berlin`",
        )
    return fmt, ts_tz


def _currency_section(
    data: dict[str, Any], rel: str, lines: _Lines, columns: dict[str, str]
) -> tuple[str | None, str | None]:
    """``currency:`` (an ISO code for every line, or {column: ...}): ``(code, column)``,
    at most one of them set; ``columns`` (from ``columns:``) must not map currency too."""
    cur = data.get("currency")
    if isinstance(cur, dict):
        return None, _currency_column(cur, rel, lines, columns)
    if cur is not None:
        return _currency_code(cur, rel, lines, columns), None
    return None, None


def _currency_column(cur: dict[str, Any], rel: str, lines: _Lines, columns: dict[str, str]) -> str:
    """``currency: {column: ...}``: the export column holding each line's currency."""
    _check_keys(cur, ("column", "default"), rel, lines, ("currency",), "currency")
    col = cur.get("column")
    if not isinstance(col, str) or not col.strip():
        raise DatasetError(
            rel,
            "currency.column is not a column name",
            line=lines.get(("currency",)),
            expected="{column: <export column>}",
            found=repr(cur),
            fix="write `currency: {column: <export column>}`",
        )
    if "currency" in columns and columns["currency"] != col.strip():
        raise DatasetError(
            rel,
            "currency is mapped twice",
            line=lines.get(("currency",)),
            expected="either columns.currency or currency: {column: ...}",
            found=f"{columns['currency']!r} and {col.strip()!r}",
            fix="keep one of the two",
        )
    return col.strip()


def _currency_code(cur: Any, rel: str, lines: _Lines, columns: dict[str, str]) -> str:
    """``currency: <code>``: the ISO 4217 code of every line."""
    if not isinstance(cur, str) or not _CURRENCY_RE.match(cur):
        raise DatasetError(
            rel,
            "currency is not an ISO 4217 code",
            line=lines.get(("currency",)),
            expected="a code such as CNY, or {column: <export column>}",
            found=repr(cur),
            fix="write e.g. `currency: USD`",
        )
    if "currency" in columns:
        raise DatasetError(
            rel,
            "currency is mapped twice",
            line=lines.get(("currency",)),
            expected="either a currency code or a currency column",
            found=f"currency: {cur} and columns.currency: {columns['currency']}",
            fix="keep one of the two",
        )
    return cur


def _values_section(data: dict[str, Any], rel: str, lines: _Lines) -> dict[str, dict[str, str]]:
    """``values:``: canonical field -> {export word: canonical word}."""
    vals = data.get("values") or {}
    if not isinstance(vals, dict):
        raise DatasetError(
            rel,
            "values is not a mapping",
            line=lines.get(("values",)),
            expected="field: {export word: canonical word}",
            found=repr(vals),
            fix="write e.g. `values: {status: {已付款: paid}}`",
        )
    return {f: _value_words(f, m, rel, lines) for f, m in vals.items()}


def _value_words(f: Any, m: Any, rel: str, lines: _Lines) -> dict[str, str]:
    """One entry of ``values:``: the word map of field ``f`` as text; status words must
    map to canonical statuses."""
    if f not in CANONICAL_FIELDS:
        raise DatasetError(
            rel,
            f"unknown canonical field {f!r} in values",
            line=lines.get(("values", f)),
            expected=f"fields among {', '.join(CANONICAL_FIELDS)}",
            found=repr(f),
            fix=f"rename {f!r} or remove it",
        )
    if not isinstance(m, dict):
        raise DatasetError(
            rel,
            f"values.{f} is not a mapping",
            line=lines.get(("values", f)),
            expected="{export word: canonical word}",
            found=repr(m),
            fix=f"write `{f}: {{word: canonical}}`",
        )
    words = {_yaml_word(k): _yaml_word(v) for k, v in m.items()}
    if f == "status":
        bad = sorted({v for v in words.values() if v not in STATUSES})
        if bad:
            raise DatasetError(
                rel,
                "values.status maps to a word that is not a status",
                line=lines.get(("values", f)),
                expected=f"targets among {', '.join(STATUSES)}",
                found=", ".join(repr(b) for b in bad),
                fix="map every export word to a canonical status",
            )
    return words


def _read_section(data: dict[str, Any], rel: str, lines: _Lines) -> ReadDialect:
    """``read:``: the CSV dialect (separator, encoding, decimal and thousands marks)."""
    rd = data.get("read") or {}
    if not isinstance(rd, dict):
        raise DatasetError(
            rel,
            "read is not a mapping",
            line=lines.get(("read",)),
            expected="{sep, encoding, decimal, thousands}",
            found=repr(rd),
            fix='write e.g. `read: {sep: ";", decimal: ","}`',
        )
    _check_keys(rd, READ_KEYS, rel, lines, ("read",), "read")
    dialect = ReadDialect(
        sep=rd.get("sep", ","),
        encoding=rd.get("encoding", "utf-8"),
        decimal=rd.get("decimal", "."),
        thousands=rd.get("thousands"),
    )
    _check_dialect(dialect, rel, lines)
    return dialect


def _check_dialect(dialect: ReadDialect, rel: str, lines: _Lines) -> None:
    """Separator and marks single characters (not a quote or line break), decimal and
    thousands marks different, the encoding known to Python."""
    for k in ("sep", "decimal", "thousands"):
        v = getattr(dialect, k)
        if v is None and k == "thousands":
            continue
        if not isinstance(v, str) or len(v) != 1 or v in '\r\n"':
            raise DatasetError(
                rel,
                f"read.{k} is not a single character",
                line=lines.get(("read", k)),
                expected="one character such as , ; . or a tab",
                found=repr(v),
                fix=f"write read.{k} as one quoted character",
            )
    try:
        codecs.lookup(dialect.encoding)
    except (LookupError, TypeError):
        raise DatasetError(
            rel,
            "read.encoding is not a known text encoding",
            line=lines.get(("read", "encoding")),
            expected="an encoding name such as utf-8, gbk, gb18030, latin-1",
            found=repr(dialect.encoding),
            fix="correct read.encoding",
        ) from None
    if dialect.decimal == dialect.thousands:
        raise DatasetError(
            rel,
            "read.decimal and read.thousands are the same character",
            line=lines.get(("read", "thousands")),
            expected="two different characters",
            found=repr(dialect.decimal),
            fix="correct one of them",
        )


def _yaml_word(v: Any) -> str:
    """A YAML scalar as the text it stands for in a CSV (``true`` -> "true", 1 -> "1")."""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v).strip()


def _check_mapping_against_header(m: Mapping, header: Sequence[str], orders_rel: str) -> None:
    """DatasetError when the mapping names a column the export lacks, or when a required
    field has no column (neither mapped nor named like the field)."""
    cols = ", ".join(header)
    for f, c in m.columns.items():
        if c not in header:
            key = "currency.column" if f == "currency" and m.currency_from_key else f"columns.{f}"
            raise DatasetError(
                m.file,
                f"{key} names column {c!r}, which {orders_rel} does not have",
                column=c,
                expected=f"one of the export's columns: {cols}",
                found=repr(c),
                fix=f"correct {key} in {m.file} to one of the export's columns",
            )
    for rule in m.status_rules:
        if rule.column is not None and rule.column not in header:
            raise DatasetError(
                m.file,
                f"status_rules names column {rule.column!r}, which {orders_rel} does not have",
                line=rule.line,
                column=rule.column,
                expected=f"one of the export's columns: {cols}",
                found=repr(rule.column),
                fix=f"correct the rule's column in {m.file}",
            )
    resolved = m.resolve(header)
    for f in m.fill_down:
        if f not in resolved:
            raise DatasetError(
                m.file,
                f"fill_down names {f!r}, which has no column in {orders_rel}",
                expected=f"fields mapped under columns: {_keys(resolved)}",
                found=repr(f),
                fix=f"map {f} under `columns:` or remove it from fill_down",
            )
    for f in ("order_id", "order_ts", "buyer_ref", "channel_sku", "quantity", "unit_price"):
        if f == "buyer_ref" and m.buyer_identity == "none":
            continue
        if f == "unit_price" and "line_total" in resolved:
            continue
        if f not in resolved:
            price = f == "unit_price"
            raise DatasetError(
                orders_rel,
                f"missing required column for {f!r}" + (" (or 'line_total')" if price else ""),
                line=1,
                expected=f"a column mapped to {f} in {m.file} (or a column named {f!r})",
                found=f"columns {cols}; {m.file} maps {_keys(m.columns)}",
                fix=f"add `{f}: <export column>` under `columns:` in {m.file}"
                + (
                    " (or `buyer_identity: none` when the export has no buyer)"
                    if f == "buyer_ref"
                    else ""
                )
                + (" (or `line_total: <column>` when it holds the line's total)" if price else ""),
            )
