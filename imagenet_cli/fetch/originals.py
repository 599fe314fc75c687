"""The original images: one archive per synset, behind an ImageNet account."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import storage_error
from ..images import ImageOptions
from . import terms
from .credentials import redact
from .download import DownloadOptions, Fetched
from .item import FetchOptions, FetchResult, finish
from .local import claim_output, closing_manifest
from .manifest import Manifest
from .plan import _is_done, clean_partials
from .sources import ImageRef

ORIGINALS_PATH = (
    "/download/synset?wnid={wnid}&username={user}&accesskey={key}&release=latest&src=stanford"
)
MAX_ORIGINALS_BYTES = 64 << 30


def fetch_originals(
    wnids: list[str],
    creds: Any,
    base_url: str,
    out: Path,
    *,
    manifest: Path | None = None,
    timeout: float = 60.0,
    image: ImageOptions | None = None,
    max_bytes: int = DownloadOptions.max_bytes,
) -> Iterator[FetchResult]:
    """Each synset's original images from the download endpoint (a tar), checked and written
    like downloaded ones; the access key never leaves the request itself. A member over
    ``max_bytes`` is refused (``too_large``) unread.

    A synset whose archive cannot be had (an HTTP error, no connection, not a tar)
    gives one row of its own, whose image_id is the wnid (see :func:`is_archive_row`).
    """
    terms.require_accepted()
    options = FetchOptions(
        out=out, manifest=manifest, image=image or ImageOptions(image_format="keep")
    )
    lock = claim_output(out)
    book = Manifest(options.manifest_path)
    try:
        with closing_manifest(book):
            yield from _originals(wnids, creds, base_url, out, book, options, timeout, max_bytes)
    finally:
        lock.__exit__(None, None, None)


def _originals(
    wnids: list[str],
    creds: Any,
    base_url: str,
    out: Path,
    book: Manifest,
    options: FetchOptions,
    timeout: float,
    max_bytes: int,
) -> Iterator[FetchResult]:
    import tarfile
    from urllib.parse import quote

    from ..errors import TermsError

    rows = book.load()
    clean_partials(out, wnids)
    archives = ArchiveRecord(book.path)
    unpacked = archives.load()
    images: dict[str, list[dict[str, Any]]] = {}
    for (wnid, image_id), row in rows.items():
        if image_id != wnid:
            images.setdefault(wnid, []).append(row)
    for wnid in wnids:
        kept = images.get(wnid)
        if wnid in unpacked and kept and all(_is_done(r, options) for r in kept):
            continue  # every image of its archive is done: not downloaded again
        url = base_url.rstrip("/") + ORIGINALS_PATH.format(
            wnid=wnid, user=quote(creds.username, safe=""), key=quote(creds.access_key, safe="")
        )
        shown = redact(url)
        # In the class folder, under the run's lock: no other run writes it, and a
        # killed run's is swept by the next (clean_partials).
        tmp = out / wnid / f".{wnid}.tar.part"
        try:
            tmp.parent.mkdir(exist_ok=True)
        except OSError as exc:
            raise storage_error(tmp.parent, exc) from None
        try:
            status = _download_to(url, tmp, timeout)
            if status in (401, 403):
                raise TermsError(
                    f"{shown}: access denied (HTTP {status}): check your username and "
                    "access key with 'imagenet login'"
                )
            if status != 200:
                yield _row(
                    book,
                    rows,
                    FetchResult(wnid, wnid, shown, f"http_{status}", error=f"HTTP {status}"),
                )
                continue
            try:
                tar = tarfile.open(tmp, "r:*")  # noqa: SIM115 - closed by the with below
            except (tarfile.TarError, OSError) as exc:
                yield _row(
                    book, rows, FetchResult(wnid, wnid, shown, "not_archive", error=str(exc))
                )
                continue
            with tar:
                for member in tar:
                    name = member.name.rsplit("/", 1)[-1]
                    if (
                        not member.isfile()
                        or not name
                        or name.startswith(".")
                        or ".." in member.name
                    ):
                        continue  # only plain files, never a path outside the class folder
                    image_id = name.rsplit(".", 1)[0]
                    if (wnid, image_id) in rows and _is_done(rows[(wnid, image_id)], options):
                        continue
                    ref = ImageRef(wnid, image_id, f"{shown}#{name}")
                    if member.size > max_bytes:
                        yield _row(
                            book,
                            rows,
                            FetchResult(
                                wnid,
                                image_id,
                                ref.url,
                                "too_large",
                                bytes=member.size,
                                attempts=1,
                                error=f"more than {max_bytes:,} bytes",
                            ),
                        )
                        continue
                    fh = tar.extractfile(member)
                    body = fh.read() if fh is not None else b""
                    fetched = Fetched(shown, status=200, body=body, attempts=1)
                    yield _row(
                        book,
                        rows,
                        finish(
                            ref,
                            fetched,
                            options.image,
                            str(out),
                        ),
                    )
            archives.add(wnid)  # after its images' rows
        except OSError as exc:
            yield _row(
                book,
                rows,
                FetchResult(wnid, wnid, shown, "connection_error", error=redact(str(exc))),
            )
        finally:
            tmp.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                tmp.parent.rmdir()  # only when the archive gave no image


class ArchiveRecord:
    """The synsets whose archive of originals was read to its end, one a line, beside
    the manifest (``.<manifest name>.archives``): with every image of one done, a rerun
    need not download its archive again."""

    def __init__(self, manifest: Path) -> None:
        self.path = manifest.parent / f".{manifest.name}.archives"

    def load(self) -> set[str]:
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return set()
        return set(text[: text.rfind("\n") + 1].split())  # a torn last line is no entry

    def add(self, wnid: str) -> None:
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o666)
            try:
                os.write(fd, f"{wnid}\n".encode())
            finally:
                os.close(fd)
        except OSError as exc:
            raise storage_error(self.path, exc) from None


def is_archive_row(result: FetchResult) -> bool:
    """Whether a row of :func:`fetch_originals` stands for a synset's whole archive that
    could not be had, rather than for one image of it."""
    return result.image_id == result.wnid and not result.ok


def _row(book: Manifest, rows: dict[tuple[str, str], Any], result: FetchResult) -> FetchResult:
    if (result.wnid, result.image_id) in rows:
        book.repeated = True  # one row per URL: this one replaces the earlier at close
    book.append(result)
    return result


def _download_to(url: str, path: Path, timeout: float) -> int:
    from .download import USER_AGENT, at_least
    from .transport import TransportError, stream

    try:
        with stream(url, timeout=timeout, user_agent=USER_AGENT) as resp:
            if resp.status != 200:
                return resp.status
            size = 0
            try:
                fh = path.open("wb")
            except OSError as exc:
                raise storage_error(path, exc) from None
            with fh:
                # as it arrives (a chunk size would wait to fill it): a trickle is caught
                for chunk in at_least(resp.chunks, timeout):
                    size += len(chunk)
                    if size > MAX_ORIGINALS_BYTES:
                        raise OSError("archive larger than the limit")
                    try:
                        fh.write(chunk)
                    except OSError as exc:
                        raise storage_error(path, exc) from None
                try:
                    fh.flush()
                except OSError as exc:
                    raise storage_error(path, exc) from None
            return 200
    except (TransportError, ValueError) as exc:
        raise OSError(redact(str(exc)) or type(exc).__name__) from None
