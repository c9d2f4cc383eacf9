"""What the binary readers yield: bounded batches of event rows with their accounting.

A binary input has no lines; its accounting is in records: every record read is
turned into rows or state (``records``), skipped and counted (``skipped``: record
types spftrace does not use, AUX data, damaged samples), and the tracer's own
loss reports are summed in ``lost``.  ``stats`` rows are ``(name, cpu or None,
value)`` as the ``stats`` table takes them; ``meta`` carries run metadata (kernel,
command, host ...) and ``notes`` one-line remarks for the user (damage, missing
symbols).  Counts are per batch; metadata is cumulative.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class BinaryBatch:
    events: Any  # pyarrow.Table with the columns of schema.parser_schema("events")
    records: int = 0
    skipped: int = 0
    lost: int = 0
    stats: list[tuple[str, int | None, int]] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return int(self.events.num_rows)
