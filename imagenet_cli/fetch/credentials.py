"""ImageNet username and access key: stored with mode 0600, never shown.

Every message that could hold the key (errors, URLs, manifests) goes through
:func:`redact`, which knows the keys seen in this process, the ``accesskey=``
query parameter and the password of a URL's user-info (``http://ada:PW@host``),
so none of them reaches a screen or a file in clear.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus

from ..config import config_dir
from ..errors import ImagenetError, TermsError, UsageError

CREDENTIALS_FILE = "credentials.json"
USER_ENV = "IMAGENET_USERNAME"
KEY_ENV = "IMAGENET_ACCESS_KEY"
MASK = "***"

_SECRETS: set[str] = set()
_QUERY_RE = re.compile(r"(?i)((?:access_?key|password|token)=)[^&#\s'\"]*")
# A URL's user-info: everything of the authority up to its last "@" (as urlsplit reads
# it), so a password that itself holds an unescaped "@" is masked whole.
_USERINFO_RE = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^/?#\s'\"<>@]*(?:@[^/?#\s'\"<>@]*)*)@")


@dataclass(frozen=True)
class Credentials:
    """A username and access key; the key never appears in ``repr`` or ``str``."""

    username: str
    access_key: str

    def __post_init__(self) -> None:
        register_secret(self.access_key)

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, access_key={MASK!r})"

    __str__ = __repr__


def register_secret(secret: str) -> None:
    """Remember a secret so :func:`redact` masks it wherever it shows up."""
    if secret and len(secret) >= 4:
        _SECRETS.update({secret, quote(secret, safe=""), quote_plus(secret)})


def redact(text: str) -> str:
    """``text`` with every known secret, every ``accesskey=`` value and every URL's
    user-info password masked (``http://ada:***@host``; a lone name, which may be a
    token, as ``http://***@host``)."""
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    if "@" in text:
        text = _USERINFO_RE.sub(_mask_userinfo, text)
    return _QUERY_RE.sub(lambda m: m.group(1) + MASK, text)


def _mask_userinfo(match: re.Match[str]) -> str:
    user, colon, _password = match.group(2).partition(":")
    return f"{match.group(1)}{user if colon else ''}{colon}{MASK}@"


def path() -> Path:
    """Where the stored credentials live."""
    return config_dir() / CREDENTIALS_FILE


def save(username: str, access_key: str) -> Path:
    """Store the credentials, readable by the owner only (mode set before the rename)."""
    username, access_key = username.strip(), access_key.strip()
    if not username or not access_key:
        raise UsageError("both a username and an access key are needed")
    creds = Credentials(username, access_key)
    folder = config_dir(create=True)
    target = path()
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"username": creds.username, "access_key": creds.access_key}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return target


def load(required: bool = False) -> Credentials | None:
    """The credentials, each half from the environment first, then the stored file: an
    access key set alone (``IMAGENET_ACCESS_KEY``) goes with the stored username, as a
    username set alone goes with the stored key. None when there are none."""
    user, key = os.environ.get(USER_ENV, "").strip(), os.environ.get(KEY_ENV, "").strip()
    if not (user and key):
        stored = _stored()
        if stored is not None:
            user, key = user or stored.username, key or stored.access_key
    if user and key:
        return Credentials(user, key)
    if key:
        register_secret(key)  # unused, yet never shown
    if required:
        lead = (
            f"{KEY_ENV} is set, but no username: set {USER_ENV} or"
            if key
            else "original images need an ImageNet username and access key:"
        )
        raise TermsError(f"{lead} run 'imagenet login' (or set {USER_ENV} and {KEY_ENV})")
    return None


def _stored() -> Credentials | None:
    """The stored credentials, None when none are stored."""
    try:
        data = json.loads(path().read_text(encoding="utf-8"))
        return Credentials(str(data["username"]), str(data["access_key"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        raise ImagenetError(
            f"{path()}: unreadable credentials; run 'imagenet login' again"
        ) from None


def clear() -> bool:
    """Remove the stored credentials; returns whether there were any."""
    target = path()
    existed = target.exists()
    with contextlib.suppress(FileNotFoundError):
        target.unlink()
    return existed
