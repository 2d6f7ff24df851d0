"""The cart-conversion model: will a cart be bought within the window, given its context?

Features are what was known when the product was carted (see `fct_carts`):
price relative to the category median, discount, category, device, the user's
earlier orders, how deep into the session the cart came, and the hour. Carts
whose window is still open at the data end have no known outcome and are left
out. On large data the model trains on a seeded random sample of at most
`max_rows` carts (kept in time order) so fitting takes seconds.
"""

from __future__ import annotations

import time

import duckdb
import pandas as pd

from analytics.cart_dropoff import DEFAULT_WITHIN_HOURS, cart_states, check_hours, load_carts
from analytics.errors import ShopLensError
from analytics.explain.explanation import DEFAULT_TEST_SHARE, MIN_ROWS_PER_SIDE, calibration_table, time_split
from analytics.explain.metrics import classification_metrics
from analytics.explain.model import ConversionClassifier
from analytics.explain.trained import TrainedModel
from analytics.filters import Filters
from analytics.overview import filter_options
from analytics.queries import run_report
from analytics.warehouse import data_version

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
# Fewer bought (or abandoned) carts than this on either side of the time split make the validation
# metrics noise: on 2 hours of Taobao data, 7 bought carts gave a ROC AUC of 0.41.
MIN_OUTCOME_ROWS = 20


def cart_training_frame(carts: pd.DataFrame, within_hours: float) -> pd.DataFrame:
    """The carts with a known outcome and their label.

    Args:
        carts: from `analytics.cart_dropoff.load_carts`.
        within_hours: the window W, > 0.

    Returns:
        The carts whose window closed before the data ends (bought within W, or abandoned) with
        is_bought_within (0/1) added; carts still in their window are left out even when already bought,
        since keeping them would over-represent buyers among the latest carts,
        in time order.
    """
    states = cart_states(carts, within_hours)
    closed = states["is_window_closed"]
    return carts.loc[closed].assign(is_bought_within=states.loc[closed, "is_bought_within"].astype(int))


def cart_conversion_model(random_state: int = 0) -> ConversionClassifier:
    """A fresh, unfitted classifier with the cart features."""
    return ConversionClassifier(
        numeric_features=NUMERIC_FEATURES, categorical_features=CATEGORICAL_FEATURES, random_state=random_state
    )


# --------------------------------------------------------------------------- the shared TrainedModel contract

TITLE = "Cart bought within the window"
# Groups the fairness check compares; region and acquisition channel come from dim_users.
FAIRNESS_COLUMNS: tuple[str, ...] = ("device", "channel", "is_returning", "region", "acquisition_channel")


def train_cart_model(
    con: duckdb.DuckDBPyConnection,
    filters: Filters | None = None,
    within_hours: float = DEFAULT_WITHIN_HOURS,
    max_rows: int = DEFAULT_MAX_ROWS,
    test_share: float = DEFAULT_TEST_SHARE,
    random_state: int = 0,
) -> TrainedModel:
    """Fit the cart-conversion model with a time split and return it as a TrainedModel.

    Args:
        con: a warehouse connection.
        filters: which carts to learn from; None takes every date, category, channel and device.
        within_hours: a cart is a positive when bought within this many hours, > 0.
        max_rows: train and validate on at most this many carts (seeded sample), >= 100.
        test_share: share of the latest carts used for validation, 0..1.
        random_state: seed for the sample and the booster.

    Returns:
        A TrainedModel (task "classification"); explain_rows are the validation carts indexed
        by cart_id; segments price_band, category, device, channel, is_returning, region,
        acquisition_channel; metrics roc_auc, log_loss, base_rate, top_decile_lift.

    Raises:
        ShopLensError: too few carts, or one outcome only, on either side of the split.
    """
    started = time.perf_counter()
    check_hours(within_hours, "the window")
    if filters is None:
        options = filter_options(con)
        if options.first_date is None or options.last_date is None:
            raise ShopLensError("the warehouse has no dated events; import events before training the cart model")
        filters = Filters(options.first_date, options.last_date)
    frame = cart_training_frame(load_carts(con, filters), within_hours)
    available = len(frame)
    if available > max_rows:
        frame = frame.sample(n=max_rows, random_state=random_state).sort_values(["carted_at", "cart_id"])
    train, test = time_split(frame, "carted_at", test_share)
    for side, rows in (("training", train), ("validation", test)):
        bought = int(rows["is_bought_within"].sum())
        if len(rows) < MIN_ROWS_PER_SIDE or min(bought, len(rows) - bought) < MIN_OUTCOME_ROWS:
            raise ShopLensError(
                f"the {side} part has {len(rows):,} decided carts, {bought:,} of them bought within "
                f"{within_hours:g} h; the model needs at least {MIN_ROWS_PER_SIDE} carts and "
                f"{MIN_OUTCOME_ROWS} of each outcome on each side of the time split: widen the dates, "
                "clear filters or choose a longer window"
            )
    model = cart_conversion_model(random_state).fit(train, train["is_bought_within"])
    probability = model.predict_proba(test)[:, 1]
    actual = test["is_bought_within"].to_numpy(dtype=int)
    features = list(FEATURE_LABELS)
    explain_rows = test.set_index("cart_id")[features]
    groups = run_report(con, "explain/user_groups", {}).set_index("user_id")
    segments = test.set_index("cart_id")[["price_band", "category", "device", "channel", "is_returning", "user_id"]]
    segments = segments.join(groups, on="user_id").drop(columns="user_id").astype(str)
    return TrainedModel(
        name=MODEL_NAME,
        title=f"Cart bought within {within_hours:g} h",
        task="classification",
        target=f"bought within {within_hours:g} h",
        model=model,
        feature_labels=dict(FEATURE_LABELS),
        categorical_features=CATEGORICAL_FEATURES,
        explain_rows=explain_rows,
        explain_actual=pd.Series(actual, index=explain_rows.index, name="is_bought_within"),
        segments=segments,
        metrics=classification_metrics(actual, probability),
        data_version=data_version(con),
        training_start=pd.Timestamp(train["carted_at"].min()),
        training_end=pd.Timestamp(train["carted_at"].max()),
        validation_start=pd.Timestamp(test["carted_at"].min()),
        validation_end=pd.Timestamp(test["carted_at"].max()),
        train_rows=len(train),
        validation_rows=len(test),
        parameters=model.get_params() | {
            "within_hours": within_hours, "max_rows": max_rows, "carts_available": available,
            "test_share": test_share,
            "filters": {"start_date": str(filters.start_date), "end_date": str(filters.end_date),
                        "categories": list(filters.categories), "channels": list(filters.channels),
                        "devices": list(filters.devices)},
        },
        calibration=calibration_table(actual, probability),
        fit_seconds=time.perf_counter() - started,
    )
