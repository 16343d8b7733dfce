"""Shared fixtures: where the conformance data lives, and a guard that the compiled package
(not the bare source folder) is what the tests import."""

from __future__ import annotations

from pathlib import Path

import pytest

import gtok

REPO = Path(__file__).resolve().parents[1]
# ../shared/data/conformance beside the repository (absent on some machines: tests skip)
CONFORMANCE = REPO.parent / "shared" / "data" / "conformance"


@pytest.fixture(scope="session")
def conformance_dir() -> Path:
    if not CONFORMANCE.is_dir():
        pytest.skip("../shared/data/conformance is not present")
    return CONFORMANCE


def pytest_report_header(config: pytest.Config) -> str:
    return f"gtok {gtok.__version__} from {Path(gtok.__file__).parent}"
