"""One real-browser test of the HTML report: headless Debian Chromium via Playwright.

.ci/run installs Debian's chromium; the test fails (it is not skipped) when the
browser is missing, so a CI machine without it cannot pass silently."""

from __future__ import annotations

from pathlib import Path

import pytest

import spftrace
from spftrace import sim
from spftrace.sim import emit

from .test_trace_analysis import HOSTILE, hostile_trace

CHROMIUM = "/usr/bin/chromium"
SECTIONS = ("verdict", "breakdown", "timeline", "who-where", "contention", "sources", "ingest")


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
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
def test_report_renders_in_chromium(report_file: Path) -> None:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is required (.ci/run installs it)"
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--no-first-run",
            ],
        )
        page = browser.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("dialog", lambda d: (errors.append(f"dialog: {d.message}"), d.dismiss()))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(report_file.as_uri())
        page.wait_for_load_state("load")
        for sec in SECTIONS:
            assert page.locator(f"section#{sec}").is_visible(), sec
        # every figure is an inline SVG that actually drew something
        n_svg = page.locator("figure svg").count()
        assert n_svg >= 4
        assert page.evaluate(
            "Array.from(document.querySelectorAll('figure svg')).every(s => s.getBBox().width > 0)"
        )
        # the hostile process name is text, not markup
        assert page.locator("img").count() == 0
        assert HOSTILE in page.locator("section#contention table.holders").inner_text()
        browser.close()
    assert errors == []
    assert all(u.startswith("file:") or u.startswith("data:") for u in requests)  # offline
