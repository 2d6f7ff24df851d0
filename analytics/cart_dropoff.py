"""Add-to-cart drop-off: how long carts wait to be bought, which are abandoned, which come back.

A cart is a product put in the cart by a user (see `fct_carts` and
docs/cart-dropoff.md); it converts when the same user buys the same product.
Time to purchase is a survival problem: a cart not bought by the end of the
data is *censored* there, not abandoned, because it may still be bought.

For a window W (24 h by default) every cart is in exactly one state:

- bought within W: bought at most W after it was carted;
- abandoned: not bought within W, and the data runs at least W past the cart;
- open: not bought yet, and the data ends less than W after the cart, so its
  outcome is unknown. Open carts are left out of every rate.

A recovered cart is an abandoned cart that was bought later after all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analytics.errors import ShopLensError
from analytics.filters import Filters
from analytics.queries import run_report
from analytics.sql_files import read_sql

Breakdown = Literal["category", "price_band", "device", "hour", "is_returning"]
BREAKDOWNS: tuple[str, ...] = ("category", "price_band", "device", "hour", "is_returning")
# The cart column each breakdown groups by.
BREAKDOWN_COLUMNS: dict[str, str] = {
    "category": "category",
    "price_band": "price_band",
    "device": "device",
    "hour": "cart_hour",
    "is_returning": "is_returning",
}
PRICE_BANDS: tuple[str, ...] = ("under 0.75x median", "0.75-1.5x median", "over 1.5x median", "unknown")
DEFAULT_WITHIN_HOURS = 24.0
DEFAULT_CURVE_HOURS = 72.0
# A rate from fewer closed carts than this, when most carts are still in their window, is no rate: on 2
# hours of Taobao data a 24 h window left 9 decided carts of 6,062 (all bought), and "0.00% abandoned"
# would have been read as a fact.
MIN_DECIDED_CARTS = 30
# 95 % two-sided normal quantile for the survival curve's confidence band.
Z_95 = 1.959963984540054

WINBACK_COLUMNS: tuple[str, ...] = (
    "user_id", "product_id", "category", "brand", "list_price", "cart_price", "price_band",
    "carted_at", "device", "channel", "is_returning", "purchased_at",
)


@dataclass(frozen=True)
class CartDropoff:
    """Cart drop-off for one set of filters and one window.

    Attributes:
        filters: the filters applied (to the cart's date, category, channel and device).
        within_hours: the window W in hours, > 0.
        data_end_at: the latest event in the warehouse (UTC); carts are censored there.
        carts: carts in the filters.
        bought_within: carts bought within W.
        abandoned: carts not bought within W whose window closed before the data ends.
        open: carts whose window was still open at the data end and not bought yet (censored).
        recovered: abandoned carts bought after W.
        closed: carts whose window closed before the data ends (bought within W, or abandoned); the
            rates count only these, see `cart_states`.
        survival: the Kaplan–Meier curve on a grid of hours: hours (0..curve_hours), survival
            (share of carts not yet bought, 0..1), lower and upper (95 % band), at_risk (carts
            neither bought nor censored before that hour).
        km_abandonment_rate: the Kaplan–Meier estimate of the share not bought within W (0..1),
            NaN without carts.
        breakdowns: breakdown name (`BREAKDOWNS`) -> `breakdown_table` of the carts.
    """

    filters: Filters
    within_hours: float
    data_end_at: datetime | None
    carts: int
    bought_within: int
    abandoned: int
    open: int
    recovered: int
    closed: int
    survival: pd.DataFrame
    km_abandonment_rate: float
    breakdowns: dict[str, pd.DataFrame]

    @property
    def decided(self) -> int:
        """Carts whose window closed before the data ends: every one is bought within W or abandoned."""
        return self.closed

    @property
    def abandonment_rate(self) -> float | None:
        """Abandoned ÷ closed carts (0..1); None when none closed, or fewer than `MIN_DECIDED_CARTS` while most are open."""
        enough = self.closed >= MIN_DECIDED_CARTS or self.closed * 2 >= self.carts
        return self.abandoned / self.closed if self.closed and enough else None

    @property
    def why_no_rate(self) -> str | None:
        """Why `abandonment_rate` is None, in words with a way out; None when there is a rate."""
        if self.abandonment_rate is not None:
            return None
        return (f"Only {self.closed:,} of {self.carts:,} carts had their {self.within_hours:g} h window close "
                f"before the data ends ({self.carts - self.closed:,} are still within it), too few for a rate: "
                "choose a shorter window or an earlier period.")

    @property
    def recovered_rate(self) -> float | None:
        """Recovered ÷ abandoned carts (0..1); None without abandoned carts."""
        return self.recovered / self.abandoned if self.abandoned else None

    @property
    def is_empty(self) -> bool:
        """True when the filters select no cart."""
        return self.carts == 0


def load_carts(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """The carts the filters select, one row per cart.

    Args:
        con: a warehouse connection.
        filters: applied to the cart's date, category, channel and device.

    Returns:
        The `fct_carts` columns (cart_id, user_id, product_id, carted_at, category, price_ratio,
        price_band, discount_rate, device, channel, is_returning, cart_hour, prior_order_count,
        session_depth, purchased_at, hours_to_purchase, ...) plus hours_observed (hours from the
        cart to the data end, >= 0). Sorted by carted_at.
    """
    carts = run_report(con, "cart_outcomes", filters.sql_parameters())
    return carts.sort_values(["carted_at", "cart_id"], kind="stable").reset_index(drop=True)


def cart_states(carts: pd.DataFrame, within_hours: float) -> pd.DataFrame:
    """Classify carts for a window of `within_hours`.

    Args:
        carts: rows with hours_to_purchase (NaN when never bought) and hours_observed.
        within_hours: the window W, > 0.

    Returns:
        Boolean columns is_bought_within, is_abandoned, is_open, is_recovered, one row per cart,
        same index; exactly one of the first three is true on each row. is_window_closed marks the carts
        whose window closed before the data ends: only they enter rates, because among carts still in
        their window the bought ones are known early and the abandoned ones not yet, so counting them
        would bias every rate towards buying.
    """
    bought_at = carts["hours_to_purchase"].astype(float)
    is_bought_within = (bought_at <= within_hours).fillna(False).astype(bool)
    is_window_closed = carts["hours_observed"].astype(float) >= within_hours
    is_abandoned = ~is_bought_within & is_window_closed
    return pd.DataFrame(
        {
            "is_bought_within": is_bought_within,
            "is_abandoned": is_abandoned,
            "is_open": ~is_bought_within & ~is_window_closed,
            "is_recovered": is_abandoned & bought_at.notna(),
            "is_window_closed": is_window_closed.astype(bool),
        },
        index=carts.index,
    )


def kaplan_meier(durations: np.ndarray, is_event: np.ndarray) -> pd.DataFrame:
    """The Kaplan–Meier estimate of the survival function, with a 95 % Greenwood band.

    At equal times, events are counted before censorings (the usual convention): a subject
    censored at t was still at risk at t.

    Args:
        durations: time to the event or to censoring, >= 0, one per subject.
        is_event: True where the event happened at that time, False where censored.

    Returns:
        One row per distinct time with an event or censoring, ascending: time, at_risk (subjects
        with duration >= time), events, censored, survival (S(time), after that time's events,
        0..1), lower and upper (log(-log) transformed 95 % band; equal to survival where S is 1
        or 0). Empty input gives an empty frame with these columns.
    """
    durations = np.asarray(durations, dtype=float)
    is_event = np.asarray(is_event, dtype=bool)
    if durations.shape != is_event.shape:
        raise ValueError("durations and is_event must have the same length")
    if np.isnan(durations).any() or (durations < 0).any():
        raise ShopLensError("durations must be known and not negative; drop rows without a duration first")
    if len(durations) == 0:
        return pd.DataFrame({column: pd.Series(dtype=float) for column in
                             ("time", "at_risk", "events", "censored", "survival", "lower", "upper")})
    times, inverse = np.unique(durations, return_inverse=True)
    events = np.bincount(inverse, weights=is_event, minlength=len(times)).astype(np.int64)
    totals = np.bincount(inverse, minlength=len(times)).astype(np.int64)
    at_risk = len(durations) - np.concatenate(([0], np.cumsum(totals)[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        factors = 1.0 - events / at_risk
        survival = np.cumprod(factors)
        # Greenwood: Var(log S) = sum d / (n (n - d)); infinite once S reaches 0.
        terms = np.where(events > 0, events / (at_risk * (at_risk - events)), 0.0)
        greenwood = np.cumsum(terms)
        log_survival = np.log(survival)
        spread = Z_95 * np.sqrt(greenwood) / np.abs(log_survival)
        lower = survival ** np.exp(spread)
        upper = survival ** np.exp(-spread)
    is_degenerate = (survival >= 1.0) | (survival <= 0.0) | ~np.isfinite(spread)
    lower = np.where(is_degenerate, survival, lower)
    upper = np.where(is_degenerate, survival, upper)
    return pd.DataFrame(
        {
            "time": times,
            "at_risk": at_risk,
            "events": events,
            "censored": totals - events,
            "survival": survival,
            "lower": lower,
            "upper": upper,
        }
    )


def survival_at(curve: pd.DataFrame, times: np.ndarray) -> pd.DataFrame:
    """Evaluate a `kaplan_meier` step function at `times`.

    Args:
        curve: from `kaplan_meier`.
        times: points >= 0.

    Returns:
        hours, survival, lower, upper, at_risk: one row per time. Before the first step the
        survival is 1; at_risk counts subjects whose duration is >= the time.
    """
    times = np.asarray(times, dtype=float)
    if curve.empty:
        return pd.DataFrame({"hours": times, "survival": np.nan, "lower": np.nan, "upper": np.nan, "at_risk": 0})
    position = np.searchsorted(curve["time"].to_numpy(), times, side="right") - 1
    before = position < 0
    index = np.clip(position, 0, None)

    def pick(column: str) -> np.ndarray:
        return np.where(before, 1.0, curve[column].to_numpy()[index])

    # Subjects at risk at t: those at risk at the first step at or after t.
    after = np.searchsorted(curve["time"].to_numpy(), times, side="left")
    at_risk_column = np.append(curve["at_risk"].to_numpy(), 0)
    return pd.DataFrame(
        {
            "hours": times,
            "survival": pick("survival"),
            "lower": pick("lower"),
            "upper": pick("upper"),
            "at_risk": at_risk_column[after],
        }
    )


def curve_grid(curve_hours: float, points: int = 160) -> np.ndarray:
    """Hours at which the page draws the curve, ascending, from 0 to `curve_hours`.

    Most carts are bought within minutes, so the points are spaced geometrically from one
    minute (for a log axis), plus 0 and round marks (5 and 15 minutes, 1, 6, 12, 24, 48 h, ...).
    """
    marks = np.array([0.0, 1 / 60, 5 / 60, 0.25, 0.5, 1, 2, 3, 6, 12, 24, 48, 72, 168, 336, 720])
    spaced = np.geomspace(1 / 60, curve_hours, points) if curve_hours > 1 / 60 else np.array([])
    grid = np.concatenate((marks[marks <= curve_hours], spaced, [curve_hours]))
    return np.unique(np.round(grid, 9))


def breakdown_table(carts: pd.DataFrame, states: pd.DataFrame, by: str) -> pd.DataFrame:
    """Abandonment and recovery per value of one breakdown.

    Args:
        carts: from `load_carts`.
        states: `cart_states(carts, W)`.
        by: one of `BREAKDOWNS`.

    Returns:
        One row per value present: `by` (the value; hour as 0..23, is_returning as bool),
        carts, bought_within, abandoned, open, recovered, closed (carts whose window closed before the
        data ends), abandonment_rate (abandoned ÷ closed, NaN when none closed), recovered_rate (recovered ÷
        abandoned, NaN without abandoned carts), and the rate's 95 % Wilson interval
        abandonment_lower, abandonment_upper. Price bands in `PRICE_BANDS` order, hours
        ascending, other values by carts descending.
    """
    if by not in BREAKDOWN_COLUMNS:
        raise ShopLensError(f"cannot break carts down by {by!r}; choose one of {', '.join(BREAKDOWNS)}")
    # Codes and bincounts rather than a groupby over object keys: five breakdowns of the whole
    # year's carts then take milliseconds. A missing value counts as "unknown".
    codes, uniques = pd.factorize(carts[BREAKDOWN_COLUMNS[by]], sort=False)
    values = list(pd.Series(uniques).astype(object))
    if (codes < 0).any():
        codes = np.where(codes < 0, len(values), codes)
        values.append("unknown")

    def total(flags: pd.Series) -> np.ndarray:
        return np.bincount(codes, weights=flags.to_numpy(dtype=float), minlength=len(values)).round().astype(np.int64)

    table = pd.DataFrame({
        by: pd.Series(values, dtype=object),
        "carts": np.bincount(codes, minlength=len(values)).astype(np.int64),
        "bought_within": total(states["is_bought_within"]),
        "abandoned": total(states["is_abandoned"]),
        "open": total(states["is_open"]),
        "recovered": total(states["is_recovered"]),
        "closed": total(states["is_window_closed"]),
    })
    table["abandonment_rate"] = table["abandoned"] / table["closed"].where(table["closed"] > 0)
    table["recovered_rate"] = table["recovered"] / table["abandoned"].where(table["abandoned"] > 0)
    table["abandonment_lower"], table["abandonment_upper"] = wilson_interval(table["abandoned"], table["closed"])
    if by == "price_band":
        order = {band: position for position, band in enumerate(PRICE_BANDS)}
        table = table.sort_values(by, key=lambda values: values.map(order))
    elif by == "hour":
        table = table.sort_values(by)
    else:
        table = table.sort_values(["carts", by], ascending=[False, True], key=None)
    return table.reset_index(drop=True)


def wilson_interval(successes: pd.Series, trials: pd.Series, z: float = Z_95) -> tuple[pd.Series, pd.Series]:
    """The Wilson score interval of a proportion (lower, upper), each 0..1; NaN where trials is 0."""
    successes = successes.astype(float)
    trials = trials.astype(float).where(trials > 0)
    share = successes / trials
    denominator = 1 + z**2 / trials
    centre = (share + z**2 / (2 * trials)) / denominator
    half = z * np.sqrt(share * (1 - share) / trials + z**2 / (4 * trials**2)) / denominator
    return (centre - half).clip(lower=0), (centre + half).clip(upper=1)


def winback_segment(carts: pd.DataFrame, states: pd.DataFrame) -> pd.DataFrame:
    """The carts not bought within the window: who to win back and with what.

    Args:
        carts: from `load_carts`.
        states: `cart_states(carts, W)`.

    Returns:
        The abandoned carts with `WINBACK_COLUMNS` (purchased_at is set for recovered carts)
        and is_recovered, newest cart first.
    """
    segment = carts.loc[states["is_abandoned"], list(WINBACK_COLUMNS)].assign(
        is_recovered=states.loc[states["is_abandoned"], "is_recovered"].to_numpy()
    )
    return segment.sort_values("carted_at", ascending=False, kind="stable").reset_index(drop=True)


def load_cart_dropoff(
    con: duckdb.DuckDBPyConnection,
    filters: Filters,
    within_hours: float = DEFAULT_WITHIN_HOURS,
    curve_hours: float = DEFAULT_CURVE_HOURS,
) -> CartDropoff:
    """Compute cart drop-off for `filters`.

    Args:
        con: a warehouse connection.
        filters: applied to the cart's date, category, channel and device.
        within_hours: the abandonment window W in hours, > 0.
        curve_hours: how far the survival curve is drawn, in hours, > 0.

    Returns:
        A CartDropoff.
    """
    check_hours(within_hours, "the window")
    check_hours(curve_hours, "the curve's length")
    carts = _read_frame(con, "cart_durations", filters.sql_parameters())
    return summarise_carts(carts, filters, within_hours, curve_hours, _data_end(con))


def _read_frame(con: duckdb.DuckDBPyConnection, name: str, parameters: dict,
                text_as: Literal["category", "arrow"] = "category") -> pd.DataFrame:
    """Run `sql/reports/<name>.sql` through Arrow; text columns as pandas categoricals or Arrow strings.

    Hundreds of thousands of carts convert to Python strings slowly (`run_report`): a categorical
    converts each distinct value once (for few values, grouped on), Arrow strings not at all (for
    ids, shown and exported).
    """
    sql = read_sql(f"reports/{name}")
    used = {key: value for key, value in parameters.items() if f"${key}" in sql}
    with con.cursor() as cursor:
        table = cursor.sql(sql, params=used).to_arrow_table()
    if text_as == "arrow":
        return table.to_pandas(types_mapper=lambda kind: pd.ArrowDtype(kind) if pa.types.is_string(kind) else None)
    columns = [pc.dictionary_encode(column) if pa.types.is_string(column.type) else column
               for column in table.columns]
    return pa.table(columns, names=table.column_names).to_pandas()


def summarise_carts(
    carts: pd.DataFrame, filters: Filters, within_hours: float, curve_hours: float, data_end_at: datetime | None
) -> CartDropoff:
    """Build a CartDropoff from carts already loaded (see `load_cart_dropoff`)."""
    states = cart_states(carts, within_hours)
    is_bought = carts["hours_to_purchase"].notna().to_numpy()
    durations = np.where(is_bought, carts["hours_to_purchase"], carts["hours_observed"]).astype(float)
    curve = kaplan_meier(durations, is_bought)
    grid = curve_grid(max(curve_hours, within_hours))
    survival = survival_at(curve, grid)
    km_abandonment = float(survival_at(curve, np.array([within_hours]))["survival"].iloc[0]) if len(carts) else np.nan
    return CartDropoff(
        filters=filters,
        within_hours=float(within_hours),
        data_end_at=data_end_at,
        carts=len(carts),
        bought_within=int(states["is_bought_within"].sum()),
        closed=int(states["is_window_closed"].sum()),
        abandoned=int(states["is_abandoned"].sum()),
        open=int(states["is_open"].sum()),
        recovered=int(states["is_recovered"].sum()),
        survival=survival,
        km_abandonment_rate=km_abandonment,
        breakdowns={by: breakdown_table(carts, states, by) for by in BREAKDOWNS},
    )


def load_winback_segment(
    con: duckdb.DuckDBPyConnection, filters: Filters, within_hours: float = DEFAULT_WITHIN_HOURS
) -> pd.DataFrame:
    """The "carted, not bought within W" segment for a win-back campaign (see `winback_segment`)."""
    check_hours(within_hours, "the window")
    # Selected and sorted in SQL (the same rule as `cart_states`), so only abandoned carts are read.
    segment = _read_frame(con, "cart_winback", filters.sql_parameters() | {"within_hours": float(within_hours)},
                          text_as="arrow")
    return segment.astype({"is_recovered": bool})


def check_hours(hours: float, what: str) -> None:
    """Raise ShopLensError unless `hours` is a positive finite number."""
    if not np.isfinite(hours) or hours <= 0:
        raise ShopLensError(f"{what} is {hours} hours; give a positive duration such as 24h")


def hours_of(duration: timedelta) -> float:
    """A timedelta in hours."""
    return duration / timedelta(hours=1)


def _data_end(con: duckdb.DuckDBPyConnection) -> datetime | None:
    value = run_report(con, "cart_data_end", {})["data_end_at"].iloc[0]
    return None if value is None else pd.Timestamp(value).to_pydatetime()
