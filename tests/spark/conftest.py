"""One local Spark (local[2], 1 GB) and one fleet dataset for every test here."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import fleetdata

#: enough runs for several per host and per label, and every kind of run (fleetdata.py)
RUNS = 120


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    from spftrace.fleet import session

    s = session("local[2]")
    yield s
    s.stop()


@pytest.fixture(scope="session")
def fleet_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("fleet") / "data"
    fleetdata.build(data, RUNS, hosts=12)
    return data


@pytest.fixture(scope="session")
def small_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every bundled sample once, under its own name."""
    from spftrace.ingest import ingest

    data = tmp_path_factory.mktemp("small") / "data"
    for name, label, inputs in fleetdata.samples():
        ingest(inputs, data=data, run=name, label=label, force=True)
    return data
