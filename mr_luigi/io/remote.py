"""Inputs and outputs on S3-compatible object storage (``s3://bucket/key`` URLs), through fsspec and s3fs.

s3fs is the filesystem layer Dask, pandas and Luigi's own users reach S3
through: it turns ``seek`` and ``read`` into ranged GETs, lists and globs
prefixes, and reads credentials and the endpoint from the standard places
(``AWS_*`` variables, ``~/.aws``, instance roles). A job config may add an
``[s3]`` table with ``endpoint_url`` and ``region``, never credentials. Local
paths never come here: they keep the plain ``open`` of :mod:`mr_luigi.io.splits`.

An object has no inode or modification time the job can trust: its
identity is its size and ETag, which S3 changes whenever the content does.
"""

from __future__ import annotations

import asyncio
import errno
import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Mapping

from mr_luigi.errors import ConfigError, InputError, StorageError

SCHEME = "s3://"
#: The ``[s3]`` settings a job config may give; credentials are refused there.
SETTINGS = ("endpoint_url", "region")
_CREDENTIALS = ("key", "secret", "token", "access_key", "secret_key", "aws_access_key_id", "aws_secret_access_key",
                "aws_session_token", "password")
#: Bytes a ranged GET fetches at once when a split is read front to back.
READ_BLOCK = 8 << 20


def is_url(path: Any) -> bool:
    """Whether a path is an object-store URL (``s3://...``) rather than a local path."""
    return isinstance(path, str) and path.startswith(SCHEME)


def location(base: str | os.PathLike[str], *parts: str) -> str:
    """``base`` joined with ``parts``: an ``s3://`` URL stays one (joined with ``/``), a local path is made absolute.

    Pipelines name the folders under their output with it, so that the same
    code writes to a local folder or to a bucket.
    """
    if is_url(base):
        return "/".join([str(base).rstrip("/"), *(p.strip("/") for p in parts)])
    return os.path.abspath(os.path.join(os.path.expanduser(os.fspath(base)), *parts))


def cache_folder(url: str) -> Path:
    """This host's local folder for an ``s3://`` output_dir: its default work folder and its staging folder.

    Under ``$XDG_CACHE_HOME/mr_luigi`` (``~/.cache/mr_luigi``), named after the bucket and prefix.
    """
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "mr_luigi" / url.removeprefix(SCHEME).rstrip("/")


@dataclass(frozen=True)
class Store:
    """How to reach the object store: the ``[s3]`` table of a job config (no credentials)."""

    endpoint_url: str | None = None
    region: str | None = None

    @classmethod
    def from_config(cls, table: Mapping[str, Any] | None) -> Store:
        table = dict(table or {})
        for name in table:
            if name.lower() in _CREDENTIALS or "secret" in name.lower() or "key" in name.lower():
                raise ConfigError(f"s3.{name}", "credentials never go in a job config (it is copied into task "
                                                "parameters and manifests): set AWS_ACCESS_KEY_ID and "
                                                "AWS_SECRET_ACCESS_KEY, or use ~/.aws/credentials")
            if name not in SETTINGS:
                raise ConfigError(f"s3.{name}", f"unknown setting: expected one of {', '.join(SETTINGS)}")
            if not isinstance(table[name], str) or not table[name]:
                raise ConfigError(f"s3.{name}", f"expected a non-empty string, got {table[name]!r}")
        return cls(**table)

    def filesystem(self) -> Any:
        """The s3fs filesystem of these settings, one per process.

        s3fs refuses to be used across a fork, and Luigi forks a process per
        task, so the instance is made anew in each process, never inherited.
        Its botocore session is shared, though: it holds no connection, only
        the service description and credentials, whose loading is most of the
        0.2 s a new client costs (0.05 s with a session already warm).
        """
        key = (self, os.getpid())
        fs = _filesystems.get(key)
        if fs is None:
            fs = _filesystems[key] = self._new_filesystem()
        return fs

    def _new_filesystem(self) -> Any:
        s3fs = _s3fs()
        session = _sessions.get(self)
        if session is None:
            session = _sessions[self] = importlib.import_module("aiobotocore.session").AioSession()
        client: dict[str, Any] = {}
        if self.endpoint_url:
            client["endpoint_url"] = self.endpoint_url
        if self.region:
            client["region_name"] = self.region
        # A refused connection or a missing bucket is said in seconds, not after minutes of retries.
        return s3fs.S3FileSystem(client_kwargs=client, config_kwargs={"connect_timeout": 5, "read_timeout": 60,
                                                                      "retries": {"max_attempts": 3}},
                                 default_block_size=READ_BLOCK, skip_instance_cache=True, session=session)


#: (settings, pid) -> this process's filesystem (see :meth:`Store.filesystem`)
_filesystems: dict[tuple[Store, int], Any] = {}
#: settings -> the botocore session every process's filesystem of them shares (see :meth:`Store.filesystem`)
_sessions: dict[Store, Any] = {}


def _s3fs() -> Any:
    try:
        return importlib.import_module("s3fs")
    except ImportError:
        raise ConfigError("input_files", "s3:// URLs need s3fs: pip install 'mr_luigi[s3]'") from None


def expand(pattern: str, store: Store) -> list[str]:
    """The objects a URL names: one object, every object under a prefix ("folder"), or a glob's matches; sorted."""
    fs = store.filesystem()
    try:
        if any(c in pattern for c in "*?["):
            found = [p for p in fs.glob(pattern) if fs.isfile(p)]
        elif fs.isfile(pattern):
            found = [pattern]
        elif fs.isdir(pattern):
            found = [p for p in fs.find(pattern) if not _hidden(p, pattern)]
        else:
            found = []
    except Exception as exc:  # noqa: BLE001 - every failure of the store is said with the URL
        raise ConfigError("input_files", describe(exc, pattern)) from None
    return sorted(SCHEME + p.removeprefix(SCHEME) for p in found)


def missing(pattern: str, store: Store) -> str:
    """Why a URL names no object: no such bucket, or nothing there."""
    bucket = pattern.removeprefix(SCHEME).split("/", 1)[0]
    try:
        exists = store.filesystem().exists(bucket)
    except Exception as exc:  # noqa: BLE001
        return describe(exc, pattern)
    if not exists:
        return f"{pattern}: bucket {bucket!r} does not exist (or this endpoint does not have it)"
    if any(c in pattern for c in "*?["):
        return f"glob {pattern!r} matched no objects"
    return f"{pattern!r} does not exist (no object, and no objects under it)"


def _hidden(path: str, prefix: str) -> bool:
    """Names starting with ``.`` or ``_`` under a prefix (``_SUCCESS``, ``_work/``) are not inputs, as in a folder."""
    rest = path.removeprefix(SCHEME)[len(prefix.removeprefix(SCHEME).rstrip("/")):]
    return any(part[:1] in (".", "_") for part in rest.split("/") if part)


def identity(url: str, store: Store) -> tuple[int, str]:
    """An object's size and ETag: what tells that it changed."""
    try:
        info = store.filesystem().info(url)
    except Exception as exc:  # noqa: BLE001
        raise InputError(describe(exc, url)) from None
    return int(info["size"]), str(info.get("ETag", "")).strip('"')


def size(url: str, store: Store) -> int:
    return identity(url, store)[0]


def open_input(url: str, store: Store) -> BinaryIO:
    """An object opened for reading: ``seek`` and ``read`` become ranged GETs of :data:`READ_BLOCK` bytes."""
    try:
        return store.filesystem().open(url, "rb", block_size=READ_BLOCK, cache_type="readahead")
    except Exception as exc:  # noqa: BLE001
        raise InputError(describe(exc, url)) from None


def describe(exc: BaseException, url: str) -> str:
    """What went wrong with a URL, in words a user can act on (never a credential)."""
    bucket = url.removeprefix(SCHEME).split("/", 1)[0]
    name = type(exc).__name__
    text = str(exc)
    if isinstance(exc, FileNotFoundError) or "NoSuchBucket" in text or "NoSuchKey" in text:
        if "NoSuchBucket" in text or "bucket" in text.lower():
            return f"{url}: bucket {bucket!r} does not exist (or this endpoint does not have it)"
        return f"{url}: no such object"
    if isinstance(exc, PermissionError) or "AccessDenied" in text or "InvalidAccessKeyId" in text \
            or "SignatureDoesNotMatch" in text or "Forbidden" in text:
        return (f"{url}: access denied: check the credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, "
                f"AWS_PROFILE or ~/.aws/credentials) and the bucket's permissions")
    if "EndpointConnectionError" in name or "Could not connect" in text or "ConnectionRefused" in text \
            or getattr(exc, "errno", None) == errno.ECONNREFUSED:
        return f"{url}: cannot reach the object store ({_first_line(text)}): check [s3] endpoint_url or AWS_ENDPOINT_URL"
    return f"{url}: {name}: {_first_line(text)}"


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:300] if text.strip() else "no details"


# -- outputs ------------------------------------------------------------------


#: Requests :func:`fetch` keeps in flight at once.
CONCURRENCY = 32


def fetch(urls: list[str], store: Store) -> list[bytes | BaseException]:
    """The bytes of each object (or the exception that getting it raised), fetched concurrently.

    One GET per object: fsspec's own ``cat`` of a list first asks each
    object's size (a HEAD, and for a missing one a listing besides), which
    tripled the requests of the work folder's small files.
    """
    fs = store.filesystem()
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(url: str) -> bytes:
        async with limit:
            return await fs._cat_file(url, max_concurrency=1)  # no size HEAD first: the objects are small

    async def every() -> list[bytes | BaseException]:
        return await asyncio.gather(*(one(url) for url in urls), return_exceptions=True)

    return importlib.import_module("fsspec.asyn").sync(fs.loop, every)


def read_text(url: str, store: Store) -> str | None:
    """An object's text, or None if there is no such object."""
    (data,) = fetch([url], store)
    if isinstance(data, FileNotFoundError):
        return None
    if isinstance(data, BaseException):
        raise StorageError(describe(data, url))
    return data.decode("utf-8")


def download(url: str, local: Path, store: Store) -> None:
    """Get an object, or every object under a prefix, to a local file or folder."""
    fs = store.filesystem()
    try:
        if fs.isdir(url):
            base = url.removeprefix(SCHEME).rstrip("/") + "/"
            for key in fs.find(url):
                target = local / key[len(base):]
                target.parent.mkdir(parents=True, exist_ok=True)
                fs.get_file(key, str(target))
        else:
            local.parent.mkdir(parents=True, exist_ok=True)
            fs.get_file(url, str(local))
    except Exception as exc:  # noqa: BLE001
        raise StorageError(describe(exc, url)) from None


def put_text(url: str, text: str, store: Store) -> None:
    try:
        store.filesystem().pipe_file(url, text.encode("utf-8"))
    except Exception as exc:  # noqa: BLE001
        raise StorageError(describe(exc, url)) from None


def put_files(pairs: list[tuple[Path, str]], store: Store) -> None:
    """Put local files to URLs, concurrently."""
    if not pairs:
        return
    try:
        store.filesystem().put([str(local) for local, _ in pairs], [url for _, url in pairs])
    except Exception as exc:  # noqa: BLE001
        raise StorageError(describe(exc, pairs[0][1])) from None


def listing(url: str, store: Store) -> list[str]:
    """The names (relative to ``url``) of every object under a prefix, listed afresh."""
    fs = store.filesystem()
    base = url.removeprefix(SCHEME).rstrip("/") + "/"
    try:
        fs.invalidate_cache(url)
        return sorted(key[len(base):] for key in fs.find(url) if key.startswith(base))
    except FileNotFoundError:
        return []
    except Exception as exc:  # noqa: BLE001
        raise StorageError(describe(exc, url)) from None


def remove_objects(urls: list[str], store: Store) -> None:
    """Delete objects by their exact URLs (in bulk requests); missing ones are fine."""
    if not urls:
        return
    fs = store.filesystem()
    try:
        fs.rm([url.removeprefix(SCHEME) for url in urls])
    except FileNotFoundError:
        pass
    except Exception as exc:  # noqa: BLE001
        raise StorageError(describe(exc, urls[0])) from None
    fs.invalidate_cache()


def remove_prefix(url: str, store: Store) -> None:
    """Delete every object under a prefix (in bulk requests); an empty prefix is fine."""
    remove_objects([f"{url}/{name}" for name in listing(url, store)], store)
