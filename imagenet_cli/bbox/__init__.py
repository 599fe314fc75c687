"""Bounding boxes: ImageNet's PASCAL-VOC-style XML files read safely and fast, then
converted (csv, tsv, json, jsonl, coco, yolo, loc), counted, drawn and cropped."""

# The formats of ``bbox convert``, declared here once (the command line's choice and the
# core's check both read it); importing it costs nothing.
FORMATS = ("csv", "tsv", "json", "jsonl", "coco", "yolo", "loc")
