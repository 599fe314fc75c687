"""The target folder's guards and bookkeeping.

One run at a time (a lock), the settings its images were written with, warnings for
what is there but not part of this subset, the previous run's manifest (to skip what
is written), the jobs with their places under it (annotations too) and the
``manifest.csv`` writer (``classes.tsv``: :mod:`..shards.classes`).
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..cache import LockBusy, file_lock, remove_stale_temp, temp_name
from ..errors import UsageError, storage_error
from ..ids import is_wnid, printable
from .items import MAX_BBOX_XML, ItemResult, Job, write_atomic
from .plan import SPLITS, Options, Plan, WorkItem
from .sources import Split

SETTINGS_FILE = ".imagenet-subset.json"
LOCK_FILE = ".imagenet-subset.lock"
MANIFEST_COLUMNS = ("split", "wnid", "source", "path", "bytes", "width", "height")
SHARD_COLUMNS = (*MANIFEST_COLUMNS, "shard")  # path: the image's name in its shard


@contextlib.contextmanager
def writing(dst: Path) -> Iterator[None]:
    """Hold ``dst`` for this run: a second run into it at once is refused, so two runs
    never mix their images or race past each other's settings check."""
    with contextlib.ExitStack() as held:
        try:
            held.enter_context(file_lock(dst / LOCK_FILE, timeout=2))
        except LockBusy:
            raise UsageError(
                f"--to {dst}: another 'imagenet subset extract' is writing into this folder"
            ) from None
        except OSError as exc:  # taking the lock, not the run's own errors
            raise UsageError(f"--to {dst}: cannot write there ({exc.strerror or exc})") from None
        yield


def guard_settings(dst: Path, opts: Options, more: dict[str, object] | None = None) -> None:
    """Refuse to mix images written with other settings in one folder (``more``: the
    settings of a sharded output, kept beside the images' own)."""
    path = dst / SETTINGS_FILE
    wanted = opts.settings() | (more or {})
    try:
        previous = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        previous = None
    except ValueError:
        raise UsageError(
            f"{path} is damaged, so the settings {dst} was written with are unknown; "
            f"use a new folder or remove {path}"
        ) from None
    if previous is not None and _decisive(previous) != _decisive(wanted):
        was = ", ".join(f"{k}={v}" for k, v in sorted(previous.items()))
        raise UsageError(
            f"{dst} was written with other settings ({was}); use a new folder or remove {path}"
        )
    if previous is None:
        dst.mkdir(parents=True, exist_ok=True)
        write_atomic(str(path), (json.dumps(wanted, sort_keys=True) + "\n").encode())


def _decisive(settings: dict[str, object]) -> dict[str, object]:
    """The settings that decide the bytes: without a resize, quality and resize mode
    change nothing."""
    if settings.get("resize") is None:
        return {k: v for k, v in settings.items() if k not in ("resize_mode", "quality")}
    return settings


def stray_classes(dst: Path, splits: dict[str, Split], wnids: list[str]) -> list[str]:
    keep = set(wnids)
    notes = []
    for split in splits:
        folder = dst / split
        if folder.is_dir():
            extra = sorted(n for n in os.listdir(folder) if is_wnid(n) and n not in keep)
            if extra:
                notes.append(
                    f"{folder} also holds {len(extra)} class folder(s) not in this subset "
                    f"(e.g. {extra[0]}); they are left as they are"
                )
    return notes


def stray_images(dst: Path, plan: Plan, fresh: set[tuple[str, str]]) -> list[str]:
    """A warning for images in this run's class folders that it does not write (an
    earlier run with another sample?): loaders would train on them too. Temporary
    files a killed run left on this machine are removed on the way."""
    planned: dict[tuple[str, str], set[str]] = {
        (c.split, c.wnid): set() for c in plan.classes if (c.split, c.wnid) not in fresh
    }
    if not planned:  # a first run: every class folder is new
        return []
    for item in plan.items:
        names = planned.get((item.split, item.wnid))
        if names is not None:
            names.add(item.rel.rsplit("/", 1)[1])
    stray, example = 0, ""
    for (split, wnid), names in planned.items():
        folder = dst / split / wnid
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                remove_stale_temp(entry.path)
            elif entry.name not in names:
                stray += 1
                example = example or entry.path
    if not stray:
        return []
    return [
        f"{stray:,} file(s) in the class folders of {dst} are not part of this subset "
        f"(e.g. {printable(example)}; an earlier run's sample?); they are left as they are"
    ]


def previous_manifest(dst: Path) -> dict[str, tuple[int, int, int]]:
    known: dict[str, tuple[int, int, int]] = {}
    try:
        with open(dst / "manifest.csv", encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                try:
                    known[row["path"]] = (int(row["bytes"]), int(row["width"]), int(row["height"]))
                except (KeyError, TypeError, ValueError):
                    continue
    except (FileNotFoundError, csv.Error, UnicodeDecodeError):
        pass
    return known


def make_jobs(
    items: Iterable[WorkItem],
    dst: Path,
    opts: Options,
    known: dict[str, tuple[int, int, int]],
    bbox: str | None,
    fresh: set[tuple[str, str]],
) -> list[Job]:
    root = str(dst.resolve())
    folder = bool(bbox) and os.path.isdir(str(bbox))
    bases = bbox_bases(Path(str(bbox))) if folder else {}
    jobs = []
    for item in items:
        candidates: tuple[str, ...] = ()
        bbox_dest = ""
        if bbox:
            stem = item.src.name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
            bbox_dest = f"{root}/bbox/{item.split}/{item.wnid}/{stem}.xml"
            if folder:
                base = bases[item.split]
                candidates = (f"{base}/{item.wnid}/{stem}.xml", f"{base}/{stem}.xml")
            else:  # unpacked from the archive before the images, or not there
                candidates = (bbox_dest,)
        new = (item.split, item.wnid) in fresh
        jobs.append(
            Job(item, f"{root}/{item.rel}", opts, known.get(item.rel), candidates, bbox_dest, new)
        )
    return jobs


def unpack_annotations(archive: str, jobs: list[Job]) -> list[str]:
    """Write the annotations of ``jobs`` found in a tar archive (``.tar``, ``.tar.gz``,
    nested per-class archives too) to their places under the target folder, matched
    by image name; the archive's problems (refused members, damage) come back."""
    from ..bbox.inputs import archive_items

    wanted = {j.bbox_dest.rsplit("/", 1)[1][: -len(".xml")]: j.bbox_dest for j in jobs}
    if not wanted:
        return []

    def stem(name: str) -> str:
        return name.rsplit("/", 1)[-1][: -len(".xml")]

    problems = []
    try:
        with open(archive, "rb") as fh:
            for item in archive_items(fh, archive, MAX_BBOX_XML, lambda n: stem(n) in wanted):
                if item.data is None:
                    problems.append(f"{item.source}: {item.problem}")
                    continue
                dest = wanted[stem(item.source.rsplit("!", 1)[-1])]
                if not os.path.exists(dest):
                    os.makedirs(os.path.dirname(dest), exist_ok=True)
                    write_atomic(dest, item.data)
    except OSError as exc:
        problems.append(f"{archive}: cannot read: {exc.strerror or exc}")
    return problems


def bbox_bases(root: Path) -> dict[str, str]:
    """Per split, the folder holding its annotations (official, Kaggle or split folders)."""
    bases = {}
    for split in SPLITS:
        for candidate in (
            root / "ILSVRC" / "Annotations" / "CLS-LOC" / split,
            root / "Annotations" / "CLS-LOC" / split,
            root / split,
            root / "Annotation",  # ImageNet's own bbox archives unpack to Annotation/<wnid>/
            root,
        ):
            if candidate.is_dir():
                bases[split] = str(candidate.resolve())
                break
    return bases


class ManifestWriter:
    """``manifest.csv`` written row by row to a temporary file, renamed on success."""

    def __init__(self, path: Path, *, shards: bool = False) -> None:
        self.path = path
        self.tmp = Path(temp_name(str(path)))
        self.shards = shards

    def __enter__(self) -> ManifestWriter:
        try:
            self.fh = open(self.tmp, "w", encoding="utf-8", newline="")
        except OSError as exc:
            where = self.path.parent
            raise UsageError(f"--to {where}: cannot write there ({exc.strerror or exc})") from None
        self.writer = csv.writer(self.fh, lineterminator="\n")
        self.writer.writerow(SHARD_COLUMNS if self.shards else MANIFEST_COLUMNS)
        return self

    def add(self, r: ItemResult) -> None:
        row = (r.split, r.wnid, r.source, r.path, r.bytes, r.width, r.height)
        try:
            self.writer.writerow((*row, r.shard) if self.shards else row)
        except OSError as exc:
            raise storage_error(self.path, exc) from None

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        try:
            self.fh.close()
            if kind is None:
                os.replace(self.tmp, self.path)
                return
        except OSError as err:
            self.tmp.unlink(missing_ok=True)
            if kind is None:  # else the run's own error says more
                raise storage_error(self.path, err) from None
        self.tmp.unlink(missing_ok=True)
