"""Time-split validation, calibration and segment explanations shared by the explanation layer.

- `time_split` and `calibration_table`: how the cart-conversion trainer
  (`analytics.explain.cart_conversion.train_cart_model`) validates in time.
- `explain_segment`: why the model treats one segment as it does (its mean SHAP values against all
  explained rows), for any `analytics.explain.tree_shap.TrainedExplanation`; the "Explain this
  chart" panel draws it.

Every model-backed page is explained through `TrainedModel` and `explain_trained`
(`analytics.explain.tree_shap`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analytics.errors import ShopLensError

if TYPE_CHECKING:
    from analytics.explain.tree_shap import TrainedExplanation

DEFAULT_TEST_SHARE = 0.2
CALIBRATION_BINS = 10
# Below this many rows per side a split says too little to show.
MIN_ROWS_PER_SIDE = 50


@dataclass(frozen=True)
class SegmentExplanation:
    """Why the model treats one segment as it does, against all explained rows.

    Attributes:
        column: the segment column, e.g. "price_band".
        value: the segment, e.g. "over 1.5x median".
        rows: explained rows in the segment.
        predicted_rate: mean predicted probability in the segment (0..1), NaN when empty.
        observed_rate: share of positive outcomes in the segment (0..1), NaN when empty.
        overall_predicted_rate, overall_observed_rate: the same over all explained rows.
        contributions: one row per feature, largest |difference| first: feature, label,
            segment_mean_shap, overall_mean_shap, difference (segment minus overall, log-odds;
            positive pushes the segment towards the outcome).
    """

    column: str
    value: str
    rows: int
    predicted_rate: float
    observed_rate: float
    overall_predicted_rate: float
    overall_observed_rate: float
    contributions: pd.DataFrame


def time_split(frame: pd.DataFrame, time_column: str, test_share: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split rows in time: the earliest (1 - test_share) for training, the rest for validation.

    Args:
        frame: the rows.
        time_column: when each row happened.
        test_share: share of rows for validation, strictly between 0 and 1.

    Returns:
        (train, test), each in time order; max(train time) <= min(test time).
    """
    if not 0 < test_share < 1:
        raise ShopLensError(f"the validation share is {test_share}; give a number between 0 and 1")
    ordered = frame.sort_values(time_column, kind="stable")
    cut = int(round(len(ordered) * (1 - test_share)))
    return ordered.iloc[:cut], ordered.iloc[cut:]


def calibration_table(actual: np.ndarray, predicted: np.ndarray, bins: int = CALIBRATION_BINS) -> pd.DataFrame:
    """Observed rate against mean predicted probability in equal-count bins.

    Args:
        actual: 0/1 outcomes.
        predicted: probabilities 0..1, same length.
        bins: how many bins at most (ties may merge some).

    Returns:
        bin (1..), mean_predicted, observed_rate, rows; bins by increasing prediction.
    """
    frame = pd.DataFrame({"actual": np.asarray(actual, dtype=float), "predicted": np.asarray(predicted, dtype=float)})
    ranks = frame["predicted"].rank(method="first")
    frame["bin"] = pd.qcut(ranks, q=min(bins, len(frame)), labels=False) + 1
    table = frame.groupby("bin").agg(
        mean_predicted=("predicted", "mean"), observed_rate=("actual", "mean"), rows=("actual", "size")
    )
    return table.reset_index()


def explain_segment(explanation: TrainedExplanation, column: str, value: str
                    ) -> SegmentExplanation:
    """Compare one segment's mean SHAP values with all explained rows'.

    Args:
        explanation: a TrainedExplanation (from `explain_trained`): its segments, SHAP values,
            feature labels, predictions and outcomes share one index.
        column: one of its segment columns.
        value: the segment's value in that column (as text).

    Returns:
        A SegmentExplanation; an empty segment has rows 0 and NaN rates and contributions.
    """
    if column not in explanation.segments.columns:
        raise ShopLensError(
            f"cannot explain the segment column {column!r}; choose one of {', '.join(explanation.segments.columns)}"
        )
    mask = (explanation.segments[column] == str(value)).to_numpy()
    segment_mean = explanation.shap_values[mask].mean() if mask.any() else explanation.shap_values.mean() * np.nan
    overall_mean = explanation.shap_values.mean()
    contributions = pd.DataFrame(
        {
            "feature": list(explanation.feature_labels),
            "label": list(explanation.feature_labels.values()),
            "segment_mean_shap": segment_mean.to_numpy(),
            "overall_mean_shap": overall_mean.to_numpy(),
        }
    )
    contributions["difference"] = contributions["segment_mean_shap"] - contributions["overall_mean_shap"]
    contributions = contributions.sort_values(
        "difference", key=lambda values: values.abs(), ascending=False, kind="stable"
    ).reset_index(drop=True)
    return SegmentExplanation(
        column=column,
        value=str(value),
        rows=int(mask.sum()),
        predicted_rate=float(explanation.predicted[mask].mean()) if mask.any() else float("nan"),
        observed_rate=float(explanation.actual[mask].mean()) if mask.any() else float("nan"),
        overall_predicted_rate=float(explanation.predicted.mean()),
        overall_observed_rate=float(explanation.actual.mean()),
        contributions=contributions,
    )
