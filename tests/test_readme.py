"""Every command in the README runs and prints what the README says (as pyperf and
sqlite-utils test their docs).

Each ```sh block runs as one bash script (so a variable set on one line is seen by
the next), in README order, in one temporary directory holding `./app` (the
README's stand-in for "your program": a small faulting process) and a link to
`spftrace/` (the README names sample files relative to the repository), with
the venv's `bin` first on PATH.  Each ```python block runs with the venv's Python.
Every command line must be listed either in EXPECT (output fragments the block must
print: what the README promises, or what the input files hold) or in NOT_RUN with
the reason; a new README command fails here until it is listed.  The captures run
perf on this machine (kernel 6.4+: per-VMA locks), as `make test` installs it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"
BIN = Path(sys.executable).parent

# lines that are not run, and why (the explicit rule the brief allows)
NOT_RUN = {
    "make demo    # creates .venv, installs, ingests the bundled samples, writes "
    "spftrace-demo/report.html": "a make target: it builds the venv this test runs in",
    "make test    # installs what the tests drive (chromium, perf, trace-cmd), then ruff, "
    "mypy --strict, pytest": "a make target: it runs this test",
    "perf stat -e faults,spf,'pagefault:*' -- ./app 2>&1 | spftrace ingest - --label spf": (
        "needs a kernel with the SPF patches (the spf event); the README's next block "
        "ingests that pipe's recorded output"
    ),
}

# per command line: fragments its block's stdout+stderr must contain.  Sources: perf
# stat's and spftrace's documented output forms, the seed file's own counts
# (spftrace/samples/seed/ebizzy-x86-16cpu.txt: 1706379 faults), this machine's kernel
# model (6.18: per-VMA locks) and the README's own claims.
EXPECT: dict[str, list[str]] = {
    "perf stat -e page-faults,exceptions:page_fault_user -- ./app 2>&1 | spftrace ingest -": [
        "perf-stat -> run stdin",
    ],
    "spftrace report text": ["run stdin - kernel model:", "sources: perf-stat"],
    "spftrace capture -- ./app": ["-> run capture-app"],
    "spftrace report text --run capture-app": [
        "run capture-app - kernel model: per-vma-lock - sources: perf-stat, trace",
        "| under VMA lock ",
        "| fell back ",
        "| not attempted ",
    ],
    "spftrace report html --run capture-app -o report.html": ["report.html"],
    "spftrace ingest spftrace/samples/seed/ebizzy-x86-16cpu.txt --label spf --data spf-data": [
        "perf-stat -> run ebizzy-x86-16cpu",
    ],
    "spftrace report text --data spf-data": [
        "run ebizzy-x86-16cpu, label spf - kernel model: spf - sources: perf-stat",
        "faults 1,706,379 |",
    ],
    "for i in 1 2 3; do spftrace capture --no-trace --label base -- ./app; done": [
        "-> run capture-app-2",
    ],
    "# change the kernel or the program, then": [],
    "for i in 1 2 3; do spftrace capture --no-trace --label head -- ./app; done": [
        "-> run capture-app-5",
    ],
    "spftrace compare --base base --head head": ["base: base (3 runs)   head: head (3 runs)"],
    "spftrace compare --base base --head head --all --sort change --json": [
        '"schema": "spftrace.compare/1"',
        '"sort": "change"',
    ],
    "spftrace simulate ebizzy --threads 16 --cpus 16 --kernel spf --ingest --label spf": [
        '"kernel": "spf"',
    ],
    "spftrace simulate --sweep fault_us=1.49,3 --sweep bounce_us=0.024,0.096": [
        # the seed's published figures (SPF v11 cover letter) head the table
        "| seed (published) | | 98.14 | 1.79 | 100.69 | 77.94 | 22.05 | 84.46 |",
        "| fault_us | 3 |",
        "| bounce_us | 0.096 |",
    ],
    "spftrace simulate ebizzy --threads 16 --cpus 16 --kernel base --ingest --label base": [
        '"kernel": "base"',
        ", label spf - kernel model: spf - sources: perf-stat",
        ", label base - kernel model: ",
    ],
    "T=/sys/kernel/tracing/instances/spftrace-$$ && mkdir $T": [],
    "echo 1 > $T/events/exceptions/page_fault_user/enable; echo 1 > $T/events/mmap_lock/enable": [],
    "echo 1 > $T/tracing_on; ./app; echo 0 > $T/tracing_on": [],
    "cat $T/trace > trace.txt && rmdir $T": [],
    "spftrace ingest trace.txt --label ftrace": ["trace.txt: ftrace -> run trace"],
    # the python block, by its first line
    "import spftrace": ["run kernbench-x86-16cpu, label base", "kernbench-x86-16cpu", "faults"],
}

APP = """#!/bin/sh
# the README's ./app: a program that faults in 32 MiB
exec python3 -c 'b = bytearray(32 << 20); print("app: touched", len(b), "bytes")'
"""


def blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced code block."""
    return re.findall(r"^```(\w*)\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)


def shell_blocks() -> list[list[str]]:
    return [body.splitlines() for lang, body in blocks(README.read_text()) if lang == "sh"]


def test_every_command_is_listed() -> None:
    lines = [line for b in shell_blocks() for line in b]
    assert len(lines) > 10
    for line in lines:
        assert line in EXPECT or line in NOT_RUN, f"README command not listed here: {line!r}"
    pys = [body for lang, body in blocks(README.read_text()) if lang == "python"]
    assert pys and all(b.splitlines()[0] in EXPECT for b in pys)
    listed = set(EXPECT) | set(NOT_RUN)
    firsts = {b.splitlines()[0] for b in pys}
    assert listed <= set(lines) | firsts, "listed commands the README no longer has"


def test_readme_opens_with_make_demo_and_make_test_then_mainline_before_spf() -> None:
    text = README.read_text()
    first = shell_blocks()[0]
    assert [line.split()[:2] for line in first] == [["make", "demo"], ["make", "test"]]
    mainline = text.index("perf stat -e page-faults,exceptions:page_fault_user -- ./app 2>&1")
    assert mainline < text.index("spftrace capture -- ./app") < text.index("-e faults,spf,")
    assert ".venv/bin" in text[: text.index("## A first look")]
    assert "spftrace-linux" in text  # the distribution name (issue 14 point 5)


def test_readme_names_only_files_that_exist() -> None:
    text = README.read_text()
    assert "DESIGN.md" not in text
    paths = set()
    for token in re.findall(r"`([^`\s]+)`", text) + re.findall(r"\]\(([^)]+)\)", text):
        token = token.rstrip(".,:;")
        if re.fullmatch(r"(spftrace|tests|bench|docs|sample_traces|\.ci)/[\w./-]*", token) or (
            re.fullmatch(r"[\w-]+\.(md|toml|txt|py)", token) and "/" not in token
        ):
            paths.add(token)
    # anywhere, code blocks included (the layout)
    for bare in re.findall(
        r"(?<![\w/.-])((?:spftrace|tests|bench|docs|sample_traces)/[\w./-]*)", text
    ):
        paths.add(bare.rstrip(".,:;"))
    # files the commands write, and other projects' files the README names
    generated = {"report.html", "trace.txt", "perf-stat.txt", "perf-script.txt", "vmstat.txt"}
    external = {"runtest.py"}  # will-it-scale's harness
    missing = sorted(p for p in paths - generated - external if not (ROOT / p).exists())
    assert len(paths) > 10
    assert not missing, f"README names files that are not in the repository: {missing}"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("readme")
    (d / "app").write_text(APP)
    (d / "app").chmod(0o755)
    # the README's paths are relative to the repository's root, where spftrace/ is the
    # package itself (a copy of samples alone would shadow the import of spftrace)
    (d / "spftrace").symlink_to(ROOT / "spftrace", target_is_directory=True)
    return d


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "SPFTRACE_DATA"}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["COLUMNS"] = "120"
    return env


@pytest.mark.capture
def test_readme_commands_run(workdir: Path) -> None:
    """All blocks in order in one directory: later blocks use earlier datasets."""
    if shutil.which("perf") is None:
        pytest.fail("perf is not installed: `make sysdeps` installs Debian's linux-perf")
    for lines in shell_blocks():
        run = [line for line in lines if line not in NOT_RUN]
        if not run:
            continue
        script = "set -eu\n" + "\n".join(run) + "\n"
        r = subprocess.run(["bash", "-c", script], cwd=workdir, env=_env(), capture_output=True,
                           text=True, timeout=300, check=False)  # fmt: skip
        out = r.stdout + r.stderr
        assert r.returncode == 0, f"README block failed ({r.returncode}):\n{script}\n{out}"
        for line in run:
            for fragment in EXPECT[line]:
                assert fragment in out, f"{line!r}: {fragment!r} not printed:\n{out}"
        assert "Traceback" not in out
    for lang, body in blocks(README.read_text()):
        if lang != "python":
            continue
        r = subprocess.run([sys.executable, "-c", body], cwd=workdir, env=_env(),
                           capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
        out = r.stdout + r.stderr
        assert r.returncode == 0, f"README python block failed:\n{body}\n{out}"
        for fragment in EXPECT[body.splitlines()[0]]:
            assert fragment in out, f"python block: {fragment!r} not printed:\n{out}"
    # what the blocks wrote: the HTML report, and the ftrace text the instance recorded
    assert (workdir / "report.html").read_text().lstrip().lower().startswith("<!doctype html")
    assert "page_fault_user" in (workdir / "trace.txt").read_text()
