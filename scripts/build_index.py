#!/usr/bin/env python3
"""Build imagenet_cli's embedded WordNet 3.0 / ImageNet data (imagenet_cli/data/).

Inputs:
  --nltk-data DIR  an nltk_data root holding corpora/wordnet/ (WordNet 3.0), made by
                   scripts/setup_wordnet.sh or by nltk.download('wordnet');
  --lists DIR      the class lists extracted by scripts/fetch_class_lists.sh;
  --subsets DIR    the curated subset lists (imagewoof.txt, imagenet-100.txt, ...) and
                   image lists (simclr-1pct.txt, simclr-10pct.txt).

The output is deterministic: the same inputs give byte-identical files (gzip with mtime 0
and no file name). Every check failing stops the build with a message.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "imagenet_cli" / "data"
DEFAULT_SUBSETS = REPO.parent / "shared" / "data" / "subsets"

TIMM = "1.0.31"
TFDS = "4.9.10"
TIMM_INFO = "timm/data/_info"
TFDS_IMAGENET = "tensorflow_datasets/datasets/imagenet2012"
TFDS_IMAGENETTE = "tensorflow_datasets/image_classification/imagenette_labels.txt"

NOUN_SYNSETS = 82115
VAL_IMAGES = 50000
WNID = re.compile(r"n[0-9]{8}")
SYNSET_COLUMNS = (
    "offset",
    "name",
    "lexfile",
    "lemmas",
    "ranks",
    "parents",
    "definition",
    "examples",
)
EXAMPLE_SEPARATOR = " | "

WORDNET_LICENCE = "WordNet 3.0 licence (Princeton University), see WORDNET_LICENSE"
APACHE = "Apache-2.0"


class BuildError(Exception):
    """A check failed: the inputs are not what the build expects."""


@dataclass(frozen=True)
class ClassList:
    """One class list: where it comes from and what it must hold."""

    name: str
    kind: str  # "release" or "preset"
    title: str
    source: str  # short citation written to classes/index.tsv
    origin: str  # "lists" (the fetched wheels) or "subsets"
    path: str  # path inside the origin folder
    count: int
    licence: str
    note: str  # provenance paragraph for PROVENANCE.md


RELEASES: tuple[ClassList, ...] = (
    ClassList(
        name="ilsvrc2012",
        kind="release",
        title="ILSVRC-2012 (ImageNet-1k)",
        source=f"timm {TIMM} {TIMM_INFO}/imagenet_synsets.txt",
        origin="lists",
        path=f"{TIMM_INFO}/imagenet_synsets.txt",
        count=1000,
        licence=APACHE,
        note=(
            "The 1,000 classes of the ImageNet Large Scale Visual Recognition Challenge 2012 "
            "(Russakovsky et al., IJCV 2015). Checked equal to tensorflow-datasets "
            f"{TFDS} `{TFDS_IMAGENET}/labels.txt` and to the set of validation labels."
        ),
    ),
    ClassList(
        name="imagenet21k",
        kind="release",
        title="ImageNet-21k (fall11, 21,841 classes)",
        source=f"timm {TIMM} {TIMM_INFO}/imagenet22k_synsets.txt",
        origin="lists",
        path=f"{TIMM_INFO}/imagenet22k_synsets.txt",
        count=21841,
        licence=APACHE,
        note=(
            "The full ImageNet release of fall 2011 (`fall11_whole.tar`), 21,841 synsets "
            "(timm calls it `imagenet-22k`). Google's variant (`imagenet21k_goog_synsets.txt`, "
            "21,843) adds n03931044 and n09859684 and is not shipped."
        ),
    ),
    ClassList(
        name="imagenet12k",
        kind="release",
        title="ImageNet-12k (timm subset of fall11)",
        source=f"timm {TIMM} {TIMM_INFO}/imagenet12k_synsets.txt",
        origin="lists",
        path=f"{TIMM_INFO}/imagenet12k_synsets.txt",
        count=11821,
        licence=APACHE,
        note=(
            "timm's 11,821-class subset of ImageNet-21k fall11, the label space of its "
            "`in12k` pretrained models. Checked to be a subset of `imagenet21k`."
        ),
    ),
    ClassList(
        name="imagenet-a",
        kind="release",
        title="ImageNet-A (natural adversarial examples)",
        source=f"timm {TIMM} {TIMM_INFO}/imagenet_a_synsets.txt",
        origin="lists",
        path=f"{TIMM_INFO}/imagenet_a_synsets.txt",
        count=200,
        licence=APACHE,
        note=(
            'The 200 ImageNet-1k classes of ImageNet-A (Hendrycks et al., "Natural Adversarial '
            'Examples", CVPR 2021). Checked to be a subset of `ilsvrc2012`.'
        ),
    ),
    ClassList(
        name="imagenet-r",
        kind="release",
        title="ImageNet-R (renditions)",
        source=f"timm {TIMM} {TIMM_INFO}/imagenet_r_synsets.txt",
        origin="lists",
        path=f"{TIMM_INFO}/imagenet_r_synsets.txt",
        count=200,
        licence=APACHE,
        note=(
            'The 200 ImageNet-1k classes of ImageNet-R (Hendrycks et al., "The Many Faces of '
            'Robustness", ICCV 2021). Checked to be a subset of `ilsvrc2012`.'
        ),
    ),
    ClassList(
        name="mini-imagenet",
        kind="release",
        title="miniImageNet (100 classes)",
        source=f"timm {TIMM} {TIMM_INFO}/mini_imagenet_synsets.txt",
        origin="lists",
        path=f"{TIMM_INFO}/mini_imagenet_synsets.txt",
        count=100,
        licence=APACHE,
        note=(
            "The 100 classes of miniImageNet (Vinyals et al. 2016; the split of Ravi & "
            "Larochelle, ICLR 2017). Checked equal to the union of the three "
            "`mini-imagenet-{train,val,test}` presets, which are pairwise disjoint."
        ),
    ),
    ClassList(
        name="imagenette",
        kind="release",
        title="Imagenette (10 easy classes)",
        source=f"tensorflow-datasets {TFDS} {TFDS_IMAGENETTE}",
        origin="lists",
        path=TFDS_IMAGENETTE,
        count=10,
        licence=APACHE,
        note=(
            "fast.ai's Imagenette (Jeremy Howard, 2019): tench, English springer, cassette "
            "player, chain saw, church, French horn, garbage truck, gas pump, golf ball, "
            "parachute. Checked equal to the curated `imagenette.txt` taken from "
            "fastai/imagenette `noisy_imagenette.csv` (Apache-2.0)."
        ),
    ),
)

PRESETS: tuple[ClassList, ...] = (
    ClassList(
        name="imagewoof",
        kind="preset",
        title="Imagewoof (10 dog breeds)",
        source="fastai/imagenette noisy_imagewoof.csv",
        origin="subsets",
        path="imagewoof.txt",
        count=10,
        licence="Apache-2.0 (fastai/imagenette)",
        note=(
            "fast.ai's Imagewoof, 10 hard-to-tell ImageNet dog breeds. Source: GitHub "
            "fastai/imagenette, `noisy_imagewoof.csv` (commit "
            "ba8db39559154607fecd46bfff9068f074082af4), the class folders of its `path` "
            "column. Cross-checked with the tensorflow-datasets "
            "Imagewoof builder's wnid set (its breed names are mismatched; only the wnids are "
            "used) and the breed list of the dataset's README."
        ),
    ),
    ClassList(
        name="imagenet-100",
        kind="preset",
        title="ImageNet-100 (CMC, Tian et al. 2020)",
        source="HobbitLong/CMC imagenet100.txt",
        origin="subsets",
        path="imagenet-100.txt",
        count=100,
        licence="BSD-2-Clause (Copyright (c) 2020, Yonglong Tian)",
        note=(
            'The ImageNet-100 subset of Tian, Krishnan & Isola, "Contrastive Multiview Coding" '
            "(ECCV 2020, arXiv:1906.05849), reused by MoCo/InsDis reproductions and solo-learn. "
            "Source: GitHub HobbitLong/CMC `imagenet100.txt` (commit "
            "bc687a26de7ae350d98f671d25d164b65336b8c2), sorted here. Two later copies citing "
            "that file agree, in order."
        ),
    ),
    ClassList(
        name="tiny-imagenet-200",
        kind="preset",
        title="Tiny ImageNet (200 classes)",
        source="CS231n tiny-imagenet-200/wnids.txt",
        origin="subsets",
        path="tiny-imagenet-200.txt",
        count=200,
        licence="none stated (dataset and vendoring repo)",
        note=(
            "Stanford CS231n Tiny ImageNet (Le & Yang, 2015), `tiny-imagenet-200/wnids.txt`, "
            "as vendored by GitHub rangeetpan/IMagenet (commit "
            "6125d8a1069df02232eb57678fd46c700411dd45): its first 200 lines; two extra lines "
            "appended in that copy (n02480855, n10148035) are left out, no other source has "
            "them. Cross-checked with a Hugging Face datasets builder (same 200, same order), a "
            "Tiny-ImageNet-C loader and the Kaggle challenge's submission header."
        ),
    ),
    ClassList(
        name="mini-imagenet-train",
        kind="preset",
        title="miniImageNet train split (64 classes)",
        source="twitter/meta-learning-lstm data/miniImagenet/train.csv",
        origin="subsets",
        path="mini-imagenet-train.txt",
        count=64,
        licence="MIT (Copyright (c) 2016 Twitter, Inc.)",
        note=(
            "Ravi & Larochelle's miniImageNet split (\"Optimization as a Model for Few-Shot "
            'Learning", ICLR 2017). Source: GitHub twitter/meta-learning-lstm '
            "`data/miniImagenet/train.csv` (commit af4c58a3838636c7ad6bb54038a67a26f37892ec), "
            "distinct values of the `label` column. Cross-checked with OpenMMLab mmfewshot "
            "`TRAIN_CLASSES` (Apache-2.0)."
        ),
    ),
    ClassList(
        name="mini-imagenet-val",
        kind="preset",
        title="miniImageNet validation split (16 classes)",
        source="twitter/meta-learning-lstm data/miniImagenet/val.csv",
        origin="subsets",
        path="mini-imagenet-val.txt",
        count=16,
        licence="MIT (Copyright (c) 2016 Twitter, Inc.)",
        note=(
            "As `mini-imagenet-train`, from `data/miniImagenet/val.csv`; cross-checked with "
            "mmfewshot `VAL_CLASSES`."
        ),
    ),
    ClassList(
        name="mini-imagenet-test",
        kind="preset",
        title="miniImageNet test split (20 classes)",
        source="twitter/meta-learning-lstm data/miniImagenet/test.csv",
        origin="subsets",
        path="mini-imagenet-test.txt",
        count=20,
        licence="MIT (Copyright (c) 2016 Twitter, Inc.)",
        note=(
            "As `mini-imagenet-train`, from `data/miniImagenet/test.csv`; cross-checked with "
            "mmfewshot `TEST_CLASSES`."
        ),
    ),
    ClassList(
        name="imagenet-o",
        kind="preset",
        title="ImageNet-O label space (200 ImageNet-1k classes)",
        source="hendrycks/natural-adv-examples eval_many_models.py",
        origin="subsets",
        path="imagenet-o.txt",
        count=200,
        licence="MIT (Copyright (c) 2019 Dan Hendrycks)",
        note=(
            'The 200 ImageNet-1k classes that label ImageNet-O (Hendrycks et al., "Natural '
            'Adversarial Examples", CVPR 2021). ImageNet-O images are out-of-distribution; '
            "its folders are named after the ImageNet-1k class a ResNet-50 wrongly predicts. "
            "This list is therefore a set of ImageNet-1k classes: a selection by it picks "
            "ImageNet-1k images of those classes, not ImageNet-O images. Source: GitHub "
            "hendrycks/natural-adv-examples `eval_many_models.py`, `imagenet_o_wnids` (commit "
            "07770705658c3a1c8acce31fd9dbd68f06e297c3). Cross-checked with PyPI clip_benchmark "
            "1.6.2 `imagenet_o_wnids`."
        ),
    ),
)

SUBSET_OF_ILSVRC = ("imagenet-a", "imagenet-r", "mini-imagenet", *(p.name for p in PRESETS))


@dataclass(frozen=True)
class ImageList:
    """One image list (a preset of named train images): where it comes from, what it holds."""

    name: str
    title: str
    source: str  # short citation written to images/index.tsv
    path: str  # file name inside the subsets folder
    count: int
    per_class: tuple[int, int]  # the fewest and most images of one class
    sha256: str  # of the upstream file, which is shipped byte for byte (gzipped)
    licence: str
    note: str


SIMCLR_COMMIT = "383d4143fd8cf7879ae10f1046a9baeb753ff438"
SIMCLR_NOTE = (
    'The ImageNet {share} label split of SimCLR (Chen et al., "A Simple Framework for '
    'Contrastive Learning of Visual Representations", ICML 2020; "Big Self-Supervised Models '
    'are Strong Semi-Supervised Learners", NeurIPS 2020), the standard semi-supervised '
    "ImageNet benchmark, also used by BYOL, SwAV and DINO and by tensorflow-datasets' "
    "`imagenet2012_subset` ({config} config). One ILSVRC-2012 train image name per line "
    "(`n04235860_14959.JPEG`), in the source's order. Source: GitHub google-research/simclr "
    "`imagenet_subsets/{file}` (commit " + SIMCLR_COMMIT + "), byte for byte."
)
IMAGE_LISTS: tuple[ImageList, ...] = (
    ImageList(
        name="simclr-1pct",
        title="SimCLR 1 % labels (12,811 train images)",
        source="google-research/simclr imagenet_subsets/1percent.txt",
        path="simclr-1pct.txt",
        count=12811,
        per_class=(12, 13),
        sha256="71e82a48ba78252683ae334c4d019ebd5c6e855b9599c1389fbe83eb9549cf17",
        licence=f"{APACHE} (google-research/simclr)",
        note=SIMCLR_NOTE.format(share="1 %", config="1pct", file="1percent.txt"),
    ),
    ImageList(
        name="simclr-10pct",
        title="SimCLR 10 % labels (128,116 train images)",
        source="google-research/simclr imagenet_subsets/10percent.txt",
        path="simclr-10pct.txt",
        count=128116,
        per_class=(128, 129),
        sha256="6d09de11e7bdaf5b1f3b1f249b6183695f97310cdd20f0c03e7235b6b9392091",
        licence=f"{APACHE} (google-research/simclr)",
        note=SIMCLR_NOTE.format(share="10 %", config="10pct", file="10percent.txt"),
    ),
)
TRAIN_IMAGE = re.compile(r"(n[0-9]{8})_[0-9]+\.JPEG")

LICENSES_MD = (
    f"""# Licences of the data in this folder

- **WordNet 3.0** (Princeton University): `synsets.tsv.gz` and `noun_exc.tsv` are derived
  from the WordNet 3.0 database. Its licence asks that the copyright notice and disclaimer
  travel with every copy, including modified ones: they are in `WORDNET_LICENSE`.
- **Apache-2.0**: class lists taken from the PyPI packages
  [timm](https://github.com/huggingface/pytorch-image-models) {TIMM}
  (`classes/ilsvrc2012.txt`, `imagenet21k.txt`, `imagenet12k.txt`, `imagenet-a.txt`,
  `imagenet-r.txt`, `mini-imagenet.txt`; `ilsvrc2012_real_labels.txt.gz`, the ReaL labels of
  [reassessed-imagenet](https://github.com/google-research/reassessed-imagenet), Apache-2.0
  as well) and
  [tensorflow-datasets](https://github.com/tensorflow/datasets) {TFDS}
  (`classes/imagenette.txt`, `ilsvrc2012_val_labels.txt.gz`). Licence text:
  <https://www.apache.org/licenses/LICENSE-2.0>, also in each wheel's
  `*.dist-info/licenses/LICENSE`. Neither package ships a NOTICE file.
- **Preset lists** (`classes/<preset>.txt`), per their sources:

| list | source | licence |
| --- | --- | --- |
"""
    + "".join(f"| `{p.name}` | {p.source} | {p.licence} |\n" for p in PRESETS)
    + """
- **Image lists** (`images/<name>.txt.gz`), per their sources:

| list | source | licence |
| --- | --- | --- |
"""
    + "".join(f"| `{i.name}` | {i.source} | {i.licence} |\n" for i in IMAGE_LISTS)
    + """
The ImageNet images themselves are not part of this project; their terms of access are
ImageNet's own.
"""
)


# --------------------------------------------------------------------------- helpers


def sha256(data: bytes) -> str:
    """Hex sha256 of some bytes."""
    return hashlib.sha256(data).hexdigest()


def gzip_bytes(data: bytes) -> bytes:
    """Gzip with a fixed header (no file name, mtime 0) so that output is reproducible."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        gz.write(data)
    return buf.getvalue()


def lines_bytes(lines: Iterable[str]) -> bytes:
    """UTF-8 text, LF line endings, trailing newline."""
    return "".join(f"{line}\n" for line in lines).encode("utf-8")


def require(condition: bool, message: str) -> None:
    """Stop the build with `message` unless `condition` holds."""
    if not condition:
        raise BuildError(message)


def read_wnids(path: Path) -> list[str]:
    """Read a one-wnid-per-line file; check the format and that there are no duplicates."""
    require(path.is_file(), f"missing {path}")
    wnids = path.read_text(encoding="utf-8").splitlines()
    bad = [w for w in wnids if not WNID.fullmatch(w)]
    require(not bad, f"{path}: not wnids: {bad[:5]}")
    dupes = sorted(w for w, n in Counter(wnids).items() if n > 1)
    require(not dupes, f"{path}: duplicate wnids: {dupes[:5]}")
    return wnids


# --------------------------------------------------------------------------- WordNet


def load_wordnet(nltk_data: Path) -> Any:
    """Load nltk's WordNet reader from `nltk_data` only, and check it is WordNet 3.0."""
    corpus = nltk_data / "corpora" / "wordnet"
    require(corpus.is_dir(), f"no WordNet corpus in {corpus} (run scripts/setup_wordnet.sh)")
    import nltk

    nltk.data.path[:] = [str(nltk_data)]
    from nltk.corpus import wordnet as wn

    wn.ensure_loaded()
    root = Path(str(wn.root)).resolve()
    require(root == corpus.resolve(), f"nltk loaded WordNet from {root}, not {corpus}")
    require(wn.get_version() == "3.0", f"WordNet {wn.get_version()}, expected 3.0")
    return wn


def corpus_text(wn: Any, name: str) -> str:
    """The text of one file of the WordNet corpus folder, opened through nltk."""
    with wn.open(name) as stream:
        return str(stream.read())


def sense_numbers(wn: Any) -> dict[tuple[str, int], int]:
    """(lower-case lemma, offset) -> sense number of every noun sense, from index.sense."""
    numbers: dict[tuple[str, int], int] = {}
    for line in corpus_text(wn, "index.sense").splitlines():
        key, offset, number, _count = line.split(" ")
        lemma, _, rest = key.partition("%")
        if rest.startswith("1:"):
            numbers[(lemma, int(offset))] = int(number)
    return numbers


def pointer_order(wn: Any) -> dict[int, dict[str, list[int]]]:
    """Offset -> pointer symbol -> target noun offsets, in data.noun's order.

    nltk keeps a synset's pointers in a set, so the order of its hypernyms() changes from
    one process to the next; the database file's order is stable and is WordNet's own.
    """
    pointers: dict[int, dict[str, list[int]]] = {}
    for line in corpus_text(wn, "data.noun").splitlines():
        if line.startswith("  "):
            continue  # licence header
        fields = line.split(" | ", 1)[0].split()
        words = int(fields[3], 16)
        start = 4 + 2 * words
        found: dict[str, list[int]] = {}
        for i in range(start + 1, start + 1 + 4 * int(fields[start]), 4):
            symbol, target, pos, source_target = fields[i : i + 4]
            if symbol in ("@", "@i") and source_target == "0000":
                require(pos == "n", f"{fields[0]}: {symbol} pointer to pos {pos}")
                targets = found.setdefault(symbol, [])
                require(int(target) not in targets, f"{fields[0]}: repeated {symbol} {target}")
                targets.append(int(target))
        pointers[int(fields[0])] = found
    return pointers


@dataclass
class SynsetTable:
    """The rows of synsets.tsv and a few counts about them."""

    rows: list[list[str]]
    offsets: set[int]
    parents: dict[int, list[int]]
    lemmas: int
    with_instance: int
    rank_above_one: int


def synset_table(wn: Any) -> SynsetTable:
    """One row per noun synset, sorted by offset; checks names, ranks and the root."""
    # nltk's own parse of index.noun: lemma -> pos -> offsets in sense-number order; the
    # synset names nltk gives (dog.n.01) are positions in these same lists.
    index: dict[str, dict[str, list[int]]] = wn._lemma_pos_offset_map
    senses = sense_numbers(wn)
    order = pointer_order(wn)
    rows: list[list[str]] = []
    parents: dict[int, list[int]] = {}
    lemmas = with_instance = rank_above_one = 0
    for synset in sorted(wn.all_synsets("n"), key=lambda s: s.offset()):
        offset: int = synset.offset()
        names = [lemma.name() for lemma in synset.lemmas()]
        ranks = [index[name.lower()]["n"].index(offset) + 1 for name in names]
        for name, rank in zip(names, ranks, strict=True):
            require(" " not in name, f"{offset:08d}: lemma {name!r} has a space")
            sense = senses.get((name.lower(), offset))
            require(sense == rank, f"{offset:08d} {name}: rank {rank}, index.sense {sense}")
        hypernyms, instances = order[offset].get("@", []), order[offset].get("@i", [])
        for symbol, ordered, found in (
            ("@", hypernyms, synset.hypernyms()),
            ("@i", instances, synset.instance_hypernyms()),
        ):
            require(
                {("n", o) for o in ordered} == {(p.pos(), p.offset()) for p in found},
                f"{offset:08d}: {symbol} pointers of data.noun differ from nltk's",
            )
        examples: list[str] = synset.examples()
        require(
            all(EXAMPLE_SEPARATOR not in e for e in examples),
            f"{offset:08d}: an example contains {EXAMPLE_SEPARATOR!r}",
        )
        row = [
            f"{offset:08d}",
            synset.name(),
            synset.lexname(),
            " ".join(names),
            " ".join(str(r) for r in ranks),
            " ".join([f"h{o:08d}" for o in hypernyms] + [f"i{o:08d}" for o in instances]),
            synset.definition(),
            EXAMPLE_SEPARATOR.join(examples),
        ]
        for field in row:
            require(
                "\t" not in field and "\n" not in field and "\r" not in field,
                f"{offset:08d}: a field holds a tab or a line break: {field!r}",
            )
        rows.append(row)
        parents[offset] = hypernyms + instances
        lemmas += len(names)
        with_instance += bool(instances)
        rank_above_one += sum(r > 1 for r in ranks)

    offsets = set(parents)
    require(len(rows) == NOUN_SYNSETS, f"{len(rows)} noun synsets, expected {NOUN_SYNSETS}")
    require(len(offsets) == len(rows), "duplicate offsets")
    require(len({r[1] for r in rows}) == len(rows), "duplicate synset names")
    roots = [f"{o:08d}" for o, ps in parents.items() if not ps]
    require(roots == ["00001740"], f"noun roots {roots}, expected only 00001740 (entity)")
    dog = next(r for r in rows if r[0] == "02084071")
    require(dog[1] == "dog.n.01" and dog[4].split()[0] == "1", f"unexpected dog row {dog}")
    return SynsetTable(rows, offsets, parents, lemmas, with_instance, rank_above_one)


def noun_exceptions(wn: Any) -> list[tuple[str, str]]:
    """noun.exc as sorted, distinct (inflected, base) pairs, one per base."""
    pairs: set[tuple[str, str]] = set()
    for line in corpus_text(wn, "noun.exc").splitlines():
        inflected, *bases = line.split()
        require(bool(bases), f"noun.exc: no base form in {line!r}")
        pairs.update((inflected, base) for base in bases)
    return sorted(pairs)


def wordnet_license(wn: Any) -> str:
    """Princeton's licence notice, as `wn -l` prints it, from the header of data.noun."""
    body: list[str] = []
    for line in corpus_text(wn, "data.noun").split("\n"):
        match = re.fullmatch(r"  [0-9]+ (.*)", line)
        if match is None:
            break
        body.append(match.group(1))
    text = "WordNet Release 3.0\n\n" + "\n".join(body) + "\n"
    require(
        "WordNet 3.0 Copyright 2006 by Princeton University" in text,
        "no WordNet 3.0 copyright notice in the header of data.noun",
    )
    license_file = Path(str(wn.root)) / "LICENSE"
    if license_file.is_file():
        words = license_file.read_text(encoding="utf-8").split()
        if words != text.split():
            print(f"warning: {license_file} differs from the notice in data.noun", file=sys.stderr)
    return text


def debian_version(corpus: Path) -> str | None:
    """wordnet-base's Debian version, if the corpus's data.noun is that package's file."""
    system = Path("/usr/share/wordnet/data.noun")
    if not system.is_file() or system.read_bytes() != (corpus / "data.noun").read_bytes():
        return None
    try:
        result = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", "wordnet-base"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return result.stdout.strip() or None


# --------------------------------------------------------------------------- class lists


def wheel_checksums(lists: Path) -> dict[str, str]:
    """Wheel file name -> sha256, as recorded by fetch_class_lists.sh; checks the pins."""
    path = lists / "SOURCES.tsv"
    require(path.is_file(), f"missing {path} (run scripts/fetch_class_lists.sh)")
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()[1:]]
    sums = {name: digest for name, digest in rows}
    for wheel in (f"timm-{TIMM}-py3-none-any.whl", f"tensorflow_datasets-{TFDS}-py3-none-any.whl"):
        require(wheel in sums, f"{path}: no {wheel}; fetch the pinned versions")
    return sums


def load_class_lists(
    lists: Path, subsets: Path, nouns: set[int]
) -> tuple[dict[str, list[str]], dict[str, list[str]], list[str]]:
    """Read and cross-check every class list; return lists, non-WordNet wnids, notes."""
    roots = {"lists": lists, "subsets": subsets}
    out: dict[str, list[str]] = {}
    for spec in RELEASES + PRESETS:
        wnids = read_wnids(roots[spec.origin] / spec.path)
        require(len(wnids) == spec.count, f"{spec.name}: {len(wnids)} wnids, expected {spec.count}")
        out[spec.name] = sorted(wnids)

    sets = {name: set(wnids) for name, wnids in out.items()}
    ilsvrc = sets["ilsvrc2012"]
    tfds_labels = set(read_wnids(lists / TFDS_IMAGENET / "labels.txt"))
    require(tfds_labels == ilsvrc, "tfds imagenet2012/labels.txt differs from timm's 1k list")
    shared_imagenette = set(read_wnids(subsets / "imagenette.txt"))
    require(sets["imagenette"] == shared_imagenette, "imagenette differs from subsets' list")
    splits = [sets[f"mini-imagenet-{s}"] for s in ("train", "val", "test")]
    require(sum(len(s) for s in splits) == len(set().union(*splits)), "mini splits overlap")
    require(set().union(*splits) == sets["mini-imagenet"], "mini splits != mini-imagenet")
    require(sets["imagenet12k"] <= sets["imagenet21k"], "imagenet12k not within imagenet21k")
    for name in SUBSET_OF_ILSVRC:
        extra = sorted(sets[name] - ilsvrc)
        require(not extra, f"{name}: not ILSVRC-2012 classes: {extra[:5]}")

    missing = {n: [w for w in ws if int(w[1:]) not in nouns] for n, ws in out.items()}
    notes = []
    outside_21k = sorted(ilsvrc - sets["imagenet21k"])
    if outside_21k:
        notes.append(
            f"ILSVRC-2012 classes not in the fall11 `imagenet21k` list ({len(outside_21k)}): "
            + ", ".join(outside_21k)
        )
    outside_12k = sorted(ilsvrc - sets["imagenet12k"])
    if outside_12k:
        notes.append(
            f"ILSVRC-2012 classes not in `imagenet12k` ({len(outside_12k)}): "
            + ", ".join(outside_12k)
        )
    return out, {n: ws for n, ws in missing.items() if ws}, notes


def validation_labels(lists: Path, ilsvrc: list[str]) -> list[str]:
    """The 50,000 ILSVRC-2012 validation labels, checked: 1,000 classes x 50 images."""
    path = lists / TFDS_IMAGENET / "validation_labels.txt"
    require(path.is_file(), f"missing {path}")
    labels = path.read_text(encoding="utf-8").splitlines()
    require(len(labels) == VAL_IMAGES, f"{len(labels)} validation labels, expected {VAL_IMAGES}")
    counts = Counter(labels)
    require(set(counts) == set(ilsvrc), "validation labels are not the 1,000 ILSVRC classes")
    require(set(counts.values()) == {50}, "a validation class does not have 50 images")
    return labels


def real_labels(lists: Path, ilsvrc: list[str]) -> list[str]:
    """The ReaL labels of the 50,000 validation images, a line each: the wnids of the
    image's ReaL set, space-separated in class-index order (empty: no label kept)."""
    path = lists / TIMM_INFO / "imagenet_real_labels.json"
    require(path.is_file(), f"missing {path}")
    sets = json.loads(path.read_text(encoding="utf-8"))
    require(len(sets) == VAL_IMAGES, f"{len(sets)} ReaL label sets, expected {VAL_IMAGES}")
    for i, labels in enumerate(sets, start=1):
        ok = all(isinstance(x, int) and 0 <= x < len(ilsvrc) for x in labels)
        require(ok and len(set(labels)) == len(labels), f"ReaL labels of image {i}: {labels}")
    return [" ".join(ilsvrc[x] for x in sorted(labels)) for labels in sets]


def load_image_lists(subsets: Path, ilsvrc: list[str]) -> dict[str, tuple[bytes, int]]:
    """Read and check every image list; return its upstream bytes and its class count."""
    known = set(ilsvrc)
    out: dict[str, tuple[bytes, int]] = {}
    for spec in IMAGE_LISTS:
        path = subsets / spec.path
        require(path.is_file(), f"missing {path}")
        data = path.read_bytes()
        require(sha256(data) == spec.sha256, f"{path}: sha256 differs from the recorded one")
        names = data.decode("ascii").splitlines()
        require(len(names) == spec.count, f"{path}: {len(names)} names, expected {spec.count}")
        require(len(set(names)) == len(names), f"{path}: a name is listed twice")
        bad = [n for n in names if not TRAIN_IMAGE.fullmatch(n)]
        require(not bad, f"{path}: not train image names: {bad[:5]}")
        per_class = Counter(n.split("_", 1)[0] for n in names)
        outside = sorted(set(per_class) - known)
        require(not outside, f"{path}: not ILSVRC-2012 classes: {outside[:5]}")
        fewest, most = min(per_class.values()), max(per_class.values())
        require(
            (fewest, most) == spec.per_class,
            f"{path}: {fewest}-{most} images per class, expected {spec.per_class}",
        )
        out[spec.name] = (data, len(per_class))
    return out


# --------------------------------------------------------------------------- output


def classes_index() -> bytes:
    """classes/index.tsv: one row per list."""
    rows = ["name\tkind\tcount\ttitle\tsource"]
    rows += [f"{c.name}\t{c.kind}\t{c.count}\t{c.title}\t{c.source}" for c in RELEASES + PRESETS]
    return lines_bytes(rows)


def images_index(counts: dict[str, int]) -> bytes:
    """images/index.tsv: one row per image list."""
    rows = ["name\tcount\tclasses\ttitle\tsource"]
    rows += [f"{i.name}\t{i.count}\t{counts[i.name]}\t{i.title}\t{i.source}" for i in IMAGE_LISTS]
    return lines_bytes(rows)


def provenance(
    files: dict[str, bytes],
    wn: Any,
    table: SynsetTable,
    exceptions: list[tuple[str, str]],
    missing: dict[str, list[str]],
    notes: list[str],
    wheels: dict[str, str],
    inputs: dict[str, str],
    debian: str | None,
    image_classes: dict[str, int],
) -> bytes:
    """PROVENANCE.md: sources, versions, licences, checksums, counts, rebuild commands."""
    import nltk

    def digest(name: str) -> str:
        return f"`{sha256(files[name])}`"

    wn_source = (
        f"Debian packages `wordnet-base` / `wordnet-sense-index` {debian}"
        if debian
        else "the nltk `wordnet` corpus"
    )
    bases = {base for _, base in exceptions}
    lex_bases = sum(
        1 for b in bases if b in wn._lemma_pos_offset_map and "n" in wn._lemma_pos_offset_map[b]
    )
    real = gzip.decompress(files["ilsvrc2012_real_labels.txt.gz"]).decode().splitlines()
    real_empty = sum(1 for line in real if not line)
    real_labels_total = sum(len(line.split()) for line in real)
    out: list[str] = [
        "# Provenance of imagenet_cli/data",
        "",
        "Everything here is generated by `scripts/build_index.py`; do not edit by hand.",
        "The same inputs give byte-identical files (gzip files have mtime 0 and no file name;",
        "the compressed bytes can change with the zlib version, not the content).",
        "",
        "## Rebuild",
        "",
        "```sh",
        "sh scripts/setup_wordnet.sh /tmp/nltk_data        # apt-get: WordNet 3.0",
        "sh scripts/fetch_class_lists.sh /tmp/class-lists  # pip download: timm, tfds",
        "python3 -m venv /tmp/build-venv && /tmp/build-venv/bin/pip install "
        f"nltk=={nltk.__version__}",
        "/tmp/build-venv/bin/python scripts/build_index.py --nltk-data /tmp/nltk_data \\",
        "    --lists /tmp/class-lists --subsets ../shared/data/subsets --out imagenet_cli/data",
        "```",
        "",
        "## Sources",
        "",
        "| source | version | licence |",
        "| --- | --- | --- |",
        f"| Princeton WordNet, read with nltk {nltk.__version__} from {wn_source} "
        f"| {wn.get_version()} | {WORDNET_LICENCE} |",
    ]
    out += [
        f"| PyPI wheel `{w}` (sha256 `{d}`) | {w.split('-')[1]} | {APACHE} |"
        for w, d in wheels.items()
    ]
    out += [
        "| curated preset lists (see below) | - | per list |",
        f"| GitHub google-research/simclr `imagenet_subsets/` | commit {SIMCLR_COMMIT} "
        f"| {APACHE} |",
        "",
        "WordNet input files used (sha256): "
        + ", ".join(f"`{name}` `{d}`" for name, d in inputs.items())
        + ".",
        "",
        "## Files",
        "",
        "### synsets.tsv.gz",
        "",
        f"- Source: WordNet {wn.get_version()} `data.noun` and `index.noun` (ranks "
        "cross-checked with `index.sense`), through nltk's `WordNetCorpusReader`.",
        f"- Licence: {WORDNET_LICENCE}.",
        f"- sha256: {digest('synsets.tsv.gz')}",
        f"- Counts: {len(table.rows):,} rows (every WordNet 3.0 noun synset, sorted by offset) "
        f"plus a header; {table.lemmas:,} lemmas, {table.rank_above_one:,} of them with "
        f"rank > 1; {table.with_instance:,} synsets with instance hypernyms; one root, "
        "`00001740 entity.n.01`.",
        "- Format: gzip of UTF-8 TSV, LF, header `" + "\\t".join(SYNSET_COLUMNS) + "`. "
        "`offset`: 8 digits (the wnid is `n` + offset). `name`: nltk's synset name. "
        "`lexfile`: lexicographer file. `lemmas`: lemma names in WordNet order, "
        "space-separated, underscores and case as in WordNet. `ranks`: for each lemma, its "
        "sense number (the 1-based position of this synset among the lemma's noun senses "
        "in `index.noun`). `parents`: `h` + offset per hypernym, then `i` + offset per "
        "instance hypernym, each in `data.noun`'s order (nltk returns them in set order, "
        "which varies between runs; the sets are checked equal). `definition`, and "
        "`examples` joined with "
        f"`{EXAMPLE_SEPARATOR}`. Nothing is escaped: no field holds a tab or a line break.",
        "",
        "### noun_exc.tsv",
        "",
        "- Source: WordNet 3.0 `noun.exc` (irregular noun forms).",
        f"- Licence: {WORDNET_LICENCE}.",
        f"- sha256: {digest('noun_exc.tsv')}",
        f"- Counts: {len(exceptions):,} lines, {len({i for i, _ in exceptions}):,} inflected "
        f"forms, {len(bases):,} base forms ({lex_bases:,} of them noun lemmas of WordNet).",
        "- Format: `inflected<TAB>base`, one line per base when a form has several, sorted "
        "(byte order), no header; exact duplicate lines of `noun.exc` appear once. "
        "Regular plurals are not listed: WordNet's morphology resolves them with the noun "
        "suffix rules (ending -> replacement) `s` -> nothing, `ses` -> `s`, `xes` -> `x`, "
        "`zes` -> `z`, `ches` -> `ch`, `shes` -> `sh`, `men` -> `man`, `ies` -> `y` (nltk "
        "adds `ves` -> `f`), keeping a result only if it is a noun lemma: `women` -> `woman` "
        "comes from `men` -> `man`, while `geese` -> `goose` and `mice` -> `mouse` are here.",
        "",
        "### ilsvrc2012_val_labels.txt.gz",
        "",
        f"- Source: tensorflow-datasets {TFDS}, `{TFDS_IMAGENET}/validation_labels.txt`.",
        f"- Licence: {APACHE}.",
        f"- sha256: {digest('ilsvrc2012_val_labels.txt.gz')}",
        f"- Counts: {VAL_IMAGES:,} lines, line k (1-based) is the wnid of "
        "`ILSVRC2012_val_%08d.JPEG` % k; 1,000 distinct wnids (= `classes/ilsvrc2012.txt`), "
        "each exactly 50 times.",
        "",
        "### ilsvrc2012_real_labels.txt.gz",
        "",
        f"- Source: timm {TIMM}, `{TIMM_INFO}/imagenet_real_labels.json`: the ReaL labels of "
        "Beyer et al. 2020, \"Are we done with ImageNet?\" "
        "(<https://github.com/google-research/reassessed-imagenet>, `real.json`), as timm "
        "ships them.",
        f"- Licence: {APACHE} (timm; the ReaL labels are published under Apache-2.0 too).",
        f"- sha256: {digest('ilsvrc2012_real_labels.txt.gz')}",
        f"- Counts: {VAL_IMAGES:,} lines, line k (1-based) holds the ReaL set of "
        "`ILSVRC2012_val_%08d.JPEG` % k: its wnids, space-separated, in class-index order; "
        f"{real_empty:,} lines are empty (no label kept); {real_labels_total:,} labels in all.",
        "",
        "### WORDNET_LICENSE",
        "",
        "- Princeton's WordNet 3.0 licence notice, as distributed with WordNet 3.0 (the "
        "header of every database file, and the text `wn -l` prints).",
        f"- sha256: {digest('WORDNET_LICENSE')}",
        "",
        "### LICENSES.md",
        "",
        f"- The licences of the sources above. sha256: {digest('LICENSES.md')}",
        "",
        "### classes/",
        "",
        "One wnid per line, sorted (byte order), LF, trailing newline. `index.tsv` (header "
        "`name\\tkind\\tcount\\ttitle\\tsource`) lists them: `release` lists come from the "
        "wheels above, `preset` lists from curated sources. sha256 of `classes/index.tsv`: "
        f"{digest('classes/index.tsv')}.",
        "",
        "| file | kind | count | source | licence | sha256 |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for c in RELEASES + PRESETS:
        name = f"classes/{c.name}.txt"
        out.append(
            f"| `{name}` | {c.kind} | {c.count:,} | {c.source} | {c.licence} | {digest(name)} |"
        )
    total = sum(c.count for c in RELEASES + PRESETS)
    out += [
        "",
        f"All {total:,} wnids of the {len(RELEASES + PRESETS)} lists were checked against "
        "the WordNet 3.0 noun synsets: "
        + (
            "every one is a noun synset."
            if not missing
            else "these are not, and are kept as their source lists them: "
            + "; ".join(f"{n}: {', '.join(ws)}" for n, ws in missing.items())
            + "."
        ),
        "",
    ]
    out += [f"- Note: {n}." for n in notes]
    out += ["", "#### Where each list comes from", ""]
    for c in RELEASES + PRESETS:
        out += [f"- `{c.name}` ({c.title}): {c.note}"]
    out += [
        "",
        "Every list is checked at build time: format `n` + 8 digits, no duplicates, the "
        "expected count, and the cross-checks named above; the presets and `imagenet-a`, "
        "`imagenet-r`, `mini-imagenet` are all ILSVRC-2012 classes.",
        "",
        "### images/",
        "",
        "Image lists: the presets that name images, not classes. Each `<name>.txt.gz` is the "
        "gzip of the upstream file, byte for byte (its sha256 below is the upstream file's, of "
        "the uncompressed bytes): one image name per line, in the upstream order. `index.tsv` "
        "(header `name\\tcount\\tclasses\\ttitle\\tsource`) lists them, with their "
        "image and class counts. sha256 of `images/index.tsv`: "
        f"{digest('images/index.tsv')}.",
        "",
        "| file | images | classes | per class | source | licence | sha256 (uncompressed) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for i in IMAGE_LISTS:
        out.append(
            f"| `images/{i.name}.txt.gz` | {i.count:,} | {image_classes[i.name]:,} "
            f"| {i.per_class[0]}-{i.per_class[1]} | {i.source} | {i.licence} | `{i.sha256}` |"
        )
    out += ["", "#### Where each image list comes from", ""]
    out += [f"- `{i.name}` ({i.title}): {i.note}" for i in IMAGE_LISTS]
    out += [
        "",
        "Every image list is checked at build time: the upstream sha256, the expected count, "
        "no name twice, every name an ILSVRC-2012 train image name (`<wnid>_<n>.JPEG`) of one "
        "of the 1,000 classes, and the expected number of images per class.",
        "",
    ]
    return lines_bytes(out)


def build(nltk_data: Path, lists: Path, subsets: Path) -> dict[str, bytes]:
    """Compute every output file's bytes, keyed by path relative to the output folder."""
    wn = load_wordnet(nltk_data)
    corpus = nltk_data / "corpora" / "wordnet"
    table = synset_table(wn)
    exceptions = noun_exceptions(wn)
    wheels = wheel_checksums(lists)
    classes, missing, notes = load_class_lists(lists, subsets, table.offsets)
    val = validation_labels(lists, classes["ilsvrc2012"])
    real = real_labels(lists, classes["ilsvrc2012"])
    image_lists = load_image_lists(subsets, classes["ilsvrc2012"])

    files: dict[str, bytes] = {
        "synsets.tsv.gz": gzip_bytes(
            lines_bytes(["\t".join(SYNSET_COLUMNS)] + ["\t".join(r) for r in table.rows])
        ),
        "noun_exc.tsv": lines_bytes(f"{i}\t{b}" for i, b in exceptions),
        "ilsvrc2012_val_labels.txt.gz": gzip_bytes(lines_bytes(val)),
        "ilsvrc2012_real_labels.txt.gz": gzip_bytes(lines_bytes(real)),
        "WORDNET_LICENSE": wordnet_license(wn).encode("utf-8"),
        "LICENSES.md": LICENSES_MD.encode("utf-8"),
        "classes/index.tsv": classes_index(),
    }
    for name, wnids in classes.items():
        files[f"classes/{name}.txt"] = lines_bytes(wnids)
    for name, (data, _) in image_lists.items():
        files[f"images/{name}.txt.gz"] = gzip_bytes(data)
    image_classes = {name: count for name, (_, count) in image_lists.items()}
    files["images/index.tsv"] = images_index(image_classes)
    inputs = {
        name: sha256((corpus / name).read_bytes())
        for name in ("data.noun", "index.noun", "noun.exc", "index.sense")
    }
    files["PROVENANCE.md"] = provenance(
        files,
        wn,
        table,
        exceptions,
        missing,
        notes,
        wheels,
        inputs,
        debian_version(corpus),
        image_classes,
    )
    for name, wnids in missing.items():
        print(f"warning: {name}: {len(wnids)} wnids not in WordNet 3.0: {wnids}", file=sys.stderr)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    return files


def write(files: dict[str, bytes], out: Path) -> None:
    """Write the files (atomically each) and print size and sha256 of each."""
    for name in sorted(files):
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(files[name])
        os.replace(tmp, target)
        print(f"{len(files[name]):>10}  {sha256(files[name])}  {name}")
    expected = {Path(n).name for n in files if n.startswith("classes/")}
    stale = sorted(p.name for p in (out / "classes").iterdir() if p.name not in expected)
    if stale:
        print(
            f"warning: files in {out / 'classes'} this build does not make: {stale}",
            file=sys.stderr,
        )


def default_nltk_data() -> Path:
    """Return the first $NLTK_DATA entry, else ~/nltk_data (as setup_wordnet.sh)."""
    env = os.environ.get("NLTK_DATA", "").split(os.pathsep)[0]
    return Path(env) if env else Path.home() / "nltk_data"


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--nltk-data",
        type=Path,
        metavar="DIR",
        default=default_nltk_data(),
        help="nltk_data root with corpora/wordnet (default: %(default)s)",
    )
    parser.add_argument(
        "--lists",
        type=Path,
        metavar="DIR",
        required=True,
        help="folder filled by scripts/fetch_class_lists.sh",
    )
    parser.add_argument(
        "--subsets",
        type=Path,
        metavar="DIR",
        default=None,
        help=f"curated subset lists (default: {DEFAULT_SUBSETS} if present)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        default=DEFAULT_OUT,
        help="output folder (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    subsets: Path | None = args.subsets
    if subsets is None:
        if not DEFAULT_SUBSETS.is_dir():
            parser.error(f"{DEFAULT_SUBSETS} not found: pass --subsets")
        subsets = DEFAULT_SUBSETS
    try:
        files = build(args.nltk_data, args.lists, subsets)
    except BuildError as error:
        print(f"build_index: {error}", file=sys.stderr)
        return 1
    write(files, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
