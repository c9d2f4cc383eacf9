"""What a commit wrote, and whether it is still there: manifests, damage, ``check``.

Every commit writes ``DATA/manifests/run=NAME/part-K.json`` (K: the commit's first input
number, as in its Parquet file names) listing each file it published with its size and
SHA-256, the runs file included; it is moved in with the commit, before the runs file,
so a rolled-back commit takes it along.  A commit is the runs file
``runs/run=NAME/part-K.parquet``; its files are the manifest's, or for a dataset written
before manifests (spftrace 0.1, "unverified") the files of that name in every table.

Why two depths of checking: comparing sizes costs one ``stat`` per file, so every reader
does it and never feeds a truncated file to DuckDB; hashing or decoding everything costs
a full read, so it runs in ``spftrace check`` and when a read fails (garbage inside a
file of the right size), to find the file to blame and leave its run out.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .schema import PARTITION

MANIFESTS = "manifests"
MANIFEST_FORMAT = 1
TABLES = ("counters", "events", "rejects", "stats", "runs")


def sha256_file(path: Path, head: Head | None = None) -> str:
    """The file's SHA-256; ``head``: its first bytes, hashed before (``sha256_head``)."""
    h, skip = (hashlib.sha256(), 0) if head is None else (head.sha.copy(), head.n)
    with path.open("rb") as fh:
        fh.seek(skip)
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()


@dataclass
class Head:
    """The SHA-256 state after a file's first ``n`` bytes."""

    sha: Any  # hashlib's _Hash
    n: int


def sha256_head(path: Path, n: int) -> Head:
    """The hash of the first ``n`` bytes of a file that only grows at its end (a Parquet
    file being written: its bytes on disk never change), for ``sha256_file`` to finish
    once it is complete."""
    h = hashlib.sha256()
    done = 0
    with path.open("rb") as fh:
        while done < n and (block := fh.read(min(n - done, 1 << 20))):
            h.update(block)
            done += len(block)
    return Head(h, done)


def manifest_for(
    files: Sequence[tuple[Path, Path]],
    run: str,
    first_input: int,
    heads: dict[Path, Head] | None = None,
) -> dict[str, Any]:
    """The manifest of a commit: ``files`` are (path in the dataset, where the file is
    now: staged) pairs; each is recorded under its path in the dataset.  ``heads``:
    the first bytes of some of them, hashed before they were complete."""
    from ._version import __version__

    heads = heads or {}

    return {
        "format": MANIFEST_FORMAT,
        "run": run,
        "first_input": first_input,
        "created_by": __version__,
        "files": {
            rel.as_posix(): {"bytes": f.stat().st_size, "sha256": sha256_file(f, heads.get(f))}
            for rel, f in files
        },
    }


@dataclass
class Commit:
    """One published commit of a run (one or more of its inputs)."""

    run: str
    name: str  # part-00000
    runs_file: Path
    manifest_path: Path
    #: relative path -> {"bytes", "sha256"}; None when written before manifests
    recorded: dict[str, dict[str, Any]] | None
    #: why the manifest itself cannot be used (unreadable JSON, wrong run)
    manifest_problem: str | None = None
    files: dict[str, Path] = field(default_factory=dict)  # table -> file


def commits(root: Path) -> list[Commit]:
    """Every commit of the dataset at ``root``, in run then input order."""
    out = []
    for rf in sorted((root / "runs").glob(f"{PARTITION}=*/part-*.parquet")):
        part = rf.parent.name
        c = Commit(
            run=part.partition("=")[2],
            name=rf.stem,
            runs_file=rf,
            manifest_path=root / MANIFESTS / part / f"{rf.stem}.json",
            recorded=None,
        )
        if c.manifest_path.exists():
            try:
                m = json.loads(c.manifest_path.read_bytes())
                recorded = m["files"]
                if not isinstance(recorded, dict) or m["run"] != c.run:
                    raise ValueError("not this commit's manifest")
                c.recorded = {str(k): dict(v) for k, v in recorded.items()}
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
                c.manifest_problem = f"unreadable manifest ({exc.__class__.__name__})"
        if c.recorded is not None:
            for rel in c.recorded:
                c.files[rel.split("/", 1)[0]] = root / rel
        else:
            for table in TABLES:
                f = root / table / part / f"{rf.stem}.parquet"
                if table == "runs" or f.exists():
                    c.files[table] = f
        out.append(c)
    return out


@dataclass(frozen=True)
class Problem:
    """A damaged file (``path``), or a whole run when its manifest is unusable."""

    run: str
    path: Path
    reason: str


def quick_problems(c: Commit) -> Iterator[Problem]:
    """Cheap checks: the manifest is readable, each file exists with its recorded size."""
    if c.manifest_problem is not None:
        yield Problem(c.run, c.manifest_path, c.manifest_problem)
        return
    if c.recorded is None:
        return
    for rel, rec in c.recorded.items():
        f = c.files[rel.split("/", 1)[0]]
        try:
            size = f.stat().st_size
        except FileNotFoundError:
            yield Problem(c.run, f, "missing")
            continue
        except OSError as exc:
            yield Problem(c.run, f, f"unreadable ({exc.strerror})")
            continue
        if size != rec.get("bytes"):
            yield Problem(c.run, f, f"{size:,} bytes where the commit wrote {rec.get('bytes'):,}")


def full_problems(c: Commit, tables: Sequence[str] | None = None) -> Iterator[Problem]:
    """Everything: the quick checks, then each file's SHA-256 against the manifest, or
    for a commit without one, each file decoded to its last row (only ``tables``)."""
    quick = list(quick_problems(c))
    yield from quick
    if quick or c.manifest_problem is not None:
        return
    if c.recorded is not None:
        for rel, rec in c.recorded.items():
            table = rel.split("/", 1)[0]
            if tables is not None and table not in tables:
                continue
            f = c.files[table]
            try:
                if sha256_file(f) != rec.get("sha256"):
                    yield Problem(c.run, f, "contents differ from what the commit wrote (SHA-256)")
            except OSError as exc:
                yield Problem(c.run, f, f"unreadable ({exc.strerror})")
        return
    for table, f in c.files.items():
        if tables is not None and table not in tables:
            continue
        why = decode_problem(f)
        if why is not None:
            yield Problem(c.run, f, why)


def decode_problem(f: Path) -> str | None:
    """Why a Parquet file cannot be read to the end, or None when it can."""
    import pyarrow.parquet as pq

    try:
        with pq.ParquetFile(f) as pf:
            for i in range(pf.num_row_groups):
                pf.read_row_group(i)
    except FileNotFoundError:
        return "missing"
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, even thrift errors
        first = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
        return f"not readable as Parquet ({first[:160]})"
    return None


@dataclass
class CheckResult:
    """What ``spftrace check`` found: ``problems`` make it fail (exit 1)."""

    path: Path
    runs: int = 0
    files: int = 0
    bytes: int = 0
    unverified_runs: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        from .text import visible

        out = [
            f"{self.path}: {self.runs} runs, {self.files} files, {self.bytes / 1e6:,.1f} MB checked"
        ]
        for p in self.problems:
            out.append(f"damaged: run {p.run}: {visible(str(p.path))}: {p.reason}")
        if self.unverified_runs:
            out.append(
                "unverified (written before manifests, read back without error): "
                + ", ".join(self.unverified_runs)
            )
        out += [f"note: {n}" for n in self.notes]
        damaged = sorted({p.run for p in self.problems})
        if damaged:
            out.append(
                f"{len(damaged)} damaged run(s): {', '.join(damaged)}; every other run reads "
                "normally.  To drop one, delete DATA/*/run=NAME and re-ingest its sources."
            )
        else:
            out.append("ok: every file is as its commit wrote it")
        return out


def check(root: Path) -> CheckResult:
    """Verify every file of the dataset at ``root`` (see the module doc)."""
    res = CheckResult(root)
    all_commits = commits(root)
    known: set[Path] = set()
    for c in all_commits:
        problems = list(full_problems(c))
        res.problems += problems
        if c.recorded is None and c.manifest_problem is None and c.run not in res.unverified_runs:
            res.unverified_runs.append(c.run)
        for f in c.files.values():
            known.add(f)
            if f.exists():
                res.files += 1
                res.bytes += f.stat().st_size
        known.add(c.manifest_path)
    res.runs = len({c.run for c in all_commits})
    for table in (*TABLES, MANIFESTS):
        for f in sorted((root / table).glob(f"{PARTITION}=*/*")):
            if f.is_file() and f not in known:
                res.notes.append(f"{f}: not part of any commit (ignored by readers)")
    for left in sorted(root.glob(".staging-*")) + sorted(root.glob(".commit-*")):
        res.notes.append(f"{left}: left by an interrupted ingest; the next ingest removes it")
    return res


def unpublish(dsts: Sequence[Path], root: Path) -> None:
    """Remove files a commit moved in, and the partition directories left empty."""
    for d in dsts:
        d.unlink(missing_ok=True)
        for parent in (d.parent, d.parent.parent):
            if parent != root:
                with contextlib.suppress(OSError):
                    parent.rmdir()
