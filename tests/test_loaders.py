"""The README's walkthrough, end to end: a subset carved by its own command, loaded by its own
snippets in torchvision, Hugging Face datasets and timm, and mapped to a 1k head's indices.

Each loader test is skipped, with one line naming `make loaders`, where its library is absent.
"""

from __future__ import annotations

import csv
import importlib
import io
import subprocess
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from imagenet_cli import releases

from .docs_files import copy_files, write_files
from .subset.conftest import IMAGENETTE
from .test_docs import PIPE_CHECK, ROOT, _env, blocks, examples

README = ROOT / "README.md"
CLASSES = sorted(IMAGENETTE)
PER_SPLIT = 2 * len(CLASSES)  # docs_files writes 2 train and 2 val images per class


def need(module: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError:
        pytest.skip(f"{module} is not installed: `make loaders` installs it into .venv")


def snippet(holding: str) -> str:
    """The README's one Python block holding ``holding``."""
    found = [b.code for b in blocks(README) if b.lang == "python" and holding in b.code]
    assert len(found) == 1, f"README.md: {len(found)} Python blocks hold {holding!r}"
    return found[0]


def shell(folder: Path, startswith: str) -> str:
    """Run the README's example that starts so, in ``folder``; its stdout."""
    (ex,) = [e for e in examples(README) if e.kind == "sh" and e.text.startswith(startswith)]
    done = subprocess.run(
        ["bash", "-c", ex.text + PIPE_CHECK],
        cwd=folder,
        env=_env(folder),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"{ex.text}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def walked(tmp_path_factory: pytest.TempPathFactory, built_index: Path) -> Path:
    """A folder where the walkthrough's first steps ran: ``nette/`` is the subset."""
    template = write_files(tmp_path_factory.mktemp("files"))
    folder = copy_files(template, tmp_path_factory.mktemp("walk") / "w", built_index)
    (folder / "home").mkdir()
    shell(folder, "imagenet subset extract --from ILSVRC2012_img_train.tar --from")
    return folder


def run_snippet(code: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.chdir(folder)
    namespace: dict[str, Any] = {"__name__": "readme_snippet"}
    exec(compile(code, str(README), "exec"), namespace)
    return namespace


def tsv_classes(folder: Path) -> dict[str, int]:
    rows = list(
        csv.DictReader(io.StringIO((folder / "nette" / "classes.tsv").read_text()), delimiter="\t")
    )
    return {row["wnid"]: int(row["index"]) for row in rows}


def test_the_subset_is_what_the_loaders_get(walked: Path) -> None:
    assert tsv_classes(walked) == {w: i for i, w in enumerate(CLASSES)}
    for split in ("train", "val"):
        assert sorted(p.name for p in (walked / "nette" / split).iterdir()) == CLASSES


def test_torchvision_image_folder(walked: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    need("torchvision")
    ns = run_snippet(snippet('ImageFolder("nette/val")'), walked, monkeypatch)
    train, val = ns["train"], ns["val"]
    assert train.classes == val.classes == CLASSES
    assert train.class_to_idx == tsv_classes(walked)
    assert len(train) == len(val) == PER_SPLIT
    for path, label in train.samples + val.samples:
        assert Path(path).parent.name == CLASSES[label]
    image, label = train[0]
    assert image.size == (80, 60) and label == 0


def test_hugging_face_imagefolder(
    walked: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf" / "datasets"))
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    need("datasets")
    ns = run_snippet(snippet('load_dataset("imagefolder"'), walked, monkeypatch)
    ds = ns["ds"]
    assert sorted(ds) == ["train", "validation"]
    for split in ("train", "validation"):
        assert ds[split].features["label"].names == CLASSES
        assert ds[split].num_rows == PER_SPLIT
        assert Counter(ds[split]["label"]) == dict.fromkeys(range(len(CLASSES)), 2)
    assert ds["train"][0]["image"].size == (80, 60)


def test_timm_dataset(walked: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    need("timm")
    ns = run_snippet(snippet("create_dataset("), walked, monkeypatch)
    train = ns["train"]
    assert train.reader.class_to_idx == tsv_classes(walked)
    assert len(train) == PER_SPLIT
    image, label = train[0]
    assert image.size == (80, 60) and label == 0


def test_subset_labels_map_to_the_1k_head(walked: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = shell(walked, "cut -f2 nette/classes.tsv | imagenet synset map -")
    by_cli = {row["wnid"]: int(row["ilsvrc"]) for row in csv.DictReader(io.StringIO(out))}
    assert list(by_cli) == CLASSES
    assert by_cli["n01440764"] == 0  # tench, the first of the 1,000
    back = shell(walked, "printf '0\\n217\\n' | imagenet synset map --ilsvrc-index -")
    assert [line.split("\t")[1] for line in back.splitlines()[1:]] == ["n01440764", "n02102040"]
    need("torchvision")
    ns = run_snippet(snippet("to_1k = "), walked, monkeypatch)
    assert ns["classes"] == CLASSES
    assert ns["to_1k"] == [by_cli[w] for w in CLASSES]
    assert ns["to_1k"] == [releases.ilsvrc_index(w) for w in CLASSES]


def test_a_missing_loader_is_skipped_naming_make_loaders() -> None:
    with pytest.raises(pytest.skip.Exception, match="`make loaders`"):
        need("imagenet_cli_no_such_loader")
