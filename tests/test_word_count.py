"""The word count pipeline end to end, checked against an independent Counter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import luigi
import pytest

from mr_luigi import JobConfig, MapReduceScheduler
from pipelines.word_count import WordCount, word_count_map, word_count_reduce
from tests.conftest import counts_from_output, read_tsv, reference_lines, reference_word_count


def run_word_count(inputs, out: Path, workers: int = 1, **params) -> None:
    task = WordCount(input_path=str(inputs), output_dir=str(out), **params)
    result = luigi.build([task], local_scheduler=True, workers=workers, detailed_summary=True)
    assert result.status.name in ("SUCCESS", "SUCCESS_WITH_RETRY"), result.summary_text


def test_map_and_reduce_functions():
    assert list(word_count_map("Don't STOP: the whale's 42 tails!")) == [("don't", 1), ("stop", 1), ("the", 1), ("whale's", 1), ("42", 1), ("tails", 1)]
    assert word_count_reduce("w", iter([1, 2, 3])) == 6


def test_messy_text_matches_counter(tmp_path, messy_inputs):
    out = tmp_path / "out"
    run_word_count(tmp_path / "in", out)
    expected = reference_word_count(messy_inputs)
    assert counts_from_output(out / "final_output.txt") == expected
    # every key once, sorted by key
    keys = [k for k, _ in read_tsv(out / "final_output.txt")]
    assert keys == sorted(expected)
    # an apostrophe, straight or curly, between two letters stays in the word (written '); one at an edge does not
    assert expected["cat's"] == 1 and expected["whale's"] == 1 and expected["em"] == 1 and "'em" not in expected
    assert expected["café"] == 1 and expected["œuvre"] == 1


def test_part_files_are_sorted_and_disjoint(tmp_path, messy_inputs):
    out = tmp_path / "out"
    run_word_count(tmp_path / "in", out, num_reduce_tasks=3)
    seen: Counter = Counter()
    for p in range(3):
        rows = read_tsv(out / f"part-{p:05d}")
        keys = [k for k, _ in rows]
        assert keys == sorted(keys)
        assert not set(keys) & set(seen)
        seen.update({k: int(v) for k, v in rows})
    assert seen == reference_word_count(messy_inputs)
    assert not (out / "part-00003").exists()


def test_workers_1_and_2_give_identical_bytes(tmp_path, messy_inputs):
    outs = []
    for workers in (1, 2):
        out = tmp_path / f"out{workers}"
        # tiny splits: several map tasks run side by side
        config = tmp_path / "small_splits.toml"
        config.write_text("split_size_mb = 0.00005\nnum_reduce_tasks = 3\n")
        run_word_count(tmp_path / "in", out, workers=workers, config=str(config))
        outs.append(out)
    manifest = json.loads((outs[1] / "_SUCCESS").read_text())
    assert manifest["task_counts"]["map"] > 2
    for name in ["final_output.txt"] + [f"part-{p:05d}" for p in range(3)]:
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name


def test_partition_count_does_not_change_the_result(tmp_path, messy_inputs):
    finals = set()
    for n in (1, 3, 8):
        out = tmp_path / f"out{n}"
        run_word_count(tmp_path / "in", out, num_reduce_tasks=n)
        finals.add((out / "final_output.txt").read_bytes())
        assert len(list(out.glob("part-*"))) == n
    assert len(finals) == 1


def test_empty_input_gives_empty_output(tmp_path):
    src = tmp_path / "empty.txt"
    src.write_bytes(b"")
    out = tmp_path / "out"
    run_word_count(src, out)
    assert (out / "final_output.txt").read_bytes() == b""
    assert json.loads((out / "_SUCCESS").read_text())["final_output_records"] == 0


def test_line_of_several_megabytes(tmp_path):
    src = tmp_path / "long.txt"
    words = [f"w{i % 1000}" for i in range(700_000)]
    src.write_text("start\n" + " ".join(words) + "\nend")
    assert src.stat().st_size > 3_000_000
    out = tmp_path / "out"
    run_word_count(src, out)
    assert counts_from_output(out / "final_output.txt") == reference_word_count([src])


def test_intermediates_removed_after_success_unless_kept(tmp_path, messy_inputs):
    out = tmp_path / "out"
    run_word_count(tmp_path / "in", out)
    assert sorted(p.name for p in out.iterdir()) == ["_SUCCESS", "_report.html", "final_output.txt"] + [f"part-{p:05d}" for p in range(4)]
    kept = tmp_path / "kept"
    config = tmp_path / "keep.toml"
    config.write_text('keep_intermediate = true\nwork_dir = "work"\n')
    run_word_count(tmp_path / "in", kept, config=str(config))
    (job_dir,) = (tmp_path / "work").iterdir()
    assert {p.name for p in job_dir.iterdir()} == {"attempts", "identity.json", "map_output", "maps_checked.json", "reduce_input", "reduce_output"}
    # the barrier's record of the maps it checked: every input line, none of them bad
    lines = sum(len(reference_lines(p.read_bytes())) for p in (tmp_path / "in").iterdir())
    assert json.loads((job_dir / "maps_checked.json").read_text()) == {"bad_records": 0, "input_records": lines}


def test_luigi_command_from_another_directory(tmp_path, messy_inputs):
    out = tmp_path / "out"
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    luigi_script = Path(sys.executable).parent / "luigi"  # the console script of this environment
    cmd = [str(luigi_script), "--module", "pipelines.word_count", "WordCount", "--input", str(tmp_path / "in" / "*.txt"), "--output-dir", str(out), "--local-scheduler", "--workers", "2", "--no-lock"]
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=_env_without_pythonpath(), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert str(out / "final_output.txt") in proc.stderr
    assert counts_from_output(out / "final_output.txt") == reference_word_count(messy_inputs)


def _env_without_pythonpath() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    return env


def test_bundled_sample_with_default_config(tmp_path):
    """The README's command: no parameters but an output folder of the test's own."""
    repo = Path(__file__).resolve().parent.parent
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "luigi", "--module", "pipelines.word_count", "WordCount", "--output-dir", str(out), "--local-scheduler", "--no-lock"]
    proc = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    samples = sorted((repo / "data" / "word_count").glob("*.txt"))
    assert samples
    assert counts_from_output(out / "final_output.txt") == reference_word_count(samples)
    assert len(list(out.glob("part-*"))) == 4  # num_reduce_tasks from configs/word_count.toml


def test_stale_part_files_of_an_unfinished_run_are_removed(tmp_path, messy_inputs):
    out = tmp_path / "out"
    out.mkdir()
    (out / "part-00007").write_text("stale\t1\n")
    (out / "part-00002").write_text("stale\t1\n")  # the first part beyond this job's two
    (out / "final_output.txt-luigi-tmp-0123456789ab").write_text("half written")
    (out / "_bad_records-luigi-tmp-0123456789ab").mkdir()  # a folder published atomically, killed half way
    (out / "_bad_records-luigi-tmp-0123456789ab" / "map-00000.jsonl").write_text("{}\n")
    (out / "notes.txt").write_text("the user's own file")
    run_word_count(tmp_path / "in", out, num_reduce_tasks=2)
    assert sorted(p.name for p in out.iterdir()) == ["_SUCCESS", "_report.html", "final_output.txt", "notes.txt", "part-00000", "part-00001"]


def test_truncated_gzip_input_fails_naming_the_file(tmp_path):
    import gzip

    src = tmp_path / "log.gz"
    src.write_bytes(gzip.compress(b"some words here\n" * 5000)[:-200])
    config = JobConfig(
        job_name="wc", map_function=word_count_map, reduce_function=word_count_reduce,
        input_files=[str(src)], output_dir=str(tmp_path / "out"), max_retries=0,
    )
    scheduler = MapReduceScheduler(1)
    assert scheduler.execute_job(config) is False
    (error,) = scheduler.last_result.failures.values()
    assert error.startswith("UnreadableInput: cannot read input") and str(src) in error, error
    assert not (tmp_path / "out" / "_SUCCESS").exists()


def test_undecodable_lines_are_bad_records_unless_replaced(tmp_path, messy_inputs):
    bad = tmp_path / "in" / "bad_utf8.txt"
    bad.write_bytes(b"good words \xff\xfe bad bytes\nhalf \xe2\x80 sequence here\nend\n")
    config = tmp_path / "lenient.toml"
    config.write_text("max_bad_records = 2\n")
    run_word_count(tmp_path / "in", tmp_path / "strict", config=str(config))
    skipped = [json.loads(line) for line in (tmp_path / "strict" / "_bad_records" / "map-00000.jsonl").read_text().splitlines()]
    assert [(r["file"], r["line"], r["reason"]) for r in skipped] == [(str(bad), 1, "undecodable"), (str(bad), 2, "undecodable")]
    expected = reference_word_count(messy_inputs)
    expected.update(["end"])
    assert counts_from_output(tmp_path / "strict" / "final_output.txt") == expected
    config.write_text('decode_errors = "replace"\n')
    run_word_count(tmp_path / "in", tmp_path / "replaced", config=str(config))
    assert counts_from_output(tmp_path / "replaced" / "final_output.txt") == reference_word_count(sorted((tmp_path / "in").iterdir()))


def test_compressed_inputs_give_the_same_counts(tmp_path, messy_inputs):
    import bz2
    import gzip

    packed = tmp_path / "packed"
    packed.mkdir()
    for i, path in enumerate(messy_inputs):
        opener = gzip.open if i % 2 else bz2.open
        with opener(packed / (path.name + (".gz" if i % 2 else ".bz2")), "wb") as fh:
            fh.write(path.read_bytes())
    out = tmp_path / "out"
    run_word_count(packed, out)
    assert counts_from_output(out / "final_output.txt") == reference_word_count(messy_inputs)


#: README's examples of the word definition (its words, written out), and what each becomes.
DEFINITION_EXAMPLES = [
    ("Café", ["café"]),
    ("naïve", ["naïve"]),
    ("STRASSE straße", ["strasse", "straße"]),
    ("İstanbul", ["i\u0307stanbul"]),  # str.lower() gives i and a combining dot, a mark: one word
    ("don\u2019t", ["don't"]),
    ("'tis", ["tis"]),
    ("dogs'", ["dogs"]),
    ("rock'n'roll", ["rock'n'roll"]),
    ("a_b", ["a", "b"]),
    ("x''y", ["x", "y"]),
    ("42nd ½ ٣", ["42nd", "½", "٣"]),
]


@pytest.mark.parametrize("text, expected", DEFINITION_EXAMPLES)
def test_the_word_definition_of_the_readme(text, expected):
    from pipelines.word_count import word_count_batch_map, word_count_map
    from tests.conftest import reference_words

    assert reference_words(text) == expected, "the tests' own reference"
    assert [w for w, _ in word_count_map(text)] == expected
    totals: Counter = Counter()
    for word, count in word_count_batch_map([text, text]):
        totals[word] += count
    assert totals == Counter(expected * 2)


def test_words_of_mixed_text_match_the_reference_character_by_character():
    """A random mix of letters, marks, digits, apostrophes and separators (ASCII and not)."""
    import random

    from pipelines.word_count import word_count_map
    from tests.conftest import reference_words

    alphabet = list("abcXYZ09'’_- .,") + ["é", "\u0301", "ß", "İ", "東", "😀", "\u00a0", "٣", "Ⅻ", "\u2028"]
    rng = random.Random(7)
    for _ in range(3000):
        line = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        assert [w for w, _ in word_count_map(line)] == reference_words(line), repr(line)
