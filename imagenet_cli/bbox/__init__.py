"""Bounding boxes: ImageNet's PASCAL-VOC-style XML files read safely and fast, then
converted (csv, tsv, json, jsonl, coco, yolo, loc), counted, drawn, cropped and used to
score a localisation submission.

Owns: reading the XML (``parse``, no DTD, no entities, no network; ``inputs`` for files,
folders and tar members), repairing known quirks (``repair``), the records (``records``),
the writers of each format (``writers``, ``outputs``), and the engines of ``bbox
convert``, ``stats``, ``draw`` and ``crop`` (``convert``, ``engine``, ``stats``, ``draw``,
``crop``), localisation scoring (``evaluate``: ``bbox eval``), and those commands as
one call each (``request``: a typed request in, a
summary out). Downloading the archives is ``fetch.bbox_archives``'s.

May import: the ground floor (``errors``, ``ids``, ``cache``, ``archive``, ``releases``),
``hierarchy`` and ``drivers``; never ``fetch``, ``subset`` or ``cli``.
"""

# The formats of ``bbox convert``, declared here once (the command line's choice and the
# core's check both read it); importing it costs nothing.
FORMATS = ("csv", "tsv", "json", "jsonl", "coco", "yolo", "loc")
