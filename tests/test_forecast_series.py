"""Series from the warehouse (hand-built tiny shop) and from CSV files, and the drivers they get."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from analytics.errors import ShopLensError
from analytics.filters import Filters
from analytics.forecasting.drivers import (
    Promotion,
    calendar_features,
    country_holidays,
    drivers_for,
    holiday_frame,
    load_promotions,
    promotion_regressor,
    read_driver_csv,
)
from analytics.forecasting.series import fill_missing, load_series, read_series_csv


def test_category_units_and_revenue_from_the_tiny_shop(tiny_con):
    # O1 on Jan 1: one phone (Electronics) for 90. O2 on Jan 2: two mugs (Home, 20) and a book (Books, 20).
    units = load_series(tiny_con, "category", "units").frame.set_index(["unique_id", "ds"])["y"]
    assert units[("Electronics", pd.Timestamp("2025-01-01"))] == 1
    assert units[("Home", pd.Timestamp("2025-01-02"))] == 2
    revenue = load_series(tiny_con, "category", "revenue").frame.set_index(["unique_id", "ds"])["y"]
    assert revenue[("Electronics", pd.Timestamp("2025-01-01"))] == pytest.approx(90)
    # Electronics sold nothing on Jan 2, the data's last order day: filled with 0, not left out.
    assert revenue[("Electronics", pd.Timestamp("2025-01-02"))] == 0
    total = load_series(tiny_con, "total", "revenue").frame
    assert list(total["y"]) == pytest.approx([90, 40])


def test_levels_filters_and_top_products(tiny_con):
    channels = load_series(tiny_con, "channel", "units")
    assert channels.ids == ("email", "organic_search")
    only_email = load_series(tiny_con, "total", "units",
                             filters=Filters(dt.date(2025, 1, 1), dt.date(2025, 1, 3), channels=("email",)))
    assert list(only_email.frame["y"]) == [3]  # 2 mugs + 1 book, all on Jan 2
    top = load_series(tiny_con, "product", "units", top_n=1)
    assert top.ids == ("P2",) and "Mug" in top.labels["P2"]
    with pytest.raises(ShopLensError, match="level 'shelf'"):
        load_series(tiny_con, "shelf")


def test_fill_missing_adds_zero_days():
    frame = pd.DataFrame({"unique_id": ["A", "A"], "ds": pd.to_datetime(["2025-01-01", "2025-01-04"]),
                          "y": [1.0, 4.0]})
    assert list(fill_missing(frame, "D")["y"]) == [1, 0, 0, 4]


def test_series_csv_daily_and_monthly(tmp_path):
    path = tmp_path / "series.csv"
    path.write_text("unique_id,ds,y\nA,2025-01-01,1\nA,2025-01-03,3\nB,2025-01-02,5\nB,2025-01-03,6\n")
    series = read_series_csv(path)
    assert series.freq == "D" and series.season_length == 7
    assert list(series.frame.loc[series.frame["unique_id"] == "A", "y"]) == [1, 0, 3]
    monthly = tmp_path / "monthly.csv"
    monthly.write_text("ds,y\n2020-01-01,10\n2020-02-01,11\n2020-03-01,12\n")
    series = read_series_csv(monthly)
    assert series.freq == "MS" and series.season_length == 12 and series.ids == ("monthly",)


@pytest.mark.parametrize(("text", "message"), [
    ("unique_id,ds\nA,2025-01-01\n", "lacks column y"),
    ("unique_id,ds,y\nA,2025-01-01,1\nA,someday,2\n", "row 3: ds 'someday'"),
    ("unique_id,ds,y\nA,2025-01-01,1\nA,2025-01-02,lots\n", "row 3: y 'lots'"),
    ("unique_id,ds,y\nA,2025-01-01,1\nA,2025-01-01,2\n", "2025-01-01 twice"),
])
def test_series_csv_errors_name_the_row(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ShopLensError, match=message):
        read_series_csv(path)


def test_holidays_for_us_and_cn_and_festivals():
    us = country_holidays("US", dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    assert pd.Timestamp("2025-07-04") in set(us["ds"])
    cn = country_holidays("CN", dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    assert pd.Timestamp("2025-10-01") in set(cn["ds"])  # National Day
    frame = holiday_frame("CN", dt.date(2025, 11, 1), dt.date(2025, 12, 2))
    # Singles' Day peak; Black Friday 2025 is Nov 28 (Thanksgiving Nov 27); Cyber Monday Dec 1.
    names = dict(zip(frame["ds"].dt.date, frame["holiday"]))
    assert names[dt.date(2025, 11, 11)] == "Singles' Day"
    assert names[dt.date(2025, 11, 28)] == "Black Friday" and names[dt.date(2025, 12, 1)] == "Cyber Monday"
    flags = calendar_features(pd.date_range("2025-06-17", "2025-06-19"), "US")
    assert list(flags["is_festival_peak"]) == [0, 1, 0]  # 618 peaks on the 18th; Juneteenth is no festival
    assert list(flags["is_country_holiday"]) == [0, 0, 1]  # Juneteenth on the 19th
    with pytest.raises(ShopLensError, match="no holiday calendar"):
        country_holidays("XX", dt.date(2025, 1, 1), dt.date(2025, 1, 2))


def test_only_planned_promotions_reach_the_regressor(tiny_con):
    # The tiny shop's phone was sold at 10 off on Jan 1 (discount_amount) and the table plans PR1,
    # a 10% Electronics promotion on Jan 1. Only the table's promotion may appear, and only where planned.
    promotions = load_promotions(tiny_con)
    assert [(p.scope, p.scope_value, p.discount_rate) for p in promotions] == [("category", "Electronics", 0.1)]
    days = pd.date_range("2025-01-01", "2025-01-05")
    frame = promotion_regressor(promotions, ("Electronics", "Home"), days, level="category")
    table = frame.pivot(index="ds", columns="unique_id", values="promotion_discount_rate")
    assert list(table["Electronics"]) == [0.1, 0, 0, 0, 0]
    assert list(table["Home"]) == [0, 0, 0, 0, 0]
    # Without the table nothing is known, even though the sales show a discount on Jan 1.
    assert promotion_regressor((), ("Electronics",), days, level="category")["promotion_discount_rate"].eq(0).all()


def test_promotion_scopes_at_the_product_level():
    promotions = (Promotion(dt.date(2025, 1, 2), dt.date(2025, 1, 2), 0.3, "product", "P1"),
                  Promotion(dt.date(2025, 1, 2), dt.date(2025, 1, 3), 0.2, "category", "Home"),
                  Promotion(dt.date(2025, 1, 3), dt.date(2025, 1, 3), 0.5, "all"))
    frame = promotion_regressor(promotions, ("P1", "P2"), pd.date_range("2025-01-01", "2025-01-03"),
                                level="product", product_categories={"P1": "Electronics", "P2": "Home"})
    table = frame.pivot(index="ds", columns="unique_id", values="promotion_discount_rate")
    assert list(table["P1"]) == [0, 0.3, 0.5]
    assert list(table["P2"]) == [0, 0.2, 0.5]  # the largest applicable discount wins
    with pytest.raises(ShopLensError, match="swap the dates"):
        Promotion(dt.date(2025, 1, 3), dt.date(2025, 1, 2), 0.1)


def test_csv_drivers_used_only_when_known_for_every_day(tmp_path):
    path = tmp_path / "drivers.csv"
    path.write_text("ds,temperature,price\n2025-01-01,5,10\n2025-01-02,6,\n2025-01-03,7,10\n")
    drivers = read_driver_csv(path)
    table = drivers_for(drivers, "A", pd.date_range("2025-01-01", "2025-01-03"))
    # price is unknown on Jan 2, so it is left out rather than filled in.
    assert list(table.columns) == ["temperature"] and list(table["temperature"]) == [5, 6, 7]
    # A horizon day without a temperature drops it too: no driver is extrapolated.
    assert drivers_for(drivers, "A", pd.date_range("2025-01-01", "2025-01-04")).columns.empty


def test_series_csv_weekly_and_quarterly(tmp_path):
    weekly = tmp_path / "weekly.csv"
    # Sundays 7 days apart, one week missing (Jan 19): filled with 0 on the data's own weekday.
    weekly.write_text("ds,y\n2025-01-05,4\n2025-01-12,5\n2025-01-26,7\n")
    series = read_series_csv(weekly)
    assert series.freq == "W-SUN" and series.season_length == 52
    assert list(series.frame["ds"].dt.strftime("%m-%d")) == ["01-05", "01-12", "01-19", "01-26"]
    assert list(series.frame["y"]) == [4, 5, 0, 7]
    quarterly = tmp_path / "quarterly.csv"
    # Quarter-end dates (91, 92 and 92 days apart) move to the first day of their quarter; Q4 2024 is missing.
    quarterly.write_text("ds,y\n2024-03-31,100\n2024-06-30,120\n2024-09-30,90\n2025-03-31,110\n")
    series = read_series_csv(quarterly)
    assert series.freq == "QS" and series.season_length == 4
    assert list(series.frame["ds"].dt.strftime("%Y-%m-%d")) == ["2024-01-01", "2024-04-01", "2024-07-01",
                                                                "2024-10-01", "2025-01-01"]
    assert list(series.frame["y"]) == [100, 120, 90, 0, 110]


def test_yearly_dates_are_refused_with_the_frequencies_accepted(tmp_path):
    path = tmp_path / "yearly.csv"
    path.write_text("ds,y\n2021-01-01,1\n2022-01-01,2\n2023-01-01,3\n")
    with pytest.raises(ShopLensError, match="365 days apart; give daily, weekly, monthly or quarterly"):
        read_series_csv(path)


def test_two_dates_in_one_quarter_are_refused(tmp_path):
    path = tmp_path / "quarterly.csv"
    path.write_text("ds,y\n2024-01-01,1\n2024-04-01,2\n2024-07-01,3\n2024-08-15,4\n")
    with pytest.raises(ShopLensError, match="row 5: .*two dates in the quarter starting 2024-07-01"):
        read_series_csv(path)


def test_trim_history_keeps_the_days_between_from_and_to():
    from analytics.forecasting.series import SeriesSet, trim_history

    days = list(pd.date_range("2025-01-01", periods=5)) + list(pd.date_range("2025-01-04", periods=2))
    frame = pd.DataFrame({"unique_id": ["A"] * 5 + ["B"] * 2, "ds": days, "y": [1.0, 2, 3, 4, 5, 7, 8]})
    series = SeriesSet(frame, "D", 7, "csv", "y", {})
    trimmed = trim_history(series, dt.date(2025, 1, 2), dt.date(2025, 1, 4))
    # A keeps Jan 2-4 (2, 3, 4); B started on Jan 4, so it keeps that one day.
    assert list(trimmed.frame["y"]) == [2, 3, 4, 7]
    assert trim_history(series, None, dt.date(2025, 1, 3)).ids == ("A",)
    with pytest.raises(ShopLensError, match="swap them"):
        trim_history(series, dt.date(2025, 1, 4), dt.date(2025, 1, 2))
    with pytest.raises(ShopLensError, match="runs from 2025-01-01 to 2025-01-05"):
        trim_history(series, dt.date(2026, 1, 1))


def test_warehouse_history_starts_at_from(tiny_con):
    # Total revenue is 90 on Jan 1 and 40 on Jan 2; from Jan 2 only the second day is history.
    total = load_series(tiny_con, "total", "revenue", start_date=dt.date(2025, 1, 2)).frame
    assert list(total["ds"].dt.date) == [dt.date(2025, 1, 2)] and list(total["y"]) == pytest.approx([40])
    with pytest.raises(ShopLensError, match="pick an earlier --from"):
        load_series(tiny_con, "total", "revenue", start_date=dt.date(2025, 3, 1))
