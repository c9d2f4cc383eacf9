"""Sniffing is linear in the head and bounded: hostile heads cannot stall detection.

Each sniffer gets 1 MiB heads built to make backtracking regexes go quadratic
(a run of digits took perf_script's sniffer 10 s per 4 KiB line; a run of spaces
in a metric unit took perf stat's 6 s).  The bound is a ratio to reading and
decoding the same bytes (what every input costs anyway), measured in the same
run, and an absolute second.  Both are CPU seconds of this process
(``time.process_time``): wall time on a shared 2-CPU machine measures the
neighbours as much as the sniffer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from spftrace.formats import FORMATS
from spftrace.formats.spec import Head

MiB = 1 << 20


def _fill(unit: bytes) -> bytes:
    return (unit * (MiB // len(unit) + 1))[:MiB]


HOSTILE = {
    "digits": _fill(b"1"),
    "digit-lines": _fill(b"1" * 4000 + b"\n"),
    "colons": _fill(b": " * 2000 + b"\n"),
    "brackets": _fill(b"[000] " * 600 + b"\n"),
    "long-token": _fill(b"a" * 5000 + b" "),
    "times": _fill(b"1.000000: " * 400 + b"\n"),
    "events": _fill(b"1.000000: a:b: " * 250 + b"\n"),
    "metric-spaces": _fill(b"1 a # 1.0 x" + b" " * 4000 + b"y\n"),
    "dash-pids": _fill(b"a-1 " * 1000 + b"\n"),
    "commas": _fill(b"," * 4000 + b"\n"),
    "punctuation": _fill(bytes(range(33, 48)) * 250 + b"\n"),
    "braces": _fill(b"{" * 4000 + b"\n"),
    "vmstat-key": _fill(b"pgfault " + b"1" * 4000 + b"\n"),
    "grouped": _fill(b"1,234" * 800 + b" faults\n"),
    "cpus": _fill(b"CPU0 " * 800 + b"\n"),
    "interval-times": _fill(b"     1.000000000 " * 200 + b"\n"),
    "ftrace-ish": _fill(b"a-1 [000] " * 400 + b"\n"),
}
#: a sniffer may cost this many times reading and decoding the head
RATIO = 200


def best(fn: Callable[[], object], n: int = 3) -> float:
    times = []
    for _ in range(n):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return min(times)


@pytest.mark.parametrize("name", list(HOSTILE))
def test_every_sniffer_is_bounded_on_hostile_heads(name: str, tmp_path: Path) -> None:
    path = tmp_path / "head"
    path.write_bytes(HOSTILE[name])
    for spec in FORMATS.values():  # imports and compiled patterns warm
        spec.sniff(Head(b"warm up\n"))
    read = best(lambda: path.read_bytes().decode("utf-8", "replace").splitlines())
    for fmt, spec in FORMATS.items():
        took = best(lambda spec=spec: spec.sniff(Head(path.read_bytes())), n=1)
        assert took < 1.0, (fmt, took)
        assert took < RATIO * read, (fmt, f"{took / read:.0f}x reading the head")
