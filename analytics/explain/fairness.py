"""A fairness check: does a model work as well, and is it calibrated as well, for every group?

For each group column (device, region, new vs returning, acquisition channel,
...) the check compares, per group, the base rate (share of positive outcomes),
the mean prediction, the calibration gap (mean prediction minus base rate) and
the ROC AUC for classifiers; the mean outcome, mean prediction and WAPE for
regressors and rankers. It uses every explain row of the TrainedModel (the
validation rows the model never learned from), not only the SHAP sample.
Groups with fewer than `min_rows` rows are listed but not compared. For each
column and metric the gap is the largest minus the smallest group value
(for the calibration gap: the largest |gap|). A gap is flagged when it is
beyond its threshold AND beyond twice its standard error, so small groups'
noise is not flagged (standard errors: binomial for rates, Hanley & McNeil
1982 for ROC AUC; WAPE gaps are judged on the threshold alone). A flag is a
prompt for a person to look closer, not a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from analytics.explain.metrics import wape
from analytics.explain.trained import TrainedModel
from analytics.explain.tree_shap import model_output

# The groups the issue asks about, with the words people use for them.
GROUP_COLUMNS: dict[str, str] = {
    "device": "Device",
    "region": "Region",
    "is_returning": "New vs returning",
    "acquisition_channel": "Acquisition channel",
    "channel": "Visit channel",
}
# Absolute gaps (metric units) beyond which a column is flagged.
DEFAULT_THRESHOLDS: dict[str, float] = {
    "roc_auc": 0.05,
    "base_rate": 0.10,
    "calibration_gap": 0.05,
    "wape": 0.10,
}
# Other names trainers give the same groups (the first one present is used).
ALIASES: dict[str, tuple[str, ...]] = {
    "device": ("device", "main_device"),
    "region": ("region",),
    "is_returning": ("is_returning", "customer_status", "is_new"),
    "acquisition_channel": ("acquisition_channel",),
    "channel": ("channel", "main_channel"),
}
DEFAULT_MIN_ROWS = 50
MISSING_VALUES = {"", "unknown", "None", "nan", "<NA>"}


@dataclass(frozen=True)
class FairnessReport:
    """Per-group metrics and the flagged gaps of one model.

    Attributes:
        model_name: the model checked.
        task: its task.
        groups: one row per column and group: column, value, rows, is_compared (rows >= min_rows),
            base_rate (mean outcome), mean_predicted, calibration_gap (mean_predicted - base_rate;
            classifiers), roc_auc (classifiers; NaN with one outcome), wape (regressors, rankers).
        gaps: one row per column and metric: column, metric, lowest_group, lowest, highest_group,
            highest, gap (>= 0), standard_error (of the gap; NaN when unknown), threshold,
            is_flagged (gap > threshold and gap > 2 standard errors).
        missing: group column -> why it is not checked (not in the data, or every value unknown).
        thresholds: metric -> threshold used.
        min_rows: the smallest group compared.
        rows: explain rows checked.
    """

    model_name: str
    task: str
    groups: pd.DataFrame
    gaps: pd.DataFrame
    missing: dict[str, str] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    min_rows: int = DEFAULT_MIN_ROWS
    rows: int = 0

    @property
    def flagged(self) -> pd.DataFrame:
        """The gaps beyond their threshold."""
        return self.gaps[self.gaps["is_flagged"]].reset_index(drop=True)


def fairness_report(
    trained: TrainedModel,
    columns: tuple[str, ...] | None = None,
    thresholds: dict[str, float] | None = None,
    min_rows: int = DEFAULT_MIN_ROWS,
) -> FairnessReport:
    """Compare the model's metrics and base rates across the groups of each column.

    Args:
        trained: the TrainedModel; its `segments` hold the group columns.
        columns: the group columns to check; None checks every one of GROUP_COLUMNS. A column
            is read from the first of its ALIASES the segments carry (main_device for device ...).
        thresholds: metric -> absolute gap to flag; missing metrics take DEFAULT_THRESHOLDS.
        min_rows: groups with fewer rows are listed but not compared, >= 1.

    Returns:
        A FairnessReport.
    """
    limits = DEFAULT_THRESHOLDS | (thresholds or {})
    predicted = model_output(trained)
    actual = pd.to_numeric(trained.explain_actual, errors="coerce").reindex(predicted.index)
    segments = trained.segments
    wanted = columns if columns is not None else tuple(GROUP_COLUMNS)
    missing: dict[str, str] = {}
    rows = []
    for column in wanted:
        source = next((name for name in ALIASES.get(column, (column,)) if name in segments.columns), None)
        if source is None:
            missing[column] = f"the model's rows carry no {GROUP_COLUMNS.get(column, column).lower()} column"
            continue
        values = segments[source].astype(str).reindex(predicted.index)
        if values.isin(MISSING_VALUES).all():
            missing[column] = f"the data has no {GROUP_COLUMNS.get(column, column).lower()} (every value is unknown)"
            continue
        for value in sorted(values.unique()):
            mask = (values == value).to_numpy()
            rows.append({"column": column, "value": value, **_group_metrics(
                trained.task, actual.to_numpy(dtype=float)[mask], predicted.to_numpy(dtype=float)[mask], min_rows)})
    groups = pd.DataFrame(rows, columns=["column", "value", "rows", "positives", "negatives", "is_compared",
                                         "base_rate", "mean_predicted", "calibration_gap", "roc_auc", "wape"])
    metrics = ("roc_auc", "base_rate", "calibration_gap") if trained.task == "classification" else ("wape", "base_rate")
    return FairnessReport(
        model_name=trained.name, task=trained.task, groups=groups, gaps=_gaps(groups, metrics, limits),
        missing=missing, thresholds={metric: limits[metric] for metric in metrics}, min_rows=min_rows,
        rows=len(predicted),
    )


def _group_metrics(task: str, actual: np.ndarray, predicted: np.ndarray, min_rows: int) -> dict[str, float]:
    count = len(actual)
    base_rate = float(np.nanmean(actual)) if count else float("nan")
    mean_predicted = float(np.mean(predicted)) if count else float("nan")
    positives = int(np.nansum(actual == 1))
    result = {"rows": count, "positives": positives, "negatives": int(np.sum(actual == 0)),
              "is_compared": count >= min_rows, "base_rate": base_rate,
              "mean_predicted": mean_predicted, "calibration_gap": float("nan"), "roc_auc": float("nan"),
              "wape": float("nan")}
    if task == "classification":
        result["calibration_gap"] = mean_predicted - base_rate
        if len(np.unique(actual[~np.isnan(actual)])) == 2:
            result["roc_auc"] = float(roc_auc_score(actual, predicted))
    elif count:
        result["wape"] = wape(actual, predicted)
    return result


def _gaps(groups: pd.DataFrame, metrics: tuple[str, ...], limits: dict[str, float]) -> pd.DataFrame:
    rows = []
    for column, table in groups[groups["is_compared"].astype(bool)].groupby("column", sort=False):
        for metric in metrics:
            values = table[["value", metric]].dropna()
            if len(values) < 2:
                continue
            # A calibration gap is a signed error per group: compare its size.
            measure = values[metric].abs() if metric == "calibration_gap" else values[metric]
            low, high = values.loc[measure.idxmin()], values.loc[measure.idxmax()]
            gap = float(measure.max() if metric == "calibration_gap" else measure.max() - measure.min())
            low_row, high_row = table.loc[measure.idxmin()], table.loc[measure.idxmax()]
            if metric == "calibration_gap":
                error = _standard_error(metric, high_row)
            else:
                error = float(np.hypot(_standard_error(metric, low_row), _standard_error(metric, high_row)))
            is_beyond_noise = not error == error or gap > 2 * error  # NaN error: judge on the threshold alone
            rows.append({"column": column, "metric": metric, "lowest_group": low["value"],
                         "lowest": float(low[metric]), "highest_group": high["value"], "highest": float(high[metric]),
                         "gap": gap, "standard_error": error, "threshold": limits[metric],
                         "is_flagged": bool(gap > limits[metric] and is_beyond_noise)})
    return pd.DataFrame(rows, columns=["column", "metric", "lowest_group", "lowest", "highest_group", "highest",
                                       "gap", "standard_error", "threshold", "is_flagged"])


def _standard_error(metric: str, group: pd.Series) -> float:
    """Standard error of one group's metric (NaN when no formula applies)."""
    rows = group["rows"]
    if metric in ("base_rate", "calibration_gap"):
        rate = group["base_rate"]
        return float(np.sqrt(rate * (1 - rate) / rows)) if rows and 0 <= rate <= 1 else float("nan")
    if metric == "roc_auc":
        return auc_standard_error(group["roc_auc"], group["positives"], group["negatives"])
    return float("nan")


def auc_standard_error(auc: float, positives: int, negatives: int) -> float:
    """Hanley & McNeil (1982) standard error of a ROC AUC from `positives` and `negatives` rows (>= 0)."""
    if positives < 1 or negatives < 1 or auc != auc:
        return float("nan")
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    variance = (auc * (1 - auc) + (positives - 1) * (q1 - auc**2) + (negatives - 1) * (q2 - auc**2)) / (
        positives * negatives)
    return float(np.sqrt(max(variance, 0.0)))
