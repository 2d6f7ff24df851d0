"""Terminal formatting of KPI values."""

import pytest

from analytics.output import format_exact


@pytest.mark.parametrize(
    "value,unit,expected",
    [
        (12345, "count", "12,345"),
        (1234.5, "currency", "1,234.50"),
        (0.048, "ratio", "4.8%"),
        (0.0, "ratio", "0.0%"),
        (16 / 60993, "ratio", "0.026%"),
        (None, "ratio", "—"),
        (float("nan"), "count", "—"),
    ],
)
def test_format_exact(value, unit, expected):
    assert format_exact(value, unit) == expected
