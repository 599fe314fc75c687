"""The command-line face of imagenet-cli.

Owns: the commands, each one function declaring its options (``cli.params``; shared
ones in ``cli.common``) and named once in ``cli.commands``; the Typer app built from
them at run time (``cli.app``, ``cli.build``); the fast path that runs the
start-up-bound commands from the same declarations without Typer (``cli.fastpath``);
the one mapping of failures to exit codes (``cli.failure``); and the output layer
(``cli.output``: rows as table/tsv/csv/json, messages and progress on stderr). A command
parses its options, calls one function of the core and hands the result to the output
layer.

May import: every core package (lazily, inside the command, for the heavy ones), typer
and rich. Nothing imports it but ``imagenet_cli.__main__``. This package stays empty so
that the fast path loads without importing Typer.
"""
