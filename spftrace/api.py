"""The library face: every CLI command is a few lines over these functions."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import SpftraceError
from .outfile import write_output
from .store import Dataset, data_dir

if TYPE_CHECKING:
    import pandas as pd

    from .integrity import CheckResult

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
    """One line per run (text from inputs shown with its control characters made
    visible); a damaged run is listed with the file that broke."""
    from .text import visible

    ds = open_dataset(data)

    def rows() -> list[Any]:
        con = ds.connect()
        try:
            return con.execute(
                """
                SELECT r.run, any_value(r.label), string_agg(DISTINCT r.source_format, ','),
                       count(*), min(r.ingested_at), string_agg(r.source, ' ' ORDER BY r.input),
                       coalesce(sum(s.value), 0)
                FROM runs r LEFT JOIN (
                    SELECT run, input, value FROM stats WHERE name = 'records'
                ) s ON s.run = r.run AND s.input = r.input
                GROUP BY r.run ORDER BY min(r.ingested_at), r.run
                """
            ).fetchall()
        finally:
            con.close()

    ds.verify(tables=("runs", "stats"))  # the files this listing reads
    found = ds.guarded(rows, runs=[])
    if not found and not ds.damage:
        return [f"no runs in {ds.path}"]
    out = [f"{'run':<28} {'label':<12} {'formats':<22} {'inputs':>6} {'records':>12}  sources"]
    for run, label, fmts, n, _when, sources, records in found:
        out.append(
            f"{run:<28} {visible(label) or '-':<12} {fmts:<22} {n:>6} {int(records):>12,}  "
            f"{visible(sources)}"
        )
    for run, problems in sorted(ds.damage.items()):
        p = problems[0]
        out.append(
            f"{run:<28} DAMAGED: {visible(str(p.path))}: {p.reason} (spftrace check lists all)"
        )
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
    and ``head`` every kind gains the base-vs-head comparison: text appends
    ``spftrace compare``'s table, JSON a ``comparison`` key (``compare --json``'s
    object), HTML the comparison section."""
    from . import reports

    if (base is None) != (head is None):
        raise SpftraceError("--base and --head go together")
    if kind not in ("text", "json", "html"):
        raise SpftraceError(f"unknown report kind {kind!r}; use text, json or html")
    ds = open_dataset(data)
    model = ds.guarded(lambda: reports.build(ds, runs, label, kallsyms), runs or None)
    cmp = None
    if base is not None and head is not None:
        from .analysis.compare import compare as do_compare

        cds = open_dataset(data)
        cmp = cds.guarded(lambda: do_compare(cds, base, head))
    if kind == "text":
        from .reports import text

        out = text.render(model, color=color)
        if cmp is not None:
            from .analysis.compare import render_text

            out += "\n" + "\n".join(render_text(cmp)) + "\n"
        return out
    if kind == "json":
        import json

        from .reports import json_report

        if cmp is None:
            return json_report.render(model)
        doc = json_report.as_dict(model)
        doc["comparison"] = cmp.as_dict()
        return json.dumps(doc, indent=2, sort_keys=False) + "\n"
    if kind == "html":
        from .reports import html

        extra = [] if cmp is None else [html.comparison_section(cmp)]
        return html.render(model, extra_sections=extra)
    raise SpftraceError(f"unknown report kind {kind!r}; use text, json or html")


def query(
    sql: str, *, data: PathLike | None = None, fmt: str = "table", unsafe: bool = False
) -> str:
    """Run DuckDB SQL with every table available by name.  The SQL cannot touch files,
    the network or extensions (see duck.py) unless ``unsafe``.  Table and CSV output
    show text with its control characters made visible; JSON keeps it exactly."""
    import duckdb

    ds = open_dataset(data)

    def run() -> pd.DataFrame:
        err = ds.damage_error(None)
        if err is not None:
            raise err
        con = ds.connect(mode="unsafe" if unsafe else "user")
        try:
            rel = con.sql(sql)
            if rel is None:  # a statement with no result (CREATE, SET ...)
                return _empty_frame()  # type: ignore[unreachable]
            frame: pd.DataFrame = rel.df()
            return frame
        finally:
            con.close()

    try:
        df = ds.guarded(run)
    except duckdb.Error as exc:
        msg = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise SpftraceError(f"query failed: {msg}{_unsafe_hint(msg)}") from None
    if fmt == "json":
        return str(df.to_json(orient="records", lines=True, date_format="iso"))
    df = _visible_frame(df)
    if fmt == "csv":
        return str(df.to_csv(index=False))
    with _pd_options():
        return str(df.to_string(index=False)) + "\n"


def _empty_frame() -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame()


def _unsafe_hint(message: str) -> str:
    if (
        "disabled" in message and "configuration" in message
    ) or "configuration has been locked" in message:
        return " (spftrace query reads only the dataset; --unsafe allows files and extensions)"
    return ""


def _visible_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Every string cell (and column name) with control and bidi characters visible."""
    from pandas.api.types import is_object_dtype, is_string_dtype

    from .text import visible

    out = df.copy()
    out.columns = [visible(str(c)) for c in df.columns]
    for i in range(df.shape[1]):
        col = df.iloc[:, i]
        if is_object_dtype(col.dtype) or is_string_dtype(col.dtype):
            out.iloc[:, i] = [visible(v) if isinstance(v, str) else v for v in col]
    return out


class _pd_options:
    def __enter__(self) -> None:
        import pandas as pd

        self._ctx = pd.option_context(
            "display.max_rows", 500, "display.width", 200, "display.max_colwidth", 80
        )
        self._ctx.__enter__()

    def __exit__(self, *exc: Any) -> None:
        self._ctx.__exit__(*exc)


def check(data: PathLike | None = None) -> CheckResult:
    """Verify every file of the dataset against its commit's manifest (see integrity.py)."""
    from .integrity import check as do_check

    return do_check(open_dataset(data).path)


def samples_dir() -> Path:
    return Path(__file__).with_name("samples")


def demo(out: PathLike) -> Path:
    """Ingest the bundled samples into OUT/data and write OUT/report.html.  Only
    what spftrace made is replaced: OUT/data must be new, empty or a dataset (whose
    runs are removed, nothing else), and OUT/report.html new or from such a demo."""
    from .ingest import ingest
    from .store import MARKER

    out = Path(out)
    data = out / "data"
    report_path = out / "report.html"
    if out.exists() and not out.is_dir():
        raise SpftraceError(f"{out}: not a directory; demo --out needs a directory")
    previous = (data / MARKER).is_file()
    if data.exists() and not previous and (not data.is_dir() or any(data.iterdir())):
        raise SpftraceError(
            f"{data} exists and is not an spftrace dataset; demo --out {out} would need it: "
            "choose another --out directory"
        )
    if report_path.exists() and not previous:
        raise SpftraceError(
            f"{report_path} exists and was not written by a demo; choose another --out directory"
        )
    out.mkdir(parents=True, exist_ok=True)
    if previous:
        Dataset(data).remove_runs()
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
    write_output(report_path, report("html", data=data))
    return report_path


#: the longest simulation accepted: ~0.7 s of this machine per unit of --scale for
#: ebizzy, so 10,000 is about two hours; beyond that a typo (1e9) would run for years
MAX_SIM_SCALE = 10_000.0


def _check_sim_numbers(*, threads: int | None, cpus: int | None, seed: int, scale: float) -> None:
    """Refuse what the model cannot run, in the user's words, before any work."""
    import math

    for flag, value in (("--threads", threads), ("--cpus", cpus)):
        if value is not None and value < 1:
            raise SpftraceError(f"{flag} {value}: must be at least 1")
    if seed < 0:
        raise SpftraceError(f"--seed {seed}: must be 0 or more")
    if not math.isfinite(scale) or scale <= 0:
        raise SpftraceError(f"--scale {scale}: must be a positive, finite number")
    if scale > MAX_SIM_SCALE:
        raise SpftraceError(
            f"--scale {scale:g}: at most {MAX_SIM_SCALE:g} (about 0.7 s of simulation per "
            "unit here; --scale 1 simulates the preset's own duration)"
        )


#: integer settings the model divides by or loops over: 0 cannot mean anything
_SIM_AT_LEAST_ONE = frozenset(
    ("threads", "cpus", "threads_per_mm", "chunk_pages", "page_kib", "pmd_span_kib",
     "vma_groups", "ops_per_round")
)  # fmt: skip


def _check_sim_setting(name: str, value: object) -> None:
    """--set values: sizes and counts at least 1 (others, like ``chunk_kib=0`` for
    "use chunk_pages", at least 0), costs and rates finite and not negative,
    fractions (``*_frac``) at most 1."""
    import math

    if isinstance(value, bool):
        return
    if isinstance(value, int):
        least = 1 if name in _SIM_AT_LEAST_ONE else 0
        if value < least:
            raise SpftraceError(f"--set {name}={value}: must be at least {least}")
        return
    assert isinstance(value, float)
    if not math.isfinite(value) or value < 0:
        raise SpftraceError(f"--set {name}={value}: must be a finite number, 0 or more")
    if name.endswith("_frac") and value > 1:
        raise SpftraceError(f"--set {name}={value}: a fraction, at most 1")


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
    _check_sim_numbers(threads=threads, cpus=cpus, seed=seed, scale=scale)
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
        _check_sim_setting(name, overrides[name])
    names = tuple(formats or emit.DEFAULT_FILES)
    unknown = [n for n in names if n not in emit.FILES]
    if unknown:
        raise SpftraceError(f"unknown output {unknown[0]!r}; choose from {', '.join(emit.FILES)}")
    keep = out is not None or ingest
    from dataclasses import replace

    from .progress import activity, ingest_callback

    # sim.run's steps, keeping the Simulator so that its fault count can be shown
    w = sim.preset(workload, **overrides)
    if scale != 1.0:
        w = replace(w, duration_us=w.duration_us * scale)
    simulator = sim.simulator(w, kernel, seed=seed, keep_trace=keep)
    with activity(f"simulating {workload} on {kernel}", unit="faults",
                  count=lambda: int(simulator.faults)) as phase:  # fmt: skip
        result = simulator.run()
        summary = emit.describe(result)
        if keep:
            phase(f"writing the artefacts of {workload} on {kernel}")
            target = (
                Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="spftrace-sim-"))
            )
            paths = emit.write_all(result, w, target, names)
            summary["files"] = [str(p) for p in paths]
            paths = [p for p in paths if p.stat().st_size > 0]  # base kernels have no tracepoints
        if keep and ingest:
            from .ingest import ingest as do_ingest

            phase(f"ingesting {workload} on {kernel}")
            run_name = f"sim-{workload}-{kernel}-t{w.threads}-c{w.cpus}-s{seed}"
            do_ingest(paths, data=data, run=run_name, label=label or kernel, force=True,
                      progress=ingest_callback())  # fmt: skip
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
    sort: str = "lkp",
) -> str:
    """The base-vs-head comparison as LKP-style text or JSON (``sort``: lkp or change)."""
    import json

    from .analysis.compare import compare as do_compare
    from .analysis.compare import render_text

    cmp = do_compare(open_dataset(data), base, head, show_all=show_all, sort=sort)
    if as_json:
        return json.dumps(cmp.as_dict(), indent=2) + "\n"
    return "\n".join(render_text(cmp)) + "\n"


def capture(
    command: list[str],
    *,
    data: PathLike | None = None,
    run: str | None = None,
    label: str | None = None,
    trace: bool = True,
    keep: PathLike | None = None,
    append: bool = False,
) -> Any:
    """Record COMMAND on this kernel and ingest it as one run (spftrace/capture.py);
    returns a CaptureResult: the ingest summaries and the command's exit status."""
    from .capture import capture as do_capture

    return do_capture(
        command, data=data, run=run, label=label, trace=trace, keep=keep, append=append
    )
