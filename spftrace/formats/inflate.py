"""One compressed block (a trace.dat section or CPU chunk, a perf.data COMPRESSED
record) inflated with a limit on what it may produce.

A decompressor's one-shot call has no output limit, and a few bytes stand for a lot
of output (a zstd RLE block of 4 bytes for 128 KiB, a zlib stream up to ~1000:1), so
a 32 kB trace.dat section claiming 1 GiB took 1.1 GB of memory before its size was
checked.  Here zstd is fed ``FEED`` compressed bytes at a time (at most ~2 MiB of
output each) and zlib is given ``max_length``: the output stops just past the limit.
"""

from __future__ import annotations

#: compressed bytes given to the zstd decompressor per call: 64 bytes hold at most
#: 16 RLE blocks (128 KiB each), so one call overshoots the limit by 2 MiB at most
FEED = 64


class InflateError(ValueError):
    """The block cannot be decompressed, or holds more than it may."""


def inflate(name: str, data: bytes, limit: int) -> bytes:
    """The decompressed bytes of one zstd frame or zlib stream, at most ``limit``."""
    if name == "zstd":
        return _zstd(data, limit)
    if name == "zlib":
        import zlib

        try:
            out = zlib.decompressobj().decompress(data, limit + 1)
        except zlib.error as err:
            raise InflateError(f"zlib data cannot be decompressed ({err})") from None
        if len(out) > limit:
            raise InflateError(f"zlib data holds more than the {limit} bytes claimed")
        return out
    raise InflateError(f"unsupported compression {name!r} (spftrace reads zstd and zlib)")


def _zstd(data: bytes, limit: int) -> bytes:
    import zstandard

    dobj = zstandard.ZstdDecompressor().decompressobj()
    parts: list[bytes] = []
    total = 0
    try:
        for at in range(0, len(data), FEED):
            part = dobj.decompress(data[at : at + FEED])
            total += len(part)
            if total > limit:
                raise InflateError(f"zstd data holds more than the {limit} bytes claimed")
            parts.append(part)
            if dobj.eof:
                break
    except zstandard.ZstdError as err:
        raise InflateError(f"zstd data cannot be decompressed ({err})") from None
    return b"".join(parts)
