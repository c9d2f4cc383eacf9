"""DuckDB connections over a dataset, locked down unless the user says ``--unsafe``.

Why: ``spftrace.query()`` may run SQL someone else wrote, and full DuckDB reads any file
(``read_csv('/etc/shadow')``), writes any file (``COPY ... TO``), creates databases
(``ATTACH``) and downloads extensions (``INSTALL``).  So every connection has external
access off, extension auto-install and auto-load off, and its configuration locked once
set up.  Our own report SQL reads the dataset's files by name (DuckDB's ``allowed_paths``,
its fast Parquet reader); a user's SQL gets the same tables as Arrow datasets handed
over by pyarrow, because ``allowed_paths`` would also let ``COPY ... TO`` overwrite a
dataset file: for it DuckDB opens no file at all.  Settings (``SPFTRACE_MEMORY``, the
spill directory) reach DuckDB as typed configuration values, never inside SQL text.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import SpftraceError
from .schema import PARTITION, SCHEMA_VERSION, arrow_schema, duckdb_columns

if TYPE_CHECKING:
    import duckdb

MODES = ("internal", "user", "unsafe")
DEFAULT_MEMORY = "400MB"
_MEMORY = re.compile(r"\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB|%)\s*", re.IGNORECASE)


def memory_limit() -> str:
    """``$SPFTRACE_MEMORY`` (default 400MB), checked to be a size."""
    value = os.environ.get("SPFTRACE_MEMORY") or DEFAULT_MEMORY
    if _MEMORY.fullmatch(value) is None:
        raise SpftraceError(
            f"SPFTRACE_MEMORY={value!r} is not a memory size; use e.g. 400MB, 2GB or 50%"
        )
    return value.strip()


def config(spill: Path, *, unsafe: bool = False) -> dict[str, Any]:
    """The connection's settings, as typed values."""
    cfg: dict[str, Any] = {
        # analyses sort tens of millions of events: bound memory, spill the rest
        "memory_limit": memory_limit(),
        "temp_directory": str(spill),
        # a query without ORDER BY mostly returns rows in file order: the per-VMA-lock
        # pass (analysis/vmalock.py) streams each thread's events in time order that
        # way instead of sorting them; not guaranteed (the views' semi-join on runs,
        # several threads), so the pass checks the order and sorts when it is not
        "preserve_insertion_order": True,
    }
    if not unsafe:
        cfg["autoinstall_known_extensions"] = False
        cfg["autoload_known_extensions"] = False
    return cfg


def _sql_string(text: str) -> str:
    """A SQL string literal.  Only for file paths in view definitions, where DuckDB
    takes no parameters (its binder refuses them in CREATE VIEW)."""
    return "'" + text.replace("'", "''") + "'"


def connect(
    tables: Mapping[str, Sequence[Path]], spill: Path, *, mode: str = "internal"
) -> duckdb.DuckDBPyConnection:
    """A connection with one view per table (``tables``: name -> its Parquet files; the
    first is ``runs``, and the others only show inputs that ``runs`` lists)."""
    import duckdb

    if mode not in MODES:
        raise ValueError(mode)
    try:
        con = duckdb.connect(config=config(spill, unsafe=mode == "unsafe"))
    except duckdb.Error as exc:
        raise SpftraceError(f"cannot start DuckDB: {str(exc).splitlines()[0]}") from None
    try:
        if mode == "internal":
            files = [str(f) for fs in tables.values() for f in fs]
            con.execute("SET allowed_paths = ?", [files])
        _views(con, tables, mode)
        if mode != "unsafe":
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


class ReadFailed(Exception):
    """DuckDB could not read a dataset file while setting up the views (a damaged
    footer); store.Dataset.guarded finds the file and leaves its run out."""


def _views(con: duckdb.DuckDBPyConnection, tables: Mapping[str, Sequence[Path]], mode: str) -> None:
    import duckdb

    try:
        by_name = True
        for table, files_ in tables.items():
            if mode == "user" and files_:
                source = _arrow_source(con, table, files_)
            elif files_:
                source = (
                    "read_parquet([" + ", ".join(_sql_string(str(f)) for f in files_) + "], "
                    f"hive_partitioning = true, union_by_name = {str(by_name).lower()})"
                )
            else:
                con.execute(f"CREATE OR REPLACE TABLE {table} ({duckdb_columns(table)})")
                continue
            where = (
                ""
                if table == "runs"
                else f" WHERE ({PARTITION}, input) IN (SELECT {PARTITION}, input FROM runs)"
            )
            # spftrace's own SQL: runs (a row per input) read once, into an in-memory table
            # (which cursors share); every
            # other view's semi-join on it would read each runs file once per query
            # (a thousand runs: a second a query, and report json's are many per run)
            kind = "TABLE" if table == "runs" and mode == "internal" else "VIEW"
            con.execute(f"CREATE OR REPLACE {kind} {table} AS SELECT * FROM {source}{where}")
            if table == "runs" and mode != "user":  # the user's: Arrow datasets
                by_name = _mixed_schemas(con)
    except duckdb.Error as exc:
        raise ReadFailed(str(exc).strip().splitlines()[0] if str(exc).strip() else "") from exc


def _mixed_schemas(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the inputs were written with different dataset schemas, whose files have
    different columns: then DuckDB matches columns by name, file by file
    (``union_by_name``), which reads every file's footer at each query's bind (a
    thousand runs: half a second a query).  Files of one schema have the same columns
    (DuckDB still matches them by name, and fails on a missing one)."""
    row = con.execute(
        f"SELECT count(*) FILTER (WHERE schema_version IS DISTINCT FROM {SCHEMA_VERSION}) FROM runs"
    ).fetchone()
    return bool(row and row[0])


def _arrow_source(con: duckdb.DuckDBPyConnection, table: str, files: Sequence[Path]) -> str:
    """Register ``table``'s files as a pyarrow dataset; DuckDB scans it through Arrow
    (projections and filters pushed down) without opening a file itself."""
    import pyarrow as pa
    import pyarrow.dataset as pads

    base = files[0].parent.parent
    schema = arrow_schema(table)
    schema = schema.append(pa.field(PARTITION, pa.string()))
    ds = pads.dataset(
        [str(f) for f in files],
        schema=schema,
        format="parquet",
        partitioning=pads.partitioning(pa.schema([(PARTITION, pa.string())]), flavor="hive"),
        partition_base_dir=str(base),
    )
    name = f"_arrow_{table}"
    con.register(name, ds)
    return name
