"""The luigi command: exit codes, retries and config errors as users see them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

from tests.conftest import counts_from_output, reference_word_count

REPO = Path(__file__).resolve().parent.parent


def luigi_cmd(*args: str, env_extra: dict[str, str] | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO), **(env_extra or {}))
    cmd = [sys.executable, "-m", "luigi", *args, "--local-scheduler", "--no-lock", "--log-level", "INFO"]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def _input(tmp_path: Path) -> Path:
    src = tmp_path / "in.txt"
    src.write_text("one two two\nthree three three\n")
    return src


def test_failed_job_exits_non_zero(tmp_path):
    src = _input(tmp_path)
    env = {"FAIL_ONCE_MARKER": str(tmp_path / "marker")}
    proc = luigi_cmd("--module", "tests.jobs_for_tests", "FlakyCount", "--input", str(src), "--output-dir", str(tmp_path / "out"), "--max-retries", "0", env_extra=env)
    assert proc.returncode == 30, proc.stderr
    assert "injected failure on the first attempt" in proc.stderr
    assert not (tmp_path / "out" / "_SUCCESS").exists()


def test_retry_in_the_same_invocation_exits_zero(tmp_path):
    src = _input(tmp_path)
    env = {"FAIL_ONCE_MARKER": str(tmp_path / "marker")}
    proc = luigi_cmd("--module", "tests.jobs_for_tests", "FlakyCount", "--input", str(src), "--output-dir", str(tmp_path / "out"), env_extra=env)
    assert proc.returncode == 0, proc.stderr
    assert "injected failure" in proc.stderr  # it did fail once
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == reference_word_count([src])


def test_config_error_is_one_clear_line(tmp_path):
    proc = luigi_cmd("--module", "pipelines.word_count", "WordCount", "--input", str(tmp_path / "nothing" / "*.txt"), "--output-dir", str(tmp_path / "out"), "--num-reduce-tasks", "2")
    assert proc.returncode == 2
    assert "ConfigError: input_files: glob" in proc.stderr and "matched no files" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_config_file_names_the_key(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("num_reduce_task = 3\n")
    proc = luigi_cmd("--module", "pipelines.word_count", "WordCount", "--config", str(config), "--input-path", str(_input(tmp_path)), "--output-dir", str(tmp_path / "out"))
    assert proc.returncode == 2  # README: "2 an invalid config"
    assert "num_reduce_task: unknown key (did you mean 'num_reduce_tasks'?)" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_job_log_says_what_was_created_and_where_output_went(tmp_path):
    src = _input(tmp_path)
    proc = luigi_cmd("--module", "pipelines.word_count", "WordCount", "--input", str(src), "--output-dir", str(tmp_path / "out"), "--num-reduce-tasks", "2")
    assert proc.returncode == 0, proc.stderr
    for text in ("Starting MapReduce job", "Created 1 map tasks", "Created 2 shuffle tasks", "Created 2 reduce tasks", "Started task word_count map 0/1", "Finished task word_count reduce 1/2", str(tmp_path / "out" / "final_output.txt")):
        assert text in proc.stderr, text


def test_the_pipelines_run_on_their_bundled_samples(tmp_path):
    """The commands the README gives for the other two pipelines, on data/."""
    logs = luigi_cmd("--module", "pipelines.log_analysis", "LogAnalysis", "--output-dir", str(tmp_path / "logs"))
    assert logs.returncode == 0, logs.stderr[-2000:]
    sample = (REPO / "data" / "log_analysis" / "access.log").read_text().splitlines()
    ips = Counter(m.group(1) for m in map(re.compile(r'^(\S+) \S+ \S+ \[[^\]]+\] ".*" \d{3} (?:\d+|-)').match, sample) if m)
    top = sorted(ips.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    assert (tmp_path / "logs" / "top_ips.txt").read_text() == "".join(f"{ip}\t{n}\n" for ip, n in top)
    assert "Counters:" in logs.stderr and "unparsable_log_line" in logs.stderr

    users = luigi_cmd("--module", "pipelines.user_activity", "UserActivity", "--output-dir", str(tmp_path / "users"))
    assert users.returncode == 0, users.stderr[-2000:]
    events = [line for line in (REPO / "data" / "user_activity" / "events.jsonl").read_text().splitlines()]
    total = 0
    for line in events:
        try:
            total += "login" in json.loads(line).get("actor", {})
        except ValueError:
            pass
    rows = [json.loads(line) for line in (tmp_path / "users" / "final_output.txt").read_text().splitlines()]
    assert sum(r["total_events"] for r in rows) == total
