"""The words of each kernel model and the HTML report's design, without a browser.

Expected words are the issue's (speculative / under VMA lock / classic path under
mmap_lock); expected shares are derived by hand from the seed's counts (kernbench on
x86: 210 speculative of 526,743,764 faults; on POWER8: 0 of 116,730,856)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markupsafe import Markup

import spftrace
from spftrace import vocabulary as v
from spftrace.api import samples_dir, simulate
from spftrace.reports import build, html
from spftrace.store import Dataset

SEED = ("ebizzy-x86-16cpu", "kernbench-x86-16cpu", "kernbench-power8-80cpu")
VMA_RUN = "sim-ebizzy-per-vma-lock-t16-c16-s1"
SPF_RUN = "sim-ebizzy-spf-t16-c16-s1"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("design") / "ds"
    for name in SEED:
        spftrace.ingest([samples_dir() / "seed" / f"{name}.txt"], data=d, label="spf")
    for kernel in ("spf", "per-vma-lock"):
        simulate("ebizzy", kernel=kernel, scale=0.02, ingest=True, data=d, label=kernel)
    return d


@pytest.fixture(scope="module")
def report(data: Path) -> str:
    return spftrace.report("html", data=data)


def runs_json(data: Path, runs: list[str] | None = None) -> dict[str, dict[str, object]]:
    doc = json.loads(spftrace.report("json", data=data, runs=runs))
    return {r["run"]: r for r in doc["runs"]}


# --- words --------------------------------------------------------------------------------


def test_each_kernel_model_has_its_words() -> None:
    assert v.words("spf").fast_path == "speculative"
    assert v.words("per-vma-lock").fast_path == "under VMA lock"
    assert v.FALLBACK_PATH == "classic path under mmap_lock"
    assert "speculative" not in v.words("per-vma-lock").fallbacks_title
    assert v.words("no-such-model") == v.words("unknown")


@pytest.mark.parametrize(
    ("part", "whole", "expected"),
    [
        (0, 116_730_856, "No fault was handled speculatively"),
        (210, 526_743_764, "Only 210 of 526,743,764 faults (<0.01%) were handled speculatively"),
        (1, 3, "Only 33.33% of faults were handled speculatively"),
        (1_674_599, 1_706_379, "Most faults (98.14%) were handled speculatively"),
        (5, 5, "All 5 faults were handled speculatively"),
    ],
)
def test_handled_sentence(part: int, whole: int, expected: str) -> None:
    assert v.handled_sentence(part, whole, v.words("spf")) == expected


def test_verdicts_never_say_zero_point_zero(data: Path) -> None:
    runs = runs_json(data)
    assert "No fault was handled speculatively" in str(runs["kernbench-power8-80cpu"]["verdict"])
    x86 = str(runs["kernbench-x86-16cpu"]["verdict"])
    assert "Only 210 of 526,743,764 faults (<0.01%) were handled speculatively" in x86
    for r in runs.values():
        assert "Only 0.00%" not in str(r["verdict"]), r["run"]


def test_text_json_and_html_use_the_same_words(data: Path) -> None:
    text = spftrace.report("text", data=data, runs=[VMA_RUN])
    doc = runs_json(data, [VMA_RUN])[VMA_RUN]
    page = spftrace.report("html", data=data, runs=[VMA_RUN])
    labels = doc["labels"]
    assert isinstance(labels, dict)
    assert labels["fast_path"] == "under VMA lock"
    assert labels["fallback_path"] == "classic path under mmap_lock"
    # the JSON contract is unchanged: the count is still under "speculative"
    assert isinstance(doc["speculative"], int)
    assert "under VMA lock " + f"{doc['speculative']:,}" in text
    assert "Why faults fell back from the per-VMA lock to mmap_lock" in text
    assert "Why faults left the speculative path" not in text
    assert f'<th>under VMA lock</th><td class="n">{doc["speculative"]:,}' in page
    assert "Why faults fell back from the per-VMA lock to mmap_lock" in page
    assert "speculative path" not in page.split("</header>")[0]
    spf_text = spftrace.report("text", data=data, runs=[SPF_RUN])
    assert "Why faults left the speculative path" in spf_text
    assert "| speculative " in spf_text


# --- colours ------------------------------------------------------------------------------

_MARK = re.compile(r'<g class="reason" data-reason="([^"]+)">\s*<path[^>]*style="([^"]*)"', re.S)


def fills(page: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for name, style in _MARK.findall(page):
        m = re.search(r"(?:fill|stroke): (#[0-9a-f]{6})", style)
        assert m, style
        out.setdefault(name, set()).add(m.group(1))
    return out


def test_a_reason_keeps_its_colour_whatever_the_other_runs(data: Path, report: str) -> None:
    everything = fills(report)
    # spf_vma_changed is the first fallback of the SPF run, absent from the per-VMA-lock one;
    # vma_lock_abort is first in a report of that run alone and later in the full one
    alone = fills(spftrace.report("html", data=data, runs=[VMA_RUN]))
    spf_only = fills(spftrace.report("html", data=data, runs=["kernbench-x86-16cpu"]))
    for part in (alone, spf_only):
        for name, colours in part.items():
            assert colours == everything[name], name
    assert {name: c for name, c in everything.items() if len(c) != 1} == {}
    assert everything["spf_vma_changed"] != everything["vma_lock_abort"]


def test_unknown_reasons_get_a_colour_by_name() -> None:
    assert v.colour("spf_new_thing") == v.colour("spf_new_thing")
    assert v.colour("pagefault:spf_vma_changed") == v.colour("spf_vma_changed")


# --- structure ----------------------------------------------------------------------------


class Outline(HTMLParser):
    """Headings and whether anything (text or an svg) follows each before the next one."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[list[object]] = []  # [tag, text, has content]
        self.current: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("h2", "h3"):
            self.headings.append([tag, "", False])
            self.current = tag
        elif tag in ("svg", "table") and self.headings:
            self.headings[-1][2] = True

    def handle_endtag(self, tag: str) -> None:
        if tag == self.current:
            self.current = None

    def handle_data(self, text: str) -> None:
        if not self.headings or not text.strip():
            return
        if self.current:
            self.headings[-1][1] = str(self.headings[-1][1]) + text
        else:
            self.headings[-1][2] = True


def test_no_heading_is_left_empty(report: str) -> None:
    outline = Outline()
    outline.feed(report)
    titles = [str(h[1]).strip() for h in outline.headings]
    assert "All runs at a glance" in titles
    empty = [h for h in outline.headings if not h[2]]
    # an h2 directly followed by its first h3 is fine; anything else is empty
    nested = [
        h for i, h in enumerate(outline.headings[:-1])
        if h[0] == "h2" and outline.headings[i + 1][0] == "h3"
    ]  # fmt: skip
    assert [h for h in empty if h not in nested] == []
    # the seed runs have no trace: they get no heading among processes and VMAs
    who = report.split('<section id="who-where">')[1].split("</section>")[0]
    assert "kernbench-x86-16cpu" not in who
    assert SPF_RUN in who


def test_summary_table_lists_every_run_once(report: str) -> None:
    rows = re.findall(r'<tr data-run="([^"]+)">', report)
    assert rows == [*SEED, SPF_RUN, VMA_RUN]
    assert report.index('id="summary"') < report.index('id="verdict"')


def test_meaning_is_written_once(report: str) -> None:
    meaning = "The VMA changed while the fault was handled without the lock"
    assert report.count(meaning) == 1  # four runs have spf_vma_changed


def test_timeline_has_a_panel_per_traced_run(report: str) -> None:
    timeline = report.split('<section id="timeline">')[1].split("</section>")[0]
    assert timeline.count('class="axes"') == 2  # the two simulated runs carry traces


def test_histogram_bins_are_short(report: str) -> None:
    contention = report.split('<section id="contention">')[1].split("</section>")[0]
    assert "100–1k" in contention and "≥1k" in contention
    assert "100-1000" not in contention


def test_self_contained(report: str) -> None:
    assert not re.search(r"<(script|link|img|iframe)\b", report)
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", report)
    assert "url(http" not in report and "@import" not in report


def test_extra_sections_drop_in_before_the_sources(data: Path) -> None:
    model = build(Dataset(data), [SPF_RUN])
    extra = {"id": "extra-x", "title": "Extra <T>", "html": Markup("<p>body</p>")}
    page = html.render(model, extra_sections=[extra])
    assert page.index('id="contention"') < page.index('id="extra-x"') < page.index('id="sources"')
    assert "Extra &lt;T&gt;" in page  # the title is escaped, the section's own HTML is not
    assert '<a href="#extra-x">' in page
    template = Path(html.__file__).parent / "templates" / "report.html.j2"
    assert "{% block extra_sections %}" in template.read_text()


def test_timeline_panels_are_capped_and_the_rest_named(
    data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from spftrace.reports import plots

    monkeypatch.setattr(plots, "TIMELINE_PANELS", 1)
    page = spftrace.report("html", data=data)
    timeline = page.split('<section id="timeline">')[1].split("</section>")[0]
    assert timeline.count('class="axes"') == 1
    assert f"Not drawn (1 more traced run): {VMA_RUN}" in timeline
