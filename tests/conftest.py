from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(  # a longer search: HYPOTHESIS_PROFILE=deep pytest
    "deep", max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# tests/spark need pyspark (the [fleet] extra) and Java, and start Spark: `make test-spark`
# runs them (SPFTRACE_TEST_SPARK=1), `make test` and a bare pytest do not
collect_ignore = [] if os.environ.get("SPFTRACE_TEST_SPARK") == "1" else ["spark"]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A fresh dataset directory (not yet created)."""
    return tmp_path / "ds"


@pytest.fixture(autouse=True)
def _no_env_dataset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPFTRACE_DATA", raising=False)
