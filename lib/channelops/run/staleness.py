"""Stale stages and missing prerequisites of a run folder.

A run folder is built stage by stage, and ``channelops run --only`` re-runs some stages
into it. Two things can then go wrong, and this module names both:

* **A stage is stale** when a stage whose tables it reads ran again after it, failed or
  was interrupted since, or is stale itself: its tables were computed from inputs the
  folder no longer holds (``--only 04 -p horizon_days=14`` leaves 06's scorecard and the
  executive summary built on the old forecasts). The order stages finished in is the
  manifest's ``sequence`` counter: each stage that ends ``ok`` gets the next number
  (``stages.<key>.sequence``; a stage recorded before the counter existed counts as 0); a
  stage re-run that writes tables with the same content hashes keeps its number, so what
  reads it stays current.
  :func:`mark_stale` sets such a stage's status to ``stale`` with the reason
  (``stale_because``) and lists them in ``stale_stages``; a re-run of the stage makes it
  ``ok`` again. The report says the same (:mod:`channelops.run.report`).
* **A stage cannot start** when a table it needs is not in the folder, or comes from a
  stage that failed, was interrupted or is stale: :func:`run_prerequisites` finds that
  before anything runs, with the stages to run first (``--only 06`` on an empty folder:
  ``--only 00,03,06``). Stale inputs are allowed with ``force`` (the stage then stays
  ``stale`` itself, since it is built on them).

The dependencies are the registry's (:mod:`channelops.run.registry`): a stage depends on
the stages that write the tables it reads, optional ones included (read when present).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from channelops.run.registry import STAGES, Stage, producer_of

__all__ = [
    "NOT_DONE",
    "upstream_of",
    "downstream_of",
    "stale_reasons",
    "mark_stale",
    "next_sequence",
    "Prerequisites",
    "run_prerequisites",
]

#: Statuses of a stage whose tables cannot be used: removed, half-written or never written.
NOT_DONE = ("failed", "interrupted", "running", "pending")


def upstream_of(stage: Stage) -> set[str]:
    """Keys of the stages that write a table ``stage`` reads (optional inputs included)."""
    return {p.key for t in stage.inputs if (p := producer_of(t)) is not None and p.key != stage.key}


def downstream_of(keys: Iterable[str], stages: Iterable[Stage] = STAGES) -> list[str]:
    """Keys of the stages that read, directly or through other stages, tables of ``keys``
    (``keys`` themselves left out), in run order."""
    ordered = sorted(stages, key=lambda s: s.key)
    changed = set(keys)
    out: list[str] = []
    for stage in ordered:
        if stage.key not in changed and upstream_of(stage) & (changed | set(out)):
            out.append(stage.key)
    return out


def _label(key: str, entries: dict[str, Any]) -> str:
    return f"stage {key} ({entries.get(key, {}).get('name', '?')})"


def stale_reasons(manifest: dict[str, Any], stages: Iterable[Stage] = STAGES) -> dict[str, str]:
    """Stage key -> why it is stale, for every stage recorded ``ok`` or ``stale`` whose
    inputs changed after it ran.

    A stage is stale when a stage it reads from (:func:`upstream_of`) finished after it
    (a larger ``sequence``), is recorded failed, interrupted, running or pending, or is
    stale itself. A stage the manifest does not record is not held against anyone.

    Args:
        manifest: the run folder's manifest (``stages``: key -> entry with ``status`` and
            ``sequence``).
        stages: the registry (default :data:`~channelops.run.registry.STAGES`).

    Returns:
        e.g. ``{"06": "stage 04 (forecasting), whose tables it reads, ran again after it"}``.
    """
    entries = manifest.get("stages", {})
    reasons: dict[str, str] = {}
    for stage in sorted(stages, key=lambda s: s.key):
        entry = entries.get(stage.key)
        if not entry or entry.get("status") not in ("ok", "stale"):
            continue
        mine = entry.get("sequence") or 0
        for key in sorted(upstream_of(stage)):
            up = entries.get(key)
            if up is None:
                continue
            who = f"{_label(key, entries)}, whose tables it reads,"
            if key in reasons:
                reasons[stage.key] = f"{who} is stale"
            elif up.get("status") in NOT_DONE:
                reasons[stage.key] = f"{who} is {up.get('status')}"
            elif (up.get("sequence") or 0) > mine:
                reasons[stage.key] = f"{who} ran again after it"
            else:
                continue
            break
    return reasons


def mark_stale(manifest: dict[str, Any], stages: Iterable[Stage] = STAGES) -> list[str]:
    """Mark the stale stages of ``manifest`` in place and return their keys.

    Each stale stage gets ``status: "stale"`` and ``stale_because`` (one sentence); the
    manifest gets ``stale_stages`` (absent when none is stale). A stage no longer stale
    (it cannot be without running again, which sets it ``ok``) loses both.
    """
    reasons = stale_reasons(manifest, stages)
    for key, entry in manifest.get("stages", {}).items():
        if key in reasons:
            entry["status"] = "stale"
            entry["stale_because"] = (
                f"{reasons[key]}: its tables come from inputs the folder no longer holds; "
                f"re-run it (--only {key})"
            )
        else:
            entry.pop("stale_because", None)
            if entry.get("status") == "stale":
                entry["status"] = "ok"
    if reasons:
        manifest["stale_stages"] = sorted(reasons)
    else:
        manifest.pop("stale_stages", None)
    return sorted(reasons)


def next_sequence(manifest: dict[str, Any]) -> int:
    """Advance the manifest's ``sequence`` counter and return the new value (the number a
    stage that just finished ``ok`` records as its ``sequence``)."""
    manifest["sequence"] = int(manifest.get("sequence") or 0) + 1
    return manifest["sequence"]


@dataclass
class Prerequisites:
    """What a run of some stages needs from its folder before it may start.

    Attributes:
        missing: stage key -> the required tables it reads that the folder lacks (absent,
            or written by a stage recorded failed, interrupted, running or pending).
        first: the stages to run before (or with) the chosen ones, in run order: those
            writing the missing tables, and what those need in turn.
        stale: stage key of this run -> stale stages whose tables it would read.
    """

    missing: dict[str, list[str]] = field(default_factory=dict)
    first: list[str] = field(default_factory=list)
    stale: dict[str, list[str]] = field(default_factory=dict)

    def problem(self, chosen: list[str], output: str, force: bool) -> str | None:
        """The message that stops the run, or None when it may start.

        Args:
            chosen: keys of the stages of this run.
            output: the run folder as the user named it (for the command to type).
            force: stale inputs are accepted.
        """
        lines = []
        if self.missing:
            needs = "; ".join(
                f"stage {key} needs {', '.join(tables)}, which this folder does not have"
                for key, tables in self.missing.items()
            )
            every = ",".join(sorted({*self.first, *chosen}))
            lines.append(
                f"{needs}: run stage(s) {', '.join(self.first)} first or with it: channelops "
                f"run --only {every} --output {output} (or leave out --only to run every stage)"
            )
        if self.stale and not force:
            reads = "; ".join(
                f"stage {key} would read tables of stale stage(s) {', '.join(froms)}"
                for key, froms in self.stale.items()
            )
            every = ",".join(sorted({*chosen, *(k for v in self.stale.values() for k in v)}))
            lines.append(
                f"{reads} (their inputs changed after they ran): re-run them with it: "
                f"channelops run --only {every} --output {output}, or add --force to run on "
                "them anyway (the result is marked stale too)"
            )
        if not lines:
            return None
        return "nothing was run: " + "\n".join(lines)


def run_prerequisites(
    chosen: list[Stage],
    manifest: dict[str, Any],
    has_table: Callable[[str], bool],
    stages: Iterable[Stage] = STAGES,
) -> Prerequisites:
    """Check that the folder holds what the ``chosen`` stages read from stages not chosen.

    A required input (:attr:`~channelops.run.registry.Stage.required_inputs`) written by a
    stage outside the run must exist and come from a stage not recorded failed,
    interrupted, running or pending (a table with no manifest record, written by hand or
    by an older version, is accepted). The stages writing missing tables are added to
    ``first``, with what they need in turn. Any input, optional ones included, written by
    a stage recorded ``stale`` is listed in ``stale``.

    Args:
        chosen: the stages of this run.
        manifest: the folder's manifest (``{}`` when there is none).
        has_table: whether the folder holds a table file of that name.
        stages: the registry.
    """
    registry = {s.key: s for s in stages}
    entries = manifest.get("stages", {})
    in_run = {s.key for s in chosen}
    out = Prerequisites()
    first: set[str] = set()
    todo = list(chosen)
    while todo:
        stage = todo.pop(0)
        for table in stage.inputs:
            producer = producer_of(table)
            if producer is None or producer.key in in_run or producer.key == stage.key:
                continue
            status = entries.get(producer.key, {}).get("status")
            if table in stage.required_inputs and (not has_table(table) or status in NOT_DONE):
                if stage.key in in_run:
                    out.missing.setdefault(stage.key, []).append(table)
                if producer.key not in first and producer.key in registry:
                    todo.append(registry[producer.key])
                first.add(producer.key)
            elif status == "stale" and stage.key in in_run and has_table(table):
                froms = out.stale.setdefault(stage.key, [])
                if producer.key not in froms:
                    froms.append(producer.key)
    out.first = sorted(first)
    return out
