"""Trace-level analysis on a real capture and on simulator ground truth."""

from __future__ import annotations

import json
from pathlib import Path

import spftrace
from spftrace import sim
from spftrace.sim import emit

from .helpers import DATA, parse_path

TRACES = DATA / "traces"


def run_report(data: Path, run: str, kallsyms: str | None = None) -> dict:
    out = json.loads(spftrace.report("json", data=data, runs=[run], kallsyms=kallsyms))
    return out["runs"][0]  # type: ignore[no-any-return]


def test_per_vma_lock_without_stacks_is_a_range(data: Path) -> None:
    """A capture without callchains or page_fault_kernel (docs/per-vma-lock.md
    section 4): possible fallbacks are the user faults whose thread's next mmap_lock
    event is a read start_locking; none is certain, since kernel-mode faults were
    not recorded and could take the same shape."""
    path = TRACES / "perf-script-fields.txt"
    spftrace.ingest([path], data=data, run="real")
    rep = run_report(data, "real")
    pv = rep["trace"]["per_vma_lock"]
    rows = sorted(
        parse_path("perf-script", path).rows, key=lambda r: (r["tid"], r["ts"], r["line_no"])
    )
    faults = possible = 0
    for i, r in enumerate(rows):
        if r["event"] != "exceptions:page_fault_user":
            continue
        faults += 1
        nxt = next((x for x in rows[i + 1 :] if x["tid"] == r["tid"]), None)
        if nxt is not None and nxt["event"].endswith("start_locking") and not nxt["write"]:
            possible += 1
    assert pv["faults"] == faults > 0 and not pv["exact"]
    assert (pv["fell_back_min"], pv["fell_back_max"]) == (0, possible)
    assert pv["fell_back"] is None and rep["fallback_total"] is None
    assert "page_fault_kernel" in pv["caveat"]
    assert pv["top_write_holders"] and pv["top_write_holders"][0]["comm"] == "mtfault"
    assert pv["wait_us"]["count"] > 0 and pv["hold_us"]["count"] > 0


def test_simulated_spf_trace_matches_ground_truth(tmp_path: Path) -> None:
    r, w = sim.run("ebizzy", "spf", scale=0.05, keep_trace=True)
    paths = emit.write_all(r, w, tmp_path / "o", ("perf-stat.txt", "perf-script.txt"))
    spftrace.ingest(paths, data=tmp_path / "ds", run="s")
    rep = run_report(tmp_path / "ds", "s")
    trace = next(s for s in rep["reconciliation"] if s["source"] == "trace")
    assert trace["fallbacks"] == {k: v for k, v in r.fallbacks.items() if v}
    assert rep["findings"][0]["reason"] == "spf_vma_changed"
    assert rep["disagreements"] == []  # the trace holds every counted fallback
    by_thread = rep["trace"]["by_thread"]
    assert (
        sum(x["count"] for x in by_thread if x["reason"] == "spf_vma_changed")
        <= r.fallbacks["spf_vma_changed"]
    )
    culprits = rep["trace"]["culprits"]
    assert culprits and all(c["op"] in ("mmap", "munmap") for c in culprits)
    assert sum(c["fallbacks"] for c in culprits) <= r.fallbacks["spf_vma_changed"]
    series = rep["trace"]["timeline"]["series"]
    assert sum(series["spf_vma_changed"]) == r.fallbacks["spf_vma_changed"]


def test_kallsyms_names_call_sites(tmp_path: Path) -> None:
    r, w = sim.run("ebizzy", "spf", scale=0.02, keep_trace=True)
    spftrace.ingest(
        emit.write_all(r, w, tmp_path / "o", ("perf-script.txt",)), data=tmp_path / "ds", run="s"
    )
    ks = tmp_path / "kallsyms"
    ks.write_text(
        "ffffffff8121a000 T handle_speculative_fault\nffffffff8121b000 t pte_map_lock\n"
        "ffffffff81300000 T other\n"
    )
    sites = run_report(tmp_path / "ds", "s", kallsyms=str(ks))["trace"]["by_call_site"]
    named = {s["reason"]: s["symbol"] for s in sites}
    assert named["spf_vma_changed"] == f"pte_map_lock+0x{0xFFFFFFFF8121B3C4 - 0xFFFFFFFF8121B000:x}"


def test_lost_events_are_explained(data: Path) -> None:
    spftrace.ingest([TRACES / "trace-cmd-report-overflow.txt"], data=data, run="t")
    rep = run_report(data, "t")
    assert rep["trace"]["lost_events"] == 565
    assert any("lost 565 events" in d for d in rep["disagreements"])


HOSTILE = "<img src=x onerror=alert(1)>"


def hostile_trace(tmp: Path) -> Path:
    lines = (TRACES / "perf-script-fields.txt").read_text().splitlines()
    out = tmp / "hostile.txt"
    out.write_text(
        "\n".join(ln.replace("         mtfault", f"{HOSTILE:>16}", 1) for ln in lines) + "\n"
    )
    return out


def test_html_escapes_trace_strings(tmp_path: Path) -> None:
    spftrace.ingest([hostile_trace(tmp_path)], data=tmp_path / "ds", run="x")
    html = spftrace.report("html", data=tmp_path / "ds")
    assert HOSTILE not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    text = spftrace.report("text", data=tmp_path / "ds")
    assert HOSTILE in text  # the terminal shows it as typed
