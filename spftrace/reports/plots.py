"""matplotlib figures rendered to inline SVG text (no files, no network).

``svg.hashsalt`` is fixed so the same data gives byte-identical SVG, and text
stays text (``svg.fonttype = none``) so the report is small and searchable.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from ..analysis.model import RunSummary
from ..text import visible


def _label(text: str) -> str:
    """Text from a trace or the user, as a figure label: control and bidi characters
    made visible, and ``$`` taken literally (matplotlib would parse ``$...$`` as math,
    and a bad formula raises when the figure is drawn)."""
    return visible(text).replace("$", r"\$")


_COLORS = {
    "speculative": "#2e7d32",
    "not_attempted": "#9e9e9e",
}
_PALETTE = ["#c62828", "#ef6c00", "#6a1b9a", "#1565c0", "#00838f", "#ad1457", "#4e342e"]


def _svg(fig: object) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")  # type: ignore[attr-defined]
    plt.close(fig)  # type: ignore[arg-type]
    text = buf.getvalue()
    return text[text.index("<svg") :]


def _setup() -> None:
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "spftrace"
    matplotlib.rcParams["svg.fonttype"] = "none"
    matplotlib.rcParams["font.size"] = 9


def breakdown_svg(runs: Sequence[RunSummary]) -> str | None:
    """One horizontal stacked bar per run: speculative, each fallback, not attempted."""
    rows = [s for s in runs if s.faults]
    if not rows:
        return None
    _setup()
    import matplotlib.pyplot as plt

    reasons: list[str] = []
    for s in rows:
        for name, count in s.fallbacks.items():
            if count and name not in reasons:
                reasons.append(name)
    fig, ax = plt.subplots(figsize=(8.0, 0.6 + 0.45 * len(rows)))
    labels = [_label(s.run + (f" ({s.label})" if s.label else "")) for s in rows]
    left = [0.0] * len(rows)
    segments = [("speculative", [s.speculative or 0 for s in rows])]
    segments += [(r, [s.fallbacks.get(r, 0) for s in rows]) for r in reasons]
    segments.append(("not_attempted", [s.not_attempted or 0 for s in rows]))
    for i, (name, counts) in enumerate(segments):
        widths = [100.0 * c / (s.faults or 1) for c, s in zip(counts, rows, strict=True)]
        color = _COLORS.get(name, _PALETTE[(i - 1) % len(_PALETTE)])
        ax.barh(labels, widths, left=left, color=color, label=_label(name.replace("_", " ")))
        left = [a + b for a, b in zip(left, widths, strict=True)]
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of faults")
    ax.invert_yaxis()
    ax.legend(
        loc="upper center", bbox_to_anchor=(0.5, -0.25 - 0.05 * len(rows)), ncol=4, frameon=False
    )
    return _svg(fig)


def timeline_svg(runs: Sequence[RunSummary]) -> str | None:
    """Fallbacks (and user faults) per interval, one line per reason and run."""
    series = [(s, s.trace["timeline"]) for s in runs if s.trace and s.trace["timeline"]["series"]]
    if not series:
        return None
    _setup()
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8.0, 2.8))
    for i, (s, tl) in enumerate(series):
        width_ms = tl["interval_ns"] / 1e6
        for j, (name, counts) in enumerate(sorted(tl["series"].items())):
            xs = [k * width_ms for k in range(len(counts))]
            ax.plot(
                xs,
                counts,
                label=_label(f"{s.run}: {name}"),
                color=_PALETTE[(i * 3 + j) % len(_PALETTE)],
            )
    ax.set_xlabel("time since the first event (ms)")
    ax.set_ylabel("events per interval")
    ax.legend(fontsize=7, frameon=False)
    return _svg(fig)


def histogram_svg(title: str, hist: dict[str, int]) -> str | None:
    if not hist or not sum(hist.values()):
        return None
    _setup()
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3.8, 2.4))
    ax.bar(list(hist), list(hist.values()), color="#1565c0")
    ax.set_title(_label(title))
    ax.set_xlabel("microseconds")
    ax.set_ylabel("count")
    return _svg(fig)


def compare_svg(rows: Sequence[object]) -> str | None:
    """Significant changes with their 95% confidence intervals (horizontal)."""
    pts = [r for r in rows if getattr(r, "significant", False)][:25]
    if not pts:
        return None
    _setup()
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8.0, 0.5 + 0.3 * len(pts)))
    names = [_label(r.metric) for r in pts]  # type: ignore[attr-defined]
    changes = [r.change_pct for r in pts]  # type: ignore[attr-defined]
    lo = [c - (r.ci_pct[0] if r.ci_pct else c) for c, r in zip(changes, pts, strict=True)]  # type: ignore[attr-defined]
    hi = [(r.ci_pct[1] if r.ci_pct else c) - c for c, r in zip(changes, pts, strict=True)]  # type: ignore[attr-defined]
    colors = ["#2e7d32" if c > 0 else "#c62828" for c in changes]
    ax.barh(names, changes, color=colors, xerr=[lo, hi], capsize=3)
    ax.axvline(0, color="#555", linewidth=0.8)
    ax.invert_yaxis()
    ax.set_xlabel("% change, head vs base (bars: 95% confidence interval)")
    return _svg(fig)
