"""Shared fixtures: where the conformance data lives, and a guard that the compiled package
(not the bare source folder) is what the tests import; the fuzz tests' hypothesis profile."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

import gtok
from gtok import Tokenizer

from batchdata import make_universe

REPO = Path(__file__).resolve().parents[1]
# gtars' and geniml's fixtures, vendored with their origin (data/conformance/README.md)
CONFORMANCE = Path(__file__).resolve().parent / "data" / "conformance"

# The fuzz tests (tests/fuzz, docs/testing.md) take their settings from this profile:
# GTOK_FUZZ_EXAMPLES examples per test (default 200: a few seconds in all), the same ones in
# every run (derandomized) unless GTOK_FUZZ_RANDOM=1; no example database, so a run never
# depends on an earlier one (a failure prints the @reproduce_failure blob instead). Hangs
# are caught by a per-example watchdog (tests/fuzz/fuzzlib.py), not by hypothesis'
# deadline, which a loaded machine would trip.
FUZZ_EXAMPLES = int(os.environ.get("GTOK_FUZZ_EXAMPLES") or 200)
FUZZ_RANDOM = os.environ.get("GTOK_FUZZ_RANDOM", "") not in ("", "0")
settings.register_profile(
    "gtok-fuzz",
    max_examples=FUZZ_EXAMPLES,
    derandomize=not FUZZ_RANDOM,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="session")
def conformance_dir() -> Path:
    assert CONFORMANCE.is_dir(), f"the vendored conformance data is missing: {CONFORMANCE}"
    return CONFORMANCE


def pytest_report_header(config: pytest.Config) -> str:
    return f"gtok {gtok.__version__} from {Path(gtok.__file__).parent}"


@pytest.fixture
def universe(tmp_path: Path) -> Path:
    """A universe BED file (``batchdata.make_universe``: 1,600 regions on four chromosomes,
    some overlapping, one repeated). A test module about another universe overrides this
    fixture; ``tok`` follows it."""
    return make_universe(tmp_path / "universe.bed")


@pytest.fixture
def tok(universe: Path) -> Tokenizer:
    """The tokenizer of the ``universe`` fixture (the one ``tok`` fixture of the suite)."""
    return Tokenizer(universe)
