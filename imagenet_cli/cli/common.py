"""Options shared by several commands, declared once so they are spelled the same everywhere."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

from .output import Format
from .params import Opt

FormatOpt = Annotated[
    Format | None,
    Opt(
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


class OutputFormat(StrEnum):
    """How images are written: one file each, or shards."""

    folder = "folder"
    webdataset = "webdataset"
    parquet = "parquet"


TreeFormatOpt = Annotated[
    TreeFormat | None,
    Opt(
        "--format",
        "-f",
        help="Output format [default: a tree on a terminal, indented text when piped].",
        show_default=False,
        case_sensitive=False,
    ),
]
DocumentFormatOpt = Annotated[
    DocumentFormat | None,
    Opt(
        "--format",
        "-f",
        help="Output format: the text (table), or JSON [default: table].",
        show_default=False,
        case_sensitive=False,
    ),
]
NoHeaderOpt = Annotated[
    bool, Opt("--no-header", help="Leave out the header line (tsv, csv, table).")
]
OutputOpt = Annotated[
    Path | None,
    Opt(
        "--output",
        "-o",
        help="Write to this file instead of stdout ('-': stdout).",
        metavar="FILE",
        show_default=False,
    ),
]
WorkersOpt = Annotated[
    int, Opt("--workers", "-j", help="Worker processes (0: one per core).", min_of="workers")
]
LimitOpt = Annotated[int | None, Opt("--limit", help="At most this many results.", min=1)]
SeedOpt = Annotated[int, Opt("--seed", help="Seed for every random choice.")]
DryRunOpt = Annotated[bool, Opt("--dry-run", help="Show what would be done; change nothing.")]
QuietOpt = Annotated[bool, Opt("--quiet", "-q", help="Only errors on stderr.")]
VerboseOpt = Annotated[bool, Opt("--verbose", "-v", help="More detail on stderr.")]
OfflineOpt = Annotated[bool, Opt("--offline", help="Use only what is in the cache; no network.")]
ReleaseOpt = Annotated[
    str | None,
    Opt(
        "--release",
        "-r",
        help="Only classes of this release (see 'imagenet synset releases').",
        show_default=False,
    ),
]
BaseUrlOpt = Annotated[
    str | None,
    Opt(
        "--base-url",
        help="ImageNet site or mirror [env IMAGENET_BASE_URL, config base_url].",
        metavar="URL",
        show_default=False,
    ),
]
RecursiveReleaseOpt = Annotated[
    str | None,
    Opt(
        "--release",
        "-r",
        help="With --recursive: only classes of this release.",
        show_default=False,
    ),
]

# Where images go: a folder tree or shards (subset extract, fetch).
_SHARDS = "Shards"
OutputFormatOpt = Annotated[
    OutputFormat,
    Opt(
        "--output-format",
        help="folder (one file per image), webdataset (tar shards + a wids shard list) "
        "or parquet (the Hugging Face hub's layout).",
        case_sensitive=False,
        rich_help_panel=_SHARDS,
    ),
]
ShardSizeOpt = Annotated[
    str | None,
    Opt(
        "--shard-size",
        metavar="SIZE",
        help="Bytes a shard holds at most: bytes, or 500M, 1G, 64MiB ... [default: 1G].",
        show_default=False,
        rich_help_panel=_SHARDS,
    ),
]
SamplesPerShardOpt = Annotated[
    int | None,
    Opt(
        "--samples-per-shard",
        help="Images per shard (instead of --shard-size).",
        min=1,
        show_default=False,
        rich_help_panel=_SHARDS,
    ),
]
ShardPrefixOpt = Annotated[
    str | None,
    Opt(
        "--prefix",
        help="WebDataset shard names: <split>/PREFIX-<split>-000000.tar [default: imagenet].",
        show_default=False,
        rich_help_panel=_SHARDS,
    ),
]

# Accepting the terms of access, wherever a command needs them accepted.
AcceptTermsOpt = Annotated[
    bool,
    Opt(
        "--accept-terms",
        help="Accept ImageNet's terms of access in this run "
        "(with --name, --email, --organization).",
    ),
]
NameOpt = Annotated[
    str | None,
    Opt("--name", help="Your full name, for the acceptance record.", show_default=False),
]
EmailOpt = Annotated[
    str | None,
    Opt("--email", help="Your email address, for the acceptance record.", show_default=False),
]
OrgOpt = Annotated[
    str | None,
    Opt(
        "--organization",
        "--organisation",
        help="Your university or organisation.",
        metavar="ORG",
        show_default=False,
    ),
]

# The commands that can run on a Dask cluster.
SchedulerOpt = Annotated[
    str | None,
    Opt(
        "--scheduler",
        help="Run the work on a Dask cluster: tcp://HOST:8786, or local / local:N for N "
        "worker processes on this machine (env IMAGENET_SCHEDULER; needs Dask: "
        "pip install 'dask[distributed]').",
        metavar="ADDRESS",
        show_default=False,
        rich_help_panel="Cluster",
    ),
]


def batch_size_opt(default: str) -> Opt:
    """``--batch-size`` with the engine's own default shown in the help."""
    return Opt(
        "--batch-size",
        help=f"Items per task sent to a worker [default: {default}].",
        min=1,
        show_default=False,
        rich_help_panel="Cluster",
    )
