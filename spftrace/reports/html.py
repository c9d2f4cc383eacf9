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
from ..analysis.model import RunSummary
from ..kernel import REASONS, reason
from ..text import visible
from ..vocabulary import FALLBACK_PATH, PER_VMA_LOCK, UNKNOWN, colour, share, words
from . import NOT_FALLBACKS, ReportModel, fault_sites, plots
from .json_report import as_dict


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
    env.globals["colour"] = colour
    env.globals["share"] = share
    return env


def comparison_section(cmp: Any) -> dict[str, Any]:
    """The base-vs-head section: LKP's table, the statistics, and a chart."""
    from ..analysis.compare import render_lkp, render_stats

    chart = plots.compare_svg(cmp.rows)
    tpl = environment().from_string(
        "{% macro n(runs) %}{{ runs|length }} run{{ 's' if runs|length != 1 }}{% endmacro %}"
        "<p>{{ cmp.base_label }} ({{ n(cmp.base_runs) }}) vs {{ cmp.head_label }} "
        "({{ n(cmp.head_runs) }})</p>"
        "{% for w in cmp.warnings %}<p class='note'>{{ w }}</p>{% endfor %}"
        "{% if chart %}<figure class='chart'>{{ chart }}</figure>{% endif %}"
        "<pre class='mono lkp'>{{ lkp }}</pre><pre class='mono'>{{ stats }}</pre>"
    )
    body = tpl.render(
        cmp=cmp, chart=Markup(chart) if chart else None, lkp="\n".join(render_lkp(cmp)),
        stats="\n".join(render_stats(cmp)) if cmp.rows else "no significant change",
    )  # fmt: skip
    return {"id": "comparison", "title": "Base versus head", "html": Markup(body)}


def _title(model: ReportModel) -> str:
    """The report's subtitle, in the words of its runs' kernel model."""
    models = {s.kernel_model for s in model.runs} - {UNKNOWN}
    if len(models) == 1:
        return words(models.pop()).fallbacks_title
    return f"Why page faults left the fast path for the {FALLBACK_PATH}"


def _catalogue(name: str, kernel_model: str) -> tuple[str, str, str] | None:
    """What the reason means in general (meaning, likely cause, advice), when known."""
    from ..analysis.vmalock_names import MEANINGS

    if kernel_model == PER_VMA_LOCK and name in MEANINGS:
        return MEANINGS[name]
    if name in REASONS:
        r = reason(name, kernel_model)
        return r.meaning, r.likely_cause, r.advice
    return None


def _glossary(model: ReportModel) -> tuple[list[dict[str, Any]], dict[tuple[str, str], str]]:
    """Each reason's meaning, cause and advice once (the catalogue's, else its first
    finding's), and for a finding whose text differs from that (a cause computed from
    the run's own data), what differs, keyed by (run, reason)."""
    entries: dict[str, dict[str, Any]] = {}
    notes: dict[tuple[str, str], str] = {}
    for s in model.runs:
        for f in s.findings:
            e = entries.get(f.reason)
            if e is None:
                meaning, cause, advice = _catalogue(f.reason, s.kernel_model) or (
                    f.meaning,
                    f.likely_cause,
                    f.advice,
                )
                e = entries[f.reason] = {
                    "reason": f.reason, "id": f"reason-{len(entries) + 1}",
                    "colour": colour(f.reason), "meaning": meaning,
                    "likely_cause": cause, "advice": advice, "runs": [],
                }  # fmt: skip
            e["runs"].append(s.run)
            differs = [
                f"{what}{mine}"
                for what, mine, first in (
                    ("Meaning here: ", f.meaning, e["meaning"]),
                    ("", f.likely_cause, e["likely_cause"]),
                    ("Advice here: ", f.advice, e["advice"]),
                )
                if mine != first
            ]
            if differs:
                notes[(s.run, f.reason)] = " ".join(differs)
    return list(entries.values()), notes


def _summary(s: RunSummary, anchor: str) -> dict[str, Any]:
    w = words(s.kernel_model)
    top = next((f for f in s.findings if f.reason not in NOT_FALLBACKS), None)
    if s.fell_back_range is not None:
        lo, hi = s.fell_back_range
        fell = f"{lo:,} to {hi:,}"
    elif s.fallback_total is not None:
        fell = f"{s.fallback_total:,} ({share(s.fallback_total, s.faults)})"
    else:
        fell = "n/a"
    return {
        "s": s, "id": anchor, "words": w,
        "fast": "n/a" if s.speculative is None
        else f"{s.speculative:,} ({share(s.speculative, s.faults)})",
        "fell": fell, "top": top, "top_share": share(top.count, s.faults) if top else None,
        "not_attempted": "n/a" if s.not_attempted is None else share(s.not_attempted, s.faults),
    }  # fmt: skip


def _has_tables(s: RunSummary) -> bool:
    tr = s.trace or {}
    return any(tr.get(k) for k in ("by_process", "by_thread", "by_vma", "by_call_site", "culprits"))


def render(model: ReportModel, *, extra_sections: list[dict[str, Any]] | None = None) -> str:
    breakdown = plots.breakdown_svg(model.runs)
    charted = {s.run for s in plots.breakdown_runs(model.runs)}
    timeline = plots.timeline_svg(model.runs)
    anchors = {s.run: f"run-{i + 1}" for i, s in enumerate(model.runs)}
    contention = []
    for s in model.runs:
        pv = (s.trace or {}).get("per_vma_lock")
        if not pv:
            continue
        figs = [
            plots.histogram_svg("mmap_lock wait", pv["wait_us"].get("histogram", {})),
            plots.histogram_svg("mmap_lock hold", pv["hold_us"].get("histogram", {})),
        ]
        contention.append({"run": s.run, "pv": pv, "figs": [Markup(f) for f in figs if f]})
    glossary, notes = _glossary(model)
    tpl = environment().get_template("report.html.j2")
    return tpl.render(
        model=model,
        data=as_dict(model),
        title=_title(model),
        fallback_path=FALLBACK_PATH,
        summary=[_summary(s, anchors[s.run]) for s in model.runs],
        anchors=anchors,
        glossary=glossary,
        reason_ids={e["reason"]: e["id"] for e in glossary},
        finding_notes=notes,
        words=words,
        uncharted=[s.run for s in model.runs if s.run not in charted],
        breakdown_svg=Markup(breakdown) if breakdown else None,
        timeline_svg=Markup(timeline) if timeline else None,
        timeline_left=[s.run for s, _ in plots.timeline_runs(model.runs)[plots.TIMELINE_PANELS :]],
        who_where=[s for s in model.runs if _has_tables(s)],
        contention=contention,
        version=__version__,
        extra_sections=extra_sections or [],
        fault_sites=fault_sites.html_context(model),  # fault_sites.html.j2
    )
