"""Real-world shapes of issue 17 (tests/data/realworld, one file per quirk).

Each file is a capture made on this machine or a public example copied verbatim
(PROVENANCE.tsv says which, with the command, versions or source).  Expected
values are read off the files by hand, never taken from the parsers.
"""

from __future__ import annotations

import pytest

from spftrace.formats.detect import sniff

from .helpers import DATA, Parsed, parse_path

REAL = DATA / "realworld"


def _rows(parsed: Parsed, *cols: str) -> list[tuple[object, ...]]:
    return [tuple(r[c] for c in cols) for r in parsed.rows]


def test_every_file_has_provenance() -> None:
    prov = (REAL / "PROVENANCE.tsv").read_text()
    listed = {ln.split("\t", 1)[0] for ln in prov.splitlines() if ln and not ln.startswith("#")}
    for path in REAL.glob("*.txt"):
        assert path.name in listed, f"{path.name} has no provenance line"


# --- class 2: perf stat -x ' ' ------------------------------------------------------


def test_space_separated_interval_counts() -> None:
    path = REAL / "perf-stat-x-space-interval.txt"
    assert sniff(path.read_bytes()) == "perf-stat"
    p = parse_path("perf-stat", path)
    assert (p.lines, p.record_lines, p.rejects) == (6, 6, [])
    assert _rows(p, "ts", "event", "value", "status", "run_ns", "enabled_pct") == [
        (1_011_514_249, "page-faults", 75.0, "counted", 1218195, 100.0),
        (1_011_514_249, "minor-faults", 74.0, "counted", 1218195, 100.0),
        (2_023_742_762, "page-faults", None, "not-counted", 0, 100.0),
        (2_023_742_762, "minor-faults", None, "not-counted", 0, 100.0),
        (2_536_645_709, "page-faults", 0.0, "counted", 64897, 100.0),
        (2_536_645_709, "minor-faults", 0.0, "counted", 64897, 100.0),
    ]
    assert {r["unit"] for r in p.rows} == {None}
    assert {r["metric_value"] for r in p.rows} == {None}


def test_space_separated_metrics_with_spaces() -> None:
    p = parse_path("perf-stat", REAL / "perf-stat-x-space-interval-metrics.txt")
    assert (p.lines, p.record_lines, p.rejects) == (12, 12, [])
    first = _rows(p, "event", "value", "unit", "run_ns", "metric_value", "metric_unit")[:4]
    assert first == [
        ("task-clock", 2051.95, "msec", 2051949244, 2.052, "CPUs utilized"),
        ("page-faults", 33320.0, None, 2051946741, 16.238, "K/sec"),
        ("minor-faults", 33320.0, None, 2051946300, 16.238, "K/sec"),
        ("major-faults", 0.0, None, 2051946320, 0.0, "/sec"),
    ]
    faults = [r["value"] for r in p.rows if r["event"] == "page-faults"]
    assert faults == [33320.0, 18763.0, 1591.0]
    assert {r["block"] for r in p.rows} == {0}


def test_space_separated_per_cpu_and_totals() -> None:
    p = parse_path("perf-stat", REAL / "perf-stat-x-space-per-cpu.txt")
    assert _rows(p, "cpu", "event", "value", "run_ns") == [
        (0, "page-faults", 17864.0, 302189165),
        (1, "page-faults", 7183.0, 303185399),
    ]
    p = parse_path("perf-stat", REAL / "perf-stat-x-space-total.txt")
    assert _rows(p, "ts", "event", "value", "unit", "metric_value", "metric_unit") == [
        (None, "page-faults", 49.0, None, 75.708, "K/sec"),
        (None, "task-clock", 0.65, "msec", 0.5, "CPUs utilized"),
    ]


@pytest.mark.parametrize(
    "line",
    [
        "10 items processed 5 3.14",  # workload output shaped like value unit event run pcnt
        "We saw 8610 page faults in 16 runs, 100.00 percent",
        "1 2 3 4 5.00",
    ],
)
def test_space_separated_prose_is_not_a_counter(line: str) -> None:
    from spftrace.formats.perf_stat.csv_lines import csv_fields

    assert csv_fields(line, " ") is None


# --- class 3: LKP will-it-scale result files ----------------------------------------


def test_lkp_will_it_scale_result_with_command_log() -> None:
    path = REAL / "lkp-will-it-scale-mmap2-process.txt"
    assert sniff(path.read_bytes()) == "will-it-scale"
    p = parse_path("will-it-scale", path)
    assert p.rejects == []
    assert (p.lines, p.record_lines, p.ignored) == (4, 2, 2)
    assert p.meta["command"] == "python2 ./runtest.py mmap2 295 process 104"
    assert (p.meta["test"], p.meta["mode"]) == ("mmap2", "process")
    values = {r["event"].removeprefix("will-it-scale."): r["value"] for r in p.rows}
    # lkp-tests spec/stats/will-it-scale/1.yaml: LKP's own parse of this file
    assert values == {
        "104.processes": 1200363.0,
        "104.processes_idle": 0.04,
        "104.threads": 0.0,
        "104.threads_idle": 0.0,
        "104.linear": 0.0,
        "per_process_ops": 11541.0,
        "per_thread_ops": 0.0,
        "workload": 1200363.0,
    }
