#!/usr/bin/env python3
"""Extract the four perf stat blocks of the SPF v11 cover letter, verbatim.

usage: seed-blocks.py SEED_FILE OUTDIR
The blocks are copied byte for byte (after removing the two levels of mail
quoting, "> > "), so the golden inputs are the authors' text, not ours.
"""

import sys
from pathlib import Path

NAMES = [
    ("kernbench -M", "kernbench-x86-16cpu.txt"),
    ("kernbench -M", "kernbench-power8-80cpu.txt"),
    ("ebizzy -mTt 16", "ebizzy-x86-16cpu.txt"),
    ("ebizzy -mTt 80", "ebizzy-power8-80cpu.txt"),
]


def main() -> None:
    seed, out = Path(sys.argv[1]), Path(sys.argv[2])
    lines = [ln[4:] if ln.startswith("> > ") else ln for ln in seed.read_text().splitlines()]
    blocks = []
    for i, ln in enumerate(lines):
        if "Performance counter stats for" in ln:
            block = [ln]
            for nxt in lines[i + 1 :]:
                if not nxt.strip():
                    break
                block.append(nxt)
            blocks.append(block)
    assert len(blocks) == 4, len(blocks)
    out.mkdir(parents=True, exist_ok=True)
    for (cmd, name), block in zip(NAMES, blocks, strict=True):
        assert cmd in block[0], (cmd, block[0])
        (out / name).write_text("\n".join(block) + "\n")
        print(out / name)


if __name__ == "__main__":
    main()
