"""Every model the app trains in the background: thin adapters over the engine's public functions.

This is the one file that knows the trainers' signatures (other modules own them and may change
them); each adapter takes the job's parameters and returns the artifact pages load. The default
parameters are exactly what each page asks for with its default settings, so opening any page
with its defaults finds a trained model:

| job | artifact | used by | default parameters (as the page builds them) |
|---|---|---|---|
| cart_conversion | ModelReport | Cart drop-off panel, Explanations | all history (first..last day), 24 h window |
| forecast_global | ModelReport | Explanations | category, units, 28 days, US holidays, 3 folds |
| churn_28d, purchase_7d | ModelReport | Customers → Predictions, Explanations | none |
| clv | Clv | Customers → Value | data to the last day, calibration to the last day, week, 52, 12 months, 1% |
| clv_surrogate | ModelReport | Customers → Value panel | as clv |
| recommenders | TrainedRecommenders | Recommendations | none |
| recommender_leaderboard | Leaderboard | Recommendations → leaderboard | k = 10 |
| recommender_ranker | ModelReport | Recommendations panel, Explanations | none |
| forecast | ForecastArtifact | Forecasts | category, units, 28 days, 3 folds, US, all models, all history |
| forecast_components | DataFrame | Forecasts → Prophet's components (on request only) | none |

Jobs run in registry order, the cheapest first, so most pages are ready soon after a build.
`registered_jobs()` (the registry the worker and pages use) adds a generic job for any model of
`analytics.explain.registry.MODELS` without one here, trained with its registry trainer's defaults,
so a model added to the Explanations registry is trained in the background without touching this file.
A ModelReport (`analytics.explain.registry.ModelReport`) holds the trained model, its SHAP
explanation, its card and its fairness check; the card of a default job is also recorded beside
the warehouse (`analytics.explain.cards.save_card`) for `shoplens explain --list`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from analytics.errors import ShopLensError
from analytics.filters import Filters, last_complete_day
from analytics.models.registry import JobContext, JobSpec

CART_WINDOW_HOURS = 24.0
CLV_TIME_UNIT = "week"
CLV_HORIZONS = {"day": 365.0, "week": 52.0, "month": 12.0}
CLV_MONTHS = 12
CLV_DISCOUNT_RATE = 0.01
FORECAST_LEVEL, FORECAST_MEASURE, FORECAST_HORIZON, FORECAST_FOLDS, FORECAST_COUNTRY = "category", "units", 28, 3, "US"
LEADERBOARD_K = 10


# --------------------------------------------------------------------------- parameters as pages build them


def whole_history(connection: Any) -> Filters:
    """Every complete day of the data, no category, channel or device filter.

    A partial last day (an export cut mid-day) is left out, as the pages' default period leaves it out,
    so the models trained by default are the ones the pages ask for.

    Raises:
        ShopLensError: the warehouse has no dated events.
    """
    from analytics.overview import filter_options
    from analytics.warehouse import complete_data_end

    options = filter_options(connection)
    if options.first_date is None or options.last_date is None:
        raise ShopLensError("the warehouse has no dated events, so there is nothing to train on; "
                            "import events first")
    end = last_complete_day(options.first_date, options.last_date, complete_data_end(connection))
    return Filters(options.first_date, end)


def model_filters(filters: Filters, *, start_date: date | None = None) -> Filters:
    """The filters as a model sees them: dates and sorted category, channel and device lists.

    The comparison period and the order the filters were picked in change no model, so they are
    left out: the same data is one job.
    """
    return Filters(start_date or filters.start_date, filters.end_date, tuple(sorted(filters.categories)),
                   tuple(sorted(filters.channels)), tuple(sorted(filters.devices)))


def cart_params(filters: Filters, within_hours: float = CART_WINDOW_HOURS) -> dict[str, Any]:
    """The cart model's parameters: the carts to learn from and the window W in hours."""
    return {"filters": model_filters(filters), "within_hours": float(within_hours)}


def clv_params(filters: Filters, calibration_end: date, time_unit: str = CLV_TIME_UNIT,
               horizon: float | None = None, clv_months: int = CLV_MONTHS,
               discount_rate: float = CLV_DISCOUNT_RATE) -> dict[str, Any]:
    """The lifetime-value parameters, as `analytics.customers.clv.load_clv` takes them.

    The start date does not change the model (it needs each customer's whole history), so it is set
    to the end date: the same question from any start date is one job.
    """
    return {"filters": model_filters(filters, start_date=filters.end_date),
            "calibration_end": calibration_end, "time_unit": str(time_unit),
            "horizon": float(horizon if horizon is not None else CLV_HORIZONS[time_unit]),
            "clv_months": int(clv_months), "discount_rate": float(discount_rate)}


def forecast_global_params(level: str = FORECAST_LEVEL, measure: str = FORECAST_MEASURE,
                           horizon: int = FORECAST_HORIZON, country: str | None = FORECAST_COUNTRY,
                           folds: int = FORECAST_FOLDS) -> dict[str, Any]:
    """The global forecaster's parameters (as `train_global_model` takes them).

    The folds are part of the question: the card's MASE is the Forecasts leaderboard's for that many folds.
    """
    return {"level": str(level), "measure": str(measure), "horizon": int(horizon), "country": country,
            "folds": int(folds)}


def forecast_params(request: Any) -> dict[str, Any]:
    """A forecast run's parameters: the page's `ForecastRequest` (its filters as a model sees them)."""
    if getattr(request, "filters", None) is not None:
        request = dataclasses.replace(request, filters=model_filters(request.filters))
    return {"request": request}


def forecast_components_params(request: Any, unique_id: str) -> dict[str, Any]:
    """Prophet's components of one series of the run for `request`."""
    return forecast_params(request) | {"unique_id": str(unique_id)}


def default_forecast_request(connection: Any) -> Any:
    """The Forecasts page's request with its default settings."""
    from analytics.forecasting.models import DEFAULT_MODELS
    from analytics.forecasting.run import ForecastRequest

    return ForecastRequest(level=FORECAST_LEVEL, measure=FORECAST_MEASURE, horizon=FORECAST_HORIZON,
                           folds=FORECAST_FOLDS, country=FORECAST_COUNTRY, models=DEFAULT_MODELS,
                           planned_promotions=(), filters=whole_history(connection))


def _no_params(connection: Any) -> dict[str, Any]:
    return {}


def _clv_defaults(connection: Any) -> dict[str, Any]:
    history = whole_history(connection)
    return clv_params(history, history.end_date)


# --------------------------------------------------------------------------- the model report of any TrainedModel


def model_report(context: JobContext, trained: Any, *, record_card: bool = True) -> Any:
    """Explain a TrainedModel with SHAP, make its card (recorded for default jobs) and check fairness.

    Args:
        context: the job's context.
        trained: the TrainedModel.
        record_card: False for a model another job owns the recorded card of (the forecast run's global
            model: the card beside the warehouse is the `forecast_global` job's).
    """
    from analytics.explain.cards import model_card, save_card
    from analytics.explain.fairness import fairness_report
    from analytics.explain.registry import ModelReport
    from analytics.explain.tree_shap import explain_trained

    context.progress(1, 3, "explaining with SHAP")
    explanation = explain_trained(trained)
    card = model_card(trained, explanation)
    if context.is_default and record_card:
        save_card(card, context.warehouse)
    context.progress(2, 3, "checking fairness")
    return ModelReport(trained, explanation, card, fairness_report(trained))


# --------------------------------------------------------------------------- adapters


def run_cart_conversion(context: JobContext, params: dict[str, Any]) -> Any:
    from analytics.explain.cart_conversion import train_cart_model

    context.progress(0, 3, "training")
    return model_report(context, train_cart_model(context.connection, params["filters"], params["within_hours"]))


def _outcome_job(trainer_name: str):
    def run(context: JobContext, params: dict[str, Any]) -> Any:
        from analytics.features import predictive

        trainer = getattr(predictive, trainer_name)
        trained = trainer(context.connection, progress=lambda step, done, total: context.progress(
            done, total + 2, step))
        return model_report(context, trained)

    return run


def run_clv(context: JobContext, params: dict[str, Any]) -> Any:
    from analytics.customers.clv import load_clv

    steps = iter(range(1, 100))
    context.progress(0, 4, "reading purchases")
    return load_clv(context.connection, params["filters"], params["calibration_end"], params["time_unit"],
                    params["horizon"], params["clv_months"], params["discount_rate"],
                    progress=lambda message: context.progress(min(next(steps), 3), 4, message))


def run_clv_surrogate(context: JobContext, params: dict[str, Any]) -> Any:
    from analytics.customers.clv_explain import train_clv_explainer

    context.progress(0, 3, "fitting BG/NBD, Gamma-Gamma and the surrogate")
    trained = train_clv_explainer(context.connection, params["filters"], params["calibration_end"],
                                  params["time_unit"], params["horizon"], params["clv_months"], params["discount_rate"])
    return model_report(context, trained)


def run_forecast_global(context: JobContext, params: dict[str, Any]) -> Any:
    from analytics.forecasting.global_model import train_global_model

    context.progress(0, 3, "training")
    trained = train_global_model(context.connection, params["level"], params["measure"], params["horizon"],
                                 params["country"], params.get("folds", FORECAST_FOLDS))
    return model_report(context, trained)


def run_recommenders(context: JobContext, params: dict[str, Any]) -> Any:
    from analytics.recommend.service import train_recommenders

    return train_recommenders(context.connection, lambda step, done, total: context.progress(done, total, step))


# The leaderboard's evaluation with its fitted hybrid, kept in the worker's memory for the ranker job
# that follows it (registry order): the ranker explains that hybrid instead of fitting the same one
# again (about half a minute on the sample). Keyed by data version; one entry at most.
_KEPT_EVALUATION: dict[str, Any] = {}


def run_leaderboard(context: JobContext, params: dict[str, Any]) -> Any:
    from analytics.recommend.evaluate import evaluate_warehouse

    board = evaluate_warehouse(context.connection, params["k"], keep_hybrid=True,
                               progress=lambda step, done, total: context.progress(done, total, step))
    _KEPT_EVALUATION.clear()
    _KEPT_EVALUATION[context.data_version] = board
    # The stored leaderboard is the table the page shows; the hybrid lives on in the ranker's artifact.
    return dataclasses.replace(board, hybrid=None, validation_frame=None)


def run_ranker(context: JobContext, params: dict[str, Any]) -> Any:
    from analytics.recommend.hybrid import train_ranker_model

    context.progress(0, 3, "training the ranker on the time split")
    evaluation = _KEPT_EVALUATION.pop(context.data_version, None)
    return model_report(context, train_ranker_model(context.connection, evaluation=evaluation))


@dataclass(frozen=True)
class ForecastArtifact:
    """A finished forecast run, the SHAP explanation of its forecast days and of its global model.

    Everything the Forecasts page shows comes from the run: per series, `run.arena.champions` has the
    champion's `mase` (the leaderboard's, one definition everywhere), `msis`, `coverage_80`, `coverage_95`,
    `coverage_warning` (a sentence, or None when the backtest coverage is within 5 points of nominal) and
    `reason` (why it won); `run.arena.leaderboard` the same per model; `run.arena.forecast` the
    calibrated 80% and 95% bounds.

    Attributes:
        run: the `analytics.forecasting.run.ForecastRun`.
        day_explanations: unique_id -> `ForecastDayExplanation` of the global LightGBM model's
            forecast days (every one of them), for every series it forecast (empty when the run has no
            global model).
        global_report: the `ModelReport` of this run's own global LightGBM model (SHAP over its
            validation days, card whose MASE is the mean over the series of this run's leaderboard
            `lightgbm_global` MASE), or None when the run has no global model.
    """

    run: Any
    day_explanations: dict[str, Any]
    global_report: Any = None


def run_forecast(context: JobContext, params: dict[str, Any]) -> ForecastArtifact:
    from analytics.forecasting.day_explanation import explain_forecast_days
    from analytics.forecasting.run import run_forecast as run_arena

    request = params["request"]
    run = run_arena(context.connection, request,
                    progress=lambda done, total, what: context.progress(done, total + 1, what))
    explanations = {}
    global_model = run.arena.global_model
    if global_model is not None:
        ids = [unique_id for unique_id in run.arena.champions["unique_id"] if unique_id in global_model.series_ids_]
        for position, unique_id in enumerate(ids):
            context.progress(position, len(ids), f"explaining the forecast days of {run.label(unique_id)}")
            explanations[unique_id] = explain_forecast_days(global_model, unique_id, unit=run.series.measure)
    report = None
    if global_model is not None:
        from analytics.forecasting.global_model import global_trained_model

        trained = global_trained_model(run.arena, run.series.frame, level=run.series.level,
                                       measure=run.series.measure, data_version=context.data_version)
        report = model_report(context, trained, record_card=False)
    return ForecastArtifact(run, explanations, report)


def run_forecast_components(context: JobContext, params: dict[str, Any]) -> pd.DataFrame:
    from analytics.forecasting.run import prophet_components

    artifact = context.artifact("forecast", forecast_params(params["request"]))
    context.progress(0, 1, "fitting Prophet")
    return prophet_components(artifact.run, params["unique_id"])


JOBS: tuple[JobSpec, ...] = (
    JobSpec("cart_conversion", "Cart conversion model", "Cart drop-off", run_cart_conversion,
            lambda connection: cart_params(whole_history(connection))),
    JobSpec("forecast_global", "Global demand forecaster (LightGBM)", "Forecasts", run_forecast_global,
            lambda connection: forecast_global_params()),
    JobSpec("churn_28d", "Churn in 28 days", "Customers → Predictions", _outcome_job("train_churn_model"),
            _no_params),
    JobSpec("purchase_7d", "Purchase in 7 days", "Customers → Predictions", _outcome_job("train_purchase_model"),
            _no_params),
    JobSpec("clv_surrogate", "Lifetime value explanation (surrogate)", "Customers → Value", run_clv_surrogate,
            _clv_defaults),
    JobSpec("clv", "Lifetime value (BG/NBD + Gamma-Gamma)", "Customers → Value", run_clv,
            _clv_defaults),
    JobSpec("recommenders", "Recommenders", "Recommendations", run_recommenders, _no_params),
    JobSpec("recommender_leaderboard", "Recommender leaderboard", "Recommendations", run_leaderboard,
            lambda connection: {"k": LEADERBOARD_K}),
    JobSpec("recommender_ranker", "Recommendation ranker", "Recommendations", run_ranker, _no_params),
    JobSpec("forecast", "Default forecast run", "Forecasts", run_forecast,
            lambda connection: forecast_params(default_forecast_request(connection))),
    JobSpec("forecast_components", "Prophet's components of one series", "Forecasts", run_forecast_components, None),
)


def run_registry_model(name: str):
    """A job that trains the Explanations registry's model `name` with its defaults and reports on it."""

    def run(context: JobContext, params: dict[str, Any]) -> Any:
        from analytics.explain.registry import find_model, load_trainer

        context.progress(0, 3, "training")
        return model_report(context, load_trainer(find_model(name))(context.connection))

    return run


def registered_jobs() -> tuple[JobSpec, ...]:
    """JOBS, then a job for each Explanations registry model JOBS lacks (read now, so tests may swap MODELS)."""
    from analytics.explain.registry import MODELS

    names = {spec.name for spec in JOBS}
    return JOBS + tuple(JobSpec(model.name, model.title, model.page, run_registry_model(model.name), _no_params)
                        for model in MODELS if model.name not in names)

