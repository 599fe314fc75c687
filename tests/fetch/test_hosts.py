"""What real image hosts do that they should not: broken redirects, odd bodies."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagenet_cli.download import Downloader, DownloadOptions
from tests.conftest import run

from .conftest import FISH
from .server import ImageServer

FAST = DownloadOptions(timeout=2, retries=1, backoff_base=0.001, backoff_max=0.01)


def test_a_redirect_to_an_unparsable_location_is_an_invalid_url(server: ImageServer) -> None:
    with Downloader(FAST) as dl:
        got = dl.get(server.url("/img/badlocation/a.jpg"))
    assert (got.kind, got.status, got.body) == ("invalid_url", 302, None)
    assert "redirect" in got.error


@pytest.mark.parametrize(
    "args", [["fetch", "--wnid", FISH, "--urls-only"], ["bbox", "fetch", "--wnid", FISH]]
)
def test_a_list_behind_an_unparsable_redirect_is_one_error_line(
    server: ImageServer, accepted: object, tmp_path: Path, args: list[str]
) -> None:
    res = run([*args, "--base-url", server.base + "/badlocation"], expect=1)
    assert "Traceback" not in res.stderr
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("imagenet: error: ") and FISH in lines[0], lines
