"""Damaged trace.dat: rows, or one SpftraceError line; never another exception or a hang.

Hypothesis cuts and overwrites bytes of the committed v6 and v7 (zstd) captures,
in their headers and anywhere; cut files give a subset of the undamaged rows.
"""

from __future__ import annotations

import io
import lzma
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spftrace.errors import SpftraceError
from spftrace.formats.trace_dat import read_trace_dat

DATA = Path(__file__).with_name("data") / "trace_dat"
RAW = {
    "v7": (DATA / "extract-v7-zstd.dat").read_bytes(),
    "v6": lzma.decompress((DATA / "extract-v6.dat.xz").read_bytes()),
}
FULL: dict[str, set[tuple[int, int]]] = {}


def _read(raw: bytes) -> list[dict[str, Any]] | str:
    try:
        return [
            r for b in read_trace_dat(io.BytesIO(raw), source="t.dat") for r in b.events.to_pylist()
        ]
    except SpftraceError as err:
        msg = str(err)
        assert msg.startswith("t.dat: ") and "\n" not in msg
        return msg


def _keys(rows: list[dict[str, Any]]) -> set[tuple[int, int]]:
    return {(r["ts"], r["tid"]) for r in rows}


def full(name: str) -> set[tuple[int, int]]:
    if name not in FULL:
        rows = _read(RAW[name])
        assert isinstance(rows, list) and rows
        FULL[name] = _keys(rows)
    return FULL[name]


@pytest.mark.timeout(300)
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(name=st.sampled_from(sorted(RAW)), frac=st.floats(0, 1))
def test_cut_anywhere(name: str, frac: float) -> None:
    raw = RAW[name]
    got = _read(raw[: int(len(raw) * frac)])
    if isinstance(got, list):
        assert _keys(got) <= full(name)


@pytest.mark.timeout(300)
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    name=st.sampled_from(sorted(RAW)),
    edits=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), min_size=1, max_size=30),
    head=st.booleans(),
)
def test_overwritten_bytes(name: str, edits: list[tuple[float, int]], head: bool) -> None:
    raw = bytearray(RAW[name])
    span = min(len(raw), 4096) if head else len(raw)
    for where, value in edits:
        raw[int(where * (span - 1))] = value
    _read(bytes(raw))


def test_zero_length() -> None:
    assert _read(b"") == "t.dat: empty input (0 bytes), not a trace.dat file"
