"""Sealed intermediates: a keyed BLAKE2 tag on every batch, checked before anything is unpickled.

Intermediate records are pickled (see :mod:`mr_luigi.io.records`), and
unpickling runs whatever code the bytes name. On one machine that is fine:
only the job's own tasks write its work folder. When the work folder is
shared by several hosts (a network filesystem, an object store), anyone who
can write one file there could make every worker that reads it run their
code. So with ``MR_LUIGI_SECRET`` set, every batch of every intermediate file
carries a 16-byte BLAKE2b tag keyed with the secret, over the batch's offset
in its file and its bytes; a reader checks the tag first, and a batch that
fails is a :class:`~mr_luigi.errors.StorageError` naming the file, never
unpickled. The offset in the tag means batches cannot be moved, dropped or
reordered within a file unnoticed.

The secret comes from the environment only: it is never written into the
plan, the job id, the manifest, the report or a log. Whether a job seals its
intermediates is part of its identity (hosts with and without the secret
plan different jobs, and say so); the secret itself is not, so a run resumed
with another secret finds its earlier intermediates failing their check, and
says so.
"""

from __future__ import annotations

import hashlib
import os
import struct
from pathlib import Path

from mr_luigi.errors import ConfigError

ENV = "MR_LUIGI_SECRET"
TAG_BYTES = 16
MIN_SECRET = 16
_POSITION = struct.Struct("<Q")

#: Filesystem types (``/proc/self/mountinfo``) that other machines write too: a work folder there must be sealed.
NETWORK_FILESYSTEMS = frozenset({
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "ceph", "glusterfs", "fuse.glusterfs", "lustre", "9p", "afs", "gpfs",
    "beegfs", "ocfs2", "gfs2", "fuse.sshfs", "fuse.s3fs", "fuse.rclone", "fuse.gcsfuse", "fuse.juicefs", "fuse.mountpoint-s3",
})


class Seal:
    """Tags and checks batches with a key derived from the job secret."""

    __slots__ = ("_key",)

    def __init__(self, secret: str | bytes) -> None:
        raw = secret.encode() if isinstance(secret, str) else secret
        if len(raw) < MIN_SECRET:
            raise ConfigError(ENV, f"is {len(raw)} characters long: use at least {MIN_SECRET} random ones, the same on "
                                   "every host (for instance from python3 -c 'import secrets; print(secrets.token_hex(32))')")
        self._key = hashlib.blake2b(raw, digest_size=32, person=b"mr_luigi seal").digest()

    def tag(self, position: int, blob: bytes) -> bytes:
        """The tag of a batch's bytes at this offset of its file."""
        mac = hashlib.blake2b(_POSITION.pack(position), key=self._key, digest_size=TAG_BYTES)
        mac.update(blob)
        return mac.digest()

    def __repr__(self) -> str:
        return "Seal(MR_LUIGI_SECRET)"  # never the key


def from_environment() -> Seal | None:
    """The seal of ``MR_LUIGI_SECRET``, or None when it is unset (or empty)."""
    secret = os.environ.get(ENV)
    return Seal(secret) if secret else None


def filesystem_type(path: Path, mountinfo: str | None = None) -> str:
    """The type of the filesystem that holds (or will hold) ``path``; "" when unknown.

    Read from ``/proc/self/mountinfo`` (Linux); ``mountinfo`` is its text, for tests.
    """
    if mountinfo is None:
        try:
            mountinfo = Path("/proc/self/mountinfo").read_text()
        except OSError:
            return ""
    target = os.path.realpath(path)  # symbolic links of the parts that exist resolved; the rest need not exist yet
    best, found = -1, ""
    for line in mountinfo.splitlines():
        fields = line.split(" ")
        if "-" not in fields or len(fields) < 5:
            continue
        mount_point = fields[4].replace("\\040", " ")
        fstype = fields[fields.index("-") + 1]
        inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) > best:  # the deepest mount wins; a later one of equal depth covers it
            best, found = len(mount_point), fstype
        elif inside and len(mount_point) == best:
            found = fstype
    return found


def is_shared(path: Path) -> bool:
    """Whether other machines may write this folder: it is on a network filesystem."""
    return filesystem_type(path) in NETWORK_FILESYSTEMS
