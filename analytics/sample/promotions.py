"""The sample shop's promotion calendar and per-day discount lookups.

Three kinds of promotions, every year of the sample:

- sitewide festival sales (scope ``all``): 618 (June 1-18, 15% off), Singles'
  Day (November 1-11, 20% off), Black Friday-Cyber Monday (25% off);
- a monthly category flash sale (scope ``category``, a top-level category, 4
  days, 20-30% off), on the 8th-11th, or the 22nd-25th in June and the
  15th-18th in November so it never sits inside a festival sale;
- two monthly product deals (scope ``product``, 3 days from the 26th, 30% off)
  on popular products.

Where promotions overlap, a product gets the largest discount in scope.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from analytics.calendar import black_friday, cyber_monday
from analytics.sample.catalog import TOP_LEVEL_NAMES, Catalog
from analytics.sample.effects import CATEGORY_PROMO_TRAFFIC, SITEWIDE_PROMO_TRAFFIC

SITEWIDE_SALES: tuple[tuple[str, float], ...] = (
    ("618 Mid-Year Sale", 0.15),
    ("Singles' Day", 0.20),
    ("Black Friday - Cyber Monday", 0.25),
)
FLASH_SALE_RATES = (0.20, 0.25, 0.30)
FLASH_SALE_DAYS = 4
DEALS_PER_MONTH = 2
DEAL_RATE = 0.30
DEAL_DAYS = 3
DEAL_CANDIDATES = 200  # deals go to products among the most popular ones


@dataclass(frozen=True)
class Promotion:
    """One promotion row; ``scope_value`` is a top-level name, a product index as text, or None."""

    name: str
    start: dt.date
    end: dt.date
    scope: str
    scope_value: str | None
    discount_rate: float


@dataclass(frozen=True)
class PromotionSchedule:
    """Promotions of the sample period and the per-day lookups the generator needs.

    Day indexes count from the sample's start date.
    """

    table: pa.Table  # the promotions source table
    sitewide_rate: np.ndarray  # float64 (days,), discount of the sitewide sale, 0 if none
    category_rate: np.ndarray  # float64 (days, n_top), flash-sale discount per top-level category
    flash_top: np.ndarray  # int (days,), top-level category on flash sale, -1 if none
    deal_keys: np.ndarray  # int64 sorted, day * n_products + product index of each product-deal day
    deal_rates: np.ndarray  # float64, discount per deal key
    traffic: np.ndarray  # float64 (days,), traffic multiplier from promotions
    n_products: int  # catalogue size, the stride of deal_keys

    def discount(self, day: np.ndarray, product: np.ndarray, top: np.ndarray) -> np.ndarray:
        """Return the discount rate in force for each (day, product), the largest in scope.

        Args:
            day: int day index per row, 0 <= day < days.
            product: int product index per row.
            top: int top-level category index of ``product``.

        Returns:
            float64 array in [0, 1), one rate per row.
        """
        rate = np.maximum(self.sitewide_rate[day], self.category_rate[day, top])
        if len(self.deal_keys):
            keys = day.astype(np.int64) * self.n_products + product
            pos = np.minimum(np.searchsorted(self.deal_keys, keys), len(self.deal_keys) - 1)
            rate = np.where(self.deal_keys[pos] == keys, np.maximum(rate, self.deal_rates[pos]), rate)
        return rate


def _month_starts(start: dt.date, end: dt.date) -> list[dt.date]:
    months, cursor = [], dt.date(start.year, start.month, 1)
    while cursor <= end:
        months.append(cursor)
        cursor = dt.date(cursor.year + cursor.month // 12, cursor.month % 12 + 1, 1)
    return months


def _plan(rng: np.random.Generator, start: dt.date, end: dt.date, catalog: Catalog) -> list[tuple[Promotion, int | None]]:
    """List the promotions overlapping [start, end] with the product index of product deals."""
    plan: list[tuple[Promotion, int | None]] = []
    for year in range(start.year, end.year + 1):
        (name_618, rate_618), (name_11, rate_11), (name_bf, rate_bf) = SITEWIDE_SALES
        plan.append((Promotion(name_618, dt.date(year, 6, 1), dt.date(year, 6, 18), "all", None, rate_618), None))
        plan.append((Promotion(name_11, dt.date(year, 11, 1), dt.date(year, 11, 11), "all", None, rate_11), None))
        plan.append((Promotion(name_bf, black_friday(year), cyber_monday(year), "all", None, rate_bf), None))
    popular = np.argsort(-catalog.weight)[:DEAL_CANDIDATES]
    popular = popular[catalog.in_stock[popular]]
    previous_top = -1
    for month in _month_starts(start, end):
        # Flash sales rotate through the categories, never twice in a row.
        if previous_top < 0:
            top = int(rng.integers(0, len(TOP_LEVEL_NAMES)))
        else:
            top = int(rng.integers(0, len(TOP_LEVEL_NAMES) - 1))
            top += top >= previous_top
        previous_top = top
        # Between the festival sales: after 618 (June 18), and between Singles'
        # Day (November 11) and the earliest possible Black Friday (November 23).
        first_day = {6: 22, 11: 15}.get(month.month, 8)
        flash_start = month.replace(day=first_day)
        rate = float(rng.choice(FLASH_SALE_RATES))
        plan.append(
            (
                Promotion(f"Flash Sale: {TOP_LEVEL_NAMES[top]}", flash_start, flash_start + dt.timedelta(days=FLASH_SALE_DAYS - 1),
                          "category", TOP_LEVEL_NAMES[top], rate),
                None,
            )
        )
        deal_start = month.replace(day=26)
        for product in rng.choice(popular, size=DEALS_PER_MONTH, replace=False):
            plan.append(
                (
                    Promotion("Deal of the Month", deal_start, deal_start + dt.timedelta(days=DEAL_DAYS - 1), "product", None, DEAL_RATE),
                    int(product),
                )
            )
    return [(promo, product) for promo, product in plan if promo.end >= start and promo.start <= end]


def build_promotions(rng: np.random.Generator, start: dt.date, days: int, catalog: Catalog, schema: pa.Schema) -> PromotionSchedule:
    """Plan the promotions of the sample period and index them by day.

    Args:
        rng: generator for the flash-sale categories and rates and the deal products.
        start: first day of the sample.
        days: number of days in the sample, >= 1.
        catalog: the catalogue (deals pick popular in-stock products; ids come from it).
        schema: Arrow schema of the promotions table.

    Returns:
        The schedule; its table is sorted by start date and numbered PR0001, PR0002, ...
    """
    end = start + dt.timedelta(days=days - 1)
    plan = sorted(_plan(rng, start, end, catalog), key=lambda item: (item[0].start, item[0].scope, item[0].name, item[1] or -1))
    n_top = len(TOP_LEVEL_NAMES)
    sitewide = np.zeros(days)
    category = np.zeros((days, n_top))
    deal_keys: list[np.ndarray] = []
    deal_rates: list[np.ndarray] = []
    product_ids = catalog.product_id.to_pylist()
    rows: dict[str, list] = {name: [] for name in schema.names}
    for number, (promo, product) in enumerate(plan, start=1):
        first = max((promo.start - start).days, 0)
        last = min((promo.end - start).days, days - 1)
        span = np.arange(first, last + 1)
        if promo.scope == "all":
            sitewide[span] = np.maximum(sitewide[span], promo.discount_rate)
        elif promo.scope == "category":
            top = TOP_LEVEL_NAMES.index(promo.scope_value)
            category[span, top] = np.maximum(category[span, top], promo.discount_rate)
        else:
            deal_keys.append(span.astype(np.int64) * catalog.n_products + product)
            deal_rates.append(np.full(len(span), promo.discount_rate))
        rows["promotion_id"].append(f"PR{number:04d}")
        rows["name"].append(promo.name)
        rows["start_date"].append(promo.start)
        rows["end_date"].append(promo.end)
        rows["scope"].append(promo.scope)
        rows["scope_value"].append(product_ids[product] if promo.scope == "product" else promo.scope_value)
        rows["discount_rate"].append(promo.discount_rate)

    keys = np.concatenate(deal_keys) if deal_keys else np.zeros(0, np.int64)
    rates = np.concatenate(deal_rates) if deal_rates else np.zeros(0)
    order = np.lexsort((-rates, keys))
    keys, rates = keys[order], rates[order]
    first_of_key = np.r_[True, keys[1:] != keys[:-1]] if len(keys) else np.zeros(0, bool)
    keys, rates = keys[first_of_key], rates[first_of_key]  # the largest deal wins on a shared day

    flash_top = np.where(category.max(axis=1) > 0, category.argmax(axis=1), -1)
    traffic = np.where(sitewide > 0, SITEWIDE_PROMO_TRAFFIC, 1.0) * np.where(flash_top >= 0, CATEGORY_PROMO_TRAFFIC, 1.0)
    return PromotionSchedule(
        table=pa.table(rows, schema=schema),
        sitewide_rate=sitewide,
        category_rate=category,
        flash_top=flash_top,
        deal_keys=keys,
        deal_rates=rates,
        traffic=traffic,
        n_products=catalog.n_products,
    )
