"""Sealed intermediates: with MR_LUIGI_SECRET, nothing is unpickled that fails its keyed tag."""

from __future__ import annotations

import os
import pickle
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from mr_luigi.errors import ConfigError, StorageError
from mr_luigi.io.records import read_run, write_run
from mr_luigi.io.seal import Seal, filesystem_type
from mr_luigi.io.spill import write_partitions
from tests.conftest import counts_from_output, read_tsv, reference_word_count

REPO = Path(__file__).resolve().parent.parent
SECRET = "test-secret-0123456789abcdef"


class Planted:
    """Unpickling this makes a folder: the proof that a planted pickle ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (str(self.marker),)


def records(n: int) -> list[tuple[str, int]]:
    return sorted((f"kéy{i:05d}", i) for i in range(n))


def test_sealed_runs_read_back_exactly_by_byte_range(tmp_path):
    seal = Seal(SECRET)
    parts = [records(15000)[i::3] for i in range(3)]  # three batches of 2,048 or fewer per partition
    index = write_partitions(tmp_path / "run", parts, seal)
    assert [list(read_run(tmp_path / "run", start, end, seal=seal)) for start, end, _ in index] == parts
    plain = write_partitions(tmp_path / "plain", parts)
    batches = sum(-(-len(p) // 2048) for p in parts)
    # each batch carries a 16-byte tag, and nothing else changes
    assert (tmp_path / "run").stat().st_size == (tmp_path / "plain").stat().st_size + 16 * batches
    assert [count for _, _, count in index] == [count for _, _, count in plain] == [len(p) for p in parts]


@pytest.mark.parametrize("where", ["length", "tag", "data", "last byte"])
def test_a_changed_byte_anywhere_fails_the_check_naming_the_file(tmp_path, where):
    seal = Seal(SECRET)
    path = tmp_path / "run"
    write_run(path, records(100), seal)
    data = bytearray(path.read_bytes())
    at = {"length": 0, "tag": 10, "data": 40, "last byte": len(data) - 1}[where]
    data[at] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises((StorageError, EOFError)) as caught:
        list(read_run(path, seal=seal))
    assert str(path) in str(caught.value)


def test_a_failed_check_says_nothing_was_read_and_what_to_do(tmp_path):
    path = tmp_path / "run"
    write_run(path, records(10), Seal(SECRET))
    with pytest.raises(StorageError) as caught:
        list(read_run(path, seal=Seal("another-secret-0123456789")))
    assert str(caught.value) == (
        f"{path}: the records at byte 0 fail their check against MR_LUIGI_SECRET, so nothing of them was read: the "
        "file was altered, or written by a run with another secret (every host must have the same one). Remove the "
        "job's work folder (mr-luigi clean) and run the job again")


@pytest.mark.parametrize("kept", [1, 3, 4, 19])
def test_a_file_cut_inside_a_batch_header_is_truncated_after_the_batches_before(tmp_path, kept):
    seal = Seal(SECRET)
    path = tmp_path / "run"
    write_run(path, records(4096), seal)  # two batches of 2,048
    data = path.read_bytes()
    second = 4 + 16 + struct.unpack_from("<I", data)[0]
    path.write_bytes(data[:second + kept])
    read = []
    with pytest.raises(EOFError) as caught:
        read.extend(read_run(path, seal=seal))
    assert str(caught.value) == f"{path}: record stream truncated at byte {second}"
    assert read == records(4096)[:2048]


def test_a_planted_pickle_is_never_unpickled(tmp_path):
    """What an attacker who can write the file but lacks the secret can do: a batch of their own, any tag."""
    marker = tmp_path / "ran"
    blob = pickle.dumps([Planted(marker)])
    for tag in (b"\0" * 16, Seal("another-secret-0123456789").tag(0, blob)):
        path = tmp_path / "run"
        path.write_bytes(struct.pack("<I", len(blob)) + tag + blob)
        with pytest.raises(StorageError, match="fail their check against MR_LUIGI_SECRET"):
            list(read_run(path, seal=Seal(SECRET)))
        assert not marker.exists()
    list(read_run(path, seal=Seal("another-secret-0123456789")))  # the planted batch is real: with its key, it runs
    assert marker.is_dir()


def test_batches_cannot_be_moved_within_a_file(tmp_path):
    seal = Seal(SECRET)
    path = tmp_path / "run"
    write_run(path, records(4096), seal)  # two batches of 2048
    data = path.read_bytes()
    first = 4 + 16 + struct.unpack_from("<I", data)[0]
    path.write_bytes(data[first:] + data[:first])  # the same two batches, swapped
    with pytest.raises(StorageError, match="at byte 0 "):
        list(read_run(path, seal=seal))


def test_a_short_secret_is_refused_without_being_shown():
    with pytest.raises(ConfigError) as caught:
        Seal("hunter2")
    assert caught.value.field == "MR_LUIGI_SECRET" and "7 characters" in str(caught.value)
    assert "hunter2" not in str(caught.value)
    assert "hunter2" not in repr(Seal("hunter2-and-more-characters"))


MOUNTINFO = """\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
30 22 0:40 / /mnt/shared rw,relatime shared:9 - nfs4 server:/export rw,vers=4.2
31 30 0:41 / /mnt/shared/local rw shared:10 - tmpfs tmpfs rw
32 22 0:42 / /mnt/my\\040files rw shared:11 - cifs //host/share rw
"""


@pytest.mark.parametrize("path, expected", [
    ("/home/user/work", "ext4"),
    ("/mnt/shared", "nfs4"),
    ("/mnt/shared/jobs/not-yet-made", "nfs4"),
    ("/mnt/shared/local/x", "tmpfs"),   # the deepest mount holds it
    ("/mnt/sharedother", "ext4"),       # a prefix of the name is not a parent folder
    ("/mnt/my files/x", "cifs"),        # spaces are escaped as \040
])
def test_the_filesystem_of_a_folder_is_its_deepest_mount(path, expected):
    assert filesystem_type(Path(path), MOUNTINFO) == expected


def test_a_work_folder_on_a_network_filesystem_needs_the_secret(tmp_path, monkeypatch):
    from mr_luigi import JobConfig
    from mr_luigi.engine import plan as planning

    (tmp_path / "in.txt").write_text("a b\n")
    config = JobConfig(job_name="shared", input_files=[str(tmp_path / "in.txt")], output_dir=str(tmp_path / "out"),
                       map_function="tests.jobs_for_tests:count_words", reduce_function="sum")
    monkeypatch.delenv("MR_LUIGI_SECRET", raising=False)
    monkeypatch.setattr(planning, "filesystem_type", lambda path: "nfs4")
    with pytest.raises(ConfigError) as raised:
        planning.make_plan(config)
    assert re.fullmatch(r"work_dir: \S+ is on a shared filesystem \(nfs4\): set MR_LUIGI_SECRET to the same secret on "
                        r"every host, so that no worker unpickles records another machine's user could have written "
                        r"\(see the README, Running on several machines\)", str(raised.value)), raised.value
    monkeypatch.setenv("MR_LUIGI_SECRET", SECRET)
    sealed = planning.make_plan(config)
    monkeypatch.setattr(planning, "filesystem_type", lambda path: "ext4")
    monkeypatch.delenv("MR_LUIGI_SECRET")
    plain = planning.make_plan(config)
    assert plain.job_id != sealed.job_id  # sealing or not: two jobs, never each other's files
    planning.record_identity(sealed)  # a worker without the secret asked for a task of the sealed job says why not
    planning._plans.clear()
    with pytest.raises(planning.JobChanged) as changed:
        planning.plan_of_task(sealed.job_id, sealed.spec)
    assert str(changed.value) == (f"job {sealed.job_id} is planned here as {plain.job_id}: it differs in whether "
                                  "MR_LUIGI_SECRET is set; every worker of a job needs the same inputs, code and settings")


def luigi_word_count(config: Path, **env: str) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k not in ("MR_LUIGI_SECRET", "MR_LUIGI_FAULTS")}
    full.update(env, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "luigi", "--module", "pipelines.word_count", "WordCount", "--config",
                           str(config), "--local-scheduler", "--no-lock"], cwd=REPO, capture_output=True, text=True,
                          env=full, timeout=300)


def write_job(tmp_path: Path, name: str, extra: str = "") -> tuple[Path, list[Path]]:
    inputs = []
    for i in range(2):
        path = tmp_path / "in" / f"f{i}.txt"
        path.parent.mkdir(exist_ok=True)
        path.write_text("".join(f"Wörd{j % 300} zeile{j % 7} {i}\n" for j in range(3000)))
        inputs.append(path)
    config = tmp_path / f"{name}.toml"
    config.write_text(f'input_files = ["{tmp_path / "in"}"]\noutput_dir = "{tmp_path / name}"\nnum_reduce_tasks = 1\n{extra}')
    return config, inputs


def test_a_sealed_job_gives_the_same_bytes_and_the_secret_is_written_nowhere(tmp_path):
    config, inputs = write_job(tmp_path, "sealed", "keep_intermediate = true\n")
    plain, _ = write_job(tmp_path, "plain")
    ran = luigi_word_count(config, MR_LUIGI_SECRET=SECRET)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert luigi_word_count(plain).returncode == 0
    sealed_out, plain_out = tmp_path / "sealed" / "final_output.txt", tmp_path / "plain" / "final_output.txt"
    assert counts_from_output(sealed_out) == reference_word_count(inputs)
    assert sealed_out.read_bytes() == plain_out.read_bytes()
    written = [p for p in (tmp_path / "sealed").rglob("*") if p.is_file()]
    assert any("map_output" in str(p) for p in written), "the intermediates were kept, and are searched too"
    for path in written:
        assert SECRET.encode() not in path.read_bytes(), path
    assert SECRET not in ran.stdout + ran.stderr


def test_a_planted_map_output_fails_the_job_and_is_never_unpickled(tmp_path):
    config, _ = write_job(tmp_path, "out")
    stopped = luigi_word_count(config, MR_LUIGI_SECRET=SECRET, MR_LUIGI_FAULTS="shuffle:*:*:raise")
    assert stopped.returncode == 30, stopped.stderr[-3000:]  # the maps are done, the shuffle never ran
    runs = sorted((tmp_path / "out").glob("_work/*/map_output/map-*/run-*"))
    assert runs
    marker = tmp_path / "ran"
    blob = pickle.dumps([Planted(marker)])
    original = runs[0].read_bytes()
    runs[0].write_bytes(struct.pack("<I", len(blob)) + b"\0" * 16 + blob + original[4 + 16 + len(blob):])
    again = luigi_word_count(config, MR_LUIGI_SECRET=SECRET)
    assert again.returncode == 30
    assert f"{runs[0]}: the records at byte 0 fail their check against MR_LUIGI_SECRET" in again.stderr
    assert not marker.exists()
    assert not (tmp_path / "out" / "_SUCCESS").exists() and not (tmp_path / "out" / "final_output.txt").exists()
    assert SECRET not in again.stderr


@pytest.mark.parametrize("last", ["reduced", "map-only"])
def test_the_later_steps_of_a_sealed_job_read_the_records_of_the_step_before(tmp_path, monkeypatch, last):
    """A later step's map reads what the step before reduced, sealed: through the check, with a reduce or map-only."""
    from mr_luigi import JobConfig, MapReduceScheduler, Step
    from tests import jobs_for_tests as jobs

    _, inputs = write_job(tmp_path, "unused")
    many = tmp_path / "in" / "many.txt"  # 9,000 distinct words: each of 3 reduces writes more than one batch of 2,048
    many.write_text("".join(f"distinct{i} " + ("\n" if i % 10 == 9 else "") for i in range(9000)))
    inputs.append(many)
    second = (Step(map_function=jobs.by_count, reduce_function=jobs.sorted_words, num_reduce_tasks=2) if last == "reduced"
              else Step(map_function=jobs.by_count, num_reduce_tasks=0))
    job = JobConfig(job_name="sealed_steps", input_files=[str(p) for p in inputs], output_dir=str(tmp_path / "out"),
                    num_reduce_tasks=3, max_retries=0, keep_intermediate=True,
                    steps=[Step(map_function=jobs.count_words, reduce_function=jobs.total), second])
    monkeypatch.setenv("MR_LUIGI_SECRET", SECRET)
    scheduler = MapReduceScheduler(2)
    assert scheduler.execute_job(job), scheduler.last_result.describe_failure()
    by_count: dict[int, list[str]] = {}
    for word, count in sorted(reference_word_count(inputs).items()):
        by_count.setdefault(count, []).append(word)
    rows = read_tsv(tmp_path / "out" / "final_output.txt")
    if last == "reduced":
        assert dict(rows) == by_count
    else:
        assert sorted(rows) == sorted((count, word) for count, words in by_count.items() for word in words)
    step1_outputs = [p for p in (tmp_path / "out").rglob("*") if p.is_file() and "sealed_steps.step1" in str(p)
                     and "reduce" in p.name]
    assert step1_outputs, "the first step's reduce outputs were kept"
    for path in step1_outputs:  # sealed: not readable as plain records
        with pytest.raises(Exception):
            list(read_run(path))


def test_a_sealed_reduce_writing_several_batches_of_keys_is_published_in_key_order(tmp_path, monkeypatch):
    """A reduce writes its keys file a batch of 4,096 keys at a time; every batch is sealed, or the final step,
    which reads them back to put the lines in key order, fails."""
    from mr_luigi import JobConfig, MapReduceScheduler
    from tests import jobs_for_tests as jobs

    path = tmp_path / "in.txt"
    path.write_text("".join(f"distinct{i} common\n" for i in range(9000)))
    monkeypatch.setenv("MR_LUIGI_SECRET", SECRET)
    job = JobConfig(job_name="many_keys", map_function=jobs.count_words, reduce_function=jobs.total,
                    input_files=[str(path)], output_dir=str(tmp_path / "out"), num_reduce_tasks=2, max_retries=0)
    scheduler = MapReduceScheduler(1)
    assert scheduler.execute_job(job), scheduler.last_result.describe_failure()
    rows = read_tsv(tmp_path / "out" / "final_output.txt")
    assert rows == sorted(reference_word_count([path]).items())
