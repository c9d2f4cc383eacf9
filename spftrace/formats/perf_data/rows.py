"""Delivered perf.data records -> an events table (the columns perf script text gives).

Records arrive in perf's delivery order (order.py), samples mixed with the
COMM/FORK/MMAP records that change what a sample's comm and objects are; the
state changes are applied in that order and each run of samples between two of
them is resolved at once.  Tracepoint payloads go through the shared decoder
(tracefs_rows.py); other samples (page-faults, cpu-clock) get an empty payload,
their sample ip in ``ip`` and PERF_SAMPLE_ADDR in ``address``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import strcol as sc
from ..events_table import build_events_table
from ..numbers import unique_inverse
from ..tracefs_format import Records
from ..tracefs_rows import BOOL_KEYS, EventRows
from . import attr as A
from . import state
from .callchain import Names, frames, resolve
from .walk import NO_TIME, SAMPLE, C

U64 = np.uint64


class RowBuilder:
    def __init__(self, session: Any) -> None:
        self.s = session
        self.line_no = 0
        self.syms = Names()
        self.dsos = Names()

    def build(self, buf: np.ndarray[Any, Any], wcols: np.ndarray[Any, Any]) -> Any:
        """``wcols``: the walk columns (NCOL, n) of delivered records (offsets into
        ``buf``), in order (reader.gather)."""
        s = self.s
        s.ensure_symbols()
        typ = wcols[C["type"]].astype(np.int64)
        is_sample = typ == SAMPLE
        # apply state records in order; remember the run each sample belongs to
        run = np.cumsum(~is_sample) if len(typ) else np.zeros(0, np.int64)
        samples = np.flatnonzero(is_sample)
        t = wcols if len(samples) == len(typ) else wcols[:, samples]
        n = len(samples)
        s_run = run[samples]
        comms: list[bytes] = []
        comm_pos: dict[str, int] = {}
        tid = t[C["tid"]].view(np.int64).astype(np.int32)
        pid = t[C["pid"]].view(np.int64).astype(np.int32)
        misc = t[C["misc"]].view(np.int64)
        ip = t[C["ip"]]
        fr = frames(buf, t[C["cc_off"]], t[C["cc_nr"]], s.big)
        f_run = s_run[fr.owner] if len(fr.owner) else np.zeros(0, np.int64)
        s_sym = np.full(n, -1, np.int64)
        s_dso = np.full(n, -1, np.int64)
        s_off = np.zeros(n, U64)
        f_sym = np.full(len(fr.ip), -1, np.int64)
        f_dso = np.full(len(fr.ip), -1, np.int64)
        f_off = np.zeros(len(fr.ip), U64)
        state_rows = np.flatnonzero(~is_sample).tolist()
        bounds = np.searchsorted(s_run, np.arange(len(state_rows) + 2))
        fbounds = np.searchsorted(f_run, np.arange(len(state_rows) + 2))
        # the distinct (run, tid) pairs of the batch, found at once: a comm is looked
        # up once per thread and run (the state records between runs change it)
        pair_run, pair_tid, pair_inv = run_tid_pairs(s_run, tid, len(state_rows) + 1)
        pbounds = np.searchsorted(pair_run, np.arange(len(state_rows) + 2)).tolist()
        pair_comm = np.zeros(len(pair_tid), np.int64)
        for r in range(len(state_rows) + 1):
            a, b = int(bounds[r]), int(bounds[r + 1])
            if b > a:
                for u in range(pbounds[r], pbounds[r + 1]):
                    name = s.threads.comm_of(pair_tid[u])
                    if name not in comm_pos:
                        comm_pos[name] = len(comms)
                        comms.append(name.encode("utf-8", "surrogateescape"))
                    pair_comm[u] = comm_pos[name]
                res = resolve(
                    ip[a:b], misc[a:b] & 7, pid[a:b], s.threads, s.ksyms, self.syms, self.dsos
                )
                s_sym[a:b], s_dso[a:b], s_off[a:b] = res.sym, res.dso, res.off
            fa, fb = int(fbounds[r]), int(fbounds[r + 1])
            if fb > fa:
                res = resolve(
                    fr.ip[fa:fb],
                    fr.mode[fa:fb],
                    pid[fr.owner[fa:fb]],
                    s.threads,
                    s.ksyms,
                    self.syms,
                    self.dsos,
                )
                f_sym[fa:fb], f_dso[fa:fb], f_off[fa:fb] = res.sym, res.dso, res.off
            if r < len(state_rows):
                s.state_record(buf, wcols[:, state_rows[r]])
        comm_idx = pair_comm[pair_inv]
        cols = self._columns(buf, t, n, tid, pid)
        cols["comm"] = sc.choose(comms, comm_idx) if n else sc.const(b"", 0)
        cols["sym"] = (s_sym, self.syms.items)
        cols["dso"] = (s_dso, self.dsos.items)
        st = np.array([a.sample_type for a in s.attrs] or [0], U64)
        chain = (st[t[C["attr"]].view(np.int64)] & U64(A.CALLCHAIN)) != 0 if n else None
        if chain is not None and chain.any():
            cols["callchain"] = (
                fr,
                (f_sym, self.syms.items),
                f_off,
                (f_dso, self.dsos.items),
                chain,
            )
        first = self.line_no + 1
        self.line_no += n
        return build_events_table(cols, n, first)

    def _columns(
        self, buf: np.ndarray[Any, Any], t: np.ndarray[Any, Any], n: int, tid: Any, pid: Any
    ) -> dict[str, Any]:
        s = self.s
        attr_idx = t[C["attr"]].view(np.int64)
        cols: dict[str, Any] = {}
        st = (
            np.array([a.sample_type for a in s.attrs] or [0], np.uint64)[attr_idx]
            if n
            else np.zeros(0, U64)
        )

        def has(bit: int) -> np.ndarray[Any, Any]:
            out: np.ndarray[Any, Any] = (st & U64(bit)) != 0
            return out

        time = t[C["time"]]
        # a copy: a view would keep the batch's whole walk columns alive in the table
        cols["ts"] = (time.view(np.int64).copy(), has(A.TIME) & (time != U64(NO_TIME)))
        cols["cpu"] = (t[C["cpu"]].view(np.int64).astype(np.int32), has(A.CPU))
        cols["tid"] = (tid, has(A.TID))
        cols["pid"] = (pid, has(A.TID))
        # evsel__parse_sample: without PERF_SAMPLE_PERIOD a sample's period is the attr's
        fixed = np.array([a.sample_period for a in s.attrs] or [0], U64)[attr_idx]
        cols["period"] = (np.where(has(A.PERIOD), t[C["period"]], fixed), None)
        names = [s.event_name(i) for i in range(len(s.attrs))] or ["?"]
        cols["event"] = sc.choose([x.encode("utf-8", "surrogateescape") for x in names], attr_idx)
        payload: list[tuple[np.ndarray[Any, Any], sc.StrCol]] = []
        typed: dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]] = {}
        fields: list[tuple[np.ndarray[Any, Any], EventRows]] = []
        for a_i, a in enumerate(s.attrs):
            rows = np.flatnonzero(attr_idx == a_i)
            if not len(rows):
                continue
            if a.type == A.TYPE_TRACEPOINT and a.config in s.formats and s.decoder is not None:
                fmt = s.formats[a.config]
                recs = Records(
                    buf,
                    t[C["raw_off"]][rows].astype(np.int64),
                    t[C["raw_len"]][rows].astype(np.int64),
                    s.big,
                )
                er = s.decoder.decode(fmt, recs)
                payload.append((rows, er.payload))
                for key, (v, ok) in er.typed.items():
                    _scatter(typed, key, rows, v, ok, n)
                fields.append((rows, er))
            elif a.type != A.TYPE_TRACEPOINT:
                _scatter(typed, "ip", rows, t[C["ip"]][rows], has(A.IP)[rows], n)
                _scatter(typed, "address", rows, t[C["addr"]][rows], has(A.ADDR)[rows], n)
        cols["payload"] = sc.scatter(n, payload)
        cols["typed"] = typed
        cols["fields"] = fields
        return cols


def run_tid_pairs(
    run: np.ndarray[Any, Any], tid: np.ndarray[Any, Any], nruns: int
) -> tuple[np.ndarray[Any, Any], list[int], np.ndarray[Any, Any]]:
    """The distinct (run, tid) pairs of samples (``run`` non-decreasing, in
    [0, nruns)), ordered by run then tid: (their runs, their tids, each sample's
    pair).  A batch has few threads and runs, so pairs are counted on a dense
    run x thread grid; np.unique (a sort) only when that grid would be large."""
    utid = np.unique(tid)
    code = np.searchsorted(utid, tid)
    k = max(len(utid), 1)
    if nruns * k <= max(4 * len(tid), 1 << 16):
        key = run.astype(np.int64) * k + code
        present = np.flatnonzero(np.bincount(key, minlength=nruns * k))
        where = np.zeros(nruns * k, np.int64)
        where[present] = np.arange(len(present))
        return present // k, utid[present % k].tolist(), where[key]
    pair, inv = unique_inverse(run.astype(np.int64) * k + code)
    return pair // k, utid[pair % k].tolist(), inv.reshape(-1)


def _scatter(
    typed: dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]],
    key: str,
    rows: np.ndarray[Any, Any],
    v: np.ndarray[Any, Any],
    ok: np.ndarray[Any, Any],
    n: int,
) -> None:
    if key not in typed:
        dtype = bool if key in BOOL_KEYS else U64
        typed[key] = (np.zeros(n, dtype), np.zeros(n, bool))
    vals, valid = typed[key]
    vals[rows] = v
    valid[rows] = ok


__all__ = ["RowBuilder", "state"]
