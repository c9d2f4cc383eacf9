"""One perf.data being read: its attrs, names, formats, symbols and counters.

Header information arrives from the file header and features (file mode) or as
records in the stream (pipe mode: HEADER_ATTR, HEADER_TRACING_DATA,
HEADER_FEATURE, EVENT_UPDATE); both end up here.  Event names follow
perf's evsel__name: the stored name (event_desc / EVENT_UPDATE, matched by
position), else the tracepoint's system:name, else perf's generic names.
"""

from __future__ import annotations

import struct
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..kallsyms import Symbols, perf_symbols
from ..tracefs_format import EventFormat, parse_formats
from ..tracefs_rows import EventDecoder
from ..tracing_data import TracingDataError, parse_tracing_data
from . import attr as A
from . import state
from .attr import Attr
from .callchain import in_kernel_all
from .header import Features
from .walk import C, WalkConfig, attr_row, config_of

#: attrs of one file or stream (perf writes one per event; a pipe one HEADER_ATTR
#: record each): past it more are refused (file) or ignored and counted (pipe)
MAX_ATTRS = 4096
#: sample ids of all attrs (perf writes one per event and CPU or thread: 128 events on
#: 8192 CPUs); a damaged ids section past it is refused
MAX_IDS = 1 << 20

RECORD_NAMES = {
    1: "mmap", 2: "lost", 3: "comm", 4: "exit", 5: "throttle", 6: "unthrottle", 7: "fork",
    8: "read", 9: "sample", 10: "mmap2", 11: "aux", 12: "itrace_start", 13: "lost_samples",
    14: "switch", 15: "switch_cpu_wide", 16: "namespaces", 17: "ksymbol", 18: "bpf_event",
    19: "cgroup", 20: "text_poke", 21: "aux_output_hw_id", 64: "header_attr",
    65: "header_event_type", 66: "header_tracing_data", 67: "header_build_id",
    68: "finished_round", 69: "id_index", 70: "auxtrace_info", 71: "auxtrace",
    72: "auxtrace_error", 73: "thread_map", 74: "cpu_map", 75: "stat_config", 76: "stat",
    77: "stat_round", 78: "event_update", 79: "time_conv", 80: "header_feature",
    81: "compressed", 82: "finished_init",
}  # fmt: skip
STATE_TYPES = (state.COMM, state.FORK, state.EXIT, state.MMAP, state.MMAP2)


class _KernelNames:
    """The session's %ps resolver; ``scope`` tells which addresses it may name."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def __call__(
        self, addrs: np.ndarray[Any, Any]
    ) -> tuple[list[bytes | None], np.ndarray[Any, Any]]:
        return self.s._resolve(addrs)

    def scope(self, addrs: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        if self.s.ksyms is None:
            return np.zeros(len(addrs), bool)
        return in_kernel_all(self.s.threads, addrs)


@dataclass
class Session:
    big: bool
    source: str
    pipe: bool = False
    attrs: list[Attr] = field(default_factory=list)
    #: the sorted (sample id, attr index) pairs, as two arrays, and the attrs' walk
    #: rows: kept as attrs come (rebuilt for each HEADER_ATTR record, 4,000 of them
    #: took 30 s and 1.1 GB)
    id_keys: np.ndarray[Any, Any] = field(default_factory=lambda: np.zeros(0, np.uint64))
    id_attrs: np.ndarray[Any, Any] = field(default_factory=lambda: np.zeros(0, np.int64))
    rows: np.ndarray[Any, Any] = field(default_factory=lambda: np.zeros((0, 8), np.uint64))
    names: dict[int, str] = field(default_factory=dict)  # attr index -> stored name
    formats: dict[int, EventFormat] = field(default_factory=dict)
    long_size: int = 8
    features: Features = field(default_factory=Features)
    threads: state.Threads = field(default_factory=state.Threads)
    ksyms: Symbols | None = None
    decoder: EventDecoder | None = None
    counts: Counter[str] = field(default_factory=Counter)
    stats: list[tuple[str, int | None, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    lost: int = 0
    cfg: WalkConfig | None = None
    #: kallsyms text, Symbols, None, or "auto" (found by build-id when rows are built:
    #: pipe mode brings its features as records)
    symbol_source: Any = "auto"
    symbols_ready: bool = False

    # -- header information -------------------------------------------------------
    def add_attr(self, a: Attr, ids: list[int]) -> bool:
        """False, and nothing added, past MAX_ATTRS attrs or MAX_IDS ids."""
        idx = len(self.attrs)
        if idx >= MAX_ATTRS or len(self.id_keys) + len(ids) > MAX_IDS:
            return False
        self.attrs.append(a)
        if len(self.rows) == idx:
            grown = np.zeros((max(8, 2 * idx), 8), np.uint64)
            grown[:idx] = self.rows
            self.rows = grown
        self.rows[idx] = attr_row(a)
        if ids:  # after the pairs of the same id: attr indexes grow (walk.make_config)
            new = np.unique(np.array(ids, np.uint64))
            at = np.searchsorted(self.id_keys, new, side="right")
            self.id_keys = np.insert(self.id_keys, at, new)
            self.id_attrs = np.insert(self.id_attrs, at, idx)
        self.cfg = None
        return True

    def attrs_of(self, ident: int) -> list[int]:
        """The attrs holding sample id ``ident``."""
        lo, hi = (
            np.searchsorted(self.id_keys, np.uint64(ident), side="left"),
            np.searchsorted(self.id_keys, np.uint64(ident), side="right"),
        )
        return [int(a) for a in self.id_attrs[lo:hi].tolist()]

    def config(self) -> WalkConfig:
        if self.cfg is None:
            n = len(self.attrs)
            rows = self.rows[:n] if n else np.zeros((1, 8), np.uint64)
            first = self.attrs[0].sample_type if n else 0
            self.cfg = config_of(self.big, first, rows, self.id_keys, self.id_attrs)
        return self.cfg

    def set_tracing(self, raw: bytes | memoryview) -> None:
        try:
            td = parse_tracing_data(raw)
        except TracingDataError as err:
            self.notes.append(f"tracing data unreadable ({err}): tracepoint payloads not decoded")
            return
        self.formats, bad = parse_formats(td.formats)
        if bad:
            self.counts["formats_unreadable"] += bad
        self.long_size = td.long_size
        if td.kallsyms.strip() and self.ksyms is None:
            self.ksyms = perf_symbols(td.kallsyms)  # perf before 4.x stored them here
        self.make_decoder()

    def make_decoder(self) -> None:
        # perf script sets its %ps resolver when it opens the file; in pipe mode the
        # tracing data comes later, so pipe-mode payloads print addresses as numbers
        resolve = None if self.pipe else _KernelNames(self)
        self.decoder = EventDecoder(self.formats, long_size=self.long_size, resolve=resolve)

    def _resolve(
        self, addrs: np.ndarray[Any, Any]
    ) -> tuple[list[bytes | None], np.ndarray[Any, Any]]:
        """%ps: a kernel symbol for addresses in the kernel map (machine__resolve_kernel_addr)."""
        names: list[bytes | None] = [None] * len(addrs)
        starts = np.zeros(len(addrs), np.uint64)
        if self.ksyms is None:
            return names, starts
        inside = in_kernel_all(self.threads, addrs)
        if inside.any():
            rows = np.flatnonzero(inside)
            got, st = self.ksyms.resolve(addrs[rows])
            for r, g in zip(rows.tolist(), got, strict=True):
                names[r] = g
            starts[rows] = st
        return names, starts

    def ensure_symbols(self) -> None:
        if self.symbols_ready:
            return
        self.symbols_ready = True
        src = self.symbol_source
        if isinstance(src, Symbols):
            self.ksyms = src
        elif isinstance(src, bytes):
            self.ksyms = perf_symbols(src)
        elif src == "auto" and self.ksyms is None:
            from .buildid import find_kallsyms

            text = find_kallsyms(self.features.build_ids, self.features.meta.get("osrelease"))
            if text is not None:
                self.ksyms = perf_symbols(text)
        if self.ksyms is None:
            self.notes.append(
                "no kernel symbols for this file: kernel addresses are kept as numbers"
            )

    def event_name(self, idx: int) -> str:
        if idx in self.names:
            return self.names[idx]
        a = self.attrs[idx]
        fmt = self.formats.get(a.config) if a.type == A.TYPE_TRACEPOINT else None
        return A.default_name(a, fmt.full_name if fmt is not None else None)

    def apply_features(self, f: Features) -> None:
        self.features = f
        for i, (_a, name, _ids) in enumerate(f.event_desc):
            self.names.setdefault(i, name)
        if f.tracing is not None:
            self.set_tracing(f.tracing)

    def meta(self) -> dict[str, str]:
        m = self.features.meta
        out: dict[str, str] = {}
        for key, name in (
            ("osrelease", "kernel"), ("cmdline", "command"), ("hostname", "host"),
            ("arch", "arch"), ("version", "perf_version"), ("nrcpus_online", "nrcpus_online"),
            ("nrcpus_avail", "nrcpus_avail"), ("cpudesc", "cpudesc"),
        ):  # fmt: skip
            if key in m:
                out[name] = m[key]
        out.update({k: v for k, v in m.items() if k.startswith("simpleperf.")})
        if self.attrs:
            out["events"] = ",".join(self.event_name(i) for i in range(len(self.attrs)))
        if self.features.unknown:
            out["features_unknown"] = ",".join(map(str, self.features.unknown))
        return out

    # -- records in delivery order ---------------------------------------------------
    def state_record(self, buf: np.ndarray[Any, Any], row: np.ndarray[Any, Any]) -> None:
        typ = int(row[C["type"]])
        off, size = int(row[C["off"]]), int(row[C["size"]])
        body = buf[off + 8 : off + size].tobytes()
        cpu = int(np.uint64(row[C["cpu"]]).view(np.int64))
        cpu_key = cpu if cpu >= 0 else None
        e = ">" if self.big else "<"
        if typ in STATE_TYPES:
            if not state.apply(self.threads, typ, int(row[C["misc"]]), body, self.big):
                self.counts["records_malformed"] += 1
        elif typ == state.LOST and len(body) >= 16:
            _id, lost = struct.unpack_from(e + "QQ", body, 0)
            self.stats += [("chunks_lost", cpu_key, 1), ("events_lost", cpu_key, int(lost))]
            self.lost += int(lost)
        elif typ == state.LOST_SAMPLES and len(body) >= 8:
            (lost,) = struct.unpack_from(e + "Q", body, 0)
            self.stats.append(("samples_lost", cpu_key, int(lost)))
            self.lost += int(lost)
        else:
            self.counts["skipped_" + RECORD_NAMES.get(typ, f"type_{typ}")] += 1
