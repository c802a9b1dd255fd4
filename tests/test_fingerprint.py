"""Edited code is a new job: the job id covers the user's code, so a re-run never answers with an old result."""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from mr_luigi import ConfigError, JobConfig, MapReduceScheduler
from mr_luigi.engine.faults import ENV
from mr_luigi.engine.fingerprint import Fingerprint
from mr_luigi.engine.plan import make_plan
from tests import jobs_for_tests as jobs
from tests.conftest import counts_from_output

REPO = Path(__file__).resolve().parent.parent
TEXT = "The cat sat. A cat-like dog; the DOG sat on 2 mats\nCats and dogs\n"

JOBS_PY = '''import re

from mypkg import text

_WORD = re.compile(r"{pattern}")


def tokenize(line):
    return _WORD.findall(line.lower())


def words_map(line):
    for word in tokenize(line):
        yield text.normalize(word), 1


def total(key, values):
    return sum(values)
'''
TEXT_PY = '''def normalize(word):
    return {body}
'''


def make_package(root: Path, pattern: str, body: str) -> None:
    pkg = root / "pkg" / "mypkg"
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "jobs.py").write_text(JOBS_PY.format(pattern=pattern))
    (pkg / "text.py").write_text(TEXT_PY.format(body=body))


def run(root: Path, faults: str = "") -> subprocess.CompletedProcess:
    (root / "job.toml").write_text(f'job_name = "words"\nmap_function = "mypkg.jobs:words_map"\n'
                                   f'reduce_function = "mypkg.jobs:total"\ninput_files = ["{root / "in.txt"}"]\n'
                                   f'output_dir = "{root / "out"}"\nnum_reduce_tasks = 2\nmax_retries = 0\n')
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root / "pkg"), str(REPO)]))
    env.pop(ENV, None)
    if faults:
        env[ENV] = faults
    return subprocess.run([sys.executable, "-m", "mr_luigi.ops.cli", "run", str(root / "job.toml"), "--workers", "2"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=120)


def expected(pattern: str, normalize) -> Counter:
    return Counter(normalize(w) for line in TEXT.splitlines() for w in re.findall(pattern, line.lower()))


def test_editing_a_helper_in_the_same_module_or_another_module_recomputes(tmp_path):
    (tmp_path / "in.txt").write_text(TEXT)
    make_package(tmp_path, "[a-z]+", "word")
    first = run(tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == expected("[a-z]+", str)

    make_package(tmp_path, "[a-z0-9-]+", "word")  # tokenize(), in the map's own module, now keeps digits and hyphens
    second = run(tmp_path)
    assert second.returncode == 0, second.stderr[-2000:]
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == expected("[a-z0-9-]+", str)

    make_package(tmp_path, "[a-z0-9-]+", "word.rstrip('s')")  # normalize(), in another module of the package
    third = run(tmp_path)
    assert third.returncode == 0, third.stderr[-2000:]
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == expected("[a-z0-9-]+", lambda w: w.rstrip("s"))
    assert "it differs in code: mypkg.jobs (source edited)" in second.stderr
    assert "it differs in code: mypkg.text (source edited)" in third.stderr


def test_a_partly_finished_job_is_not_resumed_with_edited_code(tmp_path):
    (tmp_path / "in.txt").write_text(TEXT)
    make_package(tmp_path, "[a-z]+", "word")
    failed = run(tmp_path, faults="final:0:*:raise")  # every map, shuffle and reduce done; the final step fails
    assert failed.returncode == 1
    (old_job,) = (tmp_path / "out" / "_work").iterdir()
    make_package(tmp_path, "[a-z]+", "word.upper()")
    resumed = run(tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == expected("[a-z]+", str.upper)
    manifest = json.loads((tmp_path / "out" / "_SUCCESS").read_text())
    assert manifest["job_id"] != old_job.name
    assert all(n == 1 for n in manifest["attempts"]["per_task"].values()), "every task ran anew, once"


def test_the_job_id_covers_the_source_of_the_users_modules_only(tmp_path):
    fingerprint = Fingerprint()
    fingerprint.digest(jobs.count_words, "map_function")
    assert "tests.jobs_for_tests" in fingerprint.modules
    assert not any(name.startswith(("mr_luigi", "re", "luigi", "collections")) for name in fingerprint.modules), fingerprint.modules


# -- callables that look alike -----------------------------------------------


def closure_map(length):
    def keep(line):
        return [(w, 1) for w in line.split() if len(w) == length]

    return keep


class LengthMap:
    def __init__(self, length):
        self.length = length

    def __call__(self, line):
        return [(w, 1) for w in line.split() if len(w) == self.length]


def words_of_length(length, line):
    return [(w, 1) for w in line.split() if len(w) == length]


ALIKE = [
    ("partial of two functions", functools.partial(jobs.split_words), functools.partial(jobs.count_words)),
    ("partial with other args", functools.partial(words_of_length, 3), functools.partial(words_of_length, 4)),
    ("closures capturing other values", closure_map(3), closure_map(4)),
    ("callable objects with other state", LengthMap(3), LengthMap(4)),
    ("lambdas with other defaults", lambda line, n=3: words_of_length(n, line), lambda line, n=4: words_of_length(n, line)),
]


@pytest.mark.parametrize("name, first, second", ALIKE, ids=[a[0] for a in ALIKE])
def test_callables_that_differ_only_in_what_they_hold_are_different_jobs(tmp_path, name, first, second):
    src = tmp_path / "in.txt"
    src.write_text("one two three four\nfive six seven\n")
    results = []
    for fn in (first, second):
        config = JobConfig(job_name="alike", map_function=fn, reduce_function=jobs.total, input_files=[str(src)],
                           output_dir=str(tmp_path / "out"), num_reduce_tasks=1, max_retries=0)
        scheduler = MapReduceScheduler(1)
        assert scheduler.execute_job(config), scheduler.last_result.failures
        results.append((scheduler.last_result.manifest["job_id"], counts_from_output(tmp_path / "out" / "final_output.txt")))
        expected_counts = Counter(dict(pair for line in src.read_text().splitlines() for pair in fn(line)))
        assert results[-1][1] == expected_counts
    assert results[0][0] != results[1][0]


def test_the_same_callable_made_twice_is_the_same_job(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("a b\n")
    ids = {make_plan(JobConfig(job_name="same", map_function=make(), reduce_function=jobs.total, input_files=[str(src)],
                               output_dir=str(tmp_path / "out"))).job_id
           for make in (lambda: closure_map(3), lambda: closure_map(3), lambda: LengthMap(3), lambda: LengthMap(3))}
    assert len(ids) == 2


def test_a_callable_whose_state_cannot_be_told_apart_is_refused(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("a b\n")
    token = object()

    def holds_an_object(line):
        return [(line, id(token))]

    with pytest.raises(ConfigError, match=r"map_function: cannot fingerprint <object object at 0x\w+> \(object\)"):
        make_plan(JobConfig(job_name="opaque", map_function=holds_an_object, reduce_function=jobs.total,
                            input_files=[str(src)], output_dir=str(tmp_path / "out")))


def test_a_param_whose_value_cannot_be_told_apart_is_refused_naming_params(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("a b\n")
    with pytest.raises(ConfigError, match=r"^params: cannot fingerprint <object object at 0x\w+> \(object\)"):
        make_plan(JobConfig(job_name="opaque", map_function=jobs.count_words, reduce_function=jobs.total,
                            input_files=[str(src)], output_dir=str(tmp_path / "out"), params={"token": object()}))

def test_job_ids_are_the_same_in_another_process(tmp_path):
    """Set constants and dicts must not make the id depend on the per-process string hash."""
    src = tmp_path / "in.txt"
    src.write_text("a b\n")
    code = ("from mr_luigi import JobConfig; from mr_luigi.engine.plan import make_plan; from tests import jobs_for_tests as j; "
            f"print(make_plan(JobConfig(job_name='h', map_function=j.set_constant_map, reduce_function=j.total, "
            f"input_files=[{str(src)!r}], output_dir={str(tmp_path / 'out')!r}, params={{'a': 1, 'b': {{'x', 'y', 'z'}}}})).job_id)")
    ids = {subprocess.run([sys.executable, "-c", code], cwd=REPO, env=dict(os.environ, PYTHONHASHSEED=str(seed), PYTHONPATH=str(REPO)),
                          capture_output=True, text=True, check=True).stdout for seed in (1, 2, 3)}
    assert len(ids) == 1, ids
