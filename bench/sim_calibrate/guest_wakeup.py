"""Calibrate the wake-up latency of the seed's 16-vCPU x86 guest (``X86_GUEST``).

usage: python bench/sim_calibrate/guest_wakeup.py

The guest cannot be measured here.  Of its ebizzy figures only the spf kernel's
records/s (1,490.24, the SPF v11 cover letter) is used: ``wakeup_us`` is bisected
until ``ebizzy -mTt 16`` on the spf kernel gives that rate (every other constant at
its default).  The base kernel's records/s (742.57) is not used, so the gain and the
base rate stay predictions; the script prints them beside the seed's.
"""

from __future__ import annotations

from pathlib import Path

from spftrace import sim
from spftrace.sim.machine import guest_wakeup

FIGURES = Path(__file__).parents[2] / "tests" / "data" / "sim_seed" / "cover-letter-figures.txt"


def seed_rates() -> tuple[float, float]:
    """(base, spf) records/s of the seed's 16-CPU x86 row."""
    row = "16 CPUs x86 VM"
    (line,) = [ln for ln in FIGURES.read_text().splitlines() if ln.startswith(row)]
    base, spf, _ = line[len(row) :].split()
    return float(base), float(spf)


SCALE = 5.0  # one simulated second: ~1,500 records, a rate steady to ~1%


def main() -> None:
    base_seed, spf_seed = seed_rates()
    w = guest_wakeup(spf_seed, scale=SCALE)  # bisection from 17.7 us to 1 ms, to 5 us
    spf, _ = sim.run("ebizzy", "spf", scale=SCALE, threads=16, cpus=16, wakeup_us=w)
    base, _ = sim.run("ebizzy", "base", scale=SCALE, threads=16, cpus=16, wakeup_us=w)
    print(f"wakeup_us {w:g}")
    print(f"spf records/s  {spf.ops_per_s:8.0f}  seed {spf_seed:8.2f}  (calibrated on)")
    print(f"base records/s {base.ops_per_s:8.0f}  seed {base_seed:8.2f}  (predicted)")
    print(f"gain           {100 * (spf.ops_per_s / base.ops_per_s - 1):7.1f}%  "
          f"seed {100 * (spf_seed / base_seed - 1):7.2f}%  (predicted)")  # fmt: skip


if __name__ == "__main__":
    main()
