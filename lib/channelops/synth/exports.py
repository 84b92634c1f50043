"""Channel exports in their own shapes: ids, PII variants, formats, duplicates, invalid rows.

Everything is built column-wise as arrow string arrays and appended to the export CSV with
no quoting (no generated value ever contains a separator, a quote or a newline), so a
duplicated row is a byte-exact copy of its original.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from . import geo, timefmt
from .presets import ChannelPreset, ExportStyle
from .simulate import STATUSES, Lines
from .world import Customers, cat, scramble, sku_code, to_str

DUP_RATE = 0.01
INVALID_RATE = 0.003
ZH_STYLES = {"zh"}


@dataclass
class ExportState:
    """Running state of one channel's export file across chunks."""

    preset: ChannelPreset
    style: ExportStyle
    index: int
    path: str
    rel: str
    orders: int = 0
    rows: int = 0  # data rows written so far
    identity: list[pd.DataFrame] = field(default_factory=list)
    duplicates: list[pd.DataFrame] = field(default_factory=list)
    invalid: list[pd.DataFrame] = field(default_factory=list)


def header_line(style: ExportStyle) -> str:
    """The export's header line (with its separator), ending in a newline."""
    return style.sep.join(col for _, col in style.columns) + "\n"


def mapping_dict(ch: ChannelPreset, style: ExportStyle) -> dict:
    """The mapping YAML content of a channel (see DESIGN.md and docs/design-notes.md)."""
    cols = {f: c for f, c in style.columns if not f.startswith("_")}
    out: dict = {"columns": cols, "timestamp": {"format": style.ts_format, "timezone": ch.timezone}}
    out["currency"] = {"column": cols["currency"]} if "currency" in cols else ch.currencies[0]
    if style.status is not None and "status" in cols:
        out["values"] = {"status": {w: s for s, w in style.status.items()}}
    if style.sep != "," or style.decimal != ".":
        out["read"] = {"sep": style.sep, "encoding": "utf-8", "decimal": style.decimal}
    return out


def buyer_refs(style: ExportStyle, idx: np.ndarray, salt: int, first: pa.Array) -> pa.Array:
    """Channel buyer ids: CRM ids on CRM channels, unique platform ids elsewhere."""
    s = scramble(idx, 30_011 + 2 * salt)
    r = style.ref
    if r == "crm":
        return crm_ids(idx)
    if r == "tb":
        return cat("tb", to_str(s, 8))
    if r == "jd":
        return cat("jd_", to_str(s, 8), "a")
    if r == "dy":
        return to_str(71_000_000_000 + s * 3)
    if r == "ks":
        return cat("ks", to_str(s, 9))
    if r == "xhs":
        return cat("5f", to_str(s, 8), "c")
    if r == "amz":
        return cat("A", to_str(s, 8), "KQ")
    if r == "eu":
        return cat("K-", to_str(s, 8))
    if r == "shp":
        return cat(pc.utf8_lower(first), "_", to_str(s, 8))
    if r == "ae":
        return cat("ae", to_str(s, 8), "x")
    raise ValueError(r)


def crm_ids(idx: np.ndarray) -> pa.Array:
    """CRM customer ids (= true customer ids) of global customer numbers."""
    return cat("C", to_str(idx, 8))


def _order_ids(style: ExportStyle, k: np.ndarray, utc: np.ndarray, tz: str) -> pa.Array:
    o = style.oid
    if o == "web":
        return cat("W", to_str(k + 1, 9))
    if o == "num16":
        return to_str(2_100_000_000_000_000 + k * 13)
    if o == "num12":
        return to_str(280_000_000_000 + k * 7)
    if o == "num19":
        return to_str(6_900_000_000_000_000_000 + k * 101)
    if o == "pos":
        return cat("R", to_str(k + 1, 9))
    if o == "amz":
        return cat(
            to_str(111 + k % 889),
            "-",
            to_str(scramble(k // 889, 7_001), 8),
            "-",
            to_str((k * 7919) % 10_000_000, 7),
        )
    if o == "eu":
        return cat("DE", to_str(k + 1, 10))
    if o == "shp":
        return cat(timefmt.strftime(utc, "%y%m%d", tz), to_str(k + 1, 7))
    raise ValueError(o)


def format_ts(utc: np.ndarray, style: ExportStyle, tz: str) -> pa.Array:
    """Timestamps as the export writes them (see the channel's mapping)."""
    f = style.ts_format
    if f == "unix_s":
        return to_str(utc)
    if f == "iso8601":
        if tz == "UTC":
            return timefmt.strftime(utc, "%Y-%m-%dT%H:%M:%SZ", tz)
        return timefmt.strftime(utc, "%Y-%m-%dT%H:%M:%S%:z", tz)
    return timefmt.strftime(utc, f, tz)


def money(cents: np.ndarray, decimal: str) -> pa.Array:
    """Cents as a decimal string with two decimals."""
    neg = cents < 0
    a = np.abs(cents)
    s = cat(to_str(a // 100), decimal, to_str(a % 100, 2))
    return pc.if_else(pa.array(neg), cat("-", s), s) if neg.any() else s


def _phone(style: str, cc: pa.Array, d: pa.Array, is_cn: pa.Array, alt: np.ndarray) -> pa.Array:
    def part(a: int, b: int) -> pa.Array:
        return pc.utf8_slice_codeunits(d, a, b)

    cn_fmt = {
        "plain": d,
        "plus86": cat("+86 ", part(0, 3), " ", part(3, 7), " ", part(7, 11)),
        "dash": cat(part(0, 3), "-", part(3, 7), "-", part(7, 11)),
        "plus86compact": cat("+86", d),
        "spaces": cat(part(0, 3), " ", part(3, 7), " ", part(7, 11)),
        "intl": cat("+86 ", d),
    }
    alt_fmt = cat("86-", part(0, 3), "-", part(3, 11))
    cn = pc.if_else(
        pa.array(alt), alt_fmt if style != "dash" else cn_fmt["spaces"], cn_fmt.get(style, d)
    )
    intl = pc.if_else(
        pa.array(alt),
        cat("+", cc, "-", part(0, 3), "-", part(3, 20)),
        cat("+", cc, " ", part(0, 3), " ", part(3, 20)),
    )
    return pc.if_else(is_cn, cn, intl)


def buyer_pii(
    style: ExportStyle, cust: Customers, rows: np.ndarray, rng: np.random.Generator
) -> dict[str, pa.Array]:
    """PII of channel buyer records of chunk customers `rows`, as the channel shows it.

    Variations: name typos and spacing (Chinese), case and word order (Latin), phone
    formats, missing phones (rare), missing emails (common on some channels), email case and
    spaces. A record without phone always carries its email when the export has one.
    """
    n = len(rows)
    sel = pa.array(rows)
    pii = {k: v.take(sel) for k, v in cust.pii.items()}
    u = rng.random((6, n))
    if style.name in ZH_STYLES:
        nm = pc.if_else(pii["is_cn"], pii["name_zh"], pii["name_latin"])
        typo = pa.array(u[0] < 0.04)
        tchar = pa.array(list(geo.TYPO_CHARS)).take(
            pa.array(rng.integers(0, len(geo.TYPO_CHARS), n))
        )
        nm = pc.if_else(typo, cat(pc.utf8_slice_codeunits(nm, 0, -1), tchar), nm)
        spaced = pa.array((u[1] < 0.04) & pii["is_cn"].to_numpy(zero_copy_only=False))
        nm = pc.if_else(
            spaced,
            cat(pc.utf8_slice_codeunits(nm, 0, 1), " ", pc.utf8_slice_codeunits(nm, 1, 20)),
            nm,
        )
    else:
        nm = pii["name_latin"]
        nm = pc.if_else(pa.array(u[0] < 0.04), pc.utf8_upper(nm), nm)
        parts = pc.split_pattern(nm, " ", max_splits=1)
        swapped = cat(pc.list_element(parts, 1), " ", pc.list_element(parts, 0))
        nm = pc.if_else(pa.array(u[1] < 0.04), swapped, nm)
        nm = pc.if_else(pa.array(u[5] < 0.02), pc.utf8_slice_codeunits(nm, 0, -1), nm)
    has_phone = u[2] >= 0.008
    phone = _phone(style.phone, pii["phone_cc"], pii["phone_national"], pii["is_cn"], u[3] < 0.15)
    phone = pc.if_else(pa.array(has_phone), phone, "")
    has_email = (u[4] < style.email_rate) | ((~has_phone) & (style.email_rate > 0))
    em = pii["email"]
    r = rng.random(n)
    em = pc.if_else(pa.array(r < 0.06), pc.utf8_upper(em), em)
    em = pc.if_else(pa.array((r >= 0.06) & (r < 0.12)), pc.utf8_capitalize(em), em)
    em = pc.if_else(pa.array((r >= 0.12) & (r < 0.16)), cat(" ", em, " "), em)
    em = pc.if_else(pa.array(has_email), em, "")
    addr = pii["address"]
    addr = pc.if_else(
        pa.array(rng.random(n) < 0.08),
        pc.replace_substring(addr, pattern="号", replacement="号 "),
        addr,
    )
    city = pii["city"]
    city = pc.if_else(pa.array(rng.random(n) < 0.05), pc.utf8_upper(city), city)
    return {
        "buyer_name": nm,
        "buyer_phone": phone,
        "buyer_email": em,
        "ship_address": addr,
        "postcode": pii["postcode"],
        "city": city,
    }


def write_chunk(
    state: ExportState,
    lines: Lines,
    cust: Customers,
    sku_codes: list[str],
    rng: np.random.Generator,
    fh,
) -> np.ndarray:
    """Append one chunk's lines of this channel to the export; record truth.

    Args:
        lines: lines of this channel only, any order.
        fh: the export file opened for binary append (header already written).
    Returns:
        the channel order number (running, 0-based) of every line, in `lines` order.
    """
    st, ch = state.style, state.preset
    n = len(lines)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    srt = np.lexsort((lines.line_no, lines.order, lines.utc))
    inv = np.empty(n, dtype=np.int64)
    inv[srt] = np.arange(n)
    L = {
        k: getattr(lines, k)[srt]
        for k in ("order", "cust", "utc", "line_no", "sku", "qty", "cents", "disc", "cur", "status")
    }
    # orders numbered in time order
    first_seen = np.ones(n, dtype=bool)
    _, first_idx = np.unique(L["order"], return_index=True)
    first_seen[:] = False
    first_seen[first_idx] = True
    okey = np.cumsum(first_seen) - 1
    # lines of an order are contiguous after the sort (same utc), so okey is per order
    k_order = state.orders + okey
    state.orders += int(first_seen.sum())
    # buyers
    ucust, binv = np.unique(L["cust"], return_inverse=True)
    first_lat = pc.utf8_slice_codeunits(cust.pii["name_latin"].take(pa.array(ucust)), 0, 3)
    refs = buyer_refs(st, cust.idx[ucust], state.index, first_lat)
    pii = buyer_pii(st, cust, ucust, rng)
    state.identity.append(
        pd.DataFrame(
            {
                "channel_id": ch.id,
                "buyer_ref": refs.to_numpy(zero_copy_only=False),
                "customer_id": crm_ids(cust.idx[ucust]).to_numpy(zero_copy_only=False),
            }
        )
    )
    bsel = pa.array(binv)
    codes_arr = pa.array(sku_codes)
    cols: dict[str, pa.Array] = {}
    for f, _ in st.columns:
        if f == "order_id":
            cols[f] = _order_ids(st, k_order, L["utc"], ch.timezone)
        elif f == "line_no":
            cols[f] = to_str(L["line_no"])
        elif f == "order_ts":
            cols[f] = format_ts(L["utc"], st, ch.timezone)
        elif f == "buyer_ref":
            cols[f] = refs.take(bsel)
        elif f in pii:
            cols[f] = pii[f].take(bsel)
        elif f == "channel_sku":
            cols[f] = codes_arr.take(pa.array(L["sku"]))
        elif f == "quantity":
            cols[f] = to_str(L["qty"])
        elif f == "unit_price":
            cols[f] = money(L["cents"], st.decimal)
        elif f == "discount":
            cols[f] = money(L["disc"], st.decimal)
        elif f == "currency":
            cols[f] = pa.array(lines.codes).take(pa.array(L["cur"]))
        elif f == "status":
            cols[f] = pa.array([st.status[s] for s in STATUSES]).take(pa.array(L["status"]))
        elif f == "_store":
            cols[f] = cat("S", to_str(1 + cust.city[L["cust"]] % 7, 2))
        else:
            raise ValueError(f)
    # invalid rows (mutated in place) and duplicates (copies placed a little later)
    u = rng.random(n)
    bad = np.flatnonzero(u < INVALID_RATE)
    reason = rng.choice(3, len(bad), p=[0.4, 0.3, 0.3])
    col_of = {f: c for f, c in st.columns}
    inv_rows = []
    for r_code, field_, vals in (
        (0, "quantity", ["0", "-1", "-2"]),
        (1, "order_ts", ["N/A", "#VALUE!", "2024-02-30 25:61:00", "unknown", "32/13/2024 99:99"]),
        (2, "channel_sku", None),
    ):
        pos = bad[reason == r_code]
        if len(pos) == 0:
            continue
        if vals is None:
            newv = [sku_code(st.sku, 90_000 + int(x) % 9_000, state.index) for x in pos]
        else:
            newv = [vals[int(x) % len(vals)] for x in pos]
        mask = np.zeros(n, dtype=bool)
        mask[pos] = True
        full = np.empty(n, dtype=object)
        full[:] = ""
        full[pos] = newv
        cols[field_] = pc.if_else(pa.array(mask), pa.array(full, pa.string()), cols[field_])
        code = {0: "nonpositive_quantity", 1: "bad_timestamp", 2: "unknown_sku"}[r_code]
        inv_rows.append(
            pd.DataFrame(
                {
                    "pos": pos,
                    "column": field_,
                    "export_column": col_of[field_],
                    "value": newv,
                    "reason": code,
                }
            )
        )
    cand = np.flatnonzero((u >= INVALID_RATE) & (u < INVALID_RATE + DUP_RATE))
    offset = rng.integers(1, 40, len(cand))
    keys = np.concatenate([np.arange(n, dtype=float), cand + offset + 0.5])
    src = np.concatenate([np.arange(n), cand])
    order = np.argsort(keys, kind="stable")
    final_src = src[order]
    is_copy = order >= n
    row0 = state.rows + 2  # header is line 1
    table = pa.table(
        [cols[f].take(pa.array(final_src)) for f, _ in st.columns], names=[c for _, c in st.columns]
    )
    pacsv.write_csv(
        table, fh, pacsv.WriteOptions(include_header=False, delimiter=st.sep, quoting_style="none")
    )
    pos_of_orig = np.empty(n, dtype=np.int64)
    pos_of_orig[final_src[~is_copy]] = np.flatnonzero(~is_copy)
    copies = np.flatnonzero(is_copy)
    state.duplicates.append(
        pd.DataFrame(
            {
                "channel_id": ch.id,
                "source_file": state.rel,
                "row": row0 + copies,
                "duplicate_of_row": row0 + pos_of_orig[final_src[copies]],
            }
        )
    )
    for df in inv_rows:
        state.invalid.append(
            pd.DataFrame(
                {
                    "channel_id": ch.id,
                    "source_file": state.rel,
                    "row": row0 + pos_of_orig[df["pos"].to_numpy()],
                    "column": df["column"],
                    "export_column": df["export_column"],
                    "value": df["value"],
                    "reason": df["reason"],
                }
            )
        )
    state.rows += len(final_src)
    return k_order[inv]
