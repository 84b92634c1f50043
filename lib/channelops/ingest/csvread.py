"""CSV files as text: the header row, the rows as Arrow-backed strings with their record
numbers, and rows with the wrong field count set apart.

Exports are read with pyarrow's CSV reader; only the columns asked for are materialised.
A file that does not decode in its declared encoding raises a :class:`DatasetError` that
names the first bad byte and the encoding the file probably has. Record numbers follow the
design notes: the header is 1, the first data row 2.

Errors never quote a data row (it may hold names, phones and addresses): they name the
file, the line and the column.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from channelops.ingest.contract import STRING, DatasetError, ReadDialect


def _is_utf8(encoding: str) -> bool:
    return codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")


def _read_header(path: Path, dialect: ReadDialect, rel: str, mapping_rel: str | None) -> list[str]:
    """Column names of a CSV (BOM and surrounding spaces removed); errors as DatasetError."""
    if path.stat().st_size == 0:
        raise DatasetError(
            rel,
            "the file is empty (0 bytes)",
            expected="a header row followed by data rows",
            found="0 bytes",
            fix="re-export the file, or remove it from the dataset",
        )
    enc = "utf-8-sig" if _is_utf8(dialect.encoding) else dialect.encoding
    try:
        with open(path, encoding=enc, newline="") as fh:
            row = next(csv.reader(fh, delimiter=dialect.sep), None)
    except UnicodeDecodeError:
        raise _encoding_error(path, dialect.encoding, rel, mapping_rel) from None
    except csv.Error as e:
        raise DatasetError(
            rel,
            f"the header row cannot be parsed as CSV ({e})",
            line=1,
            expected="a header row of column names",
            found="unparseable text",
            fix="check the header's quotes and separator",
        ) from None
    header = [c.strip() for c in (row or [])]
    if not header or all(c == "" for c in header):
        raise DatasetError(
            rel,
            "the header row is blank",
            line=1,
            expected="column names in line 1",
            found="an empty line",
            fix="put the header row in line 1",
        )
    counts: dict[str, list[int]] = {}
    for i, c in enumerate(header, 1):
        counts.setdefault(c, []).append(i)
    dups = {c: pos for c, pos in counts.items() if len(pos) > 1}
    if dups:
        names = ", ".join(f"{c!r} (columns {', '.join(map(str, p))})" for c, p in dups.items())
        raise DatasetError(
            rel,
            "duplicate column names",
            line=1,
            expected="unique column names in the header",
            found=names,
            fix="rename the repeated columns in the header"
            + (f" (and in {mapping_rel})" if mapping_rel else ""),
        )
    if "" in counts:
        pos = counts[""][0]
        raise DatasetError(
            rel,
            f"column {pos} has no name",
            line=1,
            expected="a name for every column",
            found="an empty name",
            fix=f"name column {pos} in the header",
        )
    return header


def _encoding_error(path: Path, encoding: str, rel: str, mapping_rel: str | None) -> DatasetError:
    """Locate the first byte that does not decode and say what the file probably is."""
    dec = codecs.getincrementaldecoder(encoding)()
    line, offset = 1, 0
    bad = b""
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            try:
                dec.decode(chunk)
            except UnicodeDecodeError as e:
                # e.start is relative to the decoder's buffered input; re-locate in the chunk
                buf = e.object
                head = len(buf) - len(chunk)
                pos = e.start - head
                line += chunk[: max(pos, 0)].count(b"\n")
                offset += max(pos, 0)
                bad = buf[e.start : e.start + 4]
                sample = _whole_lines(chunk, max(pos - (64 << 10), 0), pos + (64 << 10))
                break
            line += chunk.count(b"\n")
            offset += len(chunk)
        else:
            sample = b""
    guess = _guess_encoding(sample, encoding)
    hexes = " ".join(f"0x{b:02x}" for b in bad)
    declared = "UTF-8" if _is_utf8(encoding) else encoding
    where = mapping_rel or "the mapping"
    found = f"bytes {hexes} at byte offset {offset} that are not {declared}"
    if guess:
        found += f"; the file decodes as {_ENCODING_NAMES.get(guess, guess.upper())}"
        fix = f"declare the file's encoding in {where}: `read: {{encoding: {guess}}}`"
    else:
        found += (
            "; its encoding cannot be told from its bytes (it is not UTF-8, UTF-16, GBK, "
            "Big5, Shift-JIS nor Western CP1252/Latin-1 text)"
        )
        fix = (
            "find out the file's encoding (the exporting system's settings say) and declare "
            f"it in {where}: `read: {{encoding: <name>}}`"
        )
    return DatasetError(
        rel,
        f"the file is not valid {declared} text",
        line=line,
        expected=f"{declared} text"
        + ("" if not _is_utf8(encoding) else f", or the encoding declared in {where}"),
        found=found,
        fix=fix,
    )


_ENCODING_NAMES = {"latin-1": "Latin-1", "cp1252": "CP1252 (Western)", "utf-8": "UTF-8"}
#: bytes 0x80-0x9f that CP1252 does not define (they are C1 controls in Latin-1)
_CP1252_UNDEFINED = frozenset(b"\x81\x8d\x8f\x90\x9d")


def _decodes(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def _share(flags: list[bool]) -> float:
    return sum(flags) / len(flags) if flags else 0.0


def _guess_encoding(sample: bytes, declared: str) -> str | None:
    """The encoding that decodes ``sample`` (whole lines of the file) as plausible text,
    or None when none does.

    Every single-byte encoding decodes any bytes, and GBK decodes most Western text too
    (as nonsense), so decoding without error is not enough. Non-ASCII bytes of Western
    text (``Müller``, ``café``) stand mostly alone between ASCII letters; those of
    Chinese, Japanese and Korean text come in runs of two or more. So: UTF-8 when it
    decodes; UTF-16 when a byte-order mark or many zero bytes say so; CP1252 (Latin-1 when
    bytes CP1252 leaves undefined occur) when most non-ASCII runs are one byte. Before
    that, the East Asian encodings (whose second bytes may be ASCII): GBK when nearly all
    its two-byte characters lie in the GB2312 area of common characters, Big5 or Shift-JIS
    when the sample decodes and nearly all its characters are CJK ideographs, kana, CJK
    punctuation or full-width forms (Western text rarely decodes in them at all). The
    declared encoding is never suggested.
    """
    declared_name = codecs.lookup(declared).name

    def allowed(name: str) -> bool:
        return codecs.lookup(name).name != declared_name

    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or (
        sample and sample.count(0) > len(sample) // 4
    ):
        return "utf-16" if allowed("utf-16") else None
    if allowed("utf-8") and _decodes(sample, "utf-8") is not None:
        return "utf-8"
    runs = re.findall(rb"[\x80-\xff]+", sample)
    if not runs:
        return None
    if allowed("gbk") and _decodes(sample, "gbk") is not None:
        pairs = [r[i : i + 2] for r in runs for i in range(0, len(r) - 1, 2)]
        if _share([0xA1 <= p[0] <= 0xF7 and 0xA1 <= p[1] <= 0xFE for p in pairs]) >= 0.9:
            return "gbk"
    for name, ranges in _CJK_RANGES.items():
        text = _decodes(sample, name) if allowed(name) else None
        if text is None:
            continue
        wide = [c for c in text if ord(c) >= 0x80]
        if _share([any(lo <= ord(c) <= hi for lo, hi in ranges) for c in wide]) >= 0.9:
            return name
    if _share([len(r) == 1 for r in runs]) >= 0.5:
        high = {b for r in runs for b in r}
        if high & _CP1252_UNDEFINED or not high & set(range(0x80, 0xA0)):
            return "latin-1" if allowed("latin-1") else None
        return "cp1252" if allowed("cp1252") else None
    return None


#: Unicode blocks the characters of a Big5 or Shift-JIS text fall in (ideographs,
#: CJK punctuation, kana, full-width forms; not half-width katakana, which is what
#: Western capitals like Ö decode to in Shift-JIS).
_CJK_RANGES = {
    "big5": ((0x4E00, 0x9FFF), (0x3000, 0x303F), (0xFF00, 0xFFEF)),
    "shift_jis": ((0x4E00, 0x9FFF), (0x3000, 0x30FF), (0xFF01, 0xFF5E)),
}


def _whole_lines(data: bytes, start: int, end: int) -> bytes:
    """``data[start:end]`` widened or narrowed to whole lines (a line break never falls
    inside a character of the encodings guessed here, except UTF-16)."""
    if start > 0:
        cut = data.find(b"\n", start)
        start = cut + 1 if 0 <= cut < end else start
    if end < len(data):
        cut = data.rfind(b"\n", start, end)
        end = cut if cut > start else end
    return data[start:end]


#: The CSV reader's block: a field larger than this cannot be read.
_BLOCK_BYTES = 16 << 20


def _huge_field(
    path: Path, dialect: ReadDialect, header: Sequence[str], limit: int
) -> tuple[int, str | None, int] | None:
    """The first field longer than ``limit`` characters: its record number (header = 1),
    its column (None beyond the header's columns) and its length; None if there is none.
    Only after the fast reader failed: this reads the file with the csv module."""
    enc = "utf-8-sig" if _is_utf8(dialect.encoding) else dialect.encoding
    previous = csv.field_size_limit()
    csv.field_size_limit(2**31 - 1)
    try:
        with open(path, encoding=enc, errors="replace", newline="") as fh:
            for number, row in enumerate(csv.reader(fh, delimiter=dialect.sep), 1):
                sizes = [len(f) for f in row]
                if sizes and max(sizes) > limit:
                    i = sizes.index(max(sizes))
                    return number, (header[i] if i < len(header) else None), sizes[i]
    except csv.Error:
        return None
    finally:
        csv.field_size_limit(previous)
    return None


def _arrow_read(
    path: Path,
    dialect: ReadDialect,
    header: Sequence[str],
    wanted: Sequence[str],
    rel: str,
    mapping_rel: str | None,
    threads: bool,
) -> tuple[pa.Table, list[tuple[int | None, int, str]]]:
    names = [f"c{i}" for i in range(len(header))]
    bad: list[tuple[int | None, int, str]] = []

    def on_bad(row: Any) -> str:
        bad.append((row.number, row.actual_columns, row.text))
        return "skip"

    enc = "utf8" if _is_utf8(dialect.encoding) else dialect.encoding
    include = [names[header.index(c)] for c in wanted]
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(
                use_threads=threads,
                column_names=names,
                skip_rows=1,
                encoding=enc,
                block_size=_BLOCK_BYTES,
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=dialect.sep,
                invalid_row_handler=on_bad,
                ignore_empty_lines=False,
                newlines_in_values=True,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(include, pa.string()),
                include_columns=include,
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                null_values=[],
            ),
        )
    except UnicodeDecodeError:
        raise _encoding_error(path, dialect.encoding, rel, mapping_rel) from None
    except (pa.ArrowInvalid, OSError) as e:
        if "UTF8" in str(e) or "decode" in str(e):
            raise _encoding_error(path, dialect.encoding, rel, mapping_rel) from None
        if "straddl" in str(e):  # one field larger than the reader's block
            huge = _huge_field(path, dialect, header, _BLOCK_BYTES)
            if huge is not None:
                record, column, size = huge
                raise DatasetError(
                    rel,
                    f"a field of {size / 2**20:.1f} MB",
                    line=record,
                    column=column,
                    expected=f"fields under {_BLOCK_BYTES >> 20} MB (an order export holds "
                    "short texts and numbers)",
                    found=f"{size:,} characters in one field",
                    fix="a cell this large is usually an unclosed quote that swallowed the "
                    "rest of the file, or a file pasted into a cell: fix or remove that row",
                ) from None
        raise DatasetError(
            rel,
            f"the file cannot be parsed as CSV ({_without_row_text(e)})",
            expected=f"CSV separated by {dialect.sep!r} with double-quoted fields",
            found="text the CSV reader rejects",
            fix="check quotes (an unclosed quote swallows the rest of the file) "
            f"and the separator declared in {mapping_rel or 'the mapping'}",
        ) from None
    return table.rename_columns([header[names.index(n)] for n in table.column_names]), bad


def _unclosed_quote_column(text: str, sep: str, header: Sequence[str]) -> str | None:
    """The header name of the field whose quote swallowed the line breaks of a record
    (``text``, the record as read), or None when it cannot be told."""
    try:
        fields = next(csv.reader(io.StringIO(text), delimiter=sep), [])
    except csv.Error:
        return None
    for i, f in enumerate(fields):
        if "\n" in f or "\r" in f:
            return header[i] if i < len(header) else f"field {i + 1}"
    return None


def _without_row_text(e: Exception) -> str:
    """The first line of a CSV reader's error without the row text it may end with
    (``... Expected 9 columns, got 3: <the row>``)."""
    first = str(e).splitlines()[0] if str(e) else type(e).__name__
    return re.sub(r"(got \d+)\s*:.*$", r"\1", first)


def _read_strings(
    path: Path,
    dialect: ReadDialect,
    header: Sequence[str],
    wanted: Sequence[str],
    rel: str,
    mapping_rel: str | None,
) -> tuple[dict[str, pd.Series], np.ndarray, list[tuple[int, int, str]], int]:
    """Read ``wanted`` columns as text.

    Returns:
        columns: column name -> Series of Arrow-backed strings (good rows only);
        rows: int64 record number of each good row (header = 1);
        ragged: (record number, field count, text) of rows with the wrong field count;
        total: number of data records read.
    """
    table, bad = _arrow_read(path, dialect, header, wanted, rel, mapping_rel, threads=True)
    if bad and any(b[0] is None for b in bad):
        # the threaded reader does not number rows; read again serially to place them
        table, bad = _arrow_read(path, dialect, header, wanted, rel, mapping_rel, threads=False)
    ragged = sorted((int(b[0]), b[1], b[2]) for b in bad)  # type: ignore[arg-type]
    for r, n, text in ragged:
        if "\n" in text or "\r" in text:
            # a record spanning lines with the wrong field count: an unclosed quote that
            # swallowed the lines after it; counting it as one row would hide those lines
            nlines = text.count("\n") + 1
            col = _unclosed_quote_column(text, dialect.sep, header)
            raise DatasetError(
                rel,
                "a quoted field is not closed",
                line=r,
                column=col,
                expected='every opening quote " closed within its field',
                found=f"a record of {nlines} lines and {n} fields"
                + (f", the quote opening in column {col!r}" if col else ""),
                fix='close the quote, or double a quote inside a quoted field ("")',
            )
    total = table.num_rows + len(ragged)
    rows = np.arange(2, total + 2, dtype=np.int64)
    if ragged:
        rows = np.setdiff1d(
            rows, np.array([r[0] for r in ragged], dtype=np.int64), assume_unique=True
        )
    assert len(rows) == table.num_rows
    cols = {}
    for name in table.column_names:
        arr = table.column(name)
        cols[name] = pd.Series(
            pd.arrays.ArrowStringArray(arr) if arr.num_chunks else pd.array([], dtype=STRING),
            dtype=STRING,
        )
    return cols, rows, ragged, total
