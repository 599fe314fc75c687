"""``imagenet subset extract`` as asked: :class:`ExtractRequest`, with fields named as
the command's options, checked and turned into the engine's
:class:`~.extract.Request` (stdin read, the scheduler resolved: option, else
``IMAGENET_SCHEDULER``, else the config file) by :meth:`ExtractRequest.request`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..shards import ShardOptions
    from .extract import Request


@dataclass(frozen=True)
class ExtractRequest:
    """Everything ``imagenet subset extract`` was asked to do, as given."""

    sources: Sequence[str] | None = None
    dst: str | None = None
    layout: str | None = None
    val_labels: str | None = None
    devkit_synsets: str | None = None
    wnid: Sequence[str] | None = None  # '-' reads stdin
    wnids: Sequence[str] | None = None  # files of ids
    preset: Sequence[str] | None = None
    images: Sequence[str] | None = None  # files of image names
    under: Sequence[str] | None = None
    classes: int | None = None
    release: str | None = None
    allow_missing: bool = False
    split: str | None = None
    per_class: int | None = None
    val_per_class: int | None = None
    seed: int = 0
    resize: int | None = None
    resize_mode: str = "shorter"
    quality: int = 90
    mode: str = "copy"
    output_format: str = "folder"
    shard_size: str | None = None  # 1G, 500M, or bytes
    samples_per_shard: int | None = None
    prefix: str | None = None
    bbox: str | None = None
    workers: int = 0
    scheduler: str | None = None
    batch_size: int | None = None
    dry_run: bool = False

    def request(self) -> Request:
        """The engine's request; UsageError for what is missing or malformed."""
        from ..drivers import resolve_scheduler
        from ..errors import UsageError
        from ..ids import expand_stdin, stdin_once
        from .extract import Request
        from .plan import Options
        from .selection import Selection

        output = self.output()
        if not self.sources:
            raise UsageError("--from SRC is required")
        if not self.dst:
            raise UsageError("--to DST is required")
        stdin_once(
            {
                "--wnid": self.wnid,
                "--wnids": self.wnids,
                "--under": self.under,
                "--images": self.images,
            }
        )
        return Request(
            sources=tuple(self.sources),
            dst=self.dst,
            selection=Selection(
                wnids=tuple(expand_stdin(self.wnid or ())),
                wnid_files=tuple(self.wnids or ()),
                presets=tuple(self.preset or ()),
                images=tuple(self.images or ()),
                under=tuple(expand_stdin(self.under or ())),
                classes=self.classes,
                release=self.release,
                seed=self.seed,
                allow_missing=self.allow_missing,
            ),
            layout=self.layout,
            split=self.split,
            per_class=self.per_class,
            val_per_class=self.val_per_class,
            options=Options(
                mode=self.mode,
                resize=self.resize,
                resize_mode=self.resize_mode,
                quality=self.quality,
            ),
            output=output,
            bbox=self.bbox,
            val_labels=self.val_labels,
            devkit_synsets=self.devkit_synsets,
            workers=self.workers,
            scheduler=None if self.dry_run else resolve_scheduler(self.scheduler),
            batch_size=self.batch_size,
            dry_run=self.dry_run,
        )

    def output(self) -> ShardOptions:
        """How the images are written: a folder, or shards (UsageError for shard options
        without a sharded format)."""
        from ..shards import shard_options

        return shard_options(
            str(self.output_format), self.shard_size, self.samples_per_shard, self.prefix
        )
