"""Every command's body is short: the options go to one core call and its result to
the output layer (at most 25 lines, blank lines and the docstring not counted)."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import textwrap
from collections.abc import Callable, Iterator
from typing import Any, cast

import typer.main

from imagenet_cli import cli

MAX_LINES = 25


def body_lines(func: Callable[..., Any]) -> int:
    """Lines of ``func``'s body that hold code: not blank, not its docstring."""
    source = textwrap.dedent(inspect.getsource(func))
    node = ast.parse(source).body[0]
    assert isinstance(node, ast.FunctionDef)
    first = node.body[0]
    start = first.lineno
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        start = (first.end_lineno or first.lineno) + 1
    lines = source.splitlines()[start - 1 : node.end_lineno]
    return sum(1 for line in lines if line.strip())


def _paths(command: Any, path: str) -> Iterator[str]:
    if hasattr(command, "commands"):  # a group
        for name, sub in command.commands.items():
            yield from _paths(sub, f"{path} {name}")
    else:
        yield path


def registered() -> dict[str, Callable[..., Any]]:
    """Every command named in ``cli.commands``, and the function it runs."""
    from imagenet_cli.cli.commands import GROUPS, TOP, target

    named = [(f"{g} {n}", p) for g, group in GROUPS.items() for n, p in group.commands.items()]
    return {
        f"imagenet {name}": cast(Callable[..., Any], target(path))
        for name, path in [*named, *TOP.items()]
    }


def command_functions() -> dict[str, Callable[..., Any]]:
    """Every registered command's function (what the Typer command and the fast path
    run), and every public function of the ``*_actions`` modules."""
    found = registered()
    for info in pkgutil.iter_modules(cli.__path__):
        if info.name.endswith("_actions"):
            module = importlib.import_module(f"imagenet_cli.cli.{info.name}")
            for name, func in vars(module).items():
                own = inspect.isfunction(func) and func.__module__ == module.__name__
                if own and not name.startswith("_"):
                    found[f"{info.name}.{name}"] = func
    return found


def test_every_command_of_the_app_is_registered() -> None:
    # The bodies are found through the registry: the app holds no command besides it.
    from imagenet_cli.cli.app import app

    assert set(_paths(typer.main.get_command(app), "imagenet")) == set(registered())


def test_every_command_body_is_short() -> None:
    found = command_functions()
    assert {"imagenet fetch", "imagenet bbox convert", "fetch_actions.fetch"} <= set(found)
    long = {name: n for name, f in found.items() if (n := body_lines(f)) > MAX_LINES}
    assert long == {}


def test_the_count_leaves_out_blank_lines_and_the_docstring() -> None:
    def sample() -> int:
        """A docstring
        of two lines."""

        one = 1

        return one

    assert body_lines(sample) == 2
