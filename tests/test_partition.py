"""The default partitioner is stable across processes and in range."""

from __future__ import annotations

import os
import subprocess
import sys
from zlib import crc32

from mr_luigi.partition import hash_partition

KEYS = ["", "a", "whale", "café", "😀", 0, 7, -3, 2.5, ("a", 1)]


def test_in_range_and_matches_crc32_for_strings():
    for n in (1, 2, 7, 64):
        for key in KEYS:
            assert 0 <= hash_partition(key, n) < n
    assert hash_partition("whale", 7) == crc32("whale".encode()) % 7


def test_same_partition_in_another_process_with_another_hash_seed():
    code = "from mr_luigi.partition import hash_partition as h; print([h(k, 13) for k in %r])" % (KEYS,)
    outputs = set()
    for seed in ("1", "2", "3"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        outputs.add(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout)
    assert len(outputs) == 1
    assert outputs.pop().strip() == str([hash_partition(k, 13) for k in KEYS])


def test_equal_numbers_share_a_partition():
    for n in (3, 17):
        assert hash_partition(1, n) == hash_partition(1.0, n) == hash_partition(True, n)


def test_spread_over_partitions():
    counts = [0] * 8
    for i in range(8000):
        counts[hash_partition(f"word{i}", 8)] += 1
    assert min(counts) > 800
