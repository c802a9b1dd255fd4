"""The README's examples, run as written from a fresh folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _block_after(marker: str, language: str) -> str:
    """The first fenced code block in README.md of ``language`` that follows the line ``marker``."""
    text = (REPO / "README.md").read_text()
    start = text.index(marker)
    match = re.compile(rf"```{language}\n(.*?)```", re.S).search(text, start)
    assert match, f"no {language} block after {marker!r}"
    return match.group(1)


def test_writing_your_own_job_runs_as_written(tmp_path):
    code = _block_after("## Writing your own job", "python")
    assert code.startswith("# mypkg/jobs.py\n")
    (tmp_path / "mypkg").mkdir()
    (tmp_path / "mypkg" / "jobs.py").write_text(code)
    (tmp_path / "texts").mkdir()
    texts = ["Alpha beta gamma alphabet\nBetamax b\n", "antelope Gamma g\n"]
    for i, text in enumerate(texts):
        (tmp_path / "texts" / f"t{i}.txt").write_text(text)
    (command,) = [line for line in _block_after("# mypkg/jobs.py", "bash").splitlines() if line.strip()]
    assert command.startswith("python -m luigi ")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # the environment, active
    ran = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    longest: dict[str, int] = {}
    for text in texts:
        for word in text.split():
            longest[word[0].lower()] = max(longest.get(word[0].lower(), 0), len(word))
    rows = [line.split("\t") for line in (tmp_path / "out" / "final_output.txt").read_text().splitlines()]
    assert {k: int(v) for k, v in rows} == longest


def test_running_an_mrjob_file_unchanged_works_as_written(tmp_path):
    """The README's first `mr-luigi mrjob` line, on mrjob's own example file (read from the installed mrjob)."""
    import importlib.util
    import json
    from collections import Counter

    command = _block_after("<!-- mrjob-command -->", "bash").splitlines()[0]
    assert command.startswith("mr-luigi mrjob mr_word_freq_count.py ")
    spec = importlib.util.find_spec("mrjob")
    assert spec is not None and spec.origin
    example = Path(spec.origin).parent / "examples" / "mr_word_freq_count.py"
    (tmp_path / "mr_word_freq_count.py").write_text(example.read_text())
    (tmp_path / "books").mkdir()
    texts = ["It was the best of times,\nit was the worst of times\n", "The end. THE END\n"]
    for i, text in enumerate(texts):
        (tmp_path / "books" / f"b{i}.txt").write_text(text)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    ran = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    got = {json.loads(k): json.loads(v) for k, v in (line.split("\t") for part in sorted((tmp_path / "out").glob("part-*"))
                                                         for line in part.read_text().splitlines())}
    assert got == Counter(w.lower() for text in texts for w in re.findall(r"[\w']+", text))
