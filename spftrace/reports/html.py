"""``report html``: one self-contained file (inline CSS and SVG, no network).

Rendered with Jinja2 with autoescape on: every string that came from a trace
(process names, commands, reject lines) is escaped, after its control and bidi
characters are made visible (``finalize``); only our own SVG figures are marked safe.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from .._version import __version__
from ..text import visible
from . import ReportModel, fault_sites, plots
from .json_report import as_dict
from .text import headline


def _shown(value: Any) -> Any:
    """Every ``{{ value }}``: text with control and bidi characters made visible before
    autoescape (``\u202eevil`` must not read as "live"); newlines stay (our own <pre>
    blocks); our Markup (SVG figures) passes untouched."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return "\n".join(visible(part) for part in value.split("\n"))
    return value


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("spftrace.reports", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_shown,
    )
    env.filters["num"] = lambda v: "n/a" if v is None else f"{v:,}"
    env.filters["pct"] = lambda v: "" if v is None else f"{v:.2f}%"
    return env


def comparison_section(cmp: Any) -> dict[str, Any]:
    """The base-vs-head section: LKP's table, the statistics, and a chart."""
    from ..analysis.compare import render_lkp, render_stats

    chart = plots.compare_svg(cmp.rows)
    tpl = environment().from_string(
        "<p>{{ cmp.base_label }} ({{ cmp.base_runs|length }} runs) vs {{ cmp.head_label }} "
        "({{ cmp.head_runs|length }} runs)</p>"
        "{% for w in cmp.warnings %}<p class='note'>{{ w }}</p>{% endfor %}"
        "{% if chart %}<figure class='chart'>{{ chart }}</figure>{% endif %}"
        "<pre class='mono lkp'>{{ lkp }}</pre><pre class='mono'>{{ stats }}</pre>"
    )
    body = tpl.render(
        cmp=cmp, chart=Markup(chart) if chart else None, lkp="\n".join(render_lkp(cmp)),
        stats="\n".join(render_stats(cmp)) if cmp.rows else "no significant change",
    )  # fmt: skip
    return {"id": "comparison", "title": "Base versus head", "html": Markup(body)}


def render(model: ReportModel, *, extra_sections: list[dict[str, Any]] | None = None) -> str:
    breakdown = plots.breakdown_svg(model.runs)
    timeline = plots.timeline_svg(model.runs)
    contention = []
    for s in model.runs:
        pv = (s.trace or {}).get("per_vma_lock")
        if not pv:
            continue
        figs = [
            plots.histogram_svg(f"{s.run}: mmap_lock wait", pv["wait_us"].get("histogram", {})),
            plots.histogram_svg(f"{s.run}: mmap_lock hold", pv["hold_us"].get("histogram", {})),
        ]
        contention.append({"run": s.run, "pv": pv, "figs": [Markup(f) for f in figs if f]})
    tpl = environment().get_template("report.html.j2")
    return tpl.render(
        model=model,
        data=as_dict(model),
        headlines={s.run: headline(s) for s in model.runs},
        breakdown_svg=Markup(breakdown) if breakdown else None,
        timeline_svg=Markup(timeline) if timeline else None,
        contention=contention,
        version=__version__,
        extra_sections=extra_sections or [],
        fault_sites=fault_sites.html_context(model),  # fault_sites.html.j2
    )
