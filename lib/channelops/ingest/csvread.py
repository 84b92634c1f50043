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
                sample = chunk[max(pos - 2000, 0) : pos + 2000]
                break
            line += chunk.count(b"\n")
            offset += len(chunk)
        else:
            sample = b""
    guess = None
    for cand in ("gbk", "gb18030", "big5", "shift_jis", "utf-16"):
        if _is_utf8(encoding) or codecs.lookup(cand).name != codecs.lookup(encoding).name:
            try:
                sample.decode(cand)
            except UnicodeDecodeError:
                # the sample may cut a multi-byte character at its ends
                try:
                    sample[1:-1].decode(cand)
                except UnicodeDecodeError:
                    continue
            guess = cand
            break
    hexes = " ".join(f"0x{b:02x}" for b in bad)
    declared = "UTF-8" if _is_utf8(encoding) else encoding
    where = mapping_rel or "the mapping"
    found = f"bytes {hexes} at byte offset {offset} that are not {declared}"
    if guess:
        found += f"; the file decodes as {guess.upper()}"
    suggestion = guess or "gbk"
    return DatasetError(
        rel,
        f"the file is not valid {declared} text",
        line=line,
        expected=f"{declared} text"
        + ("" if not _is_utf8(encoding) else f", or the encoding declared in {where}"),
        found=found,
        fix=f"declare the file's encoding in {where}: `read: {{encoding: {suggestion}}}`",
    )


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
                block_size=16 << 20,
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
