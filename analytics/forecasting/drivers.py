"""What a forecast may know about the future: holidays, festivals, planned promotions, CSV drivers.

The promotion-knowledge rule: a promotion counts as known ahead only when it is planned, i.e. it is
in the warehouse's `promotions` table or entered on the page. Discounts seen in past sales are never
extended into the future (no hindsight filling): the `promotion_discount_rate` regressor of a day is
built from planned promotions alone, for history and horizon alike, so a model learns the effect of
planned promotions and applies it only where one is planned.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from analytics.calendar import SALES_FESTIVALS, YEAR_END_HOLIDAYS, festival_calendar, prophet_holidays
from analytics.errors import ShopLensError
from analytics.queries import run_report

# Countries offered first on the page; any code of the `holidays` package works.
COUNTRIES: tuple[str, ...] = ("US", "CN", "GB", "DE", "FR", "JP", "IN", "BR", "CA", "AU")
DEFAULT_COUNTRY = "US"
PROMOTION_COLUMN = "promotion_discount_rate"
# is_festival_* flag the sales festivals only (618, Singles' Day, Black Friday, Cyber Monday);
# Christmas and New Year get their own flag, because one flag for both taught the global model to
# forecast Christmas Day like Singles' Day (about 3x) when shops are quieter then.
CALENDAR_FEATURES: tuple[str, ...] = ("is_country_holiday", "is_festival_peak", "is_festival_run_up",
                                      "is_festival_tail", "is_year_end_holiday")


@dataclass(frozen=True)
class Promotion:
    """A planned promotion.

    Attributes:
        start_date, end_date: first and last day, inclusive.
        discount_rate: fraction off the list price, 0 to 1.
        scope: "all", "category" or "product".
        scope_value: the category or product id; None for "all".
        name: for people.
    """

    start_date: dt.date
    end_date: dt.date
    discount_rate: float
    scope: str = "all"
    scope_value: str | None = None
    name: str = "Planned promotion"

    def __post_init__(self) -> None:
        if self.end_date < self.start_date:
            raise ShopLensError(f"promotion {self.name!r} ends {self.end_date} before it starts "
                                f"{self.start_date}; swap the dates")
        if not 0 <= self.discount_rate <= 1:
            raise ShopLensError(f"promotion {self.name!r} has discount_rate {self.discount_rate}; give 0 to 1")


def country_holidays(country: str | None, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Public holidays of a country from the `holidays` package.

    Args:
        country: ISO code such as "US" or "CN"; None or "" gives no holidays.
        start, end: first and last day, inclusive.

    Returns:
        Columns `holiday` (name) and `ds` (datetime64), one row per holiday day.

    Raises:
        ShopLensError: a country the `holidays` package does not know.
    """
    if not country:
        return pd.DataFrame({"holiday": pd.Series(dtype=str), "ds": pd.Series(dtype="datetime64[ns]")})
    return _country_holidays(country.upper(), start, end).copy()


@lru_cache(maxsize=64)
def _country_holidays(country: str, start: dt.date, end: dt.date) -> pd.DataFrame:
    import holidays

    try:
        days = holidays.country_holidays(country, years=range(start.year, end.year + 1))
    except NotImplementedError:
        raise ShopLensError(f"country {country!r} has no holiday calendar; use an ISO code such as US or CN") from None
    rows = sorted((day, name) for day, name in days.items() if start <= day <= end)
    return pd.DataFrame({"holiday": [name for _, name in rows],
                         "ds": pd.to_datetime([day for day, _ in rows]).astype("datetime64[ns]")})


def holiday_frame(country: str | None, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Country holidays plus the e-commerce festivals, in Prophet's `holiday, ds` format.

    Festivals (618, Singles' Day, Black Friday, Cyber Monday, Christmas, New Year) come from
    `analytics.calendar`, each phase (run-up, peak, tail) a holiday of its own.
    """
    festivals = prophet_holidays(start, end)
    festivals["ds"] = festivals["ds"].astype("datetime64[ns]")
    return pd.concat([country_holidays(country, start, end), festivals], ignore_index=True)


def calendar_features(ds: pd.DatetimeIndex, country: str | None) -> pd.DataFrame:
    """0/1 flags per day: a public holiday, a sales festival's peak, run-up or tail, Christmas or New Year.

    Returns:
        Index `ds`, columns CALENDAR_FEATURES (float 0/1).
    """
    ds = pd.DatetimeIndex(ds)
    features = pd.DataFrame(0.0, index=ds, columns=list(CALENDAR_FEATURES))
    if len(ds) == 0:
        return features
    start, end = ds.min().date(), ds.max().date()
    holidays = country_holidays(country, start, end)
    features["is_country_holiday"] = ds.isin(holidays["ds"]).astype(float)
    festivals = festival_calendar(start, end)
    sales = festivals[festivals["festival"].isin(SALES_FESTIVALS)]
    for phase in ("peak", "run_up", "tail"):
        days = pd.DatetimeIndex(sales.loc[sales["phase"] == phase, "date"]).astype("datetime64[ns]")
        features[f"is_festival_{phase}"] = ds.isin(days).astype(float)
    year_end = festivals[festivals["festival"].isin(YEAR_END_HOLIDAYS) & festivals["phase"].isin(("peak", "tail"))]
    features["is_year_end_holiday"] = ds.isin(pd.DatetimeIndex(year_end["date"]).astype("datetime64[ns]")).astype(float)
    return features


def load_promotions(con: duckdb.DuckDBPyConnection) -> tuple[Promotion, ...]:
    """The planned promotions in the warehouse's `promotions` table (empty when it has none)."""
    rows = run_report(con, "forecasts/promotions", {})
    return tuple(
        Promotion(pd.Timestamp(row.start_date).date(), pd.Timestamp(row.end_date).date(), float(row.discount_rate),
                  str(row.scope), None if pd.isna(row.scope_value) else str(row.scope_value), str(row.name))
        for row in rows.itertuples()
    )


def load_product_categories(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """product_id -> top-level category, so category promotions reach product series."""
    rows = run_report(con, "forecasts/product_categories", {})
    return dict(zip(rows["product_id"], rows["category"]))


def promotion_regressor(promotions: tuple[Promotion, ...], ids: tuple[str, ...], ds: pd.DatetimeIndex, *,
                        level: str, product_categories: dict[str, str] | None = None) -> pd.DataFrame:
    """The planned discount rate per series and day: the largest planned promotion that applies.

    A promotion applies to a series when its scope is "all"; a "category" promotion applies to that
    category's series, and to its products at the product level; a "product" promotion to that product.
    Channel, region and total series see only "all" promotions (a category sale moves a small part of them).

    Args:
        promotions: planned promotions only (see the module docstring).
        ids: the series ids.
        ds: the days, history and horizon.
        level: the series level ("total", "category", "product", "channel", "region", "csv").
        product_categories: product_id -> category, for the product level.

    Returns:
        Long frame `unique_id, ds, promotion_discount_rate` (0 to 1), one row per id and day.
    """
    ds = pd.DatetimeIndex(ds)
    rates = np.zeros((len(ids), len(ds)))
    categories = product_categories or {}
    for promotion in promotions:
        days = (ds >= pd.Timestamp(promotion.start_date)) & (ds <= pd.Timestamp(promotion.end_date))
        if not days.any():
            continue
        for row, unique_id in enumerate(ids):
            applies = promotion.scope == "all" or (
                promotion.scope == "category" and (
                    (level == "category" and unique_id == promotion.scope_value)
                    or (level == "product" and categories.get(unique_id) == promotion.scope_value))
            ) or (promotion.scope == "product" and level == "product" and unique_id == promotion.scope_value)
            if applies:
                rates[row, days] = np.maximum(rates[row, days], promotion.discount_rate)
    return pd.DataFrame({
        "unique_id": np.repeat(np.asarray(ids, dtype=object), len(ds)),
        "ds": np.tile(ds.to_numpy(), len(ids)),
        PROMOTION_COLUMN: rates.ravel(),
    })


def read_driver_csv(path: Path | str) -> pd.DataFrame:
    """Other drivers (weather, planned price, ...) from a CSV: `ds`, optional `unique_id`, one column each.

    A driver is used for a series only when it has a value for every day of the history and the
    horizon: a driver nobody knows for the future cannot be extrapolated without hindsight.

    Returns:
        Columns `ds` (datetime64), `unique_id` (str, "*" = every series) and the numeric drivers.

    Raises:
        ShopLensError: no `ds` column, no driver column, or a value that is not a number (row named).
    """
    path = Path(path)
    if not path.is_file():
        raise ShopLensError(f"{path} does not exist; give a CSV with ds and one column per driver")
    frame = pd.read_csv(path, dtype={"unique_id": str})
    if "ds" not in frame.columns:
        raise ShopLensError(f"{path.name} lacks column ds; it needs ds and one column per driver")
    if "unique_id" not in frame.columns:
        frame["unique_id"] = "*"
    drivers = [column for column in frame.columns if column not in ("ds", "unique_id")]
    if not drivers:
        raise ShopLensError(f"{path.name} has no driver column besides ds and unique_id")
    frame["ds"] = pd.to_datetime(frame["ds"], errors="coerce")
    if frame["ds"].isna().any():
        row = int(np.flatnonzero(frame["ds"].isna().to_numpy())[0])
        raise ShopLensError(f"{path.name} row {row + 2}: ds is not a date; write YYYY-MM-DD")
    for column in drivers:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() & frame[column].notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise ShopLensError(f"{path.name} row {row + 2}: {column} {frame[column].iloc[row]!r} is not a number")
        frame[column] = values.astype(float)
    return frame[["unique_id", "ds", *drivers]]


def drivers_for(drivers: pd.DataFrame | None, unique_id: str, ds: pd.DatetimeIndex) -> pd.DataFrame:
    """The CSV drivers of one series on the given days, keeping only drivers known on every day.

    Returns:
        Index `ds`, one column per complete driver (possibly none).
    """
    ds = pd.DatetimeIndex(ds)
    if drivers is None or drivers.empty:
        return pd.DataFrame(index=ds)
    rows = drivers[drivers["unique_id"].isin([unique_id, "*"])]
    # A series' own value wins over the shared one on the same day.
    rows = rows.assign(own=rows["unique_id"] != "*").sort_values(["ds", "own"]).drop_duplicates("ds", keep="last")
    table = rows.drop(columns=["unique_id", "own"]).set_index("ds").reindex(ds)
    return table.loc[:, table.notna().all()]
