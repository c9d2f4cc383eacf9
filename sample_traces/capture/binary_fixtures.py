"""Record the perf.data and trace.dat fixtures of tests/data/perf_data and tests/data/trace_dat.

usage (root, perf, trace-cmd, tracefs):  python sample_traces/capture/binary_fixtures.py OUTROOT
    writes OUTROOT/perf_data/*.data (+ .script.txt, .frames.txt), OUTROOT/perf_data/kallsyms.txt,
    OUTROOT/trace_dat/*.dat[.xz] (+ .report.txt) and a PROVENANCE.tsv in each.

Oracles are the tools' own text of the committed bytes: ``perf script`` (the text path's
fields, and the frame lines) and ``trace-cmd report -t``.  perf.data holds no kernel
symbols; perf script read this machine's, so kallsyms.txt keeps the kallsyms lines
around every kernel-looking word of the data (the symbol, its neighbours, their
aliases), enough for the same lookups.  A trace.dat carries all of /proc/kallsyms
(5 MB); its KALLSYMS text is cut, in place and at the same length, to the lines the
CPU data can need, the rest replaced by newlines (which trace-cmd skips), and the
expected report is trace-cmd's reading of that reduced file.
"""

from __future__ import annotations

import lzma
import os
import shlex
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TRACEFS = Path("/sys/kernel/tracing")
EVENTS = "-e exceptions:page_fault_user -e exceptions:page_fault_kernel -e 'mmap_lock:*'"
SCRIPT_F = "comm,tid,pid,cpu,time,event,trace"

# name, perf record options, workload, frames fields (no cpu where the sample has none)
PERF = [
    (
        "tracepoints",
        EVENTS,
        "./mtfault 2 1 16",
        "comm,tid,pid,cpu,time,event,period,ip,sym,symoff,dso",
    ),
    (
        "all-cpus",
        f"-a {EVENTS}",
        "./mtfault 2 1 8",
        "comm,tid,pid,cpu,time,event,period,ip,sym,symoff,dso",
    ),
    (
        "callchain",
        f"-g {EVENTS}",
        "./mtfault 2 1 8",
        "comm,tid,pid,cpu,time,event,period,ip,sym,symoff,dso",
    ),
    (
        "count-1",
        f"-c 1 {EVENTS}",
        "./mtfault 2 1 16",
        "comm,tid,pid,cpu,time,event,period,ip,sym,symoff,dso",
    ),
    (
        "exceptions",
        "-e 'exceptions:*'",
        "./mtfault 2 1 16",
        "comm,tid,pid,cpu,time,event,period,ip,sym,symoff,dso",
    ),
    (
        "mmap-lock",
        "-e 'mmap_lock:*'",
        "./mtfault 2 1 16",
        "comm,tid,pid,cpu,time,event,period,ip,sym,symoff,dso",
    ),
    (
        "page-faults",
        "-e page-faults",
        "./mtfault 2 1 64",
        "comm,tid,pid,time,event,period,ip,sym,symoff,dso",
    ),
    (
        "page-faults-fp",
        "-e page-faults --call-graph fp -c 1",
        "./mtfault 2 1 16",
        "comm,tid,pid,time,event,period,ip,sym,symoff,dso",
    ),
]
PIPE = ("pipe", EVENTS, "./mtfault 2 1 16", "comm,tid,pid,cpu,time,event,period,ip,sym,symoff,dso")
KERNEL_MIN = 0xFFFF800000000000
KILLED = "./mtfault 2 40 64; sleep 3"  # perf is killed while this runs


def sh(cmd: str, cwd: Path, out: Path | None = None) -> None:
    with open(out, "wb") if out else open(os.devnull, "wb") as f:
        subprocess.run(cmd, shell=True, cwd=cwd, stdout=f, stderr=subprocess.DEVNULL, check=True)


def kernel_words(data: bytes) -> set[int]:
    n = len(data) // 8
    if n < 2:
        return set()
    return {w for w in struct.unpack(f"<{n}Q", data[: 8 * n]) if w >= KERNEL_MIN} | {
        w for w in struct.unpack(f"<{n - 1}Q", data[4 : 4 + 8 * (n - 1)]) if w >= KERNEL_MIN
    }


def needed_lines(kallsyms: bytes, words: set[int]) -> list[bytes]:
    """kallsyms lines of the symbol holding each word, its neighbours and their aliases."""
    lines = [ln for ln in kallsyms.split(b"\n") if ln.strip()]
    addrs = sorted({int(ln.split()[0], 16) for ln in lines})
    import bisect

    keep: set[int] = set()
    for w in words:
        i = bisect.bisect_right(addrs, w) - 1
        keep.update(addrs[max(i - 1, 0) : i + 2])
    return [ln for ln in lines if int(ln.split()[0], 16) in keep]


def perf_fixtures(out: Path, work: Path, prov: list[str]) -> None:
    words: set[int] = set()
    for name, opts, load, frames in [*PERF, PIPE]:
        data = out / f"{name}.data"
        target = "-o -" if name == "pipe" else f"-o {data}"
        redirect = f" > {data}" if name == "pipe" else ""
        sh(f"perf record -q {target} {opts} -- {load}{redirect}", work)
        fields = SCRIPT_F if ",cpu," in frames else SCRIPT_F.replace("cpu,", "")
        sh(f"perf script --header --ns -F {fields} -i {data}", work, out / f"{name}.script.txt")
        sh(f"perf script --ns -F {frames} -i {data}", work, out / f"{name}.frames.txt")
        words |= kernel_words(data.read_bytes())
        target, redirect = target.replace(f"{out}/", ""), redirect.replace(f"{out}/", "")
        prov.append(
            f"{name}.data\tperf record {target} {opts} -- {load}{redirect}; "
            f"perf script --header --ns -F {fields} > {name}.script.txt; "
            f"perf script --ns -F {frames} > {name}.frames.txt"
        )
    # a perf record that never finished: killed, its header still says data size 0
    crash = out / "killed.data"
    p = subprocess.Popen(
        shlex.split(
            f"perf record -q -m 8 -o {crash} {EVENTS.replace(chr(39), '')} -- sh -c '{KILLED}'"
        ),
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import time

    time.sleep(1.0)
    p.kill()
    p.wait()
    time.sleep(2.5)  # the workload outlives perf; let it end
    prov.append(
        f"killed.data\tperf record -m 8 -o killed.data {EVENTS} -- sh -c '{KILLED}', "
        "perf killed (SIGKILL) after 1 s"
    )
    lines = needed_lines(Path("/proc/kallsyms").read_bytes(), words)
    (out / "kallsyms.txt").write_bytes(b"\n".join(lines) + b"\n")
    prov.append(
        f"kallsyms.txt\t{len(lines)} lines of /proc/kallsyms at capture time (see the script's doc)"
    )


def reduce_kallsyms_v6(path: Path) -> None:
    """Cut a v6 trace.dat's KALLSYMS text to the lines its CPU data can need, in place."""
    sys.path.insert(0, str(HERE.parent.parent))
    from spftrace.formats.trace_dat.header import read_dat_header

    raw = bytearray(path.read_bytes())
    with open(path, "rb") as f:
        hdr = read_dat_header(f)
    text = hdr.td.kallsyms
    at = bytes(raw).find(text[:4096])
    assert at > 0 and raw[at : at + len(text)] == text
    words: set[int] = set()
    for b in hdr.buffers:
        for c in b.cpus:
            words |= kernel_words(bytes(raw[c.offset : c.offset + c.size]))
    keep = b"\n".join(needed_lines(text, words)) + b"\n"
    raw[at : at + len(text)] = keep + b"\n" * (len(text) - len(keep))
    path.write_bytes(bytes(raw))


def trace_dat_fixtures(out: Path, work: Path, prov: list[str]) -> None:
    inst = TRACEFS / "instances" / "spfbin"
    inst.mkdir()
    try:
        for ev in ("exceptions", "mmap_lock"):
            (inst / "events" / ev / "enable").write_text("1")
        (inst / "tracing_on").write_text("1")
        sh("./mtfault 2 1 32", work)
        (inst / "tracing_on").write_text("0")
        sh(f"trace-cmd extract -B spfbin -o {work / 'raw.dat'}", work)
    finally:
        if inst.exists():
            inst.rmdir()
    v6 = work / "v6.dat"
    sh(f"trace-cmd convert -i {work / 'raw.dat'} -o {v6} --file-version 6", work)
    reduce_kallsyms_v6(v6)
    files = {
        "extract-v7-zstd.dat": "--file-version 7 --compression zstd",
        "extract-v7-none.dat": "--file-version 7 --compression none",
    }
    shutil.copy(v6, out / "extract-v6.dat")
    for name, opts in files.items():
        sh(f"trace-cmd convert -i {v6} -o {out / name} {opts}", work)
    cmd = (
        "instance spfbin (exceptions, mmap_lock enabled); ./mtfault 2 1 32; "
        "trace-cmd extract -B spfbin -o raw.dat; trace-cmd convert --file-version 6 -o v6.dat; "
        "KALLSYMS reduced in place (binary_fixtures.py reduce_kallsyms_v6)"
    )
    for name in ["extract-v6.dat", *files]:
        sh(f"trace-cmd report -t -i {out / name}", work, out / f"{name}.report.txt")
        how = "" if name == "extract-v6.dat" else f"; trace-cmd convert -i v6.dat {files[name]}"
        big = (out / name).stat().st_size > 900_000
        if big:  # mostly the newlines of the reduced kallsyms: committed compressed
            with lzma.open(out / f"{name}.xz", "wb", preset=9) as z:
                z.write((out / name).read_bytes())
            (out / name).unlink()
        prov.append(
            f"{name}{'.xz' if big else ''}\t{cmd}{how}; trace-cmd report -t > {name}.report.txt"
        )


def main() -> None:
    root = Path(sys.argv[1]).resolve()
    work = Path(tempfile.mkdtemp(prefix="spftrace-fixtures-"))
    try:
        subprocess.run(
            [
                "gcc",
                "-O1",
                "-pthread",
                "-o",
                str(work / "mtfault"),
                str(HERE.parent / "workloads" / "mtfault.c"),
            ],
            check=True,
        )
        versions = subprocess.run(
            "perf --version; trace-cmd --version | head -2 | tail -1; uname -r; date -u +%FT%TZ",
            shell=True, capture_output=True, text=True, check=False,
        ).stdout.split("\n")  # fmt: skip
        head = "# " + " | ".join(v.strip() for v in versions if v.strip())
        workload = "# workload: ./mtfault = sample_traces/workloads/mtfault.c (gcc -O1 -pthread)"
        for kind, fn in (("perf_data", perf_fixtures), ("trace_dat", trace_dat_fixtures)):
            out = root / kind
            out.mkdir(parents=True, exist_ok=True)
            prov: list[str] = []
            fn(out, work, prov)
            (out / "PROVENANCE.tsv").write_text(
                "\n".join([head, workload, "file\tcommand", *prov]) + "\n"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
