"""Multi-step jobs: each step reads the previous step's output; re-runs resume."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import luigi
import pytest

from tests import jobs_for_tests as jobs

WORD = re.compile(r"[a-z0-9']+")


def make_text(tmp_path: Path) -> Path:
    path = tmp_path / "in.txt"
    words = ["apple", "pear", "fig", "kiwi", "plum", "lime"]
    path.write_text("".join(" ".join(words[(i * j) % 6] for j in range(i % 7 + 1)) + "\n" for i in range(500)))
    return path


def expected_top(path: Path, n: int) -> list[list]:
    counts = Counter(WORD.findall(path.read_text().lower()))
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return [[-count, word] for word, count in ranked]


def build(task, workers=1) -> luigi.execution_summary.LuigiRunResult:
    return luigi.build([task], local_scheduler=True, workers=workers, detailed_summary=True, log_level="WARNING")


@pytest.mark.parametrize("workers", [1, 2])
def test_the_second_step_reads_the_first_steps_output(tmp_path, workers):
    path = make_text(tmp_path)
    result = build(jobs.TopWords(input_path=str(path), output_dir=str(tmp_path / "out"), n=3), workers)
    assert result.status.name == "SUCCESS", result.summary_text
    line = (tmp_path / "out" / "top" / "final_output.txt").read_text()
    key, _, value = line.rstrip("\n").partition("\t")
    assert key == "top" and json.loads(value) == expected_top(path, 3)
    manifest = json.loads((tmp_path / "out" / "_SUCCESS").read_text())
    assert [s["job_name"] for s in manifest["steps"]] == ["counts", "top"]
    assert manifest["counters"]["mr_luigi"]["input_records"] == 500 + len(expected_top(path, 100))


def test_a_rerun_resumes_at_the_first_incomplete_step(tmp_path):
    path = make_text(tmp_path)
    out = tmp_path / "out"
    assert build(jobs.TopWords(input_path=str(path), output_dir=str(out))).status.name == "SUCCESS"
    first_manifest = (out / "counts" / "_SUCCESS").read_text()
    (out / "top" / "_SUCCESS").unlink()
    (out / "_SUCCESS").unlink()
    luigi.task_register.Register.clear_instance_cache()
    result = build(jobs.TopWords(input_path=str(path), output_dir=str(out)))
    assert result.status.name == "SUCCESS"
    assert (out / "counts" / "_SUCCESS").read_text() == first_manifest, "the finished first step is not redone"
    ran = re.findall(r"MapTask\(job_id=(\w+)-", result.summary_text)
    assert ran and set(ran) == {"top"}, result.summary_text

def test_a_rerun_after_the_input_changed_recomputes_every_step(tmp_path):
    path = make_text(tmp_path)
    out = tmp_path / "out"
    assert build(jobs.TopWords(input_path=str(path), output_dir=str(out), n=2)).status.name == "SUCCESS"
    with open(path, "a") as fh:
        fh.write("zucchini " * 1000 + "\n")
    luigi.task_register.Register.clear_instance_cache()
    assert build(jobs.TopWords(input_path=str(path), output_dir=str(out), n=2)).status.name == "SUCCESS"
    value = (out / "top" / "final_output.txt").read_text().split("\t")[1]
    assert json.loads(value) == expected_top(path, 2) and json.loads(value)[0] == [-1000, "zucchini"]
