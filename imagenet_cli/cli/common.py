"""Options shared by every command, declared once so they are spelled the same everywhere."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from ..config import minimum
from .output import Format

FormatOpt = Annotated[
    Format | None,
    typer.Option(
        "--format",
        "-f",
        help="Output format [default: table on a terminal, tsv when piped].",
        show_default=False,
        case_sensitive=False,
    ),
]


class TreeFormat(StrEnum):
    """The formats a tree is written in."""

    table = "table"
    tsv = "tsv"
    json = "json"
    ids = "ids"


class DocumentFormat(StrEnum):
    """The formats a text document is written in."""

    table = "table"
    json = "json"


TreeFormatOpt = Annotated[
    TreeFormat | None,
    typer.Option(
        "--format",
        "-f",
        help="Output format [default: a tree on a terminal, indented text when piped].",
        show_default=False,
        case_sensitive=False,
    ),
]
DocumentFormatOpt = Annotated[
    DocumentFormat | None,
    typer.Option(
        "--format",
        "-f",
        help="Output format: the text (table), or JSON [default: table].",
        show_default=False,
        case_sensitive=False,
    ),
]
NoHeaderOpt = Annotated[
    bool, typer.Option("--no-header", help="Leave out the header line (tsv, csv, table).")
]
OutputOpt = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="Write to this file instead of stdout ('-': stdout).",
        show_default=False,
    ),
]
WorkersOpt = Annotated[
    int,
    typer.Option(
        "--workers", "-j", help="Worker processes (0: one per core).", min=minimum("workers")
    ),
]
LimitOpt = Annotated[int | None, typer.Option("--limit", help="At most this many results.", min=1)]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed for every random choice.")]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Show what would be done; change nothing.")
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Only errors on stderr.")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="More detail on stderr.")]
OfflineOpt = Annotated[
    bool, typer.Option("--offline", help="Use only what is in the cache; no network.")
]
ReleaseOpt = Annotated[
    str | None,
    typer.Option(
        "--release",
        "-r",
        help="Only classes of this release (see 'imagenet synset releases').",
        show_default=False,
    ),
]
BaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        help="ImageNet site or mirror [env IMAGENET_BASE_URL, config base_url].",
        show_default=False,
    ),
]
RecursiveReleaseOpt = Annotated[
    str | None,
    typer.Option(
        "--release",
        "-r",
        help="With --recursive: only classes of this release.",
        show_default=False,
    ),
]
