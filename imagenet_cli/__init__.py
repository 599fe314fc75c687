"""imagenet-cli: ImageNet synsets, images, boxes and subsets from the command line and Python.

Owns: the floors below, top to bottom; docs/architecture.md draws them.

* ``cli`` (and ``__main__``): the face. Parses options, calls one core function, renders
  its result; the only package that prints, exits or imports typer/rich.
* ``fetch``, ``bbox``, ``subset``: one package per domain (images from the web, bounding
  boxes, class subsets).
* ``drivers``: runs a domain's batches in local processes or on a Dask cluster.
* ``hierarchy``, ``synset_index``: the synset graph and its on-disk index.
* ``errors``, ``ids``, ``cache``, ``config``, ``places``, ``hooks``,
  ``releases``, ``archive``, ``images``, ``request``: the ground floor every package
  stands on.

May import: a module imports the standard library, its own floor and the floors below,
never above (``tests/test_layers.py`` checks it and that no import runs in a cycle);
heavy libraries (PIL, lxml, nltk, pycurl, dask) only inside the function that
needs them, so that a command starts fast.
"""

__version__ = "0.1.0"
