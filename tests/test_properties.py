"""Property: whatever the lines, splits, partitions, workers, memory budget,
merge fan-in, combiner and kind of map function, and whichever task fails its
first attempt and how, a job's output is exactly what an oracle written here
computes from the files' bytes, in key order.

The tokens are mostly not ASCII: letters that change length when lowercased,
a BOM (U+FEFF) inside lines and at line starts anywhere in a file, no-break
and line-separator spaces that ``str.split`` splits on but a line reader must
not, and an emoji. Two oracles: the words of each line as ``str.split`` gives
them, and each line's exact text (a map emitting the line itself), so a
character lost or added anywhere, at a split start for instance, shows.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import Counter
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from mr_luigi import JobConfig, MapReduceScheduler
from mr_luigi.engine.faults import ENV
from tests import jobs_for_tests as jobs
from tests.conftest import expected_tsv, read_tsv, reference_lines, reference_word_count

TOKENS = ["a", "ab", "it's", "7", "10", "null", "é", "straße", "İstanbul", "ǅ", "東京", "😀", "\ufeff", "\ufeffbom",
          "naïve", "a\u00a0b", "x\u2028y", "\x85", "\"q", "[1", ""]
words = st.sampled_from(TOKENS)
line = st.lists(words, max_size=8).map(" ".join)
ending = st.sampled_from(["\n", "\r\n"])
text_file = st.tuples(st.lists(st.tuples(line, ending), max_size=60), st.booleans()).map(
    lambda t: "".join(a + b for a, b in t[0])[: -1 if t[1] and t[0] else None]
)
#: map kind -> (per-line map, batch map, oracle over one line's text)
MAPS = {
    "words": (jobs.split_words, jobs.batch_split_words, str.split),
    "lines": (jobs.line_map, jobs.batch_line_map, lambda text: [text]),
}


def oracle(paths: list[Path], kind: str) -> list[tuple]:
    """The (key, count) rows a job's output must hold, in key order."""
    counts: Counter = Counter()
    for path in paths:
        for text in reference_lines(path.read_bytes()):
            counts.update(MAPS[kind][2](text))
    return sorted(counts.items())


@settings(max_examples=50)
@given(
    texts=st.lists(text_file, min_size=1, max_size=4),
    split_kb=st.sampled_from([0.05, 0.2, 1, 64]),
    partitions=st.integers(1, 5),
    workers=st.sampled_from([1, 2]),
    memory_mb=st.sampled_from([0.0005, 0.005, 256]),
    fan_in=st.sampled_from([2, 3, 64]),
    combine=st.booleans(),
    batch=st.booleans(),
    kind=st.sampled_from(sorted(MAPS)),
)
def test_any_job_shape_gives_the_oracles_result(texts, split_kb, partitions, workers, memory_mb, fan_in, combine, batch, kind):
    folder = Path(tempfile.mkdtemp(prefix="mr_luigi_prop_"))
    try:
        inputs = []
        for i, text in enumerate(texts):
            path = folder / "in" / f"f{i}.txt"
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(text.encode())
            inputs.append(path)
        config = JobConfig(
            job_name="prop", map_function=MAPS[kind][1 if batch else 0], reduce_function=jobs.total,
            combine_function=jobs.total if combine else None, input_files=[str(p) for p in inputs],
            output_dir=str(folder / "out"), num_reduce_tasks=partitions, max_retries=0,
            split_size_mb=split_kb / 1024, map_memory_mb=memory_mb, merge_fan_in=fan_in,
        )
        scheduler = MapReduceScheduler(max_concurrent_tasks=workers)
        assert scheduler.execute_job(config), scheduler.last_result.failures
        assert read_tsv(folder / "out" / "final_output.txt") == oracle(inputs, kind)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


pieces = st.one_of(
    st.sampled_from([b"a", b"it's", b"Zebra9", b"caf\xc3\xa9", b"\xff", b"\xc3", b"\x00", b"\r", b"\n", b"\r\n", b" ", b"\t",
                     b"\xef\xbb\xbf", b"\xe2\x80\x99"]),
    st.binary(max_size=3),
)
raw_file = st.lists(pieces, max_size=150).map(b"".join)
fault = st.tuples(st.sampled_from(["map", "barrier", "shuffle", "reduce", "final", "*"]), st.sampled_from(["raise", "kill"]),
                  st.sampled_from(["start", "middle", "commit"]))


@settings(max_examples=30)
@given(
    files=st.lists(raw_file, min_size=1, max_size=3),
    split_kb=st.sampled_from([0.03, 0.1, 64]),
    partitions=st.integers(1, 4),
    workers=st.sampled_from([1, 2]),
    memory_mb=st.sampled_from([0.0005, 256]),
    fault=fault,
)
def test_raw_bytes_and_a_failed_first_attempt_give_the_counter_result(files, split_kb, partitions, workers, memory_mb, fault):
    """Any bytes (invalid UTF-8, NUL, BOM, lone CR) and a task failing once, by raising or by dying, give the Counter's bytes.

    A ``kill`` kills the process running the task: with two workers that is
    a worker process Luigi forked, with one it is this process, so kills run
    with two workers only (``hang`` needs something outside to kill it: the
    kill matrix, tests/test_kill.py, does that).
    """
    folder = Path(tempfile.mkdtemp(prefix="mr_luigi_prop_"))
    phase, action, point = fault
    if action == "kill":
        workers = 2
    os.environ[ENV] = f"{phase}:*:1:{action}:{point}"
    try:
        inputs = []
        for i, data in enumerate(files):
            path = folder / "in" / f"f{i}.bin"
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(data)
            inputs.append(path)
        config = JobConfig(
            job_name="prop_raw", map_function=jobs.count_words, reduce_function=jobs.total, combine_function=jobs.total,
            input_files=[str(p) for p in inputs], output_dir=str(folder / "out"), num_reduce_tasks=partitions,
            max_retries=1, max_bad_records=0, split_size_mb=split_kb / 1024, map_memory_mb=memory_mb,
            decode_errors="replace",
        )
        scheduler = MapReduceScheduler(max_concurrent_tasks=workers)
        assert scheduler.execute_job(config), scheduler.last_result.failures
        expected = expected_tsv(reference_word_count(inputs))
        assert (folder / "out" / "final_output.txt").read_bytes() == expected
        assert max(scheduler.last_result.manifest["attempts"]["per_task"].values()) == 2
    finally:
        os.environ.pop(ENV, None)
        shutil.rmtree(folder, ignore_errors=True)
