"""Image lists: the named images to extract (``--images FILE``, ``--preset simclr-1pct``).

A list holds one image a line: its name (``n01440764_10026.JPEG``) or a path ending in it
(only the name counts; the path is never opened). Blank lines and ``#`` comments are
skipped, a tab ends the name (so a tsv's first column works), and a line is read at most
64 KiB at a time. A train name (``<wnid>_<n>``) gives its class; a validation name
(``ILSVRC2012_val_<8 digits>``) gets it from the validation labels the source uses.
Names match a source's files by their stem (the name without its extension), so a
fetch folder's ``n01440764_10026.jpg`` is ``n01440764_10026.JPEG``.

Image presets ship as package data (``data/images/<name>.txt.gz``, described by
``data/images/index.tsv``), beside the class presets of :mod:`imagenet_cli.releases`.
"""

from __future__ import annotations

import gzip
import io
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import IO

from .. import releases
from ..errors import NotFoundError, UsageError
from ..ids import bounded_lines, clip, is_utf8, printable
from .sources import IMAGE_EXTENSIONS, LabelledFolder, LabelledTar, SourceFile, Split

IMAGES = releases.DATA / "images"
SHOWN = 5  # names a message lists one a line before it counts the rest
MAX_ERRORS = 1000  # lines that are no image name before a file is no list at all
TRAIN_NAME = re.compile(r"(n\d{8})_\d+")
VAL_NAME = re.compile(r"ILSVRC2012_val_\d{8}")

Ref = tuple[int, int, str]  # (list index, line number, the name as given)


@dataclass(frozen=True)
class ImageList:
    """A named image list shipped with the package."""

    name: str
    count: int  # images
    classes: int
    title: str
    source: str


@cache
def catalog() -> dict[str, ImageList]:
    """Every image list shipped with the package, by name, in index order."""
    lists: dict[str, ImageList] = {}
    lines = (IMAGES / "index.tsv").read_text(encoding="utf-8").splitlines()
    for line in lines[1:]:
        if line.strip():
            name, count, classes, title, source = line.split("\t")
            lists[name] = ImageList(name, int(count), int(classes), title, source)
    return lists


def canonical(name: str) -> str | None:
    """The catalog name of image list ``name`` (any case, ``_`` for ``-``), else None."""
    key = name.strip().lower().replace("_", "-")
    return key if key in catalog() else None


def is_image_list(name: str) -> bool:
    """Whether ``name`` names an image list (not a class list)."""
    return canonical(name) is not None


def names(preset: str) -> list[str]:
    """The image names of a shipped list, in its order."""
    key = canonical(preset)
    if key is None:
        raise NotFoundError(f"unknown image list {preset!r} (known: {', '.join(catalog())})")
    with gzip.open(IMAGES / f"{key}.txt.gz", "rt", encoding="ascii") as fh:
        return fh.read().split()


def preset_classes(name: str) -> list[str]:
    """The sorted classes of a preset: a class list's, or those of an image list's images.
    An unknown name is a :class:`NotFoundError` naming the presets of both kinds."""
    if is_image_list(name):
        return sorted({n.split("_", 1)[0] for n in names(name)})
    try:
        return releases.classes(name)
    except NotFoundError as exc:
        raise NotFoundError(f"{exc}; image lists: {', '.join(catalog())}") from None


@dataclass
class Listing:
    """The images named by one or more lists, by split; validation names wait for the
    labels that give their class (:meth:`resolve`)."""

    lists: list[str]  # how messages name each list: a file, <stdin> or a preset
    train: dict[str, dict[str, Ref]] = field(default_factory=dict)  # wnid -> stem -> ref
    val: dict[str, Ref] = field(default_factory=dict)  # stem -> ref
    duplicates: int = 0
    first_duplicate: str = ""
    # After resolve(): split -> wnid -> stem -> ref, and the validation names no label covers
    by_split: dict[str, dict[str, dict[str, Ref]]] = field(default_factory=dict)
    unlabelled: list[Ref] = field(default_factory=list)

    def where(self, ref: Ref) -> str:
        """``list.txt: line 4: n01440764_10026.JPEG``, as messages name one entry."""
        return f"{self.lists[ref[0]]}: line {ref[1]}: {ref[2]}"

    def default_split(self) -> str:
        """The split(s) the lists name images of: train, val or both."""
        if self.train and self.val:
            return "both"
        return "val" if self.val else "train"

    def resolve(self, val: Split | None, spec: str | None, devkit_synsets: str | None) -> None:
        """Give each validation name its class: from the labels of the source's ``val``
        split, else from ``spec`` (``--val-labels``) or the built-in ones."""
        self.by_split = {"train": self.train}
        if not self.val or val is None:
            return
        if isinstance(val, LabelledFolder | LabelledTar):
            labels = val.labels
        else:
            from . import labels as labels_mod  # here: train names need no labels

            labels = labels_mod.load(spec, devkit_synsets)
        by_class: dict[str, dict[str, Ref]] = {}
        for stem, ref in self.val.items():
            wnid = labels.get(stem)
            if wnid is None:
                self.unlabelled.append(ref)
            else:
                by_class.setdefault(wnid, {})[stem] = ref
        self.by_split["val"] = by_class

    def named(self, split: str) -> bool:
        """Whether the lists name images of ``split``."""
        return bool(self.val if split == "val" else self.train)

    def check_splits(self, taken: Iterable[str]) -> None:
        """A :class:`UsageError` when the run takes no split the lists name images of."""
        taken = list(taken)
        if not any(self.named(s) for s in taken):
            named = " and ".join(s for s in ("train", "val") if self.named(s))
            raise UsageError(
                f"{', '.join(self.lists)}: names {named} images; this run takes the "
                f"{' and '.join(taken)} split (--split)"
            )

    def classes(self, splits: Iterable[str]) -> set[str]:
        """The classes of the named images of ``splits`` (a split the lists name no
        image of restricts nothing)."""
        found: set[str] = set()
        for split in splits:
            found.update(self.by_split.get(split, {}))
        return found

    def restrict(self, splits: Mapping[str, Split]) -> dict[str, Split]:
        """``splits``, each the lists name images of narrowed to those images."""
        return {
            name: Listed(split, self.by_split.get(name, {})) if self.named(name) else split
            for name, split in splits.items()
        }

    def unmatched(
        self, splits: Mapping[str, Split], chosen: Iterable[str]
    ) -> tuple[list[str], list[str]]:
        """After planning: the named images the source lacks (a line each, in list
        order), and warnings for those the run leaves out on purpose."""
        taken = set(chosen)
        missing: list[tuple[Ref, str]] = [(r, "has no validation label") for r in self.unlabelled]
        outside = 0
        notes = []
        for split in ("train", "val"):
            if split not in splits:
                count = sum(map(len, self.train.values())) if split == "train" else len(self.val)
                if count:
                    notes.append(
                        f"{count:,} listed {split} image(s) not taken: this run takes the "
                        f"{' and '.join(splits)} split (--split both takes both)"
                    )
                continue
            by_class = self.by_split.get(split, {})
            source = splits[split]
            found = source.found if isinstance(source, Listed) else {}
            held = source.classes()
            for wnid, stems in by_class.items():
                if wnid in taken:
                    seen = found.get(wnid, set())
                    missing.extend(
                        (ref, f"not in the {split} split of the source")
                        for stem, ref in stems.items()
                        if stem not in seen
                    )
                elif wnid in held:
                    outside += len(stems)
                else:
                    missing.extend(
                        (ref, f"not in the {split} split of the source (nor is its class)")
                        for ref in stems.values()
                    )
        if outside:
            notes.append(
                f"{outside:,} listed image(s) of classes not taken (outside the class options, "
                "or not in every split taken); left out"
            )
        missing.sort(key=lambda item: item[0][:2])
        return [f"{self.where(ref)}: {why}" for ref, why in missing], notes

    def check(
        self,
        splits: Mapping[str, Split],
        chosen: Iterable[str],
        *,
        where: str,
        allow_missing: bool,
        problems: Sequence[str] = (),
    ) -> list[str]:
        """The warnings about the named images; a :class:`NotFoundError` (after
        ``problems``, which may explain it) for those the source lacks, unless
        ``allow_missing``."""
        missing, notes = self.unmatched(splits, chosen)
        if self.duplicates:
            notes.append(
                f"{self.duplicates:,} image(s) listed more than once (e.g. "
                f"{self.first_duplicate}); each is taken once"
            )
        if not missing:
            return notes
        shown = missing[:SHOWN]
        more = f" ({len(missing) - SHOWN:,} not shown)" if len(missing) > SHOWN else ""
        found = any(
            stems
            for split in splits.values()
            if isinstance(split, Listed)
            for stems in split.found.values()
        )
        if not found:
            last = f"none of the {len(missing):,} listed image(s) is in {where}{more}"
            raise NotFoundError("\n".join([*problems, *shown, last]))
        if not allow_missing:
            last = (
                f"{where} lacks {len(missing):,} listed image(s){more} (--allow-missing skips them)"
            )
            raise NotFoundError("\n".join([*problems, *shown, last]))
        return [*notes, *shown, f"{len(missing):,} listed image(s) not in {where}{more}; skipped"]


class Listed(Split):
    """A split narrowed to the named images of each class; it records which it found."""

    def __init__(self, inner: Split, wanted: Mapping[str, Mapping[str, Ref]]) -> None:
        super().__init__()
        self.inner = inner
        self.wanted = wanted
        self.on_disk = inner.on_disk
        self.problems = inner.problems  # one list: what listing finds is reported once
        self.found: dict[str, set[str]] = {}

    def classes(self) -> set[str]:
        return self.inner.classes()

    def files(self, wnid: str) -> list[SourceFile]:
        wanted = self.wanted.get(wnid, {})
        kept = [f for f in self.inner.files(wnid) if stem_of(f.name) in wanted]
        self.found.setdefault(wnid, set()).update(stem_of(f.name) for f in kept)
        return kept


def stem_of(name: str) -> str:
    """A file name without its folder and extension."""
    base = name.rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[0] if "." in base else base


def read(files: Sequence[str], presets: Sequence[str]) -> Listing | None:
    """The images named by the files (``-``: stdin) and the image presets among
    ``presets``; None when none is given. A :class:`UsageError` names each line that
    is not an image name (a few, then a count)."""
    image_presets = [p for p in presets if is_image_list(p)]
    if not files and not image_presets:
        return None
    listing = Listing([])
    errors: list[str] = []
    for preset in image_presets:
        key = canonical(preset) or preset
        listing.lists.append(key)
        _add(listing, enumerate(names(key), 1), errors)
    for path in files:
        listing.lists.append("<stdin>" if path == "-" else path)
        with _opened(path) as stream:
            _add(listing, _lines(stream, listing.lists[-1], errors), errors)
    _raise(errors)
    if not listing.train and not listing.val:
        raise UsageError(f"{', '.join(listing.lists)}: no image name in the list")
    return listing


def read_entries(path: str) -> list[tuple[int, str]]:
    """``(line number, entry)`` of each image a list file (``-``: stdin) names, as given
    (a name or a path; it may hold spaces); a :class:`UsageError` names each line that
    cannot be one."""
    errors: list[str] = []
    with _opened(path) as stream:
        found = list(_lines(stream, "<stdin>" if path == "-" else path, errors))
    _raise(errors)
    return found


def _raise(errors: list[str]) -> None:
    if errors:
        more = (
            f"\n{len(errors) - SHOWN:,} more line(s) are not image names"
            if len(errors) > SHOWN
            else ""
        )
        raise UsageError("\n".join(errors[:SHOWN]) + more)


def _add(listing: Listing, lines: Iterable[tuple[int, str]], errors: list[str]) -> None:
    """Add each ``(line number, entry)`` of the last list to ``listing``."""
    index = len(listing.lists) - 1
    for number, entry in lines:
        name = entry.replace("\\", "/").rsplit("/", 1)[-1]
        stem, dot, ext = name.rpartition(".")
        if not dot:
            stem, ext = name, ""
        where = f"{listing.lists[index]}: line {number}: "
        if ext and f".{ext.lower()}" not in IMAGE_EXTENSIONS:
            errors.append(f"{where}{clip(printable(entry))}: not an image name")
            continue
        ref = (index, number, name)
        if match := TRAIN_NAME.fullmatch(stem):
            by_stem = listing.train.setdefault(match.group(1), {})
        elif VAL_NAME.fullmatch(stem):
            by_stem = listing.val
        else:
            errors.append(
                f"{where}{clip(printable(entry))}: not an ImageNet image name, so no class "
                "(<wnid>_<n>.JPEG or ILSVRC2012_val_<8 digits>.JPEG)"
            )
            continue
        if stem in by_stem:
            listing.duplicates += 1
            listing.first_duplicate = listing.first_duplicate or f"{where}{name}"
        else:
            by_stem[stem] = ref


def _lines(stream: IO[str], name: str, errors: list[str]) -> Iterable[tuple[int, str]]:
    """``(line number, entry)`` of each line of ``stream`` that names an image."""
    for number, (head, total) in enumerate(bounded_lines(stream), 1):
        text = head.rstrip("\r\n").lstrip("\ufeff")
        if text.lstrip().startswith("#"):
            continue
        text = re.split(r"\s#", text, maxsplit=1)[0]  # a trailing comment
        entry = text.split("\t", 1)[0].strip()
        if not entry:
            continue
        if total > len(head) and head.endswith(entry):
            errors.append(
                f"{name}: line {number}: {clip(entry, total)}: far longer than any image path"
            )
        elif not is_utf8(entry):
            errors.append(f"{name}: line {number}: {clip(printable(entry))}: not valid UTF-8")
        else:
            yield number, entry
        if len(errors) >= MAX_ERRORS:  # not a list at all (an archive?): stop reading it
            raise UsageError(
                "\n".join(
                    [
                        *errors[:SHOWN],
                        f"{name}: {MAX_ERRORS:,} lines are no image "
                        "name; not a list of image names",
                    ]
                )
            )


@contextmanager
def _opened(path: str) -> Iterator[IO[str]]:
    """A list file (``-``: stdin) as text; bytes that are not UTF-8 kept as surrogates,
    so the line holding them can be named."""
    if path != "-":
        try:
            with Path(path).open(encoding="utf-8", errors="surrogateescape") as fh:
                yield fh
        except FileNotFoundError:
            raise NotFoundError(f"{path}: no such file") from None
        except OSError as exc:  # a folder, no permission, a read that fails part way
            raise NotFoundError(f"{path}: cannot read ({exc.strerror or exc})") from None
        return
    if sys.stdin is None:
        raise UsageError("-: stdin is closed: there are no image names to read from it")
    raw = getattr(sys.stdin, "buffer", None)
    if raw is None:  # a text stream with no bytes beneath (embedding, tests)
        yield sys.stdin
        return
    stream = io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape")
    try:
        yield stream
    finally:
        stream.detach()  # stdin itself stays open
