"""``imagenet config``: read and write the user's settings file."""

from __future__ import annotations

from typing import Annotated

from .. import config
from ..errors import UsageError
from ..fetch.credentials import redact
from .common import FormatOpt, NoHeaderOpt
from .output import Outcome, dumps, emit_lines, emit_rows, messages
from .params import Arg

KeyArg = Annotated[str, Arg(help="A setting, e.g. fetch.concurrency ('imagenet config list').")]


def _shown(value: object) -> object:
    # A URL setting may carry a password (http://user:PW@mirror): shown masked, as
    # everywhere else; config.toml keeps it for the requests.
    return redact(value) if isinstance(value, str) else value


def _text(value: object) -> str:
    value = _shown(value)
    return value if isinstance(value, str) else dumps(value)


def get(key: KeyArg) -> None:
    """Print a setting's effective value.

    Example: imagenet config get base_url
    """
    emit_lines([_text(config.get(key))])


def set_(
    key: KeyArg,
    value: Annotated[str, Arg(help="The new value (lists: comma separated).")],
) -> None:
    """Store a setting in the config file.

    Example: imagenet config set fetch.concurrency 16
    """
    config.set_value(key, value)


def unset(key: KeyArg) -> None:
    """Remove a setting from the config file (its default applies again).

    Example: imagenet config unset fetch.concurrency
    """
    config.unset(key)


def list_(fmt: FormatOpt = None, no_header: NoHeaderOpt = False) -> int:
    """List every setting with its value and where the value comes from.

    A value in the file that a command would refuse is listed as written and named on
    stderr (exit 2); a key no setting has (a typo) is named in a warning.

    Example: imagenet config list -f json
    """
    found = config.settings()
    rows = (
        {"key": s.key, "value": _shown(s.value), "source": s.source, "help": s.help} for s in found
    )
    emit_rows(rows, ["key", "value", "source", "help"], fmt, no_header=no_header, id_key="key")
    for line in config.unknown_keys():
        messages.warn(line)
    outcome = Outcome()
    for s in found:
        if s.error:
            outcome.fail(UsageError(s.error))
    return int(outcome.code)


def path() -> None:
    """Print the config file's path ($IMAGENET_CONFIG/config.toml).

    Example: imagenet config path
    """
    emit_lines([str(config.config_file())])
