"""The cart-conversion model: will a cart be bought within the window, given its context?

Features are what was known when the product was carted (see `fct_carts`):
price relative to the category median, discount, category, device, the user's
earlier orders, how deep into the session the cart came, and the hour. Carts
whose window is still open at the data end have no known outcome and are left
out. On large data the model trains on a seeded random sample of at most
`max_rows` carts (kept in time order) so fitting takes seconds.
"""

from __future__ import annotations

from dataclasses import replace

import duckdb
import pandas as pd

from analytics.cart_dropoff import DEFAULT_WITHIN_HOURS, cart_states, check_hours, load_carts
from analytics.explain.explanation import DEFAULT_SHAP_ROWS, ModelExplanation, explain_model
from analytics.explain.model import ConversionClassifier
from analytics.filters import Filters

MODEL_NAME = "cart_conversion"
NUMERIC_FEATURES: tuple[str, ...] = ("price_ratio", "discount_rate", "prior_order_count", "session_depth", "cart_hour")
CATEGORICAL_FEATURES: tuple[str, ...] = ("category", "device")
FEATURE_LABELS: dict[str, str] = {
    "price_ratio": "Price ÷ category median",
    "discount_rate": "Discount",
    "prior_order_count": "Earlier orders",
    "session_depth": "Session depth",
    "cart_hour": "Hour of day",
    "category": "Category",
    "device": "Device",
}
SEGMENT_COLUMNS: tuple[str, ...] = ("price_band", "category", "device", "is_returning")
DEFAULT_MAX_ROWS = 20_000


def cart_training_frame(carts: pd.DataFrame, within_hours: float) -> pd.DataFrame:
    """The carts with a known outcome and their label.

    Args:
        carts: from `analytics.cart_dropoff.load_carts`.
        within_hours: the window W, > 0.

    Returns:
        The decided carts (bought within W, or abandoned) with is_bought_within (0/1) added,
        in time order.
    """
    states = cart_states(carts, within_hours)
    decided = ~states["is_open"]
    return carts.loc[decided].assign(is_bought_within=states.loc[decided, "is_bought_within"].astype(int))


def cart_conversion_model(random_state: int = 0) -> ConversionClassifier:
    """A fresh, unfitted classifier with the cart features."""
    return ConversionClassifier(
        numeric_features=NUMERIC_FEATURES, categorical_features=CATEGORICAL_FEATURES, random_state=random_state
    )


def explain_cart_conversion(
    con: duckdb.DuckDBPyConnection,
    filters: Filters,
    within_hours: float = DEFAULT_WITHIN_HOURS,
    max_rows: int = DEFAULT_MAX_ROWS,
    shap_rows: int = DEFAULT_SHAP_ROWS,
    random_state: int = 0,
) -> ModelExplanation:
    """Fit and explain the cart-conversion model on the carts the filters select.

    Args:
        con: a warehouse connection.
        filters: which carts to learn from (date, category, channel, device).
        within_hours: a cart is a positive when bought within this many hours, > 0.
        max_rows: train and validate on at most this many carts (seeded sample), >= 100.
        shap_rows: validation carts to explain at most, >= 1.
        random_state: seed for the samples and the booster.

    Returns:
        A ModelExplanation; segments are price_band, category, device and is_returning.
    """
    check_hours(within_hours, "the window")
    frame = cart_training_frame(load_carts(con, filters), within_hours)
    available = len(frame)
    if available > max_rows:
        frame = frame.sample(n=max_rows, random_state=random_state).sort_values(["carted_at", "cart_id"])
    explanation = explain_model(
        cart_conversion_model(random_state),
        frame,
        model_name=MODEL_NAME,
        target=f"bought within {within_hours:g} h",
        label_column="is_bought_within",
        time_column="carted_at",
        feature_labels=FEATURE_LABELS,
        segment_columns=SEGMENT_COLUMNS,
        shap_rows=shap_rows,
        random_state=random_state,
    )
    # Report the carts available before sampling, so the page can state the sample size.
    return replace(explanation, training_rows_available=available)
