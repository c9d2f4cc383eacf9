"""Welch's t-test and the 95% confidence interval of the %change, both from scipy.

``scipy.stats.ttest_ind(head, base, equal_var=False)`` gives the p-value and, through
``confidence_interval()``, the interval of ``mean(head) - mean(base)``; divided by the base mean
it is the interval of LKP's %change.  Where the test has nothing to stand on, there is no
number: a side with one run (no variance), both sides constant (a t statistic of 0/0 or
infinity is not evidence), or a zero base mean (no %change to bound; p is still given).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

CONFIDENCE = 0.95
ALPHA = 0.05


@dataclass(frozen=True)
class Welch:
    p_value: float | None
    ci_pct: tuple[float, float] | None
    note: str | None = None  # why p or the interval is missing

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < ALPHA


def welch(base: Sequence[float], head: Sequence[float]) -> Welch:
    if len(base) < 2 or len(head) < 2:
        short = [
            f"{side} has 1 run" for side, xs in (("base", base), ("head", head)) if len(xs) < 2
        ]
        return Welch(None, None, " and ".join(short))
    import numpy as np
    from scipy import stats

    if min(base) == max(base) and min(head) == max(head):  # numpy's var of [90.1] * 3 is not 0
        return Welch(None, None, "both sides constant")
    b = np.asarray(base, dtype=float)
    h = np.asarray(head, dtype=float)
    with warnings.catch_warnings():  # nearly equal samples: scipy warns, its numbers stand
        warnings.simplefilter("ignore", RuntimeWarning)
        res = stats.ttest_ind(h, b, equal_var=False)
        lo, hi = res.confidence_interval(CONFIDENCE)
    p = float(res.pvalue)
    mb = float(b.mean())
    if mb == 0:
        return Welch(p, None, "base mean 0")
    ends = sorted((100.0 * float(lo) / mb, 100.0 * float(hi) / mb))  # the sign of LKP's %change
    return Welch(p, (ends[0], ends[1]))
