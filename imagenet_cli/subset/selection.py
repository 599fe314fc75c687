"""Which classes to take: explicit ids, presets, a subtree, K random ones, a release.

Explicit classes (``--wnid``, ``--wnids``, ``--preset``) must exist in the source
(else :class:`NotFoundError`, or skipped with ``allow_missing``). ``--under`` and
``--classes`` choose among the classes the source has in every requested split,
so train and val always share one class list (one class index per folder).
Named images (``--images``, an image preset) narrow the classes to theirs
(``within``): see :mod:`.image_lists`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .. import releases
from ..errors import NotFoundError, UsageError
from ..hierarchy import Hierarchy
from ..ids import listed_ids
from .image_lists import is_image_list, preset_classes


@dataclass(frozen=True)
class Selection:
    """What the user asked for; every field optional (nothing: every class)."""

    wnids: tuple[str, ...] = ()
    wnid_files: tuple[str, ...] = ()  # files of ids, "-" for stdin
    presets: tuple[str, ...] = ()  # class lists and image lists
    images: tuple[str, ...] = ()  # files of image names, "-" for stdin
    under: tuple[str, ...] = ()
    classes: int | None = None  # K random classes
    release: str | None = None
    seed: int = 0
    allow_missing: bool = False


@dataclass
class Selected:
    """The chosen classes (sorted wnids) and what was left out, for the warnings."""

    wnids: list[str]
    missing: list[tuple[str, str]] = field(default_factory=list)  # (wnid, split) skipped
    notes: list[str] = field(default_factory=list)


def select(
    selection: Selection,
    available: Mapping[str, set[str]],
    hierarchy: Hierarchy | None = None,
    *,
    where: str = "the source",
    within: set[str] | None = None,
) -> Selected:
    """The classes to extract, given each requested split's classes in the source;
    only classes of ``within`` when given (the classes of the named images, of which
    those the source lacks are left to the images' own report)."""
    if not available:
        raise UsageError("no split to take classes from")
    common = set.intersection(*(set(c) for c in available.values()))
    h = hierarchy or Hierarchy.default()
    explicit = _explicit(selection, h)
    notes: list[str] = []
    candidates = set(common) if explicit is None else set(explicit)
    below: set[str] | None = None
    if selection.under:
        below = set()
        for ident in selection.under:
            below.update(h.descendants(ident, include_self=True))
        candidates &= below
        if explicit is None:
            candidates &= common
    if selection.release:
        candidates &= releases.class_set(selection.release)
    if within is not None:
        candidates &= within
    elif explicit is None and selection.classes is None and len(available) > 1:
        notes.extend(_in_some_splits(available, common, below, selection.release))
    missing: list[tuple[str, str]] = []
    if explicit is not None:
        for split, classes in sorted(available.items()):
            missing.extend((w, split) for w in sorted(candidates - classes))
        if missing and not selection.allow_missing:
            lacking = sorted({w for w, _ in missing})
            shown = ", ".join(lacking[:8]) + (
                f" and {len(lacking) - 8} more" if len(lacking) > 8 else ""
            )
            splits = "/".join(sorted({s for _, s in missing}))
            raise NotFoundError(
                f"{where} lacks {len(lacking)} selected class(es) in its {splits} split: {shown} "
                "(--allow-missing skips them)"
            )
        candidates -= {w for w, _ in missing}
    chosen = sorted(candidates)
    if selection.classes is not None:
        if selection.classes < 1:
            raise UsageError("--classes takes a positive count")
        if selection.classes > len(chosen):
            notes.append(
                f"--classes {selection.classes}: only {len(chosen)} classes to choose from"
            )
        else:
            import random  # here: most selections draw nothing

            rng = random.Random(f"{selection.seed}:classes")
            chosen = sorted(rng.sample(chosen, selection.classes))
    if not chosen:
        if within is not None:
            every = " in every split taken" if len(available) > 1 else ""
            notes.append(f"the named images are of {len(within):,} class(es), none taken{every}")
        why = f": {'; '.join(notes)}" if notes else ""
        raise NotFoundError(f"no class of {where} matches the selection{why}")
    return Selected(chosen, missing, notes)


def _in_some_splits(
    available: Mapping[str, set[str]],
    common: set[str],
    below: set[str] | None,
    release: str | None,
) -> list[str]:
    """A warning for the classes ``--under`` / ``--release`` (or no selection) would have
    taken but that are not in every split."""
    left = set.union(*(set(c) for c in available.values())) - common
    if below is not None:
        left &= below
    if release:
        left &= releases.class_set(release)
    if not left:
        return []
    first = min(left)
    held = "/".join(s for s, classes in sorted(available.items()) if first in classes)
    return [
        f"{len(left)} class(es) of the source are not in every split taken and are left out, "
        f"so that the splits share one class list (e.g. {first}: {held} only)"
    ]


def _explicit(selection: Selection, h: Hierarchy) -> set[str] | None:
    """The explicitly named classes, resolved to wnids; None when none were named."""
    presets = [p for p in selection.presets if not is_image_list(p)]
    if not (selection.wnids or selection.wnid_files or presets):
        return None
    found = set(h.resolve_listed(listed_ids(selection.wnids, selection.wnid_files)))
    for name in presets:
        found.update(preset_classes(name))
    if not found:
        raise UsageError("the selection names no class (empty id list)")
    return found
