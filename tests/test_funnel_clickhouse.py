"""Funnel counts against ClickHouse's own `windowFunnel`, through the embedded chdb package.

Ordered mode must equal `windowFunnel(window)` and strict mode `windowFunnel(window, 'strict_order')`,
user by user, on random logs and on the real Taobao UserBehavior excerpt. Equal, not close.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from analytics.cli import main
from analytics.filters import Filters
from analytics.funnels import FunnelQuery, compute_levels, count_funnel, load_event_store, parse_steps
from analytics.funnels.store import event_store_from_frame
from analytics.warehouse import build_warehouse

chdb_session = pytest.importorskip("chdb.session", reason="chdb (the embedded ClickHouse) is not installed; "
                                   "pip install 'shoplens[test]'")

REPO_ROOT = Path(__file__).resolve().parents[1]
TAOBAO = REPO_ROOT.parent / "shared" / "data" / "taobao_userbehavior_excerpt" / "userbehavior_excerpt.csv.gz"
TAOBAO_EVENT_TYPES = {"pv": "view", "cart": "cart", "fav": "favorite", "buy": "purchase"}
CLICKHOUSE_MODES = {"ordered": "", "strict": ", 'strict_order'"}


@pytest.fixture(scope="module")
def clickhouse():
    session = chdb_session.Session()
    yield session
    session.close()


def clickhouse_levels(session, log: pd.DataFrame, steps: list[str], window: int, mode: str) -> dict[int, int]:
    """user -> windowFunnel level, over a log with columns user, time (unsigned), event_type."""
    session.query("drop table if exists funnel_log")
    session.query("create table funnel_log (user UInt64, time UInt64, event_type String) engine = Memory")
    rows = log[["user", "time", "event_type"]].astype({"user": "uint64", "time": "uint64", "event_type": str})
    session.query(f"insert into funnel_log select user, time, event_type from Python(rows)")
    # Step names are test constants; ClickHouse's funnel needs one condition argument per step.
    conditions = ", ".join(f"event_type = '{step}'" for step in steps)
    result = session.query(
        f"select user, windowFunnel({window}{CLICKHOUSE_MODES[mode]})(time, {conditions}) as level "
        "from funnel_log group by user", "DataFrame")
    return dict(zip(result["user"].astype(int), result["level"].astype(int)))


def engine_levels(log: pd.DataFrame, steps: list[str], window: int, mode: str) -> dict[int, int]:
    masks = np.zeros(len(log), dtype=np.int64)
    for index, step in enumerate(steps):
        masks |= (log["event_type"].to_numpy() == step).astype(np.int64) << index
    levels = compute_levels(log["user"].to_numpy(), log["time"].to_numpy(), masks, n_steps=len(steps),
                            window_us=window, mode=mode)
    return dict(zip(levels.keys.tolist(), levels.level.astype(int).tolist()))


def random_log(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(200, 3000))
    return pd.DataFrame({
        "user": rng.integers(0, max(2, n // 8), n),
        "time": rng.integers(0, int(rng.choice([50, 500, 5000])), n),  # small ranges force ties
        "event_type": rng.choice(["view", "cart", "purchase", "favorite", "search"], n, p=[.5, .2, .12, .1, .08]),
    })


@pytest.mark.parametrize("mode", ["ordered", "strict"])
@pytest.mark.parametrize("seed", range(12))
def test_random_logs_match_window_funnel_user_by_user(clickhouse, seed: int, mode: str) -> None:
    rng = np.random.default_rng(1000 + seed)
    log = random_log(seed)
    steps = list(rng.choice(["view", "cart", "purchase", "favorite"], int(rng.integers(2, 7))))
    window = int(rng.integers(1, 400))
    expected = clickhouse_levels(clickhouse, log, steps, window, mode)
    actual = engine_levels(log, steps, window, mode)
    # ClickHouse lists every user; the engine lists users with a row, which is every user too.
    assert actual == expected


@pytest.mark.parametrize("mode", ["ordered", "strict"])
@pytest.mark.parametrize("seed", range(4))
def test_random_logs_through_the_event_store_match_window_funnel(clickhouse, seed: int, mode: str) -> None:
    # The in-memory store (the Funnels page's path, with its fused ordered kernel) against ClickHouse.
    rng = np.random.default_rng(2000 + seed)
    log = random_log(100 + seed)
    steps = list(rng.choice(["view", "cart", "purchase", "favorite"], int(rng.integers(2, 7))))
    window = int(rng.integers(1, 400))
    levels = clickhouse_levels(clickhouse, log, steps, window, mode)
    expected = [sum(level >= number for level in levels.values()) for number in range(1, len(steps) + 1)]
    store = event_store_from_frame(pd.DataFrame({
        "user_key": log["user"], "event_time_us": log["time"] * 1_000_000, "event_type": log["event_type"]}))
    query = FunnelQuery(parse_steps(",".join(steps)), timedelta(seconds=window), mode=mode)
    assert count_funnel(None, query, Filters(date(1970, 1, 1), date(1970, 1, 1)), store)["users"].tolist() == expected


def test_a_long_funnel_matches_window_funnel(clickhouse) -> None:
    log = random_log(99)
    steps = ["view", "cart", "view", "purchase", "view", "cart", "view", "cart", "purchase", "view"] * 2
    for mode in CLICKHOUSE_MODES:
        assert engine_levels(log, steps, 2000, mode) == clickhouse_levels(clickhouse, log, steps, 2000, mode)


@pytest.fixture(scope="module")
def taobao() -> pd.DataFrame:
    if not TAOBAO.is_file():
        pytest.skip(f"the Taobao excerpt is not at {TAOBAO} (it lives in ../shared/data beside the repository)")
    log = pd.read_csv(TAOBAO)
    return pd.DataFrame({
        "user": log["user_id"].astype(np.int64),
        "time": log["timestamp"].astype(np.int64),  # Unix seconds
        "event_type": log["behavior_type"].map(TAOBAO_EVENT_TYPES),
        "product_id": log["item_id"].astype(str),
    })


@pytest.mark.parametrize("window_seconds", [1800, 3600])
@pytest.mark.parametrize("mode", ["ordered", "strict"])
def test_taobao_counts_equal_window_funnel(clickhouse, taobao: pd.DataFrame, mode: str, window_seconds: int) -> None:
    steps = ["view", "cart", "purchase"]
    expected = clickhouse_levels(clickhouse, taobao, steps, window_seconds, mode)
    # Engine times are microseconds: scale both the times and the window.
    in_microseconds = taobao.assign(time=taobao["time"] * 1_000_000)
    actual = engine_levels(in_microseconds, steps, window_seconds * 1_000_000, mode)
    assert actual == expected
    # PROVENANCE.md: 60,993 users viewed; the funnel is not empty at the end.
    assert sum(level >= 1 for level in actual.values()) == 60_993
    assert sum(level == 3 for level in actual.values()) > 0


@pytest.fixture(scope="module")
def taobao_warehouse(taobao: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The excerpt as canonical events (Taobao's pv/cart/buy become view/cart/purchase), built."""
    folder = tmp_path_factory.mktemp("taobao")
    source = folder / "source"
    source.mkdir()
    pd.DataFrame({
        "event_id": np.arange(1, len(taobao) + 1, dtype=np.int64),
        "user_id": taobao["user"].astype(str),
        "event_time": pd.to_datetime(taobao["time"], unit="s"),
        "event_type": taobao["event_type"],
        "product_id": taobao["product_id"],
        # Taobao has no device or channel. One constant each keeps `shoplens funnel`'s filter lookup
        # working: with none at all, analytics.overview.filter_options fails on the NULL lists.
        "device": "app",
        "channel": "direct",
    }).to_parquet(source / "events.parquet", index=False)
    target = folder / "warehouse.duckdb"
    build_warehouse(source, target)
    return target


@pytest.mark.parametrize("window", [timedelta(minutes=30), timedelta(hours=1)])
@pytest.mark.parametrize("mode", ["ordered", "strict"])
def test_taobao_through_the_warehouse_equals_window_funnel(clickhouse, taobao, taobao_warehouse, mode, window,
                                                          capsys) -> None:
    steps = ["view", "cart", "purchase"]
    levels = clickhouse_levels(clickhouse, taobao, steps, int(window.total_seconds()), mode)
    expected = [sum(level >= number for level in levels.values()) for number in (1, 2, 3)]
    query = FunnelQuery(parse_steps(",".join(steps)), window, mode=mode)
    with duckdb.connect(str(taobao_warehouse), read_only=True) as con:
        steps_table = count_funnel(con, query, Filters(date(2017, 11, 26), date(2017, 11, 26)))
        # The Funnels page's path: the events held in memory (ordered mode takes the fused kernel).
        from_store = count_funnel(con, query, Filters(date(2017, 11, 26), date(2017, 11, 26)),
                                  load_event_store(con))
    assert steps_table["users"].tolist() == expected
    assert from_store["users"].tolist() == expected
    # And `shoplens funnel`, as a user would run it.
    window_text = f"{int(window.total_seconds() // 60)}m"
    code = main(["funnel", "--warehouse", str(taobao_warehouse), "--steps", "view,cart,purchase", "--window",
                 window_text, "--mode", mode, "--last", "1d", "--format", "json"])
    assert code == 0
    assert [row["users"] for row in json.loads(capsys.readouterr().out)["steps"]] == expected
