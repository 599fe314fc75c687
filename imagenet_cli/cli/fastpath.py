"""A Typer-free fast path for the commands scripts call most (synset, subset, bbox, fetch).

Importing Typer (and the Click it carries) costs about 100 ms, more than a whole
synset lookup should take. ``fastpath_spec.py`` describes these commands'
parameters exactly as the Typer app declares them (generated from it by
``scripts/generate.py``; a test fails when it is stale). When a command line fits
that description, it runs the same command body directly; anything else (help,
completion, an unknown option, a bad value) falls through to Typer, which parses it
again and gives its usual messages.
"""

from __future__ import annotations

import importlib
from typing import Any


def try_run(argv: list[str]) -> int | None:
    """Run ``argv`` on the fast path and return its exit code, or None to fall back."""
    if not argv:
        return None
    from ..errors import ImagenetError
    from .output import emit_lines, messages

    if argv == ["--version"]:  # what install checks in scripts run, so Typer stays unloaded
        from .. import __version__

        try:
            emit_lines([f"imagenet-cli {__version__}"])
        except ImagenetError as err:
            messages.error(str(err))
            return int(err.exit_code)
        return 0
    from .fastpath_spec import SPEC

    command = SPEC.get("top", {}).get(argv[0])
    rest = argv[1:]
    if command is None and len(argv) >= 2:
        command = SPEC.get("commands", {}).get(argv[0], {}).get(argv[1])
        rest = argv[2:]
    if command is None:
        return None
    kwargs = parse(command["params"], rest)
    if kwargs is None:
        return None
    module_name, _, func_name = command["target"].partition(":")
    func = getattr(importlib.import_module(module_name), func_name)
    try:
        return int(func(**kwargs))
    except ImagenetError as err:
        messages.error(str(err))
        return int(err.exit_code)
    except OSError as exc:
        from ..places import refused_write

        refused = refused_write(exc)
        if refused is None:
            raise
        messages.error(str(refused))
        return int(refused.exit_code)
    except KeyboardInterrupt:
        messages.error("interrupted")  # as the Typer app says it
        return 130


def parse(params: list[dict[str, Any]], args: list[str]) -> dict[str, Any] | None:
    """Parse ``args`` against a command's parameter spec, or None if it does not fit."""
    values: dict[str, Any] = {p["name"]: _default(p) for p in params}
    by_opt: dict[str, tuple[dict[str, Any], bool]] = {}
    for p in params:
        if p["kind"] == "option":
            for opt in p["opts"]:
                by_opt[opt] = (p, True)
            for opt in p.get("secondary", []):
                by_opt[opt] = (p, False)
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
        param, primary = found
        if param["flag"]:
            if inline is not None:
                return None
            values[param["name"]] = primary
            continue
        if inline is None:
            if i >= len(args):
                return None
            inline = args[i]
            i += 1
        value = _convert(param, inline)
        if value is None:
            return None
        if param["multiple"]:
            values[param["name"]] = [*(values[param["name"]] or []), value]
        else:
            values[param["name"]] = value
    for p in params:
        if p["kind"] != "argument":
            continue
        if p["nargs"] == -1:
            taken, positional = positional, []
            converted = [_convert(p, a) for a in taken]
            if any(c is None for c in converted):
                return None
            values[p["name"]] = converted or None
            if p["required"] and not taken:
                return None
        elif positional:
            value = _convert(p, positional.pop(0))
            if value is None:
                return None
            values[p["name"]] = value
        elif p["required"]:
            return None
    if positional:
        return None
    return values


def _default(p: dict[str, Any]) -> Any:
    return p.get("default")


def _convert(p: dict[str, Any], text: str) -> Any:
    kind = p["type"]
    if kind == "text":
        return text
    if kind == "choice":
        return text if text in p["choices"] else None
    if kind in ("int", "float"):
        if not text.isascii() or text != text.strip():
            return None  # int() takes fullwidth and Arabic-Indic digits, Typer does not
        try:
            value = int(text) if kind == "int" else float(text)
        except ValueError:
            return None
        if value != value:  # NaN: Typer says what is wrong
            return None
        lo, hi = p.get("min"), p.get("max")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            return None
        return value
    return None
