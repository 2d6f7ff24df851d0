"""Finds the SQL models and report queries shipped in `analytics/sql/`.

Models are materialised in `MODEL_ORDER`: staging, then intermediate, then
marts. Report queries (`sql/reports/*.sql`) only read marts and take bound
parameters such as `$start_date`; nothing is ever formatted into SQL text.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

SQL_DIR = Path(__file__).parent / "sql"

# Build order. Staging models become views (they only rename and cast);
# intermediate models and marts become tables so pages never recompute them.
MODEL_ORDER: tuple[str, ...] = (
    "staging/stg_events",
    "staging/stg_products",
    "staging/stg_users",
    "staging/stg_orders",
    "staging/stg_order_items",
    "staging/stg_promotions",
    "intermediate/int_events_sessionized",
    "intermediate/int_sessions",
    "intermediate/int_order_totals",
    "marts/dim_products",
    "marts/fct_sessions",
    "marts/fct_events",
    "marts/fct_orders",
    "marts/fct_order_items",
    "marts/dim_users",
    "marts/fct_daily_kpis",
    "marts/fct_carts",
)

# Table macros that define what the global filters select, created after the
# marts they read; every report goes through them, so the filter semantics
# live in one place.
MACROS: tuple[str, ...] = (
    "macros/filtered_sessions",
    "macros/filtered_order_items",
)

MART_NAMES: tuple[str, ...] = tuple(
    model.split("/")[1] for model in MODEL_ORDER if model.startswith("marts/")
)


@cache
def read_sql(relative_path: str) -> str:
    """Return the text of `sql/<relative_path>.sql`.

    Args:
        relative_path: path below `analytics/sql/` without the suffix, e.g. "reports/overview_kpis".

    Returns:
        The SQL text.
    """
    return (SQL_DIR / f"{relative_path}.sql").read_text(encoding="utf-8")


def model_name(model: str) -> str:
    """Return the relation name of a model path, e.g. "marts/fct_sessions" -> "fct_sessions"."""
    return model.rsplit("/", 1)[-1]


def materialisation(model: str) -> str:
    """Return "view" for staging models and "table" for the rest."""
    return "view" if model.startswith("staging/") else "table"


def models_fingerprint() -> str:
    """A short hash of every model and macro, so a sample warehouse built by other SQL is rebuilt.

    Returns:
        16 hex characters; changes whenever any model's or macro's text, the data profile or the capability
        rules change.
    """
    digest = hashlib.sha256()
    for relative_path in (*MODEL_ORDER, *MACROS, "meta/data_profile"):
        digest.update(relative_path.encode())
        digest.update(read_sql(relative_path).encode())
    # The capability rules are judged at build time and stored: a sample built under other rules is stale too.
    digest.update((Path(__file__).resolve().parent / "capabilities.py").read_bytes())
    return digest.hexdigest()[:16]
