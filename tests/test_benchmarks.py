"""Smoke runs of benchmarks/compare.py and s3.py on 1 MB and of scheduling.py on a few maps, so they cannot rot.

Only the run and its own check are tested (every contender's output equal
to the hand-written baseline's); the times are not looked at here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("workload, extra", [("combiner", ["--peers", "none"]), ("mrjob", ["--peer-repeat", "1"]),
                                             ("logs", ["--peers", "none"])])
def test_the_benchmark_runs_and_every_output_matches_the_baseline(workload, extra, tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "compare.py"), workload, "--size-mb", "1",
                           "--repeat", "1", "--data", str(tmp_path), *extra], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert re.search(r"all outputs identical: \d+ lines", proc.stdout), proc.stdout
    rows = [line for line in proc.stdout.splitlines() if re.search(r"\s1(\s+[\d.]+){3}(\s+\d+){2}\s+[\d.]+$", line)]
    assert len(rows) >= {"combiner": 4, "mrjob": 3, "logs": 4}[workload], proc.stdout


def test_the_scheduling_benchmark_runs_a_map_per_file_against_its_own_luigid(tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "scheduling.py"), "--maps", "3", "6", "--workers", "1", "2"],
                          cwd=REPO, capture_output=True, text=True, timeout=300, env=dict(os.environ, TMPDIR=str(tmp_path)))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    rows = re.findall(r"^\s+(\d+)\s+(\d+)\s+(\d)\s+[\d.]+\s+[\d.]+\s+[\d,]+s\s+[\d.]+%$", proc.stdout, re.M)
    # each map count with each worker count; the tasks are the maps, barrier, 2 shuffles, 2 reduces and the job
    assert [(int(m), int(t), int(w)) for m, t, w in rows] == [(m, m + 6, w) for w in (1, 2) for m in (3, 6)], proc.stdout
    assert list(tmp_path.iterdir()) == [], "every run's scratch folder is removed"


def test_the_s3_benchmark_runs_and_every_output_matches_the_local_run(tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "s3.py"), "--size-mb", "1", "--repeat", "1"],
                          cwd=REPO, capture_output=True, text=True, timeout=300, env=dict(os.environ, TMPDIR=str(tmp_path)))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "all outputs identical to the local run's" in proc.stdout
    rows = re.findall(r"^(local|s3 in/out|s3 everything)\s+[\d.]+\s", proc.stdout, re.M)
    assert rows == ["local", "s3 in/out", "s3 everything"], proc.stdout
    assert list(tmp_path.iterdir()) == [], "the scratch folder is removed"
