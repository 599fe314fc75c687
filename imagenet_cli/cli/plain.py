"""Plain help and error wording for every parameter of the Typer tree.

Typer shows a parameter's Python type as its metavar (``<list[str]>``, ``<int
range>``, ``{query}``) and passes pydantic's wording through in errors (``Value
error, 'xml' is not one of ...``, ``Input should be a valid integer``). Once the
tree is built, :func:`plain_tree` gives every option and argument its declared metavar
(``FILE``, ``DIR``), else a plain one (``N``, ``WNID``), and an error in plain words.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from typing import Any

from typer.core import TyperArgument, TyperOption

try:  # Typer 0.2x carries its own Click
    from typer._click import Command, Context
    from typer._click.exceptions import BadParameter
except ImportError:  # pragma: no cover - older Typer, on Click itself
    from click import Command, Context  # type: ignore[assignment]
    from click.exceptions import BadParameter  # type: ignore[assignment]


def metavar(param: Any) -> str:
    """The plain metavar of ``param`` when its declaration gives none: a choice lists
    its choices (csv|tsv|json), a number is N, anything else its name in capitals."""
    desc = getattr(param, "type_descriptor", None)
    if desc is not None and desc.is_choice and desc.choices:
        return "|".join(c.value if isinstance(c, Enum) else str(c) for c in desc.choices)
    if desc is not None and desc.annotation in (int, float):
        return "N"
    return str(param.name).upper()


@contextmanager
def _plain_errors() -> Iterator[None]:
    """A bad value's error in plain words instead of pydantic's."""
    try:
        yield
    except BadParameter as err:
        errors = getattr(err.__cause__, "errors", None)
        if callable(errors) and errors():
            err.message = plain_error(errors()[0])
        raise


class PlainOption(TyperOption):
    """An option whose help shows its metavar, not its type."""

    def process_value(self, ctx: Context, value: Any) -> Any:
        with _plain_errors():
            return super().process_value(ctx, value)


class PlainArgument(TyperArgument):
    """An argument shown as ``NAME``, ``[NAME]`` or ``NAME...`` (no type after it)."""

    def process_value(self, ctx: Context, value: Any) -> Any:
        with _plain_errors():
            return super().process_value(ctx, value)

    def display_type_rich(self, ctx: Context) -> str | None:
        return None

    def _rich_display_name(self) -> str:
        return self._usage_display_name()

    def _usage_display_name(self) -> str:
        name = self.display_name_raw
        if not self.required:
            name = f"[{name}]"
        return name + ("..." if self.nargs != 1 else "")


def plain_error(error: dict[str, Any]) -> str:
    """One pydantic validation error in plain words."""
    kind, value, limits = error.get("type", ""), error.get("input"), error.get("ctx") or {}
    shown = value.value if isinstance(value, Enum) else value
    bounds = {
        "greater_than_equal": ("at least", "ge"),
        "greater_than": ("more than", "gt"),
        "less_than_equal": ("at most", "le"),
        "less_than": ("less than", "lt"),
    }
    if kind in ("int_parsing", "int_from_float"):
        return f"{shown!r} is not a whole number"
    if kind == "float_parsing":
        return f"{shown!r} is not a number"
    if kind == "finite_number":
        return f"{shown!r} is not a finite number"
    if kind in bounds:
        words, key = bounds[kind]
        return f"must be {words} {limits.get(key)}, not {shown}"
    text = str(error.get("msg", ""))
    return text.removeprefix("Value error, ")


def plain_tree(command: Command) -> None:
    """Give every parameter of ``command`` and of its subcommands a plain metavar and
    plain error wording."""
    for param in command.params:
        # Typer makes its parameter objects itself and takes no class for them: the
        # built ones become these subclasses (which add methods, no state).
        if isinstance(param, TyperArgument) and not isinstance(param, PlainArgument):
            param.__class__ = PlainArgument
        elif isinstance(param, TyperOption) and not isinstance(param, PlainOption):
            param.__class__ = PlainOption
            if param.is_flag or param.count:
                continue
        else:
            continue
        param.metavar = param.metavar or metavar(param)
    for sub in getattr(command, "commands", {}).values():
        plain_tree(sub)
