"""The funnel engine end to end on the hand-built tiny shop (tests/tiny_shop.py), counted by hand.

Journeys: U1 views, carts and buys P1 at 10:00/10:01/10:02 on Jan 1 (desktop), then views P2 and P3
on Jan 2 (mobile). U2 searches at 12:00 on Jan 2, views P2 at 12:01, carts P2 at 12:02 and P3 (Books)
at 12:03, buys both at 12:04 (mobile). U3 only views, on Jan 3 (desktop), in two sessions.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from analytics.errors import ShopLensError
from analytics.filters import Filters
from analytics.funnels import FunnelQuery, FunnelStep, count_funnel, parse_steps, run_funnel
from analytics.funnels.query import FunnelExclusion, parse_exclusions
from analytics.funnels.events_sql import step_events_sql

ALL_DAYS = Filters(date(2025, 1, 1), date(2025, 1, 3))
VIEW_CART_BUY = parse_steps("view,cart,purchase")


def counts(con, query: FunnelQuery, filters: Filters = ALL_DAYS) -> list[int]:
    return count_funnel(con, query, filters)[query.count_by].tolist()


def test_users_reaching_each_step(tiny_con) -> None:
    result = run_funnel(tiny_con, FunnelQuery(VIEW_CART_BUY, timedelta(hours=1)), ALL_DAYS)
    steps = result.steps
    assert steps["users"].tolist() == [3, 2, 2]
    assert steps["conversion_from_start"].tolist() == pytest.approx([1, 2 / 3, 2 / 3])
    assert steps["conversion_from_previous"].tolist() == pytest.approx([1, 2 / 3, 1])
    assert steps["dropped"].tolist() == [0, 1, 0]
    # U1 bought 120 s and U2 180 s after their view; both carted 60 s after it.
    assert steps["median_seconds_to_convert"].tolist() == pytest.approx([0, 60, 150])
    histogram = result.time_to_convert
    assert histogram["count"].sum() == 2
    # 24 bins up to the longest time (180 s), 7.5 s each: 120 s falls in the bin starting at 120.
    assert histogram["bin_end_seconds"].iloc[-1] == 180
    assert histogram.loc[histogram["bin_start_seconds"] == 120, "count"].tolist() == [1]


def test_sessions_are_separate_attempts(tiny_con) -> None:
    # S1 and S3 convert; S2 and U3's two derived sessions only view.
    assert counts(tiny_con, FunnelQuery(VIEW_CART_BUY, timedelta(hours=1), count_by="sessions")) == [5, 2, 2]


def test_the_window_is_measured_from_the_first_step(tiny_con) -> None:
    # With one minute, both carts (60 s after the view) count; no purchase (120 s, 180 s) does.
    assert counts(tiny_con, FunnelQuery(VIEW_CART_BUY, timedelta(minutes=1))) == [3, 2, 0]


def test_strict_mode_stops_at_an_event_between_steps(tiny_con) -> None:
    view_then_buy = parse_steps("view,purchase")
    assert counts(tiny_con, FunnelQuery(view_then_buy, timedelta(hours=1))) == [3, 2]
    # Both buyers carted between viewing and buying.
    assert counts(tiny_con, FunnelQuery(view_then_buy, timedelta(hours=1), mode="strict")) == [3, 0]
    # U2's search comes before the view, so it does not break U2's strict view-cart-purchase.
    assert counts(tiny_con, FunnelQuery(VIEW_CART_BUY, timedelta(hours=1), mode="strict")) == [3, 2, 2]


def test_unordered_counts_steps_in_any_order(tiny_con) -> None:
    buy_then_view = parse_steps("purchase,view")
    assert counts(tiny_con, FunnelQuery(buy_then_view, timedelta(hours=1))) == [2, 0]
    assert counts(tiny_con, FunnelQuery(buy_then_view, timedelta(hours=1), mode="unordered")) == [3, 2]


def test_global_filters_apply_to_events(tiny_con) -> None:
    query = FunnelQuery(VIEW_CART_BUY, timedelta(hours=1))
    # Home is the mug P2: U1 viewed it, U2 viewed, carted and bought it.
    assert counts(tiny_con, query, Filters(date(2025, 1, 1), date(2025, 1, 3), categories=("Home",))) == [2, 1, 1]
    assert counts(tiny_con, query, Filters(date(2025, 1, 1), date(2025, 1, 3), devices=("mobile",))) == [2, 1, 1]
    assert counts(tiny_con, query, Filters(date(2025, 1, 3), date(2025, 1, 3))) == [1, 0, 0]


def test_steps_narrow_by_category_and_product(tiny_con) -> None:
    view_then_book_cart = (FunnelStep("view"), FunnelStep("cart", category="Books"))
    assert counts(tiny_con, FunnelQuery(view_then_book_cart, timedelta(hours=1))) == [3, 1]
    phone_view = (FunnelStep("view", product_id="P1"), FunnelStep("purchase"))
    # U1 and U3 viewed the phone; only U1 then bought.
    assert counts(tiny_con, FunnelQuery(phone_view, timedelta(hours=1))) == [2, 1]


def test_breakdown_by_device(tiny_con) -> None:
    result = run_funnel(tiny_con, FunnelQuery(VIEW_CART_BUY, timedelta(hours=1), breakdown="device"), ALL_DAYS)
    table = result.breakdown.set_index(["breakdown_value", "step_number"])["users"]
    # desktop: U1's first session converts, U3 views; mobile: U1 views on Jan 2, U2 converts.
    assert table.loc["desktop"].tolist() == [2, 1, 1]
    assert table.loc["mobile"].tolist() == [2, 1, 1]
    assert result.steps["users"].tolist() == [3, 2, 2]


def test_trend_is_the_funnel_within_each_period(tiny_con) -> None:
    trend = run_funnel(tiny_con, FunnelQuery(VIEW_CART_BUY, timedelta(hours=1)), ALL_DAYS).trend
    assert [str(day) for day in trend["period_start"]] == ["2025-01-01", "2025-01-02", "2025-01-03"]
    # Jan 1: U1 converts. Jan 2: U1 only views, U2 converts. Jan 3: U3 only views.
    assert trend["entered"].tolist() == [1, 2, 1]
    assert trend["converted"].tolist() == [1, 1, 0]
    assert trend["conversion_rate"].tolist() == [1.0, 0.5, 0.0]
    weekly = run_funnel(tiny_con, FunnelQuery(VIEW_CART_BUY, timedelta(hours=1)), ALL_DAYS, trend_period="week").trend
    # 2025-01-01 was a Wednesday; its week starts on Monday 2024-12-30.
    assert [str(day) for day in weekly["period_start"]] == ["2024-12-30"]
    assert (weekly["entered"].tolist(), weekly["converted"].tolist()) == ([3], [2])


def test_an_hourly_trend_counts_each_hour_on_its_own(tiny_con) -> None:
    hourly = run_funnel(tiny_con, FunnelQuery(VIEW_CART_BUY, timedelta(hours=1)), ALL_DAYS, trend_period="hour").trend
    # Jan 1 10:00 U1 views, carts and buys; Jan 2 09:00 U1 views only, 12:00 U2 converts;
    # Jan 3 08:00 U3 views P3 and at 08:10 P1, 09:00 views P1 again: two hours, neither converted.
    assert [str(start) for start in hourly["period_start"]] == [
        "2025-01-01 10:00:00", "2025-01-02 09:00:00", "2025-01-02 12:00:00", "2025-01-03 08:00:00",
        "2025-01-03 09:00:00"]
    assert hourly["entered"].tolist() == [1, 1, 1, 1, 1]
    assert hourly["converted"].tolist() == [1, 0, 1, 0, 0]


def test_trend_attempts_do_not_cross_midnight() -> None:
    from analytics.funnels.runner import StepEvents, _trend

    # User 7 views at 23:50 on day 0 and carts at 00:10 on day 1: converted overall within an hour,
    # but each day's funnel sees only its own events.
    day = 86_400_000_000
    minute = 60_000_000
    times = np.array([day - 10 * minute, day + 10 * minute])
    events = StepEvents({"user_key": np.array([7, 7]), "event_time_us": times, "step_mask": np.array([1, 2])}, 0, 0, 1)
    trend = _trend(FunnelQuery(parse_steps("view,cart"), timedelta(hours=1)), events, ALL_DAYS, "day")
    assert trend["entered"].tolist() == [1] and trend["converted"].tolist() == [0]


def test_empty_period_gives_zero_counts(tiny_con) -> None:
    nothing = Filters(date(2026, 1, 1), date(2026, 1, 2))
    result = run_funnel(tiny_con, FunnelQuery(VIEW_CART_BUY, timedelta(hours=1)), nothing)
    assert result.is_empty
    assert result.steps["users"].tolist() == [0, 0, 0]
    assert np.isnan(result.steps["conversion_from_start"]).all()
    assert result.trend.empty


@pytest.mark.parametrize("query, fragment", [
    (FunnelQuery(parse_steps("view")), "2 to 20 steps"),
    (FunnelQuery(parse_steps(",".join(["view"] * 21))), "2 to 20 steps"),
    (FunnelQuery(parse_steps("view,checkout")), "step 2 has the event type 'checkout'"),
    (FunnelQuery(VIEW_CART_BUY, timedelta(0)), "outside 1 second to 365 days"),
    (FunnelQuery(VIEW_CART_BUY, mode="sideways"), "the mode 'sideways' is unknown"),
    (FunnelQuery(VIEW_CART_BUY, breakdown="weather"), "the breakdown 'weather' is unknown"),
    (FunnelQuery((FunnelStep("view"), FunnelStep("cart", category=" "))), "step 2 has an empty category"),
    (FunnelQuery(VIEW_CART_BUY, exclusions=(FunnelExclusion("cart", 2, 2),)), "between steps 2 and 2; give two"),
    (FunnelQuery(VIEW_CART_BUY, exclusions=(FunnelExclusion("cart", 0, 1),)), "from 1 to 3, the first before"),
    (FunnelQuery(VIEW_CART_BUY, exclusions=(FunnelExclusion("cart", 2, 4),)), "between steps 2 and 4"),
    (FunnelQuery(VIEW_CART_BUY, exclusions=(FunnelExclusion("refund", 1, 2),)), "exclusion 1 has the event type"),
    (FunnelQuery(VIEW_CART_BUY, exclusions=(FunnelExclusion("cart", 1, 2),) * 11), "at most 10 exclusions"),
])
def test_invalid_queries_say_how_to_fix_them(query: FunnelQuery, fragment: str) -> None:
    with pytest.raises(ShopLensError, match=fragment):
        query.validate()


def test_generated_sql_binds_every_value() -> None:
    query = FunnelQuery((FunnelStep("view"), FunnelStep("cart", category="Books"), FunnelStep("purchase")),
                        timedelta(hours=1), breakdown="device")
    built = step_events_sql(query, ALL_DAYS, breakdown_values=("desktop", "mobile"))
    assert "Books" not in built.sql and "'view'" not in built.sql and "desktop" not in built.sql
    assert built.parameters["step_2_category"] == "Books"
    assert built.parameters["breakdown_values"] == ["desktop", "mobile"]
    assert built.mask_bits == 3  # three days of microseconds leave room for the mask
    assert "(events.event_type = $step_2_event_type and events.category = $step_2_category)" in built.sql
    assert ("((epoch_us(events.event_time) - $time_origin_us) << 3) + 1 * coalesce((events.event_type = "
            "$step_1_event_type)::bigint, 0)") in built.sql
    # Strict mode reads every event: no step filter.
    strict = step_events_sql(FunnelQuery(VIEW_CART_BUY, mode="strict"), ALL_DAYS)
    assert "or (events.event_type" not in strict.sql
    # A long range with many steps does not fit the packed form and uses two columns.
    twenty_steps = FunnelQuery(parse_steps(",".join(["view"] * 20)))
    wide = step_events_sql(twenty_steps, Filters(date(2020, 1, 1), date(2025, 1, 1)))
    assert wide.mask_bits == 0 and "as step_mask" in wide.sql


def test_packed_and_unpacked_reads_agree(tiny_con) -> None:
    # Twenty steps over five years do not fit beside the time in one integer; over three days they do.
    query = FunnelQuery(parse_steps(",".join(["view", "cart"] * 10)), timedelta(days=2))
    wide = Filters(date(2020, 1, 1), date(2025, 1, 3))
    assert step_events_sql(query, wide).mask_bits == 0 and step_events_sql(query, ALL_DAYS).mask_bits == 20
    assert counts(tiny_con, query, wide) == counts(tiny_con, query, ALL_DAYS)
    # U1 and U2 view then cart; U1's view on Jan 2, within two days of the first, is step 3.
    assert counts(tiny_con, query, ALL_DAYS)[:4] == [3, 2, 1, 0]


def test_repeated_steps_share_one_predicate() -> None:
    query = FunnelQuery(parse_steps("view,cart,purchase,view,cart,purchase,view,cart,purchase,view"))
    built = step_events_sql(query, ALL_DAYS)
    # view is steps 1, 4, 7 and 10: bits 0, 3, 6 and 9 -> 1 + 8 + 64 + 512.
    assert "585 * coalesce((events.event_type = $step_1_event_type)::bigint, 0)" in built.sql
    assert built.sql.count("events.event_type = $") == 6  # three in the mask, three in the filter
    assert "step_4_event_type" not in built.parameters


def test_users_who_dropped_and_what_they_left(tiny_con) -> None:
    from analytics.funnels.dropoff import dropped_users

    # U3 viewed P3 and P1 (twice) and never carted.
    at_cart = dropped_users(tiny_con, FunnelQuery(VIEW_CART_BUY, timedelta(hours=1)), ALL_DAYS, 2)
    assert at_cart["user_id"].tolist() == ["U3"]
    assert at_cart[["events", "products", "product_ids", "categories"]].iloc[0].tolist() == [3, 2, "P1 P3",
                                                                                            "Books, Electronics"]
    # Within one minute nobody buys: U1 left the phone P1 in the cart, U2 the mug P2 and the book P3.
    at_purchase = dropped_users(tiny_con, FunnelQuery(VIEW_CART_BUY, timedelta(minutes=1)), ALL_DAYS, 3)
    assert at_purchase["user_id"].tolist() == ["U2", "U1"]  # most recent first
    assert at_purchase["product_ids"].tolist() == ["P2 P3", "P1"]
    assert dropped_users(tiny_con, FunnelQuery(VIEW_CART_BUY, timedelta(hours=1)), ALL_DAYS, 3).empty
    with pytest.raises(ShopLensError, match="choose a step from 2 to 3"):
        dropped_users(tiny_con, FunnelQuery(VIEW_CART_BUY), ALL_DAYS, 1)


VIEW_THEN_BUY = parse_steps("view,purchase")


def test_an_excluded_event_between_steps_disqualifies_the_attempt(tiny_con) -> None:
    # Both buyers carted between viewing and buying, so excluding carts leaves nobody converting.
    no_carts = FunnelQuery(VIEW_THEN_BUY, timedelta(hours=1), exclusions=parse_exclusions("cart:1-2"))
    assert counts(tiny_con, no_carts) == [3, 0]
    # Only U2 carted a book (12:03, between the 12:01 view and the 12:04 purchase); U1 carted a phone.
    no_book_carts = FunnelQuery(VIEW_THEN_BUY, timedelta(hours=1), exclusions=parse_exclusions("cart:Books:1-2"))
    assert counts(tiny_con, no_book_carts) == [3, 1]
    assert counts(tiny_con, replace(no_book_carts, count_by="sessions")) == [5, 1]
    # U2's search (12:00) comes before the view, not between the steps.
    assert counts(tiny_con, replace(no_carts, exclusions=parse_exclusions("search:1-2"))) == [3, 2]
    # Strict mode ends at the cart anyway; unordered mode ignores the range and also disqualifies.
    assert counts(tiny_con, replace(no_book_carts, mode="strict")) == [3, 0]
    assert counts(tiny_con, replace(no_carts, mode="unordered")) == [3, 0]


def test_an_exclusion_ends_the_attempt_but_keeps_what_it_reached(tiny_con) -> None:
    # view, cart, purchase excluding a cart between steps 2 and 3: U2 carts P2 at 12:02 and P3 at
    # 12:03. The second cart ends the attempt that carted at 12:02, but it is a step-2 cart itself
    # (exclusions are taken first at a timestamp), so the view at 12:01 carries on and U2 still buys.
    query = FunnelQuery(VIEW_CART_BUY, timedelta(hours=1), exclusions=parse_exclusions("cart:2-3"))
    assert counts(tiny_con, query) == [3, 2, 2]
    # Excluding a book cart between steps 1 and 3 narrows differently from step 2 (any cart): U2's
    # book cart at 12:03 comes after its view, ending that attempt at its cart; U1 is unaffected.
    query = replace(query, exclusions=parse_exclusions("cart:Books:1-3"))
    assert counts(tiny_con, query) == [3, 2, 1]
    result = run_funnel(tiny_con, query, ALL_DAYS)
    assert result.steps["users"].tolist() == [3, 2, 1]
    assert result.trend["converted"].sum() == 1


def test_exclusions_are_parsed_and_bound() -> None:
    assert parse_exclusions("remove_from_cart:1-2, cart:Home:1-3") == (
        FunnelExclusion("remove_from_cart", 1, 2), FunnelExclusion("cart", 1, 3, category="Home"))
    assert parse_exclusions("") == ()
    with pytest.raises(ShopLensError, match="needs a step range, like remove_from_cart:1-2"):
        parse_exclusions("cart")
    query = FunnelQuery(VIEW_CART_BUY, exclusions=parse_exclusions("cart:Books:1-3"))
    built = step_events_sql(query, ALL_DAYS)
    assert "Books" not in built.sql and built.parameters["exclusion_1_category"] == "Books"
    assert built.mask_bits == 4  # three steps and one exclusion
    # The exclusion takes bit 3 (weight 8), and its rows are read even though they match no step.
    assert "8 * coalesce((events.event_type = $exclusion_1_event_type and events.category = " in built.sql
    assert "or (events.event_type = $exclusion_1_event_type" in built.sql


def test_counting_conversions_counts_every_attempt(tiny_con) -> None:
    conversions = FunnelQuery(VIEW_CART_BUY, timedelta(hours=1), count_by="conversions")
    # U1: the Jan 1 view converts; the Jan 2 view at 09:00 starts a second attempt (the view at 09:01
    # is inside it). U2: one attempt, converted. U3: the 08:00 view starts one attempt; 08:10 and
    # 09:00 (exactly one hour later, the window is inclusive) are inside it.
    assert counts(tiny_con, conversions) == [4, 2, 2]
    # With 30 minutes U3's 09:00 view is outside the first attempt and starts another.
    assert counts(tiny_con, replace(conversions, window=timedelta(minutes=30))) == [5, 2, 2]
    # view -> view: one view does both steps and completes an attempt, so the next view starts a new
    # one: U1 3, U2 1, U3 3 conversions.
    assert counts(tiny_con, replace(conversions, steps=parse_steps("view,view"))) == [7, 7]
    result = run_funnel(tiny_con, conversions, ALL_DAYS)
    assert result.count_column == "conversions"
    # The trend counts attempts per day: Jan 1 U1's, Jan 2 U1's and U2's, Jan 3 U3's.
    assert result.trend["entered"].tolist() == [1, 2, 1]
    assert result.trend["converted"].tolist() == [1, 1, 0]
    assert result.steps["median_seconds_to_convert"].tolist() == pytest.approx([0, 60, 150])


def test_session_numbers_follow_first_appearance() -> None:
    from analytics.funnels.runner import session_keys

    # 100 000 rows over 40 000 (user, hash) pairs: the table grows past its first size, and equal
    # hashes of different users stay different sessions.
    rng = np.random.default_rng(4)
    users = rng.integers(0, 20_000, 100_000)
    hashes = rng.integers(0, 2, 100_000).astype(np.uint64) * np.uint64(2**63 + 7)
    expected: dict[tuple[int, int], int] = {}
    numbers = [expected.setdefault(pair, len(expected)) for pair in zip(users.tolist(), hashes.tolist())]
    assert session_keys(users, hashes).tolist() == numbers


@pytest.mark.parametrize("count_by", ["users", "sessions", "conversions"])
@pytest.mark.parametrize("period", ["hour", "day", "week"])
def test_trend_is_the_same_in_any_row_order(count_by, period) -> None:
    from analytics.funnels.runner import StepEvents, _trend

    # Rows in storage order take the one-pass numbering (and, for users, the unsorted kernel path);
    # reversed rows take the general path. Both must give the same trend.
    rng = np.random.default_rng(5)
    day = 86_400_000_000
    n = 3_000
    users = rng.integers(0, 50, n)
    times = rng.integers(0, 20, n) * day // 20 * 7 + rng.integers(0, 4, n) * 60_000_000
    sessions = users * 3 + rng.integers(0, 3, n)
    masks = rng.integers(0, 8, n)
    order = np.lexsort((times, users, times // day))
    query = FunnelQuery(VIEW_CART_BUY, timedelta(hours=6), count_by=count_by)
    filters = Filters(date(2025, 1, 1), date(2025, 1, 31))

    def trend(rows):
        columns = {"user_key": users[rows], "event_time_us": times[rows], "step_mask": masks[rows],
                   "session_key": sessions[rows]}
        return _trend(query, StepEvents(columns, 0, 0, 1), filters, period)

    stored, reversed_rows = trend(order), trend(order[::-1])
    assert stored["entered"].sum() > 0
    pd.testing.assert_frame_equal(stored, reversed_rows)


def test_exclusions_keep_earlier_steps_unlike_posthog() -> None:
    # docs/funnels.md, "How this differs from PostHog": view -> cart -> purchase excluding
    # remove_from_cart between steps 2 and 3. User 0 views (0 s), carts (10 s), removes it (20 s)
    # and buys (30 s); user 1 views, carts and buys. By hand: user 0 reaches cart, not purchase
    # (the removal ends the attempt after step 2); user 1 reaches purchase -> 2, 2, 1. PostHog's
    # documented rule would drop user 0 from every step (1, 1, 1).
    from analytics.funnels import compute_levels

    view, cart, buy, removal = 1, 2, 4, 8  # bits: steps 1-3, then the exclusion
    users = np.array([0, 0, 0, 0, 1, 1, 1])
    times = np.array([0, 10, 20, 30, 0, 10, 30]) * 1_000_000
    masks = np.array([view, cart, removal, buy, view, cart, buy])
    levels = compute_levels(users, times, masks, n_steps=3, window_us=3_600_000_000, mode="ordered",
                            exclusions=[(2, 3)])
    assert levels.reached(3).tolist() == [2, 2, 1]
    without = compute_levels(users, times, masks & 7, n_steps=3, window_us=3_600_000_000, mode="ordered")
    assert without.reached(3).tolist() == [2, 2, 2]  # the exclusion only changes steps after from_step
