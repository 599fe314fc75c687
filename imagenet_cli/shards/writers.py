"""Shard writers: a WebDataset tar and a Hugging Face Parquet file, and the ``wids``
shard list.

Each writer fills a temporary file beside its shard and renames it into place only
when the shard is whole, so a shard under its own name is always finished, whatever
killed the run that wrote it. The bytes depend only on the
samples: tar headers carry a fixed time, owner and mode and each sample's members
in name order; Parquet stores no time.
"""

from __future__ import annotations

import contextlib
import json
import os
import tarfile
from collections.abc import Iterable, Sequence
from typing import IO, Protocol

from ..cache import temp_name
from . import Sample, ShardOptions
from .plan import BLOCK

MTIME = 0  # a fixed time in every tar header: the same samples give the same bytes
MODE = 0o644
RECORD = 20 * BLOCK  # a tar ends on a whole record, as tar(1) and tarfile write it
ROW_GROUP = 100  # rows per Parquet row group: what `datasets` writes for images (streamable)


class ShardWriter(Protocol):
    """A shard being written: samples added in order, then :meth:`finish` (renamed
    into place, its size returned) or :meth:`abort` (nothing left behind)."""

    def add(self, sample: Sample) -> None: ...

    def finish(self) -> int: ...

    def abort(self) -> None: ...


def open_shard(path: str, options: ShardOptions, names: Sequence[str]) -> ShardWriter:
    """A writer for the shard at ``path`` in ``options.format``; ``names`` are the class
    names by index (Parquet stores them as the label's ClassLabel)."""
    if options.format == "parquet":
        return ParquetShard(path, names)
    return TarShard(path)


def write_whole(
    path: str, options: ShardOptions, names: Sequence[str], samples: Iterable[Sample]
) -> int:
    """The shard at ``path`` of ``samples``, renamed into place when whole; its size.
    Raises OSError when the disk fails, and whatever ``samples`` raises; either way
    nothing of the shard is left behind."""
    writer = open_shard(path, options, names)
    try:
        for sample in samples:
            writer.add(sample)
        return writer.finish()
    except BaseException:
        writer.abort()
        raise


class _Temp:
    """The temporary file behind a shard, renamed onto ``path`` when finished."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.tmp = temp_name(path)
        # open for the shard's whole life: closed by publish() or discard()
        try:
            self.fh: IO[bytes] = open(self.tmp, "xb")  # noqa: SIM115
        except FileNotFoundError:
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            self.fh = open(self.tmp, "xb")  # noqa: SIM115

    def publish(self) -> int:
        # No fsync, as for the folder output's images: a kill cannot leave a renamed
        # shard unfinished, and after a machine crash the journal's sizes tell.
        self.fh.flush()
        size = self.fh.tell()
        self.fh.close()
        os.replace(self.tmp, self.path)
        return size

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self.fh.close()
        with contextlib.suppress(OSError):
            os.unlink(self.tmp)


class TarShard(_Temp):
    """A WebDataset shard: per sample ``KEY.cls`` (the class index as text), the image
    as ``KEY.<ext>`` and ``KEY.json`` (its metadata), in name order."""

    def add(self, sample: Sample) -> None:
        text = json.dumps(sample.meta, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        label = str(sample.label).encode()
        members = {"cls": label, sample.ext: sample.data, "json": text.encode()}
        for suffix in sorted(members):
            self._member(f"{sample.key}.{suffix}", members[suffix])

    def _member(self, name: str, data: bytes) -> None:
        self.fh.write(member_header(name, len(data)))
        self.fh.write(data)
        pad = -len(data) % BLOCK
        if pad:
            self.fh.write(b"\0" * pad)

    def finish(self) -> int:
        end = 2 * BLOCK
        end += -(self.fh.tell() + end) % RECORD
        self.fh.write(b"\0" * end)
        return self.publish()

    def abort(self) -> None:
        self.discard()


def member_header(name: str, size: int) -> bytes:
    """The tar header of a regular file ``name`` of ``size`` bytes, as tarfile writes it
    in PAX format with the fixed time, owner and mode; built directly for a short ASCII
    name (a few microseconds, where tarfile takes tens: a shard holds 3 members a sample)."""
    raw = name.encode("ascii", "surrogateescape") if name.isascii() else b""
    if not raw or len(raw) > 100 or raw.endswith(b"/") or size >= 8**11:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = size, MTIME, MODE
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
    head = bytearray(_HEADER)
    head[: len(raw)] = raw
    head[124:136] = b"%011o\0" % size
    head[148:155] = b"%06o\0" % sum(head)  # the checksum, counted over spaces in its place
    return bytes(head)


def _template() -> bytes:
    head = bytearray(BLOCK)
    head[100:108] = b"%07o\0" % MODE
    head[108:124] = b"0000000\0" * 2  # uid, gid
    head[136:148] = b"%011o\0" % MTIME
    head[148:156] = b" " * 8
    head[156:157] = tarfile.REGTYPE
    head[257:265] = tarfile.POSIX_MAGIC  # devmajor, devminor: empty, as for a regular file
    return bytes(head)


_HEADER = _template()


class ParquetShard(_Temp):
    """A Parquet file of the Hugging Face layout: ``image`` (struct of ``bytes`` and
    ``path``) and ``label`` (int64), with the ``datasets`` features (an ``Image`` and a
    ``ClassLabel`` with the class names) in the schema's metadata; row groups of
    :data:`ROW_GROUP` rows, uncompressed (JPEG bytes do not compress)."""

    def __init__(self, path: str, names: Sequence[str]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        super().__init__(path)
        features = {
            "image": {"_type": "Image"},
            "label": {"_type": "ClassLabel", "names": list(names)},
        }
        meta = {"info": {"features": features}}
        image = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
        self.schema = pa.schema(
            [("image", image), ("label", pa.int64())],
            metadata={"huggingface": json.dumps(meta, sort_keys=True)},
        )
        self.writer = pq.ParquetWriter(
            self.fh,
            self.schema,
            compression="none",
            use_dictionary=False,
            write_statistics=["label"],
        )
        self.rows: list[tuple[bytes, str, int]] = []

    def add(self, sample: Sample) -> None:
        self.rows.append((sample.data, file_name(sample), sample.label))
        if len(self.rows) >= ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if not self.rows:
            return
        data, paths, labels = zip(*self.rows, strict=True)
        image_type = self.schema.field("image").type
        images = pa.StructArray.from_arrays(
            [pa.array(data, pa.binary()), pa.array(paths, pa.string())],
            fields=[image_type.field(0), image_type.field(1)],
        )
        table = pa.Table.from_arrays([images, pa.array(labels, pa.int64())], schema=self.schema)
        self.writer.write_table(table, row_group_size=ROW_GROUP)
        self.rows = []

    def finish(self) -> int:
        self._flush()
        self.writer.close()
        return self.publish()

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()
        self.discard()


def file_name(sample: Sample) -> str:
    """The image's file name: its source's when that is the key with an extension (so
    ``x.JPEG`` stays ``x.JPEG``, as a reader gives it back), else ``<key>.<ext>``."""
    source = str(sample.meta.get("source") or "").replace("\\", "/").rpartition("/")[2]
    if source.rpartition(".")[0] == sample.key:
        return source
    return f"{sample.key}.{sample.ext}"


def shard_list(name: str, shards: Sequence[tuple[str, int]]) -> bytes:
    """The ``wids`` shard list (``wids-shard-index-v1``) of ``(url, nsamples)`` shards,
    URLs relative to the list's own folder: loaders learn the counts without
    opening a shard."""
    doc = {
        "__kind__": "wids-shard-index-v1",
        "wids_version": 1,
        "name": name,
        "shardlist": [{"url": url, "nsamples": n} for url, n in shards],
    }
    return (json.dumps(doc, indent=1) + "\n").encode()
