"""``report text``: the answer in the first lines, then rich tables.

Rendering goes through a rich Console writing into a buffer; colour is only
emitted when the caller says the output is a terminal.
"""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..analysis.model import RunSummary
from ..analysis.vmalock_names import FALLBACK_CLASSES as FALLBACKS
from ..text import visible
from ..vocabulary import column, share, words
from . import NOT_FALLBACKS, ReportModel, fault_sites


def _v(value: object) -> str:
    """Text from a trace or the user, for a rich console: control and bidi characters
    shown as escapes (a comm's ESC never reaches the terminal), markup escaped."""
    return escape(visible(str(value)))


def _n(v: int | None) -> str:
    return "n/a" if v is None else f"{v:,}"


def headline(s: RunSummary) -> list[str]:
    """The first lines of a run's report: plain text, no markup."""
    label = f", label {s.label}" if s.label else ""
    path = words(s.kernel_model).fast_path

    def part(v: int | None) -> str:
        return _n(v) + ("" if v is None or not s.faults else f" ({share(v, s.faults)})")

    fell = part(s.fallback_total)
    if s.fell_back_range is not None:
        fell = f"{s.fell_back_range[0]:,} to {s.fell_back_range[1]:,} (no callchains: a range)"
    lines = [
        f"run {s.run}{label} - kernel model: {s.kernel_model} - sources: "
        f"{', '.join(s.sources) or 'none'}",
        f"faults {_n(s.faults)} | {path} {part(s.speculative)} | "
        f"fell back {fell} | not attempted {part(s.not_attempted)}",
        f"verdict: {s.verdict}",
    ]
    return [visible(line) for line in lines]


def render(model: ReportModel, *, color: bool = False, width: int = 110) -> str:
    buf = io.StringIO()
    console = Console(
        file=buf,
        width=width,
        force_terminal=color,
        color_system="standard" if color else None,
        highlight=False,
        soft_wrap=False,
    )
    for i, s in enumerate(model.runs):
        if i:
            console.rule()
        first, counts, verdict = headline(s)
        console.print(f"[bold]{_v(first)}[/bold]", overflow="fold")
        console.print(_v(counts), overflow="fold")
        console.print(f"[bold]{_v(verdict)}[/bold]", overflow="fold")
        if s.command:
            console.print(f"command: {_v(s.command)}", overflow="fold")
        console.print()
        _reasons_table(console, s)
        _advice(console, s)
        _trace(console, s)
        fault_sites.text(console, model.fault_sites.get(s.run), _v)  # where faults come from
        _sources(console, s)
    if len(model.runs) > 1:
        console.rule()
        _side_by_side(console, model)
        for note in model.across_runs:
            console.print(f"across runs: {_v(note)}", overflow="fold")
    _ingest(console, model)
    return buf.getvalue()


def _reasons_table(console: Console, s: RunSummary) -> None:
    if not s.findings and not s.fallbacks:
        return
    t = Table(title=words(s.kernel_model).fallbacks_title, title_justify="left", show_lines=False)
    t.add_column("reason")
    t.add_column("count", justify="right")
    t.add_column("% of faults", justify="right")
    t.add_column("what it means")
    listed = set()
    for f in s.findings:
        t.add_row(_v(f.reason), f"{f.count:,}", f"{f.share_pct:.2f}", _v(f.meaning))
        listed.add(f.reason)
    for name, count in s.fallbacks.items():
        if name not in listed:
            t.add_row(_v(name), f"{count:,}", "0.00", "")
    console.print(t)


def _advice(console: Console, s: RunSummary) -> None:
    top = [f for f in s.findings if f.count > 0][:3]
    if not top:
        return
    console.print("[bold]What usually causes it, and what to do[/bold]")
    for f in top:
        console.print(f"- {_v(f.reason)}: {_v(f.likely_cause)}", overflow="fold")
        console.print(f"  advice: {_v(f.advice)}", overflow="fold")
    console.print()


def _trace(console: Console, s: RunSummary) -> None:
    tr = s.trace
    if not tr:
        return
    pv = tr.get("per_vma_lock")
    if pv:
        _per_vma_lock(console, pv)
    _table(
        console, "Fallbacks by thread", ("reason", "comm", "tid", "count"),
        [(r["reason"], str(r["comm"]), str(r["tid"]), f"{r['count']:,}")
         for r in tr.get("by_thread", [])[:8]],
    )  # fmt: skip
    _table(
        console, "Fallbacks by VMA", ("vma", "KiB", "kind", "count", "top reason"),
        [(f"{r['vm_start']}-{r['vm_end']}", f"{r['size_kib']:,}", r["kind"], f"{r['count']:,}",
          r["top_reason"]) for r in tr.get("by_vma", [])[:8]],
    )  # fmt: skip
    _table(
        console,
        "Who changed the VMA just before spf_vma_changed",
        ("comm", "tid", "op", "fallbacks"),
        [(str(r["comm"]), str(r["tid"]), r["op"], f"{r['fallbacks']:,}")
         for r in tr.get("culprits", [])[:5]],
    )  # fmt: skip


def _per_vma_lock(console: Console, pv: dict[str, Any]) -> None:
    if pv["exact"]:
        classes = ", ".join(f"{k} {v:,}" for k, v in pv["classes"].items() if k in FALLBACKS)
        fell = (f"{pv['fell_back']:,} of {pv['faults']:,} user faults fell back to mmap_lock "
                f"({pv['fell_back_pct']}%){': ' + classes if classes else ''}")  # fmt: skip
    else:
        fell = (f"{pv['fell_back_min']:,} to {pv['fell_back_max']:,} of {pv['faults']:,} user "
                "faults fell back to mmap_lock (certain to possible)")  # fmt: skip
    console.print(
        f"[bold]Per-VMA lock:[/bold] {fell}; {pv['kernel_faults']:,} kernel-mode faults (never "
        f"try the VMA lock); mmap_lock wait p50/p99 {pv['wait_us'].get('p50')}/"
        f"{pv['wait_us'].get('p99')} us, hold p50/p99 {pv['hold_us'].get('p50')}/"
        f"{pv['hold_us'].get('p99')} us",
        overflow="fold",
    )
    console.print(f"  {_v(pv['caveat'])}", overflow="fold")
    _table(
        console, "Per-VMA-lock fallbacks by thread", ("comm", "tid", "count", "top reason"),
        [(str(r["comm"]), str(r["tid"]), f"{r['count']:,}", r["top_reason"])
         for r in pv["by_thread"][:8]],
    )  # fmt: skip
    _table(
        console, "Writers holding or waiting for mmap_lock during the fallbacks",
        ("comm", "tid", "op", "fallbacks"),
        [(str(r["comm"]), str(r["tid"]), r["op"], f"{r['fallbacks']:,}")
         for r in pv["culprits"][:5]],
    )  # fmt: skip
    _table(
        console, "Top mmap_lock write holders",
        ("comm", "tid", "holds", "held us", "longest us", "ops"),
        [(str(h["comm"]), str(h["tid"]), str(h["holds"]), f"{h['held_us']}",
          f"{h['longest_us']}", ", ".join(f"{k} {v}" for k, v in h.get("ops", {}).items()))
         for h in pv["top_write_holders"][:5]],
    )  # fmt: skip


_NUMERIC = frozenset({"tid", "holds", "held us", "longest us", "count", "KiB", "fallbacks"})


def _table(
    console: Console, title: str, cols: tuple[str, ...], rows: list[tuple[str, ...]]
) -> None:
    """A titled table, numbers right-aligned; nothing when there are no rows."""
    if not rows:
        return
    t = Table(title=title, title_justify="left")
    for col in cols:
        # fold, never cut: a long comm is shown whole, over several lines of its cell
        t.add_column(col, justify="right" if col in _NUMERIC else "left", overflow="fold")
    for row in rows:
        t.add_row(*(_v(cell) for cell in row))
    console.print(t)


def _sources(console: Console, s: RunSummary) -> None:
    if len(s.per_source) > 1 or s.disagreements:
        t = Table(title="Sources side by side", title_justify="left")
        t.add_column("source")
        t.add_column("faults", justify="right")
        t.add_column(words(s.kernel_model).fast_path, justify="right")
        t.add_column("fallbacks", justify="right")
        for src in s.per_source:
            t.add_row(
                _v(src.origin),
                _n(None if src.faults is None else int(src.faults)),
                _n(None if src.speculative is None else int(src.speculative)),
                _n(int(sum(src.fallbacks.values()))) if src.fallbacks else "n/a",
            )
        console.print(t)
    for note in s.disagreements:
        console.print(f"note: {_v(note)}", overflow="fold")
    if s.disagreements:
        console.print()


def _side_by_side(console: Console, model: ReportModel) -> None:
    t = Table(title="Runs side by side", title_justify="left")
    t.add_column("run")
    t.add_column("label")
    t.add_column("faults", justify="right")
    t.add_column(f"{column([s.kernel_model for s in model.runs])} %", justify="right")
    t.add_column("top fallback")
    t.add_column("% of faults", justify="right")
    t.add_column("not attempted %", justify="right")
    for s in model.runs:
        top = next((f for f in s.findings if f.reason not in NOT_FALLBACKS), None)
        t.add_row(
            _v(s.run),
            _v(s.label or ""),
            _n(s.faults),
            "" if s.speculative_pct is None else f"{s.speculative_pct:.2f}",
            _v(top.reason) if top else "",
            f"{top.share_pct:.2f}" if top else "",
            "" if s.not_attempted_pct is None else f"{s.not_attempted_pct:.2f}",
        )
    console.print(t)


def _ingest(console: Console, model: ReportModel) -> None:
    t = Table(title="Ingest", title_justify="left")
    for col in ("run", "input", "format", "lines", "records", "ignored", "rejected"):
        t.add_column(
            col, justify="right" if col in ("lines", "records", "ignored", "rejected") else "left"
        )
    for st in model.ingest:
        for i in st.inputs:
            stats = i["stats"]
            t.add_row(
                _v(st.run),
                _v(i["source"]),
                _v(i["format"]),
                f"{stats.get('lines_read', 0):,}",
                f"{stats.get('records', 0):,}",
                f"{stats.get('ignored', 0):,}",
                f"{stats.get('rejected', 0):,}",
            )
    console.print(t)
