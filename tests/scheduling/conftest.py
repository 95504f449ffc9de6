"""Shared fixtures for the iTIP engine's table tests."""

from __future__ import annotations

import pytest

from .helpers import DATA, NOW


@pytest.fixture
def now():
    """The engine's clock for a test: a fixed instant."""
    return NOW


@pytest.fixture
def data_file():
    """Read a fixture from tests/scheduling/data as text."""
    return lambda name: (DATA / name).read_text()
