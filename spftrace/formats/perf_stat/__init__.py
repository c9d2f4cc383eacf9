"""perf stat output -> counter rows.

Produced by: perf stat [-x SEP | -j] [-I MS] [-r N] [-a -A | --per-core | --per-thread ...]
             -e EVENTS -- CMD        (perf writes the counts on stderr)
Sample:                1706379      faults
Variants:    tests/data/perf_stat/*.txt, one file per quirk (PROVENANCE.tsv has the commands)

Human, CSV (any separator, detected and cached per input) and JSON lines are
accepted in any mix, because ``--append`` files and shell loops mix them.  Lines
are classified by token shape, never by column position: the layout moved
between perf 3.x and 6.x.  A line that starts like a counter but does not parse
is a reject; a line that does not look like perf at all (workload output) is
ignored and counted as ``foreign_lines``.

Modules: ``tokens`` (the Fields of a line, shared line classes), ``human``,
``csv_lines``, ``json_lines`` (one tokeniser per output mode), ``blocks``
(which perf run a row belongs to), ``parser`` (rows, state), ``fast`` (the
vectorised paths and their thresholds), ``sniff``.
"""

from __future__ import annotations

from ..spec import FormatSpec
from .parser import ORIGIN, TABLE, PerfStatParser
from .sniff import sniff

FORMAT = "perf-stat"

SPEC = FormatSpec(
    FORMAT,
    TABLE,
    "perf stat output: human, CSV (-x SEP) or JSON (-j), with -I, -r, -A, --per-*",
    sniff,
    parser=PerfStatParser,
    # 4 MiB: the compiled scanner's per-chunk Python set-up (Arrow columns, block
    # checks) is then a few percent of the chunk's time, not a quarter
    chunk_bytes=4 << 20,
    # as many lines a chunk as 4 MiB of the human layout holds (~120 bytes a line):
    # JSON (~220) then reads up to 8 MiB at a time, instead of twice the chunks
    chunk_lines=35_000,
)

__all__ = ["FORMAT", "ORIGIN", "SPEC", "TABLE", "PerfStatParser", "sniff"]
