"""Fetch's shards (``--output-format webdataset|parquet``): the images a run kept,
packed once its downloads are done.

The downloads go as for folders, each image a file and each URL a manifest row, but the
files are staging: ``OUT/.staging/<wnid>/<image_id>.<ext>``, with the manifest at
``OUT/manifest.jsonl``. When every URL is done (an interrupted run packs nothing), the
images kept (status ``ok``) of the run's list, in list order, are shuffled with the
seed, cut into shards of the split ``train`` by their sizes, and written one after
another on this machine (with ``--scheduler`` too: the workers download), each shard
recorded in the shard journal (:mod:`..shards.journal`) when whole. Then each kept
image's manifest row names its shard (``shard``; ``path`` becomes its name in the
shard) and its staged file is removed: the shards are the output, and a rerun counts an
image whose shard is journaled as done without its file (see :func:`.plan.plan`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import releases
from ..errors import ImagenetError, storage_error
from ..images import ImageOptions
from ..shards import Sample, ShardOptions, journal
from ..shards.classes import class_names, write_classes
from ..shards.plan import cut, shard_name, shuffled, unique_keys
from ..shards.writers import write_whole
from .item import safe_name
from .manifest import Manifest
from .sources import ImageRef

STAGING = ".staging"  # the downloads of a sharded run, under OUT
SPLIT = "train"  # fetch's images are training images: the shards' split
OPTION = "--out"


@dataclass
class Packed:
    """What packing did: the shards (and how many this run wrote), the images in them."""

    shards: int = 0
    written: int = 0
    images: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class _Member:
    """One kept image: its manifest row and its sample's key, extension and label."""

    row: dict[str, Any]
    key: str
    ext: str
    label: int

    @property
    def name(self) -> str:
        return f"{self.key}.{self.ext}"


def request_digest(refs: Sequence[ImageRef], shard: ShardOptions, seed: int,
                   image: ImageOptions) -> str:  # fmt: skip
    """What decides the shards before the downloads tell which images are kept: a rerun
    asked otherwise is refused before it downloads anything."""
    settings = shard.settings() | {
        "seed": seed,
        "resize": image.resize,
        "image_format": image.image_format,
        "min_side": image.min_side,
    }
    keys = dict.fromkeys(f"{r.wnid}\t{r.image_id}" for r in refs)
    return journal.digest(settings, [("refs", keys)])


def check(out: Path, request: str) -> frozenset[str]:
    """Refuse a run asked otherwise than the one whose shards ``out`` holds; the shards
    finished there (their images count as done)."""
    journal.check_request(out, request, OPTION)
    return frozenset(journal.finished_shards(out))


def pack(
    refs: Sequence[ImageRef],
    out: Path,
    manifest: Path,
    shard: ShardOptions,
    seed: int,
    request: str,
) -> Packed:
    """Write the shards of the images of ``refs`` kept (see the module doc); the ones an
    earlier run finished are kept. Raises StorageError when the disk fails."""
    book = Manifest(manifest)
    rows = book.load()
    kept = [
        row
        for key in dict.fromkeys((r.wnid, r.image_id) for r in refs)
        if (row := rows.get(key)) is not None and row.get("status") == "ok"
    ]
    ordered = shuffled(kept, SPLIT, seed)
    wnids = sorted({str(r["wnid"]) for r in kept})
    label = {w: i for i, w in enumerate(wnids)}
    named = [(str(r["wnid"]), f"{safe_name(str(r['image_id']))}.{_ext(r)}") for r in ordered]
    members = [
        _Member(row, key, ext, label[str(row["wnid"])])
        for row, (key, ext) in zip(ordered, unique_keys(named), strict=True)
    ]
    spans = cut([int(str(m.row["bytes"])) for m in members], shard)
    tasks = [(shard_name(shard, SPLIT, n, len(spans)), span) for n, span in enumerate(spans)]
    plan = journal.digest(
        shard.settings() | {"seed": seed},
        ((name, (_line(members[i]) for i in span)) for name, span in tasks),
    )
    done = Packed(len(tasks), images=len(members))
    root = str(out.resolve())
    paths = [f"{root}/{name}" for name, _ in tasks]
    record = journal.Journal(out, plan, OPTION, request)
    journal.sweep(out, paths)
    done.notes = journal.stray_shards(paths)
    names = class_names(wnids)
    stage = out / STAGING
    for (name, span), path in zip(tasks, paths, strict=True):
        if record.finished(name, path, len(span)) is not None:
            continue
        group = [members[i] for i in span]
        try:
            size = write_whole(path, shard, wnids, _samples(group, stage, names))
        except OSError as exc:
            raise storage_error(path, exc) from None
        rows_of = ([m.row["wnid"], m.row["image_id"], m.name] for m in group)
        record.record(name, size, rows_of)
        done.written += 1
    _finish(out, book, shard, tasks, members, wnids, names, refs)
    return done


def _finish(
    out: Path,
    book: Manifest,
    shard: ShardOptions,
    tasks: list[tuple[str, range]],
    members: list[_Member],
    wnids: list[str],
    names: dict[str, str],
    refs: Sequence[ImageRef],
) -> None:
    """Every shard is written: the shard list and ``classes.tsv``, then the manifest
    rows name their shards, then the staged files go."""
    try:
        if shard.format == "webdataset":
            journal.write_lists(out, ((SPLIT, n, len(span)) for n, span in tasks), shard.prefix)
        write_classes(out / "classes.tsv", wnids, names)
    except OSError as exc:
        raise storage_error(out, exc) from None
    changes: dict[tuple[str, str], dict[str, Any]] = {
        (r.wnid, r.image_id): {"shard": None} for r in refs
    }
    staged = []
    for name, span in tasks:
        for i in span:
            m = members[i]
            if not m.row.get("shard"):  # else packed by an earlier run: its file is gone
                staged.append(str(m.row["path"]))
            changes[(str(m.row["wnid"]), str(m.row["image_id"]))] = {
                "path": m.name,
                "shard": name,
            }
    book.update(changes)
    _unstage(out / STAGING, staged)


def _unstage(stage: Path, staged: list[str]) -> None:
    """Remove the staged files (and the folders they leave empty)."""
    folders = set()
    for rel in staged:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(stage / rel)
        folders.add(os.path.dirname(rel))
    with contextlib.suppress(FileNotFoundError):
        os.unlink(stage / ".fetch.lock")
    for folder in sorted(folders, reverse=True):
        with contextlib.suppress(OSError):  # not empty: images of another run's list
            os.rmdir(stage / folder)
    with contextlib.suppress(OSError):
        os.rmdir(stage)


def _samples(group: list[_Member], stage: Path, names: dict[str, str]) -> Iterator[Sample]:
    for m in group:
        row = m.row
        path = stage / str(row["path"])
        try:
            data = path.read_bytes()
        except OSError as exc:  # not the shard's disk: told apart from a write that fails
            raise ImagenetError(
                f"{path}: cannot read the downloaded image ({exc.strerror or exc}); "
                "run the same command again to fetch it"
            ) from None
        wnid = str(row["wnid"])
        meta = {
            "wnid": wnid,
            "ilsvrc2012_index": releases.ilsvrc_index(wnid),
            "name": names.get(wnid, ""),
            "url": row.get("url", ""),
            "width": _int(row.get("width")),
            "height": _int(row.get("height")),
        }
        yield Sample(m.key, data, m.ext, m.label, meta)


def _line(m: _Member) -> str:
    r = m.row
    return f"{m.name}\t{m.label}\t{r['wnid']}\t{r['image_id']}\t{r['bytes']}\t{r['sha256']}"


def _ext(row: dict[str, Any]) -> str:
    return str(row.get("path") or "").rpartition(".")[2] or "jpg"


def _int(value: object) -> int | None:
    text = str(value if value is not None else "")
    return int(text) if text.isdigit() else None
