#!/bin/sh
# Fetch the ImageNet class lists (and the ReaL validation labels) that scripts/build_index.py
# reads, from two PyPI wheels.
#
#   sh scripts/fetch_class_lists.sh OUTDIR
#
# Downloads (no dependencies, no install) the pinned wheels of timm and tensorflow-datasets
# (both Apache-2.0) and extracts only the class-list files and the licence files into OUTDIR,
# under their paths inside the wheels. OUTDIR/SOURCES.tsv records each wheel's file name and
# sha256. Set PYTHON to choose the interpreter whose pip is used (default: python3).
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
out=$1
python=${PYTHON:-python3}
timm_version=1.0.31
tfds_version=4.9.10

wheels=$(mktemp -d)
trap 'rm -rf "$wheels"' EXIT INT TERM

"$python" -m pip download --quiet --no-deps --only-binary=:all: \
    "timm==$timm_version" "tensorflow-datasets==$tfds_version" -d "$wheels" >&2

mkdir -p "$out"
"$python" - "$wheels" "$out" "$timm_version" "$tfds_version" <<'EOF'
"""Extract the needed members of the two wheels and record their checksums."""
import fnmatch
import hashlib
import pathlib
import sys
import zipfile

wheels, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
timm_version, tfds_version = sys.argv[3], sys.argv[4]
wanted = {
    f"timm-{timm_version}-py3-none-any.whl": [
        "timm/data/_info/*.txt",
        "timm/data/_info/imagenet_real_labels.json",
        f"timm-{timm_version}.dist-info/licenses/LICENSE",
    ],
    f"tensorflow_datasets-{tfds_version}-py3-none-any.whl": [
        "tensorflow_datasets/datasets/imagenet2012/labels.txt",
        "tensorflow_datasets/datasets/imagenet2012/validation_labels.txt",
        "tensorflow_datasets/image_classification/imagenette_labels.txt",
        f"tensorflow_datasets-{tfds_version}.dist-info/licenses/LICENSE",
    ],
}
rows = ["wheel\tsha256"]
for wheel, patterns in wanted.items():
    path = wheels / wheel
    rows.append(f"{wheel}\t{hashlib.sha256(path.read_bytes()).hexdigest()}")
    with zipfile.ZipFile(path) as zf:
        for pattern in patterns:
            members = [n for n in zf.namelist() if fnmatch.fnmatchcase(n, pattern)]
            if not members:
                sys.exit(f"{wheel}: nothing matches {pattern}")
            for name in members:
                target = out / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(zf.read(name))
(out / "SOURCES.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
EOF
echo "class lists from timm $timm_version and tensorflow-datasets $tfds_version in $out" >&2
