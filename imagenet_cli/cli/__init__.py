"""The command-line face of imagenet-cli.

Owns: the Typer app (``cli.app``, one module per command group), the fast path that runs
the start-up-bound commands without Typer (``cli.fastpath``), and the output layer
(``cli.output``: rows as table/tsv/csv/json, messages and progress on stderr, exit codes).
A command parses its options, calls one function of the core and hands the result to
the output layer.

May import: every core package (lazily, inside the command, for the heavy ones), typer
and rich. Nothing imports it but ``imagenet_cli.__main__``. This package stays empty so
that the fast path loads without importing Typer.
"""
