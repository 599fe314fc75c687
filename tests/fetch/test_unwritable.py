"""A read-only cache or config folder, and a config path that is a file or a folder:
what can be served is served; what needs a write is one line naming the path, exit 2."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import run, same_on_fast_path

from .conftest import DOG, FISH
from .server import ImageServer

ReadOnly = Callable[[Path], None]


@pytest.fixture
def read_only() -> Iterator[ReadOnly]:
    """Make a folder read-only: its modes for a user, a read-only bind mount for root
    (whom modes do not stop)."""
    mounted: list[Path] = []
    moded: list[Path] = []

    def make(path: Path) -> None:
        if os.geteuid() != 0:
            for folder, _dirs, _files in os.walk(path):
                os.chmod(folder, 0o555)
                moded.append(Path(folder))
            return
        if shutil.which("mount") is None:
            pytest.skip("root ignores file modes, and there is no mount(8) for a read-only mount")
        bound = subprocess.run(["mount", "--bind", path, path], capture_output=True)
        if bound.returncode:
            pytest.skip("root ignores file modes, and may not mount here: no read-only folder")
        mounted.append(path)
        ro = subprocess.run(["mount", "-o", "remount,ro,bind", path], capture_output=True)
        if ro.returncode:
            pytest.skip("root ignores file modes, and may not remount read-only here")

    yield make
    for path in reversed(mounted):
        subprocess.run(["umount", "-l", path], check=True)
    for folder in moded:
        os.chmod(folder, 0o755)


def _one_line(stderr: str, path: Path) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and "Traceback" not in stderr, stderr


def test_a_read_only_cache_serves_what_it_holds_and_refuses_writes_in_one_line(
    server: ImageServer,
    accepted: object,
    read_only: ReadOnly,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("IMAGENET_BASE_URL", server.base)
    for wnid in (FISH, DOG):
        server.lists[wnid] = [(f"{wnid}_{i}", server.url(f"/img/ok/{i}.jpg")) for i in range(2)]
    urls = tmp_path / "urls.txt"
    urls.write_text("".join(f"{DOG}_{i}\thttp://h.example/{i}.jpg\n" for i in range(3)))
    run(["fetch", "--wnid", DOG, "--urls-only"])  # cached before the cache turns read-only
    run(["urls", "index", str(urls)])
    cache = Path(os.environ["IMAGENET_CACHE"])
    read_only(cache)
    # served from the cache
    assert run(["synset", "search", "dog", "--limit", "1", "--no-header"]).lines[0].startswith(DOG)
    assert len(run(["fetch", "--wnid", DOG, "--urls-only", "--no-header"]).lines) == 3
    assert run(["urls", "info", "--wnid", DOG, "--no-header"]).lines == [f"{DOG}\t3"]
    run(["cache", "info"])
    run(["fetch", "--wnid", DOG, "--out", str(tmp_path / "out")])  # images go elsewhere
    # each write the cache refuses: one line naming where, exit 2
    for args in (
        ["fetch", "--wnid", FISH, "--urls-only"],
        ["urls", "index", str(urls)],
        ["urls", "index", str(urls), "--name", "another"],
        ["bbox", "fetch", "--wnid", FISH],
        ["cache", "clean", "lists"],
        ["cache", "clean"],
    ):
        _one_line(run(args, expect=2).stderr, cache)
    same_on_fast_path(["fetch", "--wnid", FISH, "--urls-only"], capsys)  # no Typer there


def test_an_empty_read_only_cache_still_answers_synset_lookups(
    read_only: ReadOnly, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("IMAGENET_CACHE", str(empty))
    read_only(empty)
    assert run(["synset", "search", "dog", "--limit", "1", "--no-header"]).lines[0].startswith(DOG)
    assert run(["synset", "show", "dog.n.01", "--no-header"]).lines[0].startswith(DOG)
    assert list(empty.iterdir()) == []


def test_a_read_only_config_refuses_each_write_in_one_line(
    read_only: ReadOnly, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = Path(os.environ["IMAGENET_CONFIG"])
    run(["config", "set", "fetch.concurrency", "4"])
    monkeypatch.setenv("IMAGENET_ACCESS_KEY", "k-123456")
    run(["login", "--username", "ada"])
    read_only(config)
    assert run(["config", "get", "fetch.concurrency"]).stdout == "4\n"
    run(["config", "list"])
    identity = ["--name", "A", "--email", "a@b.c", "--organization", "X", "--yes"]
    for args in (
        ["terms", "accept", *identity],
        ["login", "--username", "ada"],
        ["logout"],
        ["config", "set", "fetch.concurrency", "5"],
        ["config", "unset", "fetch.concurrency"],
    ):
        _one_line(run(args, expect=2).stderr, config)


TERMS = ["terms", "accept", "--name", "A", "--email", "a@b.c", "--organization", "X", "--yes"]
READERS = [["config", "list"], ["config", "set", "fetch.concurrency", "5"]]
READERS.append(["fetch", "--wnid", FISH])
CASES = [("file", a) for a in [TERMS, ["login", "--username", "ada"], ["terms", "status"]]]
CASES += [(kind, a) for kind in ("file", "folder") for a in READERS]


@pytest.mark.parametrize(("kind", "args"), CASES, ids=lambda v: v if isinstance(v, str) else v[1])
def test_a_config_path_of_the_wrong_kind_is_one_line_exit_2(
    kind: str, args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The config folder a file, or ``config.toml`` a folder (read by these commands)."""
    if kind == "file":
        wrong = tmp_path / "config-file"
        wrong.write_text("")
        monkeypatch.setenv("IMAGENET_CONFIG", str(wrong))
    else:
        wrong = tmp_path / "conf" / "config.toml"
        wrong.mkdir(parents=True)
        monkeypatch.setenv("IMAGENET_CONFIG", str(wrong.parent))
    monkeypatch.setenv("IMAGENET_ACCESS_KEY", "k-123456")
    _one_line(run(args, expect=2).stderr, wrong)
