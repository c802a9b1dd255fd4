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

from mr_luigi.engine import attempts, quarantine
from mr_luigi.engine.plan import JobPlan
from mr_luigi.engine.stats import STATS_FILE, write_stats
from mr_luigi.errors import StorageError
from mr_luigi.io import remote
from mr_luigi.io.atomic import is_temporary

DONE = "_DONE"
#: Bytes of map output ranges a shuffle fetches at once (concurrently), and so holds in memory at most.
RANGE_BATCH = 64 << 20


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
        """Whether an object is there: one GET of it (a marker is a few bytes), never a cached listing."""
        return self._cat([url], missing_ok=True)[url] is not None

    # -- transfers: each a batch of concurrent requests ---------------------

    def _put(self, pairs: list[tuple[Path, str]]) -> None:
        remote.put_files(pairs, self.store)

    def _get(self, pairs: list[tuple[str, Path]]) -> None:
        """Get URLs to local files, concurrently."""
        if not pairs:
            return
        for _, local in pairs:
            local.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.fs.get([url for url, _ in pairs], [str(local) for _, local in pairs])
        except Exception as exc:  # noqa: BLE001
            raise StorageError(remote.describe(exc, pairs[0][0])) from None

    def _cat(self, urls: list[str], missing_ok: bool = False) -> dict[str, bytes | None]:
        """The bytes of several objects, fetched concurrently (None for a missing one, if ``missing_ok``)."""
        result: dict[str, bytes | None] = {}
        for url, data in zip(urls, remote.fetch(urls, self.store)):
            if isinstance(data, FileNotFoundError) and missing_ok:
                result[url] = None
            elif isinstance(data, BaseException) or data is None:
                raise StorageError(remote.describe(data or FileNotFoundError(url), url))
            else:
                result[url] = data
        return result

    # -- after a task -----------------------------------------------------

    def put_task(self, folder: Path, phase: str, index: int, attempt_log: str,
                 inject: Callable[[str], None] = lambda point: None) -> None:
        """Put a finished task's output folder (under a prefix of its own), bad records and attempt log, then its marker."""
        prefix = uuid.uuid4().hex[:16]
        files = [p for p in sorted(folder.rglob("*")) if p.is_file() and not is_temporary(p.name)]
        pairs = [(path, f"{self.url_of(folder)}/{prefix}/{path.relative_to(folder).as_posix()}") for path in files]
        bad = self.plan.quarantine_dir / quarantine.file_name(phase, index)
        log = attempts.log_path(self.plan.job_dir, attempt_log)
        pairs += [(extra, self.url_of(extra)) for extra in (bad, log) if extra.is_file()]
        self._put(pairs)
        inject("put")
        marker = {"prefix": prefix, "files": [p.relative_to(folder).as_posix() for p in files],
                  "stats": json.loads((folder / STATS_FILE).read_text())}  # read with the marker: no GET of its own
        self.put_text(f"{self.url_of(folder)}/{DONE}", json.dumps(marker) + "\n")

    def put_attempts(self, task: str) -> None:
        """Put a task's attempt log (every host's tasks count their attempts in one place: the store's copy)."""
        log = attempts.log_path(self.plan.job_dir, task)
        if log.is_file():
            self._put([(log, self.url_of(log))])

    def put_text(self, url: str, text: str) -> None:
        remote.put_text(url, text, self.store)

    # -- before a task ----------------------------------------------------

    def markers(self, folders: list[Path]) -> dict[Path, dict[str, Any]]:
        """The markers of finished tasks' output folders, by folder: each names its prefix and files."""
        urls = [f"{self.url_of(folder)}/{DONE}" for folder in folders]
        found = self._cat(urls, missing_ok=True)
        result = {}
        for folder, url in zip(folders, urls):
            data = found[url]
            if data is None:
                raise StorageError(f"{url}: missing: the task that writes {self.url_of(folder)} has not finished")
            marker = json.loads(data)
            marker["source"] = f"{self.url_of(folder)}/{marker['prefix']}"
            result[folder] = marker
        return result

    def get_attempts(self, task: str) -> None:
        """This task's attempt log as the store has it (attempts on other hosts count too)."""
        log = attempts.log_path(self.plan.job_dir, task)
        data = self._cat([self.url_of(log)], missing_ok=True)[self.url_of(log)]
        if data is not None:
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_bytes(data)

    def get_folders(self, folders: list[Path]) -> None:
        """Finished tasks' output folders, as the store has them (replacing any local copies)."""
        pairs = []
        for folder, marker in self.markers(folders).items():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            pairs += [(f"{marker['source']}/{name}", folder / name) for name in marker["files"]]
        self._get(pairs)

    def get_folder(self, folder: Path) -> None:
        self.get_folders([folder])

    def get_stats(self, folders: list[Path]) -> None:
        """Finished tasks' statistics (a map's index of runs), fresh from the store, into their local folders."""
        for folder, marker in self.markers(folders).items():
            folder.mkdir(parents=True, exist_ok=True)
            write_stats(folder, marker["stats"])

    def get_map_outputs(self, partition: int, into: Path) -> list[Path]:
        """Each map's statistics and its runs' byte ranges of one partition, in a folder per map under ``into``.

        Each map's files come from the prefix its marker names, so a shuffle
        never pairs one attempt's index with another attempt's runs. Ranges
        are fetched concurrently, :data:`RANGE_BATCH` bytes at most at once.
        """
        maps = [self.plan.map_dir(index) for index in range(self.plan.num_maps)]
        folders, wanted = [], []
        for folder, marker in self.markers(maps).items():
            local, source = into / folder.name, marker["source"]
            local.mkdir(parents=True)
            self.copies[str(local)] = source
            write_stats(local, marker["stats"])
            for run in marker["stats"]["runs"]:
                start, end, count = run["partitions"][partition]
                if count:
                    wanted.append((f"{source}/{run['file']}", local / run["file"], start, end))
            folders.append(local)
        self._get_ranges(wanted)
        return folders

    def _get_ranges(self, wanted: list[tuple[str, Path, int, int]]) -> None:
        """Byte ranges of objects, each written at the same offsets of its local (sparse) file."""
        batch: list[tuple[str, Path, int, int]] = []
        held = 0
        for item in [*wanted, None]:
            if item is not None:
                batch.append(item)
                held += item[3] - item[2]
            if batch and (item is None or held >= RANGE_BATCH):
                try:
                    data = self.fs.cat_ranges([u for u, _, _, _ in batch], [s for _, _, s, _ in batch],
                                              [e for _, _, _, e in batch], on_error="return")
                except Exception as exc:  # noqa: BLE001
                    raise StorageError(remote.describe(exc, batch[0][0])) from None
                for (url, path, start, _), chunk in zip(batch, data):
                    if isinstance(chunk, BaseException):
                        raise StorageError(remote.describe(chunk, url))
                    with open(path, "r+b" if path.exists() else "wb") as fh:
                        fh.seek(start)
                        fh.write(chunk)
                batch, held = [], 0

    def get_prefix(self, folder: Path) -> None:
        """Every object under a folder of the job (bad records, attempt logs), into the local folder."""
        url = self.url_of(folder)
        try:
            self.fs.invalidate_cache(url)
            names = self.fs.find(url)
        except Exception as exc:  # noqa: BLE001
            raise StorageError(remote.describe(exc, url)) from None
        base = url.removeprefix(remote.SCHEME) + "/"
        self._get([(remote.SCHEME + name, folder / name[len(base):]) for name in names if name.startswith(base)])

    def get_for_final(self) -> None:
        """What the final step reads: every task's statistics, the reduce (or map-only) outputs, bad records, attempts."""
        plan = self.plan
        maps = [plan.map_dir(index) for index in range(plan.num_maps)]
        if plan.map_only:
            self.get_folders(maps)
        else:
            self.get_stats(maps + [plan.reduce_input_dir(p) for p in range(plan.num_partitions)])
            self.get_folders([plan.reduce_output_dir(p) for p in range(plan.num_partitions)])
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
        remote.remove_prefix(self.url_of(self.plan.job_dir), self.store)


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
