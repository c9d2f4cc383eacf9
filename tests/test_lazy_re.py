"""spftrace.lazy_re: module-level patterns compiled on first use, then the compiled
pattern itself under their name; the format modules sniffed before perf script
compile none of their parsers' patterns when a perf script head is sniffed."""

from __future__ import annotations

import re
import subprocess
import sys

from spftrace.formats import callchain, ftrace, numbers, trace_cmd, will_it_scale
from spftrace.lazy_re import _Pattern, lazy


def test_first_use_compiles_and_rebinds() -> None:
    ns: dict[str, object] = {}
    pat = lazy(ns, "PAT", r"^cpu(\d+) (?P<word>\w+)$", re.IGNORECASE)
    ns["PAT"] = pat
    assert type(ns["PAT"]).__name__ == "_Pattern"  # not compiled yet
    m = pat.match("CPU12 idle")
    assert m is not None and m.group(1) == "12" and m.group("word") == "idle"
    compiled = ns["PAT"]
    assert isinstance(compiled, re.Pattern)  # the stand-in is gone
    assert compiled.pattern == r"^cpu(\d+) (?P<word>\w+)$"
    assert compiled.flags & re.IGNORECASE


def test_a_reference_taken_early_still_works() -> None:
    ns: dict[str, object] = {}
    early = lazy(ns, "PAT", r"a+")
    ns["PAT"] = early
    assert early.fullmatch("aaa") is not None
    assert early.fullmatch("ab") is None
    assert early.sub("x", "baab") == "bxb"
    assert isinstance(ns["PAT"], re.Pattern)


def test_every_stand_in_is_bound_under_its_own_name() -> None:
    """A stand-in named wrongly would never be replaced (each use a forward)."""
    for module in (callchain, ftrace, numbers, trace_cmd, will_it_scale):
        names = [n for n in vars(module) if n.endswith("_RE")]
        assert len(names) >= 3, module.__name__
        for name in names:
            value = vars(module)[name]
            if isinstance(value, _Pattern):  # (not used yet by an earlier test)
                assert value._name == name, (module.__name__, name)
                assert value._namespace is vars(module)
                value.pattern  # noqa: B018  (its first use)
            assert isinstance(vars(module)[name], re.Pattern), (module.__name__, name)


SNIFF = """
import sys
from spftrace.formats.detect import sniff
from spftrace.formats import callchain, ftrace, numbers, trace_cmd, will_it_scale
from spftrace.lazy_re import _Pattern

head = (
    b"         mtfault  2313 [000]   197.206915:    mmap_lock:mmap_lock_start_locking: "
    b"mm=0xffff88810006a580 memcg_id=2972 write=true\\n"
    b"         mtfault  2313 [000]   197.206932:         mmap_lock:mmap_lock_released: "
    b"mm=0xffff88810006a580 memcg_id=2972 write=true\\n"
)
print(sniff(head * 3))
for m in (ftrace, trace_cmd, will_it_scale, callchain, numbers):
    print(m.__name__, sorted(n for n, v in vars(m).items() if isinstance(v, _Pattern)))
"""


def test_sniffing_perf_script_compiles_no_parser_pattern() -> None:
    """Sniffing imports the modules of the formats before perf script, and perf
    script's own (callchain, numbers): none of their parsers' patterns is compiled."""
    out = subprocess.run(
        [sys.executable, "-c", SNIFF], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out[0] == "perf-script"
    assert out[1] == "spftrace.formats.ftrace ['_FUNC_RE', '_LOST_RE', '_RECORD_RE', '_STARTED_RE']"
    # sniff uses _CPUS_RE and _INSTANCE_RE; _RECORD_RE only after an instance prefix
    assert out[2] == "spftrace.formats.trace_cmd ['_DROPPED_RE', '_RECORD_RE']"
    assert out[3] == (
        "spftrace.formats.will_it_scale ['_AVERAGE_RE', '_FAILED_ROW_RE', '_LOG_RE', "
        "'_ROW_RE', '_RUNTEST_RE', '_SAMPLE_RE', '_TESTCASE_RE']"
    )
    assert out[4] == (
        "spftrace.formats.callchain ['_DSO_RE', '_FRAME_RE', '_IP_AT_RE', '_IP_WORD_RE', "
        "'_LOST_CHUNKS_RE', '_LOST_PCT_RE', '_LOST_RE', '_OFF_RE', '_SIDE_BAND_RE', "
        "'_SYM_DSO_RE', '_TAIL_RE']"
    )
    assert out[5] == "spftrace.formats.numbers ['_NUMBER_RE', '_PLAIN_RE', '_SPLIT_RE']"
