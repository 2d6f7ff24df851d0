"""Sample-shop generator: a seeded, realistic e-commerce data set in the canonical schema.

``generate_sample`` builds the six source tables in memory; ``write_sample``
streams them to Parquet. ``PLANTED_EFFECTS`` lists the behaviours the data is
built to show, which analyses and tests can try to recover
(see ``docs/sample-data.md``).
"""

from analytics.sample.effects import PLANTED_EFFECTS
from analytics.sample.generator import SampleConfig, arrow_schema, generate_sample, write_sample

__all__ = ["PLANTED_EFFECTS", "SampleConfig", "arrow_schema", "generate_sample", "write_sample"]
