from datetime import timedelta

import pytest

from analytics.durations import parse_duration
from analytics.errors import ShopLensError


@pytest.mark.parametrize(
    "text,expected",
    [("30m", timedelta(minutes=30)), ("1h", timedelta(hours=1)), ("7d", timedelta(days=7)),
     ("2w", timedelta(days=14)), ("1.5h", timedelta(minutes=90)), (" 45S ", timedelta(seconds=45))],
)
def test_parses_number_and_unit(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "7", "d7", "7 days", "-1d", "1y"])
def test_rejects_anything_else_with_an_example(text):
    with pytest.raises(ShopLensError, match="30m, 1h, 7d"):
        parse_duration(text)


def test_zero_is_refused():
    with pytest.raises(ShopLensError, match="zero"):
        parse_duration("0h")
