"""perf stat parse rate per output mode: ``python bench/perf_stat_paths.py [LINES]``.

Each input is a real capture from tests/data/perf_stat/ (PROVENANCE.tsv has the
commands) repeated to LINES lines (default 1M) with its timestamps moved
forward, so it stays one continuous stream in perf's exact layout.  Measured in
this process: the perf-stat parser over the file's chunks (no Parquet writing),
best of 3, and each mode's rate as a ratio to the human interval layout's; the
baseline for CSV is ``pandas.read_csv`` of the same file.
Written to bench/work/ (not committed); prints a Markdown table.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "work"
GOLDEN = ROOT / "tests" / "data" / "perf_stat"
sys.path.insert(0, str(ROOT))

#: mode -> (capture, what moves each repetition forward)
INPUTS = {
    "human -I -A": "per-cpu-interval-human.txt",
    "CSV -x, -I -A": "per-cpu-interval-csv.txt",
    "CSV -x; -I -A": "per-cpu-interval-csv.txt",
    "CSV -x, (no -I)": "csv-comma.txt",
    "JSON -j -I -A": "per-cpu-interval-json.txt",
    "JSON -j (no -I)": "json.txt",
}
_TIME = re.compile(r"(?<![\d.])(\d+\.\d{9})(?![\d])")


def build(mode: str, lines: int) -> Path:
    out = WORK / f"perf-stat-{re.sub(r'[^a-z0-9]+', '-', mode.lower()).strip('-')}-{lines}.txt"
    if out.exists():
        return out
    WORK.mkdir(parents=True, exist_ok=True)
    src = (GOLDEN / INPUTS[mode]).read_text().splitlines()
    if "x;" in mode:
        src = [ln.replace(",", ";") for ln in src]
    src = [ln for ln in src if ln.strip() and not ln.startswith("#")]
    stamps = [float(m.group(1)) for ln in src for m in _TIME.finditer(ln)]
    span = max(stamps) if stamps else 0.0
    written, k = 0, 0
    with out.open("w") as fh:
        while written < lines:
            shift = k * span

            def moved(m: re.Match[str], shift: float = shift) -> str:
                return f"{float(m.group(1)) + shift:.9f}"

            for ln in src:
                fh.write((_TIME.sub(moved, ln) if span else ln) + "\n")
                written += 1
                if written == lines:
                    break
            k += 1
    return out


def parse_rate(path: Path) -> tuple[float, int]:
    from spftrace.formats import FORMATS
    from spftrace.formats.spec import parse_chunks
    from spftrace.ingest.inputs import open_input

    best, rows = float("inf"), 0
    for _ in range(3):
        inp = open_input(path)
        spec = FORMATS["perf-stat"]
        assert spec.parser is not None
        t0 = time.perf_counter()
        n = rows = 0
        for b in parse_chunks(spec.parser(), inp.lines().chunks(spec.chunk_bytes), spec.table):
            n += b.lines
            rows += b.n_rows
        best = min(best, time.perf_counter() - t0)
        inp.close()
    return n / best, rows


def pandas_rate(path: Path, sep: str) -> float:
    import pandas as pd

    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        df = pd.read_csv(path, sep=sep, header=None)
        best = min(best, time.perf_counter() - t0)
    return len(df) / best


def main() -> None:
    lines = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    print(
        f"| mode ({lines:,} lines) | rows | parse lines/s | / human -I -A "
        "| pandas.read_csv lines/s |"
    )
    print("|---|---:|---:|---:|---:|")
    human = 0.0
    for mode in INPUTS:  # human first: the others' ratios are to it
        path = build(mode, lines)
        rate, rows = parse_rate(path)
        human = human or rate
        base = ""
        if mode.startswith("CSV"):
            base = f"{pandas_rate(path, ';' if 'x;' in mode else ','):,.0f}"
        print(f"| {mode} | {rows:,} | {rate:,.0f} | {rate / human:.2f} | {base} |", flush=True)


if __name__ == "__main__":
    main()
