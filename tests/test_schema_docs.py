"""The data-model document describes exactly the schema the code uses."""

from __future__ import annotations

import re

from analytics.schema import SCHEMA_VERSION, TABLES
from analytics.sql_files import MART_NAMES
from tests.conftest import REPO_ROOT

DOC = (REPO_ROOT / "docs" / "data-model.md").read_text(encoding="utf-8")


def documented_columns(table: str) -> list[str]:
    section = re.split(r"^##", DOC.split(f"### `{table}`", 1)[1], maxsplit=1, flags=re.MULTILINE)[0]
    return re.findall(r"^\| `(\w+)` \|", section, flags=re.MULTILINE)


def test_every_source_column_is_documented_in_order():
    for table in TABLES:
        assert documented_columns(table.name) == list(table.column_names), table.name


def test_every_mart_is_documented():
    for mart in MART_NAMES:
        assert f"| `{mart}` |" in DOC, mart


def test_the_documented_schema_version_is_current():
    assert f"The schema version is {SCHEMA_VERSION}." in DOC
