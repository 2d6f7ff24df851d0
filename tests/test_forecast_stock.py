"""The stock view's formulas, by hand."""

from __future__ import annotations

import math
from statistics import NormalDist

import pandas as pd
import pytest

from analytics.errors import ShopLensError
from analytics.forecasting.models import Z_95
from analytics.forecasting.stock import days_of_cover, read_stock_csv, stock_table, stock_view


def forecast(yhat: list[float], half_width_95: list[float]) -> pd.DataFrame:
    ds = pd.date_range("2026-01-01", periods=len(yhat))
    lower = [y - w for y, w in zip(yhat, half_width_95)]
    upper = [y + w for y, w in zip(yhat, half_width_95)]
    return pd.DataFrame({"ds": ds, "yhat": yhat, "yhat_lower_80": lower, "yhat_upper_80": upper,
                         "yhat_lower_95": lower, "yhat_upper_95": upper})


def test_reorder_point_and_safety_stock_by_hand():
    # Days of 10, 20, 30 units, each with a 95% half-width of 1.96 -> sigma 1 a day.
    frame = forecast([10, 20, 30, 40], [Z_95] * 4)
    view = stock_view(frame, lead_time_days=3, service_level=0.95)
    # Lead-time demand 10 + 20 + 30 = 60; sigma sqrt(1 + 1 + 1) = sqrt(3); z(0.95) = 1.6449.
    assert view.lead_time_demand == pytest.approx(60)
    assert view.lead_time_sigma == pytest.approx(math.sqrt(3))
    assert view.safety_stock == pytest.approx(1.6448536 * math.sqrt(3), rel=1e-6)
    assert view.reorder_point == pytest.approx(60 + 1.6448536 * math.sqrt(3), rel=1e-6)
    # Without a stock level it is a what-if: no cover, no risk.
    assert view.on_hand is None and view.days_of_cover is None and view.stockout_risk is None


def test_days_of_cover_and_risk_with_stock_on_hand():
    frame = forecast([10, 20, 30, 40], [Z_95] * 4)
    view = stock_view(frame, 3, 0.95, on_hand=45)
    # 10 + 20 = 30 used after two days; the remaining 15 of day 3's 30 is half a day -> 2.5 days.
    assert view.days_of_cover == pytest.approx(2.5)
    # P(N(60, sqrt 3) > 45): far above, nearly certain.
    assert view.stockout_risk == pytest.approx(1 - NormalDist(60, math.sqrt(3)).cdf(45))
    assert view.should_reorder and view.is_at_risk
    plenty = stock_view(frame, 3, 0.95, on_hand=500)
    assert plenty.days_of_cover is None  # outlasts the 4-day horizon
    assert plenty.stockout_risk == pytest.approx(0.0, abs=1e-9) and not plenty.should_reorder


def test_days_of_cover_edges():
    assert days_of_cover([5, 5], 0) == 0.0
    assert days_of_cover([0, 4], 2) == pytest.approx(1.5)  # a zero day uses nothing


def test_validation_names_the_problem():
    frame = forecast([1, 2], [1, 1])
    with pytest.raises(ShopLensError, match="lead time 3 days"):
        stock_view(frame, 3, 0.95)
    with pytest.raises(ShopLensError, match="service level"):
        stock_view(frame, 1, 1.2)


def test_stock_table_flags_imported_levels(tmp_path):
    both = pd.concat([forecast([10, 10], [Z_95, Z_95]).assign(unique_id="A"),
                      forecast([1, 1], [Z_95, Z_95]).assign(unique_id="B")])
    path = tmp_path / "stock.csv"
    path.write_text("unique_id,on_hand\nA,5\nB,100\n")
    table = stock_table(both, 2, 0.9, read_stock_csv(path)).set_index("unique_id")
    # A: demand 20 against 5 on hand -> at risk; B: demand 2 against 100 -> safe.
    assert bool(table.loc["A", "is_at_risk"]) and not bool(table.loc["B", "is_at_risk"])
    path.write_text("unique_id,on_hand\nA,lots\n")
    with pytest.raises(ShopLensError, match="row 2"):
        read_stock_csv(path)
