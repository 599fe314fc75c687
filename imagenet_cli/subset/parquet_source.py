"""The hub's Parquet files as a source (layout ``hf-parquet``), read in place.

The Parquet files of ``ILSVRC/imagenet-1k`` (``data/train-00000-of-00294.parquet``):
``image`` (struct of ``bytes`` and ``path``) and ``label`` (the index of the sorted
1,000 wnids, or of the ``classes.tsv`` beside them). Listing reads the ``label`` and
``image.path`` columns only; a worker reads an image's row group
(:func:`parquet_image`). Splits and classes as for WebDataset shards
(:mod:`.shard_sources`). pyarrow is imported here only.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..extras import require
from .shard_sources import HF_PARQUET, SPLIT_WORDS, ClassIndex, Labelled, named_splits, visible
from .sources import Source, SourceFile, is_image_name

# Where Parquet files sit: the folder, data/ (the hub's own files), or a split's folder
# (default/train/0000.parquet, the hub's conversion of a dataset to Parquet).
PARQUET_FOLDERS = ("", "data", *SPLIT_WORDS, *(f"default/{w}" for w in SPLIT_WORDS))


def parquet_folder(path: Path) -> bool:
    """A folder holding Parquet files, directly, under ``data/`` or a split's folder."""
    return any(visible(path / sub, ".parquet") for sub in PARQUET_FOLDERS)



def pyarrow_parquet() -> Any:
    """``pyarrow.parquet``, or the one line saying how to install it."""
    return require("pyarrow.parquet", "reading Parquet", "pyarrow", "parquet")


def open_parquet(path: Path, src: Source) -> None:
    """List the Parquet files at ``path`` (a folder, its ``data/``, or one file)."""
    pq = pyarrow_parquet()
    if path.is_file():
        files = [path]
    else:
        files = [f for sub in PARQUET_FOLDERS for f in visible(path / sub, ".parquet")]
    if not files:
        raise UsageError(f"{path}: no .parquet files found (layout {HF_PARQUET})")
    folder = path if path.is_dir() else path.parent
    labels = ClassIndex(folder, ("data",))
    for split_name, file in named_splits(files, src):
        split = src.splits.setdefault(split_name, Labelled())
        assert isinstance(split, Labelled)
        try:
            _read_rows(pq, file, split, labels, src.problems)
        except (OSError, ValueError) as exc:  # pyarrow's errors are ValueErrors or OSErrors
            src.problems.append(f"{file}: not a readable Parquet file ({_first_line(exc)})")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _read_rows(
    pq: Any, file: Path, split: Labelled, labels: ClassIndex, problems: list[str]
) -> None:
    pf = pq.ParquetFile(file)
    schema = pf.schema_arrow
    names = schema.names
    if "image" not in names or "label" not in names:
        problems.append(f"{file}: no 'image' and 'label' columns (the hub's layout); not used")
        return
    image = schema.field("image").type
    struct = hasattr(image, "get_field_index")
    with_path = struct and image.get_field_index("path") >= 0
    if struct and image.get_field_index("bytes") < 0:
        problems.append(f"{file}: its 'image' column has no 'bytes'; not used")
        return
    table = pf.read(columns=["label", "image.path"] if with_path else ["label"])
    label_values = table.column("label").to_pylist()
    paths = table.column("image").combine_chunks().field("path").to_pylist() if with_path else []
    meta = pf.metadata
    byte_column = "image.bytes" if struct else "image"
    row, no_label = 0, 0
    for group in range(meta.num_row_groups):
        info = meta.row_group(group)
        count = info.num_rows
        chunk = next(
            (
                info.column(j).total_compressed_size
                for j in range(info.num_columns)
                if info.column(j).path_in_schema == byte_column
            ),
            0,
        )
        size = chunk // max(count, 1)  # estimated: lengths are not known without the bytes
        for index in range(count):
            label = label_values[row]
            path = paths[row] if with_path else None
            if label == -1 or label is None:
                no_label += 1
            else:
                wnid = labels.wnid(label) if isinstance(label, int) else None
                if wnid is None:
                    problems.append(f"{file}: row {row}: {labels.refusal(label)}; left out")
                else:
                    name = _row_name(path, wnid, file, row)
                    split.add(wnid, SourceFile(name, size, str(file), group, f"row {row}", index))
            row += 1
    if no_label:
        problems.append(f"{file}: {no_label} row(s) have no label (-1 or empty); left out")


def _row_name(path: str | None, wnid: str, file: Path, row: int) -> str:
    """The base name of ``image.path`` without the hub's ``_<wnid>`` suffix
    (``n01440764_10026_n01440764.JPEG`` -> ``n01440764_10026.JPEG``); else one made
    of the file and the row."""
    if path:
        base = path.replace("\\", "/").rpartition("/")[2]
        if is_image_name(base):
            stem, _, ext = base.rpartition(".")
            if stem.endswith("_" + wnid) and len(stem) > len(wnid) + 1:
                stem = stem[: -len(wnid) - 1]
            return f"{stem}.{ext}"
    return f"{file.name.partition('.')[0]}_{row:08d}.jpg"


_local = threading.local()


def parquet_image(path: str, group: int, row: int) -> bytes:
    """The image bytes of ``row`` of row group ``group`` in the Parquet file at ``path``.

    Each thread keeps the file it opened last and the image column of the row group it
    read last, so the rows of one row group, taken in order, read it once.
    """
    st = os.stat(path)
    key = (path, st.st_size, st.st_mtime_ns, st.st_ino)
    opened = getattr(_local, "file", None)
    if opened is None or opened[0] != key:
        pf = pyarrow_parquet().ParquetFile(path)
        image = pf.schema_arrow.field("image").type
        column = "image.bytes" if hasattr(image, "get_field_index") else "image"
        opened = _local.file = (key, pf, column)
        _local.group = None
    cached = getattr(_local, "group", None)
    if cached is None or cached[0] != group:
        _, pf, column = opened
        if not 0 <= group < pf.metadata.num_row_groups:
            raise OSError(f"no row group {group} (the file has changed?)")
        values = pf.read_row_group(group, columns=[column]).column(0).combine_chunks()
        if column == "image.bytes":
            values = values.field("bytes")
        cached = _local.group = (group, values)
    values = cached[1]
    if not 0 <= row < len(values):
        raise OSError(f"no row {row} in row group {group} (the file has changed?)")
    data = values[row].as_py()
    if not data:
        raise OSError("the row holds no image bytes")
    return bytes(data)
