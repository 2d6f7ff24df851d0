"""The global filters every page applies: a date range, categories, channels and devices."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from analytics.errors import ShopLensError

# What a period is compared with: machine name -> label.
COMPARISONS: dict[str, str] = {"previous_period": "previous period", "previous_year": "same period last year"}


@dataclass(frozen=True)
class Filters:
    """A slice of the shop.

    Attributes:
        start_date: first day, inclusive (UTC).
        end_date: last day, inclusive (UTC); not before start_date.
        categories: top-level categories to keep; empty keeps all. A session counts
            when it touched one of them; revenue counts only their items.
        channels: traffic channels to keep; empty keeps all.
        devices: devices to keep; empty keeps all.
        comparison: what `comparison_period` compares with, a key of `COMPARISONS`.
    """

    start_date: date
    end_date: date
    categories: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()
    comparison: str = "previous_period"

    def __post_init__(self) -> None:
        if self.end_date < self.start_date:
            raise ShopLensError(
                f"the end date {self.end_date} is before the start date {self.start_date}; swap them"
            )
        if self.comparison not in COMPARISONS:
            raise ShopLensError(
                f"unknown comparison {self.comparison!r}; choose one of {', '.join(COMPARISONS)}"
            )

    @property
    def days(self) -> int:
        """Number of days in the range, >= 1."""
        return (self.end_date - self.start_date).days + 1

    def previous_period(self) -> Filters:
        """The same filters over the equally long period that ends the day before `start_date`."""
        end = self.start_date - timedelta(days=1)
        return replace(self, start_date=end - timedelta(days=self.days - 1), end_date=end)

    def previous_year(self) -> Filters:
        """The same filters over the same dates one year earlier (29 February becomes the 28th)."""
        return replace(self, start_date=_year_earlier(self.start_date), end_date=_year_earlier(self.end_date))

    def comparison_period(self) -> Filters:
        """The period this one is compared with: the previous period, or the same period last year."""
        return self.previous_year() if self.comparison == "previous_year" else self.previous_period()

    @property
    def comparison_label(self) -> str:
        """What the comparison is, for people: "previous period" or "same period last year"."""
        return COMPARISONS[self.comparison]

    def sql_parameters(self) -> dict[str, Any]:
        """Bound parameters for report queries: `$start_date`, `$end_date`, `$categories`, `$channels`, `$devices`."""
        return {
            "start_date": self.start_date,
            "end_date": self.end_date,
            "categories": list(self.categories),
            "channels": list(self.channels),
            "devices": list(self.devices),
        }


def _year_earlier(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


# Quick date ranges, ending on the data's last day: label -> function (first day, last day) -> start.
DATE_PRESETS: dict[str, Any] = {
    "Last 7 days": lambda first, last: last - timedelta(days=6),
    "Last 30 days": lambda first, last: last - timedelta(days=29),
    "Last 90 days": lambda first, last: last - timedelta(days=89),
    "Month to date": lambda first, last: last.replace(day=1),
    "Quarter to date": lambda first, last: last.replace(month=3 * ((last.month - 1) // 3) + 1, day=1),
    "Year to date": lambda first, last: last.replace(month=1, day=1),
    "All data": lambda first, last: first,
}


def last_complete_day(first_date: date, last_date: date, complete_end: date | None) -> date:
    """The day "as of" dates end on: the data's last complete day, when it lies within the data.

    Args:
        first_date, last_date: the data's first and last day.
        complete_end: `WarehouseInfo.complete_data_end` (the day before a partial last day); None,
            or a day outside the data (an older warehouse's record), means `last_date`.
    """
    if complete_end is None or not first_date <= complete_end <= last_date:
        return last_date
    return complete_end


def preset_range(preset: str, first_date: date, last_date: date) -> tuple[date, date]:
    """The dates of a quick range (a key of `DATE_PRESETS`) for data from `first_date` to `last_date`.

    Ranges end on the data's last day (the sample shop's data ends in the past), and never start
    before its first day.

    Raises:
        ShopLensError: unknown preset; names the known ones.
    """
    if preset not in DATE_PRESETS:
        raise ShopLensError(f"unknown date range {preset!r}; choose one of {', '.join(DATE_PRESETS)}")
    return max(first_date, DATE_PRESETS[preset](first_date, last_date)), last_date


def matching_preset(start_date: date, end_date: date, first_date: date, last_date: date) -> str | None:
    """The quick range whose dates are exactly these, or None (a custom range).

    "All data" is tried first: on short data every preset spans all of it, and saying so is the truest.
    """
    for preset in sorted(DATE_PRESETS, key=lambda name: name != "All data"):
        if preset_range(preset, first_date, last_date) == (start_date, end_date):
            return preset
    return None
