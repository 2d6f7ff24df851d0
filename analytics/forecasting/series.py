"""The series to forecast: from the warehouse at a level, or from a CSV of `unique_id, ds, y`.

Every series leaves this module in one long frame with columns `unique_id` (str), `ds`
(datetime64, midnight; first day of the month or quarter for monthly or quarterly data) and `y` (float, >= 0 for
warehouse measures), sorted by `unique_id, ds`, with no gaps: a missing day is a day
without sales and is filled with 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from analytics.errors import ShopLensError
from analytics.filters import Filters
from analytics.queries import run_report

LEVELS: tuple[str, ...] = ("total", "category", "product", "channel", "region")
MEASURES: tuple[str, ...] = ("units", "revenue")
SERIES_COLUMNS: tuple[str, ...] = ("unique_id", "ds", "y")
# Seasonal cycle per frequency: a week of days, a year of weeks, months or quarters.
SEASON_LENGTHS: dict[str, int] = {"D": 7, "W": 52, "MS": 12, "QS": 4}
DEFAULT_TOP_PRODUCTS = 10


@dataclass(frozen=True)
class SeriesSet:
    """Series ready to forecast.

    Attributes:
        frame: long frame `unique_id, ds, y`, gap-free per series, sorted.
        freq: pandas frequency: "D" (daily), "W-<day>" (weekly on that weekday), "MS" (monthly, first of
            the month) or "QS" (quarterly, first day of the quarter).
        season_length: the seasonal period in steps: 7, 52, 12 or 4.
        level: the warehouse level, or "csv".
        measure: "units", "revenue" or "y" for a CSV.
        labels: unique_id -> label for people (product titles); ids label themselves otherwise.
    """

    frame: pd.DataFrame
    freq: str
    season_length: int
    level: str
    measure: str
    labels: dict[str, str]

    @property
    def ids(self) -> tuple[str, ...]:
        """The series ids, sorted."""
        return tuple(sorted(self.frame["unique_id"].unique()))

    @property
    def last_ds(self) -> pd.Timestamp | None:
        """The last day of the data (shared by every series), or None when empty."""
        return None if self.frame.empty else pd.Timestamp(self.frame["ds"].max())


def data_span(con: duckdb.DuckDBPyConnection) -> tuple[date | None, date | None]:
    """The first and last order day in the warehouse (None, None when it has no orders)."""
    row = run_report(con, "forecasts/data_span", {}).iloc[0]
    if pd.isna(row["first_date"]):
        return None, None
    return pd.Timestamp(row["first_date"]).date(), pd.Timestamp(row["last_date"]).date()


def load_series(con: duckdb.DuckDBPyConnection, level: str = "category", measure: str = "units", *,
                filters: Filters | None = None, top_n: int = DEFAULT_TOP_PRODUCTS,
                product_ids: tuple[str, ...] = (), start_date: date | None = None) -> SeriesSet:
    """Daily series of one measure at one level, zero-filled from each series' first sale to the data's end.

    Args:
        con: a warehouse connection.
        level: "total", "category", "product", "channel" or "region" (the customer's region).
        measure: "units" (units sold, returns subtracted) or "revenue" (net of discounts).
        filters: categories, channels and devices to keep, and `end_date`, the last day of history.
            The start date is ignored: a forecast learns from all history. None keeps everything.
        top_n: at the product level without `product_ids`, the N products with most units, >= 1.
        product_ids: at the product level, exactly these products instead of the top N.
        start_date: the first day of history (`shoplens forecast --from`); None = the first order day.

    Returns:
        A daily SeriesSet (season 7); empty frame when nothing sold.

    Raises:
        ShopLensError: an unknown level or measure, or a start date after the last day of history.
    """
    if level not in LEVELS:
        raise ShopLensError(f"level {level!r} is not known; choose one of {', '.join(LEVELS)}")
    if measure not in MEASURES:
        raise ShopLensError(f"measure {measure!r} is not known; choose one of {', '.join(MEASURES)}")
    first, last = data_span(con)
    empty = SeriesSet(pd.DataFrame(columns=list(SERIES_COLUMNS)), "D", 7, level, measure, {})
    if first is None:
        return empty
    end = min(filters.end_date, last) if filters is not None else last
    start = max(first, start_date) if start_date is not None else first
    if start > end:
        raise ShopLensError(f"the history would start on {start} but ends on {end} (the data runs from {first} to "
                            f"{last}); pick an earlier --from or a later --to")
    parameters = {
        "start_date": start,
        "end_date": end,
        "categories": list(filters.categories) if filters else [],
        "channels": list(filters.channels) if filters else [],
        "devices": list(filters.devices) if filters else [],
        "level": level,
    }
    rows = run_report(con, "forecasts/daily_series", parameters)
    labels: dict[str, str] = {}
    if level == "product":
        if product_ids:
            rows = rows[rows["unique_id"].isin(product_ids)]
        else:
            totals = rows.groupby("unique_id")["units"].sum().sort_values(ascending=False, kind="stable")
            rows = rows[rows["unique_id"].isin(totals.index[:max(1, top_n)])]
        titles = run_report(con, "forecasts/product_titles", {})
        labels = dict(zip(titles["product_id"], titles["title"]))
        labels = {product: f"{labels.get(product, product)} ({product})" for product in rows["unique_id"].unique()}
    frame = rows.rename(columns={measure: "y"})[list(SERIES_COLUMNS)]
    if frame.empty:
        return empty
    return SeriesSet(fill_missing(frame, "D", end=pd.Timestamp(end)), "D", 7, level, measure, labels)


def fill_missing(frame: pd.DataFrame, freq: str, *, end: pd.Timestamp | None = None) -> pd.DataFrame:
    """Make every series gap-free from its first row to `end`, missing steps as 0.

    Args:
        frame: `unique_id, ds, y`; at most one row per (unique_id, ds).
        freq: "D", "W" or "MS".
        end: the last step for every series; default the latest `ds` in the frame.

    Returns:
        `unique_id, ds, y` sorted by unique_id then ds.
    """
    if frame.empty:
        return frame.loc[:, list(SERIES_COLUMNS)].reset_index(drop=True)
    end = pd.Timestamp(end if end is not None else frame["ds"].max())
    parts = []
    for unique_id, rows in frame.groupby("unique_id", sort=True):
        days = pd.date_range(rows["ds"].min(), end, freq=freq)
        values = rows.set_index("ds")["y"].reindex(days, fill_value=0.0)
        parts.append(pd.DataFrame({"unique_id": str(unique_id), "ds": days, "y": values.to_numpy(float)}))
    return pd.concat(parts, ignore_index=True)


def infer_frequency(ds: pd.Series) -> str:
    """Daily, weekly, monthly or quarterly, from the most common step between consecutive dates.

    Returns:
        "D", "W", "MS" or "QS".

    Raises:
        ShopLensError: the dates are spaced otherwise (hourly, yearly, irregular).
    """
    steps = pd.Series(np.sort(pd.to_datetime(ds).unique())).diff().dropna().dt.days
    if steps.empty:
        raise ShopLensError("column ds needs at least two different dates per series to tell the frequency")
    step = int(steps.mode().iloc[0])
    if step == 1:
        return "D"
    if step == 7:
        return "W"
    if 28 <= step <= 31:
        return "MS"
    if 89 <= step <= 92:
        return "QS"
    raise ShopLensError(f"column ds is spaced {step} days apart; give daily, weekly, monthly or quarterly dates")


def read_series_csv(path: Path | str) -> SeriesSet:
    """Read any series from a CSV with columns `unique_id, ds, y` (a file without unique_id is one series).

    Missing steps are filled with 0 (a day without sales); monthly and quarterly dates are moved to the first
    day of their month or quarter.

    Raises:
        ShopLensError: a missing file or column, a date or number that does not parse (row named),
            or a (unique_id, ds) pair given twice.
    """
    path = Path(path)
    if not path.is_file():
        raise ShopLensError(f"{path} does not exist; give a CSV with columns unique_id, ds, y")
    frame = pd.read_csv(path, dtype={"unique_id": str})
    if "unique_id" not in frame.columns:
        frame.insert(0, "unique_id", path.stem)
    missing = [column for column in ("ds", "y") if column not in frame.columns]
    if missing:
        raise ShopLensError(f"{path.name} lacks column {', '.join(missing)}; it needs unique_id, ds, y")
    return series_from_frame(frame[list(SERIES_COLUMNS)], source=path.name)


def series_from_frame(frame: pd.DataFrame, *, source: str = "the series") -> SeriesSet:
    """Validate and regularise a `unique_id, ds, y` frame (see `read_series_csv`)."""
    frame = frame.copy()
    frame["unique_id"] = frame["unique_id"].astype(str)
    dates = pd.to_datetime(frame["ds"], errors="coerce")
    if dates.isna().any():
        row = int(np.flatnonzero(dates.isna().to_numpy())[0])
        raise ShopLensError(f"{source} row {row + 2}: ds {frame['ds'].iloc[row]!r} is not a date; write YYYY-MM-DD")
    values = pd.to_numeric(frame["y"], errors="coerce")
    if values.isna().any():
        row = int(np.flatnonzero(values.isna().to_numpy())[0])
        raise ShopLensError(f"{source} row {row + 2}: y {frame['y'].iloc[row]!r} is not a number")
    frame["ds"], frame["y"] = dates.dt.tz_localize(None) if dates.dt.tz is not None else dates, values.astype(float)
    duplicated = frame.duplicated(["unique_id", "ds"])
    if duplicated.any():
        row = int(np.flatnonzero(duplicated.to_numpy())[0])
        raise ShopLensError(f"{source} row {row + 2}: series {frame['unique_id'].iloc[row]!r} has "
                            f"{frame['ds'].iloc[row]:%Y-%m-%d} twice; sum or drop the duplicates")
    freq = infer_frequency(frame["ds"])
    if freq in ("MS", "QS"):
        frame["ds"] = frame["ds"].dt.to_period(freq[0]).dt.to_timestamp()
        duplicated = frame.duplicated(["unique_id", "ds"])
        if duplicated.any():
            row = int(np.flatnonzero(duplicated.to_numpy())[0])
            period = "month" if freq == "MS" else "quarter"
            raise ShopLensError(f"{source} row {row + 2}: series {frame['unique_id'].iloc[row]!r} has two dates in the "
                                f"{period} starting {frame['ds'].iloc[row]:%Y-%m-%d}; give one row per {period}")
    if freq == "W":
        # Regular weekly steps on the weekday the data uses.
        freq = f"W-{frame['ds'].iloc[0].day_name()[:3].upper()}"
    frame = fill_missing(frame.sort_values(["unique_id", "ds"]), freq)
    season = SEASON_LENGTHS["W" if freq.startswith("W") else freq]
    return SeriesSet(frame, freq, season, "csv", "y", {})


def trim_history(series: SeriesSet, start: date | None = None, end: date | None = None) -> SeriesSet:
    """The series' history between `start` and `end` (inclusive), e.g. from `shoplens forecast --from/--to`.

    Args:
        series: the series as loaded.
        start: first step to keep; None keeps from the beginning.
        end: last step to keep; None keeps to the end.

    Returns:
        A SeriesSet of the same frequency; series with no step in the range are dropped.

    Raises:
        ShopLensError: start after end, or no step of any series in the range (names the data's span).
    """
    if start is not None and end is not None and start > end:
        raise ShopLensError(f"--from {start} is after --to {end}; swap them")
    frame = series.frame
    if frame.empty:
        return series
    keep = np.ones(len(frame), dtype=bool)
    if start is not None:
        keep &= (frame["ds"] >= pd.Timestamp(start)).to_numpy()
    if end is not None:
        keep &= (frame["ds"] <= pd.Timestamp(end)).to_numpy()
    if not keep.any():
        first, last = pd.Timestamp(frame["ds"].min()), pd.Timestamp(frame["ds"].max())
        raise ShopLensError(f"no history between {start or 'the start'} and {end or 'the end'}: the data runs from "
                            f"{first:%Y-%m-%d} to {last:%Y-%m-%d}")
    return SeriesSet(frame[keep].reset_index(drop=True), series.freq, series.season_length, series.level,
                     series.measure, series.labels)


PREVIEW_SERIES = 5


def history_preview(con: duckdb.DuckDBPyConnection, level: str = "category", measure: str = "units", *,
                    filters: Filters | None = None, max_series: int = PREVIEW_SERIES) -> pd.DataFrame:
    """The daily history of a level's largest series, to show before any model runs.

    One query (the same daily series a run forecasts), no fitting: a manager sees the data at once.

    Args:
        con: a warehouse connection.
        level, measure, filters: as `load_series` (the start date is ignored: all history).
        max_series: keep the series with the largest totals, >= 1.

    Returns:
        `unique_id, label, ds, y` (y in the measure per day, zero-filled), largest series first, then by day;
        empty when nothing sold.

    Raises:
        ShopLensError: an unknown level or measure, or max_series < 1.
    """
    if max_series < 1:
        raise ShopLensError(f"max_series is {max_series}; show at least 1 series")
    series = load_series(con, level, measure, filters=filters)
    frame = series.frame
    if frame.empty:
        return pd.DataFrame(columns=["unique_id", "label", "ds", "y"])
    totals = frame.groupby("unique_id")["y"].sum().sort_values(ascending=False, kind="stable")
    keep = list(totals.index[:max_series])
    frame = frame[frame["unique_id"].isin(keep)].copy()
    frame["order"] = frame["unique_id"].map({unique_id: position for position, unique_id in enumerate(keep)})
    frame["label"] = frame["unique_id"].map(lambda unique_id: series.labels.get(unique_id, unique_id))
    return frame.sort_values(["order", "ds"], kind="stable")[["unique_id", "label", "ds", "y"]].reset_index(drop=True)
