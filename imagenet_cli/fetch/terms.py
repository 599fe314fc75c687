"""ImageNet's terms of access: the text with its version, and the user's acceptance.

The acceptance record (who, which organisation, when, which version) is a small
JSON file in the config folder. :func:`require_accepted` is the gate every command
that downloads from an ImageNet source goes through.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from ..cache import write_text_atomic
from ..config import config_dir
from ..errors import ImagenetError, TermsError, UsageError

TERMS_FILE = "terms.json"
TERMS_TEXT = Path(__file__).parent.parent / "data" / "terms.md"
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# The packaged text; tests point this at another file to simulate a new version.
_TERMS_PATH: Path | None = None

HOW_TO_ACCEPT = (
    "read them with 'imagenet terms show', then run 'imagenet terms accept' "
    "(or pass --accept-terms --name NAME --email EMAIL --organization ORG)"
)


@dataclass(frozen=True)
class Terms:
    """The terms text and its version."""

    version: str
    source: str
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    @property
    def plain_text(self) -> str:
        """The text without its Markdown marks (``**``, backquotes, ``#``), to read as
        it is in a pager or a file."""
        text = _HEADING.sub("", self.text)
        return _EMPHASIS.sub(r"\2", text)


_HEADING = re.compile(r"^#{1,6} +", re.MULTILINE)
_EMPHASIS = re.compile(r"(\*\*|__|`)(.+?)\1", re.DOTALL)


@dataclass(frozen=True)
class Acceptance:
    """Who accepted which version of the terms, and when (UTC, ISO 8601)."""

    name: str
    email: str
    organization: str
    version: str
    accepted_at: str
    text_sha256: str


@dataclass(frozen=True)
class Status:
    """Whether the current terms are accepted, and the record if there is one."""

    current_version: str
    accepted: bool
    record: Acceptance | None

    @property
    def outdated(self) -> bool:
        return self.record is not None and not self.accepted


def current() -> Terms:
    """The packaged terms: front matter (version, source) and the Markdown text."""
    if _TERMS_PATH is not None:
        raw = _TERMS_PATH.read_text(encoding="utf-8")
    else:
        raw = TERMS_TEXT.read_text(encoding="utf-8")
    meta: dict[str, str] = {}
    text = raw
    if raw.startswith("---\n"):
        head, _, text = raw[4:].partition("\n---\n")
        for line in head.splitlines():
            key, sep, value = line.partition(":")
            if sep:
                meta[key.strip()] = value.strip()
    if "version" not in meta:
        raise ImagenetError("the packaged terms of access have no version")
    return Terms(meta["version"], meta.get("source", ""), text.lstrip("\n"))


def record_path() -> Path:
    """Where the acceptance record lives."""
    return config_dir() / TERMS_FILE


def load_record() -> Acceptance | None:
    """The stored acceptance, or None (also when the file is unreadable or malformed)."""
    try:
        data = json.loads(record_path().read_text(encoding="utf-8"))
        return Acceptance(**{k: str(data[k]) for k in Acceptance.__dataclass_fields__})
    except (OSError, ValueError, KeyError, TypeError):
        return None


def status() -> Status:
    """The current version and whether it is accepted."""
    terms = current()
    record = load_record()
    return Status(terms.version, record is not None and record.version == terms.version, record)


def check_name(name: str) -> str:
    """``name`` without surrounding blanks; a :class:`UsageError` when it is empty."""
    if not name.strip():
        raise UsageError("accepting the terms needs your name (--name)")
    return name.strip()


def check_email(email: str) -> str:
    """``email`` without surrounding blanks; a :class:`UsageError` when it is not an
    email address."""
    if not EMAIL_RE.match(email.strip()):
        raise UsageError(f"not an email address: {email.strip()!r} (--email)")
    return email.strip()


def check_organization(organization: str) -> str:
    """``organization`` without surrounding blanks; a :class:`UsageError` when empty."""
    if not organization.strip():
        raise UsageError("accepting the terms needs your organisation (--organization)")
    return organization.strip()


def accept(name: str, email: str, organization: str) -> Acceptance:
    """Record that ``name`` accepts the current terms; returns the record written."""
    name, email, organization = (
        check_name(name),
        check_email(email),
        check_organization(organization),
    )
    terms = current()
    record = Acceptance(
        name=name,
        email=email,
        organization=organization,
        version=terms.version,
        accepted_at=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        text_sha256=terms.sha256,
    )
    config_dir(create=True)
    write_text_atomic(record_path(), json.dumps(asdict(record), indent=2) + "\n")
    return record


def revoke() -> bool:
    """Remove the acceptance record; returns whether there was one."""
    path = record_path()
    existed = path.exists()
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    return existed


def require_accepted() -> Acceptance:
    """The acceptance of the current terms, or :class:`TermsError` saying how to accept."""
    st = status()
    if st.accepted and st.record is not None:
        return st.record
    if st.outdated and st.record is not None:
        raise TermsError(
            f"ImageNet's terms of access changed (version {st.current_version}; you accepted "
            f"{st.record.version}): {HOW_TO_ACCEPT}"
        )
    raise TermsError(
        f"ImageNet's terms of access (version {st.current_version}) are not accepted: "
        f"{HOW_TO_ACCEPT}"
    )


def gate(
    accept_now: bool = False,
    name: str | None = None,
    email: str | None = None,
    organization: str | None = None,
) -> Acceptance:
    """The check before any download: accept first when asked, then require acceptance."""
    if accept_now:
        missing = [
            opt
            for opt, value in (
                ("--name", name),
                ("--email", email),
                ("--organization", organization),
            )
            if not value
        ]
        if missing:
            raise UsageError(f"--accept-terms needs {', '.join(missing)}")
        assert name is not None and email is not None and organization is not None
        return accept(name, email, organization)
    return require_accepted()
