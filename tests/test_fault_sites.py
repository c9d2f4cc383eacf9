"""Sample-only perf script (perf record -e page-faults -g) and "Where faults come from".

Expected values come from a plain pass over the same text (``count_text``: split on
whitespace, no regular expression of the parser, no spftrace code), from perf's own
captures (tests/data/fault_samples/PROVENANCE.tsv) or from the generator below.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from .helpers import DATA, parse_text

SAMPLES = DATA / "fault_samples"
SVG_NS = "{http://www.w3.org/2000/svg}"
FAULT_EVENTS = ("page-faults", "faults", "minor-faults", "major-faults")


# -- an independent count of perf script text ---------------------------------------
def _stored(raw: bytes) -> str:
    """How the dataset stores input bytes: backslashes doubled, bad UTF-8 as \\xNN."""
    return raw.replace(b"\\", b"\\\\").decode("utf-8", "backslashreplace")


def count_text(raw: bytes) -> dict[str, Counter[str]]:
    """Faults (sum of periods) by comm, by DSO and by (symbol, dso) of the innermost
    user frame (ip below 2**63), of the fault samples of default `perf script -g` text."""
    out: dict[str, Counter[str]] = {"comm": Counter(), "dso": Counter(), "sym": Counter()}
    blocks = raw.split(b"\n\n")
    for block in blocks:
        lines = [ln for ln in block.split(b"\n") if ln.strip()]
        if not lines or lines[0].startswith((b"\t", b"#")):
            continue
        head = lines[0].split()
        # comm tid [cpu] time: [period] event: [payload]
        at = next(
            i
            for i, t in enumerate(head)
            if t.endswith(b":") and t[:-1].replace(b".", b"").isdigit() and b"." in t
        )
        period = int(head[at + 1]) if head[at + 1].isdigit() else 1
        event = head[at + 2 if head[at + 1].isdigit() else at + 1].decode().rstrip(":")
        fault = event.split(":")[0] in FAULT_EVENTS or event.startswith("exceptions:page_fault_")
        if not fault:
            continue
        ids = at - 2 if head[at - 1].startswith(b"[") else at - 1
        comm = b" ".join(head[:ids])
        out["comm"][_stored(comm)] += period
        dso = sym = "[kernel]"
        for ln in lines[1:]:
            ip, _, rest = ln.strip().partition(b" ")
            if int(ip, 16) >= 1 << 63:
                continue
            name, _, obj = rest.decode().rpartition(" (")
            dso = obj[:-1] if obj[:-1] != "[unknown]" else "[unknown]"
            sym = name.rsplit("+0x", 1)[0] if name != "[unknown]" else "[unknown]"
            break
        out["dso"][dso] += period
        out["sym"][f"{sym} @ {dso}"] += period
    return out


def _spftrace(*args: str, stdin: bytes | None = None, cwd: Path) -> str:
    exe = Path(sys.executable).with_name("spftrace")
    p = subprocess.run(
        [str(exe), *args], input=stdin, capture_output=True, cwd=cwd, timeout=300, check=False
    )
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    return p.stdout.decode()


def _ingest_and_report(raw: bytes, tmp: Path) -> tuple[dict[str, Any], str, str]:
    _spftrace("ingest", "-", stdin=raw, cwd=tmp)
    js = json.loads(_spftrace("report", "json", cwd=tmp))
    text = _spftrace("report", "text", cwd=tmp)
    _spftrace("report", "html", "-o", "r.html", cwd=tmp)
    return js["runs"][0]["fault_sites"], text, (tmp / "r.html").read_text()


def _check_against_text(fs: dict[str, Any], raw: bytes, text: str, html: str) -> None:
    want = count_text(raw)
    assert fs["faults"] == sum(want["comm"].values()) > 0
    got_comm = {r["comm"]: r["faults"] for r in fs["by_process"]}
    got_dso = {r["dso"]: r["faults"] for r in fs["by_dso"]}
    got_sym = {f"{r['sym']} @ {r['dso']}": r["faults"] for r in fs["by_symbol"]}
    assert got_comm == dict(want["comm"])
    assert got_dso == dict(want["dso"])
    if len(want["sym"]) <= 50:
        assert got_sym == dict(want["sym"])
    # the text report names the top process, DSO and symbol with their counts
    section = text[text.index("Where faults come from") :]
    for key in ("comm", "dso"):
        name, n = want[key].most_common(1)[0]
        row = next(ln for ln in section.splitlines() if f" {name} " in ln)
        assert f" {n:,} " in row
    top_sym = want["sym"].most_common(1)[0][0].split(" @ ")[0]
    assert top_sym in section
    # the HTML has the flame graph: valid XML, the root's width is every fault
    svg = _flamegraph(html)
    titles = [t.text or "" for t in svg.iter(f"{SVG_NS}title")]
    assert titles[0].startswith(f"all ({fs['faults']:,} faults")


def _flamegraph(html: str) -> ET.Element:
    m = re.search(r'<svg[^>]*class="flamegraph".*?</svg>', html, re.S)
    assert m is not None, "no flame graph in the HTML report"
    return ET.fromstring(m.group(0))


# -- the Done-when: perf record -e page-faults -g; perf script | spftrace ingest - ----
@pytest.mark.parametrize(
    "name", ["page-faults-u-rust.txt", "page-faults-odd-comm.txt", "minor-major-faults.txt",
             "page-faults-default.txt", "page-faults-java-jit.txt",
             "exceptions-page-fault-user.txt", "page-faults-pid-tid-cpu.txt"],
)  # fmt: skip
def test_capture_through_stdin_counts_like_the_text(name: str, tmp_path: Path) -> None:
    raw = (SAMPLES / name).read_bytes()
    fs, text, html = _ingest_and_report(raw, tmp_path)
    _check_against_text(fs, raw, text, html)


def _perf_works() -> bool:
    if not shutil.which("perf") or os.geteuid() != 0:
        return False
    p = subprocess.run(["perf", "record", "-q", "-e", "page-faults", "-o", "/dev/null", "true"],
                       capture_output=True, check=False)  # fmt: skip
    return p.returncode == 0


@pytest.mark.skipif(not _perf_works(), reason="needs perf and root to record page-faults")
def test_live_perf_record_page_faults(tmp_path: Path) -> None:
    """The issue's Done-when, on this machine: a real perf record, piped."""
    data = tmp_path / "pf.data"
    work = "import array; a = array.array('q', bytes(1 << 22)); print(len(a))"
    subprocess.run(
        ["perf", "record", "-q", "-c", "1", "-e", "page-faults", "-g", "-o", str(data), "--",
         sys.executable, "-c", work], check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    raw = subprocess.run(["perf", "script", "-i", str(data)], check=True,
                         capture_output=True, timeout=120).stdout  # fmt: skip
    fs, text, html = _ingest_and_report(raw, tmp_path)
    _check_against_text(fs, raw, text, html)
    assert fs["with_callchain"] == fs["samples"]


# -- the flame graph escapes frame names ---------------------------------------------------
def test_flamegraph_names_are_escaped(tmp_path: Path) -> None:
    """Real C++ template names (node's v8::...<...>) and a hostile name survive as text."""
    raw = (SAMPLES / "page-faults-node-jit.txt").read_bytes()
    hostile = "\t          401000 <script>alert(1)</script>&\"q'+0x0 (/tmp/x)\n"
    raw = raw.replace(b"\n\n", b"\n" + hostile.encode() + b"\n", 1)
    _spftrace("ingest", "-", stdin=raw, cwd=tmp_path)
    _spftrace("report", "html", "-o", "r.html", cwd=tmp_path)
    html = (tmp_path / "r.html").read_text()
    assert "<script>alert" not in html
    titles = {(t.text or "").split(" (")[0] for t in _flamegraph(html).iter(f"{SVG_NS}title")}
    assert "<script>alert(1)</script>&\"q'" in titles
    assert "v8::internal::FactoryBase<v8::internal::Factory>::NewFixedArrayWithFiller" in titles
    frames = {
        ln.strip().partition(" ")[2].rpartition(" (")[0].rsplit("+0x", 1)[0]
        for ln in raw.decode().splitlines()
        if ln.startswith("\t")
    }
    assert titles - {"all"} <= frames | {"[unknown]"}


# -- parser details from real captures --------------------------------------------------
def test_period_column_is_the_sample_period() -> None:
    raw = (SAMPLES / "cpu-clock-uhH.txt").read_text()
    p = parse_text("perf-script", raw)
    assert [r["event"] for r in p.rows] == ["cpu-clock:uhH"] * 2
    assert [r["period"] for r in p.rows] == [250000, 250000]
    assert not p.rejects


def test_no_callchain_sample_line_gives_ip_sym_dso() -> None:
    line = (SAMPLES / "page-faults-no-callchain.txt").read_text().splitlines()[3]
    # perf's line: comm tid time: period event:  ip sym+off (dso)
    ip, sym, dso = line.split()[-3], line.split()[-2], line.split()[-1][1:-1]
    p = parse_text("perf-script", line + "\n")
    (row,) = p.rows
    assert (row["ip"], row["sym"], row["dso"]) == (int(ip, 16), sym, dso)


def test_addr_field_is_the_address_with_a_callchain() -> None:
    text = (SAMPLES / "page-faults-addr.txt").read_text()
    block = text.split("\n\n")[0]
    head, first = block.splitlines()[0], block.splitlines()[1]
    p = parse_text("perf-script", block + "\n")
    (row,) = p.rows
    assert row["address"] == int(head.split()[5], 16)  # comm tid time: period event: addr
    assert row["ip"] == int(first.split()[0], 16)


def test_side_band_records_are_counted_not_rejected() -> None:
    raw = (SAMPLES / "exceptions-side-band.txt").read_text()
    p = parse_text("perf-script", raw)
    assert not p.rejects
    assert p.stats["perf_side_band_records"] == raw.count(": PERF_RECORD_")


def test_vpa_dtl_records_among_tracepoints_never_stop_strict_ingest(tmp_path: Path) -> None:
    """Power's vpa-dtl AUX records, in the shape Documentation/arch/powerpc/vpa-dtl.rst
    shows (numbers ours): records of their own, with perf's ip sym (dso) tail."""
    text = (
        "            perf   4242 [010] 5373.360048:     sched:sched_stat_runtime: "
        "comm=perf pid=4242 runtime=1397 [ns]\n"
        "            :256     256 [016] 5373.359913:                   vpa-dtl: "
        "timebase: 2140360070 dispatch_reason:priv doorbell, preempt_reason:H_CEDE, "
        "enqueue_to_dispatch_time:236,     ready_to_enqueue_time:0, waiting_to_ready_time:13 "
        "c0000000000fcd28 plpar_hcall_norets_notrace+0x18 ([kernel.kallsyms])\n"
    )
    p = parse_text("perf-script", text)
    assert not p.rejects
    dtl = p.rows[1]
    assert (dtl["comm"], dtl["tid"], dtl["cpu"], dtl["event"]) == (":256", 256, 16, "vpa-dtl")
    assert (dtl["ip"], dtl["sym"], dtl["dso"]) == (
        0xC0000000000FCD28,
        "plpar_hcall_norets_notrace+0x18",
        "[kernel.kallsyms]",
    )
    (tmp_path / "t.txt").write_text(text)
    _spftrace("ingest", "--errors", "strict", "t.txt", cwd=tmp_path)


# -- hypothesis: perf script renderings of random samples round-trip ----------------------
def _plain_comm(b: bytes) -> bool:
    """A comm perf's rendering keeps apart from its fields: no whitespace but single
    spaces inside, no '.' (a time is digits.digits)."""
    text = b.decode("utf-8", "surrogateescape")
    spaces = all(not ch.isspace() or ch == " " for ch in text)
    return spaces and text.strip() == text and "." not in text and text.isprintable() is not None


_COMM_BYTES = st.binary(min_size=1, max_size=15).filter(_plain_comm)
#: C++, Rust, Go and JIT names: `v8::X<Y>::f`, `<T as Tr>::f`, `main.(*T).f`, `JS:*f a.js:1`;
#: never " (" (perf's dso separator) nor a leading "[" ([unknown], [0x...])
_SYM = st.text(
    alphabet=st.sampled_from("abcxyz_:<>&*[] (),.~/0123456789"), min_size=1, max_size=24
).filter(lambda s: s.strip() == s and "  " not in s and not s.startswith("[") and " (" not in s)
_DSO = st.text(alphabet=st.sampled_from("abc/._-[]0123456789"), min_size=1, max_size=20).filter(
    lambda s: s != "[unknown]"
)
_FRAME = st.tuples(st.integers(1, 2**64 - 1), _SYM, st.integers(0, 2**20), _DSO)
_EVENT = st.sampled_from(["page-faults", "minor-faults", "cpu-clock", "task-clock", "cycles"])
_MODS = st.sampled_from(["", ":u", ":k", ":uhH", ":ppp", ":P"])
_SAMPLE = st.tuples(
    _COMM_BYTES, st.integers(0, 2**31 - 2), st.integers(0, 10**6), st.integers(0, 999999),
    st.integers(1, 10**9), _EVENT, _MODS, st.lists(_FRAME, max_size=6),
)  # fmt: skip


Drawn = tuple[bytes, int, int, int, int, str, str, list[tuple[int, str, int, str]]]


def _render(samples: list[Drawn], layout: str) -> bytes:
    """As perf script 6.1 prints them (tools/perf/builtin-script.c, evsel_fprintf.c):
    ``-F comm,tid`` or ``comm,pid,tid`` (pid = tid + 1 here), with or without ``cpu``
    (cpu = tid % 64)."""
    out = bytearray()
    for comm, tid, sec, usec, period, event, mods, frames in samples:
        ids = f"{tid + 1}/{tid}" if "pid" in layout else f"{tid:5d}"
        cpu = f" [{tid % 64:03d}]" if "cpu" in layout else ""
        head = f" {ids}{cpu} {sec:5d}.{usec:06d}: {period:10d} {event}{mods}: \n"
        out += comm + head.encode()
        for ip, sym, off, dso in frames:
            out += f"\t{ip:16x} {sym}+0x{off:x} ({dso})\n".encode()
        out += b"\n"
    return bytes(out)


@settings(max_examples=150, deadline=None)
@given(
    samples=st.lists(_SAMPLE, min_size=1, max_size=8),
    layout=st.sampled_from(["id", "pid/tid", "id+cpu", "pid/tid+cpu"]),
)
def test_sample_only_perf_script_round_trips(samples: list[Drawn], layout: str) -> None:
    raw = _render(samples, layout)
    p = parse_text("perf-script", raw.decode("utf-8", "surrogateescape"))
    assert not p.rejects
    assert len(p.rows) == len(samples)
    for row, drawn in zip(p.rows, samples, strict=True):
        comm, tid, sec, usec, period, event, mods, frames = drawn
        assert row["comm"] == _stored(comm)
        assert row["tid"] == tid
        assert row.get("pid") == (tid + 1 if "pid" in layout else None)
        assert row.get("cpu") == (tid % 64 if "cpu" in layout else None)
        assert row["ts"] == sec * 10**9 + usec * 1000
        assert row["period"] == period
        assert row["event"] == f"{event}{mods}"
        want = [{"ip": ip, "sym": sym, "off": off, "dso": dso} for ip, sym, off, dso in frames]
        assert (row.get("callchain") or []) == want
        if frames:
            assert row["ip"] == frames[0][0]


def test_runs_without_fault_samples_have_no_section(tmp_path: Path) -> None:
    """cpu-clock samples with stacks are stored, but they are not faults."""
    _spftrace("ingest", str(SAMPLES / "cpu-clock-uhH.txt"), cwd=tmp_path)
    js = json.loads(_spftrace("report", "json", cwd=tmp_path))
    assert js["runs"][0]["fault_sites"] is None
    assert "Where faults come from" not in _spftrace("report", "text", cwd=tmp_path)


@pytest.mark.browser
def test_flamegraph_draws_in_chromium(tmp_path: Path) -> None:
    """The section and its flame graph in a real browser: drawn, no script ran, offline."""
    from playwright.sync_api import sync_playwright

    chromium = "/usr/bin/chromium"
    assert Path(chromium).exists(), "Debian's chromium is required (.ci/run installs it)"
    raw = (SAMPLES / "page-faults-node-jit.txt").read_bytes()
    hostile = "\t          401000 <img src=x onerror=alert(1)>+0x0 (/tmp/x)\n"
    raw = raw.replace(b"\n\n", b"\n" + hostile.encode() + b"\n", 1)
    _spftrace("ingest", "-", stdin=raw, cwd=tmp_path)
    _spftrace("report", "html", "-o", "r.html", cwd=tmp_path)
    want_frames = len(_flamegraph((tmp_path / "r.html").read_text()).findall(f".//{SVG_NS}rect"))
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))

        def dialog(d: Any) -> None:
            errors.append(f"dialog: {d.message}")
            d.dismiss()

        page.on("dialog", dialog)
        page.on("request", lambda r: requests.append(r.url))
        page.goto((tmp_path / "r.html").as_uri())
        page.wait_for_load_state("load")
        assert page.locator("section#fault-sites").is_visible()
        svg = page.locator("section#fault-sites svg.flamegraph")
        assert svg.count() == 1
        assert page.evaluate("document.querySelector('svg.flamegraph').getBBox().width") > 1000
        assert page.locator("svg.flamegraph rect").count() == want_frames > 10
        assert page.locator("img").count() == 0  # the hostile frame name stayed text
        titles = page.evaluate(
            "Array.from(document.querySelectorAll('svg.flamegraph title')).map(t => t.textContent)"
        )
        assert any(t.startswith("<img src=x onerror=alert(1)> (") for t in titles)
        browser.close()
    assert errors == []
    assert all(u.startswith(("file:", "data:")) for u in requests)


def test_perf_data_and_its_perf_script_agree(tmp_path: Path) -> None:
    """The same perf.data through spftrace's own reader and through perf script's text:
    the same faults by process and by DSO (the reader names no user symbols yet)."""
    _spftrace("ingest", "--run", "bin", str(SAMPLES / "page-faults-u-rust.data"), cwd=tmp_path)
    _spftrace("ingest", "--run", "txt", str(SAMPLES / "page-faults-u-rust.txt"), cwd=tmp_path)
    runs = {
        r["run"]: r["fault_sites"]
        for r in json.loads(_spftrace("report", "json", cwd=tmp_path))["runs"]
    }
    binary, text = runs["bin"], runs["txt"]
    for key in ("events", "samples", "faults", "with_callchain", "by_process", "by_dso"):
        assert binary[key] == text[key], key
