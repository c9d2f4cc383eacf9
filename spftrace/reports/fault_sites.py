"""The "Where faults come from" section (analysis/fault_sites.py) in text and HTML.

Kept out of text.py / html.py (a hook line each) so their layout can change freely.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table

from . import ReportModel, flamegraph

#: rows per table in the text report (JSON keeps fault_sites.TOP)
TEXT_ROWS = 10
#: call paths are shown leaf first, this many frames deep
PATH_FRAMES = 6


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else ""


def path_text(path: list[str], frames: int = PATH_FRAMES) -> str:
    """A call path leaf first (``leaf <- caller <- ...``), cut to ``frames`` frames."""
    leaf_first = list(reversed(path))
    shown = " <- ".join(leaf_first[:frames])
    return shown + (f" <- ... ({len(path) - frames} more)" if len(path) > frames else "")


def text(console: Console, fs: dict[str, Any] | None, v: Callable[[object], str]) -> None:
    """Tables for one run; ``v`` makes trace text safe for the console (text._v)."""
    if not fs:
        return
    total = int(fs["faults"])
    console.print(
        f"[bold]Where faults come from[/bold]: {total:,} faults in {fs['samples']:,} samples "
        f"of {v(', '.join(fs['events']))} ({fs['with_callchain']:,} with a callchain)",
        overflow="fold",
    )

    def table(title: str, cols: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
        t = Table(title=title, title_justify="left")
        for c in cols:
            num = c in ("faults", "share", "samples", "threads")
            t.add_column(c, justify="right" if num else "left", overflow="fold")
        for r in rows:
            t.add_row(*(v(c) for c in r))
        console.print(t)

    def nums(r: dict[str, Any]) -> tuple[str, str, str]:
        return f"{r['faults']:,}", _pct(r["faults"], total), f"{r['samples']:,}"

    table(
        "Faults by process", ("comm", "threads", "faults", "share", "samples"),
        [(r["comm"] or "?", str(r["threads"]), *nums(r)) for r in fs["by_process"][:TEXT_ROWS]],
    )  # fmt: skip
    table(
        "Faults by DSO (innermost user frame)", ("dso", "faults", "share", "samples"),
        [(r["dso"], *nums(r)) for r in fs["by_dso"][:TEXT_ROWS]],
    )  # fmt: skip
    table(
        "Faults by user symbol", ("symbol", "dso", "faults", "share", "samples"),
        [(r["sym"], r["dso"], *nums(r)) for r in fs["by_symbol"][:TEXT_ROWS]],
    )  # fmt: skip
    table(
        "Faults by call path (leaf first)", ("path", "faults", "share", "samples"),
        [(path_text(r["path"]), *nums(r)) for r in fs["by_path"][:TEXT_ROWS]],
    )  # fmt: skip


def html_context(model: ReportModel) -> list[dict[str, Any]]:
    """Per run with fault samples: its section and the flame graph SVG (Markup)."""
    from markupsafe import Markup

    out = []
    for s in model.runs:
        fs = model.fault_sites.get(s.run)
        if not fs:
            continue
        fig = flamegraph.svg(fs["folded"], f"Fault call paths: {s.run}")
        out.append({"run": s.run, "fs": fs, "svg": Markup(fig) if fig else None})
    return out
