"""The numpy half of analysis/vmalock.py: one sorted batch at a time.

Rows are taken in the total order (tid, ts, seq), seq packing (input, line_no): one
event per (input, line_no), so events of equal timestamps keep their file order.
Columns tid, ts, k (0 user fault, 1 kernel fault, 2 start_locking, 3 acquire_returned,
4 released), w, ok, mm, lmfv, anon (the callchain has lock_mm_and_find_vma /
__vmf_anon_prepare) and site (a write acquisition's caller).  A *group* is a fault and
the events of its thread up to the thread's next fault: the fault's window.  Holds are
matched per (tid, mm) by nesting level, so nested holds and downgrades pair without a
per-event loop.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import progress
from . import vmalock_names as N
from .vmalock_stats import Dist, Holders, Spans

_CLASSES = (N.SUCCESS, N.ABORT, N.RETRY, N.STACK_EXPANSION)
CARRY_MAX = 1 << 18  # rows: beyond this a still-open hold of the carried thread is given up
_COLS = ("tid", "ts", "seq", "k", "w", "ok", "mm", "st", "lmfv", "anon")
_OPS = {
    "vm_mmap_pgoff": "mmap", "__vm_munmap": "munmap", "do_mprotect_pkey": "mprotect",
    "__do_sys_brk": "brk", "do_madvise": "madvise", "madvise_lock": "madvise",
    "__do_sys_mremap": "mremap", "do_vmi_munmap": "munmap", "lock_mm_and_find_vma": "fault",
}  # fmt: skip


@dataclass
class Acc:
    user_faults: int = 0
    kernel_faults: int = 0
    classes: Counter[str] = field(default_factory=Counter)
    fell_back_min: int = 0
    fell_back_max: int = 0
    anon_trylocks: int = 0
    unpaired: int = 0
    by_thread: dict[int, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    waits: Dist = field(default_factory=Dist)
    holds: Dist = field(default_factory=Dist)
    sites: list[str] = field(default_factory=list)
    site_code: dict[str, int] = field(default_factory=dict)
    holders: Holders = field(default_factory=Holders)  # write holds per (thread, site)
    # culprit_rows' inputs, kept only while the run may be exact (every lock row stacked):
    wh: Spans = field(default_factory=Spans)  # write holds (tid, mm code, t0, t1, site)
    ww: Spans = field(default_factory=Spans)  # write waits, the same
    fb: Spans = field(default_factory=Spans)  # (tid, t_fault, t_lock, mm code, class)
    mm_codes: dict[int, int] = field(default_factory=dict)
    #: fallbacks of each class that overlapped a writer (culprit_rows fills it)
    attributed: Counter[str] = field(default_factory=Counter)

    locks: int = 0  # start_locking and acquire_returned rows
    stacked: int = 0  # ... with a callchain

    def count_stacks(self, cols: dict[str, Any]) -> None:
        lock = (cols["k"] == 2) | (cols["k"] == 3)
        self.locks += int(lock.sum())
        self.stacked += int((lock & cols["st"]).sum())

    @property
    def exact(self) -> bool:
        return self.locks > 0 and self.stacked == self.locks

    @property
    def may_be_exact(self) -> bool:
        """No lock row without a callchain so far: culprit_rows may be wanted."""
        if self.stacked == self.locks:
            return True
        for spans in (self.fb, self.wh, self.ww):
            spans.clear()
        return False

    def mm_code(self, mm: Any) -> Any:
        """Small codes of the mm values (which culprit_rows only compares)."""
        uniq, inv = np.unique(mm, return_inverse=True)
        codes = [self.mm_codes.setdefault(int(m), len(self.mm_codes)) for m in uniq.tolist()]
        return np.asarray(codes, np.int32)[inv]

    # -- results ----------------------------------------------------------------------
    def holder_rows(self, comms: dict[int, str], top: int = 10) -> list[dict[str, Any]]:
        return self.holders.rows(comms, self._op, top)

    def _op(self, code: int) -> str:
        if code < 0:
            return "mmap_lock write"
        name = self.sites[code]
        return _OPS.get(name, name)

    def culprit_rows(self, comms: dict[int, str], top: int = 10) -> list[dict[str, Any]]:
        """Who held mmap_lock for write, or waited for it (a waiting writer makes read
        trylocks fail too), on the same mm from another thread during each fallback:
        between the fault and its lock_mm_and_find_vma.  A holder is named before a
        waiter; among either, the last to start (of the 64 before the lock)."""
        self.attributed.clear()
        if not self.fb:
            return []
        f_tid, f_t0, f_t1, f_mm, f_cls = self.fb.columns()
        who = np.full(len(f_tid), -1, np.int64)  # culprit tid
        what = np.full(len(f_tid), -1, np.int64)  # its site code
        for kind in (self.wh, self.ww):
            if not kind:
                continue
            tid, mm, start, end, site = kind.columns()
            for m in np.unique(f_mm[who < 0]):
                sel = np.flatnonzero((f_mm == m) & (who < 0))
                ok = np.flatnonzero(mm == m)
                if not len(ok):
                    continue
                ok = ok[np.argsort(start[ok], kind="stable")]
                h = np.searchsorted(start[ok], f_t1[sel], "right") - 1
                for back in range(64):
                    cand = h - back
                    live = (cand >= 0) & (who[sel] < 0)
                    if not live.any():
                        break
                    i = ok[np.maximum(cand, 0)]
                    hit = live & (end[i] >= f_t0[sel]) & (tid[i] != f_tid[sel])
                    who[sel[hit]], what[sel[hit]] = tid[i[hit]], site[i[hit]]
        found = who >= 0
        if not found.any():
            return []
        for c in f_cls[found]:
            self.attributed[_CLASSES[int(c)]] += 1
        pairs, counts = np.unique(np.stack([who[found], what[found]]), axis=1, return_counts=True)
        rows = [
            {"comm": comms.get(int(t)), "tid": int(t), "op": self._op(int(sc)), "fallbacks": int(n)}
            for (t, sc), n in zip(pairs.T, counts, strict=True)
        ]
        rows.sort(key=lambda r: (-int(r["fallbacks"] or 0), int(r["tid"] or 0)))
        return rows[:top]

    def thread_rows(self, comms: dict[int, str], top: int = 20) -> list[dict[str, Any]]:
        order = sorted(self.by_thread.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
        return [
            {"comm": comms.get(t), "tid": t, "count": sum(c.values()),
             "top_reason": c.most_common(1)[0][0], "classes": dict(c)}
            for t, c in order[:top]
        ]  # fmt: skip

    def codes(self, column: Any) -> Any:
        """Global codes of a batch's site strings (-1 for none)."""
        import pyarrow.compute as pc

        out = np.full(len(column), -1, np.int32)
        if column.null_count == len(column):
            return out
        enc = pc.dictionary_encode(column)
        local = np.array([self._code(s) for s in enc.dictionary.to_pylist()], np.int32)
        valid = enc.indices.is_valid().to_numpy(zero_copy_only=False)
        ind = enc.indices.fill_null(0).to_numpy(zero_copy_only=False)
        out[valid] = local[ind[valid]]
        return out

    def _code(self, s: str) -> int:
        code = self.site_code.get(s)
        if code is None:
            code = self.site_code[s] = len(self.sites)
            self.sites.append(s)
        return code


class Unordered(Exception):
    """The rows did not come in file order (``seq`` not strictly increasing: DuckDB
    does not always keep it), or a thread's events are out of time order (several
    inputs in one run, a source not sorted by time): the caller sorts them instead."""


def process(reader: Any, acc: Acc, *, file_order: bool = True) -> None:
    """Every batch of ``reader``; the open tail of every thread is carried into the
    next batch.  The rows are taken in the total order (tid, ts, seq): ``file_order``
    rows must come with ``seq`` strictly increasing and each thread's ``ts`` not
    decreasing (checked, else Unordered), otherwise sorted so by the caller."""
    carry: dict[str, Any] | None = None
    done_tid = np.zeros(0, np.int32)  # threads with finalized rows, sorted,
    done_ts = np.zeros(0, np.int64)  # and the latest finalized time of each
    last_seq = None
    for batch in reader:
        if batch.num_rows == 0:
            continue
        progress.add(batch.num_rows)  # the report's "events so far" on a terminal
        cols = {c: batch.column(c).to_numpy(zero_copy_only=False) for c in _COLS}
        if file_order:
            seq = cols["seq"]
            if (last_seq is not None and seq[0] <= last_seq) or (np.diff(seq) <= 0).any():
                raise Unordered
            last_seq = seq[-1]
        cols["site"] = acc.codes(batch.column("site"))
        acc.count_stacks(cols)
        if len(done_tid):
            at = np.minimum(np.searchsorted(done_tid, cols["tid"]), len(done_tid) - 1)
            if ((done_tid[at] == cols["tid"]) & (cols["ts"] < done_ts[at])).any():
                raise Unordered
        if carry is not None:
            cols = {c: np.concatenate([carry[c], cols[c]]) for c in cols}
        # grouping by thread keeps each thread's rows in seq order, which (checked
        # here, and above against the rows already finalized) is its time order
        o = np.argsort(cols["tid"], kind="stable")
        cols = {c: v[o] for c, v in cols.items()}
        same = cols["tid"][1:] == cols["tid"][:-1]
        if (same & (cols["ts"][1:] < cols["ts"][:-1])).any():
            raise Unordered
        carry, fin_tid, fin_ts = _step(cols, acc, final=False)
        done_tid, done_ts = _merge_done(done_tid, done_ts, fin_tid, fin_ts)
    if carry is not None:
        _step(carry, acc, final=True)


def _merge_done(a_tid: Any, a_ts: Any, b_tid: Any, b_ts: Any) -> tuple[Any, Any]:
    tid = np.concatenate([a_tid, b_tid])
    ts = np.concatenate([a_ts, b_ts])
    if not len(tid):
        return a_tid, a_ts
    o = np.lexsort((ts, tid))
    tid, ts = tid[o], ts[o]
    last = np.ones(len(tid), bool)
    last[:-1] = tid[1:] != tid[:-1]
    return tid[last], ts[last]


def _step(c: dict[str, Any], acc: Acc, final: bool) -> tuple[Any, Any, Any]:
    """Classify and pair everything but each thread's open tail; return the tail
    (or None) and the threads finalized with their latest time."""
    n = len(c["tid"])
    pairs = _pairs(c)
    keep = np.zeros(n, bool) if final else _tails(c, pairs)
    fin = ~keep
    f = {key: v[fin] for key, v in c.items()}
    m = len(f["tid"])
    if m:
        k = f["k"]
        gstart = np.ones(m, bool)
        gstart[1:] = (f["tid"][1:] != f["tid"][:-1]) | (k[1:] <= 1)
        _classify(f, np.flatnonzero(gstart), m, acc)
        _account_pairs(f, _within(pairs, fin), m, acc)
    last = np.ones(m, bool)
    last[:-1] = f["tid"][1:] != f["tid"][:-1]
    carry = {key: v[keep] for key, v in c.items()} if keep.any() else None
    return carry, f["tid"][last], f["ts"][last]


def _within(pairs: tuple[Any, ...], fin: Any) -> tuple[Any, ...]:
    """The pairs (and unmatched opens) among the rows ``fin`` keeps, renumbered."""
    new = np.cumsum(fin) - 1
    opens, closes, ws, wa, unmatched = pairs
    both = fin[opens] & fin[closes]
    wboth = fin[ws] & fin[wa]
    # an open kept whose close is carried stays open: count it unmatched
    lone = np.concatenate([unmatched[fin[unmatched]], opens[fin[opens] & ~fin[closes]]])
    return (new[opens[both]], new[closes[both]], new[ws[wboth]], new[wa[wboth]],
            np.sort(new[lone]))  # fmt: skip


def _tails(c: dict[str, Any], pairs: tuple[Any, ...]) -> Any:
    """Rows to carry: per thread, from its last fault on (that window may go on), or
    from the earliest hold (or wait) still open (from its window's start when it lies in one),
    never more than CARRY_MAX rows.  A thread with no fault in the batch (a writer
    that never faults) has no open window: only its open holds are carried."""
    tid, k = c["tid"], c["k"]
    n = len(tid)
    idx = np.arange(n)
    seg = np.ones(n, bool)
    seg[1:] = tid[1:] != tid[:-1]
    seg_id = np.cumsum(seg) - 1
    seg_start = np.flatnonzero(seg)
    seg_end = np.append(seg_start[1:], n)
    gstart = seg | (k <= 1)
    gs = np.flatnonzero(gstart)
    group_of = gs[np.cumsum(gstart) - 1]  # each row's window start
    from_row = np.where(k[group_of] <= 1, group_of, idx)  # where carrying it must begin
    last_fault = np.maximum.reduceat(np.where(k <= 1, idx, -1), seg_start)
    cut = np.where(last_fault >= 0, last_fault, seg_end)
    opens, closes, ws, wa, unmatched = pairs
    row_cut = cut[seg_id]
    late = opens[(opens < row_cut[opens]) & (closes >= row_cut[opens])]
    lost = unmatched[unmatched < row_cut[unmatched]]
    waiting = np.zeros(n, bool)  # a start_locking whose acquisition has not come yet
    waiting[k == 2] = True
    waiting[ws] = False
    pending = np.flatnonzero(waiting & (idx < row_cut))
    split = ws[(ws < row_cut[ws]) & (wa >= row_cut[ws])]  # a wait the cut would split
    early = np.concatenate([late, lost, pending, split])
    from_row[wa] = np.minimum(from_row[wa], from_row[ws])  # an acquisition goes with its start
    if len(early):
        first = np.full(len(cut), n, np.int64)
        np.minimum.at(first, seg_id[early], from_row[early])
        room = (seg_end - first) <= CARRY_MAX
        cut = np.where((first < cut) & room, first, cut)
    whole = (cut == seg_start) & (seg_end - seg_start > CARRY_MAX)  # one window, too long
    cut = np.where(whole, seg_end, cut)
    return idx >= cut[seg_id]


def _classify(c: dict[str, Any], gs: Any, cut: int, acc: Acc) -> None:
    if not len(gs):
        return
    tid, ts, k, w, ok, mm = (c[x][:cut] for x in ("tid", "ts", "k", "w", "ok", "mm"))
    lmfv, anon = c["lmfv"][:cut], c["anon"][:cut]
    idx = np.arange(cut)
    big = cut + 1
    head = k[gs]
    user = head == 0
    acc.user_faults += int(user.sum())
    acc.kernel_faults += int((head == 1).sum())
    acc.anon_trylocks += int(((k == 2) & anon).sum())

    def first(mask: Any) -> Any:
        return np.minimum.reduceat(np.where(mask, idx, big), gs)

    # without stacks: the first lock event after the fault, and its first episode
    lengths = np.diff(np.append(gs, cut))
    second = np.minimum(gs + 1, cut - 1)
    possible = user & (lengths >= 2) & (k[second] == 2) & ~w[second]
    mark = np.zeros(cut, bool)
    mark[gs] = True
    gid = np.cumsum(mark) - 1
    pat = np.zeros(cut, bool)
    pat[:-1] = (k[:-1] == 3) & ~w[:-1] & ~ok[:-1] & (k[1:] == 2) & ~w[1:] & (gid[1:] == gid[:-1])
    certain = possible & (first(pat) < first(k == 4))  # 0 later if no kernel fault is traced
    acc.fell_back_max += int(possible.sum())
    acc.fell_back_min += int(certain.sum())
    lock = (k == 2) & lmfv
    f_lock = first(lock)
    has = user & (f_lock < big)
    wrote = np.maximum.reduceat((lock & w).astype(np.int8), gs) > 0
    retry = has & ~wrote & (first((k == 3) & anon & ~ok) < f_lock)
    names = np.where(~has, 0, np.where(wrote, 3, np.where(retry, 2, 1)))
    classes = _CLASSES
    counts = np.bincount(names[user], minlength=4)
    for name, count in zip(classes, counts, strict=True):
        if count:
            acc.classes[name] += int(count)
    fell = np.flatnonzero(has)
    for g in fell:
        acc.by_thread[int(tid[gs[g]])][classes[names[g]]] += 1
    if len(fell) and acc.may_be_exact:
        at = f_lock[fell]
        f_cls = names[fell].astype(np.int8)
        acc.fb.append(tid[gs[fell]], ts[gs[fell]], ts[at], acc.mm_code(mm[at]), f_cls)


def _pairs(c: dict[str, Any]) -> tuple[Any, ...]:
    """(hold opens, their closes, wait starts, their acquisitions, unmatched opens):
    row indices.  Per (tid, mm) in time order, a successful acquisition opens a hold
    one level deeper, a release closes the innermost one, and a read acquisition with
    no start_locking before it (mmap_write_downgrade) closes the write hold and opens
    a read hold at the same level; an open pairs with the next close of its level."""
    k, w, ok, tid, mm = c["k"], c["w"], c["ok"], c["tid"], c["mm"]
    m = np.flatnonzero(k >= 2)
    empty = np.zeros(0, np.int64)
    if not len(m):
        return empty, empty, empty, empty, empty
    o = m[np.lexsort((m, mm[m], tid[m]))]
    ko, wo, oko = k[o], w[o], ok[o]
    new = np.ones(len(o), bool)
    new[1:] = (tid[o][1:] != tid[o][:-1]) | (mm[o][1:] != mm[o][:-1])
    prev = np.empty(len(o), np.int8)
    prev[0], prev[1:] = -1, ko[:-1]
    prev[new] = -1
    prev_w = np.zeros(len(o), bool)
    prev_w[1:] = wo[:-1]
    acq = (ko == 3) & oko
    down = acq & ~wo & (prev != 2)
    closing = (ko == 4) | down
    delta = acq.astype(np.int64) - closing.astype(np.int64)
    cs = np.cumsum(delta)
    grp = np.cumsum(new) - 1
    depth = cs - (cs - delta)[new][grp]
    j = np.arange(len(o))
    oj, cj = j[acq], j[closing]
    items_j = np.concatenate([cj, oj])
    items_open = np.concatenate([np.zeros(len(cj), bool), np.ones(len(oj), bool)])
    items_lvl = np.concatenate([depth[cj] + (ko[cj] == 4), depth[oj]])
    items_grp = grp[items_j]
    s = np.lexsort((items_open, items_j, items_lvl, items_grp))
    io, ij, il, ig = items_open[s], items_j[s], items_lvl[s], items_grp[s]
    hit = io[:-1] & ~io[1:] & (il[:-1] == il[1:]) & (ig[:-1] == ig[1:])
    opens, closes = o[ij[:-1][hit]], o[ij[1:][hit]]
    paired = np.zeros(len(o), bool)
    paired[ij[:-1][hit]] = True
    unmatched = o[acq & ~paired]
    waited = (ko == 3) & (prev == 2) & (prev_w == wo)
    wj = j[waited]
    return opens, closes, o[wj - 1], o[wj], unmatched


def _account_pairs(c: dict[str, Any], pairs: tuple[Any, ...], cut: int, acc: Acc) -> None:
    opens, closes, w_start, w_acq, unmatched = pairs
    ts, w, k = c["ts"], c["w"], c["k"]
    done = (opens < cut) & (closes < cut)
    op, cl = opens[done], closes[done]
    write = w[op] & (k[op] == 3)
    acc.holds.add(ts[cl] - ts[op], write)
    acc.unpaired += int(((opens < cut) & (closes >= cut)).sum())
    acc.unpaired += int((unmatched < cut).sum())  # rows before the cut are never seen again
    wo, wc = op[write], cl[write]
    acc.holders.add(c["tid"][wo], ts[wc] - ts[wo], c["site"][wo])
    if len(wo) and acc.may_be_exact:
        acc.wh.append(c["tid"][wo], acc.mm_code(c["mm"][wo]), ts[wo], ts[wc], c["site"][wo])
    wd = (w_start < cut) & (w_acq < cut)
    ws, wa = w_start[wd], w_acq[wd]
    acc.waits.add(ts[wa] - ts[ws], w[wa])
    ws, wa = ws[w[wa]], wa[w[wa]]
    if len(ws) and acc.may_be_exact:
        acc.ww.append(c["tid"][wa], acc.mm_code(c["mm"][wa]), ts[ws], ts[wa], c["site"][wa])
