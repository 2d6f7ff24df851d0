"""Figures for the Forecasts page: pure functions from forecast frames to Plotly figures.

Each figure plots exactly the numbers it is given, so tests compare traces with the engine's frames.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analytics.charts import standard
from analytics.charts.standard import empty_figure, finish, plain_text
from analytics.charts.theme import COLORWAY, DEFAULT_HEIGHT, GRID, MUTED, TEMPLATE, TEXT
from analytics.forecasting.models import MODEL_TITLES

HISTORY_COLOR = "#495057"
FORECAST_COLOR = COLORWAY[0]
CHAMPION_COLOR = COLORWAY[0]
OTHER_COLOR = "#ADB5BD"
COMPONENT_HEIGHT = 200
COMPONENT_TITLES = {"trend": "Trend (units per day)", "weekly": "Weekly pattern", "yearly": "Yearly pattern",
                    "holidays": "Holidays and festivals", "promotion_discount_rate": "Planned promotions"}


def _date_axis(values) -> dict:
    """Days on the x axis: one value gets a one-day range and one tick (not "23:59:59.999")."""
    return standard.time_axis(list(values), "day") | {"hoverformat": "%a %-d %b %Y"}


def _band(figure: go.Figure, ds, lower, upper, name: str, opacity: float, row: int | None = None) -> None:
    kwargs = {"row": row, "col": 1} if row else {}
    figure.add_trace(go.Scatter(x=ds, y=upper, mode="lines", line={"width": 0}, showlegend=False,
                                hoverinfo="skip", name=f"{name} upper"), **kwargs)
    figure.add_trace(go.Scatter(x=ds, y=lower, mode="lines", line={"width": 0}, fill="tonexty",
                                fillcolor=f"rgba(59, 91, 219, {opacity})", name=name, hoverinfo="skip",
                                legendgroup=name), **kwargs)


def forecast_figure(history: pd.DataFrame, forecast: pd.DataFrame, *, measure: str = "units",
                    history_days: int = 120, currency_symbol: str = "") -> go.Figure:
    """The recent history and the champion's forecast with its 80% and 95% intervals.

    Args:
        history: one series' `ds, y`.
        forecast: its forecast, `ds, yhat, yhat_lower_80, yhat_upper_80, yhat_lower_95, yhat_upper_95, model`.
        measure: "units" or "revenue", for the hover text.
        history_days: how much history to show before the forecast.
        currency_symbol: put before revenue amounts; empty for none (units never get one).
    """
    if forecast.empty:
        return empty_figure("No forecast for this series")
    recent = history.tail(history_days)
    model = MODEL_TITLES.get(str(forecast["model"].iloc[0]), str(forecast["model"].iloc[0]))
    figure = go.Figure()
    single = len(forecast) == 1
    if not single:
        _band(figure, forecast["ds"], forecast["yhat_lower_95"], forecast["yhat_upper_95"], "95% interval", 0.15)
        _band(figure, forecast["ds"], forecast["yhat_lower_80"], forecast["yhat_upper_80"], "80% interval", 0.3)
    prefix = currency_symbol if measure == "revenue" else ""
    figure.add_trace(go.Scatter(x=recent["ds"], y=recent["y"], mode=standard.line_mode(len(recent)), name="Actual",
                                line={"color": HISTORY_COLOR, "width": 1.5}, marker={"size": 4},
                                hovertemplate=f"{prefix}%{{y:,.1f}} {measure}<extra>Actual</extra>"))
    figure.add_trace(go.Scatter(
        x=forecast["ds"], y=forecast["yhat"], mode=standard.line_mode(len(forecast)), name=f"Forecast ({model})",
        line={"color": FORECAST_COLOR, "width": 2.5}, marker={"size": 8 if single else 5},
        # A one-day forecast has no band to draw: its 95% interval is an error bar.
        error_y=({"type": "data", "symmetric": False, "color": FORECAST_COLOR,
                  "array": (forecast["yhat_upper_95"] - forecast["yhat"]).to_numpy(float),
                  "arrayminus": (forecast["yhat"] - forecast["yhat_lower_95"]).to_numpy(float)} if single else None),
        customdata=forecast[["yhat_lower_80", "yhat_upper_80", "yhat_lower_95", "yhat_upper_95"]].to_numpy(float),
        # The unified hover names the day once, at the top.
        hovertemplate=(f"{prefix}%{{y:,.1f}} {measure}<br>80%: %{{customdata[0]:,.1f}}–"
                       "%{customdata[1]:,.1f}<br>95%: %{customdata[2]:,.1f}–%{customdata[3]:,.1f}"
                       f"<extra>{plain_text(model)}</extra>"),
    ))
    figure.update_layout(template=TEMPLATE, height=DEFAULT_HEIGHT + 60, hovermode="x unified",
                         xaxis=_date_axis([*recent["ds"], *forecast["ds"]]),
                         yaxis={"rangemode": "tozero", "title": {"text": f"{measure.capitalize()} per day"},
                                "tickprefix": prefix})
    return finish(figure)


def leaderboard_figure(leaderboard: pd.DataFrame) -> go.Figure:
    """Backtest MASE per model for one series, best at the top, the champion highlighted.

    Args:
        leaderboard: one series' leaderboard rows (`model, mase, wape, coverage_80, is_champion`).
    """
    rows = leaderboard.dropna(subset=["mase"]).sort_values("mase", ascending=False)
    if rows.empty:
        return empty_figure("No model could be scored on this series")
    labels = [plain_text(MODEL_TITLES.get(model, model)) for model in rows["model"]]
    colors = [CHAMPION_COLOR if champion else OTHER_COLOR for champion in rows["is_champion"]]
    figure = go.Figure(go.Bar(
        x=rows["mase"], y=labels, orientation="h", marker={"color": colors},
        text=[f"{value:.2f}" for value in rows["mase"]], textposition="outside", cliponaxis=False,
        constraintext="none", textfont={"color": TEXT},
        customdata=rows[["wape", "coverage_80"]].to_numpy(float),
        hovertemplate="%{y}: MASE %{x:.3f}<br>WAPE %{customdata[0]:.1%}<br>80% coverage %{customdata[1]:.0%}"
                      "<extra></extra>",
    ))
    figure.add_vline(x=1.0, line={"color": MUTED, "dash": "dot"})
    # Above the plot, where it cannot sit on a bar or its value.
    figure.add_annotation(x=1.0, xref="x", y=1, yref="paper", yanchor="bottom", showarrow=False,
                          text="1 = in-sample seasonal naive", font={"color": MUTED, "size": 11})
    figure.update_layout(template=TEMPLATE, height=max(DEFAULT_HEIGHT, 40 * len(rows) + 60), hovermode="closest",
                         xaxis={"title": {"text": "MASE over the backtest folds (lower is better)"},
                                "showgrid": True, "gridcolor": GRID,
                                "range": standard.outside_text_range([*rows["mase"], 1.0])},
                         yaxis={"type": "category", "showgrid": False, "tickfont": {"color": TEXT}})
    return finish(figure)


def backtest_figure(backtest: pd.DataFrame, history: pd.DataFrame, model: str) -> go.Figure:
    """One model's backtest forecasts against what happened, fold by fold.

    Args:
        backtest: one series' backtest rows of one model (`fold, ds, y, yhat, yhat_lower_80, yhat_upper_80`).
        history: the series' `ds, y` over the backtest span and a little before.
        model: the model's name, for the legend.
    """
    if backtest.empty:
        return empty_figure("No backtest for this model")
    start = backtest["ds"].min() - pd.Timedelta(days=28)
    shown = history[history["ds"] >= start]
    figure = go.Figure()
    for fold, rows in backtest.groupby("fold"):
        _band(figure, rows["ds"], rows["yhat_lower_80"], rows["yhat_upper_80"], f"80% interval, fold {fold}", 0.2)
    figure.add_trace(go.Scatter(x=shown["ds"], y=shown["y"], mode="lines", name="Actual",
                                line={"color": HISTORY_COLOR, "width": 1.5}))
    for fold, rows in backtest.groupby("fold"):
        figure.add_trace(go.Scatter(x=rows["ds"], y=rows["yhat"], mode="lines", name=f"Fold {fold}",
                                    line={"color": FORECAST_COLOR, "width": 2},
                                    legendgroup="folds", showlegend=bool(fold == backtest["fold"].min())))
    figure.update_traces(selector={"name": f"Fold {backtest['fold'].min()}"},
                         name=f"{MODEL_TITLES.get(model, model)} backtest")
    figure.update_layout(template=TEMPLATE, height=DEFAULT_HEIGHT, yaxis={"rangemode": "tozero"})
    return finish(figure)


def components_figure(components: pd.DataFrame) -> go.Figure:
    """Prophet's components: the trend in units, every other component as a % effect on demand.

    Args:
        components: from `analytics.forecasting.run.prophet_components` (ds, is_forecast, trend, weekly,
            yearly, holidays, regressors).
    """
    names = [name for name in components.columns if name not in ("ds", "is_forecast")]
    if components.empty or not names:
        return empty_figure("No components")
    titles = [COMPONENT_TITLES.get(name, f"Driver: {name}") for name in names]
    # Room between plots for the upper plot's two-line date ticks and the lower plot's title (~75 px).
    figure = make_subplots(rows=len(names), cols=1, shared_xaxes=False, subplot_titles=titles,
                           vertical_spacing=min(0.3, 75 / (COMPONENT_HEIGHT * len(names))))
    for row, name in enumerate(names, start=1):
        if name == "weekly":
            # One week is enough to read a weekly pattern.
            week = (components.assign(day_number=components["ds"].dt.dayofweek)
                    .drop_duplicates("day_number").sort_values("day_number"))
            week = week.assign(day=week["ds"].dt.day_name().str[:3])
            figure.add_trace(go.Bar(x=week["day"], y=week[name], name=COMPONENT_TITLES[name],
                                    marker={"color": COLORWAY[1]},
                                    hovertemplate="%{x}: %{y:+.0%} on demand<extra></extra>"), row=row, col=1)
            figure.update_yaxes(tickformat="+.0%", row=row, col=1)
            continue
        is_trend = name == "trend"
        figure.add_trace(go.Scatter(
            x=components["ds"], y=components[name], mode="lines", name=COMPONENT_TITLES.get(name, name),
            line={"color": COLORWAY[(row - 1) % len(COLORWAY)], "width": 2},
            hovertemplate=("%{x|%a %d %b %Y}: %{y:,.1f} units<extra></extra>" if is_trend
                           else "%{x|%a %d %b %Y}: %{y:+.0%} on demand<extra></extra>"),
        ), row=row, col=1)
        if not is_trend:
            figure.update_yaxes(tickformat="+.0%", row=row, col=1)
        forecast_start = components.loc[components["is_forecast"], "ds"].min()
        if pd.notna(forecast_start):
            figure.add_vline(x=forecast_start, line={"color": MUTED, "dash": "dot"}, row=row, col=1)
    figure.update_layout(template=TEMPLATE, height=COMPONENT_HEIGHT * len(names) + 40, showlegend=False,
                         hovermode="closest")
    for annotation in figure.layout.annotations:
        # Subplot titles sit above their plots: left-aligned like the page's own titles, in the text colour.
        annotation.update(x=0, xanchor="left", font={"color": TEXT, "size": 13})
    return finish(figure)


def stock_figure(forecast: pd.DataFrame, lead_time_days: int, reorder_point: float,
                 on_hand: float | None = None) -> go.Figure:
    """Cumulative forecast demand against the stock on hand and the reorder point.

    Args:
        forecast: one series' forecast (`ds, yhat, yhat_upper_95`), oldest first.
        lead_time_days: marked with a vertical line at the end of the lead time.
        reorder_point: drawn as a horizontal line.
        on_hand: drawn as a horizontal line when known.
    """
    if forecast.empty:
        return empty_figure("No forecast")
    cumulative = forecast["yhat"].cumsum()
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=forecast["ds"], y=cumulative, mode=standard.line_mode(len(forecast)),
                                name="Cumulative forecast demand",
                                line={"color": FORECAST_COLOR, "width": 2.5},
                                hovertemplate="By %{x|%a %d %b}: %{y:,.0f} units<extra></extra>"))
    figure.add_hline(y=reorder_point, line={"color": COLORWAY[1], "dash": "dash"},
                     annotation={"text": f"Reorder point {reorder_point:,.0f}", "font": {"color": COLORWAY[1]}})
    if on_hand is not None:
        figure.add_hline(y=on_hand, line={"color": COLORWAY[4]}, annotation_position="bottom right",
                         annotation={"text": f"On hand {on_hand:,.0f}", "font": {"color": COLORWAY[4]}})
    end = forecast["ds"].iloc[min(lead_time_days, len(forecast)) - 1]
    figure.add_vline(x=end, line={"color": MUTED, "dash": "dot"},
                     annotation={"text": f"lead time {lead_time_days} d", "font": {"color": MUTED, "size": 11}})
    figure.update_layout(template=TEMPLATE, height=DEFAULT_HEIGHT, yaxis={"rangemode": "tozero"},
                         xaxis=_date_axis(forecast["ds"]), hovermode="closest")
    return finish(figure)


def history_preview_figure(preview: pd.DataFrame, *, measure: str = "units", currency_symbol: str = "") -> go.Figure:
    """Daily actuals of the largest series of a level, one line each, before any forecast is run.

    Args:
        preview: `unique_id, label, ds, y` from `analytics.forecasting.series.history_preview`; at
            most 12 series are drawn, each in its category's colour on every page.
        measure: "units" or "revenue", for the axis and hover text.
        currency_symbol: put before revenue amounts; empty for none.
    """
    if preview.empty:
        return empty_figure("No sales to show")
    prefix = currency_symbol if measure == "revenue" else ""
    groups = list(preview.groupby("label", sort=False))[:standard.MAX_CATEGORIES]
    colours = standard.category_colors(str(label) for label, _ in groups)
    figure = go.Figure()
    for label, rows in groups:
        figure.add_trace(go.Scatter(
            x=rows["ds"], y=rows["y"], mode=standard.line_mode(len(rows)), name=plain_text(label),
            line={"color": colours[str(label)], "width": 1.5}, marker={"size": 4},
            hovertemplate=(f"{prefix}%{{y:,.1f}} {measure}"
                           f"<extra>{plain_text(standard.shorten(str(label), 24))}</extra>")))
    figure.update_layout(template=TEMPLATE, height=DEFAULT_HEIGHT, hovermode="x unified",
                         xaxis=_date_axis(preview["ds"]),
                         yaxis={"rangemode": "tozero", "title": {"text": f"{measure.capitalize()} per day"},
                                "tickprefix": prefix})
    return finish(figure)
