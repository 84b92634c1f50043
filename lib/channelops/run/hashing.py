"""Content hashes of a run's inputs and tables, so runs compare without opening tables.

:func:`hash_inputs` hashes the dataset's files; :func:`table_content_hash` hashes a Parquet
table's column names, types and values (not its bytes), so two runs of the same data,
parameters and seed record the same hashes in their manifests. :func:`file_sha256` hashes a
file's bytes: the manifest records it beside the content hash, and a table is checked
against it whenever it is read (:func:`channelops.run.folder.read_table`), so a file
changed or truncated behind the run's back is caught before its values are used.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

__all__ = ["HASH_SCHEME", "file_sha256", "hash_inputs", "table_content_hash"]

#: How :func:`table_content_hash` hashes; a hash recorded under another scheme is redone.
HASH_SCHEME = "arrow-columns-1"


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes (64 hex characters), read 1 MiB at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def hash_inputs(dataset_dir: Path, workers: int = 2) -> dict[str, str]:
    """SHA-256 of every file of the dataset, keyed by path relative to it.

    The ``truth/`` folder (simulator ground truth) is not an input and is left out. Files
    are hashed by ``workers`` threads (hashlib releases the GIL; each file's digest is its
    own, so the result does not depend on it): on the large data 3.3 GB, about 5 s on one
    core.
    """
    files: dict[str, Path] = {}
    for path in sorted(dataset_dir.rglob("*")):
        rel = path.relative_to(dataset_dir)
        if not path.is_file() or rel.parts[0] == "truth" or rel.name.startswith("."):
            continue
        files[rel.as_posix()] = path
    if workers <= 1 or len(files) < 2:
        return {rel: file_sha256(path) for rel, path in files.items()}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(zip(files, pool.map(file_sha256, files.values()), strict=True))


def table_content_hash(path: str | os.PathLike[str], workers: int = 2) -> str:
    """SHA-256 of a Parquet table's content: column names, types and values, in row order.

    File bytes are not compared (Parquet metadata such as the writer's version, the
    compression or the row groups may differ between identical tables). The table is read
    one column at a time with pyarrow, so memory stays at about one column, and each
    column's values are hashed from their Arrow buffers: the null mask, then the values
    (nulls as zero / empty). String and binary columns hash their lengths and bytes, so a
    column written from Python ``str`` objects and one written from pandas
    ``string[pyarrow]`` hash alike (``string`` and ``large_string`` are one type here, as
    are dictionary-encoded columns and their values). Nested values (lists, structs) are
    hashed by the text of their Python values. A named pandas index is stored by pandas as a
    column and so is included.

    Columns are read and hashed by ``workers`` threads (the result does not depend on it:
    each column has digests of its own, combined in column order), so memory is about
    ``workers`` columns.

    Args:
        path: a ``.parquet`` file.
        workers: threads reading and hashing columns (1: one column after the other).

    Returns:
        64 hex characters.
    """
    pf = pq.ParquetFile(path)
    names = pf.schema_arrow.names
    digest = hashlib.sha256()
    digest.update(f"{pf.metadata.num_rows} rows\n".encode())
    try:
        if workers <= 1 or len(names) < 2:
            for head, tail in (_column_digest(path, name) for name in names):
                digest.update(head)
                digest.update(tail)
            return digest.hexdigest()
        # each column's digest is its own; they are fed in column order, so the hash is the
        # same whatever the number of workers (the reads and hashlib release the GIL)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for head, tail in pool.map(lambda name: _column_digest(path, name), names):
                digest.update(head)
                digest.update(tail)
        return digest.hexdigest()
    finally:
        # Arrow's allocator keeps freed column buffers for reuse: in the runner they would
        # stay beside the next stage's kernel (0.7 GB after the large order lines, 0.2 GB
        # once released)
        pa.default_memory_pool().release_unused()


def _column_digest(path: str | os.PathLike[str], name: str) -> tuple[bytes, bytes]:
    """One column of the Parquet file ``path`` as :func:`table_content_hash` feeds it:
    the ``name:type`` line, and the digests of its null mask, lengths and values."""
    column = pq.ParquetFile(path).read(columns=[name], use_pandas_metadata=False).column(0)
    head = f"{name}:{_hash_type_name(column.type)}\n".encode()
    # nulls, lengths and values in separate streams, so row-group boundaries don't count
    parts = {"nulls": hashlib.sha256(), "lengths": hashlib.sha256(), "values": hashlib.sha256()}
    for chunk in column.chunks:
        _hash_arrow_values(parts, chunk)
    del column
    return head, b"".join(part.digest() for part in parts.values())


def _hash_type_name(arrow_type: Any) -> str:
    """The type as hashed: dictionaries by their values, large_* as the plain type."""
    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    if pa.types.is_large_string(arrow_type):
        return "string"
    if pa.types.is_large_binary(arrow_type):
        return "binary"
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return f"list<{_hash_type_name(arrow_type.value_type)}>"
    return str(arrow_type)


#: zero bytes fed as the null mask of a chunk without nulls (the same digest as its mask)
_NO_NULLS = memoryview(bytes(1 << 20))


def _feed_zeros(digest: Any, n: int) -> None:
    """Feed ``n`` zero bytes into ``digest`` without building an n-byte buffer."""
    while n > 0:
        step = min(n, len(_NO_NULLS))
        digest.update(_NO_NULLS[:step])
        n -= step


def _hash_arrow_values(parts: dict[str, Any], array: Any) -> None:
    """Feed one Arrow array's null mask, value lengths and values into ``parts``.

    ``parts`` maps "nulls", "lengths" and "values" to running hashes (see
    :func:`table_content_hash`); arrays of one column are fed in row order. A chunk without
    nulls feeds its all-zero mask and its buffers as they are (no copies); the bytes fed
    are the same either way.
    """
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    n, has_nulls = len(array), array.null_count > 0
    if n == 0:
        return  # nothing to feed (an empty chunk may have no buffers)
    if has_nulls:
        parts["nulls"].update(np.asarray(array.is_null(), dtype=np.bool_))
    else:
        _feed_zeros(parts["nulls"], n)
    kind = array.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        if has_nulls or not pa.types.is_large_string(kind):
            array = array.cast(pa.large_string()).fill_null("")
    elif pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        if has_nulls or not pa.types.is_large_binary(kind):
            array = array.cast(pa.large_binary()).fill_null(b"")
    if pa.types.is_large_string(array.type) or pa.types.is_large_binary(array.type):
        offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)
        offsets = offsets[array.offset : array.offset + n + 1]
        parts["lengths"].update(np.diff(offsets))
        parts["values"].update(memoryview(array.buffers()[2])[offsets[0] : offsets[-1]])
    elif pa.types.is_nested(kind):
        parts["values"].update("".join(f"{v!r}\x1f" for v in array.to_pylist()).encode())
    elif pa.types.is_boolean(kind):
        parts["values"].update(pc.fill_null(array, False).to_numpy(zero_copy_only=False))
    elif pa.types.is_null(kind):
        pass  # all null: the mask says everything
    else:  # fixed width (numbers, dates, timestamps, decimals): the value bytes, nulls zeroed
        width = kind.bit_width // 8
        raw = np.frombuffer(array.buffers()[1], dtype=np.uint8)
        raw = raw[array.offset * width : (array.offset + n) * width]
        if has_nulls:
            raw = raw.reshape(n, width).copy()
            raw[np.asarray(array.is_null(), dtype=np.bool_)] = 0
        parts["values"].update(raw)
