"""Job configs: TOML loading, overrides, and one clear ConfigError per mistake."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from mr_luigi import ConfigError, JobConfig, Step, load_config
from mr_luigi.engine.config import read_config_file, validate
from pipelines.word_count import word_count_map, word_count_reduce
from tests import jobs_for_tests as jobs


def _config(tmp_path: Path, **changes) -> JobConfig:
    src = tmp_path / "in.txt"
    if not src.exists():
        src.write_text("a b\n")
    values = dict(
        job_name="wc",
        map_function=word_count_map,
        reduce_function=word_count_reduce,
        input_files=[str(src)],
        output_dir=str(tmp_path / "out"),
    )
    values.update(changes)
    return JobConfig(**values)


def _write_toml(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "job.toml"
    path.write_text(body)
    return path


GOOD_TOML = """
job_name = "wc"
map_function = "pipelines.word_count:word_count_map"
reduce_function = "pipelines.word_count:word_count_reduce"
input_files = ["data/*.txt"]
output_dir = "out"
num_reduce_tasks = 3
"""


def test_toml_resolves_functions_and_paths_relative_to_the_file(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.txt").write_text("x\n")
    (tmp_path / "data" / "b.txt").write_text("y\n")
    config = load_config(_write_toml(tmp_path, GOOD_TOML))
    resolved = validate(config)
    assert resolved.map_function is word_count_map
    assert resolved.reduce_function is word_count_reduce
    assert [p.name for p in resolved.input_paths] == ["a.txt", "b.txt"]
    assert resolved.output_dir == tmp_path / "out"
    assert resolved.work_dir == tmp_path / "out" / "_work"
    assert config.num_reduce_tasks == 3


def test_overrides_win_over_the_file(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.txt").write_text("x\n")
    config = load_config(_write_toml(tmp_path, GOOD_TOML), num_reduce_tasks=7)
    assert config.num_reduce_tasks == 7


@pytest.mark.parametrize(
    "body, field, fragment",
    [
        (GOOD_TOML + "num_reducers = 2\n", "num_reducers", "did you mean 'num_reduce_tasks'"),
        (GOOD_TOML.replace("word_count_map", "no_such_function"), "map_function", "no attribute 'no_such_function'"),
        (GOOD_TOML.replace("pipelines.word_count:word_count_reduce", "no_such_module_xyz:f"), "reduce_function", "cannot import module 'no_such_module_xyz'"),
        (GOOD_TOML.replace("pipelines.word_count:word_count_reduce", "pipelines.word_count:_WORD"), "reduce_function", "not a callable"),
        (GOOD_TOML.replace("num_reduce_tasks = 3", "num_reduce_tasks = 0"), "num_reduce_tasks", "0 means a map-only job, which has no reduce_function"),
        (GOOD_TOML.replace("num_reduce_tasks = 3", 'num_reduce_tasks = "3"'), "num_reduce_tasks", "expected int"),
        (GOOD_TOML.replace('"data/*.txt"', '"nothing/*.log"'), "input_files", "matched no files"),
        (GOOD_TOML.replace('"data/*.txt"', '"missing.txt"'), "input_files", "does not exist"),
        (GOOD_TOML.replace('job_name = "wc"', 'job_name = "a/b"'), "job_name", "letters, digits"),
        (GOOD_TOML.replace('job_name = "wc"\n', ""), "job_name", "missing"),
        ("job_name = [", "config", "invalid TOML"),
    ],
)
def test_each_mistake_names_its_field(tmp_path, body, field, fragment):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.txt").write_text("x\n")
    with pytest.raises(ConfigError) as info:
        validate(load_config(_write_toml(tmp_path, body)))
    assert info.value.field == field
    assert fragment in str(info.value)


def test_output_dir_that_is_a_file(tmp_path):
    (tmp_path / "out").write_text("I am a file")
    with pytest.raises(ConfigError, match="output_dir: .* is a file"):
        validate(_config(tmp_path))


def test_a_work_dir_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "work").write_text("I am a file")
    with pytest.raises(ConfigError) as raised:
        validate(_config(tmp_path, work_dir=str(tmp_path / "work")))
    assert str(raised.value) == f"work_dir: {str(tmp_path / 'work')!r} exists and is not a directory"


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")


def test_function_objects_and_string_refs_are_both_accepted(tmp_path):
    resolved = validate(_config(tmp_path, combine_function="pipelines.word_count:word_count_reduce"))
    assert resolved.combine_function is word_count_reduce
    assert resolved.partitioner is None


def test_an_empty_string_turns_the_combiner_off(tmp_path):
    config = tmp_path / "job.toml"
    config.write_text('combine_function = ""\n')
    values = read_config_file(config)
    resolved = validate(_config(tmp_path, combine_function=values["combine_function"]))
    assert resolved.combine_function is None


def test_non_callable_function_object(tmp_path):
    with pytest.raises(ConfigError, match="map_function: expected a function"):
        validate(_config(tmp_path, map_function=42))


def test_folder_input_skips_hidden_and_underscore_files(tmp_path):
    folder = tmp_path / "books"
    folder.mkdir()
    (folder / "a.txt").write_text("a\n")
    (folder / ".hidden").write_text("h\n")
    (folder / "_SUCCESS").write_text("{}")
    (folder / "b.txt-luigi-tmp-123").write_text("partial")
    resolved = validate(_config(tmp_path, input_files=str(folder)))
    assert [p.name for p in resolved.input_paths] == ["a.txt"]


def test_folder_input_skips_hidden_and_underscore_folders(tmp_path):
    folder = tmp_path / "books"
    for sub in ("", "sub", "_work/job", "_bad_records", ".git/objects", "sub/.cache"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
        (folder / sub / "f.txt").write_text("x\n")
    resolved = validate(_config(tmp_path, input_files=str(folder)))
    assert [str(p.relative_to(folder)) for p in resolved.input_paths] == ["f.txt", "sub/f.txt"]


def test_globs_skip_underscore_and_hidden_names_unless_the_pattern_spells_them(tmp_path):
    folder = tmp_path / "books"
    for sub in ("a", "_work", ".hidden"):
        (folder / sub).mkdir(parents=True)
        (folder / sub / "f.txt").write_text("x\n")
        (folder / sub / "_f.txt").write_text("x\n")
    names = lambda pattern: [str(p.relative_to(folder)) for p in validate(_config(tmp_path, input_files=pattern)).input_paths]  # noqa: E731
    assert names(str(folder / "*" / "*.txt")) == ["a/f.txt"]
    assert names(str(folder / "**" / "*.txt")) == ["a/f.txt"]
    assert names(str(folder / "_work" / "*.txt")) == ["_work/f.txt"]
    assert names(str(folder / "a" / "_*.txt")) == ["a/_f.txt"]
    # a wildcard spelled with "_" reaches "_" names in its own place only
    assert names(str(folder / "*" / "_*.txt")) == ["a/_f.txt"]
    # under "**" the depth is not spelled, so a "_" spelled anywhere lets "_" names through at every depth
    assert names(str(folder / "**" / "_*.txt")) == ["_work/_f.txt", "a/_f.txt"]


def test_a_glob_never_reads_a_half_written_file(tmp_path):
    """A file being written atomically (its temporary name holds -luigi-tmp-) is no input: it may be cut short."""
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "a.txt").write_text("x\n")
    (folder / "b.txt-luigi-tmp-0123456789ab").write_text("half")
    for given in (folder / "*", folder):  # a glob, and the folder itself
        assert [p.name for p in validate(_config(tmp_path, input_files=str(given))).input_paths] == ["a.txt"], given


def test_a_double_star_glob_reaches_every_depth_the_folder_itself_included(tmp_path):
    folder = tmp_path / "books"
    for sub in ("", "a", "a/b", "a/b/c"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
        (folder / sub / "f.txt").write_text("x\n")
    resolved = validate(_config(tmp_path, input_files=str(folder / "**" / "*.txt")))
    assert [str(p.relative_to(folder)) for p in resolved.input_paths] == ["a/b/c/f.txt", "a/b/f.txt", "a/f.txt", "f.txt"]


def test_an_output_below_a_double_star_globs_folder_is_refused_and_below_a_single_star_globs_accepted(tmp_path):
    """``**`` reads every depth below its folder, so a later run would read the job's own files; ``*`` reads one level."""
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "a.txt").write_text("x\n")
    with pytest.raises(ConfigError) as caught:
        validate(_config(tmp_path, input_files=str(folder / "**" / "*.txt"), output_dir=str(folder / "out")))
    assert str(caught.value) == (f"output_dir: '{folder}/out' is inside the input folder '{folder}': a later run would "
                                 "read this job's files as input; choose a folder outside it")
    resolved = validate(_config(tmp_path, input_files=str(folder / "*.txt"), output_dir=str(folder / "out")))
    assert resolved.output_dir == folder / "out" and resolved.input_paths == (folder / "a.txt",)


def test_a_function_in_no_module_is_named_with_a_question_mark():
    """A function made by exec() in a namespace without __name__ has no module to name."""
    from mr_luigi.engine.config import function_ref

    namespace: dict = {}
    exec("def made(line):\n    return []\n", namespace)
    assert namespace["made"].__module__ is None
    assert function_ref(namespace["made"]) == "?:made"


@pytest.mark.parametrize("second", ["file_map", "map_with_record"])
def test_a_map_marked_twice_is_refused_word_for_word(tmp_path, second):
    import mr_luigi

    def both(line):
        return []

    mark = getattr(mr_luigi, second)
    with pytest.raises(ConfigError) as caught:
        validate(_config(tmp_path, map_function=mark(mr_luigi.batch_map(both))))
    assert str(caught.value) == (f"map_function: a function cannot be both a batch_map and a {second}: each says what the "
                                 "map is called with (a list of lines, a line and its record, a file's path); use one of them")


def test_an_error_in_a_config_file_names_the_file(tmp_path):
    path = tmp_path / "jobs" / "count.toml"
    path.parent.mkdir()
    path.write_text('job_name = "j"\nmap_function = "m:f"\nreduce_function = "m:g"\ninput_files = ["x"]\noutput_dir = "out"\nnum_reduce_task = 4\n')
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value).startswith(f"{path}: num_reduce_task: unknown key (did you mean 'num_reduce_tasks'?)")


def finished_job_folder(tmp_path: Path, named: bool = False) -> Path:
    from mr_luigi import MapReduceScheduler
    from tests import jobs_for_tests as jobs

    src = tmp_path / "src.txt"
    src.write_text("alpha beta\nbeta gamma\n")
    out = tmp_path / "first"
    config = _config(tmp_path, input_files=[str(src)], output_dir=str(out), num_reduce_tasks=2, keep_intermediate=True,
                     map_function=jobs.named_map if named else word_count_map, named_outputs=named, combine_function=None)
    assert MapReduceScheduler(1).execute_job(config)
    return out


def test_a_finished_jobs_output_folder_means_its_part_files(tmp_path):
    out = finished_job_folder(tmp_path)
    resolved = validate(_config(tmp_path, input_files=str(out), output_dir=str(tmp_path / "second")))
    assert [p.name for p in resolved.input_paths] == ["part-00000", "part-00001"]


def test_a_finished_jobs_records_are_never_read_twice(tmp_path):
    out = finished_job_folder(tmp_path)
    with pytest.raises(ConfigError) as raised:
        validate(_config(tmp_path, input_files=str(out / "*"), output_dir=str(tmp_path / "second")))
    assert str(raised.value) == (f"input_files: {str(out)!r} is a finished job's output: its final_output.txt and its part "
                                 "files (part-00000, ...) hold the same records, so every record would be read twice; name "
                                 "the folder itself (its part files) or final_output.txt")
    resolved = validate(_config(tmp_path, input_files=str(out / "final_output.txt"), output_dir=str(tmp_path / "second")))
    assert [p.name for p in resolved.input_paths] == ["final_output.txt"]


def test_a_finished_jobs_folder_of_named_outputs_asks_which_to_read(tmp_path):
    out = finished_job_folder(tmp_path, named=True)
    with pytest.raises(ConfigError, match=rf"^input_files: '{out}' holds the results of job wc-\w+ \(lengths.txt, words.txt\) "
                                          r"but no part-\* files: name the output file\(s\) to read$"):
        validate(_config(tmp_path, input_files=str(out), output_dir=str(tmp_path / "second")))


def test_chaining_jobs_by_folder_counts_each_record_once(tmp_path):
    """The Hadoop way of chaining: the second job reads the first job's output folder."""
    from mr_luigi import MapReduceScheduler
    from tests import jobs_for_tests as jobs
    from tests.conftest import read_tsv

    out = finished_job_folder(tmp_path)
    config = _config(tmp_path, input_files=str(out), output_dir=str(tmp_path / "second"), map_function=jobs.line_map,
                     reduce_function=jobs.total, num_reduce_tasks=1)
    assert MapReduceScheduler(1).execute_job(config)
    lines = [line for p in sorted(out.glob("part-*")) for line in p.read_text().splitlines()]
    assert len(lines) == 3
    assert read_tsv(tmp_path / "second" / "final_output.txt") == [(line, 1) for line in sorted(lines)]


def test_command_line_job_without_input_names_the_flag(tmp_path):
    from pipelines.word_count import WordCount

    empty = tmp_path / "empty.toml"
    empty.write_text("")
    with pytest.raises(ConfigError, match=r"input_files: missing: .*give --input-path"):
        WordCount(config=str(empty), output_dir=str(tmp_path / "out")).complete()  # asked first by Luigi


def test_an_unknown_key_with_no_close_match_lists_the_known_keys(tmp_path):
    from mr_luigi.engine.config import FIELD_NAMES, config_from_mapping

    with pytest.raises(ConfigError) as error:
        config_from_mapping({"job_name": "j", "zzzzqqq": 1}, source="job.toml", base_dir=tmp_path)
    assert str(error.value) == f"job.toml: zzzzqqq: unknown key; known keys: {', '.join(FIELD_NAMES)}"


def test_a_missing_field_says_where_to_set_it(tmp_path):
    from mr_luigi.engine.config import config_from_values

    values = {"job_name": "j", "map_function": "m:f", "reduce_function": "m:g", "input_files": ["x"], "output_dir": ""}
    with pytest.raises(ConfigError) as error:
        config_from_values(values, source="job.toml")
    assert str(error.value) == "job.toml: output_dir: missing: every job needs it (set it in the job config)"
    with pytest.raises(ConfigError) as error:
        config_from_values({**values, "output_dir": "out", "input_files": []}, hints={"input_files": "give --input"})
    assert str(error.value) == "input_files: missing: every job needs it (give --input)"
    without_map = {k: v for k, v in values.items() if k != "map_function"}
    with pytest.raises(ConfigError) as error:
        config_from_values({**without_map, "output_dir": "out"}, source="job.toml")
    assert str(error.value) == "job.toml: map_function: missing: every job needs it (set it in the job config)"
    assert config_from_values({**without_map, "output_dir": "out", "steps": [{"reduce_function": "m:g"}]}).map_function is None


def test_a_missing_or_folder_config_file_is_named(tmp_path):
    with pytest.raises(ConfigError) as error:
        read_config_file(tmp_path / "nope.toml")
    assert str(error.value) == f"config: config file {str(tmp_path / 'nope.toml')!r} does not exist"
    with pytest.raises(ConfigError) as error:
        read_config_file(tmp_path)
    assert str(error.value) == f"config: {str(tmp_path)!r} is a directory, not a TOML config file"
    bad = tmp_path / "bad.toml"
    bad.write_text("num_reduce_task = 3\n")
    with pytest.raises(ConfigError) as error:
        read_config_file(bad)
    assert str(error.value).startswith(f"{bad}: num_reduce_task: unknown key")


def test_an_empty_input_folder_is_named(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "_hidden.txt").write_text("x\n")
    with pytest.raises(ConfigError) as error:
        validate(_config(tmp_path, input_files=[str(tmp_path / "empty")]))
    assert str(error.value) == f"input_files: folder {str(tmp_path / 'empty')!r} holds no files"


def test_a_config_file_missing_a_field_is_named(tmp_path):
    path = tmp_path / "job.toml"
    path.write_text('job_name = "j"\nmap_function = "m:f"\nreduce_function = "m:g"\ninput_files = ["x"]\n')
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value) == f"{path}: output_dir: missing: every job needs it (set it in the job config)"


def test_config_layers_merge_by_one_rule_everywhere(tmp_path):
    """Pipeline defaults < config file < command line: fields are replaced, params merged name by name."""
    from mr_luigi.ops.cli import load
    from mr_luigi.engine.config import merge_config
    from mr_luigi.api.config_params import ConfigFileJob

    assert merge_config({"num_reduce_tasks": 2, "params": {"a": 1, "b": 1}}, {"params": {"b": 2}, "num_reduce_tasks": 3},
                        {"params.c": 3}) == {"num_reduce_tasks": 3, "params": {"a": 1, "b": 2, "c": 3}}
    src = tmp_path / "in.txt"
    src.write_text("x\n")
    toml = tmp_path / "job.toml"
    toml.write_text(f'job_name = "j"\nmap_function = "tests.jobs_for_tests:count_words"\nreduce_function = "tests.jobs_for_tests:total"\n'
                    f'input_files = ["{src}"]\noutput_dir = "out"\n[params]\nfrom_file = 1\nshared = "file"\n')
    expected = {"from_file": 1, "shared": "override"}
    assert dict(load_config(toml, params={"shared": "override"}).params) == expected
    assert dict(load(toml, ["params.shared=override"]).params) == expected

    class Defaults(ConfigFileJob):
        defaults = {"params": {"from_defaults": 0, "shared": "defaults"}}

    job = Defaults(config=str(toml), num_reduce_tasks=5)
    merged = job.merged_config()
    assert dict(merged.params) == {"from_defaults": 0, "from_file": 1, "shared": "file"}
    assert merged.num_reduce_tasks == 5 and merged.output_dir == str(tmp_path / "out")


def test_a_params_key_is_the_name_after_the_first_dot():
    from mr_luigi.engine.config import merge_config

    assert merge_config({"params.top.n": 1}, {"params.x": 2}) == {"params": {"top.n": 1, "x": 2}}


def test_params_that_is_not_a_table_is_refused_when_layers_merge():
    from mr_luigi.engine.config import merge_config

    with pytest.raises(ConfigError) as error:
        merge_config({"num_reduce_tasks": 2}, {"params": 3})
    assert str(error.value) == "params: expected a table, got int 3"


def test_a_config_files_urls_and_values_that_are_not_text_are_kept_as_written(tmp_path):
    """Only local paths are relative to the config's folder: a URL is not a path, and a number is refused later."""
    path = _write_toml(tmp_path, 'output_dir = "s3://bucket/out"\nwork_dir = "scratch"\n'
                                 'input_files = ["s3://bucket/in/*.txt", "in/a.txt", 3]\nfiles = ["s3://bucket/side.txt", "side.txt"]\n')
    values = read_config_file(path)
    assert values == {"output_dir": "s3://bucket/out", "work_dir": str(tmp_path / "scratch"),
                      "input_files": ["s3://bucket/in/*.txt", str(tmp_path / "in" / "a.txt"), 3],
                      "files": ["s3://bucket/side.txt", str(tmp_path / "side.txt")]}


def test_an_unknown_key_without_a_source_names_only_the_key():
    from mr_luigi.engine.config import config_from_mapping

    with pytest.raises(ConfigError) as error:
        config_from_mapping({"num_reduce_task": 3})
    assert str(error.value) == "num_reduce_task: unknown key (did you mean 'num_reduce_tasks'?)"


def test_a_finished_job_folder_without_part_files_or_outputs_says_so(tmp_path):
    from mr_luigi.engine.config import validate

    done = tmp_path / "done"
    done.mkdir()
    (done / "_SUCCESS").write_text(json.dumps({"job_id": "earlier-0123", "outputs": []}))
    config = JobConfig(job_name="j", map_function=jobs.count_words, reduce_function=jobs.total, input_files=[str(done)],
                       output_dir=str(tmp_path / "out"))
    with pytest.raises(ConfigError) as error:
        validate(config)
    assert str(error.value) == (f"input_files: {str(done)!r} holds the results of job earlier-0123 (no part files) but no "
                                "part-* files: name the output file(s) to read")


@pytest.mark.parametrize("raw, value", [("3", 3), ("0.5", 0.5), ("true", True), ('["a.txt", "b.txt"]', ["a.txt", "b.txt"]),
                                        ('"quoted"', "quoted"), ("plain text", "plain text"), ("out/dir", "out/dir")])
def test_a_set_value_is_read_as_toml_or_else_as_text(raw, value):
    from mr_luigi.engine.config import parse_toml_value

    assert parse_toml_value(raw) == value and type(parse_toml_value(raw)) is type(value)


@pytest.mark.parametrize("changes, words", [
    ({"steps": [Step(map_function=jobs.count_words, reduce_function=jobs.total)]},
     "steps: a multi-step job is planned step by step (make_plan), not validated as one job"),
    ({"map_function": None}, "map_function: missing: every job needs it (or steps, each with its map)"),
    ({"map_function": ""}, "map_function: missing: every job needs it (or steps, each with its map)"),
    ({"job_name": 7}, "job_name: expected str, got int 7"),
    ({"job_name": ""}, "job_name: '' must be non-empty and use only letters, digits, '-', '_' and '.'"),
    ({"job_name": "a/b"}, "job_name: 'a/b' must be non-empty and use only letters, digits, '-', '_' and '.'"),
    ({"job_name": "wc X"}, "job_name: 'wc X' must be non-empty and use only letters, digits, '-', '_' and '.'"),
    ({"num_reduce_tasks": "3"}, "num_reduce_tasks: expected int, got str '3'"),
    ({"num_reduce_tasks": True}, "num_reduce_tasks: expected a number, got True"),
    ({"num_reduce_tasks": -1}, "num_reduce_tasks: must be 0 (a map-only job) or more, got -1"),
    ({"max_retries": 1.5}, "max_retries: expected int, got float 1.5"),
    ({"max_retries": -1}, "max_retries: must be 0 or more, got -1"),
    ({"keep_intermediate": 1}, "keep_intermediate: expected bool, got int 1"),
    ({"split_size_mb": 0}, "split_size_mb: must be positive, got 0"),
    ({"split_size_mb": "1"}, "split_size_mb: expected int or float, got str '1'"),
    ({"map_memory_mb": -5}, "map_memory_mb: must be positive, got -5"),
    ({"map_memory_mb": True}, "map_memory_mb: expected a number, got True"),
    ({"merge_fan_in": 2.0}, "merge_fan_in: expected int, got float 2.0"),
    ({"merge_fan_in": 1}, "merge_fan_in: must be at least 2, got 1"),
    ({"max_bad_records": -1}, "max_bad_records: expected a count (an integer, 0 or more) or a fraction in [0, 1), got -1"),
    ({"max_bad_records": 1.0}, "max_bad_records: expected a count (an integer, 0 or more) or a fraction in [0, 1), got 1.0"),
    ({"max_bad_records": "5"}, "max_bad_records: expected int or float, got str '5'"),
    ({"params": [1]}, "params: expected a table, got list [1]"),
    ({"s3": "http://localhost:9000"}, "s3: expected a table, got str 'http://localhost:9000'"),
    ({"named_outputs": "yes"}, "named_outputs: expected bool, got str 'yes'"),
    ({"sort_values": 0}, "sort_values: expected bool, got int 0"),
    ({"output_format": "csv"}, "output_format: 'csv' is not one of tsv, jsonl, lines"),
    ({"output_format": "lines", "named_outputs": True},
     'output_format: "lines" cannot be used with named_outputs yet (use tsv or jsonl)'),
])
def test_each_refusal_of_a_jobs_fields_word_for_word(tmp_path, changes, words):
    """The whole message, field first: what a user reads is what they act on."""
    with pytest.raises(ConfigError) as caught:
        validate(_config(tmp_path, **changes))
    assert str(caught.value) == words
    assert caught.value.field == words.split(":")[0]


@pytest.mark.parametrize("job_name", ["a", "Z9", "wc-2026.11_30", "東京"])
def test_a_job_name_of_letters_digits_dashes_underscores_and_dots_is_taken(tmp_path, job_name):
    assert validate(_config(tmp_path, job_name=job_name)).config.job_name == job_name


def _placed(changes: dict, tmp_path: Path) -> dict:
    """Config changes with ``{tmp}`` in their strings (alone or in a list) made this test's folder."""

    def placed(value):
        if isinstance(value, str):
            return value.format(tmp=tmp_path)
        return [placed(v) for v in value] if isinstance(value, list) else value

    return {name: placed(value) for name, value in changes.items()}


MAP_ONLY = {"reduce_function": None, "num_reduce_tasks": 0}


@pytest.mark.parametrize("changes, words", [
    ({"reduce_function": None},
     "reduce_function: missing: every job needs one, except a map-only job, which sets num_reduce_tasks = 0"),
    ({"num_reduce_tasks": 0}, "num_reduce_tasks: 0 means a map-only job, which has no reduce_function: remove one of them"),
    ({**MAP_ONLY, "combine_function": jobs.total},
     "combine_function: a map-only job (num_reduce_tasks = 0) has no shuffle to use it: remove it"),
    ({**MAP_ONLY, "partitioner": jobs.one_partition},
     "partitioner: a map-only job (num_reduce_tasks = 0) has no shuffle to use it: remove it"),
    ({**MAP_ONLY, "sort_values": True},
     "sort_values: a map-only job (num_reduce_tasks = 0) has no reduce to sort values for: remove it"),
    ({**MAP_ONLY, "named_outputs": True},
     "named_outputs: a map-only job cannot write named outputs yet (each map writes one part file in input order)"),
    ({"combine_init": jobs.total}, "combine_init: the job has no combine_function for it to prepare: remove one, or add the other"),
    ({**MAP_ONLY, "reduce_init": jobs.total}, "reduce_init: a map-only job has no reduce tasks to run it: use map_init / map_final"),
    ({**MAP_ONLY, "reduce_final": jobs.total}, "reduce_final: a map-only job has no reduce tasks to run it: use map_init / map_final"),
    ({"reduce_final": jobs.total, "named_outputs": True},
     "reduce_final: cannot be used with named_outputs yet: its pairs come after the reduced keys, not in the (name, key) order "
     "the outputs are written in"),
    ({"output_dir": ""}, "output_dir: expected a folder path, got ''"),
    ({"output_dir": 5}, "output_dir: expected a folder path, got 5"),
    ({"output_dir": "{tmp}/afile"}, "output_dir: '{tmp}/afile' exists and is a file, not a folder"),
    ({"output_dir": "{tmp}/afile/sub"}, "output_dir: '{tmp}/afile/sub' cannot be created: '{tmp}/afile' is a file"),
    ({"work_dir": "{tmp}/afile/w"}, "work_dir: '{tmp}/afile/w' cannot be created: '{tmp}/afile' is a file"),
    ({"input_files": ["{tmp}/folder"], "output_dir": "{tmp}/folder/out"},
     "output_dir: '{tmp}/folder/out' is inside the input folder '{tmp}/folder': a later run would read this job's files as "
     "input; choose a folder outside it"),
    ({"input_files": ["{tmp}/folder"], "work_dir": "{tmp}/folder"},
     "work_dir: '{tmp}/folder' is inside the input folder '{tmp}/folder': a later run would read this job's files as input; "
     "choose a folder outside it"),
    ({"input_files": ["{tmp}/folder/x.txt"], "output_dir": "{tmp}/folder"},
     "output_dir: input '{tmp}/folder/x.txt' is inside output_dir '{tmp}/folder', where the job writes: choose another folder"),
    ({"output_dir": "s3://bucket"}, "output_dir: 's3://bucket': expected s3://bucket/prefix, a folder in a bucket"),
    ({"work_dir": "s3://bucket/a*"}, "work_dir: 's3://bucket/a*': expected s3://bucket/prefix, a folder in a bucket"),
])
def test_each_refusal_of_how_the_jobs_parts_fit_together_word_for_word(tmp_path, changes, words):
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "x.txt").write_text("x\n")
    (tmp_path / "afile").write_text("a file")

    with pytest.raises(ConfigError) as caught:
        validate(_config(tmp_path, **_placed(changes, tmp_path)))
    assert str(caught.value) == words.format(tmp=tmp_path)


@pytest.mark.parametrize("changes, words", [
    ({"input_files": []}, "input_files: no input given: name at least one file, folder or glob"),
    ({"input_files": [5]}, "input_files: expected paths or globs, got 5"),
    ({"input_files": ["{tmp}/*.log"]}, "input_files: glob '{tmp}/*.log' matched no files"),
    ({"input_files": ["/dev/null"]}, "input_files: '/dev/null' is not a regular file"),
    ({"input_files": ["{tmp}/nope.txt"]}, "input_files: '{tmp}/nope.txt' does not exist"),
    ({"input_files": ["{tmp}/empty"]}, "input_files: folder '{tmp}/empty' holds no files"),
    ({"map_function": 5}, "map_function: expected a function or 'module:function', got 5"),
    ({"reduce_function": 5}, "reduce_function: expected a function or 'module:function', or one of 'sum', got 5"),
    ({"combine_function": 5}, "combine_function: expected a function or 'module:function', or one of 'sum', got 5"),
    ({"map_function": "tests.jobs_for_tests:strict_map:extra"},
     "map_function: module 'tests.jobs_for_tests' has no attribute 'strict_map:extra'"),
    ({"reduce_function": "summ"}, "reduce_function: expected a function or 'module:function', or one of 'sum', got 'summ'"),
    ({"map_function": "pipelines.word_count:nope"}, "map_function: module 'pipelines.word_count' has no attribute 'nope'"),
    ({"reduce_function": "pipelines.word_count:_WORD"}, "reduce_function: 'pipelines.word_count:_WORD' is a Pattern, not a callable"),
    ({"files": [5]}, "files: expected file paths, got 5"),
    ({"files": ["{tmp}/nope"]}, "files: side file '{tmp}/nope' does not exist"),
    ({"files": ["{tmp}/sub"]}, "files: side file '{tmp}/sub' is not a regular file"),
    ({"files": ["{tmp}/sub/f.txt", "{tmp}/other/f.txt"]},
     "files: two side files are named 'f.txt' ('{tmp}/sub/f.txt' and '{tmp}/other/f.txt'): job_file() asks for a file by "
     "name; rename one"),
])
def test_each_refusal_of_inputs_functions_and_side_files_word_for_word(tmp_path, changes, words):
    for folder in ("empty", "sub", "other"):
        (tmp_path / folder).mkdir()
    (tmp_path / "sub" / "f.txt").write_text("x\n")
    (tmp_path / "other" / "f.txt").write_text("y\n")
    with pytest.raises(ConfigError) as caught:
        validate(_config(tmp_path, **_placed(changes, tmp_path)))
    assert str(caught.value) == words.format(tmp=tmp_path)


def test_a_module_that_cannot_be_imported_is_named_with_where_it_was_looked_for(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path / "mine"))
    with pytest.raises(ConfigError) as caught:
        validate(_config(tmp_path, map_function="no_such_module_q:f"))
    words = str(caught.value)
    assert words.startswith("map_function: cannot import module 'no_such_module_q': No module named 'no_such_module_q' "
                            f"(searched: '{tmp_path / 'mine'}', "), words
    assert words.endswith(")") and "lib-dynload" not in words


def test_a_function_reference_may_name_an_attribute_of_an_attribute():
    """``module:a.b`` walks the dotted path after the colon, as ``module:Class.method`` needs."""
    import os.path

    from mr_luigi.engine.config import resolve_function

    assert resolve_function("os:path.join", "map_function") is os.path.join


def test_a_module_that_cannot_be_imported_lists_the_folders_searched_but_zips_and_lib_dynload(monkeypatch):
    from mr_luigi.engine.config import resolve_function

    monkeypatch.setattr(sys, "path", ["/py/lib/python311.zip", "/here", "/py/lib/lib-dynload", ""])
    with pytest.raises(ConfigError) as raised:
        resolve_function("no_such_module_here:f", "map_function")
    assert str(raised.value) == ("map_function: cannot import module 'no_such_module_here': No module named "
                                 f"'no_such_module_here' (searched: '/here', {os.getcwd()!r})")


def test_a_partial_is_named_by_the_function_it_wraps():
    import functools

    from mr_luigi.engine.config import function_ref

    assert function_ref(functools.partial(jobs.strict_map, extra=1)) == "partial(tests.jobs_for_tests:strict_map)"


class _Doubler:
    """A callable object: it has no __qualname__ of its own, its class has."""

    def __call__(self, line):
        yield line, 2


def test_a_callable_object_is_named_by_its_class():
    from mr_luigi.engine.config import function_ref

    assert function_ref(_Doubler()) == "tests.test_config:_Doubler()"
