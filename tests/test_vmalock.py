"""Per-VMA-lock classification held to the stacks of real recordings.

The truth is tests/vmalock_truth.py, which reads the same perf script text with its own
code.  Fixtures: tests/data/vmalock (sample_traces/capture/vmalock.sh, PROVENANCE.tsv);
fresh recordings of the same workloads when perf can record here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

import spftrace
from spftrace import api
from spftrace.analysis import vmalock

from . import vmalock_truth
from .helpers import DATA

VMALOCK = DATA / "vmalock"
WORKLOADS = Path(__file__).parents[1] / "sample_traces" / "workloads"
SHAPES = ("vmachurn", "faultread", "writerblock", "lossy")


def classified(path: Path, tmp: Path) -> dict:
    data = tmp / path.stem
    spftrace.ingest([path], data=data, run="r", errors="skip")
    con = api.open_dataset(data).connect()
    try:
        return vmalock.classify(con, "r")
    finally:
        con.close()


@pytest.mark.parametrize("name", SHAPES)
def test_stack_classification_equals_the_stacks(name: str, tmp_path: Path) -> None:
    path = VMALOCK / f"{name}.txt"
    truth = vmalock_truth.classify(path)
    pv = classified(path, tmp_path)
    assert pv["exact"]
    assert (pv["faults"], pv["kernel_faults"]) == (truth.user_faults, truth.kernel_faults)
    assert pv["classes"] == {k: v for k, v in truth.classes.items() if v}
    assert pv["fell_back"] == truth.fell_back
    assert pv["fell_back_min"] == pv["fell_back_max"] == truth.fell_back
    assert pv["under_vma_lock"] == truth.user_faults - truth.fell_back
    waits = pv["wait_us"]
    assert (waits["count"], waits.get("write_count", 0)) == (truth.waits, truth.write_waits)


def test_the_fixtures_have_the_shapes_they_are_for() -> None:
    """(a) falls back under churn, (b) has kernel faults and hardly falls back,
    (c) has a writer that makes faults retry, (d) lost events."""
    a, b, c = (vmalock_truth.classify(VMALOCK / f"{n}.txt") for n in SHAPES[:3])
    assert a.classes["vma_lock_retry"] + a.classes["vma_lock_abort"] >= 10
    assert b.kernel_faults >= 30 and b.fell_back <= 2
    assert c.classes["vma_lock_retry"] >= 20
    _, lost = vmalock_truth.read(VMALOCK / "lossy-show-lost.txt")
    assert lost > 0


@pytest.mark.parametrize("name", SHAPES)
def test_without_stacks_the_truth_lies_in_the_range(name: str, tmp_path: Path) -> None:
    truth = vmalock_truth.classify(VMALOCK / f"{name}.txt").fell_back
    bare = VMALOCK / f"{name}-nostack.txt"
    pv = classified(bare, tmp_path)
    want = vmalock_truth.classify(bare)
    assert not pv["exact"] and pv["fell_back"] is None and pv["classes"] == {}
    assert (pv["fell_back_min"], pv["fell_back_max"]) == (want.fell_back_min, want.fell_back_max)
    assert pv["fell_back_min"] <= truth <= pv["fell_back_max"]
    assert pv["how_to_exact"] and "call-graph" in pv["how_to_exact"]


@pytest.mark.parametrize("name", SHAPES)
def test_write_holds_pair_with_downgrades(name: str, tmp_path: Path) -> None:
    """munmap's write hold ends at its downgrade (vms_complete_munmap_vmas): every
    write hold of the truth's pairing is counted, with its duration."""
    path = VMALOCK / f"{name}.txt"
    truth = vmalock_truth.classify(path)
    pv = classified(path, tmp_path)
    got = {h["tid"]: (h["holds"], h["held_us"]) for h in pv["top_write_holders"]}
    top = sorted(truth.write_holds, key=lambda t: (-truth.write_held_ns[t], t))[:10]
    want = {t: (truth.write_holds[t], round(truth.write_held_ns[t] / 1e3, 3)) for t in top}
    assert got == want
    assert pv["hold_us"]["write_count"] == sum(truth.write_holds.values())


def test_culprits_name_the_writer_that_blocked(tmp_path: Path) -> None:
    """writerblock: one thread mprotects 128 MB over and over; the faults that retried
    overlapped its write holds (it is the only writer after start-up)."""
    pv = classified(VMALOCK / "writerblock.txt", tmp_path)
    top = pv["culprits"][0]
    assert top["op"] == "mprotect" and top["fallbacks"] >= pv["classes"]["vma_lock_retry"] - 2
    holder = max(pv["top_write_holders"], key=lambda h: h["held_us"])
    assert holder["tid"] == top["tid"] and holder["ops"].get("mprotect", 0) >= 20


def test_report_json_carries_the_classification(tmp_path: Path) -> None:
    spftrace.ingest([VMALOCK / "writerblock.txt"], data=tmp_path / "ds", run="w")
    spftrace.ingest([VMALOCK / "writerblock-nostack.txt"], data=tmp_path / "ds", run="n")
    runs = {r["run"]: r for r in json.loads(spftrace.report("json", data=tmp_path / "ds"))["runs"]}
    truth = vmalock_truth.classify(VMALOCK / "writerblock.txt")
    w, n = runs["w"], runs["n"]
    assert w["kernel_model"] == n["kernel_model"] == "per-vma-lock"
    assert (
        w["fallback_total"] == truth.fell_back
        and w["speculative"] == truth.classes["vma_lock_success"]
    )
    assert w["fallbacks"]["vma_lock_retry"] == truth.classes["vma_lock_retry"]
    # without stacks: no single number, a range that holds the truth
    assert n["fallback_total"] is None and n["speculative"] is None and n["fallbacks"] == {}
    assert n["fell_back_min"] <= truth.fell_back <= n["fell_back_max"]
    assert "Between" in n["verdict"] and "call-graph" in n["verdict"]
    assert "kernel_fault" in [f["reason"] for f in w["findings"]]


# -- fresh recordings --------------------------------------------------------------------

RECORD = [
    "perf", "record", "-q", "--kernel-callchains",
    "-e", "exceptions:page_fault_user", "-e", "exceptions:page_fault_kernel",
    "-e", "mmap_lock:mmap_lock_start_locking/call-graph=fp/",
    "-e", "mmap_lock:mmap_lock_acquire_returned/call-graph=fp/",
    "-e", "mmap_lock:mmap_lock_released/call-graph=fp/",
]  # fmt: skip
ARGS = {
    "vmachurn": ["4", "4", "16", "60"],
    "faultread": ["2", "16"],
    "writerblock": ["2", "12", "64", "20"],
}


def perf_records() -> str | None:
    """Why perf cannot record the tracepoints here, or None when it can."""
    if not shutil.which("perf") or not shutil.which("gcc"):
        return "needs perf and gcc"
    probe = subprocess.run(
        ["perf", "record", "-q", "-o", "/dev/null", "-e", "exceptions:page_fault_user", "true"],
        capture_output=True, check=False,
    )  # fmt: skip
    return None if probe.returncode == 0 else "perf cannot record tracepoints here"


@pytest.mark.capture
@pytest.mark.parametrize("name", list(ARGS))
def test_fresh_recordings_equal_their_stacks(name: str, tmp_path: Path) -> None:
    why = perf_records()
    if why:  # make test installs perf (make sysdeps): a machine that cannot record fails
        pytest.fail(f"{why}: live captures need perf and root (or perf_event_paranoid <= -1)")
    exe = tmp_path / name
    subprocess.run(["gcc", "-O1", "-pthread", "-o", str(exe), str(WORKLOADS / f"{name}.c")],
                   check=True)  # fmt: skip
    rec = tmp_path / "r.data"
    subprocess.run([*RECORD, "-o", str(rec), "--", str(exe), *ARGS[name]], check=True,
                   capture_output=True)  # fmt: skip
    text = tmp_path / "r.txt"
    with text.open("w") as f:
        subprocess.run(["perf", "script", "-i", str(rec)], stdout=f, check=True,
                       stderr=subprocess.DEVNULL)  # fmt: skip
    truth = vmalock_truth.classify(text)
    pv = classified(text, tmp_path)
    assert truth.user_faults > 50
    assert pv["classes"] == {k: v for k, v in truth.classes.items() if v}
    assert (pv["faults"], pv["kernel_faults"]) == (truth.user_faults, truth.kernel_faults)


# -- lost events in every report format ------------------------------------------------

LOSSY = [
    # perf script 2>&1: perf's warnings ('lost N chunks', 'lost P%'), one line cut in two
    ("lossy-2to1.txt", "samples_lost_approx"),
    # perf script --show-lost-events: PERF_RECORD_LOST lines
    ("lossy-show-lost.txt", "events_lost"),
]


@pytest.mark.parametrize(("name", "stat"), LOSSY)
def test_lost_events_in_every_report(name: str, stat: str, tmp_path: Path) -> None:
    import re

    data = tmp_path / "ds"
    spftrace.ingest([VMALOCK / name], data=data, run="l", errors="skip")
    text = (VMALOCK / name).read_text()
    if stat == "events_lost":
        want = sum(int(n) for n in re.findall(r"PERF_RECORD_LOST lost (\d+)", text))
    else:  # perf's 'Processed N samples and lost P%': the count is N * P / 100
        n, p = re.search(r"Processed (\d+) samples and lost ([\d.]+)%", text).groups()  # type: ignore[union-attr]
        want = round(int(n) * float(p) / 100)
    run = json.loads(spftrace.report("json", data=data))["runs"][0]
    assert run["trace"]["lost_events"] == want > 0
    assert run["trace"]["lost"]["source"] == stat
    assert f"{want:,} events" in spftrace.report("text", data=data)
    assert f"{want:,} events" in spftrace.report("html", data=data)
    assert any(f"{want:,} events" in d for d in run["disagreements"])


@pytest.mark.skipif(not shutil.which("perf"), reason="needs perf to render perf.data")
def test_lost_events_of_perf_data_in_every_report(tmp_path: Path) -> None:
    import re

    data = tmp_path / "ds"
    spftrace.ingest([VMALOCK / "lossy.data"], data=data, run="l")
    # perf's own count of the samples lost (perf report --stats: per event, the
    # LOST_SAMPLES total; the lines with a share are record counts)
    stats = (VMALOCK / "lossy-report.stats").read_text()
    want = sum(int(n) for n in re.findall(r"(?m)^\s+LOST_SAMPLES events:\s+(\d+)$", stats))
    run = json.loads(spftrace.report("json", data=data))["runs"][0]
    assert run["trace"]["lost_events"] == want > 0
    for kind in ("text", "html"):
        assert f"{want:,} events" in spftrace.report(kind, data=data)


# -- the stream ----------------------------------------------------------------------------


def _section_of(data: Path) -> dict:
    con = api.open_dataset(data).connect()
    try:
        return vmalock.classify(con, "r")
    finally:
        con.close()


@pytest.mark.parametrize("rows", [7, 97, 1000])
@pytest.mark.parametrize("name", ["vmachurn", "writerblock", "lossy-show-lost"])
def test_the_stream_is_the_same_in_any_batch_size(
    rows: int, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each thread's open tail is carried across batches: tiny batches cut fault
    windows, waits and holds everywhere, and the result does not change."""
    path = VMALOCK / f"{name}.txt"
    whole = classified(path, tmp_path)
    monkeypatch.setattr(vmalock, "BATCH_ROWS", rows)
    cut = _section_of(tmp_path / path.stem)
    assert cut == whole


@pytest.mark.parametrize("rows", [7, 97, 1 << 20])
def test_rows_out_of_file_order_are_sorted(
    rows: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DuckDB does not always hand over rows in file order (the views' semi-join on
    runs, several threads): writerblock's dataset has row groups of 141 and 684 rows,
    and about 1 read in 7 came as rows 0-96, 141-824, 97-140 (in batches of 97: the
    old pass then lost a wait, 267).  Given that order every time, the pass must not
    take it as it comes but re-read the rows in (tid, ts, seq) order: the same
    section as in file order, and the stacks' counts."""
    import pyarrow as pa

    path = VMALOCK / "writerblock.txt"
    whole = classified(path, tmp_path)
    from spftrace.analysis import vmalock_pass

    real = vmalock_pass.process
    swapped: list[int] = []

    def swap_row_groups(reader: object, acc: object, **kw: object) -> None:
        if not swapped:  # the streamed read; not the sorted re-read after it
            t = pa.Table.from_batches(list(reader))  # type: ignore[call-overload]
            t = pa.concat_tables([t.slice(0, 97), t.slice(141), t.slice(97, 44)])
            swapped.append(t.num_rows)
            reader = iter(t.to_batches(max_chunksize=rows))
        real(reader, acc, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(vmalock, "process", swap_row_groups)
    monkeypatch.setattr(vmalock, "BATCH_ROWS", rows)
    got = _section_of(tmp_path / path.stem)
    assert swapped == [825]
    assert got == whole
    truth = vmalock_truth.classify(path)
    assert got["classes"] == {k: v for k, v in truth.classes.items() if v}
    assert got["wait_us"]["count"] == truth.waits == 268


def test_equal_timestamps_out_of_file_order_are_refused() -> None:
    """A start_locking and its acquire_returned at the same microsecond, handed over
    acquisition first in one batch: the stream cannot tell their order by time, so it
    refuses them (the caller re-reads by (tid, ts, seq)) instead of losing the wait."""
    import pyarrow as pa

    from spftrace.analysis import vmalock_pass

    rows = {"tid": [5, 5, 5], "ts": [1000, 2000, 2000], "seq": [1, 3, 2], "k": [0, 3, 2],
            "w": [False, True, True], "ok": [True, True, True], "mm": [7, 7, 7],
            "st": [True] * 3, "lmfv": [False] * 3, "anon": [False] * 3,
            "site": [None, "vm_mmap_pgoff", None]}  # fmt: skip
    batch = pa.RecordBatch.from_pydict(rows)
    with pytest.raises(vmalock_pass.Unordered):
        vmalock_pass.process(iter([batch]), vmalock_pass.Acc())
    order = [0, 2, 1]  # the same rows in file order: one wait, of a write
    acc = vmalock_pass.Acc()
    vmalock_pass.process(iter([batch.take(pa.array(order))]), acc)
    assert acc.waits.summary()["count"] == acc.waits.summary()["write_count"] == 1


def test_inputs_out_of_time_order_are_sorted(tmp_path: Path) -> None:
    """A run whose second input holds earlier events than its first: each thread's
    events come out of time order, and the pass re-reads them sorted."""
    lines = (VMALOCK / "writerblock.txt").read_text().splitlines(keepends=True)
    cut = next(i for i in range(len(lines) // 2, len(lines)) if not lines[i].strip())
    late, early = tmp_path / "late.txt", tmp_path / "early.txt"
    late.write_text("".join(lines[cut + 1 :]))
    early.write_text("".join(lines[: cut + 1]))
    spftrace.ingest([late, early], data=tmp_path / "ds", run="r")
    got = _section_of(tmp_path / "ds")
    truth = vmalock_truth.classify(VMALOCK / "writerblock.txt")
    assert got["classes"] == {k: v for k, v in truth.classes.items() if v}
    assert got["faults"] == truth.user_faults


# -- the simulator's per-VMA-lock kernel ---------------------------------------------------


def test_simulated_per_vma_lock_trace_has_the_injected_counts(tmp_path: Path) -> None:
    """The simulator renders its per-VMA-lock faults in the 6.18 shapes, stacks
    included: the report's classes are the injected counts (kernel-mode faults are
    carved out of the successes, as the kernel never counts them in vma_lock_*)."""
    from spftrace import sim
    from spftrace.sim import emit

    r, w = sim.run("ebizzy", "per-vma-lock", scale=0.002, keep_trace=True, retry_frac=0.01)
    assert r.vma_lock["abort"] > 0 and r.vma_lock["retry"] > 0
    paths = emit.write_all(r, w, tmp_path / "o", ("perf-stat.txt", "perf-script.txt", "ftrace.txt"))
    truth = vmalock_truth.classify(tmp_path / "o" / "perf-script.txt")
    assert truth.classes["vma_lock_abort"] == r.vma_lock["abort"]
    assert truth.classes["vma_lock_retry"] == r.vma_lock["retry"]
    assert truth.classes["vma_lock_success"] + truth.kernel_faults == r.vma_lock["success"]
    spftrace.ingest(paths[:2], data=tmp_path / "ds", run="s")
    run = json.loads(spftrace.report("json", data=tmp_path / "ds"))["runs"][0]
    found = {f["reason"]: f["count"] for f in run["findings"]}
    assert found == {
        "vma_lock_abort": r.vma_lock["abort"],
        "vma_lock_retry": r.vma_lock["retry"],
        "kernel_fault": truth.kernel_faults,
    }
    assert run["faults"] == r.faults and run["not_attempted"] == truth.kernel_faults
    assert run["trace"]["per_vma_lock"]["culprits"]  # the writers of the model
    # ftrace has no callchains: a range, and the injected count lies in it
    spftrace.ingest([paths[2]], data=tmp_path / "ds", run="f")
    pv = json.loads(spftrace.report("json", data=tmp_path / "ds", runs=["f"]))["runs"][0]
    fell = r.vma_lock["abort"] + r.vma_lock["retry"]
    assert pv["fell_back_min"] <= fell <= pv["fell_back_max"]


def test_kallsyms_names_frames_perf_left_as_addresses(tmp_path: Path) -> None:
    """perf script -F ip prints frames as bare addresses: without symbols nothing can
    be classified exactly, with a /proc/kallsyms copy (--kallsyms) everything can."""
    import re

    from spftrace.formats import callchain

    src = VMALOCK / "writerblock.txt"
    bare, syms = [], {}
    for line in src.read_text().splitlines():
        f = callchain.frame(line) if callchain.is_frame(line) else None
        if f is not None and f[1] is not None and f[2] is not None:
            syms[f[1]] = f[0] - f[2]  # the symbol's start: ip minus offset
            line = re.sub(r"^(\t\s*[0-9a-f]+) .*$", r"\1", line)
        bare.append(line)
    (tmp_path / "bare.txt").write_text("\n".join(bare) + "\n")
    ks = tmp_path / "kallsyms"
    ks.write_text("".join(f"{a:016x} T {n}\n" for n, a in sorted(syms.items(), key=lambda x: x[1])))
    spftrace.ingest([tmp_path / "bare.txt"], data=tmp_path / "ds", run="b")
    without = json.loads(spftrace.report("json", data=tmp_path / "ds"))["runs"][0]
    pv = without["trace"]["per_vma_lock"]
    assert not pv["exact"] and "--kallsyms" in pv["caveat"]
    named = json.loads(spftrace.report("json", data=tmp_path / "ds", kallsyms=str(ks)))["runs"][0]
    truth = vmalock_truth.classify(src)
    assert named["trace"]["per_vma_lock"]["classes"] == {
        k: v for k, v in truth.classes.items() if v
    }


def test_every_fixture_has_provenance_and_is_small() -> None:
    prov = (VMALOCK / "PROVENANCE.tsv").read_text()
    assert "perf version" in prov and "kernel" in prov
    for path in VMALOCK.iterdir():
        if path.name != "PROVENANCE.tsv":
            assert f"\n{path.name}\t" in prov, f"{path.name} has no provenance line"
            assert path.stat().st_size < 2_000_000


@pytest.mark.parametrize(("name", "kept"), [("writerblock", True), ("writerblock-nostack", False)])
def test_culprit_intervals_are_kept_only_while_the_run_may_be_exact(
    name: str, kept: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The culprit search needs every write hold and wait and every fallback, and runs
    only on an exact run: once a lock row without a callchain is seen they are dropped
    (a 50M-event run without stacks kept hundreds of MB of them), the holders stay."""
    from spftrace.analysis import vmalock_pass

    seen: list[tuple[bool, bool, bool]] = []
    real = vmalock_pass.process

    def keep(reader: object, acc: vmalock_pass.Acc, **kw: object) -> None:
        real(reader, acc, **kw)  # type: ignore[arg-type]
        seen.append((bool(acc.wh), bool(acc.ww), bool(acc.fb)))  # before culprit_rows

    monkeypatch.setattr(vmalock, "process", keep)
    monkeypatch.setattr(vmalock, "BATCH_ROWS", 97)
    pv = classified(VMALOCK / f"{name}.txt", tmp_path)
    assert pv["exact"] is kept and bool(pv["top_write_holders"])
    assert seen[-1] == (kept, kept, kept)
    assert bool(pv["culprits"]) is kept
