"""The champion rule: which model forecasts each series, chosen by its backtest."""

from __future__ import annotations

import pandas as pd

from analytics.forecasting.models import ENSEMBLE

# A single model must beat the ensemble's backtest MASE by this share to replace it.
ENSEMBLE_MARGIN = 0.05


def pick_champions(leaderboard: pd.DataFrame, ensemble_margin: float = ENSEMBLE_MARGIN) -> pd.DataFrame:
    """The champion per series: the lowest mean backtest MASE, the ensemble preferred within a margin.

    A single model replaces the ensemble only when its MASE is below (1 - ensemble_margin) x the
    ensemble's: with 3 folds the backtest cannot tell close models apart, and a combination is the
    safer bet then (the "forecast combination puzzle"). Undefined MASE ranks by WAPE.

    Args:
        leaderboard: from `analytics.forecasting.backtest.score`.
        ensemble_margin: 0 to 1; 0 is the plain lowest MASE.

    Returns:
        `unique_id, model, mase, smape, wape, bias, coverage_80, coverage_95, runner_up, runner_up_mase`.
    """
    rows = []
    for unique_id, frame in leaderboard.sort_values("rank").groupby("unique_id", sort=True):
        best = frame.iloc[0]
        ensemble = frame[frame["model"] == ENSEMBLE]
        if best["model"] != ENSEMBLE and not ensemble.empty and not (
                best["mase"] < (1 - ensemble_margin) * ensemble["mase"].iloc[0]):
            best = ensemble.iloc[0]
        others = frame[frame["model"] != best["model"]]
        second = others.iloc[0] if len(others) else None
        rows.append({
            "unique_id": unique_id, "model": best["model"],
            **{name: best[name] for name in ("mase", "smape", "wape", "bias", "coverage_80", "coverage_95")},
            "runner_up": None if second is None else second["model"],
            "runner_up_mase": float("nan") if second is None else second["mase"],
        })
    return pd.DataFrame(rows)
