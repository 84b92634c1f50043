"""Which platform's report an export is, from its header row alone.

An export is a preset's report when its header holds every column of the preset's
signature. When several presets match (a header can hold the columns of two), the one
with the longest signature wins, then the one sharing most of its documented header. When
none matches, the closest presets are listed with the signature columns the header lacks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from channelops.ingest.platforms.preset import Preset

__all__ = ["Recognition", "recognise_header", "describe_unrecognised"]


@dataclass(frozen=True)
class Recognition:
    """The answer for one header.

    Attributes:
        header: the header as compared (BOM and surrounding spaces removed).
        preset: the matching preset, or None.
        closest: when nothing matches, up to three presets with the signature columns
            the header lacks, closest first (the share of the signature present, then
            the share of the documented header present); empty when a preset matches.
    """

    header: tuple[str, ...]
    preset: Preset | None
    closest: tuple[tuple[Preset, tuple[str, ...]], ...] = ()


def _clean(name: str) -> str:
    return name.lstrip("\ufeff").strip()


def recognise_header(header: Sequence[str], presets: Sequence[Preset]) -> Recognition:
    """The preset whose signature the header holds, or the closest presets.

    Args:
        header: the export's column names.
        presets: the presets to try (e.g. :data:`channelops.ingest.platforms.PRESETS`).

    Returns:
        :class:`Recognition`.
    """
    cols = tuple(_clean(c) for c in header)
    have = set(cols)
    full = [p for p in presets if not p.missing(have)]
    if full:
        best = max(full, key=lambda p: (len(p.signature), len(have.intersection(p.header))))
        return Recognition(cols, best)
    scored = []
    for p in presets:
        missing = p.missing(have)
        sig_share = 1 - len(missing) / len(p.signature)
        doc_share = len(have.intersection(p.header)) / len(p.header)
        if sig_share > 0 or doc_share > 0:
            scored.append(((sig_share, doc_share), p, missing))
    scored.sort(key=lambda t: t[0], reverse=True)
    return Recognition(cols, None, tuple((p, m) for _, p, m in scored[:3]))


def describe_unrecognised(rec: Recognition, file: str) -> str:
    """One message for a header no preset matched: the file, its column count and the
    closest presets with what each lacks (column names only, never data)."""
    text = f"{file}: header not recognised ({len(rec.header)} columns)"
    if not rec.closest:
        return text + "; no preset shares any column with it (write its mapping by hand)"
    parts = [
        f"{p.name} ({p.title}) lacks {', '.join(repr(c) for c in missing)}"
        for p, missing in rec.closest
    ]
    return text + "; closest presets: " + "; ".join(parts)
