"""will-it-scale output -> counter rows named as LKP names them.

Produced by: python3 runtest.py page_fault1 > page_fault1.csv      (the CSV)
             ./page_fault1_threads -t 16 -s 5                       (the harness)
Sample:      tasks,processes,processes_idle,threads,threads_idle,linear
             1,251433,0.00,250987,0.00,251433
Variants:    tests/data/will_it_scale/*.txt

For the CSV, LKP's ``programs/will-it-scale/parse`` emits per task count
``<tasks>.<column>``, then ``scalability`` (processes/linear of the last row),
``per_process_ops`` and ``per_thread_ops`` (the mean over task counts of ops per
task, truncated to integers) and ``workload`` (sum of processes and threads
ops); every key is prefixed ``will-it-scale.``.  The harness prints
``testcase:<description>``, ``min:/max:/total:`` lines each second, and a
final ``average:``; its samples after ``measurement`` become ``.min``, ``.max``,
``.total`` means and ``.average``.  The test name is recorded as meta.

LKP's result files start with its command log line (``2020-01-31 08:12:43 python2
./runtest.py mmap2 295 process 104``: date, time, the command): the command becomes
the input's command and its test and mode (``process``/``thread``/``both``) meta.
``scalability`` is left out when ``linear`` is 0, as LKP's parse leaves it out
(lkp-tests spec/stats/will-it-scale/1.yaml) rather than storing a made-up 0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..lazy_re import lazy
from .lines import Chunk
from .spec import Batch, FormatSpec, Head, Reject, rows_table

FORMAT = "will-it-scale"
TABLE = "counters"
ORIGIN = "will-it-scale"
PREFIX = "will-it-scale."

HEADER = "tasks,processes,processes_idle,threads,threads_idle,linear"
# counts of at most 30 digits: int() refuses a string of over 4300 (a traceback), and
# a longer count is not will-it-scale's; such a line is rejected.  The idle columns are
# percentages (runtest.py prints them with %0.2f): at most 20 digits either side of the
# point, so float() stays finite (a 1M-digit idle was stored as inf)
_COUNT = r"(\d{1,30})"
_IDLE = r"(\d{1,20}(?:\.\d{1,20})?)"
_ROW_RE = lazy(globals(), "_ROW_RE", f"^{_COUNT},{_COUNT},{_IDLE},{_COUNT},{_IDLE},{_COUNT}$")
#: runtest.py starts processes_avg / threads_avg at -1 and prints them so when the
#: testcase printed no "average:" line (it failed): not a measurement, named as such
_FAILED_ROW_RE = lazy(
    globals(),
    "_FAILED_ROW_RE",
    r"^\d{1,30},-?\d{1,30},[\d.]{1,41},-?\d{1,30},[\d.]{1,41},-?\d{1,30}$",
)
_SAMPLE_RE = lazy(globals(), "_SAMPLE_RE", r"^min:(\d{1,30}) max:(\d{1,30}) total:(\d{1,30})$")
_AVERAGE_RE = lazy(globals(), "_AVERAGE_RE", r"^average:(\d{1,30})$")
_TESTCASE_RE = lazy(globals(), "_TESTCASE_RE", r"^testcase:(.*)$")
#: LKP's log_cmd line: "%F %T" then the command; runtest.py TEST DURATION MODE ...
_LOG_RE = lazy(globals(), "_LOG_RE", r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (?P<cmd>\S.*)$")
_RUNTEST_RE = lazy(
    globals(), "_RUNTEST_RE", r"(?:^|[\s/])runtest\.py\s+(?P<test>\S+)(?:\s+\d+\s+(?P<mode>\S+))?"
)


def sniff(head: Head) -> bool:
    lines = [ln.strip() for ln in head.lines[:20] if ln.strip()]
    return bool(lines) and (
        lines[0] == HEADER or lines[0].startswith("testcase:") or HEADER in lines[:3]
    )


class WillItScaleParser:
    def __init__(self) -> None:
        self.rows: list[tuple[int, int, float, int, float, int, int]] = []  # + line_no
        self.samples: list[tuple[int, int, int, int]] = []
        self.measuring = False
        self.average: tuple[int, int] | None = None
        self.testcase: str | None = None
        self.meta: dict[str, str] = {}

    def feed(self, chunk: Chunk) -> Batch:
        return self.feed_lines(chunk.lines(), chunk.first_line_no)

    def feed_lines(self, lines: Sequence[str], first_line_no: int) -> Batch:
        out = Batch.empty(TABLE)
        for i, raw in enumerate(lines):
            line_no = first_line_no + i
            out.lines += 1
            s = raw.strip()
            m = _ROW_RE.match(s)
            if m is not None:
                t, p, pi, th, ti, lin = m.groups()
                self.rows.append((int(t), int(p), float(pi), int(th), float(ti), int(lin), line_no))
                out.record_lines += 1
                continue
            m = _SAMPLE_RE.match(s)
            if m is not None:
                if self.measuring:
                    self.samples.append(
                        (int(m.group(1)), int(m.group(2)), int(m.group(3)), line_no)
                    )
                    out.record_lines += 1
                else:
                    out.ignored += 1  # warmup seconds are not measurements
                continue
            m = _AVERAGE_RE.match(s)
            if m is not None:
                self.average = (int(m.group(1)), line_no)
                out.record_lines += 1
                continue
            m = _TESTCASE_RE.match(s)
            if m is not None:
                self.testcase = m.group(1).strip()
                out.ignored += 1
                continue
            m = _LOG_RE.match(s)
            if m is not None and not self.rows and not self.meta:
                self._log_line(m.group("cmd"))
                out.ignored += 1
                continue
            if s in ("", HEADER, "warmup") or s.startswith("#"):
                out.ignored += 1
                continue
            if s == "measurement":
                self.measuring = True
                out.ignored += 1
                continue
            if _FAILED_ROW_RE.match(s):
                why = "a row with -1: runtest.py prints -1 for a testcase that gave no average"
                out.rejects.append(Reject(line_no, raw, why))
                continue
            out.rejects.append(
                Reject(line_no, raw, "not will-it-scale output (CSV row or harness line)")
            )
        return out

    def _log_line(self, command: str) -> None:
        self.meta["command"] = command
        r = _RUNTEST_RE.search(command)
        if r is not None:
            self.meta["test"] = r.group("test")
            if r.group("mode") is not None:
                self.meta["mode"] = r.group("mode")

    def close(self) -> Batch:
        cols: dict[str, list[object]] = {
            c: [] for c in ("line_no", "block", "origin", "event", "value", "status")
        }
        add = _adder(cols)
        real = [r for r in self.rows if r[0] > 0]
        for t, p, pi, th, ti, lin, line_no in self.rows:
            if t == 0:
                continue
            for col, v in (("processes", p), ("processes_idle", pi), ("threads", th),
                           ("threads_idle", ti), ("linear", lin)):  # fmt: skip
                add(line_no, f"{t}.{col}", float(v))
        if real:
            last = real[-1]
            n = len(real)
            if last[5]:  # LKP emits no scalability when linear is 0
                add(last[6], "scalability", last[1] / last[5])
            add(last[6], "per_process_ops", float(int(sum(r[1] / r[0] for r in real) / n)))
            add(last[6], "per_thread_ops", float(int(sum(r[3] / r[0] for r in real) / n)))
            add(last[6], "workload", float(sum(r[1] + r[3] for r in real)))
        if self.samples:
            n = len(self.samples)
            line_no = self.samples[-1][3]
            for j, name in enumerate(("min", "max", "total")):
                add(line_no, name, sum(s[j] for s in self.samples) / n)
        if self.average is not None:
            add(self.average[1], "average", float(self.average[0]))
        out = Batch(TABLE, rows_table(TABLE, cols))
        out.meta.update(self.meta)
        if self.testcase is not None:
            out.meta["testcase"] = self.testcase
            out.meta.setdefault("command", f"will-it-scale: {self.testcase}")
        return out


def _adder(cols: dict[str, list[object]]) -> Callable[[int, str, float], None]:
    def add(line_no: int, name: str, value: float) -> None:
        cols["line_no"].append(line_no)
        cols["block"].append(0)
        cols["origin"].append(ORIGIN)
        cols["event"].append(PREFIX + name)
        cols["value"].append(value)
        cols["status"].append("counted")

    return add


SPEC = FormatSpec(
    FORMAT,
    TABLE,
    "will-it-scale output (runtest.py CSV, or a *_threads harness's lines)",
    sniff,
    parser=WillItScaleParser,
)
