"""Text a trace chose (comm, command, file names, labels) is shown, never obeyed: in
`report text`, `runs`, `query` table/CSV and HTML its control and bidi characters are
made visible; JSON keeps it exactly (JSON escapes control characters itself)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import spftrace
from spftrace.cli import app

from .faults import fingerprint
from .helpers import DATA

TRACE = DATA / "traces" / "perf-script-fields.txt"
HEADER = DATA / "traces" / "perf-script-header.txt"

# what a hostile thread name can do to a terminal: clear the screen, set the window
# title, plant an OSC 8 hyperlink, write the clipboard (OSC 52), reverse the text
CLEAR, TITLE = "\x1b[2J", "\x1b]0;pwned\x07"
LINK = "\x1b]8;;http://evil.example/\x07"
CLIPBOARD = "\x1b]52;c;cm0gLXJmIH4=\x07"
RLO = "\u202eevil"
HOSTILE = CLEAR + TITLE + LINK + CLIPBOARD + RLO
SHOWN = (
    "\\x1b[2J\\x1b]0;pwned\\x07\\x1b]8;;http://evil.example/\\x07"
    "\\x1b]52;c;cm0gLXJmIH4=\\x07\\u202eevil"
)  # spftrace.text.visible of HOSTILE, written out by hand
RAW = ("\x1b", "\x07", "\u202e")


def cli(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(app, list(args))
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("display")
    lines = TRACE.read_text().splitlines()
    name = tmp / ("trace\x1b[31m.txt")  # a file name with an escape in it
    name.write_text("\n".join(ln.replace("mtfault", HOSTILE, 1) for ln in lines) + "\n")
    data = tmp / "ds"
    spftrace.ingest([name], data=data, run="hostile", label="lab\u202eel")
    return data


def no_raw(text: str) -> None:
    for ch in RAW:
        assert ch not in text, f"{ch!r} reached the output"


def test_the_comm_is_stored_exactly(hostile: Path) -> None:
    comms = set(spftrace.load(hostile).events.comm)
    assert comms == {HOSTILE}


def test_report_text(hostile: Path) -> None:
    code, out, err = cli("report", "text", "--data", str(hostile))
    assert code == 0, err
    no_raw(out)
    assert SHOWN[:40] in out  # a table cell folds the rest onto its next lines
    assert "evil.ex…" not in out  # folded, never cut short
    assert "lab\\u202eel" in out.splitlines()[0]


def test_report_text_in_colour_has_only_our_escapes(hostile: Path) -> None:
    out = spftrace.report("text", data=hostile, color=True)
    assert "\x1b[" in out  # rich's colours are there ...
    for bad in (CLEAR, "\x1b]", "\x07", "\u202e"):  # ... and nothing from the trace
        assert bad not in out


def test_runs(hostile: Path) -> None:
    code, out, _ = cli("runs", "--data", str(hostile))
    assert code == 0
    no_raw(out)
    (line,) = [ln for ln in out.splitlines() if ln.startswith("hostile")]
    assert "lab\\u202eel" in line and "trace\\x1b[31m.txt" in line


@pytest.mark.parametrize("fmt", ["table", "csv"])
def test_query_table_and_csv(hostile: Path, fmt: str) -> None:
    code, out, _ = cli(
        "query", "SELECT DISTINCT comm FROM events", "--data", str(hostile), "--format", fmt
    )
    assert code == 0
    no_raw(out)
    assert SHOWN in out


def test_query_json_is_exact(hostile: Path) -> None:
    code, out, _ = cli(
        "query", "SELECT DISTINCT comm FROM events", "--data", str(hostile), "--format", "json"
    )
    assert code == 0
    no_raw(out)  # JSON writes them as \u001b ...
    assert json.loads(out) == {"comm": HOSTILE}  # ... and gives them back exactly


def test_report_json_is_exact(hostile: Path) -> None:
    doc = json.loads(spftrace.report("json", data=hostile))
    holders = doc["runs"][0]["trace"]["per_vma_lock"]["top_write_holders"]
    assert {h["comm"] for h in holders} == {HOSTILE}
    assert doc["runs"][0]["label"] == "lab\u202eel"


def test_html(hostile: Path) -> None:
    before = fingerprint(hostile)
    html = spftrace.report("html", data=hostile)
    no_raw(html)
    assert "\\u202eevil" in html and "lab\\u202eel" in html
    assert fingerprint(hostile) == before


def test_command_from_the_header(tmp_path: Path) -> None:
    text = HEADER.read_text()
    (line,) = [ln for ln in text.splitlines() if ln.startswith("# cmdline")]
    f = tmp_path / "h.txt"
    f.write_text(text.replace(line, line + " " + CLEAR + RLO))
    spftrace.ingest([f], data=tmp_path / "ds")
    out = spftrace.report("text", data=tmp_path / "ds")
    assert "64  \\x1b[2J\\u202eevil" in out.replace("\n", "")  # folded at 110 columns
    no_raw(out)
    no_raw(spftrace.report("html", data=tmp_path / "ds"))


def test_figure_labels_take_dollars_literally(tmp_path: Path) -> None:
    """A label is text in the SVG, not a matplotlib formula (a bad one used to raise)."""
    spftrace.ingest([DATA / "seed" / "ebizzy-x86-16cpu.txt"], data=tmp_path / "ds",
                    label="$\\frac$\u202e")  # fmt: skip
    html = spftrace.report("html", data=tmp_path / "ds")
    assert "$\\frac$\\u202e" in html
    no_raw(html)


@pytest.mark.browser
def test_chromium_shows_the_escape(hostile: Path, tmp_path: Path) -> None:
    """In a real browser the bidi override is text, so "evil" does not read as "live"."""
    from playwright.sync_api import sync_playwright

    out = tmp_path / "r.html"
    out.write_text(spftrace.report("html", data=hostile))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(out.as_uri())
        holders = page.locator("section#contention table.holders").inner_text()
        browser.close()
    assert "\\u202eevil" in holders and "\u202e" not in holders
