"""The command line: a thin typer shell, one function per command.

Every command calls public library functions and only prints.  A ``SpftraceError`` becomes
``error: ...`` on stderr and exit 1; usage errors exit 2 (click's); anything else is a bug.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from ._version import __version__
from .errors import SpftraceError


class _Command(typer.core.TyperCommand):
    """A command whose help shows each argument by its metavar alone, as click does:
    typer 0.29 adds the Python type (``<list[str]>``) and braces around required ones.
    Every argument of every command therefore declares its metavar."""

    def collect_usage_pieces(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                pieces.append(param.metavar or str(param.name).upper())
        return pieces

    def format_options(self, ctx: typer.Context, formatter: Any) -> None:  # type: ignore[override]
        args: list[tuple[str, str]] = []
        opts: list[tuple[str, str]] = []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":
                args.append((param.metavar or str(param.name).upper(), record[1]))
            elif param.param_type_name == "option":
                opts.append(record)
        for title, rows in (("Arguments", args), ("Options", opts)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


app = typer.Typer(
    name="spftrace",
    help="Explain why page faults fell back from the speculative path to the mmap lock.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

F = TypeVar("F", bound=Callable[..., Any])

DataOpt = Annotated[
    Path | None,
    typer.Option(
        "--data",
        metavar="DIR",
        help="dataset directory (default $SPFTRACE_DATA or ./spftrace-data)",
    ),
]


def user_errors(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except SpftraceError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        except BrokenPipeError:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(0) from None
        except Terminated as exc:
            import signal

            name = signal.Signals(exc.signum).name
            typer.echo(f"stopped by {name}; the dataset is unchanged", err=True)
            raise typer.Exit(128 + exc.signum) from None
        except KeyboardInterrupt:
            typer.echo("interrupted; the dataset is unchanged", err=True)
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"spftrace {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="show the version")
    ] = False,
) -> None:
    """spftrace: speculative page fault fallback analysis."""
    from .progress import enable

    enable()  # long commands show progress on stderr when it is a terminal


class ErrorsMode(StrEnum):
    strict = "strict"
    skip = "skip"


@app.command(cls=_Command)
@user_errors
def ingest(
    inputs: Annotated[
        list[str] | None, typer.Argument(metavar="[INPUT]...", help="files; '-' reads stdin")
    ] = None,
    data: DataOpt = None,
    run: Annotated[
        str | None, typer.Option("--run", metavar="NAME", help="put every input into this run")
    ] = None,
    append: Annotated[
        bool, typer.Option("--append", help="add the inputs to the existing run --run NAME")
    ] = False,
    label: Annotated[
        str | None, typer.Option("--label", metavar="LABEL", help="label, e.g. base or head")
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", metavar="FMT", help="skip detection: perf-stat, vmstat, ..."),
    ] = None,
    errors: Annotated[
        ErrorsMode,
        typer.Option(
            "--errors",
            metavar="strict|skip",
            help="strict: stop at the first bad line; skip: store it in rejects",
        ),
    ] = ErrorsMode.strict,
    force: Annotated[
        bool, typer.Option("--force", help="ingest bytes that were ingested before")
    ] = False,
) -> None:
    """Read perf stat / vmstat / trace text into the dataset."""
    from .ingest import ingest as do_ingest
    from .ingest.inputs import stdin_is_terminal

    specs = list(inputs or [])
    if not specs:
        if stdin_is_terminal():
            raise SpftraceError("no input: give FILE ..., or pipe data in (spftrace ingest -)")
        specs = ["-"]
    from .progress import ingest_lines

    with ingest_lines(True) as progress:
        summaries = do_ingest(
            specs,
            data=data,
            run=run,
            append=append,
            label=label,
            fmt=fmt,
            errors=errors.value,
            force=force,
            progress=progress,
        )
    for s in summaries:
        for line in s.lines_text():
            typer.echo(line, err=True)


@app.command(cls=_Command)
@user_errors
def runs(data: DataOpt = None) -> None:
    """List the runs in the dataset."""
    from .api import list_runs

    for line in list_runs(data):
        typer.echo(line)


class ReportKind(StrEnum):
    text = "text"
    json = "json"
    html = "html"


@app.command(cls=_Command)
@user_errors
def report(
    kind: Annotated[
        ReportKind, typer.Argument(metavar="text|json|html", help="the kind of report")
    ],
    data: DataOpt = None,
    run: Annotated[
        list[str] | None, typer.Option("--run", metavar="NAME", help="run to report (repeatable)")
    ] = None,
    label: Annotated[
        str | None, typer.Option("--label", metavar="LABEL", help="only runs with this label")
    ] = None,
    output: Annotated[
        str | None,
        typer.Option("-o", "--output", metavar="FILE", help="write to FILE ('-' is stdout)"),
    ] = None,
    kallsyms: Annotated[
        Path | None,
        typer.Option(
            "--kallsyms", metavar="FILE", help="a /proc/kallsyms snapshot to name call sites"
        ),
    ] = None,
    base: Annotated[
        str | None,
        typer.Option("--base", metavar="LABEL", help="add the base-vs-head comparison: base side"),
    ] = None,
    head: Annotated[
        str | None,
        typer.Option("--head", metavar="LABEL", help="add the base-vs-head comparison: head side"),
    ] = None,
) -> None:
    """Explain the runs: verdict, fallbacks by reason, sources, ingest statistics."""
    from .api import report as make_report
    from .progress import activity

    color = output in (None, "-") and kind is ReportKind.text and sys.stdout.isatty()
    with activity(f"report {kind.value}", unit="events"):
        text = make_report(
            kind.value, data=data, runs=run, label=label, color=color,
            kallsyms=str(kallsyms) if kallsyms else None, base=base, head=head,
        )  # fmt: skip
    if output is None:
        if kind is ReportKind.html:
            raise SpftraceError("report html needs -o FILE (or -o - for stdout)")
        sys.stdout.write(text)
    else:
        from .outfile import write_output

        written = write_output(output, text)
        if written != "<stdout>":
            typer.echo(written, err=True)


class QueryFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


@app.command(cls=_Command)
@user_errors
def query(
    sql: Annotated[
        str,
        typer.Argument(
            metavar="SQL", help="DuckDB SQL over runs, counters, events, rejects, stats"
        ),
    ],
    data: DataOpt = None,
    fmt: Annotated[
        QueryFormat, typer.Option("--format", metavar="table|csv|json", help="output format")
    ] = QueryFormat.table,
    unsafe: Annotated[
        bool,
        typer.Option(
            "--unsafe", help="full DuckDB: let the SQL read and write files, load extensions"
        ),
    ] = False,
) -> None:
    """Run DuckDB SQL over the dataset's tables (read-only unless --unsafe)."""
    from .api import query as run_query

    sys.stdout.write(run_query(sql, data=data, fmt=fmt.value, unsafe=unsafe))


@app.command(cls=_Command)
@user_errors
def check(data: DataOpt = None) -> None:
    """Verify every file of the dataset against what its commit recorded."""
    from .api import check as run_check

    result = run_check(data)
    for line in result.lines():
        typer.echo(line)
    if not result.ok:
        raise typer.Exit(1)


@app.command(cls=_Command)
@user_errors
def simulate(
    ctx: typer.Context,
    workload: Annotated[
        str | None,
        typer.Argument(metavar="[WORKLOAD]", help="preset (spftrace simulate --list names them)"),
    ] = None,
    threads: Annotated[
        int | None, typer.Option("--threads", metavar="N", help="threads (per process)")
    ] = None,
    cpus: Annotated[int | None, typer.Option("--cpus", metavar="N", help="CPUs")] = None,
    seed: Annotated[int, typer.Option("--seed", metavar="N", help="random seed")] = 1,
    scale: Annotated[
        float, typer.Option("--scale", metavar="X", help="stretch the simulated time")
    ] = 1.0,
    kernel: Annotated[
        str, typer.Option("--kernel", metavar="spf|base|per-vma-lock", help="kernel model")
    ] = "spf",
    pte_lock: Annotated[
        bool, typer.Option("--pte-lock", help="v9/v10: abort on PTE trylock failure")
    ] = False,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set", metavar="NAME=VALUE", help="override a rate (repeatable; see --list)"
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", metavar="DIR", help="write the artefacts to DIR")
    ] = None,
    formats: Annotated[
        str, typer.Option("--formats", metavar="FILES", help="files to write, comma separated")
    ] = "perf-stat.txt,perf-script.txt,vmstat.txt",
    do_ingest: Annotated[
        bool, typer.Option("--ingest", help="ingest the artefacts as one run")
    ] = False,
    data: DataOpt = None,
    label: Annotated[
        str | None,
        typer.Option("--label", metavar="LABEL", help="label for --ingest (default: the kernel)"),
    ] = None,
    list_: Annotated[bool, typer.Option("--list", help="presets and overridable rates")] = False,
    sweep: Annotated[
        list[str] | None,
        typer.Option("--sweep", metavar="NAME=A,B,C", help="seed figures' sensitivity table"),
    ] = None,
) -> None:
    """Simulate a workload on a kernel; print its summary, write or ingest its artefacts."""
    if sweep and (workload or threads or cpus):  # it runs the seed's cases: would ignore them
        ctx.fail("--sweep runs the seed's ebizzy cases: no WORKLOAD, --threads or --cpus")
    if list_ or sweep:
        from .sim.sweep import cli_text

        typer.echo(cli_text(list_, sweep or [], scale=scale, seed=seed), nl=False)
        return
    from .api import simulate as run_sim

    if workload is None:
        ctx.fail("Missing argument 'WORKLOAD' (spftrace simulate --list names the presets).")
    summary = run_sim(
        workload, kernel=kernel, threads=threads, cpus=cpus, seed=seed, scale=scale,
        pte_lock=pte_lock, sets=set_ or [], out=out, formats=formats.split(","),
        ingest=do_ingest, data=data, label=label,
    )  # fmt: skip
    import json

    typer.echo(json.dumps(summary, indent=2))


@app.command(cls=_Command)
@user_errors
def compare(
    base: Annotated[
        str, typer.Option("--base", metavar="LABEL", help="label, or comma-separated run names")
    ],
    head: Annotated[
        str, typer.Option("--head", metavar="LABEL", help="label, or comma-separated run names")
    ],
    data: DataOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    show_all: Annotated[
        bool, typer.Option("--all", help="also rows that are not significant")
    ] = False,
    sort: Annotated[
        str,
        typer.Option(
            "--sort",
            metavar="lkp|change",
            help="lkp (LKP's order: family size, then name) or change",
        ),
    ] = "lkp",
) -> None:
    """LKP-style base vs head table with Welch p-values and confidence intervals."""
    from .api import compare as run_compare

    sys.stdout.write(
        run_compare(base, head, data=data, as_json=as_json, show_all=show_all, sort=sort)
    )


@app.command(
    cls=_Command,
    options_metavar="[OPTIONS] -- COMMAND [ARG]...",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
@user_errors
def capture(
    ctx: typer.Context,
    data: DataOpt = None,
    run: Annotated[
        str | None, typer.Option("--run", metavar="NAME", help="run name (default capture-COMMAND)")
    ] = None,
    append: Annotated[
        bool, typer.Option("--append", help="add the capture to the existing run --run NAME")
    ] = False,
    label: Annotated[
        str | None, typer.Option("--label", metavar="LABEL", help="label, e.g. base or head")
    ] = None,
    no_trace: Annotated[bool, typer.Option("--no-trace", help="counters and vmstat only")] = False,
    keep: Annotated[
        Path | None, typer.Option("--keep", metavar="DIR", help="keep the raw captures in DIR")
    ] = None,
) -> None:
    """Record COMMAND on this kernel (perf stat, perf record, vmstat) and ingest it;
    exit with COMMAND's exit status.

    Everything after `--` is the command and its arguments, e.g.
    `spftrace capture --label head -- ./app --threads 8`.  Needs perf and root
    (or perf_event_paranoid at most 1)."""
    from .api import capture as do_capture

    result = do_capture(
        list(ctx.args),
        data=data,
        run=run,
        label=label,
        trace=not no_trace,
        keep=keep,
        append=append,
    )
    for s in result.summaries:
        for line in s.lines_text():
            typer.echo(line, err=True)
    if result.exit_status:
        typer.echo(f"{ctx.args[0]} exited with status {result.exit_status}", err=True)
        raise typer.Exit(result.exit_status)


@app.command(cls=_Command)
def schema() -> None:
    """Describe every dataset table and column."""
    from .schema import describe

    for line in describe():
        typer.echo(line)


@app.command(cls=_Command)
@user_errors
def demo(
    out: Annotated[
        Path, typer.Option("--out", metavar="DIR", help="directory for the dataset and report.html")
    ] = Path("spftrace-demo"),
) -> None:
    """Ingest the bundled samples and write report.html: the tour."""
    from .api import demo as run_demo

    report_path = run_demo(out)
    typer.echo(str(report_path.resolve()))


# -- spftrace fleet: the dataset on Apache Spark (spftrace/fleet, the [fleet] extra) --
from .fleet.cli import app as _fleet_app  # noqa: E402

app.add_typer(_fleet_app, name="fleet")


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where SIGINT's KeyboardInterrupt would be, so that an
    ingest cleans up its staging files the same way."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _on_signal(signum: int, _frame: Any) -> None:
    import signal

    # the clean-up waits for worker threads; a second signal ends the process at once
    # (a commit cut short is still undone: by the next writer, from its journal)
    signal.signal(signum, signal.SIG_DFL)
    raise Terminated(signum)


def main() -> None:
    import signal

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
