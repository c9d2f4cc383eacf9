"""perf.data headers: the file header, attrs and ids, the pipe header, features.

Reference: tools/perf/Documentation/perf.data-file-format.txt; tools/perf/util/header.c
(perf_file_header__read: "PERFILE2" is a u64, so its bytes give the byte order and
"2ELIFREP" is a big-endian file; the feature bitmap is u64 words; read_attr; the
process_* functions for each feature; perf_event__process_feature for pipe mode).
simpleperf (AOSP system/extras/simpleperf/record_file_format.h) writes the same
header and adds features from 128 (FEAT_FILE, FEAT_META_INFO, ...): unknown
features are skipped by their section, named in the metadata.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from ..tracing_data import Cursor, TracingDataError
from .attr import ATTR_SIZES, Attr, parse_attr

MAGIC = b"PERFILE2"
MAGIC_BE = b"2ELIFREP"
MAGIC_V1 = b"PERFFILE"
FILE_HEADER = 104
FILE_HEADER_OLD = 72  # before the feature bitmap
PIPE_HEADER = 16

FEATURES = {
    1: "tracing_data", 2: "build_id", 3: "hostname", 4: "osrelease", 5: "version",
    6: "arch", 7: "nrcpus", 8: "cpudesc", 9: "cpuid", 10: "total_mem", 11: "cmdline",
    12: "event_desc", 13: "cpu_topology", 14: "numa_topology", 15: "branch_stack",
    16: "pmu_mappings", 17: "group_desc", 18: "auxtrace", 19: "stat", 20: "cache",
    21: "sample_time", 22: "mem_topology", 23: "clockid", 24: "dir_format",
    25: "bpf_prog_info", 26: "bpf_btf", 27: "compressed", 28: "cpu_pmu_caps",
    29: "clock_data", 30: "hybrid_topology", 31: "pmu_caps", 32: "cpu_domain_info",
    # simpleperf's own (record_file_format.h, FEAT_SIMPLEPERF_START = 128)
    128: "simpleperf_file", 129: "simpleperf_meta_info", 130: "simpleperf_debug_unwind",
    131: "simpleperf_debug_unwind_file", 132: "simpleperf_file2",
    133: "simpleperf_etm_branch_list", 134: "simpleperf_init_map",
}  # fmt: skip
HEADER_HOSTNAME = 3
KiB, MiB = 1 << 10, 1 << 20
#: the bytes spftrace reads of each feature it parses (header.c's write_* functions):
#: a u32-counted string (hostname ... cpuid: a few dozen bytes, NAME_ALIGN-padded);
#: two u32s (nrcpus), one u64 (total_mem), five u32s (compressed) - a longer
#: section of these is read only as far as that; for the others a longer section
#: is named unreadable and not read: the cmdline (argv, at most ARG_MAX: 2 MiB with
#: an 8 MiB stack), event_desc (an attr, name and ids per event: at most MAX_IDS ids
#: of 8 bytes and 65,536 events), build_id (36 bytes and a PATH_MAX name per DSO),
#: tracing_data (the used events' formats, and /proc/kallsyms for perf before 4.x:
#: a few MiB) and simpleperf's meta info (key/value strings).  The other features
#: are not parsed and not read.  A section of up to 1 GiB was read whole.
FEATURE_READ = {
    "hostname": 64 * KiB, "osrelease": 64 * KiB, "version": 64 * KiB, "arch": 64 * KiB,
    "cpudesc": 64 * KiB, "cpuid": 64 * KiB, "nrcpus": 8, "total_mem": 8, "compressed": 20,
}  # fmt: skip
FEATURE_MAX = {
    "cmdline": 4 * MiB, "event_desc": 32 * MiB, "build_id": 16 * MiB,
    "tracing_data": 32 * MiB, "simpleperf_meta_info": 1 * MiB,
}  # fmt: skip


class HeaderError(ValueError):
    """The header cannot be read; the message says why in a few words."""


@dataclass
class FileHeader:
    big_endian: bool
    pipe: bool
    attr_size: int = 0
    attrs: tuple[int, int] = (0, 0)
    data: tuple[int, int] = (0, 0)
    features: list[int] = field(default_factory=list)


def sniff(head: bytes) -> bool:
    return head[:8] in (MAGIC, MAGIC_BE)


def parse_file_header(buf: bytes) -> FileHeader:
    """The first bytes of a perf.data (16 for pipe mode, 104 for a file)."""
    if buf[:8] == MAGIC_V1:
        raise HeaderError(
            "perf.data version 1 (magic PERFFILE, perf before 2.6.38) is not supported"
        )
    if buf[:8] not in (MAGIC, MAGIC_BE):
        raise HeaderError("not a perf.data file (no PERFILE2 magic)")
    if len(buf) < PIPE_HEADER:
        raise HeaderError("file header cut short")
    big = buf[:8] == MAGIC_BE
    e = ">" if big else "<"
    (size,) = struct.unpack_from(e + "Q", buf, 8)
    if size == PIPE_HEADER:
        return FileHeader(big, True)
    if size not in (FILE_HEADER, FILE_HEADER_OLD):
        raise HeaderError(f"unknown file header size {size}")
    if len(buf) < size:
        raise HeaderError(f"file header cut short ({len(buf)} of {size} bytes)")
    attr_size, ao, asz, do, dsz = struct.unpack_from(e + "5Q", buf, 16)
    hdr = FileHeader(big, False, attr_size, (ao, asz), (do, dsz))
    if size == FILE_HEADER:
        hdr.features = _feature_bits(buf[72:104], big)
    if attr_size - 16 not in ATTR_SIZES:
        raise HeaderError(f"unknown perf_event_attr size {attr_size - 16}")
    if do < size or ao < size:
        raise HeaderError("sections overlap the file header")
    return hdr


def _feature_bits(raw: bytes, big: bool) -> list[int]:
    def bits(words: tuple[int, ...], width: int) -> list[int]:
        return [w * width + b for w, v in enumerate(words) for b in range(width) if v >> b & 1]

    e = ">" if big else "<"
    out = bits(struct.unpack(e + "4Q", raw), 64)
    if big and HEADER_HOSTNAME not in out:  # a 32-bit host wrote the bitmap as longs
        alt = bits(struct.unpack(e + "8I", raw), 32)
        if HEADER_HOSTNAME in alt:
            out = alt
    return out


def parse_attrs(buf: bytes, hdr: FileHeader) -> list[tuple[Attr, tuple[int, int]]]:
    """The attrs section: each attr and its ids section (offset, size)."""
    out = []
    step = hdr.attr_size
    e = ">" if hdr.big_endian else "<"
    for pos in range(0, len(buf) - step + 1, step):
        one = buf[pos : pos + step]
        attr = parse_attr(one[: step - 16], hdr.big_endian)
        if attr.size > step - 16:
            raise HeaderError(f"attr of {attr.size} bytes in {step - 16}-byte slots")
        ids = struct.unpack_from(e + "QQ", one, step - 16)
        out.append((attr, (int(ids[0]), int(ids[1]))))
    return out


@dataclass
class Features:
    """What spftrace keeps of the header features."""

    meta: dict[str, str] = field(default_factory=dict)
    event_names: dict[int, str] = field(default_factory=dict)  # sample id -> name
    event_desc: list[tuple[Attr, str, list[int]]] = field(default_factory=list)
    tracing: bytes | None = None
    build_ids: list[tuple[int, int, bytes, str]] = field(
        default_factory=list
    )  # misc, pid, id, file
    compressed: tuple[int, int] | None = None  # (type, mmap_len)
    unknown: list[int] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)


def _string(c: Cursor) -> str:
    n = c.u32()
    return c.take(n).split(b"\0", 1)[0].decode("utf-8", "replace")


def parse_feature(feat: int, raw: bytes, big: bool, out: Features) -> None:
    """One feature section (file mode) or HEADER_FEATURE payload (pipe mode)."""
    c = Cursor(raw, 0, big)
    name = FEATURES.get(feat)
    try:
        if name in ("hostname", "osrelease", "version", "arch", "cpudesc", "cpuid"):
            out.meta[name] = _string(c)
        elif name == "nrcpus":
            avail, online = c.u32(), c.u32()
            out.meta["nrcpus_avail"], out.meta["nrcpus_online"] = str(avail), str(online)
        elif name == "total_mem":
            out.meta["total_mem_kb"] = str(c.u64())
        elif name == "cmdline":
            args = [_string(c) for _ in range(c.u32())]
            out.meta["cmdline"] = " ".join(a.replace("'", "\\'") for a in args)
        elif name == "event_desc":
            _event_desc(c, big, out)
        elif name == "tracing_data":
            out.tracing = raw
        elif name == "build_id":
            _build_ids(raw, big, out)
        elif name == "compressed":
            _ver, ctype, _level, _ratio, mmap_len = (c.u32() for _ in range(5))
            out.compressed = (ctype, mmap_len)
        elif name == "simpleperf_meta_info":
            parts = raw.split(b"\0")
            for k, v in zip(parts[0::2], parts[1::2], strict=False):
                if k:
                    out.meta["simpleperf." + k.decode("utf-8", "replace")] = v.decode(
                        "utf-8", "replace"
                    )
        elif name is None:
            out.unknown.append(feat)
    except (TracingDataError, HeaderError, ValueError, struct.error):
        out.damaged.append(name or str(feat))


def _event_desc(c: Cursor, big: bool, out: Features) -> None:
    nre, sz = c.u32(), c.u32()
    if sz < 64 or nre > 1 << 16:
        raise HeaderError("bad event_desc")
    for _ in range(nre):
        attr = parse_attr(c.take(sz), big)
        nr = c.u32()
        name = _string(c)
        ids = [c.u64() for _ in range(nr)]
        out.event_desc.append((attr, name, ids))
        for i in ids:
            out.event_names[i] = name


def _build_ids(raw: bytes, big: bool, out: Features) -> None:
    e = ">" if big else "<"
    pos = 0
    while pos + 36 <= len(raw):
        _typ, misc, size = struct.unpack_from(e + "IHH", raw, pos)
        if size < 36 or pos + size > len(raw):
            break
        (pid,) = struct.unpack_from(e + "i", raw, pos + 8)
        bid = raw[pos + 12 : pos + 32]
        if misc & (1 << 15):  # PERF_RECORD_MISC_BUILD_ID_SIZE: the length is stored
            bid = bid[: raw[pos + 32]]
        fname = raw[pos + 36 : pos + size].split(b"\0", 1)[0].decode("utf-8", "replace")
        out.build_ids.append((misc, pid, bid, fname))
        pos += size
