"""The ``imagenet`` command: one Typer app per command group, joined in `_register()`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from .. import __version__
from ..errors import ExitCode, ImagenetError
from ..places import refused_write
from .output import messages


class RootGroup(TyperGroup):
    """Maps every expected failure to one line on stderr and its exit code; every
    parameter of the tree gets a plain metavar and plain error wording."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        from .plain import plain_tree

        plain_tree(self)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except ImagenetError as err:
            messages.error(str(err))
            raise typer.Exit(int(err.exit_code)) from None
        except OSError as exc:
            refused = refused_write(exc)
            if refused is None:
                raise
            messages.error(str(refused))
            raise typer.Exit(int(refused.exit_code)) from None
        except (KeyboardInterrupt, typer.Abort):
            # Click turns Ctrl-C (at a prompt too) into "Aborted!" and exit 1; the
            # documented code for an interrupted command is 130, as on the fast path.
            messages.error("interrupted")
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


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
    new.callback()(root)
    return new


def _version(value: bool) -> None:
    if value:
        typer.echo(f"imagenet-cli {__version__}")
        raise typer.Exit()


def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """ImageNet from the command line: synsets, images, bounding boxes, class subsets.

    Data goes to stdout, messages to stderr. Exit codes: 0 ok, 1 some items failed,
    2 usage error, 3 not found, 4 terms of access not accepted, 130 interrupted.
    """


def _groups(target: typer.Typer) -> dict[str, Callable[[], None]]:
    """Each top-level name, and how to add it (with what comes with it) to ``target``."""

    def synset() -> None:
        from . import synset

        target.add_typer(synset.app, name="synset")

    def cache() -> None:
        from . import cache_cmd

        target.add_typer(cache_cmd.app, name="cache")

    def config() -> None:
        from . import config_cmd

        target.add_typer(config_cmd.app, name="config")

    def fetch() -> None:
        from . import fetch, terms, urls

        target.command("fetch")(fetch.fetch)
        target.command("login")(fetch.login)
        target.command("logout")(fetch.logout)
        target.add_typer(terms.app, name="terms")
        target.add_typer(urls.app, name="urls")

    def subset() -> None:
        from . import subset

        target.add_typer(subset.app, name="subset")

    def bbox() -> None:
        from . import bbox, bbox_fetch

        if "fetch" not in {c.name for c in bbox.app.registered_commands}:
            bbox.app.command("fetch")(bbox_fetch.bbox_fetch)
        target.add_typer(bbox.app, name="bbox")

    adders = {"synset": synset, "cache": cache, "config": config}  # in help order
    adders.update(dict.fromkeys(("fetch", "login", "logout", "terms", "urls"), fetch))
    adders.update(subset=subset, bbox=bbox)
    return adders


def _register(target: typer.Typer, only: str | None = None) -> typer.Typer:
    adders = _groups(target)
    if only in adders:
        adders[only]()
    else:
        for add in dict.fromkeys(adders.values()):
            add()
    return target


def for_command(name: str | None) -> typer.Typer:
    """The app with only the top-level command ``name`` (and what is registered with
    it): building every command's parameters costs Typer a tenth of a second, at
    every start. Any other name gives the whole app."""
    return _register(_new_app(), name)


def __getattr__(name: str) -> Any:
    # ``app``, the whole command tree, is built when first asked for.
    if name == "app":
        whole = globals()["app"] = _register(_new_app())
        return whole
    raise AttributeError(name)


def finish(code: int) -> None:
    """End a command with ``code`` (nothing to do for 0)."""
    if code:
        raise typer.Exit(code)
