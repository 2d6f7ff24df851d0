"""GA4-like predictive metrics: P(purchase in the next 7 days) and P(churn in the next 28 days) per customer.

Both models learn from point-in-time user features (`analytics.features.store`)
taken at weekly snapshot dates. The population at a snapshot t is every user
with a visit in the 28 days before t (GA4 also scores only recently active
users). The outcome at t:

- purchase: the user places an order in [t, t + 7 days);
- churn: the user has no event at all in [t, t + 28 days).

Validation is in time. With the data ending on day E (the midnight after the
last event), the validation snapshot is t_v = E - horizon, so its outcomes are
fully observed, and the training snapshots are t_v - horizon - 7k days for
k = 0 .. snapshots-1, so no training outcome window reaches past t_v: nothing
the model learns from overlaps the period it is judged on.

The classifier is LightGBM (shap.TreeExplainer reads it exactly) on numeric
features only, so SHAP values map one-to-one onto the feature columns.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

import duckdb
import numpy as np
import pandas as pd

from analytics.errors import ShopLensError
from analytics.explain.trained import TrainedModel
from analytics.features.store import USER_FEATURES, as_of_timestamp, load_features
from analytics.filters import Filters
from analytics.sql_files import read_sql

PURCHASE_HORIZON_DAYS = 7
CHURN_HORIZON_DAYS = 28
ACTIVE_DAYS = 28  # a user is scored when they visited in the 28 days before the as-of point
DEFAULT_SNAPSHOTS = 8
SNAPSHOT_STEP_DAYS = 7
DEFAULT_SHAP_ROWS = 2_000
CALIBRATION_BINS = 10
# Below this many rows or positives a side says too little to train or validate on.
MIN_ROWS = 200
MIN_POSITIVES = 20

MODEL_FEATURES: tuple[str, ...] = tuple(USER_FEATURES)
FEATURE_LABELS: dict[str, str] = {
    "days_since_last_event": "Days since last visit",
    "days_since_first_event": "Days since first visit",
    "days_since_last_purchase": "Days since last order",
    "views_7d": "Views, 7 days",
    "views_30d": "Views, 30 days",
    "categories_viewed_7d": "Categories viewed, 7 days",
    "categories_viewed_30d": "Categories viewed, 30 days",
    "carts_30d": "Carts, 30 days",
    "searches_30d": "Searches, 30 days",
    "sessions_7d": "Visits, 7 days",
    "sessions_30d": "Visits, 30 days",
    "sessions_total": "Visits, all time",
    "mean_session_depth": "Events per visit",
    "mean_session_depth_30d": "Events per visit, 30 days",
    "mean_days_between_sessions": "Days between visits",
    "orders_total": "Orders, all time",
    "orders_30d": "Orders, 30 days",
    "revenue_total": "Revenue, all time",
    "recency_score": "RFM recency",
    "frequency_score": "RFM frequency",
    "monetary_score": "RFM monetary",
    "open_cart_value": "Open cart value",
    "open_cart_products": "Products in open cart",
    "mean_viewed_price_ratio_30d": "Viewed price ÷ category median",
    "mean_viewed_discount_rate_30d": "Viewed discount",
    "median_view_to_cart_seconds": "View → cart time",
    "median_cart_to_purchase_seconds": "Cart → purchase time",
    "viewed_products_carted_share": "Viewed products carted",
    "carted_products_bought_share": "Carted products bought",
    "app_session_share": "App visits share",
    "mobile_session_share": "Mobile visits share",
    "desktop_session_share": "Desktop visits share",
    "email_session_share": "Email visits share",
}
SEGMENT_COLUMNS: tuple[str, ...] = ("main_device", "main_channel", "customer_status")

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Outcome:
    """What one model predicts.

    Attributes:
        name: the model's machine name.
        title: its name for people.
        target: the positive outcome, for people.
        horizon_days: length of the outcome window after the as-of point, days.
        column: the user_outcomes.sql column read; the positive is `column == positive_when`.
        positive_when: the value of `column` that is a positive.
    """

    name: str
    title: str
    target: str
    horizon_days: int
    column: str
    positive_when: bool


PURCHASE = Outcome("purchase_7d", "Purchase in the next 7 days", "orders within 7 days",
                   PURCHASE_HORIZON_DAYS, "has_ordered", True)
CHURN = Outcome("churn_28d", "Churn in the next 28 days", "no activity for 28 days",
                CHURN_HORIZON_DAYS, "is_active", False)


def data_span(con: duckdb.DuckDBPyConnection) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The first and last event times of the warehouse.

    Raises:
        ShopLensError: the warehouse has no events.
    """
    first, last = con.cursor().execute(read_sql("features/data_end")).fetchone()
    if first is None:
        raise ShopLensError("the warehouse has no events; build it from data with events to predict anything")
    return pd.Timestamp(first), pd.Timestamp(last)


def data_end_point(con: duckdb.DuckDBPyConnection) -> datetime:
    """The midnight after the last event: the default as-of point for scoring (the last day is complete)."""
    _, last = data_span(con)
    return (last.normalize() + pd.Timedelta(days=1)).to_pydatetime()


def snapshot_points(end: datetime, horizon_days: int, snapshots: int,
                    step_days: int = SNAPSHOT_STEP_DAYS) -> tuple[list[datetime], datetime]:
    """The training snapshot points and the validation point, in time order.

    Args:
        end: when the data ends (exclusive), a midnight.
        horizon_days: the outcome window, days >= 1.
        snapshots: training snapshots, >= 1.
        step_days: days between training snapshots, >= 1.

    Returns:
        (training points earliest first, validation point); every training point + horizon <= validation point
        and validation point + horizon == end.
    """
    validation = end - timedelta(days=horizon_days)
    latest_training = validation - timedelta(days=horizon_days)
    training = [latest_training - timedelta(days=step_days * k) for k in range(snapshots)]
    return sorted(training), validation


def snapshot_rows(con: duckdb.DuckDBPyConnection, as_of: datetime, outcome: Outcome) -> pd.DataFrame:
    """Point-in-time features of the users active in the 28 days before `as_of`, with their outcome.

    Args:
        con: a warehouse connection.
        as_of: the snapshot point.
        outcome: which outcome to attach.

    Returns:
        user_id, as_of, the USER_FEATURES columns, main_device, main_channel, customer_status,
        and `label` (0/1): one row per active user.
    """
    features = active_users(load_features(con, as_of, "user"))
    outcomes = con.cursor().execute(read_sql("features/user_outcomes"),
                                    {"as_of": as_of, "horizon_days": outcome.horizon_days}).df()
    observed = features[["user_id"]].merge(outcomes, on="user_id", how="left")
    value = observed[outcome.column].astype("boolean").fillna(False).to_numpy(dtype=bool)
    return features.assign(label=(value == outcome.positive_when).astype(int))


def active_users(features: pd.DataFrame, active_days: int = ACTIVE_DAYS) -> pd.DataFrame:
    """The feature rows of users with a visit in the `active_days` days before the as-of point.

    Args:
        features: from `load_features(..., "user")`.
        active_days: days, >= 1.

    Returns:
        The active rows, with customer_status ("customer" when they ordered before, else "visitor") added.
    """
    active = features.loc[features["days_since_last_event"] < active_days].copy()
    active["customer_status"] = np.where(active["orders_total"] > 0, "customer", "visitor")
    return active.reset_index(drop=True)


def lightgbm_classifier(random_state: int = 0):
    """A fresh, unfitted LightGBM classifier with the parameters both models use."""
    from lightgbm import LGBMClassifier

    return LGBMClassifier(
        n_estimators=200, learning_rate=0.05, num_leaves=15, min_child_samples=50, reg_lambda=1.0,
        subsample=0.8, subsample_freq=1, colsample_bytree=0.8, random_state=random_state,
        deterministic=True, force_col_wise=True, verbose=-1,
        # One thread: on a busy machine two OpenMP threads spin and run 10x slower, not 2x faster.
        n_jobs=1,
    )


def calibration_table(actual: np.ndarray, predicted: np.ndarray, bins: int = CALIBRATION_BINS) -> pd.DataFrame:
    """Observed rate against mean predicted probability in equal-count bins of the prediction.

    Args:
        actual: 0/1 outcomes.
        predicted: probabilities 0..1, same length.
        bins: bins at most, >= 1 (tied predictions may leave fewer).

    Returns:
        One row per non-empty bin, lowest predictions first: bin (1..), mean_predicted (0..1),
        observed_rate (0..1), rows (>= 1).
    """
    frame = pd.DataFrame({"actual": np.asarray(actual, dtype=float), "predicted": np.asarray(predicted, dtype=float)})
    if frame.empty:
        return pd.DataFrame(columns=["bin", "mean_predicted", "observed_rate", "rows"])
    order = frame["predicted"].rank(method="first").to_numpy() - 1
    frame["bin"] = (order * bins // len(frame)).astype(int) + 1
    table = frame.groupby("bin", sort=True).agg(
        mean_predicted=("predicted", "mean"), observed_rate=("actual", "mean"), rows=("actual", "size")
    ).reset_index()
    table["bin"] = np.arange(1, len(table) + 1)
    return table


def top_decile_lift(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Positive rate among the 10% highest predictions divided by the overall positive rate.

    Args:
        actual: 0/1 outcomes, at least one positive.
        predicted: scores, same length.

    Returns:
        The lift (>= 0; 1 is no better than chance, at most 10); NaN without positives.
    """
    actual = np.asarray(actual, dtype=float)
    if len(actual) == 0 or actual.sum() == 0:
        return float("nan")
    top = max(1, int(np.ceil(len(actual) * 0.1)))
    # A stable sort on the negated score keeps ties in row order, so the lift is reproducible.
    chosen = np.argsort(-np.asarray(predicted, dtype=float), kind="stable")[:top]
    return float(actual[chosen].mean() / actual.mean())


def train_purchase_model(con: duckdb.DuckDBPyConnection, *, snapshots: int = DEFAULT_SNAPSHOTS,
                         shap_rows: int = DEFAULT_SHAP_ROWS, random_state: int = 0,
                         progress: Progress | None = None) -> TrainedModel:
    """Train and validate P(order within 7 days) for recently active users.

    Args:
        con: a warehouse connection.
        snapshots: weekly training snapshots, >= 1.
        shap_rows: validation rows kept for explanations at most, >= 1.
        random_state: seed for the booster and the explanation sample.
        progress: called as progress(step, done, total) after each snapshot and the fit.

    Returns:
        A TrainedModel (task "classification") named "purchase_7d".
    """
    return train_outcome_model(con, PURCHASE, snapshots=snapshots, shap_rows=shap_rows,
                               random_state=random_state, progress=progress)


def train_churn_model(con: duckdb.DuckDBPyConnection, *, snapshots: int = DEFAULT_SNAPSHOTS,
                      shap_rows: int = DEFAULT_SHAP_ROWS, random_state: int = 0,
                      progress: Progress | None = None) -> TrainedModel:
    """Train and validate P(no activity in the next 28 days) for recently active users.

    Args and Returns: as `train_purchase_model`; the model is named "churn_28d".
    """
    return train_outcome_model(con, CHURN, snapshots=snapshots, shap_rows=shap_rows,
                               random_state=random_state, progress=progress)


def train_outcome_model(con: duckdb.DuckDBPyConnection, outcome: Outcome, *, snapshots: int = DEFAULT_SNAPSHOTS,
                        shap_rows: int = DEFAULT_SHAP_ROWS, random_state: int = 0,
                        progress: Progress | None = None) -> TrainedModel:
    """Fit one outcome model on training snapshots and validate it on the later snapshot.

    Args:
        con: a warehouse connection.
        outcome: PURCHASE or CHURN.
        snapshots: weekly training snapshots, >= 1.
        shap_rows: validation rows kept for explanations at most, >= 1.
        random_state: seed.
        progress: called as progress(step, done, total).

    Returns:
        A TrainedModel with roc_auc, log_loss, base_rate and top_decile_lift metrics and a calibration table.

    Raises:
        ShopLensError: too little history or too few outcomes to learn from.
    """
    from sklearn.metrics import log_loss, roc_auc_score

    if snapshots < 1:
        raise ShopLensError(f"snapshots is {snapshots}; use at least 1 weekly training snapshot")
    started = time.perf_counter()
    first, _ = data_span(con)
    end = data_end_point(con)
    training_points, validation_point = snapshot_points(end, outcome.horizon_days, snapshots)
    usable = [point for point in training_points if point > first]
    if not usable:
        needed = 2 * outcome.horizon_days + 1
        raise ShopLensError(
            f"the data spans {(end - first.to_pydatetime()).days} days; the {outcome.title.lower()} model needs "
            f"at least {needed} days of events (training and validation windows of {outcome.horizon_days} days)"
        )
    total = len(usable) + 2
    frames = []
    for done, point in enumerate(usable, start=1):
        frames.append(snapshot_rows(con, point, outcome))
        _report(progress, f"features as of {point:%Y-%m-%d}", done, total)
    train = pd.concat(frames, ignore_index=True)
    validation = snapshot_rows(con, validation_point, outcome)
    _report(progress, f"features as of {validation_point:%Y-%m-%d}", total - 1, total)
    _check_side(train, "training", outcome)
    _check_side(validation, "validation", outcome)

    model = lightgbm_classifier(random_state).fit(train[list(MODEL_FEATURES)], train["label"].to_numpy())
    predicted = model.predict_proba(validation[list(MODEL_FEATURES)])[:, 1]
    actual = validation["label"].to_numpy()
    metrics = {
        "roc_auc": float(roc_auc_score(actual, predicted)),
        "log_loss": float(log_loss(actual, predicted, labels=[0, 1])),
        "base_rate": float(actual.mean()),
        "top_decile_lift": top_decile_lift(actual, predicted),
    }
    # One row per user in a snapshot, so the explained rows are indexed by user_id for look-ups.
    explained = (validation.sample(n=min(shap_rows, len(validation)), random_state=random_state)
                 .sort_index().set_index("user_id"))
    _report(progress, "fit", total, total)
    return TrainedModel(
        name=outcome.name,
        title=outcome.title,
        task="classification",
        target=outcome.target,
        model=model,
        feature_labels={name: FEATURE_LABELS[name] for name in MODEL_FEATURES},
        categorical_features=(),
        explain_rows=explained[list(MODEL_FEATURES)],
        explain_actual=explained["label"],
        segments=explained[list(SEGMENT_COLUMNS)].join(_user_groups(con), how="left"),
        metrics=metrics,
        data_version=_data_version(con),
        training_start=pd.Timestamp(usable[0]),
        training_end=pd.Timestamp(usable[-1] + timedelta(days=outcome.horizon_days)),
        validation_start=pd.Timestamp(validation_point),
        validation_end=pd.Timestamp(validation_point + timedelta(days=outcome.horizon_days)),
        train_rows=len(train),
        validation_rows=len(validation),
        parameters={**model.get_params(), "snapshots": len(usable), "snapshot_step_days": SNAPSHOT_STEP_DAYS,
                    "active_days": ACTIVE_DAYS, "horizon_days": outcome.horizon_days},
        calibration=calibration_table(actual, predicted),
        fit_seconds=time.perf_counter() - started,
    )


SCORE_COLUMNS: tuple[str, ...] = (
    "user_id", "purchase_probability_7d", "churn_probability_28d", "customer_status", "days_since_last_event",
    "days_since_last_purchase", "sessions_30d", "orders_total", "revenue_total", "main_device", "main_channel",
    "as_of",
)


def score_customers(con: duckdb.DuckDBPyConnection, as_of: datetime | str | None = None, *,
                    filters: Filters | None = None, purchase_model: TrainedModel | None = None,
                    churn_model: TrainedModel | None = None) -> pd.DataFrame:
    """P(purchase within 7 days) and P(churn within 28 days) for every recently active user.

    Args:
        con: a warehouse connection.
        as_of: the scoring point; default: the day after the filters' end date when given, else the day
            after the last event. Never later than the day after the last event.
        filters: when given, only users with a visit the filters select (dates, categories, channels,
            devices) are scored.
        purchase_model, churn_model: fitted models from the trainers; trained here when None.

    Returns:
        One row per user with a visit in the 28 days before as_of, highest churn probability first:
        user_id, purchase_probability_7d (0..1), churn_probability_28d (0..1), customer_status
        ("customer" or "visitor"), days_since_last_event, days_since_last_purchase (NaN for visitors),
        sessions_30d, orders_total, revenue_total, main_device, main_channel, as_of.
    """
    end = data_end_point(con)
    if as_of is not None:
        point = as_of_timestamp(as_of)
    elif filters is not None:
        point = datetime.combine(filters.end_date + timedelta(days=1), datetime.min.time())
    else:
        point = end
    point = min(point, end)
    purchase_model = purchase_model or train_purchase_model(con)
    churn_model = churn_model or train_churn_model(con)
    rows = active_users(load_features(con, point, "user"))
    if filters is not None:
        chosen = con.cursor().execute(read_sql("features/filtered_users"), filters.sql_parameters()).df()
        rows = rows.loc[rows["user_id"].isin(chosen["user_id"])].reset_index(drop=True)
    if rows.empty:
        return pd.DataFrame(columns=list(SCORE_COLUMNS))
    scores = rows.assign(
        purchase_probability_7d=purchase_model.model.predict_proba(rows[list(MODEL_FEATURES)])[:, 1],
        churn_probability_28d=churn_model.model.predict_proba(rows[list(MODEL_FEATURES)])[:, 1],
    )
    return (scores[list(SCORE_COLUMNS)]
            .sort_values(["churn_probability_28d", "user_id"], ascending=[False, True], kind="stable")
            .reset_index(drop=True))


def at_risk_customers(scores: pd.DataFrame, limit: int = 100) -> pd.DataFrame:
    """The customers (they ordered before) most likely to churn, most valuable first among equals.

    Args:
        scores: from `score_customers`.
        limit: rows at most, >= 1.

    Returns:
        Up to `limit` rows of `scores` with customer_status "customer", by churn probability
        (highest first), then revenue_total (highest first), then user_id.
    """
    customers = scores.loc[scores["customer_status"] == "customer"]
    return (customers.sort_values(["churn_probability_28d", "revenue_total", "user_id"],
                                  ascending=[False, False, True], kind="stable")
            .head(limit).reset_index(drop=True))


def probability_distribution(scores: pd.DataFrame, column: str, bins: int = 20) -> pd.DataFrame:
    """How many users fall in each equal-width probability band.

    Args:
        scores: from `score_customers`.
        column: "purchase_probability_7d" or "churn_probability_28d".
        bins: bands over 0..1, >= 1.

    Returns:
        One row per band: band_start, band_end (0..1), users (>= 0); every band, empty or not.
    """
    if column not in scores.columns:
        raise ShopLensError(
            f"the scores have no column {column!r}; use purchase_probability_7d or churn_probability_28d"
        )
    edges = np.linspace(0.0, 1.0, bins + 1)
    values = scores[column].to_numpy(dtype=float)
    # The last band is closed, so a probability of exactly 1 is counted.
    index = np.clip(np.floor(values * bins).astype(int), 0, bins - 1)
    counts = np.bincount(index, minlength=bins) if len(values) else np.zeros(bins, dtype=int)
    return pd.DataFrame({"band_start": edges[:-1], "band_end": edges[1:], "users": counts.astype(int)})


SEGMENT_LABELS: dict[str, str] = {
    "main_device": "Usual device",
    "main_channel": "Usual channel",
    "customer_status": "Customer or visitor",
}


def probability_by_segment(scores: pd.DataFrame, by: str) -> pd.DataFrame:
    """Mean purchase and churn probability of the scored users in each segment.

    Args:
        scores: from `score_customers`.
        by: one of SEGMENT_COLUMNS (main_device, main_channel, customer_status).

    Returns:
        One row per segment value (missing values as "unknown"), most users first: the `by` column,
        users (>= 1), purchase_probability_7d and churn_probability_28d (means, 0..1).
    """
    if by not in SEGMENT_COLUMNS:
        raise ShopLensError(f"cannot break scores down by {by!r}; choose one of {', '.join(SEGMENT_COLUMNS)}")
    if scores.empty:
        return pd.DataFrame(columns=[by, "users", "purchase_probability_7d", "churn_probability_28d"])
    table = (scores.assign(**{by: scores[by].fillna("unknown").astype(str)})
             .groupby(by, sort=True)
             .agg(users=("user_id", "size"), purchase_probability_7d=("purchase_probability_7d", "mean"),
                  churn_probability_28d=("churn_probability_28d", "mean"))
             .reset_index())
    return table.sort_values(["users", by], ascending=[False, True], kind="stable").reset_index(drop=True)


def _check_side(frame: pd.DataFrame, side: str, outcome: Outcome) -> None:
    positives = int(frame["label"].sum())
    negatives = len(frame) - positives
    if len(frame) < MIN_ROWS or min(positives, negatives) < MIN_POSITIVES:
        raise ShopLensError(
            f"the {side} snapshots have {len(frame):,} active users, {positives:,} of whom "
            f"{outcome.target}; the {outcome.title.lower()} model needs at least {MIN_ROWS} users and "
            f"{MIN_POSITIVES} of each outcome. Load more users or a longer history."
        )


def _user_groups(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    # Region and acquisition channel, for the shared fairness check; the explanation layer's
    # report defines them. Without it the segments simply lack these two columns.
    from analytics.queries import run_report

    try:
        return run_report(con, "explain/user_groups", {}).set_index("user_id")
    except (OSError, duckdb.Error):
        return pd.DataFrame(index=pd.Index([], name="user_id"))


def _data_version(con: duckdb.DuckDBPyConnection) -> str:
    try:
        return str(con.cursor().execute("select data_version from meta_warehouse").fetchone()[0])
    except duckdb.Error:
        return "unknown"


def _report(progress: Progress | None, step: str, done: int, total: int) -> None:
    if progress is not None:
        progress(step, done, total)
