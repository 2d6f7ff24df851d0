"""Overview figures without a browser: trace types, and that they plot the engine's numbers."""

from __future__ import annotations

import json
import math
import re
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from analytics.charts import overview as charts
from analytics.charts.theme import COLORS, FONT_FAMILY
from analytics.filters import Filters
from analytics.overview import load_overview

ALL_DAYS = Filters(date(2025, 1, 1), date(2025, 1, 3))


@pytest.fixture()
def overview(tiny_con):
    return load_overview(tiny_con, ALL_DAYS)


def as_list(values) -> list:
    return [None if isinstance(value, float) and math.isnan(value) else value for value in np.asarray(values).tolist()]


def test_daily_traffic_plots_sessions_and_orders_on_two_axes(overview):
    figure = charts.daily_traffic_figure(overview.daily)

    assert [trace.type for trace in figure.data] == ["scatter", "scatter"]
    sessions, orders = figure.data
    assert (sessions.name, orders.name) == ("Sessions", "Orders")
    assert (sessions.yaxis, orders.yaxis) == ("y", "y2")
    assert list(sessions.x) == [date(2025, 1, 1), date(2025, 1, 2), date(2025, 1, 3)]
    assert as_list(sessions.y) == [1, 2, 2] == list(overview.daily["sessions"])
    assert as_list(orders.y) == [1, 1, 0] == list(overview.daily["orders"])
    assert sessions.line.color == COLORS["sessions"]
    assert orders.line.color == COLORS["orders"]


def test_daily_revenue_bars(overview):
    figure = charts.daily_revenue_figure(overview.daily, currency_symbol="¥")

    (bars,) = figure.data
    assert bars.type == "bar"
    assert as_list(bars.y) == pytest.approx([90.0, 40.0, 0.0])
    assert as_list(bars.y) == pytest.approx(list(overview.daily["revenue"]))
    assert sum(as_list(bars.y)) == pytest.approx(overview.kpi("revenue").value) == pytest.approx(130.0)
    assert "¥" in bars.hovertemplate
    assert figure.layout.yaxis.tickprefix == "¥"


def test_daily_conversion_line_leaves_gaps_on_days_without_sessions(tiny_con):
    daily = load_overview(tiny_con, Filters(date(2024, 12, 31), date(2025, 1, 3))).daily
    figure = charts.daily_conversion_figure(daily)

    (line,) = figure.data
    assert line.type == "scatter"
    assert line.connectgaps is False
    assert as_list(line.y) == [None, 1.0, 0.5, 0.0]
    assert figure.layout.yaxis.tickformat.endswith("%")


def test_top_categories_plot_revenue_and_share(overview):
    figure = charts.top_categories_figure(overview.top_categories)

    (bars,) = figure.data
    assert bars.type == "bar" and bars.orientation == "h"
    assert list(bars.y) == ["Electronics", "Books", "Home"]
    assert as_list(bars.x) == pytest.approx([90.0, 20.0, 20.0])
    assert sum(as_list(bars.x)) == pytest.approx(130.0)
    shares = [row[0] for row in np.asarray(bars.customdata).tolist()]
    assert shares == pytest.approx([90 / 130, 20 / 130, 20 / 130])
    assert "%{customdata[0]:.1%}" in bars.texttemplate
    # Largest on top: the category axis runs downwards.
    assert figure.layout.yaxis.range[0] > figure.layout.yaxis.range[1]


def test_top_products_are_labelled_by_title(overview):
    figure = charts.top_products_figure(overview.top_products)

    (bars,) = figure.data
    assert bars.type == "bar" and bars.orientation == "h"
    assert list(bars.y) == ["Phone X", "陶瓷 马克杯 Mug", "A Novel"]
    assert as_list(bars.x) == pytest.approx(list(overview.top_products["revenue"]))
    details = np.asarray(bars.customdata).tolist()
    assert [row[0] for row in details] == ["Phone X", "陶瓷 马克杯 Mug", "A Novel"]
    assert [row[3] for row in details] == ["Acme", "家居", "Pages"]


def test_long_and_duplicate_titles_stay_readable_and_distinct():
    products = pd.DataFrame(
        {
            "product_id": ["A1", "A2", "A3"],
            "title": ["超长的中文商品标题超长的中文商品标题超长的中文商品标题", "Mug", "Mug"],
            "category": ["Home", "Home", None],
            "brand": [None, "B", "B"],
            "revenue": [30.0, 20.0, 10.0],
            "orders": [1, 1, 1],
            "units": [1, 1, 1],
        }
    )
    figure = charts.top_products_figure(products, label_width=20)

    labels = list(figure.data[0].y)
    assert labels[0].endswith("…") and len(labels[0]) <= 10
    assert labels[1:] == ["Mug (A2)", "Mug (A3)"]
    # The full title stays in the hover text.
    assert np.asarray(figure.data[0].customdata).tolist()[0][0] == products["title"][0]


def test_shorten_counts_cjk_characters_as_two_columns():
    assert charts.shorten("Phone X", 10) == "Phone X"
    assert charts.shorten("陶瓷马克杯", 10) == "陶瓷马克杯"
    assert charts.shorten("陶瓷马克杯套装", 10) == "陶瓷马克…"
    assert charts.shorten("abcdefghijkl", 6) == "abcde…"


@pytest.mark.parametrize(
    "make",
    [
        charts.daily_traffic_figure,
        charts.daily_revenue_figure,
        charts.daily_conversion_figure,
    ],
)
def test_daily_figures_without_days_say_so(make, overview):
    figure = make(overview.daily.iloc[0:0])

    assert len(figure.data) == 0
    assert figure.layout.annotations[0].text == charts.NO_DAYS


@pytest.mark.parametrize("make", [charts.top_categories_figure, charts.top_products_figure])
def test_ranking_figures_without_orders_say_so(make, overview):
    frame = overview.top_categories if make is charts.top_categories_figure else overview.top_products
    figure = make(frame.iloc[0:0])

    assert len(figure.data) == 0
    assert figure.layout.annotations[0].text == charts.NO_ORDERS


def test_every_figure_shares_the_theme_and_serialises(overview):
    figures = [
        charts.daily_traffic_figure(overview.daily),
        charts.daily_revenue_figure(overview.daily),
        charts.daily_conversion_figure(overview.daily),
        charts.top_categories_figure(overview.top_categories),
        charts.top_products_figure(overview.top_products),
    ]
    for figure in figures:
        assert isinstance(figure, go.Figure)
        assert "Noto Sans CJK SC" in figure.layout.template.layout.font.family
        assert figure.layout.template.layout.font.family == FONT_FAMILY
        # Streamlit sizes a chart by the figure's own height, not the template's.
        assert figure.layout.height >= 300
        # Streamlit ships figures as JSON; Chinese titles must survive the trip.
        json.loads(figure.to_json())
    assert "陶瓷 马克杯 Mug" in json.loads(figures[-1].to_json(), strict=False)["data"][0]["y"]


def test_small_counts_get_whole_number_ticks(overview):
    figure = charts.daily_traffic_figure(overview.daily)

    assert figure.layout.yaxis.dtick == 1 and figure.layout.yaxis2.dtick == 1


def test_charts_do_not_import_streamlit():
    import analytics.charts as package

    for source in Path(package.__file__).parent.glob("*.py"):
        text = source.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(import|from)\s+streamlit", text, re.MULTILINE), source.name
