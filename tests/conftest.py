"""Session-wide fixtures shared by several test files."""

from __future__ import annotations

import pytest
from support import build_seed_index
from webserver import Server, start_server


@pytest.fixture(scope="session")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Server:
    return start_server(tmp_path_factory.mktemp("web"))


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    """(corpus, index, model cache): the shipped corpus indexed once with the real model."""
    return build_seed_index(tmp_path_factory)
