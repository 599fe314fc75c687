"""The library downloads from ImageNet only after its terms of access are accepted, as the
command line does: a notebook calling it directly meets the same check."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagenet_cli.errors import TermsError
from imagenet_cli.fetch import terms
from imagenet_cli.fetch.bbox_archives import fetch_bboxes
from imagenet_cli.fetch.item import FetchOptions
from imagenet_cli.fetch.local import fetch
from imagenet_cli.fetch.originals import fetch_originals
from imagenet_cli.fetch.sources import ImageRef, ListOptions
from imagenet_cli.fetch.sources.api import fetch_lists
from imagenet_cli.fetch.sources.urllist import index

from .conftest import FISH
from .server import ImageServer


def test_each_download_needs_the_terms(server: ImageServer, tmp_path: Path) -> None:
    ref = ImageRef(FISH, f"{FISH}_1", server.url("/img/ok/1.jpg"))
    calls = {
        "fetch": lambda: list(fetch([ref], FetchOptions(out=tmp_path / "out"))),
        "fetch_originals": lambda: list(fetch_originals([FISH], None, server.base, tmp_path)),
        "fetch_lists": lambda: fetch_lists([FISH], ListOptions(base_url=server.base)),
        "fetch_bboxes": lambda: list(fetch_bboxes([FISH], server.base)),
        "urls index": lambda: index(server.url("/fall11.txt")),
    }
    for name, call in calls.items():
        with pytest.raises(TermsError, match=r"terms of access .* are not accepted"):
            call()
        assert not server.requests, name  # refused before any request
    assert not (tmp_path / "out").exists()
    terms.accept("Ada Lovelace", "ada@example.edu", "Analytical Engines Lab")
    assert [r.status for r in fetch([ref], FetchOptions(out=tmp_path / "out"))] == ["ok"]
