"""What a newcomer meets first: every command's --help, `simulate --list`, `capture
--help` showing `-- COMMAND`, and `report --base/--head` doing the comparison."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from spftrace.cli import app

from .helpers import DATA

SEED = DATA / "seed"
COMMANDS = sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
# the presets the README and the simulator's docs name
PRESETS = ["ebizzy", "kernbench", "page_fault1", "page_fault2", "page_fault3", "malloc1"]


def cli(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(app, list(args), env={"COLUMNS": "100"})
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise r.exception
    return r.exit_code, r.stdout, r.stderr


def test_there_are_commands() -> None:
    assert {"ingest", "report", "simulate", "capture", "compare"} <= set(COMMANDS)


@pytest.mark.parametrize(
    "command", [[], *([c] for c in COMMANDS)], ids=lambda c: c[0] if c else "top"
)
def test_help_shows_no_typer_internals(command: list[str]) -> None:
    code, out, _ = cli(*command, "--help")
    assert code == 0 and out.startswith("Usage: spftrace"), out
    # typer 0.29 renders Python types (<str>, <list[str]>, <path>) and {braces}
    for bad in ("<", ">", "{", "}", "list[", "[str]"):
        assert bad not in out, f"{bad!r} in `spftrace {' '.join(command)} --help`:\n{out}"
    # every option that takes a value names it in capitals or as its choices
    options = out.split("\nOptions:\n", 1)[1]
    for m in re.finditer(r"^  (?:-\w, )?--[\w-]+ (\S+)", options, re.MULTILINE):
        assert m[1].isupper() or "|" in m[1] or "=" in m[1], m[0]


def test_capture_help_shows_the_command_after_dashes() -> None:
    _, out, _ = cli("capture", "--help")
    assert out.splitlines()[0] == "Usage: spftrace capture [OPTIONS] -- COMMAND [ARG]..."
    assert "spftrace capture --label head -- ./app" in " ".join(out.split())


def test_simulate_list_exits_zero_and_names_the_presets() -> None:
    code, out, err = cli("simulate", "--list")
    assert code == 0, err
    names = [line.split()[0] for line in out.splitlines() if line and not line[0].isspace()]
    for preset in PRESETS:
        assert preset in names
    assert "overridable with --set NAME=VALUE: " in out


def test_simulate_without_workload_is_a_usage_error() -> None:
    code, _, err = cli("simulate")
    assert code == 2
    assert "Missing argument 'WORKLOAD'" in err and "--list" in err


def _two_labels(data: Path) -> None:
    for name, label in (("ebizzy-x86-16cpu", "base"), ("ebizzy-power8-80cpu", "head")):
        code, _, err = cli("ingest", str(SEED / f"{name}.txt"), "--data", str(data),
                           "--label", label)  # fmt: skip
        assert code == 0, err


def test_report_text_with_base_head_appends_the_comparison(data: Path) -> None:
    _two_labels(data)
    _, plain, _ = cli("report", "text", "--data", str(data))
    _, table, _ = cli("compare", "--base", "base", "--head", "head", "--data", str(data))
    code, out, err = cli("report", "text", "--data", str(data), "--base", "base", "--head", "head")
    assert code == 0, err
    assert "base: base (1 runs)" in table or "base: base (1 run)" in table, table
    assert out == plain + "\n" + table


def test_report_json_with_base_head_carries_the_comparison(data: Path) -> None:
    _two_labels(data)
    _, plain, _ = cli("report", "json", "--data", str(data))
    _, cmp, _ = cli("compare", "--base", "base", "--head", "head", "--json", "--data", str(data))
    code, out, err = cli("report", "json", "--data", str(data), "--base", "base", "--head", "head")
    assert code == 0, err
    doc = json.loads(out)
    assert doc.pop("comparison") == json.loads(cmp)
    assert doc == json.loads(plain)
    assert json.loads(cmp)["base"]["label"] == "base"


@pytest.mark.parametrize("kind", ["text", "json", "html"])
def test_report_base_without_head_is_refused(data: Path, kind: str) -> None:
    _two_labels(data)
    code, out, err = cli("report", kind, "--data", str(data), "--base", "base", "-o", "-")
    assert code == 1 and out == ""
    assert err == "error: --base and --head go together\n"


# perf 6.1's output for `perf stat -e faults,spf,'pagefault:*' -- ./app` on a mainline
# kernel (6.18 here), which has neither event
PERF_EVENT_ERROR = """event syntax error: 'faults,spf,pagefault:*'
                            \\___ parser error
Run 'perf list' for a list of valid events

 Usage: perf stat [<options>] [<command>]

    -e, --event <event>   event selector. use 'perf list' to list available events
"""


def test_perf_error_in_the_pipe_is_named_once_without_a_useless_hint(data: Path) -> None:
    r = CliRunner().invoke(app, ["ingest", "-", "--data", str(data)], input=PERF_EVENT_ERROR)
    assert r.exit_code == 1
    err = r.stderr
    assert err.count("event syntax error") == 1, err
    assert "--errors skip" not in err
    assert "perf list" in err and err.count("\n") == 1
