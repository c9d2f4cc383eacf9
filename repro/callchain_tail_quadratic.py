"""Open (not fixed): spftrace/formats/callchain.py sample_tail() and tail() on a payload
that ends in ')' and holds many ``<hex> <non-blank>`` words.  sample_tail's
_TAIL_RE.search tries every blank+hex word and its lazy (\\S.*?) then scans to the line
end: n/4 starts x n; tail() runs _SYM_DSO_RE.fullmatch from every hex word (reversed)
the same way.  Run: .venv/bin/python repro/callchain_tail_quadratic.py
Seen here: 20k chars 0.9 s, 80k chars 13 s (x15 for x4: quadratic); a 1 MiB perf-script line (the
LineReader limit) would take tens of minutes.  A fix must keep the leftmost-ip choice
of _TAIL_RE and the last-ip choice of tail(); e.g. find the trailing ' (dso)' once with
rfind, then only test the hex words before it."""

import time

from spftrace.formats.callchain import sample_tail, tail

for n in (20_000, 80_000):
    payload = "x: " + "1 1" * (n // 3) + " )"
    for f in (sample_tail, tail):
        t = time.perf_counter()
        f(payload)
        print(f"{f.__name__:12s} {n:>6} chars: {time.perf_counter() - t:.3f} s")
