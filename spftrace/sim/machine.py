"""A kernel-speed factor for the seed's machines from their kernbench runs (tried, not
applied to the defaults: docs/simulator.md, "kernbench's system time per fault").

The seed publishes, for the same two machines as its ebizzy figures, kernbench's system
time per build and ``perf stat``'s fault count over ``kernbench -M``: the kernel's CPU
time per fault of a kernel build.  ``bench/sim_calibrate/kernbench_sys.sh`` measures the
same quantity here; the ratio is a factor for the kernel-side costs of the model
(``KERNEL_COSTS``).  ``guest_wakeup`` repeats bench/sim_calibrate/guest_wakeup.py's
calibration of the guest's wake-up on its spf records/s with other constants set.
"""

from __future__ import annotations

from typing import Any

from . import run
from .workloads import PRESETS

#: kernel CPU time per fault of a kernel build, us.  The seed's: kernbench 0.42 with -M
#: runs a warm-up ``make -j optijobs``, then 5 half-load and 5 optimal-load builds (11),
#: and perf stat was taken on the SPF kernel: (5 x half + 6 x optimal SPF system time) /
#: faults.  Here: the ``km`` part of bench/sim_calibrate/kernbench_sys.txt (with
#: ``make prepare``, like a whole build; the compile-only part gives 4.504).
KERNBENCH_SYS_US_PER_FAULT = {
    "here": 33.04e6 / 6_521_062,  # 5.067
    "x86_guest": (5 * 923.28 + 6 * 1001.14) * 1e6 / 526_743_764,  # 20.17
    "power8": (5 * 134.04 + 6 * 157.153) * 1e6 / 116_730_856,  # 13.82
}

#: the model's kernel-side costs: kernel code whose speed is what kernbench's system time
#: measures.  Not the cache-line transfer, the IPI or the wake-up (hardware and
#: hypervisor latencies a build of single-threaded processes hardly exercises; the
#: guest's wake-up is calibrated apart), nor abort_us / spf_write_us (atomics priced at
#: the line transfer)
KERNEL_COSTS = ("fault_us", "clear_4k_us", "mmap_us", "munmap_us", "munmap_page_us", "adjust_us")


def factor(machine: str) -> float:
    """Seed machine's kernel time per fault of a build over this machine's."""
    t = KERNBENCH_SYS_US_PER_FAULT
    return t[machine] / t["here"]


def kernel_scaled(f: float, costs: tuple[str, ...] = KERNEL_COSTS) -> dict[str, float]:
    """ebizzy's kernel-side costs times ``f``, as overrides."""
    w = PRESETS["ebizzy"]
    return {k: getattr(w, k) * f for k in costs}


def guest_wakeup(target: float, scale: float = 5.0, **consts: Any) -> float:
    """The 16-CPU guest's ``wakeup_us`` that gives spf records/s ``target`` with
    ``consts`` set (bisection, to 5 us, as bench/sim_calibrate/guest_wakeup.py)."""

    def rate(w: float) -> float:
        r, _ = run("ebizzy", "spf", scale=scale, threads=16, cpus=16, **{**consts, "wakeup_us": w})
        return r.ops_per_s

    lo, hi = 17.7, 1000.0  # this machine's measured wake-up; a millisecond
    while hi - lo > 2.5:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if rate(mid) > target else (lo, mid)
    return float(round((lo + hi) / 2 / 5) * 5)
