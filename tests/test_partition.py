"""The default partitioner is stable across processes and in range."""

from __future__ import annotations

import os
import subprocess
import sys
from zlib import crc32

from mr_luigi.io.partition import hash_partition

KEYS = ["", "a", "whale", "café", "😀", 0, 7, -3, 2.5, ("a", 1)]


def test_in_range_and_matches_crc32_for_strings():
    for n in (1, 2, 7, 64):
        for key in KEYS:
            assert 0 <= hash_partition(key, n) < n
    assert hash_partition("whale", 7) == crc32("whale".encode()) % 7


def test_same_partition_in_another_process_with_another_hash_seed():
    code = "from mr_luigi.io.partition import hash_partition as h; print([h(k, 13) for k in %r])" % (KEYS,)
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


def documented_partition(key, n: int) -> int:
    """The default partition of a key, as README's "How it runs" gives it, written here from that text."""
    if isinstance(key, str):
        data = key.encode("utf-8")
    elif isinstance(key, tuple):
        data = b"\x1f".join(str(part).encode("utf-8") if isinstance(part, str) else str(int(part)).encode() for part in key)
    else:
        data = str(int(key)).encode()
    return crc32(data) % n


def test_every_key_is_in_the_part_file_of_its_documented_partition(tmp_path):
    """The shuffle of partition p must read partition p of every map run: a reduce with another's keys shows here."""
    from mr_luigi import JobConfig, MapReduceScheduler
    from tests.conftest import read_tsv

    folder = tmp_path / "in"
    folder.mkdir()
    words = ["whale", "café", "naïve", "Ωmega", "東京", "😀", "straße", "a", "zz", "the"]
    for f in range(3):
        (folder / f"t{f}.txt").write_text("".join(f"{w}{i % 40} {w} x{i}\n" for i in range(300) for w in words[f::3]))
    for name, map_function in (("words", "tests.jobs_for_tests:split_words"), ("lengths", "tests.jobs_for_tests:length_key_map"),
                               ("pairs", "tests.jobs_for_tests:first_letter_and_length_map")):
        out = tmp_path / name
        config = JobConfig(job_name=name, map_function=map_function, reduce_function="tests.jobs_for_tests:total",
                           input_files=[str(folder)], output_dir=str(out), num_reduce_tasks=5, split_size_mb=0.01)
        assert MapReduceScheduler(2).execute_job(config)
        seen = 0
        for p in range(5):
            keys = [key for key, _ in read_tsv(out / f"part-{p:05d}")]
            assert keys, f"{name}: partition {p} is empty: the data should fill all five"
            assert [k for k in keys if documented_partition(k, 5) != p] == [], f"{name}: keys of another partition in part {p}"
            seen += len(keys)
        assert seen == len(read_tsv(out / "final_output.txt"))


def test_a_key_with_a_lone_surrogate_has_a_partition():
    """A map may make such a str (from surrogate-escaped bytes, say): it hashes by its code points, and never fails."""
    key = "caf\udce9"
    for n in (3, 7):
        assert hash_partition(key, n) == crc32(b"caf\xed\xb3\xa9") % n
        assert hash_partition((key, 1), n) == crc32(b"caf\xed\xb3\xa9\x1f1") % n


def test_a_number_that_is_not_integral_hashes_by_its_repr():
    for key in (2.5, -0.125, 1e-300):
        for n in (3, 7, 11):
            assert hash_partition(key, n) == crc32(repr(key).encode()) % n
    assert len({hash_partition(k + 0.5, 64) for k in range(200)}) > 20, "not every such number in one partition"


def test_a_keys_bytes_are_its_utf8_a_lone_surrogate_included():
    """Keys decoded with surrogateescape may hold lone surrogates: they still have bytes, the same on every host."""
    from mr_luigi.io.partition import key_bytes

    assert key_bytes("café") == b"caf\xc3\xa9"
    assert key_bytes("a\ud800b") == b"a\xed\xa0\x80b"
    assert key_bytes(("x", "a\ud800", 3)) == b"x\x1fa\xed\xa0\x80\x1f3"
    assert hash_partition("a\ud800b", 7) == crc32(b"a\xed\xa0\x80b") % 7
