"""A Typer-free fast path for the commands whose start-up matters: ``--version``, the
``synset`` lookups, ``urls info`` and ``fetch --urls-only``.

Importing Typer (and the Click it carries) costs about 100 ms, more than a whole
synset lookup should take. The fast path parses a command line against the command's
own declaration (``cli.params``, read from its signature), the one the Typer command
is built from, so a required option, a choice, a range and a default mean the same
on both paths. Anything it cannot parse (help, completion, an unknown option, a bad
value) falls through to Typer, which parses it again and gives its usual messages.
"""

from __future__ import annotations

import sys
import typing
from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .params import Arg, Opt

# The commands served here: a whole group, a group's command, or a top-level command
# with the option it needs on the command line.
FAST_GROUPS = ("synset",)
FAST_COMMANDS = (("urls", "info"),)
FAST_TOP = {"fetch": "--urls-only"}


def try_run(argv: list[str]) -> int | None:
    """Run ``argv`` on the fast path and return its exit code, or None to fall back."""
    if not argv:
        return None
    try:
        if argv == ["--version"]:  # what install checks in scripts run: Typer stays unloaded
            from .. import __version__
            from .output import emit_lines

            emit_lines([f"imagenet-cli {__version__}"])
            return 0
        found = _lookup(argv)
        if found is None:
            return None
        func, rest = found
        kwargs = parse(func, rest)
        if kwargs is None:
            return None
        return int(func(**kwargs) or 0)
    except (Exception, KeyboardInterrupt) as exc:
        from .failure import exit_code

        code = exit_code(exc)
        if code is None:
            raise
        return code


def _lookup(argv: list[str]) -> tuple[Callable[..., Any], list[str]] | None:
    """The function ``argv`` names on the fast path, and the arguments after its name."""
    from .commands import GROUPS, TOP, target

    path: str | None = None
    if argv[0] in FAST_TOP and FAST_TOP[argv[0]] in argv:
        path, rest = TOP[argv[0]], argv[1:]
    elif len(argv) >= 2 and (argv[0] in FAST_GROUPS or tuple(argv[:2]) in FAST_COMMANDS):
        path, rest = GROUPS[argv[0]].commands.get(argv[1]), argv[2:]
    if path is None:
        return None
    return target(path), rest  # type: ignore[return-value]


class _Spec:
    """One parameter as the parser needs it."""

    def __init__(self, name: str, default: Any, hint: Any, decl: Opt | Arg) -> None:
        from .params import REQUIRED

        self.name = name
        self.decl = decl
        self.required = default is REQUIRED
        self.default = None if self.required else default
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if typing.get_origin(hint) is not list and args:  # X | None
            hint = args[0]
        self.many = typing.get_origin(hint) is list
        self.type = typing.get_args(hint)[0] if self.many else hint
        self.flag = self.type is bool


def specs(func: Callable[..., Any]) -> list[_Spec] | None:
    """The parameters of ``func`` as declared, or None if the fast path cannot serve one."""
    from .params import Arg, Opt, declarations

    found = []
    for name, default, hint, decl in declarations(func):
        if not isinstance(decl, Opt | Arg):
            return None
        if {"callback", "envvar", "is_eager", "parser"} & decl.extra.keys():
            return None
        if any("/" in d for d in decl.decls):
            return None  # --x/--no-x: Typer's
        found.append(_Spec(name, default, hint, decl))
    return found


def parse(func: Callable[..., Any], args: list[str]) -> dict[str, Any] | None:
    """The keyword arguments ``args`` give ``func``, or None if they do not fit."""
    from .params import Opt

    params = specs(func)
    if params is None:
        return None
    values: dict[str, Any] = {p.name: p.default for p in params}
    by_opt: dict[str, _Spec] = {}
    for p in params:
        if isinstance(p.decl, Opt):
            by_opt.update(dict.fromkeys(p.decl.decls, p))
    positional: list[str] = []
    i = 0
    only_args = False
    while i < len(args):
        arg = args[i]
        i += 1
        if only_args or arg == "-" or not arg.startswith("-"):
            positional.append(arg)
            continue
        if arg == "--":
            only_args = True
            continue
        inline: str | None = None
        if arg.startswith("--") and "=" in arg:
            arg, inline = arg.split("=", 1)
        elif not arg.startswith("--") and len(arg) > 2:
            arg, inline = arg[:2], arg[2:]
        found = by_opt.get(arg)
        if found is None:
            return None
        if found.flag:
            if inline is not None:
                return None
            values[found.name] = True
            continue
        if inline is None:
            if i >= len(args):
                return None
            inline = args[i]
            i += 1
        value = _convert(found, inline)
        if value is None:
            return None
        values[found.name] = [*(values[found.name] or []), value] if found.many else value
    for p in params:
        if isinstance(p.decl, Opt):
            if p.required and values[p.name] is None:
                return None
            continue
        if p.many:
            taken, positional = positional, []
            converted = [_convert(p, a) for a in taken]
            if any(c is None for c in converted) or (p.required and not taken):
                return None
            values[p.name] = converted or p.default
        elif positional:
            values[p.name] = _convert(p, positional.pop(0))
            if values[p.name] is None:
                return None
        elif p.required:
            return None
    return None if positional else values


def _convert(p: _Spec, text: str) -> Any:
    kind = p.type
    if kind is str:
        return text
    pathlib = sys.modules.get("pathlib")  # loaded wherever a declaration names Path
    if pathlib is not None and kind is pathlib.Path:
        return pathlib.Path(text)
    if isinstance(kind, type) and issubclass(kind, Enum):
        # Exactly a choice's value: any other spelling Typer judges itself.
        return next((m for m in kind if m.value == text), None)
    if kind in (int, float):
        if not text.isascii() or text != text.strip():
            return None  # int() takes fullwidth and Arabic-Indic digits, Typer does not
        try:
            value = kind(text)
        except ValueError:
            return None
        if value != value:  # NaN: Typer says what is wrong
            return None
        lo, hi = p.decl.min, p.decl.max
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            return None
        return value
    return None
