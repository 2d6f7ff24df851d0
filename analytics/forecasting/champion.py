"""The champion rule: which model forecasts each series, chosen by its backtest accuracy and intervals."""

from __future__ import annotations

import pandas as pd

from analytics.forecasting.models import ENSEMBLE

# A single model must beat the ensemble's backtest MASE by this share to replace it.
ENSEMBLE_MARGIN = 0.05
# A model whose interval score (MSIS) is more than this share above the series' best cannot be champion:
# stock is planned from the intervals, so an accurate point forecast with intervals that miss (LightGBM's
# covered 14% of a monthly series and still won on MASE) must not be picked.
INTERVAL_MARGIN = 0.25
CHAMPION_METRICS: tuple[str, ...] = ("mase", "msis", "smape", "wape", "bias", "coverage_80", "coverage_95",
                                     "coverage_warning", "days")


def pick_champions(leaderboard: pd.DataFrame, ensemble_margin: float = ENSEMBLE_MARGIN,
                   interval_margin: float = INTERVAL_MARGIN) -> pd.DataFrame:
    """The champion per series: the lowest backtest MASE among models whose intervals hold up.

    1. Eligible: MSIS (the scaled interval score of the calibrated 95% interval, out of fold) at most
       (1 + interval_margin) x the series' lowest MSIS. Models without an MSIS are eligible only when no
       model has one.
    2. Among the eligible, the lowest MASE wins (WAPE breaks ties and ranks undefined MASE), except that
       the ensemble is kept unless a single model's MASE is below (1 - ensemble_margin) x the ensemble's:
       with 3 folds the backtest cannot tell close models apart, and a combination is the safer bet then
       (the "forecast combination puzzle").

    Args:
        leaderboard: from `analytics.forecasting.backtest.score` (`rank` orders by MASE, then WAPE).
        ensemble_margin: 0 to 1; 0 is the plain lowest MASE.
        interval_margin: >= 0; infinity ignores the intervals.

    Returns:
        `unique_id, model`, CHAMPION_METRICS, `reason` (one sentence), `runner_up, runner_up_mase`.
    """
    rows = []
    for unique_id, frame in leaderboard.sort_values("rank").groupby("unique_id", sort=True):
        best_msis = frame["msis"].min()
        eligible = (frame[frame["msis"] <= (1 + interval_margin) * best_msis] if best_msis == best_msis
                    else frame)
        best = eligible.iloc[0]
        ensemble = eligible[eligible["model"] == ENSEMBLE]
        kept_ensemble = best["model"] != ENSEMBLE and not ensemble.empty and not (
            best["mase"] < (1 - ensemble_margin) * ensemble["mase"].iloc[0])
        if kept_ensemble:
            best = ensemble.iloc[0]
        others = frame[frame["model"] != best["model"]]
        second = others.iloc[0] if len(others) else None
        rows.append({
            "unique_id": unique_id, "model": best["model"], **{name: best[name] for name in CHAMPION_METRICS},
            "reason": _reason(best, frame, eligible, kept_ensemble, ensemble_margin, interval_margin),
            "runner_up": None if second is None else second["model"],
            "runner_up_mase": float("nan") if second is None else second["mase"],
        })
    return pd.DataFrame(rows)


def _reason(best: pd.Series, frame: pd.DataFrame, eligible: pd.DataFrame, kept_ensemble: bool,
            ensemble_margin: float, interval_margin: float) -> str:
    """Why `best` won, in one sentence naming the models the interval rule left out."""
    text = (f"kept the ensemble: no single model beat its MASE {best['mase']:.2f} by more than {ensemble_margin:.0%}"
            if kept_ensemble else f"lowest backtest MASE ({best['mase']:.2f})")
    left_out = frame[~frame["model"].isin(eligible["model"]) & (frame["rank"] < best["rank"])]
    if not left_out.empty:
        text += (f"; more accurate but with intervals scoring over {interval_margin:.0%} worse than the best "
                 f"(MSIS {eligible['msis'].min():.2f}): "
                 + ", ".join(f"{row.model} (MASE {row.mase:.2f}, MSIS {row.msis:.2f})"
                             for row in left_out.itertuples()))
    return text
