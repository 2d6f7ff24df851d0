"""Date presets and comparison periods of the global filters, on dates worked out by hand."""

from __future__ import annotations

from datetime import date

import pytest

from analytics.errors import ShopLensError
from analytics.filters import DATE_PRESETS, Filters, matching_preset, preset_range

FIRST, LAST = date(2024, 3, 10), date(2025, 8, 14)


@pytest.mark.parametrize(("preset", "start"), [
    ("Last 7 days", date(2025, 8, 8)),      # 14 - 6
    ("Last 30 days", date(2025, 7, 16)),    # 14 Aug - 29 days
    ("Last 90 days", date(2025, 5, 17)),    # 14 Aug - 89 days: 14 + 31 (Jul) + 30 (Jun) + 14 = 89
    ("Month to date", date(2025, 8, 1)),
    ("Quarter to date", date(2025, 7, 1)),  # Q3 starts in July
    ("Year to date", date(2025, 1, 1)),
    ("All data", FIRST),
])
def test_presets_end_on_the_last_day_of_data(preset, start):
    assert preset_range(preset, FIRST, LAST) == (start, LAST)


def test_a_preset_never_starts_before_the_data():
    assert preset_range("Last 90 days", date(2025, 8, 1), LAST) == (date(2025, 8, 1), LAST)


def test_matching_preset_recognises_a_range_and_calls_others_custom():
    assert matching_preset(date(2025, 7, 1), LAST, FIRST, LAST) == "Quarter to date"
    assert matching_preset(date(2025, 7, 2), LAST, FIRST, LAST) is None
    assert set(DATE_PRESETS) >= {"Last 7 days", "Last 30 days", "Last 90 days", "Month to date",
                                 "Quarter to date", "Year to date"}


def test_unknown_preset_names_the_known_ones():
    with pytest.raises(ShopLensError, match="Last 7 days"):
        preset_range("Last fortnight", FIRST, LAST)


def test_previous_period_is_equally_long_and_ends_the_day_before():
    filters = Filters(date(2025, 3, 1), date(2025, 3, 31), channels=("email",))
    previous = filters.comparison_period()
    # 31 days ending 28 Feb 2025: 29 Jan .. 28 Feb.
    assert (previous.start_date, previous.end_date) == (date(2025, 1, 29), date(2025, 2, 28))
    assert previous.channels == ("email",)


def test_same_period_last_year_moves_both_dates_a_year_and_29_february_to_the_28th():
    filters = Filters(date(2024, 2, 1), date(2024, 2, 29), comparison="previous_year")
    previous = filters.comparison_period()
    assert (previous.start_date, previous.end_date) == (date(2023, 2, 1), date(2023, 2, 28))
    assert filters.comparison_label == "same period last year"


def test_unknown_comparison_is_refused():
    with pytest.raises(ShopLensError, match="previous_period"):
        Filters(date(2025, 1, 1), date(2025, 1, 2), comparison="last_week")


def test_on_one_day_of_data_every_range_is_all_of_it_and_is_called_so():
    day = date(2017, 11, 26)
    assert matching_preset(day, day, day, day) == "All data"
