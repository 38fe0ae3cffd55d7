"""Session-wide fixtures shared by several test files."""

from __future__ import annotations

import pytest
from webserver import Server, start_server


@pytest.fixture(scope="session")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Server:
    return start_server(tmp_path_factory.mktemp("web"))
