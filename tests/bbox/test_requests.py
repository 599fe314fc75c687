"""``imagenet bbox convert`` and ``crop`` from Python: a request, one call, a summary."""

from __future__ import annotations

import io
from pathlib import Path

from imagenet_cli.bbox.convert import ConvertRequest, Source, convert
from imagenet_cli.bbox.request import (
    BboxConvertRequest,
    BboxCropRequest,
    Unwatched,
    run_convert,
    run_crop,
)

from .conftest import Fixture


def test_convert_writes_what_the_engine_writes(ann: Fixture) -> None:
    want = io.StringIO()
    convert(ConvertRequest(Source(inputs=[str(ann.folder)]), fmt="csv"), want,
            on_bad=print, on_quirk=lambda text: None)  # fmt: skip
    got = io.StringIO()
    summary = run_convert(BboxConvertRequest(inputs=[str(ann.folder)], fmt="csv"), got)
    assert got.getvalue() == want.getvalue()
    assert summary.tally.files > 0 and summary.tally.bad == 0 and not summary.to_file


def test_bad_files_and_missing_inputs_reach_the_watch(ann: Fixture) -> None:
    watch = Unwatched()
    inputs = [str(ann.hostile), str(ann.folder / "nowhere")]
    summary = run_convert(BboxConvertRequest(inputs=inputs), io.StringIO(), watch)
    assert summary.tally.bad > 0
    assert len(watch.problems) == summary.tally.bad + 1
    assert sum(p.endswith("nowhere: no such file or folder") for p in watch.problems) == 1


def test_crop_counts_what_it_wrote(
    scene: tuple[Path, Path, list[tuple[int, int, int, int]]], tmp_path: Path
) -> None:
    images, annotations, boxes = scene
    out = tmp_path / "crops"
    request = BboxCropRequest(inputs=[str(annotations)], images=str(images), out=str(out))
    summary = run_crop(request)
    assert (summary.written, summary.skipped, summary.out) == (len(boxes), 0, str(out))
    assert len(list(out.rglob("*.jpg")) + list(out.rglob("*.JPEG"))) == len(boxes)
