"""The app's models by name, each with the trainer that builds its `TrainedModel`.

Trainers are found by dotted path and imported only when asked for, so a model
whose module is missing or broken is listed as "not available yet" with the
reason instead of breaking the CLI or the Explanations page. Every trainer is
called with a warehouse connection only (`trainer(con)`); its other arguments
take their defaults.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from analytics.errors import ShopLensError
from analytics.explain.trained import TrainedModel

if TYPE_CHECKING:
    import duckdb

    from analytics.explain.cards import ModelCard
    from analytics.explain.fairness import FairnessReport
    from analytics.explain.tree_shap import TrainedExplanation


@dataclass(frozen=True)
class ModelSpec:
    """One model of the app.

    Attributes:
        name: machine name, e.g. "churn_28d"; also the card's file name.
        title: for people.
        task: "classification", "regression" or "ranking".
        trainer: "package.module:function" returning a TrainedModel from a connection.
        row_label: what one explained row is, for people ("Cart", "Customer", ...).
        page: the page that uses it, for people.
        aliases: other names its trainer gives the TrainedModel (its cards are recorded under them).
        analysis: the capability its data needs (`analytics.capabilities.ANALYSES`); the model is offered
            only where the warehouse supports it, as its page is.
    """

    name: str
    title: str
    task: str
    trainer: str
    row_label: str
    page: str
    aliases: tuple[str, ...] = ()
    analysis: str = "overview"

    def card_of(self, cards: dict) -> object | None:
        """This model's entry in `cards` (name -> card), looked up by name, then by alias."""
        for key in (self.name, *self.aliases):
            if key in cards:
                return cards[key]
        return None


@dataclass(frozen=True)
class ModelAvailability:
    """Whether a model's trainer can be imported here.

    Attributes:
        spec: the model.
        is_available: the trainer imports and is callable.
        reason: why not, for people ("" when available).
    """

    spec: ModelSpec
    is_available: bool
    reason: str


MODELS: tuple[ModelSpec, ...] = (
    ModelSpec("cart_conversion", "Cart bought within 24 h", "classification",
              "analytics.explain.cart_conversion:train_cart_model", "Cart", "Cart drop-off", analysis="cart_dropoff"),
    ModelSpec("purchase_7d", "Customer buys in the next 7 days", "classification",
              "analytics.features.predictive:train_purchase_model", "Customer", "Customers", analysis="customers"),
    ModelSpec("churn_28d", "Customer churns (no activity in 28 days)", "classification",
              "analytics.features.predictive:train_churn_model", "Customer", "Customers", analysis="customers"),
    ModelSpec("recommender_ranker", "Recommendation ranker", "ranking",
              "analytics.recommend.hybrid:train_ranker_model", "User and product", "Recommendations",
              aliases=("recommendation_ranker",), analysis="recommendations"),
    ModelSpec("forecast_global", "Global demand forecast (LightGBM)", "regression",
              "analytics.forecasting.global_model:train_global_model", "Series and day", "Forecasts",
              analysis="forecasts"),
)


def model_names(models: tuple[ModelSpec, ...] | None = None) -> list[str]:
    """Every registered model name, in registry order (`models` defaults to MODELS)."""
    return [spec.name for spec in (MODELS if models is None else models)]


def find_model(name: str, models: tuple[ModelSpec, ...] | None = None) -> ModelSpec:
    """The model called `name` among `models` (default MODELS).

    Raises:
        ShopLensError: no such model; names the registered ones.
    """
    for spec in MODELS if models is None else models:
        if spec.name == name:
            return spec
    raise ShopLensError(f"there is no model {name!r}; choose one of {', '.join(model_names(models))}")


def load_trainer(spec: ModelSpec) -> Callable[..., TrainedModel]:
    """Import the model's trainer.

    Raises:
        ShopLensError: the module or function is missing or fails to import; says which.
    """
    module_name, _, function_name = spec.trainer.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ShopLensError(
            f"model {spec.name!r} is not available yet: {module_name} cannot be imported ({error})"
        ) from None
    except Exception as error:  # noqa: BLE001 - a broken module must not break the listing
        raise ShopLensError(
            f"model {spec.name!r} is not available: importing {module_name} failed "
            f"({type(error).__name__}: {error})"
        ) from None
    trainer = getattr(module, function_name, None)
    if not callable(trainer):
        raise ShopLensError(f"model {spec.name!r} is not available yet: {module_name} has no {function_name}()")
    return trainer


def availability(models: tuple[ModelSpec, ...] | None = None) -> list[ModelAvailability]:
    """Every model (default MODELS) with whether its trainer imports, in registry order."""
    result = []
    for spec in MODELS if models is None else models:
        try:
            load_trainer(spec)
        except ShopLensError as error:
            result.append(ModelAvailability(spec, False, str(error)))
        else:
            result.append(ModelAvailability(spec, True, ""))
    return result


def train_and_record(
    con: duckdb.DuckDBPyConnection,
    name: str,
    warehouse: Path | None = None,
    max_rows: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[TrainedModel, TrainedExplanation, ModelCard]:
    """Train the model called `name`, explain it with SHAP and record its card.

    Args:
        con: a warehouse connection.
        name: a registered model name.
        warehouse: the warehouse file, to record the card next to it; None records nothing.
        max_rows: SHAP rows at most (default `tree_shap.DEFAULT_MAX_ROWS`).
        progress: called with (done, total) steps: train, explain, record.

    Returns:
        (the trained model, its explanation, its card).

    Raises:
        ShopLensError: unknown name, trainer not available, or the data cannot support the model.
    """
    from analytics.explain.cards import model_card, save_card
    from analytics.explain.tree_shap import DEFAULT_MAX_ROWS, explain_trained

    report = progress or (lambda done, total: None)
    trainer = load_trainer(find_model(name))
    report(0, 3)
    trained = trainer(con)
    if not isinstance(trained, TrainedModel):
        raise ShopLensError(f"the trainer of model {name!r} returned {type(trained).__name__}, not a TrainedModel")
    report(1, 3)
    explanation = explain_trained(trained, max_rows=max_rows or DEFAULT_MAX_ROWS)
    report(2, 3)
    card = model_card(trained, explanation)
    if warehouse is not None:
        save_card(card, warehouse)
    report(3, 3)
    return trained, explanation, card


@dataclass(frozen=True)
class ModelReport:
    """Everything the Explanations page shows for one model.

    Attributes:
        trained: the TrainedModel.
        explanation: its SHAP explanation (a stated sample of the validation rows).
        card: its model card (also recorded next to the warehouse when a path was given).
        fairness: metrics and base rates across device, region, new vs returning, acquisition channel.
    """

    trained: TrainedModel
    explanation: TrainedExplanation
    card: ModelCard
    fairness: FairnessReport


def model_report(
    con: duckdb.DuckDBPyConnection,
    name: str,
    warehouse: Path | None = None,
    max_rows: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ModelReport:
    """Train, explain, card and fairness-check the model called `name` (see `train_and_record`)."""
    from analytics.explain.fairness import fairness_report

    trained, explanation, card = train_and_record(con, name, warehouse, max_rows, progress)
    return ModelReport(trained, explanation, card, fairness_report(trained))
