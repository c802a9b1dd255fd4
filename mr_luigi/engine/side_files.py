"""Side files: what a job reads besides its inputs (a stop-word list, a model).

A side file decides the results as much as the inputs do, so its content
(not its modification time, which a copy can keep) is part of the job id:
an edited stop-word list makes a new job, never a stale answer. The first
task of a job copies each side file into the job's work folder, checking
that the copy still has the content the job id was made from, and every
task reads that copy (:func:`mr_luigi.job_file`). So a file edited while
the job runs fails the job naming it rather than giving tasks two
versions, and workers on other hosts read the copy in the shared work
folder.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Mapping

from mr_luigi.errors import JobChanged
from mr_luigi.io import atomic

#: the folder of a job's work folder that holds its side files
FOLDER = "files"


def content_digest(path: Path) -> str:
    """The SHA-256 of a file's bytes, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def identity(side_files: Mapping[str, Path]) -> dict[str, list[object]]:
    """What the job id holds of each side file: its path, size and content digest."""
    return {name: [str(path), path.stat().st_size, content_digest(path)] for name, path in sorted(side_files.items())}


def snapshot_paths(job_dir: Path, names: Mapping[str, object]) -> dict[str, Path]:
    """Where the tasks of a job read its side files: the copies in its work folder."""
    return {name: job_dir / FOLDER / name for name in names}


def ship(job_dir: Path, side_files: Mapping[str, Path], expected: Mapping[str, list[object]]) -> None:
    """Copy each side file into the job's work folder once, if it still has the content the job id was made from.

    The copy is checked before it is published under its name, so a copy
    that exists is the file the job was planned with.
    """
    for name, path in side_files.items():
        target = job_dir / FOLDER / name
        if target.exists():
            continue
        with atomic.atomic_file(target) as tmp:
            shutil.copyfile(path, tmp)
            found = content_digest(tmp)
            if found != expected[name][2]:
                raise JobChanged(f"side file {str(path)!r} changed after the job was planned (its content differs from "
                                 "the one in the job id): run the job again to plan it with the new content")
