"""Channel exports in the real platforms' layouts: ids, PII as each channel holds it,
formats, order-level fields on first lines only, guest checkouts, reversals, duplicates and
invalid rows (docs/design-notes.md, "Simulator: channel exports and identity noise").

Everything is built column-wise as arrow string arrays and appended to the export CSV with
no quoting (no generated value ever contains a separator, a quote or a newline), so a
duplicated row is a byte-exact copy of its original.

Besides the export, each chunk writes two truth files per channel under
``truth/export_lines/`` (one row per written data row: true customer, status, quantity,
guest and reversal flags) and ``truth/buyer_records/`` (per buyer record: true and exported
PII and the identity errors applied).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from . import identity_noise, timefmt
from .layouts import ExportStyle
from .presets import ChannelPreset
from .simulate import STATUSES, Lines
from .world import Customers, cat, scramble, sku_code, to_str

DUP_RATE = 0.01
INVALID_RATE = 0.003
ZH_STYLES = {"zh"}
#: injected invalid rows: (field, values, quarantine reason, share of the invalid rows)
INVALID_KINDS: tuple[tuple[str, tuple[str, ...] | None, str, float], ...] = (
    ("quantity", ("0",), "nonpositive_quantity", 0.25),
    ("quantity", ("1.5", "2x", "one"), "bad_number", 0.15),
    (
        "order_ts",
        ("N/A", "#VALUE!", "2024-02-30 25:61:00", "unknown", "32/13/2024 99:99"),
        "bad_timestamp",
        0.3,
    ),
    ("channel_sku", None, "unknown_sku", 0.3),
)
#: a return comes back 1-21 days after the sale; a cancellation within a day
RETURN_DAYS = (1.0, 21.0)
CANCEL_DAYS = (0.02, 1.0)
_CANCELLED, _RETURNED, _PAID, _DELIVERED = 4, 5, 1, 3


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
    reversals: int = 0  # reversal orders (prefixed ids) written so far
    chunks: int = 0
    identity: list[pd.DataFrame] = field(default_factory=list)
    duplicates: list[pd.DataFrame] = field(default_factory=list)
    invalid: list[pd.DataFrame] = field(default_factory=list)

    @property
    def truth_dir(self) -> Path:
        """The dataset's truth/ folder (the export lives in <dataset>/orders/)."""
        return Path(self.path).parent.parent / "truth"


def header_line(style: ExportStyle) -> str:
    """The export's header line (with its separator), ending in a newline."""
    return style.sep.join(col for _, col in style.columns) + "\n"


def mapping_dict(ch: ChannelPreset, style: ExportStyle) -> dict:
    """The mapping YAML content of a channel (DESIGN.md, docs/data-contract.md): columns,
    timestamp, currency, status words, and the keys real layouts need (buyer_identity,
    fill_down, status_rules, read)."""
    cols = {f: c for f, c in style.columns if not f.startswith("_")}
    tz = style.ts_tz or ch.timezone
    out: dict = {"columns": cols, "timestamp": {"format": style.ts_format, "timezone": tz}}
    out["currency"] = {"column": cols["currency"]} if "currency" in cols else ch.currencies[0]
    if "buyer_ref" not in cols:
        out["buyer_identity"] = "none"
    fill = [f for f in style.first_only if f in cols]
    if fill:
        out["fill_down"] = fill
    if style.status is not None and "status" in cols:
        words = style.status_map or {w: s for s, w in style.status.items()}
        out["values"] = {"status": dict(words)}
    if style.status_rules:
        out["status_rules"] = [dict(r) for r in style.status_rules]
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
    if o == "shopify":
        return cat("#", to_str(k + 1001))
    if o == "shp":
        return cat(timefmt.strftime(utc, "%y%m%d", tz), to_str(k + 1, 7))
    raise ValueError(o)


def format_ts(utc: np.ndarray, style: ExportStyle, tz: str) -> pa.Array:
    """Timestamps as the export writes them (see the channel's mapping)."""
    tz = style.ts_tz or tz
    f = style.ts_write or style.ts_format
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


PII_FIELDS = ("buyer_name", "buyer_phone", "buyer_email", "ship_address", "postcode", "city")
_PII_OF = {
    "name": "buyer_name",
    "email": "buyer_email",
    "address": "ship_address",
    "phone": "buyer_phone",
    "postcode": "postcode",
    "city": "city",
}


def _obj(a: pa.Array) -> np.ndarray:
    return np.asarray(a.to_numpy(zero_copy_only=False), dtype=object).copy()


def buyer_pii(
    style: ExportStyle, cust: Customers, rows: np.ndarray, rng: np.random.Generator
) -> tuple[dict[str, pa.Array], dict[str, pa.Array], np.ndarray]:
    """PII of the channel's buyer records of chunk customers `rows`, as the channel holds it.

    First the identity errors of :mod:`identity_noise` (typos, swapped names, address
    tokens, phone digits, postcodes), then how the channel writes the values: name case
    and spacing, phone formats, missing phones (rare) and emails (common on some
    channels), email case and spaces. A record without phone always carries its email
    when the export has one.

    Returns:
        (exported PII by canonical field, true PII by canonical field, applied identity
        errors per record as ``field:kind;...``).
    """
    n = len(rows)
    sel = pa.array(rows)
    pii = {k: v.take(sel) for k, v in cust.pii.items()}
    is_cn = pii["is_cn"].to_numpy(zero_copy_only=False)
    zh = style.name in ZH_STYLES
    true_name = (
        pc.if_else(pii["is_cn"], pii["name_zh"], pii["name_latin"]) if zh else (pii["name_latin"])
    )
    raw = {
        "name": _obj(true_name),
        "email": _obj(pii["email"]),
        "address": _obj(pii["address"]),
        "phone": _obj(pii["phone_national"]),
        "postcode": _obj(pii["postcode"]),
        "city": _obj(pii["city"]),
    }
    # only what the channel exports can differ (Amazon's report has no name, phone, e-mail)
    exported = {f for f, _ in style.columns}
    held = {k: v for k, v in raw.items() if _PII_OF[k] in exported}
    zh_rec = is_cn & np.full(n, zh)
    errors = (
        identity_noise.corrupt(held, zh_rec, is_cn & ~zh_rec, rng)
        if held
        else np.full(n, "", dtype=object)
    )
    u = rng.random((6, n))
    nm = pa.array(raw["name"], pa.string())
    if zh:
        spaced = pa.array((u[1] < 0.04) & is_cn)
        nm = pc.if_else(
            spaced,
            cat(pc.utf8_slice_codeunits(nm, 0, 1), " ", pc.utf8_slice_codeunits(nm, 1, 20)),
            nm,
        )
    else:
        nm = pc.if_else(pa.array(u[0] < 0.04), pc.utf8_upper(nm), nm)
    has_phone = u[2] >= 0.008
    d = pa.array(raw["phone"], pa.string())
    phone = _phone(style.phone, pii["phone_cc"], d, pii["is_cn"], u[3] < 0.15)
    phone = pc.if_else(pa.array(has_phone), phone, "")
    has_email = (u[4] < style.email_rate) | ((~has_phone) & (style.email_rate > 0))
    em = pa.array(raw["email"], pa.string())
    r = rng.random(n)
    em = pc.if_else(pa.array(r < 0.06), pc.utf8_upper(em), em)
    em = pc.if_else(pa.array((r >= 0.06) & (r < 0.12)), pc.utf8_capitalize(em), em)
    em = pc.if_else(pa.array((r >= 0.12) & (r < 0.16)), cat(" ", em, " "), em)
    em = pc.if_else(pa.array(has_email), em, "")
    addr = pa.array(raw["address"], pa.string())
    addr = pc.if_else(
        pa.array(rng.random(n) < 0.08),
        pc.replace_substring(addr, pattern="号", replacement="号 "),
        addr,
    )
    city = pa.array(raw["city"], pa.string())
    city = pc.if_else(pa.array(rng.random(n) < 0.05), pc.utf8_upper(city), city)
    shown = {
        "buyer_name": nm,
        "buyer_phone": phone,
        "buyer_email": em,
        "ship_address": addr,
        "postcode": pa.array(raw["postcode"], pa.string()),
        "city": city,
    }
    true = {
        "buyer_name": true_name,
        "buyer_phone": pii["phone_national"],
        "buyer_email": pii["email"],
        "ship_address": pii["address"],
        "postcode": pii["postcode"],
        "city": pii["city"],
    }
    return shown, true, errors


@dataclass
class _Rows:
    """The rows of one chunk of a channel's export before formatting (sales + reversals)."""

    utc: np.ndarray
    gkey: np.ndarray  # order group (sale order number; reversals offset)
    line_no: np.ndarray
    sku: np.ndarray
    qty: np.ndarray  # signed
    cents: np.ndarray
    disc: np.ndarray
    cur: np.ndarray
    buyer: np.ndarray  # index into the chunk's buyer records
    status: np.ndarray  # true status index
    shown: np.ndarray  # status index the export shows
    guest: np.ndarray
    rev: np.ndarray  # reversal row
    korder: np.ndarray  # sale order number (of the reversed sale for reversals)

    def take(self, idx: np.ndarray) -> _Rows:
        return _Rows(**{k: v[idx] for k, v in self.__dict__.items()})

    @staticmethod
    def concat(a: _Rows, b: _Rows) -> _Rows:
        return _Rows(**{k: np.concatenate([v, getattr(b, k)]) for k, v in a.__dict__.items()})


def _reversals(
    st: ExportStyle, R: _Rows, end_utc: int, rng: np.random.Generator
) -> tuple[_Rows, _Rows]:
    """Returns and cancellations as the export shows them.

    With ``return_rate`` the export draws store returns among the sales. With a
    ``reversal`` style every cancelled or returned sale shows its pre-reversal status and
    is followed, 1-21 days later (a cancellation within a day), by negative-quantity lines
    refunding what was paid; when that date is after the export's end the reversal has
    not happened yet and the sale keeps its shown status as its true status.

    Returns:
        (sales with updated true/shown status, reversal rows).
    """
    n = len(R.utc)
    drawn = np.zeros(n, dtype=bool)
    orig = R.status.copy()
    if st.return_rate > 0:
        drawn = (rng.random(n) < st.return_rate) & (R.status != _CANCELLED)
        R.status = np.where(drawn, _RETURNED, R.status)
    if st.reversal is None:
        return R, R.take(np.zeros(0, dtype=np.int64))
    cand = np.isin(R.status, (_CANCELLED, _RETURNED))
    # one delay per order: all reversed lines of an order come back together
    uo, oinv = np.unique(R.korder, return_inverse=True)
    lo_r, hi_r = RETURN_DAYS
    lo_c, hi_c = CANCEL_DAYS
    d_ret = rng.uniform(lo_r, hi_r, len(uo))[oinv]
    d_can = rng.uniform(lo_c, hi_c, len(uo))[oinv]
    # returns in whole days (a store's returns desk keeps its opening hours) +- 1 hour
    jitter = rng.integers(-3600, 3600, len(uo))[oinv]
    delay = np.where(R.status == _CANCELLED, d_can * 86400, np.round(d_ret) * 86400 + jitter)
    when = R.utc + delay.astype(np.int64)
    # what the sale showed before its reversal: a store sale stays as sold
    pre = np.where(drawn, orig, np.where(R.status == _CANCELLED, _PAID, _DELIVERED))
    done = cand & (when < end_utc)
    R.shown = np.where(cand, pre, R.shown)
    R.status = np.where(cand & ~done, pre, R.status)
    idx = np.flatnonzero(done)
    V = R.take(idx)
    q = V.qty
    V.utc = when[idx]
    V.qty = -q
    V.cents = np.rint((q * V.cents - V.disc) / q).astype(np.int64)  # refund what was paid
    V.disc = np.zeros(len(idx), dtype=np.int64)
    V.shown = V.status.copy()
    V.rev = np.ones(len(idx), dtype=bool)
    V.gkey = V.korder + 10**12
    V.line_no = V.line_no + (100 if st.reversal == "negative" else 0)
    return R, V


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
    first_seen = np.zeros(n, dtype=bool)
    _, first_idx = np.unique(L["order"], return_index=True)
    first_seen[first_idx] = True
    okey = np.cumsum(first_seen) - 1
    # lines of an order are contiguous after the sort (same utc), so okey is per order
    k_order = state.orders + okey
    state.orders += int(first_seen.sum())
    # buyers: one record per customer of the chunk on this channel
    ucust, binv = np.unique(L["cust"], return_inverse=True)
    has_ref = any(f == "buyer_ref" for f, _ in st.columns)
    first_lat = pc.utf8_slice_codeunits(cust.pii["name_latin"].take(pa.array(ucust)), 0, 3)
    refs = buyer_refs(st, cust.idx[ucust], state.index, first_lat)
    pii, true_pii, errors = buyer_pii(st, cust, ucust, rng)
    # guest orders: a share checks out without an account; without a buyer column, all
    guest_o = (rng.random(int(okey[-1]) + 1) < st.guest_rate) | (not has_ref)
    status = L["status"].astype(np.int64)
    R = _Rows(
        utc=L["utc"].astype(np.int64),
        gkey=k_order,
        line_no=L["line_no"].astype(np.int64),
        sku=L["sku"].astype(np.int64),
        qty=L["qty"].astype(np.int64),
        cents=L["cents"].astype(np.int64),
        disc=L["disc"].astype(np.int64),
        cur=L["cur"].astype(np.int64),
        buyer=binv.astype(np.int64),
        status=status,
        shown=status.copy(),
        guest=guest_o[okey],
        rev=np.zeros(n, dtype=bool),
        korder=k_order,
    )
    R, V = _reversals(st, R, int(L["utc"].max()) + 1, rng)
    allr = _Rows.concat(R, V)
    order = np.lexsort((allr.line_no, allr.gkey, allr.utc))
    A = allr.take(order)
    m = len(A.utc)
    first = np.ones(m, dtype=bool)
    first[1:] = A.gkey[1:] != A.gkey[:-1]
    # order ids: sales by their number, reversals under a prefix or the sale's own id
    oid_sale = _order_ids(st, A.korder, A.utc, ch.timezone)
    if st.reversal == "prefix" and A.rev.any():
        # reversal orders numbered in time order, after the previous chunks' ones
        ug, gfirst, ginv = np.unique(A.gkey[A.rev], return_index=True, return_inverse=True)
        rank = np.empty(len(ug), dtype=np.int64)
        rank[np.argsort(gfirst, kind="stable")] = np.arange(len(ug))
        num = state.reversals + rank[ginv] + 1
        state.reversals += len(ug)
        prefixed = cat(st.reversal_prefix, to_str(num, 9))
        oids = pc.replace_with_mask(oid_sale, pa.array(A.rev), prefixed)
    else:
        oids = oid_sale
    bsel = pa.array(A.buyer)
    codes_arr = pa.array(sku_codes)
    consts = dict(st.const)
    status_cols = dict(st.status_cols)
    cols: dict[str, pa.Array] = {}
    for f, _ in st.columns:
        if f == "order_id":
            cols[f] = oids
        elif f == "line_no":
            cols[f] = to_str(A.line_no)
        elif f == "order_ts":
            cols[f] = format_ts(A.utc, st, ch.timezone)
        elif f == "_updated":
            cols[f] = format_ts(A.utc + 86400 * (1 + A.korder % 5), st, ch.timezone)
        elif f == "buyer_ref":
            cols[f] = pc.if_else(pa.array(A.guest), "", refs.take(bsel))
        elif f == "buyer_email":
            cols[f] = pc.if_else(pa.array(A.guest), "", pii[f].take(bsel))
        elif f in pii:
            cols[f] = pii[f].take(bsel)
        elif f == "channel_sku":
            cols[f] = codes_arr.take(pa.array(A.sku))
        elif f == "_seller_sku":
            cols[f] = cat("SKU", to_str(A.sku, 5))
        elif f == "_sub_order":
            cols[f] = to_str(6_917_000_000_000_000_000 + A.korder * 16 + A.line_no % 16)
        elif f == "quantity":
            cols[f] = to_str(A.qty)
        elif f in ("unit_price", "_unit_price"):
            cols[f] = money(A.cents, st.decimal)
        elif f == "line_total":
            cols[f] = money(A.qty * A.cents - (A.disc if st.net_total else 0), st.decimal)
        elif f in ("discount", "_discount"):
            cols[f] = money(A.disc, st.decimal)
        elif f == "currency":
            cols[f] = pa.array(lines.codes).take(pa.array(A.cur))
        elif f == "status":
            cols[f] = pa.array([st.status[s] for s in STATUSES]).take(pa.array(A.shown))
        elif f in status_cols:
            words_f = status_cols[f]
            cols[f] = pa.array([words_f[s] for s in STATUSES]).take(pa.array(A.shown))
        elif f in consts:
            cols[f] = pa.array([consts[f]] * m, pa.string())
        elif f == "_store":
            cols[f] = cat("S", to_str(1 + cust.city[ucust[A.buyer]] % 7, 2))
        else:
            raise ValueError(f)
    for f in st.first_only:
        if f in cols:
            cols[f] = pc.if_else(pa.array(first), cols[f], "")
    # invalid rows (mutated in place, sales only) and duplicates (copies placed a little
    # later)
    u = rng.random(m)
    bad = np.flatnonzero((u < INVALID_RATE) & ~A.rev)
    shares = np.array([k[3] for k in INVALID_KINDS])
    kind = rng.choice(len(INVALID_KINDS), len(bad), p=shares / shares.sum())
    col_of = dict(st.columns)
    inv_rows = []
    for r_code, (field_, vals, reason, _) in enumerate(INVALID_KINDS):
        pos = bad[kind == r_code]
        if len(pos) == 0:
            continue
        if vals is None:
            newv = [sku_code(st.sku, 90_000 + int(x) % 9_000, state.index) for x in pos]
        else:
            newv = [vals[int(x) % len(vals)] for x in pos]
        mask = np.zeros(m, dtype=bool)
        mask[pos] = True  # pos is increasing, as replace_with_mask fills in mask order
        cols[field_] = pc.replace_with_mask(cols[field_], pa.array(mask), pa.array(newv))
        inv_rows.append(
            pd.DataFrame(
                {
                    "pos": pos,
                    "column": field_,
                    "export_column": col_of[field_],
                    "value": newv,
                    "reason": reason,
                }
            )
        )
    cand = np.flatnonzero((u >= INVALID_RATE) & (u < INVALID_RATE + DUP_RATE))
    offset = rng.integers(1, 40, len(cand))
    keys = np.concatenate([np.arange(m, dtype=float), cand + offset + 0.5])
    src = np.concatenate([np.arange(m), cand])
    fin = np.argsort(keys, kind="stable")
    final_src = src[fin]
    is_copy = fin >= m
    row0 = state.rows + 2  # header is line 1
    table = pa.table(
        [cols[f].take(pa.array(final_src)) for f, _ in st.columns],
        names=[c for _, c in st.columns],
    )
    pacsv.write_csv(
        table, fh, pacsv.WriteOptions(include_header=False, delimiter=st.sep, quoting_style="none")
    )
    pos_of_orig = np.empty(m, dtype=np.int64)
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
    # truth: buyer identities (refs the export shows), every written row, buyer records
    crm = crm_ids(cust.idx[ucust])
    if has_ref:
        shown_ref = np.zeros(len(ucust), dtype=bool)
        shown_ref[A.buyer[~A.guest]] = True
        keep = pa.array(np.flatnonzero(shown_ref))
        state.identity.append(
            pd.DataFrame(
                {
                    "channel_id": ch.id,
                    "buyer_ref": refs.take(keep).to_numpy(zero_copy_only=False),
                    "customer_id": crm.take(keep).to_numpy(zero_copy_only=False),
                }
            )
        )
    copy_of = np.zeros(len(final_src), dtype=np.int64)
    copy_of[copies] = row0 + pos_of_orig[final_src[copies]]
    F = A.take(final_src)
    k = len(final_src)
    names = pa.array(STATUSES, pa.string())
    lines_truth = pa.table(
        {
            "channel_id": pa.array([ch.id] * k, pa.string()),
            "source_file": pa.array([state.rel] * k, pa.string()),
            "row": pa.array(row0 + np.arange(k, dtype=np.int64)),
            "order_id": oids.take(pa.array(final_src)),
            "customer_id": crm.take(pa.array(F.buyer)),
            "sku": cat("SKU", to_str(F.sku, 5)),
            "quantity": pa.array(F.qty),
            "unit_price": pa.array(F.cents / 100.0),
            "discount": pa.array(F.disc / 100.0),
            "currency": pa.array(lines.codes, pa.string()).take(pa.array(F.cur)),
            "status": names.take(pa.array(F.status)),
            "shown_status": names.take(pa.array(F.shown)),
            "is_guest": pa.array(F.guest),
            "is_reversal": pa.array(F.rev),
            "duplicate_of_row": pa.array(copy_of),
        }
    )
    nb = len(ucust)
    recs: dict[str, pa.Array] = {
        "channel_id": pa.array([ch.id] * nb, pa.string()),
        "customer_id": crm,
        "buyer_ref": refs if has_ref else pa.array([""] * nb, pa.string()),
        "errors": pa.array(errors, pa.string()),
    }
    for f in PII_FIELDS:
        recs[f"true_{f}"] = true_pii[f]
        recs[f"shown_{f}"] = pii[f] if f in col_of else pa.array([""] * nb, pa.string())
    _write_truth_part(state, "export_lines", lines_truth)
    _write_truth_part(state, "buyer_records", pa.table(recs))
    state.chunks += 1
    state.rows += len(final_src)
    return k_order[inv]


def _write_truth_part(state: ExportState, name: str, table: pa.Table) -> None:
    """One chunk's truth of one channel: truth/<name>/<channel>-<chunk>.parquet."""
    d = state.truth_dir / name
    d.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, d / f"{state.preset.id}-{state.chunks:04d}.parquet")
