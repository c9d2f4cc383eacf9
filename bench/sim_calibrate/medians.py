"""Medians of bench/sim_calibrate/runs.txt and the spreads the simulator uses.

usage: python bench/sim_calibrate/medians.py [RUNS]   (prints NAME median [n runs])

RUNS defaults to runs.txt (costs.c); with runs_idle.txt (fault_idle.c) it also prints
each sleep's per-run ratio to the back-to-back run (idle_0), the simulator's
``IDLE_FAULT_RATIO``.
"""

from __future__ import annotations

import math
import statistics
import sys
from pathlib import Path


def main(path: Path) -> None:
    rows: dict[str, list[float]] = {}
    spreads: dict[str, list[float]] = {}
    ipi: list[float] = []  # per run: munmap with a second CPU in the mm minus without
    idle: dict[str, list[float]] = {}  # per run: a run after a sleep / back to back
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split()
        run = dict(zip(parts[::2], (float(v) for v in parts[1::2]), strict=True))
        for k, v in run.items():
            rows.setdefault(k, []).append(v)
        for k, v in run.items():
            if k.startswith("idle_") and not k.endswith(("_p25", "_p75")) and "idle_0" in run:
                idle.setdefault(f"{k}_ratio", []).append(v / run["idle_0"])
        if "munmap_512k_2" in run:
            ipi.append(run["munmap_512k_2"] - run["munmap_512k_1"])
        for name in ("fault_4k", "wake"):  # log-spread: ln(p75 / p25) / 1.349
            if f"{name}_p25" in run:
                spreads.setdefault(name, []).append(
                    math.log(run[f"{name}_p75"] / run[f"{name}_p25"]) / 1.349
                )
    for k, vals in rows.items():
        print(f"{k:<20} {statistics.median(vals):10.4f}  [{len(vals)} runs]")
    for k, vals in spreads.items():
        print(f"{k + '_logsd':<20} {statistics.median(vals):10.4f}  [{len(vals)} runs]")
    for k, vals in idle.items():
        print(f"{k:<20} {statistics.median(vals):10.4f}  [{len(vals)} runs]")
    if ipi:
        print(f"{'ipi_per_cpu':<20} {statistics.median(ipi):10.4f}  [{len(ipi)} runs]")
    if "munmap_512k_1" in rows and "munmap_512k_0pages" in rows:
        per_page = (statistics.median(rows["munmap_512k_1"]) - statistics.median(
            rows["munmap_512k_0pages"])) / 128  # fmt: skip
        print(f"{'munmap_per_page':<20} {per_page:10.4f}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("runs.txt"))
