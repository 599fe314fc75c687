"""Options of the commands that can run on a Dask cluster, declared once."""

from __future__ import annotations

from typing import Annotated

import typer

SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="Run the work on a Dask cluster: tcp://HOST:8786, or local / local:N for N "
        "worker processes on this machine (env IMAGENET_SCHEDULER; needs Dask: "
        "pip install 'dask[distributed]').",
        show_default=False,
        rich_help_panel="Cluster",
    ),
]


def batch_size_opt(default: str) -> object:
    """``--batch-size`` with the engine's own default shown in the help."""
    return typer.Option(
        "--batch-size",
        help=f"Items per task sent to a worker [default: {default}].",
        min=1,
        show_default=False,
        rich_help_panel="Cluster",
    )
