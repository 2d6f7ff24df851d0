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
CountBy = Literal["users", "sessions", "conversions"]
COUNT_BY: tuple[str, ...] = ("users", "sessions", "conversions")
# Breakdown name -> the fct_events column whose value splits the funnel.
BREAKDOWN_COLUMNS: dict[str, str] = {
    "device": "device",
    "channel": "channel",
    "category": "category",
    "new_vs_returning": "is_returning",
}
MIN_STEPS = 2
MAX_STEPS = 20
MAX_EXCLUSIONS = 10
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
class FunnelExclusion:
    """An excluded event between two steps: an attempt that does it between them is disqualified.

    Attributes:
        event_type: one of `EVENT_TYPES`.
        from_step, to_step: 1-based step numbers, 1 <= from_step < to_step <= number of steps. In the
            ordered and strict modes, a path through the steps that reaches `to_step` is disqualified
            when the excluded event happens after its `from_step` event and at or before its `to_step`
            event (at one timestamp the excluded event is taken before step events). Unordered funnels
            have no step order, so there the range is ignored (docs/funnels.md, "Exclusions").
        category: keep only events on products of this top-level category; None keeps all.
    """

    event_type: str
    from_step: int
    to_step: int
    category: str | None = None

    @property
    def label(self) -> str:
        """Short text for people, e.g. "remove_from_cart (Home) between steps 1 and 2"."""
        name = f"{self.event_type} ({self.category})" if self.category else self.event_type
        return f"{name} between steps {self.from_step} and {self.to_step}"


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
        count_by: "users" (a user counts once, at the furthest step reached), "sessions" (each
            session is its own funnel attempt) or "conversions" (every attempt of a user counts; see
            analytics/funnels/kernels.py for how attempts are delimited).
        breakdown: None, or a key of `BREAKDOWN_COLUMNS`: the funnel is computed separately within
            each value (only events with that value count).
        exclusions: up to `MAX_EXCLUSIONS` `FunnelExclusion`s; see docs/funnels.md, "Exclusions".
    """

    steps: tuple[FunnelStep, ...]
    window: timedelta = timedelta(hours=1)
    mode: OrderMode = "ordered"
    count_by: CountBy = "users"
    breakdown: str | None = None
    exclusions: tuple[FunnelExclusion, ...] = ()

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


def parse_exclusions(text: str) -> tuple[FunnelExclusion, ...]:
    """Parse "remove_from_cart:1-2" (optionally "cart:Home:1-3" for a category) into exclusions.

    Args:
        text: comma-separated `EVENT_TYPE[:CATEGORY]:FROM-TO`; empty text gives no exclusions.

    Returns:
        The exclusions, in order; not yet validated against the steps.

    Raises:
        ShopLensError: a part has no FROM-TO step range.
    """
    exclusions = []
    for part in filter(None, (part.strip() for part in text.split(","))):
        head, _, step_range = part.rpartition(":")
        first, dash, last = step_range.partition("-")
        if not head or not dash or not first.strip().isdigit() or not last.strip().isdigit():
            raise ShopLensError(f"the exclusion {part!r} needs a step range, like remove_from_cart:1-2 "
                                "(excluded between steps 1 and 2) or cart:Home:1-3")
        event_type, _, category = head.partition(":")
        exclusions.append(FunnelExclusion(event_type.strip(), int(first), int(last),
                                          category=category.strip() or None))
    return tuple(exclusions)


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


def _check_exclusions(query: FunnelQuery) -> None:
    if len(query.exclusions) > MAX_EXCLUSIONS:
        raise ShopLensError(f"a funnel takes at most {MAX_EXCLUSIONS} exclusions, got {len(query.exclusions)}; "
                            "drop some")
    for number, exclusion in enumerate(query.exclusions, start=1):
        if exclusion.event_type not in EVENT_TYPES:
            raise ShopLensError(f"exclusion {number} has the event type {exclusion.event_type!r}; "
                                f"choose from {', '.join(EVENT_TYPES)}")
        if exclusion.category is not None and not exclusion.category.strip():
            raise ShopLensError(f"exclusion {number} has an empty category; leave it out to keep every category")
        if not 1 <= exclusion.from_step < exclusion.to_step <= len(query.steps):
            raise ShopLensError(
                f"exclusion {number} is between steps {exclusion.from_step} and {exclusion.to_step}; "
                f"give two steps from 1 to {len(query.steps)}, the first before the second, like 1-2"
            )


VALIDATORS: tuple[Callable[[FunnelQuery], None], ...] = (
    _check_step_count,
    _check_event_types,
    _check_narrowing,
    _check_window,
    _check_choices,
    _check_exclusions,
)
