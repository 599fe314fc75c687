"""The plan: every image to write, sampled per class with a seed.

Sampling depends only on the seed, the class, the split and the class's sorted
file names, never on the worker count or the order the file system lists files,
so the same command gives the same subset every time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .sources import SourceFile, Split

SPLITS = ("train", "val")
JPEG_SUFFIXES = (".jpg", ".jpeg")


@dataclass(frozen=True, slots=True)
class Options:
    """How each image is written."""

    mode: str = "copy"  # copy | hardlink | symlink
    resize: int | None = None
    resize_mode: str = "shorter"  # shorter | longer | center-crop
    quality: int = 90

    def settings(self) -> dict[str, object]:
        """What decides the bytes written (kept beside the output to guard reruns)."""
        return {
            "mode": self.mode,
            "resize": self.resize,
            "resize_mode": self.resize_mode,
            "quality": self.quality,
        }


# Not frozen, though never changed: a frozen dataclass sets each field through
# object.__setattr__, which made building one 5x slower, and a plan of all ImageNet
# builds millions of these (with SourceFile, items.Job and items.ItemResult).
@dataclass(slots=True)
class WorkItem:
    """One image to write: where it comes from and its path under the target folder."""

    split: str
    wnid: str
    src: SourceFile
    rel: str  # "<split>/<wnid>/<name>", always "/"-separated


@dataclass
class ClassPlan:
    """What one class contributes to one split."""

    split: str
    wnid: str
    available: int
    images: int
    bytes: int


@dataclass
class Plan:
    """Every image to write, in output order (split, class, name)."""

    wnids: list[str]
    items: list[WorkItem]
    classes: list[ClassPlan] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # source files left out, and why
    notes: list[str] = field(default_factory=list)  # warnings: a member stored twice ...

    @property
    def bytes(self) -> int:
        return sum(c.bytes for c in self.classes)


def sample(
    files: list[SourceFile], count: int | None, seed: int, wnid: str, split: str
) -> list[SourceFile]:
    """``count`` of a class's files (all when None or fewer), chosen by the seed."""
    if count is None or count >= len(files):
        return files
    import random  # here: a whole copy never samples

    ordered = sorted(files, key=lambda f: f.name)
    rng = random.Random(f"{seed}:{wnid}:{split}")
    return sorted(rng.sample(ordered, count), key=lambda f: f.name)


def output_name(name: str, options: Options) -> str:
    """The file name written: a resized image is a JPEG, so a PNG gets ``.JPEG``."""
    if options.resize is None or name.lower().endswith(JPEG_SUFFIXES):
        return name
    stem = name.rsplit(".", 1)[0] if "." in name.rsplit("/", 1)[-1] else name
    return f"{stem}.JPEG"


def make_plan(
    splits: Mapping[str, Split],
    wnids: list[str],
    *,
    per_class: Mapping[str, int | None],
    seed: int,
    options: Options,
) -> Plan:
    """The plan for ``wnids`` over the requested ``splits`` (a class a split lacks: none)."""
    items: list[WorkItem] = []
    classes: list[ClassPlan] = []
    problems: list[str] = []
    notes: list[str] = []
    for split in SPLITS:
        if split not in splits:
            continue
        source = splits[split]
        for wnid in wnids:
            files = one_per_name(source.files(wnid), options, problems, notes)
            chosen = sample(files, per_class.get(split), seed, wnid, split)
            classes.append(
                ClassPlan(split, wnid, len(files), len(chosen), sum(f.size for f in chosen))
            )
            prefix = f"{split}/{wnid}/"
            items.extend(
                WorkItem(split, wnid, f, prefix + output_name(f.name, options)) for f in chosen
            )
    return Plan(list(wnids), items, classes, problems, notes)


def one_per_name(
    files: list[SourceFile], options: Options, problems: list[str], notes: list[str]
) -> list[SourceFile]:
    """A class's files with at most one per output name; what is left out is reported
    in ``problems`` (a member stored twice, in ``notes``).

    Two files meet when a tar holds a member twice (the later copy is kept, as tar
    itself would extract it), when a repacked class tar has the same name in two
    subfolders, or when resizing gives ``x.png`` the name of ``x.JPEG`` (the file
    already named so is kept). Without this, one would overwrite the other and the
    manifest would list both.
    """
    if options.resize is None and (not files or files[0].offset < 0):
        return files  # names of one folder, kept as they are: they cannot meet
    by_name: dict[str, list[SourceFile]] = {}
    for f in files:
        by_name.setdefault(output_name(f.name, options), []).append(f)
    if len(by_name) == len(files):
        return files
    kept = []
    for name, group in by_name.items():
        if len(group) == 1:
            kept.append(group[0])
            continue
        best = max(group, key=lambda f: (output_name(f.name, options) == f.name, f.offset))
        kept.append(best)
        for f in group:
            if f is best:
                continue
            if f.label == best.label:
                notes.append(f"{f.label}: in the archive more than once; the last copy is used")
            else:
                problems.append(
                    f"{f.label}: would be written under the name of {best.label} ({name}); left out"
                )
    kept.sort(key=lambda f: f.name)
    return kept
