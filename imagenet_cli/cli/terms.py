"""``imagenet terms``: read, accept, check and revoke ImageNet's terms of access."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

from ..errors import ExitCode, TermsError, UsageError
from ..fetch import terms as core
from .common import (
    DocumentFormatOpt,
    EmailOpt,
    FormatOpt,
    NameOpt,
    NoHeaderOpt,
    OrgOpt,
)
from .output import (
    emit_json,
    emit_lines,
    emit_records,
    messages,
    resolve_format,
    stderr_console,
    stdout_console,
    stdout_is_tty,
)
from .params import Opt

if TYPE_CHECKING:
    from rich.console import Console


RECORD_FIELDS = [
    ("accepted", "accepted"),
    ("current_version", "current version"),
    ("version", "accepted version"),
    ("name", "name"),
    ("email", "email"),
    ("organization", "organisation"),
    ("accepted_at", "accepted at"),
]


def show(fmt: DocumentFormatOpt = None) -> None:
    """Print the terms of access with their version (rendered on a terminal, plain
    text when piped; -f json: the Markdown source).

    Example: imagenet terms show | less
    """
    terms = core.current()
    if fmt is not None and resolve_format(fmt, ("table", "json")) == "json":
        emit_json({"version": terms.version, "source": terms.source, "text": terms.text})
        return
    heading = f"Version {terms.version} ({terms.source})"
    if stdout_is_tty():
        _render(stdout_console(), heading, terms.text)
        return
    emit_lines([heading, "", terms.plain_text.rstrip("\n")])


def _render(console: Console, heading: str, text: str) -> None:
    """The terms as rendered Markdown on a terminal: bold, lists, no ``**``."""
    from rich.markdown import Markdown

    console.print(heading, highlight=False)
    console.print()
    console.print(Markdown(text))


def _ask(label: str, check: Callable[[str], str]) -> str:
    """Ask for one answer until ``check`` takes it (a bad one is named and asked again)."""
    while True:
        import typer

        answer = str(typer.prompt(label, err=True))
        try:
            return check(answer)
        except UsageError as err:
            messages.error(str(err))


def accept(
    name: NameOpt = None,
    email: EmailOpt = None,
    organization: OrgOpt = None,
    yes: Annotated[
        bool,
        Opt("--yes", "-y", help="Accept without asking (needs the three identity options)."),
    ] = False,
) -> None:
    """Accept the current terms of access and record who accepted them.

    Interactive on a terminal; in scripts pass --name, --email, --organization and --yes.

    Example: imagenet terms accept --name "Ada L" --email ada@uni.edu --organization Uni --yes
    """
    interactive = sys.stdin.isatty() and not yes
    if not interactive:
        _answers_given(name, email, organization, yes)
    else:
        # An answer given as an option is checked before anything is asked; each typed
        # answer is checked as soon as it is typed, and asked again when it is wrong.
        name = core.check_name(name) if name else None
        email = core.check_email(email) if email else None
        organization = core.check_organization(organization) if organization else None
        terms = core.current()
        _render(stderr_console(), f"ImageNet terms of access, version {terms.version}", terms.text)
        name = name or _ask("Full name", core.check_name)
        email = email or _ask("Email", core.check_email)
        organization = organization or _ask("Organisation", core.check_organization)
        import typer

        if not typer.confirm("Do you accept these terms of access?", default=False, err=True):
            raise TermsError("terms not accepted; nothing recorded")
    assert name is not None and email is not None and organization is not None
    record = core.accept(name, email, organization)
    messages.info(
        f"terms version {record.version} accepted by {record.name} ({record.organization})"
    )


def _answers_given(
    name: str | None, email: str | None, organization: str | None, yes: bool
) -> None:
    """Off a terminal nothing can be asked: every answer, and --yes, must be given."""
    missing = [
        o
        for o, v in (("--name", name), ("--email", email), ("--organization", organization))
        if not v
    ]
    if missing or not yes:
        need = ", ".join([*missing, *([] if yes else ["--yes"])])
        raise UsageError(f"not on a terminal: accepting the terms needs {need}")


def status(fmt: FormatOpt = None, no_header: NoHeaderOpt = False) -> int:
    """Show whether the current terms are accepted, by whom and when (exit 4 when not).

    Example: imagenet terms status -f json
    """
    st = core.status()
    rec = st.record
    row = {
        "accepted": st.accepted,
        "current_version": st.current_version,
        "version": rec.version if rec else None,
        "name": rec.name if rec else None,
        "email": rec.email if rec else None,
        "organization": rec.organization if rec else None,
        "accepted_at": rec.accepted_at if rec else None,
    }
    emit_records([row], RECORD_FIELDS, fmt, no_header=no_header, id_key="version")
    if not st.accepted:
        if st.outdated:
            messages.warn(
                f"the terms changed since you accepted version {rec.version if rec else ''}"
            )
        return int(ExitCode.TERMS)
    return 0


def revoke() -> None:
    """Withdraw your acceptance: downloading commands refuse again until you accept.

    Example: imagenet terms revoke
    """
    if core.revoke():
        messages.info("acceptance removed")
    else:
        messages.info("no acceptance was recorded")
