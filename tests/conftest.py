"""Shared fixtures: every test gets its own cache and config folders, and a CLI runner."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from imagenet_cli import synset_index


@pytest.fixture(scope="session")
def built_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synset index, built once per test session."""
    folder = tmp_path_factory.mktemp("index-cache")
    old = os.environ.get("IMAGENET_CACHE")
    os.environ["IMAGENET_CACHE"] = str(folder)
    try:
        path = synset_index.index_path()
        synset_index.build(path)
    finally:
        if old is None:
            os.environ.pop("IMAGENET_CACHE", None)
        else:
            os.environ["IMAGENET_CACHE"] = old
    return path


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, built_index: Path) -> Path:
    """Fresh cache and config folders per test, holding a link to the prebuilt index."""
    from imagenet_cli.cache import cache_dir

    cache = tmp_path / "cache"
    monkeypatch.setenv("IMAGENET_CACHE", str(cache))
    cache_dir()  # made (and tagged) as imagenet makes it
    (cache / "index").mkdir()
    try:
        os.link(built_index, cache / "index" / built_index.name)
    except OSError:
        shutil.copy(built_index, cache / "index" / built_index.name)
    monkeypatch.setenv("IMAGENET_CONFIG", str(tmp_path / "config"))
    for var in (
        "NO_COLOR",
        "IMAGENET_BASE_URL",
        "IMAGENET_USERNAME",
        "IMAGENET_ACCESS_KEY",
        "IMAGENET_SCHEDULER",
    ):
        monkeypatch.delenv(var, raising=False)
    from imagenet_cli.hierarchy import Hierarchy

    Hierarchy._default = None
    return tmp_path


@dataclass
class Result:
    """What one CLI run gave: exit code, stdout and stderr apart."""

    code: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()


def run(args: Sequence[str], *, input: str | None = None, expect: int | None = 0) -> Result:
    """Run ``imagenet ARGS`` in-process; fail loudly on an unexpected exit code."""
    from imagenet_cli.cli.app import app

    runner = CliRunner()
    res = runner.invoke(app, list(args), input=input, prog_name="imagenet")
    stderr = res.stderr if res.stderr_bytes is not None else ""
    if expect is not None and res.exit_code != expect:
        detail = (
            f"\nexception: {res.exception!r}"
            if res.exception and not isinstance(res.exception, SystemExit)
            else ""
        )
        raise AssertionError(
            f"imagenet {' '.join(args)} exited {res.exit_code}, expected {expect}{detail}\n"
            f"--- stdout\n{res.stdout}\n--- stderr\n{stderr}"
        )
    return Result(res.exit_code, res.stdout, stderr)


def same_on_fast_path(args: Sequence[str], capsys: pytest.CaptureFixture[str]) -> None:
    """``imagenet ARGS`` gives the same exit code, stdout and stderr on the Typer-free
    fast path as through Typer."""
    from imagenet_cli.cli import fastpath

    code = fastpath.try_run(list(args))
    fast = capsys.readouterr()
    slow = run(args, expect=None)
    assert code == slow.code, args
    assert fast.out == slow.stdout, args
    assert fast.err == slow.stderr, args


@pytest.fixture
def cli() -> Iterator[object]:
    """The :func:`run` helper as a fixture."""
    yield run


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[[int], Path]]:
    """``small_disk(kib)``: a fresh tmpfs of that size (a full disk on demand); grow it
    with ``resize_disk``. Skipped, saying why, where mounting is not permitted."""
    import subprocess

    mounted: list[Path] = []

    def mount(kib: int) -> Path:
        where = tmp_path / f"disk{len(mounted)}"
        where.mkdir()
        if not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("mount"):
            pytest.skip("a full disk needs a small tmpfs, and mounting one needs root")
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={kib}k", "tmpfs", str(where)],
            capture_output=True,
            text=True,
        )
        if done.returncode:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounted.append(where)
        return where

    yield mount
    for where in mounted:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def resize_disk(where: Path, kib: int) -> None:
    """Give a :func:`small_disk` tmpfs room (its files stay)."""
    import subprocess

    subprocess.run(["mount", "-o", f"remount,size={kib}k", str(where)], check=True)
