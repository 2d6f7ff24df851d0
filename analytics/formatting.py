"""Numbers and dates as people read them on a dashboard: "12.3k", "¥402k", "3.12%", "1–30 Dec 2024".

Pure functions, shared by the app and the CLI; no Streamlit here.
"""

from __future__ import annotations

from datetime import date

import pandas as pd


def format_count(value: float | None) -> str:
    """1234 -> "1,234"; 12345 -> "12.3k"; 1.5e6 -> "1.5M"; None -> "—"."""
    if value is None or pd.isna(value):
        return "—"
    return f"{value:,.0f}" if abs(value) < 10_000 else _compact(value)


def format_money(value: float | None, symbol: str = "") -> str:
    """65 -> "65.00"; 1234.5 -> "1,235"; 123456 -> "123k", with the currency symbol in front; None -> "—"."""
    if value is None or pd.isna(value):
        return "—"
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    if magnitude < 1_000:
        text = f"{magnitude:,.2f}"
    elif magnitude < 10_000:
        text = f"{magnitude:,.0f}"
    else:
        text = _compact(magnitude)
    return f"{sign}{symbol}{text}"


def format_ratio(value: float | None) -> str:
    """0.4 -> "40.0%"; 0.0312 -> "3.12%"; None -> "—"."""
    if value is None or pd.isna(value):
        return "—"
    return f"{value:.2%}" if abs(value) < 0.1 else f"{value:.1%}"


def format_change(ratio: float | None) -> str:
    """0.123 -> "+12.3%"; -0.04 -> "-4.0%"; 0 -> "0.0%"; None -> "—"."""
    if ratio is None or pd.isna(ratio):
        return "—"
    if ratio == 0:
        return "0.0%"
    return f"{ratio:+.1%}"


def format_value(value: float | None, unit: str, symbol: str = "") -> str:
    """Format by a Kpi unit: "count", "currency" (with `symbol` in front) or "ratio"."""
    if unit == "currency":
        return format_money(value, symbol)
    if unit == "ratio":
        return format_ratio(value)
    return format_count(value)


def format_p_value(p_value: float | None) -> str:
    """A two-sided test's p-value as people report it.

    0.0004 -> "p < 0.001"; 0.0042 -> "p = 0.004"; 0.0312 -> "p = 0.03"; 0.999 -> "p > 0.99";
    None or NaN (no test, e.g. the first funnel step) -> "—". Never "p = 0.000", which reads as
    impossible rather than as very small.
    """
    if p_value is None or pd.isna(p_value):
        return "—"
    if not 0 <= p_value <= 1:
        raise ValueError(f"a p-value is between 0 and 1, not {p_value}")
    if p_value < 0.001:
        return "p < 0.001"
    if p_value < 0.01:
        return f"p = {p_value:.3f}"
    if p_value > 0.99:
        return "p > 0.99"
    return f"p = {p_value:.2f}"


def format_day(day: date) -> str:
    """date(2025, 1, 3) -> "3 Jan 2025"."""
    return f"{day.day} {day:%b %Y}"


def format_period(start: date, end: date) -> str:
    """A compact date range: "1–30 Dec 2024", "28 Nov – 3 Dec 2024", "30 Dec 2024 – 2 Jan 2025"."""
    if start == end:
        return f"{start.day} {start:%b %Y}"
    if start.year != end.year:
        return f"{start.day} {start:%b %Y} – {end.day} {end:%b %Y}"
    if start.month != end.month:
        return f"{start.day} {start:%b} – {end.day} {end:%b %Y}"
    return f"{start.day}–{end.day} {end:%b %Y}"


def humanize(name: str) -> str:
    """"organic_search" -> "Organic search"."""
    text = str(name).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _compact(value: float) -> str:
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    units = ((1e3, "k"), (1e6, "M"), (1e9, "B"))
    for index, (limit, suffix) in enumerate(units):
        scaled = magnitude / limit
        digits = 0 if scaled >= 100 else 1 if scaled >= 10 else 2
        text = f"{scaled:.{digits}f}"
        if float(text) < 1000 or index == len(units) - 1:
            if "." in text:
                text = text.rstrip("0").rstrip(".")
            return f"{sign}{text}{suffix}"
    raise AssertionError("unreachable")
