"""Fixtures for fetch tests: a live fault-injecting server on 127.0.0.1, accepted terms."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from imagenet_cli.fetch import terms

from .server import ImageServer

FISH = "n01440764"  # tench
DOG = "n02084071"


@pytest.fixture
def server() -> Iterator[ImageServer]:
    srv = ImageServer().start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def accepted() -> terms.Acceptance:
    return terms.accept("Ada Lovelace", "ada@example.edu", "Analytical Engines Lab")


@pytest.fixture
def base_env(server: ImageServer, monkeypatch: pytest.MonkeyPatch) -> ImageServer:
    monkeypatch.setenv("IMAGENET_BASE_URL", server.base)
    return server
