"""The HTML report in a real browser: headless Debian Chromium via Playwright.

On the demo report (the bundled samples, ``spftrace demo``) and on a one-run report:
the same reason has the same fill in every SVG and in the tables' swatches, no two
text boxes of a chart overlap (legend items, tick labels, axis labels and titles,
compared pairwise by getBoundingClientRect), no legend text sits on a data area,
and every section heading has content under it.  A full-page screenshot is kept
(``tests/artifacts/report.png`` when SPFTRACE_KEEP_ARTIFACTS is set).

.ci/run installs Debian's chromium; the tests fail (they are not skipped) when the
browser is missing, so a CI machine without it cannot pass silently."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import spftrace
from spftrace import sim
from spftrace.api import demo as run_demo
from spftrace.sim import emit

from .test_trace_analysis import HOSTILE, hostile_trace

CHROMIUM = "/usr/bin/chromium"
SECTIONS = (
    "summary", "verdict", "breakdown", "reasons", "timeline", "who-where", "contention",
    "sources", "ingest",
)  # fmt: skip
ARTIFACTS = Path(__file__).parent / "artifacts"

#: per SVG: [reason, the fill of its first shape, or its stroke when it is a line]
JS_MARKS = """() => Array.from(document.querySelectorAll('figure svg')).map(svg =>
  Array.from(svg.querySelectorAll('g.reason')).map(g => {
    const cs = getComputedStyle(g.querySelector('path'));
    return [g.dataset.reason, cs.fill !== 'none' ? cs.fill : cs.stroke];
  }))"""
JS_SWATCHES = """() => Array.from(document.querySelectorAll('.swatch[data-reason]')).map(
  s => [s.dataset.reason, getComputedStyle(s).backgroundColor])"""
#: per SVG: its text boxes, its data areas and its own box
JS_BOXES = """() => Array.from(document.querySelectorAll('figure svg')).map(svg => {
  const box = e => { const r = e.getBoundingClientRect();
                     return [r.left, r.top, r.right, r.bottom]; };
  const texts = Array.from(svg.querySelectorAll('text'))
    .filter(t => t.textContent.trim())
    .map(t => [t.textContent.trim(), box(t), t.closest('g[id^="legend"]') !== null]);
  return {texts, axes: Array.from(svg.querySelectorAll('g.axes')).map(box), svg: box(svg)};
})"""
#: headings (h2, h3) with nothing visible before the next heading of the same or higher rank
JS_EMPTY_HEADINGS = """() => Array.from(document.querySelectorAll('h2, h3')).filter(h => {
  const rank = +h.tagName[1];
  for (let n = h.nextElementSibling; n; n = n.nextElementSibling) {
    if (/^H[1-6]$/.test(n.tagName) && +n.tagName[1] <= rank) break;
    if (n.innerText.trim() || n.querySelector('svg')) return false;
  }
  return true;
}).map(h => h.innerText)"""


#: boxes (tables, figures, cards, paragraphs) that stick out of their container, or a page
#: wider than the window
JS_OVERFLOW = """() => {
  const out = [];
  if (document.documentElement.scrollWidth > window.innerWidth)
    out.push('page: ' + document.documentElement.scrollWidth + 'px wide');
  for (const e of document.querySelectorAll('table, figure, .card, p, pre, dl')) {
    const r = e.getBoundingClientRect(), p = e.parentElement.getBoundingClientRect();
    if (r.right > p.right + 1) out.push(e.tagName + ' ' + e.className + ': ' +
      (e.innerText || '').slice(0, 40));
  }
  return out;
}"""


def overlap(a: list[float], b: list[float], tol: float = 0.5) -> bool:
    """Two boxes (left, top, right, bottom) share more than a sliver."""
    return min(a[2], b[2]) - max(a[0], b[0]) > tol and min(a[3], b[3]) - max(a[1], b[1]) > tol


def test_overlap_is_what_it_says() -> None:
    assert overlap([0, 0, 10, 10], [5, 5, 15, 15])
    assert not overlap([0, 0, 10, 10], [10, 0, 20, 10])  # touching edges
    assert not overlap([0, 0, 10, 10], [0, 11, 10, 20])


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is required (.ci/run installs it)"
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--no-first-run"],
        )  # fmt: skip
        yield b
        b.close()


class Page:
    """A report opened in the browser, with what went wrong on the way."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page = page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("dialog", lambda d: (self.errors.append(f"dialog: {d.message}"), d.dismiss()))
        page.on("request", lambda r: self.requests.append(r.url))
        page.goto(path.as_uri())
        page.wait_for_load_state("load")


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What ``spftrace demo`` writes: the seed runs, a capture of this machine, the
    simulator on three kernels."""
    return run_demo(tmp_path_factory.mktemp("demo") / "out")


@pytest.fixture(scope="module")
def one_run_report(demo_report: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("one") / "report.html"
    html = spftrace.report("html", data=demo_report.parent / "data", runs=["ebizzy-x86-16cpu"])
    out.write_text(html)
    return out


@pytest.fixture(scope="module")
def demo_page(browser: Any, demo_report: Path) -> Page:
    return Page(browser, demo_report)


@pytest.mark.browser
def test_demo_report_loads_offline_with_every_section(demo_page: Page) -> None:
    page = demo_page.page
    for sec in SECTIONS:
        assert page.locator(f"section#{sec}").is_visible(), sec
    assert page.locator("figure svg").count() >= 4  # breakdown, timeline, histograms
    assert page.evaluate(
        "Array.from(document.querySelectorAll('figure svg')).every(s => s.getBBox().width > 0)"
    )
    assert demo_page.errors == []
    assert all(u.startswith(("file:", "data:")) for u in demo_page.requests)
    assert page.locator("script, link, img, iframe").count() == 0


@pytest.mark.browser
def test_the_same_reason_has_the_same_fill_everywhere(demo_page: Page) -> None:
    per_svg: list[list[list[str]]] = demo_page.page.evaluate(JS_MARKS)
    fills: dict[str, set[str]] = {}
    charts: dict[str, set[int]] = {}
    for i, marks in enumerate(per_svg):
        for reason, fill in marks:
            fills.setdefault(reason, set()).add(fill)
            charts.setdefault(reason, set()).add(i)
    # the demo has SPF and per-VMA-lock runs: both kinds of reasons are drawn
    assert {"spf_vma_changed", "spf_vma_notsup", "vma_lock_abort", "not_attempted"} <= set(fills)
    assert {r: f for r, f in fills.items() if len(f) != 1} == {}
    # spf_vma_changed is in the breakdown and in the timeline, bars and legend alike
    assert len(charts["spf_vma_changed"]) >= 2
    colour = {r: f.pop() for r, f in fills.items()}
    # different reasons look different (the fast path is green on both kernels)
    assert len(set(colour.values())) == len(colour)
    # the tables' swatches are the charts' colours
    swatches: list[list[str]] = demo_page.page.evaluate(JS_SWATCHES)
    assert len(swatches) >= 10
    for reason, background in swatches:
        if reason in colour:
            assert background == colour[reason], reason


def _text_problems(page: Any) -> list[str]:
    problems = []
    for n, svg in enumerate(page.evaluate(JS_BOXES)):
        texts = svg["texts"]
        assert texts, f"svg {n} has no text"
        for i, (a, abox, _) in enumerate(texts):
            x0, y0, x1, y1 = svg["svg"]
            if abox[0] < x0 - 0.5 or abox[1] < y0 - 0.5 or abox[2] > x1 + 0.5 or abox[3] > y1 + 0.5:
                problems.append(f"svg {n}: {a!r} is cut by the figure's edge")
            for b, bbox, _ in texts[i + 1 :]:
                if overlap(abox, bbox):
                    problems.append(f"svg {n}: {a!r} overlaps {b!r}")
        for t, box, in_legend in texts:
            if in_legend and any(overlap(box, ax) for ax in svg["axes"]):
                problems.append(f"svg {n}: legend item {t!r} lies on the data")
    return problems


@pytest.mark.browser
def test_no_text_overlaps_in_any_chart(demo_page: Page) -> None:
    assert _text_problems(demo_page.page) == []


@pytest.mark.browser
def test_nothing_sticks_out(demo_page: Page) -> None:
    assert demo_page.page.evaluate(JS_OVERFLOW) == []


@pytest.mark.browser
def test_every_heading_has_content(demo_page: Page) -> None:
    assert demo_page.page.locator("h2").count() >= len(SECTIONS)
    assert demo_page.page.evaluate(JS_EMPTY_HEADINGS) == []


@pytest.mark.browser
def test_reasons_are_explained_once(demo_page: Page) -> None:
    page = demo_page.page
    # spf_vma_changed occurs in five runs, its meaning is written once
    assert page.locator("#reasons dt").filter(has_text="spf_vma_changed").count() == 1
    body = page.locator("body").inner_text()
    assert body.count("The VMA changed while the fault was handled without the lock") == 1
    # every run of the demo is in the summary table, linked to its card
    rows = page.locator("table.summary tr[data-run]")
    assert rows.count() == 9
    for i in range(rows.count()):
        href = rows.nth(i).locator("a").first.get_attribute("href")
        assert page.locator(f"div.card{href}").count() == 1


@pytest.mark.browser
def test_one_run_legend_stays_off_the_axis_label(browser: Any, one_run_report: Path) -> None:
    page = Page(browser, one_run_report).page
    assert page.locator("table.summary tr[data-run]").count() == 1
    assert _text_problems(page) == []
    assert page.evaluate(JS_EMPTY_HEADINGS) == []
    assert page.evaluate(JS_OVERFLOW) == []


@pytest.mark.browser
def test_screenshot_is_kept(demo_page: Page, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    demo_page.page.screenshot(path=str(shot), full_page=True)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    height = int.from_bytes(data[20:24], "big")
    assert height >= demo_page.page.evaluate("document.body.scrollHeight")
    if os.environ.get("SPFTRACE_KEEP_ARTIFACTS"):
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copy(shot, ARTIFACTS / "report.png")
        # the top of the report (the summary and its chart), for the README
        top = demo_page.page.evaluate(
            "document.querySelector('#verdict').getBoundingClientRect().top + window.scrollY"
        )
        demo_page.page.screenshot(
            path=str(ARTIFACTS / "report-top.png"),
            clip={"x": 0, "y": 0, "width": 1280, "height": top},
            full_page=True,
        )


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("browser")
    data = tmp / "ds"
    spftrace.ingest([hostile_trace(tmp)], data=data, run="hostile", label="per-vma-lock")
    r, w = sim.run("ebizzy", "spf", scale=0.02, keep_trace=True)
    spftrace.ingest(
        emit.write_all(r, w, tmp / "sim", ("perf-stat.txt", "perf-script.txt")),
        data=data,
        run="sim",
    )
    out = tmp / "report.html"
    out.write_text(spftrace.report("html", data=data))
    return out


@pytest.mark.browser
def test_hostile_names_are_text(browser: Any, hostile_report: Path) -> None:
    p = Page(browser, hostile_report)
    for sec in SECTIONS:
        assert p.page.locator(f"section#{sec}").is_visible(), sec
    # the hostile process name is text, not markup
    assert p.page.locator("img").count() == 0
    assert HOSTILE in p.page.locator("section#contention table.holders").inner_text()
    assert p.errors == []
    assert all(u.startswith(("file:", "data:")) for u in p.requests)  # offline
    assert _text_problems(p.page) == []
    assert p.page.evaluate(JS_EMPTY_HEADINGS) == []
