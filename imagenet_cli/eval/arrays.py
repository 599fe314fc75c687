"""Predictions as an array of scores: one row per image, one column per class.

A ``.npy`` array, or a ``.npz`` holding one (or one named ``logits``, ``probs`` or
``scores``), of logits or probabilities: only the order within a row matters. Columns
are the 1,000 ILSVRC-2012 classes in class-index order (sorted wnids), or, for a
restricted label space, either those 1,000 (the others are masked out before ranking)
or just the classes of the space, in the same order. Ties rank the lower column first.
numpy is imported here only, when an array is read.
"""

from __future__ import annotations

import io
import sys
import zipfile
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from .. import releases
from ..errors import ItemError, NotFoundError, UsageError
from .readers import OnBad, Row

if TYPE_CHECKING:
    import numpy as np

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"
NPZ_NAMES = ("logits", "probs", "probabilities", "scores", "predictions")
CHUNK = 4096  # rows ranked at a time: a few MB, whatever the array's size
ARGMAX_UP_TO = 16  # top-k by k passes of argmax up to this k, else by argpartition


def is_array(source: str) -> bool:
    """Whether ``source`` (a file, or ``-``: stdin) holds a .npy or .npz array."""
    if source == "-":
        stream = getattr(sys.stdin, "buffer", None)
        head = stream.peek(8)[:8] if stream is not None and hasattr(stream, "peek") else b""
    else:
        try:
            with open(source, "rb") as fh:
                head = fh.read(8)
        except OSError:
            return False  # the text reader names what is wrong with it
    return head.startswith(NPY_MAGIC) or head.startswith(ZIP_MAGIC)


def load(source: str) -> np.ndarray[Any, Any]:
    """The array of ``source``: a memory map for a .npy file, never unpickled."""
    import numpy as np

    name = "stdin" if source == "-" else source
    try:
        if source == "-":
            found = np.load(io.BytesIO(sys.stdin.buffer.read()), allow_pickle=False)
        else:
            found = np.load(source, mmap_mode="r", allow_pickle=False)
    except FileNotFoundError:
        raise NotFoundError(f"{name}: no such file") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise UsageError(f"{name}: not a readable .npy/.npz array: {exc}") from None
    if isinstance(found, np.lib.npyio.NpzFile):
        return _member(found, name)
    array: np.ndarray[Any, Any] = found
    return array


def _member(npz: Any, name: str) -> np.ndarray[Any, Any]:
    keys = list(npz.files)
    chosen = keys if len(keys) == 1 else [k for k in NPZ_NAMES if k in keys][:1]
    if not chosen:
        raise UsageError(
            f"{name}: holds {len(keys)} arrays ({', '.join(keys[:8])}); want one, or one "
            f"named {', '.join(NPZ_NAMES)}"
        )
    try:
        array: np.ndarray[Any, Any] = npz[chosen[0]]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise UsageError(f"{name}: cannot read array {chosen[0]!r}: {exc}") from None
    return array


def columns(
    array: np.ndarray[Any, Any], space: frozenset[str], name: str
) -> tuple[list[int] | None, list[str]]:
    """Which columns of ``array`` to rank (None: all) and the class of each kept one."""
    import numpy as np

    everything = releases.classes("ilsvrc2012")
    kind = array.dtype
    if not (np.issubdtype(kind, np.floating) or np.issubdtype(kind, np.integer)):
        raise UsageError(f"{name}: an array of {kind}; want numbers (logits or probabilities)")
    width = array.shape[1] if array.ndim == 2 else -1
    if width == len(everything):
        if len(space) == len(everything):
            return None, list(everything)
        keep = [i for i, wnid in enumerate(everything) if wnid in space]
        return keep, [everything[i] for i in keep]
    if width == len(space) and width > 0:
        return None, sorted(space)
    want = f"{len(everything):,}" + (f" or {len(space):,}" if len(space) < len(everything) else "")
    raise UsageError(
        f"{name}: an array of shape {tuple(array.shape)}; want one row per image and "
        f"{want} columns, one per class in class-index order"
    )


def ranked_rows(
    array: np.ndarray[Any, Any],
    images: Sequence[str],
    keep: list[int] | None,
    classes: list[str],
    depth: int,
    name: str,
    on_bad: OnBad,
) -> Iterator[Row]:
    """A row per array row: image ``images[i]``, its best ``depth`` classes first.
    A row holding NaN goes to ``on_bad``."""
    import numpy as np

    if array.shape[0] != len(images):
        raise UsageError(
            f"{name}: {array.shape[0]:,} rows for {len(images):,} images; rows follow the "
            "truth's image order (validation order for val and real) or --images FILE"
        )
    depth = min(depth, len(classes))
    for start in range(0, array.shape[0], CHUNK):
        block = np.asarray(array[start : start + CHUNK])
        if keep is not None:
            block = block[:, keep]
        if block.dtype.kind != "f":
            block = block.astype(np.float64)
        nan = np.isnan(block).any(axis=1)
        for i, best in enumerate(top_columns(block, depth).tolist()):
            where = f"row {start + i}"
            if nan[i]:
                on_bad(ItemError(f"{name}: {where}: not a number among the scores"))
                continue
            yield Row(where, images[start + i], [classes[c] for c in best])


def top_columns(block: np.ndarray[Any, Any], k: int) -> np.ndarray[Any, Any]:
    """The columns of each row's ``k`` highest scores, best first; equal scores rank the
    lower column first."""
    import numpy as np

    if k > ARGMAX_UP_TO:
        return _top_by_partition(block, k)
    # k passes of argmax (which takes the first of equal maxima) beat argpartition
    # five-fold for the usual k of 5
    work = np.array(block, dtype=block.dtype, copy=True)
    rows = np.arange(work.shape[0])
    top = np.empty((work.shape[0], k), dtype=np.intp)
    for place in range(k):
        best = work.argmax(axis=1)
        top[:, place] = best
        work[rows, best] = -np.inf
    # a row left with only -inf would take a column already taken: rank it in full
    for i in np.flatnonzero(np.isneginf(block[rows, top[:, -1]])):
        top[i] = np.argsort(-block[i], kind="stable")[:k]
    return top


def _top_by_partition(block: np.ndarray[Any, Any], k: int) -> np.ndarray[Any, Any]:
    import numpy as np

    neg = -block
    part = np.argpartition(neg, k - 1, axis=1)[:, :k]
    values = np.take_along_axis(neg, part, axis=1)
    top = np.take_along_axis(part, np.lexsort((part, values), axis=1), axis=1)
    # argpartition cuts a tie at the k-th place anywhere: redo those rows in full
    cut = (neg <= values.max(axis=1, keepdims=True)).sum(axis=1) > k
    for i in np.flatnonzero(cut):
        top[i] = np.argsort(neg[i], kind="stable")[:k]
    return top
