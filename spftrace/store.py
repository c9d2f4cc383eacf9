"""The dataset: Parquet tables hive-partitioned by run, written atomically.

Layout::

    DATA/spftrace-dataset.json            schema version of the dataset
    DATA/<table>/run=<name>/part-<k>.parquet   k = first input number in the file
    DATA/manifests/run=<name>/part-<k>.json    size and SHA-256 of each file (integrity.py)

Commit protocol (why: several files must appear together, and a crash must
leave the dataset as it was).  An ingest writes every file as
``DATA/.staging-<id>.<name>``, then writes a journal ``DATA/.commit-<id>.json`` that
lists the moves, renames the data files and the manifest into place and the
``runs`` file last, and deletes the journal.  Readers only see commits whose
``runs`` file is there, so a half-done commit is invisible; a failure takes the
moves back at once, and after a crash the next writer finds the journal and does.
A run with a damaged file is left out of every read and named in the error.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

from ._version import __version__
from .errors import SpftraceError
from .integrity import (
    MANIFESTS,
    TABLES,
    Commit,
    Problem,
    commits,
    full_problems,
    quick_problems,
    unpublish,
)
from .outfile import atomic_write, os_reason
from .runwriter import RunWriter as RunWriter
from .runwriter import sanitize_run_name as sanitize_run_name
from .schema import PARTITION, SCHEMA_VERSION
from .text import visible

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

T = TypeVar("T")
DEFAULT_DATA = "spftrace-data"
MARKER = "spftrace-dataset.json"
_DATA_TABLES = ("counters", "events", "rejects", "stats")


def data_dir(data: str | os.PathLike[str] | None) -> Path:
    """``--data``, else ``$SPFTRACE_DATA``, else ``./spftrace-data``."""
    if data is not None:
        return Path(data)
    return Path(os.environ.get("SPFTRACE_DATA") or DEFAULT_DATA)


def _transient(name: str) -> bool:
    return name in (".lock", ".lock-holder") or (
        name.startswith((f".{MARKER}.", ".lock-holder.")) and name.endswith(".tmp")
    )


def check_dataset_dir(path: Path) -> None:
    """A directory spftrace may write a dataset into: new, empty, or a dataset (the
    one rule of every command: ``runs --data /`` and ``ingest --data /`` agree)."""
    if (path / MARKER).exists():
        return
    if path.exists() and not path.is_dir():
        raise SpftraceError(f"{path}: not a directory; --data names a dataset directory")
    try:
        # a dataset another spftrace is creating this moment holds only its lock and
        # the marker's temporary file: not somebody else's directory
        used = path.is_dir() and any(not _transient(p.name) for p in path.iterdir())
    except OSError as exc:
        raise SpftraceError(f"{path}: cannot read it: {os_reason(exc)}") from None
    if used:
        raise SpftraceError(
            f"{path}: not an spftrace dataset (no {MARKER}) and not empty; "
            "spftrace writes only into a new or empty directory: choose another --data"
        )


def _mkdir(path: Path) -> bool:
    """``path`` made if missing (its parents too); True if this call made it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir()
    except FileExistsError:
        if not path.is_dir():
            raise
        return False
    return True


#: what a ``.lock`` spftrace made holds.  A directory holding only a ``.lock`` is taken
#: as empty (another spftrace may be creating a dataset there), so it may be the user's
#: own file: an undone creation (Dataset.undo_create) unlinks only a .lock holding this
LOCK_MARK = b"spftrace dataset lock\n"


def open_lock(path: Path) -> IO[str]:
    """``path/.lock`` opened to be locked, made (holding LOCK_MARK) if missing."""
    lock = path / ".lock"
    try:
        fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "wb") as made:
            made.write(LOCK_MARK)
    return lock.open("a")


class Dataset:
    """A dataset directory.  Opening checks the schema version.

    ``create`` makes a new dataset in a directory that is missing or empty; a
    directory that holds anything else (``/``, a project, ``/proc``) is refused by
    readers and writers alike, so spftrace never writes into what it did not make."""

    def __init__(self, path: str | os.PathLike[str], *, create: bool = False) -> None:
        self.path = Path(path)
        #: run -> what is wrong with it; its files are left out of every read
        self.damage: dict[str, list[Problem]] = {}
        self._commits: list[Commit] | None = None
        self._index: tuple[list[Commit], list[tuple[str, str, int]]] | None = None
        self._full_scanned = False
        self._create = create
        #: this object wrote the marker (and made the directory): undo_create may undo it
        self.created = self.made_dir = False
        try:
            self._open(create)
        except OSError as exc:
            raise SpftraceError(f"{self.path}: cannot open the dataset: {os_reason(exc)}") from None

    def _open(self, create: bool) -> None:
        marker = self.path / MARKER
        if not marker.exists():
            check_dataset_dir(self.path)
            if not create:
                raise SpftraceError(
                    f"no dataset at {self.path}: ingest something first "
                    "(spftrace ingest FILE) or pass --data DIR"
                )
            info = {"schema_version": SCHEMA_VERSION, "created_by": __version__}
            for again in (True, True, False):
                made = _mkdir(self.path)
                try:
                    atomic_write(marker, (json.dumps(info) + "\n").encode(), durable=True)
                    break
                except OSError as exc:
                    gone = isinstance(exc, FileNotFoundError) and not self.path.exists()
                    if gone and again:  # an undone creation removed it after our mkdir
                        continue
                    if made:
                        with contextlib.suppress(OSError):
                            self.path.rmdir()
                    raise SpftraceError(
                        f"{self.path}: cannot create the dataset: {os_reason(exc)}"
                    ) from None
            self.created, self.made_dir = True, self.made_dir or made
        try:
            info = json.loads(marker.read_text())
            version = int(info["schema_version"])
        except (ValueError, KeyError, TypeError, OSError):
            raise SpftraceError(f"{marker}: unreadable dataset marker") from None
        if version > SCHEMA_VERSION:
            raise SpftraceError(
                f"{self.path} was written with dataset schema {version}, newer than this "
                f"spftrace ({__version__}, schema {SCHEMA_VERSION}); upgrade spftrace"
            )

    # -- locking and recovery ---------------------------------------------------
    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        fh = self._lock()
        try:
            self._recover()
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
            fh.close()

    def _lock(self) -> IO[str]:
        """``.lock``, locked.  A creating ingest that failed unlinks the marker and
        ``.lock`` while it holds the lock (undo_create): a writer that waited for it
        holds a lock no later writer sees, so it opens the dataset again (``create``
        makes it anew) and locks the new ``.lock``."""
        for _ in range(100):
            try:
                fh = open_lock(self.path)
            except FileNotFoundError:  # the directory went with an undone creation
                self._open(self._create)
                continue
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                same = os.fstat(fh.fileno()).st_ino == os.stat(self.path / ".lock").st_ino
            except FileNotFoundError:
                same = False
            if same and (self.path / MARKER).exists():
                return fh
            fcntl.flock(fh, fcntl.LOCK_UN)
            fh.close()
            self._open(self._create)
        raise SpftraceError(f"{self.path}: the dataset lock keeps being removed; try again")

    def undo_create(self) -> bool:
        """The marker and ``.lock`` of a dataset this object created, if nothing was
        published in it: called holding the lock by an ingest that failed, so that a
        new ``--data`` directory is left as it was (missing or empty), not looking like
        a dataset, and removes the directory if it made it.  True if undone."""
        if not self.created:
            return False
        names = [p.name for p in self.path.iterdir()]
        if any(not (_transient(n) or n == MARKER or n.startswith(".staging-")) for n in names):
            return False
        self._recover()  # staging left by the failed ingest
        (self.path / MARKER).unlink(missing_ok=True)
        lock = self.path / ".lock"
        with contextlib.suppress(OSError), lock.open("rb") as fh:  # not the user's .lock
            if fh.read(len(LOCK_MARK) + 1) == LOCK_MARK:
                lock.unlink()
        (self.path / ".lock-holder").unlink(missing_ok=True)  # ours: we hold the lock
        self.created = False
        # still holding the lock: a writer that waited finds no directory, makes it and
        # knows it did (removed after the lock, a waiter had found it and the last
        # failing one left the empty directory behind)
        self.remove_made_dir()
        return True

    def remove_made_dir(self) -> None:
        """The dataset directory, if this object made it and it is empty again."""
        if self.made_dir and not (self.path / MARKER).exists():
            with contextlib.suppress(OSError):
                self.path.rmdir()

    def _recover(self) -> None:
        for journal in self.path.glob(".commit-*.json"):
            try:
                moves = json.loads(journal.read_text())["moves"]
            except (ValueError, KeyError, OSError):
                moves = []
            runs_moved = [d for s, d in moves if Path(d).parts[-3] == "runs" and Path(d).exists()]
            if not runs_moved:  # the commit never became visible: undo it
                unpublish([Path(d) for _s, d in moves], self.path)
            journal.unlink()
        for left in self.path.glob(".commit-*.tmp"):  # a journal cut short (kill -9)
            left.unlink(missing_ok=True)
        for staging in self.path.glob(".staging-*"):  # staged files (older: a directory)
            if staging.is_dir() and not staging.is_symlink():
                shutil.rmtree(staging, ignore_errors=True)
            else:
                staging.unlink(missing_ok=True)
        self._commits = None

    # -- integrity ----------------------------------------------------------------
    def commits(self) -> list[Commit]:
        """Every published commit; the quick checks run once and fill ``damage``."""
        if self._commits is None:
            self._commits = commits(self.path)
            for c in self._commits:
                for p in quick_problems(c):
                    self._damaged(p)
        return self._commits

    def _damaged(self, p: Problem) -> bool:
        known = self.damage.setdefault(p.run, [])
        if p in known:
            return False
        known.append(p)
        return True

    def find_damage(self) -> bool:
        """Verify every file in full (on a failed read); True when a new damaged run
        was found, so that the read is worth trying again without it."""
        if self._full_scanned:
            return False
        self._full_scanned = True
        before = set(self.damage)
        for c in self.commits():
            if c.run not in self.damage:
                for p in full_problems(c):
                    self._damaged(p)
        return set(self.damage) != before

    def verify(
        self, runs: Sequence[str] | None = None, tables: Sequence[str] | None = None
    ) -> None:
        """Hash the files of ``runs`` (None: all) in ``tables`` (None: all) against their
        manifests: a reader reads most of them anyway, and garbage inside a file of the
        right size must not become a number.  What differs goes to ``damage``."""
        for c in self.commits():
            wanted = runs is None or c.run in runs
            if wanted and c.recorded is not None and c.run not in self.damage:
                for p in full_problems(c, tables):
                    self._damaged(p)

    def damage_error(self, runs: Sequence[str] | None) -> SpftraceError | None:
        """The one-line error for reading ``runs`` (None: all) of a damaged dataset."""
        self.commits()
        hit = [r for r in (self.damage if runs is None else runs) if r in self.damage]
        if not hit:
            return None
        p = self.damage[hit[0]][0]
        others = "; report the other runs with --run NAME" if runs is None else ""
        return SpftraceError(
            f"{visible(str(p.path))}: damaged ({p.reason}): run {p.run!r} cannot be read"
            f"{others}; `spftrace check` lists every damaged file"
        )

    def guarded(self, fn: Callable[[], T], runs: Sequence[str] | None = None) -> T:
        """``fn()`` (a read).  When it fails the way a damaged file makes reads fail,
        every file is verified; if that finds damaged runs, ``fn`` runs once more
        without them (it should call ``damage_error`` for the runs it needs, as the
        retry does for ``runs``).  Any other failure is raised as it was."""
        import duckdb

        from .duck import ReadFailed

        try:
            return fn()
        except Exception as exc:
            reading = (
                duckdb.IOException,
                duckdb.InvalidInputException,
                duckdb.InternalException,
                ReadFailed,
                OSError,
                ValueError,  # pyarrow's ArrowInvalid
            )
            # a Parquet page that does not decode (thrift) is a bare duckdb.Error
            if not (isinstance(exc, reading) or type(exc) is duckdb.Error):
                raise
            if not self.find_damage():
                if isinstance(exc, ReadFailed):
                    raise SpftraceError(f"{self.path}: cannot read the dataset: {exc}") from None
                raise
        err = self.damage_error(runs)
        if err is not None:
            raise err
        return fn()

    # -- reading ------------------------------------------------------------------
    def files(self, table: str, runs: Sequence[str] | None = None) -> list[Path]:
        """The table's files in every commit whose run is not damaged (of ``runs`` only,
        when given)."""
        cs = self.commits()
        wanted = None if runs is None else set(runs)
        return sorted(
            c.files[table]
            for c in cs
            if c.run not in self.damage and table in c.files and (wanted is None or c.run in wanted)
        )

    def read(self, table: str, runs: Sequence[str] | None = None) -> pd.DataFrame:
        """One table as pandas, limited to committed (run, input) pairs."""

        def go() -> pd.DataFrame:
            err = self.damage_error(runs)
            if err is not None:
                raise err
            con = self.connect()
            try:
                where = ""
                params: list[Any] = []
                if runs is not None:
                    where = f" WHERE {PARTITION} IN (SELECT unnest(?))"
                    params = [list(runs)]
                return con.execute(f"SELECT * FROM {table}{where}", params).df()
            finally:
                con.close()

        return self.guarded(go, runs)

    def connect(
        self, *, mode: str = "internal", runs: Sequence[str] | None = None
    ) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with one view per table over the committed data (see
        duck.py for ``mode``: internal, user or unsafe), of ``runs`` only when given.
        Why ``runs``: DuckDB plans a query over a view of N files in time linear in N
        even when its ``run = ?`` filter leaves one file (about 0.3 ms a file), so
        queries run by run over a whole fleet cost runs x files; on a connection of
        that run's files they cost the same whatever the fleet's size."""
        from .duck import connect

        tables = {t: self.files(t, runs) for t in ("runs", *_DATA_TABLES)}
        return connect(tables, self.path / ".duckdb-tmp", mode=mode)

    def _runs_index(self) -> list[tuple[str, str, int]]:
        """(run, sha256, input) of every committed input, read straight from the
        runs files: ingest needs no SQL engine (DuckDB would add to its memory)."""
        cs = self.commits()
        if self._index is not None and self._index[0] is cs:  # no commit since
            return self._index[1]
        out = []
        for c in cs:
            if c.run in self.damage:
                continue
            import pyarrow.parquet as pq  # (only when there are runs: a first ingest has none)

            try:
                t = pq.read_table(c.runs_file, columns=["sha256", "input"])
            except Exception as exc:  # a damaged runs file: its run is left out
                self._damaged(Problem(c.run, c.runs_file, _first_line(exc)))
                continue
            for sha, inp in zip(
                t.column("sha256").to_pylist(), t.column("input").to_pylist(), strict=True
            ):
                out.append((c.run, sha, int(inp)))
        # kept until the commits are listed again: an ingest asks for run names and
        # for each input's sha256, each of which read every runs file before
        self._index = (cs, out)
        return out

    def run_names(self) -> list[str]:
        return sorted({run for run, _, _ in self._runs_index()} | set(self.damage))

    def find_sha(self, sha256: str) -> str | None:
        return next((run for run, sha, _ in self._runs_index() if sha == sha256), None)

    def next_input(self, run: str) -> int:
        err = self.damage_error([run])
        if err is not None:
            raise err
        inputs = [i for r, _, i in self._runs_index() if r == run]
        return max(inputs) + 1 if inputs else 0

    # -- writing ------------------------------------------------------------------
    def writer(self, run: str, first_input: int) -> RunWriter:
        return RunWriter(self, run, first_input)

    def remove_runs(self) -> None:
        """Delete every run: the part files and manifests spftrace wrote, and the
        directories that leaves empty.  The marker stays; any other file stays."""
        with self.locked():
            for table in (*TABLES, MANIFESTS):
                for f in (self.path / table).glob(f"{PARTITION}=*/part-*.*"):
                    if f.suffix in (".parquet", ".json") and f.is_file():
                        f.unlink()
                for d in (self.path / table).glob(f"{PARTITION}=*"):
                    with contextlib.suppress(OSError):
                        d.rmdir()
                with contextlib.suppress(OSError):
                    (self.path / table).rmdir()
            shutil.rmtree(self.path / ".duckdb-tmp", ignore_errors=True)
            self._commits = None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [exc.__class__.__name__])[0][:200]
