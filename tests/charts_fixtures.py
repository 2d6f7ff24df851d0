"""Every chart function on tiny typed inputs and on thin or odd ones, for the figure tests and the gallery.

`chart_cases()` lists one `ChartCase` per (chart function, input): the ordinary case, then the ways
real data is thin or odd — empty, one row, one day, one hour, hourly periods, thousands of
categories, identical titles, long Chinese titles, markup in names. tests/test_charts_standard.py
checks the chart standard on every case; tools/figure_gallery.py draws them in Chromium.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics.charts import cart_dropoff, customers, explanations, forecasts, funnels, overview, predictions
from analytics.charts import recommendations

LONG_CHINESE = "超长的中文商品标题：北欧简约陶瓷马克杯套装家用大容量咖啡杯早餐牛奶杯"
MARKUP = "<b>Bold</b> & <a href='https://example.com'>link</a>"


@dataclass(frozen=True)
class ChartCase:
    """One chart function drawn on one input.

    Attributes:
        function: "module.function", e.g. "funnels.trend_figure".
        input: what the input is, e.g. "one-day".
        build: draws the figure.
        empty: the input has nothing to draw (an empty-state figure is expected).
        cumulative: every line of the figure is a cumulative curve (must never fall).
        max_categories: categories a categorical axis may hold (13 = top 12 and "Other"; 24 for hours).
        hover: the gallery hovers it and checks the label's contrast.
    """

    function: str
    input: str
    build: Callable[[], go.Figure]
    empty: bool = False
    cumulative: bool = False
    max_categories: int = 13
    hover: bool = False

    @property
    def id(self) -> str:
        return f"{self.function}[{self.input}]"


# --------------------------------------------------------------------------- overview


def daily(days: int, start: date = date(2025, 1, 1)) -> pd.DataFrame:
    """Overview.daily for `days` days: sessions 100 + 10 d, orders 5 + d, revenue 50 per order."""
    index = np.arange(days)
    sessions = 100 + 10 * index
    orders = 5 + index
    return pd.DataFrame({
        "kpi_date": [start + timedelta(days=int(day)) for day in index],
        "sessions": sessions, "orders": orders, "revenue": 50.0 * orders,
        "converted_sessions": orders, "conversion_rate": orders / sessions,
    })


def top_categories(count: int) -> pd.DataFrame:
    """`count` categories, revenue 1000 / (rank + 1), orders 10 each, units 12 each."""
    revenue = 1000.0 / (np.arange(count) + 1)
    return pd.DataFrame({"category": [f"Category {index:04d}" for index in range(count)], "revenue": revenue,
                         "orders": 10, "units": 12, "revenue_share": revenue / revenue.sum()})


def top_products(titles: list[str]) -> pd.DataFrame:
    count = len(titles)
    return pd.DataFrame({"product_id": [f"P{index:05d}" for index in range(count)], "title": titles,
                         "category": "Home", "brand": "Acme", "revenue": 100.0 * (count - np.arange(count)),
                         "orders": 3, "units": 4})


# --------------------------------------------------------------------------- funnels


def funnel_steps(counts: list[int], labels: list[str] | None = None) -> pd.DataFrame:
    labels = labels or ["view", "cart", "purchase", "pay"][:len(counts)]
    counts_array = np.asarray(counts, dtype=float)
    previous = np.concatenate([[counts_array[0]], counts_array[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        return pd.DataFrame({
            "step_number": np.arange(1, len(counts) + 1), "step": labels, "event_type": labels,
            "users": np.asarray(counts, dtype=np.int64),
            "conversion_from_start": counts_array / counts_array[0] if counts_array[0] else np.nan,
            "conversion_from_previous": np.where(previous > 0, counts_array / previous, np.nan),
            "dropped": (previous - counts_array).astype(np.int64),
            "median_seconds_to_convert": [0.0] + [120.0] * (len(counts) - 1),
            "p90_seconds_to_convert": [0.0] + [300.0] * (len(counts) - 1),
        })


def funnel_breakdown(values: list[str], entered: list[int]) -> pd.DataFrame:
    """Each value's funnel: entered, half of them cart, a quarter buy (rounded down)."""
    frames = []
    for value, count in zip(values, entered):
        steps = funnel_steps([count, count // 2, count // 4]).drop(columns=["median_seconds_to_convert",
                                                                            "p90_seconds_to_convert"])
        frames.append(steps.assign(breakdown_value=value))
    frame = pd.concat(frames, ignore_index=True)
    return frame[["breakdown_value", *[column for column in frame.columns if column != "breakdown_value"]]]


def funnel_trend(starts: list[object], rates: list[float]) -> pd.DataFrame:
    entered = np.full(len(starts), 200)
    converted = (entered * np.asarray(rates)).round().astype(int)
    return pd.DataFrame({"period_start": starts, "entered": entered, "converted": converted,
                         "conversion_rate": converted / entered})


def comparison(p_values: list[float]) -> pd.DataFrame:
    from analytics.funnels.comparison import wilson_interval

    steps = ["view", "cart", "purchase"]
    now, before = [1000, 300, 120], [900, 240, 80]
    rows = []
    for number, (step, reached, reached_before, p_value) in enumerate(zip(steps, now, before, p_values), start=1):
        low, high = wilson_interval(reached, now[0])
        low_before, high_before = wilson_interval(reached_before, before[0])
        rows.append({"step_number": number, "step": step, "users": reached, "users_previous": reached_before,
                     "conversion": reached / now[0], "conversion_previous": reached_before / before[0],
                     "conversion_low": low, "conversion_high": high, "conversion_previous_low": low_before,
                     "conversion_previous_high": high_before,
                     "difference": reached / now[0] - reached_before / before[0], "z": np.nan, "p_value": p_value})
    return pd.DataFrame(rows)


def time_histogram(counts: list[int]) -> pd.DataFrame:
    edges = np.arange(len(counts) + 1) * 60.0
    return pd.DataFrame({"bin_start_seconds": edges[:-1], "bin_end_seconds": edges[1:], "count": counts})


# --------------------------------------------------------------------------- customers


def retention_matrix(cohorts: int, period: str = "week", data_end: date = date(2025, 3, 30)) -> pd.DataFrame:
    """`cohorts` weekly (or daily) cohorts of 40 users: active 40, 20, 10, 5; revenue 400, 100, 50, 0."""
    from analytics.customers.retention import build_matrix, period_start

    step = timedelta(weeks=1) if period == "week" else timedelta(days=1)
    first = period_start(data_end, "day", 0) - step * (cohorts + 2)
    if period == "week":
        first -= timedelta(days=first.weekday())
    rows = []
    for index in range(cohorts):
        cohort = first + step * index
        for number, (active, revenue) in enumerate(zip([40, 20, 10, 5], [400.0, 100.0, 50.0, 0.0])):
            rows.append({"cohort": cohort, "segment": "All", "period_number": number, "cohort_size": 40,
                         "active_users": active, "last_active_users": active // 2, "revenue": revenue})
    return build_matrix(pd.DataFrame(rows), period, data_end)


def one_day_matrix() -> pd.DataFrame:
    """One daily cohort entered on the data's last day: one complete period."""
    from analytics.customers.retention import build_matrix

    rows = pd.DataFrame({"cohort": [date(2025, 1, 31)], "segment": "All", "period_number": [0], "cohort_size": [7],
                         "active_users": [7], "last_active_users": [7], "revenue": [70.0]})
    return build_matrix(rows, "day", date(2025, 1, 31))


def average_of(matrix: pd.DataFrame, period: str) -> pd.DataFrame:
    from analytics.customers.retention import Retention
    from analytics.filters import Filters

    retention = Retention(Filters(date(2025, 1, 1), date(2025, 1, 2)), period, "event", "event", "none",
                          date(2025, 1, 2), matrix)
    return retention.average_curve()


def falling_cohorts_matrix() -> pd.DataFrame:
    """Old cohorts that spend little and young ones that spend a lot: a per-period average over a
    shrinking set of cohorts would fall; the cumulative average must not."""
    from analytics.customers.retention import build_matrix

    rows = []
    data_end = date(2025, 1, 30)
    for offset in range(30):
        cohort = data_end - timedelta(days=29 - offset)
        spend = 1.0 + 9.0 * offset  # the youngest cohorts spend most on their first day
        for number in range(30 - offset):
            rows.append({"cohort": cohort, "segment": "All", "period_number": number, "cohort_size": 10,
                         "active_users": 10 if number == 0 else 1, "last_active_users": 10 if number == 29 - offset
                         else 0, "revenue": spend * 10 if number == 0 else 1.0})
    return build_matrix(pd.DataFrame(rows), "day", data_end)


def rfm_segments(with_revenue: bool = True) -> pd.DataFrame:
    from analytics.customers.rfm import segment_table

    customers_frame = pd.DataFrame({
        "user_id": [f"u{index}" for index in range(8)],
        "segment": ["Champions", "Champions", "Loyal", "At risk", "Lost", "Lost", "Hibernating", "Promising"],
        "revenue": [300.0, 200.0, 150.0, 80.0, 10.0, 5.0, 20.0, 40.0] if with_revenue else [0.0] * 8,
        "recency_days": [1, 3, 10, 60, 200, 190, 120, 5], "orders": [9, 7, 5, 3, 1, 1, 2, 1],
    })
    return segment_table(customers_frame)


def migration_flows() -> pd.DataFrame:
    return pd.DataFrame({
        "source": ["Champions", "Champions", "Loyal", "New customer", "At risk", "Lost", "Hibernating", "Lost"],
        "target": ["Champions", "Loyal", "Champions", "New customers", "Lost", "No purchase", "Lost", "Lost"],
        "customers": [50, 8, 12, 30, 9, 40, 6, 25],
    })


def clv_predictions(count: int) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame({"user_id": [f"U{index:06d}" for index in range(count)],
                         "frequency": rng.integers(0, 20, size=count),
                         "expected_purchases": rng.uniform(0, 3, size=count),
                         "probability_alive": rng.uniform(0, 1, size=count),
                         "clv": rng.gamma(2, 50, size=count)})


# --------------------------------------------------------------------------- cart drop-off


def survival(durations: list[float], bought: list[bool]) -> pd.DataFrame:
    from analytics.cart_dropoff import curve_grid, kaplan_meier, survival_at

    curve = kaplan_meier(np.asarray(durations, dtype=float), np.asarray(bought, dtype=bool))
    return survival_at(curve, curve_grid(72.0))


def cart_breakdown(by: str, values: list[object], carts: list[int], abandoned_share: float = 0.6,
                   decided_share: float = 0.8) -> pd.DataFrame:
    from analytics.cart_dropoff import wilson_interval

    carts_array = np.asarray(carts, dtype=np.int64)
    decided = np.floor(carts_array * decided_share).astype(np.int64)
    abandoned = np.floor(decided * abandoned_share).astype(np.int64)
    table = pd.DataFrame({by: pd.Series(values, dtype=object), "carts": carts_array,
                          "bought_within": decided - abandoned, "abandoned": abandoned,
                          "open": carts_array - decided, "recovered": abandoned // 10})
    table["abandonment_rate"] = table["abandoned"] / pd.Series(decided).where(decided > 0)
    table["recovered_rate"] = table["recovered"] / table["abandoned"].where(table["abandoned"] > 0)
    table["abandonment_lower"], table["abandonment_upper"] = wilson_interval(table["abandoned"], pd.Series(decided))
    return table


# --------------------------------------------------------------------------- predictions


def scores(users: int, devices: list[str]) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    return pd.DataFrame({"user_id": [f"u{index}" for index in range(users)],
                         "purchase_probability_7d": rng.beta(1, 8, size=users),
                         "churn_probability_28d": rng.beta(4, 3, size=users),
                         "main_device": [devices[index % len(devices)] for index in range(users)],
                         "main_channel": "email", "customer_status": "customer"})


def prediction_calibration() -> pd.DataFrame:
    return pd.DataFrame({"bin": [1, 2, 3], "mean_predicted": [0.01, 0.02, 0.04], "observed_rate": [0.012, 0.018, 0.05],
                         "rows": [300, 200, 100]})


# --------------------------------------------------------------------------- explanations


def model_explanation(feature_values: pd.DataFrame | None = None):
    """Three rows, two features; mean |SHAP|: price 0.5, device 0.2 (as tests/test_explain_charts.py)."""
    from analytics.explain.tree_shap import TrainedExplanation

    shap_values = pd.DataFrame({"price": [-0.9, 0.3, 0.3], "device": [0.2, -0.2, 0.2]})
    return TrainedExplanation(
        name="test", title="Test model", task="classification", target="bought", unit="log-odds",
        feature_labels={"price": "Price", "device": "Device"}, categorical_features=("device",),
        calibration=pd.DataFrame({"bin": [1, 2], "mean_predicted": [0.2, 0.7], "observed_rate": [0.0, 1.0],
                                  "rows": [1, 2]}),
        base_value=0.1, shap_values=shap_values,
        feature_values=(feature_values if feature_values is not None
                        else pd.DataFrame({"price": [3.0, 1.0, 2.0], "device": ["mobile", "app", "app"]})),
        segments=pd.DataFrame({"device": ["mobile", "app", "app"]}),
        raw_output=pd.Series([-0.6, 0.2, 0.6]), predicted=pd.Series([0.3, 0.6, 0.7]), actual=pd.Series([0, 1, 1]),
        metrics={"roc_auc": 0.75, "log_loss": 0.6}, available_rows=3,
    )


def wide_explanation(features: int = 30, rows: int = 400):
    """A classifier explanation over `features` numeric features and a 40-valued categorical "device"."""
    from analytics.explain.tree_shap import TrainedExplanation

    rng = np.random.default_rng(3)
    names = [f"feature_{index:02d}" for index in range(features)]
    shap_values = pd.DataFrame(rng.normal(scale=np.linspace(1, 0.01, features), size=(rows, features)), columns=names)
    values = pd.DataFrame(rng.normal(size=(rows, features)), columns=names)
    shap_values["device"] = rng.normal(scale=0.3, size=rows)
    values["device"] = [f"device {index % 40}" for index in range(rows)]
    labels = {name: f"A rather long feature label number {name[-2:]}" for name in names} | {"device": "Device"}
    return TrainedExplanation(
        name="wide", title="Wide model", task="classification", target="churned", unit="log-odds",
        feature_labels=labels, categorical_features=("device",),
        calibration=pd.DataFrame({"bin": [1, 2, 3], "mean_predicted": [0.1, 0.3, 0.6],
                                  "observed_rate": [0.12, 0.28, 0.55], "rows": [100, 200, 100]}),
        base_value=-0.8, shap_values=shap_values, feature_values=values,
        segments=pd.DataFrame({"device": values["device"]}),
        raw_output=pd.Series(-0.8 + shap_values.sum(axis=1).to_numpy()),
        predicted=pd.Series(rng.uniform(size=rows)), actual=pd.Series(rng.integers(0, 2, size=rows)),
        metrics={"roc_auc": 0.7, "log_loss": 0.5}, available_rows=rows,
    )


def dependence_of(explanation, feature: str, colour_by: str | None) -> pd.DataFrame:
    table = pd.DataFrame({
        "row_id": [str(index) for index in range(len(explanation.shap_values))],
        "value": explanation.feature_values[feature].to_numpy(),
        "shap_value": explanation.shap_values[feature].to_numpy(dtype=float),
        "colour_value": explanation.feature_values[colour_by].to_numpy() if colour_by else np.nan,
    })
    table.attrs["feature"] = feature
    table.attrs["colour_by"] = colour_by
    return table


def row_explanation(labels: list[str], values: list[str], shap: list[float], base_value: float = -0.178,
                    unit: str = "log-odds"):
    from analytics.explain.tree_shap import RowExplanation

    contributions = pd.DataFrame({"feature": [f"f{index}" for index in range(len(labels))], "label": labels,
                                  "value": values, "shap_value": shap})
    contributions = contributions.reindex(contributions["shap_value"].abs().sort_values(ascending=False).index)
    raw = base_value + float(np.sum(shap))
    return RowExplanation(row_id="42", unit=unit, base_value=base_value, raw_output=raw,
                          predicted=1 / (1 + np.exp(-raw)), actual=np.nan, contributions=contributions)


def fairness_groups(values: int) -> pd.DataFrame:
    rng = np.random.default_rng(4)
    return pd.DataFrame({"column": "region", "value": [f"Region {index}" for index in range(values)],
                         "rows": rng.integers(20, 500, size=values), "base_rate": rng.uniform(0.1, 0.4, size=values),
                         "mean_predicted": rng.uniform(0.1, 0.4, size=values),
                         "roc_auc": rng.uniform(0.6, 0.8, size=values)})


# --------------------------------------------------------------------------- forecasts


def forecast_history(days: int) -> pd.DataFrame:
    ds = pd.date_range("2025-01-01", periods=days, freq="D")
    return pd.DataFrame({"ds": ds, "y": 20 + 5 * np.sin(np.arange(days) / 7 * 2 * np.pi)})


def forecast_frame(days: int, start: str = "2025-04-11") -> pd.DataFrame:
    ds = pd.date_range(start, periods=days, freq="D")
    yhat = np.full(days, 20.0)
    return pd.DataFrame({"ds": ds, "yhat": yhat, "yhat_lower_80": yhat - 4, "yhat_upper_80": yhat + 4,
                         "yhat_lower_95": yhat - 7, "yhat_upper_95": yhat + 7, "model": "ets"})


def forecast_leaderboard() -> pd.DataFrame:
    return pd.DataFrame({"model": ["seasonal_naive", "ets", "auto_arima", "prophet", "lightgbm"],
                         "mase": [1.0, 0.82, 0.91, 1.34, 0.79], "wape": [0.3, 0.25, 0.27, 0.4, 0.24],
                         "coverage_80": [0.8, 0.78, 0.82, 0.64, 0.81],
                         "is_champion": [False, False, False, False, True]})


def backtest(days: int = 14) -> pd.DataFrame:
    frames = []
    for fold in (0, 1):
        ds = pd.date_range("2025-03-01", periods=days, freq="D") + pd.Timedelta(days=days * fold)
        frames.append(pd.DataFrame({"fold": fold, "ds": ds, "y": 20.0, "yhat": 21.0, "yhat_lower_80": 17.0,
                                    "yhat_upper_80": 25.0}))
    return pd.concat(frames, ignore_index=True)


def components() -> pd.DataFrame:
    ds = pd.date_range("2025-01-01", periods=120, freq="D")
    return pd.DataFrame({"ds": ds, "is_forecast": np.arange(120) >= 92, "trend": np.linspace(15, 22, 120),
                         "weekly": 0.1 * np.sin(np.arange(120) / 7 * 2 * np.pi),
                         "yearly": 0.05 * np.cos(np.arange(120) / 60),
                         "holidays": np.where(np.arange(120) == 40, 0.3, 0)})


def preview(series: list[str], days: int) -> pd.DataFrame:
    ds = pd.date_range("2025-01-01", periods=days, freq="D")
    return pd.concat([pd.DataFrame({"unique_id": name, "label": name, "ds": ds, "y": 10.0 + index})
                      for index, name in enumerate(series)], ignore_index=True)


# --------------------------------------------------------------------------- recommendations


def related(titles: list[str], measure_values: list[float]) -> pd.DataFrame:
    count = len(titles)
    return pd.DataFrame({"product_id": [f"P{index:05d}" for index in range(count)], "title": titles,
                         "together": np.arange(count, 0, -1) * 3, "support": np.linspace(0.01, 0.001, count),
                         "confidence": np.linspace(0.4, 0.05, count), "lift": measure_values,
                         "similarity": np.clip(np.asarray(measure_values) / max(measure_values, default=1.0), 0, 1),
                         "category": "Home", "brand": "Acme"})


def recommender_leaderboard() -> pd.DataFrame:
    return pd.DataFrame({"model": ["popularity", "cooccurrence", "als", "ease", "content", "hybrid"],
                         "ndcg@10": [0.05, 0.09, 0.08, 0.11, 0.04, 0.13], "users": 500})


def shap_contributions(count: int) -> pd.Series:
    rng = np.random.default_rng(5)
    return pd.Series(rng.normal(scale=0.2, size=count),
                     index=[f"Signal {index}: bought together with a product in the cart" for index in range(count)])


# --------------------------------------------------------------------------- the list


def chart_cases() -> list[ChartCase]:  # noqa: PLR0915 - one flat list reads best
    """Every chart function on its ordinary input and on thin and odd inputs."""
    cases: list[ChartCase] = []

    def add(function: str, input_name: str, build: Callable[[], go.Figure], **options) -> None:
        cases.append(ChartCase(function, input_name, build, **options))

    # Overview
    for name, days in (("month", 30), ("one-day", 1)):
        add("overview.daily_traffic_figure", name, lambda d=days: overview.daily_traffic_figure(daily(d)), hover=True)
        add("overview.daily_revenue_figure", name, lambda d=days: overview.daily_revenue_figure(daily(d), "¥"))
        add("overview.daily_conversion_figure", name, lambda d=days: overview.daily_conversion_figure(daily(d)))
    add("overview.daily_traffic_figure", "empty", lambda: overview.daily_traffic_figure(daily(0)), empty=True)
    add("overview.top_categories_figure", "five", lambda: overview.top_categories_figure(top_categories(5), "$"))
    add("overview.top_categories_figure", "thousands", lambda: overview.top_categories_figure(top_categories(3000)))
    add("overview.top_categories_figure", "one", lambda: overview.top_categories_figure(top_categories(1)))
    add("overview.top_categories_figure", "empty", lambda: overview.top_categories_figure(top_categories(0)),
        empty=True)
    add("overview.top_products_figure", "identical-titles",
        lambda: overview.top_products_figure(top_products(["Mug", "Mug", "Mug", "Plate"])))
    add("overview.top_products_figure", "long-chinese",
        lambda: overview.top_products_figure(top_products([LONG_CHINESE, LONG_CHINESE + "二", "Mug"]), "¥"))
    add("overview.top_products_figure", "markup", lambda: overview.top_products_figure(top_products([MARKUP, "Mug"])))
    add("overview.top_products_figure", "hundreds",
        lambda: overview.top_products_figure(top_products([f"Product {index}" for index in range(300)])))

    # Funnels
    add("funnels.funnel_figure", "three-steps", lambda: funnels.funnel_figure(funnel_steps([9309, 2170, 1074])),
        hover=True)
    add("funnels.funnel_figure", "repeated-steps",
        lambda: funnels.funnel_figure(funnel_steps([50, 20, 19], ["view", "view", "purchase"])))
    add("funnels.funnel_figure", "tiny-last-step",
        lambda: funnels.funnel_figure(funnel_steps([100000, 900, 3, 1])))
    add("funnels.funnel_figure", "nobody", lambda: funnels.funnel_figure(funnel_steps([0, 0, 0])), empty=True)
    add("funnels.breakdown_figure", "devices",
        lambda: funnels.breakdown_figure(funnel_breakdown(["desktop", "mobile", "app"], [400, 900, 120])), hover=True)
    add("funnels.breakdown_figure", "thousands",
        lambda: funnels.breakdown_figure(funnel_breakdown([f"Category {index}" for index in range(2000)],
                                                          list(range(2000, 0, -1)))))
    add("funnels.breakdown_figure", "one-value",
        lambda: funnels.breakdown_figure(funnel_breakdown([LONG_CHINESE], [10])))
    add("funnels.breakdown_figure", "empty", lambda: funnels.breakdown_figure(None), empty=True)
    days = [date(2025, 1, 1) + timedelta(days=day) for day in range(14)]
    add("funnels.trend_figure", "days",
        lambda: funnels.trend_figure(funnel_trend(days, [0.1 + 0.01 * day for day in range(14)])), hover=True)
    add("funnels.trend_figure", "one-day", lambda: funnels.trend_figure(funnel_trend([date(2025, 1, 1)], [0.004])))
    hours = [datetime(2025, 1, 1, hour) for hour in range(24)]
    add("funnels.trend_figure", "hours",
        lambda: funnels.trend_figure(funnel_trend(hours, [0.02 + 0.001 * hour for hour in range(24)])))
    add("funnels.trend_figure", "one-hour",
        lambda: funnels.trend_figure(funnel_trend([datetime(2025, 1, 1, 14)], [0.0]), period="hour"))
    add("funnels.trend_figure", "empty", lambda: funnels.trend_figure(funnel_trend([], [])), empty=True)
    add("funnels.time_to_convert_figure", "minutes",
        lambda: funnels.time_to_convert_figure(time_histogram([5, 9, 4, 2, 1]), 90.0, 100.0))
    add("funnels.time_to_convert_figure", "nobody",
        lambda: funnels.time_to_convert_figure(time_histogram([0, 0]), None, None), empty=True)
    add("funnels.comparison_figure", "significant",
        lambda: funnels.comparison_figure(comparison([np.nan, 1e-9, 0.0312])), hover=True)

    # Customers
    weekly = retention_matrix(8)
    add("customers.retention_heatmap", "eight-weeks", lambda: customers.retention_heatmap(weekly, "week"), hover=True)
    add("customers.retention_heatmap", "one-day", lambda: customers.retention_heatmap(one_day_matrix(), "day"))
    add("customers.retention_heatmap", "a-year-of-days",
        lambda: customers.retention_heatmap(retention_matrix(365, "day"), "day"))
    add("customers.retention_curves_figure", "eight-weeks",
        lambda: customers.retention_curves_figure(weekly, average_of(weekly, "week"), "week"))
    add("customers.retention_curves_figure", "one-day",
        lambda: customers.retention_curves_figure(one_day_matrix(), average_of(one_day_matrix(), "day"), "day"))
    add("customers.retention_curves_figure", "thirty-cohorts",
        lambda: customers.retention_curves_figure(retention_matrix(30), average_of(retention_matrix(30), "week"),
                                                  "week"))
    add("customers.ltv_curves_figure", "eight-weeks",
        lambda: customers.ltv_curves_figure(weekly, average_of(weekly, "week"), "week", currency_symbol="¥"),
        cumulative=True)
    add("customers.ltv_curves_figure", "one-day",
        lambda: customers.ltv_curves_figure(one_day_matrix(), average_of(one_day_matrix(), "day"), "day"),
        cumulative=True)
    add("customers.ltv_curves_figure", "falling-cohort-mix",
        lambda: customers.ltv_curves_figure(falling_cohorts_matrix(), average_of(falling_cohorts_matrix(), "day"),
                                            "day"), cumulative=True)
    add("customers.ltv_curves_figure", "empty",
        lambda: customers.ltv_curves_figure(pd.DataFrame(), pd.DataFrame(), "week"), empty=True)
    add("customers.segment_share_figure", "segments", lambda: customers.segment_share_figure(rfm_segments(), "¥"),
        hover=True)
    add("customers.segment_share_figure", "no-revenue", lambda: customers.segment_share_figure(rfm_segments(False)))
    add("customers.migration_sankey", "flows", lambda: customers.migration_sankey(migration_flows()), hover=True)
    add("customers.migration_sankey", "one-flow",
        lambda: customers.migration_sankey(migration_flows().head(1)))
    add("customers.migration_sankey", "empty", lambda: customers.migration_sankey(pd.DataFrame()), empty=True)
    add("customers.holdout_figure", "holdout", lambda: customers.holdout_figure(pd.DataFrame({
        "frequency": ["0", "1", "2", "7+"], "customers": [50, 20, 9, 3], "actual": [0.2, 0.6, 1.1, 4.0],
        "predicted": [0.25, 0.55, 1.0, 3.6]}), "week"))
    add("customers.holdout_figure", "one-row", lambda: customers.holdout_figure(pd.DataFrame({
        "frequency": ["0"], "customers": [5], "actual": [0.2], "predicted": [0.3]}), "week"))
    add("customers.clv_alive_figure", "customers",
        lambda: customers.clv_alive_figure(clv_predictions(500), currency_symbol="€"))
    add("customers.clv_alive_figure", "one-customer", lambda: customers.clv_alive_figure(clv_predictions(1)))

    # Cart drop-off
    add("cart_dropoff.survival_figure", "carts",
        lambda: cart_dropoff.survival_figure(survival([0.1, 0.5, 0.5, 3.0, 11.0, 48.0, 70.0],
                                                      [True, True, True, True, False, True, False]), 24.0), hover=True)
    add("cart_dropoff.survival_figure", "all-open",
        lambda: cart_dropoff.survival_figure(survival([1.0, 2.0], [False, False]), 1.0))
    add("cart_dropoff.breakdown_figure", "devices",
        lambda: cart_dropoff.breakdown_figure(cart_breakdown("device", ["mobile", "desktop", "app"], [500, 300, 30]),
                                              "device"), hover=True)
    add("cart_dropoff.breakdown_figure", "thousands-of-categories",
        lambda: cart_dropoff.breakdown_figure(cart_breakdown("category", [f"Category {index}" for index in range(3000)],
                                                             list(range(3000, 0, -1))), "category"))
    add("cart_dropoff.breakdown_figure", "hours",
        lambda: cart_dropoff.breakdown_figure(
            cart_breakdown("hour", list(range(24)), [40 + hour for hour in range(24)]), "hour"), max_categories=24)
    add("cart_dropoff.breakdown_figure", "low-rates",
        lambda: cart_dropoff.breakdown_figure(cart_breakdown("device", ["mobile", "desktop"], [500, 300],
                                                             abandoned_share=0.02), "device"))
    add("cart_dropoff.breakdown_figure", "none-decided",
        lambda: cart_dropoff.breakdown_figure(cart_breakdown("device", ["mobile", "desktop"], [5000, 1000],
                                                             decided_share=0.0), "device"), empty=True)

    # Predictions
    from analytics.features.predictive import probability_by_segment, probability_distribution

    add("predictions.distribution_figure", "users",
        lambda: predictions.distribution_figure(probability_distribution(scores(300, ["mobile"]),
                                                                         "purchase_probability_7d"),
                                                "purchase_probability_7d"), hover=True)
    add("predictions.distribution_figure", "nobody",
        lambda: predictions.distribution_figure(probability_distribution(scores(0, ["mobile"]),
                                                                         "churn_probability_28d"),
                                                "churn_probability_28d"), empty=True)
    add("predictions.calibration_figure", "low-rates",
        lambda: predictions.calibration_figure(prediction_calibration(), "purchase_probability_7d"))
    add("predictions.segment_figure", "devices",
        lambda: predictions.segment_figure(probability_by_segment(scores(300, ["mobile", "desktop", "app"]),
                                                                  "main_device"), "main_device"))
    add("predictions.segment_figure", "hundreds",
        lambda: predictions.segment_figure(probability_by_segment(
            scores(3000, [f"device {index}" for index in range(300)]), "main_device"), "main_device"))

    # Explanations
    from analytics.explain.explanation import explain_segment

    add("explanations.shap_bar_figure", "two-features", lambda: explanations.shap_bar_figure(model_explanation()))
    add("explanations.shap_bar_figure", "thirty-features", lambda: explanations.shap_bar_figure(wide_explanation()))
    add("explanations.shap_beeswarm_figure", "thirty-features",
        lambda: explanations.shap_beeswarm_figure(wide_explanation()))
    add("explanations.calibration_figure", "bins", lambda: explanations.calibration_figure(model_explanation()))
    add("explanations.segment_figure", "device",
        lambda: explanations.segment_figure(explain_segment(model_explanation(), "device", "app")))
    wide = wide_explanation()
    add("explanations.dependence_figure", "numeric-colour",
        lambda: explanations.dependence_figure(wide, dependence_of(wide, "feature_00", "feature_01")))
    add("explanations.dependence_figure", "categorical-colour",
        lambda: explanations.dependence_figure(wide, dependence_of(wide, "feature_00", "device")), hover=True)
    add("explanations.dependence_figure", "categorical-feature",
        lambda: explanations.dependence_figure(wide, dependence_of(wide, "device", "feature_00")))
    add("explanations.dependence_figure", "no-colour",
        lambda: explanations.dependence_figure(wide, dependence_of(wide, "feature_00", None)))
    churn_labels = ["Days since last order", "Orders in the last 90 days", "Revenue in the last 90 days",
                    "Sessions in the last 28 days", "Main device", "Acquisition channel", "Days since first order",
                    "Average order value", "Share of sessions on mobile", "Carts abandoned in 28 days",
                    "Distinct categories bought", "Email opens"]
    add("explanations.waterfall_figure", "churn-row",
        lambda: explanations.waterfall_figure(row_explanation(
            churn_labels, ["12.000001", "3", "245.5", "0", "mobile", "organic_search", "400", "81.83333333",
                           "0.25", "1", "4", "0"],
            [0.9, -0.6, -0.4, 0.35, 0.1, -0.08, 0.05, -0.03, 0.02, 0.01, -0.01, 0.004])), hover=True)
    add("explanations.waterfall_figure", "negative-base",
        lambda: explanations.waterfall_figure(row_explanation(["Price"], ["3"], [-0.05], base_value=-0.178)))
    add("explanations.waterfall_figure", "long-values",
        lambda: explanations.waterfall_figure(row_explanation(
            ["Favourite category", "Title"], [LONG_CHINESE, MARKUP], [0.4, -0.2], base_value=1.2)))
    add("explanations.fairness_figure", "regions", lambda: explanations.fairness_figure(fairness_groups(4), "region"))
    add("explanations.fairness_figure", "hundreds-of-regions",
        lambda: explanations.fairness_figure(fairness_groups(300), "region"))

    # Forecasts
    add("forecasts.forecast_figure", "100-days",
        lambda: forecasts.forecast_figure(forecast_history(100), forecast_frame(28)), hover=True)
    add("forecasts.forecast_figure", "one-day",
        lambda: forecasts.forecast_figure(forecast_history(1), forecast_frame(1, "2025-01-02"), measure="revenue",
                                          currency_symbol="¥"))
    add("forecasts.forecast_figure", "empty",
        lambda: forecasts.forecast_figure(forecast_history(0), forecast_frame(0)), empty=True)
    add("forecasts.leaderboard_figure", "models", lambda: forecasts.leaderboard_figure(forecast_leaderboard()))
    add("forecasts.backtest_figure", "two-folds", lambda: forecasts.backtest_figure(backtest(), forecast_history(80),
                                                                                    "ets"))
    add("forecasts.components_figure", "prophet", lambda: forecasts.components_figure(components()))
    add("forecasts.stock_figure", "stock", lambda: forecasts.stock_figure(forecast_frame(28), 7, 150.0, 90.0))
    add("forecasts.stock_figure", "one-day", lambda: forecasts.stock_figure(forecast_frame(1), 1, 20.0))
    add("forecasts.history_preview_figure", "five-series",
        lambda: forecasts.history_preview_figure(preview(["Home", "Books", "Toys", "Food", "Garden"], 90)))
    add("forecasts.history_preview_figure", "one-day", lambda: forecasts.history_preview_figure(preview(["Home"], 1)))
    add("forecasts.history_preview_figure", "forty-series",
        lambda: forecasts.history_preview_figure(preview([f"Series {index}" for index in range(40)], 30)))

    # Recommendations
    add("recommendations.leaderboard_figure", "models",
        lambda: recommendations.leaderboard_figure(recommender_leaderboard()))
    add("recommendations.shap_waterfall_figure", "item",
        lambda: recommendations.shap_waterfall_figure(shap_contributions(12), 0.35), hover=True)
    add("recommendations.shap_waterfall_figure", "one-signal",
        lambda: recommendations.shap_waterfall_figure(shap_contributions(1), -0.2))
    add("recommendations.related_figure", "identical-titles",
        lambda: recommendations.related_figure(related(["Mug", "Mug", "Plate", "Mug"], [1.2, 3.4, 2.0, 0.5]),
                                               "similarity"))
    add("recommendations.related_figure", "long-chinese",
        lambda: recommendations.related_figure(related([LONG_CHINESE, LONG_CHINESE, "Mug"], [2.0, 1.5, 1.1]),
                                               "lift"))
    add("recommendations.related_figure", "viewed-together",
        lambda: recommendations.related_figure(related([f"Item {index}" for index in range(40)],
                                                       list(np.linspace(5, 1, 40))), "together",
                                               together_label="Sessions together"))
    add("recommendations.related_figure", "confidence",
        lambda: recommendations.related_figure(related(["A", "B", MARKUP], [1.0, 2.0, 3.0]), "confidence"))
    add("recommendations.related_figure", "never-together",
        lambda: recommendations.related_figure(related([], []), "lift"), empty=True)
    return cases
