"""Writing files: the outputs the user named, and the dataset's own small files.

An output path says *where* to write, not that what is there may be replaced.  Only a
regular file (or a new name) is written through a temporary file and a rename, so a
reader never sees half a report and a crash leaves the old one; the new file keeps the
old one's permission bits.  A symlink is followed and its target written (the link
stays); a device, FIFO or socket (``/dev/null``, ``/dev/stdout``, a pipe to a reader) is
opened and written in place, never replaced; ``-`` is standard output; a directory is an
error.  A temporary file never outlives a failure (a full disk leaves nothing behind).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
import uuid
from pathlib import Path

from .errors import SpftraceError

PathLike = str | os.PathLike[str]


def os_reason(exc: OSError) -> str:
    """``No space left on device (ENOSPC)``: the words and the name a search finds."""
    name = errno.errorcode.get(exc.errno or 0)
    if exc.errno:  # pyarrow's OSErrors carry the errno but a message of their own
        words = os.strerror(exc.errno)
    else:
        words = exc.strerror or " ".join(str(exc).split()) or type(exc).__name__
    return f"{words} ({name})" if name else words


def dataset_write_error(dataset: PathLike, exc: OSError) -> str:
    """The one message for an OSError on the writing side (a full disk, a read-only
    file system, a file-size limit): the dataset and the system's words, never a
    complaint about the input."""
    return (
        f"{dataset}: cannot write to the dataset: {os_reason(exc)}; "
        "nothing was changed (free space or fix permissions, then ingest again)"
    )


def atomic_write(path: PathLike, data: bytes, *, durable: bool = False) -> None:
    """Create or replace the regular file ``path`` through a temporary file in the same
    directory and a rename.  An existing file's mode (and, for root, owner) is kept.
    ``durable`` also syncs the file and the directory (journals).  Raises OSError; the
    temporary file is removed whatever happens."""
    p = Path(path)
    hidden = p.name if p.name.startswith(".") else f".{p.name}"
    tmp = p.with_name(f"{hidden}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        old: os.stat_result | None = os.stat(p)
    except FileNotFoundError:
        old = None
    # 0o666 minus the umask, like any new file; O_EXCL: never through a planted link
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    try:
        try:
            if old is not None:
                os.fchmod(fd, stat.S_IMODE(old.st_mode))
                if os.geteuid() == 0 and (old.st_uid, old.st_gid) != (0, 0):
                    with contextlib.suppress(OSError):
                        os.fchown(fd, old.st_uid, old.st_gid)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if durable:
        dfd = os.open(p.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def _is_stdout(st: os.stat_result) -> bool:
    try:
        out = os.fstat(sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        return False  # no real stdout (a test runner's buffer, or closed)
    return (st.st_dev, st.st_ino) == (out.st_dev, out.st_ino)


def write_output(path: PathLike, text: str) -> str:
    """Write ``text`` (UTF-8) where the user said; returns what was written: ``<stdout>``
    or the path of the file.  Every failure is one SpftraceError naming the path."""
    if str(path) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return "<stdout>"
    p = Path(path)
    try:
        try:
            st: os.stat_result | None = os.stat(p)  # follows symlinks
        except FileNotFoundError:
            st = None
        if st is not None and stat.S_ISDIR(st.st_mode):
            raise SpftraceError(f"{p}: is a directory; give a file name (e.g. -o {p}/report.html)")
        if st is not None and _is_stdout(st):
            sys.stdout.write(text)  # /dev/stdout, /proc/self/fd/1 or the file stdout goes to
            sys.stdout.flush()
            return "<stdout>"
        if st is not None and not stat.S_ISREG(st.st_mode):
            with open(p, "wb") as fh:  # device, FIFO: written in place, never replaced
                fh.write(text.encode())
            return str(p)
        target = Path(os.path.realpath(p))  # a symlink's target; the link itself stays
        if not target.parent.is_dir():
            raise SpftraceError(f"{p}: directory {target.parent} does not exist")
        atomic_write(target, text.encode())
        return str(target)
    except OSError as exc:
        raise SpftraceError(f"{p}: cannot write: {os_reason(exc)}") from None
