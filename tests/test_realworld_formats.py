"""Real-world shapes of issue 17 (tests/data/realworld, one file per quirk).

Each file is a capture made on this machine or a public example copied verbatim
(PROVENANCE.tsv says which, with the command, versions or source).  Expected
values are read off the files by hand, never taken from the parsers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from spftrace.formats.detect import sniff

from .helpers import DATA, Parsed, parse_path, parse_text

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


# --- class 4 and 6: ftrace text -------------------------------------------------------


def _via(data: bytes, columnar: bool) -> Parsed:
    """ftrace text through the compiled scanner's path or the per-line path."""
    from spftrace.formats.lines import Chunk

    from .helpers import make_parser

    parser = make_parser("ftrace")
    parser._VECTOR_MIN_LINES = 1 if columnar else 10**12  # type: ignore[attr-defined]
    n = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    return Parsed([parser.feed(Chunk(1, data, n, data.endswith(b"\n"))), parser.close()], parser)


def _both(name: str) -> Parsed:
    data = (REAL / name).read_bytes()
    assert sniff(data) == "ftrace"
    fast, slow = _via(data, True), _via(data, False)
    assert fast.rows == slow.rows
    assert (fast.lines, fast.record_lines, fast.ignored) == (
        slow.lines,
        slow.record_lines,
        slow.ignored,
    )
    assert fast.rejects == slow.rejects and fast.stats == slow.stats
    return slow


def test_function_tracer_lines_after_prose_kernel_doc() -> None:
    p = _both("ftrace-function-kernel-doc.txt")
    assert (p.lines, p.record_lines, p.ignored) == (24, 10, 13)
    assert p.stats == {"foreign_lines": 1}  # "Here is an example of the output format ..."
    assert [(r.line_no, r.line.strip()) for r in p.rejects] == [(24, "....")]
    assert {r["event"] for r in p.rows} == {"ftrace:function"}
    first = p.rows[0]
    assert (first["comm"], first["tid"], first["cpu"], first["ts"]) == (
        "bash",
        1977,
        0,
        17284_993652_000,
    )
    assert first["fields"] == [("function", "sys_close"), ("caller", "system_call_fastpath")]
    assert first["payload"] == "sys_close <-system_call_fastpath"
    assert [r["cpu"] for r in p.rows].count(3) == 2  # the two sshd-1974 lines
    assert p.rows[-1]["fields"] == [("function", "sys_select"), ("caller", "system_call_fastpath")]


def test_function_tracer_mixed_with_events_in_a_mail() -> None:
    p = _both("ftrace-function-mixed-mail.txt")
    assert p.rejects == []
    assert (p.lines, p.record_lines, p.ignored) == (24, 12, 12)
    assert p.stats == {"foreign_lines": 4}  # three lines of prose and "[..]"
    events = [r["event"] for r in p.rows]
    assert (
        events
        == [
            "ftrace:function",
            "mmap_lock:mmap_lock_start_locking",
            "ftrace:function",
            "mmap_lock:mmap_lock_acquire_returned",
            "ftrace:function",
            "mmap_lock:mmap_lock_released",
        ]
        * 2
    )
    callers = {dict(r["fields"])["caller"] for r in p.rows if r["event"] == "ftrace:function"}
    assert callers == {"do_user_addr_fault"}
    assert dict(p.rows[0]["fields"])["function"] == "__mmap_lock_do_trace_start_locking"
    acquired = p.rows[3]
    assert (acquired["mm"], acquired["write"], acquired["success"]) == (0x6515CB1F, False, True)
    assert acquired["ts"] == 194_576807_000


def test_multiline_print_continuations() -> None:
    p = _both("ftrace-print-multiline.txt")
    assert p.rejects == []
    # the header: "entries-in-buffer/entries-written: 910/910"; lines 445-446 go on line 444
    assert len(p.rows) == 910
    assert (p.lines, p.record_lines) == (924, 912)
    mark = next(r for r in p.rows if r["line_no"] == 444)
    assert mark["event"] == "tracing_mark_write"
    assert mark["payload"] == "phase start\nsecond line of the same marker\nthird: x=1 y=2"
    assert mark["fields"] == [("x", "1"), ("y", "2")]  # "third:" has no value: not a pair
    single = next(r for r in p.rows if r["line_no"] == 726)
    assert single["payload"] == "single line marker k=v"
    assert single["fields"] == [("k", "v")]


def test_bare_tokens_are_not_fields() -> None:
    p = _both("ftrace-bare-tokens.txt")
    assert p.rejects == []
    assert len(p.rows) == 56  # "entries-in-buffer/entries-written: 56/56"
    assert {r["event"] for r in p.rows} == {"workqueue_execute_start"}
    # line 13: "work struct 000000005ec41daa: function virtio_transport_rx_work"
    assert p.rows[0]["payload"] == "work struct 000000005ec41daa: function virtio_transport_rx_work"
    assert all(r["fields"] == [] for r in p.rows)


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ("0xffff0000080feeb8s: equals_event: pid=7", [("pid", "7")]),
        ("ip:ffff0000080feeb8 comm= x:1", [("comm", ""), ("x", "1")]),
        ("a:b: c::d", [("a", "b:"), ("c", ":d")]),
    ],
)
def test_bare_token_rule_in_both_paths(payload: str, fields: list[tuple[str, str]]) -> None:
    line = f"            bash-8111    [000] d....  1110.146307: some_event: {payload}\n"
    for columnar in (True, False):
        p = _via(line.encode() * 2, columnar)
        assert [r["fields"] for r in p.rows] == [fields, fields]


@pytest.mark.parametrize("columnar", [True, False])
def test_print_continuation_across_chunks(columnar: bool) -> None:
    """A chunk that ends on the print record: its continuation lines in the next
    chunk are taken as its lines (not rejects); the payload keeps its first line."""
    from spftrace.formats.lines import Chunk

    from .helpers import make_parser

    lines = (REAL / "ftrace-print-multiline.txt").read_bytes().splitlines(keepends=True)
    head, tail = b"".join(lines[:444]), b"".join(lines[444:])
    parser = make_parser("ftrace")
    parser._VECTOR_MIN_LINES = 1 if columnar else 10**12  # type: ignore[attr-defined]
    outs = [
        parser.feed(Chunk(1, head, 444, True)),
        parser.feed(Chunk(445, tail, len(lines) - 444, True)),
        parser.close(),
    ]
    p = Parsed(outs, parser)
    assert p.rejects == []
    assert (len(p.rows), p.record_lines) == (910, 912)
    assert next(r for r in p.rows if r["line_no"] == 444)["payload"] == "phase start"


# --- class 7: Android simpleperf stat ------------------------------------------------


def _sp(name: str) -> Parsed:
    path = REAL / name
    assert sniff(path.read_bytes()) == "simpleperf-stat"
    return parse_path("simpleperf-stat", path)


def _values(p: Parsed) -> dict[str, float]:
    return {r["event"]: r["value"] for r in p.rows}


def test_simpleperf_default_events_with_shares() -> None:
    p = _sp("simpleperf-stat-doc-default.txt")
    assert p.rejects == []
    assert p.meta["command"] == "simpleperf stat -p 7394 --duration 10"
    assert _values(p) == {
        "cpu-cycles": 1320496145.0,
        "instructions": 510426028.0,
        "branch-misses": 4692338.0,
        "task-clock": 886.008130,
        "context-switches": 753.0,
        "page-faults": 870.0,
        "seconds-time-elapsed": 10.023829,
    }
    tc = next(r for r in p.rows if r["event"] == "task-clock")
    assert (tc["unit"], tc["metric_value"], tc["metric_unit"]) == ("msec", 0.088390, "cpus used")
    assert {r["enabled_pct"] for r in p.rows if r["event"] != "seconds-time-elapsed"} == {100.0}
    assert {r["origin"] for r in p.rows} == {"perf-stat"}


def test_simpleperf_multiplexed_shares() -> None:
    p = _sp("simpleperf-stat-doc-multiplexed.txt")
    assert p.rejects == []
    shares = {r["event"]: r["enabled_pct"] for r in p.rows if r["event"] != "seconds-time-elapsed"}
    assert shares == {
        "cache-references": 87.0,
        "cache-references:u": 87.0,
        "cache-references:k": 87.0,
        "cache-misses": 87.0,
        "cache-misses:u": 87.0,
        "cache-misses:k": 87.0,
        "instructions": 89.0,
    }
    assert _values(p)["cache-misses:k"] == 38447.0
    assert p.stats == {"foreign_lines": 1}  # the command's continuation line


def test_simpleperf_per_core() -> None:
    p = _sp("simpleperf-stat-doc-per-core.txt")
    assert p.rejects == []
    rows = [(r["cpu"], r["value"], r["enabled_pct"]) for r in p.rows if r["event"] == "cpu-cycles"]
    assert rows == [
        (7, 56552838.0, 60.0),
        (3, 25958605.0, 20.0),
        (0, 22822698.0, 15.0),
        (1, 6661495.0, 5.0),
        (4, 1519093.0, 0.0),
    ]


def test_simpleperf_column_line_after_workload_output() -> None:
    p = _sp("simpleperf-stat-columns-after-workload.txt")
    assert p.rejects == []
    assert p.stats == {"foreign_lines": 3}  # "...", and the two JMH lines
    assert (p.lines, p.record_lines) == (17, 9)
    v = _values(p)
    assert (v["page-faults"], v["instructions"], v["task-clock"]) == (
        45690.0,
        305289176670.0,
        42865.714903,
    )
    assert v["seconds-time-elapsed"] == 41.888528
    assert {r["metric_unit"] for r in p.rows if r["event"] == "stalled-cycles-backend"} == {"M/sec"}


def test_simpleperf_csv() -> None:
    p = _sp("simpleperf-stat-csv.txt")
    assert p.rejects == []
    assert [(r["event"], r["value"], r["metric_value"], r["metric_unit"], r["enabled_pct"])
            for r in p.rows] == [
        ("cpu-cycles", 6595722690.0, 4.511040, "GHz", 100.0),
        ("major-faults", 0.0, 0.0, "/sec", 100.0),
        ("seconds-time-elapsed", 1.462129, None, None, None),
    ]  # fmt: skip


# Shapes without a published example: written by hand after the format strings of
# simpleperf's cmd_stat.cpp (ShowText: "  %*s  %-*s   # %-*s", the thread columns
# "  %-*s  %-*d  %-*d", ShowCSV and "Total test time"), not golden files.
_INTERVAL = """Performance counter statistics:

#  count  event_name    # count / runtime
   1,000  page-faults   # 1.000 K/sec

Total test time: 1.000100 seconds.
Performance counter statistics:

#  count  event_name    # count / runtime
   1,500  page-faults   # 750.000 /sec

Total test time: 2.000200 seconds.
"""


def test_simpleperf_interval_totals_are_not_summed() -> None:
    from .helpers import parse_text

    p = parse_text("simpleperf-stat", _INTERVAL)
    faults = [(r["ts"], r["value"], r["block"]) for r in p.rows if r["event"] == "page-faults"]
    # counts only grow: totals since the start; the last print is the total (ts null)
    assert faults == [(1_000_100_000, 1000.0, 0), (None, 1500.0, 0)]
    deltas = _INTERVAL.replace("1,500", "  700")
    p = parse_text("simpleperf-stat", deltas)
    faults = [(r["ts"], r["value"]) for r in p.rows if r["event"] == "page-faults"]
    assert faults == [(1_000_100_000, 1000.0), (2_000_200_000, 700.0)]


def test_simpleperf_per_thread_text_and_csv() -> None:
    from .helpers import parse_text

    text = """Performance counter statistics:

# thread_name      pid    tid    count  event_name    # count / runtime
  RenderThread     1234   1250   2,048  page-faults   # 1.024 K/sec
  Jit thread pool  1234   1241      17  page-faults   # 8.500 /sec

Total test time: 2.000000 seconds.
"""
    p = parse_text("simpleperf-stat", text)
    assert p.rejects == []
    assert [(r["thread"], r["value"]) for r in p.rows if r["event"] == "page-faults"] == [
        ("RenderThread-1250", 2048.0),
        ("Jit thread pool-1241", 17.0),
    ]
    csv = "Performance counter statistics,\nRenderThread,1234,1250,2048,page-faults,1.024,K/sec,\n"
    p = parse_text("simpleperf-stat", csv)
    assert [(r["thread"], r["value"], r["metric_unit"]) for r in p.rows] == [
        ("RenderThread-1250", 2048.0, "K/sec")
    ]


def test_perf_stat_is_not_simpleperf() -> None:
    for path in sorted((DATA / "perf_stat").glob("*.txt"))[:20]:
        assert sniff(path.read_bytes()) != "simpleperf-stat", path.name


# --- class 8: perf stat blocks of different workloads --------------------------------


def _report(data: Path, path: Path) -> dict[str, Any]:
    import json

    import spftrace

    spftrace.ingest([path], data=data)  # type: ignore[attr-defined]
    report = json.loads(spftrace.report("json", data=data))  # type: ignore[attr-defined]
    return report["runs"][0]  # type: ignore[no-any-return]


def test_headerless_blocks_of_different_event_sets(data: Path) -> None:
    path = REAL / "perf-stat-csv-two-workloads.txt"
    p = parse_path("perf-stat", path)
    assert [(r["line_no"], r["block"], r["event"], r["value"]) for r in p.rows] == [
        (1, 0, "page-faults", 49.0),
        (2, 1, "page-faults", 101.0),
        (3, 1, "minor-faults", 101.0),
        (4, 1, "major-faults", 0.0),
    ]
    assert p.stats == {"perf_stat_workloads": 2, "perf_stat_first_workload_blocks": 1}
    run = _report(data, path)
    assert run["faults"] == 49  # the first workload's count, not 49 + 101


def test_blocks_of_different_commands(data: Path) -> None:
    path = REAL / "perf-stat-two-commands.txt"
    p = parse_path("perf-stat", path)
    faults = [(r["block"], r["value"]) for r in p.rows if r["event"] == "page-faults"]
    assert faults == [(0, 49.0), (1, 100.0)]
    assert p.stats["perf_stat_workloads"] == 2
    run = _report(data, path)
    assert run["faults"] == 49
    assert any("2 different workloads" in n for n in run["disagreements"])


def test_repetitions_of_one_workload_are_still_summed(data: Path) -> None:
    path = REAL / "perf-stat-csv-same-workload-twice.txt"
    p = parse_path("perf-stat", path)
    assert "perf_stat_workloads" not in p.stats
    assert {r["block"] for r in p.rows} == {0, 1}
    assert _report(data, path)["faults"] == 49 + 50


_KINDS = {"perf-stat": "perf-stat", "lkp": "will-it-scale", "ftrace": "ftrace"}
_KINDS["simpleperf"] = "simpleperf-stat"


@pytest.mark.parametrize("path", sorted(REAL.glob("*.txt")), ids=lambda p: p.name)
def test_every_file_is_detected_as_its_format(path: Path) -> None:
    kind = next(v for k, v in _KINDS.items() if path.name.startswith(k))
    assert sniff(path.read_bytes()) == kind


# --- the workload's own output beside perf stat's (`2>&1`) ---------------------------


def test_a_workload_that_prints_numbers(data: Path) -> None:
    """`perf stat -- CMD 2>&1` where CMD prints bare numbers before perf's block: its
    lines are the workload's (ignored, counted), not damaged counters; the count is
    perf's 67 page-faults read off the file."""
    path = REAL / "perf-stat-workload-prints-numbers.txt"
    p = parse_path("perf-stat", path)
    assert p.rejects == []
    assert p.stats["foreign_lines"] == 2
    assert _rows(p, "event", "value")[0] == ("page-faults", 67)
    assert _report(data, path)["faults"] == 67


def test_a_bare_number_inside_a_counter_block_is_a_reject() -> None:
    """Between perf's header and its footer a bare number is a cut counter line."""
    text = (REAL / "perf-stat-workload-prints-numbers.txt").read_text()
    cut = text.replace("                67      page-faults", "                67")
    p = parse_text("perf-stat", cut)
    assert [r.line_no for r in p.rejects] == [6]  # the line of page-faults
