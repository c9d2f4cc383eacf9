"""Damaged perf.data: the rows before the damage, or one SpftraceError line; nothing else.

Hypothesis cuts and flips bytes of the committed captures (file and pipe mode) and
of their headers; every outcome must be rows (a subset of the undamaged file's) or
a one-line SpftraceError, in bounded time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spftrace.errors import SpftraceError
from spftrace.formats.perf_data import read_perf_data

from .test_perf_data import KALLSYMS

DATA = Path(__file__).with_name("data") / "perf_data"
FILES = ["tracepoints.data", "callchain.data", "pipe.data", "page-faults-fp.data"]
FULL: dict[str, list[tuple[int, int]]] = {}


def _read(raw: bytes, tmp: Path) -> list[dict[str, Any]] | str:
    path = tmp / "f.data"
    path.write_bytes(raw)
    try:
        with open(path, "rb") as f:
            return [
                r
                for b in read_perf_data(f, source="f.data", kallsyms=KALLSYMS)
                for r in b.events.to_pylist()
            ]
    except SpftraceError as err:
        msg = str(err)
        assert msg.startswith("f.data: ") and "\n" not in msg
        return msg


def _keys(rows: list[dict[str, Any]]) -> list[tuple[int, int]]:
    return [(r["ts"], r["tid"]) for r in rows]


def full(name: str, tmp: Path) -> list[tuple[int, int]]:
    if name not in FULL:
        rows = _read((DATA / name).read_bytes(), tmp)
        assert isinstance(rows, list)
        FULL[name] = _keys(rows)
    return FULL[name]


settings.register_profile("fuzz", deadline=None, suppress_health_check=list(HealthCheck))


@pytest.mark.timeout(300)
@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.sampled_from(FILES), frac=st.floats(0, 1))
def test_cut_anywhere(name: str, frac: float, tmp_path: Path) -> None:
    raw = (DATA / name).read_bytes()
    got = _read(raw[: int(len(raw) * frac)], tmp_path)
    if isinstance(got, list):
        whole = full(name, tmp_path)
        assert len(got) <= len(whole)
        assert set(_keys(got)) <= set(whole)


@pytest.mark.timeout(300)
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.sampled_from(FILES),
    flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 7)), min_size=1, max_size=30),
    head=st.booleans(),
)
def test_flipped_bits(
    name: str, flips: list[tuple[float, int]], head: bool, tmp_path: Path
) -> None:
    raw = bytearray((DATA / name).read_bytes())
    span = min(len(raw), 2048) if head else len(raw)  # the headers, or anywhere
    for where, bit in flips:
        raw[int(where * (span - 1))] ^= 1 << bit
    _read(bytes(raw), tmp_path)


def test_zero_length(tmp_path: Path) -> None:
    assert _read(b"", tmp_path) == "f.data: empty input (0 bytes), not a perf.data file"


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"PERFFILE" + b"\0" * 200, "version 1"),
        (b"PERFILE2" + (104).to_bytes(8, "little") + b"\0" * 30, "cut short"),
        (b"PERFILE2" + (7).to_bytes(8, "little") + b"\0" * 200, "unknown file header size"),
        (b"ELF\0not perf", "not a perf.data"),
    ],
)
def test_unreadable_headers_are_named(raw: bytes, why: str, tmp_path: Path) -> None:
    got = _read(raw, tmp_path)
    assert isinstance(got, str) and why in got
