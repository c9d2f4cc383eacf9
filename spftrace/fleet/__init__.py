"""Past one machine: a fleet's dataset read by Apache Spark, summarised and compared there.

A fleet is one hive-partitioned tree (``DATA/<table>/run=<name>/part-<k>.parquet``,
store.py) that many ``spftrace ingest``s on many hosts wrote, on a local disk or on object
storage (``s3a://bucket/fleet``).  Spark reads it unchanged: the partition column ``run``
comes from the directory names, the column types from schema.py, and only committed inputs
count (the ``runs`` file is a commit's last file, so data rows whose (run, input) has no
``runs`` row are an unfinished commit and are left out, as DuckDB's reader leaves them out;
staging directories start with a dot, which Spark never lists).

Why the DataFrame API rather than the DuckDB SQL translated with sqlglot: spftrace's SQL
is one query per run, with DuckDB-only list lambdas and ASOF joins; a fleet needs one
query over every run grouped by run, which is a rewrite either way, and the DataFrame API
keeps each aggregate a checked Python expression.  What Spark computes is every part that
grows with the data (per run and event/counter: perf stat totals, vmstat first/last,
tracepoint counts, loss statistics, and the per-VMA-lock classification, run by
spftrace's own classifier on each run's events inside ``applyInArrow``); the driver then
turns those per-run aggregates into summaries and the comparison with the same functions
the DuckDB path uses (analysis/model.py ``build_summary``, compare ``compare_metrics``),
so the two engines cannot drift apart in the model, and tests/spark checks the aggregates.

The same aggregates computed by DuckDB on one machine (local.py, ``--engine duckdb``: one
grouped scan per table over every run) make a thousand runs' summaries take seconds
where ``summarize`` run by run took more than 16 minutes; aggregates.py turns either
engine's aggregates into summaries and comparisons.

Entry points: ``spftrace fleet summary|compare DATASET`` (``python -m spftrace.fleet``
is the same), or ``Fleet(source).summaries()`` / ``.compare(base, head)`` here.  Needs
the ``[fleet]`` extra (pyspark) and Java 17; spftrace must be installed where Spark runs
its Python workers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .engine import Fleet, compare, render_summary, summaries
    from .reading import DEFAULT_MASTER, FleetData, open_fleet, session

#: loaded on first use: every ``spftrace`` command imports the fleet's command line
#: (spftrace/cli.py adds it), and only the fleet commands need these
_FROM = {
    "Fleet": "engine",
    "compare": "engine",
    "render_summary": "engine",
    "summaries": "engine",
    "DEFAULT_MASTER": "reading",
    "FleetData": "reading",
    "open_fleet": "reading",
    "session": "reading",
}

__all__ = [
    "DEFAULT_MASTER",
    "Fleet",
    "FleetData",
    "compare",
    "open_fleet",
    "render_summary",
    "session",
    "summaries",
]


def __getattr__(name: str) -> Any:
    if name in _FROM:
        return getattr(importlib.import_module(f".{_FROM[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
