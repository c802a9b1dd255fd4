"""Atomic outputs: a task's results appear whole, or not at all.

Everything is first written under a temporary name in the same folder and then
renamed into place, so a task killed half way leaves no file that looks
complete. Temporary names contain ``-luigi-tmp-``, as Luigi's own targets'
do, so one pattern finds every leftover of an interrupted attempt.
A task with several output files writes them into one temporary folder that
is renamed as a whole: its outputs appear together, as a set.
"""

from __future__ import annotations

import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

TMP_MARKER = "-luigi-tmp-"


def temporary_sibling(path: Path) -> Path:
    """A fresh temporary name next to ``path``."""
    return path.with_name(f"{path.name}{TMP_MARKER}{uuid.uuid4().hex[:12]}")


def is_temporary(name: str) -> bool:
    """Whether a file name is a leftover of an unfinished atomic write."""
    return TMP_MARKER in name


@contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it is renamed to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


@contextmanager
def atomic_directory(path: Path) -> Iterator[Path]:
    """Yield a temporary folder to fill; on success it is renamed to ``path``.

    If ``path`` appeared meanwhile (another attempt finished first), the
    finished one is kept and this attempt's copy discarded: both hold the
    same deterministic result.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(path)
    tmp.mkdir()
    try:
        yield tmp
        try:
            os.rename(tmp, path)
        except OSError:
            if not path.is_dir():
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def publish_file(source: Path, dest: Path) -> None:
    """Place a copy of a finished file at ``dest`` atomically.

    A copy, not a hard link: a published file must not share its inode with
    an intermediate, whose removal would change the published file's status
    change time, which is part of the identity of a job reading it.
    """
    with atomic_file(dest) as tmp:
        shutil.copyfile(source, tmp)


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
