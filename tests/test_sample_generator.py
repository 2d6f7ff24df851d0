"""Tests of the sample-shop generator: contract, consistency and planted effects.

The effect tests measure each planted effect from the generated tables with
plain pandas, the way an analysis would, and assert its direction and rough
size. They run on one mid-size sample (8,000 users x 365 days, ~130k events)
generated once per module.
"""

from __future__ import annotations

import datetime as dt
import pathlib

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analytics import schema
from analytics.calendar import FESTIVALS, PHASES, black_friday, festival_calendar, prophet_holidays
from analytics.sample import PLANTED_EFFECTS, SampleConfig, generate_sample, write_sample
from analytics.sample import generator as generator_module
from analytics.sample.catalog import TOP_LEVEL_NAMES

EFFECTS_CONFIG = SampleConfig(users=8_000, days=365, seed=11)
SMALL_CONFIG = SampleConfig(users=1_500, days=120, seed=3, start_date=dt.date(2025, 5, 1))
PEAK_FESTIVALS = ("Singles' Day", "618", "Black Friday", "Cyber Monday")
CJK = "[\u4e00-\u9fff]"

ARROW_TYPES = {
    "BIGINT": pa.int64(),
    "INTEGER": pa.int32(),
    "DOUBLE": pa.float64(),
    "VARCHAR": pa.string(),
    "TIMESTAMP": pa.timestamp("us"),
    "DATE": pa.date32(),
}


@pytest.fixture(scope="module")
def tables() -> dict[str, pa.Table]:
    return generate_sample(EFFECTS_CONFIG)


@pytest.fixture(scope="module")
def frames(tables: dict[str, pa.Table]) -> dict[str, pd.DataFrame]:
    return {name: table.to_pandas() for name, table in tables.items()}


@pytest.fixture(scope="module")
def small() -> dict[str, pa.Table]:
    return generate_sample(SMALL_CONFIG)


# --- Measurements shared by the effect tests --------------------------------


def sessions_of(events: pd.DataFrame) -> pd.DataFrame:
    """One row per session: user, start, device, channel, converted, is_first, date."""
    sessions = events.assign(purchase=events["event_type"] == "purchase").groupby("session_id").agg(
        user_id=("user_id", "first"),
        started=("event_time", "min"),
        device=("device", "first"),
        channel=("channel", "first"),
        converted=("purchase", "any"),
    )
    sessions["is_first"] = sessions.groupby("user_id")["started"].rank(method="first") == 1
    sessions["date"] = sessions["started"].dt.normalize()
    return sessions


def special_days(promotions: pd.DataFrame, start: dt.date, days: int) -> set[pd.Timestamp]:
    """Festival days and days with a sitewide or category promotion."""
    calendar = festival_calendar(start, start + dt.timedelta(days=days - 1))
    special = set(calendar["date"])
    for promo in promotions[promotions["scope"] != "product"].itertuples():
        special |= set(pd.date_range(promo.start_date, promo.end_date))
    return special


def daily_sessions(sessions: pd.DataFrame, start: dt.date, days: int) -> pd.Series:
    index = pd.date_range(start, periods=days)
    return sessions.groupby("date").size().reindex(index, fill_value=0)


def cart_outcomes(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per cart event with ``bought`` (same product purchased in the same session) and ``expensive``."""
    events, products = frames["events"], frames["products"]
    medians = products.groupby("category_path")["list_price"].transform("median")
    products = products.assign(expensive=products["list_price"] > 1.5 * medians)
    carts = events.loc[events["event_type"] == "cart", ["session_id", "product_id"]]
    buys = events.loc[events["event_type"] == "purchase", ["session_id", "product_id"]].assign(bought=True)
    carts = carts.merge(buys, how="left", on=["session_id", "product_id"]).merge(products[["product_id", "expensive"]])
    carts["bought"] = carts["bought"].fillna(False).astype(bool)
    return carts


def expensive_cart_ratio(frames: dict[str, pd.DataFrame]) -> float:
    rates = cart_outcomes(frames).groupby("expensive")["bought"].mean()
    return float(rates[True] / rates[False])


def flash_sale_cart_ratio(frames: dict[str, pd.DataFrame]) -> float:
    """Cart rate per product view, in-scope vs out-of-scope, on category flash-sale days."""
    events, products, promotions = frames["events"], frames["products"], frames["promotions"]
    top = products.set_index("product_id")["category_path"].str.split(" > ").str[0]
    views = events[events["event_type"] == "view"].drop_duplicates(["session_id", "product_id"])
    carts = events.loc[events["event_type"] == "cart", ["session_id", "product_id"]].assign(carted=True)
    views = views.merge(carts, how="left", on=["session_id", "product_id"])
    views["carted"] = views["carted"].fillna(False).astype(bool)
    views["top"] = views["product_id"].map(top)
    views["date"] = views["event_time"].dt.normalize()
    rows = []
    for promo in promotions[promotions["scope"] == "category"].itertuples():
        during = views[views["date"].between(pd.Timestamp(promo.start_date), pd.Timestamp(promo.end_date))]
        rows.append(during.assign(in_scope=during["top"] == promo.scope_value))
    rates = pd.concat(rows).groupby("in_scope")["carted"].mean()
    return float(rates[True] / rates[False])


# --- Determinism and streaming ------------------------------------------------


def test_same_seed_gives_identical_tables(small: dict[str, pa.Table]) -> None:
    again = generate_sample(SMALL_CONFIG)
    assert list(again) == list(small)
    for name, table in small.items():
        assert table.equals(again[name]), name


def test_different_seed_gives_different_tables(small: dict[str, pa.Table]) -> None:
    other = generate_sample(SampleConfig(users=SMALL_CONFIG.users, days=SMALL_CONFIG.days, seed=4, start_date=SMALL_CONFIG.start_date))
    for name in ("events", "products", "users", "orders", "order_items"):
        assert not other[name].equals(small[name]), name


def test_write_sample_streams_chunks_and_matches_generate(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Small chunks exercise the multi-chunk path (ids continuing across chunks,
    # one row group per chunk) without a big sample.
    monkeypatch.setattr(generator_module, "USERS_PER_CHUNK", 400)
    config = SampleConfig(users=1_000, days=90, seed=5)
    calls: list[tuple[int, int]] = []
    counts = write_sample(config, tmp_path / "out", progress=lambda done, total: calls.append((done, total)))
    assert calls == [(400, 1_000), (800, 1_000), (1_000, 1_000)]
    expected = generate_sample(config)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(f"{t.name}.parquet" for t in schema.TABLES)
    for name, table in expected.items():
        written = pq.read_table(tmp_path / "out" / f"{name}.parquet")
        assert counts[name] == table.num_rows == written.num_rows, name
        assert written.equals(table), name
    assert pq.ParquetFile(tmp_path / "out" / "events.parquet").metadata.num_row_groups == 3
    # Ids continue across chunks: numbered 1..n without gaps or repeats.
    events = expected["events"].to_pandas()
    assert (np.sort(events["event_id"].to_numpy()) == np.arange(1, len(events) + 1)).all()
    for column, ids in (("session_id", events["session_id"]), ("order_id", expected["orders"]["order_id"].to_pandas())):
        numbers = np.sort(ids.drop_duplicates().str[1:].astype(int).to_numpy())
        assert (numbers == np.arange(1, len(numbers) + 1)).all(), column
    assert events.groupby("session_id")["user_id"].nunique().eq(1).all()
    assert expected["users"]["user_id"].to_pandas().is_unique


def test_interrupted_write_keeps_the_previous_sample(tmp_path: pathlib.Path) -> None:
    config = SampleConfig(users=200, days=30)
    write_sample(config, tmp_path)
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir()}

    def interrupt(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_sample(SampleConfig(users=300, days=30, seed=8), tmp_path, progress=interrupt)
    assert {path.name: path.read_bytes() for path in tmp_path.iterdir()} == before


# --- Contract -------------------------------------------------------------------


def test_tables_follow_the_canonical_schema(tables: dict[str, pa.Table]) -> None:
    assert list(tables) == [table.name for table in schema.TABLES]
    for spec in schema.TABLES:
        table = tables[spec.name]
        assert tuple(table.column_names) == spec.column_names, spec.name
        for column in spec.columns:
            assert table.schema.field(column.name).type == ARROW_TYPES[column.sql_type], (spec.name, column.name)
            if not column.nullable:
                assert table[column.name].null_count == 0, (spec.name, column.name)
        assert table.num_rows > 0, spec.name


def test_categorical_values_are_in_the_allowed_sets(frames: dict[str, pd.DataFrame]) -> None:
    events = frames["events"]
    assert set(events["event_type"]) == set(schema.EVENT_TYPES)
    assert set(events["device"]) == set(schema.DEVICES)
    assert set(events["channel"]) == set(schema.CHANNELS)
    assert set(frames["users"]["acquisition_channel"]) <= set(schema.CHANNELS)
    assert set(frames["orders"]["device"]) <= set(schema.DEVICES)
    assert set(frames["orders"]["channel"]) <= set(schema.CHANNELS)
    assert set(frames["promotions"]["scope"]) == set(schema.PROMOTION_SCOPES)


def test_event_columns_are_filled_by_event_type(frames: dict[str, pd.DataFrame]) -> None:
    events = frames["events"]
    search = events["event_type"] == "search"
    assert events.loc[search, "search_query"].notna().all()
    assert events.loc[search, ["product_id", "price", "quantity"]].isna().all().all()
    assert events.loc[~search, "search_query"].isna().all()
    assert events.loc[~search, ["product_id", "price"]].notna().all().all()
    with_quantity = events["event_type"].isin(["cart", "remove_from_cart", "purchase"])
    assert events.loc[with_quantity, "quantity"].between(1, 3).all()
    assert events.loc[~with_quantity, "quantity"].isna().all()
    assert (events.loc[~search, "price"] > 0).all()


@pytest.mark.parametrize("spec", schema.TABLES, ids=lambda spec: spec.name)
def test_primary_keys_are_unique(tables: dict[str, pa.Table], spec: schema.Table) -> None:
    keys = tables[spec.name].select(list(spec.primary_key)).to_pandas()
    assert not keys.duplicated().any()


def test_id_formats(frames: dict[str, pd.DataFrame]) -> None:
    assert frames["users"]["user_id"].str.fullmatch(r"U\d{8}").all()
    assert frames["products"]["product_id"].str.fullmatch(r"P\d{5}").all()
    assert frames["events"]["session_id"].str.fullmatch(r"S\d{9}").all()
    assert frames["orders"]["order_id"].str.fullmatch(r"O\d{8}").all()


def test_referential_integrity(frames: dict[str, pd.DataFrame]) -> None:
    events, products, users = frames["events"], frames["products"], frames["users"]
    orders, items = frames["orders"], frames["order_items"]
    assert set(events["product_id"].dropna()) <= set(products["product_id"])
    assert set(events["user_id"]) == set(users["user_id"])  # every user has an event
    assert set(orders["user_id"]) <= set(users["user_id"])
    assert set(orders["session_id"]) <= set(events["session_id"])
    assert set(items["order_id"]) == set(orders["order_id"])
    assert set(items["product_id"]) <= set(products["product_id"])
    product_promos = frames["promotions"].query("scope == 'product'")["scope_value"]
    assert set(product_promos) <= set(products["product_id"])
    assert set(frames["promotions"].query("scope == 'category'")["scope_value"]) <= set(TOP_LEVEL_NAMES)


# --- Consistency between tables --------------------------------------------------


def test_purchases_match_order_items_exactly(frames: dict[str, pd.DataFrame]) -> None:
    events, orders, items = frames["events"], frames["orders"], frames["order_items"]
    purchases = events[events["event_type"] == "purchase"]
    lines = items.merge(orders, on="order_id")
    matched = purchases.merge(lines, on=["session_id", "product_id"], how="outer", indicator=True, suffixes=("", "_item"))
    assert (matched["_merge"] == "both").all()
    assert len(matched) == len(purchases) == len(items)
    assert (matched["quantity"] == matched["quantity_item"]).all()
    assert (matched["event_time"] == matched["ordered_at"]).all()
    assert (matched["user_id"] == matched["user_id_item"]).all()
    assert (matched["channel"] == matched["channel_item"]).all() and (matched["device"] == matched["device_item"]).all()
    paid_per_unit = matched["unit_price"] - matched["discount_amount"] / matched["quantity"]
    assert np.allclose(matched["price"], paid_per_unit, atol=1e-9)
    event_revenue = (purchases["quantity"] * purchases["price"]).sum()
    item_revenue = (items["quantity"] * items["unit_price"] - items["discount_amount"]).sum()
    assert abs(event_revenue - item_revenue) < 1e-6
    # One order per purchasing session, lines numbered 1..n.
    assert orders["session_id"].is_unique
    assert set(orders["session_id"]) == set(purchases["session_id"])
    numbering = items.groupby("order_id")["line_number"].agg(["min", "max", "count"])
    assert (numbering["min"] == 1).all() and (numbering["max"] == numbering["count"]).all()


def test_prices_follow_list_prices_and_promotions(frames: dict[str, pd.DataFrame]) -> None:
    events, products, items = frames["events"], frames["products"], frames["order_items"]
    on_product = events[events["product_id"].notna()]
    list_price = on_product["product_id"].map(products.set_index("product_id")["list_price"])
    rate = 1 - on_product["price"] / list_price
    assert (rate > -1e-9).all() and (rate < 0.31).all()
    assert (rate > 0.05).mean() > 0.05  # promotions do show up in prices
    discounted_dates = set(on_product.loc[rate > 1e-9, "event_time"].dt.normalize())
    promo_dates: set[pd.Timestamp] = set()
    for promo in frames["promotions"].itertuples():
        promo_dates |= set(pd.date_range(promo.start_date, promo.end_date))
    assert discounted_dates <= promo_dates
    assert (items["unit_price"] == items["product_id"].map(products.set_index("product_id")["list_price"])).all()
    assert (items["discount_amount"] >= 0).all()
    assert np.allclose(items["discount_amount"], items["discount_amount"].round(2))


def test_users_first_seen_is_their_first_event(frames: dict[str, pd.DataFrame]) -> None:
    events, users = frames["events"], frames["users"].set_index("user_id")
    first = events.sort_values(["event_time", "event_id"]).groupby("user_id").first()
    assert (users.loc[first.index, "first_seen_at"] == first["event_time"]).all()
    assert (users.loc[first.index, "acquisition_channel"] == first["channel"]).all()
    assert users["region"].notna().all()


def test_sessions_are_recovered_by_thirty_minute_inactivity(frames: dict[str, pd.DataFrame]) -> None:
    events = frames["events"].sort_values(["user_id", "event_time", "event_id"])
    gap = events["event_time"].diff()
    new_session = (events["user_id"] != events["user_id"].shift()) | (gap > pd.Timedelta(minutes=30))
    derived = new_session.cumsum()
    assert (events.groupby("session_id")[[]].size() > 0).all()
    assert derived.groupby(events["session_id"]).nunique().eq(1).all()
    assert events["session_id"].groupby(derived).nunique().eq(1).all()
    # Events stay on their session's day and inside the sample period.
    by_session = events.groupby("session_id")["event_time"]
    assert (by_session.min().dt.normalize() == by_session.max().dt.normalize()).all()
    start = pd.Timestamp(EFFECTS_CONFIG.start_date)
    assert events["event_time"].min() >= start
    assert events["event_time"].max() < start + pd.Timedelta(days=EFFECTS_CONFIG.days)


# --- Shop realism -----------------------------------------------------------------


def test_catalogue_is_bilingual_and_categorised(frames: dict[str, pd.DataFrame]) -> None:
    products, events = frames["products"], frames["events"]
    paths = products["category_path"].str.split(" > ")
    assert (paths.str.len() == 3).all()
    assert set(paths.str[0]) == set(TOP_LEVEL_NAMES) and len(TOP_LEVEL_NAMES) == 8
    assert products["category_path"].nunique() >= 40
    assert 0.15 <= products["title"].str.contains(CJK).mean() <= 0.4
    assert products["brand"].str.contains(CJK).any() and not products["brand"].str.contains(CJK).all()
    queries = events["search_query"].dropna()
    assert 0.1 <= queries.str.contains(CJK).mean() <= 0.4
    # Prices scatter around each leaf's median: leaves differ, products within a leaf differ.
    spread = products.groupby("category_path")["list_price"].agg(["median", "min", "max"])
    assert spread["median"].max() / spread["median"].min() > 50
    assert (spread["max"] > spread["min"]).mean() > 0.9


def test_product_popularity_is_long_tailed(frames: dict[str, pd.DataFrame]) -> None:
    views = frames["events"].query("event_type == 'view'")["product_id"].value_counts()
    top_fifth = views.head(len(frames["products"]) // 5).sum() / views.sum()
    assert 0.5 <= top_fifth <= 0.9
    sold = set(frames["order_items"]["product_id"])
    never_sold = ~frames["products"]["product_id"].isin(sold)
    assert 0 < never_sold.sum() < len(frames["products"])


def test_some_users_only_search(frames: dict[str, pd.DataFrame]) -> None:
    events = frames["events"]
    only_search = (events["event_type"] == "search").groupby(events["user_id"]).all()
    assert 0 < only_search.mean() < 0.05


def test_acquisition_grows_and_users_churn(frames: dict[str, pd.DataFrame]) -> None:
    first_seen = frames["users"]["first_seen_at"]
    halves = (first_seen < pd.Timestamp(EFFECTS_CONFIG.start_date) + pd.Timedelta(days=EFFECTS_CONFIG.days // 2)).value_counts()
    assert halves[False] > 1.2 * halves[True]
    sessions = sessions_of(frames["events"])
    per_user = sessions.groupby("user_id").size()
    assert 0.3 < (per_user == 1).mean() < 0.8  # many visit once
    assert per_user.max() >= 20  # a few visit a lot


def test_promotion_calendar(frames: dict[str, pd.DataFrame]) -> None:
    promotions = frames["promotions"]
    sitewide = promotions[promotions["scope"] == "all"]
    assert len(sitewide) == 3
    assert sitewide["discount_rate"].between(0.1, 0.3).all()
    starts = set(pd.to_datetime(sitewide["start_date"]).dt.strftime("%m-%d"))
    assert {"06-01", "11-01", black_friday(2025).strftime("%m-%d")} == starts
    flash = promotions[promotions["scope"] == "category"]
    assert len(flash) == 12 and flash["scope_value"].isin(TOP_LEVEL_NAMES).all()
    assert (promotions["end_date"] >= promotions["start_date"]).all()
    assert promotions["promotion_id"].is_unique


def test_flash_sales_stay_clear_of_festival_sales() -> None:
    # Three years, so Black Friday falls on different dates (Nov 24, 29, 28).
    promotions = generate_sample(SampleConfig(users=20, days=3 * 365, start_date=dt.date(2023, 1, 1)))["promotions"].to_pandas()
    sitewide = promotions[promotions["scope"] == "all"]
    flash = promotions[promotions["scope"] == "category"]
    assert len(sitewide) == 9 and len(flash) == 36
    for sale in flash.itertuples():
        overlaps = (sitewide["start_date"] <= sale.end_date) & (sitewide["end_date"] >= sale.start_date)
        assert not overlaps.any(), sale.name
    assert (flash["scope_value"].to_numpy()[1:] != flash["scope_value"].to_numpy()[:-1]).all()


# --- Planted effects ----------------------------------------------------------------


def test_planted_effects_are_documented() -> None:
    assert len(PLANTED_EFFECTS) >= 7
    docs = pathlib.Path(__file__).resolve().parents[1] / "docs" / "sample-data.md"
    text = docs.read_text(encoding="utf-8")
    for name in PLANTED_EFFECTS:
        assert f"`{name}`" in text, name


def test_expensive_carts_are_abandoned_more(frames: dict[str, pd.DataFrame]) -> None:
    carts = cart_outcomes(frames)
    assert carts["expensive"].sum() >= 200
    assert 0.3 <= expensive_cart_ratio(frames) <= 0.75


def test_festival_peaks_lift_traffic_and_conversion(frames: dict[str, pd.DataFrame]) -> None:
    config = EFFECTS_CONFIG
    sessions = sessions_of(frames["events"])
    daily = daily_sessions(sessions, config.start_date, config.days)
    special = special_days(frames["promotions"], config.start_date, config.days)
    calendar = festival_calendar(config.start_date, config.start_date + dt.timedelta(days=config.days - 1))
    peaks = calendar[(calendar["phase"] == "peak") & calendar["festival"].isin(PEAK_FESTIVALS)]["date"]
    for peak in peaks:
        window = daily[(daily.index - peak).map(abs) <= pd.Timedelta(days=30)]
        typical = window[~window.index.isin(special)].median()
        assert daily[peak] >= 2 * typical, peak
    on_peak = sessions["date"].isin(set(peaks))
    ordinary = ~sessions["date"].isin(special)
    assert sessions.loc[on_peak, "converted"].mean() > 1.3 * sessions.loc[ordinary, "converted"].mean()


def test_weekends_have_more_traffic(frames: dict[str, pd.DataFrame]) -> None:
    config = EFFECTS_CONFIG
    daily = daily_sessions(sessions_of(frames["events"]), config.start_date, config.days)
    ordinary = daily[~daily.index.isin(special_days(frames["promotions"], config.start_date, config.days))]
    weekend = ordinary.index.day_of_week >= 5
    assert 1.1 <= ordinary[weekend].mean() / ordinary[~weekend].mean() <= 1.5


def test_conversion_by_device(frames: dict[str, pd.DataFrame]) -> None:
    rates = sessions_of(frames["events"]).groupby("device")["converted"].mean()
    assert rates["app"] > rates["desktop"] > rates["mobile"]
    assert rates["mobile"] / rates["desktop"] < 0.8


def test_returning_sessions_convert_more_than_first_sessions(frames: dict[str, pd.DataFrame]) -> None:
    rates = sessions_of(frames["events"]).groupby("is_first")["converted"].mean()
    assert rates[False] / rates[True] >= 1.5


def test_email_sessions_convert_best(frames: dict[str, pd.DataFrame]) -> None:
    sessions = sessions_of(frames["events"])
    rates = sessions.groupby("channel")["converted"].mean()
    assert rates.idxmax() == "email"
    assert rates["email"] >= 1.4 * sessions["converted"].mean()
    # Not only because email visits are returning visits.
    returning = sessions[~sessions["is_first"]].groupby("channel")["converted"].mean()
    assert returning.idxmax() == "email"


def test_promotions_lift_cart_rate_in_scope(frames: dict[str, pd.DataFrame]) -> None:
    assert 1.2 <= flash_sale_cart_ratio(frames) <= 2.5


# --- Calendar -------------------------------------------------------------------------


def test_calendar_dates() -> None:
    calendar = festival_calendar(dt.date(2024, 1, 1), dt.date(2025, 12, 31))
    assert list(calendar.columns) == ["date", "festival", "phase"]
    assert set(calendar["festival"]) == set(FESTIVALS) and set(calendar["phase"]) <= set(PHASES)
    peaks = calendar[calendar["phase"] == "peak"]

    def peak_dates(festival: str) -> list[str]:
        return peaks.loc[peaks["festival"] == festival, "date"].dt.strftime("%Y-%m-%d").tolist()

    assert peak_dates("618") == ["2024-06-18", "2025-06-18"]
    assert peak_dates("Singles' Day") == ["2024-11-11", "2025-11-11"]
    # Day after Thanksgiving: 2024 is a fifth Friday because November 1 was a Friday.
    assert peak_dates("Black Friday") == ["2024-11-29", "2025-11-28"]
    assert peak_dates("Cyber Monday") == ["2024-12-02", "2025-12-01"]
    run_up = calendar[(calendar["festival"] == "618") & (calendar["phase"] == "run_up")]
    assert len(run_up) == 2 * 17
    assert calendar["date"].is_monotonic_increasing


def test_calendar_range_is_inclusive_and_prophet_ready() -> None:
    calendar = festival_calendar(dt.date(2025, 11, 11), dt.date(2025, 11, 11))
    assert calendar[["festival", "phase"]].values.tolist() == [["Singles' Day", "peak"]]
    assert festival_calendar(dt.date(2025, 2, 1), dt.date(2025, 2, 28)).empty
    holidays = prophet_holidays(dt.date(2024, 12, 30), dt.date(2025, 1, 2))
    assert holidays.to_dict("list") == {
        "holiday": ["New Year run-up", "New Year"],
        "ds": [pd.Timestamp("2024-12-31"), pd.Timestamp("2025-01-01")],
    }
    with pytest.raises(ValueError):
        festival_calendar(dt.date(2025, 2, 1), dt.date(2025, 1, 1))


def test_committed_sample_is_exactly_what_the_generator_makes(tmp_path):
    """sample_data/ must be regenerated (`make sample`) whenever the generator changes."""
    from tests.conftest import SAMPLE_DATA

    write_sample(SampleConfig(), tmp_path)
    for committed in sorted(SAMPLE_DATA.glob("*.parquet")):
        assert committed.read_bytes() == (tmp_path / committed.name).read_bytes(), (
            f"{committed.name} differs from the generator's output; run `make sample` and commit sample_data/"
        )
