"""`spftrace query` and `spftrace.query()` cannot touch files, databases, the network or
extensions unless asked (`--unsafe`), and configuration never becomes SQL text."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

import spftrace
from spftrace.cli import app
from spftrace.errors import SpftraceError
from spftrace.store import Dataset

from .faults import fingerprint
from .helpers import DATA

SEED = DATA / "seed" / "ebizzy-x86-16cpu.txt"


@pytest.fixture
def seeded(data: Path) -> Path:
    spftrace.ingest([SEED], data=data)
    return data


def cli(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(app, list(args))
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    return r.exit_code, r.stdout, r.stderr


def refused(seeded: Path, sql: str) -> str:
    """The query fails with one line, and the dataset is unchanged."""
    before = fingerprint(seeded)
    code, out, err = cli("query", sql, "--data", str(seeded))
    assert code == 1, (out, err)
    (line,) = err.strip().splitlines()
    assert line.startswith("error: query failed: ")
    assert out == ""
    assert fingerprint(seeded) == before
    return line


def test_copy_to_a_new_file_is_refused(seeded: Path, tmp_path: Path) -> None:
    target = tmp_path / "x.csv"
    line = refused(seeded, f"COPY (SELECT 1) TO '{target}'")
    assert "--unsafe" in line
    assert not target.exists()


@pytest.mark.parametrize("explain", ["", "EXPLAIN ANALYZE "])
def test_copy_over_a_dataset_file_is_refused(seeded: Path, explain: str) -> None:
    """Even the files the views read cannot be written (DuckDB's allowed_paths would
    allow it, so user SQL reads them through Arrow instead)."""
    (runs_file,) = (seeded / "runs").glob("run=*/*.parquet")
    refused(seeded, f"{explain}COPY (SELECT 42 AS a) TO '{runs_file}' (USE_TMP_FILE false)")
    assert spftrace.check(seeded).ok


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_csv('/etc/shadow')",
        "SELECT * FROM read_text('/etc/hostname')",
        "SELECT * FROM glob('/etc/*')",
        "SELECT * FROM read_parquet('{data}/runs/*/*.parquet')",
    ],
)
def test_reading_other_files_is_refused(seeded: Path, sql: str) -> None:
    line = refused(seeded, sql.format(data=seeded))
    assert "disabled by configuration" in line


def test_attach_is_refused(seeded: Path, tmp_path: Path) -> None:
    refused(seeded, f"ATTACH '{tmp_path / 'new.db'}' AS x")
    assert not (tmp_path / "new.db").exists()


@pytest.mark.parametrize("sql", ["INSTALL httpfs", "LOAD httpfs", "FORCE INSTALL json"])
def test_extensions_are_refused(seeded: Path, sql: str) -> None:
    refused(seeded, sql)


@pytest.mark.parametrize(
    "sql",
    [
        "SET enable_external_access = true",
        "RESET lock_configuration",
        "SET memory_limit = '100GB'",
        "SET autoinstall_known_extensions = true",
    ],
)
def test_the_configuration_is_locked(seeded: Path, sql: str) -> None:
    assert "locked" in refused(seeded, sql)


def test_reads_still_work(seeded: Path) -> None:
    out = spftrace.query(
        "SELECT r.run, count(c.value) AS n FROM runs r JOIN counters c USING (run) GROUP BY 1",
        data=seeded,
        fmt="csv",
    )
    assert out.splitlines() == ["run,n", "ebizzy-x86-16cpu,7"]  # the seed block's 7 counters


def test_library_query_is_safe_by_default(seeded: Path, tmp_path: Path) -> None:
    with pytest.raises(SpftraceError, match="disabled by configuration"):
        spftrace.query(f"COPY (SELECT 1) TO '{tmp_path / 'y.csv'}'", data=seeded)
    assert not (tmp_path / "y.csv").exists()


def test_unsafe_allows_what_the_user_asked(seeded: Path, tmp_path: Path) -> None:
    target = tmp_path / "events.csv"
    code, _, err = cli(
        "query", f"COPY (SELECT run FROM runs) TO '{target}'", "--data", str(seeded), "--unsafe"
    )
    assert code == 0, err
    assert target.read_text().splitlines() == ["run", "ebizzy-x86-16cpu"]
    out = spftrace.query(
        f"SELECT count(*) AS n FROM read_csv('{target}')",
        data=seeded,
        fmt="csv",
        unsafe=True,
    )
    assert out.splitlines() == ["n", "1"]


def test_report_connections_are_locked_too(seeded: Path, tmp_path: Path) -> None:
    import duckdb

    con = Dataset(seeded).connect()
    try:
        with pytest.raises(duckdb.PermissionException):
            con.execute(f"COPY (SELECT 1) TO '{tmp_path / 'z.csv'}'")
        with pytest.raises(duckdb.InvalidInputException, match="locked"):
            con.execute("SET enable_external_access = true")
        assert con.execute("SELECT count(*) FROM counters").fetchone() == (7,)
    finally:
        con.close()
    assert not (tmp_path / "z.csv").exists()


# --- configuration values are typed settings, never SQL --------------------------------

INJECTION = "400MB'; COPY (SELECT 1) TO '{target}'; SELECT '1"


@pytest.mark.parametrize(
    "cmd", [["runs"], ["report", "text"], ["report", "json"], ["query", "SELECT 1"]]
)
def test_memory_setting_cannot_inject_sql(
    seeded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cmd: list[str]
) -> None:
    target = tmp_path / "x.csv"
    monkeypatch.setenv("SPFTRACE_MEMORY", INJECTION.format(target=target))
    code, _, err = cli(*cmd, "--data", str(seeded))
    assert code == 1
    (line,) = err.strip().splitlines()
    assert line.startswith("error: SPFTRACE_MEMORY=") and "not a memory size" in line
    assert not target.exists()


@pytest.mark.parametrize(("value", "shown"), [("1GB", "953.6 MiB"), ("256MiB", "256.0 MiB")])
def test_memory_setting_reaches_duckdb(
    seeded: Path, monkeypatch: pytest.MonkeyPatch, value: str, shown: str
) -> None:
    """DuckDB's own rendering of the limit: 1GB is 10^9 bytes = 953.6 MiB."""
    monkeypatch.setenv("SPFTRACE_MEMORY", value)
    out = spftrace.query("SELECT current_setting('memory_limit') AS m", data=seeded, fmt="csv")
    assert out.splitlines() == ["m", shown]


def test_dataset_path_with_quotes(tmp_path: Path) -> None:
    """The spill directory is a setting and the file names are quoted literals: a path
    with quotes and a semicolon is just a path."""
    data = tmp_path / "it's; DROP x; '"
    spftrace.ingest([SEED], data=data)
    out = spftrace.query("SELECT current_setting('temp_directory') AS t", data=data, fmt="json")
    assert json.loads(out) == {"t": str(data / ".duckdb-tmp")}
    assert json.loads(spftrace.report("json", data=data))["runs"][0]["faults"] == 1706379
    assert sorted(os.listdir(tmp_path)) == [data.name]
