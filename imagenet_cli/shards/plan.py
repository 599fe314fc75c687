"""The shard plan: where each shard ends, decided before anything is written.

A shard's samples depend only on their order and their sizes as planned (never on
what a worker happens to finish first), so the same plan gives the same shards on
one core or on a cluster, and a rerun knows which samples each shard holds.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from typing import TypeVar

from . import ShardOptions

T = TypeVar("T")

BLOCK = 512
# A sample in a tar: three headers (.cls, the image, .json), the image padded to a
# block, and one block each for the class and the metadata.
SAMPLE_OVERHEAD = 5 * BLOCK


def tar_bytes(image_bytes: int) -> int:
    """The bytes a sample with an image of ``image_bytes`` takes in a WebDataset tar."""
    return -(-image_bytes // BLOCK) * BLOCK + SAMPLE_OVERHEAD


def cut(sizes: Sequence[int], options: ShardOptions) -> list[range]:
    """The shards of samples of these (estimated) ``sizes``, in order: each ``range``
    the positions of one shard's samples. A shard ends before the sample that would
    take it past ``options.shard_size`` (a larger sample gets a shard of its own),
    or after ``options.samples_per_shard`` samples when that is given."""
    shards: list[range] = []
    start, held = 0, 0
    count = options.samples_per_shard
    for i, size in enumerate(sizes):
        weight = tar_bytes(size)
        full = i - start >= count if count else held + weight > options.shard_size
        if i > start and full:
            shards.append(range(start, i))
            start, held = i, 0
        held += weight
    if start < len(sizes):
        shards.append(range(start, len(sizes)))
    return shards


def shard_name(options: ShardOptions, split: str, number: int, total: int) -> str:
    """A shard's path under the target folder, ``/``-separated:
    ``<split>/<prefix>-<split>-000000.tar`` or ``data/<split>-00000-of-00004.parquet``
    (the Hugging Face hub's layout, which ``datasets`` reads splits from)."""
    if options.format == "parquet":
        return f"data/{split}-{number:05d}-of-{total:05d}.parquet"
    return f"{split}/{options.prefix}-{split}-{number:06d}.tar"


def shuffled(items: Sequence[T], split: str, seed: int) -> list[T]:
    """``items`` in a shuffled order that depends on ``seed`` and ``split`` only: any
    shard a fair mix of the classes."""
    out = list(items)
    random.Random(f"{seed}:shards:{split}").shuffle(out)
    return out


def key_and_ext(name: str) -> tuple[str, str]:
    """A sample's key (the file name without extension, dots made ``_``: WebDataset
    splits a file name at its first dot) and extension (lower case; ``jpeg`` is ``jpg``)."""
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, "jpg"
    ext = ext.lower()
    return stem.replace(".", "_"), "jpg" if ext == "jpeg" else ext


def unique_keys(named: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The key and extension of each ``(wnid, file name)``; a key found twice (the same
    name in two classes; not so in ImageNet) gets its wnid in front."""
    keyed = [key_and_ext(name) for _, name in named]
    seen = Counter(key for key, _ in keyed)
    return [
        (key if seen[key] == 1 else f"{wnid}_{key}", ext)
        for (wnid, _), (key, ext) in zip(named, keyed, strict=True)
    ]
