"""Shards as sources: WebDataset tars (here) and the hub's Parquet files
(:mod:`.parquet_source`), read in place.

- ``webdataset``: a folder of ``.tar`` shards, as timm's ``imagenet-1k-wds``
  (``imagenet1k-train-{0000..1023}.tar``) or the shards ``subset extract`` writes
  (``DST/<split>/<prefix>-<split>-%06d.tar``). A sample is the members sharing a key:
  ``<key>.jpg`` (or another image extension), ``<key>.cls`` (a class index as text)
  and ``<key>.json``. Each shard's members are indexed once by :mod:`.tars` (the same
  cached index and the same refusal of members that could escape); an image is then
  ``size`` bytes at an offset of its shard.
- ``hf-parquet``: the Parquet files of the hub's ``ILSVRC/imagenet-1k``
  (``data/train-00000-of-00294.parquet``): ``image`` (struct of ``bytes`` and
  ``path``) and ``label`` (the index of the sorted 1,000 wnids). Listing reads the
  ``label`` and ``image.path`` columns only; a worker reads an image's row group
  (:func:`.parquet_source.parquet_image`).

The class of a sample: the ``wnid`` of its ``.json`` when there is one, else its
``.cls`` (or Parquet ``label``) as an index into the ``classes.tsv`` beside the shards
(which ``subset extract`` writes), or without one, as an ILSVRC-2012 index.
Splits come from folder names (``train/``, ``val/``, ``validation/``) or file names
(the last of ``train``, ``val``, ``validation``, ``test`` among the words of the name).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..cache import cache_path, write_text_atomic
from ..errors import UsageError
from ..ids import is_utf8, is_wnid, printable
from .sources import IMAGE_EXTENSIONS, Source, SourceFile, Split, is_image_name

if TYPE_CHECKING:
    from .tars import Member

Progress = Callable[[int, int | None, str], None]

WEBDATASET = "webdataset"
HF_PARQUET = "hf-parquet"
SPLIT_WORDS = {"train": "train", "val": "val", "validation": "val", "test": "test"}
IMAGE_EXTS = tuple(e[1:] for e in IMAGE_EXTENSIONS)  # in order of preference
MAX_LABEL_BYTES = 1 << 20  # a .cls or .json larger than this is not a label


class Labelled(Split):
    """A split whose images are labelled one by one (a sample, a row): class -> files."""

    on_disk = False

    def __init__(self) -> None:
        super().__init__()
        self.by_class: dict[str, list[SourceFile]] = {}

    def add(self, wnid: str, found: SourceFile) -> None:
        self.by_class.setdefault(wnid, []).append(found)

    def classes(self) -> set[str]:
        return set(self.by_class)

    def files(self, wnid: str) -> list[SourceFile]:
        return sorted(self.by_class.get(wnid, ()), key=lambda f: f.name)


def split_of(name: str) -> str | None:
    """The split a file name names: the last of its words that is a split's
    (``imagenet1k-validation-00.tar`` -> ``val``), or None."""
    found = None
    for word in re.split(r"[^a-z0-9]+", name.lower()):
        found = SPLIT_WORDS.get(word, found)
    return found


def sample_key(name: str) -> tuple[str, str]:
    """WebDataset's split of a member name: the key (folder and the base name up to its
    first dot) and the extension (the rest)."""
    folder, _, base = name.rpartition("/")
    stem, dot, ext = base.partition(".")
    return (f"{folder}/{stem}" if folder else stem), (ext if dot else "")


def looks_like_shard(path: Path) -> bool:
    """Whether a tar's first members are labelled WebDataset samples: a ``.cls``, or a
    ``.json`` beside an image of its key (a val tar with an ``.xml`` beside each image
    is no shard)."""
    import tarfile

    seen: dict[str, set[str]] = {}
    try:
        with tarfile.open(path, mode="r:") as tf:
            for info in tf:
                if not info.isreg():
                    continue
                key, ext = sample_key(info.name)
                ext = ext.lower()
                if ext == "cls":
                    return True
                exts = seen.setdefault(key, set())
                exts.add(ext)
                if "json" in exts and exts & set(IMAGE_EXTS):
                    return True
                if len(seen) > 3 or ext.endswith("tar"):
                    return False
    except (tarfile.TarError, OSError):
        return False
    return False


def shard_folder(path: Path) -> bool:
    """A folder (or its train/val folder) holding WebDataset shards."""
    for folder in (path, *(path / d for d in SPLIT_WORDS if d != "test")):
        tars = visible(folder, ".tar")
        if tars:
            return looks_like_shard(tars[0])
    return False


def visible(folder: Path, suffix: str) -> list[Path]:
    """The files of ``folder`` ending in ``suffix``, sorted, without hidden ones (a
    writer's temporary ``.NAME.part``, macOS's ``._NAME``)."""
    try:
        with os.scandir(folder) as it:
            names = [
                e.name
                for e in it
                if e.name.lower().endswith(suffix)
                and not e.name.startswith(".")
                and is_utf8(e.name)
                and e.is_file()
            ]
    except OSError:
        return []
    return [folder / n for n in sorted(names)]


class ClassIndex:
    """Class index -> wnid: the ``classes.tsv`` beside the shards, else ILSVRC-2012's."""

    def __init__(self, location: Path, folder_names: tuple[str, ...]) -> None:
        self.where = "ILSVRC-2012"
        found = location / "classes.tsv"
        if not found.is_file() and location.name.lower() in folder_names:
            found = location.parent / "classes.tsv"
        if found.is_file():
            self.wnids = _read_classes(found)
            self.where = str(found)
        else:
            from .. import releases

            self.wnids = releases.classes("ilsvrc2012")

    def wnid(self, index: int) -> str | None:
        return self.wnids[index] if 0 <= index < len(self.wnids) else None

    def refusal(self, index: object) -> str:
        return f"class index {index!r} is not one of {self.where} (0-{len(self.wnids) - 1})"


def _read_classes(path: Path) -> list[str]:
    """The wnids of a ``classes.tsv`` (``index<TAB>wnid<TAB>name``) in index order."""
    wnids: list[str] = []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            cells = line.rstrip("\n").split("\t")
            if number == 1 and cells[0] == "index":
                continue
            if len(cells) < 2 or cells[0] != str(len(wnids)) or not is_wnid(cells[1]):
                raise UsageError(
                    f"{path}: line {number}: expected '{len(wnids)}<TAB>wnid<TAB>name' "
                    f"(the classes of the shards beside it), got {printable(line.strip())!r}"
                )
            wnids.append(cells[1])
    return wnids


# -- WebDataset ------------------------------------------------------------------------


def open_webdataset(path: Path, src: Source, progress: Progress | None) -> None:
    """Index the shards at ``path`` (a folder, or one shard) into ``src``'s splits."""
    from . import tars  # here: only shard and tar sources open an archive

    shards: list[tuple[str, Path]] = []
    if path.is_file():
        shards.append((split_of(path.stem) or "train", path))
    else:
        for word, named in SPLIT_WORDS.items():
            if named != "test":
                shards.extend((named, p) for p in visible(path / word, ".tar"))
        shards.extend(named_splits(visible(path, ".tar"), src))
    if not shards:
        raise UsageError(f"{path}: no .tar shards found (layout {WEBDATASET})")
    labels = ClassIndex(path if path.is_dir() else path.parent, tuple(SPLIT_WORDS))
    total = sum(p.stat().st_size for _, p in shards)

    def step(advance: int, _size: int | None, text: str) -> None:
        if progress:  # the share of all shards, not of this one
            progress(advance, total, text)

    for split_name, shard in shards:
        try:
            index = tars.open_index(shard, step if progress else None)
        except tars.NotATar as exc:
            src.problems.append(str(exc))
            continue
        src.index_built |= index.built
        refused = index.problems()
        src.problems.extend(f"{shard}: member {m}: {r}" for m, r in refused)
        src.notes.extend(f"{shard}: member {m}: {r}" for m, r in index.notes())
        split = src.splits.setdefault(split_name, Labelled())
        assert isinstance(split, Labelled)
        cached = SampleCache(shard, labels)
        found = cached.load()
        if found is None:
            said = {sample_key(m)[0] for m, _ in refused}  # said once: not again as a sample
            found = _read_samples(shard, index.members(""), labels, said)
            cached.store(found)
        samples, problems = found
        for wnid, name, size, offset, member in samples:
            split.add(wnid, SourceFile(name, size, str(shard), offset, member))
        src.problems.extend(problems)


def named_splits(files: list[Path], src: Source) -> list[tuple[str, Path]]:
    """Files split by their names (or their folder's); with none naming a split, all
    are train."""
    named = [(split_of(p.stem) or split_of(p.parent.name), p) for p in files]
    if all(s is None for s, _ in named):
        return [("train", p) for _, p in named]
    out: list[tuple[str, Path]] = []
    test = 0
    for split, p in named:
        if split == "test":
            test += 1
        elif split is None:
            src.problems.append(f"{p}: its name names no split (train, val, validation); not used")
        else:
            out.append((split, p))
    if test:
        src.notes.append(f"{files[0].parent}: {test} test file(s) not used (no labels)")
    return out


Found = tuple[list[tuple[str, str, int, int, str]], list[str]]  # samples, problems


class SampleCache:
    """The samples a shard was found to hold, kept in the cache: reading each sample's
    label means two small reads and a JSON parse, about 20 µs; timm's 1.28 M samples
    would take half a minute on every run. The entry's name holds what decides it: the
    shard's identity (path, size, times, inode) and the classes its indexes name."""

    VERSION = 1  # bump when what a shard is read as changes

    def __init__(self, shard: Path, labels: ClassIndex) -> None:
        st = shard.stat()
        ident = [self.VERSION, os.path.realpath(shard), st.st_size, st.st_mtime_ns, st.st_ino,
                 st.st_ctime_ns, labels.where, labels.wnids]  # fmt: skip
        digest = hashlib.sha256(json.dumps(ident).encode()).hexdigest()[:32]
        self.path: Path | None = None
        with contextlib.suppress(OSError):
            self.path = cache_path("shard-samples", f"{digest}.json")

    def load(self) -> Found | None:
        if self.path is None:
            return None
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
            return [tuple(s) for s in doc["samples"]], []
        except (OSError, ValueError, KeyError, TypeError):
            return None  # none yet, or unreadable: read the shard

    def store(self, found: Found) -> None:
        if self.path is None or found[1]:
            return  # a shard with problems is read again: its messages name it as given
        doc = {"samples": found[0]}
        with contextlib.suppress(OSError):  # a cache that cannot be written: read again next time
            write_text_atomic(self.path, json.dumps(doc, separators=(",", ":")), fsync=False)


def _read_samples(shard: Path, members: list[Member], labels: ClassIndex, said: set[str]) -> Found:
    """Each labelled sample of ``shard`` as ``(wnid, name, size, offset, member)``, and
    a line on each sample left out."""
    out: list[tuple[str, str, int, int, str]] = []
    problems: list[str] = []
    samples: dict[str, dict[str, Member]] = {}
    for m in sorted(members, key=lambda m: m.offset):  # a member stored twice: the last wins
        key, ext = sample_key(m.name)
        samples.setdefault(key, {})[ext.lower()] = m
    with open(shard, "rb") as fh:
        for key, parts in samples.items():
            if key in said:
                continue
            where = f"{shard}: sample {key}"
            image = next((parts[e] for e in IMAGE_EXTS if e in parts), None)
            base = key.rpartition("/")[2]
            if image is None:
                problems.append(f"{where}: no image ({', '.join(sorted(parts))}); left out")
                continue
            if not base:
                problems.append(f"{shard}: member {image.name}: no key before the extension")
                continue
            try:
                meta = _json(fh, parts.get("json"))
                wnid = _class_of(fh, parts, meta, labels)
            except ValueError as exc:
                problems.append(f"{where}: {exc}; left out")
                continue
            if wnid is None:
                problems.append(f"{where}: no label (.cls, or .json with a wnid); left out")
                continue
            name = _output_name(base, image.name.rpartition(".")[2], meta)
            out.append((wnid, name, image.size, image.offset, image.name))
    return out, problems


def _read(fh: Any, member: Member) -> bytes:
    if member.size > MAX_LABEL_BYTES:
        raise ValueError(f"{member.name} is {member.size:,} bytes, too large for a label")
    data = os.pread(fh.fileno(), member.size, member.offset)
    if len(data) < member.size:
        raise ValueError(f"{member.name}: the shard ends inside it")
    return data


def _json(fh: Any, member: Member | None) -> dict[str, Any]:
    if member is None:
        return {}
    try:
        meta = json.loads(_read(fh, member))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{member.name} is not JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{member.name} is not a JSON object")
    return meta


def _class_of(
    fh: Any, parts: dict[str, Member], meta: dict[str, Any], labels: ClassIndex
) -> str | None:
    wnid = meta.get("wnid")
    if isinstance(wnid, str) and is_wnid(wnid):
        return wnid
    if "cls" in parts:
        text = _read(fh, parts["cls"]).decode("utf-8", "replace").strip()
        index: object = int(text) if re.fullmatch(r"[0-9]+", text) else text
        where = f"{parts['cls'].name}: "
    else:  # timm's .json: {"label": <ILSVRC-2012 index>, "filename": ...}
        index = meta.get("ilsvrc2012_index", meta.get("label"))
        if index is None:
            return None
        where = f"{parts['json'].name}: "
    found = labels.wnid(index) if isinstance(index, int) and not isinstance(index, bool) else None
    if found is None:
        raise ValueError(where + labels.refusal(index))
    return found


def _output_name(base: str, ext: str, meta: dict[str, Any]) -> str:
    """``<key>.<ext>``; or the base name the ``.json`` gives (``source``, ``path``, ``filename``)
    when it is the key with an image extension, so ``x.JPEG`` stored as ``x.jpg``
    comes back as ``x.JPEG``."""
    for field in ("source", "path", "filename"):
        given = meta.get(field)
        if isinstance(given, str):
            named = given.replace("\\", "/").rpartition("/")[2]
            if named.rpartition(".")[0] == base and is_image_name(named):
                return named
    return f"{base}.{ext}"
