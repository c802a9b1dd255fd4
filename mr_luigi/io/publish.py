"""How a job's results reach its output folder: one job at a time, and all or nothing.

The final step of a job publishes its part files, ``final_output.txt`` (or
its named outputs), ``_bad_records/``, ``_report.html`` and, last, the
``_SUCCESS`` manifest. Two things keep that safe:

- **A lock on the output folder** (:func:`output_lock`, an exclusive
  ``flock`` on ``<output_dir>/_publish.lock``, released when its process
  ends, however it ends). Under it the final step looks at ``_SUCCESS``: this
  job's means another worker finished the job; another job's means the
  folder is taken, and the job fails naming that job, so two different jobs
  aimed at one folder never mix their files and exactly one of them
  succeeds. The lock file is removed when released.
- **A journal** (:class:`Journal`, ``<output_dir>/_publishing.jsonl``): the
  name of every output is written to it before the output is, and the journal
  is removed after ``_SUCCESS``. A publish that was interrupted (killed, a
  full disk) leaves its journal, and the next final step, of this job or
  another, first removes what it lists, so no file of an unfinished publish
  is ever left beside another job's ``_SUCCESS``.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from mr_luigi.io import remote
from mr_luigi.io.remote import Store

LOCK_NAME = "_publish.lock"
JOURNAL_NAME = "_publishing.jsonl"
#: errno values of a filesystem without locks
_NO_LOCKS = (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS)
logger = logging.getLogger("luigi-interface.mr_luigi")


@contextmanager
def output_lock(folder: Path) -> Iterator[None]:
    """Hold the output folder's lock (waiting for it) for the duration of the block.

    On a filesystem that cannot lock, the block runs unlocked, with a warning.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    while True:
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if _same_file(fd, path):
                break
        except OSError as exc:
            os.close(fd)
            if exc.errno not in _NO_LOCKS:
                raise
            logger.warning("cannot lock %s (%s): two jobs publishing into it at once would not be detected", folder, exc)
            path.unlink(missing_ok=True)
            yield
            return
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # the holder before us removed this file: lock the new one
    try:
        yield
    finally:
        # Remove the file while holding the lock: a waiter on the old file
        # sees it is gone and locks the next one, so one holder at a time.
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        os.close(fd)


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.fstat(fd).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False


class Journal:
    """The outputs a publish is writing, listed before each is written."""

    def __init__(self, folder: Path, job_id: str) -> None:
        self.path = folder / JOURNAL_NAME
        self.job_id = job_id

    def undo_interrupted(self) -> list[str]:
        """Remove what an interrupted publish (of any job) wrote; return the names removed."""
        if not self.path.exists():
            return []
        removed = []
        for name in self._names():
            target = self.path.parent / name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
            else:
                continue
            removed.append(name)
        self.path.unlink()
        return removed

    def _names(self) -> list[str]:
        names = []
        with open(self.path, encoding="utf-8") as fh:
            for line in fh:
                if line.endswith("\n"):  # a line cut short by a kill names nothing written yet
                    name = json.loads(line)["name"]
                    if name and "/" not in name and name not in (".", ".."):
                        names.append(name)
        return names

    def add(self, name: str) -> None:
        """Record that ``name`` (a file or folder in the output folder) is about to be written."""
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"job_id": self.job_id, "name": name}) + "\n")

    def close(self) -> None:
        """The publish is complete (its ``_SUCCESS`` is written): forget it."""
        self.path.unlink(missing_ok=True)


def publish_to_store(staging: Path, url: str, store: Store, names: list[str], earlier: list[str]) -> None:
    """Put a publish finished in ``staging`` to an ``s3://`` output_dir: every output first, ``_SUCCESS`` last.

    An object store has no rename and no lock, so completeness is decided by
    ``_SUCCESS`` alone, and a journal object stands in for the local one:
    ``_publishing.jsonl`` lists the names this publish writes before it
    writes any, and goes when ``_SUCCESS`` is there. The earlier results'
    ``_SUCCESS`` goes first, then their outputs that this publish does not
    replace (``earlier``, and whatever an interrupted publish's journal
    lists), so no reader ever sees a ``_SUCCESS`` beside another run's files.
    """
    journal = f"{url}/{JOURNAL_NAME}"
    interrupted = remote.read_text(journal, store) or ""
    listed = [json.loads(line)["name"] for line in interrupted.splitlines() if line.strip().endswith("}")]
    remote.put_text(journal, "".join(json.dumps({"name": name}) + "\n" for name in names), store)
    present = remote.listing(url, store)  # every object under the prefix, by its name relative to it
    stale = {name for name in [*earlier, *listed] if name and "/" not in name and name not in names}
    folders = {name for name in names if (staging / name).is_dir()}  # a folder of bad records: this run's files only
    if "_SUCCESS" in present:  # first, on its own: the earlier results stop counting before any of them goes
        remote.remove_objects([f"{url}/_SUCCESS"], store)
    remote.remove_objects([f"{url}/{rel}" for rel in present if rel.split("/")[0] in stale | folders], store)
    files = [(path, f"{url}/{path.relative_to(staging).as_posix()}") for name in names
             for path in ([staging / name] if not (staging / name).is_dir() else sorted(p for p in (staging / name).rglob("*") if p.is_file()))]
    remote.put_files(files, store)
    remote.put_files([(staging / "_SUCCESS", f"{url}/_SUCCESS")], store)
    remote.remove_objects([journal], store)
