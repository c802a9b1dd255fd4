"""A smoke run of benchmarks/compare.py on 1 MB, so that the benchmark cannot rot.

Only the run and its own check are tested (every contender's output equal
to the hand-written baseline's); the times are not looked at here.
"""

from __future__ import annotations

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
