"""``report json``: the DESIGN.md contract, plus named extensions.

Contract keys per run are exactly those of ``RunSummary.contract()``.  Extra
keys (documented in the README): ``not_attempted_pct``, ``fell_back_min`` and
``fell_back_max`` (per-VMA-lock runs: the range of fallbacks, equal when exact), ``command``,
``labels`` (the words of the run's kernel model, spftrace/vocabulary.py),
``reconciliation`` (each source's own totals), ``disagreements`` and ``fault_sites``
(analysis/fault_sites.py: faults by process, DSO, user symbol, call path; null
without fault samples); and at the
top level ``ingest`` (per-input line accounting and the first rejects).
"""

from __future__ import annotations

import json
from typing import Any

from ..analysis import fault_sites
from ..vocabulary import FALLBACK_PATH, words
from . import JSON_SCHEMA, ReportModel


def as_dict(model: ReportModel) -> dict[str, Any]:
    runs = []
    for s in model.runs:
        d = s.contract()
        d["not_attempted_pct"] = s.not_attempted_pct
        lo, hi = s.fell_back_range or (None, None)
        if s.kernel_model == "per-vma-lock" and s.fell_back_range is None:
            lo = hi = s.fallback_total
        d["fell_back_min"], d["fell_back_max"] = lo, hi
        d["command"] = s.command
        w = words(s.kernel_model)
        d["labels"] = {
            "fast_path": w.fast_path,
            "handled": w.handled,
            "fallback_path": FALLBACK_PATH,
            "fallbacks_title": w.fallbacks_title,
        }
        d["reconciliation"] = [
            {
                "source": src.origin,
                "faults": _int(src.faults),
                "speculative": _int(src.speculative),
                "fallbacks": {k: _int(v) for k, v in src.fallbacks.items()},
                "snapshots": src.snapshots or None,
                "since_boot": src.since_boot,
                "duration_s": src.duration_s,
            }
            for src in s.per_source
        ]
        d["disagreements"] = list(s.disagreements)
        d["trace"] = s.trace
        fs = model.fault_sites.get(s.run)
        d["fault_sites"] = None if fs is None else fault_sites.public(fs)
        runs.append(d)
    return {
        "schema": JSON_SCHEMA,
        "runs": runs,
        "across_runs": list(model.across_runs),
        "ingest": [
            {
                "run": i.run,
                "inputs": i.inputs,
                "rejects_total": i.rejects_total,
                "rejects": i.rejects,
            }
            for i in model.ingest
        ],
    }


def _int(v: float | None) -> int | None:
    return None if v is None else int(v)


def render(model: ReportModel) -> str:
    return json.dumps(as_dict(model), indent=2, sort_keys=False) + "\n"
