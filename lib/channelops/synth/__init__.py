"""channelops.synth: a seeded simulator of a multi-channel e-commerce business.

`generate_dataset(out_dir, scenario, size, seed)` writes a dataset folder following the data
contract of DESIGN.md and docs/design-notes.md (dataset.yaml, channels.csv, products.csv,
sku_map.csv, customers.csv, orders/<channel>.csv with mappings/<channel>.yaml, fx_rates.csv,
marketing_spend.csv, warehouses.csv, locations.csv, shipments.csv, service_contacts.csv,
experiments.csv) plus `truth/` with what was simulated:

* customers.parquet: true segment, purchase rate, churn parameters, life event, habit,
  price sensitivity, acquisition date, channel and cause (paid / organic), CRM membership,
  preferences, realised value.
* buyer_identity.parquet: the true customer behind every (channel, buyer_ref).
* duplicate_rows.parquet / invalid_rows.parquet: rows numbered as text editors show them
  (header = line 1).
* response_curves.parquet, halo.parquet, weekly_revenue.parquet, new_customers.parquet,
  lift_tests.parquet: the true Weibull-lag, negative-exponential response per channel, its
  halo and cannibalisation, revenue by cause, paid acquisitions and lift-test effects
  (see `channelops.synth.marketing`; `channelops.synth.scoring.profit` scores any plan).
* demand.parquet (+ demand_sku.parquet, stockouts.parquet): daily multipliers, expected
  orders, demand before and sales after stock-out censoring.
* experiment.yaml, world.yaml: the experiment's true lift; scenario, seed, counts, formulas.
* favourites.parquet: each customer's 1-3 favourite SKUs per category (customer_id,
  category, sku, slot), re-bought with the customer's own habit probability.

The processes differ from the models the stages fit (docs/design-notes.md, "Simulator 2").

Same (scenario, size, seed) -> byte-identical files: every component draws from its own
`numpy.random.SeedSequence(seed, spawn_key=(component, chunk))` and customers are
processed in fixed chunks of 50,000 whatever the machine.
"""

from .generate import generate_dataset
from .presets import SCENARIOS, SIZES

__all__ = ["generate_dataset", "SCENARIOS", "SIZES"]
