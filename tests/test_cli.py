"""The mr-luigi command: run, validate, report, clean; exit codes; progress lines."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from mr_luigi import JobConfig
from mr_luigi.engine.plan import make_plan
from mr_luigi.ops.cli import ProgressWatcher
from tests import jobs_for_tests as jobs
from tests.conftest import counts_from_output, read_tsv, reference_word_count, reference_words

REPO = Path(__file__).resolve().parent.parent


def mr_luigi(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "mr_luigi.ops.cli", *args], capture_output=True, text=True, env=env, timeout=120)


def write_config(tmp_path: Path, extra: str = "") -> tuple[Path, list[Path]]:
    inputs = []
    for i in range(3):
        path = tmp_path / "in" / f"f{i}.txt"
        path.parent.mkdir(exist_ok=True)
        path.write_text("".join(f"Alpha beta{j % 17} gamma{i}\n" for j in range(400)))
        inputs.append(path)
    config = tmp_path / "job.toml"
    config.write_text(f"""job_name = "cli_job"
map_function = "tests.jobs_for_tests:count_words"
reduce_function = "tests.jobs_for_tests:total"
combine_function = "tests.jobs_for_tests:total"
input_files = ["in/*.txt"]
output_dir = "out"
split_size_mb = 0.005
{extra}""")
    return config, inputs


def test_validate_prints_the_graph_that_run_then_builds(tmp_path):
    config, inputs = write_config(tmp_path)
    shown = mr_luigi("validate", str(config), "--set", "num_reduce_tasks=3")
    assert shown.returncode == 0, shown.stderr
    maps = int(re.search(r"tasks: (\d+) map, 1 barrier, 3 shuffle, 3 reduce", shown.stdout).group(1))
    assert not (tmp_path / "out").exists(), "validate runs nothing"
    ran = mr_luigi("run", str(config), "--workers", "2", "--set", "num_reduce_tasks=3")
    assert ran.returncode == 0, ran.stderr
    manifest = json.loads((tmp_path / "out" / "_SUCCESS").read_text())
    assert manifest["task_counts"] == {"map": maps, "shuffle": 3, "reduce": 3}
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == reference_word_count(inputs)
    assert "Job cli_job succeeded" in ran.stdout and "Counters:" in ran.stdout


def test_validate_plans_a_terabyte_within_the_scheduler_limit_and_warns_of_huge_partitions(tmp_path):
    # A sparse file: a terabyte on no disk at all; planning reads its size only.
    with open(tmp_path / "huge.txt", "wb") as fh:
        fh.truncate(1 << 40)
    config = tmp_path / "job.toml"
    config.write_text('job_name = "huge"\nmap_function = "tests.jobs_for_tests:count_words"\n'
                      'reduce_function = "sum"\ninput_files = ["huge.txt"]\noutput_dir = "out"\n')
    shown = mr_luigi("validate", str(config))
    assert shown.returncode == 0, shown.stderr
    maps = int(re.search(r"tasks: (\d+) map, 1 barrier, 4 shuffle", shown.stdout).group(1))
    assert maps <= 2000
    # 1 TiB over 4 partitions is 256 GiB each: said, with a count that makes them about 4 GiB
    assert re.search(r"^huge: warning: num_reduce_tasks = 4: each reduce would sort about 256 GiB.*num_reduce_tasks = 256 ",
                     shown.stderr, re.MULTILINE), shown.stderr
    assert "map tasks" not in shown.stderr
    forced = mr_luigi("validate", str(config), "--set", "split_size_mb=64", "--set", "num_reduce_tasks=256")
    assert forced.returncode == 0, forced.stderr
    forced_maps = int(re.search(r"tasks: (\d+) map", forced.stdout).group(1))
    assert forced_maps >= (1 << 40) // (80 << 20)  # pieces of at most 1.25 x 64 MiB
    assert f"\nhuge: warning: split_size_mb = 64 plans {forced_maps:,} map tasks" in "\n" + forced.stderr, forced.stderr
    assert "num_reduce_tasks =" not in forced.stderr
    assert not (tmp_path / "out").exists()


def test_a_failed_run_exits_1_with_one_line_saying_why(tmp_path):
    config, _ = write_config(tmp_path, 'max_bad_records = 0\nmax_retries = 0\n')
    text = config.read_text().replace("tests.jobs_for_tests:count_words", "tests.jobs_for_tests:returns_int_map")
    config.write_text(text)
    ran = mr_luigi("run", str(config), "--local-scheduler")
    assert ran.returncode == 1
    last = ran.stderr.strip().splitlines()[-1]
    assert re.match(r"mr-luigi: job cli_job failed: cli_job map \d+/\d+: .*RecordError: map_function failed on .*f\d\.txt:1", last), last


def test_a_bad_config_or_setting_exits_2(tmp_path):
    config, _ = write_config(tmp_path)
    for args in (["--set", "num_reduce_tasks=0"], ["--set", "num_reduce_taks=3"], ["--set", "oops"]):
        ran = mr_luigi("run", str(config), *args)
        assert ran.returncode == 2, args
        assert ran.stderr.startswith("mr-luigi: ConfigError:") and len(ran.stderr.strip().splitlines()) == 1


def test_report_prints_the_summary_and_rewrites_the_html(tmp_path):
    config, _ = write_config(tmp_path)
    assert mr_luigi("run", str(config)).returncode == 0
    (tmp_path / "out" / "_report.html").unlink()
    shown = mr_luigi("report", str(tmp_path / "out"), "--html")
    assert shown.returncode == 0
    assert "Job cli_job succeeded" in shown.stdout and re.search(r"map\s+[\d.]+s", shown.stdout)
    assert (tmp_path / "out" / "_report.html").read_text().startswith("<!DOCTYPE html>")
    assert mr_luigi("report", str(tmp_path / "in")).returncode == 1


def test_clean_removes_intermediates_and_temporary_leftovers_only(tmp_path):
    out = tmp_path / "out"
    (out / "_work" / "job-abc" / "map_output").mkdir(parents=True)
    (out / "final_output.txt-luigi-tmp-0123456789ab").write_text("half")
    (out / "_bad_records").mkdir()
    (out / "_bad_records" / "map-00000.jsonl-luigi-tmp-aa").write_text("half")
    (out / "part-00000").write_text("kept\t1\n")
    shown = mr_luigi("clean", str(out))
    assert shown.returncode == 0, shown.stderr
    assert sorted(p.name for p in out.rglob("*")) == ["_bad_records", "part-00000"]
    assert "3 item(s) removed" in shown.stdout


def test_progress_lines_in_a_pipe_and_bars_on_a_terminal(tmp_path):
    config, _ = write_config(tmp_path)
    plan = make_plan(JobConfig(job_name="p", map_function=jobs.count_words, reduce_function=jobs.total,
                               input_files=[str(tmp_path / "in")], output_dir=str(tmp_path / "o"), split_size_mb=0.005))
    assert plan.num_maps >= 3
    plan.map_dir(0).mkdir(parents=True)  # one map finished
    pipe = io.StringIO()
    ProgressWatcher(plan, pipe)._show()
    assert re.fullmatch(rf"\[\s*[\d.]+s\] map 1/{plan.num_maps}, shuffle 0/4, reduce 0/4; [\d.]+ of [\d.]+ MB read.*\n", pipe.getvalue())

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    term = Terminal()
    watcher = ProgressWatcher(plan, term)
    watcher._show()
    watcher._show()
    screen = term.getvalue()
    assert screen.count("map     [") == 2 and f"] 1/{plan.num_maps}" in screen
    assert "\x1b[3F" in screen, "the second drawing moves back up over the first"


def test_the_console_script_is_installed():
    script = Path(sys.executable).parent / "mr-luigi"
    shown = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("usage: mr-luigi [-h] [--version] COMMAND ...\n")
    # the commands README's "The mr-luigi command" shows, in its order, each with a line of help
    listed = re.findall(r"^    (\w+) +(\S.*)$", shown.stdout, re.MULTILINE)
    assert [name for name, _ in listed] == ["run", "validate", "mrjob", "report", "clean"]
    assert all(len(text.split()) >= 4 for _, text in listed), listed
    for name, _ in listed:
        sub = subprocess.run([str(script), name, "--help"], capture_output=True, text=True, timeout=60)
        assert sub.returncode == 0 and sub.stdout.startswith(f"usage: mr-luigi {name} "), sub.stdout
    wrong = subprocess.run([str(script), "frobnicate"], capture_output=True, text=True, timeout=60)
    assert wrong.returncode == 2 and "invalid choice: 'frobnicate'" in wrong.stderr


def test_the_last_progress_line_shows_every_task_done(tmp_path):
    from mr_luigi import MapReduceScheduler

    _, inputs = write_config(tmp_path)
    config = JobConfig(job_name="p", map_function=jobs.count_words, reduce_function=jobs.total, input_files=[str(p) for p in inputs],
                       output_dir=str(tmp_path / "done"), split_size_mb=0.005, num_reduce_tasks=2)
    assert MapReduceScheduler(2).execute_job(config)
    plan = make_plan(config)
    assert not plan.job_dir.exists(), "intermediates are gone after success"
    pipe = io.StringIO()
    ProgressWatcher(plan, pipe)._show(final=True)
    assert f"map {plan.num_maps}/{plan.num_maps}, shuffle 2/2, reduce 2/2;" in pipe.getvalue()


PROJECT_JOBS = '''
def first_letter(line):
    for word in line.split():
        yield word[0], 1


def total(key, values):
    return sum(values)
'''


def test_run_finds_the_users_package_in_the_working_folder_or_beside_the_config(tmp_path):
    """As python -m would: the folder the command runs from, and the config file's own folder, are on the import path."""
    project = tmp_path / "project"
    (project / "mypkg").mkdir(parents=True)
    (project / "mypkg" / "__init__.py").write_text("")
    (project / "mypkg" / "jobs.py").write_text(PROJECT_JOBS)
    (project / "in.txt").write_text("apple avocado banana\ncherry apple\n")
    (project / "job.toml").write_text('job_name = "letters"\nmap_function = "mypkg.jobs:first_letter"\n'
                                      'reduce_function = "mypkg.jobs:total"\ninput_files = ["in.txt"]\noutput_dir = "out"\n')
    script = str(Path(sys.executable).parent / "mr-luigi")  # the console script: no -m, no PYTHONPATH
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for cwd, config in ((project, "job.toml"), (elsewhere, str(project / "job.toml"))):
        ran = subprocess.run([script, "run", config, "--workers", "1"], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
        assert ran.returncode == 0, ran.stderr
        assert counts_from_output(project / "out" / "final_output.txt") == {"a": 3, "b": 1, "c": 1}
        (project / "out" / "_SUCCESS").unlink()
    (project / "job.toml").write_text((project / "job.toml").read_text().replace("mypkg.jobs", "nopkg.jobs"))
    ran = subprocess.run([script, "validate", "job.toml"], cwd=project, env=env, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 2
    assert re.search(rf"ConfigError: map_function: cannot import module 'nopkg.jobs': No module named 'nopkg' \(searched: "
                     rf"'{re.escape(str(project))}', ", ran.stderr), ran.stderr


def test_version_and_help_say_what_a_user_needs():
    import argparse
    import platform

    import luigi

    import mr_luigi
    from mr_luigi.ops.cli import _parser

    ran = subprocess.run([str(Path(sys.executable).parent / "mr-luigi"), "--version"], capture_output=True,
                         text=True, timeout=60)
    assert ran.returncode == 0 and ran.stdout.strip() == (
        f"mr-luigi {mr_luigi.__version__} (luigi {luigi.__version__}, Python {platform.python_version()})")
    parser = _parser()
    assert "exit codes: 0 success; 1 the job failed" in parser.format_help()
    (subparsers,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    for name, sub in subparsers.choices.items():
        for action in sub._actions:
            if not isinstance(action, argparse._HelpAction):
                assert action.help, f"mr-luigi {name}: {action.dest} has no help text"


def test_validate_says_what_run_would_refuse_and_run_force_replaces_another_jobs_results(tmp_path):
    config, inputs = write_config(tmp_path)
    assert mr_luigi("run", str(config), "--workers", "1").returncode == 0
    first = (tmp_path / "out" / "final_output.txt").read_bytes()
    other = tmp_path / "other.toml"
    other.write_text(config.read_text().replace('job_name = "cli_job"', 'job_name = "other_job"')
                     .replace("tests.jobs_for_tests:count_words", "tests.jobs_for_tests:split_words"))
    for command in ("validate", "run"):
        refused = mr_luigi(command, str(other))
        assert refused.returncode == 2, command
        assert re.search(r"ConfigError: output_dir: '.*out' holds the results of another job \(cli_job-\w+; .*\): remove that "
                         r"folder or choose another output_dir \(mr-luigi run --force replaces them\)$", refused.stderr.strip()), refused.stderr
    assert (tmp_path / "out" / "final_output.txt").read_bytes() == first, "nothing was touched"
    forced = mr_luigi("run", str(other), "--force", "--workers", "1")
    assert forced.returncode == 0, forced.stderr
    expected = Counter(w for p in inputs for line in p.read_text().splitlines() for w in line.split())
    assert counts_from_output(tmp_path / "out" / "final_output.txt") == expected
    assert json.loads((tmp_path / "out" / "_SUCCESS").read_text())["job_name"] == "other_job"
    again = mr_luigi("validate", str(config))  # the first job, now: an earlier run's results of another job
    assert again.returncode == 2 and "holds the results of another job (other_job-" in again.stderr
    assert mr_luigi("run", str(config), "--force", "--workers", "1").returncode == 0
    config.write_text(config.read_text() + "num_reduce_tasks = 3\n")
    changed = mr_luigi("validate", str(config))
    assert changed.returncode == 0, changed.stderr
    assert re.search(r"^the output folder holds an earlier run's results \(cli_job-\w+\): run replaces them when it "
                     r"finishes$", changed.stdout, re.MULTILINE), changed.stdout


#: A job of each shape that writes text files of its own, as config lines: see the test below.
LOCALE_JOBS = {
    "reduce": 'num_reduce_tasks = 3\nreduce_function = "tests.jobs_for_tests:total"\n',
    "map only": "num_reduce_tasks = 0\n",
    "named outputs": ('named_outputs = true\nnum_reduce_tasks = 2\n'
                      'reduce_function = "tests.jobs_for_tests:count_into_named_outputs"\n'),
    "bad records and a reduce_final hook": ('num_reduce_tasks = 2\nreduce_function = "tests.jobs_for_tests:total"\n'
                                            'map_function = "tests.jobs_for_tests:strict_map"\nmax_bad_records = 100\n'
                                            'reduce_final = "tests.jobs_for_tests:accented_final"\n'),
}


@pytest.mark.parametrize("shape", sorted(LOCALE_JOBS))
def test_a_job_reads_and_writes_utf8_whatever_the_locale_says(tmp_path, shape):
    """The engine names UTF-8 for every text file it opens: under the plain C locale with
    Python's UTF-8 mode and locale coercion off, the default encoding is ASCII, and a file
    opened without one would fail on the first accented word, or write other bytes."""
    (tmp_path / "in").mkdir()
    inputs = [tmp_path / "in" / f"f{i}.txt" for i in range(3)]
    for i, path in enumerate(inputs):
        path.write_text("".join(f"Ünïcode straße{j % 7} 日本語 naïve{i} ß\n" + ("BAD größe\n" if j % 50 == 0 else "")
                                for j in range(300)), encoding="utf-8")
    fields = 'job_name = "utf8_job"\nmap_function = "tests.jobs_for_tests:count_words"\ninput_files = ["in/*.txt"]\n'
    shape_fields = LOCALE_JOBS[shape]
    if "map_function" in shape_fields:
        fields = fields.replace('map_function = "tests.jobs_for_tests:count_words"\n', "")
    config = tmp_path / "job.toml"
    config.write_text(f'{fields}output_dir = "out"\nsplit_size_mb = 0.005\n{shape_fields}', encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(REPO), LC_ALL="C", LANG="C", PYTHONUTF8="0", PYTHONCOERCECLOCALE="0")
    env.pop("PYTHONIOENCODING", None)
    ran = subprocess.run([sys.executable, "-m", "mr_luigi.ops.cli", "run", str(config), "--workers", "2"],
                         capture_output=True, env=env, timeout=120)
    assert ran.returncode == 0, ran.stderr.decode("utf-8", "replace")
    out = tmp_path / "out"
    good = [line for p in inputs for line in p.read_text(encoding="utf-8").splitlines() if not line.startswith("BAD")]
    expected = Counter(word for line in (good if "bad" in shape else [*good, *["BAD größe"] * 18]) for word in reference_words(line))
    if shape == "map only":  # one line per word: count them
        assert Counter(word for word, one in read_tsv(out / "final_output.txt") if one == 1) == expected
    elif shape == "named outputs":
        assert dict(read_tsv(out / "words.txt")) == dict(expected)
    else:
        rows = read_tsv(out / "final_output.txt")
        hook = [value for key, value in rows if key == "größe der teile"]
        assert Counter(dict(row for row in rows if row[0] != "größe der teile")) == expected
        assert hook == (["ä"] * 2 if "hook" in shape else [])
    if "bad" in shape:
        kept = [json.loads(line)["raw"] for f in sorted((out / "_bad_records").glob("*.jsonl"))
                for line in f.read_text(encoding="utf-8").splitlines()]
        assert kept == ["BAD größe"] * 18
