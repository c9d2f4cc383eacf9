"""How much CPU data the trace.dat merge reads and holds at once (merge.py)."""

from __future__ import annotations

from .header import BLOCK_MAX

PAGES = 256
#: the most one CPU stream reads at a time: PAGES pages of 4 KiB.  Counted in bytes,
#: not pages: 256 pages of 64 KiB (arm64, ppc64) were 16 MiB a CPU, 1 GiB on 64 CPUs
PIECE_MAX = PAGES * 4096
#: what all streams hold at once: each its piece while records of it wait for the
#: merge, and those records' five 8-byte numbers (a record is at least 8 bytes: at
#: most HOLD_FACTOR bytes held a byte of piece).  Past 10 streams the pieces shrink,
#: down to one page (256 KiB are as fast as 1 MiB).  A 256-CPU file held 256 pieces
#: of 1 MiB (and the C ring walk allocates 4x a piece while it walks one).  48 MiB:
#: with a round's merge (rounds.cap_cuts) and ~90 MB of imports, 64 CPUs of 12-byte
#: records (the least a tracepoint record is) took 264 MB of peak RSS at 96 MiB; at
#: 64 MiB 234 MB (compiled) and 250-259 MB (SPFTRACE_NO_NATIVE) in a fresh clone's
#: venv, whose freshly written libraries map more resident pages; 214 and 231 MB now
HOLD_MAX = 48 << 20
HOLD_FACTOR = 6
#: pages of one compressed chunk that are always accepted (trace-cmd writes 10)
CHUNK_PAGES = 16
#: the least all compressed streams hold at once, a sub-buffer each and its records'
#: index (HOLD_FACTOR bytes a byte): past it the file is refused.  256 zstd CPUs of
#: one dense 512 KiB sub-buffer (a 28 kB file) took 668 MB of peak RSS; 4,096 CPUs
#: of 4 KiB pages hold 96 MiB
LEAST_MAX = 128 << 20
#: the inflated chunks that compressed streams hold while they read them a piece at
#: a time (a chunk longer than its stream's piece, inflated once): past it the file
#: is refused.  Inflating the chunk again for each piece (up to 16 times) made 4,096
#: zstd CPUs of a 670 kB file take 21 s of CPU, and the time grew with the file; a
#: streaming zstd decompressor holds ~200 KB, more than the chunk.  1,536 CPUs of
#: 16-page chunks, 2,457 of trace-cmd's 10-page chunks
REST_MAX = 64 << 20


def piece_size(page_size: int, streams: int) -> int:
    """Bytes each of ``streams`` CPU streams reads at a time: whole pages, at most
    PIECE_MAX, and with their records at most HOLD_MAX together (at least a page each)."""
    share = min(PIECE_MAX, HOLD_MAX // (HOLD_FACTOR * max(streams, 1)))
    return max(1, share // page_size) * page_size


def chunk_limit(page_size: int, streams: int) -> int:
    """The most one compressed chunk may inflate to: a stream's piece, but at least
    CHUNK_PAGES pages, at most BLOCK_MAX.  A chunk is inflated whole, once; one longer
    than a piece is held while its pieces are read, within REST_MAX (merge._pieces)."""
    return min(BLOCK_MAX, max(piece_size(page_size, streams), CHUNK_PAGES * page_size))
