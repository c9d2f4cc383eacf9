"""perf.data read by spftrace equals what perf script prints of the same file.

Oracles (never the code under test): the existing text path reading ``perf script``
output (PerfScriptParser, for every column it fills), and an independent reading of
perf script's frame lines here (sample ip, symbol, object, period, callchain).
Committed fixtures (tests/data/perf_data, PROVENANCE.tsv) run anywhere with the
kallsyms lines perf used; the ``capture`` tests record fresh files with this
machine's perf.  Where perf prints a symbol or ``(nil)`` for a value the text path
cannot read back (``ip=do_fault``), the row's number must be what perf printed.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from spftrace.formats.kallsyms import perf_symbols
from spftrace.formats.perf_data import read_perf_data
from spftrace.formats.perf_script import PerfScriptParser

DATA = Path(__file__).with_name("data") / "perf_data"
KALLSYMS = (DATA / "kallsyms.txt").read_bytes()
FIXTURES = sorted(p.stem for p in DATA.glob("*.data") if (DATA / f"{p.stem}.script.txt").exists())
SHARED = ("ts", "cpu", "pid", "tid", "comm", "event", "vm_start", "vm_end", "write", "success")
HEXES = ("ip", "address", "error_code", "mm")


def binary_rows(path: Path, **kw: Any) -> tuple[list[dict[str, Any]], list[Any]]:
    with open(path, "rb") as f:
        batches = list(read_perf_data(f, source=str(path), **kw))
    rows = [r for b in batches for r in b.events.to_pylist()]
    return rows, batches


def text_rows(text: str) -> list[dict[str, Any]]:
    p = PerfScriptParser()
    out, last = p.feed_lines(text.splitlines(), 1), p.close()  # close(): the held-back sample
    out.check()
    last.check()
    return [*out.rows.to_pylist(), *last.rows.to_pylist()]


def _token(payload: str, key: str) -> str | None:
    for tok in payload.split(" "):
        k, sep, v = tok.partition("=")
        if not sep:
            k, sep, v = tok.partition(":")
        if sep and k == key:
            return v
    return None


def assert_same_rows(
    binary: list[dict[str, Any]], text: list[dict[str, Any]], kallsyms: bytes | None
) -> None:
    """Every row equal in every column both fill; a typed value the text could not
    read (a symbol, "(nil)") is checked against what perf printed."""
    assert len(binary) == len(text) and text
    syms = perf_symbols(kallsyms) if kallsyms else None
    for i, (b, t) in enumerate(zip(binary, text, strict=True)):
        for k in (*SHARED, "fields", "payload"):
            assert b[k] == t[k], (i, k, b[k], t[k])
        for k in HEXES:
            if t[k] is not None:
                assert b[k] == t[k], (i, k, b[k], t[k])
                continue
            shown = _token(t["payload"], k)
            if shown is None:  # not printed: only a sample's own ip may be there
                sampled = t["event"].startswith(("exceptions", "mmap_lock")) or not t["payload"]
                assert b[k] is None or sampled, (i, k)
            elif shown == "(nil)":
                assert b[k] == 0, (i, k)
            else:  # perf printed a kernel symbol (%ps)
                assert syms is not None
                (name,), _ = syms.resolve(_arr(b[k]))
                assert name == shown.encode(), (i, k, hex(b[k]), shown)


def _arr(v: int) -> Any:
    import numpy as np

    return np.array([v], np.uint64)


# --- perf script's frame lines, read independently ----------------------------------

_HEAD = re.compile(
    r"^\s*(?P<comm>.*?)\s+(?P<pid>-?\d+)/(?P<tid>-?\d+)\s+(?:\[(?P<cpu>\d+)\]\s+)?"
    r"(?P<sec>\d+)\.(?P<ns>\d{9}):\s+(?P<period>\d+)\s+(?P<event>\S+):\s*(?P<rest>.*)$"
)
_FRAME = re.compile(r"^\s*(?P<ip>[0-9a-f]+) (?P<sym>.+?) \((?P<dso>[^()]*)\)$")


def frame_samples(text: str) -> list[dict[str, Any]]:
    samples: list[dict[str, Any]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith("\t"):
            m = _FRAME.match(line)
            assert m, line
            samples[-1]["frames"].append(m.groupdict())
            continue
        m = _HEAD.match(line)
        assert m, line
        s: dict[str, Any] = dict(m.groupdict(), frames=[])
        rest = _FRAME.match(s["rest"]) if s["rest"] else None
        s["own"] = rest.groupdict() if rest else None
        samples.append(s)
    return samples


def _printed(sym: str | None, off: int | None) -> str:
    return "[unknown]" if sym is None else f"{sym}+0x{off:x}"


def assert_same_frames(binary: list[dict[str, Any]], text: str) -> None:
    samples = frame_samples(text)
    assert len(samples) == len(binary) and samples
    for i, (s, b) in enumerate(zip(samples, binary, strict=True)):
        assert b["ts"] == int(s["sec"]) * 10**9 + int(s["ns"]), i
        assert (b["pid"], b["tid"], b["period"]) == (int(s["pid"]), int(s["tid"]), int(s["period"]))
        assert b["event"] == s["event"], i
        if s["cpu"] is not None:
            assert b["cpu"] == int(s["cpu"]), i
        if b["callchain"] is None:  # the sample's own ip, sym and object on its line
            own = s["own"]
            assert own is not None and not s["frames"], i
            assert b["dso"] == (None if own["dso"] == "[unknown]" else own["dso"]), i
            if b["dso"] in (None, "[kernel.kallsyms]"):  # the offset is not a column
                assert (b["sym"] or "[unknown]") == own["sym"].rsplit("+0x", 1)[0], i
            if b["event"] == "page-faults":  # not a tracepoint: ip is the sample's
                assert f"{b['ip']:x}" == own["ip"], i
            continue
        frames = b["callchain"]
        assert len(frames) == len(s["frames"]), (i, len(frames), len(s["frames"]))
        for f, t in zip(frames, s["frames"], strict=True):
            assert (f["dso"] or "[unknown]") == t["dso"], (i, f, t)
            if f["dso"] in (None, "[kernel.kallsyms]"):  # perf prints these addresses whole
                assert f"{f['ip']:x}" == t["ip"], (i, f, t)
                assert _printed(f["sym"], f["off"]) == t["sym"], (i, f, t)


# --- committed fixtures ----------------------------------------------------------------


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_rows_equal_the_text_path(name: str) -> None:
    rows, _ = binary_rows(DATA / f"{name}.data", kallsyms=KALLSYMS)
    text = (DATA / f"{name}.script.txt").read_text(errors="surrogateescape")
    if name.startswith("page-faults"):  # samples, not tracepoints: no payload
        assert all(r["payload"] == "" and r["fields"] == [] for r in rows)
    assert_same_rows(rows, text_rows(text), KALLSYMS)


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_frames_equal_perf_script(name: str) -> None:
    rows, _ = binary_rows(DATA / f"{name}.data", kallsyms=KALLSYMS)
    assert_same_frames(rows, (DATA / f"{name}.frames.txt").read_text(errors="surrogateescape"))


def test_non_tracepoint_samples_carry_their_ip_and_period() -> None:
    rows, _ = binary_rows(DATA / "page-faults.data", kallsyms=KALLSYMS)
    assert {r["event"] for r in rows} == {"page-faults"}
    assert all(r["ip"] is not None and r["period"] >= 1 for r in rows)
    assert sum(r["period"] for r in rows) > len(rows)  # frequency mode: periods grow


def test_header_features_become_run_metadata() -> None:
    _, batches = binary_rows(DATA / "tracepoints.data", kallsyms=KALLSYMS)
    meta = batches[-1].meta
    text = (DATA / "tracepoints.script.txt").read_text()
    assert f"# os release : {meta['kernel']}" in text
    assert f"# hostname : {meta['host']}" in text
    assert f"# cmdline : {meta['command']} " in text
    assert f"# perf version : {meta['perf_version']}" in text
    assert f"# nrcpus online : {meta['nrcpus_online']}" in text


def test_pipe_mode_from_a_pipe_equals_the_file() -> None:
    path = DATA / "pipe.data"
    from_file, _ = binary_rows(path, kallsyms=KALLSYMS)
    proc = subprocess.Popen(["cat", str(path)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    with proc.stdout:
        piped = [
            r for b in read_perf_data(proc.stdout, kallsyms=KALLSYMS) for r in b.events.to_pylist()
        ]
    proc.wait()
    assert piped == from_file and len(piped) > 100


def test_file_mode_from_a_pipe_is_spooled() -> None:
    path = DATA / "callchain.data"
    from_file, _ = binary_rows(path, kallsyms=KALLSYMS)
    proc = subprocess.Popen(["cat", str(path)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    with proc.stdout:
        piped = [
            r for b in read_perf_data(proc.stdout, kallsyms=KALLSYMS) for r in b.events.to_pylist()
        ]
    proc.wait()
    assert piped == from_file


def test_small_batches_give_the_same_rows() -> None:
    path = DATA / "all-cpus.data"
    whole, _ = binary_rows(path, kallsyms=KALLSYMS)
    small, batches = binary_rows(path, kallsyms=KALLSYMS, batch_rows=37)
    assert small == whole
    assert max(b.rows for b in batches) <= 37
    assert [r["line_no"] for r in small] == list(range(1, len(small) + 1))


def test_small_windows_give_the_same_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows whose records sit in several read windows (a batch built from many blobs,
    offsets moved into one buffer) equal the rows read in one window."""
    from spftrace.formats.perf_data import reader

    path = DATA / "all-cpus.data"
    whole, _ = binary_rows(path, kallsyms=KALLSYMS)
    monkeypatch.setattr(reader, "WINDOW", 4096)
    small, _ = binary_rows(path, kallsyms=KALLSYMS, batch_rows=100)
    assert len(whole) > 100
    assert small == whole


def test_records_are_accounted() -> None:
    _, batches = binary_rows(DATA / "tracepoints.data", kallsyms=KALLSYMS)
    rows = sum(b.rows for b in batches)
    records = sum(b.records for b in batches)
    stats = {n: v for b in batches for n, _c, v in b.stats}
    assert records > rows  # COMM, MMAP, FINISHED_ROUND ... are records too
    assert stats.get("skipped_finished_init") == 1


def test_a_killed_perf_record_keeps_its_records() -> None:
    rows, batches = binary_rows(DATA / "killed.data", kallsyms=KALLSYMS)
    notes = " ".join(n for b in batches for n in b.notes)
    stats = {n: v for b in batches for n, _c, v in b.stats}
    assert "data size 0" in notes
    assert stats["data_size_zero"] == 1
    assert len(rows) > 1000
    ts = [r["ts"] for r in rows]
    assert ts == sorted(ts)
    # without the features: no names or formats, the tracepoint id stands in
    assert {r["event"] for r in rows} <= {f"tracepoint:{i}" for i in range(100000)}


def test_no_perf_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    rows, _ = binary_rows(DATA / "mmap-lock.data", kallsyms=KALLSYMS)
    assert len(rows) > 100


# --- fresh captures on this machine ----------------------------------------------------

WORKLOAD_C = Path(__file__).parent.parent / "sample_traces" / "workloads" / "mtfault.c"
TP = ["-e", "exceptions:page_fault_user", "-e", "exceptions:page_fault_kernel", "-e", "mmap_lock:*"]
CAPTURES = {
    "default": TP,
    "all-cpus": ["-a", *TP],
    "callchain": ["-g", *TP],
    "call-graph-fp": ["--call-graph", "fp", *TP],
    "count-1": ["-c", "1", *TP],
    "exceptions": ["-e", "exceptions:*"],
    "mmap-lock": ["-e", "mmap_lock:*"],
    "page-faults": ["-e", "page-faults"],
    "page-faults-g": ["-e", "page-faults", "-g"],
}


@pytest.fixture(scope="module")
def mtfault(tmp_path_factory: pytest.TempPathFactory) -> Path:
    exe = tmp_path_factory.mktemp("bin") / "mtfault"
    subprocess.run(["gcc", "-O1", "-pthread", "-o", str(exe), str(WORKLOAD_C)], check=True)
    return exe


def _script(path: Path, fields: str, header: bool = False) -> str:
    cmd = ["perf", "script", "--ns", "-F", fields, "-i", str(path)]
    if header:
        cmd.insert(2, "--header")
    r = subprocess.run(cmd, capture_output=True, check=True)
    return r.stdout.decode("utf-8", "surrogateescape")


@pytest.mark.capture
@pytest.mark.parametrize("name", sorted(CAPTURES))
def test_fresh_capture_equals_perf_script(name: str, mtfault: Path, tmp_path: Path) -> None:
    data = tmp_path / "t.data"
    cmd = ["perf", "record", "-q", "-o", str(data), *CAPTURES[name], "--", str(mtfault)]
    subprocess.run([*cmd, "2", "1", "16"], check=True, capture_output=True)
    rows, _ = binary_rows(data)  # kallsyms found by build-id, as perf finds them
    software = name.startswith("page-faults")
    cpu = "" if software else "cpu,"
    if not software:
        text = _script(data, f"comm,tid,pid,{cpu}time,event,trace", header=True)
        assert_same_rows(rows, text_rows(text), None if software else _live_kallsyms())
    assert_same_frames(
        rows, _script(data, f"comm,tid,pid,{cpu}time,event,period,ip,sym,symoff,dso")
    )


@pytest.mark.capture
def test_fresh_pipe_mode_equals_perf_script(mtfault: Path, tmp_path: Path) -> None:
    data = tmp_path / "p.data"
    with open(data, "wb") as out:
        subprocess.run(
            ["perf", "record", "-q", "-o", "-", *TP, "--", str(mtfault), "2", "1", "16"],
            stdout=out, stderr=subprocess.DEVNULL, check=True,
        )  # fmt: skip
    rows, _ = binary_rows(data)
    text = _script(data, "comm,tid,pid,cpu,time,event,trace", header=True)
    assert_same_rows(rows, text_rows(text), _live_kallsyms())


def _live_kallsyms() -> bytes:
    return Path("/proc/kallsyms").read_bytes()


def test_distinct_frames_keep_address_pid_and_mode() -> None:
    """Each frame's (address, address space, process) is found again from its distinct
    row, kernel addresses near 2**64 and pid -1 included; no two distinct rows repeat."""
    import numpy as np

    from spftrace.formats.perf_data.callchain import _unique_rows

    rng = np.random.default_rng(7)
    ips = rng.choice(
        np.array([0x401000, 0x7F0000001234, 0xFFFFFFFF81000010, (1 << 64) - 4096], np.uint64),
        5000,
    )
    modes = rng.choice(np.array([0, 1, 2, 5], np.int64), 5000)
    pids = rng.choice(np.array([-1, 0, 17, 2**31 - 1], np.int64), 5000)
    uniq, inv = _unique_rows(ips, modes, pids)
    rows = [(int(ip), int(m), int(p)) for ip, m, p in zip(ips, modes, pids, strict=True)]
    back = [(int(u[0]), int(u[1]), int(np.uint64(u[2]).view(np.int64))) for u in uniq[inv]]
    assert back == rows
    assert len(uniq) == len(set(rows))


def test_queued_windows_are_read_again_from_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """A window whose records wait in perf's queue keeps neither its bytes nor its
    record table (memory flat in the file's size): they are read and walked again
    when delivered, and the rows equal perf script's."""
    from spftrace.formats.perf_data import reader

    path = DATA / "all-cpus.data"
    spilled: list[int] = []
    spill = reader.Reader._spill

    def counting(self: Any) -> None:
        spill(self)
        spilled.append(sum(b.data is None and b.rows is None for b in self.blobs.values()))

    monkeypatch.setattr(reader, "WINDOW", 4096)
    monkeypatch.setattr(reader, "SPILL_BYTES", 0)
    monkeypatch.setattr(reader.Reader, "_spill", counting)
    rows, _ = binary_rows(path, kallsyms=KALLSYMS, batch_rows=100)
    assert max(spilled) > 1  # several windows waiting at once, none held in memory
    text = (DATA / "all-cpus.script.txt").read_text(errors="surrogateescape")
    assert_same_rows(rows, text_rows(text), KALLSYMS)
