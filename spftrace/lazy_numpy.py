"""pyarrow without numpy until something asks for numpy (``spftrace ingest``'s start-up).

pyarrow 26 imports numpy whenever it is installed (``pyarrow/lib.pyx``: ``try:
import numpy as np``, then ``arrow_init_numpy()``): 0.1 s and 15 MB of a 10-line
ingest's start-up, whose own code calls no numpy (``schema.to_arrow``, the writer).
Larger inputs do need it (the compiled core's columns, perf stat's keys).

``import_pyarrow`` imports pyarrow while ``import numpy`` fails (so ``pyarrow.lib.np``
is None and Arrow's C++ side has not imported numpy's C API), and puts a finder on
``sys.meta_path`` that, once numpy itself is imported later by anyone, completes
what pyarrow's import skipped: the same ``arrow_init_numpy()`` (exported by
libarrow_python) and ``pyarrow.lib.np``.  pyarrow holds no other numpy state
(``np is None`` guards in lib's .pxi files; ``pyarrow.compute`` and
``pyarrow.pandas_compat`` import numpy themselves when they are imported).

Only where that symbol is found is numpy held back; otherwise (another pyarrow)
pyarrow is imported as usual.  Library users (``spftrace.ingest``) never meet this:
only the command line calls it.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:  # (importlib.abc imports importlib.resources, tempfile ...: 15 ms)
    from importlib.abc import Loader

#: libarrow_python's ``int arrow::py::arrow_init_numpy()`` (numpy_init.h)
SYMBOL = "_ZN5arrow2py16arrow_init_numpyEv"


def _init_numpy_function() -> Callable[[], int] | None:
    """arrow_init_numpy of the pyarrow that ``import pyarrow`` would load, or None.

    Found by its name in libarrow_python's dynamic symbols (read from the file: 1 ms;
    ctypes, which calls it, costs 5-9 ms to import and is only needed with numpy,
    which imports ctypes itself)."""
    import mmap

    spec = importlib.util.find_spec("pyarrow")
    if spec is None or not spec.submodule_search_locations:
        return None
    for where in spec.submodule_search_locations:
        for lib in sorted(Path(where).glob("libarrow_python.so*")):
            try:
                with lib.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as m:
                    if m.find(SYMBOL.encode() + b"\0") >= 0:
                        return functools.partial(_call, str(lib))
            except (OSError, ValueError):
                continue
    return None


def _call(lib: str) -> int:
    """arrow_init_numpy() of the libarrow_python pyarrow.lib loaded.  The wheel ships
    it as three copies (not links), so opening another path would load a second
    copy and initialise that one: the copy is looked up in this process's maps and
    opened with RTLD_NOLOAD (never a new load)."""
    import ctypes

    name = Path(lib).name.split(".so")[0]
    with open("/proc/self/maps") as fh:
        loaded = {ln.split()[-1] for ln in fh if f"/{name}.so" in ln}
    if len(loaded) != 1:
        return -1
    handle = ctypes.PyDLL(loaded.pop(), mode=os.RTLD_NOLOAD | os.RTLD_NOW)
    fn = getattr(handle, SYMBOL)  # PyDLL: called with the GIL held
    fn.restype = ctypes.c_int
    return int(fn())


def import_pyarrow() -> bool:
    """Import pyarrow without numpy, numpy's support completed when numpy arrives.
    False (pyarrow imported as usual, or already) where that cannot be done."""
    if "pyarrow" in sys.modules or "numpy" in sys.modules:
        return False
    init = _init_numpy_function()
    if init is None:
        with lazy_binding():
            import pyarrow
        return False
    sys.modules["numpy"] = None  # type: ignore[assignment]  # (import numpy: ImportError)
    try:
        with lazy_binding():
            import pyarrow.lib  # noqa: F401
    finally:
        del sys.modules["numpy"]
    sys.meta_path.insert(0, _NumpyFinder(init))
    return True


@contextlib.contextmanager
def lazy_binding() -> Iterator[None]:
    """Shared libraries loaded meanwhile bind their functions on first call (RTLD_LAZY),
    not all at load (RTLD_NOW, CPython's default for extension modules).

    ``import pyarrow.lib`` loads eight libraries (libarrow, libparquet, ...: 100 MB of
    C++ with tens of thousands of symbols); binding every function of theirs at load
    was 13 of the 10-line ingest's 546 M instructions (callgrind, the same every run),
    for the few hundred an ingest calls.  Data references bind at load either way, so
    a library that cannot load still fails the import; ``LD_BIND_NOW`` still binds all."""
    flags = sys.getdlopenflags()
    sys.setdlopenflags((flags & ~(os.RTLD_NOW | os.RTLD_LAZY)) | os.RTLD_LAZY)
    try:
        yield
    finally:
        sys.setdlopenflags(flags)


class _NumpyFinder:
    """Finds numpy as the other finders do, and runs ``init`` once it is loaded."""

    def __init__(self, init: Callable[[], int]) -> None:
        self.init = init
        self.busy = False  # (in its own look-up of numpy's spec)
        self.done = False  # (numpy loaded, pyarrow told)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        # it stays on sys.meta_path once done: removing it could make another thread's
        # import, iterating the list meanwhile, skip the finder after it; and a bare
        # find_spec("numpy") (a check, no import) must not use it up
        if fullname != "numpy" or self.busy or self.done:
            return None
        self.busy = True
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self.busy = False
        if spec is not None and spec.loader is not None:
            spec.loader = cast("Loader", _Loader(spec.loader, self))
        return spec


class _Loader:
    def __init__(self, inner: Loader, finder: _NumpyFinder) -> None:
        self.inner = inner
        self.finder = finder

    def __getattr__(self, name: str) -> object:  # get_code, is_package, resource readers
        return getattr(self.inner, name)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.inner.exec_module(module)
        if self.finder.init() != 0:  # (libarrow_python not found loaded: never seen)
            raise ImportError("pyarrow: numpy support not initialised; SPFTRACE_LAZY_NUMPY=0")
        import pyarrow.lib

        pyarrow.lib.np = module  # what lib.pyx's own import would have bound
        self.finder.done = True
