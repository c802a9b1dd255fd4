"""The helpers of ``mrjob.util`` that job files use."""

from __future__ import annotations

import posixpath
import shlex
from typing import Iterable


def cmd_line(args: Iterable[object]) -> str:
    """A command line, each argument quoted for the shell."""
    return " ".join(shlex.quote(str(arg)) for arg in args)


def file_ext(filename: str) -> str:
    """The extension of a file name from its first dot after a leading one (``"foo.tar.gz"`` -> ``".tar.gz"``)."""
    name = posixpath.basename(filename)
    dot = name.find(".", 1)
    return "" if dot == -1 else name[dot:]


def safeeval(expr: str, globals: dict | None = None, locals: dict | None = None) -> object:  # noqa: A002
    """A Python literal read back (mrjob's ``safeeval`` of ``repr()`` output)."""
    import ast

    return ast.literal_eval(expr)
