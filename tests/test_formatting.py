"""Numbers, money, rates, p-values and dates as the dashboard and the CLI write them (analytics/formatting.py)."""

from __future__ import annotations

import math
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytics.formatting import (
    format_change, format_count, format_day, format_money, format_p_value, format_period, format_ratio, format_value,
    humanize,
)


@pytest.mark.parametrize(("value", "expected"), [
    (0, "0"), (1234, "1,234"), (9_999, "9,999"), (12_345, "12.3k"), (1_500_000, "1.5M"), (-12_345, "-12.3k"),
    (999_999, "1M"), (2.5e9, "2.5B"), (None, "—"), (math.nan, "—"),
])
def test_format_count(value, expected):
    assert format_count(value) == expected


@pytest.mark.parametrize(("value", "symbol", "expected"), [
    (65, "", "65.00"), (1234.5, "", "1,234"), (123_456, "¥", "¥123k"), (-42.5, "$", "-$42.50"), (None, "€", "—"),
])
def test_format_money(value, symbol, expected):
    assert format_money(value, symbol) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (0.4, "40.0%"), (0.0312, "3.12%"), (0.1, "10.0%"), (0.0, "0.00%"), (None, "—"),
])
def test_format_ratio(value, expected):
    assert format_ratio(value) == expected


@pytest.mark.parametrize(("value", "expected"), [(0.123, "+12.3%"), (-0.04, "-4.0%"), (0, "0.0%"), (None, "—")])
def test_format_change(value, expected):
    assert format_change(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (0.0, "p < 0.001"), (1e-12, "p < 0.001"), (0.000999, "p < 0.001"),
    (0.001, "p = 0.001"), (0.0042, "p = 0.004"), (0.0312, "p = 0.03"), (0.05, "p = 0.05"),
    (0.5, "p = 0.50"), (0.995, "p > 0.99"), (1.0, "p > 0.99"), (None, "—"), (math.nan, "—"),
])
def test_format_p_value(value, expected):
    assert format_p_value(value) == expected


@given(st.floats(0, 1))
def test_a_p_value_never_reads_as_zero(value):
    text = format_p_value(value)

    assert text != "p = 0.000" and text != "p = 0.00"
    assert text.startswith(("p < ", "p = ", "p > "))


def test_a_p_value_outside_zero_and_one_is_refused():
    with pytest.raises(ValueError, match="between 0 and 1"):
        format_p_value(1.5)


def test_format_value_by_unit():
    assert format_value(0.25, "ratio") == "25.0%"
    assert format_value(12.5, "currency", "¥") == "¥12.50"
    assert format_value(12_000, "count") == "12k"


def test_dates_and_periods():
    assert format_day(date(2025, 1, 3)) == "3 Jan 2025"
    assert format_period(date(2024, 12, 1), date(2024, 12, 30)) == "1–30 Dec 2024"
    assert format_period(date(2024, 11, 28), date(2024, 12, 3)) == "28 Nov – 3 Dec 2024"
    assert format_period(date(2024, 12, 30), date(2025, 1, 2)) == "30 Dec 2024 – 2 Jan 2025"
    assert format_period(date(2025, 1, 3), date(2025, 1, 3)) == "3 Jan 2025"


def test_humanize():
    assert humanize("organic_search") == "Organic search"
    assert humanize("") == ""
