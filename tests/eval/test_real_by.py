"""``imagenet eval``: the ReaL labels, ``--by`` groups, ``--plot``, and severity against
the hierarchy's own lowest common ancestors."""

from __future__ import annotations

import gzip
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from imagenet_cli import releases
from imagenet_cli.eval.severity import Severity
from imagenet_cli.hierarchy import Hierarchy

from ..conftest import run

VAL = releases.val_labels()
REAL = releases.real_labels()
ILSVRC = releases.classes("ilsvrc2012")
DATA = Path(releases.__file__).parent / "data"


def stem(i: int) -> str:
    return f"ILSVRC2012_val_{i:08d}"


def test_the_packaged_real_labels() -> None:
    lines = gzip.decompress((DATA / "ilsvrc2012_real_labels.txt.gz").read_bytes()).decode()
    rows = lines.split("\n")[:-1]
    assert len(rows) == len(REAL) == 50_000
    assert sum(1 for r in rows if not r) == 3_163  # as the paper and timm's copy have it
    assert set().union(*REAL) <= set(ILSVRC)
    # known rows of real.json: image 1 has no label, image 2 is an alp or a ski
    assert REAL[0] == frozenset() and REAL[1] == {"n09193705", "n04228054"}
    # the original label is one of the ReaL labels for most images, not all
    agree = sum(1 for w, s in zip(VAL, REAL, strict=True) if w in s)
    assert 40_000 < agree < 46_837


def test_real_figures_computed_independently(tmp_path: Path) -> None:
    rng = random.Random(4)
    rows, chosen = [], []
    for i in rng.sample(range(50_000), 400):
        labels = rng.sample(ILSVRC, 5)
        pick = rng.random()
        if pick < 0.3 and REAL[i]:
            labels[rng.randrange(5)] = sorted(REAL[i])[0]  # a ReaL label, maybe not VAL's
        elif pick < 0.6:
            labels[rng.randrange(5)] = VAL[i]
        rows.append(f"{stem(i + 1)},{' '.join(labels)}\n")
        chosen.append((i, labels))
    (tmp_path / "p.csv").write_text("".join(rows))
    doc = json.loads(
        run(["eval", str(tmp_path / "p.csv"), "--truth", "real", "-f", "json", "-q"]).stdout
    )
    # as the paper and timm score it: images with an empty ReaL set are left out; a
    # prediction is right when it is in the set
    with_real = [(i, ls) for i, ls in chosen if REAL[i]]
    assert doc["real_images"] == len(with_real)
    assert doc["real_top1"] == pytest.approx(
        sum(ls[0] in REAL[i] for i, ls in with_real) / len(with_real)
    )
    assert doc["real_top5"] == pytest.approx(
        sum(any(x in REAL[i] for x in ls) for i, ls in with_real) / len(with_real)
    )
    assert doc["top1"] == pytest.approx(sum(ls[0] == VAL[i] for i, ls in chosen) / 400)
    assert doc["images"] == 400
    plain = json.loads(run(["eval", str(tmp_path / "p.csv"), "-f", "json", "-q"]).stdout)
    assert "real_top1" not in plain and plain["top1"] == doc["top1"]


def test_real_by_hand(tmp_path: Path) -> None:
    # 1: empty ReaL set (left out); 2: alp/ski, guessed ski first (ReaL right, val wrong);
    # 3: collie/sheltie, sheltie third
    (tmp_path / "p.csv").write_text(
        f"{stem(1)},{VAL[0]}\n{stem(2)},n04228054 n09193705\n{stem(3)},0 1 n02105855\n"
    )
    doc = json.loads(
        run(["eval", str(tmp_path / "p.csv"), "--truth", "real", "-f", "json", "-q"]).stdout
    )
    assert (doc["images"], doc["top1"], doc["top5"]) == (3, 1 / 3, 1.0)
    assert (doc["real_images"], doc["real_top1"], doc["real_top5"]) == (2, 1 / 2, 1.0)


def test_by_synset_by_hand(tmp_path: Path) -> None:
    h = Hierarchy.default()
    dogs = {w for w in ILSVRC if "n02084071" in {a.wnid for a in h.ancestors(w)}}
    dog_images = [i for i, w in enumerate(VAL) if w in dogs][:4]
    other_images = [i for i, w in enumerate(VAL) if w not in dogs][:2]
    teapot = "n04398044"
    rows = [
        f"{stem(dog_images[0] + 1)},{VAL[dog_images[0]]}",  # right
        f"{stem(dog_images[1] + 1)},{VAL[dog_images[1]]}",  # right
        f"{stem(dog_images[2] + 1)},{teapot} {VAL[dog_images[2]]}",  # second
        f"{stem(dog_images[3] + 1)},{teapot}",  # wrong
        f"{stem(other_images[0] + 1)},{VAL[other_images[0]]}",
        f"{stem(other_images[1] + 1)},{VAL[other_images[1]]}",
    ]
    (tmp_path / "p.csv").write_text("\n".join(rows) + "\n")
    doc = json.loads(
        run(
            [
                "eval",
                str(tmp_path / "p.csv"),
                "--by",
                "dog.n.01",
                "--by",
                "n04576211",
                "-f",
                "json",
                "-q",
            ]
        ).stdout
    )
    dog, wheeled = doc["by"]
    assert (dog["synset"], dog["name"]) == ("n02084071", "dog.n.01")
    assert (dog["images"], dog["top1"], dog["top5"], dog["mistakes"]) == (4, 1 / 2, 3 / 4, 2)
    assert (wheeled["images"], wheeled["top1"]) == (0, 0.0)
    assert (doc["images"], doc["top1"]) == (6, 4 / 6)
    tsv = run(["eval", str(tmp_path / "p.csv"), "--by", "dog.n.01", "-q"]).lines
    assert tsv[0].split("\t")[:5] == ["synset", "name", "images", "top1", "top5"]
    assert tsv[1].startswith("n02084071\tdog.n.01\t4\t0.5\t0.75")
    bad = run(["eval", str(tmp_path / "p.csv"), "--by", "n99999999"], expect=3)
    assert "n99999999" in bad.stderr and bad.stdout == ""


def test_severity_matches_the_hierarchy_lca() -> None:
    # brute force, as `imagenet synset lca` and the hypernym paths define it
    h = Hierarchy.default()
    judge = Severity(h)
    rng = random.Random(7)
    for _ in range(150):
        truth, guess = rng.sample(ILSVRC, 2)
        lcas = {s.wnid for s in h.lca([truth, guess])}
        steps = min(
            len(path) - 1 - path.index(lca)
            for path in h.hypernym_paths(truth)
            for lca in lcas
            if lca in path
        )
        assert judge.distance(truth, guess) == steps, (truth, guess)
        parents = {p.wnid for p in h.parents(truth)}
        under = parents & ({a.wnid for a in h.ancestors(guess)} | {guess})
        assert judge.in_parent(truth, guess) == bool(under)


def test_plot_writes_a_png(tmp_path: Path) -> None:
    from PIL import Image

    rows = [f"{stem(i + 1)},{VAL[i] if i % 3 else VAL[i + 1]}" for i in range(300)]
    (tmp_path / "p.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "plot.png"
    run(["eval", str(tmp_path / "p.csv"), "--plot", str(out), "-q"])
    with Image.open(out) as img:
        assert img.format == "PNG" and img.size[0] > 1000
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_plot_without_matplotlib_is_one_line(tmp_path: Path) -> None:
    # a matplotlib that cannot be imported, found first on the path
    shadow = tmp_path / "shadow" / "matplotlib"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('no matplotlib here')\n")
    (tmp_path / "p.csv").write_text(f"{stem(1)},{VAL[0]}\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "shadow")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "imagenet_cli",
            "eval",
            str(tmp_path / "p.csv"),
            "--plot",
            str(tmp_path / "x.png"),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "imagenet: error: --plot needs matplotlib: pip install 'matplotlib' into this "
        "environment (in a clone: pip install '.[plot]')"
    ]
    assert not (tmp_path / "x.png").exists()


def test_plot_into_a_missing_folder_fails_before_scoring(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text(f"{stem(1)},{VAL[0]}\n")
    res = run(["eval", str(tmp_path / "p.csv"), "--plot", str(tmp_path / "no" / "x.png")],
              expect=2)
    assert "its folder does not exist" in res.stderr and res.stdout == ""
