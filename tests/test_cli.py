"""The command line through typer's CliRunner, plus the installed entry point."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spftrace.cli import app

from .helpers import DATA

README = Path(__file__).parents[1] / "README.md"
SEED = DATA / "seed"


def cli(*args: str, input: bytes | str | None = None) -> tuple[int, str, str]:
    r = CliRunner().invoke(app, list(args), input=input)
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise r.exception
    return r.exit_code, r.stdout, r.stderr


def test_every_command_is_documented_in_readme() -> None:
    readme = README.read_text()
    names = [c.name or c.callback.__name__ for c in app.registered_commands]  # type: ignore[union-attr]
    assert names, "no commands registered"
    for name in names:
        assert f"spftrace {name}" in readme, f"`spftrace {name}` is not in README.md"


def test_ingest_stdin_pipe_then_report(data: Path) -> None:
    text = (SEED / "ebizzy-power8-80cpu.txt").read_bytes()
    code, _, err = cli("ingest", "-", "--data", str(data), "--label", "spf", input=text)
    assert code == 0, err
    assert "perf-stat -> run stdin" in err
    assert "8 lines: 7 records, 1 ignored, 0 rejected" in err
    code, out, _ = cli("report", "json", "--data", str(data))
    r = json.loads(out)["runs"][0]
    assert r["run"] == "stdin" and r["faults"] == 1874773 and r["label"] == "spf"


def test_runs_lists_runs(data: Path) -> None:
    cli("ingest", str(SEED / "kernbench-x86-16cpu.txt"), "--data", str(data), "--label", "base")
    code, out, _ = cli("runs", "--data", str(data))
    assert code == 0
    assert re.search(r"kernbench-x86-16cpu\s+base\s+perf-stat\s+1\s+7\s", out), out


def test_report_filters_by_run_and_label(data: Path) -> None:
    cli("ingest", str(SEED / "kernbench-x86-16cpu.txt"), "--data", str(data), "--label", "a")
    cli("ingest", str(SEED / "ebizzy-x86-16cpu.txt"), "--data", str(data), "--label", "b")
    _, out, _ = cli("report", "json", "--data", str(data), "--label", "b")
    assert [r["run"] for r in json.loads(out)["runs"]] == ["ebizzy-x86-16cpu"]
    _, out, _ = cli("report", "json", "--data", str(data), "--run", "kernbench-x86-16cpu")
    assert [r["run"] for r in json.loads(out)["runs"]] == ["kernbench-x86-16cpu"]
    code, _, err = cli("report", "json", "--data", str(data), "--run", "nope")
    assert code == 1 and "no run named 'nope'" in err


def test_report_text_several_runs_side_by_side(data: Path) -> None:
    for name in ("ebizzy-x86-16cpu.txt", "ebizzy-power8-80cpu.txt"):
        cli("ingest", str(SEED / name), "--data", str(data))
    _, out, _ = cli("report", "text", "--data", str(data))
    assert "Runs side by side" in out
    assert out.count("verdict:") == 2


def test_report_html_written_atomically(data: Path, tmp_path: Path) -> None:
    cli("ingest", str(SEED / "ebizzy-x86-16cpu.txt"), "--data", str(data))
    target = tmp_path / "r.html"
    code, _, err = cli("report", "html", "--data", str(data), "-o", str(target))
    assert code == 0, err
    html = target.read_text()
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html
    assert not list(tmp_path.glob(".r.html*"))
    code, _, err = cli("report", "html", "--data", str(data))
    assert code == 1 and "needs -o FILE" in err


def test_query_formats(data: Path) -> None:
    cli("ingest", str(SEED / "ebizzy-x86-16cpu.txt"), "--data", str(data))
    sql = "SELECT event, value FROM counters WHERE event = 'spf'"
    _, out, _ = cli("query", sql, "--data", str(data), "--format", "csv")
    assert out.splitlines() == ["event,value", "spf,1674599.0"]
    _, out, _ = cli("query", sql, "--data", str(data), "--format", "json")
    assert json.loads(out.splitlines()[0]) == {"event": "spf", "value": 1674599.0}
    code, _, err = cli("query", "SELECT nope FROM counters", "--data", str(data))
    assert code == 1 and err.startswith("error: query failed")


def test_schema_lists_every_table() -> None:
    code, out, _ = cli("schema")
    assert code == 0
    for table in ("runs:", "counters:", "events:", "rejects:", "stats:"):
        assert table in out
    assert "ts               int64" in out and "[ns]" in out


def test_unknown_format_option_is_user_error(data: Path) -> None:
    code, _, err = cli(
        "ingest", str(SEED / "ebizzy-x86-16cpu.txt"), "--data", str(data), "--format", "xml"
    )
    assert code == 1 and "unknown format 'xml'" in err


def test_usage_error_exits_2() -> None:
    code, _, _ = cli("report", "pdf")
    assert code == 2


def test_demo_writes_report(tmp_path: Path) -> None:
    code, out, err = cli("demo", "--out", str(tmp_path / "demo"))
    assert code == 0, err
    path = Path(out.strip())
    assert path.name == "report.html" and path.exists()
    assert "ebizzy-x86-16cpu" in path.read_text()


def test_installed_entry_point(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("spftrace")
    assert exe.exists(), "the console script is not installed in this venv"
    r = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=True)
    assert r.stdout.strip().startswith("spftrace ")
    r = subprocess.run(
        [sys.executable, "-m", "spftrace", "ingest", "-", "--data", str(tmp_path / "d")],
        input=(SEED / "kernbench-x86-16cpu.txt").read_bytes(),
        capture_output=True,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    r = subprocess.run(
        [str(exe), "report", "text", "--data", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "single-threaded" in r.stdout


@pytest.mark.parametrize("args", [["--help"], ["ingest", "--help"], ["report", "--help"]])
def test_help(args: list[str]) -> None:
    code, out, _ = cli(*args)
    assert code == 0 and "Usage" in out


def test_help_is_fast() -> None:
    """`spftrace --help` must not import pyarrow, pandas, duckdb or matplotlib."""
    code = (
        "import sys, spftrace.cli; "
        "heavy = [m for m in ('pyarrow', 'pandas', 'duckdb', 'matplotlib') if m in sys.modules]; "
        "print(heavy)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "[]"


def test_readme_example_is_real_output(data: Path) -> None:
    """The README's example report lines are what the tool prints for the seed block."""
    readme = README.read_text()
    block = readme.split("report opens with:\n\n```\n", 1)[1].split("```", 1)[0].splitlines()
    cli("ingest", str(SEED / "ebizzy-x86-16cpu.txt"), "--data", str(data), "--label", "spf")
    _, out, _ = cli("report", "text", "--data", str(data))
    lines = out.splitlines()
    assert block[0] == lines[0] and block[1] == lines[1]
    verdict = " ".join(ln.strip() for ln in lines[2:4])
    assert verdict.startswith(block[2].removesuffix("..."))


def test_strict_error_on_a_pipe_that_stays_open_exits_cleanly(tmp_path: Path) -> None:
    """`tail -f trace | spftrace ingest -` with a bad line: the error is reported and
    the process exits 1, although the read-ahead thread is still blocked on the pipe
    (it once made Python abort at exit, holding the stdin lock)."""
    good = (DATA / "traces" / "perf-script-default.txt").read_bytes()
    blob = b"garbage that is not a record\n" + good * (3_000_000 // len(good) + 1)
    with subprocess.Popen(
        [sys.executable, "-m", "spftrace", "ingest", "-", "--data", str(tmp_path / "d")],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    ) as proc:
        assert proc.stdin is not None and proc.stderr is not None
        proc.stdin.write(blob)
        proc.stdin.flush()  # and keep the pipe open, like a live producer
        try:
            rc = proc.wait(timeout=60)
            err = proc.stderr.read()
        finally:
            proc.stdin.close()
            proc.kill()
    assert rc == 1
    assert b"<stdin>:1:" in err and b"Fatal Python error" not in err


def test_fleet_commands_refuse_a_missing_dataset_before_starting_spark(tmp_path: Path) -> None:
    """`spftrace fleet` is registered; a path that is no dataset is one line, exit 1,
    found before Spark (and pyspark, which `make test` does not install) is needed."""
    code, out, _ = cli("fleet", "--help")
    assert code == 0 and "summary" in out and "compare" in out
    (tmp_path / "notes").mkdir()
    for args in (
        ["summary", str(tmp_path / "missing")],
        ["compare", str(tmp_path / "notes"), "--base", "a", "--head", "b"],
    ):
        code, out, err = cli("fleet", *args)
        assert (code, out) == (1, "")
        assert err.startswith("error: no dataset at ") and err.count("\n") == 1
