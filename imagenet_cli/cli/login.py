"""``imagenet login`` and ``imagenet logout``: the stored ImageNet credentials."""

from __future__ import annotations

import os
import sys
from typing import Annotated

from ..errors import UsageError
from .output import messages
from .params import Opt


def login(
    username: Annotated[
        str | None,
        Opt(
            "--username",
            help="ImageNet username [env IMAGENET_USERNAME].",
            metavar="NAME",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Store your ImageNet username and access key (file mode 0600; the key is never shown).

    The key is read from IMAGENET_ACCESS_KEY or asked for without echo.

    Example: imagenet login --username ada
    """
    from ..fetch import credentials

    user = username or os.environ.get(credentials.USER_ENV, "").strip()
    key = os.environ.get(credentials.KEY_ENV, "").strip()
    if not user:
        if not sys.stdin.isatty():
            raise UsageError(f"not on a terminal: pass --username or set {credentials.USER_ENV}")
        import typer

        user = typer.prompt("ImageNet username", err=True)
    if not key:
        if not sys.stdin.isatty():
            raise UsageError(f"not on a terminal: set {credentials.KEY_ENV} to give the access key")
        import typer

        key = typer.prompt("Access key", hide_input=True, err=True)
    path = credentials.save(user, key)
    messages.info(f"credentials for {user} stored in {path}")


def logout() -> None:
    """Remove the stored ImageNet credentials.

    Example: imagenet logout
    """
    from ..fetch import credentials

    if credentials.clear():
        messages.info("credentials removed")
    else:
        messages.info("no credentials were stored")
