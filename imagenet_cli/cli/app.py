"""The ``imagenet`` command: one Typer app per command group, joined in `_register()`."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from .. import __version__
from .build import command
from .commands import GROUPS, ORDER, TOP, target
from .failure import exit_code
from .params import Opt


class RootGroup(TyperGroup):
    """Maps every expected failure to one line on stderr and its exit code; every
    parameter of the tree gets a plain metavar and plain error wording."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        from .plain import plain_tree

        plain_tree(self)

    def invoke(self, ctx: Any) -> Any:
        from .output import messages

        messages.quiet = False  # each command sets its own -q; none carries over in-process
        try:
            return super().invoke(ctx)
        except (Exception, KeyboardInterrupt) as exc:
            # Click turns Ctrl-C (at a prompt too) into Abort and "Aborted!", exit 1; the
            # documented code for an interrupted command is 130, as on the fast path.
            code = exit_code(KeyboardInterrupt() if isinstance(exc, typer.Abort) else exc)
            if code is None:
                raise
            raise typer.Exit(code) from None


def _new_app() -> typer.Typer:
    new = typer.Typer(
        # Help texts are plain text: '[default: ...]' must show, not vanish as markup.
        rich_markup_mode=None,
        name="imagenet",
        cls=RootGroup,
        help="ImageNet from the command line: synsets, images, bounding boxes, class subsets.",
        epilog="Example: imagenet synset search dog",
        no_args_is_help=True,
        pretty_exceptions_show_locals=False,
        context_settings={"help_option_names": ["-h", "--help"]},
        add_completion=True,
    )
    new.callback()(command(root))
    return new


def _version(value: bool) -> None:
    if value:
        typer.echo(f"imagenet-cli {__version__}")
        raise typer.Exit()


def root(
    version: Annotated[
        bool,
        Opt("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """ImageNet from the command line: synsets, images, bounding boxes, class subsets.

    Data goes to stdout, messages to stderr. Exit codes: 0 ok, 1 some items failed,
    2 usage error, 3 not found, 4 terms of access not accepted, 130 interrupted.
    """


def _group(name: str) -> typer.Typer:
    """The Typer app of the command group ``name``, made from its declarations."""
    group = GROUPS[name]
    sub = typer.Typer(
        # Help texts are plain text: '[default: ...]' must show, not vanish as markup.
        rich_markup_mode=None,
        help=group.help,
        epilog=group.epilog,
        no_args_is_help=True,
    )
    for command_name, path in group.commands.items():
        sub.command(command_name)(command(target(path)))  # type: ignore[arg-type]
    return sub


def _register(target_app: typer.Typer, only: str | None = None) -> typer.Typer:
    for name in ORDER if only not in ORDER else (only,):
        if name in GROUPS:
            target_app.add_typer(_group(name), name=name)
        else:
            target_app.command(name)(command(target(TOP[name])))  # type: ignore[arg-type]
    return target_app


def for_command(name: str | None) -> typer.Typer:
    """The app with only the top-level command ``name``: building every command's
    parameters costs Typer a tenth of a second, at every start. Any other name gives
    the whole app."""
    return _register(_new_app(), name)


def __getattr__(name: str) -> Any:
    # ``app``, the whole command tree, is built when first asked for.
    if name == "app":
        whole = globals()["app"] = _register(_new_app())
        return whole
    raise AttributeError(name)
