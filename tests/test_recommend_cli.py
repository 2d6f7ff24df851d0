"""`shoplens recommend evaluate|user|item` on the generated shop (tests/recommend_fixtures.py): JSON shapes."""

from __future__ import annotations

import json

import pytest

from analytics.cli import main
from tests.recommend_fixtures import build_recommend_warehouse


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    return str(build_recommend_warehouse(tmp_path_factory.mktemp("recommend_cli")))


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_evaluate_json_shape(capsys, shop):
    code, out, _ = run(capsys, "recommend", "evaluate", "--k", "10", "--holdout-days", "21", "--warehouse", shop,
                       "--format", "json")
    assert code == 0
    document = json.loads(out)
    names = [row["model"] for row in document["models"]]
    assert "hybrid" in names and "ease" in names
    for row in document["models"]:
        assert {"model", "precision@10", "recall@10", "ndcg@10", "map@10", "train_seconds"} <= set(row)
        assert 0 <= row["ndcg@10"] <= 1
    # Sorted best first by NDCG@10.
    ndcg = [row["ndcg@10"] for row in document["models"]]
    assert ndcg == sorted(ndcg, reverse=True)


def test_user_json_shape_and_disk_cache(capsys, shop, tmp_path):
    code, out, _ = run(capsys, "recommend", "user", "U001", "--k", "4", "--warehouse", shop, "--format", "json")
    assert code == 0
    document = json.loads(out)
    assert document["user_id"] == "U001"
    assert [row["rank"] for row in document["recommendations"]] == [1, 2, 3, 4]
    assert all(row["reason"] for row in document["recommendations"])
    assert {"product_id", "title", "score", "reason"} <= set(document["recommendations"][0])
    # The second call reads the pickled models written next to the warehouse.
    from pathlib import Path

    assert list(Path(shop).parent.glob("recommenders-*.pickle"))
    code, again, _ = run(capsys, "recommend", "user", "U001", "--k", "4", "--warehouse", shop, "--format", "json")
    assert json.loads(again)["recommendations"] == document["recommendations"]


def test_item_json_and_table(capsys, shop):
    code, out, _ = run(capsys, "recommend", "item", "P00", "--k", "3", "--warehouse", shop, "--format", "json")
    assert code == 0
    document = json.loads(out)
    assert document["product_id"] == "P00"
    assert document["bought_together"][0]["product_id"] == "P01"
    assert {"support", "confidence", "lift"} <= set(document["bought_together"][0])
    assert len(document["similar"]) == 3
    code, table, _ = run(capsys, "recommend", "item", "P00", "--k", "3", "--warehouse", shop)
    assert "Bought together" in table and "P01" in table


def test_errors_name_the_fix(capsys, shop):
    code, _, err = run(capsys, "recommend", "user", "nobody", "--warehouse", shop)
    assert code == 2
    assert "pick a user" in err
    code, _, err = run(capsys, "recommend", "evaluate", "--dataset", "movielens100k", "--warehouse", shop)
    assert code == 2
    assert "PATH" in err
