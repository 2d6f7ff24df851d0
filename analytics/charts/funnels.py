"""Figures for the Funnels page: pure functions from `FunnelResult` frames to Plotly figures.

Each function plots exactly the numbers it is given (tests compare them with the engine's); the
breakdown folds its values to the top 12 and "Other" through `breakdown_table`, which the page's
CSV uses too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics.charts import standard
from analytics.charts.standard import empty_figure, finish, plain_text
from analytics.charts.theme import COLORS, COUNT_FORMAT, GRID, MUTED, RATIO_FORMAT, TEMPLATE, TEXT
from analytics.formatting import format_count, format_p_value, format_ratio

NOBODY = "Nobody did the first step"
STEP_ROW_HEIGHT = 58
BREAKDOWN_BAR_HEIGHT = 22
# The part of the previous step's bar that did not reach this step: a light tint of the step colour,
# dark enough to see on white.
DROPPED_COLORS = {"users": "#A5D8E2", "sessions": "#BAC8FF"}
LABEL_WIDTH = 18


def _count_color(count_column: str) -> str:
    return COLORS["users"] if count_column == "users" else COLORS["sessions"]


def _step_labels(steps: pd.Series) -> list[str]:
    """Step labels as axis categories; a repeated label (view, then view again) gets its step number."""
    labels = [str(step) for step in steps]
    if len(set(labels)) == len(labels):
        return [plain_text(label) for label in labels]
    return [plain_text(f"{number}. {label}") for number, label in enumerate(labels, start=1)]


def _share(value: float) -> str:
    """A share of the start: "23.3%", "0.90%", and "<0.01%" rather than a misleading "0.0%"."""
    if value != value:
        return "—"
    if 0 < value < 0.0001:
        return "<0.01%"
    return format_ratio(value)


def funnel_figure(steps: pd.DataFrame, count_column: str = "users") -> go.Figure:
    """How many reached each step, as bars from the left with the drop-off from the step before.

    Each bar is labelled with its count and its share of those who started; under each step's
    name the axis prints the step-to-step conversion and how many dropped, as PostHog and
    Amplitude do, so nothing needs a hover. The pale part of a bar is the dropped share.

    Args:
        steps: `FunnelResult.steps` (step, the count column, conversion_from_start,
            conversion_from_previous, dropped).
        count_column: "users", "sessions" or "conversions".
    """
    if steps.empty or steps[count_column].iloc[0] == 0:
        return empty_figure(NOBODY)
    labels = _step_labels(steps["step"])
    counts = steps[count_column].to_numpy(dtype=float)
    dropped = steps["dropped"].to_numpy(dtype=float)
    names = [str(step) for step in steps["step"]]
    ticks = [f"<b>{labels[0]}</b>"]
    for index in range(1, len(steps)):
        ticks.append(
            f"<b>{labels[index]}</b><br><span style='font-size:11.5px;color:{MUTED}'>"
            f"{format_ratio(steps['conversion_from_previous'].iloc[index])} of "
            f"{plain_text(standard.shorten(names[index - 1], 14))}"
            f" · {format_count(dropped[index])} dropped</span>"
        )
    colour = _count_color(count_column)
    figure = go.Figure()
    figure.add_trace(go.Bar(
        y=labels,
        x=counts,
        orientation="h",
        name="Reached the step",
        marker={"color": colour, "cornerradius": 3},
        customdata=steps[["conversion_from_start", "conversion_from_previous", "dropped"]].to_numpy(dtype=float),
        text=[f"{format_count(count)} · {_share(share)}"
              for count, share in zip(counts, steps["conversion_from_start"])],
        # Inside long bars, past the end of short ones (over their pale dropped part).
        textposition=["inside" if share >= 0.3 else "outside" for share in steps["conversion_from_start"]],
        insidetextanchor="start",
        insidetextfont={"color": "white"},
        outsidetextfont={"color": TEXT},
        constraintext="none",
        zorder=1,
        hovertemplate=(f"<b>%{{y}}</b><br>%{{x:{COUNT_FORMAT}}} {count_column}"
                       f"<br>%{{customdata[0]:{RATIO_FORMAT}}} of the start, %{{customdata[1]:{RATIO_FORMAT}}} of "
                       f"the previous step<br>%{{customdata[2]:{COUNT_FORMAT}}} dropped<extra></extra>"),
    ))
    # The dropped part starts where the step's own bar ends and is drawn beneath it (zorder), so a
    # count printed past a short bar stays on top of the pale part.
    figure.add_trace(go.Bar(
        y=labels,
        x=dropped,
        base=counts,
        orientation="h",
        name="Dropped before the step",
        zorder=0,
        marker={"color": DROPPED_COLORS.get(count_column, DROPPED_COLORS["sessions"]), "cornerradius": 3},
        hovertemplate=f"<b>%{{y}}</b><br>%{{x:{COUNT_FORMAT}}} dropped before this step<extra></extra>",
    ))
    figure.update_layout(
        template=TEMPLATE, barmode="overlay", hovermode="closest", showlegend=False, bargap=0.35,
        height=max(240, STEP_ROW_HEIGHT * len(steps) + 50),
        xaxis={"showgrid": True, "gridcolor": GRID, "tickformat": "~s" if counts.max() >= 1000 else ",d",
               "range": [0, counts[0] * 1.02], "title": {"text": count_column.capitalize()}},
        yaxis={"type": "category", "autorange": "reversed", "showgrid": False, "tickmode": "array",
               "tickvals": labels, "ticktext": ticks, "tickfont": {"color": TEXT}},
    )
    return finish(figure)


def breakdown_table(breakdown: pd.DataFrame, count_column: str = "users") -> pd.DataFrame:
    """The breakdown the chart draws: the 12 values with most entrants, then "Other" for the rest.

    Returns:
        The breakdown's columns plus `entered` (the value's count at step 1), values ordered by
        entrants; "Other" sums the folded values' counts per step, with its conversions recomputed
        from those sums. The page's CSV is this table, so it holds exactly the plotted numbers.
    """
    if breakdown is None or breakdown.empty:
        return pd.DataFrame(columns=[*(breakdown.columns if breakdown is not None else []), "entered"])
    first_step = breakdown["step_number"].min()
    entered = (breakdown[breakdown["step_number"] == first_step]
               .set_index("breakdown_value")[count_column].rename("entered"))
    table = breakdown.join(entered, on="breakdown_value")
    keys = [column for column in ("step_number", "step", "event_type") if column in table]
    folded = standard.fold_top_n(table, "breakdown_value", "entered",
                                 sum_columns=[count_column, "dropped"], by=keys)
    if folded.attrs.get("folded_labels"):
        folded = _recompute_conversions(folded, count_column)
    order = (folded.drop_duplicates("breakdown_value")
             .assign(is_other=lambda rows: rows["breakdown_value"] == standard.OTHER_LABEL)
             .sort_values(["is_other", "entered"], ascending=[True, False], kind="stable")["breakdown_value"])
    position = {value: index for index, value in enumerate(order)}
    folded = folded.assign(_order=folded["breakdown_value"].map(position))
    return folded.sort_values(["_order", "step_number"], kind="stable").drop(columns="_order").reset_index(drop=True)


def _recompute_conversions(table: pd.DataFrame, count_column: str) -> pd.DataFrame:
    table = table.sort_values(["breakdown_value", "step_number"], kind="stable").copy()
    counts = table[count_column].astype(float)
    previous = table.groupby("breakdown_value", sort=False)[count_column].shift(1).astype(float)
    table["conversion_from_start"] = counts / table["entered"].astype(float).where(table["entered"] > 0)
    table["conversion_from_previous"] = (counts / previous.where(previous > 0)).where(previous.notna(), 1.0)
    table.loc[previous.notna() & (previous == 0), "conversion_from_previous"] = np.nan
    return table


def breakdown_figure(breakdown: pd.DataFrame, count_column: str = "users") -> go.Figure:
    """Conversion from the start at each step after the first, one bar per breakdown value, labelled.

    Steps run down the chart; within a step one horizontal bar per value (top 12 and "Other", by
    entrants, most on top), printed with the value's name, its conversion from the start and its
    count out of its entrants ("Mobile · 12.3% · 214 of 1,740"), so the chart reads without hovering
    at half a page wide. Step 1 is 100% for every value by definition, so its counts are the "of"
    part of each label rather than a group of equal bars. A value keeps its colour on every chart.

    Args:
        breakdown: `FunnelResult.breakdown` (breakdown_value, step_number, step,
            conversion_from_start, the count column).
        count_column: "users", "sessions" or "conversions".
    """
    table = breakdown_table(breakdown, count_column)
    if table.empty:
        return empty_figure(NOBODY)
    step_order = table.drop_duplicates("step_number").sort_values("step_number")
    step_labels = dict(zip(step_order["step_number"], _step_labels(step_order["step"])))
    later = table[table["step_number"] > step_order["step_number"].iloc[0]]
    values = list(dict.fromkeys(table["breakdown_value"]))
    colours = standard.category_colors(values)
    figure = go.Figure()
    for value in values:
        rows = later[later["breakdown_value"] == value]
        name = standard.shorten(str(value), LABEL_WIDTH)
        figure.add_trace(go.Bar(
            y=[step_labels[number] for number in rows["step_number"]],
            x=rows["conversion_from_start"].to_numpy(dtype=float),
            orientation="h",
            name=plain_text(value),
            marker={"color": colours[str(value)], "cornerradius": 2},
            customdata=rows[[count_column, "entered"]].to_numpy(dtype=float),
            text=[f"{plain_text(name)} · {format_ratio(rate)} · {format_count(count)} of {format_count(entered)}"
                  for rate, count, entered in zip(rows["conversion_from_start"], rows[count_column],
                                                   rows["entered"])],
            textposition="outside",
            constraintext="none",
            textfont={"color": TEXT, "size": 11.5},
            hovertemplate=(f"<b>{plain_text(value)}</b> at %{{y}}<br>%{{x:{RATIO_FORMAT}}} of its entrants"
                           f"<br>%{{customdata[0]:{COUNT_FORMAT}}} of %{{customdata[1]:{COUNT_FORMAT}}} "
                           f"{count_column}<extra></extra>"),
        ))
    steps = len(step_labels) - 1
    largest = float(later["conversion_from_start"].max()) if not later.empty else 1.0
    largest = largest if largest == largest and largest > 0 else 1.0
    figure.update_layout(
        template=TEMPLATE, barmode="group", hovermode="closest", showlegend=False,
        bargap=0.22, bargroupgap=0.08,
        height=max(220, steps * (len(values) * BREAKDOWN_BAR_HEIGHT + 34) + 70),
        # Room on the right for the longest "name · rate · count of entrants" label past the longest bar.
        xaxis={"tickformat": standard.percent_format(largest), "range": [0, largest * 2.3], "showgrid": True,
               "gridcolor": GRID, "title": {"text": "Conversion from the first step"}},
        yaxis={"type": "category", "autorange": "reversed", "showgrid": False, "tickfont": {"color": TEXT}},
    )
    return finish(figure)


def trend_figure(trend: pd.DataFrame, period: str | None = None) -> go.Figure:
    """Conversion rate (entered -> last step) per entry period: day, week or hour.

    Args:
        trend: `FunnelResult.trend` (period_start, entered, converted, conversion_rate).
        period: "hour", "day" or "week"; inferred from the spacing of period_start when None. One
            period is drawn as a dot with a range one period wide.
    """
    if trend.empty:
        return empty_figure(NOBODY)
    x = list(trend["period_start"])
    rates = trend["conversion_rate"].to_numpy(dtype=float)
    period = period or standard.infer_period(x)
    figure = go.Figure(go.Scatter(
        x=x,
        y=rates,
        mode=standard.line_mode(len(trend)),
        line={"color": COLORS["conversion_rate"], "width": 2.5},
        marker={"size": 7},
        customdata=trend[["entered", "converted"]].to_numpy(),
        hovertemplate=(f"%{{x}}<br>%{{y:{RATIO_FORMAT}}}: %{{customdata[1]:{COUNT_FORMAT}}} of "
                       f"%{{customdata[0]:{COUNT_FORMAT}}} converted<extra></extra>"),
    ))
    figure.update_layout(
        template=TEMPLATE, hovermode="closest", showlegend=False,
        xaxis=standard.time_axis(x, period),
        yaxis={"tickformat": standard.percent_format(rates), "rangemode": "tozero",
               "range": standard.value_range(rates, minimum_span=0.01), "title": {"text": "Converted"}},
    )
    return finish(figure)


def time_to_convert_figure(histogram: pd.DataFrame, median_seconds: float | None, p90_seconds: float | None
                           ) -> go.Figure:
    """Histogram of the time from the first to the last step, with the median and p90 marked.

    Args:
        histogram: `FunnelResult.time_to_convert` (bin_start_seconds, bin_end_seconds, count).
        median_seconds, p90_seconds: drawn as dashed lines when given (seconds).
    """
    if histogram.empty or histogram["count"].sum() == 0:
        return empty_figure("Nobody reached the last step")
    minutes_start = histogram["bin_start_seconds"].to_numpy() / 60
    minutes_end = histogram["bin_end_seconds"].to_numpy() / 60
    figure = go.Figure(go.Bar(
        x=(minutes_start + minutes_end) / 2,
        # A small gap between bins instead of a white outline.
        width=(minutes_end - minutes_start) * 0.94,
        y=histogram["count"].to_numpy(),
        marker={"color": COLORS["users"]},
        customdata=list(zip(minutes_start, minutes_end)),
        hovertemplate=(f"%{{customdata[0]:.1f}}–%{{customdata[1]:.1f}} min: %{{y:{COUNT_FORMAT}}}"
                       "<extra></extra>"),
    ))
    marks = [(seconds, name) for seconds, name in ((median_seconds, "median"), (p90_seconds, "p90"))
             if seconds is not None and seconds == seconds]
    for seconds, name in marks:
        figure.add_vline(x=seconds / 60, line={"color": MUTED, "dash": "dash", "width": 1.5})
    if marks:
        # One label above the plot for both lines, so they never overlap when median and p90 are close.
        figure.add_annotation(
            x=1, xref="paper", y=1, yref="paper", yanchor="bottom", xanchor="right", showarrow=False,
            text=" · ".join(f"{name} {seconds / 60:.1f} min" for seconds, name in marks), font={"color": MUTED},
        )
    figure.update_layout(template=TEMPLATE, hovermode="closest", bargap=0, showlegend=False,
                         xaxis={"title": {"text": "Minutes from the first step"}, "rangemode": "tozero"},
                         yaxis={"title": {"text": "Converted"},
                                **standard.count_axis(float(histogram["count"].max()))})
    return finish(figure)


def comparison_figure(comparison: pd.DataFrame, period_label: str = "This period",
                      previous_label: str = "Previous period") -> go.Figure:
    """Conversion from the first step in two periods, with 95 % Wilson intervals as error bars.

    Each bar is labelled with its conversion; the hover adds the two-proportion test's p-value,
    written "p < 0.001" rather than "p = 0.000".

    Args:
        comparison: `analytics.funnels.comparison.compare_periods` output.
        period_label, previous_label: legend names of the two periods.
    """
    if comparison.empty or comparison["conversion"].isna().all():
        return empty_figure(NOBODY)
    labels = _step_labels(comparison["step"])
    # Step 1 is 100% in both periods by definition, so it has no test.
    p_values = ["first step: no test" if number == comparison["step_number"].min() else format_p_value(value)
                for number, value in zip(comparison["step_number"], comparison["p_value"])]
    figure = go.Figure()
    for suffix, name, color in (("_previous", previous_label, MUTED), ("", period_label, COLORS["conversion_rate"])):
        values = comparison[f"conversion{suffix}"].to_numpy(dtype=float)
        figure.add_trace(go.Bar(
            x=labels,
            y=values,
            name=plain_text(name),
            marker={"color": color},
            error_y={"type": "data", "symmetric": False,
                     "array": comparison[f"conversion{suffix}_high"].to_numpy() - values,
                     "arrayminus": values - comparison[f"conversion{suffix}_low"].to_numpy(),
                     "color": TEXT, "thickness": 1.2, "width": 4},
            text=[format_ratio(value) for value in values],
            textposition="inside",
            insidetextanchor="start",
            insidetextfont={"color": "white"},
            constraintext="none",
            customdata=[list(row) for row in zip(p_values, comparison[f"conversion{suffix}_low"].astype(float),
                                                 comparison[f"conversion{suffix}_high"].astype(float))],
            hovertemplate=(f"<b>%{{x}}</b><br>%{{y:{RATIO_FORMAT}}} (95% interval %{{customdata[1]:{RATIO_FORMAT}}}–"
                           f"%{{customdata[2]:{RATIO_FORMAT}}})<br>%{{customdata[0]}}"
                           f"<extra>{plain_text(name)}</extra>"),
        ))
    figure.update_layout(template=TEMPLATE, barmode="group", hovermode="closest",
                         xaxis={"type": "category"},
                         yaxis={"tickformat": standard.percent_format(comparison["conversion_high"]),
                                "rangemode": "tozero", "title": {"text": "Conversion from the first step"}})
    return finish(figure)
