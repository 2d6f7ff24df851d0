"""The `shoplens` command line, on the tiny warehouse."""

from __future__ import annotations

import argparse

import csv
import io
import json
import subprocess
import sys

import pytest

from analytics.cli import main
from tests.conftest import REPO_ROOT


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_kpis_json_matches_hand_computed_values(capsys, tiny_warehouse):
    code, out, _ = run(capsys, "kpis", "--warehouse", str(tiny_warehouse), "--from", "2025-01-02", "--to", "2025-01-03", "--format", "json")
    assert code == 0
    document = json.loads(out)
    values = {kpi["kpi"]: (kpi["value"], kpi["previous_value"]) for kpi in document["kpis"]}
    # 2025-01-02..03: S2, S3, U3#1, U3#2 and order O2; previous 2024-12-31..2025-01-01: S1 and O1.
    assert values["sessions"] == (4, 1)
    assert values["orders"] == (1, 1)
    assert values["revenue"] == (40, 90)
    assert values["conversion_rate"] == (0.25, 1.0)
    assert document["previous_period"] == {"start_date": "2024-12-31", "end_date": "2025-01-01"}


def test_kpis_last_defaults_to_the_data_end(capsys, tiny_warehouse):
    code, out, _ = run(capsys, "kpis", "--warehouse", str(tiny_warehouse), "--last", "3d", "--format", "json")
    assert code == 0
    assert json.loads(out)["period"] == {"start_date": "2025-01-01", "end_date": "2025-01-03"}


def test_kpis_by_day_as_csv(capsys, tiny_warehouse):
    code, out, _ = run(capsys, "kpis", "--warehouse", str(tiny_warehouse), "--last", "3d", "--by", "day", "--format", "csv")
    assert code == 0
    daily = list(csv.DictReader(io.StringIO(out)))
    assert [row["kpi_date"] for row in daily] == ["2025-01-01", "2025-01-02", "2025-01-03"]
    assert [float(row["revenue"]) for row in daily] == [90.0, 40.0, 0.0]


def test_kpis_filters(capsys, tiny_warehouse):
    code, out, _ = run(capsys, "kpis", "--warehouse", str(tiny_warehouse), "--last", "3d", "--channel", "email", "--format", "json")
    values = {kpi["kpi"]: kpi["value"] for kpi in json.loads(out)["kpis"]}
    assert (values["sessions"], values["revenue"]) == (1, 40)


def test_kpis_table_is_for_people(capsys, tiny_warehouse):
    code, out, _ = run(capsys, "kpis", "--warehouse", str(tiny_warehouse), "--last", "3d")
    assert code == 0
    assert out.startswith("KPIs 2025-01-01 to 2025-01-03, against 2024-12-29 to 2024-12-31")
    assert "Average order value" in out


@pytest.mark.parametrize(
    "argv,expected",
    [
        (["kpis", "--from", "2025-13-01"], "is not a date"),
        (["kpis", "--last", "3 parsecs"], "30m, 1h, 7d"),
        (["kpis", "--last", "90m"], "whole number of days"),
        (["kpis", "--channel", "pigeon"], "--channel pigeon is not in the data"),
        (["kpis", "--from", "2025-01-03", "--to", "2025-01-01"], "before the start date"),
        (["kpis", "--format", "xml"], "invalid choice"),
        (["sample", "--users", "0"], "must be greater than zero"),
    ],
)
def test_bad_arguments_get_one_line_and_exit_2(capsys, tiny_warehouse, argv, expected):
    with pytest.raises(SystemExit) as raised:
        code = main([*argv, "--warehouse", str(tiny_warehouse)])
        raise SystemExit(code)
    assert raised.value.code == 2
    err = capsys.readouterr().err
    assert expected in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_bad_paths_get_one_line_and_exit_2(capsys, tmp_path):
    code, _, err = run(capsys, "kpis", "--warehouse", str(tmp_path / "nowhere.duckdb"))
    assert code == 2 and "No warehouse at" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "build", str(tmp_path / "no-such-folder"), "--warehouse", str(tmp_path / "w.duckdb"))
    assert code == 2 and "does not exist" in err


def test_info_lists_capabilities(capsys, tiny_warehouse):
    code, out, _ = run(capsys, "info", "--warehouse", str(tiny_warehouse), "--format", "json")
    assert code == 0
    supported = {c["analysis"]: c["is_supported"] for c in json.loads(out)["capabilities"]}
    assert supported["funnels"] is True and supported["customers"] is False


def test_build_if_needed_does_not_rebuild_a_fresh_sample(capsys, tmp_path):
    from tests.tiny_shop import write_tiny_shop

    source = write_tiny_shop(tmp_path / "src")
    target = str(tmp_path / "w.duckdb")
    assert run(capsys, "build", str(source), "--warehouse", target, "--if-needed")[0] == 0
    code, _, err = run(capsys, "build", str(source), "--warehouse", target, "--if-needed")
    # A folder other than sample_data/ does not build a sample warehouse, so it is never replaced.
    assert code == 0 and "nothing to do" in err


@pytest.mark.parametrize("entry", [["-m", "analytics"], ["-c", "from analytics.cli import main; raise SystemExit(main())"]])
def test_module_and_script_entry_points_run_the_same_cli(entry, tiny_warehouse):
    result = subprocess.run(
        [sys.executable, *entry, "kpis", "--warehouse", str(tiny_warehouse), "--last", "3d", "--format", "csv"],
        capture_output=True, text=True, cwd=REPO_ROOT, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "kpi,label,value,previous_value,change_ratio"


def test_every_command_has_help(capsys):
    from analytics.cli import build_parser

    subcommands = next(a for a in build_parser()._actions if a.dest == "command").choices
    assert {"sample", "build", "info", "kpis"} <= set(subcommands)
    for command, parser in subcommands.items():
        # A command with actions (`recommend user|item|evaluate`) takes --warehouse on each action.
        actions = next((a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
        for argv in [[command, action] for action in actions] if actions else [[command]]:
            with pytest.raises(SystemExit) as raised:
                main([*argv, "--help"])
            assert raised.value.code == 0
            assert "--warehouse" in capsys.readouterr().out, f"{' '.join(argv)} --help lacks --warehouse"
