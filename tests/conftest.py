"""Shared fixtures: a hand-built tiny warehouse and a warehouse of the committed sample."""

from __future__ import annotations

from pathlib import Path

import os

import duckdb
import pytest
from hypothesis import settings

# CI explores the same examples on every run, so a landing never hinges on a lucky draw;
# developers' runs keep drawing new ones and so keep finding new bugs.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

# Builds, imports and restores ask for background training; in tests no detached worker may start
# from them (it would train real models beside the suite). Tests of the worker switch it back on.
os.environ.setdefault("SHOPLENS_MODEL_WORKER", "off")

from analytics.warehouse import build_warehouse
from tests.tiny_shop import write_tiny_shop

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DATA = REPO_ROOT / "sample_data"


@pytest.fixture(scope="session")
def tiny_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse built from tests/tiny_shop.py."""
    folder = tmp_path_factory.mktemp("tiny")
    target = folder / "warehouse.duckdb"
    build_warehouse(write_tiny_shop(folder / "source"), target)
    return target


@pytest.fixture()
def tiny_con(tiny_warehouse: Path):
    """A read-only connection to the tiny warehouse."""
    with duckdb.connect(str(tiny_warehouse), read_only=True) as con:
        yield con


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse built from the committed `sample_data/`."""
    if not (SAMPLE_DATA / "events.parquet").is_file():
        pytest.fail("sample_data/events.parquet is missing; run `shoplens sample` to regenerate it")
    target = tmp_path_factory.mktemp("sample") / "warehouse.duckdb"
    build_warehouse(SAMPLE_DATA, target, is_sample=True)
    return target


@pytest.fixture()
def sample_con(sample_warehouse: Path):
    """A read-only connection to the sample warehouse."""
    with duckdb.connect(str(sample_warehouse), read_only=True) as con:
        yield con
