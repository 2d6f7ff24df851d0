"""How the sample shop's visitors behave, as whole-array numpy steps.

users -> visits -> product views (with favourites, carts, removals, purchases)
-> timed, ordered events. Each step takes the generator of its chunk and
returns plain arrays; nothing loops over users, visits or events. The knobs
are in ``analytics.sample.effects``; ``analytics.sample.generator`` turns the
arrays into tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analytics import schema as canonical
from analytics.sample import effects as fx
from analytics.sample.catalog import QUERIES_EN, QUERIES_ZH, TOP_LEVEL_NAMES, Catalog
from analytics.sample.promotions import PromotionSchedule

US_PER_SECOND = 1_000_000
US_PER_DAY = 86_400 * US_PER_SECOND
REGIONS: tuple[str, ...] = tuple(fx.REGION_SHARES)
EVENT_CODE: dict[str, int] = {name: code for code, name in enumerate(canonical.EVENT_TYPES)}
# Events are ordered by one int64 key (visit, slot, sub) with 6 bits for slot
# and sub, which bounds the views per visit.
_KEY_BITS = 6
assert fx.MAX_VIEWS + 3 <= 1 << _KEY_BITS


@dataclass(frozen=True)
class World:
    """Everything shared by all user chunks of one sample; day indexes count from its start."""

    days: int
    catalog: Catalog
    promotions: PromotionSchedule
    cum_traffic: np.ndarray  # (days,) cumulative traffic multiplier, C[d] = sum over days 0..d
    mean_traffic: float
    cum_acquisition: np.ndarray  # (days,) cumulative new-user density
    conversion: np.ndarray  # (days,) festival conversion multiplier
    rush: np.ndarray  # (days,) bool, midnight-rush days
    hour_cdf: np.ndarray  # (24,) cumulative hourly profile, ends at 1
    top_cum_weight: np.ndarray  # (n_top + 1,) cumulative top-level popularity
    start_us: int  # midnight of the first day, microseconds since the epoch


@dataclass(frozen=True)
class Users:
    """One row per simulated user of a chunk."""

    acquired: np.ndarray  # int day of the first visit
    last_day: np.ndarray  # int last day the user may come back (== acquired for one-visit users)
    returns: np.ndarray  # int number of later visits
    propensity: np.ndarray  # float purchase propensity, lognormal with mean 1
    preferred_device: np.ndarray  # int index into DEVICES
    acquisition_channel: np.ndarray  # int index into CHANNELS
    region: np.ndarray  # int index into REGIONS
    favorite: np.ndarray  # int top-level category
    second_favorite: np.ndarray  # int top-level category (== favorite for users with one)


@dataclass(frozen=True)
class Visits:
    """One row per visit, sorted by (user, start)."""

    user: np.ndarray  # int user index within the chunk
    day: np.ndarray  # int
    start: np.ndarray  # int64 microseconds since the epoch
    is_first: np.ndarray  # bool, the user's first visit
    device: np.ndarray  # int index into DEVICES
    channel: np.ndarray  # int index into CHANNELS
    propensity: np.ndarray  # float purchase propensity of the visit
    focus: np.ndarray  # int leaf category most of the visit's views and its search are about
    searches: np.ndarray  # bool, opens with a search
    n_views: np.ndarray  # int product views, 0..MAX_VIEWS
    query: np.ndarray  # int index into Catalog.queries


@dataclass(frozen=True)
class Views:
    """One row per product view, grouped by visit in view order."""

    visit: np.ndarray  # int
    position: np.ndarray  # int 0-based position within the visit
    product: np.ndarray  # int product index
    price: np.ndarray  # float shown price, list price minus unit_discount
    unit_discount: np.ndarray  # float promotion discount per unit, cents
    quantity: np.ndarray  # int32 units if carted, 1..3
    carted: np.ndarray  # bool
    favorited: np.ndarray  # bool
    bought: np.ndarray  # bool (implies carted)
    removed: np.ndarray  # bool (carted, not bought, removed explicitly)


@dataclass(frozen=True)
class Events:
    """Kept events in output order: by visit rank, then time."""

    visit: np.ndarray  # int visit index
    type: np.ndarray  # int8 index into EVENT_TYPES
    view: np.ndarray  # int view row the event refers to, -1 for searches
    time: np.ndarray  # int64 microseconds since the epoch
    kept_visits: np.ndarray  # int visit indexes in output order (by user, start)
    visit_rank: np.ndarray  # int output number of each visit, -1 if dropped
    visit_start: np.ndarray  # int64 start of each visit after the midnight shift


def _choice(rng: np.random.Generator, shares: dict[str, float], values: tuple[str, ...], size: int) -> np.ndarray:
    """Draw indexes into ``values`` with the given shares (missing values get 0)."""
    p = np.array([shares.get(v, 0.0) for v in values])
    return rng.choice(len(values), size=size, p=p / p.sum())


def weighted_in_range(rng: np.random.Generator, cum: np.ndarray, first: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """Draw one index per row from [first, stop), weighted.

    Args:
        rng: generator.
        cum: cumulative weights with a leading 0 ([0, w0, w0+w1, ...]).
        first: int array, first allowed index per row.
        stop: int array, one past the last allowed index per row (> first).

    Returns:
        int array of drawn indexes, first <= index < stop.
    """
    lo, hi = cum[first], cum[stop]
    picked = np.searchsorted(cum, lo + rng.random(len(first)) * (hi - lo), side="right") - 1
    return np.clip(picked, first, stop - 1)


def draw_users(rng: np.random.Generator, world: World, n: int) -> Users:
    """Draw ``n`` users: acquisition day, lifetime, visit count and tastes."""
    days, cum = world.days, world.cum_traffic
    acquired = np.minimum(np.searchsorted(world.cum_acquisition, rng.random(n) * world.cum_acquisition[-1], side="right"), days - 1)
    stays = rng.random(n) >= fx.BOUNCE_RATE
    lifetime = np.where(stays, np.ceil(rng.exponential(fx.MEAN_LIFETIME_DAYS, n)), 0).astype(np.int64)
    last_day = np.minimum(acquired + lifetime, days - 1)
    # Visits ~ Poisson(rate x traffic over the active window): gamma rates make
    # the counts negative binomial, a few heavy visitors and many light ones.
    visit_rate = rng.gamma(fx.VISIT_RATE_SHAPE, fx.MEAN_VISITS_PER_DAY / fx.VISIT_RATE_SHAPE, n)
    returns = rng.poisson(visit_rate * (cum[last_day] - cum[acquired]) / world.mean_traffic)
    sigma = fx.USER_PURCHASE_SIGMA
    propensity = rng.lognormal(-sigma**2 / 2, sigma, n)
    preferred_device = _choice(rng, fx.DEVICE_SHARES, canonical.DEVICES, n)
    acquisition_channel = _choice(rng, fx.ACQUISITION_SHARES, canonical.CHANNELS, n)
    region = _choice(rng, fx.REGION_SHARES, REGIONS, n)
    everything = (np.zeros(n, np.int64), np.full(n, len(TOP_LEVEL_NAMES)))
    favorite = weighted_in_range(rng, world.top_cum_weight, *everything)
    second = weighted_in_range(rng, world.top_cum_weight, *everything)
    second = np.where(rng.random(n) < fx.SECOND_FAVORITE_RATE, second, favorite)
    return Users(acquired, last_day, returns, propensity, preferred_device, acquisition_channel, region, favorite, second)


def draw_visits(rng: np.random.Generator, world: World, users: Users) -> Visits:
    """Draw every user's visits: day, time, device, channel, intent and focus."""
    cat, promo, cum = world.catalog, world.promotions, world.cum_traffic
    n = len(users.acquired)
    # First visits sit on the acquisition day; later ones are spread over the
    # active window (acquired, last_day] in proportion to daily traffic, by
    # inverting the cumulative traffic curve.
    returner = np.repeat(np.arange(n), users.returns)
    lo, hi = cum[users.acquired[returner]], cum[users.last_day[returner]]
    return_day = np.searchsorted(cum, lo + rng.random(len(returner)) * (hi - lo), side="left")
    return_day = np.clip(return_day, users.acquired[returner] + 1, users.last_day[returner])
    user = np.concatenate([np.arange(n), returner])
    day = np.concatenate([users.acquired, return_day])
    is_first = np.concatenate([np.ones(n, bool), np.zeros(len(returner), bool)])
    n_visits = len(user)
    hour = np.searchsorted(world.hour_cdf, rng.random(n_visits), side="right")
    hour = np.where(world.rush[day] & (rng.random(n_visits) < fx.MIDNIGHT_RUSH_SHARE), 0, np.minimum(hour, 23))
    millisecond = (rng.random(n_visits) * 3_600_000).astype(np.int64)
    start = world.start_us + day * US_PER_DAY + hour * 3600 * US_PER_SECOND + millisecond * 1000

    order = np.lexsort((start, user))
    user, day, is_first, start = user[order], day[order], is_first[order], start[order]

    n_devices = len(canonical.DEVICES)
    preferred = users.preferred_device[user]
    other_device = (preferred + rng.integers(1, n_devices, n_visits)) % n_devices
    device = np.where(rng.random(n_visits) < fx.PREFERRED_DEVICE_SHARE, preferred, other_device)
    return_channels = tuple(fx.RETURN_CHANNEL_SHARES)
    drawn = _choice(rng, fx.RETURN_CHANNEL_SHARES, return_channels, n_visits)
    channel_of = np.array([canonical.CHANNELS.index(c) if c in canonical.CHANNELS else -1 for c in return_channels])
    own = users.acquisition_channel[user]
    channel = np.where(is_first | (channel_of[drawn] < 0), own, channel_of[drawn])

    device_factor = np.array([fx.DEVICE_CONVERSION[d] for d in canonical.DEVICES])
    channel_factor = np.array([fx.CHANNEL_CONVERSION[c] for c in canonical.CHANNELS])
    propensity = (
        users.propensity[user] * device_factor[device] * channel_factor[channel]
        * np.where(is_first, fx.FIRST_SESSION_CONVERSION, 1.0) * world.conversion[day]
    )

    # A visit has a focus leaf category: mostly in a favourite top-level
    # category, sometimes anywhere, on flash-sale days often the sale's.
    top = np.where(rng.random(n_visits) < fx.FIRST_FAVORITE_SHARE, users.favorite[user], users.second_favorite[user])
    flash = promo.flash_top[day]
    drawn_to_sale = (flash >= 0) & (rng.random(n_visits) < fx.FLASH_SALE_ATTRACTION)
    top = np.where(drawn_to_sale, flash, top)
    focused = drawn_to_sale | (rng.random(n_visits) < fx.FAVORITE_FOCUS_SHARE)
    leaf_in_top = weighted_in_range(rng, cat.leaf_cum_weight, cat.top_leaf_start[top], cat.top_leaf_end[top])
    n_leaves = len(cat.leaf_path)
    any_leaf = weighted_in_range(rng, cat.leaf_cum_weight, np.zeros(n_visits, np.int64), np.full(n_visits, n_leaves))
    focus = np.where(focused, leaf_in_top, any_leaf)

    searches = rng.random(n_visits) < fx.SEARCH_RATE
    n_views = np.minimum(rng.geometric(fx.VIEW_GEOMETRIC_P, n_visits), fx.MAX_VIEWS)
    n_views = np.where(searches & (rng.random(n_visits) < fx.SEARCH_ONLY_RATE), 0, n_views)
    chinese = rng.random(n_visits) < fx.CHINESE_QUERY_SHARE
    zh_slot = QUERIES_EN + rng.integers(0, QUERIES_ZH, n_visits)
    en_slot = rng.integers(0, QUERIES_EN, n_visits)
    query = focus * (QUERIES_EN + QUERIES_ZH) + np.where(chinese, zh_slot, en_slot)
    return Visits(user, day, start, is_first, device, channel, propensity, focus, searches, n_views, query)


def draw_views(rng: np.random.Generator, world: World, visits: Visits) -> Views:
    """Draw each visit's product views and what the visitor does with each product."""
    cat, promo = world.catalog, world.promotions
    n_products = cat.n_products
    visit = np.repeat(np.arange(len(visits.user)), visits.n_views)
    n_v = len(visit)
    position = np.arange(n_v) - np.repeat(np.cumsum(visits.n_views) - visits.n_views, visits.n_views)
    leaf = visits.focus[visit]
    in_focus = rng.random(n_v) < fx.FOCUS_SHARE
    product = np.where(
        in_focus,
        weighted_in_range(rng, cat.cum_weight, cat.leaf_start[leaf], cat.leaf_end[leaf]),
        weighted_in_range(rng, cat.cum_weight, np.zeros(n_v, np.int64), np.full(n_v, n_products)),
    )
    # Only a product's first view in a visit can lead to a cart, so an order
    # never lists the same product twice.
    first_view = np.zeros(n_v, bool)
    first_view[np.unique(visit * n_products + product, return_index=True)[1]] = True

    rate = promo.discount(visits.day[visit], product, cat.top[product])
    list_price = cat.list_price[product]
    # Money is in cents: the discount per unit is rounded once, so the shown
    # price and the order line's discount agree exactly.
    unit_discount = np.round(list_price * rate, 2)
    price = np.round(list_price - unit_discount, 2)
    half = np.sqrt(visits.propensity[visit])
    relative_price = list_price / cat.leaf_median[cat.leaf[product]]
    price_factor = np.clip(relative_price ** -fx.CART_PRICE_ELASTICITY, *fx.CART_PRICE_FACTOR_RANGE)
    p_cart = np.minimum(fx.BASE_CART_RATE * half * price_factor * (1 + fx.PROMO_CART_LIFT * rate), fx.MAX_CART_RATE)
    carted = first_view & cat.in_stock[product] & (rng.random(n_v) < p_cart)
    favorited = first_view & (rng.random(n_v) < fx.FAVORITE_RATE)
    quantity = rng.choice(np.arange(1, len(fx.QUANTITY_WEIGHTS) + 1), size=n_v, p=fx.QUANTITY_WEIGHTS).astype(np.int32)
    expensive = np.where(cat.expensive[product], fx.EXPENSIVE_PURCHASE_FACTOR, 1.0)
    p_buy = np.minimum(fx.BASE_PURCHASE_RATE * half * expensive * (1 + fx.PROMO_PURCHASE_LIFT * rate), fx.MAX_PURCHASE_RATE)
    bought = carted & (rng.random(n_v) < p_buy)
    removed = carted & ~bought & (rng.random(n_v) < fx.REMOVE_RATE)
    return Views(visit, position, product, price, unit_discount, quantity, carted, favorited, bought, removed)


def order_events(rng: np.random.Generator, world: World, visits: Visits, views: Views) -> Events:
    """Lay out, time and filter the events of every visit.

    Slot 0 of a visit is its search, slot 1+j its j-th view followed by that
    view's favourite and cart, then the removals, then the purchases at
    checkout. Gaps are exponential; all purchases of a checkout share one
    timestamp. Visits are moved to end by midnight and dropped when they start
    within 30 minutes of the same user's previous visit.
    """
    searches = np.flatnonzero(visits.searches)
    fav, cart = np.flatnonzero(views.favorited), np.flatnonzero(views.carted)
    remove, buy = np.flatnonzero(views.removed), np.flatnonzero(views.bought)
    pos, end_slot = views.position, visits.n_views[views.visit] + 1
    parts = [  # (visit, slot, sub, type, view row or -1, mean gap seconds)
        (searches, 0, 0, "search", np.full(len(searches), -1), 0.0),
        (views.visit, 1 + pos, 0, "view", np.arange(len(views.visit)), fx.VIEW_GAP_SECONDS),
        (views.visit[fav], 1 + pos[fav], 1, "favorite", fav, fx.FAVORITE_GAP_SECONDS),
        (views.visit[cart], 1 + pos[cart], 2, "cart", cart, fx.CART_GAP_SECONDS),
        (views.visit[remove], end_slot[remove], pos[remove], "remove_from_cart", remove, fx.REMOVE_GAP_SECONDS),
        (views.visit[buy], end_slot[buy] + 1, pos[buy], "purchase", buy, fx.CHECKOUT_GAP_SECONDS),
    ]

    def stack(field: int) -> np.ndarray:
        return np.concatenate([np.broadcast_to(part[field], len(part[0])) for part in parts])

    visit = stack(0)
    key = (((visit << _KEY_BITS) + stack(1)) << _KEY_BITS) + stack(2)
    kind = np.concatenate([np.full(len(part[0]), EVENT_CODE[part[3]], np.int8) for part in parts])
    view = stack(4)
    gap = np.concatenate([1.0 + rng.exponential(part[5], len(part[0])) for part in parts])
    order = np.argsort(key)
    visit, kind, view, gap = visit[order], kind[order], view[order], gap[order]
    n_events = len(visit)

    # Times: visit start plus the running sum of gaps within the visit.
    gap = np.minimum(gap, fx.MAX_GAP_SECONDS)
    visit_first = np.r_[True, visit[1:] != visit[:-1]]
    purchase = kind == EVENT_CODE["purchase"]
    gap[visit_first | (purchase & np.r_[False, purchase[:-1]])] = 0.0
    running = np.cumsum(np.round(gap * 1000).astype(np.int64) * 1000)
    first_index = np.flatnonzero(visit_first)
    time = visits.start[visit] + running - np.repeat(running[first_index], np.diff(np.r_[first_index, n_events]))
    end = time[np.r_[first_index[1:] - 1, n_events - 1]]

    # Visits that would run past midnight are moved earlier, so every event
    # falls on its visit's day (inside the sample) and carries that day's price.
    last_second = world.start_us + (visits.day + 1) * US_PER_DAY - US_PER_SECOND
    overflow = np.maximum(end - last_second, 0)
    start, end, time = visits.start - overflow, end - overflow, time - overflow[visit]

    # One user's visits must be > 30 minutes apart, so re-sessionising events
    # by inactivity gives back the same sessions; drop the few that are not.
    # Comparing with the latest end of all earlier visits (a running max over
    # user-offset seconds) also catches a visit nested in an earlier long one.
    user = visits.user
    by_start = np.lexsort((start, user))
    offset = user[by_start].astype(np.int64) << 32
    start_s = (start[by_start] - world.start_us) // US_PER_SECOND + offset
    end_s = -(-(end[by_start] - world.start_us) // US_PER_SECOND) + offset
    latest_end = np.maximum.accumulate(end_s)
    same_user = np.r_[False, user[by_start][1:] == user[by_start][:-1]]
    clash = same_user & (start_s < np.r_[0, latest_end[:-1]] + fx.SESSION_SEPARATION_SECONDS)
    kept_visits = by_start[~clash]
    rank = np.full(len(user), -1, np.int64)
    rank[kept_visits] = np.arange(len(kept_visits))

    keep = rank[visit] >= 0
    order = np.flatnonzero(keep)[np.argsort(rank[visit[keep]], kind="stable")]
    return Events(visit[order], kind[order], view[order], time[order], kept_visits, rank, start)
