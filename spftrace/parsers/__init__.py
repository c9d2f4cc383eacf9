"""The parser registry: format name -> module, in detection order.

The order is the sniffing order, most specific first (as Perfetto's
trace_type.cc): a format whose signature cannot be mistaken for another's goes
before looser ones.  It is written here and nowhere else.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

#: format name -> module (relative to this package), in detection order
REGISTRY: dict[str, str] = {
    # perf.data: the binary magic PERFILE2 (rendered through perf script)
    "perf-data": ".perf_data",
    # will-it-scale: runtest.py's CSV header, or the harness's "testcase:" first line
    "will-it-scale": ".will_it_scale",
    # trace-cmd report: "cpus=N" first line, or "INSTANCE: comm-pid [cpu] ..." records
    "trace-cmd": ".trace_cmd",
    # ftrace text: "# tracer:" header, or "comm-pid [cpu] flags time: event:" lines
    "ftrace": ".ftrace",
    # perf script tracepoint samples: "time: system:event: fields" on most lines
    "perf-script": ".perf_script",
    # a /proc/vmstat dump is all "name value" lines with well-known keys
    "vmstat": ".vmstat",
    # perf stat: headers, footers, or counter lines (human/CSV/JSON)
    "perf-stat": ".perf_stat",
}

FORMATS: tuple[str, ...] = tuple(REGISTRY)


def module(fmt: str) -> ModuleType:
    return importlib.import_module(REGISTRY[fmt], __name__)


def make_parser(fmt: str, **kwargs: Any) -> Any:
    mod = module(fmt)
    cls = {
        "perf-stat": "PerfStatParser",
        "vmstat": "VmstatParser",
        "perf-script": "PerfScriptParser",
        "ftrace": "FtraceParser",
        "trace-cmd": "TraceCmdParser",
        "will-it-scale": "WillItScaleParser",
        "perf-data": "PerfScriptParser",
    }[fmt]
    return getattr(mod, cls)(**kwargs)
