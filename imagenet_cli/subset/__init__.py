"""Class subsets carved out of a local ImageNet copy.

Owns: :func:`~imagenet_cli.subset.sources.open_source` reads a source (class folders, the
train tar of per-class tars, the validation folder or tar, Kaggle's layout, a folder
written by ``imagenet fetch``); :func:`~imagenet_cli.subset.selection.select` picks
classes; :func:`~imagenet_cli.subset.plan.make_plan` samples images per class;
:func:`~imagenet_cli.subset.extract.extract` copies, links or resizes them into an
ImageFolder tree with ``classes.tsv`` and ``manifest.csv`` (request -> run -> summary),
or, through :mod:`~imagenet_cli.subset.shards`, into WebDataset or Parquet shards.

May import: the ground floor (``errors``, ``ids``, ``cache``, ``config``, ``archive``,
``images``, ``releases``), ``hierarchy``, ``drivers``, ``shards`` and ``bbox`` (for ``--bbox``);
never ``fetch`` or ``cli``.
"""
