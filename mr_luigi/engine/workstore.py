"""Intermediates on an object store: a ``work_dir`` that is an ``s3://`` URL, so any host can run any task.

Each host keeps a local mirror of the work folder (under ``$XDG_CACHE_HOME/mr_luigi``,
see :func:`mr_luigi.io.remote.cache_folder`): a task runs exactly as it does on
one machine, on local files, spilling to local disk. Only at its edges does
it meet the store:

- **Before** it runs, it gets what it reads: a shuffle, its partition's byte
  range of every map output (ranged GETs, written at the same offsets of a
  sparse local file, so sealed batches keep the offsets their tags cover); a
  reduce, its shuffle output; the final step, every task's statistics, the
  reduce outputs, the bad records and the attempt logs.
- **After** it has finished, it puts its output folder's files under a
  prefix of their own (``map-00003/<attempt>/...``), its bad records and its
  attempt log, and then, last, a ``_DONE`` marker object naming that prefix.

An object store has no rename, so a task's outputs become visible all at
once through the marker alone: a task is complete when its ``_DONE`` exists
(``complete()`` reads nothing else), and readers take the files from the
prefix the marker names. A task killed while putting its files left no
marker, so it runs again; and two hosts that both ran one task (a slow host
given up on and its task handed on) each put a whole set of their own, so a
reader never mixes one attempt's index with another's runs.
Intermediate records on a shared store must be sealed (``MR_LUIGI_SECRET``,
see :mod:`mr_luigi.io.seal`).
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any, Callable

import luigi

from mr_luigi.engine import attempts, quarantine, side_files
from mr_luigi.engine.plan import JobPlan
from mr_luigi.engine.stats import STATS_FILE, read_stats
from mr_luigi.errors import StorageError
from mr_luigi.io import remote
from mr_luigi.io.atomic import is_temporary

DONE = "_DONE"


class WorkStore:
    """The store side of a job's work folder: where each local path lives on it, and the transfers."""

    def __init__(self, plan: JobPlan) -> None:
        assert plan.resolved.work_url is not None and plan.resolved.store is not None
        self.plan = plan
        self.url = plan.resolved.work_url
        self.local = plan.resolved.work_dir
        self.store = plan.resolved.store
        #: local copies of the store's folders -> their URLs, to name the URL in an error about a copy
        self.copies: dict[str, str] = {}

    @property
    def fs(self) -> Any:
        return self.store.filesystem()  # this process's: a task process is forked after the object was made

    def url_of(self, path: Path) -> str:
        return f"{self.url}/{path.relative_to(self.local).as_posix()}"

    # -- completion -------------------------------------------------------

    def is_done(self, folder: Path) -> bool:
        """Whether a task's output folder is complete on the store: its marker is there."""
        return self.exists(f"{self.url_of(folder)}/{DONE}")

    def exists(self, url: str) -> bool:
        try:
            self.fs.invalidate_cache(url.rsplit("/", 1)[0])  # another host may have put it since this one listed
            return bool(self.fs.exists(url))
        except Exception as exc:  # noqa: BLE001
            raise StorageError(remote.describe(exc, url)) from None

    # -- after a task -----------------------------------------------------

    def put_task(self, folder: Path, phase: str, index: int, attempt_log: str,
                 inject: Callable[[str], None] = lambda point: None) -> None:
        """Put a finished task's output folder (under a prefix of its own), bad records and attempt log, then its marker."""
        prefix = uuid.uuid4().hex[:16]
        files = [p for p in sorted(folder.rglob("*")) if p.is_file() and not is_temporary(p.name)]
        for path in files:
            remote.upload(path, f"{self.url_of(folder)}/{prefix}/{path.relative_to(folder).as_posix()}", self.store)
        bad = self.plan.quarantine_dir / quarantine.file_name(phase, index)
        if bad.is_file():
            remote.upload(bad, self.url_of(bad), self.store)
        self.put_attempts(attempt_log)
        inject("put")
        marker = {"prefix": prefix, "files": [p.relative_to(folder).as_posix() for p in files]}
        self.put_text(f"{self.url_of(folder)}/{DONE}", json.dumps(marker) + "\n")

    def done_prefix(self, folder: Path) -> str:
        """Where a finished task's files are on the store: the prefix its marker names."""
        url = f"{self.url_of(folder)}/{DONE}"
        text = remote.read_text(url, self.store)
        if text is None:
            raise StorageError(f"{url}: missing: the task that writes {self.url_of(folder)} has not finished")
        return f"{self.url_of(folder)}/{json.loads(text)['prefix']}"

    def put_attempts(self, task: str) -> None:
        """Put a task's attempt log (every host's tasks count their attempts in one place: the store's copy)."""
        log = attempts.log_path(self.plan.job_dir, task)
        if log.is_file():
            remote.upload(log, self.url_of(log), self.store)

    def put_text(self, url: str, text: str) -> None:
        try:
            self.fs.pipe_file(url, text.encode("utf-8"))
        except Exception as exc:  # noqa: BLE001
            raise StorageError(remote.describe(exc, url)) from None

    # -- before a task ----------------------------------------------------

    def get_attempts(self, task: str) -> None:
        """This task's attempt log as the store has it (attempts on other hosts count too)."""
        log = attempts.log_path(self.plan.job_dir, task)
        url = self.url_of(log)
        if self.exists(url):
            remote.download(url, log, self.store)

    def get_file(self, path: Path) -> None:
        remote.download(self.url_of(path), path, self.store)

    def get_folder(self, folder: Path) -> None:
        """A finished task's output folder, as the store has it (replacing any local copy)."""
        source = self.done_prefix(folder)
        shutil.rmtree(folder, ignore_errors=True)
        remote.download(source, folder, self.store)

    def get_stats(self, folder: Path) -> str:
        """A finished task's statistics (its index of runs, for a map), fresh from the store; return its files' prefix."""
        source = self.done_prefix(folder)
        remote.download(f"{source}/{STATS_FILE}", folder / STATS_FILE, self.store)
        return source

    def get_map_outputs(self, partition: int, into: Path) -> list[Path]:
        """Each map's statistics and its runs' byte ranges of one partition, in a folder per map under ``into``.

        Each map's files come from the prefix its marker names, so a shuffle
        never pairs one attempt's index with another attempt's runs.
        """
        folders = []
        for index in range(self.plan.num_maps):
            source = self.done_prefix(self.plan.map_dir(index))
            local = into / self.plan.map_dir(index).name
            self.copies[str(local)] = source
            remote.download(f"{source}/{STATS_FILE}", local / STATS_FILE, self.store)
            for run in read_stats(local)["runs"]:
                start, end, count = run["partitions"][partition]
                if count:
                    self.get_range(f"{source}/{run['file']}", local / run["file"], start, end)
            folders.append(local)
        return folders

    def get_range(self, source: str, path: Path, start: int, end: int | None) -> None:
        """Bytes ``[start, end)`` of the object ``source``, written at the same offsets of a local (sparse) file."""
        url = source
        try:
            data = self.fs.cat_file(url, start=start, end=end)
        except Exception as exc:  # noqa: BLE001
            raise StorageError(remote.describe(exc, url)) from None
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "r+b" if path.exists() else "wb") as fh:
            fh.seek(start)
            fh.write(data)

    def get_prefix(self, folder: Path) -> None:
        """Every object under a folder of the job (bad records, attempt logs), merged into the local folder."""
        url = self.url_of(folder)
        if self.exists(url) or self.fs.isdir(url):
            remote.download(url, folder, self.store)

    def ensure_side_files(self) -> None:
        """The job's copies of its side files: shipped and put by the first host, got by the others."""
        resolved = self.plan.resolved
        folder = self.plan.job_dir / side_files.FOLDER
        missing = [name for name in resolved.side_files if not (folder / name).is_file()]
        if not missing:
            return
        if all(self.exists(self.url_of(folder / name)) for name in missing):
            for name in missing:
                self.get_file(folder / name)
            return
        side_files.ship(self.plan.job_dir, resolved.side_files, self.plan.identity["files"])
        for name in missing:
            remote.upload(folder / name, self.url_of(folder / name), self.store)

    def get_for_final(self) -> None:
        """What the final step reads: every task's statistics, the reduce (or map-only) outputs, bad records, attempts."""
        plan = self.plan
        for index in range(plan.num_maps):
            if plan.map_only:
                self.get_folder(plan.map_dir(index))
            else:
                self.get_stats(plan.map_dir(index))
        if not plan.map_only:
            for partition in range(plan.num_partitions):
                self.get_stats(plan.reduce_input_dir(partition))
                self.get_folder(plan.reduce_output_dir(partition))
        self.get_prefix(plan.quarantine_dir)
        self.get_prefix(plan.job_dir / attempts.FOLDER)

    def named(self, exc: StorageError) -> StorageError:
        """The same error, naming the store's object instead of its local copy."""
        message = str(exc)
        for local, url in self.copies.items():
            message = message.replace(local, url)
        return StorageError(message)

    # -- the end ----------------------------------------------------------

    def remove_job(self) -> None:
        """Delete the job's objects (its intermediates are no longer needed)."""
        remote.remove([self.url_of(self.plan.job_dir)], self.store)


def of(plan: JobPlan) -> WorkStore | None:
    """The job's work store, or None when its work folder is local."""
    return WorkStore(plan) if plan.resolved.work_url is not None else None


class DoneTarget(luigi.Target):
    """A task's output on the store: it exists when the task's ``_DONE`` marker does (see the module docs)."""

    def __init__(self, work: WorkStore, folder: Path) -> None:
        self.work = work
        self.folder = folder
        self.path = work.url_of(folder)

    def exists(self) -> bool:
        return self.work.is_done(self.folder)


class ObjectTarget(luigi.Target):
    """One object of the work folder (the barrier's file): it exists when it is there, put whole by one PUT."""

    def __init__(self, work: WorkStore, path: Path) -> None:
        self.work = work
        self.path = work.url_of(path)

    def exists(self) -> bool:
        return self.work.exists(self.path)
