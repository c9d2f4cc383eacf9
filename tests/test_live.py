"""perf.data input and `spftrace capture`, with the real perf on this machine.

CI runs on the same kind of machine as root, with perf installed by .ci/run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import spftrace
from spftrace import api

from .helpers import parse_text

WORKLOAD = (
    "import threading, mmap\n"
    "def f():\n"
    "    for _ in range(20):\n"
    "        m = mmap.mmap(-1, 1 << 20)\n"
    "        for i in range(0, 1 << 20, 4096): m[i] = 1\n"
    "        m.close()\n"
    "ts = [threading.Thread(target=f) for _ in range(3)]\n"
    "[t.start() for t in ts]; [t.join() for t in ts]\n"
)


@pytest.fixture(scope="module")
def perf_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("perf") / "t.data"
    subprocess.run(
        ["perf", "record", "-q", "-o", str(out), "-e", "exceptions:page_fault_user",
         "-e", "mmap_lock:*", "--", sys.executable, "-c", WORKLOAD],
        check=True, capture_output=True,
    )  # fmt: skip
    return out


@pytest.mark.capture
def test_perf_data_equals_its_perf_script_text(perf_data: Path, data: Path) -> None:
    (s,) = spftrace.ingest([perf_data], data=data)
    assert s.format == "perf-data" and s.rejected == 0 and s.kernel
    text = subprocess.run(
        ["perf", "script", "--ns", "-F", "comm,tid,pid,cpu,time,event,trace", "-i", str(perf_data)],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    want = parse_text("perf-script", text).rows
    got = spftrace.load(data).events.sort_values("line_no")
    assert len(got) == len(want) > 100
    assert got.ts.tolist() == [r["ts"] for r in want]
    assert got.payload.tolist() == [r["payload"] for r in want]
    runs = spftrace.load(data).runs
    assert runs.source_format.tolist() == ["perf-data"]
    import hashlib

    assert runs.sha256.tolist() == [hashlib.sha256(perf_data.read_bytes()).hexdigest()]


@pytest.mark.capture
def test_capture_records_and_ingests_one_run(data: Path, tmp_path: Path) -> None:
    result = api.capture([sys.executable, "-c", WORKLOAD], data=data, label="live", keep=tmp_path)
    summaries = result.summaries
    assert {s.format for s in summaries} == {"perf-stat", "perf-script", "vmstat"}
    assert len({s.run for s in summaries}) == 1
    rep = spftrace.report("json", data=data)
    import json

    run = json.loads(rep)["runs"][0]
    assert run["label"] == "live"
    assert {r["source"] for r in run["reconciliation"]} == {"perf-stat", "vmstat", "trace"}
    pv = run["trace"]["per_vma_lock"]
    assert pv["exact"] and pv["faults"] > 500
    assert pv["faults"] == pv["under_vma_lock"] + pv["fell_back"]
    assert (tmp_path / "perf-stat.txt").exists() and (tmp_path / "trace.data").exists()


def test_capture_without_a_command_is_a_clear_error(data: Path) -> None:
    with pytest.raises(spftrace.SpftraceError, match="needs a command"):
        api.capture([], data=data)
