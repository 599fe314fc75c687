"""Labels of the ILSVRC-2012 validation images: file stem -> wnid.

Sources, told apart by their content:

- built in: the 50,000 wnids shipped with the package (:func:`releases.val_labels`);
- Kaggle's ``LOC_val_solution.csv`` (``ImageId,PredictionString``; first word of the
  prediction string is the wnid);
- the devkit's ``ILSVRC2012_validation_ground_truth.txt`` (one ILSVRC2012_ID per
  line, in the devkit's own class order, which is not the sorted-wnid order): the
  id -> wnid map comes from ``devkit_synsets`` (a wnid per line in devkit id order,
  e.g. exported from the devkit's ``meta.mat``) or, without it, is derived by
  pairing the file's ids with the built-in labels image by image, which succeeds
  only when every id meets exactly one wnid;
- a file of one wnid per line (line i labels ``ILSVRC2012_val_%08d`` % i);
- a folder of validation bounding-box XMLs (``<filename>``/file stem and the first
  ``<object><name>``).
"""

from __future__ import annotations

import os
from pathlib import Path

from .. import releases
from ..errors import NotFoundError, UsageError
from ..ids import is_wnid

MAX_LABEL_FILE = 64 * 1024 * 1024
MAX_XML = 1024 * 1024


def val_stem(number: int) -> str:
    """The file stem of validation image ``number`` (1-based)."""
    return f"ILSVRC2012_val_{number:08d}"


def positional(wnids: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Labels given in image order: the i-th wnid labels image i + 1."""
    return {val_stem(i + 1): w for i, w in enumerate(wnids)}


def builtin() -> dict[str, str]:
    """The packaged ILSVRC-2012 validation labels."""
    return positional(releases.val_labels())


def load(spec: str | None, devkit_synsets: str | None = None) -> dict[str, str]:
    """Labels from ``spec`` (a file or folder, see the module doc), or the built-in ones."""
    if spec is None:
        if devkit_synsets is not None:
            raise UsageError(
                "--devkit-synsets goes with --val-labels ILSVRC2012_validation_ground_truth.txt"
            )
        return builtin()
    path = Path(spec)
    if path.is_dir():
        return _from_xml_folder(path)
    text = _read_text(path)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise UsageError(f"{spec}: empty label file")
    if lines[0].lower().startswith("imageid"):
        return _from_kaggle(path, lines[1:])
    if all(line.isdigit() for line in lines[:100]):
        return _from_devkit(path, lines, devkit_synsets)
    if all(is_wnid(line) for line in lines[:100]):
        bad = next((i for i, line in enumerate(lines) if not is_wnid(line)), None)
        if bad is not None:
            raise UsageError(f"{spec}: line {bad + 1}: not a wnid: {lines[bad]!r}")
        return positional(lines)
    raise UsageError(
        f"{spec}: not a known label file (Kaggle LOC_val_solution.csv, the devkit's "
        "ILSVRC2012_validation_ground_truth.txt, one wnid per line, or a folder of XMLs)"
    )


def _read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_LABEL_FILE:
            raise UsageError(f"{path}: {size} bytes is too large for a label file")
        return path.read_text(encoding="utf-8-sig")  # without the BOM Windows tools write
    except FileNotFoundError:
        raise NotFoundError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read: {exc}") from None


def _from_kaggle(path: Path, rows: list[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for number, row in enumerate(rows, start=2):
        image, _, prediction = row.partition(",")
        words = prediction.split()
        if not words or not is_wnid(words[0]):
            raise UsageError(f"{path}: line {number}: no wnid in {row[:60]!r}")
        labels[image.strip()] = words[0]
    return labels


def _from_devkit(path: Path, lines: list[str], devkit_synsets: str | None) -> dict[str, str]:
    try:
        ids = [int(line) for line in lines]
    except ValueError:
        raise UsageError(
            f"{path}: every line of a devkit ground-truth file is a class id"
        ) from None
    if devkit_synsets is not None:
        order = [w for w in _read_text(Path(devkit_synsets)).split() if w]
        bad = [w for w in order if not is_wnid(w)]
        if bad:
            raise UsageError(f"{devkit_synsets}: not a wnid: {bad[0]!r}")
        mapping = {i + 1: w for i, w in enumerate(order)}
    else:
        mapping = _derive_devkit_order(path, ids)
    labels: dict[str, str] = {}
    for number, class_id in enumerate(ids, start=1):
        wnid = mapping.get(class_id)
        if wnid is None:
            raise UsageError(
                f"{path}: line {number}: class id {class_id} is not in the devkit synset list"
            )
        labels[val_stem(number)] = wnid
    return labels


def _derive_devkit_order(path: Path, ids: list[int]) -> dict[int, str]:
    """The devkit id -> wnid map implied by pairing ``ids`` with the built-in labels."""
    known = releases.val_labels()
    hint = "pass --devkit-synsets FILE (the wnids in devkit id order, one per line)"
    if len(ids) > len(known):
        raise UsageError(
            f"{path}: {len(ids)} lines, more than the {len(known)} validation images; {hint}"
        )
    mapping: dict[int, str] = {}
    owner: dict[str, int] = {}
    for number, (class_id, wnid) in enumerate(zip(ids, known, strict=False), start=1):
        if (
            mapping.setdefault(class_id, wnid) != wnid
            or owner.setdefault(wnid, class_id) != class_id
        ):
            raise UsageError(
                f"{path}: line {number}: class id {class_id} does not match the built-in "
                f"validation labels, so its wnid cannot be derived; {hint}"
            )
    return mapping


def _from_xml_folder(folder: Path) -> dict[str, str]:
    from lxml import etree

    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        dtd_validation=False,
        load_dtd=False,
        huge_tree=False,
    )
    labels: dict[str, str] = {}
    for dirpath, _dirs, names in os.walk(folder):
        for name in names:
            if not name.lower().endswith(".xml"):
                continue
            file = Path(dirpath, name)
            data = file.read_bytes()[: MAX_XML + 1]
            if len(data) > MAX_XML or b"<!DOCTYPE" in data or b"<!ENTITY" in data:
                raise UsageError(
                    f"{file}: refused (DOCTYPE, ENTITY or larger than {MAX_XML} bytes)"
                )
            try:
                root = etree.fromstring(data, parser)
            except etree.XMLSyntaxError as exc:
                raise UsageError(f"{file}: not valid XML ({exc})") from None
            wnid = (root.findtext("object/name") or "").strip()
            if not is_wnid(wnid):
                continue  # an annotation without an object labels nothing
            stem = (root.findtext("filename") or "").strip() or file.stem
            labels[Path(stem).stem if stem.lower().endswith((".jpeg", ".jpg")) else stem] = wnid
    if not labels:
        raise NotFoundError(f"{folder}: no bounding-box XML with an <object><name> found")
    return labels
