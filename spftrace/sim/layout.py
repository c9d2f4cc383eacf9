"""The mmap layout of ebizzy-like loops (``Workload.layout``).

Slot ``i`` is the ``i``-th chunk-sized range below the chunks mapped at start-up.
A new chunk takes the highest free slot (top-down get_unmapped_area, every hole
being exactly one chunk); adjacent mapped slots are one VMA (vma_merge of anonymous
mappings), so which threads a VMA change touches follows from where the chunks are.
"""

from __future__ import annotations

from .workloads import Workload


class Layout:
    def __init__(self, w: Workload) -> None:
        self.owner: dict[int, int] = {}  # slot -> thread
        self.pt_freed: set[int] = set()  # PMD ranges whose PTE page munmap freed
        self.per_pmd = max(1, w.pmd_span_kib // max(1, w.chunk_pages * w.page_kib))

    def run_of(self, slot: int) -> list[int]:
        """Threads whose chunks share a merged VMA with ``slot``: those next to it."""
        out = []
        for step in (-1, 1):
            s = slot + step
            while s in self.owner:
                out.append(self.owner[s])
                s += step
        return out

    def run_above(self, slot: int) -> list[int]:
        """Threads of the VMA after (above) the one holding ``slot``, across the hole:
        ``__vma_adjust`` also write-begins ``vma->vm_next`` (SPF v11, mm/mmap.c)."""
        top = slot
        while top - 1 in self.owner:
            top -= 1
        s = top - 1
        while s >= 0 and s not in self.owner:
            s -= 1
        out = []
        while s >= 0 and s in self.owner:
            out.append(self.owner[s])
            s -= 1
        return out

    def changed_by(self, slot: int, op: str, vm_next: bool = True) -> list[int]:
        """Threads whose VMA's sequence count a change at ``slot`` moves (SPF v11
        ``__vma_adjust`` write-begins ``vma`` and ``vma->vm_next``).  munmap of a chunk
        with a neighbour splits the merged VMA: it and the VMA above.  mmap next to a
        neighbour extends it, and the VMA above moves too; between two, ``vma_adjust(prev)``
        removes next and write-begins the VMA above next (4.17 ``remove_next`` path)."""
        near = self.run_of(slot)
        if not near or not vm_next:
            return near
        # mmap between two neighbours: vma_adjust(prev) removes next and then
        # write-begins the new vma->vm_next too (the VMA above), as the other cases do
        return near + self.run_above(slot)

    def adjusts(self, slot: int, op: str) -> int:
        """``__vma_adjust`` calls of a change at ``slot`` (mapped): munmap splits once
        per mapped neighbour (do_munmap: __split_vma at start, then at end); an mmap
        next to a mapped chunk merges (vma_merge: one), alone it only links."""
        n = (slot - 1 in self.owner) + (slot + 1 in self.owner)
        return n if op == "munmap" else min(1, n)

    def place(self, thread: int) -> int:
        slot = 0
        while slot in self.owner:
            slot += 1
        self.owner[slot] = thread
        return slot

    def unplace(self, thread: int, slot: int) -> None:
        """munmap frees the range; free_pgtables frees the PTE page when no VMA is
        left in its PMD range (the next fault there finds pmd_none)."""
        if self.owner.get(slot) != thread:
            return
        del self.owner[slot]
        lo = slot // self.per_pmd * self.per_pmd
        if not any(s in self.owner for s in range(lo, lo + self.per_pmd)):
            self.pt_freed.add(slot // self.per_pmd)

    def take_fresh_pte(self, slot: int) -> bool:
        """Whether the first fault in ``slot`` must allocate its PTE page (once)."""
        block = slot // self.per_pmd
        if block not in self.pt_freed:
            return False
        self.pt_freed.discard(block)
        return True


def group_vma(w: Workload, mm: int, group: int) -> tuple[int, int]:
    """Addresses of a group for emitted traces: with ``layout`` the chunk's own range,
    ``group`` slots below the top; else a 1 GiB VMA per group."""
    if w.layout:
        size = w.chunk_pages * w.page_kib * 1024
        top = 0x7F0000000000 - (mm * 0x1000000000) - (group + 1) * size
        return top, top + size
    base = 0x7F0000000000 - (mm * 0x1000000000) - group * 0x40000000
    return base, base + 0x40000000


def chunk_addr(w: Workload, mm: int, group: int, chunk: int) -> int:
    start, end = group_vma(w, mm, group)
    if w.layout:
        return start
    span = (end - start) // (w.chunk_pages * 4096)
    return start + (chunk % max(1, span)) * w.chunk_pages * 4096
