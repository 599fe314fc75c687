"""``imagenet urls index`` and ``imagenet fetch`` from Python: a request, one call, a
summary (the settings resolved in the core)."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagenet_cli.errors import UsageError
from imagenet_cli.fetch import FetchRequest, run_fetch
from imagenet_cli.fetch.sources.request import IndexRequest, run_index

from .conftest import FISH


def _list(tmp_path: Path) -> Path:
    path = tmp_path / "urls.txt"
    lines = [f"{FISH}_{k}\thttp://127.0.0.1:9/{k}.jpg\n" for k in range(3)]
    path.write_text("".join([*lines, f"{FISH}_9\n"]))  # the last line has no URL
    return path


def test_index_then_the_urls_of_a_synset(tmp_path: Path, accepted: object) -> None:
    summary = run_index(IndexRequest(str(_list(tmp_path))))
    assert (summary.info.lines, summary.info.skipped) == (3, 1)
    where = tmp_path / "urls.txt"
    assert summary.notes == [f"{where}: line 4: skipped: no URL after the image id ({FISH}_9)"]
    found = run_fetch(FetchRequest(wnid=["tench.n.01"], urls_only=True, offline=True))
    assert [r.image_id for r in found.refs] == [f"{FISH}_{k}" for k in range(3)]
    assert (found.list_failures, found.downloaded) == (0, False)


def test_a_list_that_cannot_be_had_is_in_the_summary(accepted: object) -> None:
    found = run_fetch(FetchRequest(wnid=[FISH], urls_only=True, offline=True))
    assert found.refs == [] and found.list_failures == 1
    assert found.failures[0].startswith(FISH)


def test_a_bad_setting_in_the_config_file_stops_the_run_before_any_list(
    tmp_path: Path, accepted: object
) -> None:
    from imagenet_cli import config

    config.config_dir(create=True)
    config.config_file().write_text("[fetch]\nconcurrency = 0\n")
    with pytest.raises(UsageError, match="concurrency"):
        run_fetch(FetchRequest(wnid=[FISH], offline=True, out=str(tmp_path / "out")))
    # the option given wins over the config file: the run goes on to the lists
    found = run_fetch(FetchRequest(wnid=[FISH], offline=True, concurrency=4))
    assert found.list_failures == 1 and not found.downloaded
