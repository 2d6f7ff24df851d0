"""Build TrainedModel objects around small hand-made models for the explanation tests."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analytics.explain.trained import TrainedModel


def trained_model(
    model: Any,
    rows: pd.DataFrame,
    actual: pd.Series | np.ndarray,
    *,
    task: str = "classification",
    name: str = "test_model",
    categorical: tuple[str, ...] = (),
    segments: pd.DataFrame | None = None,
    metrics: dict[str, float] | None = None,
    calibration: pd.DataFrame | None = None,
) -> TrainedModel:
    """A TrainedModel explaining `rows` with `model` (already fitted); labels are the column names upper-cased."""
    actual = pd.Series(np.asarray(actual), index=rows.index, name="actual")
    return TrainedModel(
        name=name, title=name.replace("_", " ").title(), task=task, target="the outcome", model=model,
        feature_labels={column: column.upper() for column in rows.columns},
        categorical_features=categorical, explain_rows=rows, explain_actual=actual,
        segments=segments if segments is not None else pd.DataFrame(index=rows.index),
        metrics=metrics or {}, data_version="v-test",
        training_start=pd.Timestamp("2025-01-01"), training_end=pd.Timestamp("2025-01-31"),
        validation_start=pd.Timestamp("2025-02-01"), validation_end=pd.Timestamp("2025-02-28"),
        train_rows=100, validation_rows=len(rows), parameters={"depth": 1},
        calibration=calibration if calibration is not None else pd.DataFrame(),
    )


def interaction_frame(rows: int = 2_000, seed: int = 0) -> pd.DataFrame:
    """Columns driver, partner, noise (standard normal) and colour (3 categories); the planted outcome is
    driver + driver * partner + 1 for colour "red", so driver matters most and interacts with partner."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "driver": rng.normal(size=rows),
        "partner": rng.normal(size=rows),
        "noise": rng.normal(size=rows),
        "colour": pd.Categorical(rng.choice(["red", "green", "blue"], size=rows)),
    })
    frame.attrs["signal"] = (frame["driver"] * 2 + frame["driver"] * frame["partner"]
                             + (frame["colour"] == "red") * 1.0).to_numpy()
    return frame


def train_toy_regressor(con: object) -> TrainedModel:
    """A registry-style trainer (connection first, ignored) returning a small regression TrainedModel
    indexed by day, with a device segment: for page tests of the non-classification path."""
    from sklearn.tree import DecisionTreeRegressor

    frame = interaction_frame(300).drop(columns="colour")
    frame.index = pd.Index(pd.date_range("2025-03-01", periods=len(frame), freq="D"), name="order_date")
    signal = frame.attrs["signal"] + 10
    model = DecisionTreeRegressor(max_depth=3, random_state=0).fit(frame, signal)
    segments = pd.DataFrame({"device": np.where(frame["noise"] > 0, "mobile", "desktop")}, index=frame.index)
    return trained_model(model, frame, signal, task="regression", name="toy_regressor", segments=segments,
                         metrics={"mase": 0.7, "wape": 0.12})
