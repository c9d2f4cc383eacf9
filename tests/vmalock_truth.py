"""An independent classification of per-VMA-lock faults, for tests.

Reads `perf script` text (default fields; frames under the mmap_lock samples) with its
own regular expressions and applies the rules of docs/per-vma-lock.md directly to the
stacks.  It shares no code with spftrace on purpose: tests hold spftrace's dataset,
classification and pairing equal to what this module reads from the same text.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

SAMPLE = re.compile(
    r"^\s*(?P<comm>.*?)\s+(?:(?P<pid>-?\d+)/)?(?P<tid>-?\d+)\s+\[(?P<cpu>\d+)\]\s+"
    r"(?P<sec>\d+)\.(?P<frac>\d+):\s+(?P<event>[\w.-]+:[\w.-]+):\s?(?P<payload>.*)$"
)
FRAME = re.compile(r"^\s*\t\s*(?P<ip>[0-9a-f]+)(?: (?P<sym>.*?))?(?: \((?P<dso>[^()]*)\))?$")
LOST = re.compile(r"PERF_RECORD_LOST lost (\d+)")


@dataclass
class Ev:
    tid: int
    ts: int
    event: str
    payload: str
    frames: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.event.split(":", 1)[1]

    @property
    def write(self) -> bool:
        return " write=true" in " " + self.payload

    @property
    def success(self) -> bool:
        return "success=true" in self.payload

    @property
    def mm(self) -> str:
        m = re.search(r"mm=(\S+)", self.payload)
        return m.group(1) if m else ""

    def took(self, fn: str) -> bool:
        return fn in self.frames


def read(path: str | Path) -> tuple[list[Ev], int]:
    """The samples (with the function names of their frames) and the lost count."""
    evs: list[Ev] = []
    lost = 0
    cur: Ev | None = None
    for raw in Path(path).read_text(errors="surrogateescape").splitlines():
        m = SAMPLE.match(raw)
        if m:
            ts = int(m["sec"]) * 10**9 + int((m["frac"] + "000000000")[:9])
            cur = Ev(int(m["tid"]), ts, m["event"], m["payload"])
            evs.append(cur)
            continue
        f = FRAME.match(raw)
        if f and cur is not None and raw.lstrip(" ").startswith("\t"):
            sym = (f["sym"] or "").split("+0x")[0]
            cur.frames.append(sym)
            continue
        lm = LOST.search(raw)
        if lm:
            lost += int(lm.group(1))
        cur = None if not raw.strip() else cur
    return evs, lost


@dataclass
class Truth:
    user_faults: int = 0
    kernel_faults: int = 0
    classes: Counter[str] = field(default_factory=Counter)
    fell_back_min: int = 0
    fell_back_max: int = 0
    write_holds: Counter[int] = field(default_factory=Counter)  # tid -> paired write holds
    write_held_ns: Counter[int] = field(default_factory=Counter)
    waits: int = 0  # a start_locking and the acquire_returned (either outcome) after it
    write_waits: int = 0
    lost: int = 0

    @property
    def fell_back(self) -> int:
        return sum(v for k, v in self.classes.items() if k != "vma_lock_success")


FAULTS = ("exceptions:page_fault_user", "exceptions:page_fault_kernel")


def classify(path: str | Path) -> Truth:
    evs, lost = read(path)
    t = Truth(lost=lost)
    by_tid: dict[int, list[Ev]] = defaultdict(list)
    for e in evs:
        by_tid[e.tid].append(e)
    any_kernel = any(e.event == FAULTS[1] for e in evs)
    for seq in by_tid.values():
        starts = [i for i, e in enumerate(seq) if e.event in FAULTS]
        for n, i in enumerate(starts):
            end = starts[n + 1] if n + 1 < len(starts) else len(seq)
            window = [e for e in seq[i + 1 : end] if e.event.startswith("mmap_lock:")]
            if seq[i].event == FAULTS[1]:
                t.kernel_faults += 1
                continue
            t.user_faults += 1
            t.classes[_exact(window)] += 1
            lo, hi = _bounds(window, any_kernel)
            t.fell_back_min += lo
            t.fell_back_max += hi
        _holds(seq, t)
        _waits(seq, t)
    return t


def _waits(seq: list[Ev], t: Truth) -> None:
    """A wait: per (thread, mm), a start_locking whose next mmap_lock event is an
    acquire_returned of the same mode (success or not), in the order perf printed."""
    last: dict[str, Ev] = {}
    for e in seq:
        if not e.event.startswith("mmap_lock:"):
            continue
        before = last.get(e.mm)
        last[e.mm] = e
        if (
            e.kind == "mmap_lock_acquire_returned"
            and before is not None
            and before.kind == "mmap_lock_start_locking"
            and before.write == e.write
        ):
            t.waits += 1
            t.write_waits += e.write


def _exact(window: list[Ev]) -> str:
    """Rules of docs/per-vma-lock.md section 3, read off the stacks."""
    lmfv = [
        e
        for e in window
        if e.took("lock_mm_and_find_vma") and e.kind in ("mmap_lock_start_locking",)
    ]
    if not lmfv:
        return "vma_lock_success"
    if any(e.write for e in lmfv):
        return "stack_expansion"
    first = window.index(lmfv[0])
    failed_anon = any(
        e.took("__vmf_anon_prepare") and e.kind == "mmap_lock_acquire_returned" and not e.success
        for e in window[:first]
    )
    return "vma_lock_retry" if failed_anon else "vma_lock_abort"


def _bounds(window: list[Ev], any_kernel: bool) -> tuple[int, int]:
    """Section 4: (certain, possible) without looking at the stacks."""
    if not window or window[0].kind != "mmap_lock_start_locking" or window[0].write:
        return 0, 0
    episode: list[Ev] = []
    for e in window:
        episode.append(e)
        if e.kind == "mmap_lock_released":
            break
    certain = 0
    for a, b in itertools.pairwise(episode):
        if (
            a.kind == "mmap_lock_acquire_returned"
            and not a.write
            and not a.success
            and b.kind == "mmap_lock_start_locking"
            and not b.write
        ):
            certain = 1
    return (certain if any_kernel else 0), 1


def _holds(seq: list[Ev], t: Truth) -> None:
    """Section 5: write holds per (thread, mm), downgrades end them."""
    open_: dict[str, list[tuple[bool, int]]] = defaultdict(list)
    started: dict[str, bool] = {}
    for e in seq:
        if not e.event.startswith("mmap_lock:"):
            continue
        stack = open_[e.mm]
        if e.kind == "mmap_lock_start_locking":
            started[e.mm] = True
        elif e.kind == "mmap_lock_acquire_returned":
            was_started = started.pop(e.mm, False)
            if not e.success:
                continue
            if not e.write and not was_started and stack and stack[-1][0]:
                _, since = stack.pop()  # downgrade
                t.write_holds[e.tid] += 1
                t.write_held_ns[e.tid] += e.ts - since
            stack.append((e.write, e.ts))
        elif e.kind == "mmap_lock_released":
            for k in range(len(stack) - 1, -1, -1):
                if stack[k][0] == e.write:
                    w, since = stack.pop(k)
                    if w:
                        t.write_holds[e.tid] += 1
                        t.write_held_ns[e.tid] += e.ts - since
                    break


if __name__ == "__main__":
    import sys

    for p in sys.argv[1:]:
        r = classify(p)
        print(p, r.user_faults, r.kernel_faults, dict(r.classes), r.fell_back,
              (r.fell_back_min, r.fell_back_max), r.lost)  # fmt: skip
