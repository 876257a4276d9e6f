"""Fixtures the channel backend tests share: a store on disk, and the test's `fake` served on loopback.

A test module names its provider's fake in a `fake` fixture; `server` serves it on 127.0.0.1.
"""

from __future__ import annotations

import pytest
from fakes.server import FakeServer

from frontdesk.store import Store


@pytest.fixture
def store(tmp_path):
    """A store in the test's temporary folder, closed after the test."""
    with Store.open(tmp_path / "data") as s:
        yield s


@pytest.fixture
def server(fake):
    """The module's `fake` provider on a loopback port (`server.url`), stopped after the test."""
    srv = FakeServer(fake).start()
    yield srv
    srv.stop()
