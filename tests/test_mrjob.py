"""mrjob jobs, unchanged, on mr_luigi (mr_luigi/api/mrjob): mrjob's own examples against real mrjob.

Each example job that ships inside the installed mrjob package is read from
there at test time (nothing is copied into this repository), run by real
mrjob (its inline runner, or its local runner for shell steps) and by
``mr-luigi mrjob`` on the same inputs, and the outputs are compared as sets
of decoded (key, value) pairs. The inputs are written here: CRLF line ends,
non-ASCII text, a Latin-1 line, an empty file. Differences by design are
tested on their own: mr_luigi drops a UTF-8 byte-order mark (mrjob keeps it
as a character), and gives the input file's absolute path where mrjob gives
``file://`` and the path as typed.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
MR_LUIGI = [sys.executable, "-c", "import sys; from mr_luigi.ops.cli import main; sys.exit(main())"]


def examples_folder() -> Path:
    spec = importlib.util.find_spec("mrjob")
    assert spec is not None and spec.origin, "mrjob is a test dependency: pip install -e '.[test]'"
    return Path(spec.origin).parent / "examples"


EXAMPLES = examples_folder()

TEXT = [
    "The quick brown fox jumps over the lazy dog.\r\n",
    "Über naïve café: the fox's den, the fox again!\r\n",
    "東京 and Unter den Linden; unusual umbrellas\n",
    "\n",
    "the end of the file, without a final newline",
]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("mrjob_inputs")
    paths = [folder / "a.txt", folder / "b.txt", folder / "empty.txt", folder / "latin.txt"]
    paths[0].write_bytes("".join(TEXT * 3).encode("utf-8"))
    paths[1].write_bytes("".join(reversed(TEXT)).encode("utf-8") + b"\n")
    paths[2].write_bytes(b"")
    paths[3].write_bytes("the café of the lazy fox\n".encode("latin-1") + b"plain ascii fox\n")
    return paths


def own_tmp(cwd: Path) -> dict[str, str]:
    """The environment for a job process, its temporary files (mrjob's runs and locks) kept under the test's folder."""
    folder = cwd / "tmp"
    folder.mkdir(exist_ok=True)
    return {**os.environ, "TMPDIR": str(folder)}


def run_mrjob(script: Path, args: list[str], cwd: Path, runner: str = "inline") -> list[str]:
    # mrjob's local runner locks /tmp/wrapper.lock.<job key> whatever TMPDIR says: those it made are removed after
    locks = set(Path("/tmp").glob(f"wrapper.lock.{script.stem}.*"))
    try:
        proc = subprocess.run([sys.executable, str(script), "-r", runner, *args], cwd=cwd, capture_output=True,
                              text=True, timeout=300, env=own_tmp(cwd))
    finally:
        for lock in set(Path("/tmp").glob(f"wrapper.lock.{script.stem}.*")) - locks:
            lock.unlink(missing_ok=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.splitlines()


def run_mr_luigi(script: Path, args: list[str], out: Path, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*MR_LUIGI, "mrjob", str(script), *args, "--output-dir", str(out), "--workers", "2"],
                          cwd=cwd, capture_output=True, text=True, timeout=300, env=own_tmp(cwd))


def output_lines(out: Path) -> list[str]:
    return [line for part in sorted(out.glob("part-*")) for line in part.read_text(encoding="utf-8").splitlines()]


def decoded(lines: list[str], value_only: bool = False) -> set:
    """The pairs of JSON lines, comparable as a set (floats to 9 digits: the order of float sums differs)."""
    pairs = set()
    for line in lines:
        if value_only:
            key, value = None, json.loads(line)
        else:
            raw_key, _, raw_value = line.partition("\t")
            key, value = json.loads(raw_key), json.loads(raw_value)
        pairs.add((_canonical(key), _canonical(value)))
    return pairs


def _canonical(obj):
    if isinstance(obj, float):
        return float(f"{obj:.9g}")
    if isinstance(obj, list):
        return tuple(_canonical(v) for v in obj)
    if isinstance(obj, dict):
        return tuple(sorted((k, _canonical(v)) for k, v in obj.items()))
    return obj


CASES = {
    "mr_word_freq_count": [],
    "mr_words_containing_u_freq_count": [],  # a mapper_pre_filter (grep), through mrjob's local runner
    "mr_wc": [],
    "mr_count_lines_right": [],
    "mr_most_used_word": [],
    "mr_next_word_stats": [],
    "mr_grep": ["-e", "fox"],  # a mapper_cmd and a passthru option, through mrjob's local runner
}
LOCAL_RUNNER = {"mr_words_containing_u_freq_count", "mr_grep"}  # mrjob's inline runner has no shell steps
VALUE_ONLY = {"mr_most_used_word", "mr_grep"}  # JSONValueProtocol output; raw lines


@pytest.mark.parametrize("name", sorted(CASES))
def test_an_example_job_gives_what_mrjob_gives(name, inputs, tmp_path):
    script = EXAMPLES / f"{name}.py"
    args = [*CASES[name], *map(str, inputs)]
    expected = run_mrjob(script, args, tmp_path, "local" if name in LOCAL_RUNNER else "inline")
    proc = run_mr_luigi(script, args, tmp_path / "out", tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = output_lines(tmp_path / "out")
    if name == "mr_grep":
        assert sorted(got) == sorted(expected)
    else:
        assert decoded(got, name in VALUE_ONLY) == decoded(expected, name in VALUE_ONLY)
    assert got, "the job wrote nothing"


def test_the_text_classifier_with_its_documents(tmp_path):
    """Four steps, mapper_raw over whole files, passthru options, tuple keys holding None: mrjob's largest example."""
    docs = sorted(str(p) for p in (EXAMPLES / "docs-to-classify").glob("*.txt"))
    script = EXAMPLES / "mr_text_classifier.py"
    expected = run_mrjob(script, ["--min-df", "2", *docs], tmp_path)
    proc = run_mr_luigi(script, ["--min-df", "2", *docs], tmp_path / "out", tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert decoded(output_lines(tmp_path / "out")) == decoded(expected)


def test_phone_to_url_over_a_wet_file(tmp_path):
    """mapper_raw over a Common Crawl WET file (written here with warcio, which the example reads it with)."""
    from warcio.warcwriter import WARCWriter

    pages = [("http://a.example.com/contact", "Call us at (415) 555-1234 or 415.555.9876 today"),
             ("http://a.example.com/about", "Our number: +1 415 555 1234."),
             ("http://b.example.org/", "Reach 212-555-0000, also 1-800-555-0199"), ("http://c.example.net/", "no phone")]
    with open(tmp_path / "crawl.wet", "wb") as fh:
        writer = WARCWriter(fh, gzip=False)
        for url, text in pages:
            writer.write_record(writer.create_warc_record(url, "conversion", payload=io.BytesIO(text.encode()),
                                                          warc_content_type="text/plain"))
    script = EXAMPLES / "mr_phone_to_url.py"
    expected = run_mrjob(script, ["crawl.wet"], tmp_path)
    proc = run_mr_luigi(script, ["crawl.wet"], tmp_path / "out", tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = decoded(output_lines(tmp_path / "out"))
    assert got == decoded(expected) and ("+14155559876", "http://a.example.com/contact") in got


def test_count_lines_by_file_names_each_file_by_its_absolute_path(inputs, tmp_path):
    script = EXAMPLES / "mr_count_lines_by_file.py"
    args = [os.path.relpath(p, tmp_path) for p in inputs]
    expected = {(Path(k.removeprefix("file://")).name, v) for k, v in decoded(run_mrjob(script, args, tmp_path))}
    proc = run_mr_luigi(script, args, tmp_path / "out", tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = decoded(output_lines(tmp_path / "out"))
    assert {k for k, _ in got} == {str(p) for p in inputs if p.stat().st_size}  # absolute, no file://
    assert {(Path(k).name, v) for k, v in got} == expected


def test_a_byte_order_mark_is_dropped_where_mrjob_keeps_it(tmp_path):
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbfone two\r\nthree\n")
    script = EXAMPLES / "mr_wc.py"
    expected = dict(decoded(run_mrjob(script, ["bom.txt"], tmp_path)))
    proc = run_mr_luigi(script, ["bom.txt"], tmp_path / "out", tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = dict(decoded(output_lines(tmp_path / "out")))
    assert got["words"] == expected["words"] == 3 and got["lines"] == expected["lines"] == 2
    assert got["chars"] == expected["chars"] - 1  # mrjob counts the mark as a character


def test_a_job_that_fails_fails_in_both(inputs, tmp_path):
    script = EXAMPLES / "mr_boom.py"
    real = subprocess.run([sys.executable, str(script), "-r", "inline", str(inputs[0])], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, env=own_tmp(tmp_path))
    assert real.returncode != 0 and "BOOM" in real.stderr
    proc = run_mr_luigi(script, [str(inputs[0])], tmp_path / "out", tmp_path)
    assert proc.returncode == 1
    assert "map_init raised Exception: BOOM" in proc.stderr
    assert not (tmp_path / "out" / "_SUCCESS").exists()


# -- an mrjob job as a node of a Luigi pipeline --------------------------------

PIPELINE = '''
import json, sys, luigi
from mr_luigi import MRJobTask

class WriteText(luigi.Task):
    folder = luigi.Parameter()
    def output(self):
        return luigi.LocalTarget(f"{self.folder}/text.txt")
    def run(self):
        with self.output().open("w") as fh:
            fh.write(sys.argv[3])

class WordCounts(MRJobTask):
    def requires(self):
        return WriteText(folder=self.output_dir + "-input")

class TopWord(luigi.Task):
    folder = luigi.Parameter()
    def requires(self):
        return WordCounts(job=sys.argv[1], output_dir=f"{self.folder}/counts")
    def output(self):
        return luigi.LocalTarget(f"{self.folder}/top.json")
    def run(self):
        with self.input().open() as fh:
            pairs = [(json.loads(k), json.loads(v)) for k, v in (line.rstrip("\\n").split("\\t") for line in fh)]
        with self.output().open("w") as out:
            json.dump(max(pairs, key=lambda kv: (kv[1], kv[0])), out)

ok = luigi.build([TopWord(folder=sys.argv[2])], local_scheduler=True, log_level="WARNING")
sys.exit(0 if ok else 1)
'''


def test_an_unedited_mrjob_job_between_two_luigi_tasks(tmp_path):
    text = "b a b\nc b a\n"
    (tmp_path / "pipeline.py").write_text(PIPELINE)
    proc = subprocess.run([sys.executable, "pipeline.py", str(EXAMPLES / "mr_word_freq_count.py"), str(tmp_path / "run"),
                           text], cwd=tmp_path, capture_output=True, text=True, timeout=300, env=own_tmp(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads((tmp_path / "run" / "top.json").read_text()) == ["b", 3]
    assert decoded(output_lines(tmp_path / "run" / "counts")) == {("a", 2), ("b", 3), ("c", 1)}


# -- what mr_luigi does not run fails at once, naming it -------------------------------------------------------------

UNSUPPORTED = {
    "jar_step.py": ("from mrjob.job import MRJob\nfrom mrjob.step import JarStep\n"
                    "class J(MRJob):\n    def steps(self):\n        return [JarStep(jar='x.jar')]\n"
                    "if __name__ == '__main__':\n    J.run()\n", "JarStep is not supported by mr_luigi"),
    "emr_import.py": ("from mrjob.job import MRJob\nfrom mrjob.emr import EMRJobRunner\n"
                      "class J(MRJob):\n    def mapper(self, _, line):\n        yield line, 1\n",
                      "mrjob.emr is not supported by mr_luigi"),
    "combiner_final.py": ("from mrjob.job import MRJob\nclass J(MRJob):\n    def mapper(self, _, line):\n        yield line, 1\n"
                          "    def combiner(self, k, v):\n        yield k, sum(v)\n    def combiner_final(self):\n"
                          "        yield 'x', 1\n    def reducer(self, k, v):\n        yield k, sum(v)\n",
                          "combiner_final is not supported by mr_luigi"),
}


@pytest.mark.parametrize("name", sorted(UNSUPPORTED))
def test_an_unsupported_feature_is_named(name, inputs, tmp_path):
    source, words = UNSUPPORTED[name]
    (tmp_path / name).write_text(source)
    proc = run_mr_luigi(tmp_path / name, [str(inputs[0])], tmp_path / "out", tmp_path)
    assert proc.returncode in (1, 2) and words in proc.stderr, proc.stderr[-2000:]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args, words", [
    (["-r", "emr"], "-r emr is not supported by mr_luigi"),
    (["--no-such-option"], "unrecognized arguments: --no-such-option"),
])
def test_a_wrong_command_line_is_exit_2_naming_it(args, words, inputs, tmp_path):
    proc = run_mr_luigi(EXAMPLES / "mr_word_freq_count.py", [*args, str(inputs[0])], tmp_path / "out", tmp_path)
    assert proc.returncode == 2 and words in proc.stderr, proc.stderr[-2000:]


def test_a_job_file_edited_at_the_same_size_and_second_runs_its_new_code(tmp_path):
    """Python's bytecode cache takes a file of the same size and modification second for unchanged: a job file
    rewritten so (as a tool or a quick edit does) must still run what it now says, as its job id does."""
    import py_compile

    from mr_luigi.api.mrjob.shim import load_script

    script = tmp_path / "case.py"
    script.write_text("def shout(word):\n    return word.lower()\n")
    stat = script.stat()
    py_compile.compile(str(script), cfile=importlib.util.cache_from_source(str(script)), doraise=True)  # an earlier import's
    script.write_text("def shout(word):\n    return word.upper()\n")  # the same size
    os.utime(script, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # and the same second
    assert load_script(script).shout("Ab") == "AB"


def test_an_edited_job_file_is_a_new_job(inputs, tmp_path):
    script = tmp_path / "count.py"
    script.write_text((EXAMPLES / "mr_word_freq_count.py").read_text())
    assert run_mr_luigi(script, [str(inputs[0])], tmp_path / "out", tmp_path).returncode == 0
    script.write_text(script.read_text().replace("yield (word.lower(), 1)", "yield (word.upper(), 1)"))
    again = run_mr_luigi(script, [str(inputs[0])], tmp_path / "out", tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "it differs in files: count.py" in again.stderr  # the job file is part of the job id
    keys = {k for k, _ in decoded(output_lines(tmp_path / "out"))}
    assert keys and all(k == k.upper() for k in keys)
