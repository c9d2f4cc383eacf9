"""Coverage-guided fuzzing of the trace-text parsers' feed entry point (``make fuzz``).

atheris (libFuzzer for Python) instruments the parsers' and the input layer's Python
code and mutates the corpus in tests/fuzz-corpus/trace-text (seeded from the real
captures) towards new branches.  The first byte of a case picks the parser
(perf-script, ftrace, trace-cmd) and whether the body is repeated to 64+ lines, the
threshold of the compiled scanners' vectorised path; the rest is the input.  A case
passes when every line is a record, an ignored line or a reject, or when one
SpftraceError line comes out; anything else is a crash that libFuzzer saves.
The numba scanners (parsers/scan.py) are not instrumented: numba compiles them from
bytecode that instrumentation would change; their pure-Python twins are covered.

    python tests/fuzz_feed.py tests/fuzz-corpus/trace-text -max_total_time=300
"""

from __future__ import annotations

import io
import os
import sys

import atheris

with atheris.instrument_imports(
    include=[
        "spftrace.ingest.inputs",
        "spftrace.text",
        "spftrace.formats.lines",
        "spftrace.formats.spec",
        "spftrace.formats.callchain",
        "spftrace.formats.tracetext",
        "spftrace.formats.perf_script",
        "spftrace.formats.ftrace",
        "spftrace.formats.trace_cmd",
    ]
):
    # imported here, not when the registry first asks for them, to be instrumented
    import spftrace.formats.ftrace
    import spftrace.formats.perf_script
    import spftrace.formats.trace_cmd  # noqa: F401
    from spftrace.errors import SpftraceError
    from spftrace.formats import FORMATS as REGISTRY
    from spftrace.ingest.inputs import open_input

FORMATS = ("perf-script", "ftrace", "trace-cmd")
MAX_BYTES = 256 * 1024


def one_input(data: bytes) -> None:
    if not data:
        return
    fmt = FORMATS[data[0] % len(FORMATS)]
    body = data[1:]
    if data[0] & 0x80 and body:  # enough lines for the vectorised path
        body = (body if body.endswith(b"\n") else body + b"\n") * max(
            1, 70 // max(1, body.count(b"\n"))
        )
        body = body[:MAX_BYTES]
    factory = REGISTRY[fmt].parser
    assert factory is not None
    parser = factory()
    try:
        inp = open_input("-", stdin=io.BytesIO(body))
        for chunk in inp.lines().chunks():
            parser.feed(chunk).check()
        parser.close().check()
    except SpftraceError as exc:
        if "\n" in str(exc):
            raise AssertionError(f"a multi-line error: {exc!r}") from None


def main() -> None:
    # libFuzzer's -merge re-runs argv[0] as a program: fuzz_run.py points it at a
    # wrapper that runs this file with the same interpreter
    argv = [os.environ.get("SPFTRACE_FUZZ_SELF", sys.argv[0]), *sys.argv[1:]]
    atheris.Setup(argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
