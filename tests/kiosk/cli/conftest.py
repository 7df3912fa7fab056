"""Fixtures of the CLI's tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def env(tmp_path) -> dict:
    """The environment of a run with a user data dir of the test's own (0700, as Cabin wants it):
    the station secret and the default database go there, never into the tester's."""
    data = tmp_path / "xdg"
    data.mkdir(mode=0o700)
    return {"XDG_DATA_HOME": str(data)}
