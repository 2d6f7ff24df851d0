"""The typed funnel question: steps, window, order mode, what to count and how to break it down.

A `FunnelQuery` is plain, hashable data (pages cache on it, the CLI builds it
from flags). `FunnelQuery.validate()` runs small validators, one rule each, and
raises `ShopLensError` with a message that says how to fix the query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Callable, Literal

from analytics.errors import ShopLensError

EVENT_TYPES: tuple[str, ...] = ("view", "search", "cart", "remove_from_cart", "purchase", "favorite")
OrderMode = Literal["ordered", "strict", "unordered"]
ORDER_MODES: tuple[str, ...] = ("ordered", "strict", "unordered")
CountBy = Literal["users", "sessions"]
COUNT_BY: tuple[str, ...] = ("users", "sessions")
# Breakdown name -> the fct_events column whose value splits the funnel.
BREAKDOWN_COLUMNS: dict[str, str] = {
    "device": "device",
    "channel": "channel",
    "category": "category",
    "new_vs_returning": "is_returning",
}
MIN_STEPS = 2
MAX_STEPS = 20
MIN_WINDOW = timedelta(seconds=1)
MAX_WINDOW = timedelta(days=365)


@dataclass(frozen=True)
class FunnelStep:
    """One step: an event type, optionally narrowed to a category, brand or product.

    Attributes:
        event_type: one of `EVENT_TYPES`.
        category: keep only events on products of this top-level category; None keeps all.
        brand: keep only events on products of this brand; None keeps all.
        product_id: keep only events on this product; None keeps all.
    """

    event_type: str
    category: str | None = None
    brand: str | None = None
    product_id: str | None = None

    @property
    def label(self) -> str:
        """Short text for people, e.g. "cart (Home)" or "view"."""
        narrowing = [value for value in (self.category, self.brand, self.product_id) if value]
        return f"{self.event_type} ({', '.join(narrowing)})" if narrowing else self.event_type


@dataclass(frozen=True)
class FunnelQuery:
    """A funnel to compute over `fct_events` (the global `Filters` are passed beside it).

    Attributes:
        steps: 2 to 20 steps, in funnel order.
        window: the conversion window, measured from the first step's event; 1 s to 365 days.
        mode: "ordered" (other events may come between steps; same-timestamp events count as in
            order, as ClickHouse `windowFunnel` does), "strict" (`windowFunnel`'s `strict_order`: any
            other event between steps ends the attempt) or "unordered" (any k of the steps within
            one window count as reaching step k). docs/funnels.md has the exact rules.
        count_by: "users" (a user counts once, at the furthest step reached) or "sessions"
            (each session is its own funnel attempt).
        breakdown: None, or a key of `BREAKDOWN_COLUMNS`: the funnel is computed separately within
            each value (only events with that value count).
    """

    steps: tuple[FunnelStep, ...]
    window: timedelta = timedelta(hours=1)
    mode: OrderMode = "ordered"
    count_by: CountBy = "users"
    breakdown: str | None = None

    def validate(self) -> FunnelQuery:
        """Check every rule and return self.

        Raises:
            ShopLensError: the first broken rule, with how to fix it.
        """
        for validator in VALIDATORS:
            validator(self)
        return self

    @property
    def window_microseconds(self) -> int:
        """The window in whole microseconds, the unit event times are compared in."""
        return self.window // timedelta(microseconds=1)

    @property
    def labels(self) -> tuple[str, ...]:
        """One label per step, numbered when two steps would read the same."""
        labels = [step.label for step in self.steps]
        if len(set(labels)) == len(labels):
            return tuple(labels)
        return tuple(f"{number}. {label}" for number, label in enumerate(labels, start=1))


def parse_steps(text: str) -> tuple[FunnelStep, ...]:
    """Parse "view,cart,purchase" (optionally "cart:Home" for a category) into steps.

    Args:
        text: comma-separated event types, each optionally followed by ":<category>".

    Returns:
        The steps, in order; not yet validated.
    """
    steps = []
    for part in text.split(","):
        event_type, _, category = part.strip().partition(":")
        steps.append(FunnelStep(event_type.strip(), category=category.strip() or None))
    return tuple(steps)


def _check_step_count(query: FunnelQuery) -> None:
    if not MIN_STEPS <= len(query.steps) <= MAX_STEPS:
        raise ShopLensError(
            f"a funnel needs {MIN_STEPS} to {MAX_STEPS} steps, got {len(query.steps)}; "
            "list them in order, like view,cart,purchase"
        )


def _check_event_types(query: FunnelQuery) -> None:
    for number, step in enumerate(query.steps, start=1):
        if step.event_type not in EVENT_TYPES:
            raise ShopLensError(
                f"step {number} has the event type {step.event_type!r}; choose from {', '.join(EVENT_TYPES)}"
            )


def _check_narrowing(query: FunnelQuery) -> None:
    for number, step in enumerate(query.steps, start=1):
        for name in ("category", "brand", "product_id"):
            value = getattr(step, name)
            if value is not None and not value.strip():
                raise ShopLensError(f"step {number} has an empty {name}; leave it out to keep every {name}")


def _check_window(query: FunnelQuery) -> None:
    if not MIN_WINDOW <= query.window <= MAX_WINDOW:
        raise ShopLensError(
            f"the conversion window {query.window} is outside 1 second to 365 days; give one like 30m, 1h or 7d"
        )


def _check_choices(query: FunnelQuery) -> None:
    if query.mode not in ORDER_MODES:
        raise ShopLensError(f"the mode {query.mode!r} is unknown; choose from {', '.join(ORDER_MODES)}")
    if query.count_by not in COUNT_BY:
        raise ShopLensError(f"counting by {query.count_by!r} is unknown; choose from {', '.join(COUNT_BY)}")
    if query.breakdown is not None and query.breakdown not in BREAKDOWN_COLUMNS:
        raise ShopLensError(
            f"the breakdown {query.breakdown!r} is unknown; choose from {', '.join(BREAKDOWN_COLUMNS)}"
        )


VALIDATORS: tuple[Callable[[FunnelQuery], None], ...] = (
    _check_step_count,
    _check_event_types,
    _check_narrowing,
    _check_window,
    _check_choices,
)
