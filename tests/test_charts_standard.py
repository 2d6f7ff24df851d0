"""The chart standard (analytics/charts/standard.py, docs/charts.md), checked on every chart function.

Each chart function is drawn on its ordinary input and on thin and odd ones (tests/charts_fixtures.py)
and the figure object is inspected for what a person would otherwise see in the browser: invisible
white marks, clipped labels, unreadable hover labels, a thousand bars, a lone point drawn as nothing,
a cumulative curve that falls. The standard's own functions are pinned by hand-computed values and
by properties against independent references.
"""

from __future__ import annotations

import inspect
import json
import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.charts import (
    cart_dropoff, customers, explanations, forecasts, funnels, overview, predictions, recommendations, standard,
)
from tests.charts_fixtures import MARKUP, chart_cases

CASES = chart_cases()
CHART_MODULES = (overview, funnels, customers, cart_dropoff, predictions, explanations, forecasts, recommendations)
# Colours a trace may hold as mark colours: everything but fills of bands and areas.
MARK_TRACES = ("bar", "scatter", "scattergl", "waterfall", "funnel", "heatmap")


def figure_of(case) -> go.Figure:
    figure = case.build()
    assert isinstance(figure, go.Figure), case.id
    return figure


# --------------------------------------------------------------------------- coverage of the cases


def test_every_public_chart_function_has_a_case():
    covered = {case.function for case in CASES}
    functions = set()
    for module in CHART_MODULES:
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ == module.__name__ and name.endswith(("_figure", "_heatmap", "_sankey")):
                functions.add(f"{module.__name__.rsplit('.', 1)[-1]}.{name}")
    assert functions - covered == set()


def test_every_function_is_also_tried_on_a_thin_or_empty_input():
    inputs: dict[str, set[str]] = {}
    for case in CASES:
        inputs.setdefault(case.function, set()).add(case.input)
    ordinary_only = [function for function, names in inputs.items() if len(names) < 2]
    # These draw fixed model summaries (a leaderboard of a handful of models, a calibration table,
    # Prophet's components): there is no thin version of them beyond the empty one they share.
    assert set(ordinary_only) <= {"forecasts.leaderboard_figure", "forecasts.backtest_figure",
                                  "forecasts.components_figure", "explanations.calibration_figure",
                                  "recommendations.leaderboard_figure", "predictions.calibration_figure",
                                  "explanations.beeswarm_figure", "explanations.shap_beeswarm_figure",
                                  "explanations.segment_figure", "funnels.comparison_figure"}


# --------------------------------------------------------------------------- the standard on every figure


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_figure_serialises_with_its_height(case):
    figure = figure_of(case)

    json.loads(figure.to_json())
    # Streamlit sizes a chart by the figure's own height, not the template's.
    assert figure.layout.height and figure.layout.height >= 220


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_no_white_or_near_white_marks(case):
    figure = figure_of(case)

    for colour, where in mark_colours(figure):
        assert not standard.is_near_white(colour), f"{case.id}: {where} is {colour}, invisible on white"


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_every_axis_with_ticks_or_a_title_has_automargin(case):
    figure = figure_of(case)

    for name in axis_names(figure):
        axis = figure.layout[name]
        if axis.visible is False or axis.showticklabels is False and not (axis.title and axis.title.text):
            continue
        assert axis.automargin is True, f"{case.id}: {name} has no automargin; its labels can be clipped"


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_hover_labels_are_dark_text_on_light(case):
    figure = figure_of(case)
    label = figure.layout.hoverlabel

    assert label.bgcolor and label.font.color, f"{case.id}: hover label colours not set explicitly"
    assert standard.contrast_ratio(label.font.color, label.bgcolor) >= 4.5
    for trace in figure.data:
        for hoverlabel in trace_hoverlabels(trace):
            if hoverlabel.bgcolor is not None or hoverlabel.font.color is not None:
                assert standard.contrast_ratio(hoverlabel.font.color or label.font.color,
                                               hoverlabel.bgcolor or label.bgcolor) >= 4.5, case.id


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_no_more_than_the_top_categories_are_drawn(case):
    figure = figure_of(case)

    for trace in figure.data:
        if trace.type in ("bar", "waterfall"):
            axis_values = trace.y if trace.orientation == "h" else trace.x
            if axis_values is not None and not is_numeric_or_dates(axis_values):
                assert len(set(axis_values)) <= case.max_categories, f"{case.id}: {len(set(axis_values))} bars"
        if trace.type == "sankey":
            labels = list(trace.node.label)
            assert len(labels) <= 2 * 13, case.id
    legend_entries = [trace for trace in figure.data if trace.type != "sankey" and trace.showlegend is not False
                      and trace.name]
    if figure.layout.showlegend is not False:
        assert len(legend_entries) <= max(case.max_categories, 13), f"{case.id}: {len(legend_entries)} legend entries"


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_a_lone_point_is_drawn_as_a_marker(case):
    figure = figure_of(case)

    for trace in figure.data:
        if trace.type in ("scatter", "scattergl") and trace.y is not None and trace.mode != "text":
            values = np.asarray(trace.y, dtype=float)
            if np.isfinite(values).sum() == 1 and trace.fill in (None, "none"):
                assert "markers" in (trace.mode or ""), f"{case.id}: one point drawn as a line is invisible"


@pytest.mark.parametrize("case", [case for case in CASES if case.cumulative], ids=lambda case: case.id)
def test_cumulative_curves_never_fall(case):
    figure = figure_of(case)

    assert figure.data
    for trace in figure.data:
        values = np.asarray(trace.y, dtype=float)
        values = values[np.isfinite(values)]
        assert np.all(np.diff(values) >= -1e-9), f"{case.id}: {trace.name} falls: {values}"


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_no_fixed_margin_cuts_text(case):
    figure = figure_of(case)
    margin = figure.layout.margin

    assert margin.autoexpand is not False
    # Only the top margin is ever set (for text above the plot); the others grow with automargin.
    assert margin.l is None and margin.r is None and margin.b is None, f"{case.id}: fixed margin {margin}"
    above = [annotation for annotation in figure.layout.annotations or ()
             if annotation.yref == "paper" and annotation.y is not None and annotation.y >= 0.999
             and (annotation.yanchor or "auto") != "top"]
    if above:
        assert margin.t is not None and margin.t >= standard.TOP_ROOM, f"{case.id}: text above a {margin.t} px top"


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_outside_bar_text_has_room(case):
    figure = figure_of(case)

    for trace in figure.data:
        if trace.type not in ("bar", "waterfall") or trace.textposition not in ("outside", "auto"):
            continue
        assert trace.cliponaxis is False, f"{case.id}: outside text clipped at the plot edge"
        axis = figure.layout.xaxis if trace.orientation == "h" else figure.layout.yaxis
        assert axis.range is not None, f"{case.id}: outside text needs a range with room for it"
        if trace.type == "bar" and trace.base is None:
            values = np.asarray(trace.x if trace.orientation == "h" else trace.y, dtype=float)
            values = values[np.isfinite(values)]
            # "auto" puts a long bar's text inside it, and only short bars' text past their end.
            room = 1.1 if trace.textposition == "outside" else 1.0
            if values.size and values.max() > 0:
                assert axis.range[1] >= values.max() * room, f"{case.id}: no room past the longest bar"


@pytest.mark.parametrize("case", [case for case in CASES if case.empty], ids=lambda case: case.id)
def test_empty_inputs_give_a_sentence_not_empty_axes(case):
    figure = figure_of(case)

    assert len(figure.data) == 0
    (annotation,) = figure.layout.annotations
    assert len(annotation.text) > 10 and (annotation.x, annotation.y) == (0.5, 0.5)
    assert figure.layout.xaxis.visible is False and figure.layout.yaxis.visible is False


@pytest.mark.parametrize("case", [case for case in CASES if not case.empty], ids=lambda case: case.id)
def test_non_empty_inputs_draw_something(case):
    figure = figure_of(case)

    assert figure.data, f"{case.id}: nothing drawn"


def test_percent_ticks_never_read_zero_percent_three_times():
    for case in CASES:
        figure = figure_of(case)
        for name in axis_names(figure):
            axis = figure.layout[name]
            if axis.tickformat == ".0%" and axis.range is not None:
                # A whole-percent format on an axis spanning less than 3 points would repeat "0%".
                assert abs(axis.range[1] - axis.range[0]) >= 0.03, f"{case.id}: {name} {axis.range}"


def test_user_text_is_shown_as_typed_never_as_markup():
    figure = overview.top_products_figure(pd.DataFrame({
        "product_id": ["P1"], "title": [MARKUP], "category": ["Home"], "brand": ["B"], "revenue": [1.0],
        "orders": [1], "units": [1]}))

    (label,) = figure.data[0].y
    assert "<a" not in label and "<b>" not in label and "&lt;a href" in label
    related = recommendations.related_figure(pd.DataFrame({"product_id": ["<i>P</i>"], "title": [MARKUP],
                                                           "lift": [2.0]}))
    assert "<a" not in related.data[0].y[0]
    assert all("<i>" not in str(value) for row in related.data[0].customdata for value in row)


# --------------------------------------------------------------------------- specific faults fixed


def test_sankey_links_are_coloured_like_their_source_and_visible():
    figure = customers.migration_sankey(pd.DataFrame({"source": ["Champions", "No purchase", "Lost"],
                                                      "target": ["Loyal", "Lost", "Lost"], "customers": [5, 3, 2]}))
    links = list(figure.data[0].link.color)

    assert len(links) == 3
    assert all(contrast >= 1.4 for contrast in (standard.contrast_ratio(colour, "#FFFFFF") for colour in links))
    # The Champions link carries the Champions colour (green), translucent.
    red, green, blue = (int(part) for part in links[0][5:].split(",")[:3])
    assert green > red and green > blue


def test_comparison_hover_says_p_below_a_thousandth():
    from tests.charts_fixtures import comparison

    figure = funnels.comparison_figure(comparison([np.nan, 1e-9, 0.0312]))
    texts = [row[0] for row in figure.data[1].customdata]

    assert texts == ["first step: no test", "p < 0.001", "p = 0.03"]
    assert "%{customdata[0]}" in figure.data[1].hovertemplate


def test_funnel_prints_step_to_step_conversion_and_drop_off():
    from tests.charts_fixtures import funnel_steps

    figure = funnels.funnel_figure(funnel_steps([1000, 250, 50]))
    reached, dropped = figure.data
    ticks = list(figure.layout.yaxis.ticktext)

    assert list(reached.x) == [1000, 250, 50]
    # Dropped before cart: 1000 - 250 = 750, drawn from 250 on; before purchase 250 - 50 = 200.
    assert list(dropped.x) == [0, 750, 200] and list(dropped.base) == [1000, 250, 50]
    # 250 / 1000 = 25.0% of view; 50 / 250 = 20.0% of cart.
    assert "25.0% of view · 750 dropped" in ticks[1]
    assert "20.0% of cart · 200 dropped" in ticks[2]
    assert list(reached.text) == ["1,000 · 100.0%", "250 · 25.0%", "50 · 5.00%"]
    assert list(reached.textposition) == ["inside", "outside", "outside"]


def test_breakdown_labels_carry_counts_and_fold_to_other():
    from tests.charts_fixtures import funnel_breakdown

    table = funnel_breakdown([f"v{index:02d}" for index in range(15)], [100 + index for index in range(15)])
    folded = funnels.breakdown_table(table)
    figure = funnels.breakdown_figure(table)

    # Entrants 100..114: the 12 largest are v14..v03; v00, v01, v02 (100 + 101 + 102 = 303) are "Other".
    other = folded[folded["breakdown_value"] == "Other"].set_index("step_number")
    assert other.loc[1, "users"] == 303
    # Carts: 100 // 2 + 101 // 2 + 102 // 2 = 50 + 50 + 51 = 151, so 151 / 303 from the start.
    assert other.loc[2, "users"] == 151
    assert other.loc[2, "conversion_from_start"] == pytest.approx(151 / 303)
    assert other.loc[2, "dropped"] == 303 - 151
    assert list(dict.fromkeys(folded["breakdown_value"]))[:2] == ["v14", "v13"]
    assert len(figure.data) == 13
    assert figure.data[-1].name == "Other"
    assert figure.data[-1].text[0] == "Other · 49.8% · 151 of 303"


def test_trend_of_one_day_has_a_day_wide_axis_and_readable_ticks():
    from datetime import date

    from tests.charts_fixtures import funnel_trend

    figure = funnels.trend_figure(funnel_trend([date(2025, 1, 1)], [0.004]))
    axis = figure.layout.xaxis

    assert figure.data[0].mode == "lines+markers"
    assert list(axis.ticktext) == ["1 Jan 2025"]
    start, end = (pd.Timestamp(value) for value in axis.range)
    assert end - start == pd.Timedelta(days=1)
    # 0.4% needs decimals: ".2~%" ticks read 0.1%, 0.2%, … rather than 0%, 0%, 0%.
    assert figure.layout.yaxis.tickformat == ".2~%"


def test_hourly_trend_reads_hours():
    from datetime import datetime

    from tests.charts_fixtures import funnel_trend

    figure = funnels.trend_figure(funnel_trend([datetime(2025, 1, 1, hour) for hour in range(24)], [0.05] * 24))

    assert figure.layout.xaxis.tickformat.startswith("%H:%M")
    assert figure.layout.xaxis.dtick == 3 * 60 * 60 * 1000


def test_similar_products_with_one_title_are_separate_bars_sorted_by_value():
    from tests.charts_fixtures import related

    frame = related(["Mug", "Mug", "Plate", "Mug"], [1.2, 3.4, 2.0, 0.5])
    figure = recommendations.related_figure(frame, "similarity")
    bars = figure.data[0]

    # similarity = lift / 3.4: P00001 1.0, P00002 0.588, P00000 0.353, P00003 0.147; each its own bar.
    assert list(bars.y) == ["Mug (P00001)", "Plate", "Mug (P00000)", "Mug (P00003)"]
    assert list(bars.x) == pytest.approx([1.0, 2.0 / 3.4, 1.2 / 3.4, 0.5 / 3.4])
    assert max(bars.x) <= 1.0
    viewed = recommendations.related_figure(frame, "together", together_label="Sessions together")
    assert viewed.layout.xaxis.title.text == "Sessions together"
    assert recommendations.related_figure(frame, "lift").layout.xaxis.title.text.startswith("Lift")


def test_dependence_coloured_by_a_category_has_a_colour_and_legend_entry_per_value():
    from tests.charts_fixtures import dependence_of, model_explanation

    explanation = model_explanation()
    figure = explanations.dependence_figure(explanation, dependence_of(explanation, "price", "device"))

    assert [trace.name for trace in figure.data] == ["app", "mobile"]
    assert figure.data[0].marker.color != figure.data[1].marker.color
    assert all(trace.showlegend is not False for trace in figure.data)
    assert sorted(value for trace in figure.data for value in trace.x) == [1.0, 2.0, 3.0]


def test_waterfall_values_never_run_into_the_row_labels():
    from tests.charts_fixtures import row_explanation

    figure = explanations.waterfall_figure(row_explanation(["Price"], ["3"], [-0.05], base_value=-0.178))
    low, high = figure.layout.xaxis.range

    # The bars reach from 0 down to -0.228; the range leaves room left of them for "-0.178".
    assert low < -0.228 - 0.04 and high >= 0
    assert figure.data[0].text[0] == "-0.178"


def test_prophet_subplot_titles_get_room_above_the_plot():
    from tests.charts_fixtures import components

    figure = forecasts.components_figure(components())

    assert figure.layout.annotations[0].text.startswith("Trend")
    assert figure.layout.margin.t >= standard.TOP_ROOM


# --------------------------------------------------------------------------- the standard's functions


def test_fold_top_n_by_hand():
    frame = pd.DataFrame({"label": ["a", "b", "c", "d", "e"], "carts": [50, 30, 10, 6, 4],
                          "abandoned": [25, 3, 5, 3, 1], "note": ["x"] * 5})

    folded = standard.fold_top_n(frame, "label", "carts", keep=2, sum_columns=["abandoned"],
                                 ratio_columns={"rate": ("abandoned", "carts")})

    assert list(folded["label"]) == ["a", "b", "Other"]
    other = folded.iloc[-1]
    # c + d + e: carts 10 + 6 + 4 = 20, abandoned 5 + 3 + 1 = 9, rate 9 / 20.
    assert (other["carts"], other["abandoned"], other["rate"]) == (20, 9, 0.45)
    assert pd.isna(other["note"])
    assert folded.attrs["folded_labels"] == 3


def test_fold_top_n_leaves_one_extra_label_alone():
    frame = pd.DataFrame({"label": list("abc"), "value": [3, 2, 1]})

    assert list(standard.fold_top_n(frame, "label", "value", keep=2)["label"]) == ["a", "b", "c"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.text(min_size=1, max_size=3), st.integers(0, 1000)), min_size=0, max_size=60),
       st.integers(1, 15))
def test_fold_top_n_properties(rows, keep):
    frame = pd.DataFrame(rows, columns=["label", "value"]) if rows else pd.DataFrame({"label": [], "value": []})
    folded = standard.fold_top_n(frame, "label", "value", keep=keep)

    labels = folded["label"].astype(str).unique()
    assert len(labels) <= keep + 1
    assert folded["value"].sum() == frame["value"].sum()  # nothing lost, nothing counted twice
    again = standard.fold_top_n(folded, "label", "value", keep=keep)
    assert again["value"].sum() == folded["value"].sum() and len(again) == len(folded)
    # Every kept label is at least as large as every folded one (an independent ranking).
    totals = frame.groupby(frame["label"].astype(str))["value"].sum()
    if folded.attrs["folded_labels"]:
        kept = [label for label in labels if label != "Other" or "Other" in totals.index]
        folded_out = set(totals.index) - set(kept)
        if folded_out:
            assert min(totals[label] for label in kept if label in totals.index) >= max(totals[label]
                                                                                      for label in folded_out)


def test_category_colours_are_fixed_for_known_values_and_stable_for_others():
    assert standard.category_color("mobile") == standard.category_color("Mobile") == standard.KNOWN_COLORS["mobile"]
    assert standard.category_color("Other") == standard.OTHER_COLOR
    first = standard.category_colors(["Books", "Garden", "mobile"])
    second = standard.category_colors(["Garden", "mobile", "Books"])
    assert first == second
    assert first["mobile"] == standard.KNOWN_COLORS["mobile"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=12, unique=True))
def test_up_to_twelve_new_categories_get_distinct_colours(labels):
    colours = standard.category_colors(labels)
    unknown = [label for label in labels if label.strip().lower() not in standard.KNOWN_COLORS]

    assert len({colours[label] for label in unknown}) == len(unknown)
    assert all(not standard.is_near_white(colour) for colour in colours.values())


def test_palette_is_visible_on_white():
    assert len(set(standard.PALETTE)) == 12
    assert all(standard.contrast_ratio(colour, "#FFFFFF") >= 3 for colour in standard.PALETTE)


def test_contrast_ratio_matches_wcag():
    assert standard.contrast_ratio("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert standard.contrast_ratio("#777777", "#FFFFFF") == pytest.approx(4.48, abs=0.01)
    # rgba is composed over white: half-transparent black is #808080 (3.95:1).
    assert standard.contrast_ratio("rgba(0,0,0,0.5)", "#FFFFFF") == pytest.approx(
        standard.contrast_ratio("#808080", "#FFFFFF"), abs=0.05)
    assert standard.is_near_white("#ECEEF2") and not standard.is_near_white("#A5D8E2")


@pytest.mark.parametrize(("values", "expected"), [
    ([0.45], ".0~%"), ([0.032], ".1~%"), ([0.004], ".2~%"), ([0.0], ".0~%"), ([np.nan], ".0~%"), ([1.0], ".0~%"),
])
def test_percent_format_decimals(values, expected):
    assert standard.percent_format(values) == expected


def test_labels_by_id_add_the_id_only_where_titles_repeat():
    labels = standard.labels_by_id(["Mug", "Mug", None, "Plate"], ["P1", "P2", "P3", "P4"])

    assert labels == ["Mug (P1)", "Mug (P2)", "P3", "Plate"]


def test_outside_text_range_pads_the_side_bars_point_to():
    assert standard.outside_text_range([0, 10]) == pytest.approx([0, 12.2])
    assert standard.outside_text_range([-4, 6]) == pytest.approx([-6.2, 8.2])
    # Waterfall bars start at 0, so the span is 0 - (-3) = 3 and the left pad 3 x 0.22.
    assert standard.outside_text_range([-3, -1], floor_at_zero=False)[0] == pytest.approx(-3 - 3 * 0.22)


def test_value_range_of_one_value_is_never_zero_wide():
    assert standard.value_range([0.0], minimum_span=0.01) == [0.0, 0.01]
    # From 0 to 0.2 plus 12% headroom.
    assert standard.value_range([0.2]) == pytest.approx([0.0, 0.224])
    assert standard.value_range([-2.0]) == pytest.approx([-4.0, 0.0])


def test_infer_period():
    from datetime import date, datetime

    assert standard.infer_period([date(2025, 1, 1), date(2025, 1, 2)]) == "day"
    assert standard.infer_period([date(2025, 1, 6), date(2025, 1, 13)]) == "week"
    assert standard.infer_period([datetime(2025, 1, 1, 3), datetime(2025, 1, 1, 4)]) == "hour"
    assert standard.infer_period([datetime(2025, 1, 1, 3)]) == "hour"
    assert standard.infer_period([date(2025, 1, 1)]) == "day"


# --------------------------------------------------------------------------- helpers


def axis_names(figure: go.Figure) -> list[str]:
    return [name for name in figure.layout._props if name.startswith(("xaxis", "yaxis"))]  # noqa: SLF001


def trace_hoverlabels(trace) -> list:
    if trace.type == "sankey":
        return [trace.node.hoverlabel, trace.link.hoverlabel]
    return [trace.hoverlabel] if getattr(trace, "hoverlabel", None) is not None else []


def is_numeric_or_dates(values) -> bool:
    sample = [value for value in values if value is not None][:50]
    try:
        np.asarray(sample, dtype=float)
        return True
    except (TypeError, ValueError):
        pass
    return all(hasattr(value, "year") for value in sample)


def mark_colours(figure: go.Figure) -> list[tuple[str, str]]:
    """(colour, where) for every mark colour set as text: markers, lines, bars, links, nodes, waterfall bars."""
    found: list[tuple[str, str]] = []

    def add(value, where: str) -> None:
        if value is None:
            return
        values = value if isinstance(value, (list, tuple, np.ndarray)) else [value]
        for item in values:
            if isinstance(item, str):
                found.append((item, where))

    for index, trace in enumerate(figure.data):
        where = f"trace {index} ({trace.type} {trace.name!r})"
        if trace.type in MARK_TRACES:
            marker = getattr(trace, "marker", None)
            if marker is not None:
                add(marker.color, f"{where} marker")
            line = getattr(trace, "line", None)
            if line is not None and (line.width is None or line.width > 0):
                add(line.color, f"{where} line")
        if trace.type == "waterfall":
            for part in ("increasing", "decreasing", "totals"):
                add(trace[part].marker.color, f"{where} {part}")
        if trace.type == "sankey":
            add(trace.link.color, f"{where} link")
            add(trace.node.color, f"{where} node")
        if trace.type == "heatmap" and isinstance(trace.colorscale, tuple):
            add(trace.colorscale[0][1], f"{where} lowest colour")
    return found


def test_mark_colours_finds_sankey_links():
    figure = go.Figure(go.Sankey(node={"label": ["a", "b"]}, link={"source": [0], "target": [1], "value": [1],
                                                                    "color": ["rgba(255,255,255,0.6)"]}))

    assert any(standard.is_near_white(colour) for colour, _ in mark_colours(figure))
    assert not math.isnan(standard.relative_luminance("#123456"))


def test_small_counts_get_whole_ticks():
    """Two people converted at most: ticks 0, 1, 2, never 0.5 or 1.5."""
    import pandas as pd

    from analytics.charts.funnels import time_to_convert_figure

    histogram = pd.DataFrame({"bin_start_seconds": [0.0, 60.0], "bin_end_seconds": [60.0, 120.0], "count": [2, 1]})
    axis = time_to_convert_figure(histogram, 60.0, 110.0).layout.yaxis
    assert axis.dtick == 1 and axis.tickformat == ",d"
    assert standard.count_axis(7.0) == {"tickformat": ",d"}
    assert standard.count_axis(25_000.0) == {"tickformat": ",~s"}


def test_a_small_negative_average_score_is_written_right_of_its_bar():
    """The recommendation waterfall once wrote "-0.001" over its row label "Average score"."""
    contributions = pd.Series({"Share of history": 0.047, "Co-occurrence": 0.017})
    figure = recommendations.shap_waterfall_figure(contributions, base_value=-0.001)
    bars, values = figure.data

    assert bars.textposition == "none" and values.textposition == "middle right"
    assert figure.layout.showlegend is False  # the value labels are a trace, but not a legend entry
    # Average score: the bar spans -0.001..0, its value is written at 0 (its right end), right of it.
    assert values.x[0] == pytest.approx(0.0) and values.text[0].strip() == "-0.001"
    # Score: -0.001 + 0.047 + 0.017 = 0.063, written at 0.063.
    assert values.x[-1] == pytest.approx(0.063) and values.text[-1].strip() == "0.063"
    low, high = figure.layout.xaxis.range
    assert low < -0.001 and high > 0.063 * 1.2
