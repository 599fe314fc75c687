"""Shards: many samples in a few large files, as training at scale reads them.

Owns: the settings of a sharded output (:class:`ShardOptions`, sizes such as ``1G``
read by :func:`parse_size`), the plan that cuts an ordered list of samples into
shards before any is written (:mod:`.plan`), and the writers (:mod:`.writers`): a
WebDataset tar and a Hugging Face Parquet file, each written under a temporary name
and renamed whole, byte for byte the same for the same samples, plus the ``wids``
shard list. A writer takes :class:`Sample` records (key, image bytes, extension,
class index, metadata); whoever makes the samples (``subset``, ``fetch``) decides
their order, with the helpers of :mod:`.plan` (the seeded shuffle, the keys). The
journal that makes a run resumable per shard, and the target folder's housekeeping,
are :mod:`.journal`; ``classes.tsv`` is :mod:`.classes`.

May import: the ground floor (``errors``, ``cache``, ``ids``) and ``hierarchy`` (the
class names); never a domain package nor ``cli``. pyarrow is imported only by the
Parquet writer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import UsageError
from ..extras import require

FORMATS = ("folder", "webdataset", "parquet")
DEFAULT_SHARD_SIZE = 10**9  # 1 GB
DEFAULT_PREFIX = "imagenet"

_UNITS = {"": 1, "k": 1000, "m": 1000**2, "g": 1000**3, "t": 1000**4}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)(b?)\s*$", re.IGNORECASE)


@dataclass(slots=True)  # not frozen: built once per image of a run of millions
class Sample:
    """One sample of a shard: an image, its class index and its metadata."""

    key: str  # unique in its split, no dot (WebDataset splits a name at its first dot)
    data: bytes
    ext: str  # the image's extension, lower case, no dot: "jpg", "png"
    label: int  # the class index (classes.tsv)
    meta: dict[str, Any] = field(default_factory=dict)  # the sample's .json (WebDataset)


@dataclass(frozen=True)
class ShardOptions:
    """How samples are written: ``folder`` (one file each, not sharded), ``webdataset``
    or ``parquet``, and where a shard ends."""

    format: str = "folder"
    shard_size: int = DEFAULT_SHARD_SIZE  # bytes a shard holds at most (one sample more: never)
    samples_per_shard: int | None = None  # else this many samples a shard
    prefix: str = DEFAULT_PREFIX

    @property
    def sharded(self) -> bool:
        return self.format != "folder"

    def settings(self) -> dict[str, object]:
        """What decides the shards' bytes besides the images (kept to guard reruns)."""
        return {
            "output_format": self.format,
            "shard_size": None if self.samples_per_shard else self.shard_size,
            "samples_per_shard": self.samples_per_shard,
            "prefix": self.prefix if self.format == "webdataset" else None,
        }

    def check(self) -> None:
        """UsageError for a format, count or prefix that cannot be written."""
        if self.format not in FORMATS:
            raise UsageError(f"--output-format {self.format}: choose from {', '.join(FORMATS)}")
        if self.shard_size < 1:
            raise UsageError("--shard-size takes a positive size, such as 500M or 1G")
        if self.samples_per_shard is not None and self.samples_per_shard < 1:
            raise UsageError("--samples-per-shard takes a positive count")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", self.prefix):
            raise UsageError(
                f"--prefix {self.prefix!r}: letters, digits, '-' and '_' only "
                "(no dot: a shard's name would mislead loaders)"
            )


def shard_options(
    output_format: str,
    shard_size: str | None,
    samples_per_shard: int | None,
    prefix: str | None,
) -> ShardOptions:
    """The options as a command was given them (``shard_size`` as written: ``1G``, bytes);
    UsageError for shard options without a sharded format, or both sizes."""
    given = [
        name
        for name, value in (
            ("--shard-size", shard_size),
            ("--samples-per-shard", samples_per_shard),
            ("--prefix", prefix),
        )
        if value is not None
    ]
    if output_format == "folder" and given:
        raise UsageError(f"{given[0]} goes with --output-format webdataset or parquet")
    if shard_size is not None and samples_per_shard is not None:
        raise UsageError("give --shard-size or --samples-per-shard, not both")
    options = ShardOptions(str(output_format), prefix=prefix or DEFAULT_PREFIX)
    if shard_size is not None:
        options = replace(options, shard_size=parse_size(shard_size))
    if samples_per_shard is not None:
        options = replace(options, samples_per_shard=samples_per_shard)
    return options


def parse_size(text: str) -> int:
    """Bytes from ``1000000``, ``500M``, ``1G``, ``1.5GB`` or ``64MiB`` (K, M, G, T: powers
    of 1000; KiB, MiB, ...: of 1024); UsageError for anything else."""
    found = _SIZE.match(text)
    if found is None or (found.group(3) and not found.group(2)):
        raise UsageError(f"--shard-size {text}: give bytes, or a size such as 500M, 1G, 64MiB")
    number, unit, binary = found.group(1), found.group(2).lower(), found.group(3)
    scale = 1024 ** "kmgt".index(unit) * 1024 if binary else _UNITS[unit]
    value = int(float(number) * scale)
    if value < 1:
        raise UsageError(f"--shard-size {text}: give a positive size")
    return value


def require_pyarrow() -> None:
    """UsageError (one line, exit 2) naming the extra to install when pyarrow is missing."""
    require("pyarrow.parquet", "--output-format parquet", "pyarrow", "parquet")
