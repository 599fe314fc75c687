"""Without Dask installed, --scheduler fails with one line saying how to get it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BLOCK = "import sys; sys.modules['distributed'] = None; sys.modules['dask'] = None; "
MAIN = "from imagenet_cli.__main__ import main; sys.argv[0] = 'imagenet'; sys.exit(main())"


@pytest.mark.parametrize(
    "args",
    [
        ["bbox", "convert", "{tmp}", "--scheduler", "local"],
        ["subset", "extract", "--from", "{tmp}", "--to", "{tmp}/out", "--scheduler", "local:2"],
        ["fetch", "--wnid", "n01440764", "--out", "{tmp}/out", "--scheduler", "local"],
    ],
)
def test_scheduler_without_dask(tmp_path: Path, args: list[str]) -> None:
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    proc = subprocess.run(
        [sys.executable, "-c", BLOCK + MAIN, *argv], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [
        "imagenet: error: --scheduler needs Dask: pip install 'dask[distributed]' into this "
        "environment (in a clone: pip install '.[dask]')"
    ]


def test_env_scheduler_without_dask(tmp_path: Path) -> None:
    env_code = "import os; os.environ['IMAGENET_SCHEDULER'] = 'local'; "
    proc = subprocess.run(
        [sys.executable, "-c", BLOCK + env_code + MAIN, "bbox", "convert", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "pip install 'dask[distributed]'" in proc.stderr


def test_no_message_names_a_package_that_cannot_be_installed() -> None:
    # imagenet-cli is not on PyPI: an install hint names what pip can find (dask, or the
    # clone's own extras as '.[dask]'), never "imagenet-cli[...]".
    import imagenet_cli

    package = Path(imagenet_cli.__file__).parent
    for path in sorted(package.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert "imagenet-cli[" not in text, path


def test_bad_address() -> None:
    from imagenet_cli.drivers import parse_address
    from imagenet_cli.errors import UsageError

    assert parse_address("local") == ("local", None)
    assert parse_address("local:3") == ("local", 3)
    assert parse_address("tcp://10.0.0.1:8786") == ("remote", None)
    for bad in ("local:0", "local:x", "10.0.0.1:8786", "http://x", ""):
        with pytest.raises(UsageError):
            parse_address(bad)


def test_core_does_not_import_dask() -> None:
    code = (
        "import sys; import imagenet_cli.bbox.convert, imagenet_cli.subset.extract, "
        "imagenet_cli.drivers, imagenet_cli.cli.app; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "[]", proc.stderr
