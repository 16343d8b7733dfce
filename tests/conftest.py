"""Shared fixtures: where the conformance data lives, and a guard that the compiled package
(not the bare source folder) is what the tests import."""

from __future__ import annotations

from pathlib import Path

import pytest

import gtok
from gtok import Tokenizer

from batchdata import make_universe

REPO = Path(__file__).resolve().parents[1]
# gtars' and geniml's fixtures, vendored with their origin (data/conformance/README.md)
CONFORMANCE = Path(__file__).resolve().parent / "data" / "conformance"


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
