"""Streaming writers: annotations in, one output format out.

Every writer takes annotations one at a time (``write``) and finishes with
``close``. csv, tsv, json, jsonl and loc write as they go: memory stays flat
whatever the number of files. coco and yolo need the full class list before their
ids are known, so they spool what they write to a temporary file and assemble the
result at ``close`` (still flat in memory, but for their sets of image names).

Conventions:

* csv/tsv: a header, one row per box (:data:`~.records.COLUMNS`, plus ``name`` and
  ``ilsvrc_index`` after ``wnid`` with names); ``keep_empty`` gives an image without
  boxes one row with empty box fields.
* json: one array of image objects; jsonl: one image object per line, each with
  its ``boxes``.
* coco: a COCO detection document: ``bbox`` is ``[xmin, ymin, xmax - xmin,
  ymax - ymin]`` (so ``xmax = x + w`` holds exactly), ``area = w * h``, ``iscrowd``
  0; image ids count from 1 in output order, one per file name (an image two files
  name gets the boxes of both); category ids count from 1 over the sorted wnids,
  each category named by the synset's first lemma, its wnid kept.
* yolo (ultralytics layout): ``labels/<image>.txt`` with ``class cx cy w h``
  normalised to 0-1, classes numbered from 0 over the sorted wnids listed in
  ``classes.txt``, and a ``data.yaml`` naming them; images go in ``images/``.
* loc: Kaggle's ImageNet localization CSV: ``ImageId,PredictionString`` (the image
  without its extension), the string being ``wnid xmin ymin xmax ymax`` for each box,
  space-separated.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from typing import IO, Any, Protocol

from ..cache import write_bytes_atomic, write_text_atomic
from ..errors import UsageError, storage_error
from ..ids import cell
from .records import COLUMNS, NAME_COLUMNS, Annotation, Box, unsafe_part

Namer = Callable[[str], tuple[str | None, int | None]]


class Writer(Protocol):
    """Takes annotations one by one; ``close`` finishes the output."""

    def write(self, ann: Annotation) -> None: ...

    def close(self) -> None: ...


class ChunkWriter(Writer, Protocol):
    """A streaming writer that also takes text a worker formatted (:func:`format_chunk`)."""

    def write_chunk(self, text: str, images: int) -> None: ...


def columns(with_names: bool) -> tuple[str, ...]:
    """The csv/tsv columns, names included or not."""
    if not with_names:
        return COLUMNS
    at = COLUMNS.index("wnid") + 1
    return COLUMNS[:at] + NAME_COLUMNS + COLUMNS[at:]


def csv_rows(
    anns: Iterable[Annotation], *, keep_empty: bool = False, names: Namer | None = None
) -> list[tuple[Any, ...]]:
    """The csv/tsv rows of ``anns``, one per box (:func:`columns` order)."""
    if names is None and not keep_empty:  # the common case, in one comprehension
        return [
            (
                image,
                folder,
                b[0],
                b[1],
                b[2],
                b[3],
                b[4],
                width,
                height,
                depth,
                b[5],
                b[6],
                b[7],
                source,
            )
            for image, folder, width, height, depth, source, boxes, _ in anns
            for b in boxes
        ]
    rows: list[tuple[Any, ...]] = []
    for image, folder, width, height, depth, source, boxes, _ in anns:
        if not boxes:
            if keep_empty:
                empty = ("",) * (5 if names is None else 7)  # wnid (names) and corners
                rows.append((image, folder, *empty, width, height, depth, "", "", "", source))
            continue
        for b in boxes:
            named = names(b[0]) if names is not None else ()
            rows.append(
                (*(image, folder, b[0]), *named, *b[1:5], width, height, depth, *b[5:8], source)
            )
    return rows


class CsvWriter:
    """csv or tsv: one row per box."""

    def __init__(
        self,
        out: IO[str],
        *,
        sep: str = ",",
        header: bool = True,
        keep_empty: bool = False,
        names: Namer | None = None,
    ) -> None:
        self.out = out
        self.writer = csv.writer(out, delimiter=sep, lineterminator="\n")
        self.keep_empty = keep_empty
        self.names = names
        if header:
            self.writer.writerow(columns(names is not None))

    def write(self, ann: Annotation) -> None:
        self.writer.writerows(csv_rows((ann,), keep_empty=self.keep_empty, names=self.names))

    def write_chunk(self, text: str, images: int) -> None:
        """Rows :func:`format_chunk` made (elsewhere, for a batch of annotations)."""
        self.out.write(text)

    def close(self) -> None:
        pass


def _box_doc(b: Box, names: Namer | None) -> dict[str, Any]:
    doc: dict[str, Any] = {"wnid": b.wnid}
    if names is not None:
        doc["name"], doc["ilsvrc_index"] = names(b.wnid)
    doc.update(
        xmin=b.xmin,
        ymin=b.ymin,
        xmax=b.xmax,
        ymax=b.ymax,
        truncated=b.truncated,
        difficult=b.difficult,
        pose=b.pose,
    )
    return doc


def image_doc(ann: Annotation, names: Namer | None = None) -> dict[str, Any]:
    """The json/jsonl object for one image."""
    return {
        "image": ann.image,
        "folder": ann.folder,
        "width": ann.width,
        "height": ann.height,
        "depth": ann.depth,
        "source": ann.source,
        "boxes": [_box_doc(b, names) for b in ann.boxes],
    }


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class JsonWriter:
    """jsonl (one image a line) or json (one array)."""

    def __init__(
        self, out: IO[str], *, lines: bool, keep_empty: bool = False, names: Namer | None = None
    ) -> None:
        self.out = out
        self.lines = lines
        self.keep_empty = keep_empty
        self.names = names
        self.count = 0
        if not lines:
            out.write("[")

    def write(self, ann: Annotation) -> None:
        if not ann.boxes and not self.keep_empty:
            return
        text = _dumps(image_doc(ann, self.names))
        if self.lines:
            self.out.write(text + "\n")
        else:
            self.out.write(("\n" if self.count == 0 else ",\n") + text)
        self.count += 1

    def write_chunk(self, text: str, images: int) -> None:
        """Image objects :func:`format_chunk` made, ``images`` of them."""
        if not images:
            return
        if self.lines:
            self.out.write(text)
        else:
            self.out.write(("\n" if self.count == 0 else ",\n") + text)
        self.count += images

    def close(self) -> None:
        if not self.lines:
            self.out.write("\n]\n" if self.count else "]\n")


_IMAGE_EXTENSIONS = frozenset((".jpeg", ".jpg", ".png"))


def loc_image_id(image: str) -> str:
    """Kaggle's ImageId: the image's name without its extension (``<filename>`` is
    written with one in some files)."""
    if "." in image:
        stem, ext = os.path.splitext(image)
        if ext.lower() in _IMAGE_EXTENSIONS:
            return stem
    return image


def loc_rows(anns: Iterable[Annotation], *, keep_empty: bool = False) -> list[tuple[str, str]]:
    """Kaggle LOC rows of ``anns``: ``(ImageId, PredictionString)``."""
    return [
        (loc_image_id(ann[0]), " ".join([f"{b[0]} {b[1]} {b[2]} {b[3]} {b[4]}" for b in ann[6]]))
        for ann in anns
        if ann[6] or keep_empty
    ]


class LocWriter:
    """Kaggle's LOC_*_solution.csv: ``ImageId,PredictionString``."""

    def __init__(self, out: IO[str], *, header: bool = True, keep_empty: bool = False) -> None:
        self.out = out
        self.writer = csv.writer(out, lineterminator="\n")
        self.keep_empty = keep_empty
        if header:
            self.writer.writerow(("ImageId", "PredictionString"))

    def write(self, ann: Annotation) -> None:
        self.writer.writerows(loc_rows((ann,), keep_empty=self.keep_empty))

    def write_chunk(self, text: str, images: int) -> None:
        """Rows :func:`format_chunk` made."""
        self.out.write(text)

    def close(self) -> None:
        pass


def _spool() -> IO[str]:
    return tempfile.TemporaryFile("w+", encoding="utf-8", newline="\n")


def _file_name(image: str) -> str:
    return image if os.path.splitext(image)[1] else image + ".JPEG"


class CocoWriter:
    """A COCO detection JSON document, written at ``close``."""

    def __init__(
        self, out: IO[str], *, keep_empty: bool = False, names: Namer | None = None
    ) -> None:
        self.out = out
        self.keep_empty = keep_empty
        self.names = names
        self.images = _spool()
        self.annotations = _spool()  # "wnid\t<annotation JSON without category_id>"
        self.wnids: set[str] = set()
        # An image named by two files (a folder and an archive, ILSVRC and
        # ImageNet-21k) is one COCO image holding the boxes of both.
        self.image_ids: dict[str, int] = {}
        self.image_id = 0
        self.ann_id = 0

    def write(self, ann: Annotation) -> None:
        if not ann.boxes and not self.keep_empty:
            return
        file_name = _file_name(ann.image)
        image_id = self.image_ids.get(file_name)
        if image_id is None:
            self.image_id += 1
            image_id = self.image_ids[file_name] = self.image_id
            self.images.write(
                _dumps(
                    {
                        "id": image_id,
                        "file_name": file_name,
                        "width": ann.width,
                        "height": ann.height,
                    }
                )
                + "\n"
            )
        for b in ann.boxes:
            self.ann_id += 1
            w, h = b.xmax - b.xmin, b.ymax - b.ymin
            self.wnids.add(b.wnid)
            body = _dumps(
                {"image_id": image_id, "bbox": [b.xmin, b.ymin, w, h], "area": w * h, "iscrowd": 0}
            )
            self.annotations.write(f"{b.wnid}\t{self.ann_id}\t{body[1:]}\n")

    def close(self) -> None:
        wnids = sorted(self.wnids)
        ids = {w: i + 1 for i, w in enumerate(wnids)}
        out = self.out
        out.write(
            '{"info":{"description":"ImageNet bounding boxes","version":"1.0"},'
            '"licenses":[],\n"images":['
        )
        self.images.seek(0)
        for i, line in enumerate(self.images):
            out.write(("\n" if i == 0 else ",\n") + line.rstrip("\n"))
        out.write('],\n"annotations":[')
        self.annotations.seek(0)
        for i, line in enumerate(self.annotations):
            wnid, ann_id, rest = line.rstrip("\n").split("\t", 2)
            out.write(f'{"" if i == 0 else ","}\n{{"id":{ann_id},"category_id":{ids[wnid]},{rest}')
        out.write('],\n"categories":[')
        for i, wnid in enumerate(wnids):
            name = (self.names(wnid)[0] if self.names else None) or wnid
            doc = {"id": i + 1, "name": name, "supercategory": "", "wnid": wnid}
            out.write(("\n" if i == 0 else ",\n") + _dumps(doc))
        out.write("]}\n")
        self.images.close()
        self.annotations.close()


def _label_stem(image: str) -> str:
    return os.path.splitext(image)[0]


def _bad_class(wnid: str) -> bool:
    # classes.txt is one class a line, and a label line splits on spaces.
    return not wnid or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in wnid)


def yolo_check(ann: Annotation) -> tuple[Annotation | None, list[str]]:
    """``ann`` as :class:`YoloWriter` can write it, and one line for each thing refused.

    ``<filename>`` names the label file ``labels/<stem>.txt``: when it cannot name a
    file inside that folder (:func:`~.records.unsafe_part`) the file is refused
    (None). A box whose class could not be one line of ``classes.txt`` is refused
    and the others kept; a file left with no box is refused.
    """
    problem = unsafe_part(ann.image) or unsafe_part(_label_stem(ann.image))
    if problem is not None:
        return None, [
            f"{ann.source}: <filename> {ann.image!r} cannot name a label file "
            f"({problem}); file refused"
        ]
    if not any(_bad_class(b.wnid) for b in ann.boxes):
        return ann, []
    notes = [
        f"{ann.source}: object {k}: <name> {b.wnid!r} cannot be a YOLO class "
        "(blank, or holds a space, tab or line break); box refused"
        for k, b in enumerate(ann.boxes, 1)
        if _bad_class(b.wnid)
    ]
    kept = tuple(b for b in ann.boxes if not _bad_class(b.wnid))
    return (ann._replace(boxes=kept) if kept else None), notes


class YoloWriter:
    """The ultralytics layout under ``folder``: ``labels/*.txt``, ``classes.txt``, ``data.yaml``."""

    def __init__(
        self, folder: str, *, keep_empty: bool = False, names: Namer | None = None
    ) -> None:
        self.folder = folder
        self.keep_empty = keep_empty
        self.names = names
        self.spool = _spool()  # "image\twnid cx cy w h\twnid cx cy w h..."
        self.wnids: set[str] = set()

    def write(self, ann: Annotation) -> None:
        if not ann.boxes and not self.keep_empty:
            return
        w, h = ann.width, ann.height
        if not w or not h:
            raise ValueError(f"{ann.source}: image size unknown, cannot write YOLO labels")
        checked, problems = yolo_check(ann)
        if problems:  # callers that report them run yolo_check first
            raise ValueError(problems[0])
        assert checked is not None
        parts = [_label_stem(ann.image)]
        for b in ann.boxes:
            self.wnids.add(b.wnid)
            parts.append(
                f"{b.wnid} {(b.xmin + b.xmax) / 2 / w:.6f} {(b.ymin + b.ymax) / 2 / h:.6f} "
                f"{(b.xmax - b.xmin) / w:.6f} {(b.ymax - b.ymin) / h:.6f}"
            )
        self.spool.write("\t".join(parts) + "\n")

    def close(self) -> None:
        wnids = sorted(self.wnids)
        ids = {w: i for i, w in enumerate(wnids)}
        labels = os.path.join(self.folder, "labels")
        for folder in (labels, os.path.join(self.folder, "images")):
            try:
                os.makedirs(folder, exist_ok=True)
            except OSError as exc:
                raise storage_error(folder, exc) from None
        # The same image twice (two files naming it) adds to its labels: gather each
        # image's lines first, so every label file is written whole, atomically.
        per_image: dict[str, list[str]] = {}
        self.spool.seek(0)
        for line in self.spool:
            stem, *boxes = line.rstrip("\n").split("\t")
            found = per_image.setdefault(stem, [])
            for box in boxes:
                wnid, rest = box.split(" ", 1)
                found.append(f"{ids[wnid]} {rest}\n")
        self.spool.close()
        _check_earlier_labels(self.folder, labels, per_image, wnids)
        # classes.txt and data.yaml first: label files without them mean nothing, and a
        # run stopped by a full disk is completed by the next (the same files again).
        path = os.path.join(self.folder, "classes.txt")
        try:
            write_text_atomic(path, "".join(w + "\n" for w in wnids))
            path = os.path.join(self.folder, "data.yaml")
            write_text_atomic(path, self._yaml(wnids))
            for stem, lines in per_image.items():
                path = os.path.join(labels, stem + ".txt")
                write_bytes_atomic(path, "".join(lines).encode("utf-8"), fsync=False)
        except OSError as exc:
            raise storage_error(path, exc) from None

    def _yaml(self, wnids: list[str]) -> str:
        yaml = [
            f"path: {json.dumps(os.path.abspath(self.folder))}\ntrain: images\nval: images\n",
            f"nc: {len(wnids)}\nnames:\n",
        ]
        for i, wnid in enumerate(wnids):
            name = (self.names(wnid)[0] if self.names else None) or wnid
            yaml.append(f"  {i}: {json.dumps(name)}\n")
        return "".join(yaml)


def _check_earlier_labels(
    folder: str, labels: str, written: dict[str, list[str]], wnids: list[str]
) -> None:
    """Refuse to write into a labels folder whose other label files the new
    ``classes.txt`` would mislabel: class numbers count over the sorted wnids of a
    run, so the files an earlier run left (and this one does not rewrite) keep
    meaning what they meant only if the class list is the same. Files are never
    deleted: the user decides."""
    with os.scandir(labels) as it:
        others = sum(
            1 for e in it if e.name.endswith(".txt") and e.name[:-4] not in written and e.is_file()
        )
    if not others:
        return
    try:
        with open(os.path.join(folder, "classes.txt"), encoding="utf-8") as fh:
            earlier: list[str] | None = fh.read().split()
    except FileNotFoundError:
        earlier = None
    if earlier == wnids:
        return
    files = f"{others} label file" + ("s" if others > 1 else "")
    if earlier is None:
        why = "with no classes.txt to say what their class numbers mean"
    else:
        why = (
            "numbered by a classes.txt that differs from this run's "
            f"(classes then: {len(earlier)}, now: {len(wnids)})"
        )
    raise UsageError(
        f"--out {folder}: labels/ holds {files} this run does not rewrite, {why}: "
        "the new classes.txt would mislabel them. Nothing written; give an empty folder, "
        "or move labels/ and classes.txt away first"
    )


CHUNK_FORMATS = ("csv", "tsv", "json", "jsonl", "loc")


def _plain_rows(anns: Sequence[Annotation], sep: str, keep_empty: bool) -> str | None:
    """:func:`csv_rows` as csv/tsv text, joined directly; None when a field would
    need quoting (a separator, quote or line break in it), which the csv module
    then does. The text is what ``csv.writer`` writes for these rows: a number in
    its ``str`` form (``repr`` for a float), None as an empty field, no quotes."""
    lines: list[str] = []
    add = lines.append
    empty = sep * 5
    for image, folder, width, height, depth, source, boxes, _ in anns:
        size = f"{sep}{cell(width)}{sep}{cell(height)}{sep}{cell(depth)}{sep}"
        head = f"{image}{sep}{cell(folder)}{sep}"
        tail = f"{sep}{source}\n"
        if not boxes:
            if keep_empty:
                add(f"{head}{empty}{size[1:]}{sep}{sep}{tail}")
            continue
        for wnid, x0, y0, x1, y1, trunc, diff, pose in boxes:
            add(
                f"{head}{wnid}{sep}{x0}{sep}{y0}{sep}{x1}{sep}{y1}{size}"
                f"{cell(trunc)}{sep}{cell(diff)}{sep}{cell(pose)}{tail}"
            )
    text = "".join(lines)
    if (
        text.count(sep) != 13 * len(lines)
        or text.count("\n") != len(lines)
        or '"' in text
        or "\r" in text
    ):
        return None
    return text


def format_chunk(fmt: str, anns: Sequence[Annotation], keep_empty: bool = False) -> tuple[str, int]:
    """What the ``fmt`` writer writes for ``anns`` (no header, no array brackets),
    and how many images that is: a worker formats its whole batch in one go, and the
    writer's :meth:`write_chunk` only appends the text (one string crosses the
    process boundary instead of a record per box). ``fmt`` is one of
    :data:`CHUNK_FORMATS`; the text is byte for byte what ``write`` would give."""
    images = len(anns) if keep_empty else sum(1 for ann in anns if ann[6])
    if fmt in ("csv", "tsv"):
        sep = "\t" if fmt == "tsv" else ","
        text = _plain_rows(anns, sep, keep_empty)
        if text is not None:
            return text, images
    if fmt in ("csv", "tsv", "loc"):
        buf = io.StringIO()
        writer = csv.writer(buf, delimiter="\t" if fmt == "tsv" else ",", lineterminator="\n")
        if fmt == "loc":
            writer.writerows(loc_rows(anns, keep_empty=keep_empty))
        else:
            writer.writerows(csv_rows(anns, keep_empty=keep_empty))
        return buf.getvalue(), images
    docs = [_dumps(image_doc(ann)) for ann in anns if ann[6] or keep_empty]
    if fmt == "jsonl":
        return "".join([doc + "\n" for doc in docs]), images
    if fmt == "json":
        return ",\n".join(docs), images
    raise ValueError(f"no chunks for format {fmt}")


def make_writer(
    fmt: str,
    out: IO[str] | None,
    folder: str | None,
    *,
    header: bool = True,
    keep_empty: bool = False,
    names: Namer | None = None,
    category_names: Namer | None = None,
) -> Writer:
    """The writer for ``fmt``: ``out`` is the text stream (all but yolo), ``folder``
    the yolo output folder. ``names`` adds names to rows; coco and yolo name their
    classes with ``category_names``."""
    if fmt == "yolo":
        assert folder is not None
        return YoloWriter(folder, keep_empty=keep_empty, names=category_names)
    assert out is not None
    if fmt in ("csv", "tsv"):
        return CsvWriter(
            out,
            sep="," if fmt == "csv" else "\t",
            header=header,
            keep_empty=keep_empty,
            names=names,
        )
    if fmt in ("json", "jsonl"):
        return JsonWriter(out, lines=fmt == "jsonl", keep_empty=keep_empty, names=names)
    if fmt == "coco":
        return CocoWriter(out, keep_empty=keep_empty, names=category_names)
    if fmt == "loc":
        return LocWriter(out, header=header, keep_empty=keep_empty)
    raise ValueError(f"unknown format {fmt}")
