"""What each stage cannot do without which optional file of the dataset.

One table (:data:`NEEDS`: stage key -> optional file -> what is limited without it) that
the notebooks print and ``channelops check`` lists, so both say the same thing. A stage
turns the files a dataset lacks into ONE sentence with :func:`stage_limitation`;
:func:`stage_limitations` gives that sentence for every stage that is limited.

A key of a stage's entry is either an optional table (``"products"``: the file
``products.csv`` is absent) or ``"<table>.<column>"`` (the file is present but the column
is absent or empty in every row, e.g. ``"customers.birth_year"``).
"""

from __future__ import annotations

from collections.abc import Iterable

from channelops.ingest.folder import Dataset
from channelops.ingest.tables import TABLES
from channelops.run.registry import STAGES, stage_by_key

__all__ = [
    "NEEDS",
    "missing_inputs",
    "limitation_sentence",
    "stage_limitation",
    "stage_limitations",
]

#: stage key -> optional file (or ``file.column``) -> what the stage cannot do without it.
#: Each text completes "without <file>, ..." and carries no full stop.
NEEDS: dict[str, dict[str, str]] = {
    "00": {
        "channels": (
            "each export's currency and timezone default to the base currency and the "
            "reporting timezone unless its mapping names them"
        ),
        "fx_rates": (
            "lines in a currency other than the base currency cannot be converted and are "
            "quarantined as unknown_currency"
        ),
        "products": "channel SKU codes are not checked against a product master",
        "sku_map": (
            "channel SKU codes are not translated to master SKUs, so one product listed "
            "under two codes counts as two"
        ),
    },
    "01": {
        "customers": (
            "the customers are the CRM channels' buyers and the segment profiles carry no "
            "age or city-tier shares"
        ),
        "customers.birth_year": "the segment profiles carry no age shares",
        "customers.city": "the segment profiles carry no city-tier shares",
        "products": "customers and segments have no category mix",
        "products.category": "customers and segments have no category mix",
        "locations": "the segment profiles carry no city-tier shares",
    },
    "02": {
        "channels": (
            "there is no channel plan, Pareto front or sensitivity (no commission, fixed cost, "
            "audience or prior curve per channel)"
        ),
        "channels.commission_rate": "no channel plan can be computed (no commission per channel)",
        "channels.fixed_cost_per_month": (
            "no channel plan can be computed (no fixed cost per channel)"
        ),
        "marketing_spend": (
            "no response curve can be fitted (channels.csv priors at most) and the plan "
            "needs the weekly_budget parameter"
        ),
        "customers": (
            "the plan's reach of target segments is not scored (no customer ages or cities "
            "to match against channel audiences)"
        ),
        "customers.birth_year": "the reach of target segments leaves out the age match",
        "customers.city": "the reach of target segments leaves out the city-tier match",
        "locations": "the reach of target segments leaves out the city-tier match",
        "products": (
            "the plan's profit counts no product cost (revenue after commission, unless the "
            "gross_margin parameter gives the share left after product cost)"
        ),
        "shipments": "each channel's margin leaves out fulfilment cost",
    },
    "03": {
        "customers": (
            "channel buyers are linked to each other only, never to a CRM customer, and "
            "the golden records carry no CRM fields"
        ),
        "products": "the products table lists the SKUs sold, without names, categories or costs",
        "channels": "the channels table lists dataset.yaml's channel ids only, without kinds or costs",
    },
    "04": {
        "products": (
            "forecasts do not roll up by category and stock has no unit cost to value holding costs"
        ),
        "products.unit_cost": "stock has no unit cost to value holding costs",
        "shipments": "stock is planned per channel, not split across warehouses",
    },
    "05": {
        "warehouses": "the order-flow simulation, warehouse allocation and routing are skipped",
        "locations": "warehouse allocation and routing are skipped (no geocoded cities)",
        "shipments": (
            "there is no delay analysis and the ship-by time is the default dispatch SLA"
        ),
        "service_contacts": "there is no service staffing plan",
        "channels": "offline channels are not told apart, so every order counts as shipped",
        "products": "every unit weighs the default weight",
    },
    "06": {
        "products": "the scorecard has no cost of goods, so no gross margin or contribution",
        "products.unit_cost": (
            "the scorecard has no cost of goods, so no gross margin or contribution"
        ),
        "channels": (
            "the scorecard has no commission and plan vs actual no fixed cost per channel"
        ),
        "marketing_spend": (
            "the scorecard has no marketing spend, ROAS, ROI, CAC or LTV/CAC, and plan vs "
            "actual no actual spend"
        ),
        "shipments": (
            "the scorecard has no fulfilment cost, order cycle time, on-time rate or cost "
            "per delivery"
        ),
        "service_contacts": "the scorecard has no contacts per order or service level",
        "experiments": "there is no experiment analysis",
    },
    "07": {
        "products": "recommendations and assortments have no categories or list prices",
        "channels": "no candidate channel has an audience profile, so only active channels get an assortment",
    },
}


def _check_needs() -> None:
    """Every key of :data:`NEEDS` names a stage and an optional table (and column)."""
    keys = {s.key for s in STAGES}
    for stage, entries in NEEDS.items():
        if stage not in keys:
            raise ValueError(f"NEEDS names unknown stage {stage!r}")
        for item in entries:
            table, _, column = item.partition(".")
            if table not in TABLES:
                raise ValueError(f"NEEDS[{stage!r}] names unknown table {table!r}")
            spec = TABLES[table]
            if column and column not in {**spec["required"], **spec.get("optional", {})}:
                raise ValueError(f"NEEDS[{stage!r}] names unknown column {item!r}")


_check_needs()


def _column_missing(dataset: Dataset, table: str, column: str) -> bool:
    """True when ``table`` exists but ``column`` is absent or empty in every row."""
    df = dataset.table(table)
    return df is not None and (column not in df.columns or bool(df[column].isna().all()))


def missing_inputs(dataset: Dataset, stage: str) -> list[str]:
    """The entries of ``NEEDS[stage]`` this dataset lacks, in table order.

    Args:
        dataset: the loaded dataset.
        stage: a stage key, number or name (``"02"``, ``"2"``, ``"channel_selection"``).

    Returns:
        Keys of ``NEEDS[stage]``: a table whose file is absent, or ``table.column`` when
        the file is present but the column is absent or empty (a column entry of an
        absent file is left out: the file's own entry says more).

    Raises:
        KeyError: unknown stage. DatasetError: a present file cannot be read.
    """
    key = stage_by_key(stage).key
    out = []
    for item in NEEDS.get(key, {}):
        table, _, column = item.partition(".")
        if not column:
            if not dataset.has(table):
                out.append(item)
        elif dataset.has(table) and _column_missing(dataset, table, column):
            out.append(item)
    return out


def limitation_sentence(stage: str, missing: Iterable[str]) -> str:
    """One sentence saying what ``stage`` cannot do without the ``missing`` inputs.

    Args:
        stage: a stage key, number or name.
        missing: keys of ``NEEDS[stage]`` (files as ``name``, columns as ``name.column``).

    Returns:
        ``"Stage 02 (channel_selection): without channels.csv, ...; without
        marketing_spend.csv, ...."``, or ``"Stage 02 (channel_selection) has every
        optional file it reads."`` when nothing is missing.

    Raises:
        KeyError: unknown stage, or an input ``NEEDS`` does not list for it.
    """
    st = stage_by_key(stage)
    entries = NEEDS.get(st.key, {})
    items = list(dict.fromkeys(missing))
    unknown = [m for m in items if m not in entries]
    if unknown:
        raise KeyError(f"stage {st.key} lists no need {unknown[0]!r}; known: {', '.join(entries)}")
    if not items:
        return f"Stage {st.key} ({st.name}) has every optional file it reads."
    by_text: dict[str, list[str]] = {}  # inputs limiting the same thing share one clause
    for m in items:
        table, _, column = m.partition(".")
        what = f"column {column} of {table}.csv" if column else f"{table}.csv"
        by_text.setdefault(entries[m], []).append(what)
    parts = [f"without {' or '.join(whats)}, {text}" for text, whats in by_text.items()]
    return f"Stage {st.key} ({st.name}): " + "; ".join(parts) + "."


def stage_limitation(dataset: Dataset, stage: str) -> str | None:
    """The one sentence of what ``stage`` cannot do with this dataset, or None when it
    has every optional file (and column) it reads."""
    missing = missing_inputs(dataset, stage)
    return limitation_sentence(stage, missing) if missing else None


def stage_limitations(dataset: Dataset, stages: Iterable[str] | None = None) -> list[str]:
    """One sentence per limited stage, in run order (``stages``: keys; None: every stage)."""
    keys = [s.key for s in STAGES] if stages is None else [stage_by_key(s).key for s in stages]
    out = []
    for key in keys:
        sentence = stage_limitation(dataset, key)
        if sentence:
            out.append(sentence)
    return out
