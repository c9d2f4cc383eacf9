"""The SPF v11 cover letter's perf stat blocks are a test oracle: the report must
reproduce their numbers and reach the conclusions the authors drew."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import spftrace

from .helpers import DATA

SEED = DATA / "seed"


def report_of(data: Path, name: str) -> dict:
    spftrace.ingest([SEED / name], data=data, label="spf")
    out = json.loads(spftrace.report("json", data=data))
    assert out["schema"] == "spftrace.report/1"
    (run,) = out["runs"]
    return run


def test_ebizzy_x86_numbers(data: Path) -> None:
    r = report_of(data, "ebizzy-x86-16cpu.txt")
    assert r["faults"] == 1706379
    assert r["speculative"] == 1674599
    assert r["speculative_pct"] == 98.14
    assert r["fallbacks"]["spf_vma_changed"] == 30588
    assert r["fallbacks"]["spf_vma_notsup"] == 363
    assert r["fallbacks"]["spf_vma_noanon"] == 0
    assert r["fallback_total"] == 30951
    assert r["not_attempted"] == 829
    assert r["kernel_model"] == "spf"
    assert r["sources"] == ["perf-stat"]
    assert r["findings"][0]["reason"] == "spf_vma_changed"
    assert r["findings"][0]["share_pct"] == 1.79
    assert "handled speculatively" in r["verdict"]
    assert "spf_vma_changed" in r["verdict"]


def test_ebizzy_power8_vma_changed_grows_with_cpus(data: Path) -> None:
    r16 = report_of(data / "a", "ebizzy-x86-16cpu.txt")
    r80 = report_of(data / "b", "ebizzy-power8-80cpu.txt")
    assert r80["faults"] == 1874773
    assert r80["speculative"] == 1461153
    assert r80["fallbacks"]["spf_vma_changed"] == 413293
    assert r80["not_attempted"] == 1874773 - 1461153 - 413293 - 200
    assert r80["speculative_pct"] > 50  # still mostly speculative
    top16, top80 = r16["findings"][0], r80["findings"][0]
    assert top16["reason"] == top80["reason"] == "spf_vma_changed"
    assert top80["share_pct"] > 10 * top16["share_pct"]


@pytest.mark.parametrize(
    ("name", "faults", "not_attempted"),
    [
        ("kernbench-x86-16cpu.txt", 526743764, 526741273),
        ("kernbench-power8-80cpu.txt", 116730856, 116730856 - 0 - 3 - 476),
    ],
)
def test_kernbench_is_single_threaded(
    data: Path, name: str, faults: int, not_attempted: int
) -> None:
    r = report_of(data, name)
    assert r["faults"] == faults
    assert r["not_attempted"] == not_attempted
    assert r["findings"][0]["reason"] == "not_attempted"
    assert "single-threaded" in r["verdict"]
    assert "never tried the speculative path" in r["verdict"]


def test_text_report_answers_in_first_lines(data: Path) -> None:
    spftrace.ingest([SEED / "kernbench-x86-16cpu.txt"], data=data)
    text = spftrace.report("text", data=data)
    first = "\n".join(text.splitlines()[:5])
    assert "526,743,764" in first
    assert "single-threaded" in first
    assert "\x1b[" not in text  # no colour when not on a terminal


def test_vma_changed_grows_with_cpu_count_across_runs(data: Path) -> None:
    for name in ("ebizzy-x86-16cpu.txt", "ebizzy-power8-80cpu.txt"):
        spftrace.ingest([SEED / name], data=data)
    out = json.loads(spftrace.report("json", data=data))
    (note,) = [n for n in out["across_runs"] if n.startswith("spf_vma_changed")]
    assert "grows from 1.79% of faults (ebizzy-x86-16cpu) to 22.04% (ebizzy-power8-80cpu)" in note
    assert "across runs: spf_vma_changed grows" in spftrace.report("text", data=data)
