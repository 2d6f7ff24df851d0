"""Noisy figures as people read them ("22,180 ± 150") and as DP exports (tables for CSV). No Streamlit."""

from __future__ import annotations

import pandas as pd

from analytics.formatting import format_count, format_money, format_ratio
from analytics.privacy.funnel import PrivateFunnel
from analytics.privacy.overview import PrivateOverview

# Spreadsheet apps run a cell that starts with one of these as a formula.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def format_noisy(value: float | None, accuracy: float | None, unit: str, symbol: str = "") -> str:
    """A noisy figure with its 95% accuracy: "22,180 ± 150", "¥136k ± 15k", "5.85% ± 0.89 pp"; "—" when undefined.

    Args:
        value: the noisy figure.
        accuracy: half-width of its 95% interval.
        unit: "count", "currency" or "ratio".
        symbol: currency symbol for "currency".
    """
    if value is None or accuracy is None:
        return "—"
    if unit == "ratio":
        return f"{format_ratio(value)} ± {accuracy * 100:.2f} pp"
    if unit == "currency":
        return f"{format_money(value, symbol)} ± {format_money(accuracy, symbol)}"
    return f"{format_count(value)} ± {format_count(accuracy)}"


def accuracy_sentence(epsilon: float, sensitivity: float | None, unit: str) -> str:
    """The tooltip for a noisy tile: what ± means, and what bought it."""
    if not epsilon:
        return ("Divided from two noisy figures; the ± interval holds with at least 95% probability. "
                "Dividing costs no privacy budget.")
    bound = ""
    if sensitivity is not None:
        bound = (f" Each shopper counts at most {format_money(sensitivity)} of it." if unit == "currency"
                 else f" Each shopper counts at most {sensitivity:g} toward it.")
    return (f"Differentially private: the figure carries random noise, and is within the ± of the exact figure "
            f"95% of the time. ε = {epsilon:.2g}.{bound}")


def overview_export(overview: PrivateOverview) -> pd.DataFrame:
    """The noisy tiles as a table for a DP CSV export.

    Returns:
        One row per tile: figure, value, plus_minus_95 (half-width of the 95% interval), epsilon
        (0 for the two divided figures), contribution_bound (None for those), start_date, end_date.
    """
    return pd.DataFrame({
        "figure": [kpi.name for kpi in overview.kpis],
        "value": [kpi.value for kpi in overview.kpis],
        "plus_minus_95": [kpi.accuracy for kpi in overview.kpis],
        "epsilon": [kpi.epsilon for kpi in overview.kpis],
        "contribution_bound": [kpi.sensitivity for kpi in overview.kpis],
        "start_date": overview.filters.start_date,
        "end_date": overview.filters.end_date,
    })


def funnel_export(funnel: PrivateFunnel) -> pd.DataFrame:
    """The noisy funnel steps as a table for a DP CSV export.

    Returns:
        step_number, step (text, safe for spreadsheets), users, plus_minus_95, conversion_from_start,
        and epsilon (the whole funnel's, on every row).
    """
    steps = funnel.steps
    return pd.DataFrame({
        "step_number": steps["step_number"],
        "step": [safe_cell(label) for label in steps["step"]],
        "users": steps["users"],
        "plus_minus_95": steps["users_accuracy"],
        "conversion_from_start": steps["conversion_from_start"],
        "epsilon": funnel.epsilon,
    })


def safe_cell(text: str) -> str:
    """Text a spreadsheet shows as text: a leading formula character gets a quote in front."""
    text = str(text)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text
