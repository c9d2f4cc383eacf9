"""``make fuzz``: the long fuzzing budget, its figures written to tests/fuzz-corpus/RESULTS.md.

1. the hypothesis fuzz tests (tests/test_fuzz_ingest.py) with SPFTRACE_FUZZ_EXAMPLES
   examples each (make test runs 12);
2. atheris, coverage-guided, over the trace-text parsers' feed entry point
   (tests/fuzz_feed.py) for a fixed time; new inputs that add coverage are merged
   into the committed corpus tests/fuzz-corpus/trace-text (inputs capped at 4 KiB).

    python tests/fuzz_run.py --seconds 300 --examples 400
"""

from __future__ import annotations

import argparse
import platform
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).parents[1]
CORPUS = ROOT / "tests" / "fuzz-corpus" / "trace-text"
RESULTS = ROOT / "tests" / "fuzz-corpus" / "RESULTS.md"
FEED = ROOT / "tests" / "fuzz_feed.py"


def hypothesis_budget(examples: int) -> dict[str, str]:
    t0 = time.monotonic()
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/test_fuzz_ingest.py",
        ],
        cwd=ROOT,
        env={**_env(), "SPFTRACE_FUZZ_EXAMPLES": str(examples)},
        capture_output=True,
        text=True,
        check=False,
    )
    summary = (r.stdout.strip().splitlines() or ["(no output)"])[-1]
    failed = [ln for ln in r.stdout.splitlines() if ln.startswith("FAILED")]
    return {
        "examples per hypothesis test": str(examples),
        "result": summary.strip("= "),
        "failures": "; ".join(f.removeprefix("FAILED ") for f in failed) or "none",
        "wall time": f"{time.monotonic() - t0:.0f} s",
    }


def atheris_budget(seconds: int) -> dict[str, str]:
    before = len(list(CORPUS.iterdir()))
    with tempfile.TemporaryDirectory(prefix="spftrace-fuzz-") as tmp:
        new = Path(tmp) / "new"
        new.mkdir()
        artifacts = Path(tmp) / "crashes"
        artifacts.mkdir()
        t0 = time.monotonic()
        r = subprocess.run(
            [sys.executable, str(FEED), str(new), str(CORPUS), f"-max_total_time={seconds}",
             "-max_len=4096", "-print_final_stats=1", f"-artifact_prefix={artifacts}/"],
            cwd=ROOT, env=_env(), capture_output=True, text=True, check=False,
        )  # fmt: skip
        elapsed = time.monotonic() - t0
        log = r.stderr
        crashes = sorted(p.name for p in artifacts.iterdir())
        for c in crashes:  # keep a crash where it can be replayed and committed
            (ROOT / "tests" / "fuzz-corpus" / c).write_bytes((artifacts / c).read_bytes())
        wrapper = Path(tmp) / "feed"
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FEED}" "$@"\n')
        wrapper.chmod(0o755)
        subprocess.run(
            [str(wrapper), "-merge=1", "-max_len=4096", str(CORPUS), str(new)],
            cwd=ROOT, env={**_env(), "SPFTRACE_FUZZ_SELF": str(wrapper)},
            capture_output=True, check=False,
        )  # fmt: skip
    inited = re.search(r"INITED cov: (\d+) ft: (\d+)", log)
    last = re.findall(r"(?:DONE|pulse|NEW|REDUCE)\s+cov: (\d+) ft: (\d+) corp: (\S+)", log)
    runs = re.search(r"stat::number_of_executed_units: (\d+)", log)
    rate = re.search(r"stat::average_exec_per_sec:\s+(\d+)", log)
    rss = re.search(r"stat::peak_rss_mb:\s+(\d+)", log)
    return {
        "time budget": f"{seconds} s (ran {elapsed:.0f} s)",
        "executions": runs.group(1) if runs else "?",
        "executions per second": rate.group(1) if rate else "?",
        "coverage (libFuzzer edges / features), start -> end": (
            f"{inited.group(1)} / {inited.group(2)} -> {last[-1][0]} / {last[-1][1]}"
            if inited and last
            else "?"
        ),
        "peak RSS": f"{rss.group(1)} MB" if rss else "?",
        "crashes": ", ".join(crashes) or "none",
        "committed corpus": f"{before} -> {len(list(CORPUS.iterdir()))} inputs "
        f"({sum(p.stat().st_size for p in CORPUS.iterdir()) / 1024:.0f} KiB)",
        "exit": str(r.returncode),
    }


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=300)
    ap.add_argument("--examples", type=int, default=400)
    args = ap.parse_args()
    import atheris  # noqa: F401  (fail here, before the long part, if it is missing)

    hyp = hypothesis_budget(args.examples)
    ath = atheris_budget(args.seconds)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    lines = [
        "# Fuzzing results (`make fuzz`)",
        "",
        f"Last run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC at commit {commit}, Python "
        f"{platform.python_version()}, atheris {_version('atheris')}, hypothesis "
        f"{_version('hypothesis')}, on {platform.node()} ({platform.machine()}, shared "
        "CPUs: rates are indicative).",
        "",
        "## hypothesis over every format (parsers, `spftrace.ingest`, `spftrace ingest`)",
        "",
        *(f"- {k}: {v}" for k, v in hyp.items()),
        "",
        "## atheris over the trace-text parsers' feed entry point (tests/fuzz_feed.py)",
        "",
        *(f"- {k}: {v}" for k, v in ath.items()),
        "",
    ]
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


if __name__ == "__main__":
    main()
