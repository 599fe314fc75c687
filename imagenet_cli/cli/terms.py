"""``imagenet terms``: read, accept, check and revoke ImageNet's terms of access."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from .. import terms as core
from ..errors import TermsError, UsageError
from ..output import emit_json, emit_lines, emit_records, messages, resolve_format
from .common import DocumentFormatOpt, FormatOpt, NoHeaderOpt

app = typer.Typer(
    # Help texts are plain text: '[default: ...]' must show, not vanish as markup.
    rich_markup_mode=None,
    help="ImageNet's terms of access: show, accept, status, revoke.",
    epilog="Example: imagenet terms show",
    no_args_is_help=True,
)

AcceptTermsOpt = Annotated[
    bool,
    typer.Option(
        "--accept-terms",
        help="Accept ImageNet's terms of access in this run "
        "(with --name, --email, --organization).",
    ),
]
NameOpt = Annotated[
    str | None,
    typer.Option("--name", help="Your full name, for the acceptance record.", show_default=False),
]
EmailOpt = Annotated[
    str | None,
    typer.Option(
        "--email", help="Your email address, for the acceptance record.", show_default=False
    ),
]
OrgOpt = Annotated[
    str | None,
    typer.Option(
        "--organization",
        "--organisation",
        help="Your university or organisation.",
        show_default=False,
    ),
]

RECORD_FIELDS = [
    ("accepted", "accepted"),
    ("current_version", "current version"),
    ("version", "accepted version"),
    ("name", "name"),
    ("email", "email"),
    ("organization", "organisation"),
    ("accepted_at", "accepted at"),
]


@app.command()
def show(fmt: DocumentFormatOpt = None) -> None:
    """Print the terms of access with their version.

    Example: imagenet terms show | less
    """
    terms = core.current()
    if fmt is not None and resolve_format(fmt, ("table", "json")) == "json":
        emit_json({"version": terms.version, "source": terms.source, "text": terms.text})
        return
    emit_lines([f"Version {terms.version} ({terms.source})", "", terms.text.rstrip("\n")])


@app.command()
def accept(
    name: NameOpt = None,
    email: EmailOpt = None,
    organization: OrgOpt = None,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes", "-y", help="Accept without asking (needs the three identity options)."
        ),
    ] = False,
) -> None:
    """Accept the current terms of access and record who accepted them.

    Interactive on a terminal; in scripts pass --name, --email, --organization and --yes.

    Example: imagenet terms accept --name "Ada L" --email ada@uni.edu --organization Uni --yes
    """
    interactive = sys.stdin.isatty() and not yes
    if not interactive:
        missing = [
            o
            for o, v in (("--name", name), ("--email", email), ("--organization", organization))
            if not v
        ]
        if missing or not yes:
            need = ", ".join([*missing, *([] if yes else ["--yes"])])
            raise UsageError(f"not on a terminal: accepting the terms needs {need}")
    else:
        terms = core.current()
        typer.echo(f"ImageNet terms of access, version {terms.version}\n", err=True)
        typer.echo(terms.text, err=True)
        name = name or typer.prompt("Full name", err=True)
        email = email or typer.prompt("Email", err=True)
        organization = organization or typer.prompt("Organisation", err=True)
        if not typer.confirm("Do you accept these terms of access?", default=False, err=True):
            raise TermsError("terms not accepted; nothing recorded")
    assert name is not None and email is not None and organization is not None
    record = core.accept(name, email, organization)
    messages.info(
        f"terms version {record.version} accepted by {record.name} ({record.organization})"
    )


@app.command()
def status(fmt: FormatOpt = None, no_header: NoHeaderOpt = False) -> None:
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
        raise typer.Exit(4)


@app.command()
def revoke() -> None:
    """Withdraw your acceptance: downloading commands refuse again until you accept.

    Example: imagenet terms revoke
    """
    if core.revoke():
        messages.info("acceptance removed")
    else:
        messages.info("no acceptance was recorded")
