"""The noisy Overview tiles and funnel steps: bounded SQL counted by hand, sensitivity, monotone steps, exports."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import duckdb
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.filters import Filters
from analytics.funnels import FunnelQuery, FunnelStep, count_funnel
from analytics.privacy.display import format_noisy, funnel_export, overview_export, safe_cell
from analytics.privacy.funnel import furthest_step_histogram, monotone_steps, private_funnel, user_levels
from analytics.privacy.ledger import BudgetExhausted, PrivacyLedger
from analytics.privacy.overview import bounded_totals, draw_figures, private_overview, sensitivities, tiles
from analytics.privacy.settings import PrivacySettings, parse_privacy
from analytics.warehouse import build_warehouse
from analytics.errors import ShopLensError
from tests.tiny_shop import TABLES, write_tiny_shop

ALL_DAYS = Filters(date(2025, 1, 1), date(2025, 1, 3))
# A scale of 1e-4 makes discrete Laplace noise 0 with probability 1 - 2·e^-10000: exact answers.
NO_NOISE = PrivacySettings(overview_epsilon=1e4, funnel_epsilon=1e4, daily_epsilon=1e6)
VIEW_CART_BUY = (FunnelStep("view"), FunnelStep("cart"), FunnelStep("purchase"))


def _ledger(tmp_path, daily: float = 1e6) -> PrivacyLedger:
    return PrivacyLedger(tmp_path / "ledger.sqlite", daily)


# --------------------------------------------------------------------------- bounded totals


def test_bounded_totals_without_binding_bounds_are_the_overview(tiny_con):
    # tests/tiny_shop.py: 5 sessions, 3 users, 2 converted, 2 orders, revenue 90 + 40 = 130.
    assert bounded_totals(tiny_con, ALL_DAYS, PrivacySettings()) == \
        {"sessions": 5, "converted_sessions": 2, "users": 3, "orders": 2, "revenue": pytest.approx(130.0)}


def test_each_users_sessions_orders_and_revenue_are_capped(tiny_con):
    settings = PrivacySettings(session_cap=1, order_cap=1, revenue_cap=50.0)
    # Sessions: U1 min(2, 1) + U2 min(1, 1) + U3 min(2, 1) = 3. Converted: U1 min(1, 1) + U2 1 = 2.
    # Orders: 1 + 1. Revenue: U1 90 -> 50, U2 40 stays 40.
    assert bounded_totals(tiny_con, ALL_DAYS, settings) == \
        {"sessions": 3, "converted_sessions": 2, "users": 3, "orders": 2, "revenue": pytest.approx(90.0)}
    # From 2 Jan on, U1 has only S2, which bought nothing: converted 1 (U2), orders 1, revenue 40.
    later = Filters(date(2025, 1, 2), date(2025, 1, 3))
    assert bounded_totals(tiny_con, later, settings) == \
        {"sessions": 3, "converted_sessions": 1, "users": 3, "orders": 1, "revenue": pytest.approx(40.0)}


@pytest.fixture(scope="module")
def warehouse_without_u1(tmp_path_factory) -> duckdb.DuckDBPyConnection:
    """The tiny shop with user U1 removed: a neighbouring data set for the sensitivity check."""
    folder = tmp_path_factory.mktemp("without_u1")
    orders = TABLES["orders"][TABLES["orders"]["user_id"] != "U1"]
    tables = dict(TABLES, events=TABLES["events"][TABLES["events"]["user_id"] != "U1"],
                  users=TABLES["users"][TABLES["users"]["user_id"] != "U1"], orders=orders,
                  order_items=TABLES["order_items"][TABLES["order_items"]["order_id"].isin(orders["order_id"])])
    target = folder / "warehouse.duckdb"
    build_warehouse(write_tiny_shop(folder / "source", tables), target)
    with duckdb.connect(str(target), read_only=True) as con:
        yield con


@pytest.mark.parametrize("settings", [PrivacySettings(), PrivacySettings(session_cap=1, order_cap=1, revenue_cap=50.0)])
def test_removing_one_user_moves_each_total_by_at_most_its_sensitivity(tiny_con, warehouse_without_u1, settings):
    with_u1 = bounded_totals(tiny_con, ALL_DAYS, settings)
    without = bounded_totals(warehouse_without_u1, ALL_DAYS, settings)
    bounds = sensitivities(settings)
    for name, value in with_u1.items():
        assert abs(value - without[name]) <= bounds[name] + 1e-9, name
    # U1 is the heaviest user, so the caps bind exactly where U1 exceeds them.
    if settings.session_cap == 1:
        assert with_u1["sessions"] - without["sessions"] == 1
        assert with_u1["revenue"] - without["revenue"] == pytest.approx(50.0)


# --------------------------------------------------------------------------- noisy overview


def test_noisy_tiles_are_the_bounded_totals_plus_noise_and_divide_their_parts(tiny_con, tmp_path):
    overview = private_overview(tiny_con, ALL_DAYS, data_version="v1", viewer="v@example.com",
                                ledger=_ledger(tmp_path), settings=NO_NOISE)
    values = {kpi.name: kpi.value for kpi in overview.kpis}
    # Counts without noise: 5 sessions, 3 users, 2 orders, 2 / 5 = 0.4 converted. Revenue keeps a little
    # noise (scale 1000 / 2500 = 0.4, beyond 10 with probability e^-25): 130, and 130 / 2 = 65.
    assert {name: values[name] for name in ("sessions", "users", "orders", "conversion_rate")} == \
        {"sessions": 5, "users": 3, "orders": 2, "conversion_rate": 0.4}
    assert values["revenue"] == pytest.approx(130.0, abs=10)
    assert values["average_order_value"] == pytest.approx(values["revenue"] / 2)
    assert overview.epsilon == pytest.approx(1e4) and overview.charged == pytest.approx(1e4)
    assert all(kpi.accuracy is not None and kpi.accuracy >= 0 for kpi in overview.kpis)
    assert [kpi.epsilon > 0 for kpi in overview.kpis] == [True, True, True, True, False, False]


def test_the_tiles_report_the_scale_of_their_share_of_epsilon(tiny_con, tmp_path):
    settings = PrivacySettings(overview_epsilon=1.0)
    overview = private_overview(tiny_con, ALL_DAYS, data_version="v1", viewer="v@example.com",
                                ledger=_ledger(tmp_path), settings=settings)
    sessions = overview.kpi("sessions")
    # 15% of ε = 1 for sessions with 10 sessions per user: scale 10 / 0.15 = 66.7.
    assert sessions.epsilon == pytest.approx(0.15) and sessions.sensitivity == 10
    assert sessions.accuracy == pytest.approx(66.67 * np.log(20), rel=0.12)
    assert overview.epsilon == pytest.approx(1.0)


def test_a_viewer_past_the_budget_gets_no_tiles(tiny_con, tmp_path):
    ledger = _ledger(tmp_path, daily=1.5)
    settings = PrivacySettings(overview_epsilon=1.0, daily_epsilon=1.5)
    first = private_overview(tiny_con, ALL_DAYS, data_version="v1", viewer="v@example.com", ledger=ledger,
                             settings=settings)
    again = private_overview(tiny_con, ALL_DAYS, data_version="v1", viewer="v@example.com", ledger=ledger,
                             settings=settings)
    assert [kpi.value for kpi in again.kpis] == [kpi.value for kpi in first.kpis] and again.charged == 0
    with pytest.raises(BudgetExhausted):
        private_overview(tiny_con, replace(ALL_DAYS, channels=("email",)), data_version="v1",
                         viewer="v@example.com", ledger=ledger, settings=settings)


def test_the_divided_figures_intervals_hold_at_least_95_percent_of_the_time():
    # A small shop's month: 2,000 sessions of which 100 converted, 90 orders worth 9,000.
    totals = {"sessions": 2_000, "converted_sessions": 100, "users": 800, "orders": 90, "revenue": 9_000.0}
    settings = PrivacySettings(overview_epsilon=1.0)
    draws = 1_500
    covered = {"conversion_rate": 0, "average_order_value": 0}
    for _ in range(draws):
        by_name = {kpi.name: kpi for kpi in tiles(draw_figures(totals, settings))}
        for name, exact in (("conversion_rate", 100 / 2_000), ("average_order_value", 9_000 / 90)):
            kpi = by_name[name]
            covered[name] += kpi.value is not None and abs(kpi.value - exact) <= kpi.accuracy
    # Bonferroni over the two parts' 97.5% intervals: at least 95%; with 1,500 draws, 3 standard errors
    # below 95% is 93.3%.
    assert covered["conversion_rate"] / draws >= 0.933
    assert covered["average_order_value"] / draws >= 0.933


# --------------------------------------------------------------------------- noisy funnel


def test_each_user_falls_in_one_furthest_step_bucket():
    # Levels 0 (never entered), 1, 3, 3, 2: one stopped at step 1, one at 2, two at 3.
    assert furthest_step_histogram(np.array([0, 1, 3, 3, 2]), 3).tolist() == [1, 1, 2]


def test_removing_one_user_moves_the_furthest_step_histogram_by_at_most_one(tiny_con, warehouse_without_u1):
    query = FunnelQuery(VIEW_CART_BUY, timedelta(hours=1))
    with_u1 = furthest_step_histogram(user_levels(tiny_con, query, ALL_DAYS), 3)
    without = furthest_step_histogram(user_levels(warehouse_without_u1, query, ALL_DAYS), 3)
    # U1 viewed, carted and bought the phone: one user in bucket 3.
    assert with_u1.tolist() == [1, 0, 2] and without.tolist() == [1, 0, 1]
    assert np.abs(with_u1 - without).sum() == 1


def test_without_noise_the_private_funnel_is_the_exact_users_funnel(tiny_con, tmp_path):
    query = FunnelQuery(VIEW_CART_BUY, timedelta(hours=1), count_by="sessions", breakdown="device")
    funnel = private_funnel(tiny_con, query, ALL_DAYS, data_version="v1", viewer="v@example.com",
                            ledger=_ledger(tmp_path), settings=NO_NOISE)
    exact = count_funnel(tiny_con, replace(query, count_by="users", breakdown=None), ALL_DAYS)
    # Counted by users whatever was asked: 3 viewed, 2 carted, 2 bought.
    assert funnel.steps["users"].tolist() == exact["users"].tolist() == [3, 2, 2]
    assert funnel.query.count_by == "users" and funnel.query.breakdown is None
    assert funnel.steps["conversion_from_start"].tolist() == pytest.approx([1.0, 2 / 3, 2 / 3])


def test_noisy_funnel_steps_never_increase(sample_con, tmp_path):
    ledger = _ledger(tmp_path)
    settings = PrivacySettings(funnel_epsilon=0.05)      # scale 20: noise large against late steps
    steps = (FunnelStep("view"), FunnelStep("cart"), FunnelStep("purchase"), FunnelStep("view"),
             FunnelStep("purchase"))
    for offset in range(5):
        filters = Filters(date(2025, 12, 1) - timedelta(days=offset), date(2025, 12, 1) - timedelta(days=offset))
        funnel = private_funnel(sample_con, FunnelQuery(steps, timedelta(hours=1)), filters, data_version="v",
                                viewer="v@example.com", ledger=ledger, settings=settings)
        users = funnel.steps["users"].to_numpy()
        assert (np.diff(users) <= 0).all() and (users >= 0).all(), users
        # Step k adds n - k + 1 noisy buckets, so its interval widens toward the first step.
        assert (np.diff(funnel.steps["users_accuracy"].to_numpy()) <= 0).all()


def _pava_decreasing(values: list[float]) -> list[float]:
    """Pool-adjacent-violators for a non-increasing least-squares fit (an independent reference)."""
    blocks: list[list[float]] = []          # [mean, size]
    for value in values:
        blocks.append([value, 1])
        while len(blocks) > 1 and blocks[-2][0] < blocks[-1][0]:
            mean, size = blocks.pop()
            blocks[-1] = [(blocks[-1][0] * blocks[-1][1] + mean * size) / (blocks[-1][1] + size), blocks[-1][1] + size]
    return [mean for mean, size in blocks for _ in range(int(size))]


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(-50, 200), min_size=2, max_size=20))
def test_monotone_steps_are_the_rounded_least_squares_fit(buckets):
    steps = monotone_steps(np.array(buckets))
    assert (np.diff(steps) <= 0).all() and (steps >= 0).all()
    reached = np.cumsum(np.array(buckets, dtype=float)[::-1])[::-1]
    expected = np.rint(np.maximum(_pava_decreasing(list(reached)), 0))
    assert steps.tolist() == expected.astype(int).tolist()


def test_monotone_counts_pass_through_unchanged():
    # Buckets 5, 3, 2 reach 10, 5, 2: already non-increasing.
    assert monotone_steps(np.array([5, 3, 2])).tolist() == [10, 5, 2]


# --------------------------------------------------------------------------- display, exports, settings


@pytest.mark.parametrize(("value", "accuracy", "unit", "symbol", "text"), [
    (1230, 40.2, "count", "", "1,230 ± 40"),
    (22180, 150.3, "count", "", "22.2k ± 150"),
    (136301.9, 14978.7, "currency", "¥", "¥136k ± ¥15k"),
    (0.0585, 0.0089, "ratio", "", "5.85% ± 0.89 pp"),
    (None, None, "ratio", "", "—"),
])
def test_noisy_figures_read_with_their_accuracy(value, accuracy, unit, symbol, text):
    assert format_noisy(value, accuracy, unit, symbol) == text


def test_dp_exports_hold_only_noisy_figures_and_their_cost(tiny_con, tmp_path):
    ledger = _ledger(tmp_path)
    overview = private_overview(tiny_con, ALL_DAYS, data_version="v1", viewer="v@example.com", ledger=ledger,
                                settings=NO_NOISE)
    table = overview_export(overview)
    assert table.columns.tolist() == ["figure", "value", "plus_minus_95", "epsilon", "contribution_bound",
                                      "start_date", "end_date"]
    assert table["figure"].tolist()[:4] == ["sessions", "users", "orders", "revenue"]
    funnel = private_funnel(tiny_con, FunnelQuery(VIEW_CART_BUY), ALL_DAYS, data_version="v1",
                            viewer="v@example.com", ledger=ledger, settings=NO_NOISE)
    steps = funnel_export(funnel)
    assert steps.columns.tolist() == ["step_number", "step", "users", "plus_minus_95", "conversion_from_start",
                                      "epsilon"]
    assert not any(column.endswith("_id") for column in table.columns.tolist() + steps.columns.tolist())


def test_export_text_cannot_start_a_spreadsheet_formula():
    assert safe_cell("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert safe_cell("cart (Home)") == "cart (Home)"


def test_privacy_settings_are_checked():
    assert parse_privacy({"session_cap": 3, "daily_epsilon": 2}).daily_epsilon == 2.0
    with pytest.raises(ShopLensError, match="unknown setting 'epsilon'"):
        parse_privacy({"epsilon": 1})
    with pytest.raises(ShopLensError, match="session_cap must be a whole number"):
        parse_privacy({"session_cap": 0})
    with pytest.raises(ShopLensError, match="daily_epsilon must be a positive number"):
        parse_privacy({"daily_epsilon": -1.0})
