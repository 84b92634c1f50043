"""channelops.synth: a seeded simulator of a multi-channel e-commerce business.

`generate_dataset(out_dir, scenario, size, seed)` writes a dataset folder following the data
contract of DESIGN.md and docs/design-notes.md (dataset.yaml, channels.csv, products.csv,
sku_map.csv, customers.csv, orders/<channel>.csv with mappings/<channel>.yaml, fx_rates.csv,
marketing_spend.csv, warehouses.csv, locations.csv, shipments.csv, service_contacts.csv,
experiments.csv) plus `truth/` with what was simulated:

* customers.parquet: true segment, BG/NBD lambda (per day) and p, mean spend (CNY),
  acquisition date and channel, CRM membership, preferences.
* buyer_identity.parquet: the true customer behind every (channel, buyer_ref).
* duplicate_rows.parquet / invalid_rows.parquet: rows numbered as text editors show them
  (header = line 1).
* response_curves.parquet (+ weekly_revenue.parquet): the true Hill(adstock(spend))
  response per channel; see `channelops.synth.marketing` for the exact relation.
* demand.parquet (+ demand_sku.parquet): daily multipliers and expected units.
* experiment.yaml, world.yaml: the experiment's true lift; scenario, seed, counts, formulas
  (segments with their habit_probability, the product-choice rule).
* favourites.parquet: each customer's 1-3 favourite SKUs per category (customer_id,
  category, sku, slot). A line re-buys one of them (listed on its channel) with the
  segment's habit probability, else picks by popularity and price fit (see
  `channelops.synth.simulate`).

Same (scenario, size, seed) -> byte-identical files: every component draws from its own
`numpy.random.SeedSequence(seed, spawn_key=(component, chunk))` and customers are
processed in fixed chunks of 50,000 whatever the machine.
"""

from .generate import generate_dataset
from .presets import SCENARIOS, SIZES

__all__ = ["generate_dataset", "SCENARIOS", "SIZES"]
