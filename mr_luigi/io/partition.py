"""The partitioner: which reduce partition a key belongs to.

The default is a stable hash (CRC-32 of the key's bytes), never Python's
``hash()``, which is salted per process: two map tasks in two processes, or on
two machines, must send a key to the same partition.
"""

from __future__ import annotations

from typing import Any, Callable
from zlib import crc32

Partitioner = Callable[[Any, int], int]


def key_bytes(key: Any) -> bytes:
    """Bytes that identify a key, equal for keys that compare equal.

    ``1``, ``1.0`` and ``True`` are equal keys in Python, so integral numbers
    hash as the integer.
    """
    if isinstance(key, str):
        return key.encode("utf-8", "surrogatepass")
    if isinstance(key, bytes):
        return key
    if isinstance(key, (int, float)) and key == key and key not in (float("inf"), float("-inf")) and key == int(key):
        return repr(int(key)).encode()
    if isinstance(key, tuple):  # strings encoded in place: keys like ("requests_per_ip", ip) are common
        return b"\x1f".join([part.encode("utf-8", "surrogatepass") if part.__class__ is str else key_bytes(part)
                              for part in key])
    return repr(key).encode("utf-8", "surrogatepass")


def hash_partition(key: Any, num_partitions: int) -> int:
    """The default partitioner: a stable hash of the key, modulo the partition count."""
    if isinstance(key, str):
        return crc32(key.encode("utf-8", "surrogatepass")) % num_partitions
    return crc32(key_bytes(key)) % num_partitions
