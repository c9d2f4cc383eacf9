"""The base kernel's rwsem wait list (spftrace/sim/rwsem.py) against 4.17's rules, by
hand: kernel/locking/rwsem-xadd.c wakes the writer at the head of the wait list alone,
or every reader at the head up to the first queued writer; a woken task runs one
wake-up later; a writer behind readers waits until they are done."""

from __future__ import annotations

from dataclasses import replace

import pytest

from spftrace import sim
from spftrace.sim.rwsem import _FAULT, _GRANT, WaitListBase
from spftrace.sim.workloads import preset

W, F = 10.0, 2.0  # wake-up and fault service time of the hand-made cases


def engine() -> WaitListBase:
    w = replace(
        preset("ebizzy", threads=4, cpus=4),
        wakeup_us=W, wake_cv=0.0, pace_cv=0.0, fault_us=F, bounce_us=0.0,
    )  # fmt: skip
    e = WaitListBase(w)
    e.left = [5] * 4  # every thread is inside a run of faults
    return e


def pushed(e: WaitListBase) -> list[tuple[float, int, int]]:
    return sorted((at, kind, t) for at, kind, _, t in e.heap)


def test_a_release_wakes_the_readers_at_the_head_then_the_writer_behind_them() -> None:
    e = engine()
    lock = e.locks[0]
    lock.queue.extend([("R", 1, 0.0), ("R", 2, 0.0), ("W", 3, 0.0), ("R", 0, 0.0)])
    e._dispatch(lock, 100.0)
    # readers 1 and 2 run at 100 + W and hold the lock for one fault each; writer 3 is
    # woken when they are done (H + W + f + W); reader 0, behind the writer, waits
    assert pushed(e) == [
        (100 + W + F, _FAULT, 1),
        (100 + W + F, _FAULT, 2),
        (100 + W + F + W, _GRANT, 3),
    ]
    assert list(lock.queue) == [("R", 0, 0.0)] and lock.reserved
    assert e.fault_wait_us == pytest.approx(2 * (100 + W))


def test_a_writer_at_the_head_is_woken_alone() -> None:
    e = engine()
    lock = e.locks[0]
    lock.queue.extend([("W", 3, 0.0), ("R", 1, 0.0)])
    e._dispatch(lock, 50.0)
    assert pushed(e) == [(50 + W, _GRANT, 3)]
    assert list(lock.queue) == [("R", 1, 0.0)]
    assert not lock.open_for_readers()  # the fault behind the woken writer must queue


def test_faults_take_the_lock_at_once_when_nobody_waits() -> None:
    """A multi-threaded run with no VMA change in progress never sleeps (fast path)."""
    w = replace(preset("ebizzy", threads=1, cpus=1), duration_us=2_000.0)
    r = WaitListBase(w).run()
    assert r.faults > 0 and r.fault_wait_us == 0.0


def test_the_ebizzy_preset_base_runs_on_the_wait_list() -> None:
    w = preset("ebizzy")
    assert isinstance(sim.simulator(w, "base"), WaitListBase)
    assert not isinstance(sim.simulator(w, "spf"), WaitListBase)
    assert not isinstance(sim.simulator(preset("page_fault1"), "base"), WaitListBase)


def test_a_vma_change_moves_vm_next_as_well() -> None:
    """SPF v11 __vma_adjust write-begins ``vma`` and ``vma->vm_next`` (mm/mmap.c).
    Slots grow downwards in address; slot 0 is the highest."""
    from spftrace.sim.layout import Layout

    lay = Layout(preset("ebizzy"))
    for slot, thread in ((0, 10), (2, 12), (3, 13), (4, 14)):
        lay.owner[slot] = thread
    # munmap of 3 splits the VMA [2..4]: it and the VMA above (slot 0) move
    assert sorted(lay.changed_by(3, "munmap")) == [10, 12, 14]
    # a chunk alone is detached without a split: nothing else moves
    lay.owner.pop(2)
    lay.owner.pop(4)
    assert lay.changed_by(3, "munmap") == []
    # mmap between two neighbours merges them (vma_adjust(prev)): all of that run
    lay.owner.update({1: 11, 2: 12})  # slots 0-3 now one run, 1 just mapped
    assert sorted(lay.changed_by(1, "mmap")) == [10, 12, 13]
    # ... and, 4.17's remove_next path (next = vma->vm_next; vm_raw_write_begin(next)),
    # the VMA above the one removed: slot 7 fills the hole between 6 and 8, 4 is above
    lay = Layout(preset("ebizzy"))
    lay.owner.update({4: 14, 6: 16, 7: 17, 8: 18})
    assert sorted(lay.changed_by(7, "mmap")) == [14, 16, 18]
    # mmap next to one neighbour extends it, and the VMA above that moves too
    lay = Layout(preset("ebizzy"))
    lay.owner.update({0: 10, 2: 12, 3: 13})  # 3 just mapped below 2; hole at 1
    assert sorted(lay.changed_by(3, "mmap")) == [10, 12]
    assert lay.changed_by(3, "mmap", vm_next=False) == [12]


def test_the_sequence_count_window_is_one_vma_adjust_per_merge_or_split() -> None:
    """SPF v11/v12 write-begins mapped VMAs' counts only in __vma_adjust: do_munmap
    splits once per mapped neighbour (__split_vma at start, then at end), vma_merge
    adjusts once, a chunk alone is linked or detached without one."""
    from spftrace.sim.layout import Layout

    w = preset("ebizzy")
    lay = Layout(w)
    lay.owner.update({2: 12, 3: 13, 4: 14, 6: 16})
    munmaps = [lay.adjusts(slot, "munmap") for slot in (3, 2, 6)]
    assert munmaps == [2, 1, 0]
    assert [lay.adjusts(3, "mmap"), lay.adjusts(6, "mmap")] == [1, 0]
    spf = w.spf_write_us
    assert w.change_window_us("munmap", True, 2) == pytest.approx(2 * w.adjust_us + spf)
    assert w.change_window_us("mmap", False, 1) == pytest.approx(w.adjust_us)
    assert w.change_window_us("munmap", False, 0) == 0.0
    old = replace(w, adjust_us=0.0)  # the old rule: the call's fixed part
    assert old.change_window_us("munmap", False, 2) == w.munmap_us


def test_lazy_tlb_ipi_adds_one_wake_up_to_a_shared_munmap_only() -> None:
    w = preset("ebizzy", wakeup_us=W)
    lazy = replace(w, lazy_tlb_ipi=True)
    assert lazy.write_hold_us("munmap", False) == pytest.approx(
        w.write_hold_us("munmap", False) + W
    )
    assert lazy.write_hold_us("mmap", False) == w.write_hold_us("mmap", False)
    alone = replace(lazy, threads=1, threads_per_mm=1)  # no other CPU to shoot down
    assert alone.write_hold_us("munmap", False) == replace(alone, lazy_tlb_ipi=False).write_hold_us(
        "munmap", False
    )
