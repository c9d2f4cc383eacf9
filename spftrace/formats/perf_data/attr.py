"""perf_event_attr: every size perf wrote since 3.x, both byte orders, and event names.

Reference: include/uapi/linux/perf_event.h (struct perf_event_attr, PERF_ATTR_SIZE_VER0..8,
PERF_SAMPLE_*, PERF_FORMAT_*), tools/perf/util/session.c perf_event__attr_swap (the
flag bitfield of a file from the other byte order has the bits of each byte
reversed, not the bytes), tools/perf/util/evsel.c (evsel__hw_names, evsel__sw_names,
evsel__add_modifiers: the names perf gives events it has no name for).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass


def _words(text: str) -> list[str]:
    return text.split()


ATTR_SIZES = (64, 72, 80, 96, 104, 112, 120, 128, 136)  # VER0..VER8

# sample_type bits
IP, TID, TIME, ADDR, READ, CALLCHAIN, ID, CPU, PERIOD = (1 << i for i in range(9))
STREAM_ID, RAW, BRANCH_STACK, REGS_USER, STACK_USER, WEIGHT, DATA_SRC = (
    1 << i for i in range(9, 16)
)
IDENTIFIER, TRANSACTION, REGS_INTR, PHYS_ADDR, AUX, CGROUP = (1 << i for i in range(16, 22))
DATA_PAGE_SIZE, CODE_PAGE_SIZE, WEIGHT_STRUCT = (1 << i for i in range(22, 25))
SAMPLE_NAMES = _words(
    "IP TID TIME ADDR READ CALLCHAIN ID CPU PERIOD STREAM_ID RAW BRANCH_STACK REGS_USER "
    "STACK_USER WEIGHT DATA_SRC IDENTIFIER TRANSACTION REGS_INTR PHYS_ADDR AUX CGROUP "
    "DATA_PAGE_SIZE CODE_PAGE_SIZE WEIGHT_STRUCT"
)
KNOWN_SAMPLE_BITS = (1 << len(SAMPLE_NAMES)) - 1

# read_format bits
FMT_ENABLED, FMT_RUNNING, FMT_ID, FMT_GROUP, FMT_LOST = (1 << i for i in range(5))

# branch_sample_type bits that change the size of a branch stack
BRANCH_HW_INDEX = 1 << 17
BRANCH_COUNTERS = 1 << 19

TYPE_HARDWARE, TYPE_SOFTWARE, TYPE_TRACEPOINT, TYPE_HW_CACHE, TYPE_RAW, TYPE_BREAKPOINT = range(6)

_HW = _words(
    "cycles instructions cache-references cache-misses branches branch-misses bus-cycles "
    "stalled-cycles-frontend stalled-cycles-backend ref-cycles"
)
_SW = _words(
    "cpu-clock task-clock page-faults context-switches cpu-migrations minor-faults "
    "major-faults alignment-faults emulation-faults dummy bpf-output cgroup-switches"
)

_FLAGS = _words(
    "disabled inherit pinned exclusive exclude_user exclude_kernel exclude_hv "
    "exclude_idle mmap comm freq inherit_stat enable_on_exec task watermark precise_ip "
    "precise_ip2 mmap_data sample_id_all exclude_host exclude_guest "
    "exclude_callchain_kernel exclude_callchain_user mmap2 comm_exec use_clockid "
    "context_switch write_backward namespaces ksymbol bpf_event aux_output cgroup "
    "text_poke build_id inherit_thread remove_on_exec sigtrap"
)
_BIT = {name: i for i, name in enumerate(_FLAGS)}


def _revbits(b: int) -> int:
    return int(f"{b:08b}"[::-1], 2)


_REV = bytes(_revbits(i) for i in range(256))


@dataclass(frozen=True)
class Attr:
    type: int
    size: int
    config: int
    sample_period: int
    sample_type: int
    read_format: int
    flags: int  # the bitfield, bit 0 = disabled, in the little-endian numbering
    branch_sample_type: int = 0
    sample_regs_user: int = 0
    sample_regs_intr: int = 0
    config1: int = 0
    config2: int = 0

    def flag(self, name: str) -> bool:
        return bool(self.flags >> _BIT[name] & 1)

    @property
    def precise_ip(self) -> int:
        return (self.flags >> _BIT["precise_ip"]) & 3

    @property
    def sample_id_all(self) -> bool:
        return self.flag("sample_id_all")

    def sample_type_text(self) -> str:
        return "|".join(n for i, n in enumerate(SAMPLE_NAMES) if self.sample_type >> i & 1)

    def read_size(self) -> int | None:
        """Bytes of a non-group PERF_SAMPLE_READ (None: group, sized by its nr)."""
        if self.read_format & FMT_GROUP:
            return None
        rf = self.read_format
        return 8 * (1 + sum(1 for b in (FMT_ENABLED, FMT_RUNNING, FMT_ID, FMT_LOST) if rf & b))


def parse_attr(buf: bytes, big_endian: bool) -> Attr:
    """One perf_event_attr from at least its ``size`` bytes (0 means VER0)."""
    e = ">" if big_endian else "<"
    if len(buf) < 64:
        raise ValueError("perf_event_attr shorter than 64 bytes")
    typ, size, config, period, stype, rfmt = struct.unpack_from(e + "IIQQQQ", buf, 0)
    raw_flags = buf[40:48]
    if big_endian:
        raw_flags = raw_flags.translate(_REV)
    flags = int.from_bytes(raw_flags, "little")
    size = size or 64
    have = min(size, len(buf))

    def q(off: int) -> int:
        return struct.unpack_from(e + "Q", buf, off)[0] if off + 8 <= have else 0

    return Attr(
        typ, size, config, period, stype, rfmt, flags,
        branch_sample_type=q(72), sample_regs_user=q(80), sample_regs_intr=q(96),
        config1=q(56), config2=q(64),
    )  # fmt: skip


def modifiers(a: Attr) -> str:
    """evsel__add_modifiers: ':u', ':k', ':ppp', ':H' ... as perf appends them."""
    mods = ""
    exclude_guest_default = False
    if a.flag("exclude_kernel") or a.flag("exclude_user") or a.flag("exclude_hv"):
        for ctx, ch in (("kernel", "k"), ("user", "u"), ("hv", "h")):
            if not a.flag("exclude_" + ctx):
                mods += ch
        exclude_guest_default = True
    if a.precise_ip:
        mods += "ppp"[: a.precise_ip]
        exclude_guest_default = True
    if a.flag("exclude_host") or a.flag("exclude_guest") == exclude_guest_default:
        for ctx, ch in (("host", "H"), ("guest", "G")):
            if not a.flag("exclude_" + ctx):
                mods += ch
    return ":" + mods if mods else ""


def default_name(a: Attr, tracepoint: str | None = None) -> str:
    """The name perf gives an event without a stored name (evsel__name)."""
    if a.type == TYPE_TRACEPOINT:
        return tracepoint or f"tracepoint:{a.config}"
    if a.type == TYPE_HARDWARE and a.config < len(_HW):
        return _HW[a.config] + modifiers(a)
    if a.type == TYPE_SOFTWARE and a.config < len(_SW):
        return _SW[a.config] + modifiers(a)
    if a.type == TYPE_RAW:
        return f"r{a.config:x}" + modifiers(a)
    return f"unknown-{a.type}:{a.config:#x}"
