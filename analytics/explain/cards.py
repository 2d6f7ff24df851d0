"""Model cards: what a trained model is, what it learned from, how well it validates, what drives it.

A card is built from a `TrainedModel` and, when available, its SHAP explanation.
Cards are recorded as JSON next to the warehouse, one folder per data version:
`<warehouse folder>/models/<data_version>/<name>.json` (for the default
warehouse `.shoplens/models/...`), so the CLI and the Explanations page can list
what was trained on the current data without retraining. The warehouse itself
stays read-only.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analytics.explain.trained import TrainedModel
from analytics.explain.tree_shap import TrainedExplanation

CARDS_FOLDER = "models"
# What each metric means, for people and for the card's legend.
METRIC_LABELS: dict[str, str] = {
    "roc_auc": "ROC AUC",
    "log_loss": "Log loss",
    "base_rate": "Base rate",
    "top_decile_lift": "Top-decile lift",
    "mase": "MASE",
    "wape": "WAPE",
    "r2": "Fidelity R²",
    "ndcg@10": "NDCG@10",
    "ndcg_at_10": "NDCG@10",
    "map@10": "MAP@10",
    "recall@10": "Recall@10",
    "precision@10": "Precision@10",
}


@dataclass(frozen=True)
class ModelCard:
    """A trained model's card (JSON-ready values only).

    Attributes:
        name, title, task, target: as in TrainedModel.
        data_version: the warehouse build it was trained on.
        trained_at: when the card was made (UTC, ISO 8601).
        parameters: estimator and training parameters.
        training_start, training_end, validation_start, validation_end: the time windows (ISO 8601).
        train_rows, validation_rows: rows in each part.
        metrics: time-split validation metrics, name -> value (NaN becomes None).
        calibration: classifiers: bin, mean_predicted, observed_rate, rows per bin; else empty.
        fit_seconds: wall time of fitting and validating.
        shap_unit: unit of the SHAP values ("log-odds", "target units", "ranking score").
        shap_rows: rows the SHAP values explain (the stated sample), shap_available_rows: before sampling.
        additivity_max_error: max |base + sum(SHAP) - output|; is_additive: within the tolerance.
        mean_abs_shap: feature -> mean |SHAP| (largest first), the global importance.
    """

    name: str
    title: str
    task: str
    target: str
    data_version: str
    trained_at: str
    parameters: dict[str, Any]
    training_start: str
    training_end: str
    validation_start: str
    validation_end: str
    train_rows: int
    validation_rows: int
    metrics: dict[str, float | None]
    calibration: list[dict[str, Any]] = field(default_factory=list)
    fit_seconds: float = 0.0
    shap_unit: str | None = None
    shap_rows: int | None = None
    shap_available_rows: int | None = None
    additivity_max_error: float | None = None
    is_additive: bool | None = None
    mean_abs_shap: dict[str, float] = field(default_factory=dict)


def model_card(trained: TrainedModel, explanation: TrainedExplanation | None = None) -> ModelCard:
    """The card of a trained model, with its SHAP summary when `explanation` is given.

    Args:
        trained: the TrainedModel.
        explanation: `explain_trained(trained)`, or None for a card without SHAP.

    Returns:
        A ModelCard whose fields are all JSON-ready.
    """
    shap_fields: dict[str, Any] = {}
    if explanation is not None:
        shap_fields = {
            "shap_unit": explanation.unit,
            "shap_rows": explanation.shap_rows,
            "shap_available_rows": explanation.available_rows,
            "additivity_max_error": float(explanation.additivity_max_error),
            "is_additive": bool(explanation.is_additive),
            "mean_abs_shap": {name: float(value) for name, value in explanation.mean_abs_shap().items()},
        }
    return ModelCard(
        name=trained.name,
        title=trained.title,
        task=trained.task,
        target=trained.target,
        data_version=str(trained.data_version),
        trained_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        parameters=json_ready(trained.parameters),
        training_start=_iso(trained.training_start),
        training_end=_iso(trained.training_end),
        validation_start=_iso(trained.validation_start),
        validation_end=_iso(trained.validation_end),
        train_rows=int(trained.train_rows),
        validation_rows=int(trained.validation_rows),
        metrics={name: json_ready(value) for name, value in trained.metrics.items()},
        calibration=json_ready(trained.calibration.to_dict("records")) if not trained.calibration.empty else [],
        fit_seconds=float(trained.fit_seconds),
        **shap_fields,
    )


def card_to_dict(card: ModelCard) -> dict[str, Any]:
    """The card as a plain dict (what the JSON file and `shoplens explain --format json` hold)."""
    return asdict(card)


def card_from_dict(document: dict[str, Any]) -> ModelCard:
    """A card read back from its JSON; unknown keys (from newer releases) are ignored."""
    known = set(ModelCard.__dataclass_fields__)
    return ModelCard(**{key: value for key, value in document.items() if key in known})


def cards_folder(warehouse: Path, data_version: str) -> Path:
    """Where the cards of one data version are kept: `<warehouse folder>/models/<data_version>/`."""
    return Path(warehouse).parent / CARDS_FOLDER / str(data_version)


def save_card(card: ModelCard, warehouse: Path) -> Path | None:
    """Record the card as `<warehouse folder>/models/<data_version>/<name>.json`.

    Returns:
        The file written, or None when the folder cannot be written (a read-only disk):
        a card is a record, never a reason to fail the page.
    """
    folder = cards_folder(warehouse, card.data_version)
    target = folder / f"{card.name}.json"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(card_to_dict(card), indent=2, allow_nan=False) + "\n", encoding="utf-8")
        # Replace in one step so a reader never sees half a card.
        temporary.replace(target)
    except OSError:
        return None
    return target


def load_cards(warehouse: Path, data_version: str) -> dict[str, ModelCard]:
    """The cards recorded for `data_version`, by model name; unreadable files are skipped."""
    folder = cards_folder(warehouse, data_version)
    cards: dict[str, ModelCard] = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            card = card_from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            continue
        cards[card.name] = card
    return cards


def json_ready(value: Any) -> Any:
    """`value` with numpy numbers, timestamps, tuples and NaN turned into JSON values (NaN -> None)."""
    if isinstance(value, dict):
        return {str(key): json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [json_ready(item) for item in value]
    if isinstance(value, np.ndarray):
        return [json_ready(item) for item in value.tolist()]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) or math.isinf(value) else float(value)
    if isinstance(value, (pd.Timestamp, datetime, date)):
        return _iso(value)
    if value is None or isinstance(value, str):
        return value
    if value is pd.NaT:
        return None
    return repr(value)


def _iso(value: Any) -> str:
    if value is None or value is pd.NaT:
        return ""
    return pd.Timestamp(value).isoformat()
