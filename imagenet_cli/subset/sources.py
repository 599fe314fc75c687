"""Where images come from: the layouts of a local ImageNet copy, detected and scanned.

A :class:`Source` has one :class:`Split` per split it holds (``train``, ``val``);
a split lists its classes and, per class, its files sorted by name. Listing a
class touches only that class, so picking 10 classes of 1,000 stays cheap.

Layouts (``--layout``):

- ``imagefolder``: ``ROOT/<wnid>/*`` (the train folder), or ``ROOT/train/<wnid>/*``
  and ``ROOT/val/<wnid>/*`` (or a flat ``ROOT/val``);
- ``fetch``: a folder written by ``imagenet fetch`` (``<wnid>/<image_id>.<ext>`` and
  ``manifest.jsonl``);
- ``kaggle``: ``ILSVRC/Data/CLS-LOC/{train,val}`` with ``LOC_val_solution.csv``;
- ``train-tar``: ``ILSVRC2012_img_train.tar``, a tar of ``<wnid>.tar`` read in place;
- ``val-folder`` / ``val-tar``: the 50,000 flat validation images, labelled;
- ``webdataset`` / ``hf-parquet``: shards (timm's ``imagenet-1k-wds``, the hub's
  Parquet files of ``ILSVRC/imagenet-1k``, or shards ``subset extract`` wrote), read
  in place by :mod:`.shard_sources`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import NotFoundError, UsageError
from ..ids import is_utf8, is_wnid, printable

if TYPE_CHECKING:
    from .tars import ArchiveIndex

Progress = Callable[[int, int | None, str], None]

LAYOUTS = (
    "imagefolder",
    "fetch",
    "kaggle",
    "train-tar",
    "val-folder",
    "val-tar",
    "webdataset",
    "hf-parquet",
)
IMAGE_EXTENSIONS = (
    ".jpg",
    ".jpeg",
    ".png",
    ".ppm",
    ".bmp",
    ".pgm",
    ".tif",
    ".tiff",
    ".webp",
    ".gif",
)


@dataclass(slots=True)  # not frozen: see plan.WorkItem
class SourceFile:
    """One image of a source: a file on disk, ``size`` bytes at ``offset`` of a tar, or
    a row of a Parquet file."""

    name: str  # relative path inside its class folder in the output
    size: int  # of a Parquet row: estimated (the row group's average)
    path: str  # the file, or the tar (or Parquet file) holding it
    offset: int = -1  # >= 0: the bytes start here in the tar at ``path`` (or: the row group)
    member: str = ""  # the tar member (or "row N"), for messages and the manifest
    row: int = -1  # >= 0: the image is this row of row group ``offset`` of a Parquet file

    @property
    def label(self) -> str:
        """Where the image comes from, as the manifest and messages name it."""
        return f"{self.path}:{self.member}" if self.offset >= 0 else self.path


def is_image_name(name: str) -> bool:
    """Whether a file name (no folder) is an image's: an image extension, and not hidden
    (macOS's ``._x.JPEG`` beside ``x.JPEG`` holds metadata, not an image)."""
    return not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS)


def _not_utf8(path: str) -> str:
    return f"{printable(path)}: file name is not valid UTF-8; left out (rename it)"


class Split:
    """One split of a source: its classes and each class's files.

    ``problems`` collects what listing the files ran into (an unreadable class folder,
    a name that is not UTF-8): each is reported, and the rest of the split is used.
    """

    on_disk = True  # files are real files (hardlink/symlink possible)

    def __init__(self) -> None:
        self.problems: list[str] = []

    def classes(self) -> set[str]:
        raise NotImplementedError

    def files(self, wnid: str) -> list[SourceFile]:
        raise NotImplementedError


class ClassFolders(Split):
    """``ROOT/<wnid>/<file>``: one folder per class."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root

    def classes(self) -> set[str]:
        with os.scandir(self.root) as it:
            return {e.name for e in it if is_wnid(e.name) and e.is_dir()}

    def files(self, wnid: str) -> list[SourceFile]:
        folder = self.root / wnid
        found: list[SourceFile] = []
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            return []
        except OSError as exc:
            self.problems.append(f"{folder}: cannot read the folder ({exc.strerror or exc})")
            return []
        for entry in entries:
            name = entry.name
            if not is_image_name(name):
                continue
            if not is_utf8(name):
                self.problems.append(_not_utf8(entry.path))
                continue
            try:
                if entry.is_file():
                    found.append(SourceFile(name, entry.stat().st_size, entry.path))
            except OSError as exc:
                self.problems.append(f"{entry.path}: cannot read ({exc.strerror or exc})")
        found.sort(key=lambda f: f.name)
        return found


class LabelledFolder(Split):
    """A flat folder of validation images, each labelled by its file stem."""

    def __init__(self, root: Path, labels: dict[str, str]) -> None:
        super().__init__()
        self.root = root
        self.labels = labels  # stem -> wnid, which also gives a named image its class
        self.unlabelled = 0
        self._by_class: dict[str, list[SourceFile]] = {}
        with os.scandir(root) as it:
            for entry in it:
                name = entry.name
                if not is_image_name(name):
                    continue
                if not is_utf8(name):
                    self.problems.append(_not_utf8(entry.path))
                    continue
                wnid = labels.get(name.rsplit(".", 1)[0])
                if wnid is None:
                    self.unlabelled += 1
                    continue
                if entry.is_file():
                    self._by_class.setdefault(wnid, []).append(
                        SourceFile(name, entry.stat().st_size, entry.path)
                    )
        for files in self._by_class.values():
            files.sort(key=lambda f: f.name)

    def classes(self) -> set[str]:
        return set(self._by_class)

    def files(self, wnid: str) -> list[SourceFile]:
        return list(self._by_class.get(wnid, ()))


class TarOfTars(Split):
    """``ILSVRC2012_img_train.tar``: one ``<wnid>.tar`` per class, read in place."""

    on_disk = False

    def __init__(self, index: ArchiveIndex) -> None:
        super().__init__()
        self.index = index
        self._groups = index.groups()

    def classes(self) -> set[str]:
        return {g for g in self._groups if is_wnid(g)}

    def files(self, wnid: str) -> list[SourceFile]:
        # A class's images go flat into its folder, as ImageNet's own class tars hold
        # them, also when a repacked tar put them in a subfolder; other members (notes,
        # annotations) are passed over, as in a class folder.
        path = self.index.path
        found = []
        for m in self.index.members(wnid):
            base = m.name.rsplit("/", 1)[-1]
            if is_image_name(base):
                found.append(SourceFile(base, m.size, path, m.offset, f"{wnid}.tar/{m.name}"))
        return found


class LabelledTar(Split):
    """``ILSVRC2012_img_val.tar``: flat validation images in a tar, labelled by stem."""

    on_disk = False

    def __init__(self, index: ArchiveIndex, labels: dict[str, str]) -> None:
        super().__init__()
        self.index = index
        self.labels = labels  # stem -> wnid, which also gives a named image its class
        self.unlabelled = 0
        self._by_class: dict[str, list[SourceFile]] = {}
        for m in index.members(""):
            base = m.name.rsplit("/", 1)[-1]
            if not is_image_name(base):
                continue
            wnid = labels.get(base.rsplit(".", 1)[0])
            if wnid is None:
                self.unlabelled += 1
                continue
            self._by_class.setdefault(wnid, []).append(
                SourceFile(base, m.size, index.path, m.offset, m.name)
            )
        for files in self._by_class.values():
            files.sort(key=lambda f: f.name)

    def classes(self) -> set[str]:
        return set(self._by_class)

    def files(self, wnid: str) -> list[SourceFile]:
        return list(self._by_class.get(wnid, ()))


@dataclass
class Source:
    """A local ImageNet copy: its layout and its splits."""

    location: str
    layout: str
    splits: dict[str, Split]
    problems: list[str] = field(default_factory=list)  # refused members, unlabelled images
    notes: list[str] = field(default_factory=list)  # warnings: a class tar stored twice
    index_built: bool = False  # a tar index was built by this scan


def open_source(
    location: str | os.PathLike[str],
    layout: str | None = None,
    *,
    val_labels: str | None = None,
    devkit_synsets: str | None = None,
    progress: Progress | None = None,
) -> Source:
    """Detect (or take) the layout of ``location`` and open its splits."""
    try:
        return _open(location, layout, val_labels, devkit_synsets, progress)
    except OSError as exc:  # ImagenetErrors pass: they are not OSErrors
        where = printable(str(exc.filename or location))
        raise UsageError(f"{where}: cannot read ({exc.strerror or exc})") from None


def _open(
    location: str | os.PathLike[str],
    layout: str | None,
    val_labels: str | None,
    devkit_synsets: str | None,
    progress: Progress | None,
) -> Source:
    path = Path(location)
    if not path.exists():
        raise NotFoundError(f"{location}: no such file or folder")
    if layout is None:
        layout = detect_layout(path)
    elif layout not in LAYOUTS:
        raise UsageError(f"unknown layout {layout!r} (choose from {', '.join(LAYOUTS)})")
    src = Source(str(path), layout, {})
    if layout in ("webdataset", "hf-parquet"):
        # here: other sources never read shards
        if layout == "webdataset":
            from .shard_sources import open_webdataset

            open_webdataset(path, src, progress)
        else:
            from .parquet_source import open_parquet

            open_parquet(path, src)
        if not src.splits:
            raise NotFoundError("\n".join([*src.problems, f"{location}: no train or val shards"]))
        return src

    def labels() -> dict[str, str]:
        spec = val_labels
        if spec is None and layout == "kaggle":
            found = _kaggle_solution(path)
            spec = str(found) if found else None
        from . import labels as labels_mod  # here: a train folder has no labels to read

        return labels_mod.load(spec, devkit_synsets)

    if layout in ("train-tar", "val-tar"):
        if not path.is_file():
            raise UsageError(f"{location}: layout {layout} needs a tar file")
        from . import tars  # here: folder sources never open an archive

        index = tars.open_index(path, progress)
        src.index_built = index.built
        src.problems.extend(f"{path}: member {m}: {r}" for m, r in index.problems())
        src.notes.extend(f"{path}: member {m}: {r}" for m, r in index.notes())
        if index.kind == tars.TAR_OF_TARS:
            if layout == "val-tar":
                raise UsageError(f"{location}: a tar of class tars, not a validation tar")
            src.splits["train"] = TarOfTars(index)
        else:
            if layout == "train-tar":
                raise UsageError(f"{location}: holds images, not class tars (try --layout val-tar)")
            val_tar = LabelledTar(index, labels())
            _note_unlabelled(src, val_tar.unlabelled, str(location))
            src.splits["val"] = val_tar
        return src
    if not path.is_dir():
        raise UsageError(f"{location}: layout {layout} needs a folder")
    if layout in ("imagefolder", "fetch"):
        subdirs = {p.name for p in path.iterdir() if p.is_dir()}
        if layout == "imagefolder" and subdirs & {"train", "val"}:
            for split_name in ("train", "val"):
                if split_name in subdirs:
                    src.splits[split_name] = _folder_split(path / split_name, labels, src)
        else:
            src.splits["train"] = ClassFolders(path)
    elif layout == "kaggle":
        root = _kaggle_root(path)
        if root is None:
            raise UsageError(f"{location}: no ILSVRC/Data/CLS-LOC folder (Kaggle layout)")
        for split_name in ("train", "val"):
            if (root / split_name).is_dir():
                src.splits[split_name] = _folder_split(root / split_name, labels, src)
    else:  # val-folder
        split = LabelledFolder(path, labels())
        _note_unlabelled(src, split.unlabelled, str(location))
        src.splits["val"] = split
    if not src.splits:
        raise NotFoundError(f"{location}: no train or val images found (layout {layout})")
    return src


def _folder_split(folder: Path, labels: Callable[[], dict[str, str]], src: Source) -> Split:
    with os.scandir(folder) as it:
        has_classes = any(is_wnid(e.name) and e.is_dir() for e in it)
    if has_classes:
        return ClassFolders(folder)
    split = LabelledFolder(folder, labels())
    _note_unlabelled(src, split.unlabelled, str(folder))
    return split


def _note_unlabelled(src: Source, count: int, where: str) -> None:
    if count:
        src.problems.append(f"{where}: {count} image(s) have no validation label; left out")


def _kaggle_root(path: Path) -> Path | None:
    for candidate in (path / "ILSVRC" / "Data" / "CLS-LOC", path / "Data" / "CLS-LOC", path):
        if candidate.name == "CLS-LOC" and candidate.is_dir():
            return candidate
    return None


def _kaggle_solution(path: Path) -> Path | None:
    for folder in (path, *path.parents[:4]):
        candidate = folder / "LOC_val_solution.csv"
        if candidate.is_file():
            return candidate
    return None


def detect_layout(path: Path) -> str:
    """The layout of a source, judged from its names (and a tar's first member)."""
    if path.is_file():
        return _tar_layout(path)
    if not path.is_dir():
        if path.exists():  # a device or a pipe, say /dev/null
            raise UsageError(f"{path}: not a folder or a tar archive")
        raise NotFoundError(f"{path}: no such file or folder")
    if _kaggle_root(path) is not None:
        return "kaggle"
    names = os.listdir(path)
    if "manifest.jsonl" in names and any(is_wnid(n) for n in names):
        return "fetch"
    # here: each lists a folder or two, and imports no archive reader
    from .parquet_source import parquet_folder
    from .shard_sources import shard_folder

    if shard_folder(path):
        return "webdataset"
    if parquet_folder(path):
        return "hf-parquet"
    if any(is_wnid(n) for n in names) or {"train", "val"} & set(names):
        return "imagefolder"
    if any(n.lower().endswith(IMAGE_EXTENSIONS) for n in names):
        return "val-folder"
    raise UsageError(
        f"{path}: cannot tell its layout (no class folders, train/val folders, images "
        "or shards); "
        f"name it with --layout ({', '.join(LAYOUTS)})"
    )


def _tar_layout(path: Path) -> str:
    import tarfile

    if path.name.lower().endswith(".parquet"):
        return "hf-parquet"
    try:
        with tarfile.open(path, mode="r:") as tf:
            for info in tf:
                if info.isreg():
                    if info.name.endswith(".tar"):
                        return "train-tar"
                    from .shard_sources import looks_like_shard

                    return "webdataset" if looks_like_shard(path) else "val-tar"
    except tarfile.TarError:
        raise UsageError(f"{path}: not an uncompressed tar file or a folder") from None
    raise UsageError(f"{path}: an empty tar")
