"""A batch's delivered records gathered (reader.gather: perf_walk.c gather, and its
twin gather_py): the walk columns and one buffer of the records' bytes.

Expected values come from the walk tables and the windows themselves (each record's
bytes, payload and callchain read again at their new offsets), and the compiled
gather is held equal to gather_py; the whole reader with and without the compiled
core gives the same rows on every fixture, in small windows and batches (records of
a batch from several windows, windows dropped and read again), big-endian included.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any, cast

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spftrace.formats.perf_data import reader
from spftrace.formats.perf_data import walk as W
from spftrace.formats.perf_data.reader import gather, gather_py

from .test_perf_data_bigendian import CASES, to_big_endian
from .test_perf_data_native import FILE_FIXTURES, PERF, _config


@pytest.fixture(scope="module")
def native() -> ModuleType:
    """The compiled walks (as test_perf_data_native's fixture): a build that lost them
    fails here, rather than every test below comparing the twin with itself."""
    from spftrace import _native
    from spftrace.formats.native import perf_walk

    if _native.disabled():
        pytest.skip("SPFTRACE_NO_NATIVE: the core is off")
    mod = perf_walk()
    assert mod is not None and hasattr(mod, "gather"), "perf_walk.c gather was not built"
    return cast(ModuleType, mod)


WINDOW = 3000  # a window of the test's split: records of a batch from several of them


def _windows(path: Path) -> tuple[list[np.ndarray[Any, Any]], list[np.ndarray[Any, Any]]]:
    """The data section walked (Python walk) in windows of about WINDOW bytes."""
    data = path.read_bytes()
    cfg, pos, end = _config(data)
    tables, datas = [], []
    while pos < end:
        stop = min(end, pos + WINDOW)
        window = data[pos:stop]
        table = W.new_table(4096)
        n, nxt, _why = W.walk_py(window, 0, len(window), cfg, table)
        if n == 0:  # a record longer than the window: take it whole
            window = data[pos:end]
            n, nxt, _why = W.walk_py(window, 0, len(window), cfg, table)
        if n == 0:
            break
        tables.append(table[:n].copy())
        datas.append(np.frombuffer(window, np.uint8))
        pos += nxt
    return tables, datas


def _deliverable(tables: list[np.ndarray[Any, Any]]) -> list[tuple[int, int]]:
    """(window, row) of the records a reader delivers: kernel records, samples read whole."""
    out = []
    for b, t in enumerate(tables):
        for r in range(len(t)):
            typ, status = int(t[r, W.C["type"]]), int(t[r, W.C["status"]])
            if typ < W.USER_START and not (typ == W.SAMPLE and status != W.OK):
                out.append((b, r))
    return out


def _check(tables: Any, datas: Any, blob: Any, row: Any, buf: Any, cols: Any) -> None:
    """Each gathered record against its own window: bytes, columns, offsets moved."""
    at = 0
    for i, (b, r) in enumerate(zip(blob.tolist(), row.tolist(), strict=True)):
        src = tables[b][r]
        off, size = int(src[W.C["off"]]), int(src[W.C["size"]])
        assert int(cols[W.C["off"], i]) == at
        assert bytes(buf[at : at + size]) == bytes(datas[b][off : off + size])
        for c in range(W.NCOL):
            if c not in (W.C["off"], W.C["raw_off"], W.C["cc_off"]):
                assert cols[c, i] == src[c]
        for c, ln, width in (("raw_off", "raw_len", 1), ("cc_off", "cc_nr", 8)):
            old, new, k = int(src[W.C[c]]), int(cols[W.C[c], i]), int(src[W.C[ln]]) * width
            assert (new == 0) == (old == 0)
            if old:
                assert bytes(buf[new : new + k]) == bytes(datas[b][old : old + k])
        at += size
    assert at == len(buf)


@pytest.mark.parametrize("path", FILE_FIXTURES, ids=lambda p: p.stem)
def test_gather_keeps_each_record_and_moves_its_offsets(path: Path) -> None:
    tables, datas = _windows(path)
    picks = _deliverable(tables)
    rng = np.random.default_rng(len(picks))
    for order in (np.arange(len(picks)), rng.permutation(len(picks))[: max(1, len(picks) // 2)]):
        blob = np.array([picks[k][0] for k in order], np.int64)
        row = np.array([picks[k][1] for k in order], np.int64)
        buf_c, cols_c = gather(tables, datas, blob, row)
        buf_py, cols_py = gather_py(tables, datas, blob, row)
        assert bytes(buf_c) == bytes(buf_py)
        assert np.array_equal(cols_c, cols_py)
        _check(tables, datas, blob, row, buf_py, cols_py)


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_gather_twins_agree_on_damaged_tables(native: ModuleType, data: Any) -> None:
    """Rows whose record, payload or callchain would leave its window are refused by
    both, with the same error; rows out of range likewise."""
    path = data.draw(st.sampled_from(FILE_FIXTURES[:4]))
    tables, datas = _windows(path)
    picks = _deliverable(tables)
    k = data.draw(st.integers(1, min(40, len(picks))))
    sel = data.draw(st.lists(st.sampled_from(picks), min_size=k, max_size=k))
    blob = np.array([b for b, _ in sel], np.int64)
    row = np.array([r for _, r in sel], np.int64)
    tables = [t.copy() for t in tables]
    for _ in range(data.draw(st.integers(0, 3))):
        b, r = data.draw(st.sampled_from(sel))
        col = data.draw(st.sampled_from(["off", "size", "raw_off", "raw_len", "cc_off", "cc_nr"]))
        tables[b][r, W.C[col]] = data.draw(
            st.sampled_from([0, 1, 7, 8, len(datas[b]), 2**63, 2**64 - 1])
            | st.integers(0, len(datas[b]) + 16)
        )
    if data.draw(st.booleans()):
        i = data.draw(st.integers(0, k - 1))
        if data.draw(st.booleans()):
            blob[i] = data.draw(st.sampled_from([-1, len(tables)]))
        else:
            row[i] = data.draw(st.sampled_from([-1, len(tables[blob[i]])]))
    got: list[Any] = []
    for fn in (
        lambda: gather(tables, datas, blob, row),
        lambda: gather_py(tables, datas, blob, row),
    ):
        try:
            buf, cols = fn()
            got.append((bytes(buf), cols.tolist()))
        except (IndexError, ValueError) as err:
            got.append(type(err))
    assert got[0] == got[1]
    if not isinstance(got[1], type):
        buf_py, cols_py = gather_py(tables, datas, blob, row)
        _check(tables, datas, blob, row, buf_py, cols_py)


def _read(path: Path, use_native: bool) -> list[Any]:
    with open(path, "rb") as f:
        batches = list(
            reader_mod().read_perf_data(
                f, source=str(path), batch_rows=7, use_native=use_native, kallsyms=None
            )
        )
    return [(b.events, b.records, b.skipped, b.lost, b.stats, b.notes) for b in batches]


def reader_mod() -> Any:
    import spftrace.formats.perf_data as P

    return P


READS = [(p, False) for p in sorted(PERF.glob("*.data"))]
READS += [(PERF / f"{name}.data", True) for name in CASES]


@pytest.mark.parametrize(
    ("path", "big"), READS, ids=[p.stem + ("-be" if big else "") for p, big in READS]
)
def test_reader_rows_equal_without_the_compiled_core(
    native: ModuleType, path: Path, big: bool, tmp_path: Path, monkeypatch: Any
) -> None:
    """Small windows and batches, windows dropped and read again: the compiled walk,
    gather and field reads give the rows the pure-Python path gives (big: the
    fixture rewritten big-endian by the test helper)."""
    if big:
        src = tmp_path / path.name
        src.write_bytes(to_big_endian(path.read_bytes()))
        path = src
    monkeypatch.setattr(reader, "WINDOW", 4096)
    monkeypatch.setattr(reader, "SPILL_BYTES", 0)
    c, py = _read(path, True), _read(path, False)
    assert len(c) == len(py)
    for a, b in zip(c, py, strict=True):
        assert a[0].equals(b[0])
        assert a[1:] == b[1:]
    assert sum(x[0].num_rows for x in c) > 0 or path.name == "killed.data"
