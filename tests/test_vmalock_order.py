"""The per-VMA-lock pass's sorted path: file-order slices sorted in runs on disk and
merged (spftrace/analysis/vmalock_order.py)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

import spftrace
from spftrace import api
from spftrace.analysis import vmalock, vmalock_order

from . import vmalock_truth
from .helpers import DATA

VMALOCK = DATA / "vmalock"


def _small(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs, blocks and batches of a few rows: many runs, every block boundary."""
    monkeypatch.setattr(vmalock_order, "RUN_ROWS", 37)
    monkeypatch.setattr(vmalock_order, "CHUNK_ROWS", 5)
    monkeypatch.setattr(vmalock_order, "MERGE_ROWS", 40)
    monkeypatch.setattr(vmalock_order, "BATCH_ROWS", 11)
    monkeypatch.setattr(vmalock, "SLICE_LINES", 50)


def test_the_merge_is_the_sort_of_all_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows in slices of any order come out as Python's sort of (tid, ts, seq) tuples,
    in batches of exactly the size asked for (the last one fewer)."""
    import pyarrow as pa

    _small(monkeypatch)
    rng = random.Random(5)
    rows = [(rng.randrange(4), rng.randrange(30), seq) for seq in rng.sample(range(10**6), 500)]
    slices = []
    for at in range(0, len(rows), 60):
        part = rows[at : at + 60]
        slices.append(
            pa.RecordBatch.from_pydict({
                "tid": pa.array([r[0] for r in part], pa.int32()),
                "ts": pa.array([r[1] for r in part], pa.int64()),
                "seq": pa.array([r[2] for r in part], pa.int64()),
                "site": [f"s{r[2]}" for r in part],
            })
        )  # fmt: skip
    out = list(vmalock_order.batches(slices, 11))
    assert [b.num_rows for b in out] == [11] * 45 + [5]
    cols = ("tid", "ts", "seq", "site")
    got = [row for b in out for row in zip(*(b.column(c).to_pylist() for c in cols), strict=True)]
    assert got == [(t, ts, s, f"s{s}") for t, ts, s in sorted(rows)]


def _two_inputs(tmp_path: Path) -> Path:
    """writerblock cut in two, the later half ingested first: each thread's events
    come out of time order, so the pass takes the sorted path."""
    lines = (VMALOCK / "writerblock.txt").read_text().splitlines(keepends=True)
    cut = next(i for i in range(len(lines) // 2, len(lines)) if not lines[i].strip())
    late, early = tmp_path / "late.txt", tmp_path / "early.txt"
    late.write_text("".join(lines[cut + 1 :]))
    early.write_text("".join(lines[: cut + 1]))
    data = tmp_path / "ds"
    spftrace.ingest([late, early], data=data, run="r")
    return data


def _section(data: Path) -> dict[str, Any]:
    con = api.open_dataset(data).connect()
    try:
        return vmalock.classify(con, "r")
    finally:
        con.close()


def test_many_small_runs_give_the_section_of_one_sort(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run merged from runs of 37 rows (slices of 50 lines) in blocks of 5 is the
    section of one sort of all its rows (one run, one block, one batch at the default
    sizes), and the truth's."""
    data = _two_inputs(tmp_path)
    written: list[int] = []
    real = vmalock_order._write_runs

    def spy(slices: Any, tmp: Path) -> list[Path]:
        runs = real(slices, tmp)
        written.append(len(runs))
        return runs

    monkeypatch.setattr(vmalock_order, "_write_runs", spy)
    whole = _section(data)
    _small(monkeypatch)
    merged = _section(data)
    assert written[0] == 1 and written[1] > 10
    assert merged == whole
    truth = vmalock_truth.classify(VMALOCK / "writerblock.txt")
    assert merged["classes"] == {k: v for k, v in truth.classes.items() if v}
    assert merged["wait_us"]["count"] == truth.waits
