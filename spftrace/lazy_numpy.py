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

import importlib.machinery
import importlib.util
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:  # (importlib.abc imports importlib.resources, tempfile ...: 15 ms)
    from importlib.abc import Loader

#: libarrow_python's ``int arrow::py::arrow_init_numpy()`` (numpy_init.h)
SYMBOL = "_ZN5arrow2py16arrow_init_numpyEv"


def _init_numpy_function() -> Callable[[], int] | None:
    """arrow_init_numpy of the pyarrow that ``import pyarrow`` would load, or None."""
    import ctypes

    spec = importlib.util.find_spec("pyarrow")
    if spec is None or not spec.submodule_search_locations:
        return None
    for where in spec.submodule_search_locations:
        for lib in sorted(Path(where).glob("libarrow_python.so*")):
            try:
                fn = getattr(ctypes.PyDLL(str(lib)), SYMBOL)  # PyDLL: called with the GIL
            except (OSError, AttributeError):
                continue
            fn.restype = ctypes.c_int
            return fn  # type: ignore[no-any-return]
    return None


def import_pyarrow() -> bool:
    """Import pyarrow without numpy, numpy's support completed when numpy arrives.
    False (pyarrow imported as usual, or already) where that cannot be done."""
    if "pyarrow" in sys.modules or "numpy" in sys.modules:
        return False
    init = _init_numpy_function()
    if init is None:
        import pyarrow

        return False
    sys.modules["numpy"] = None  # type: ignore[assignment]  # (import numpy: ImportError)
    try:
        import pyarrow.lib  # noqa: F401
    finally:
        del sys.modules["numpy"]
    sys.meta_path.insert(0, _NumpyFinder(init))
    return True


class _NumpyFinder:
    """Finds numpy as the other finders do, and runs ``init`` once it is loaded."""

    def __init__(self, init: Callable[[], int]) -> None:
        self.init = init

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "numpy":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = cast("Loader", _Loader(spec.loader, self.init))
        return spec


class _Loader:
    def __init__(self, inner: Loader, init: Callable[[], int]) -> None:
        self.inner = inner
        self.init = init

    def __getattr__(self, name: str) -> object:  # get_code, is_package, resource readers
        return getattr(self.inner, name)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.inner.exec_module(module)
        if self.init() != 0:  # (numpy's C API did not import: its exception is set)
            raise ImportError("pyarrow could not initialise numpy support")
        import pyarrow.lib

        pyarrow.lib.np = module  # what lib.pyx's own import would have bound
