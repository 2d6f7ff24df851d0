"""The global filters every page applies: a date range, categories, channels and devices."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from analytics.errors import ShopLensError


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
    """

    start_date: date
    end_date: date
    categories: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.end_date < self.start_date:
            raise ShopLensError(
                f"the end date {self.end_date} is before the start date {self.start_date}; swap them"
            )

    @property
    def days(self) -> int:
        """Number of days in the range, >= 1."""
        return (self.end_date - self.start_date).days + 1

    def previous_period(self) -> Filters:
        """The same filters over the equally long period that ends the day before `start_date`."""
        end = self.start_date - timedelta(days=1)
        return replace(self, start_date=end - timedelta(days=self.days - 1), end_date=end)

    def sql_parameters(self) -> dict[str, Any]:
        """Bound parameters for report queries: `$start_date`, `$end_date`, `$categories`, `$channels`, `$devices`."""
        return {
            "start_date": self.start_date,
            "end_date": self.end_date,
            "categories": list(self.categories),
            "channels": list(self.channels),
            "devices": list(self.devices),
        }
