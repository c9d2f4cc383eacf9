"""What perf script knows about threads and address spaces while it prints samples.

Reference: tools/perf/util/machine.c (perf 6.1: machine__process_comm_event,
machine__process_fork_event, machine__process_exit_event, machine__process_mmap2_event),
tools/perf/util/thread.c (thread__new names a thread ":<tid>" until a COMM;
thread__fork copies the parent's comm only if the parent's was set),
tools/perf/util/session.c (perf_session__register_idle_thread: tid 0 is "swapper").
A thread's comm is the last one delivered before the sample, in perf's delivery
order (order.py), so these are applied in that order.
"""

from __future__ import annotations

import bisect
import struct
from dataclasses import dataclass, field

COMM, EXIT, FORK, MMAP, MMAP2, LOST, LOST_SAMPLES = 3, 4, 7, 1, 10, 2, 13
MISC_COMM_EXEC = 1 << 13
MISC_MMAP_BUILD_ID = 1 << 14
MISC_FORK_EXEC = 1 << 13
KERNEL_MMAP_PREFIX = "[kernel.kallsyms]"


@dataclass
class Map:
    start: int
    end: int
    pgoff: int
    name: str


@dataclass
class Threads:
    comm: dict[int, str] = field(default_factory=lambda: {0: "swapper"})
    pid_of: dict[int, int] = field(default_factory=lambda: {0: 0})
    #: maps per process (thread group), sorted by start
    maps: dict[int, list[Map]] = field(default_factory=dict)
    kernel: Map | None = None

    def comm_of(self, tid: int) -> str:
        c = self.comm.get(tid)
        return c if c is not None else f":{tid}"

    def _findnew(self, pid: int, tid: int) -> None:
        if tid not in self.pid_of or (self.pid_of[tid] == -1 and pid != -1):
            self.pid_of[tid] = pid

    def on_comm(self, pid: int, tid: int, name: str) -> None:
        self._findnew(pid, tid)
        self.comm[tid] = name

    def on_fork(self, pid: int, ppid: int, tid: int, ptid: int, misc: int) -> None:
        if ptid in self.pid_of and self.pid_of[ptid] != ppid:  # an erroneous parent
            self.pid_of.pop(ptid, None)
            self.comm.pop(ptid, None)
        self._findnew(ppid, ptid)
        self.pid_of.pop(tid, None)  # a thread reusing the id is a new thread
        self.comm.pop(tid, None)
        self._findnew(pid, tid)
        if ptid in self.comm:
            self.comm[tid] = self.comm[ptid]
        if pid != ppid and not misc & MISC_FORK_EXEC:
            self.maps[pid] = [Map(m.start, m.end, m.pgoff, m.name) for m in self.maps.get(ppid, [])]

    def on_mmap(self, pid: int, start: int, length: int, pgoff: int, name: str) -> None:
        if name.startswith(KERNEL_MMAP_PREFIX) and pid == -1:
            self.kernel = Map(start, start + length, pgoff, KERNEL_MMAP_PREFIX)
            return
        if length <= 0:
            return
        new = Map(start, start + length, pgoff, name)
        maps = self.maps.setdefault(pid, [])
        kept: list[Map] = []
        for m in maps:  # maps__fixup_overlappings: the new map cuts the old ones
            if m.end <= new.start or m.start >= new.end:
                kept.append(m)
                continue
            if m.start < new.start:
                kept.append(Map(m.start, new.start, m.pgoff, m.name))
            if m.end > new.end:
                kept.append(Map(new.end, m.end, m.pgoff + (new.end - m.start), m.name))
        kept.append(new)
        kept.sort(key=lambda m: m.start)
        self.maps[pid] = kept

    def find_user(self, pid: int, ip: int) -> Map | None:
        maps = self.maps.get(pid)
        if not maps:
            return None
        i = bisect.bisect_right([m.start for m in maps], ip) - 1
        if i >= 0 and maps[i].start <= ip < maps[i].end:
            return maps[i]
        return None


def _cstr(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def apply(threads: Threads, typ: int, misc: int, body: bytes, big: bool) -> bool:
    """Apply one COMM/FORK/EXIT/MMAP/MMAP2 record (``body`` after the 8-byte header,
    trailer included).  False if the record is too short to read."""
    e = ">" if big else "<"
    try:
        if typ == COMM:
            pid, tid = struct.unpack_from(e + "ii", body, 0)
            threads.on_comm(pid, tid, _cstr(body[8:]))
        elif typ == FORK:
            pid, ppid, tid, ptid = struct.unpack_from(e + "iiii", body, 0)
            threads.on_fork(pid, ppid, tid, ptid, misc)
        elif typ == EXIT:
            struct.unpack_from(e + "iiii", body, 0)
        elif typ == MMAP:
            pid, _tid, start, length, pgoff = struct.unpack_from(e + "iiQQQ", body, 0)
            threads.on_mmap(pid, start, length, pgoff, _cstr(body[32:]))
        elif typ == MMAP2:
            pid, _tid, start, length, pgoff = struct.unpack_from(e + "iiQQQ", body, 0)
            threads.on_mmap(pid, start, length, pgoff, _cstr(body[64:]))
    except struct.error:
        return False
    return True
