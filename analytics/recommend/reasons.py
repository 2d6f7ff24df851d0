"""The reason next to a recommended item, in plain words, from the evidence behind it.

A pure function of its input: the recommender collects `Evidence` (which kind
of signal raised the item, by how much, and the user's past item, segment,
brand, category or price ratio it refers to) and `reason_text` turns the
strongest pieces into at most two phrases, e.g.
"bought together with Anker Power Bank; matches favourite brand Anker".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

# Kinds whose phrase names the user's past item that drove the signal.
ANCHORED_KINDS: tuple[str, ...] = ("bought_together", "viewed_together", "cooccurrence", "ease", "content")
KINDS: tuple[str, ...] = (*ANCHORED_KINDS, "als", "popularity", "trending", "brand", "category", "price")
FALLBACK_REASON = "popular with shoppers like this one"
# An item within this factor of the user's usual price is "in the usual price range".
USUAL_PRICE_LOW, USUAL_PRICE_HIGH = 0.67, 1.5


@dataclass(frozen=True)
class Evidence:
    """One signal behind a recommendation.

    Attributes:
        kind: one of KINDS.
        strength: how much the signal raised the item (a SHAP value, or a model's score); only
            positive evidence is put into words, unless nothing is positive.
        anchor: for ANCHORED_KINDS, the title of the user's past item behind the signal.
        value: the user's segment ("popularity"), the item's brand or category, or the item's
            price ÷ the user's usual price ("price").
    """

    kind: str
    strength: float
    anchor: str | None = None
    value: str | float | None = None


def phrase(evidence: Evidence) -> str | None:
    """The words for one piece of evidence, or None when it lacks what its phrase needs."""
    kind, anchor, value = evidence.kind, evidence.anchor, evidence.value
    if kind in ANCHORED_KINDS:
        if not anchor:
            return None
        return {
            "bought_together": f"bought together with {anchor}",
            "viewed_together": f"viewed together with {anchor}",
            "cooccurrence": f"often chosen with {anchor}",
            "ease": f"shoppers who chose {anchor} also chose it",
            "content": f"similar to {anchor}",
        }[kind]
    if kind == "als":
        return "liked by shoppers with similar taste"
    if kind == "popularity":
        return f"a best seller in {value}" if isinstance(value, str) and value and value != "unknown" \
            else "a best seller"
    if kind == "trending":
        return "popular right now"
    if kind == "brand":
        return f"matches favourite brand {value}" if isinstance(value, str) and value else None
    if kind == "category":
        return f"in favourite category {value}" if isinstance(value, str) and value else None
    if kind == "price":
        if not isinstance(value, (int, float)) or value != value or value <= 0:  # NaN or unknown
            return None
        if USUAL_PRICE_LOW <= value <= USUAL_PRICE_HIGH:
            return "in the usual price range"
        return "cheaper than usual picks" if value < USUAL_PRICE_LOW else "a step up from usual picks"
    return None


def reason_text(evidence: Sequence[Evidence], max_phrases: int = 2) -> str:
    """The reason for one item: the strongest positive evidence in words, each kind at most once.

    Evidence is taken strongest first (ties: in the given order); when none is positive, the
    strongest piece alone is used. Pieces whose phrase cannot be written (no anchor, no brand)
    are skipped.

    Args:
        evidence: what raised the item.
        max_phrases: phrases joined with "; ", >= 1.

    Returns:
        The reason; FALLBACK_REASON when no evidence can be put into words.
    """
    ordered = sorted(enumerate(evidence), key=lambda pair: (-pair[1].strength, pair[0]))
    chosen = [piece for _, piece in ordered if piece.strength > 0]
    if not chosen:
        chosen = [piece for _, piece in ordered][:1]
    phrases: list[str] = []
    used: set[str] = set()
    for piece in chosen:
        if piece.kind in used:
            continue
        words = phrase(piece)
        if words:
            phrases.append(words)
            used.add(piece.kind)
        if len(phrases) == max_phrases:
            break
    return "; ".join(phrases) if phrases else FALLBACK_REASON
