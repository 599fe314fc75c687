"""Typer commands made from the declarations of ``cli.params``, at run time.

The only module that turns an ``Opt``/``Arg`` into ``typer.Option``/``typer.Argument``:
a command's function keeps its own signature, and the Typer command gets a wrapper
whose ``__signature__`` carries the same parameters annotated for Typer.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any

import typer

from .params import Arg, Opt, declarations


def typer_signature(func: Callable[..., Any]) -> inspect.Signature:
    """``func``'s signature with each parameter annotated for Typer."""
    params = []
    signature = inspect.signature(func)
    for (_name, _default, hint, decl), param in zip(
        declarations(func), signature.parameters.values(), strict=True
    ):
        if isinstance(decl, Opt):
            info: Any = typer.Option(*decl.decls, **decl.typer_kwargs())
        elif isinstance(decl, Arg):
            info = typer.Argument(**decl.typer_kwargs())
        else:
            info = None
        annotation = hint if info is None else Annotated[hint, info]
        params.append(param.replace(annotation=annotation, kind=param.KEYWORD_ONLY))
    return inspect.Signature(params, return_annotation=None)


def command(
    func: Callable[..., Any], call: Callable[..., Any] | None = None
) -> Callable[..., None]:
    """The Typer command function for ``func`` (which ``call`` stands in for, if given):
    it passes the parsed options on and ends with the exit code returned."""
    run = call or func

    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> None:
        code = run(**kwargs)
        if code:
            raise typer.Exit(int(code))

    wrapper.__signature__ = typer_signature(func)  # type: ignore[attr-defined]
    del wrapper.__wrapped__  # Typer would read the signature of ``func`` through it
    wrapper.__annotations__ = {"kwargs": Any, "return": None}
    return wrapper
