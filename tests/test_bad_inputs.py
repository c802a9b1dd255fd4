"""The bad-input matrix: each case ends in a correct result, or a one-line error, exit code non-zero and nothing lost.

Every case runs ``mr-luigi run`` on a job config written by the test. A
failing case must name the file, field or task at fault on the last line of
stderr, exit non-zero, publish no result, leave no temporary file, and leave
what was already in the output folder (and the inputs) as it was.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import hashlib
import io
import json
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest

from mr_luigi.ops import cli
from mr_luigi.io.atomic import TMP_MARKER
from mr_luigi.engine.faults import ENV
from tests.conftest import counts_from_output, reference_word_count, reference_words

REPO = Path(__file__).resolve().parent.parent
SENTINEL = "results of an earlier job, kept by hand\n"


def job_toml(inputs: str, output_dir: str = "out", extra: str = "", map_function: str = "pipelines.word_count:word_count_map") -> str:
    return f"""job_name = "bad_input"
map_function = "{map_function}"
reduce_function = "pipelines.word_count:word_count_reduce"
combine_function = "pipelines.word_count:word_count_reduce"
input_files = {inputs}
output_dir = "{output_dir}"
{extra}"""


def run_job(tmp_path: Path, toml: str, preexec=None) -> subprocess.CompletedProcess:
    (tmp_path / "job.toml").write_text(toml)
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    (out / "notes.txt").write_text(SENTINEL)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "mr_luigi.ops.cli", "run", "job.toml", "--workers", "2"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=300, preexec_fn=preexec)


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_failed_cleanly(proc: subprocess.CompletedProcess, tmp_path: Path, exit_code: int, message: str) -> None:
    """Non-zero exit, the reason on the last line, nothing published or half-written."""
    assert proc.returncode == exit_code, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert re.search(message, last), last
    out = tmp_path / "out"
    assert (out / "notes.txt").read_text() == SENTINEL
    assert not (out / "_SUCCESS").exists() and not (out / "final_output.txt").exists()
    assert not list(out.rglob(f"*{TMP_MARKER}*"))


def assert_succeeded(proc: subprocess.CompletedProcess, tmp_path: Path, expected: Counter) -> None:
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = tmp_path / "out"
    assert counts_from_output(out / "final_output.txt") == expected
    assert (out / "notes.txt").read_text() == SENTINEL


# -- what the planner refuses ------------------------------------------------


def test_missing_input_path(tmp_path):
    proc = run_job(tmp_path, job_toml('["nowhere/words.txt"]'))
    assert_failed_cleanly(proc, tmp_path, 2, r"ConfigError: input_files: '.*nowhere/words.txt' does not exist")


def test_glob_matching_nothing(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("a\n")
    proc = run_job(tmp_path, job_toml('["in/*.csv"]'))
    assert_failed_cleanly(proc, tmp_path, 2, r"input_files: glob '.*in/\*\.csv' matched no files")


def test_output_dir_inside_the_input_folder(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("a b\n")
    before = digest(tmp_path / "in")
    proc = run_job(tmp_path, job_toml('["in"]', output_dir="in/results"))
    assert proc.returncode == 2
    assert re.search(r"ConfigError: output_dir: '.*in/results' is inside the input folder '.*in'", proc.stderr.strip().splitlines()[-1])
    assert digest(tmp_path / "in") == before


def test_input_inside_the_output_dir(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "words.txt").write_text("a b\n")
    proc = run_job(tmp_path, job_toml('["out/words.txt"]'))
    assert_failed_cleanly(proc, tmp_path, 2, r"output_dir: input '.*out/words.txt' is inside output_dir")


def test_a_directory_is_read_as_all_the_files_below_it(tmp_path):
    folder = tmp_path / "in"
    (folder / "sub" / "deeper").mkdir(parents=True)
    (folder / "a.txt").write_text("apple pie\n")
    (folder / "sub" / "b.txt").write_text("apple tart\n")
    (folder / "sub" / "deeper" / "c.log").write_text("pie pie\n")
    (folder / ".hidden").write_text("secret\n")  # skipped, like Hadoop's hidden files
    (folder / "_SUCCESS").write_text("{}\n")
    proc = run_job(tmp_path, job_toml('["in"]'))
    assert_succeeded(proc, tmp_path, Counter({"apple": 2, "pie": 3, "tart": 1}))


@pytest.fixture
def shared_tmp():
    """A folder another user can enter (pytest's own tmp folders are private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="mr_luigi_perm_"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def run_as_nobody(config: Path) -> tuple[int, str]:
    """``mr-luigi run CONFIG`` as user nobody when we are root (root reads and writes anything).

    It runs in a forked child, which already has every module loaded: the
    test's files are the only ones it must be allowed to read.
    """
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop root, run, report exit code and stderr, exit
        os.close(read)
        err = io.StringIO()
        try:
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
            with contextlib.redirect_stderr(err):
                code = cli.main(["run", str(config), "--workers", "1"])
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            code, err = 99, io.StringIO(f"child failed: {exc!r}")
        os.write(write, f"{code}\n{err.getvalue()}".encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as fh:
        code, _, stderr = fh.read().partition("\n")
    os.waitpid(pid, 0)
    return int(code), stderr


def _unreadable_file_and_an_open_output(folder: Path, name: str) -> tuple[Path, Path]:
    """A file no one but root can read, and an output folder anyone can write."""
    secret = folder / name
    secret.write_text("private words\n")
    secret.chmod(0o000)
    out = folder / "out"
    out.mkdir(mode=0o777)
    out.chmod(0o777)
    return secret, out


def test_unreadable_input_file(shared_tmp):
    (shared_tmp / "ok.txt").write_text("fine\n")
    secret, out = _unreadable_file_and_an_open_output(shared_tmp, "secret.txt")
    (shared_tmp / "job.toml").write_text(job_toml(f'["{shared_tmp}"]', output_dir=str(out)))
    code, stderr = run_as_nobody(shared_tmp / "job.toml")
    assert code == 2, stderr
    assert stderr.strip().splitlines()[-1] == f"mr-luigi: ConfigError: input_files: {str(secret)!r} is not readable (permissions)"
    assert list(out.iterdir()) == []


def test_an_unreadable_side_file_is_named_before_anything_runs(shared_tmp):
    (shared_tmp / "in.txt").write_text("words\n")
    secret, out = _unreadable_file_and_an_open_output(shared_tmp, "stopwords.txt")
    (shared_tmp / "job.toml").write_text(job_toml(f'["{shared_tmp / "in.txt"}"]', output_dir=str(out),
                                                  extra=f'files = ["{secret}"]\n'))
    code, stderr = run_as_nobody(shared_tmp / "job.toml")
    assert code == 2, stderr
    assert stderr.strip().splitlines()[-1] == f"mr-luigi: ConfigError: files: side file {str(secret)!r} is not readable (permissions)"
    assert list(out.iterdir()) == []


def test_output_dir_not_writable(shared_tmp):
    (shared_tmp / "in.txt").write_text("words\n")
    locked = shared_tmp / "locked"
    locked.mkdir(mode=0o755)
    (locked / "earlier.txt").write_text(SENTINEL)
    (shared_tmp / "job.toml").write_text(job_toml(f'["{shared_tmp / "in.txt"}"]', output_dir=str(locked / "out")))
    code, stderr = run_as_nobody(shared_tmp / "job.toml")
    assert code == 2, stderr
    assert stderr.strip().splitlines()[-1] == (f"mr-luigi: ConfigError: output_dir: {str(locked / 'out')!r} cannot be created: "
                                               f"{str(locked)!r} is not writable (permissions)")
    assert sorted(p.name for p in locked.iterdir()) == ["earlier.txt"]
    # the output folder itself exists and cannot be written
    (shared_tmp / "job.toml").write_text(job_toml(f'["{shared_tmp / "in.txt"}"]', output_dir=str(locked)))
    code, stderr = run_as_nobody(shared_tmp / "job.toml")
    assert code == 2, stderr
    assert stderr.strip().splitlines()[-1] == f"mr-luigi: ConfigError: output_dir: {str(locked)!r} is not writable (permissions)"
    assert sorted(p.name for p in locked.iterdir()) == ["earlier.txt"]


# -- inputs that are odd but valid: a correct result -------------------------


def test_empty_file(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    proc = run_job(tmp_path, job_toml('["empty.txt"]'))
    assert_succeeded(proc, tmp_path, Counter())
    assert (tmp_path / "out" / "final_output.txt").read_bytes() == b""


def binary_blob(tmp_path: Path) -> Path:
    rng = random.Random(3)
    data = bytes(rng.randrange(256) for _ in range(300_000)) + b"\x00plain words\x00 here\n\x00\x00"
    (tmp_path / "blob.bin").write_bytes(data)
    return tmp_path / "blob.bin"


def test_a_binary_file_fails_as_undecodable_lines(tmp_path):
    binary_blob(tmp_path)
    proc = run_job(tmp_path, job_toml('["blob.bin"]', extra="split_size_mb = 0.05\n"))
    assert_failed_cleanly(proc, tmp_path, 1, r"TooManyBadRecords: too many bad records: [\d,]+ of [\d,]+ input records .*"
                                             r"by reason: undecodable: [\d,]+\. They are in .*/bad_records/")


def test_a_binary_file_with_nul_bytes_read_with_replaced_bytes(tmp_path):
    path = binary_blob(tmp_path)
    proc = run_job(tmp_path, job_toml('["blob.bin"]', extra='split_size_mb = 0.05\ndecode_errors = "replace"\n'))
    assert_succeeded(proc, tmp_path, reference_word_count([path]))
    lines = path.read_bytes().split(b"\n")
    bad = [n for n, line in enumerate(lines, 1) if _undecodable(line)]
    assert re.search(rf"WARNING: {len(bad):,} input line\(s\) held bytes that are not valid utf-8 .*the first at "
                     rf"{re.escape(str(path))}:{bad[0]}\n", proc.stdout), proc.stdout


def _undecodable(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def test_latin1_input_fails_naming_the_file_and_line_unless_its_encoding_is_set(tmp_path):
    text = "first line\ncafé naïve crème\n" + "plain ascii\n" * 50
    (tmp_path / "latin1.txt").write_bytes(text.encode("latin-1"))
    split = "tests.jobs_for_tests:split_words"
    strict = run_job(tmp_path, job_toml('["latin1.txt"]', extra="max_bad_records = 0\n", map_function=split))
    assert_failed_cleanly(strict, tmp_path, 1, r"bad record at .*latin1\.txt:2: undecodable: not valid utf-8 \(set encoding")
    proc = run_job(tmp_path, job_toml('["latin1.txt"]', extra='max_bad_records = 0\nencoding = "latin-1"\n', map_function=split))
    assert_succeeded(proc, tmp_path, Counter(text.split()))
    assert counts_from_output(tmp_path / "out" / "final_output.txt")["café"] == 1


def test_invalid_utf8_with_replace_counts_each_line(tmp_path):
    (tmp_path / "mixed.txt").write_bytes("café naïve crème\n".encode("latin-1") + b"ok \xc3\x28 \xe2\x82 end\nfine\n")
    proc = run_job(tmp_path, job_toml('["mixed.txt"]', extra='decode_errors = "replace"\n'))
    assert_succeeded(proc, tmp_path, reference_word_count([tmp_path / "mixed.txt"]))
    manifest = json.loads((tmp_path / "out" / "_SUCCESS").read_text())
    assert manifest["counters"]["mr_luigi"]["decode_errors"] == 2
    assert manifest["decode_errors"]["first"] == f"{tmp_path / 'mixed.txt'}:1"
    assert "2 input line(s) held bytes that are not valid utf-8" in (tmp_path / "out" / "_report.html").read_text()


def test_invalid_utf8_with_latin1_fallback_reads_those_lines_as_latin1(tmp_path):
    """decode_errors = "latin-1" (mrjob's way): a line that is not UTF-8 is read as Latin-1, other lines as UTF-8."""
    data = "café naïve\n".encode("latin-1") + "crème brûlée\n".encode("utf-8") + "ok \xe9t\xe9\n".encode("latin-1")
    (tmp_path / "mixed.txt").write_bytes(data)
    proc = run_job(tmp_path, job_toml('["mixed.txt"]', extra='decode_errors = "latin-1"\nmax_bad_records = 0\n'))
    lines = [line.decode("utf-8") if _is_utf8(line) else line.decode("latin-1") for line in data.splitlines()]
    assert_succeeded(proc, tmp_path, Counter(w for line in lines for w in reference_words(line)))
    manifest = json.loads((tmp_path / "out" / "_SUCCESS").read_text())
    assert manifest["counters"]["mr_luigi"]["decode_errors"] == 2
    assert "were read as Latin-1" in proc.stdout + proc.stderr


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-32"])
def test_utf16_input_is_read_when_its_encoding_is_set_and_refused_otherwise(tmp_path, codec):
    text = "Ünïcode wörds\r\nsecond line café\n" + "".join(f"line {n} ünï\n" for n in range(3000))
    data = text.encode(codec)
    (tmp_path / "wide.txt").write_bytes(data)
    wrong = run_job(tmp_path, job_toml('["wide.txt"]', extra="split_size_mb = 0.01\n"))
    assert_failed_cleanly(wrong, tmp_path, 1, r"UnreadableInput: input '.*wide\.txt' looks like UTF-(16|32) .*set encoding")
    proc = run_job(tmp_path, job_toml('["wide.txt"]', extra=f'split_size_mb = 0.01\nencoding = "{codec}"\n'))
    expected = Counter(w for line in text.split("\n") for w in reference_words(line))
    assert_succeeded(proc, tmp_path, expected)


def test_a_single_line_of_25_mb(tmp_path):
    """A file with no line break: 25 times the reader's buffer and the word count's long-line threshold (1 MiB)."""
    rng = random.Random(5)
    vocabulary = [f"w{n}" for n in range(5000)]
    words = rng.choices(vocabulary, k=4_400_000)  # about 25 MB with the spaces, no newline
    path = tmp_path / "one_line.txt"
    path.write_text(" ".join(words))
    assert path.stat().st_size > 25_000_000
    proc = run_job(tmp_path, job_toml('["one_line.txt"]'))
    path.unlink()  # large: removed as soon as it is read
    assert_succeeded(proc, tmp_path, Counter(words))


def test_more_partitions_than_keys_leaves_empty_part_files(tmp_path):
    (tmp_path / "few.txt").write_text("alpha beta\nalpha\n")
    proc = run_job(tmp_path, job_toml('["few.txt"]', extra="num_reduce_tasks = 9\n"))
    assert_succeeded(proc, tmp_path, Counter({"alpha": 2, "beta": 1}))
    parts = sorted((tmp_path / "out").glob("part-*"))
    assert len(parts) == 9
    assert sorted(line for p in parts for line in p.read_text().splitlines()) == ["alpha\t2", "beta\t1"]
    assert sum(1 for p in parts if p.stat().st_size == 0) >= 7


# -- inputs that cannot be read: a clear failure -----------------------------


def compressible_text() -> bytes:
    return "".join(f"line {n} with some words {n % 97}\n" for n in range(60_000)).encode()


def test_truncated_gzip(tmp_path):
    blob = gzip.compress(compressible_text())
    (tmp_path / "cut.gz").write_bytes(blob[: len(blob) // 2])
    before = digest(tmp_path)
    proc = run_job(tmp_path, job_toml('["cut.gz"]'))
    assert_failed_cleanly(proc, tmp_path, 1, r"map 0/1: UnreadableInput: cannot read input '.*cut\.gz': .*(ended|truncated)")
    assert (tmp_path / "cut.gz").read_bytes() == blob[: len(blob) // 2] and before["cut.gz"] == digest(tmp_path)["cut.gz"]


def test_corrupt_bzip2(tmp_path):
    blob = bytearray(bz2.compress(compressible_text()))
    middle = len(blob) // 2
    blob[middle : middle + 64] = bytes(64)
    (tmp_path / "bad.bz2").write_bytes(bytes(blob))
    proc = run_job(tmp_path, job_toml('["bad.bz2"]'))
    assert_failed_cleanly(proc, tmp_path, 1, r"UnreadableInput: cannot read input '.*bad\.bz2': Invalid data stream")


def _change_input_while_its_map_waits(tmp_path: Path, src: Path, change) -> subprocess.CompletedProcess:
    """Run a job over ``src`` whose map's first attempt stops before reading; ``change`` the file; kill the
    attempt, so that the retry reads the changed file."""
    (tmp_path / "job.toml").write_text(job_toml(f'["{src}"]', extra="max_retries = 1\n"))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text(SENTINEL)
    env = dict(os.environ, PYTHONPATH=str(REPO), **{ENV: "map:0:1:hang:start"})
    proc = subprocess.Popen([sys.executable, "-m", "mr_luigi.ops.cli", "run", "job.toml", "--workers", "2"], cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (markers := list((tmp_path / "out" / "_work").glob("*/faults/hang-map-0-1"))):
        assert time.monotonic() < deadline and proc.poll() is None, "the map never started"
        time.sleep(0.05)
    change()
    os.kill(json.loads(markers[0].read_text())["pid"], signal.SIGKILL)
    _, stderr = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, "", stderr)


def test_a_file_deleted_between_planning_and_reading_fails_its_map_naming_it(tmp_path):
    src = tmp_path / "goes.txt"
    src.write_text("one two\n" * 1000)
    finished = _change_input_while_its_map_waits(tmp_path, src, src.unlink)
    assert_failed_cleanly(finished, tmp_path, 1, rf"map 0/1: InputError: cannot read input '{re.escape(str(src))}': "
                                                 r"\[Errno 2\] No such file or directory: .*$")


def test_a_file_that_changes_between_planning_and_reading(tmp_path):
    """A writer appends to the input while the job runs: the map that reads it afterwards fails, naming it."""
    src = tmp_path / "grows.txt"
    src.write_text("one two\n" * 1000)

    def append() -> None:
        with open(src, "a") as fh:
            fh.write("three four\n" * 10)

    finished = _change_input_while_its_map_waits(tmp_path, src, append)
    assert_failed_cleanly(finished, tmp_path, 1, rf"map 0/1: InputChanged: input '{re.escape(str(src))}' changed "
                                                 r"after the job was planned \(size 8,000 -> 8,110 bytes, modification time "
                                                 r"changed\): run the job again to plan it anew$")
    # run again: planned anew, it counts what the file holds now
    proc = run_job(tmp_path, job_toml(f'["{src}"]'))
    assert_succeeded(proc, tmp_path, Counter({"one": 1000, "two": 1000, "three": 10, "four": 10}))


def test_disk_full_during_a_spill(tmp_path):
    src = tmp_path / "many.txt"
    src.write_text("".join(f"key{n} " for n in range(200_000)))
    limit = 256 * 1024  # any file the task writes past 256 KB fails with EFBIG, as on a full disk

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = run_job(tmp_path, job_toml('["many.txt"]', extra="map_memory_mb = 8\n"), preexec=small_files)
    assert_failed_cleanly(proc, tmp_path, 1, r"map \d+/\d+: .*StorageError: cannot write map output .*run-00000: \[Errno 27\] File too large")
    assert not list((tmp_path / "out" / "_work").rglob("run-*"))


def test_disk_full_in_the_final_step(tmp_path):
    src = tmp_path / "many.txt"
    src.write_text("".join(f"key{n:06d}\n" for n in range(40_000)))  # 400 KB: every task's files stay small but the last
    limit = 256 * 1024  # any file the task writes past 256 KB fails with EFBIG, as on a full disk

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = run_job(tmp_path, job_toml('["many.txt"]', extra="num_reduce_tasks = 4\nsplit_size_mb = 0.05\nmax_retries = 0\n"),
                   preexec=small_files)
    assert_failed_cleanly(proc, tmp_path, 1, r"bad_input final step: StorageError: bad_input final step: file error: "
                                             r"\[Errno 27\] File too large$")


# -- user functions that produce what the engine cannot use ------------------


@pytest.mark.parametrize("function, extra, message", [
    ("tests.jobs_for_tests:returns_int_map", "", r"RecordError: map_function failed on .*in\.txt:1: TypeError: 'int' object is "
                                                r"not iterable \(map_function must return or yield \(key, value\) pairs\)"),
    ("tests.jobs_for_tests:not_pairs_map", "", r"RecordError: map_function failed on .*in\.txt:1: ValueError: .*unpack.* "
                                              r"\(map_function must return or yield \(key, value\) pairs\)"),
    ("tests.jobs_for_tests:unhashable_key_map", "", r"RecordError: map_function failed on .*in\.txt:1: TypeError: unhashable "
                                                   r"type: 'list' \(keys must be hashable: use a tuple, not a list, dict or set\)$"),
    ("tests.jobs_for_tests:unpicklable_key_map", 'partitioner = "tests.jobs_for_tests:one_partition"\n',
     r"RecordError: cannot store the record with key LocalThing\('\w+'\): TypeError: cannot pickle LocalThing.*must be picklable"),
    ("tests.jobs_for_tests:unpicklable_key_map", "", r"InvalidKey: key LocalThing\('hello'\): a LocalThing cannot be placed by "
                                                    r"the default partitioner.* \(emitted by map_function for .*in\.txt:1\)$"),
    ("tests.jobs_for_tests:nan_key_map", "", r"InvalidKey: key nan: NaN is not equal to itself.* \(emitted by map_function "
                                            r"for .*in\.txt:2\)$"),
])
def test_map_output_the_engine_cannot_use(tmp_path, function, extra, message):
    (tmp_path / "in.txt").write_text("hello world\nhello again\n")
    proc = run_job(tmp_path, job_toml('["in.txt"]', map_function=function, extra=extra))
    assert_failed_cleanly(proc, tmp_path, 1, message)


def test_a_failed_job_leaves_an_earlier_jobs_results_as_they_were(tmp_path):
    (tmp_path / "a.txt").write_text("apple pie\napple\n")
    first = run_job(tmp_path, job_toml('["a.txt"]'))
    assert first.returncode == 0, first.stderr[-2000:]
    before = {k: v for k, v in digest(tmp_path / "out").items() if not k.startswith("_work")}
    blob = gzip.compress(compressible_text())
    (tmp_path / "cut.gz").write_bytes(blob[: len(blob) // 3])
    second = run_job(tmp_path, job_toml('["cut.gz"]'))  # a re-run on other input, same output folder: it fails
    assert second.returncode == 1
    assert "UnreadableInput: cannot read input" in second.stderr.strip().splitlines()[-1]
    assert {k: v for k, v in digest(tmp_path / "out").items() if not k.startswith("_work")} == before
    words = Counter(w for line in ["apple pie", "apple"] for w in reference_words(line))
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == words


# -- an input replaced by one of the same size and modification time -------------


def replace_keeping_size_and_time(path: Path, data: bytes, how: str, tmp_path: Path) -> None:
    """Put ``data`` (same length) in place of ``path`` the way common tools do, keeping its modification time."""
    assert len(data) == path.stat().st_size
    source = tmp_path / f"new_{how}"
    source.write_bytes(data)
    os.utime(source, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns))
    if how == "cp -p":  # over the existing file: same inode, new status change time
        subprocess.run(["cp", "-p", str(source), str(path)], check=True)
    elif how == "touch -r":  # edited in place, then its time set back
        reference = tmp_path / "reference"
        shutil.copy2(path, reference)
        path.write_bytes(data)
        subprocess.run(["touch", "-r", str(reference), str(path)], check=True)
    elif how == "rsync -a":  # a temporary file renamed over it: a new inode
        os.replace(source, path)
    elif how == "tar x":
        subprocess.run(["tar", "-cf", str(tmp_path / "a.tar"), "-C", str(tmp_path), source.name], check=True)
        path.unlink()
        subprocess.run(["tar", "-xf", str(tmp_path / "a.tar"), "-C", str(tmp_path)], check=True)
        os.replace(source, path)
    assert path.read_bytes() == data and path.stat().st_size == len(data)


@pytest.mark.parametrize("how", ["cp -p", "touch -r", "rsync -a", "tar x"])
def test_an_input_replaced_with_the_same_size_and_time_is_read_anew(tmp_path, how):
    from mr_luigi import JobConfig, MapReduceScheduler

    src = tmp_path / "words.txt"
    src.write_bytes(b"OLD " * 5000 + b"\n")
    second = int(src.stat().st_mtime)
    os.utime(src, (second, second))  # whole seconds, as tar keeps them
    before = src.stat().st_mtime_ns
    config = JobConfig(job_name="same_size", map_function="pipelines.word_count:word_count_map",
                       reduce_function="pipelines.word_count:word_count_reduce", input_files=[str(src)],
                       output_dir=str(tmp_path / "out"), split_size_mb=0.005)
    assert MapReduceScheduler(1).execute_job(config)
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == Counter({"old": 5000})
    replace_keeping_size_and_time(src, b"NEW " * 5000 + b"\n", how, tmp_path)
    assert src.stat().st_mtime_ns == before
    assert MapReduceScheduler(1).execute_job(config)
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == Counter({"new": 5000})


def test_an_input_replaced_between_a_crash_and_the_resume_is_not_mixed(tmp_path, monkeypatch):
    from mr_luigi import JobConfig, MapReduceScheduler

    src = tmp_path / "words.txt"
    src.write_bytes(b"OLD " * 20000 + b"\n" + b"OLD\n" * 40000)
    config = JobConfig(job_name="resume", map_function="pipelines.word_count:word_count_map",
                       reduce_function="pipelines.word_count:word_count_reduce", input_files=[str(src)],
                       output_dir=str(tmp_path / "out"), split_size_mb=0.05, max_retries=0)
    monkeypatch.setenv(ENV, "shuffle:*:*:raise")  # every map finished, then the run stops
    assert not MapReduceScheduler(2).execute_job(config)
    monkeypatch.delenv(ENV)
    replace_keeping_size_and_time(src, src.read_bytes().replace(b"OLD", b"NEW"), "cp -p", tmp_path)
    assert MapReduceScheduler(2).execute_job(config)
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == Counter({"new": 60000})
