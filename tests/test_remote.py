"""Inputs and outputs on an S3-compatible server (moto on 127.0.0.1): the same bytes as a local run.

Every job here runs as a user runs it (``mr-luigi run`` or ``luigi --module``, in
a subprocess) against the session's server, and is compared with the same job
on local files, and with a Counter.
"""

from __future__ import annotations

import bz2
import gzip
import json
import os
import random
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from mr_luigi.io import remote
from tests.conftest import counts_from_output, reference_word_count
from tests.services import S3_ENV

REPO = Path(__file__).resolve().parent.parent
SECRET = "remote-test-secret-0123456789"
WORDS = ["naïve", "Café", "straße", "ǅemal", "日本語", "emoji😀", "don't", "THE", "the", "x"]


#: The words of write_inputs' compressed files, counted by hand.
COMPRESSED_WORDS = Counter({"gzipped": 500, "words": 500 + 300, "the": 1000 + 300, "café": 500, "bzip2": 300, "straße": 300})


def write_inputs(folder: Path) -> list[Path]:
    """Three text files, big enough to be cut into several ranged reads, and a gzipped and a bzip2 one."""
    rng = random.Random(7)
    folder.mkdir(parents=True)
    paths = []
    for i in range(3):
        text = "".join(" ".join(rng.choice(WORDS) for _ in range(rng.randrange(0, 12))) + ("\r\n" if i == 1 else "\n")
                       for _ in range(6000))
        path = folder / f"f{i}.txt"
        path.write_text(text, encoding="utf-8", newline="")
        paths.append(path)
    gz = folder / "g.txt.gz"
    gz.write_bytes(gzip.compress("gzipped words the THE Café\n".encode() * 500))
    bz = folder / "b.txt.bz2"
    bz.write_bytes(bz2.compress("bzip2 words the straße\n".encode() * 300))
    return [*paths, gz, bz]


def upload(bucket, local: Path, prefix: str) -> None:
    for path in sorted(local.iterdir()):
        bucket.fs.put_file(str(path), f"{bucket.name}/{prefix}/{path.name}")


def run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k not in ("MR_LUIGI_FAULTS", "MR_LUIGI_SECRET")}
    full.update(PYTHONPATH=str(REPO), XDG_CACHE_HOME=str(tmp_path / "cache"))
    full.update(env)
    return subprocess.run(args, cwd=REPO, capture_output=True, text=True, env=full, timeout=300)


def mr_luigi(*args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "mr_luigi.ops.cli", *args], tmp_path, **env)


def word_count_config(path: Path, inputs: str, output: str, endpoint: str | None, extra: str = "") -> Path:
    lines = [f"job_name = {json.dumps(path.stem)}", 'map_function = "pipelines.word_count:word_count_map"',
             'reduce_function = "pipelines.word_count:word_count_reduce"',
             'combine_function = "pipelines.word_count:word_count_reduce"',
             f"input_files = {json.dumps([inputs])}", f"output_dir = {json.dumps(output)}",
             "split_size_mb = 0.05", "num_reduce_tasks = 3", extra]
    if endpoint:
        lines += ["[s3]", f"endpoint_url = {json.dumps(endpoint)}"]
    path.write_text("\n".join(lines) + "\n")
    return path


def remote_files(bucket, prefix: str) -> dict[str, bytes]:
    bucket.fs.invalidate_cache()
    base = f"{bucket.name}/{prefix}/"
    return {p[len(base):]: bucket.fs.cat_file(p) for p in bucket.fs.find(base)}


def local_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_local_inputs_with_results_on_the_store_give_the_local_runs_bytes(tmp_path, bucket):
    """The job has a store (its output is on it) and its inputs are local files: they are read from the disk."""
    inputs = write_inputs(tmp_path / "in")
    local = mr_luigi("run", str(word_count_config(tmp_path / "local.toml", str(tmp_path / "in"), str(tmp_path / "out"), None)),
                     tmp_path=tmp_path)
    assert local.returncode == 0, local.stderr[-3000:]
    config = word_count_config(tmp_path / "mixed.toml", str(tmp_path / "in"), f"{bucket.url}/out", bucket.endpoint)
    ran = mr_luigi("run", str(config), "--workers", "2", tmp_path=tmp_path)
    assert ran.returncode == 0, ran.stderr[-3000:]
    published, mine = remote_files(bucket, "out"), local_files(tmp_path / "out")
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == reference_word_count(inputs[:3]) + COMPRESSED_WORDS
    for name in ["final_output.txt", "part-00000", "part-00001", "part-00002"]:
        assert published[name] == mine[name], name
    manifest = json.loads(published["_SUCCESS"])
    assert {row["path"] for row in manifest["inputs"]} == {str(p) for p in inputs}

def test_word_count_from_and_to_the_store_gives_the_local_runs_bytes(tmp_path, bucket):
    inputs = write_inputs(tmp_path / "in")
    upload(bucket, tmp_path / "in", "in")
    local = mr_luigi("run", str(word_count_config(tmp_path / "local.toml", str(tmp_path / "in"), str(tmp_path / "out"), None)),
                     tmp_path=tmp_path)
    assert local.returncode == 0, local.stderr[-3000:]
    config = word_count_config(tmp_path / "remote.toml", f"{bucket.url}/in", f"{bucket.url}/out", bucket.endpoint)
    ran = mr_luigi("run", str(config), "--workers", "2", tmp_path=tmp_path)
    assert ran.returncode == 0, ran.stderr[-3000:]
    expected = reference_word_count(inputs[:3]) + COMPRESSED_WORDS
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == expected

    published = remote_files(bucket, "out")
    mine = local_files(tmp_path / "out")
    same = sorted(name for name in mine if name.startswith("part-") or name == "final_output.txt")
    assert same == ["final_output.txt", "part-00000", "part-00001", "part-00002"]
    for name in same:
        assert published[name] == mine[name], name
    assert set(published) == set(same) | {"_SUCCESS", "_report.html"}  # nothing else: no journal, no lock
    manifest = json.loads(published["_SUCCESS"])
    assert manifest["config"]["output_dir"] == f"{bucket.url}/out" and manifest["task_counts"]["map"] > 4  # ranged splits
    assert {row["path"] for row in manifest["inputs"]} == {f"{bucket.url}/in/{p.name}" for p in inputs}
    assert f"-> {bucket.url}/out/final_output.txt" in ran.stdout
    assert S3_ENV["AWS_SECRET_ACCESS_KEY"] not in ran.stdout + ran.stderr + published["_SUCCESS"].decode() \
        + published["_report.html"].decode()
    assert not list((tmp_path / "cache").rglob("final_output.txt")), "no staged copy of the results is left"

    again = mr_luigi("run", str(config), tmp_path=tmp_path)  # finished: nothing runs, the same summary
    assert again.returncode == 0 and "succeeded" in again.stdout


def test_a_rerun_with_fewer_partitions_replaces_every_earlier_object(tmp_path, bucket):
    write_inputs(tmp_path / "in")
    upload(bucket, tmp_path / "in", "in")
    config = word_count_config(tmp_path / "job.toml", f"{bucket.url}/in/*.txt", f"{bucket.url}/out", bucket.endpoint)
    assert mr_luigi("run", str(config), tmp_path=tmp_path).returncode == 0
    bucket.fs.pipe(f"{bucket.name}/out/notes.md", b"mine")  # a user's own file in the output prefix
    ran = mr_luigi("run", str(config), "--set", "num_reduce_tasks=1", tmp_path=tmp_path)
    assert ran.returncode == 0, ran.stderr[-3000:]
    published = remote_files(bucket, "out")
    assert sorted(published) == ["_SUCCESS", "_report.html", "final_output.txt", "notes.md", "part-00000"]
    assert json.loads(published["_SUCCESS"])["task_counts"]["reduce"] == 1
    assert published["part-00000"] == published["final_output.txt"]


def test_log_analysis_reads_and_writes_the_store_through_the_standard_endpoint_variable(tmp_path, bucket):
    from tests.test_log_analysis import make_log  # the log test's own generator, junk lines included

    (tmp_path / "logs").mkdir()
    for i in range(2):
        (tmp_path / "logs" / f"access{i}.log").write_text("\n".join(make_log(random.Random(i), 4000)) + "\n", encoding="utf-8")
    upload(bucket, tmp_path / "logs", "logs")
    out_local = tmp_path / "local"
    args = [sys.executable, "-m", "luigi", "--module", "pipelines.log_analysis", "LogAnalysis", "--local-scheduler",
            "--no-lock", "--workers", "2"]
    local = run([*args, "--input", str(tmp_path / "logs" / "*.log"), "--output-dir", str(out_local)], tmp_path)
    assert local.returncode == 0, local.stderr[-3000:]
    ran = run([*args, "--input", f"{bucket.url}/logs/*.log", "--output-dir", f"{bucket.url}/report"], tmp_path,
              AWS_ENDPOINT_URL=bucket.endpoint)
    assert ran.returncode == 0, ran.stderr[-3000:]
    published = remote_files(bucket, "report")
    mine = local_files(out_local)
    names = sorted(n for n in mine if n.rsplit("/", 1)[-1] not in ("_SUCCESS", "_report.html"))  # these name paths
    assert names and any(n.startswith("_bad_records/") for n in names), names
    for name in names:  # a bad record names its file: the object's URL instead of the local path
        assert published[name] == mine[name].replace(str(tmp_path / "logs").encode(), f"{bucket.url}/logs".encode()), name
    assert {"top_ips.txt", "requests_per_ip.txt"} <= set(names)
    manifest = json.loads(published["_SUCCESS"])
    assert sorted(manifest["outputs"]) == sorted({n.split("/")[0] for n in names if not n.startswith("_steps/")}
                                                 | {"_report.html"})
    assert f"-> {bucket.url}/report:" in ran.stderr + ran.stdout
    steps = remote_files(bucket, "report/_steps/stats")
    assert "_SUCCESS" in steps  # each step published on the store too


@pytest.mark.parametrize("work", ["local", "store"])
def test_a_multi_step_job_reads_and_writes_the_store(tmp_path, bucket, work):
    """A later step's maps read the records the step before reduced: from the store, with work_dir there."""
    write_inputs(tmp_path / "in")
    upload(bucket, tmp_path / "in", "in")
    config = tmp_path / "steps.toml"

    def write(inputs: str, output: str, endpoint: str | None, work_dir: str = "") -> None:
        config.write_text(f'''job_name = "top_words"
input_files = [{json.dumps(inputs)}]
output_dir = {json.dumps(output)}
split_size_mb = 0.05
{f"work_dir = {json.dumps(work_dir)}" if work_dir else ""}
{"[s3]" + chr(10) + "endpoint_url = " + json.dumps(endpoint) if endpoint else ""}

[[steps]]
map_function = "pipelines.word_count:word_count_map"
reduce_function = "sum"
combine_function = "sum"

[[steps]]
map_function = "tests.jobs_for_tests:by_count"
reduce_function = "tests.jobs_for_tests:sorted_words"
num_reduce_tasks = 1
''')

    write(str(tmp_path / "in"), str(tmp_path / "out"), None)
    assert mr_luigi("run", str(config), tmp_path=tmp_path).returncode == 0
    write(f"{bucket.url}/in", f"{bucket.url}/out", bucket.endpoint, f"{bucket.url}/work" if work == "store" else "")
    ran = mr_luigi("run", str(config), "--workers", "2", tmp_path=tmp_path, MR_LUIGI_SECRET=SECRET)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert remote_files(bucket, "out")["final_output.txt"] == (tmp_path / "out" / "final_output.txt").read_bytes()
    if work == "store":
        assert remote_files(bucket, "work") == {}, "both steps' objects removed once the job is done"


def test_an_object_is_known_by_its_etag(tmp_path, bucket):
    bucket.fs.pipe(f"{bucket.name}/in/a.txt", b"one two\n")
    config = word_count_config(tmp_path / "job.toml", f"{bucket.url}/in/a.txt", f"{bucket.url}/out", bucket.endpoint)
    first = mr_luigi("validate", str(config), tmp_path=tmp_path)
    bucket.fs.pipe(f"{bucket.name}/in/a.txt", b"two one\n")  # same size, other bytes: another ETag
    bucket.fs.invalidate_cache()
    second = mr_luigi("validate", str(config), tmp_path=tmp_path)
    ids = [re.search(r"\((job-[0-9a-f]{12})\)", shown.stdout).group(1) for shown in (first, second)]
    assert ids[0] != ids[1]
    store = remote.Store(endpoint_url=bucket.endpoint)
    size, etag = remote.identity(f"{bucket.url}/in/a.txt", store)
    assert size == 8 and re.fullmatch(r"[0-9a-f]{32}", etag)


@pytest.fixture(scope="module")
def locked_server(tmp_path_factory):
    """An S3 server that checks credentials (moto with IAM checks from the first request) and knows none."""
    from tests.services import S3Server

    server = S3Server(tmp_path_factory.mktemp("locked_s3"), env={"INITIAL_NO_AUTH_ACTION_COUNT": "0"})
    yield server
    server.stop()


@pytest.mark.parametrize("case", ["missing bucket", "missing key", "empty glob", "refused endpoint", "credentials in config",
                                  "wrong credentials"])
def test_bad_store_input_is_one_clear_line_naming_the_url_and_nothing_is_published(tmp_path, bucket, case, request):
    bucket.fs.pipe(f"{bucket.name}/in/a.txt", b"a b\n")
    endpoint = bucket.endpoint
    inputs, extra = f"{bucket.url}/in/a.txt", ""
    if case == "wrong credentials":
        endpoint = request.getfixturevalue("locked_server").url
    if case == "missing bucket":
        inputs = "s3://no-such-bucket-here/in/a.txt"
    elif case == "missing key":
        inputs = f"{bucket.url}/in/nothing.txt"
    elif case == "empty glob":
        inputs = f"{bucket.url}/in/*.csv"
    elif case == "refused endpoint":
        from tests.services import free_port

        endpoint = f"http://127.0.0.1:{free_port()}"
    config = word_count_config(tmp_path / "job.toml", inputs, f"{bucket.url}/out", endpoint, extra)
    if case == "credentials in config":
        config.write_text(config.read_text() + 'aws_secret_access_key = "hunter2-secret"\n')
    ran = mr_luigi("run", str(config), tmp_path=tmp_path)
    assert ran.returncode == 2, ran.stderr[-3000:]
    message = ran.stderr.strip().splitlines()[-1]
    expected = {
        "missing bucket": r"input_files: s3://no-such-bucket-here/in/a\.txt: bucket 'no-such-bucket-here' does not exist",
        "missing key": rf"input_files: 's3://{bucket.name}/in/nothing\.txt' does not exist",
        "empty glob": rf"input_files: glob 's3://{bucket.name}/in/\*\.csv' matched no objects",
        "refused endpoint": rf"input_files: s3://{bucket.name}/in/a\.txt: cannot reach the object store .*endpoint_url",
        "credentials in config": r"s3\.aws_secret_access_key: credentials never go in a job config",
        "wrong credentials": rf"input_files: s3://{bucket.name}/in/a\.txt: access denied: check the credentials",
    }[case]
    assert re.search(expected, message), message
    assert "Traceback" not in ran.stderr
    assert S3_ENV["AWS_SECRET_ACCESS_KEY"] not in ran.stdout + ran.stderr and "hunter2" not in ran.stderr
    assert remote_files(bucket, "out") == {}



def test_a_final_step_on_another_host_fetches_what_the_reduces_put_on_the_store(tmp_path, bucket):
    """Every task but the final step ran on one host; the final step runs on another, with a local folder of its
    own (another cache folder): it gets the reduces' outputs from the store, and publishes the same bytes."""
    write_inputs(tmp_path / "in")
    upload(bucket, tmp_path / "in", "in")
    local = mr_luigi("run", str(word_count_config(tmp_path / "local.toml", str(tmp_path / "in"), str(tmp_path / "out"), None)),
                     tmp_path=tmp_path)
    assert local.returncode == 0, local.stderr[-3000:]
    config = word_count_config(tmp_path / "remote.toml", f"{bucket.url}/in", f"{bucket.url}/out", bucket.endpoint,
                               f'work_dir = "{bucket.url}/work"')
    first = mr_luigi("run", str(config), tmp_path=tmp_path, MR_LUIGI_SECRET=SECRET, MR_LUIGI_FAULTS="final:*:*:raise")
    assert first.returncode != 0 and "final" in first.stderr, first.stderr[-3000:]
    assert "_SUCCESS" not in remote_files(bucket, "out")
    other_host = tmp_path / "other_host"
    other_host.mkdir()
    second = mr_luigi("run", str(config), tmp_path=other_host, MR_LUIGI_SECRET=SECRET)
    assert second.returncode == 0, second.stderr[-3000:]
    published = remote_files(bucket, "out")
    for name in ["final_output.txt", "part-00000", "part-00001", "part-00002"]:
        assert published[name] == (tmp_path / "out" / name).read_bytes(), name
    assert json.loads(published["_SUCCESS"])["attempts"]["per_task"]["map-00000"] == 1, "no map ran again"

def test_everything_on_the_store_work_dir_too_gives_the_local_runs_bytes(tmp_path, bucket):
    inputs = write_inputs(tmp_path / "in")
    upload(bucket, tmp_path / "in", "in")
    local = mr_luigi("run", str(word_count_config(tmp_path / "local.toml", str(tmp_path / "in"), str(tmp_path / "out"), None)),
                     tmp_path=tmp_path)
    assert local.returncode == 0, local.stderr[-3000:]
    config = word_count_config(tmp_path / "remote.toml", f"{bucket.url}/in", f"{bucket.url}/out", bucket.endpoint,
                               f'work_dir = "{bucket.url}/work"\nkeep_intermediate = true')
    refused = mr_luigi("run", str(config), tmp_path=tmp_path)
    assert refused.returncode == 2 and re.search(r"work_dir: s3://\S+/work is on an object store every host writes: "
                                                 r"set MR_LUIGI_SECRET", refused.stderr), refused.stderr[-2000:]
    ran = mr_luigi("run", str(config), "--workers", "2", tmp_path=tmp_path, MR_LUIGI_SECRET=SECRET)
    assert ran.returncode == 0, ran.stderr[-3000:]
    published = remote_files(bucket, "out")
    for name in ["final_output.txt", "part-00000", "part-00001", "part-00002"]:
        assert published[name] == (tmp_path / "out" / name).read_bytes(), name
    expected = reference_word_count(inputs[:3]) + COMPRESSED_WORDS
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == expected

    work = remote_files(bucket, "work")
    manifest = json.loads(published["_SUCCESS"])
    job = manifest["job_id"]
    maps, parts = manifest["task_counts"]["map"], manifest["task_counts"]["reduce"]
    markers = sorted(name for name in work if name.endswith("/_DONE"))
    assert markers == sorted([f"{job}/map_output/map-{i:05d}/_DONE" for i in range(maps)]
                             + [f"{job}/reduce_input/part-{p:05d}/_DONE" for p in range(parts)]
                             + [f"{job}/reduce_output/part-{p:05d}/_DONE" for p in range(parts)])
    for marker in markers:  # each names the prefix holding its task's files, all of them there
        named = json.loads(work[marker])
        folder = marker.rsplit("/", 1)[0]
        assert {f"{folder}/{named['prefix']}/{f}" for f in named["files"]} <= set(work)
    assert f"{job}/maps_checked.json" in work
    assert SECRET not in ran.stdout + ran.stderr
    assert not any(SECRET.encode() in data for data in [*work.values(), *published.values()])

    cleaned = word_count_config(tmp_path / "remote2.toml", f"{bucket.url}/in", f"{bucket.url}/out2", bucket.endpoint,
                                f'work_dir = "{bucket.url}/work2"')
    assert mr_luigi("run", str(cleaned), tmp_path=tmp_path, MR_LUIGI_SECRET=SECRET).returncode == 0
    assert remote_files(bucket, "work2") == {}, "without keep_intermediate the job's objects are removed"


def test_bad_lines_of_a_store_object_read_in_ranges_are_named_by_their_line_in_it(tmp_path, bucket):
    """Splits of one object that start mid-object count their lines from its start, through the store."""
    lines = [f"BAD line {n}" if n % 700 == 0 else f"word{n % 13} other" for n in range(1, 6001)]
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "data.txt").write_text("\n".join(lines) + "\n")
    upload(bucket, tmp_path / "in", "in")
    config = tmp_path / "job.toml"
    config.write_text(f'job_name = "bad"\nmap_function = "tests.jobs_for_tests:strict_map"\n'
                      f'reduce_function = "tests.jobs_for_tests:total"\ninput_files = ["{bucket.url}/in/data.txt"]\n'
                      f'output_dir = "{bucket.url}/out"\nsplit_size_mb = 0.02\nmax_bad_records = 100\n'
                      f'[s3]\nendpoint_url = "{bucket.endpoint}"\n')
    ran = mr_luigi("run", str(config), tmp_path=tmp_path)
    assert ran.returncode == 0, ran.stderr[-3000:]
    published = remote_files(bucket, "out")
    assert json.loads(published["_SUCCESS"])["task_counts"]["map"] >= 3  # splits that start mid-object among them
    bad = [json.loads(line) for name, data in published.items() if name.startswith("_bad_records/")
           for line in data.decode().splitlines()]
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    assert sorted((r["file"], r["line"], r["offset"], r["raw"]) for r in bad) == [
        (f"{bucket.url}/in/data.txt", n, offsets[n - 1], lines[n - 1]) for n in range(700, 6001, 700)]


def test_a_planted_map_output_on_the_store_is_never_unpickled(tmp_path, bucket):
    import pickle
    import struct

    from tests.test_seal import Planted

    write_inputs(tmp_path / "in")
    upload(bucket, tmp_path / "in", "in")
    config = word_count_config(tmp_path / "job.toml", f"{bucket.url}/in", f"{bucket.url}/out", bucket.endpoint,
                               f'work_dir = "{bucket.url}/work"')
    stopped = mr_luigi("run", str(config), tmp_path=tmp_path, MR_LUIGI_SECRET=SECRET, MR_LUIGI_FAULTS="shuffle:*:*:raise")
    assert stopped.returncode == 1
    work = remote_files(bucket, "work")
    marker = next(name for name in sorted(work) if name.endswith("map-00000/_DONE"))
    named = json.loads(work[marker])
    run_file = next(f for f in named["files"] if f.startswith("run-"))
    key = f"{bucket.name}/work/{marker.rsplit('/', 1)[0]}/{named['prefix']}/{run_file}"
    original = bucket.fs.cat_file(key)
    blob = pickle.dumps([Planted(tmp_path / "ran")])
    bucket.fs.pipe(key, struct.pack("<I", len(blob)) + b"\0" * 16 + blob + original[20 + len(blob):])
    again = mr_luigi("run", str(config), tmp_path=tmp_path, MR_LUIGI_SECRET=SECRET)
    assert again.returncode == 1
    assert f"s3://{key}: the records at byte 0 fail their check against MR_LUIGI_SECRET" in again.stderr, again.stderr[-3000:]
    assert not (tmp_path / "ran").exists()
    assert "_SUCCESS" not in remote_files(bucket, "out")


@pytest.mark.parametrize("point", ["middle", "put"])
def test_kill_the_worker_with_everything_on_the_store_then_rerun(tmp_path, bucket, point):
    """SIGKILL the whole run while map 1 is half done (middle) or has put its files but not its marker (put)."""
    import signal
    import time

    write_inputs(tmp_path / "in")
    upload(bucket, tmp_path / "in", "in")
    clean = mr_luigi("run", str(word_count_config(tmp_path / "clean.toml", str(tmp_path / "in"), str(tmp_path / "clean"), None)),
                     tmp_path=tmp_path)
    assert clean.returncode == 0
    config = word_count_config(tmp_path / "job.toml", f"{bucket.url}/in", f"{bucket.url}/out", bucket.endpoint,
                               f'work_dir = "{bucket.url}/work"\nkeep_intermediate = true\nmax_retries = 0')
    args = [sys.executable, "-m", "luigi", "--module", "pipelines.word_count", "WordCount", "--config", str(config),
            "--local-scheduler", "--no-lock", "--workers", "2"]
    env = {k: v for k, v in os.environ.items() if k not in ("MR_LUIGI_FAULTS", "MR_LUIGI_SECRET")}
    env.update(PYTHONPATH=str(REPO), XDG_CACHE_HOME=str(tmp_path / "cache"), MR_LUIGI_SECRET=SECRET,
               MR_LUIGI_FAULTS=f"map:1:1:hang:{point}")
    proc = subprocess.Popen(args, cwd=REPO, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    mirror = tmp_path / "cache" / "mr_luigi" / bucket.name / "work"
    deadline = time.monotonic() + 120
    try:
        while not list(mirror.glob("*/faults/hang-map-1-1")):
            assert proc.poll() is None, proc.stderr.read()[-3000:]
            assert time.monotonic() < deadline, "map 1 never reached its fault point"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        proc.stderr.close()

    work = remote_files(bucket, "work")
    (job,) = {name.split("/")[0] for name in work}
    put = [name for name in work if name.startswith(f"{job}/map_output/map-00001/")]
    assert not any(name.endswith("/_DONE") for name in put), "the killed map has no marker"
    if point == "put":
        assert any("/run-" in name for name in put), "its files were put: they must not count"
    assert "_SUCCESS" not in remote_files(bucket, "out")

    env.pop("MR_LUIGI_FAULTS")
    rerun = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    published = remote_files(bucket, "out")
    for name in ["final_output.txt", "part-00000", "part-00001", "part-00002"]:
        assert published[name] == (tmp_path / "clean" / name).read_bytes(), name
    attempts = json.loads(published["_SUCCESS"])["attempts"]
    assert attempts["per_task"]["map-00001"] == 2  # the killed attempt counted, from the store's attempt log
    finished_before = {n.split("/")[2] for n in work if n.endswith("/_DONE") and "/map_output/" in n}
    assert all(attempts["per_task"][f"map-{name[4:]}"] == 1 for name in finished_before), "a finished map ran again"


def test_hosts_with_their_own_cache_folders_plan_the_same_job(tmp_path, bucket):
    """The job id covers the store's URLs, never a host's local mirror or staging folder under its cache."""
    bucket.fs.pipe(f"{bucket.name}/in/a.txt", b"a b\n")
    config = word_count_config(tmp_path / "job.toml", f"{bucket.url}/in", f"{bucket.url}/out", bucket.endpoint,
                               f'work_dir = "{bucket.url}/work"')
    ids = set()
    for host in ("host1", "host2"):
        shown = mr_luigi("validate", str(config), tmp_path=tmp_path, MR_LUIGI_SECRET=SECRET, XDG_CACHE_HOME=str(tmp_path / host))
        assert shown.returncode == 0, shown.stderr
        ids.add(re.search(r"\((job-[0-9a-f]{12})\)", shown.stdout).group(1))
        assert re.search(rf"^output: {bucket.url}/out   work: {bucket.url}/work/job-[0-9a-f]{{12}}$", shown.stdout, re.M)
    assert len(ids) == 1


@pytest.mark.parametrize("base, parts, expected", [
    ("s3://b/out/", ("_steps", "stats"), "s3://b/out/_steps/stats"),
    ("s3://b/out", ("/x/",), "s3://b/out/x"),
    ("out", ("a", "b.txt"), os.path.join(os.getcwd(), "out", "a", "b.txt")),
    ("/data/out/", (), "/data/out"),
])
def test_a_location_joins_a_url_with_slashes_and_makes_a_local_path_absolute(base, parts, expected):
    assert remote.location(base, *parts) == expected


@pytest.mark.parametrize("table, field, words", [
    ({"endpoint_url": "http://x", "regoin": "eu"}, "s3.regoin", "unknown setting"),
    ({"aws_access_key_id": "AKIA"}, "s3.aws_access_key_id", "credentials never go in a job config"),
    ({"secret_key": "s"}, "s3.secret_key", "credentials never go in a job config"),
    ({"endpoint_url": 5}, "s3.endpoint_url", "expected a non-empty string"),
])
def test_the_s3_table_takes_the_endpoint_and_region_only(table, field, words):
    from mr_luigi.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        remote.Store.from_config(table)
    assert caught.value.field == field and words in caught.value.message
    assert "AKIA" not in str(caught.value)
    assert remote.Store.from_config({"endpoint_url": "http://h:1", "region": "eu-west-1"}) == \
        remote.Store(endpoint_url="http://h:1", region="eu-west-1")


def test_the_python_api_says_where_the_results_on_the_store_are(tmp_path, bucket, monkeypatch):
    from mr_luigi import JobConfig, MapReduceScheduler

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    bucket.fs.pipe(f"{bucket.name}/in/a.txt", "b a b ä\n".encode())
    config = JobConfig(job_name="api", input_files=[f"{bucket.url}/in/a.txt"], output_dir=f"{bucket.url}/out",
                       map_function="tests.jobs_for_tests:count_words", reduce_function="sum", num_reduce_tasks=1,
                       s3={"endpoint_url": bucket.endpoint})
    scheduler = MapReduceScheduler(max_concurrent_tasks=1)
    assert scheduler.execute_job(config)
    result = scheduler.last_result
    assert result.location == f"{bucket.url}/out" and result.manifest["config"]["output_dir"] == result.location
    assert bucket.fs.cat_file(f"{bucket.name}/out/final_output.txt").decode() == "a\t1\nb\t2\nä\t1\n"
    assert not result.output_dir.exists(), "the staging folder is gone once the results are on the store"


def test_side_files_with_everything_on_the_store(tmp_path, bucket):
    """Each host reads its own copy of a side file (checked against the job id's digest); the tasks find it."""
    from tests.jobs_for_tests import words

    bucket.fs.pipe(f"{bucket.name}/in/a.txt", "the cat and the dog\nThe end and ÄRA\n".encode())
    (tmp_path / "stop.txt").write_text("the and\n")
    config = tmp_path / "job.toml"
    config.write_text(f'''job_name = "stops"
map_function = "tests.jobs_for_tests:count_words_but_stop_words"
reduce_function = "sum"
input_files = ["{bucket.url}/in/a.txt"]
output_dir = "{bucket.url}/out"
work_dir = "{bucket.url}/work"
files = ["stop.txt"]
[s3]
endpoint_url = "{bucket.endpoint}"
''')
    ran = mr_luigi("run", str(config), "--workers", "2", tmp_path=tmp_path, MR_LUIGI_SECRET=SECRET)
    assert ran.returncode == 0, ran.stderr[-3000:]
    expected = Counter(w for line in ["the cat and the dog", "The end and ÄRA"] for w in words(line.lower())
                       if w not in ("the", "and"))
    published = remote_files(bucket, "out")["final_output.txt"].decode()
    assert Counter({k: int(v) for k, v in (row.split("\t") for row in published.splitlines())}) == expected


def test_clean_removes_the_jobs_in_a_work_folder_on_the_store_and_nothing_else(tmp_path, bucket):
    write_inputs(tmp_path / "in")
    upload(bucket, tmp_path / "in", "in")
    config = word_count_config(tmp_path / "job.toml", f"{bucket.url}/in", f"{bucket.url}/out", bucket.endpoint,
                               f'work_dir = "{bucket.url}/work"\nkeep_intermediate = true')
    assert mr_luigi("run", str(config), tmp_path=tmp_path, MR_LUIGI_SECRET=SECRET).returncode == 0
    bucket.fs.pipe(f"{bucket.name}/work/notes/readme.txt", b"a user's own file")
    before = remote_files(bucket, "work")
    assert any("/map_output/" in name for name in before)
    cleaned = mr_luigi("clean", "--work-dir", f"{bucket.url}/work/", tmp_path=tmp_path, AWS_ENDPOINT_URL=bucket.endpoint)
    assert cleaned.returncode == 0, cleaned.stderr
    assert remote_files(bucket, "work") == {"notes/readme.txt": b"a user's own file"}
    assert "1 job(s) removed" in cleaned.stdout
    assert "_SUCCESS" in remote_files(bucket, "out"), "the results stay"
    assert not (tmp_path / "cache" / "mr_luigi" / bucket.name / "work").exists(), "and this host's mirror goes"


def test_jobs_sharing_a_work_folder_stage_their_store_outputs_apart(tmp_path):
    from mr_luigi import JobConfig
    from mr_luigi.engine.config import validate

    (tmp_path / "in.txt").write_text("a\n")
    staged = [validate(JobConfig(job_name=f"j{n}", input_files=[str(tmp_path / "in.txt")], output_dir=f"s3://b/out{n}",
                                 work_dir=str(tmp_path / "scratch"), map_function="tests.jobs_for_tests:count_words",
                                 reduce_function="sum")) for n in (1, 2)]
    assert [r.output_url for r in staged] == ["s3://b/out1", "s3://b/out2"]
    folders = [r.output_dir for r in staged]
    assert folders[0] != folders[1] and all(f.is_relative_to(tmp_path / "scratch") for f in folders)
    assert not folders[0].is_relative_to(folders[1]) and not folders[1].is_relative_to(folders[0])


def test_a_finished_jobs_prefix_is_read_as_its_part_objects_once(tmp_path, bucket):
    """As with a folder: the prefix means the part objects, and final_output.txt with them is refused."""
    bucket.fs.pipe(f"{bucket.name}/in/a.txt", "x y y\nz\n".encode())
    first = word_count_config(tmp_path / "first.toml", f"{bucket.url}/in", f"{bucket.url}/first", bucket.endpoint)
    assert mr_luigi("run", str(first), tmp_path=tmp_path).returncode == 0
    second = tmp_path / "second.toml"
    second.write_text(f'''job_name = "second"
map_function = "tests.jobs_for_tests:count_words"
reduce_function = "sum"
input_files = ["{bucket.url}/first"]
output_dir = "{bucket.url}/second"
num_reduce_tasks = 1
[s3]
endpoint_url = "{bucket.endpoint}"
''')
    ran = mr_luigi("run", str(second), tmp_path=tmp_path)
    assert ran.returncode == 0, ran.stderr[-2000:]
    published = remote_files(bucket, "first")
    lines = [line for name in published if name.startswith("part-") for line in published[name].decode().splitlines()]
    assert len(lines) == 3 and published["final_output.txt"].decode().splitlines() == sorted(lines)
    manifest = json.loads(remote_files(bucket, "second")["_SUCCESS"])
    assert manifest["totals"]["input_records"] == len(lines)  # each record once, not again from final_output.txt
    assert {row["path"].rsplit("/", 1)[1] for row in manifest["inputs"]} == {n for n in published if n.startswith("part-")}
    # every object of the prefix, final_output.txt with its part objects: refused before anything runs
    everything = tmp_path / "everything.toml"
    everything.write_text(second.read_text().replace(f'"{bucket.url}/first"', f'"{bucket.url}/first/*"')
                          .replace('"second"', '"everything"').replace(f"{bucket.url}/second", f"{bucket.url}/everything"))
    ran = mr_luigi("run", str(everything), tmp_path=tmp_path)
    assert ran.returncode == 2, ran.stderr[-2000:]
    assert ran.stderr.strip().splitlines()[-1] == (
        f"mr-luigi: ConfigError: input_files: '{bucket.url}/first' is a finished job's output: its final_output.txt and its "
        "part objects (part-00000, ...) hold the same records, so every record would be read twice; name the prefix itself "
        "(its part objects) or final_output.txt")
    # final_output.txt alone, as the refusal's message offers, is read once too
    third = tmp_path / "third.toml"
    third.write_text(second.read_text().replace(f'"{bucket.url}/first"', f'"{bucket.url}/first/final_output.txt"')
                     .replace('"second"', '"third"').replace(f"{bucket.url}/second", f"{bucket.url}/third"))
    ran = mr_luigi("run", str(third), tmp_path=tmp_path)
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert json.loads(remote_files(bucket, "third")["_SUCCESS"])["totals"]["input_records"] == len(lines)

    both = second.read_text().replace(f'["{bucket.url}/first"]',
                                      f'["{bucket.url}/first/final_output.txt", "{bucket.url}/first/part-*"]')
    second.write_text(both)
    refused = mr_luigi("run", str(second), tmp_path=tmp_path)
    assert refused.returncode == 2 and "every record would be read twice" in refused.stderr, refused.stderr[-2000:]


@pytest.mark.parametrize("field", ["output_dir", "work_dir"])
def test_a_folder_on_the_store_inside_an_input_prefix_is_refused(tmp_path, bucket, field):
    bucket.fs.pipe(f"{bucket.name}/data/a.txt", b"a\n")
    inside = f'{field} = "{bucket.url}/data/{field}"'
    other = f'output_dir = "{bucket.url}/out"' if field == "work_dir" else ""
    config = tmp_path / "job.toml"
    config.write_text(f'''job_name = "apart"
map_function = "tests.jobs_for_tests:count_words"
reduce_function = "sum"
input_files = ["{bucket.url}/data"]
{inside}
{other}
[s3]
endpoint_url = "{bucket.endpoint}"
''')
    shown = mr_luigi("validate", str(config), tmp_path=tmp_path, MR_LUIGI_SECRET=SECRET)
    assert shown.returncode == 2
    assert re.search(rf"{field}: 's3://{bucket.name}/data/{field}' is inside the input 's3://{bucket.name}/data'",
                     shown.stderr), shown.stderr


@pytest.mark.parametrize("success", [b"", b"{}", b'{"status": "done"}', b"[1]", b"not json"],
                         ids=["empty, as Spark writes it", "an object", "another tool's", "a list", "not JSON"])
def test_a_prefix_with_another_tools_success_object_means_every_object_under_it(bucket, success):
    """Only an mr_luigi manifest (with its job_id) makes a prefix a finished job's part objects."""
    from mr_luigi.engine.config import _expand_url

    for name in ("in2/a.txt", "in2/b.txt", "in2/part-00000"):
        bucket.fs.pipe(f"{bucket.name}/{name}", b"x\n")
    bucket.fs.pipe(f"{bucket.name}/in2/_SUCCESS", success)
    bucket.fs.invalidate_cache()
    found = _expand_url(f"{bucket.url}/in2", remote.Store(endpoint_url=bucket.endpoint))
    assert sorted(url.rsplit("/", 1)[1] for url in found) == ["a.txt", "b.txt", "part-00000"]  # as for a folder: not _SUCCESS


@pytest.mark.parametrize("spelled", ["{url}/done-X", "{url}/done-X/"], ids=["prefix", "prefix with a slash"])
def test_a_finished_jobs_prefix_means_its_part_objects_however_it_is_spelled(bucket, spelled):
    from mr_luigi.engine.config import _expand_url

    for name in ("part-00000", "part-00001", "final_output.txt"):
        bucket.fs.pipe(f"{bucket.name}/done-X/{name}", b"x\t1\n")
    bucket.fs.pipe(f"{bucket.name}/done-X/_SUCCESS", json.dumps({"job_id": "earlier-0123456789ab"}).encode())
    bucket.fs.invalidate_cache()
    found = _expand_url(spelled.format(url=bucket.url), remote.Store(endpoint_url=bucket.endpoint))
    assert [url.rsplit("/", 1)[1] for url in found] == ["part-00000", "part-00001"]  # final_output.txt would count twice


def test_a_finished_jobs_prefix_whose_manifest_cannot_be_read_is_refused_not_read_as_a_folder(bucket, monkeypatch):
    """Reading ``_SUCCESS`` fails (the store refuses, once) while listing works: taken for "no manifest", the
    prefix would be read as a folder, part objects and final_output.txt both, every record twice."""
    import errno

    from mr_luigi.engine.config import _expand_url
    from mr_luigi.errors import ConfigError

    for name in ("part-00000", "part-00001", "final_output.txt"):
        bucket.fs.pipe(f"{bucket.name}/done-Y/{name}", b"x\t1\n")
    bucket.fs.pipe(f"{bucket.name}/done-Y/_SUCCESS", json.dumps({"job_id": "earlier-0123456789ab"}).encode())
    bucket.fs.invalidate_cache()
    real_fetch = remote.fetch

    def refused_for_manifests(urls, store):
        got = real_fetch(urls, store)
        return [ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused") if url.endswith("/_SUCCESS") else data
                for url, data in zip(urls, got)]

    monkeypatch.setattr(remote, "fetch", refused_for_manifests)
    with pytest.raises(ConfigError) as refused:
        _expand_url(f"{bucket.url}/done-Y", remote.Store(endpoint_url=bucket.endpoint))
    assert re.fullmatch(rf"input_files: s3://{bucket.name}/done-Y: cannot reach the object store \(.*Connection refused\): "
                        r"check \[s3\] endpoint_url or AWS_ENDPOINT_URL", str(refused.value)), str(refused.value)


def test_a_finished_jobs_prefix_without_part_objects_asks_which_output_to_read(bucket):
    """A finished job of named outputs has no part objects: the prefix alone would read nothing, so it is refused."""
    from mr_luigi.engine.config import _expand_url
    from mr_luigi.errors import ConfigError

    for name in ("words.txt", "lengths.txt"):
        bucket.fs.pipe(f"{bucket.name}/named-X/{name}", b"x\t1\n")
    bucket.fs.pipe(f"{bucket.name}/named-X/_SUCCESS", json.dumps({"job_id": "earlier-0123456789ab"}).encode())
    bucket.fs.invalidate_cache()
    with pytest.raises(ConfigError) as caught:
        _expand_url(f"{bucket.url}/named-X/", remote.Store(endpoint_url=bucket.endpoint))
    assert str(caught.value) == (f"input_files: '{bucket.url}/named-X' holds a finished job's results but no part-* objects: "
                                 "name the output object(s) to read")


def test_a_glob_on_the_store_skips_dot_and_underscore_names_unless_it_spells_them(bucket):
    """As for local files: ``*`` does not match ``_SUCCESS`` or ``.hidden``; a pattern that spells the ``_`` does."""
    from mr_luigi.engine.config import _expand_url

    for name in ("g/a.txt", "g/b.txt", "g/_SUCCESS", "g/.hidden", "g/_tmp/x.txt"):
        bucket.fs.pipe(f"{bucket.name}/{name}", b"x\n")
    bucket.fs.invalidate_cache()
    store = remote.Store(endpoint_url=bucket.endpoint)
    assert [url.rsplit("/", 1)[1] for url in _expand_url(f"{bucket.url}/g/*", store)] == ["a.txt", "b.txt"]
    assert [url.rsplit("/", 1)[1] for url in _expand_url(f"{bucket.url}/g/_*", store)] == ["_SUCCESS"]


# --- the checks of a config with s3:// fields, made in this process (the runs above start a command) ---


def _config_on_the_store(bucket, monkeypatch, tmp_path, **fields):
    """A word count whose inputs and output are on the bucket unless ``fields`` say otherwise; this host's cache
    folder is under tmp_path."""
    from mr_luigi.engine.config import JobConfig

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    values = {"job_name": "apart", "map_function": "tests.jobs_for_tests:count_words", "reduce_function": "sum",
              "input_files": [f"{bucket.url}/data/"], "output_dir": f"{bucket.url}/out",
              "s3": {"endpoint_url": bucket.endpoint}}
    values.update(fields)
    return JobConfig(**values)


def _validate_on_the_store(bucket, monkeypatch, tmp_path, **fields):
    from mr_luigi.engine.config import validate

    return validate(_config_on_the_store(bucket, monkeypatch, tmp_path, **fields))


@pytest.mark.parametrize("inputs, folders, field, inside", [
    (["{url}/out/a.txt"], {"output_dir": "{url}/out/"}, "output_dir", "out"),
    (["{url}/work/a.txt"], {"output_dir": "{local}", "work_dir": "{url}/work"}, "work_dir", "work"),
], ids=["output_dir", "work_dir, the output being local"])
def test_an_input_object_inside_a_prefix_the_job_writes_is_refused_word_for_word(
        tmp_path, bucket, monkeypatch, inputs, folders, field, inside):
    from mr_luigi.errors import ConfigError

    bucket.fs.pipe(f"{bucket.name}/{inside}/a.txt", b"a\n")
    bucket.fs.invalidate_cache()
    spelled = {name: value.format(url=bucket.url, local=tmp_path / "out") for name, value in folders.items()}
    with pytest.raises(ConfigError) as caught:
        _validate_on_the_store(bucket, monkeypatch, tmp_path, input_files=[p.format(url=bucket.url) for p in inputs],
                               **spelled)
    assert str(caught.value) == (f"{field}: input '{bucket.url}/{inside}/a.txt' is inside {field} '{bucket.url}/{inside}', "
                                 "where the job writes: choose another prefix")


@pytest.mark.parametrize("folders, field, folder", [
    ({"output_dir": "{url}/INBOX/out"}, "output_dir", "{url}/INBOX/out"),
    ({"output_dir": "{url}/INBOX/"}, "output_dir", "{url}/INBOX"),
    ({"output_dir": "{local}", "work_dir": "{url}/INBOX/work"}, "work_dir", "{url}/INBOX/work"),
], ids=["below it", "the prefix itself", "work_dir, the output being local"])
def test_a_prefix_the_job_writes_inside_an_input_prefix_is_refused_word_for_word(
        tmp_path, bucket, monkeypatch, folders, field, folder):
    """The input is named with a trailing slash, and its name ends in X (a letter a careless strip would eat)."""
    from mr_luigi.errors import ConfigError

    bucket.fs.pipe(f"{bucket.name}/INBOX/a.txt", b"a\n")
    bucket.fs.invalidate_cache()
    spelled = {name: value.format(url=bucket.url, local=tmp_path / "out") for name, value in folders.items()}
    with pytest.raises(ConfigError) as caught:
        _validate_on_the_store(bucket, monkeypatch, tmp_path, input_files=[f"{bucket.url}/INBOX/"], **spelled)
    assert str(caught.value) == (f"{field}: '{folder.format(url=bucket.url)}' is inside the input '{bucket.url}/INBOX/': "
                                 "a later run would read this job's files as input; choose a prefix outside it")


def test_prefixes_that_only_begin_alike_are_apart(tmp_path, bucket, monkeypatch):
    """``data`` and ``data2`` are two prefixes: an output in one and an input in the other are accepted, and an
    output named with a trailing slash, or a name with an X in it, is the prefix without the slash."""
    for name in ("data/a.txt", "dataX2/b.txt"):
        bucket.fs.pipe(f"{bucket.name}/{name}", b"a\n")
    bucket.fs.invalidate_cache()
    resolved = _validate_on_the_store(bucket, monkeypatch, tmp_path, input_files=[f"{bucket.url}/data", f"{bucket.url}/dataX2/"],
                                      output_dir=f"{bucket.url}/dat/", work_dir=f"{bucket.url}/dataX")
    assert resolved.input_paths == (f"{bucket.url}/data/a.txt", f"{bucket.url}/dataX2/b.txt")
    assert (resolved.output_url, resolved.work_url) == (f"{bucket.url}/dat", f"{bucket.url}/dataX")


@pytest.mark.parametrize("work", ["none", "local", "store"])
def test_where_a_job_with_its_output_on_the_store_works_and_stages_its_outputs(tmp_path, bucket, monkeypatch, work):
    """This host's cache folder (``$XDG_CACHE_HOME/mr_luigi/<bucket>/<prefix>``) unless a local work_dir is given;
    the outputs are staged in the work folder's ``_outputs/<bucket>/<prefix>`` before they are put on the store."""
    bucket.fs.pipe(f"{bucket.name}/data/a.txt", b"a\n")
    bucket.fs.invalidate_cache()
    given = {"none": {}, "local": {"work_dir": str(tmp_path / "mine")}, "store": {"work_dir": f"{bucket.url}/scratch/"}}[work]
    resolved = _validate_on_the_store(bucket, monkeypatch, tmp_path, output_dir=f"{bucket.url}/results/", **given)
    cache = tmp_path / "cache" / "mr_luigi" / bucket.name
    expected_work = {"none": cache / "results", "local": tmp_path / "mine", "store": cache / "scratch"}[work]
    assert resolved.work_dir == expected_work
    assert resolved.output_dir == expected_work / "_outputs" / bucket.name / "results"
    assert resolved.output_url == f"{bucket.url}/results"
    assert resolved.work_url == (f"{bucket.url}/scratch" if work == "store" else None)


@pytest.mark.parametrize("value", ["s3://{bucket}", "s3://{bucket}/", "s3://{bucket}/out*", "s3://{bucket}/o?t", "s3://{bucket}/[ab]"])
def test_an_output_url_must_be_a_prefix_in_a_bucket_word_for_word(tmp_path, bucket, monkeypatch, value):
    from mr_luigi.errors import ConfigError

    bucket.fs.pipe(f"{bucket.name}/data/a.txt", b"a\n")
    bucket.fs.invalidate_cache()
    spelled = value.format(bucket=bucket.name)
    with pytest.raises(ConfigError) as caught:
        _validate_on_the_store(bucket, monkeypatch, tmp_path, output_dir=spelled)
    assert str(caught.value) == f"output_dir: {spelled!r}: expected s3://bucket/prefix, a folder in a bucket"


def test_a_file_map_cannot_read_inputs_on_the_store_word_for_word(tmp_path, bucket, monkeypatch):
    from mr_luigi.errors import ConfigError

    bucket.fs.pipe(f"{bucket.name}/data/a.json", b'{"tags": ["x"]}')
    bucket.fs.invalidate_cache()
    with pytest.raises(ConfigError) as caught:
        _validate_on_the_store(bucket, monkeypatch, tmp_path, map_function="tests.jobs_for_tests:json_document_tags",
                               output_dir=str(tmp_path / "out"))
    assert str(caught.value) == ("map_function: a file map is given a local path to open: it cannot read s3:// inputs yet")


def test_a_store_is_set_up_when_a_field_is_a_url_or_the_s3_table_is_given(tmp_path, bucket, monkeypatch):
    """Without ``[s3]`` the endpoint comes from AWS_ENDPOINT_URL; a job on local files only has no store at all."""
    from mr_luigi.engine.config import JobConfig, validate

    bucket.fs.pipe(f"{bucket.name}/data/a.txt", b"a\n")
    bucket.fs.invalidate_cache()
    monkeypatch.setenv("AWS_ENDPOINT_URL", bucket.endpoint)
    on_the_store = _validate_on_the_store(bucket, monkeypatch, tmp_path, s3={})
    assert on_the_store.store is not None and on_the_store.input_paths == (f"{bucket.url}/data/a.txt",)
    (tmp_path / "in.txt").write_text("a\n")
    local = {"job_name": "local", "map_function": "tests.jobs_for_tests:count_words", "reduce_function": "sum",
             "input_files": [str(tmp_path / "in.txt")], "output_dir": str(tmp_path / "out")}
    assert validate(JobConfig(**local)).store is None
    assert validate(JobConfig(**local, s3={"region": "eu-west-1"})).store.region == "eu-west-1"


def test_a_finished_jobs_final_output_and_its_part_objects_together_are_refused_word_for_word(tmp_path, bucket, monkeypatch):
    from mr_luigi.errors import ConfigError

    for name in ("part-00000", "part-00001", "final_output.txt"):
        bucket.fs.pipe(f"{bucket.name}/done/{name}", b"x\t1\n")
    bucket.fs.pipe(f"{bucket.name}/done/_SUCCESS", json.dumps({"job_id": "earlier-0123456789ab"}).encode())
    bucket.fs.invalidate_cache()
    both = [f"{bucket.url}/done/final_output.txt", f"{bucket.url}/done/part-*"]
    with pytest.raises(ConfigError) as caught:
        _validate_on_the_store(bucket, monkeypatch, tmp_path, input_files=both)
    assert str(caught.value) == (f"input_files: '{bucket.url}/done' is a finished job's output: its final_output.txt and "
                                 "its part objects (part-00000, ...) hold the same records, so every record would be read "
                                 "twice; name the prefix itself (its part objects) or final_output.txt")
    alone = _validate_on_the_store(bucket, monkeypatch, tmp_path, input_files=[f"{bucket.url}/done/final_output.txt"])
    assert alone.input_paths == (f"{bucket.url}/done/final_output.txt",)


def test_a_work_folder_on_the_store_without_the_secret_is_refused_word_for_word(tmp_path, bucket, monkeypatch):
    """Every host writes there, so records read back must be sealed: the job is not planned without MR_LUIGI_SECRET."""
    from mr_luigi.engine.plan import make_plan
    from mr_luigi.errors import ConfigError

    bucket.fs.pipe(f"{bucket.name}/data/a.txt", b"a\n")
    bucket.fs.invalidate_cache()
    monkeypatch.delenv("MR_LUIGI_SECRET", raising=False)
    config = _config_on_the_store(bucket, monkeypatch, tmp_path, work_dir=f"{bucket.url}/work")
    with pytest.raises(ConfigError) as caught:
        make_plan(config)
    assert str(caught.value) == (f"work_dir: {bucket.url}/work is on an object store every host writes: set MR_LUIGI_SECRET "
                                 "to the same secret on every host, so that no worker unpickles records someone else could "
                                 "have put there (see the README, Running on several machines)")
    monkeypatch.setenv("MR_LUIGI_SECRET", SECRET)
    assert make_plan(config).identity["sealed"] is True


def test_an_output_of_a_job_on_the_store_is_published_under_its_url(tmp_path, bucket, monkeypatch):
    from mr_luigi.engine.plan import make_plan

    bucket.fs.pipe(f"{bucket.name}/data/a.txt", b"a\n")
    bucket.fs.invalidate_cache()
    plan = make_plan(_config_on_the_store(bucket, monkeypatch, tmp_path, output_dir=f"{bucket.url}/results/"))
    assert plan.published("_bad_records") == f"{bucket.url}/results/_bad_records"
    assert plan.output_dir == tmp_path / "cache" / "mr_luigi" / bucket.name / "results" / "_outputs" / bucket.name / "results"
