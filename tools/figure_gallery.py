"""Render every ShopLens chart function to PNG in headless Chromium, and check what a person would see.

    export PYTHONPATH=$PWD
    .venv/bin/python tools/figure_gallery.py --warehouse .shoplens/warehouse.duckdb --out test-output/gallery

Every chart function is drawn on the warehouse's real results (the sample shop by default), on the
same engine results for one day of data, and on hand-made odd inputs (empty, one row, thousands of
categories, identical and long Chinese titles, hourly trends; `tests/charts_fixtures.py`). Each
figure is rendered at half-page (700 px) and full-page (1400 px) width and at its own height, as
Streamlit draws it, by Debian's `/usr/bin/chromium` through Playwright, offline: plotly.js comes
from the installed plotly package and every other request is refused.

In the browser each figure is checked for text cut off at the figure's edge, text overlapping other
text, text shrunk below 9 px, and a chart with neither marks nor a message; a sample of figures is
hovered and the hover label's text/background contrast measured. Results go to
`<out>/report.json` and `<out>/index.html` (every PNG on one page); the exit code is 1 when a
check failed. Models (predictions, explanations, forecasts, recommendations) are trained once and
cached under `<out>/.cache` by warehouse file and modification time; `--skip-models` leaves them out.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import os
import pickle
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import plotly
import plotly.graph_objects as go

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from analytics.charts.standard import contrast_ratio  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--font-render-hinting=none"]
WIDTHS = {"half": 700, "full": 1400}
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
# WCAG AA for normal text.
MIN_HOVER_CONTRAST = 4.5
MIN_FONT_PX = 9.0


@dataclass
class Specimen:
    """One chart function drawn on one input."""

    name: str  # e.g. "funnels.funnel_figure/sample"
    build: Callable[[], go.Figure]
    hover: bool = False  # hover the first mark and check the label's contrast
    figure: go.Figure | None = None
    problems: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- results from the engine


def _last_day(con) -> date:
    return con.execute("select max(session_date) from fct_sessions").fetchone()[0]


def engine_specimens(con, warehouse: Path, cache_dir: Path, with_models: bool) -> Iterator[Specimen]:
    """Specimens on the warehouse's real results: the last 30 days ("sample") and the last day ("one-day")."""
    from analytics.filters import Filters

    end = _last_day(con)
    periods = {"sample": Filters(end - timedelta(days=29), end), "one-day": Filters(end, end)}
    for label, filters in periods.items():
        yield from _overview(con, filters, label)
        yield from _funnels(con, filters, label)
        yield from _customers(con, filters, label)
        yield from _cart(con, filters, label)
    if with_models:
        models = _cached(cache_dir, warehouse, "models", lambda: _train_models(con, periods["sample"]))
        yield from _model_specimens(models)


def _overview(con, filters, label: str) -> Iterator[Specimen]:
    from analytics.charts import overview as charts
    from analytics.overview import load_overview

    overview = load_overview(con, filters, top_n=10)
    daily = overview.daily
    yield Specimen(f"overview.daily_traffic_figure/{label}", lambda: charts.daily_traffic_figure(daily), hover=True)
    yield Specimen(f"overview.daily_revenue_figure/{label}", lambda: charts.daily_revenue_figure(daily, "¥"))
    yield Specimen(f"overview.daily_conversion_figure/{label}", lambda: charts.daily_conversion_figure(daily))
    yield Specimen(f"overview.top_categories_figure/{label}",
                   lambda: charts.top_categories_figure(overview.top_categories, "¥"), hover=True)
    yield Specimen(f"overview.top_products_figure/{label}",
                   lambda: charts.top_products_figure(overview.top_products, "¥"))


def _funnels(con, filters, label: str) -> Iterator[Specimen]:
    from analytics.charts import funnels as charts
    from analytics.funnels import FunnelQuery, compare_periods, run_funnel
    from analytics.funnels.query import parse_steps

    steps = parse_steps("view,cart,purchase")
    plain = run_funnel(con, FunnelQuery(steps, timedelta(hours=1)), filters)
    by_device = run_funnel(con, FunnelQuery(steps, timedelta(hours=1), breakdown="device"), filters)
    by_category = run_funnel(con, FunnelQuery(steps, timedelta(hours=1), breakdown="category"), filters)
    comparison = compare_periods(con, FunnelQuery(steps, timedelta(hours=1)), filters)
    last = plain.steps.iloc[-1]
    yield Specimen(f"funnels.funnel_figure/{label}", lambda: charts.funnel_figure(plain.steps), hover=True)
    yield Specimen(f"funnels.breakdown_figure/{label}-device",
                   lambda: charts.breakdown_figure(by_device.breakdown), hover=True)
    yield Specimen(f"funnels.breakdown_figure/{label}-category", lambda: charts.breakdown_figure(by_category.breakdown))
    yield Specimen(f"funnels.trend_figure/{label}", lambda: charts.trend_figure(plain.trend), hover=True)
    yield Specimen(f"funnels.time_to_convert_figure/{label}",
                   lambda: charts.time_to_convert_figure(plain.time_to_convert, last["median_seconds_to_convert"],
                                                         last["p90_seconds_to_convert"]))
    yield Specimen(f"funnels.comparison_figure/{label}",
                   lambda: charts.comparison_figure(comparison, "This period", "Previous period"), hover=True)


def _customers(con, filters, label: str) -> Iterator[Specimen]:
    from analytics.charts import customers as charts
    from analytics.customers.retention import load_retention
    from analytics.customers.rfm import RfmBins, load_rfm, load_rfm_migration

    for period in ("day", "week"):
        retention = load_retention(con, filters, period)
        if retention.is_empty:
            matrix, average = retention.matrix, retention.average_curve()
        else:
            matrix, average = retention.segment_matrix("All"), retention.segment_average("All")
        yield Specimen(f"customers.retention_heatmap/{label}-{period}",
                       lambda m=matrix, p=period: charts.retention_heatmap(m, p), hover=period == "week")
        yield Specimen(f"customers.retention_curves_figure/{label}-{period}",
                       lambda m=matrix, a=average, p=period: charts.retention_curves_figure(m, a, p))
        yield Specimen(f"customers.ltv_curves_figure/{label}-{period}",
                       lambda m=matrix, a=average, p=period: charts.ltv_curves_figure(m, a, p))
    by_channel = load_retention(con, filters, "week", breakdown="first_category")
    if not by_channel.is_empty:
        segment = by_channel.segments[0]
        yield Specimen(f"customers.ltv_curves_figure/{label}-first-category",
                       lambda: charts.ltv_curves_figure(by_channel.segment_matrix(segment),
                                                        by_channel.segment_average(segment), "week"))
    rfm = load_rfm(con, filters, RfmBins(bins=5))
    yield Specimen(f"customers.segment_share_figure/{label}", lambda: charts.segment_share_figure(rfm.segments),
                   hover=True)
    migration = load_rfm_migration(con, filters, RfmBins(bins=5))
    yield Specimen(f"customers.migration_sankey/{label}", lambda: charts.migration_sankey(migration.flows), hover=True)


def _cart(con, filters, label: str) -> Iterator[Specimen]:
    from analytics.cart_dropoff import load_cart_dropoff
    from analytics.charts import cart_dropoff as charts

    dropoff = load_cart_dropoff(con, filters, 24.0)
    yield Specimen(f"cart_dropoff.survival_figure/{label}", lambda: charts.survival_figure(dropoff.survival, 24.0),
                   hover=True)
    for by, table in dropoff.breakdowns.items():
        yield Specimen(f"cart_dropoff.breakdown_figure/{label}-{by}",
                       lambda t=table, b=by: charts.breakdown_figure(t, b), hover=by == "device")


def _train_models(con, filters) -> dict:
    """Everything the model-backed charts need, trained once (minutes on 2 cores) and cached."""
    from analytics.customers.clv import load_clv
    from analytics.explain.explanation import explain_segment
    from analytics.explain.registry import model_report
    from analytics.explain.tree_shap import dependence_table, explain_row
    from analytics.features.predictive import (
        probability_by_segment, probability_distribution, score_customers, train_churn_model, train_purchase_model,
    )
    from analytics.forecasting.models import FAST_MODELS
    from analytics.forecasting.run import ForecastRequest, prophet_components, run_forecast, series_view
    from analytics.forecasting.series import history_preview
    from analytics.forecasting.stock import stock_view
    from analytics.recommend.evaluate import evaluate_warehouse
    from analytics.recommend.hybrid import FEATURE_LABELS
    from analytics.recommend.service import (
        pickable_users, recommend_for_user, related_items, train_recommenders, user_features_table,
    )

    started = time.perf_counter()
    models: dict = {}

    def note(what: str) -> None:
        print(f"  trained {what} ({time.perf_counter() - started:.0f} s)", flush=True)

    purchase, churn = train_purchase_model(con), train_churn_model(con)
    scores = score_customers(con, filters=filters, purchase_model=purchase, churn_model=churn)
    models["predictions"] = {
        "purchase_distribution": probability_distribution(scores, "purchase_probability_7d"),
        "churn_distribution": probability_distribution(scores, "churn_probability_28d"),
        "purchase_calibration": purchase.calibration, "churn_calibration": churn.calibration,
        "by_device": probability_by_segment(scores, "main_device"),
        "by_channel": probability_by_segment(scores, "main_channel"),
    }
    note("purchase and churn models")
    explanations = {}
    for name in ("cart_conversion", "churn_28d", "forecast_global"):
        report = model_report(con, name)
        explanation = report.explanation
        features = explanation.feature_ranking()
        segment_column = next(iter(explanation.segments.columns), None)
        categorical = [feature for feature in features if feature in explanation.categorical_features]
        explanations[name] = {
            "explanation": explanation,
            "dependence": dependence_table(explanation, features[0]),
            "dependence_categorical_colour": (dependence_table(explanation, features[0], colour_by=categorical[0])
                                              if categorical and categorical[0] != features[0] else None),
            "row": explain_row(explanation, explanation.row_ids()[0]),
            "segment": (explain_segment(explanation, segment_column,
                                        sorted(explanation.segments[segment_column].astype(str).unique())[0])
                        if segment_column else None),
            "fairness": report.fairness.groups,
            "fairness_column": (report.fairness.groups["column"].iloc[0] if not report.fairness.groups.empty else None),
        }
        note(f"{name} explanation")
    models["explanations"] = explanations
    clv = load_clv(con, filters, calibration_end=filters.end_date - timedelta(days=90))
    models["clv"] = {"predictions": clv.predictions, "holdout": clv.holdout}
    note("CLV")
    request = ForecastRequest(level="category", measure="units", horizon=28, folds=2,
                              models=tuple(FAST_MODELS) + ("prophet",))
    run = run_forecast(con, request, n_jobs=1)
    unique_id = run.series.ids[0]
    view = series_view(run, unique_id)
    stock = stock_view(view.forecast, 7, 0.95)
    models["forecasts"] = {
        "history": view.history, "forecast": view.forecast, "leaderboard": view.leaderboard,
        "backtest": view.backtest, "champion": view.champion["model"], "components": prophet_components(run, unique_id),
        "reorder_point": stock.reorder_point, "preview": history_preview(con, "category", "units"),
        "preview_revenue": history_preview(con, "category", "revenue"),
    }
    note("forecasts")
    trained = train_recommenders(con)
    user = pickable_users(trained, 1)["user_id"].iloc[0]
    recommendation = recommend_for_user(trained, user, 10)
    contributions = user_features_table(recommendation, FEATURE_LABELS)
    chosen = contributions[contributions["rank"] == 1]
    popular = trained.products.index[0]
    related = related_items(trained, popular, 10)
    board = evaluate_warehouse(con, k=10)
    models["recommendations"] = {
        "shap": (chosen["shap"].to_numpy(), chosen["label"].to_numpy(), recommendation.base_value),
        "bought_together": related.bought_together, "viewed_together": related.viewed_together,
        "similar": related.similar, "leaderboard": board.models,
    }
    note("recommenders")
    return models


def _model_specimens(models: dict) -> Iterator[Specimen]:
    import pandas as pd

    from analytics.charts import customers as customer_charts
    from analytics.charts import explanations as explain_charts
    from analytics.charts import forecasts as forecast_charts
    from analytics.charts import predictions as prediction_charts
    from analytics.charts import recommendations as recommend_charts

    predictions = models["predictions"]
    yield Specimen("predictions.distribution_figure/sample-purchase", lambda: prediction_charts.distribution_figure(
        predictions["purchase_distribution"], "purchase_probability_7d"), hover=True)
    yield Specimen("predictions.distribution_figure/sample-churn", lambda: prediction_charts.distribution_figure(
        predictions["churn_distribution"], "churn_probability_28d"))
    yield Specimen("predictions.calibration_figure/sample-purchase", lambda: prediction_charts.calibration_figure(
        predictions["purchase_calibration"], "purchase_probability_7d"))
    yield Specimen("predictions.segment_figure/sample-device",
                   lambda: prediction_charts.segment_figure(predictions["by_device"], "main_device"), hover=True)
    yield Specimen("predictions.segment_figure/sample-channel",
                   lambda: prediction_charts.segment_figure(predictions["by_channel"], "main_channel"))
    for name, parts in models["explanations"].items():
        explanation = parts["explanation"]
        yield Specimen(f"explanations.shap_bar_figure/{name}", lambda e=explanation: explain_charts.shap_bar_figure(e),
                       hover=name == "churn_28d")
        yield Specimen(f"explanations.shap_beeswarm_figure/{name}",
                       lambda e=explanation: explain_charts.shap_beeswarm_figure(e))
        if explanation.calibration is not None and not explanation.calibration.empty:
            yield Specimen(f"explanations.calibration_figure/{name}",
                           lambda e=explanation: explain_charts.calibration_figure(e))
        yield Specimen(f"explanations.dependence_figure/{name}",
                       lambda e=explanation, t=parts["dependence"]: explain_charts.dependence_figure(e, t))
        if parts["dependence_categorical_colour"] is not None:
            yield Specimen(f"explanations.dependence_figure/{name}-categorical-colour",
                           lambda e=explanation, t=parts["dependence_categorical_colour"]:
                           explain_charts.dependence_figure(e, t))
        yield Specimen(f"explanations.waterfall_figure/{name}",
                       lambda r=parts["row"]: explain_charts.waterfall_figure(r), hover=name == "churn_28d")
        if parts["segment"] is not None:
            yield Specimen(f"explanations.segment_figure/{name}",
                           lambda s=parts["segment"], e=explanation: explain_charts.segment_figure(s, e.unit))
        if parts["fairness_column"] is not None:
            yield Specimen(f"explanations.fairness_figure/{name}",
                           lambda g=parts["fairness"], c=parts["fairness_column"], e=explanation:
                           explain_charts.fairness_figure(g, c, e.task))
    clv = models["clv"]
    yield Specimen("customers.clv_alive_figure/sample", lambda: customer_charts.clv_alive_figure(clv["predictions"]))
    yield Specimen("customers.holdout_figure/sample", lambda: customer_charts.holdout_figure(clv["holdout"], "week"))
    forecasts = models["forecasts"]
    yield Specimen("forecasts.forecast_figure/sample",
                   lambda: forecast_charts.forecast_figure(forecasts["history"], forecasts["forecast"]), hover=True)
    yield Specimen("forecasts.leaderboard_figure/sample",
                   lambda: forecast_charts.leaderboard_figure(forecasts["leaderboard"]))
    yield Specimen("forecasts.backtest_figure/sample", lambda: forecast_charts.backtest_figure(
        forecasts["backtest"], forecasts["history"], forecasts["champion"]))
    yield Specimen("forecasts.components_figure/sample",
                   lambda: forecast_charts.components_figure(forecasts["components"]))
    yield Specimen("forecasts.stock_figure/sample",
                   lambda: forecast_charts.stock_figure(forecasts["forecast"], 7, forecasts["reorder_point"], 40.0))
    yield Specimen("forecasts.history_preview_figure/sample",
                   lambda: forecast_charts.history_preview_figure(forecasts["preview"]))
    recommendations = models["recommendations"]
    values, labels, base = recommendations["shap"]
    yield Specimen("recommendations.shap_waterfall_figure/sample", lambda: recommend_charts.shap_waterfall_figure(
        pd.Series(values, index=labels), base), hover=True)
    for measure in ("lift", "confidence", "together"):
        yield Specimen(f"recommendations.related_figure/bought-together-{measure}",
                       lambda m=measure: recommend_charts.related_figure(recommendations["bought_together"], m))
    yield Specimen("recommendations.related_figure/viewed-together-lift",
                   lambda: recommend_charts.related_figure(recommendations["viewed_together"], "lift",
                                                           together_label="Sessions together"))
    yield Specimen("recommendations.related_figure/similar",
                   lambda: recommend_charts.related_figure(recommendations["similar"], "similarity"))
    yield Specimen("recommendations.leaderboard_figure/sample",
                   lambda: recommend_charts.leaderboard_figure(recommendations["leaderboard"], "ndcg@10"))


def _cached(cache_dir: Path, warehouse: Path, name: str, compute: Callable[[], dict]) -> dict:
    stat = warehouse.stat()
    key = hashlib.sha1(f"{warehouse.resolve()}:{stat.st_mtime_ns}:{stat.st_size}".encode()).hexdigest()[:16]
    path = cache_dir / f"{name}-{key}.pickle"
    if path.exists():
        with path.open("rb") as handle:
            return pickle.load(handle)
    print(f"Training the models for the gallery once (cached in {path})…", flush=True)
    result = compute()
    cache_dir.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    with temporary.open("wb") as handle:
        pickle.dump(result, handle)
    os.replace(temporary, path)
    return result


# --------------------------------------------------------------------------- hand-made odd inputs


def odd_specimens() -> Iterator[Specimen]:
    """The thin and odd inputs of the figure tests (tests/charts_fixtures.py), drawn in the browser too."""
    from tests.charts_fixtures import chart_cases

    for case in chart_cases():
        yield Specimen(f"{case.function}/{case.input}", case.build, hover=case.hover)


# --------------------------------------------------------------------------- the browser

CHECK_SCRIPT = r"""
(div) => {
  const problems = [];
  const box = div.getBoundingClientRect();
  const texts = [];
  for (const node of div.querySelectorAll('svg text')) {
    if (!node.textContent.trim() || node.closest('.hoverlayer')) continue;
    let hidden = false;
    for (let element = node; element && element !== div; element = element.parentElement) {
      const style = getComputedStyle(element);
      if (style.display === 'none' || style.visibility === 'hidden' || parseFloat(style.opacity) === 0) {
        hidden = true; break;
      }
    }
    if (hidden) continue;
    const rect = node.getBoundingClientRect();
    if (rect.width < 1 || rect.height < 1) continue;
    const matrix = node.getCTM();
    const scale = matrix ? Math.hypot(matrix.a, matrix.b) : 1;
    const size = parseFloat(getComputedStyle(node).fontSize) * scale;
    const group = (node.getAttribute('class') || '') + '|' + (node.parentElement.getAttribute('class') || '');
    const rotated = matrix ? Math.abs(matrix.b) > 1e-3 : false;
    texts.push({text: node.textContent.slice(0, 60), rect, size, group, rotated});
  }
  for (const t of texts) {
    const r = t.rect;
    const out = Math.max(box.left - r.left, r.right - box.right, box.top - r.top, r.bottom - box.bottom);
    if (out > 1.5) problems.push(`clipped by ${out.toFixed(0)} px: "${t.text}"`);
    if (t.size < 9) problems.push(`text ${t.size.toFixed(1)} px: "${t.text}"`);
  }
  // Rotated labels (Plotly turns crowded category labels 30 or 90 degrees) have axis-aligned boxes that
  // overlap even where the glyphs do not, so only upright text is compared.
  for (let i = 0; i < texts.length; i++) {
    if (texts[i].rotated) continue;
    for (let j = i + 1; j < texts.length; j++) {
      if (texts[j].rotated) continue;
      const a = texts[i].rect, b = texts[j].rect;
      const width = Math.min(a.right, b.right) - Math.max(a.left, b.left);
      const height = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      if (width <= 2 || height <= 2) continue;
      const smaller = Math.min(a.width * a.height, b.width * b.height);
      if (width * height > 0.15 * smaller) {
        problems.push(`overlap: "${texts[i].text}" and "${texts[j].text}"`);
      }
    }
  }
  const marks = [...div.querySelectorAll(
    '.trace path, .trace image, .heatmaplayer image, .hm image, .sankey-link, .sankey-node rect, .gl-container canvas')]
    .filter(element => {
      const r = element.getBoundingClientRect();
      // A bar must have both sides (a lone day's bar can be 0 px wide); a line or a link one.
      return element.closest('.bars') ? r.width >= 1 && r.height >= 1 : r.width >= 1 || r.height >= 1;
    });
  const annotations = div.querySelectorAll('.annotation-text');
  if (marks.length === 0 && annotations.length === 0) problems.push('blank: no marks and no message');
  return problems;
}
"""

HOVER_SCRIPT = r"""
(div) => {
  const labels = [];
  const fillOf = element => element ? getComputedStyle(element).fill : null;
  for (const text of div.querySelectorAll('.hoverlayer text')) {
    if (!text.textContent.trim()) continue;
    const group = text.closest('g.hovertext') || text.closest('g.legend');
    let background = null;
    if (group) {
      const shape = group.querySelector('path, rect.bg');
      background = fillOf(shape);
    }
    labels.push({text: text.textContent.slice(0, 60), color: getComputedStyle(text).fill, background});
  }
  return labels;
}
"""


def render(specimens: list[Specimen], out: Path, widths: dict[str, int] | None = None) -> None:
    """Render every specimen at each width (default `WIDTHS`), check it in the browser and write its PNGs."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.is_file():
        raise SystemExit(f"{CHROMIUM} is not installed; install Debian's chromium package")
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 900}, device_scale_factor=1)
            # Offline: nothing but this page and the local plotly.js.
            page.route("**/*", lambda route: route.abort() if route.request.url.startswith(("http", "ws"))
                       else route.continue_())
            page.set_content("<!doctype html><html><body style='margin:0;background:white;"
                             "font-family:sans-serif'><div id='holder'></div></body></html>")
            page.add_script_tag(path=str(PLOTLY_JS))
            for specimen in specimens:
                _render_one(page, specimen, out, widths or WIDTHS)
        finally:
            browser.close()


def _render_one(page, specimen: Specimen, out: Path, widths: dict[str, int]) -> None:
    try:
        specimen.figure = specimen.build()
    except Exception as error:  # noqa: BLE001 - a chart that raises is a finding, not a crash of the gallery
        specimen.problems.append(f"raised {type(error).__name__}: {error}")
        return
    figure_json = specimen.figure.to_json()
    height = int(specimen.figure.layout.height or 450)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", specimen.name)
    for size, width in widths.items():
        page.evaluate(
            """([figure, width, height]) => {
                const holder = document.getElementById('holder');
                holder.innerHTML = '';
                const div = document.createElement('div');
                div.id = 'chart'; div.style.width = width + 'px'; div.style.height = height + 'px';
                holder.appendChild(div);
                const parsed = JSON.parse(figure);
                return Plotly.newPlot(div, parsed.data, parsed.layout,
                                      {displayModeBar: false, responsive: false});
            }""",
            [figure_json, width, height],
        )
        page.wait_for_timeout(60)
        chart = page.locator("#chart")
        for problem in chart.evaluate(CHECK_SCRIPT):
            specimen.problems.append(f"{size}: {problem}")
        path = out / f"{stem}.{size}.png"
        chart.screenshot(path=str(path))
        specimen.files[size] = path.name
        if specimen.hover and size == "half":
            _hover(page, specimen, out, stem)


def _hover(page, specimen: Specimen, out: Path, stem: str) -> None:
    selectors = [".sankey-link", ".cartesianlayer .trace .point", ".cartesianlayer .trace path.js-line",
                 ".cartesianlayer .heatmaplayer image", ".cartesianlayer .hm image", ".cartesianlayer .trace path"]
    chart = page.locator("#chart")
    for selector in selectors:
        marks = chart.locator(selector)
        if marks.count() == 0:
            continue
        mark = marks.nth(min(marks.count() - 1, marks.count() // 2))
        box = mark.bounding_box()
        if not box or box["width"] * box["height"] == 0 and selector != ".cartesianlayer .trace path.js-line":
            continue
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_timeout(150)
        break
    labels = chart.evaluate(HOVER_SCRIPT)
    if not labels:
        # The mark's centre can miss a thin line or a one-pixel bar: ask Plotly to hover a point instead.
        page.evaluate("""() => {
            const div = document.getElementById('chart');
            const index = div.data.findIndex(trace => trace.hoverinfo !== 'skip' && trace.type !== 'sankey');
            if (index >= 0) Plotly.Fx.hover(div, [{curveNumber: index, pointNumber: 0}]);
        }""")
        page.wait_for_timeout(150)
        labels = chart.evaluate(HOVER_SCRIPT)
    if not labels:
        # WebGL traces answer only to the mouse: move it onto the first point of the first trace.
        point = page.evaluate("""() => {
            const div = document.getElementById('chart');
            const layout = div._fullLayout, trace = div._fullData[0];
            if (!trace || !trace.x || !trace.x.length) return null;
            const xaxis = layout[(trace.xaxis || 'x').replace('x', 'xaxis')];
            const yaxis = layout[(trace.yaxis || 'y').replace('y', 'yaxis')];
            const box = div.getBoundingClientRect();
            return [box.left + xaxis._offset + xaxis.d2p(trace.x[0]), box.top + yaxis._offset + yaxis.d2p(trace.y[0])];
        }""")
        if point:
            page.mouse.move(point[0], point[1])
            page.wait_for_timeout(200)
            labels = chart.evaluate(HOVER_SCRIPT)
    if not labels:
        specimen.problems.append("hover: no hover label appeared")
    for label in labels:
        if not label["background"] or not label["color"]:
            continue
        ratio = contrast_ratio(_css_colour(label["color"]), _css_colour(label["background"]))
        if ratio < MIN_HOVER_CONTRAST:
            specimen.problems.append(f"hover: contrast {ratio:.1f} for \"{label['text']}\" "
                                     f"({label['color']} on {label['background']})")
    path = out / f"{stem}.hover.png"
    chart.screenshot(path=str(path))
    specimen.files["hover"] = path.name
    page.mouse.move(0, 0)


def _css_colour(value: str) -> str:
    return value if value.startswith(("#", "rgb")) else "#000000"


# --------------------------------------------------------------------------- report


def write_report(specimens: list[Specimen], out: Path) -> None:
    report = [{"name": specimen.name, "problems": specimen.problems, "files": specimen.files}
              for specimen in specimens]
    temporary = out / "report.json.tmp"
    temporary.write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    os.replace(temporary, out / "report.json")
    rows = []
    for specimen in specimens:
        images = "".join(f"<div><small>{size}</small><br><img src='{html.escape(name)}' style='max-width:100%'></div>"
                         for size, name in specimen.files.items())
        problems = "".join(f"<li>{html.escape(problem)}</li>" for problem in specimen.problems)
        rows.append(f"<section><h3>{html.escape(specimen.name)}</h3><ul style='color:#C92A2A'>{problems}</ul>"
                    f"<div style='display:flex;gap:16px;align-items:flex-start'>{images}</div></section>")
    page = "<!doctype html><meta charset='utf-8'><title>ShopLens figure gallery</title>" + "".join(rows)
    temporary = out / "index.html.tmp"
    temporary.write_text(page, encoding="utf-8")
    os.replace(temporary, out / "index.html")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warehouse", type=Path,
                        default=Path(os.environ.get("SHOPLENS_WAREHOUSE", ".shoplens/warehouse.duckdb")))
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "test-output" / "gallery")
    parser.add_argument("--only", default="", help="draw only specimens whose name contains this text")
    parser.add_argument("--skip-models", action="store_true", help="leave out the charts that need trained models")
    parser.add_argument("--skip-odd", action="store_true", help="leave out the hand-made odd inputs")
    arguments = parser.parse_args(argv)

    import duckdb

    specimens: list[Specimen] = []
    if arguments.warehouse.exists():
        with duckdb.connect(str(arguments.warehouse), read_only=True) as con:
            specimens += list(engine_specimens(con, arguments.warehouse, arguments.out / ".cache",
                                               not arguments.skip_models))
    else:
        print(f"{arguments.warehouse} does not exist; drawing the hand-made inputs only", file=sys.stderr)
    if not arguments.skip_odd:
        specimens += list(odd_specimens())
    specimens = [specimen for specimen in specimens if arguments.only in specimen.name]
    started = time.perf_counter()
    render(specimens, arguments.out)
    write_report(specimens, arguments.out)
    failed = [specimen for specimen in specimens if specimen.problems]
    for specimen in failed:
        print(f"{specimen.name}:")
        for problem in specimen.problems:
            print(f"  {problem}")
    print(f"{len(specimens)} figures rendered in {time.perf_counter() - started:.0f} s to {arguments.out}; "
          f"{len(failed)} with problems")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
