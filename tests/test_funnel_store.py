"""The in-memory event store (analytics.funnels.store) against the SQL path, the reference and by hand.

The store is a second way to read a funnel's events; every funnel computed from it must equal the
one read through SQL (`run_funnel` without a store), which the other funnel tests pin against a
plain-Python reference and ClickHouse. Its fused ordered kernel is also checked directly against
the plain-Python reference on random logs.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.filters import Filters
from analytics.funnels import (
    FunnelExclusion,
    FunnelQuery,
    FunnelStep,
    compare_periods,
    count_funnel,
    load_event_store,
    parse_steps,
    run_funnel,
)
from analytics.funnels.store import event_store_from_frame
from tests.test_funnel_reference import reference_counts

ALL_TINY_DAYS = Filters(date(2025, 1, 1), date(2025, 1, 3))
VIEW_CART_BUY = parse_steps("view,cart,purchase")
EVENT_NAMES = ("view", "cart", "purchase", "favorite", "search")


@pytest.fixture(scope="module")
def sample_store(sample_warehouse):
    with duckdb.connect(str(sample_warehouse), read_only=True) as con:
        return load_event_store(con)


@pytest.fixture(scope="module")
def sample_period(sample_warehouse) -> Filters:
    with duckdb.connect(str(sample_warehouse), read_only=True) as con:
        first, last = con.execute("select min(event_date), max(event_date) from fct_events").fetchone()
    return Filters(first, last)


def test_the_store_holds_every_event_by_user_and_time(tiny_con) -> None:
    store = load_event_store(tiny_con)
    expected = tiny_con.execute(
        "select user_key, epoch_us(event_time) from fct_events order by user_key, event_time").fetchall()
    assert store.rows == len(expected) == store.user_offsets[-1]
    assert list(zip(store.user_key.tolist(), store.event_time_us.tolist())) == [tuple(row) for row in expected]
    # U1 has two sessions and U3 two derived ones (tests/tiny_shop.py): five sessions in all.
    assert len(set(store.session_key.tolist())) == 5
    assert store.data_version == tiny_con.execute("select data_version from meta_warehouse").fetchone()[0]


def test_tiny_shop_by_hand_through_the_store(tiny_con) -> None:
    store = load_event_store(tiny_con)
    # Jan 1: U1 views, carts and buys. Jan 1-3: U1 and U2 both do all three; U3 only views.
    assert count_funnel(tiny_con, FunnelQuery(VIEW_CART_BUY), Filters(date(2025, 1, 1), date(2025, 1, 1)),
                        store)["users"].tolist() == [1, 1, 1]
    assert count_funnel(tiny_con, FunnelQuery(VIEW_CART_BUY), ALL_TINY_DAYS, store)["users"].tolist() == [3, 2, 2]
    # Only Jan 3: U3's views, nobody carts.
    assert count_funnel(tiny_con, FunnelQuery(VIEW_CART_BUY), Filters(date(2025, 1, 3), date(2025, 1, 3)),
                        store)["users"].tolist() == [1, 0, 0]


QUERIES = {
    "ordered users": FunnelQuery(VIEW_CART_BUY),
    "strict": FunnelQuery(VIEW_CART_BUY, mode="strict"),
    "unordered": FunnelQuery(VIEW_CART_BUY, mode="unordered", window=timedelta(minutes=30)),
    "sessions": FunnelQuery(VIEW_CART_BUY, count_by="sessions"),
    "conversions": FunnelQuery(VIEW_CART_BUY, count_by="conversions"),
    "by device": FunnelQuery(VIEW_CART_BUY, breakdown="device"),
    "by channel, sessions": FunnelQuery(VIEW_CART_BUY, breakdown="channel", count_by="sessions"),
    "by category": FunnelQuery(VIEW_CART_BUY, breakdown="category", window=timedelta(days=1)),
    "new vs returning": FunnelQuery(VIEW_CART_BUY, breakdown="new_vs_returning"),
    "exclusion": FunnelQuery(VIEW_CART_BUY, exclusions=(FunnelExclusion("remove_from_cart", 2, 3),)),
    "narrowed step": FunnelQuery((FunnelStep("view"), FunnelStep("cart", category="Electronics"), FunnelStep("purchase"))),
    "ten steps": FunnelQuery(parse_steps("view,cart,purchase,view,cart,purchase,view,cart,purchase,view"),
                             window=timedelta(days=7)),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(QUERIES))
def test_the_store_gives_what_sql_gives(sample_con, sample_store, sample_period, name) -> None:
    query = QUERIES[name]
    filters = sample_period
    for period in ("hour", "day", "week"):
        from_store = run_funnel(sample_con, query, filters, period, store=sample_store)
        from_sql = run_funnel(sample_con, query, filters, period)
        pd.testing.assert_frame_equal(from_store.steps, from_sql.steps)
        pd.testing.assert_frame_equal(from_store.trend, from_sql.trend)
        pd.testing.assert_frame_equal(from_store.time_to_convert, from_sql.time_to_convert)
        if from_sql.breakdown is not None:
            pd.testing.assert_frame_equal(from_store.breakdown, from_sql.breakdown)
    assert from_store.steps[query.count_by].iloc[-1] > 0  # someone completes it: not trivially equal


def _global_filters(period: Filters) -> dict[str, Filters]:
    month = Filters(period.end_date - timedelta(days=29), period.end_date)
    return {
        "last 30 days": month,
        "one device and channel": Filters(period.start_date, period.end_date, devices=("mobile",),
                                          channels=("email", "direct")),
        "one category": Filters(period.start_date, period.end_date, categories=("Electronics",)),
        "one day": Filters(period.end_date, period.end_date),
    }


@pytest.mark.slow
@pytest.mark.parametrize("filter_name", ["last 30 days", "one device and channel", "one category", "one day"])
def test_the_store_honours_the_global_filters(sample_con, sample_store, sample_period, filter_name) -> None:
    filters = _global_filters(sample_period)[filter_name]
    for query in (QUERIES["ordered users"], QUERIES["strict"], QUERIES["sessions"], QUERIES["exclusion"],
                  QUERIES["by device"]):
        # count_funnel takes the fused kernel for ordered users, the select pass for the rest.
        from_store = count_funnel(sample_con, query, filters, sample_store)
        assert from_store.equals(count_funnel(sample_con, query, filters))
        assert from_store[query.count_by].iloc[1] > 0
        pd.testing.assert_frame_equal(run_funnel(sample_con, query, filters, store=sample_store).trend,
                                      run_funnel(sample_con, query, filters).trend)


def test_period_comparison_through_the_store(sample_con, sample_store, sample_period) -> None:
    filters = Filters(sample_period.end_date - timedelta(days=59), sample_period.end_date)
    pd.testing.assert_frame_equal(compare_periods(sample_con, QUERIES["ordered users"], filters, store=sample_store),
                                  compare_periods(sample_con, QUERIES["ordered users"], filters))


def test_steps_narrowed_by_brand_fall_back_to_sql(sample_con, sample_store, sample_period) -> None:
    query = FunnelQuery((FunnelStep("view", brand="Acme"), FunnelStep("cart")))
    assert not sample_store.supports(query)
    assert count_funnel(sample_con, query, sample_period, sample_store).equals(
        count_funnel(sample_con, query, sample_period))


# --------------------------------------------------------------------------- random logs

log_rows = st.lists(
    st.tuples(st.integers(0, 6), st.integers(0, 40), st.integers(0, 4)),  # (user, time, event type)
    min_size=0, max_size=60,
)


def store_of(log) -> tuple:
    frame = pd.DataFrame({
        "user_key": [row[0] for row in log],
        "event_time_us": [row[1] * 1_000_000 for row in log],  # log times are seconds
        "event_type": [EVENT_NAMES[row[2]] for row in log],
    }, dtype=object).astype({"user_key": np.int64, "event_time_us": np.int64})
    # Every time is on 1970-01-01 (seconds since the epoch), so this day is the whole log.
    return event_store_from_frame(frame), Filters(date(1970, 1, 1), date(1970, 1, 1))


@settings(max_examples=200, deadline=None)
@given(log=log_rows, steps=st.lists(st.integers(0, 3), min_size=2, max_size=6), window=st.integers(1, 30),
       mode=st.sampled_from(["ordered", "strict", "unordered"]))
def test_store_counts_equal_the_reference(log, steps, window, mode) -> None:
    store, filters = store_of(log)
    query = FunnelQuery(tuple(FunnelStep(EVENT_NAMES[step]) for step in steps),
                        window=timedelta(seconds=window), mode=mode)
    if not log:
        return
    actual = count_funnel(None, query, filters, store)["users"].tolist()  # the store needs no connection
    assert actual == reference_counts(log, steps, window, mode)


@settings(max_examples=100, deadline=None)
@given(log=log_rows, window=st.integers(1, 30), exclusion=st.tuples(st.integers(0, 4), st.integers(1, 2)))
def test_fused_kernel_with_an_exclusion_equals_the_reference(log, window, exclusion) -> None:
    if not log:
        return
    store, filters = store_of(log)
    event_type, from_step = exclusion
    steps = [0, 1, 2]
    query = FunnelQuery(tuple(FunnelStep(EVENT_NAMES[step]) for step in steps), window=timedelta(seconds=window),
                        exclusions=(FunnelExclusion(EVENT_NAMES[event_type], from_step, 3),))
    actual = count_funnel(None, query, filters, store)["users"].tolist()
    assert actual == reference_counts(log, steps, window, "ordered", [(event_type, from_step, 3)])


def test_the_two_threads_split_users_exactly(monkeypatch) -> None:
    from analytics.funnels import store as store_module

    rng = np.random.default_rng(5)
    log = list(zip(rng.integers(0, 50, 3000).tolist(), rng.integers(0, 400, 3000).tolist(),
                   rng.integers(0, 4, 3000).tolist()))
    store, filters = store_of(log)
    query = FunnelQuery(VIEW_CART_BUY, window=timedelta(seconds=60))
    monkeypatch.setattr(store_module, "PARALLEL_ROWS", 0)  # always two threads
    assert count_funnel(None, query, filters, store)["users"].tolist() == reference_counts(log, [0, 1, 2], 60,
                                                                                         "ordered")


# --------------------------------------------------------------------------- the one-pass ordered walk

def _separate_passes(query: FunnelQuery, filters: Filters, period: str, store) -> dict[str, pd.DataFrame]:
    """The funnel from the selected rows, one pass each for steps, trend and breakdown (pinned to SQL above)."""
    from analytics.funnels import runner

    values = runner._breakdown_values(None, query, filters, store)
    events = runner.read_step_events(None, query, filters, values, store)
    levels = runner.key_levels(query, events, with_durations=True)
    frames = {"steps": runner.step_table(query, levels.level, levels.durations_us),
              "trend": runner._trend(query, events, filters, period),
              "time_to_convert": runner._histogram(query, levels)}
    if query.breakdown is not None:
        frames["breakdown"] = runner._breakdown_table(
            query, runner.key_levels(query, events, with_durations=False, by_breakdown=True), values)
    return frames


walk_rows = st.lists(
    # (user, day 0..5, second 0..4, event type, session 0..2, device 0..2, category 0..2, returning):
    # few distinct times, so one key often has several events at one timestamp, in any row order.
    st.tuples(st.integers(0, 4), st.integers(0, 5), st.integers(0, 4), st.integers(0, 4), st.integers(0, 2),
              st.integers(0, 2), st.integers(0, 2), st.booleans()),
    min_size=1, max_size=80,
)


@settings(max_examples=200, deadline=None)
@given(log=walk_rows, steps=st.lists(st.integers(0, 3), min_size=2, max_size=4), window=st.integers(1, 30),
       mode=st.sampled_from(["ordered", "strict"]), count_by=st.sampled_from(["users", "sessions"]),
       breakdown=st.sampled_from([None, "device", "category", "new_vs_returning"]),
       period=st.sampled_from(["hour", "day", "week"]), excluded=st.none() | st.integers(0, 4),
       first_day=st.integers(0, 3))
def test_the_one_pass_walk_equals_the_separate_passes(log, steps, window, mode, count_by, breakdown, period,
                                                      excluded, first_day) -> None:
    # Same-time rows in several sessions and breakdown values, several days (trend periods), a day
    # range that cuts some rows off: the walk must give exactly what the separate passes give.
    frame = pd.DataFrame({
        "user_key": [row[0] for row in log],
        "event_time_us": [(row[1] * 86_400 + row[2]) * 1_000_000 for row in log],
        "event_type": [EVENT_NAMES[row[3]] for row in log],
        "session_id": [None if row[4] == 2 else f"{row[0]}-{row[4]}" for row in log],
        "device": [(None, "mobile", "desktop")[row[5]] for row in log],
        "category": [(None, "Books", "Toys")[row[6]] for row in log],
        "is_returning": [row[7] for row in log],
    }, dtype=object).astype({"user_key": np.int64, "event_time_us": np.int64, "is_returning": bool})
    store = event_store_from_frame(frame)
    filters = Filters(date(1970, 1, 1) + timedelta(days=first_day), date(1970, 1, 6))
    exclusions = () if excluded is None else (FunnelExclusion(EVENT_NAMES[excluded], 1, len(steps)),)
    query = FunnelQuery(tuple(FunnelStep(EVENT_NAMES[step]) for step in steps), window=timedelta(seconds=window),
                        mode=mode, count_by=count_by, breakdown=breakdown, exclusions=exclusions)
    walked = run_funnel(None, query, filters, period, store=store)
    expected = _separate_passes(query, filters, period, store)
    pd.testing.assert_frame_equal(walked.steps, expected["steps"])
    pd.testing.assert_frame_equal(walked.trend, expected["trend"])
    pd.testing.assert_frame_equal(walked.time_to_convert, expected["time_to_convert"])
    if breakdown is not None:
        pd.testing.assert_frame_equal(walked.breakdown, expected["breakdown"])


def test_the_walk_counts_a_hand_made_log() -> None:
    # U0: view at 0 s, cart at 10 s, purchase at 20 s on day 0 (window 1 min): all three steps,
    # 20 s to convert. U1: view on day 0, cart on day 1 (past the window): step 1 only.
    # Day trend: day 0 entered 2 (U0, U1), converted 1 (U0); day 1 has no view, so it is not shown.
    frame = pd.DataFrame({"user_key": [0, 0, 0, 1, 1],
                          "event_time_us": [0, 10_000_000, 20_000_000, 5_000_000, 86_400_000_000 + 5_000_000],
                          "event_type": ["view", "cart", "purchase", "view", "cart"]})
    store = event_store_from_frame(frame)
    result = run_funnel(None, FunnelQuery(VIEW_CART_BUY, window=timedelta(minutes=1)),
                        Filters(date(1970, 1, 1), date(1970, 1, 2)), "day", store=store)
    assert result.steps["users"].tolist() == [2, 1, 1]
    assert result.steps["median_seconds_to_convert"].tolist() == [0.0, 10.0, 20.0]
    assert result.trend[["entered", "converted"]].values.tolist() == [[2, 1]]
    assert int(result.time_to_convert["count"].sum()) == 1


@pytest.mark.parametrize("count_by", ["users", "sessions"])
def test_the_walk_takes_same_time_events_in_step_order(count_by) -> None:
    # The cart row comes before the view row, both at 5 s: events at one timestamp count as in
    # order (ClickHouse's default), so the user (and the session, and its device) reaches both steps.
    frame = pd.DataFrame({"user_key": [0, 0], "event_time_us": [5_000_000, 5_000_000],
                          "event_type": ["cart", "view"], "device": ["mobile", "mobile"]})
    store = event_store_from_frame(frame)
    query = FunnelQuery(parse_steps("view,cart"), window=timedelta(seconds=10), count_by=count_by,
                        breakdown="device")
    result = run_funnel(None, query, Filters(date(1970, 1, 1), date(1970, 1, 1)), "day", store=store)
    assert result.steps[count_by].tolist() == [1, 1]
    assert result.breakdown[count_by].tolist() == [1, 1]
    assert result.trend[["entered", "converted"]].values.tolist() == [[1, 1]]
