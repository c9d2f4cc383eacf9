"""Bytes are data: a comm cut inside a UTF-8 character, payloads with backslashes or
bytes that are not UTF-8 are stored escaped (spftrace/text.py) and come back byte
for byte, on the per-line path and the compiled one, under --errors strict and skip.

The comm is what the kernel stores for a thread named ``ab日本語スレッド``: the
first 15 bytes of its UTF-8 (TASK_COMM_LEN is 16 with the NUL), which end inside
the fourth character (``prctl(PR_SET_NAME)``, kernel/sys.c, copies and truncates).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import spftrace
from spftrace.text import escape_bytes, to_bytes

from .test_traces import via

COMM = "ab日本語スレッド".encode()[:15]
PAYLOAD = b"mm=0xffff888105733840 memcg_path=/a\\b\xff\xfe write=true"
GOOD = b"mm=0xffff888105733840 memcg_id=2741 write=false"


def lines(fmt: str, n: int = 80) -> bytes:
    out = [b"cpus=2"] if fmt == "trace-cmd" else []
    for k in range(n):
        comm, payload = (COMM, PAYLOAD) if k % 3 == 0 else (b"mtfault", GOOD)
        t = f"{1514 + k}.402314".encode()
        if fmt == "perf-script":
            out.append(
                b"%16s 23999 [001]  %s: mmap_lock:mmap_lock_start_locking: %s" % (comm, t, payload)
            )
        elif fmt == "ftrace":
            out.append(
                b"%16s-23999   [001] ..... %s: mmap_lock_start_locking: %s" % (comm, t, payload)
            )
        else:
            out.append(b"%16s-23999 [001] %s: mmap_lock_start_locking: %s" % (comm, t, payload))
    return b"\n".join(out) + b"\n"


@pytest.mark.parametrize("fmt", ["perf-script", "ftrace", "trace-cmd"])
@pytest.mark.parametrize("columnar", [True, False])
def test_comm_and_payload_round_trip(fmt: str, columnar: bool) -> None:
    p = via(fmt, lines(fmt), columnar)
    assert not p.rejects and len(p.rows) == 80
    cut = [r for r in p.rows if to_bytes(r["comm"]) == COMM]
    assert len(cut) == 27
    for r in cut:
        assert r["comm"] == escape_bytes(COMM)
        assert to_bytes(r["payload"]) == PAYLOAD
        assert r["mm"] == 0xFFFF888105733840 and r["write"] is True
        assert [to_bytes(v) for k, v in r["fields"] if k == "memcg_path"] == [b"/a\\b\xff\xfe"]
    plain = [r for r in p.rows if r["comm"] == "mtfault"]
    assert all(r["payload"] == GOOD.decode() for r in plain)


@pytest.mark.parametrize("errors", ["strict", "skip"])
def test_ingest_keeps_the_bytes(tmp_path: Path, data: Path, errors: str) -> None:
    f = tmp_path / "t.txt"
    f.write_bytes(lines("perf-script", 500))
    (s,) = spftrace.ingest([f], data=data, errors=errors)
    assert s.rejected == 0 and s.rows == {"events": 500}
    ev = spftrace.load(data).events
    comms = {to_bytes(c) for c in ev.comm}
    assert comms == {COMM, b"mtfault"}
    assert {to_bytes(p) for p in ev.payload} == {PAYLOAD, GOOD}


RENAME_AND_FAULT = (
    "import ctypes, mmap\n"
    "libc = ctypes.CDLL(None)\n"
    "libc.prctl(15, 'ab日本語スレッド'.encode(), 0, 0, 0)  # PR_SET_NAME\n"
    "m = mmap.mmap(-1, 1 << 20)\n"
    "for i in range(0, 1 << 20, 4096): m[i] = 1\n"
)


@pytest.mark.capture
def test_a_real_cut_comm_survives_perf_data(tmp_path: Path, data: Path) -> None:
    rec = tmp_path / "t.data"
    subprocess.run(
        ["perf", "record", "-q", "-o", str(rec), "-e", "exceptions:page_fault_user", "--",
         sys.executable, "-c", RENAME_AND_FAULT],
        check=True, capture_output=True,
    )  # fmt: skip
    for errors in ("strict", "skip"):
        d = data / errors
        (s,) = spftrace.ingest([rec], data=d, errors=errors)
        assert s.rejected == 0
        comms = {to_bytes(c) for c in spftrace.load(d).events.comm}
        assert COMM in comms, comms
