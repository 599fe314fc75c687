"""Regenerate the shell completions under completions/ from the Typer app.

Run with ``make generate``; ``tests/test_cli_contract.py`` fails when a file is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SHELLS = {"bash": "imagenet.bash", "zsh": "_imagenet", "fish": "imagenet.fish"}


def completion_scripts() -> dict[str, str]:
    """The completion script for each shell, keyed by file name under completions/."""
    from typer._completion_shared import get_completion_script

    return {
        name: get_completion_script(
            prog_name="imagenet", complete_var="_IMAGENET_COMPLETE", shell=shell
        )
        for shell, name in SHELLS.items()
    }


def main() -> None:
    for name, text in completion_scripts().items():
        (ROOT / "completions" / name).write_text(text, encoding="utf-8")
    print("completions/ regenerated", file=sys.stderr)


if __name__ == "__main__":
    main()
