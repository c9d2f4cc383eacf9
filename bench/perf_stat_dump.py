"""Parsed perf stat tables, to compare two builds: ``python bench/perf_stat_dump.py OUT``
writes, for every perf stat input under tests/data and every bench capture in
bench/work/, the rows (an Arrow table) and line accounting of a parse at the
format's chunk size and at 4 KiB chunks; ``... OUT --compare OTHER`` then says
which differ from OTHER's (a float column compares NaN equal to NaN).
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))


def dump(out: Path) -> int:
    import pyarrow as pa

    from spftrace.formats import FORMATS
    from spftrace.formats.spec import parse_chunks
    from spftrace.ingest.inputs import open_input

    data = ROOT / "tests" / "data"
    files = sorted(
        p for d in ("perf_stat", "perf_stat_public", "seed") for p in (data / d).glob("*.txt")
    )
    files += sorted((HERE / "work").glob("perf-stat-a-A-I10*.txt"))
    spec = FORMATS["perf-stat"]
    assert spec.parser is not None
    out.mkdir(parents=True, exist_ok=True)
    for f in files:
        for size in [spec.chunk_bytes] + ([4096] if f.parent.parent == data else []):
            inp = open_input(f)
            tables, acct = [], []
            for b in parse_chunks(spec.parser(), inp.lines().chunks(size), spec.table):
                if isinstance(b.rows, pa.Table) and b.rows.num_rows:
                    tables.append(b.rows)
                rejects = [repr(r) for r in b.rejects]
                stats = [repr(s) for s in b.stats]
                meta = sorted(b.meta.items())
                acct.append((b.lines, b.record_lines, b.ignored, rejects, stats, meta, b.notes))
            inp.close()
            table = pa.concat_tables(tables) if tables else None
            with (out / f"{f.parent.name}__{f.name}__{size}.pkl").open("wb") as fh:
                pickle.dump({"acct": acct, "table": table}, fh)
    return len(files)


def compare(a: Path, b: Path) -> int:
    bad = n = 0
    for f in sorted(a.glob("*.pkl")):
        x = pickle.loads(f.read_bytes())
        y = pickle.loads((b / f.name).read_bytes())
        n += 1
        ta, tb = x["table"], y["table"]
        same = ta is None and tb is None
        if ta is not None and tb is not None and ta.schema.equals(tb.schema):
            same = all(
                ta[c].equals(tb[c]) or repr(ta[c].to_pylist()) == repr(tb[c].to_pylist())
                for c in ta.column_names
            )
        if not same or x["acct"] != y["acct"]:
            bad += 1
            print("differs:", f.name)
    print(f"{n} parses compared, {bad} differ")
    return bad


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[2] == "--compare":
        sys.exit(1 if compare(Path(sys.argv[1]), Path(sys.argv[3])) else 0)
    print(dump(Path(sys.argv[1])), "inputs")
