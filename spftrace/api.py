"""The library face: every CLI command is a few lines over these functions."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import SpftraceError
from .store import Dataset, data_dir

if TYPE_CHECKING:
    import pandas as pd

PathLike = str | os.PathLike[str]


@dataclass
class Tables:
    """The dataset's tables as pandas DataFrames (the ``run`` column included)."""

    runs: pd.DataFrame
    counters: pd.DataFrame
    events: pd.DataFrame
    rejects: pd.DataFrame
    stats: pd.DataFrame


def open_dataset(data: PathLike | None = None) -> Dataset:
    return Dataset(data_dir(data))


def load(data: PathLike | None = None, runs: list[str] | None = None) -> Tables:
    """Load every table (optionally only some runs) as pandas DataFrames."""
    ds = open_dataset(data)
    return Tables(*(ds.read(t, runs) for t in ("runs", "counters", "events", "rejects", "stats")))


def list_runs(data: PathLike | None = None) -> list[str]:
    ds = open_dataset(data)
    con = ds.connect()
    try:
        rows = con.execute(
            """
            SELECT r.run, any_value(r.label), string_agg(DISTINCT r.source_format, ','),
                   count(*), min(r.ingested_at), string_agg(r.source, ' ' ORDER BY r.input),
                   coalesce(sum(s.value), 0)
            FROM runs r LEFT JOIN (SELECT run, input, value FROM stats WHERE name = 'records') s
              ON s.run = r.run AND s.input = r.input
            GROUP BY r.run ORDER BY min(r.ingested_at), r.run
            """
        ).fetchall()
    finally:
        con.close()
    if not rows:
        return [f"no runs in {ds.path}"]
    out = [f"{'run':<28} {'label':<12} {'formats':<22} {'inputs':>6} {'records':>12}  sources"]
    for run, label, fmts, n, _when, sources, records in rows:
        out.append(f"{run:<28} {label or '-':<12} {fmts:<22} {n:>6} {int(records):>12,}  {sources}")
    return out


def report(
    kind: str,
    *,
    data: PathLike | None = None,
    runs: list[str] | None = None,
    label: str | None = None,
    color: bool = False,
    kallsyms: str | None = None,
    base: str | None = None,
    head: str | None = None,
) -> str:
    """Render a report of the dataset: kind is text, json or html.  With ``base``
    and ``head`` the HTML report gains the comparison section."""
    from . import reports

    if (base is None) != (head is None):
        raise SpftraceError("--base and --head go together")
    model = reports.build(open_dataset(data), runs, label, kallsyms)
    if kind == "text":
        from .reports import text

        return text.render(model, color=color)
    if kind == "json":
        from .reports import json_report

        return json_report.render(model)
    if kind == "html":
        from .reports import html

        extra = []
        if base is not None and head is not None:
            from .analysis.compare import compare as do_compare

            extra.append(html.comparison_section(do_compare(open_dataset(data), base, head)))
        return html.render(model, extra_sections=extra)
    raise SpftraceError(f"unknown report kind {kind!r}; use text, json or html")


def query(sql: str, *, data: PathLike | None = None, fmt: str = "table") -> str:
    """Run DuckDB SQL with every table available by name."""
    import duckdb

    ds = open_dataset(data)
    con = ds.connect()
    try:
        try:
            rel = con.sql(sql)
        except duckdb.Error as exc:
            raise SpftraceError(f"query failed: {str(exc).splitlines()[0]}") from None
        if rel is None:  # a statement with no result (CREATE, SET ...)
            return ""  # type: ignore[unreachable]
        df = rel.df()
    finally:
        con.close()
    if fmt == "csv":
        return str(df.to_csv(index=False))
    if fmt == "json":
        return str(df.to_json(orient="records", lines=True, date_format="iso"))
    with _pd_options():
        return str(df.to_string(index=False)) + "\n"


class _pd_options:
    def __enter__(self) -> None:
        import pandas as pd

        self._ctx = pd.option_context(
            "display.max_rows", 500, "display.width", 200, "display.max_colwidth", 80
        )
        self._ctx.__enter__()

    def __exit__(self, *exc: Any) -> None:
        self._ctx.__exit__(*exc)


def write_atomic(path: PathLike, text: str) -> None:
    """Write a file through a temporary name and a rename."""
    p = Path(path)
    if p.parent and not p.parent.exists():
        raise SpftraceError(f"{p}: directory {p.parent} does not exist")
    tmp = p.with_name(f".{p.name}.{uuid.uuid4().hex}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, p)
    finally:
        if tmp.exists():
            tmp.unlink()


def samples_dir() -> Path:
    return Path(__file__).with_name("samples")


def demo(out: PathLike) -> Path:
    """Ingest the bundled samples into OUT/data and write OUT/report.html."""
    import shutil

    from .ingest import ingest

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data = out / "data"
    if data.exists():
        shutil.rmtree(data)
    samples = samples_dir()
    for path, label in (
        ("seed/ebizzy-x86-16cpu.txt", "spf"),
        ("seed/ebizzy-power8-80cpu.txt", "spf"),
        ("seed/kernbench-x86-16cpu.txt", "spf"),
        ("seed/kernbench-power8-80cpu.txt", "spf"),
    ):
        ingest([samples / path], data=data, label=label)
    cap = samples / "capture"
    ingest([cap / "mtfault-perf-stat.txt", *sorted(cap.glob("vmstat-*.txt"))],
           data=data, run="mtfault-this-machine", label="per-vma-lock")  # fmt: skip
    ingest([cap / "mtfault-perf-script.txt"], data=data, run="mtfault-trace-this-machine",
           label="per-vma-lock")  # fmt: skip
    for kernel in ("spf", "base", "per-vma-lock"):  # the simulator on ebizzy, 16 CPUs
        simulate("ebizzy", kernel=kernel, scale=0.05, ingest=True, data=data, label=kernel)
    report_path = out / "report.html"
    write_atomic(report_path, report("html", data=data))
    return report_path


def simulate(
    workload: str,
    *,
    kernel: str = "spf",
    threads: int | None = None,
    cpus: int | None = None,
    seed: int = 1,
    scale: float = 1.0,
    pte_lock: bool = False,
    sets: list[str] | None = None,
    out: PathLike | None = None,
    formats: list[str] | None = None,
    ingest: bool = False,
    data: PathLike | None = None,
    label: str | None = None,
) -> dict[str, Any]:
    """Run the simulator; optionally write its artefacts and ingest them as one run."""
    import shutil
    import tempfile
    from dataclasses import fields

    from . import sim
    from .sim import emit
    from .sim.workloads import OVERRIDABLE, PRESETS, Workload

    if workload not in PRESETS:
        raise SpftraceError(f"unknown workload {workload!r}; presets: {', '.join(PRESETS)}")
    if kernel not in sim.KERNELS:
        raise SpftraceError(f"unknown kernel {kernel!r}; use {', '.join(sim.KERNELS)}")
    if scale <= 0:
        raise SpftraceError("--scale must be positive")
    types = {f.name: f.type for f in fields(Workload)}
    overrides: dict[str, Any] = {"threads": threads, "cpus": cpus}
    if pte_lock:
        overrides["pte_lock"] = True
    for item in sets or []:
        name, eq, value = item.partition("=")
        if not eq or name not in OVERRIDABLE:
            raise SpftraceError(
                f"--set {item!r}: expected NAME=VALUE with NAME one of {', '.join(OVERRIDABLE)}"
            )
        kind = str(types[name])
        try:
            overrides[name] = (
                int(value) if kind == "int" else value.lower() in ("1", "true", "yes")
                if kind == "bool" else float(value)
            )  # fmt: skip
        except ValueError:
            raise SpftraceError(f"--set {item!r}: {value!r} is not a {kind}") from None
    names = tuple(formats or emit.DEFAULT_FILES)
    unknown = [n for n in names if n not in emit.FILES]
    if unknown:
        raise SpftraceError(f"unknown output {unknown[0]!r}; choose from {', '.join(emit.FILES)}")
    keep = out is not None or ingest
    result, w = sim.run(workload, kernel, seed=seed, scale=scale, keep_trace=keep, **overrides)
    summary = emit.describe(result)
    if keep:
        target = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="spftrace-sim-"))
        paths = emit.write_all(result, w, target, names)
        summary["files"] = [str(p) for p in paths]
        paths = [p for p in paths if p.stat().st_size > 0]  # base kernels have no tracepoints
        if ingest:
            from .ingest import ingest as do_ingest

            run_name = f"sim-{workload}-{kernel}-t{w.threads}-c{w.cpus}-s{seed}"
            do_ingest(paths, data=data, run=run_name, label=label or kernel, force=True)
            summary["run"] = run_name
            if out is None:
                shutil.rmtree(target, ignore_errors=True)
                summary.pop("files")
    return summary


def compare(
    base: str,
    head: str,
    *,
    data: PathLike | None = None,
    as_json: bool = False,
    show_all: bool = False,
) -> str:
    """The base-vs-head comparison as LKP-style text or JSON."""
    import json

    from .analysis.compare import compare as do_compare
    from .analysis.compare import render_lkp, render_stats

    cmp = do_compare(open_dataset(data), base, head, show_all=show_all)
    if as_json:
        return json.dumps(cmp.as_dict(), indent=2) + "\n"
    lines = render_lkp(cmp)
    if cmp.rows:
        lines += ["", *render_stats(cmp)]
    else:
        lines.append("(no significant change; --all shows every common metric)")
    return "\n".join(lines) + "\n"


def capture_events() -> tuple[list[str], list[str]]:
    """(perf stat events, tracepoints) that this kernel offers for fault analysis."""
    import subprocess

    from . import kernel
    from .errors import SpftraceError
    from .formats.perf_data_render import perf_binary

    perf = perf_binary()
    if perf is None:
        raise SpftraceError("capture needs perf (Debian: linux-perf)")
    listing = subprocess.run(
        [perf, "list", "--no-desc"], capture_output=True, text=True, check=False
    ).stdout
    if kernel.SPF_EVENT_PREFIX in listing:  # an SPF kernel
        spf = f"{kernel.SPF_SYSTEM}:*"
        return [kernel.FAULT_EVENTS[0], kernel.SPF_EVENTS[0], spf], [spf]
    everything = f"{kernel.MMAP_LOCK_SYSTEM}:*"
    points = [p for p in (kernel.FAULT_USER, everything) if p.split(":*")[0] in listing]
    return [kernel.FAULT_EVENTS[0], *points], points


def capture(
    command: list[str],
    *,
    data: PathLike | None = None,
    run: str | None = None,
    label: str | None = None,
    trace: bool = True,
    keep: PathLike | None = None,
    append: bool = False,
) -> list[Any]:
    """Run COMMAND under perf stat (and perf record of the fault tracepoints), with
    /proc/vmstat snapshots around it, and ingest everything as one run."""
    import shlex
    import subprocess
    import tempfile

    from .formats.perf_data_render import perf_binary
    from .ingest import ingest

    if not command:
        raise SpftraceError("capture needs a command: spftrace capture -- ./app ARGS")
    counters, points = capture_events()
    perf = perf_binary() or "perf"
    out = Path(keep) if keep is not None else Path(tempfile.mkdtemp(prefix="spftrace-capture-"))
    out.mkdir(parents=True, exist_ok=True)
    vm0, vm1 = out / "vmstat-0.txt", out / "vmstat-1.txt"
    stat, rec = out / "perf-stat.txt", out / "trace.data"
    vm0.write_text(Path("/proc/vmstat").read_text())
    inner = list(command)
    if trace and points:
        inner = [perf, "record", "-q", "-o", str(rec)]
        for p in points:
            inner += ["-e", p]
        inner += ["--", *command]
    full = [perf, "stat", "-o", str(stat), "-e", ",".join(counters), "--", *inner]
    done = subprocess.run(full, check=False)
    vm1.write_text(Path("/proc/vmstat").read_text())
    if not stat.exists() or stat.stat().st_size == 0:
        raise SpftraceError(f"perf stat wrote nothing (exit {done.returncode}): {shlex.join(full)}")
    inputs = [stat, vm0, vm1] + ([rec] if rec.exists() and rec.stat().st_size else [])
    # without --run the name is made unique under the dataset lock: parallel captures
    # of one command get capture-CMD, capture-CMD-2, ...
    default = None if run else "capture-" + Path(command[0]).name
    return ingest(inputs, data=data, run=run, append=append, default_name=default, label=label)
