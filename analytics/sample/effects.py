"""The behavioural knobs of the sample shop and the effects they plant.

Every number that shapes traffic or conversion lives here, so the docs
(`docs/sample-data.md`), the tests and later analyses can name the effect they
expect to recover. ``PLANTED_EFFECTS`` is the short list of effects an analysis
should find; the other constants make the data look like a shop.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from analytics.calendar import festival_calendar

# --- Planted effect 1: price-sensitive cart abandonment ----------------------
EXPENSIVE_PRICE_RATIO = 1.5  # "expensive" = list price > 1.5x its category_path's median list price
EXPENSIVE_PURCHASE_FACTOR = 0.5  # expensive carts are bought at half the rate of other carts
CART_PRICE_ELASTICITY = 0.5  # cart probability ~ (list price / leaf median) ** -0.5, clipped
CART_PRICE_FACTOR_RANGE = (0.5, 1.5)

# --- Planted effect 2: festivals lift traffic and conversion -----------------
# Traffic multiplier by (festival, phase) of analytics.calendar; overlapping
# festivals multiply.
FESTIVAL_TRAFFIC_LIFT: dict[tuple[str, str], float] = {
    ("Singles' Day", "peak"): 3.5,
    ("Singles' Day", "run_up"): 1.3,
    ("618", "peak"): 3.0,
    ("618", "run_up"): 1.25,
    ("Black Friday", "peak"): 3.0,
    ("Black Friday", "tail"): 1.6,
    ("Cyber Monday", "peak"): 2.5,
    ("Christmas", "run_up"): 1.15,
    ("Christmas", "peak"): 0.85,
    ("Christmas", "tail"): 1.3,
    ("New Year", "run_up"): 0.9,
    ("New Year", "peak"): 0.8,
}
# Session purchase propensity multiplier on festival days (on top of the
# sitewide festival discounts, which lift conversion through effect 7).
FESTIVAL_CONVERSION_LIFT: dict[tuple[str, str], float] = {
    ("Singles' Day", "peak"): 1.5,
    ("618", "peak"): 1.5,
    ("Black Friday", "peak"): 1.5,
    ("Cyber Monday", "peak"): 1.5,
    ("Singles' Day", "run_up"): 1.1,
    ("618", "run_up"): 1.1,
    ("Black Friday", "tail"): 1.2,
}
# On the 618 and Singles' Day peaks a share of the day's visits pile into the
# first hour after midnight, when the sale opens.
MIDNIGHT_RUSH_FESTIVALS = ("618", "Singles' Day")
MIDNIGHT_RUSH_SHARE = 0.15

# --- Planted effect 3: weekly pattern -----------------------------------------
WEEKDAY_TRAFFIC = (0.94, 0.92, 0.94, 0.96, 1.00, 1.20, 1.24)  # Monday .. Sunday

# --- Planted effects 4-6: who converts ----------------------------------------
DEVICE_CONVERSION: dict[str, float] = {"desktop": 1.0, "mobile": 0.55, "tablet": 0.8, "app": 1.4}
CHANNEL_CONVERSION: dict[str, float] = {
    "direct": 1.2,
    "organic_search": 1.0,
    "paid_search": 0.95,
    "social": 0.6,
    "email": 2.0,
    "referral": 0.9,
    "affiliate": 1.05,
}
FIRST_SESSION_CONVERSION = 0.5  # a user's first visit vs their later visits (1.0)

# --- Planted effect 7: promotions ---------------------------------------------
# In-scope products: cart probability x (1 + PROMO_CART_LIFT * discount_rate),
# purchase-given-cart x (1 + PROMO_PURCHASE_LIFT * discount_rate).
PROMO_CART_LIFT = 2.0
PROMO_PURCHASE_LIFT = 1.0
SITEWIDE_PROMO_TRAFFIC = 1.15
CATEGORY_PROMO_TRAFFIC = 1.05
FLASH_SALE_ATTRACTION = 0.25  # share of flash-sale-day visits drawn to the promoted category

# --- Base behaviour -----------------------------------------------------------
# Session purchase propensity is split evenly between the cart and the checkout
# step (each gets its square root), so a multiplier m on it moves session
# conversion by about m.
BASE_CART_RATE = 0.05  # per first view of a product in a session
BASE_PURCHASE_RATE = 0.45  # per cart
MAX_CART_RATE = 0.9
MAX_PURCHASE_RATE = 0.95
USER_PURCHASE_SIGMA = 0.6  # lognormal spread of users' purchase propensity (mean 1)
FAVORITE_RATE = 0.04  # per first view
REMOVE_RATE = 0.35  # share of abandoned carts that are explicitly removed
QUANTITY_WEIGHTS = (0.85, 0.11, 0.04)  # quantity 1, 2, 3 per cart line

SEARCH_RATE = 0.3  # share of sessions opening with a search
SEARCH_ONLY_RATE = 0.12  # share of search sessions that end without a product view
CHINESE_QUERY_SHARE = 0.25
VIEW_GEOMETRIC_P = 0.3  # views per session ~ Geometric(0.3): mean 3.3
MAX_VIEWS = 30
FOCUS_SHARE = 0.75  # share of a session's views inside its focus leaf
FAVORITE_FOCUS_SHARE = 0.65  # share of sessions whose focus is in a favourite top-level category
FIRST_FAVORITE_SHARE = 0.7  # of those, share on the first favourite (the rest on the second)

# Inter-event gaps in seconds: exponential with these means, clipped to stay
# well under the 30-minute sessionisation timeout.
VIEW_GAP_SECONDS = 45.0
CART_GAP_SECONDS = 20.0
FAVORITE_GAP_SECONDS = 6.0
REMOVE_GAP_SECONDS = 30.0
CHECKOUT_GAP_SECONDS = 90.0
MAX_GAP_SECONDS = 900.0
SESSION_SEPARATION_SECONDS = 31 * 60  # visits of one user are > 30 minutes apart

# --- Users --------------------------------------------------------------------
BOUNCE_RATE = 0.45  # users who never come back after their first visit
MEAN_LIFETIME_DAYS = 200.0  # exponential lifetime of returning users
VISIT_RATE_SHAPE = 0.8  # gamma shape of returning users' visit rates
MEAN_VISITS_PER_DAY = 0.06  # mean visit rate of returning users on an average day
ACQUISITION_GROWTH_PER_YEAR = 2.0  # new users per day double over a year
PREFERRED_DEVICE_SHARE = 0.8
DEVICE_SHARES: dict[str, float] = {"desktop": 0.28, "mobile": 0.5, "tablet": 0.07, "app": 0.15}
ACQUISITION_SHARES: dict[str, float] = {
    "direct": 0.14,
    "organic_search": 0.28,
    "paid_search": 0.18,
    "social": 0.2,
    "email": 0.03,
    "referral": 0.09,
    "affiliate": 0.08,
}
# Channels of later visits; "acquisition" stands for the user's own acquisition channel.
RETURN_CHANNEL_SHARES: dict[str, float] = {
    "direct": 0.3,
    "email": 0.15,
    "organic_search": 0.15,
    "acquisition": 0.3,
    "paid_search": 0.05,
    "social": 0.05,
}
REGION_SHARES: dict[str, float] = {
    "East China": 0.22,
    "South China": 0.16,
    "North China": 0.13,
    "Central & West China": 0.1,
    "Hong Kong & Taiwan": 0.05,
    "Southeast Asia": 0.1,
    "North America": 0.13,
    "Europe": 0.11,
}
SECOND_FAVORITE_RATE = 0.5  # users with a second favourite top-level category

# Visits per hour of day (UTC), evening peak at 21:00.
HOURLY_TRAFFIC = (
    2.0, 1.0, 0.6, 0.4, 0.3, 0.4, 0.8, 1.6, 2.6, 3.2, 3.6, 4.0,
    4.6, 4.4, 3.8, 3.6, 3.8, 4.2, 4.6, 5.4, 6.4, 7.0, 6.2, 4.0,
)

PLANTED_EFFECTS: dict[str, str] = {
    "expensive_cart_abandonment": (
        f"Carts of products listed above {EXPENSIVE_PRICE_RATIO}x their category_path's median list price "
        f"are bought at {EXPENSIVE_PURCHASE_FACTOR}x the rate of other carts."
    ),
    "festival_lift": (
        "Festival peaks have about 3x typical traffic (Singles' Day 3.5x, 618 and Black Friday 3x, Cyber Monday 2.5x) "
        "and higher session conversion (1.5x propensity plus the sitewide festival discount)."
    ),
    "weekly_pattern": "Saturday and Sunday carry about 1.25x the traffic of an average weekday.",
    "device_conversion": (
        "Session purchase propensity by device: app 1.4, desktop 1.0, tablet 0.8, mobile 0.55."
    ),
    "returning_users": (
        f"A user's first session converts at {FIRST_SESSION_CONVERSION}x the propensity of their later sessions."
    ),
    "email_converts_best": (
        "Session purchase propensity by channel: email 2.0, direct 1.2, affiliate 1.05, organic 1.0, "
        "paid 0.95, referral 0.9, social 0.6."
    ),
    "promotion_lift": (
        f"Products in scope of an active promotion at discount rate r are carted (1 + {PROMO_CART_LIFT} r)x "
        f"and bought-given-cart (1 + {PROMO_PURCHASE_LIFT} r)x as often, at the discounted price."
    ),
    "visit_frequency": (
        f"{1 - BOUNCE_RATE:.0%} of users return, each at their own rate (gamma, shape {VISIT_RATE_SHAPE}, "
        f"mean {MEAN_VISITS_PER_DAY} visits per day) until an exponential lifetime (mean {MEAN_LIFETIME_DAYS:.0f} "
        "days) ends; the others never come back. So a user's past gap between visits predicts whether they "
        "visit, buy or lapse next."
    ),
    "favourite_categories": (
        f"Every user has one or two favourite top-level categories ({SECOND_FAVORITE_RATE:.0%} draw a second); "
        f"{FAVORITE_FOCUS_SHARE:.0%} of their visits focus on a leaf inside one ({FIRST_FAVORITE_SHARE:.0%} of those "
        "on the first), so a user's past categories predict the products they view and buy next."
    ),
}


def festival_multipliers(start: dt.date, days: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return per-day festival traffic lift, conversion lift and midnight-rush flag.

    Args:
        start: first day of the sample.
        days: number of days.

    Returns:
        (traffic, conversion, midnight_rush): float64, float64 and bool arrays of length ``days``;
        1.0 / False on days without a festival.
    """
    traffic = np.ones(days)
    conversion = np.ones(days)
    rush = np.zeros(days, dtype=bool)
    calendar = festival_calendar(start, start + dt.timedelta(days=days - 1))
    offsets = (calendar["date"].dt.date - start).map(lambda delta: delta.days).to_numpy(dtype=np.int64)
    for offset, festival, phase in zip(offsets, calendar["festival"], calendar["phase"]):
        traffic[offset] *= FESTIVAL_TRAFFIC_LIFT.get((festival, phase), 1.0)
        conversion[offset] *= FESTIVAL_CONVERSION_LIFT.get((festival, phase), 1.0)
        rush[offset] |= phase == "peak" and festival in MIDNIGHT_RUSH_FESTIVALS
    return traffic, conversion, rush


def base_traffic(start: dt.date, days: int) -> np.ndarray:
    """Return the weekly x yearly traffic shape per day, before festivals and promotions.

    Args:
        start: first day of the sample.
        days: number of days.

    Returns:
        float64 array of length ``days``, around 1.0 (weekends ~1.2, winter a little higher).
    """
    dates = np.arange(days) + np.datetime64(start, "D")
    weekday = (dates.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    day_of_year = (dates - dates.astype("datetime64[Y]")).astype(np.int64)
    yearly = 1.0 + 0.08 * np.cos(2.0 * np.pi * (day_of_year - 355) / 365.25)
    return np.asarray(WEEKDAY_TRAFFIC)[weekday] * yearly
