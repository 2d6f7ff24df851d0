"""Shopping festivals and holidays, shared by the sample generator and the forecasts.

One row per (date, festival). A festival has phases: ``run_up`` (pre-sale or
season days before it), ``peak`` (the day itself) and ``tail`` (days after the
peak that still sell, such as the Black Friday weekend). Festivals can overlap,
so a date may appear more than once (Cyber Monday often falls in the Christmas
run-up).

Festivals covered, every year:

- ``618``: June 1-17 run-up, June 18 peak (JD.com's mid-year sale).
- ``Singles' Day``: November 1-10 run-up, November 11 peak.
- ``Black Friday``: the day after US Thanksgiving (the fourth Thursday of
  November) is the peak, the following Saturday and Sunday are its tail.
  This is the fourth Friday of November except in years where November 1 is a
  Friday, when it is the fifth.
- ``Cyber Monday``: the Monday after Black Friday, peak.
- ``Christmas``: December 1-23 run-up, December 24-25 peak, December 26 tail.
- ``New Year``: December 31 run-up, January 1 peak.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

FESTIVALS: tuple[str, ...] = ("618", "Singles' Day", "Black Friday", "Cyber Monday", "Christmas", "New Year")
# Sales events, when shops discount and shoppers buy more; Christmas and New Year are holidays, when many
# shops are quiet. A forecast must not learn one lift for both kinds.
SALES_FESTIVALS: tuple[str, ...] = ("618", "Singles' Day", "Black Friday", "Cyber Monday")
YEAR_END_HOLIDAYS: tuple[str, ...] = ("Christmas", "New Year")
PHASES: tuple[str, ...] = ("run_up", "peak", "tail")

COLUMNS: tuple[str, ...] = ("date", "festival", "phase")


def thanksgiving(year: int) -> dt.date:
    """Return US Thanksgiving: the fourth Thursday of November of ``year``."""
    first = dt.date(year, 11, 1)
    first_thursday = first + dt.timedelta(days=(3 - first.weekday()) % 7)
    return first_thursday + dt.timedelta(weeks=3)


def black_friday(year: int) -> dt.date:
    """Return Black Friday, the day after US Thanksgiving, of ``year``."""
    return thanksgiving(year) + dt.timedelta(days=1)


def cyber_monday(year: int) -> dt.date:
    """Return Cyber Monday, the Monday after Black Friday, of ``year``."""
    return black_friday(year) + dt.timedelta(days=3)


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=k) for k in range((last - first).days + 1)]


def _festival_rows(year: int) -> list[tuple[dt.date, str, str]]:
    """All festival days whose festival belongs to ``year`` (New Year's run-up is in year - 1)."""
    rows = [(day, "618", "run_up") for day in _days(dt.date(year, 6, 1), dt.date(year, 6, 17))]
    rows.append((dt.date(year, 6, 18), "618", "peak"))
    rows += [(day, "Singles' Day", "run_up") for day in _days(dt.date(year, 11, 1), dt.date(year, 11, 10))]
    rows.append((dt.date(year, 11, 11), "Singles' Day", "peak"))
    friday = black_friday(year)
    rows.append((friday, "Black Friday", "peak"))
    rows += [(friday + dt.timedelta(days=k), "Black Friday", "tail") for k in (1, 2)]
    rows.append((cyber_monday(year), "Cyber Monday", "peak"))
    rows += [(day, "Christmas", "run_up") for day in _days(dt.date(year, 12, 1), dt.date(year, 12, 23))]
    rows += [(dt.date(year, 12, 24), "Christmas", "peak"), (dt.date(year, 12, 25), "Christmas", "peak")]
    rows.append((dt.date(year, 12, 26), "Christmas", "tail"))
    rows.append((dt.date(year - 1, 12, 31), "New Year", "run_up"))
    rows.append((dt.date(year, 1, 1), "New Year", "peak"))
    return rows


def festival_calendar(start: dt.date, end: dt.date) -> pd.DataFrame:
    """Return the festival days between two dates.

    Args:
        start: first day, inclusive.
        end: last day, inclusive; must not be before ``start``.

    Returns:
        DataFrame with columns ``date`` (datetime64[us] at midnight),
        ``festival`` (one of FESTIVALS) and ``phase`` (one of PHASES), sorted
        by date then festival. A date may appear once per festival it belongs to;
        dates without a festival do not appear.
    """
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    rows = [
        row
        for year in range(start.year, end.year + 2)  # New Year's run-up belongs to the next year
        for row in _festival_rows(year)
        if start <= row[0] <= end
    ]
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame["date"] = pd.to_datetime(frame["date"]).astype("datetime64[us]")
    return frame.sort_values(["date", "festival"], ignore_index=True)


def prophet_holidays(start: dt.date, end: dt.date) -> pd.DataFrame:
    """Return the festival days in Prophet's ``holidays`` format.

    Each (festival, phase) becomes its own holiday so a model can learn the
    run-up and the peak separately: ``"618"`` for the peak, ``"618 run-up"``
    for the pre-sale days, ``"Black Friday tail"`` for the weekend after.

    Args:
        start: first day, inclusive.
        end: last day, inclusive.

    Returns:
        DataFrame with columns ``holiday`` (str) and ``ds`` (datetime64[us]).
    """
    calendar = festival_calendar(start, end)
    suffix = calendar["phase"].map({"run_up": " run-up", "peak": "", "tail": " tail"})
    return pd.DataFrame({"holiday": calendar["festival"] + suffix, "ds": calendar["date"]})
