"""The user's config file (TOML) and the order in which settings win.

Options beat environment variables, which beat the config file, which beats the
defaults. Every key is declared in :data:`KEYS` with its type and smallest value;
the command-line options of the same settings take their bounds from there, so
``config set``, a value read from the file and an option are held to one rule.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cache import file_lock, user_dir, write_text_atomic
from .errors import UsageError
from .ids import clip

CONFIG_ENV = "IMAGENET_CONFIG"
CONFIG_FILE = "config.toml"


@dataclass(frozen=True)
class Key:
    """A config key: its type, default, environment variable and meaning."""

    name: str
    type: type
    default: Any
    help: str
    env: str | None = None
    min: Any = None  # the smallest value accepted; the matching option's ``min`` too


def _keys(*keys: Key) -> dict[str, Key]:
    return {k.name: k for k in keys}


KEYS: dict[str, Key] = _keys(
    Key(
        "base_url",
        str,
        "https://image-net.org",
        "ImageNet site or mirror for image lists and archives",
        "IMAGENET_BASE_URL",
    ),
    Key(
        "scheduler",
        str,
        "",
        "Dask scheduler for fetch, bbox convert and subset extract",
        "IMAGENET_SCHEDULER",
    ),
    Key("fetch.concurrency", int, 64, "downloads in flight at once", min=1),
    Key("fetch.per_host", int, 8, "downloads in flight per host", min=1),
    Key("fetch.timeout", float, 30.0, "seconds before one request gives up", min=0.01),
    Key("fetch.retries", int, 3, "retries of a failed request (connect errors, 5xx, 429)", min=0),
    Key("fetch.max_bytes", int, 50_000_000, "largest image accepted, in bytes", min=1),
    Key("fetch.min_side", int, 0, "shorter side below which an image is refused", min=0),
    Key("fetch.placeholders", list, [], "extra sha256 digests of placeholder images to refuse"),
    Key(
        "fetch.ignore_robots_tag",
        bool,
        False,
        "keep images whose X-Robots-Tag says noai, noimageai, noindex or noimageindex",
    ),
    Key("workers", int, 0, "worker processes for CPU-bound work (0: one per core)", min=0),
)
_KINDS = {int: "an integer", float: "a number", str: "a string", list: "a list", bool: "a boolean"}


def minimum(name: str) -> Any:
    """The smallest value ``name`` accepts: what its command-line option declares as ``min``."""
    return KEYS[name].min


def config_dir(create: bool = False) -> Path:
    """The config folder: ``$IMAGENET_CONFIG``, else the platform's user config folder."""
    env = os.environ.get(CONFIG_ENV)
    path = Path(env).expanduser() if env else user_dir("config")
    if os.path.exists(path) and not os.path.isdir(path):
        # Said at once: every file under it would fail, each in its own words.
        raise UsageError(f"{path}: the config folder ({CONFIG_ENV}) is a file, not a folder")
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(
                f"{path}: cannot create the config folder ({CONFIG_ENV}): {exc.strerror}"
            ) from None
    return path


def config_file() -> Path:
    """The TOML file holding the user's settings."""
    return config_dir() / CONFIG_FILE


def load() -> dict[str, Any]:
    """The settings in the config file as flat dotted keys (empty when there is none)."""
    path = config_file()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except NotADirectoryError:
        raise UsageError(
            f"{path.parent}: the config folder ({CONFIG_ENV}) is a file, not a folder"
        ) from None
    except OSError as exc:
        # a folder in the file's place, or one we may not read: the config is the user's to fix
        raise UsageError(f"{path}: cannot read config: {exc.strerror}") from None
    import tomllib  # here: most runs have no config file to parse

    try:
        # utf-8-sig: an editor's byte order mark (Notepad writes one) is not TOML's error.
        doc = tomllib.loads(raw.decode("utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: invalid TOML: {exc}") from exc
    return _flatten(doc)


def _flatten(doc: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in doc.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{name}."))
        else:
            flat[f"{prefix}{name}"] = value
    return flat


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    """The TOML document of flat dotted keys; a key holding a value where another key
    needs a table (``fetch = 3`` beside ``fetch.concurrency``; a prefix sorts first) is a
    :class:`UsageError`."""
    doc: dict[str, Any] = {}
    for dotted, value in sorted(flat.items()):
        node = doc
        *parents, leaf = dotted.split(".")
        for depth, part in enumerate(parents, 1):
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                inner = ".".join(parents[:depth])
                raise UsageError(
                    f"{config_file()}: {inner} and {dotted} cannot both be set (a setting "
                    "cannot hold others); edit the file"
                )
        node[leaf] = value
    return doc


def _key(name: str) -> Key:
    """The key ``name``; a name no setting has is a usage error (a typo, most often)
    that suggests the nearest key."""
    try:
        return KEYS[name]
    except KeyError:
        pass
    near = nearest_key(name)
    hint = f"did you mean {near}?" if near else f"known keys: {', '.join(sorted(KEYS))}"
    raise UsageError(f"unknown config key {clip(name)!r} ({hint})") from None


def nearest_key(name: str) -> str | None:
    """The known key closest to ``name`` (whole, or its last part: ``concurency`` is
    ``fetch.concurrency``), or None when none is close."""
    import difflib

    by_part = {k.rpartition(".")[2]: k for k in KEYS}
    for pool, text in ((KEYS, name), (by_part, name.rpartition(".")[2])):
        close = difflib.get_close_matches(text.lower(), list(pool), n=1, cutoff=0.75)
        if close:
            return by_part.get(close[0], close[0]) if pool is by_part else close[0]
    return None


def parse_value(name: str, text: str) -> Any:
    """Turn the text given to ``config set`` into the key's type, checked as the file's
    values are (:func:`check`)."""
    key = _key(name)
    parsers: dict[type, Callable[[str], Any]] = {
        str: str,
        int: int,
        float: float,
        bool: _parse_bool,
        list: lambda s: [item.strip() for item in s.split(",") if item.strip()],
    }
    try:
        value = parsers[key.type](text)
    except ValueError:
        raise UsageError(f"{name} takes {_KINDS[key.type]}, not {clip(text)!r}") from None
    problem = check(name, value)
    if problem:
        raise UsageError(f"{name} {problem}")
    return value


def check(name: str, value: Any) -> str:
    """What is wrong with ``value`` for the key ``name`` (its type, its range), or ""."""
    key = _key(name)
    kind = key.type
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)  # TOML writes 30 for 30.0
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        return f"takes {_KINDS[kind]}, not {clip(repr(value))}"
    if isinstance(value, list) and not all(isinstance(item, str) for item in value):
        return f"takes a list of strings, not {clip(repr(value))}"
    if isinstance(value, float) and (value != value or abs(value) == float("inf")):
        return f"takes a finite number, not {clip(repr(value))}"
    if key.min is not None and value < key.min:
        return f"must be at least {key.min}, not {clip(repr(value))}"
    return ""


def _stored(name: str, stored: dict[str, Any]) -> Any:
    """A value from the config file, checked: a bad one is a usage error naming the file,
    the line and the key, raised only when a command needs that key."""
    value = stored[name]
    problem = check(name, value)
    if problem:
        raise UsageError(f"{_where(name)}: {name} {problem}")
    if _key(name).type is float:
        return float(value)
    return value


def _where(name: str) -> str:
    """``FILE: line N`` of the line that sets ``name`` (``FILE`` alone if not found)."""
    path = config_file()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return str(path)
    table, _, leaf = name.rpartition(".")
    current = ""
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line.startswith("[") and not line.startswith("[["):
            current = line.strip("[] \t").replace(" ", "").replace('"', "")
            continue
        key, eq, _ = line.partition("=")
        key = key.strip().replace(" ", "").replace('"', "")
        if eq and (current, key) in ((table, leaf), ("", name)):
            return f"{path}: line {number}"
    return str(path)


def _parse_bool(text: str) -> bool:
    low = text.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise ValueError(text)


def get(name: str, option: Any = None) -> Any:
    """A setting's value: ``option`` if given, else its environment variable, else the
    config file, else the default."""
    key = _key(name)
    if option is not None:
        return option
    if key.env and os.environ.get(key.env):
        return parse_value(name, os.environ[key.env])
    stored = load()
    if name in stored:
        return _stored(name, stored)
    return key.default


def set_value(name: str, text: str) -> Any:
    """Store a setting in the config file (atomically, under a lock); returns the value."""
    value = parse_value(name, text)
    if name == "base_url" and _has_userinfo(value):
        raise UsageError(
            f"base_url: a URL with a user name or password is not stored in {config_file()} "
            "(readable by others): run 'imagenet login' or set IMAGENET_USERNAME and "
            "IMAGENET_ACCESS_KEY for ImageNet's key, or give the URL in IMAGENET_BASE_URL "
            "or --base-url"
        )
    _update(lambda flat: flat.__setitem__(name, value))
    return value


def _has_userinfo(url: str) -> bool:
    """Whether ``url``'s authority holds user-info (``user:password@``, ``token@``)."""
    from urllib.parse import urlsplit

    try:
        return "@" in urlsplit(url.strip()).netloc
    except ValueError:
        return "@" in url


def unset(name: str) -> bool:
    """Remove a setting from the config file; returns whether it was there."""
    _key(name)
    removed: list[bool] = []
    _update(lambda flat: removed.append(flat.pop(name, None) is not None))
    return bool(removed and removed[0])


def _update(change: Callable[[dict[str, Any]], Any]) -> None:
    import tomli_w

    folder = config_dir(create=True)
    with file_lock(folder / ".config.lock"):
        flat = load()
        change(flat)
        write_text_atomic(config_file(), tomli_w.dumps(_nest(flat)))


@dataclass(frozen=True)
class Setting:
    """A key's effective value and where it came from."""

    key: str
    value: Any
    source: str  # "env", "config" or "default"
    help: str
    error: str = ""  # what is wrong with a value from the file ("" when nothing)


def unknown_keys() -> list[str]:
    """One line for each key of the config file that no setting has (a typo such as
    ``concurency``, ignored by every command), naming the file and the line."""
    return [
        f"{_where(name)}: unknown key {name!r}, ignored (known keys: {', '.join(sorted(KEYS))})"
        for name in sorted(load())
        if name not in KEYS
    ]


def settings() -> list[Setting]:
    """Every known key with its effective value and its source, by name.

    A bad value in the file is listed as written, with ``error`` saying what is wrong
    (one line naming the file, the line and the key), so it can be seen and fixed.
    """
    stored = load()
    rows = []
    for name, key in sorted(KEYS.items()):
        if key.env and os.environ.get(key.env):
            rows.append(Setting(name, parse_value(name, os.environ[key.env]), "env", key.help))
        elif name in stored:
            try:
                rows.append(Setting(name, _stored(name, stored), "config", key.help))
            except UsageError as exc:
                rows.append(Setting(name, stored[name], "config", key.help, str(exc)))
        else:
            rows.append(Setting(name, key.default, "default", key.help))
    return rows
