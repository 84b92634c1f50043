"""How a buyer's personal data differs between the CRM and a channel's records.

Error kinds follow FEBRL's data generator (Christen & Pudjijono 2009, "Accurate synthetic
generation of realistic personal information"; the febrl `dsgen`/`generate2.py` error
model): swapped name words, single-character typos (insert, delete, substitute with a
keyboard neighbour, transpose), OCR-like substitutions, missing or misspelt address
tokens, changed house numbers, transposed phone digits, postcodes off by one digit. Each
buyer record (one customer on one channel) gets each kind with its own probability
(:data:`RATES`), independently, so a record can carry several.

Records are corrupted in place on numpy object arrays of Python strings: the selection is
vectorised and only the few selected values are edited one by one.
"""

from __future__ import annotations

import re

import numpy as np

from . import geo

#: (field, kind) -> probability per buyer record. Name, address and phone rates are of the
#: order FEBRL's defaults and the duplicate studies behind them give (a few percent per
#: field); pinyin names are swapped far more often than Latin ones (family name first in
#: Chinese, last on Western forms).
RATES: dict[tuple[str, str], float] = {
    ("name", "swap_words"): 0.03,
    ("name", "swap_words_pinyin"): 0.15,
    ("name", "typo"): 0.03,
    ("name", "ocr"): 0.01,
    ("name", "similar_char"): 0.03,
    ("email", "typo"): 0.01,
    ("address", "token_missing"): 0.05,
    ("address", "token_misspelt"): 0.03,
    ("address", "house_number"): 0.02,
    ("phone", "digits_swapped"): 0.015,
    ("phone", "digit_changed"): 0.005,
    ("postcode", "digit_off"): 0.03,
    ("city", "typo"): 0.01,
}

_ROWS = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]
_NEIGHBOURS: dict[str, str] = {}
for _r, _row in enumerate(_ROWS):
    for _i, _c in enumerate(_row):
        near = _row[max(0, _i - 1) : _i] + _row[_i + 1 : _i + 2]
        for _rr in (_r - 1, _r + 1):
            if 0 <= _rr < len(_ROWS):
                near += _ROWS[_rr][max(0, _i - 1) : _i + 1]
        _NEIGHBOURS[_c] = near
#: OCR confusions (FEBRL's ocr-variations lookup in spirit): pairs read one for the other
_OCR = [("rn", "m"), ("m", "rn"), ("cl", "d"), ("l", "1"), ("o", "0"), ("i", "l"),
        ("e", "c"), ("h", "b"), ("u", "v"), ("a", "o"), ("S", "5"), ("B", "8"), ("O", "0")]  # fmt: skip
#: Chinese look-alike / sound-alike characters for address tokens
_ZH_SIMILAR = {"路": "璐", "街": "接", "区": "曲", "号": "好", "栋": "幢", "室": "市", "道": "到"}
_ZH_TOKEN = re.compile(r"\d+栋|\d+室")
_EN_APT = re.compile(r" Apt \d+")
_EN_NUM = re.compile(r"^\d+")
_ZH_NUM = re.compile(r"(\d+)号")


def _typo(s: str, rng: np.random.Generator) -> str:
    """One keyboard-style edit at a letter: insert, delete, substitute or transpose."""
    pos = [i for i, c in enumerate(s) if c.isalpha()]
    if len(pos) < 2:
        return s
    i = pos[int(rng.integers(len(pos)))]
    kind = int(rng.integers(4))
    c = s[i].lower()
    near = _NEIGHBOURS.get(c, "e")
    sub = near[int(rng.integers(len(near)))]
    sub = sub.upper() if s[i].isupper() else sub
    if kind == 0:
        return s[:i] + sub + s[i:]
    if kind == 1:
        return s[:i] + s[i + 1 :]
    if kind == 2:
        return s[:i] + sub + s[i + 1 :]
    j = i + 1 if i + 1 < len(s) and s[i + 1].isalpha() else i - 1
    a, b = min(i, j), max(i, j)
    if s[a] == s[b]:
        return s[:i] + s[i + 1 :]
    return s[:a] + s[b] + s[a] + s[b + 1 :]


def _ocr(s: str, rng: np.random.Generator) -> str:
    """One OCR-like confusion (rn/m, cl/d, l/1, o/0, ...); a typo when none applies."""
    hits = [(a, b) for a, b in _OCR if a in s]
    if not hits:
        return _typo(s, rng)
    a, b = hits[int(rng.integers(len(hits)))]
    idx = [m.start() for m in re.finditer(re.escape(a), s)]
    i = idx[int(rng.integers(len(idx)))]
    return s[:i] + b + s[i + len(a) :]


def _swap_words(s: str) -> str:
    parts = s.split(" ")
    return " ".join(parts[1:] + parts[:1]) if len(parts) >= 2 else s


def _similar_zh(s: str, rng: np.random.Generator) -> str:
    """A Chinese name's given-name character replaced by a look-alike / sound-alike."""
    if len(s) < 2:
        return s
    i = 1 + int(rng.integers(len(s) - 1))
    return s[:i] + geo.TYPO_CHARS[int(rng.integers(len(geo.TYPO_CHARS)))] + s[i + 1 :]


def _token_missing(s: str, rng: np.random.Generator) -> str:
    if _EN_APT.search(s):
        return _EN_APT.sub("", s, count=1)
    toks = list(_ZH_TOKEN.finditer(s))
    if toks:
        m = toks[int(rng.integers(len(toks)))]
        return s[: m.start()] + s[m.end() :]
    words = s.split(" ")
    return " ".join(words[:-1]) if len(words) > 2 else s


def _token_misspelt(s: str, rng: np.random.Generator) -> str:
    if re.search(r"[A-Za-z]{3,}", s):
        words = s.split(" ")
        cand = [k for k, w in enumerate(words) if len(w) >= 3 and w.isalpha()]
        if cand:
            k = cand[int(rng.integers(len(cand)))]
            words[k] = _typo(words[k], rng)
            return " ".join(words)
    hits = [i for i, c in enumerate(s) if c in _ZH_SIMILAR]
    if not hits:
        return s
    i = hits[int(rng.integers(len(hits)))]
    return s[:i] + _ZH_SIMILAR[s[i]] + s[i + 1 :]


def _house_number(s: str, rng: np.random.Generator) -> str:
    def change(num: str) -> str:
        n = int(num)
        step = int(rng.choice([-10, -1, 1, 10]))
        return str(n + step if n + step > 0 else n + abs(step))

    if _EN_NUM.match(s):
        return _EN_NUM.sub(lambda m: change(m.group(0)), s, count=1)
    return _ZH_NUM.sub(lambda m: change(m.group(1)) + "号", s, count=1)


def _digits_swapped(d: str, rng: np.random.Generator) -> str:
    """Two adjacent, different digits of the subscriber part (after the prefix) swapped."""
    cand = [i for i in range(3, len(d) - 1) if d[i] != d[i + 1]]
    if not cand:
        return d
    i = cand[int(rng.integers(len(cand)))]
    return d[:i] + d[i + 1] + d[i] + d[i + 2 :]


def _digit_changed(d: str, rng: np.random.Generator) -> str:
    if len(d) < 4:
        return d
    i = 3 + int(rng.integers(len(d) - 3))
    new = str((int(d[i]) + 1 + int(rng.integers(9))) % 10)
    return d[:i] + new + d[i + 1 :]


def _digit_off(p: str, rng: np.random.Generator) -> str:
    """One digit of the postcode (not the first) one up or down."""
    cand = [i for i, c in enumerate(p) if c.isdigit() and i > 0]
    if not cand:
        return p
    i = cand[int(rng.integers(len(cand)))]
    d = int(p[i])
    new = d + 1 if d == 0 or (d < 9 and rng.random() < 0.5) else d - 1
    return p[:i] + str(new) + p[i + 1 :]


def _email_typo(e: str, rng: np.random.Generator) -> str:
    at = e.find("@")
    if at < 2:
        return e
    return _typo(e[:at], rng) + e[at:]


def corrupt(
    pii: dict[str, np.ndarray],
    zh_name: np.ndarray,
    pinyin: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Apply the error kinds of :data:`RATES` to buyer records, in place.

    Args:
        pii: field -> object array of strings, one entry per buyer record; fields among
            name, email, address, phone (national digits only), postcode, city. Fields
            absent are skipped, blank values are left blank.
        zh_name: bool per record: the name is written in Chinese characters.
        pinyin: bool per record: the (Latin) name is a Chinese name in pinyin.
        rng: the chunk's export generator.
    Returns:
        object array, per record, of the applied errors as ``field:kind`` joined by ``;``
        ("" when none).
    """
    n = len(next(iter(pii.values())))
    log: list[list[str]] = [[] for _ in range(n)]
    u = rng.random((len(RATES), n))
    latin = ~zh_name
    masks = {
        ("name", "swap_words"): latin & ~pinyin,
        ("name", "swap_words_pinyin"): latin & pinyin,
        ("name", "typo"): latin,
        ("name", "ocr"): latin,
        ("name", "similar_char"): zh_name,
    }
    fns = {
        ("name", "swap_words"): lambda s: _swap_words(s),
        ("name", "swap_words_pinyin"): lambda s: _swap_words(s),
        ("name", "typo"): lambda s: _typo(s, rng),
        ("name", "ocr"): lambda s: _ocr(s, rng),
        ("name", "similar_char"): lambda s: _similar_zh(s, rng),
        ("email", "typo"): lambda s: _email_typo(s, rng),
        ("address", "token_missing"): lambda s: _token_missing(s, rng),
        ("address", "token_misspelt"): lambda s: _token_misspelt(s, rng),
        ("address", "house_number"): lambda s: _house_number(s, rng),
        ("phone", "digits_swapped"): lambda s: _digits_swapped(s, rng),
        ("phone", "digit_changed"): lambda s: _digit_changed(s, rng),
        ("postcode", "digit_off"): lambda s: _digit_off(s, rng),
        ("city", "typo"): lambda s: _typo(s, rng),
    }
    for k, key in enumerate(RATES):
        field, kind = key
        if field not in pii:
            continue
        sel = u[k] < RATES[key]
        if key in masks:
            sel &= masks[key]
        arr = pii[field]
        for i in np.flatnonzero(sel):
            old = arr[i]
            if not old:
                continue
            new = fns[key](old)
            if new != old:
                arr[i] = new
                log[i].append(f"{field}:{kind}")
    out = np.empty(n, dtype=object)
    out[:] = [";".join(x) for x in log]
    return out
