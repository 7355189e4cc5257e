"""Shared fixtures: where ../shared is, and skip reasons when it or a server is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ECONET_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared() -> Path:
    """The ../shared folder (peers' data and real geodata); tests using it skip where it is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"../shared not found at {SHARED} (peer reference data lives there; see README)")
    return SHARED


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO
