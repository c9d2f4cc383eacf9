"""A regular file handed to a binary reader: the file itself (seekable, so a
perf.data's features are read by seeking instead of spooling the stream to a
temporary file), hashed on a thread beside the reader.  The digest and byte count
must be those of the file (hashlib over its bytes), as they are for a stream."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from spftrace.ingest.inputs import open_input

DATA = Path(__file__).resolve().parent / "data" / "perf_data"


def test_a_regular_file_is_given_as_itself_and_hashed() -> None:
    path = DATA / "tracepoints.data"
    raw = path.read_bytes()
    inp = open_input(path)
    try:
        stream = inp.stream()
        assert stream.seekable()
        stream.seek(len(raw) - 16)  # a seek to the features a perf.data keeps at its end
        assert stream.read() == raw[-16:]
        stream.seek(0)
        assert stream.read() == raw
        assert inp.sha256 == hashlib.sha256(raw).hexdigest()
        assert inp.nbytes == len(raw)
    finally:
        inp.close()


def test_a_stream_is_still_hashed_as_read() -> None:
    raw = (DATA / "tracepoints.data").read_bytes()
    inp = open_input("-", stdin=io.BytesIO(raw))
    try:
        stream = inp.stream()
        assert stream.read() == raw
        assert inp.sha256 == hashlib.sha256(raw).hexdigest()
        assert inp.nbytes == len(raw)
    finally:
        inp.close()


def test_a_compressed_file_is_not_given_as_itself(tmp_path: Path) -> None:
    import gzip

    raw = (DATA / "tracepoints.data").read_bytes()
    gz = tmp_path / "t.data.gz"
    gz.write_bytes(gzip.compress(raw))
    inp = open_input(gz)
    try:
        assert inp.stream().read() == raw  # the decompressed bytes
        assert inp.sha256 == hashlib.sha256(gz.read_bytes()).hexdigest()  # of the file
    finally:
        inp.close()
