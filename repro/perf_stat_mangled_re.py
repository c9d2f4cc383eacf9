"""perf_stat/tokens.py MANGLED_RE = ^\\s*(?:...|.*,\\d+,100,00...): the leading blanks can
go to \\s* or to .*, so a line of n blanks (then any non-matching byte) costs n^2/2 steps.
Run: .venv/bin/python repro/perf_stat_mangled_re.py
Seen (this machine): 5,000 tabs 0.02 s, 20,000 tabs 0.32 s (x16 for x4: quadratic);
a 1 MiB line (LineReader's limit) would take ~15 min per line if csv_lines.py:225
(is_mangled) is reached with it.  Likely fix as in commit 15a4214 (ftrace): make the
.* alternative start at a non-blank, ``(?:\\S.*)?,\\d+,100,00`` (the greedy \\s* gave
it that anyway), and check the groups/decisions equal on the fixtures."""

import time

from spftrace.formats.perf_stat.tokens import MANGLED_RE

for n in (5_000, 20_000):
    s = "\t" * n + "x"
    t = time.perf_counter()
    MANGLED_RE.match(s)
    print(f"{n:>6} tabs: {time.perf_counter() - t:.3f} s")
