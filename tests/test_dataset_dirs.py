"""spftrace writes only into what it made: a writing command refuses a directory that
holds anything but a dataset (`/` included), and `demo --out` replaces only its own
runs, never a user's `data/` folder or the files in it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import spftrace
from spftrace import api
from spftrace.cli import app

from .faults import fingerprint
from .helpers import DATA

SEED = DATA / "seed" / "kernbench-x86-16cpu.txt"


def cli(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(app, list(args))
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    return r.exit_code, r.stdout, r.stderr


def one_line_error(code: int, _out: str, err: str) -> str:
    assert code == 1, err
    (line,) = err.strip().splitlines()
    assert line.startswith("error: ")
    return line


def test_ingest_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "notes.txt").write_text("mine\n")
    before = fingerprint(project)
    line = one_line_error(*cli("ingest", str(SEED), "--data", str(project)))
    assert f"{project}: not an spftrace dataset" in line and "--data" in line
    assert fingerprint(project) == before


@pytest.mark.parametrize("root", ["/", "/proc", "/etc"])
def test_ingest_refuses_system_directories(root: str) -> None:
    line = one_line_error(*cli("ingest", str(SEED), "--data", root))
    assert "not an spftrace dataset" in line
    for made in ("runs", "counters", "stats", "spftrace-dataset.json", ".lock"):
        assert not os.path.lexists(os.path.join(root, made))


def test_runs_and_ingest_refuse_the_same_directory() -> None:
    """Readers and writers apply one rule (it was only the readers')."""
    a = one_line_error(*cli("runs", "--data", "/"))
    b = one_line_error(*cli("ingest", str(SEED), "--data", "/"))
    assert a == b


@pytest.mark.parametrize("cmd", [["runs"], ["report", "text"], ["check"], ["query", "SELECT 1"]])
def test_a_file_as_dataset_is_a_one_line_error(cmd: list[str]) -> None:
    line = one_line_error(*cli(*cmd, "--data", "/etc/passwd"))
    assert "/etc/passwd: not a directory" in line


def test_ingest_into_a_file_path_is_a_one_line_error() -> None:
    before = Path("/etc/passwd").read_bytes()
    line = one_line_error(*cli("ingest", str(SEED), "--data", "/etc/passwd"))
    assert "/etc/passwd: not a directory" in line
    assert Path("/etc/passwd").read_bytes() == before


def test_simulate_ingest_refuses_too(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("x")
    before = fingerprint(tmp_path)
    line = one_line_error(
        *cli("simulate", "ebizzy", "--scale", "0.01", "--ingest", "--data", str(tmp_path))
    )
    assert "not an spftrace dataset" in line
    assert fingerprint(tmp_path) == before


def test_an_empty_directory_becomes_a_dataset(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    code, _, err = cli("ingest", str(SEED), "--data", str(tmp_path / "d"))
    assert code == 0, err
    assert (tmp_path / "d" / "spftrace-dataset.json").is_file()


# --- demo --out ----------------------------------------------------------------------


@pytest.fixture
def quick_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo without its simulator runs (what is kept or removed does not depend
    on them, and they take most of its time)."""

    def no_sim(*_a: Any, **_k: Any) -> dict[str, Any]:
        return {}

    monkeypatch.setattr(api, "simulate", no_sim)


DEMO_RUNS = {
    "ebizzy-x86-16cpu",
    "ebizzy-power8-80cpu",
    "kernbench-x86-16cpu",
    "kernbench-power8-80cpu",
    "mtfault-this-machine",
    "mtfault-trace-this-machine",
}


@pytest.mark.usefixtures("quick_demo")
def test_demo_refuses_a_users_data_folder(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "results.csv").write_text("a,b\n1,2\n")
    before = fingerprint(tmp_path)
    line = one_line_error(*cli("demo", "--out", str(tmp_path)))
    assert f"{tmp_path / 'data'} exists and is not an spftrace dataset" in line
    assert fingerprint(tmp_path) == before


@pytest.mark.usefixtures("quick_demo")
def test_demo_out_dot_in_a_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "data" / "raw").mkdir(parents=True)
    (tmp_path / "data" / "raw" / "x.bin").write_bytes(b"\0\1")
    (tmp_path / "README").write_text("project\n")
    monkeypatch.chdir(tmp_path)
    before = fingerprint(tmp_path)
    one_line_error(*cli("demo", "--out", "."))
    assert fingerprint(tmp_path) == before


@pytest.mark.usefixtures("quick_demo")
def test_demo_refuses_to_replace_a_foreign_report(tmp_path: Path) -> None:
    (tmp_path / "report.html").write_text("<p>my own</p>")
    line = one_line_error(*cli("demo", "--out", str(tmp_path)))
    assert "report.html exists and was not written by a demo" in line
    assert (tmp_path / "report.html").read_text() == "<p>my own</p>"


@pytest.mark.usefixtures("quick_demo")
def test_demo_again_replaces_only_its_runs(tmp_path: Path) -> None:
    code, _, err = cli("demo", "--out", str(tmp_path))
    assert code == 0, err
    data = tmp_path / "data"
    assert _runs(data) == DEMO_RUNS
    (data / "mine.txt").write_text("keep me\n")
    (data / "events" / "README").parent.mkdir(exist_ok=True)
    (data / "events" / "README").write_text("also mine\n")
    code, _, err = cli("demo", "--out", str(tmp_path))
    assert code == 0, err
    assert (data / "mine.txt").read_text() == "keep me\n"
    assert (data / "events" / "README").read_text() == "also mine\n"
    assert _runs(data) == DEMO_RUNS  # replaced, not doubled (no -2 runs)
    assert "ebizzy-x86-16cpu" in (tmp_path / "report.html").read_text()


def _runs(data: Path) -> set[str]:
    return {line.split()[0] for line in spftrace.list_runs(data)[1:]}
