"""``spftrace fleet summary|compare`` (also ``python -m spftrace.fleet``): typer commands
over spftrace/fleet.  pyspark is imported when a command runs, so ``spftrace --help``
does not need it."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

from ..errors import SpftraceError

app = typer.Typer(
    name="fleet",
    help="A fleet's dataset (many runs, many hosts; a directory or s3a:// URL) on Apache Spark.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
F = TypeVar("F", bound=Callable[..., Any])
JSON_SCHEMA = "spftrace.fleet-summary/1"

Source = Annotated[str, typer.Argument(help="dataset directory or URL (s3a://bucket/path)")]
Master = Annotated[str, typer.Option("--master", help="Spark master URL")]
Conf = Annotated[
    list[str] | None, typer.Option("--conf", help="Spark setting KEY=VALUE (repeatable)")
]
AsJson = Annotated[bool, typer.Option("--json", help="machine-readable output")]
Engine = Annotated[
    str,
    typer.Option(
        "--engine",
        help="spark, or duckdb: the same computation on this machine (a local dataset; "
        "no Spark or Java needed)",
    ),
]
ENGINES = ("spark", "duckdb")


def _local(source: str, engine: str) -> Any:
    """The dataset for ``--engine duckdb`` (None for spark)."""
    if engine not in ENGINES:
        raise SpftraceError(f"--engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if engine == "spark":
        return None
    if "://" in source:
        raise SpftraceError(f"--engine duckdb reads a local dataset directory, not {source}")
    from ..store import Dataset

    return Dataset(source)


def _errors(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except SpftraceError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        except Exception as exc:  # a Spark failure (a damaged file, storage access)
            if not type(exc).__module__.startswith(("pyspark", "py4j")):
                raise
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            typer.echo(
                f"error: Spark: {first} (`spftrace check` verifies a local dataset)", err=True
            )
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def run_record(s: Any) -> dict[str, Any]:
    """A run of ``fleet summary --json``: ``report json``'s contract keys and the
    headline extensions (not_attempted_pct, fell_back_min/max, command, disagreements)."""
    d: dict[str, Any] = s.contract()
    d["not_attempted_pct"] = s.not_attempted_pct
    lo, hi = s.fell_back_range or (None, None)
    if s.kernel_model == "per-vma-lock" and s.fell_back_range is None:
        lo = hi = s.fallback_total
    d["fell_back_min"], d["fell_back_max"] = lo, hi
    d["command"] = s.command
    d["disagreements"] = list(s.disagreements)
    return d


@app.command()
@_errors
def summary(
    source: Source,
    as_json: AsJson = False,
    master: Master = "local[2]",
    conf: Conf = None,
    engine: Engine = "spark",
) -> None:
    """Every run's summary (faults, speculative or under the VMA lock, fallbacks per
    reason, not attempted), then totals per label."""
    from . import render_summary, summaries

    ds = _local(source, engine)
    if ds is not None:
        from . import local

        items = local.summaries(ds)
    else:
        items = summaries(source, master=master, conf=conf or [])
    if as_json:
        doc = {"schema": JSON_SCHEMA, "source": source, "runs": [run_record(s) for s in items]}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        sys.stdout.write("\n".join(render_summary(items)) + "\n")


@app.command()
@_errors
def compare(
    source: Source,
    base: Annotated[str, typer.Option("--base", help="label, or comma-separated run names")],
    head: Annotated[str, typer.Option("--head", help="label, or comma-separated run names")],
    as_json: AsJson = False,
    show_all: Annotated[
        bool, typer.Option("--all", help="also rows that are not significant")
    ] = False,
    sort: Annotated[str, typer.Option("--sort", help="lkp or change")] = "lkp",
    master: Master = "local[2]",
    conf: Conf = None,
    engine: Engine = "spark",
) -> None:
    """Base versus head over the fleet: `spftrace compare`'s table, computed on Spark."""
    from ..analysis.compare import render_text
    from . import compare as fleet_compare

    ds = _local(source, engine)
    if ds is not None:
        from . import local

        cmp = local.compare(ds, base, head, show_all=show_all, sort=sort)
    else:
        cmp = fleet_compare(
            source, base, head, show_all=show_all, sort=sort, master=master, conf=conf or []
        )
    if as_json:
        sys.stdout.write(json.dumps(cmp.as_dict(), indent=2) + "\n")
    else:
        sys.stdout.write("\n".join(render_text(cmp)) + "\n")
