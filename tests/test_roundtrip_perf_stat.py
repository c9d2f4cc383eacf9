"""Property tests: render random counters the way perf 6.1 prints them, parse back.

The renderers follow stat-display.c's printf formats (reference/perf-stat-formats.md
§2.2, §2.5, §3, §4.1, §5.1), so the parser is checked against the grammar, not
against itself.  Arbitrary text must give rows or rejects, never an exception.
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from spftrace.formats.perf_stat import PerfStatParser

from .helpers import parse_text

EVENT = st.sampled_from(
    [
        "faults",
        "page-faults",
        "spf",
        "speculative-faults",
        "pagefault:spf_vma_changed",
        "pagefault:spf_vma_notsup",
        "exceptions:page_fault_user",
        "mmap_lock:mmap_lock_acquire_returned",
        "page-faults:u",
        "cpu/event=0xa3,umask=0xc/",
        "context-switches",
    ]
)
COMM_CHARS = string.ascii_letters + string.digits + " -_:/.#()"
COMM = st.text(COMM_CHARS, min_size=1, max_size=16).filter(lambda s: s == s.strip())


@dataclass
class Counter:
    event: str
    value: int | None  # None = <not counted>
    ts_ns: int | None
    cpu: int | None
    thread: str | None
    variance: float | None


@st.composite
def counters(draw: st.DrawFn) -> list[Counter]:
    interval = draw(st.booleans())
    mode = draw(st.sampled_from(["global", "cpu", "thread"]))
    events = draw(st.lists(EVENT, min_size=1, max_size=5, unique=True))
    n_slices = draw(st.integers(1, 3)) if interval else 1
    keys: list[tuple[int | None, str | None]] = [(None, None)]
    if mode == "cpu":
        keys = [
            (c, None)
            for c in draw(st.lists(st.integers(0, 511), min_size=1, max_size=3, unique=True))
        ]
    elif mode == "thread":
        comms = draw(st.lists(COMM, min_size=1, max_size=3))
        pids = draw(
            st.lists(st.integers(1, 4194304), min_size=len(comms), max_size=len(comms), unique=True)
        )
        keys = [(None, f"{c}-{p}") for c, p in zip(comms, pids, strict=True)]
    variance = draw(st.booleans()) and not interval
    out = []
    t0 = draw(st.integers(1, 10**6))
    for s in range(n_slices):
        ts = (t0 + s * 100_000_000) if interval else None
        for ev in events:
            for cpu, thread in keys:
                value = draw(st.one_of(st.none(), st.integers(0, 10**13)))
                var = draw(st.integers(1, 9999)) / 100 if variance and value is not None else None
                out.append(Counter(ev, value, ts, cpu, thread, var))
    return out


def _ts(ns: int) -> str:
    return f"{ns // 10**9}.{ns % 10**9:09d}"


def render_human(cs: list[Counter], group: str) -> str:
    lines = ["", " Performance counter stats for './app':", ""]
    for c in cs:
        prefix = ""
        if c.ts_ns is not None:
            prefix += f"{_ts(c.ts_ns):>16} "
        if c.cpu is not None:
            prefix += f"CPU{c.cpu:<7d} "
        if c.thread is not None:
            comm, pid = c.thread.rsplit("-", 1)
            prefix += f"{comm:>16}-{int(pid):<8d} "
        if c.value is None:
            value = f"{'<not counted>':>18}"
            lines.append(f"{prefix}{value}      {c.event:<25}")
            continue
        value = f"{c.value:>18,}".replace(",", group)
        line = f"{prefix}{value}      {c.event:<32}"
        if c.variance is not None:
            line += " " * 35 + f"  ( +-{c.variance:6.2f}% )"
        lines.append(line)
    lines += ["", "       0.011534155 seconds time elapsed", ""]
    return "\n".join(lines) + "\n"


def render_csv(cs: list[Counter], sep: str) -> str:
    lines = []
    for c in cs:
        f = []
        if c.ts_ns is not None:
            f.append(f"{_ts(c.ts_ns):>16}")
        if c.cpu is not None:
            f.append(f"CPU{c.cpu}")
        if c.thread is not None:
            f.append(c.thread)
        f.append("<not counted>" if c.value is None else str(c.value))
        f += ["", c.event]
        if c.variance is not None:
            f.append(f"{c.variance:.2f}%")
        f += ["0" if c.value is None else "123456", "100.00", "", ""]
        lines.append(sep.join(f))
    return "\n".join(lines) + "\n"


def render_json(cs: list[Counter]) -> str:
    lines = []
    for c in cs:
        o: dict[str, object] = {}
        if c.ts_ns is not None:
            o["interval"] = float(_ts(c.ts_ns))
        if c.cpu is not None:
            o["cpu"] = str(c.cpu)
        if c.thread is not None:
            o["thread"] = c.thread
        o["counter-value"] = "<not counted>" if c.value is None else f"{c.value:.6f}"
        o["unit"] = ""
        o["event"] = c.event
        if c.variance is not None:
            o["variance"] = c.variance
        o["event-runtime"] = 123456
        o["pcnt-running"] = 100.0
        o["metric-value"] = 0.0
        o["metric-unit"] = "(null)"
        lines.append(json.dumps(o, separators=(", ", " : ")))
    return "\n".join(lines) + "\n"


def check(cs: list[Counter], text: str, *, exact_ts: bool = True) -> None:
    parsed = parse_text("perf-stat", text)
    assert not parsed.rejects, parsed.rejects[:3]
    rows = [r for r in parsed.rows if not r["event"].startswith("seconds-")]
    assert len(rows) == len(cs)
    for c, r in zip(cs, rows, strict=True):
        assert r["event"] == c.event
        assert r["status"] == ("counted" if c.value is not None else "not-counted")
        assert r["value"] == (None if c.value is None else float(c.value))
        assert r["cpu"] == c.cpu
        assert r["thread"] == c.thread
        assert r["variance_pct"] == c.variance
        if exact_ts:
            assert r["ts"] == c.ts_ns
        else:  # JSON carries the interval as a double
            assert (r["ts"] is None) == (c.ts_ns is None)
            if c.ts_ns is not None:
                assert abs(r["ts"] - c.ts_ns) <= 1000


@given(counters(), st.sampled_from([",", ".", "\u202f", "\u2019", "'", "\u00a0", ""]))
def test_human_roundtrip(cs: list[Counter], group: str) -> None:
    check(cs, render_human(cs, group))


@given(counters(), st.sampled_from([",", ";", "\t", "'", "::", "|", "#@"]))
def test_csv_roundtrip(cs: list[Counter], sep: str) -> None:
    # perf does not quote fields; a comm may even contain the separator, and the
    # parser tries every split point of "comm-pid"
    check(cs, render_csv(cs, sep))


@given(counters())
def test_json_roundtrip(cs: list[Counter]) -> None:
    check(cs, render_json(cs), exact_ts=False)


@given(st.text(max_size=300))
def test_arbitrary_text_never_raises(text: str) -> None:
    p = PerfStatParser()
    out = p.feed_lines(text.split("\n"), 1)
    out.check()
    p.close().check()


@given(st.lists(st.text(string.printable, max_size=80), max_size=30))
def test_arbitrary_lines_accounted(lines: list[str]) -> None:
    p = PerfStatParser()
    out = p.feed_lines(lines, 1)
    out.check()
    assert out.lines == len(lines)
