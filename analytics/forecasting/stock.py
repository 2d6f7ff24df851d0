"""The stock view: what a forecast means for inventory, from its quantiles.

With lead time L days and service level p:

- demand over the lead time: D = sum of the point forecasts of days 1..L;
- its uncertainty: each day's standard deviation is read off the forecast's 95% interval,
  sigma_i = (upper_95 - lower_95) / (2 * 1.96), and days are taken as independent,
  sigma_L = sqrt(sum sigma_i^2);
- safety stock = z_p * sigma_L, where z_p is the standard normal quantile of p;
- reorder point = D + safety stock: order when the stock on hand falls to it;
- days of cover = the days until the cumulative forecast uses up the stock on hand (interpolated
  within a day); None when the stock outlasts the horizon;
- stock-out risk = P(demand over the lead time > stock on hand) = 1 - Phi((on_hand - D) / sigma_L).

Independent days understate sigma_L when errors persist (a slow week stays slow); the 95% interval
of the summed demand is then wider than shown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd

from analytics.errors import ShopLensError
from analytics.forecasting.models import Z_95

# Stock-out risk above which a series is flagged.
RISK_THRESHOLD = 0.2


@dataclass(frozen=True)
class StockView:
    """Inventory implications of one series' forecast.

    Attributes:
        unique_id: the series.
        lead_time_days: days from ordering to receiving, >= 1.
        service_level: target probability of no stock-out during the lead time, 0.5 to 0.999.
        lead_time_demand: expected demand over the lead time (units), >= 0.
        lead_time_sigma: its standard deviation, >= 0.
        safety_stock: z * sigma, >= 0.
        reorder_point: lead_time_demand + safety_stock.
        on_hand: stock on hand, or None in what-if mode without a stock level.
        days_of_cover: days the stock on hand lasts at the forecast; None without stock or beyond the horizon.
        stockout_risk: P(lead-time demand > on_hand), 0 to 1; None without stock.
        should_reorder: on_hand at or below the reorder point; None without stock.
    """

    unique_id: str
    lead_time_days: int
    service_level: float
    lead_time_demand: float
    lead_time_sigma: float
    safety_stock: float
    reorder_point: float
    on_hand: float | None = None
    days_of_cover: float | None = None
    stockout_risk: float | None = None
    should_reorder: bool | None = None

    @property
    def is_at_risk(self) -> bool:
        """The stock-out risk is above RISK_THRESHOLD."""
        return self.stockout_risk is not None and self.stockout_risk > RISK_THRESHOLD


def daily_sigma(forecast: pd.DataFrame) -> np.ndarray:
    """Each day's standard deviation from its 95% interval: (upper_95 - lower_95) / (2 * 1.96)."""
    return (forecast["yhat_upper_95"].to_numpy(float) - forecast["yhat_lower_95"].to_numpy(float)) / (2 * Z_95)


def days_of_cover(daily_demand: np.ndarray, on_hand: float) -> float | None:
    """Days until the cumulative demand reaches `on_hand`, interpolated within the day.

    Returns:
        >= 0; None when the stock outlasts every day given.
    """
    if on_hand <= 0:
        return 0.0
    used = 0.0
    for day, demand in enumerate(np.maximum(np.asarray(daily_demand, float), 0.0)):
        if used + demand >= on_hand:
            return day + ((on_hand - used) / demand if demand > 0 else 0.0)
        used += demand
    return None


def stock_view(forecast: pd.DataFrame, lead_time_days: int, service_level: float, on_hand: float | None = None,
               unique_id: str = "") -> StockView:
    """Reorder point, safety stock, days of cover and stock-out risk for one series (formulas above).

    Args:
        forecast: one series' forecast, FORECAST_COLUMNS, oldest first, starting the day after the data.
        lead_time_days: 1 to len(forecast).
        service_level: 0.5 to 0.999.
        on_hand: units in stock now; None for the what-if view without a stock level.
        unique_id: the series' id, carried into the result.

    Raises:
        ShopLensError: a lead time beyond the forecast horizon, or a service level out of range.
    """
    if not 1 <= lead_time_days <= len(forecast):
        raise ShopLensError(f"lead time {lead_time_days} days must be between 1 and the horizon, {len(forecast)} days; "
                            f"forecast further ahead or shorten the lead time")
    if not 0.5 <= service_level <= 0.999:
        raise ShopLensError(f"service level {service_level} must be between 0.5 and 0.999, e.g. 0.95")
    window = forecast.iloc[:lead_time_days]
    demand = float(window["yhat"].sum())
    sigma = float(math.sqrt(np.sum(daily_sigma(window) ** 2)))
    z = NormalDist().inv_cdf(service_level)
    safety = max(z * sigma, 0.0)
    reorder = demand + safety
    if on_hand is None:
        return StockView(unique_id, lead_time_days, service_level, demand, sigma, safety, reorder)
    if sigma > 0:
        risk = 1 - NormalDist(demand, sigma).cdf(on_hand)
    else:
        risk = 1.0 if demand > on_hand else 0.0
    return StockView(unique_id, lead_time_days, service_level, demand, sigma, safety, reorder, float(on_hand),
                     days_of_cover(forecast["yhat"].to_numpy(float), on_hand), float(risk), on_hand <= reorder)


def stock_table(forecast: pd.DataFrame, lead_time_days: int, service_level: float,
                on_hand: dict[str, float] | None = None) -> pd.DataFrame:
    """The stock view of every series in a champion forecast, one row each.

    Args:
        forecast: `unique_id` plus FORECAST_COLUMNS.
        lead_time_days, service_level: as for `stock_view`.
        on_hand: unique_id -> units in stock (imported levels); series without one are what-if rows.

    Returns:
        Columns unique_id, lead_time_demand, safety_stock, reorder_point, on_hand, days_of_cover,
        stockout_risk, should_reorder, is_at_risk.
    """
    rows = []
    for unique_id, rows_of in forecast.groupby("unique_id", sort=True):
        view = stock_view(rows_of.sort_values("ds"), lead_time_days, service_level,
                          (on_hand or {}).get(unique_id), str(unique_id))
        rows.append({"unique_id": unique_id, "lead_time_demand": view.lead_time_demand,
                     "safety_stock": view.safety_stock, "reorder_point": view.reorder_point,
                     "on_hand": view.on_hand, "days_of_cover": view.days_of_cover,
                     "stockout_risk": view.stockout_risk, "should_reorder": view.should_reorder,
                     "is_at_risk": view.is_at_risk})
    return pd.DataFrame(rows)


def read_stock_csv(path) -> dict[str, float]:
    """Stock levels from a CSV with columns `unique_id, on_hand` (units).

    Raises:
        ShopLensError: a missing column or a value that is not a non-negative number (row named).
    """
    frame = pd.read_csv(path, dtype={"unique_id": str})
    missing = [column for column in ("unique_id", "on_hand") if column not in frame.columns]
    if missing:
        raise ShopLensError(f"the stock file lacks column {', '.join(missing)}; it needs unique_id, on_hand")
    values = pd.to_numeric(frame["on_hand"], errors="coerce")
    bad = values.isna() | (values < 0)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise ShopLensError(f"stock file row {row + 2}: on_hand {frame['on_hand'].iloc[row]!r} is not a number >= 0")
    return dict(zip(frame["unique_id"], values.astype(float)))
