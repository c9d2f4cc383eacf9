"""The dataset: partitioning, atomic commits, versioning, duplicate refusal."""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path

import duckdb
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

import spftrace
from spftrace.errors import SpftraceError
from spftrace.schema import SCHEMA_VERSION
from spftrace.store import Dataset, sanitize_run_name

from .helpers import DATA

HUMAN = DATA / "perf_stat" / "human.txt"
SEED = DATA / "seed" / "ebizzy-x86-16cpu.txt"


def snapshot(path: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(path)): p.read_bytes()
        for p in sorted(path.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


def test_hive_layout_readable_by_pyarrow_and_duckdb(data: Path) -> None:
    spftrace.ingest([HUMAN], data=data)
    files = list((data / "counters").glob("run=*/*.parquet"))
    assert [f.parent.name for f in files] == ["run=human"]
    table = pads.dataset(data / "counters", partitioning="hive").to_table()
    assert set(table.column("run").to_pylist()) == {"human"}
    con = duckdb.connect()
    n = con.execute(
        f"SELECT count(*) FROM read_parquet('{data}/counters/*/*.parquet', hive_partitioning=true)"
    ).fetchone()[0]
    assert n == table.num_rows == 9


def test_parquet_metadata_carries_versions(data: Path) -> None:
    spftrace.ingest([HUMAN], data=data)
    (f,) = (data / "counters").glob("run=*/*.parquet")
    meta = pq.read_schema(f).metadata
    assert meta[b"spftrace.schema_version"] == str(SCHEMA_VERSION).encode()
    assert meta[b"spftrace.version"] == spftrace.__version__.encode()


def test_newer_schema_is_refused(data: Path) -> None:
    spftrace.ingest([HUMAN], data=data)
    (data / "spftrace-dataset.json").write_text(json.dumps({"schema_version": SCHEMA_VERSION + 1}))
    with pytest.raises(SpftraceError, match="upgrade spftrace"):
        spftrace.report("json", data=data)


def test_same_bytes_refused_unless_forced(data: Path) -> None:
    spftrace.ingest([HUMAN], data=data)
    before = snapshot(data)
    with pytest.raises(SpftraceError, match=r"already ingested as run 'human'.*--force"):
        spftrace.ingest([HUMAN], data=data)
    assert snapshot(data) == before
    (s,) = spftrace.ingest([HUMAN], data=data, force=True)
    assert s.run == "human-2"


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd", "etc-passwd"),
        ("a/b", "a-b"),
        (".hidden", "hidden"),
        ("ok_1.2-x", "ok_1.2-x"),
        ("", "run"),
    ],
)
def test_run_names_cannot_escape(name: str, safe: str) -> None:
    assert sanitize_run_name(name) == safe


def test_explicit_bad_run_name_is_an_error(data: Path) -> None:
    with pytest.raises(SpftraceError, match="not allowed"):
        spftrace.ingest([HUMAN], data=data, run="../evil")
    assert not (data.parent / "evil").exists()


def test_run_groups_several_inputs(data: Path) -> None:
    """snap-N.txt have no time lines: they stay in the order given, never by name."""
    vm = sorted((DATA / "vmstat").glob("snap-*.txt"))
    summaries = spftrace.ingest([HUMAN, *reversed(vm)], data=data, run="exp1", label="head")
    assert [s.input for s in summaries] == [0, 1, 2, 3]
    assert [Path(s.source).name for s in summaries[1:]] == [
        "snap-2.txt",
        "snap-1.txt",
        "snap-0.txt",
    ]
    t = spftrace.load(data)
    assert set(t.runs.run) == {"exp1"}
    blocks = t.counters[t.counters.origin == "vmstat"].groupby("input").block.unique()
    assert [list(b) for b in blocks] == [[0], [1], [2]]


def test_vmstat_files_given_together_form_one_series(data: Path) -> None:
    vm = sorted((DATA / "vmstat").glob("snap-*.txt"))
    summaries = spftrace.ingest(vm, data=data)
    assert {s.run for s in summaries} == {"snap-0"}


def test_interrupted_commit_is_invisible_and_rolled_back(
    data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spftrace.ingest([SEED], data=data)
    before = snapshot(data)
    import os as real_os

    calls = {"n": 0}
    real_replace = real_os.replace

    def crash_on_runs(src: str, dst: object) -> None:
        if "/runs/" in str(dst) and "run=" in str(dst):
            raise KeyboardInterrupt  # the process dies between data and runs files
        calls["n"] += 1
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr("spftrace.store.os.replace", crash_on_runs)
    with pytest.raises(KeyboardInterrupt):
        spftrace.ingest([HUMAN], data=data)
    monkeypatch.setattr("spftrace.store.os.replace", real_replace)
    assert calls["n"] >= 1  # some data files were moved before the crash
    # readers do not see the half-committed run
    assert spftrace.load(data).counters.run.unique().tolist() == ["ebizzy-x86-16cpu"]
    # the next writer rolls it back: the dataset is exactly as before
    Dataset(data).locked().__enter__()
    assert snapshot(data) == before


def test_env_var_names_the_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPFTRACE_DATA", str(tmp_path / "envds"))
    spftrace.ingest([HUMAN])
    assert (tmp_path / "envds" / "spftrace-dataset.json").exists()


def test_missing_dataset_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SpftraceError, match="no dataset at"):
        spftrace.report("text", data=tmp_path / "nope")


def test_query_sees_every_table(data: Path) -> None:
    spftrace.ingest([SEED], data=data)
    out = spftrace.query(
        "SELECT (SELECT count(*) FROM runs) r, (SELECT count(*) FROM counters) c, "
        "(SELECT count(*) FROM events) e, (SELECT count(*) FROM rejects) j, "
        "(SELECT value FROM stats WHERE name = 'lines_read') l",
        data=data,
        fmt="csv",
    )
    assert out.splitlines() == ["r,c,e,j,l", "1,7,0,0,8"]


# --- Python values -> Arrow without pa.array ------------------------------------------

_VALUES = {
    "int64": st.integers(-(2**63), 2**63 - 1),
    "int32": st.integers(-(2**31), 2**31 - 1),
    "uint64": st.integers(0, 2**64 - 1),
    "float64": st.floats(allow_nan=False),
    "bool": st.booleans(),
    "string": st.text(),
    "binary": st.binary(),
    "timestamp": st.datetimes(timezones=st.just(UTC)),
    "map": st.lists(st.tuples(st.text(), st.text()), max_size=3),
}


@pytest.mark.parametrize("kind", list(_VALUES))
@given(data=st.data())
def test_to_arrow_equals_pa_array(kind: str, data: st.DataObject) -> None:
    """schema.to_arrow builds arrays from buffers (keeping pandas out of the ingest);
    it must give exactly what pa.array gives."""
    import pyarrow as pa

    from spftrace.schema import _arrow_type, to_arrow

    typ = _arrow_type(kind)
    values = data.draw(st.lists(st.one_of(st.none(), _VALUES[kind]), max_size=8))
    got = to_arrow(values, typ)
    assert got.type == typ
    assert got.to_pylist() == pa.array(values, typ).to_pylist()


def _column_types() -> list[object]:
    """Every column type of the dataset that to_arrow packs itself (lists of
    structs it hands to ``pa.array``)."""
    import pyarrow as pa

    from spftrace.schema import TABLES, arrow_schema

    types = {str(f.type): f.type for t in TABLES for f in arrow_schema(t)}
    return [types[k] for k in sorted(types) if not pa.types.is_list(types[k])]


def _values(t: object) -> st.SearchStrategy[object]:
    from datetime import datetime

    import pyarrow as pa

    assert isinstance(t, pa.DataType)
    if pa.types.is_integer(t):
        bits = t.bit_width
        signed = pa.types.is_signed_integer(t)
        lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
        return st.integers(lo, hi)
    if pa.types.is_floating(t):
        return st.floats(width=t.bit_width, allow_nan=False)
    if pa.types.is_boolean(t):
        return st.booleans()
    if pa.types.is_string(t):  # (lone surrogates are escaped, spftrace.text: not here)
        return st.text(alphabet=st.characters(exclude_categories=["Cs"]))
    if pa.types.is_binary(t):
        return st.binary()
    if pa.types.is_timestamp(t):
        return st.datetimes(min_value=datetime(1970, 1, 2), timezones=st.just(UTC))
    if pa.types.is_map(t):
        pair = st.tuples(_values(t.key_type), _values(t.item_type))
        return st.lists(pair, max_size=3)
    raise AssertionError(f"no strategy for {t}")


@pytest.mark.parametrize("typ", _column_types(), ids=str)
@given(data=st.data())
def test_to_arrow_equals_pyarrows_own_conversion(typ: object, data: st.DataObject) -> None:
    """schema.to_arrow packs values without numpy (the ``array`` module, bitmaps by
    hand): every dataset column type, nulls anywhere, lengths across byte boundaries,
    gives the array pyarrow's own ``pa.array`` converter makes of the same values."""
    import pyarrow as pa

    from spftrace.schema import to_arrow

    assert isinstance(typ, pa.DataType)
    values = data.draw(st.lists(st.none() | _values(typ), max_size=40))
    got = to_arrow(values, typ)
    got.validate(full=True)
    assert got.equals(pa.array(values, typ)), (got, values)


def test_the_file_writer_writes_what_pyarrow_parquet_writes(tmp_path: Path) -> None:
    """runwriter.ParquetFileWriter (pyarrow._parquet, without pyarrow.fs) makes the same
    file, byte for byte, as pyarrow.parquet.ParquetWriter with the same options, and
    refuses a table of another schema as it does."""
    from spftrace import runwriter
    from spftrace.formats.perf_script import SPEC
    from spftrace.formats.spec import parse_chunks
    from spftrace.ingest.inputs import open_input

    inp = open_input(DATA / "traces" / "perf-script-default.txt")
    try:
        assert SPEC.parser is not None
        batches = list(parse_chunks(SPEC.parser(), inp.lines().chunks(), "events"))
    finally:
        inp.close()
    ds = Dataset(tmp_path / "ds", create=True)
    w = ds.writer("r", 0)
    tables = [w.prepare("events", b.rows, 0) for b in batches if b.n_rows]
    schema = w.schema("events")
    options = {
        "compression": "zstd", "use_dictionary": ["comm", "event"],
        "column_encoding": {"ts": "DELTA_BINARY_PACKED"}, "write_statistics": ["ts"],
        "data_page_version": "2.0",
    }  # fmt: skip
    ours, theirs = tmp_path / "ours.parquet", tmp_path / "theirs.parquet"
    a = runwriter.ParquetFileWriter(ours, schema, **options)
    b = pq.ParquetWriter(theirs, schema, **options)
    for t in tables:
        a.write_table(t, row_group_size=7)
        b.write_table(t, row_group_size=7)
    with pytest.raises(ValueError, match="schema"):
        a.write_table(tables[0].drop_columns(["payload"]), row_group_size=7)
    a.close()
    a.close()  # (abort after a failed commit closes again)
    b.close()
    assert sum(t.num_rows for t in tables) > 7
    assert ours.read_bytes() == theirs.read_bytes()


def _events_by_hand(n: int, first: int) -> object:
    """n events rows of the parser schema, every value a function of the row number:
    nulls in every nullable column, empty and full maps, callchains of 0-4 frames (and
    null), 120-byte payloads (so that a row group's payloads fill several pages)."""
    import pyarrow as pa

    from spftrace.schema import parser_schema

    rows = range(first, first + n)

    def maybe(v: object, i: int, every: int) -> object:
        return None if i % every == 0 else v

    frames = [
        None
        if i % 7 == 0
        else [
            {"ip": 0xFFFF0000 + i + k, "sym": maybe(f"f{k}", i + k, 3), "off": k, "dso": "[k]"}
            for k in range(i % 5)
        ]
        for i in rows
    ]
    cols = {
        "line_no": [i + 1 for i in rows],
        "ts": [maybe(1_000_000_000 + 1000 * i, i, 11) for i in rows],
        "cpu": [maybe(i % 4, i, 13) for i in rows],
        "pid": [maybe(100 + i % 9, i, 5) for i in rows],
        "tid": [maybe(200 + i % 17, i, 19) for i in rows],
        "comm": [maybe(f"task{i % 3}", i, 23) for i in rows],
        "event": [("exceptions:page_fault_user", "mmap_lock:x")[i % 2] for i in rows],
        "ip": [maybe(0x55BD2E420000 + i % 300, i, 29) for i in rows],
        "vm_start": [maybe(0x7F0000000000 + (i // 50) * 4096, i, 2) for i in rows],
        "vm_end": [maybe(0x7F0000100000 + (i // 50) * 4096, i, 2) for i in rows],
        "address": [maybe((2**64 - 1) - i * 4096, i, 31) for i in rows],
        "error_code": [maybe(i % 8, i, 37) for i in rows],
        "mm": [maybe(0xFFFF888100000000 + i % 2, i, 3) for i in rows],
        "write": [maybe(i % 2 == 0, i, 3) for i in rows],
        "success": [maybe(i % 3 == 0, i, 4) for i in rows],
        "fields": [[(f"k{k}", f"v{i}") for k in range(i % 3)] for i in rows],
        "payload": [f"address={i:#x} {'x' * 100}"[:120].ljust(120, ".") for i in rows],
        "period": [maybe(1, i, 41) for i in rows],
        "sym": [maybe("do_user_addr_fault", i, 43) for i in rows],
        "dso": [maybe("[kernel.kallsyms]", i, 47) for i in rows],
        "callchain": frames,
    }
    schema = parser_schema("events")
    return pa.table({f.name: pa.array(cols[f.name], f.type) for f in schema}, schema=schema)


def test_events_written_read_back_as_handed_in(tmp_path: Path) -> None:
    """RunWriter's Parquet options (dictionaries, delta encodings, pages as large as a
    row group, write batches of a whole parser batch, v2 pages) keep every value and
    type: 75,000 rows handed in as 15 batches of 5,000 (two row groups, the first one's
    payloads several pages) read back equal to what was handed in, in order."""
    import pyarrow as pa

    from spftrace import runwriter

    batches = [_events_by_hand(5000, k * 5000) for k in range(15)]
    ds = Dataset(tmp_path / "ds", create=True)
    w = ds.writer("r", 0)
    for b in batches:
        w.write("events", b, 0)
    o = w._open["events"]
    w._flush(o)
    o.writer.close()
    f = pq.ParquetFile(o.path)
    assert runwriter.WRITE_ROWS == 65536  # (written at 70,000 rows, and the rest)
    assert [f.metadata.row_group(g).num_rows for g in range(2)] == [70_000, 5000]
    rg = f.metadata.row_group(0)
    leaves = {rg.column(c).path_in_schema: rg.column(c) for c in range(rg.num_columns)}
    assert leaves["payload"].total_uncompressed_size > 4 * 2**20  # (pages of about 1 MB)
    got = f.read()
    want = pa.concat_tables(batches)
    assert got.schema.equals(w.schema("events"), check_metadata=False)
    assert got.column("input").to_pylist() == [0] * 75_000
    assert got.drop_columns(["input"]).equals(want)
    w.abort()
