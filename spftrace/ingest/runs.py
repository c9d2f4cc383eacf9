"""Which inputs form which run, what the runs are called, and what is refused.

Grouping: ``--run NAME`` puts every input into that run (a perf stat file, a
vmstat series and a trace of one experiment belong together).  Without it, the
inputs of a *series* format (vmstat snapshots) given together form one run, in
the order of their own timestamps when every one has them, else in the order
given - never by file name; every other input is a run of its own, named after
its file.

Refusals: a run that exists takes more inputs only with ``--append``, and only
inputs with its label; the same bytes are not ingested twice without
``--force``.  Default names (``capture-true``, ``perf-stat-2``) are chosen under
the dataset lock, so concurrent ingests never pick the same one.
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from .._version import __version__
from ..errors import SpftraceError
from ..formats import FORMATS
from ..formats.detect import detect
from ..formats.spec import FormatSpec, Parser
from ..schema import SCHEMA_VERSION
from ..store import Dataset, RunWriter, check_dataset_dir, data_dir, sanitize_run_name
from .inputs import Input, open_input
from .lock import writer_lock
from .pipeline import ERROR_MODES, IngestSummary, Progress, ingest_input, write_error

Member = tuple[Input, FormatSpec]


@dataclass
class Group:
    """The inputs of one run, in the order they get their input numbers."""

    name: str
    explicit: bool  # named by --run (else: a default name, made unique)
    members: list[Member]


def ingest(
    inputs: Sequence[str | os.PathLike[str]],
    *,
    data: str | os.PathLike[str] | None = None,
    run: str | None = None,
    append: bool = False,
    label: str | None = None,
    fmt: str | None = None,
    errors: str = "strict",
    force: bool = False,
    stdin: IO[bytes] | None = None,
    progress: Progress | None = None,
    default_name: str | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> list[IngestSummary]:
    """Ingest files (``-`` is stdin) into the dataset at ``data``.

    ``run``: put every input into this run; an existing one needs ``append``.
    ``default_name``: without ``run``, one run of every input named after this
    (made unique under the lock), instead of one run per input named after it.
    ``on_wait``: told once who holds the dataset lock if it must be waited for
    (default: a line on stderr)."""
    if errors not in ERROR_MODES:
        raise SpftraceError(f"--errors must be one of {', '.join(ERROR_MODES)}, not {errors!r}")
    if fmt is not None and fmt not in FORMATS:
        raise SpftraceError(f"unknown format {fmt!r}; known formats: {', '.join(FORMATS)}")
    if not inputs:
        raise SpftraceError("no input given (pass FILE, or '-' for stdin)")
    if sum(1 for i in inputs if str(i) == "-") > 1:
        raise SpftraceError("stdin ('-') can be given only once")
    if append and run is None:
        raise SpftraceError("--append adds inputs to an existing run: name it with --run NAME")
    if run is not None and sanitize_run_name(run) != run:
        raise SpftraceError(
            f"run name {run!r} is not allowed; use letters, digits, '.', '_' and '-' "
            f"(for example {sanitize_run_name(run)!r})"
        )
    path = data_dir(data)
    check_dataset_dir(path)
    _prehash(inputs)
    pending: list[Input] = []
    try:
        opened: list[Member] = []
        for spec_ in inputs:
            inp = open_input(spec_, stdin=stdin)
            pending.append(inp)
            opened.append((inp, FORMATS[fmt or detect(inp.sniff_bytes(), inp.name)]))
        groups = group(opened, run, default_name)
        try:
            ds = Dataset(path, create=True)
            summaries: list[IngestSummary] = []
            try:
                with writer_lock(ds, on_wait or _to_stderr):
                    try:
                        for g in groups:
                            summaries += _ingest_run(ds, g, label, errors, force, append, progress)
                    except BaseException:
                        # a new --data directory is left as it was, not an empty dataset
                        with contextlib.suppress(OSError):
                            ds.undo_create()
                        raise
            finally:
                ds.remove_made_dir()
            return summaries
        except OSError as exc:  # the reading side reports its own errors: this is ours
            raise write_error(path, exc) from None
    finally:
        for inp in pending:
            inp.close()


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def group(opened: list[Member], run: str | None, default_name: str | None) -> list[Group]:
    """The runs the inputs form (see the module doc)."""
    if run is not None or default_name is not None:
        name = run if run is not None else default_name
        assert name is not None
        return [Group(name, run is not None, _series_last(opened))]
    groups: list[Group] = []
    seen: set[str] = set()
    for inp, spec in opened:
        if spec.series is None:
            groups.append(Group(default_run_name(inp.name), False, [(inp, spec)]))
        elif spec.name not in seen:
            seen.add(spec.name)
            members = order_series([m for m in opened if m[1].name == spec.name])
            groups.append(Group(default_run_name(members[0][0].name), False, members))
    return groups


def _series_last(members: list[Member]) -> list[Member]:
    """Other inputs in the order given, then each series in its own order."""
    out = [m for m in members if m[1].series is None]
    for name in dict.fromkeys(m[1].name for m in members if m[1].series is not None):
        out += order_series([m for m in members if m[1].name == name])
    return out


def order_series(members: list[Member]) -> list[Member]:
    """By the inputs' own first timestamps when every one has one, else as given."""
    stamps = []
    for inp, spec in members:
        assert spec.series is not None
        stamps.append(spec.series.stamp(inp.sniff_head()))
    if any(t is None for t in stamps):
        return list(members)
    order = sorted(range(len(members)), key=lambda k: (stamps[k], k))
    return [members[k] for k in order]


_SUFFIXES = (".gz", ".xz", ".zst", ".bz2", ".txt", ".csv", ".json", ".log", ".out")


def default_run_name(source: str) -> str:
    """A run name from a path: its file name without compression and text suffixes."""
    if source == "<stdin>":
        return "stdin"
    name = Path(source).name
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
    return sanitize_run_name(name)


def _prehash(inputs: Sequence[str | os.PathLike[str]]) -> None:
    """Hash the named files from now on, on a thread of their own (spftrace.prehash),
    as the command does from its start: opening, sniffing and the imports they make
    (pyarrow, numpy: ~0.3 s on one CPU) then overlap the hashing, which otherwise
    ran on the read-ahead thread beside the parser, in proportion to the input's
    bytes (perf stat -j takes 1.9x the bytes of the human layout for the same
    lines).  A file the command already hashes is not hashed twice."""
    if os.environ.get("SPFTRACE_PREHASH") == "0":
        return
    from ..prehash import start

    start([str(i) for i in inputs if str(i) != "-"])


def _ingest_run(
    ds: Dataset,
    g: Group,
    label: str | None,
    errors: str,
    force: bool,
    append: bool,
    progress: Progress | None,
) -> list[IngestSummary]:
    existing = set(ds.run_names())
    run = sanitize_run_name(g.name)
    if g.explicit and run in existing:
        if not append:
            raise SpftraceError(
                f"run {run!r} already exists in {ds.path}; pass --append to add these "
                "inputs to it, or choose another --run"
            )
        label = _joining_label(ds, run, label)
    elif not g.explicit:
        base, k = run, 2
        while run in existing:
            run = f"{base}-{k}"
            k += 1
    first_input = ds.next_input(run) if run in existing else 0
    writer = ds.writer(run, first_input)
    summaries: list[IngestSummary] = []
    previous: dict[str, Parser] = {}  # the last parser of each series format
    try:
        for offset, (inp, spec) in enumerate(g.members):
            parser: Parser | None = None
            if spec.parser is not None:
                prev = previous.get(spec.name)
                series = spec.series
                parser = series.follow(prev) if series and prev else spec.parser()
                if series is not None:
                    previous[spec.name] = parser
            s = IngestSummary(inp.name, spec.name, run, first_input + offset)
            s.compression = inp.compression
            ingest_input(inp, spec, parser, writer, s, errors=errors, progress=progress)
            earlier = zip(summaries, g.members, strict=False)
            prior = ds.find_sha(inp.sha256) or next(
                (p.run for p, m in earlier if m[0].sha256 == inp.sha256), None
            )
            if prior is not None and not force:
                raise SpftraceError(
                    f"{inp.name}: these exact bytes were already ingested as run {prior!r} "
                    "(sha256 match); pass --force to ingest them again"
                )
            _write_runs_row(writer, inp, spec.name, label, s)
            summaries.append(s)
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    return summaries


def _joining_label(ds: Dataset, run: str, label: str | None) -> str | None:
    """The label of inputs appended to ``run``: the run's own; another is refused."""
    import pyarrow.parquet as pq

    labels: set[str] = set()
    for f in ds.files("runs"):
        if f.parent.name == f"run={run}":
            col = pq.read_table(f, columns=["label"]).column("label").to_pylist()
            labels.update(v for v in col if v is not None)
    if label is not None and labels and label not in labels:
        raise SpftraceError(
            f"run {run!r} has label {sorted(labels)[0]!r}; inputs with --label {label!r} "
            "cannot join it (ingest them as another --run)"
        )
    return label if label is not None else next(iter(sorted(labels)), None)


def _write_runs_row(
    writer: RunWriter, inp: Input, fmt: str, label: str | None, s: IngestSummary
) -> None:
    writer.write(
        "runs",
        {
            "label": [label],
            "source_format": [fmt],
            "source": [inp.name],
            "sha256": [inp.sha256],
            "bytes": [inp.nbytes],
            "compression": [inp.compression],
            "ingested_at": [datetime.now(UTC)],
            "host": [platform.node() or None],
            "kernel": [s.kernel],
            "command": [s.command],
            "spftrace_version": [__version__],
            "schema_version": [SCHEMA_VERSION],
        },
        s.input,
    )
