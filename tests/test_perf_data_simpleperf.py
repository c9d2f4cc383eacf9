"""perf.data from Android's ``simpleperf record``: its own header features are read or skipped.

No real simpleperf perf.data could be obtained here (AOSP's simpleperf/testdata
files are binary and not in the stored corpus), so this test crafts one from a real
perf capture the way simpleperf lays out its header (AOSP system/extras/simpleperf
record_file_format.h): the standard file header with extra feature bits from
FEAT_SIMPLEPERF_START = 128 (FEAT_FILE = 128, FEAT_META_INFO = 129, ...), their
sections appended after the standard ones in bit order, META_INFO being
``key\\0value\\0`` pairs.  A feature id nobody defines (200) is there too.
"""

from __future__ import annotations

import struct
from pathlib import Path

from .test_perf_data import DATA, KALLSYMS, binary_rows

META = (
    b"simpleperf_version\x001.build.7848450\x00android_version\x0014\x00"
    b"kernel_version\x005.15.110\x00"
)


def with_extra_features(raw: bytes, extra: dict[int, bytes]) -> bytes:
    """``raw`` with more feature sections: the descriptor table grows, sections move."""
    do, dsz = struct.unpack_from("<2Q", raw, 40)
    words = list(struct.unpack_from("<4Q", raw, 72))
    feats = [64 * w + b for w in range(4) for b in range(64) if words[w] >> b & 1]
    fa = do + dsz
    old = [struct.unpack_from("<QQ", raw, fa + 16 * k) for k in range(len(feats))]
    for f in extra:
        words[f // 64] |= 1 << (f % 64)
    n = len(feats) + len(extra)
    body = bytearray()
    table = []
    at = fa + 16 * n
    for off, size in old:
        table.append((at + len(body), size))
        body += raw[off : off + size]
    for f in sorted(extra):
        table.append((at + len(body), len(extra[f])))
        body += extra[f]
    out = bytearray(raw[:fa])
    struct.pack_into("<4Q", out, 72, *words)
    for off, size in table:
        out += struct.pack("<QQ", off, size)
    return bytes(out + body)


def test_simpleperf_features_are_read_or_skipped(tmp_path: Path) -> None:
    raw = (DATA / "tracepoints.data").read_bytes()
    file_feature = struct.pack("<I", 8) + b"/system/bin/app_process64\0"  # FEAT_FILE, opaque to us
    crafted = with_extra_features(raw, {128: file_feature, 129: META, 200: b"\x01\x02\x03"})
    (tmp_path / "sp.data").write_bytes(crafted)
    want, wb = binary_rows(DATA / "tracepoints.data", kallsyms=KALLSYMS)
    got, gb = binary_rows(tmp_path / "sp.data", kallsyms=KALLSYMS)
    assert got == want
    meta = gb[-1].meta
    assert meta["simpleperf.simpleperf_version"] == "1.build.7848450"
    assert meta["simpleperf.android_version"] == "14"
    assert meta["features_unknown"] == "200"
    assert meta["kernel"] == wb[-1].meta["kernel"]  # the standard features still line up
