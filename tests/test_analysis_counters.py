"""The counter model: how perf stat and vmstat values become faults, speculative,
fallbacks and not-attempted, checked against numbers computed independently here."""

from __future__ import annotations

import json
from pathlib import Path

import spftrace

from .helpers import DATA

PS = DATA / "perf_stat"
VM = DATA / "vmstat"


def run_json(data: Path, *inputs: Path, **kw: object) -> dict:
    spftrace.ingest(list(inputs), data=data, **kw)  # type: ignore[arg-type]
    return json.loads(spftrace.report("json", data=data))["runs"][0]  # type: ignore[no-any-return]


def vmstat_values(path: Path, key: str) -> list[int]:
    return [int(ln.split()[1]) for ln in path.read_text().splitlines() if ln.startswith(key + " ")]


def test_vmstat_series_uses_last_minus_first(data: Path) -> None:
    path = VM / "lkp-series.txt"
    r = run_json(data, path)
    pg = vmstat_values(path, "pgfault")
    assert len(pg) == 3
    assert r["faults"] == pg[-1] - pg[0]  # a delta, not LKP's average of a cumulative counter
    assert r["sources"] == ["vmstat"]
    (src,) = r["reconciliation"]
    assert src["snapshots"] == 3 and src["since_boot"] is False


def test_single_snapshot_is_flagged_since_boot(data: Path) -> None:
    r = run_json(data, VM / "snapshot.txt")
    assert r["faults"] == vmstat_values(VM / "snapshot.txt", "pgfault")[0]
    assert any("since boot" in d for d in r["disagreements"])


def test_separate_snapshot_files_form_a_series(data: Path) -> None:
    files = sorted(VM.glob("snap-*.txt"))
    r = run_json(data, *files)
    first, last = (vmstat_values(f, "pgfault")[0] for f in (files[0], files[-1]))
    assert r["faults"] == last - first


def test_interval_summary_is_not_double_counted(data: Path) -> None:
    r = run_json(data, PS / "interval-human-summary.txt")
    assert r["faults"] == 102464  # the --summary total, not intervals + total


def test_intervals_are_summed_without_summary(data: Path) -> None:
    path = PS / "interval-human.txt"
    expected = sum(
        int(ln.split()[1]) for ln in path.read_text().splitlines() if ln.split()[2:3] == ["faults"]
    )
    r = run_json(data, path)
    assert r["faults"] == expected


def test_per_cpu_rows_are_summed(data: Path) -> None:
    path = PS / "per-cpu-csv.txt"
    expected = sum(
        int(ln.split(",")[1]) for ln in path.read_text().splitlines() if ",faults," in ln
    )
    r = run_json(data, path)
    assert r["faults"] == expected


def test_perf_and_vmstat_reconciled(data: Path) -> None:
    sample = Path(spftrace.__file__).with_name("samples") / "capture"
    r = run_json(
        data,
        sample / "mtfault-perf-stat.txt",
        sample / "vmstat-0.txt",
        sample / "vmstat-1.txt",
        run="exp",
    )
    sources = {s["source"]: s for s in r["reconciliation"]}
    assert set(sources) == {"perf-stat", "vmstat"}
    assert r["faults"] == sources["perf-stat"]["faults"] == 102472
    vm = [vmstat_values(sample / f"vmstat-{i}.txt", "pgfault")[0] for i in (0, 1)]
    assert sources["vmstat"]["faults"] == vm[1] - vm[0]
    # this kernel has neither spf counters nor vma_lock stats: say so, do not invent
    assert r["speculative"] is None and r["kernel_model"] == "unknown"
    assert "no evidence about the speculative path" in r["verdict"]


def test_not_supported_spf_event_is_explained(tmp_path: Path, data: Path) -> None:
    f = tmp_path / "nospf.txt"
    f.write_text(
        " Performance counter stats for './app':\n\n"
        "              8252      faults\n"
        "   <not supported>      spf\n"
    )
    r = run_json(data, f)
    assert r["faults"] == 8252 and r["speculative"] is None
    assert any("does not have the speculative page fault series" in d for d in r["disagreements"])


def test_per_vma_lock_vmstat(tmp_path: Path, data: Path) -> None:
    base = (VM / "snapshot.txt").read_text()
    snaps = []
    for i, (pgf, ok, ab, rt, miss) in enumerate(
        [(1000, 0, 0, 0, 0), (51000, 45000, 3000, 1000, 7)]
    ):
        text = base.replace("pgfault ", "pgfault_was ")
        text += f"pgfault {pgf}\nvma_lock_success {ok}\nvma_lock_abort {ab}\n"
        text += f"vma_lock_retry {rt}\nvma_lock_miss {miss}\n"
        snaps.append(f"time: {1700000000 + i}\n{text}")
    f = tmp_path / "vma.txt"
    f.write_text("".join(snaps))
    r = run_json(data, f)
    assert r["kernel_model"] == "per-vma-lock"
    assert r["faults"] == 50000 and r["speculative"] == 45000
    assert r["fallbacks"] == {"vma_lock_abort": 3000, "vma_lock_retry": 1000}
    assert r["not_attempted"] == 1000
    assert r["findings"][0]["reason"] == "vma_lock_abort"
