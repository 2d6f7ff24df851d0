"""Property tests: the warehouse against plain-Python reference implementations on random shops."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.filters import Filters
from analytics.overview import load_overview
from analytics.warehouse import build_warehouse

START = datetime(2025, 3, 1)
PRODUCTS = pd.DataFrame({
    "product_id": ["P1", "P2", "P3", "P4"],
    "title": ["a", "b", "c", "d"],
    "category_path": ["Toys > Cars", "Toys > Dolls", "Books > Fiction", "Garden"],
    "brand": ["x", "x", "y", "z"],
    "list_price": [5.0, 7.0, 11.0, 13.0],
})
CATEGORY = {"P1": "Toys", "P2": "Toys", "P3": "Books", "P4": "Garden"}

event_rows = st.lists(
    st.tuples(
        st.sampled_from(["U1", "U2", "U3"]),
        st.integers(min_value=0, max_value=6 * 24 * 60),  # minutes after START
        st.sampled_from(["view", "view", "cart", "purchase", "search"]),
        st.sampled_from(["P1", "P2", "P3", "P4"]),
        st.sampled_from(["mobile", "desktop"]),
    ),
    min_size=1,
    max_size=40,
)


def reference_sessions(events: pd.DataFrame) -> list[dict]:
    """Sessionise by 30 idle minutes per user, the slow obvious way."""
    sessions = []
    for user_id, rows in events.sort_values(["user_id", "event_time", "event_id"]).groupby("user_id"):
        current: list = []
        for row in rows.itertuples():
            if current and row.event_time - current[-1].event_time > timedelta(minutes=30):
                sessions.append(current)
                current = []
            current.append(row)
        sessions.append(current)
    summaries = []
    for rows in sessions:
        categories = {CATEGORY[r.product_id] for r in rows if isinstance(r.product_id, str)}
        summaries.append({
            "user_id": rows[0].user_id,
            "session_date": rows[0].event_time.date(),
            "device": rows[0].device,
            "event_count": len(rows),
            "is_converted": any(r.event_type == "purchase" for r in rows),
            "categories": categories,
            "purchased": {CATEGORY[r.product_id] for r in rows if r.event_type == "purchase"},
        })
    return summaries


def make_events(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["user_id", "minute", "event_type", "product_id", "device"])
    frame["event_id"] = range(1, len(frame) + 1)
    # The event id as extra seconds keeps times distinct, so "first event" has one answer.
    frame["event_time"] = [START + timedelta(minutes=m, seconds=i) for m, i in zip(frame["minute"], frame["event_id"])]
    frame.loc[frame.event_type == "search", "product_id"] = None
    frame["quantity"] = 1
    frame["price"] = 1.0
    frame["channel"] = "direct"
    return frame.drop(columns="minute")


def build(folder: Path, events: pd.DataFrame) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    events.to_parquet(folder / "events.parquet", index=False)
    PRODUCTS.to_parquet(folder / "products.parquet", index=False)
    target = folder / "w.duckdb"
    build_warehouse(folder, target)
    return target


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=event_rows)
def test_derived_sessions_match_the_reference(tmp_path_factory, rows):
    events = make_events(rows)
    target = build(tmp_path_factory.mktemp("shop"), events)
    expected = sorted((s["user_id"], s["event_count"], s["is_converted"]) for s in reference_sessions(events))
    with duckdb.connect(str(target), read_only=True) as con:
        actual = sorted(con.execute("select user_id, event_count, is_converted from fct_sessions").fetchall())
    assert actual == expected


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=event_rows,
    start_day=st.integers(min_value=0, max_value=5),
    length=st.integers(min_value=1, max_value=4),
    category=st.sampled_from([(), ("Toys",), ("Books", "Garden")]),
    device=st.sampled_from([(), ("mobile",)]),
)
def test_overview_kpis_match_the_reference(tmp_path_factory, rows, start_day, length, category, device):
    events = make_events(rows)
    target = build(tmp_path_factory.mktemp("shop"), events)
    first = date(2025, 3, 1) + timedelta(days=start_day)
    filters = Filters(first, first + timedelta(days=length - 1), categories=category, devices=device)

    chosen = [
        s for s in reference_sessions(events)
        if filters.start_date <= s["session_date"] <= filters.end_date
        and (not device or s["device"] in device)
        and (not category or s["categories"] & set(category))
    ]
    if category:
        converted = [s for s in chosen if s["purchased"] & set(category)]
    else:
        converted = [s for s in chosen if s["is_converted"]]
    with duckdb.connect(str(target), read_only=True) as con:
        overview = load_overview(con, filters)
    assert overview.kpi("sessions").value == len(chosen)
    assert overview.kpi("users").value == len({s["user_id"] for s in chosen})
    expected_rate = len(converted) / len(chosen) if chosen else None
    assert overview.kpi("conversion_rate").value == expected_rate
    # The daily rows add up to the period's sessions.
    assert overview.daily["sessions"].sum() == len(chosen)
    assert len(overview.daily) == length


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=event_rows, cut=st.integers(min_value=1, max_value=5))
def test_splitting_a_period_never_loses_sessions(tmp_path_factory, rows, cut):
    """Sessions are additive over days: two adjacent periods sum to the whole."""
    target = build(tmp_path_factory.mktemp("shop"), make_events(rows))
    whole = Filters(date(2025, 3, 1), date(2025, 3, 7))
    left = Filters(date(2025, 3, 1), date(2025, 3, 1) + timedelta(days=cut - 1))
    right = Filters(left.end_date + timedelta(days=1), date(2025, 3, 7))
    with duckdb.connect(str(target), read_only=True) as con:
        totals = [load_overview(con, f).kpi("sessions").value for f in (whole, left, right)]
    assert totals[0] == totals[1] + totals[2]
