"""Retention cohorts on the hand-built customer log (tests/customers_fixtures.py), and properties."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.customers.retention import (
    Retention, build_matrix, load_retention, matrix_table, period_start, periods_observed,
)
from analytics.errors import ShopLensError
from analytics.filters import Filters
from tests.customers_fixtures import build_customer_warehouse

PERIOD = Filters(date(2025, 1, 1), date(2025, 1, 22))
W06, W13, W20 = date(2025, 1, 6), date(2025, 1, 13), date(2025, 1, 20)


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    path = build_customer_warehouse(tmp_path_factory.mktemp("customers_retention"))
    with duckdb.connect(str(path), read_only=True) as connection:
        yield connection


def cells(retention, column: str) -> dict[tuple[date, int], float]:
    matrix = retention.matrix
    return {(row.cohort, row.period_number): getattr(row, column) for row in matrix.itertuples()}


def test_weekly_event_retention_matches_the_hand_count(con):
    retention = load_retention(con, PERIOD, "week", "event", "event")

    # See the module docstring of tests/customers_fixtures.py for each number.
    assert retention.users == 5
    assert cells(retention, "active_users") == {(W06, 0): 3, (W06, 1): 1, (W06, 2): 2, (W13, 0): 1, (W13, 1): 1,
                                                (W20, 0): 1}
    assert cells(retention, "retained_users") == {(W06, 0): 3, (W06, 1): 2, (W06, 2): 2, (W13, 0): 1, (W13, 1): 1,
                                                  (W20, 0): 1}
    revenue = cells(retention, "cumulative_revenue_per_user")
    assert revenue[(W06, 0)] == pytest.approx(130 / 3)
    assert revenue[(W06, 1)] == pytest.approx(130 / 3)
    assert revenue[(W06, 2)] == pytest.approx(60.0)
    assert revenue[(W13, 1)] == pytest.approx(70.0)
    # The data ends Wednesday 01-22: the week of 01-20 is still running.
    assert cells(retention, "is_complete") == {(W06, 0): True, (W06, 1): True, (W06, 2): False, (W13, 0): True,
                                               (W13, 1): False, (W20, 0): False}
    assert retention.data_end_date == date(2025, 1, 22)


def test_purchase_entry_and_return(con):
    retention = load_retention(con, PERIOD, "week", "purchase", "purchase")

    assert cells(retention, "active_users") == {(W06, 0): 2, (W06, 1): 0, (W06, 2): 1, (W13, 0): 1, (W13, 1): 1}
    assert cells(retention, "retained_users") == {(W06, 0): 2, (W06, 1): 1, (W06, 2): 1, (W13, 0): 1, (W13, 1): 1}
    assert cells(retention, "active_rate")[(W06, 1)] == 0.0


def test_breakdown_by_acquisition_channel(con):
    retention = load_retention(con, PERIOD, "week", "event", "event", "acquisition_channel")

    sizes = retention.matrix.drop_duplicates(["cohort", "segment"]).set_index(["cohort", "segment"])["cohort_size"]
    # Cohort 01-06: A and C came by email, B by social; D and E direct.
    assert sizes.to_dict() == {(W06, "email"): 2, (W06, "social"): 1, (W13, "direct"): 1, (W20, "direct"): 1}


def test_breakdown_by_first_category(con):
    retention = load_retention(con, PERIOD, "week", "event", "event", "first_category")

    segments = retention.matrix.drop_duplicates(["cohort", "segment"]).groupby("segment")["cohort_size"].sum()
    # First visits landed on: A Books (P1), B Home, C Home, D Home, E Books.
    assert segments.to_dict() == {"Books": 2, "Home": 3}


def test_period_filter_keeps_cohorts_entering_in_it(con):
    retention = load_retention(con, Filters(date(2025, 1, 13), date(2025, 1, 19)), "week")

    assert retention.users == 1  # only D entered that week; A's later visits do not make A new
    assert set(retention.matrix["cohort"]) == {W13}


def test_monthly_and_daily_periods(con):
    monthly = load_retention(con, PERIOD, "month")
    daily = load_retention(con, PERIOD, "day", "purchase", "purchase")

    assert cells(monthly, "active_users") == {(date(2025, 1, 1), 0): 5}
    # D bought on 01-13 (day 0) and 01-20 (day 7): retained through day 7, not after.
    d_cohort = daily.matrix[daily.matrix["cohort"] == W13].set_index("period_number")
    assert d_cohort.loc[7, "active_users"] == 1 and d_cohort.loc[6, "active_users"] == 0
    assert d_cohort.loc[6, "retained_users"] == 1 and d_cohort.loc[8, "retained_users"] == 0


def test_channel_filter_restricts_activity(con):
    retention = load_retention(con, Filters(PERIOD.start_date, PERIOD.end_date, channels=("social",)), "week")

    assert retention.users == 1  # B is the only user with social sessions


def test_empty_period_and_unknown_choice(con):
    assert load_retention(con, Filters(date(2024, 1, 1), date(2024, 1, 31))).is_empty
    with pytest.raises(ShopLensError, match="period 'year'"):
        load_retention(con, PERIOD, "year")


def test_average_curve_uses_complete_periods_only(con):
    average = load_retention(con, PERIOD, "week").average_curve().set_index("period_number")

    # Week 0 is complete for cohorts 01-06 (3 users, all active) and 01-13 (1 user): 4 of 4.
    assert average.loc[0, "users"] == 4 and average.loc[0, "active_rate"] == 1.0
    # Week 1 is complete only for 01-06: 1 of 3 active, 2 of 3 retained.
    assert average.loc[1, "active_rate"] == pytest.approx(1 / 3)
    assert average.loc[1, "retained_rate"] == pytest.approx(2 / 3)
    assert 2 not in average.index


def test_matrix_table_is_wide(con):
    table = matrix_table(load_retention(con, PERIOD, "week"), "active_users")

    assert list(table.columns) == ["cohort", "cohort_size", "0", "1", "2"]
    assert table["0"].tolist() == [3, 1, 1]
    assert np.isnan(table.loc[2, "1"])  # the 01-20 cohort has no week 1 yet


def test_period_arithmetic():
    assert period_start(date(2025, 11, 1), "month", 3) == date(2026, 2, 1)
    assert periods_observed(date(2025, 11, 1), "month", date(2026, 2, 1)) == 4
    assert periods_observed(W06, "week", date(2025, 1, 19)) == 2


# --------------------------------------------------------------------------- properties


@st.composite
def activity_logs(draw):
    users = draw(st.integers(1, 8))
    log = []
    for user in range(users):
        days = draw(st.lists(st.integers(0, 40), min_size=1, max_size=6))
        log.extend((f"U{user}", day) for day in days)
    return log


def reference_counts(log, period_days: int):
    """Independent reference: per user, entry period and the set of active periods, counted directly."""
    by_user: dict[str, set[int]] = {}
    for user, day in log:
        by_user.setdefault(user, set()).add(day)
    active, last, size = {}, {}, {}
    for user, days in by_user.items():
        entry = min(days) // period_days
        cohort = entry
        size[cohort] = size.get(cohort, 0) + 1
        periods = {day // period_days - entry for day in days}
        for k in periods:
            active[(cohort, k)] = active.get((cohort, k), 0) + 1
        last_k = max(periods)
        for k in range(last_k + 1):
            last[(cohort, k)] = last.get((cohort, k), 0) + 1
    return size, active, last


@settings(max_examples=60, deadline=None)
@given(activity_logs())
def test_build_matrix_matches_a_direct_count(log):
    # Days counted from Monday 2025-01-06, weekly periods: the SQL's counts are rebuilt here from the
    # log the way the report computes them, then compared with a direct per-user count.
    origin = pd.Timestamp("2025-01-06")
    size, active, last_counts = reference_counts(log, 7)
    rows = []
    by_user: dict[str, set[int]] = {}
    for user, day in log:
        by_user.setdefault(user, set()).add(day)
    sql_like: dict[tuple[int, int], list[int]] = {}
    for days in by_user.values():
        entry = min(days) // 7
        periods = sorted({day // 7 - entry for day in days})
        for k in periods:
            sql_like.setdefault((entry, k), [0, 0])[0] += 1
        sql_like.setdefault((entry, periods[-1]), [0, 0])[1] += 1
    for (cohort, k), (active_users, last_users) in sql_like.items():
        rows.append({"cohort": (origin + pd.Timedelta(weeks=cohort)).date(), "segment": "All", "period_number": k,
                     "cohort_size": size[cohort], "active_users": active_users, "last_active_users": last_users,
                     "revenue": 0.0})
    data_end = (origin + pd.Timedelta(days=max(day for _, day in log))).date()
    matrix = build_matrix(pd.DataFrame(rows), "week", data_end)
    for row in matrix.itertuples():
        cohort = (pd.Timestamp(row.cohort) - origin).days // 7
        assert row.active_users == active.get((cohort, row.period_number), 0)
        assert row.retained_users == last_counts.get((cohort, row.period_number), 0)
        assert row.retained_users >= row.active_users
        assert 0 <= row.retained_rate <= 1


# --------------------------------------------------------------------------- LTV: cumulative revenue per user


def retention_of(rows: list[dict], period: str, data_end: date) -> Retention:
    matrix = build_matrix(pd.DataFrame(rows), period, data_end)
    return Retention(Filters(date(2025, 1, 1), data_end), period, "event", "event", "none", data_end, matrix)


def test_average_ltv_adds_each_period_over_the_cohorts_that_completed_it():
    # Cohort 01-06: 2 users spending 10, 4, 6 in weeks 0, 1, 2. Cohort 01-13: 8 users spending 160, 0.
    # The data ends Sunday 01-26, so week 2 is complete for 01-06 only.
    rows = [{"cohort": W06, "segment": "All", "period_number": k, "cohort_size": 2, "active_users": 2,
             "last_active_users": 2 if k == 2 else 0, "revenue": revenue} for k, revenue in enumerate([10.0, 4.0, 6.0])]
    rows += [{"cohort": W13, "segment": "All", "period_number": k, "cohort_size": 8, "active_users": 8,
              "last_active_users": 8 if k == 1 else 0, "revenue": revenue} for k, revenue in enumerate([160.0, 0.0])]
    average = retention_of(rows, "week", date(2025, 1, 26)).average_curve().set_index("period_number")

    # Week 0: (10 + 160) / (2 + 8) = 17.0 per user.
    # Week 1: both cohorts, (4 + 0) / 10 = 0.4 more -> 17.4.
    # Week 2: 01-06 only, 6 / 2 = 3.0 more -> 20.4. Dividing the cumulative revenue by the cohorts still
    # observed would give 01-06's own (10 + 4 + 6) / 2 = 10.0 here: a "cumulative" curve falling 17.4 -> 10.
    assert average["revenue_per_user"].tolist() == pytest.approx([17.0, 0.4, 3.0])
    assert average["cumulative_revenue_per_user"].tolist() == pytest.approx([17.0, 17.4, 20.4])
    assert average["users"].tolist() == [10, 10, 2]


@st.composite
def purchase_logs(draw):
    """Users with an entry day (0..34) and purchases (day offset since entry, non-negative amount)."""
    users = draw(st.integers(1, 12))
    log = []
    for user in range(users):
        entry = draw(st.integers(0, 34))
        purchases = draw(st.lists(st.tuples(st.integers(0, 40), st.floats(0, 500, allow_nan=False)), max_size=5))
        log.append((f"U{user}", entry, purchases))
    return log


@settings(max_examples=80, deadline=None)
@given(purchase_logs(), st.integers(0, 40))
def test_average_ltv_is_monotone_and_matches_a_per_user_reference(log, end_offset):
    # Daily cohorts from 2025-01-01; the data ends `end_offset` days after the last entry.
    origin = date(2025, 1, 1)
    last_day = max(entry for _, entry, _ in log) + end_offset
    data_end = origin + pd.Timedelta(days=last_day).to_pytimedelta()
    rows: dict[tuple[int, int], dict] = {}
    sizes: dict[int, int] = {}
    for _, entry, _ in log:
        sizes[entry] = sizes.get(entry, 0) + 1
    for _, entry, purchases in log:
        rows.setdefault((entry, 0), {"revenue": 0.0})  # every cohort has its entry day
        for offset, amount in purchases:
            if entry + offset <= last_day:
                rows.setdefault((entry, offset), {"revenue": 0.0})["revenue"] += amount
    frame = pd.DataFrame([{"cohort": origin + pd.Timedelta(days=entry).to_pytimedelta(), "segment": "All",
                           "period_number": k, "cohort_size": sizes[entry], "active_users": sizes[entry],
                           "last_active_users": 0, "revenue": value["revenue"]}
                          for (entry, k), value in rows.items()])
    average = retention_of(frame.to_dict("records"), "day", data_end).average_curve()

    values = average["cumulative_revenue_per_user"].to_numpy()
    assert np.all(np.diff(values) >= -1e-9)
    # Reference from the users themselves: day k counts the users whose entry day is at least k days
    # before the data end (their day k is complete), and adds their spend on day k per such user.
    expected, running = [], 0.0
    for k in range(last_day - min(entry for _, entry, _ in log) + 1):
        observed = [(entry, purchases) for _, entry, purchases in log if entry + k <= last_day]
        spend = sum(amount for entry, purchases in observed for offset, amount in purchases if offset == k)
        running += spend / len(observed)
        expected.append(running)
    assert values == pytest.approx(expected, rel=1e-9, abs=1e-9)
