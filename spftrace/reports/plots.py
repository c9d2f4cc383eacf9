"""matplotlib figures rendered to inline SVG text (no files, no network).

``svg.hashsalt`` is fixed so the same data gives byte-identical SVG, and text
stays text (``svg.fonttype = none``) so the report is small and searchable.

Every reason is drawn in ``vocabulary.colour(name)``, the same in every chart, and
its shapes (bars, lines, legend swatches) carry ``class="reason" data-reason=NAME``
so a browser test can check that.  Legends sit outside the axes (right of them),
timelines are faceted (one panel and y scale per run: a small run is not flattened
by a large one), and histogram bins have short labels that fit under their bars.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any

from markupsafe import escape

from ..analysis.model import RunSummary
from ..text import visible
from ..vocabulary import FAST_PATH_COLOUR, NOT_ATTEMPTED_COLOUR, colour, column, words

#: a chart's reason marks: matplotlib writes an artist's gid as the id of its <g>
_GID = re.compile(r'id="spftrace-reason-(\d+)-\d+"')
_AXES = re.compile(r'id="spftrace-axes-\d+"')
#: short bin labels for the mmap_lock histograms (analysis/vmalock_pass.py's names)
_BINS = {"<1": "<1", "1-10": "1–10", "10-100": "10–100", "100-1000": "100–1k", ">=1000": "≥1k"}


def _label(text: str) -> str:
    """Text from a trace or the user, as a figure label: control and bidi characters
    made visible, and ``$`` taken literally (matplotlib would parse ``$...$`` as math,
    and a bad formula raises when the figure is drawn)."""
    return visible(text).replace("$", r"\$")


class _Marks:
    """gids for the artists of each reason, turned into data-reason attributes."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.serial = 0

    def gid(self, name: str) -> str:
        if name not in self.names:
            self.names.append(name)
        self.serial += 1
        return f"spftrace-reason-{self.names.index(name)}-{self.serial}"

    def axes(self, ax: object) -> None:
        """Mark the data area (the axes background) of ``ax`` as ``class="axes"``."""
        self.serial += 1
        ax.patch.set_gid(f"spftrace-axes-{self.serial}")  # type: ignore[attr-defined]

    def apply(self, svg: str) -> str:
        def attrs(m: re.Match[str]) -> str:
            return f'class="reason" data-reason="{escape(self.names[int(m.group(1))])}"'

        return _AXES.sub('class="axes"', _GID.sub(attrs, svg))


def _svg(fig: object, marks: _Marks) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", pad_inches=0.08)  # type: ignore[attr-defined]
    plt.close(fig)  # type: ignore[arg-type]
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    return marks.apply(text)


def _setup() -> None:
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "spftrace"
    matplotlib.rcParams["svg.fonttype"] = "none"
    matplotlib.rcParams["font.size"] = 9
    matplotlib.rcParams["axes.spines.top"] = False
    matplotlib.rcParams["axes.spines.right"] = False


def _legend_outside(ax: object, handles: list[object], marks: _Marks, names: list[str]) -> None:
    """A legend right of the axes, never over the data or the axis labels."""
    leg = ax.legend(  # type: ignore[attr-defined]
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        borderaxespad=0.0,
        frameon=False,
        handlelength=1.2,
    )
    for handle, name in zip(leg.legend_handles, names, strict=True):
        handle.set_gid(marks.gid(name))


def breakdown_runs(runs: Sequence[RunSummary]) -> list[RunSummary]:
    """The runs the breakdown can draw: a fault count and something to break it into."""
    return [
        s for s in runs if s.faults and (s.speculative is not None or any(s.fallbacks.values()))
    ]


def breakdown_svg(runs: Sequence[RunSummary]) -> str | None:
    """One horizontal stacked bar per run: fast path, each fallback, not attempted."""
    rows = breakdown_runs(runs)
    if not rows:
        return None
    _setup()
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    reasons: list[str] = []
    for s in rows:
        for name, count in s.fallbacks.items():
            if count and name not in reasons:
                reasons.append(name)
    marks = _Marks()
    fig, ax = plt.subplots(figsize=(7.2, 0.55 + 0.34 * len(rows)))
    marks.axes(ax)
    labels = [_label(s.run + (f" ({s.label})" if s.label else "")) for s in rows]
    ys = list(range(len(rows)))
    left = [0.0] * len(rows)
    fast = column([s.kernel_model for s in rows])
    segments = [("speculative", fast, [s.speculative or 0 for s in rows])]
    segments += [(r, r, [s.fallbacks.get(r, 0) for s in rows]) for r in reasons]
    segments.append(("not_attempted", "not attempted", [s.not_attempted or 0 for s in rows]))
    handles: list[object] = []
    names: list[str] = []
    for name, shown, counts in segments:
        widths = [100.0 * c / (s.faults or 1) for c, s in zip(counts, rows, strict=True)]
        if not any(widths):
            continue
        bars = ax.barh(ys, widths, left=left, height=0.62, color=colour(name), linewidth=0)
        for bar in bars:
            bar.set_gid(marks.gid(name))
        handles.append(Patch(facecolor=colour(name), label=_label(shown)))
        names.append(name)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    ax.set_yticks(ys, labels)
    ax.set_xlim(0, 100)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlabel("% of faults")
    ax.tick_params(axis="y", length=0)
    _legend_outside(ax, handles, marks, names)
    return _svg(fig, marks)


#: at most this many timeline panels (the first traced runs); the report says so
TIMELINE_PANELS = 12


def timeline_runs(runs: Sequence[RunSummary]) -> list[tuple[RunSummary, dict[str, Any]]]:
    """The runs with a timeline, and their timelines."""
    return [(s, s.trace["timeline"]) for s in runs if s.trace and s.trace["timeline"]["series"]]


def timeline_svg(runs: Sequence[RunSummary]) -> str | None:
    """Fallbacks (and user faults) per interval: one panel per run, each with its own y scale."""
    series = timeline_runs(runs)[:TIMELINE_PANELS]
    if not series:
        return None
    _setup()
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    marks = _Marks()
    fig, axes = plt.subplots(
        len(series), 1, figsize=(7.2, 0.35 + 1.45 * len(series)), squeeze=False
    )
    shown: dict[str, str] = {}
    for ax, (s, tl) in zip(axes[:, 0], series, strict=True):
        marks.axes(ax)
        width_ms = tl["interval_ns"] / 1e6
        for name, counts in sorted(tl["series"].items()):
            key = name.removeprefix("exceptions:")
            xs = [k * width_ms for k in range(len(counts))]
            (line,) = ax.plot(xs, counts, color=colour(key), linewidth=1.3)
            line.set_gid(marks.gid(key))
            shown.setdefault(key, "user faults" if key == "page_fault_user" else key)
        ax.set_title(_label(f"{s.run} ({words(s.kernel_model).model})"), loc="left", fontsize=9)
        ax.set_ylim(bottom=0)
        ax.margins(x=0.01)
        ax.set_ylabel("per interval")
    axes[-1, 0].set_xlabel("time since the run's first event (ms)")
    fig.subplots_adjust(hspace=0.75)
    names = list(shown)
    handles: list[object] = [
        Line2D([], [], color=colour(n), linewidth=2, label=_label(shown[n])) for n in names
    ]
    _legend_outside(axes[0, 0], handles, marks, names)
    return _svg(fig, marks)


def histogram_svg(title: str, hist: dict[str, int], color: str = "#546e7a") -> str | None:
    if not hist or not sum(hist.values()):
        return None
    _setup()
    import matplotlib.pyplot as plt

    marks = _Marks()
    fig, ax = plt.subplots(figsize=(3.6, 2.2))
    marks.axes(ax)
    ticks = [_BINS.get(k, _label(k)) for k in hist]
    ax.bar(range(len(hist)), list(hist.values()), color=color, width=0.7)
    ax.set_xticks(range(len(hist)), ticks)
    ax.set_title(_label(title), loc="left", fontsize=9)
    ax.set_xlabel("microseconds")
    ax.set_ylabel("count")
    return _svg(fig, marks)


def compare_svg(rows: Sequence[object]) -> str | None:
    """Significant changes with their 95% confidence intervals (horizontal)."""
    pts = [r for r in rows if getattr(r, "significant", False)][:25]
    if not pts:
        return None
    _setup()
    import matplotlib.pyplot as plt

    marks = _Marks()
    fig, ax = plt.subplots(figsize=(7.2, 0.5 + 0.3 * len(pts)))
    marks.axes(ax)
    names = [_label(r.metric) for r in pts]  # type: ignore[attr-defined]
    changes = [r.change_pct for r in pts]  # type: ignore[attr-defined]
    lo = [c - (r.ci_pct[0] if r.ci_pct else c) for c, r in zip(changes, pts, strict=True)]  # type: ignore[attr-defined]
    hi = [(r.ci_pct[1] if r.ci_pct else c) - c for c, r in zip(changes, pts, strict=True)]  # type: ignore[attr-defined]
    colors = [FAST_PATH_COLOUR if c > 0 else colour("spf_vma_changed") for c in changes]
    ax.barh(names, changes, color=colors, xerr=[lo, hi], capsize=3, ecolor=NOT_ATTEMPTED_COLOUR)
    ax.axvline(0, color="#555", linewidth=0.8)
    ax.invert_yaxis()
    ax.set_xlabel("% change, head vs base (bars: 95% confidence interval)")
    return _svg(fig, marks)
