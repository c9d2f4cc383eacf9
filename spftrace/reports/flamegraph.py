"""A flame graph of fault call paths as one inline SVG (no script, no network).

The layout is Brendan Gregg's flamegraph.pl: the root (all faults) at the bottom,
each frame as wide as the faults under it, siblings in name order, frames narrower
than ``MIN_WIDTH`` pixels left out (their faults stay in their parent's width).
Hand-written XML, not matplotlib: thousands of rectangles with a tooltip each.
Every name comes from a trace: control and bidi characters are made visible
(text.visible) and the rest XML-escaped (``&<>"'``) in both text and attributes.
User frames are green (the "mem" palette), kernel frames orange.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape as _xml

from ..text import visible

WIDTH = 1200
FRAME_H = 16
TOP_PAD = 28
MIN_WIDTH = 0.1
CHAR_W = 7.0  # 12px monospace, a little generous
_ATTR = {'"': "&quot;", "'": "&apos;"}


def _text(value: str) -> str:
    return _xml(visible(value))


def _attr(value: str) -> str:
    return _xml(visible(value), _ATTR)


@dataclass
class Node:
    name: str
    kernel: bool
    value: int = 0
    children: dict[tuple[str, bool], Node] = field(default_factory=dict)


def tree(paths: Sequence[dict[str, Any]]) -> Node:
    """The frame tree of folded paths (``fault_sites`` ``folded``: root-first names,
    ``kernel`` frames at the leaf end, ``faults`` under each)."""
    root = Node("all", False)
    for p in paths:
        names, weight = p["path"], int(p["faults"])
        first_kernel = len(names) - int(p.get("kernel") or 0)
        root.value += weight
        node = root
        for depth, name in enumerate(names):
            key = (name, depth >= first_kernel)
            child = node.children.get(key)
            if child is None:
                child = node.children[key] = Node(name, key[1])
            child.value += weight
            node = child
    return root


def _depth(node: Node) -> int:
    return 1 + max((_depth(c) for c in node.children.values()), default=0)


def _color(node: Node) -> str:
    h = zlib.crc32(node.name.encode("utf-8", "surrogateescape")) & 0xFFFF
    if node.name == "all" and not node.kernel:
        return "rgb(200,200,200)"
    if node.kernel:
        return f"rgb({220 + h % 36},{110 + (h >> 4) % 60},{30 + (h >> 8) % 40})"
    return f"rgb({40 + h % 60},{170 + (h >> 4) % 70},{60 + (h >> 8) % 60})"


def svg(paths: Sequence[dict[str, Any]], title: str = "Fault call paths") -> str | None:
    """The SVG text, or None without paths."""
    root = tree(paths)
    if root.value <= 0:
        return None
    depth = _depth(root)
    height = TOP_PAD + depth * FRAME_H + 8
    scale = (WIDTH - 20) / root.value
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="flamegraph" width="{WIDTH}" '
        f'height="{height}" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{_attr(title)}">',
        f'<text x="{WIDTH / 2:.0f}" y="18" text-anchor="middle" font-size="14" '
        f'font-family="sans-serif">{_text(title)}</text>',
        '<g font-family="monospace" font-size="12">',
    ]
    total = root.value

    def emit(node: Node, x: float, level: int) -> None:
        w = node.value * scale
        if w < MIN_WIDTH:
            return
        y = height - 8 - (level + 1) * FRAME_H
        pct = 100.0 * node.value / total
        tip = f"{node.name} ({node.value:,} faults, {pct:.2f}%)"
        if node.kernel:
            tip += " [kernel]"
        out.append(
            f'<g class="frame"><title>{_text(tip)}</title>'
            f'<rect x="{x:.2f}" y="{y}" width="{w:.2f}" height="{FRAME_H - 1}" '
            f'fill="{_color(node)}" rx="2"/>'
        )
        chars = int((w - 6) / CHAR_W)
        if chars >= 3:
            label = node.name if len(node.name) <= chars else node.name[: chars - 2] + ".."
            out.append(f'<text x="{x + 3:.2f}" y="{y + 11}">{_text(label)}</text>')
        out.append("</g>")
        cx = x
        for key in sorted(node.children):
            child = node.children[key]
            emit(child, cx, level + 1)
            cx += child.value * scale

    emit(root, 10.0, 0)
    out.append("</g></svg>")
    return "".join(out)
