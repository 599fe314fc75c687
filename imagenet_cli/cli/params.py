"""How a command declares its options and arguments, free of Typer.

A command is one function; each parameter says what it is on the command line:

    def search(
        query: Annotated[str, Arg(help="A word or phrase.")],
        limit: Annotated[int | None, Opt("--limit", "-n", help="At most N.", min=1)] = 20,
    ) -> int: ...

``cli/build.py`` makes the Typer command (its help, its completions) from that
declaration, and ``cli/fastpath.py`` parses a command line against the same one, so
a required option, a choice, a range and a default mean the same on both paths.
Options several commands share are declared once in ``cli/common.py``.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import Annotated, Any, NamedTuple


class Param:
    """What one parameter is on the command line; ``extra`` goes to Typer as given
    (``show_default``, ``case_sensitive``, ``rich_help_panel`` ...).

    ``min_of`` names the config setting whose smallest value is the option's ``min``
    (``config set`` and the option hold to one bound); it is looked up when asked
    for, so declaring it costs a start-up nothing."""

    __slots__ = ("_min", "decls", "extra", "help", "max", "metavar", "min_of")

    def __init__(
        self,
        *decls: str,
        help: str | None = None,
        metavar: str | None = None,
        min: float | None = None,
        max: float | None = None,
        min_of: str | None = None,
        **extra: Any,
    ) -> None:
        self.decls = decls
        self.help = help
        self.metavar = metavar
        self._min = min
        self.max = max
        self.min_of = min_of
        self.extra = extra

    @property
    def min(self) -> Any:
        """The smallest value accepted, or None."""
        if self.min_of is None:
            return self._min
        from ..config import minimum

        return minimum(self.min_of)

    def typer_kwargs(self) -> dict[str, Any]:
        """The keywords of ``typer.Option``/``typer.Argument`` this stands for."""
        given = {"help": self.help, "metavar": self.metavar, "min": self.min, "max": self.max}
        return {k: v for k, v in given.items() if v is not None} | self.extra

    def __repr__(self) -> str:
        return f"{type(self).__name__}{self.decls!r}"


class Opt(Param):
    """An option: ``Opt("--limit", "-n", help=..., min=1)``."""

    __slots__ = ()


class Arg(Param):
    """A positional argument: ``Arg(help=..., metavar="ID")``."""

    __slots__ = ()


REQUIRED: Any = object()  # the default of a parameter that has none


class Declared(NamedTuple):
    """One parameter of a command: its name, default (or REQUIRED), type and declaration."""

    name: str
    default: Any
    type: Any
    decl: Param | None


def declarations(func: Callable[..., Any]) -> list[Declared]:
    """Each parameter of ``func``, in order, as it is declared."""
    hints = typing.get_type_hints(func, include_extras=True)
    found = []
    for name, default in _parameters(func):
        hint, decl = hints[name], None
        if typing.get_origin(hint) is Annotated:
            hint, *meta = typing.get_args(hint)
            decl = next((m for m in meta if isinstance(m, Param)), None)
        found.append(Declared(name, default, hint, decl))
    return found


def _parameters(func: Callable[..., Any]) -> list[tuple[str, Any]]:
    """Each parameter of ``func`` and its default, in order: what ``inspect.signature``
    says, without the milliseconds importing ``inspect`` takes at each start."""
    code = func.__code__
    positional = code.co_varnames[: code.co_argcount]
    keyword = code.co_varnames[code.co_argcount : code.co_argcount + code.co_kwonlyargcount]
    defaults = func.__defaults__ or ()
    firsts = (REQUIRED,) * (len(positional) - len(defaults)) + defaults
    kwdefaults = func.__kwdefaults__ or {}
    return [
        *zip(positional, firsts, strict=True),
        *((k, kwdefaults.get(k, REQUIRED)) for k in keyword),
    ]
