"""Whole-process figures (issue 11, point 4): spftrace as users meet it, interpreter
start and imports included, each against a baseline measured in the same run.

Run by ``make bench`` (bench/run.py adds this section to bench/RESULTS.md) or
alone: ``python bench/whole.py`` prints it.  Every command runs in a fresh
process; its time is wall-clock from spawn to exit, best of N (the machine may
be shared).  Peak RSS and CPU time (user + system, which a shared machine inflates
far less than wall time) come from GNU time (``/usr/bin/time -f "%M %U %S"``): a child
spawned straight from this process would count this process's own memory in
its ru_maxrss, because the kernel carries the high-water mark across exec.

``--small``: the 10-line row and its import breakdown alone (``--file-only``, ``--pipe``:
the other rows alone).

Recording (bench/work/, not committed): ``perf record -e exceptions:page_fault_user
-e 'mmap_lock:*' -- mtfault 4 1000 1024`` (sample_traces/workloads/mtfault.c),
about 1M lines of ``perf script``.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from itertools import islice
from pathlib import Path
from typing import IO, NamedTuple

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK = HERE / "work"
#: what the runs write (datasets, perf script's text again, a fresh install): a
#: directory of this process's own, not bench/work, which holds the captures and may
#: be shared by several checkouts measuring at once (their datasets were one path)
OUT = Path(tempfile.mkdtemp(prefix="spftrace-whole-"))
atexit.register(shutil.rmtree, OUT, ignore_errors=True)
PY = sys.executable
SPFTRACE = str(Path(PY).with_name("spftrace"))  # the installed entry point
RECORD = (
    "perf record -q -o {data} -e exceptions:page_fault_user -e 'mmap_lock:*' "
    "-- {mtfault} 4 1000 1024"
)
#: users' environment: Python writes and reads .pyc (this tree's tooling may not)
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
GRAMMARS = {
    "perf-script": "perf-script-default.txt",
    "ftrace": "ftrace-trace.txt",
    "trace-cmd": "trace-cmd-report.txt",
}


def timed(cmd: Sequence[str], rss_file: str, fmt: str = "%M %U %S") -> list[str]:
    """cmd under GNU time, which writes the peak RSS (KB) and the user and system
    CPU seconds of cmd alone to rss_file."""
    if not Path("/usr/bin/time").exists():
        raise SystemExit("bench/whole.py needs GNU time: apt-get install time")
    return ["/usr/bin/time", "-f", fmt, "-o", rss_file, *cmd]


def rss_mb(rss_file: str) -> float:
    return int(Path(rss_file).read_text().split()[-3]) / 1024


def cpu_s(rss_file: str) -> float:
    user, system = Path(rss_file).read_text().split()[-2:]
    return float(user) + float(system)


class Timing(NamedTuple):
    """One command: wall seconds from spawn to exit, peak RSS MB, CPU seconds; for a
    pipe, how often its producer waited (voluntary context switches: perf script
    reads perf.data from the page cache, so nearly every one is a full pipe)."""

    wall: float
    rss: float
    cpu: float
    waits: int = 0


def run(
    cmd: Sequence[str],
    stdout: int | IO[bytes] = subprocess.DEVNULL,
    env: dict[str, str] | None = None,
) -> Timing:
    """Wall seconds, peak RSS MB and CPU seconds of one fresh process."""
    with tempfile.NamedTemporaryFile() as rss:
        t0 = time.perf_counter()
        # cwd: not the checkout, whose spftrace/ would shadow a PYTHONPATH install
        r = subprocess.run(
            timed(cmd, rss.name), stdout=stdout, stderr=subprocess.DEVNULL, env=env or ENV,
            cwd=WORK, check=False,
        )  # fmt: skip
        wall = time.perf_counter() - t0
        if r.returncode:
            raise SystemExit(f"failed ({r.returncode}): {' '.join(cmd)}")
        return Timing(wall, rss_mb(rss.name), cpu_s(rss.name))


def pipe(
    producer: Sequence[str], consumer: Sequence[str], env: dict[str, str] | None = None
) -> Timing:
    """Wall seconds of ``producer | consumer``, the consumer's peak RSS MB and CPU s,
    the producer's waits."""
    with tempfile.NamedTemporaryFile() as rss, tempfile.NamedTemporaryFile() as waits:
        t0 = time.perf_counter()
        a = subprocess.Popen(
            timed(producer, waits.name, "%w"), stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env=ENV,
        )  # fmt: skip
        b = subprocess.Popen(
            timed(consumer, rss.name), stdin=a.stdout, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, env=env or ENV, cwd=WORK,
        )  # fmt: skip
        assert a.stdout is not None
        a.stdout.close()  # the consumer holds the read end
        if a.wait() or b.wait():
            raise SystemExit(f"pipe failed: {' '.join(producer)} | {' '.join(consumer)}")
        wall = time.perf_counter() - t0
        n = int(Path(waits.name).read_text().split()[-1])
        return Timing(wall, rss_mb(rss.name), cpu_s(rss.name), n)


def best(n: int, fn: Callable[[], Timing]) -> Timing:
    """Fastest of n runs, the largest peak RSS seen, the least CPU time, the fewest
    waits."""
    runs = [fn() for _ in range(n)]
    return Timing(
        min(r.wall for r in runs), max(r.rss for r in runs), min(r.cpu for r in runs),
        min(r.waits for r in runs),
    )  # fmt: skip


def ingest(path: Path | str, spftrace: Sequence[str] = (SPFTRACE,)) -> list[str]:
    data = OUT / "ds-whole"
    shutil.rmtree(data, ignore_errors=True)
    return [*spftrace, "ingest", str(path), "--data", str(data)]


def recording() -> tuple[Path, Path]:
    """perf.data of about 1M tracepoint samples, and its perf script text."""
    WORK.mkdir(parents=True, exist_ok=True)
    mtfault, data, text = WORK / "mtfault", WORK / "trace-1M.data", WORK / "ps-1M.txt"
    if not mtfault.exists():
        src = REPO / "sample_traces" / "workloads" / "mtfault.c"
        subprocess.run(["gcc", "-O1", "-pthread", "-o", str(mtfault), str(src)], check=True)
    if not data.exists():
        subprocess.run(RECORD.format(data=data, mtfault=mtfault), shell=True, check=True)
    return data, text


def perf_to(data: Path, out: Path) -> Timing:
    with out.open("wb") as fh:
        return run(["perf", "script", "-i", str(data)], stdout=fh)


def import_groups(ten: Path) -> list[tuple[str, float]]:
    """Self import time (ms) of a 10-line ingest, summed per top-level package."""
    r = subprocess.run(
        [PY, "-X", "importtime", "-m", "spftrace", *ingest(ten)[1:]],
        capture_output=True, text=True, check=True, env=ENV, cwd=WORK,
    )  # fmt: skip
    groups: dict[str, float] = {}
    for m in re.finditer(r"import time:\s+(\d+) \|\s+\d+ \| +([\w.]+)", r.stderr):
        top = m.group(2).split(".")[0].lstrip("_")
        groups[top] = groups.get(top, 0.0) + int(m.group(1)) / 1000
    return sorted(groups.items(), key=lambda kv: -kv[1])


def import_rss(module: str) -> float:
    """Peak RSS (MB) of a process that only imports ``module``."""
    return run([PY, "-c", f"import {module}"])[1]


def fresh_install() -> tuple[list[str], dict[str, str]]:
    """The package installed from this checkout as pip installs it for a user (the
    C core compiled, the .pyc written at install; ``make`` does both for a clone)."""
    target = OUT / "fresh"
    shutil.rmtree(target, ignore_errors=True)
    subprocess.run(
        [PY, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(REPO)],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV,
    )  # fmt: skip
    env = {**ENV, "PYTHONPATH": str(target)}
    where = subprocess.run(
        [PY, "-c", "import spftrace._native as n; print(n.__file__, n.AVAILABLE)"],
        env=env, capture_output=True, text=True, check=True, cwd=WORK,
    ).stdout  # fmt: skip
    assert where.startswith(str(target)) and "True" in where, where
    return [PY, "-m", "spftrace"], env


def repeat(src: Path, times: int, out: Path) -> Path:
    if not out.exists():
        blob = src.read_bytes()
        with out.open("wb") as fh:
            for _ in range(times):
                fh.write(blob)
    return out


def bench_whole(results: list[str], runs: int = 3) -> None:
    load_before = f"{os.getloadavg()[0]:.1f}"
    data, text = recording()
    script = ["perf", "script", "-i", str(data)]
    perf_file = best(runs, lambda: perf_to(data, text))
    with text.open("rb") as fh:
        lines = sum(1 for _ in fh)
    perf_null = best(runs, lambda: run(script))
    file_ingest = best(runs, lambda: run(ingest(text)))
    piped = best(runs, lambda: pipe(script, ingest("-")))
    ten = OUT / "ps-10.txt"
    with text.open("rb") as fh:
        ten.write_bytes(b"".join(islice(fh, 10)))
    small = best(5, lambda: run(ingest(ten)))
    bare = best(5, lambda: run([PY, "-c", "pass"]))
    groups = import_groups(ten)
    big = repeat(text, 10, WORK / "ps-10M.txt")
    big_ingest = best(1, lambda: run(ingest(big)))
    caps = {fmt: REPO / "tests" / "data" / "traces" / name for fmt, name in GRAMMARS.items()}
    first = dict.fromkeys(caps, float("inf"))
    for _ in range(2):  # the best first run of two fresh installs
        spf, env = fresh_install()
        for fmt, cap in caps.items():
            first[fmt] = min(first[fmt], run(ingest(cap, spf), env=env)[0])

    def later(cap: Path) -> float:
        return best(runs, lambda: run(ingest(cap, spf), env=env))[0]

    firsts = [(fmt, cap.name, first[fmt], later(cap)) for fmt, cap in caps.items()]
    rss = {m: import_rss(m) for m in ("pyarrow.parquet", "numpy", "typer", "rich", "duckdb")}
    shutil.rmtree(OUT / "ds-whole", ignore_errors=True)

    def ok(good: bool) -> str:
        return "met" if good else "**not met**"

    r_file, r_pipe = perf_file.wall / file_ingest.wall, piped.wall / perf_null.wall
    c_file = perf_file.cpu / file_ingest.cpu
    peak = max(file_ingest.rss, piped.rss, big_ingest.rss, small.rss)

    def row(cmd: str, t: Timing, *rest: str) -> str:
        return f"| {cmd} | {t.wall:.2f} | {t.cpu:.2f} | {t.rss:.0f} | " + " | ".join(rest) + " |"

    results += [
        "## Text ingest: the whole process, as users run it (issue 11)",
        "",
        f"Recording: `{RECORD.format(data='trace.data', mtfault='./mtfault')}`: "
        f"{lines:,} lines of perf script ({text.stat().st_size / 1e6:.0f} MB). Each command "
        f"in a fresh process, best of {runs}; seconds from spawn to exit (interpreter start "
        "and imports included), CPU seconds (user + system) and peak RSS of that process "
        f"(GNU time). Load average when this section started: {load_before}, when it ended: "
        f"{os.getloadavg()[0]:.1f} (other jobs share the 2 CPUs: wall times and their ratios "
        "are then indicative; CPU times are inflated far less).",
        "",
        "| command | seconds | CPU s | peak RSS MB | against | ratio | target |",
        "|---|---:|---:|---:|---|---:|---|",
        row("`perf script -i trace.data > ps.txt`", perf_file, "", "", ""),
        row(
            "`spftrace ingest ps.txt`",
            file_ingest,
            "perf script printing it",
            f"**{r_file:.2f}x** faster (CPU: {c_file:.2f}x)",
            f">= 3x (aim 5x): {ok(r_file >= 3)}",
        ),
        row("`perf script -i trace.data > /dev/null`", perf_null, "", "", ""),
        row(
            "`perf script -i trace.data \\| spftrace ingest -`",
            piped,
            "perf script > /dev/null",
            f"**{r_pipe:.2f}x** as long",
            f"<= 1.15x: {ok(r_pipe <= 1.15)}",
        ),
        row(
            "`spftrace ingest` of 10 lines",
            small,
            f"`python -c pass`: {bare.wall:.2f} s, {bare.cpu:.2f} CPU s, {bare.rss:.0f} MB",
            "",
            f"< 0.3 s: {ok(small.wall < 0.3)}; < 100 MB: {ok(small.rss < 100)}",
        ),
        row(
            f"`spftrace ingest` of {10 * lines:,} lines",
            big_ingest,
            "",
            "",
            f"< 250 MB at any size: {ok(peak < 250)} (peak {peak:.0f})",
        ),
        "",
        "CPU seconds of the pipe row are the ingest's alone (perf script's are the row above); "
        f"perf script waited {piped.waits:,} times (voluntary context switches, GNU time `%w`, "
        "fewest of the runs: nearly all of them on a full pipe).",
        "",
        "Where a 10-line ingest spends its start-up (`python -X importtime`, self time summed "
        "per top-level package, ms): "
        + ", ".join(f"{k} {v:.0f}" for k, v in groups[:9])
        + f"; total {sum(v for _, v in groups):.0f} ms. Peak RSS of a process that only "
        "imports: " + ", ".join(f"{k} {v:.0f} MB" for k, v in rss.items()) + ".",
        "",
        "First run after a fresh install (`pip install --no-deps --target DIR .`: the C core "
        "and the .pyc compiled at install, nothing at run time; best first run of two "
        f"installs) against later runs (best of {runs}), `python -m spftrace ingest CAPTURE`:",
        "",
        "| grammar | capture | first run s | later runs s | first / later |",
        "|---|---|---:|---:|---:|",
        *(f"| {fmt} | {name} | {a:.2f} | {b:.2f} | {a / b:.2f} |" for fmt, name, a, b in firsts),
        "",
    ]


def based(base: str | None) -> tuple[list[str], dict[str, str]]:
    """The command and environment of the spftrace of another checkout (``--base
    DIR``: its ``spftrace`` package first on PYTHONPATH, this venv's dependencies and
    compiled core; ``git archive REV spftrace | tar -x -C DIR`` and a copy of
    spftrace/_native/_core*.so make one)."""
    assert base is not None
    return [PY, "-m", "spftrace"], {**ENV, "PYTHONPATH": str(Path(base).resolve())}


def file_only(runs: int, base: str | None = None) -> None:
    """The file row alone (``--file-only``): perf script printing the 1M-line text
    against ``spftrace ingest`` of it (and, with ``base``, another checkout's),
    alternating, best of ``runs``."""
    data, text = recording()
    load = os.getloadavg()[0]
    if not text.exists():
        perf_to(data, text)
    perf, ing, old = [], [], []
    for _ in range(runs):
        perf.append(perf_to(data, OUT / "ps-again.txt"))
        ing.append(run(ingest(text)))
        if base is not None:
            cmd, env = based(base)
            old.append(run(ingest(text, cmd), env=env))
    (OUT / "ps-again.txt").unlink(missing_ok=True)
    shutil.rmtree(OUT / "ds-whole", ignore_errors=True)
    p, i = _best(perf), _best(ing)
    print(f"load average {load:.1f} -> {os.getloadavg()[0]:.1f}; best of {runs}")
    print(f"perf script > file: {p.wall:.2f} s, {p.cpu:.2f} CPU s, {p.rss:.0f} MB")
    print(f"spftrace ingest:    {i.wall:.2f} s, {i.cpu:.2f} CPU s, {i.rss:.0f} MB")
    print(f"ratio: {p.wall / i.wall:.2f}x (wall), {p.cpu / i.cpu:.2f}x (CPU)")
    if old:
        o = _best(old)
        print(f"base ingest:        {o.wall:.2f} s, {o.cpu:.2f} CPU s, {o.rss:.0f} MB")
        print(f"base ratio: {p.wall / o.wall:.2f}x (wall), {p.cpu / o.cpu:.2f}x (CPU)")


def small_only(runs: int) -> None:
    """The 10-line row alone (``--small``): ten lines of the recording's perf script
    text, ``spftrace ingest`` of them against ``python -c pass``, alternating, best of
    ``runs``, and where the start-up goes (``-X importtime``)."""
    data, _ = recording()
    load = os.getloadavg()[0]
    ten = OUT / "ps-10.txt"
    with subprocess.Popen(["perf", "script", "-i", str(data)], stdout=subprocess.PIPE) as ps:
        assert ps.stdout is not None
        ten.write_bytes(b"".join(islice(ps.stdout, 10)))
        ps.kill()
    small, bare = [], []
    for _ in range(runs):
        small.append(run(ingest(ten)))
        bare.append(run([PY, "-c", "pass"]))
    groups = import_groups(ten)
    shutil.rmtree(OUT / "ds-whole", ignore_errors=True)
    s, b = _best(small), _best(bare)
    print(f"load average {load:.1f} -> {os.getloadavg()[0]:.1f}; best of {runs}")
    print(f"spftrace ingest of 10 lines: {s.wall:.2f} s, {s.cpu:.2f} CPU s, {s.rss:.0f} MB")
    print(f"python -c pass:              {b.wall:.2f} s, {b.cpu:.2f} CPU s, {b.rss:.0f} MB")
    print(
        "import self time per top-level package (ms): "
        + ", ".join(f"{k} {v:.0f}" for k, v in groups[:9])
        + f"; total {sum(v for _, v in groups):.0f} ms"
    )


def bench_pipe(results: list[str], runs: int, base: str | None = None) -> None:
    """The pipe rows alone (``--pipe``), alternated so that a change of load hits
    each alike, with ``perf script | cat`` as the cost of the pipe itself (and, with
    ``base``, another checkout's ingest)."""
    load_before = f"{os.getloadavg()[0]:.1f}"
    data, _ = recording()
    script = ["perf", "script", "-i", str(data)]
    rows: dict[str, list[Timing]] = {"null": [], "cat": [], "ingest": [], "base": []}
    for _ in range(runs):
        rows["null"].append(run(script))
        rows["cat"].append(pipe(script, ["cat"]))
        rows["ingest"].append(pipe(script, ingest("-")))
        if base is not None:
            cmd, env = based(base)
            rows["base"].append(pipe(script, ingest("-", cmd), env))
    null, cat, piped = (_best(rows[k]) for k in ("null", "cat", "ingest"))
    olds = [("`perf script \\| spftrace ingest -` of --base", _best(rows["base"]))] if base else []
    results += [
        f"best of {runs}, alternated; load average {load_before} -> {os.getloadavg()[0]:.1f}",
        "",
        "| command | seconds | CPU s | perf script waits | / `> /dev/null` |",
        "|---|---:|---:|---:|---:|",
        *(
            f"| {name} | {t.wall:.2f} | {t.cpu:.2f} | {t.waits:,} | {t.wall / null.wall:.2f}x |"
            for name, t in (
                ("`perf script > /dev/null`", null),
                ("`perf script \\| cat` (CPU: cat's)", cat),
                ("`perf script \\| spftrace ingest -` (CPU: the ingest's)", piped),
                *olds,
            )
        ),
    ]


def _best(runs: list[Timing]) -> Timing:
    return best(len(runs), iter(runs).__next__)


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--file-only", action="store_true", help="only the file-ingest row")
    ap.add_argument("--pipe", action="store_true", help="only the pipe rows (quick)")
    ap.add_argument("--small", action="store_true", help="only the 10-line row (quick)")
    ap.add_argument("--runs", type=int, default=3, help="runs of each command (best kept)")
    ap.add_argument(
        "--base", metavar="DIR", help="--file-only, --pipe: also another checkout (see based)"
    )
    args = ap.parse_args()
    if args.file_only:
        file_only(args.runs, args.base)
        return
    if args.small:
        small_only(args.runs)
        return
    results: list[str] = []
    if args.pipe:
        bench_pipe(results, args.runs, args.base)
    else:
        bench_whole(results, args.runs)
    print("\n".join(results))


if __name__ == "__main__":
    main()
