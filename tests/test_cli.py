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


# --------------------------------------------------------------------------- every error is one line, exit code 2


def _leaf_parsers():
    """(argv prefix, parser) for every command and every action of a command with actions."""
    from analytics.cli import build_parser

    def walk(prefix, parser):
        actions = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
        if actions is None:
            yield prefix, parser
            return
        for name, child in actions.choices.items():
            yield from walk([*prefix, name], child)

    yield from walk([], build_parser())


def test_no_parser_guesses_an_abbreviated_option(capsys, tiny_warehouse):
    for prefix, parser in _leaf_parsers():
        assert parser.allow_abbrev is False, " ".join(prefix)
    # `--hor` once read as `--horizon` (as `--to` was read as `--top` before forecast had --to): now refused.
    with pytest.raises(SystemExit) as raised:
        main(["forecast", "--hor", "7", "--warehouse", str(tiny_warehouse)])
    assert raised.value.code == 2 and "unrecognized arguments: --hor" in capsys.readouterr().err


# A value each argument type cannot take.
_BAD_VALUES = {
    "positive_int": ["0", "-3", "abc", "99999999999999999999"],
    "iso_date": ["2025-13-01"],
    "duration": ["3 parsecs", "99999999999d"],
    "duration_days": ["90m", "99999999999d"],
    "int": ["abc"],
    "float": ["abc"],
}
# What a command needs besides the option under test (the smallest valid call).
_REQUIRED = {
    ("funnel",): ["--steps", "view,purchase"],
    ("import",): ["no-such-file.csv", "--preset", "taobao"],
    ("recommend", "user"): ["U1"],
    ("recommend", "item"): ["P1"],
}


def _bad_calls():
    for prefix, parser in _leaf_parsers():
        required = _REQUIRED.get(tuple(prefix), [])
        for action in parser._actions:
            if not action.option_strings or action.dest in ("help", "warehouse"):
                continue
            option = action.option_strings[-1]
            if action.choices is not None:
                yield [*prefix, *required, option, "no-such-choice"]
            for value in _BAD_VALUES.get(getattr(action.type, "__name__", ""), []):
                yield [*prefix, *required, option, value]


def test_every_command_refuses_bad_values_in_one_line_with_exit_code_2(capsys, tiny_warehouse):
    calls = list(_bad_calls())
    assert len(calls) > 60  # every command and typed option is walked
    for argv in calls:
        try:
            code = main([*argv, "--warehouse", str(tiny_warehouse)])
        except SystemExit as stopped:
            code = stopped.code
        err = capsys.readouterr().err
        assert code == 2, argv
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, (argv, err)


@pytest.mark.parametrize("argv,expected", [
    # The overflow: a traceback before, one sentence now.
    (["funnel", "--steps", "view,cart", "--window", "99999999999d"], "is too long; give at most 36500d"),
    (["funnel", "--steps", "view,cart", "--window", "3650d"], "outside 1 second to 365 days"),
    (["funnel", "--steps", "bogus,steps"], "bogus"),
    (["kpis", "--category", "Nope"], "--category Nope is not in the data"),
    (["restore", "no-such-version"], "no version 'no-such-version'"),
    (["import", "no-such.csv", "--preset", "taobao", "--timezone", "Mars/Olympus"], "is not a time zone name"),
])
def test_bad_values_found_after_parsing_are_one_line_too(capsys, tiny_warehouse, argv, expected):
    try:
        code = main([*argv, "--warehouse", str(tiny_warehouse)])
    except SystemExit as stopped:
        code = stopped.code
    err = capsys.readouterr().err
    assert code == 2 and expected in err and len(err.strip().splitlines()) == 1


def test_the_longest_allowed_funnel_window_works(capsys, tiny_warehouse):
    assert main(["funnel", "--steps", "view,purchase", "--window", "365d", "--warehouse", str(tiny_warehouse),
                 "--from", "2025-01-01", "--to", "2025-01-03", "--format", "json"]) == 0
    steps = json.loads(capsys.readouterr().out)["steps"]
    # U1 and U2 viewed and bought; U3 only viewed: 3 viewers, 2 buyers whatever the window.
    assert [step["users"] for step in steps] == [3, 2]


def test_a_full_disk_is_one_line_with_exit_code_2(capsys, tiny_warehouse, monkeypatch):
    import errno

    from analytics.commands import kpis

    def disk_full(arguments):
        raise OSError(errno.ENOSPC, "No space left on device", "/var/tmp/shoplens-x")

    monkeypatch.setattr(kpis, "run", disk_full)
    code = main(["kpis", "--warehouse", str(tiny_warehouse)])
    err = capsys.readouterr().err
    assert code == 2 and err == ("shoplens kpis: error: the disk is full; free some space and run the command again "
                                 "(a build or import changes nothing until it has finished)\n")


def test_duckdb_running_out_of_disk_is_the_same_sentence(capsys, tmp_path, monkeypatch):
    import duckdb

    from analytics.cli import describe_error

    assert describe_error(duckdb.IOException('IO Error: Could not write file "x": No space left on device')).startswith(
        "the disk is full")
    assert describe_error(OverflowError("date value out of range")) == (
        "a number is too large to compute with (date value out of range); use a smaller value")
    assert describe_error(KeyError("surprise")).startswith("internal error (KeyError: 'surprise'); this is a bug")
