"""Cart drop-off against a log worked out by hand (tests/cart_log.py), an independent
plain-Python Kaplan–Meier, a plain-Python cart rule on random logs, and the sample's planted effect."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.cart_dropoff import (
    cart_states,
    curve_grid,
    kaplan_meier,
    load_cart_dropoff,
    load_carts,
    load_winback_segment,
    survival_at,
    wilson_interval,
)
from analytics.errors import ShopLensError
from analytics.filters import Filters
from analytics.sql_files import read_sql
from tests import cart_log

ALL_DAYS = Filters(date(2025, 1, 1), date(2025, 1, 10))
Z = 1.959963984540054


@pytest.fixture(scope="module")
def cart_con(tmp_path_factory):
    target = cart_log.build_cart_warehouse(tmp_path_factory.mktemp("cart_log"))
    with duckdb.connect(str(target), read_only=True) as con:
        yield con


# --------------------------------------------------------------------------- carts on the hand-built log


def test_carts_follow_the_documented_rule(cart_con):
    carts = load_carts(cart_con, ALL_DAYS).set_index("cart_id")

    assert sorted(carts.index) == sorted(cart_log.CART_IDS.values())
    for name, cart_id in cart_log.CART_IDS.items():
        expected = cart_log.HOURS_TO_PURCHASE[name]
        actual = carts.loc[cart_id, "hours_to_purchase"]
        assert (pd.isna(actual) if expected is None else actual == pytest.approx(expected)), name
        assert carts.loc[cart_id, "hours_observed"] == pytest.approx(cart_log.HOURS_OBSERVED[name]), name


def test_cart_context_is_what_was_known_at_the_cart(cart_con):
    carts = load_carts(cart_con, ALL_DAYS).set_index("cart_id")
    a, e, h, g = (carts.loc[cart_log.CART_IDS[name]] for name in "AEHG")

    # A: the view at 09:59 and the cart itself; U1 had no order yet.
    assert (a["session_depth"], a["prior_order_count"]) == (2, 0)
    # E: U1's order O1 came before; the re-add at 09:30 is after the cart so not counted.
    assert (e["session_depth"], e["prior_order_count"]) == (1, 1)
    # H: after O1 and O3.
    assert h["prior_order_count"] == 2
    # Median list price of Home > Kitchen is 20: P1 0.5x, P3 2x.
    assert (a["price_ratio"], a["price_band"]) == (0.5, "under 0.75x median")
    assert (g["price_ratio"], g["price_band"]) == (2.0, "over 1.5x median")
    assert g["cart_hour"] == 11


def test_counts_for_a_24_hour_window(cart_con):
    dropoff = load_cart_dropoff(cart_con, ALL_DAYS, within_hours=24)

    assert (dropoff.carts, dropoff.bought_within, dropoff.abandoned, dropoff.open, dropoff.recovered) == (7, 3, 3, 1, 1)
    # G (bought 0.5 h after carting, 1 h before the data ends) is left out of the rate: 3 of 5 closed carts.
    assert dropoff.closed == 5
    assert dropoff.abandonment_rate == pytest.approx(0.6)
    assert dropoff.recovered_rate == pytest.approx(1 / 3)
    assert dropoff.km_abandonment_rate == pytest.approx(4 / 7)
    assert dropoff.data_end_at == datetime(2025, 1, 10, 12, 0)


def test_a_cart_near_the_data_end_is_censored_not_abandoned(cart_con):
    # D was carted 11 hours before the data ends: open for a 24 h window,
    # abandoned once the window is shorter than what was observed.
    day = load_cart_dropoff(cart_con, ALL_DAYS, within_hours=24)
    ten_hours = load_cart_dropoff(cart_con, ALL_DAYS, within_hours=10)

    assert day.open == 1 and day.abandoned == 3
    assert ten_hours.open == 0
    # 10 h: A, E, G bought within; B, C, H, D abandoned (C is bought later, so recovered).
    assert (ten_hours.bought_within, ten_hours.abandoned, ten_hours.recovered) == (3, 4, 1)


def test_survival_curve_steps_at_the_hand_computed_values(cart_con):
    curve = load_cart_dropoff(cart_con, ALL_DAYS, within_hours=24, curve_hours=72).survival.set_index("hours")

    assert curve.loc[0.0, "survival"] == 1.0
    assert curve.loc[0.25, "survival"] == 1.0
    assert curve.loc[0.5, "survival"] == pytest.approx(5 / 7)
    assert curve.loc[24.0, "survival"] == pytest.approx(4 / 7)
    assert curve.loc[48.0, "survival"] == pytest.approx(8 / 21)
    assert curve.loc[72.0, "survival"] == pytest.approx(8 / 21)
    # At 24 h: B, C, H still at risk (D was censored at 11 h).
    assert curve.loc[24.0, "at_risk"] == 3


def test_filters_apply_to_the_cart(cart_con):
    mobile = load_cart_dropoff(cart_con, Filters(date(2025, 1, 1), date(2025, 1, 10), devices=("mobile",)))
    early = load_cart_dropoff(cart_con, Filters(date(2025, 1, 1), date(2025, 1, 3)))
    no_category = load_cart_dropoff(cart_con, Filters(date(2025, 1, 1), date(2025, 1, 10), categories=("Books",)))

    # Mobile: B abandoned, C abandoned and recovered, D open.
    assert (mobile.carts, mobile.abandoned, mobile.open, mobile.recovered) == (3, 2, 1, 1)
    # Carted 1-3 January: A, B, C; C's purchase on the 5th still counts.
    assert (early.carts, early.bought_within, early.abandoned, early.recovered) == (3, 1, 2, 1)
    assert no_category.is_empty and no_category.abandonment_rate is None


def test_breakdowns_add_up_and_match_the_log(cart_con):
    dropoff = load_cart_dropoff(cart_con, ALL_DAYS)

    for table in dropoff.breakdowns.values():
        assert table["carts"].sum() == 7
        assert table["abandoned"].sum() == 3
    devices = dropoff.breakdowns["device"].set_index("device")
    # desktop: A, E bought, H abandoned; mobile: B, C abandoned, D open; app: G bought.
    assert devices.loc["desktop", ["carts", "bought_within", "abandoned"]].tolist() == [3, 2, 1]
    assert devices.loc["mobile", ["carts", "abandoned", "open"]].tolist() == [3, 2, 1]
    assert devices.loc["desktop", "abandonment_rate"] == pytest.approx(1 / 3)
    assert math.isnan(devices.loc["app", "recovered_rate"])
    bands = dropoff.breakdowns["price_band"]
    assert bands["price_band"].tolist() == ["under 0.75x median", "0.75-1.5x median", "over 1.5x median"]
    assert bands["carts"].tolist() == [3, 3, 1]


def test_winback_segment_lists_the_abandoned_carts(cart_con):
    segment = load_winback_segment(cart_con, ALL_DAYS, within_hours=24)

    assert list(zip(segment["user_id"], segment["product_id"])) == [("U1", "P1"), ("U3", "P2"), ("U2", "P1")]
    assert segment["is_recovered"].tolist() == [False, True, False]


def test_a_non_positive_window_is_refused(cart_con):
    with pytest.raises(ShopLensError, match="positive"):
        load_cart_dropoff(cart_con, ALL_DAYS, within_hours=0)


def test_wilson_interval_matches_the_textbook_value():
    # 5 of 10: the Wilson 95 % interval is (0.2366, 0.7634).
    lower, upper = wilson_interval(pd.Series([5, 0]), pd.Series([10, 0]))
    assert lower.iloc[0] == pytest.approx(0.2366, abs=1e-4)
    assert upper.iloc[0] == pytest.approx(0.7634, abs=1e-4)
    assert math.isnan(lower.iloc[1])


# --------------------------------------------------------------------------- Kaplan–Meier


def test_kaplan_meier_by_hand():
    # Events at 1, 2, 3, 5; censored at 2 and 4.
    curve = kaplan_meier(np.array([1, 2, 2, 3, 4, 5]), np.array([1, 1, 0, 1, 0, 1], dtype=bool))

    assert curve["time"].tolist() == [1, 2, 3, 4, 5]
    assert curve["at_risk"].tolist() == [6, 5, 3, 2, 1]
    assert curve["events"].tolist() == [1, 1, 1, 0, 1]
    assert curve["censored"].tolist() == [0, 1, 0, 1, 0]
    assert curve["survival"].tolist() == pytest.approx([5 / 6, 2 / 3, 4 / 9, 4 / 9, 0.0])
    # Greenwood at t=1: Var(log S) = 1 / (6 * 5); log(-log) band.
    spread = Z * math.sqrt(1 / 30) / abs(math.log(5 / 6))
    assert curve["lower"].iloc[0] == pytest.approx((5 / 6) ** math.exp(spread))
    assert curve["upper"].iloc[0] == pytest.approx((5 / 6) ** math.exp(-spread))
    # Once S reaches 0 the band collapses onto it.
    assert curve["lower"].iloc[-1] == curve["upper"].iloc[-1] == 0.0


def test_survival_at_reads_the_step_function():
    curve = kaplan_meier(np.array([1.0, 2.0, 3.0]), np.array([True, False, True]))
    points = survival_at(curve, np.array([0.0, 0.99, 1.0, 2.5, 10.0]))

    assert points["survival"].tolist() == pytest.approx([1.0, 1.0, 2 / 3, 2 / 3, 0.0])
    assert points["at_risk"].tolist() == [3, 3, 3, 1, 0]


def reference_kaplan_meier(durations: list[float], events: list[bool]) -> dict[float, float]:
    """Plain Python: walk the distinct times in order, multiplying (1 - d / n)."""
    survival, result = 1.0, {}
    for time in sorted(set(durations)):
        at_risk = sum(1 for duration in durations if duration >= time)
        died = sum(1 for duration, event in zip(durations, events) if duration == time and event)
        survival *= 1 - died / at_risk
        result[time] = survival
    return result


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.booleans()), min_size=1, max_size=60))
def test_kaplan_meier_matches_a_plain_python_reference(subjects):
    durations = [float(duration) for duration, _ in subjects]
    events = [event for _, event in subjects]
    curve = kaplan_meier(np.array(durations), np.array(events))
    reference = reference_kaplan_meier(durations, events)

    assert curve["time"].tolist() == list(reference)
    assert curve["survival"].tolist() == pytest.approx(list(reference.values()))
    assert ((curve["lower"] <= curve["survival"] + 1e-12) & (curve["survival"] <= curve["upper"] + 1e-12)).all()
    assert curve["survival"].is_monotonic_decreasing


# --------------------------------------------------------------------------- the cart rule on random logs


def reference_carts(log: list[tuple[int, str, str, int, str]]) -> dict[int, int | None]:
    """Plain Python: walk each user's events of a product in time order; a cart opens when none is
    open and closes at the next purchase. Returns opening cart event id -> purchase minute or None."""
    carts: dict[int, int | None] = {}
    by_pair: dict[tuple[str, str], list] = {}
    for event in log:
        by_pair.setdefault((event[1], event[2]), []).append(event)
    for events in by_pair.values():
        open_cart = None
        for event_id, _, _, minute, event_type in sorted(events, key=lambda e: (e[3], e[4] == "purchase", e[0])):
            if event_type == "cart" and open_cart is None:
                open_cart = event_id
                carts[open_cart] = None
            elif event_type == "purchase" and open_cart is not None:
                carts[open_cart] = minute
                open_cart = None
    return carts


random_event = st.tuples(st.sampled_from(["U1", "U2"]), st.sampled_from(["P1", "P2"]),
                         st.integers(0, 50), st.sampled_from(["cart", "purchase", "view"]))


@settings(max_examples=60, deadline=None)
@given(st.lists(random_event, min_size=1, max_size=25))
def test_fct_carts_matches_a_plain_python_cart_rule(events):
    log = [(event_id, *event) for event_id, event in enumerate(events, start=1)]
    start = datetime(2025, 1, 1)
    frame = pd.DataFrame(log, columns=["event_id", "user_id", "product_id", "minute", "event_type"]).assign(
        event_time=lambda f: [start + timedelta(minutes=int(m)) for m in f["minute"]]
    )
    with duckdb.connect() as con:
        # The mart reads fct_events, dim_products and fct_orders; give it just those columns.
        con.register("log", frame)
        con.execute("""
            create table fct_events as select event_id, user_id, 1 as user_key, 'S' || user_id as session_id,
                event_time, cast(event_time as date) as event_date, event_type, product_id,
                'Home' as category, 'Kitchen' as subcategory, 'Acme' as brand, 10.0 as list_price,
                1 as quantity, 10.0 as price, 'desktop' as device, 'direct' as channel, false as is_returning
            from log""")
        con.execute("create table dim_products as select 'P' || i as product_id, 'Home > Kitchen' as category_path, "
                    "10.0 as list_price from range(1, 3) t(i)")
        con.execute("create table fct_orders as select 'O1' as user_id, timestamp '2025-01-01' as ordered_at limit 0")
        carts = con.execute(read_sql("marts/fct_carts")).df()

    expected = reference_carts(log)
    assert sorted(carts["cart_id"]) == sorted(expected)
    for cart_id, purchased_minute, hours in zip(carts["cart_id"], carts["purchased_at"], carts["hours_to_purchase"]):
        cart_minute = frame.loc[frame["event_id"] == cart_id, "minute"].iloc[0]
        if expected[cart_id] is None:
            assert pd.isna(purchased_minute)
        else:
            assert hours == pytest.approx((expected[cart_id] - cart_minute) / 60)


# --------------------------------------------------------------------------- the sample's planted effect


def test_expensive_carts_are_abandoned_more_on_the_sample(sample_con):
    # Planted: carts listed above 1.5x their category's median are bought at half the rate.
    last_day = date(2025, 12, 31)
    dropoff = load_cart_dropoff(sample_con, Filters(date(2025, 1, 1), last_day))
    bands = dropoff.breakdowns["price_band"].set_index("price_band")

    expensive = bands.loc["over 1.5x median"]
    for band in ("under 0.75x median", "0.75-1.5x median"):
        other = bands.loc[band]
        assert expensive["abandonment_lower"] > other["abandonment_upper"], band
        # Bought within 24 h: about half the other bands' share.
        bought_ratio = (1 - expensive["abandonment_rate"]) / (1 - other["abandonment_rate"])
        assert 0.35 < bought_ratio < 0.7, band
    assert dropoff.open < 0.01 * dropoff.carts


def test_fct_carts_keys_on_the_sample(sample_con):
    carts, unique_carts, bought, purchase_pairs = sample_con.execute("""
        select count(*), count(distinct cart_id), count(purchased_at),
               (select count(*) from (select distinct user_id, product_id, event_time from fct_events
                                      where event_type = 'purchase'))
        from fct_carts""").fetchone()
    doubled = sample_con.execute("""
        select count(*) from (select user_id, product_id, purchased_at from fct_carts
                              where purchased_at is not null group by all having count(*) > 1)""").fetchone()[0]

    assert carts == unique_carts
    # Every purchase converts at most one cart, so bought carts never exceed distinct purchases.
    assert doubled == 0 and bought <= purchase_pairs


def test_curve_grid_spans_minutes_to_the_end_with_round_marks():
    grid = curve_grid(72)

    assert grid[0] == 0 and grid[-1] == 72
    assert np.all(np.diff(grid) > 0)
    for mark in (1 / 60, 0.25, 0.5, 1, 24, 48):
        assert np.isclose(grid, mark).any(), mark


def reference_states(carts: list[tuple[float | None, float]], window: float) -> tuple[int, int, int, int]:
    """Plain Python: (bought within, abandoned, open, recovered) for (hours to purchase, hours observed) pairs."""
    bought = abandoned = still_open = recovered = 0
    for to_purchase, observed in carts:
        if to_purchase is not None and to_purchase <= window:
            bought += 1
        elif observed >= window:
            abandoned += 1
            recovered += to_purchase is not None
        else:
            still_open += 1
    return bought, abandoned, still_open, recovered


random_cart = st.tuples(st.one_of(st.none(), st.integers(0, 60)), st.integers(0, 60)).map(
    # A cart is observed at least until it is bought.
    lambda pair: (pair[0], max(pair[1], pair[0] or 0))
)


@settings(max_examples=150, deadline=None)
@given(st.lists(random_cart, min_size=1, max_size=40), st.integers(1, 48))
def test_cart_states_match_a_plain_python_reference(carts, window):
    frame = pd.DataFrame({
        "hours_to_purchase": [np.nan if to_purchase is None else float(to_purchase) for to_purchase, _ in carts],
        "hours_observed": [float(observed) for _, observed in carts],
    })
    states = cart_states(frame, window)

    assert (states[["is_bought_within", "is_abandoned", "is_open"]].sum(axis=1) == 1).all()
    assert (int(states["is_bought_within"].sum()), int(states["is_abandoned"].sum()),
            int(states["is_open"].sum()), int(states["is_recovered"].sum())) == reference_states(carts, window)


@pytest.mark.slow
@pytest.mark.parametrize("window", [1.0, 24.0, 168.0])
def test_the_narrow_reads_equal_the_full_cart_table_on_the_sample(sample_con, window):
    # load_cart_dropoff reads seven columns and load_winback_segment filters in SQL, for speed; both
    # must equal the rules applied in pandas to every column of every cart (load_carts, cart_states).
    from analytics.cart_dropoff import _data_end, summarise_carts, winback_segment

    last = sample_con.execute("select max(cart_date) from fct_carts").fetchone()[0]
    for filters in (Filters(last - timedelta(days=364), last),
                    Filters(last - timedelta(days=59), last, devices=("mobile",), categories=("Electronics",))):
        carts = load_carts(sample_con, filters)
        expected = summarise_carts(carts, filters, window, 72.0, _data_end(sample_con))
        actual = load_cart_dropoff(sample_con, filters, window)
        assert (actual.carts, actual.bought_within, actual.abandoned, actual.open, actual.recovered) == (
            expected.carts, expected.bought_within, expected.abandoned, expected.open, expected.recovered)
        assert actual.carts > 0
        pd.testing.assert_frame_equal(actual.survival, expected.survival)
        for by in expected.breakdowns:
            pd.testing.assert_frame_equal(actual.breakdowns[by], expected.breakdowns[by])
        segment = load_winback_segment(sample_con, filters, window)
        reference = winback_segment(carts, cart_states(carts, window))
        assert len(segment) == expected.abandoned
        pd.testing.assert_frame_equal(segment.astype({name: object for name in segment.columns
                                                      if isinstance(segment[name].dtype, pd.ArrowDtype)}),
                                      reference, check_dtype=False)


def test_no_rate_when_few_carts_are_decided_and_most_are_still_open():
    from analytics.cart_dropoff import CartDropoff

    # Taobao's 2 hours with a 24 h window: 9 decided (all bought) of 6,062 carts.
    thin = CartDropoff(ALL_DAYS, 24.0, None, carts=6062, bought_within=9, abandoned=0, open=6053, recovered=0,
                       closed=9, survival=None, km_abandonment_rate=0.998, breakdowns={})
    assert thin.abandonment_rate is None
    assert "Only 9 of 6,062 carts" in thin.why_no_rate and "6,053 are still within it" in thin.why_no_rate
    # 29 closed of 40 is most of them: a rate (10 / 29), and no excuse.
    enough = CartDropoff(ALL_DAYS, 24.0, None, carts=40, bought_within=19, abandoned=10, open=11, recovered=0,
                         closed=29, survival=None, km_abandonment_rate=0.3, breakdowns={})
    assert enough.abandonment_rate == pytest.approx(10 / 29) and enough.why_no_rate is None
