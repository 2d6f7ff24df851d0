"""Parses durations written the way people write them: `30m`, `1h`, `7d`, `2w`."""

from __future__ import annotations

import re
from datetime import timedelta

from analytics.errors import ShopLensError

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")


def parse_duration(text: str) -> timedelta:
    """Turn `"30m"`, `"1h"`, `"7d"` or `"2w"` into a timedelta.

    Args:
        text: a positive number followed by one unit: s, m, h, d or w.

    Returns:
        The duration, > 0.

    Raises:
        ShopLensError: the text is not of that form or is zero.
    """
    match = _PATTERN.match(text.lower())
    if match is None:
        raise ShopLensError(f"cannot read the duration {text!r}; write a number and a unit, like 30m, 1h, 7d or 2w")
    amount, unit = float(match.group(1)), match.group(2)
    if amount == 0:
        raise ShopLensError(f"the duration {text!r} is zero; give a positive duration such as 7d")
    return timedelta(**{_UNITS[unit]: amount})
