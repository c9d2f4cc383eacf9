"""The simulator against the seed's published figures (issue 15), with default
constants: the expected numbers are read from the seed files (tests/data/seed, the
perf stat blocks; tests/data/sim_seed, the ebizzy records/s table and the LKP rows).

Every bound of issue 15 is a test; the ones the model does not meet (the 16- and
80-CPU shares) are strict expected failures, so meeting one turns the suite red until
its mark goes (docs/simulator.md says why they fail).  No constant is fitted to
a figure tested here, except where a test says so: kernbench's threaded-process share
(calibrated on the x86 run, checked on the Power8 run) and the x86 guest's wake-up
latency (calibrated on its spf records/s alone; its base rate and gain are tested)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from spftrace import sim
from spftrace.sim.workloads import POWER8, X86_GUEST

from .helpers import DATA

SEED = DATA / "seed"
FIGURES = (DATA / "sim_seed" / "cover-letter-figures.txt").read_text().splitlines()
EBIZZY_SECONDS = 10  # ebizzy.c read_options(): seconds = 10 (the seed passes no -S)
GUEST_SCALE = 5.0  # one simulated second of the 16-CPU guest (~1,500 records)


def perf_stat(name: str) -> dict[str, int]:
    """A seed perf stat block: event -> count."""
    text = (SEED / name).read_text()
    return {e: int(v) for v, e in re.findall(r"^\s+(\d+)\s+(\S+)\s*$", text, re.M)}


def records_per_s(row: str) -> tuple[float, float, float]:
    """(base, spf, delta %) of the ebizzy table row starting with ``row``."""
    (line,) = [ln for ln in FIGURES if ln.startswith(row)]
    base, spf, delta = line[len(row) :].split()
    return float(base), float(spf), float(delta.rstrip("%"))


def lkp_sign(test: str) -> int:
    """The sign of the LKP per_thread_ops change of ``test`` with THP disabled."""
    (line,) = [
        ln for ln in FIGURES if ln.startswith(f"{test}/ disable THP") and "per_thread_ops" in ln
    ]
    return 1 if line.split()[4].startswith("+") else -1


def shares(r: sim.Result) -> tuple[float, float]:
    return 100 * r.speculative / r.faults, 100 * r.fallbacks["spf_vma_changed"] / r.faults


def test_ebizzy_faults_per_record_follow_from_the_program() -> None:
    """A record is one 512 KiB chunk (8-byte records x 64Ki) touched page by page: 128
    faults on x86's 4 KiB pages, 8 on Power8's 64 KiB.  The seed's fault counts over
    ten seconds of its records/s agree with that geometry, and so does the model."""
    for stat, row, page_kib, plat in (
        ("ebizzy-x86-16cpu.txt", "16 CPUs x86 VM", 4, {}),
        ("ebizzy-power8-80cpu.txt", "80 CPUs P8 node", 64, POWER8),
    ):
        per_record = 8 * 64 * 1024 // (page_kib * 1024)
        _, spf, _ = records_per_s(row)
        seed = perf_stat(stat)["faults"] / (spf * EBIZZY_SECONDS)
        assert abs(seed / per_record - 1) < 0.15, (stat, seed, per_record)
        # a second of records, so that the runs cut by the window's end (their faults
        # counted, their record not) weigh under 1%
        r, w = sim.run("ebizzy", "spf", scale=5.0 if page_kib == 4 else 1.0, **plat)
        assert w.chunk_pages == per_record
        startup = round(w.static_chunks * per_record * r.duration_us / 10e6)
        assert (r.faults - startup) / r.ops == pytest.approx(per_record, rel=0.02)


def seed_shares(stat: str) -> tuple[float, float]:
    """The seed's (speculative %, spf_vma_changed %) of an ebizzy perf stat block."""
    seed = perf_stat(stat)
    return 100 * seed["spf"] / seed["faults"], 100 * seed["pagefault:spf_vma_changed"] / seed[
        "faults"
    ]


def gain(spf: sim.Result, base: sim.Result) -> float:
    return 100 * (spf.ops_per_s / base.ops_per_s - 1)


@pytest.fixture(scope="module")
def ebizzy16() -> tuple[sim.Result, sim.Result]:
    """ebizzy -mTt 16 on the seed's 16-vCPU x86 guest (X86_GUEST)."""
    opts = {"threads": 16, "cpus": 16, "scale": GUEST_SCALE, **X86_GUEST}
    spf, _ = sim.run("ebizzy", "spf", **opts)
    base, _ = sim.run("ebizzy", "base", **opts)
    return spf, base


def test_x86_guest_wakeup_calibrated_on_spf_rate_predicts_base_rate(
    ebizzy16: tuple[sim.Result, sim.Result],
) -> None:
    """The guest's wake-up latency is calibrated on the seed's spf records/s only
    (bench/sim_calibrate/guest_wakeup.py): that rate comes back, and the base rate,
    not used, comes out within 10% of the seed's."""
    base_seed, spf_seed, _ = records_per_s("16 CPUs x86 VM")
    spf, base = ebizzy16
    assert spf.ops_per_s == pytest.approx(spf_seed, rel=0.02)
    assert base.ops_per_s == pytest.approx(base_seed, rel=0.10)


def test_ebizzy_16_cpus_gain_within_15_points(ebizzy16: tuple[sim.Result, sim.Result]) -> None:
    _, _, d16 = records_per_s("16 CPUs x86 VM")
    assert abs(gain(*ebizzy16) - d16) <= 15.0


@pytest.mark.xfail(
    strict=True,
    reason="not met: 99.16% / 0.72% (seed 98.14 / 1.79): 0.46 aborts per VMA change where "
    "the seed's counts give 1.15.  Aborts per change = fault rate x (speculative window + "
    "the change's 0.90 us); the rates match (model ~191,800 faults/s, seed 170,638), so "
    "the seed asks for 6.7 us of window plus change where this machine's measured fault "
    "work gives 2.7 us (1.49 us, +0.33 us after the ~5 ms sleep: fault_idle.c; the lock "
    "line's transfers come before the window, in get_vma).  Slower fault work in the "
    "seed's guest is a second guest constant not measurable here (docs/simulator.md, the "
    "16 -> 80 scaling); the guest's kernbench system time per fault (20.17 us, here 5.07) "
    "as a factor on the kernel costs overshoots: 96.74% / 3.18%",
)
def test_ebizzy_16_cpus_shares_within_bounds(ebizzy16: tuple[sim.Result, sim.Result]) -> None:
    seed_spec, seed_changed = seed_shares("ebizzy-x86-16cpu.txt")
    spec, changed = shares(ebizzy16[0])
    assert abs(spec - seed_spec) <= 0.5
    assert abs(changed - seed_changed) <= 0.3


def test_ebizzy_80_cpus_gain_within_15_points(ebizzy80: tuple[sim.Result, sim.Result]) -> None:
    _, _, d80 = records_per_s("80 CPUs P8 node")
    assert abs(gain(*ebizzy80) - d80) <= 15.0


@pytest.fixture(scope="module")
def ebizzy80() -> tuple[sim.Result, sim.Result]:
    spf, _ = sim.run("ebizzy", "spf", threads=80, cpus=80, **POWER8)
    base, _ = sim.run("ebizzy", "base", threads=80, cpus=80, **POWER8)
    return spf, base


@pytest.mark.xfail(
    strict=True,
    reason="not met: 85.22% / 14.51% (seed 77.94 / 22.05): 0.58 aborts per VMA change "
    "where the seed's counts give 0.88.  With v11's order (vm_sequence read after get_vma, "
    "so the 3.8 us worst-case lock-line charge is outside the window; __vma_adjust moves "
    "vma and vm_next for 0.65 us, measured) window plus change is 3.1 us (2.03 us fault "
    "work with the 64 KiB clear at this machine's memset rate, +0.20 us after the ~1.6 ms "
    "sleep) where the seed's 187,477 faults/s ask 4.7 us; Power8's fault work and wake-up "
    "are not measurable here (docs/simulator.md, the 16 -> 80 scaling, sensitivity table); "
    "Power8's kernbench system time per fault (13.82 us, here 5.07) as a factor on the "
    "kernel costs overshoots: 65.11% / 34.68%",
)
def test_ebizzy_80_cpus_shares_within_3_points(ebizzy80: tuple[sim.Result, sim.Result]) -> None:
    seed_spec, seed_changed = seed_shares("ebizzy-power8-80cpu.txt")
    spec, changed = shares(ebizzy80[0])
    assert abs(spec - seed_spec) <= 3.0
    assert abs(changed - seed_changed) <= 3.0


def test_vma_changed_grows_from_16_to_80_cpus(
    ebizzy16: tuple[sim.Result, sim.Result], ebizzy80: tuple[sim.Result, sim.Result]
) -> None:
    """The seed's ordering: far more spf_vma_changed per fault on the 80-CPU node (8
    faults per two VMA changes instead of 128)."""
    r16 = ebizzy16[0]
    s16, s80 = perf_stat("ebizzy-x86-16cpu.txt"), perf_stat("ebizzy-power8-80cpu.txt")
    seed16 = s16["pagefault:spf_vma_changed"] / s16["faults"]
    seed80 = s80["pagefault:spf_vma_changed"] / s80["faults"]
    assert seed80 > 3 * seed16
    assert shares(ebizzy80[0])[1] > 3 * shares(r16)[1]


def test_idle_fault_ratio_is_the_measurement() -> None:
    """IDLE_FAULT_RATIO is the median over the runs of bench/sim_calibrate/runs_idle.txt
    of each sleep's run cost over the back-to-back run's (recomputed here from the
    file), and a run's extra cost per fault interpolates it, flat beyond 10 ms."""
    from statistics import median

    from spftrace.sim.workloads import IDLE_FAULT_RATIO, preset

    path = Path(__file__).parents[1] / "bench" / "sim_calibrate" / "runs_idle.txt"
    runs = []
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            f = line.split()
            runs.append(dict(zip(f[::2], map(float, f[1::2]), strict=True)))
    for sleep, ratio in IDLE_FAULT_RATIO:
        got = median(r[f"idle_{sleep:g}"] / r["idle_0"] for r in runs)
        assert got == pytest.approx(ratio, abs=5e-4), sleep
    w = preset("ebizzy")
    assert w.idle_extra_us(0.0) == 0.0
    # halfway between the 3 ms and 10 ms points: (1.166 + 1.355) / 2 - 1 = 0.2605
    assert w.idle_extra_us(6500.0) == pytest.approx(1.49 * 0.2605)
    assert w.idle_extra_us(1e6) == pytest.approx(1.49 * 0.355)
    assert preset("ebizzy", idle_fault=0.0).idle_extra_us(6500.0) == 0.0


def test_slower_runs_after_a_sleep_raise_the_16_cpu_aborts(
    ebizzy16: tuple[sim.Result, sim.Result],
) -> None:
    """On the 16-CPU guest a run after the thread's ~5 ms sleep lasts longer than the
    back-to-back one, so it meets the next change more often: more spf_vma_changed per
    fault than with the effect off, and the spf records/s (bound by the chain of VMA
    changes, on which the guest's wake-up is calibrated) stay within 1%."""
    opts = {"threads": 16, "cpus": 16, "scale": GUEST_SCALE, **X86_GUEST}
    off, _ = sim.run("ebizzy", "spf", idle_fault=0.0, **opts)
    on = ebizzy16[0]
    assert shares(on)[1] > 2 * shares(off)[1]
    assert on.ops_per_s == pytest.approx(off.ops_per_s, rel=0.01)


def test_gain_is_larger_on_16_cpus_than_on_80(
    ebizzy16: tuple[sim.Result, sim.Result], ebizzy80: tuple[sim.Result, sim.Result]
) -> None:
    """The seed's ordering of the throughput gains comes out of the model on the seed's
    two platforms: the guest's wake-up dominates its VMA changes' hold more than the
    Power8 node's does (the gain tends to W / (H + W))."""
    _, _, d16 = records_per_s("16 CPUs x86 VM")
    _, _, d80 = records_per_s("80 CPUs P8 node")
    assert d16 > d80
    assert gain(*ebizzy16) > gain(*ebizzy80) > 0


def test_kernbench_residue_of_threaded_processes() -> None:
    """A few of the build's processes are threaded: their faults are attempted, most
    on file-backed VMAs (spf_vma_notsup).  The share is calibrated on the x86 counts
    (workloads.py); the Power8 run, not used for it, has the same order of magnitude."""
    r, _ = sim.run("kernbench", "spf", scale=30)
    notsup = r.fallbacks["spf_vma_notsup"]
    assert r.speculative > 0 and notsup > 0
    assert r.speculative / r.faults < 1e-4 and notsup / r.faults < 1e-4
    p8 = perf_stat("kernbench-power8-80cpu.txt")
    attempted = sum(v for e, v in p8.items() if e != "faults") / p8["faults"]
    assert 0.5 < (r.speculative + r.fallback_total) / r.faults / attempted < 2.0
    none, _ = sim.run("kernbench", "spf", scale=30, mt_fault_frac=0.0)
    assert none.speculative == 0 and none.fallback_total == 0


@pytest.mark.parametrize("test", ["page_fault1", "page_fault2", "page_fault3", "malloc1"])
def test_will_it_scale_signs_as_in_the_lkp_table(test: str) -> None:
    """per_thread_ops: page_fault2/3 regress (every fault tries the speculative path
    and falls back), page_fault1 and malloc1 improve (faults no longer wait for other
    threads' munmap); averaged over three seeds, as LKP averages runs."""
    scale = 1.0 if test == "malloc1" else 3.0
    ops = dict.fromkeys(("base", "spf"), 0.0)
    for seed in (1, 2, 3):
        for k in ops:
            r, _ = sim.run(test, k, seed=seed, scale=scale)
            ops[k] += r.ops_per_s
    change = ops["spf"] / ops["base"] - 1
    assert (1 if change > 0 else -1) == lkp_sign(test), change


def test_docs_table_lists_every_constant() -> None:
    """docs/simulator.md's constants table names every overridable Workload field."""
    from spftrace.sim.workloads import OVERRIDABLE

    doc = (Path(__file__).parents[1] / "docs" / "simulator.md").read_text()
    table = [ln for ln in doc.splitlines() if ln.startswith("| `")]
    missing = [n for n in OVERRIDABLE if not any(f"`{n}`" in ln for ln in table)]
    assert not missing


def test_sweep_table_moves_with_the_constant() -> None:
    from spftrace.sim import sweep

    sweeps, scale, seed = sweep.parse(["wakeup_us=35.4", "--scale", "0.2"])
    assert sweeps == [("wakeup_us", [35.4])] and scale == 0.2 and seed == 1
    rows = sweep.table(sweeps, scale, seed).splitlines()
    assert rows[2].startswith("| seed (published) |") and "98.14" in rows[2]
    defaults, moved = rows[3].split("|")[3:9], rows[4].split("|")[3:9]
    assert rows[4].startswith("| wakeup_us | 35.4 |") and defaults != moved
    with pytest.raises(SystemExit, match="NAME=a,b,c"):
        sweep.parse(["bogus=1"])
    with pytest.raises(SystemExit, match="must be ints"):
        sweep.parse(["threads=x"])


def kernbench_sys_s(machine_row: str) -> float:
    """Kernel seconds of the seed's ``kernbench -M`` on the SPF kernel: kernbench 0.42's
    warm-up build (``make -j optijobs``, not timed) and 5 optimal-load builds at the
    optimal-load mean, 5 half-load builds at the half-load mean."""
    lines = (DATA / "sim_seed" / "kernbench-times.txt").read_text().split(machine_row, 1)[1]
    half, opti = re.findall(r"^System  Time\s+\S+\s+\(\S+\)\s+(\S+)", lines, re.M)[:2]
    return 5 * float(half) + 6 * float(opti)


def test_kernbench_system_time_per_fault() -> None:
    """The seed's kernel time per fault of a kernel build, by hand: (5 x 923.28 + 6 x
    1001.14) s / 526,743,764 = 20.17 us on the guest, (5 x 134.04 + 6 x 157.153) s /
    116,730,856 = 13.82 us on Power8; here (bench/sim_calibrate/kernbench_sys.txt, the
    part with make prepare) 33.04 s / 6,521,062 = 5.067 us."""
    from spftrace.sim.machine import KERNBENCH_SYS_US_PER_FAULT as per_fault

    for machine, row, stat, hand in (
        ("x86_guest", "16 CPUs X86 guest", "kernbench-x86-16cpu.txt", 20.17),
        ("power8", "80 CPUs Power8", "kernbench-power8-80cpu.txt", 13.82),
    ):
        got = kernbench_sys_s(row) * 1e6 / perf_stat(stat)["faults"]
        assert got == pytest.approx(hand, abs=0.005)
        assert per_fault[machine] == pytest.approx(got)
    path = Path(__file__).parents[1] / "bench" / "sim_calibrate" / "kernbench_sys.txt"
    (km,) = [ln.split() for ln in path.read_text().splitlines() if ln.startswith("km ")]
    faults, sys_s = int(km[4]), float(km[6])
    assert per_fault["here"] == pytest.approx(sys_s * 1e6 / faults)
    assert per_fault["here"] == pytest.approx(5.067, abs=5e-4)


def test_kernbench_factor_overshoots_spf_vma_changed() -> None:
    """Scaling every kernel-side cost by the seed machine's kernbench system time per
    fault over this machine's (x3.98 guest, x2.73 Power8; the guest's wake-up
    recalibrated on its spf records/s) overshoots spf_vma_changed past the bound on
    both platforms: per fault, a build's kernel time is no measure of the fault window
    (docs/simulator.md, why the factor is not applied)."""
    from spftrace.sim import machine

    g = machine.kernel_scaled(machine.factor("x86_guest"))
    wake = machine.guest_wakeup(records_per_s("16 CPUs x86 VM")[1], scale=GUEST_SCALE, **g)
    r16, _ = sim.run("ebizzy", "spf", threads=16, cpus=16, scale=GUEST_SCALE, wakeup_us=wake, **g)
    p8 = {**POWER8, **machine.kernel_scaled(machine.factor("power8"))}
    r80, _ = sim.run("ebizzy", "spf", threads=80, cpus=80, **p8)
    assert shares(r16)[1] > seed_shares("ebizzy-x86-16cpu.txt")[1] + 0.3
    assert shares(r80)[1] > seed_shares("ebizzy-power8-80cpu.txt")[1] + 3.0
