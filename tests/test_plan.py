"""What a plan says when an input or a job changed: the words a user reads in InputChanged and re-run messages.

``file_identity`` is (size, modification time, inode, status change time);
each difference gets its own words, checked here on identities written by
hand.
"""

from __future__ import annotations

import pytest

from mr_luigi.engine.plan import describe_change, identity_difference

BEFORE = (1000, 111, 7, 222)


@pytest.mark.parametrize("after, words", [
    ((2000, 111, 7, 222), "size 1,000 -> 2,000 bytes"),
    ((2000, 999, 7, 222), "size 1,000 -> 2,000 bytes, modification time changed"),
    ((1000, 999, 7, 222), "modification time changed"),
    ((1000, 999, 8, 333), "modification time changed"),
    ((1000, 111, 8, 333), "replaced by another file of the same size and time (new inode)"),
    ((1000, 111, 7, 333), "rewritten or touched: same size and modification time, but its status change time moved"),
])
def test_each_change_of_an_input_has_its_words(after, words):
    assert describe_change(BEFORE, after) == words


def test_an_object_on_a_store_rewritten_at_the_same_size_is_named_by_its_etag():
    assert describe_change((1000, '"9b2cf535f27731c974343645a3985328"'), (1000, '"6f5902ac237024bdd0c176cb93063dc4"')) == \
        "rewritten: same size, another ETag"


def test_an_object_on_a_store_of_another_size_is_named_by_its_sizes_only():
    assert describe_change((1000, '"9b2c"'), (2000, '"6f59"')) == "size 1,000 -> 2,000 bytes"  # an ETag is no time


def test_an_identity_of_size_and_time_only_never_claims_a_new_inode():
    assert describe_change((5, 1), (5, 1)) == "rewritten or touched: same size and modification time, but its status change time moved"


def identity(**changes):
    base = {"format": 3, "job_name": "j", "inputs": [["/in/a.txt", *BEFORE], ["/in/b.txt", 5, 6, 7, 8]],
            "splits": [[["/in/a.txt", 0, 1000]], [["/in/b.txt", 0, 5]]], "functions": {"map_function": ["m:f", "d1"]},
            "num_reduce_tasks": 4}
    base.update(changes)
    return base


@pytest.mark.parametrize("after, words", [
    (identity(), ""),
    (identity(inputs=[["/in/a.txt", 1000, 999, 7, 222], ["/in/b.txt", 5, 6, 7, 8]]),
     "input '/in/a.txt' changed (modification time changed)"),
    (identity(inputs=[["/in/a.txt", *BEFORE]]), "other inputs (0 added, 1 gone, e.g. '/in/b.txt')"),
    (identity(inputs=[["/in/a.txt", *BEFORE], ["/in/b.txt", 5, 6, 7, 8], ["/in/c.txt", 1, 2, 3, 4]]),
     "other inputs (1 added, 0 gone, e.g. '/in/c.txt')"),
    (identity(functions={"map_function": ["m:f", "d2"]}), "functions: map_function"),
    (identity(num_reduce_tasks=8), "num_reduce_tasks"),
    (identity(sealed=True), "whether MR_LUIGI_SECRET is set"),
    (identity(splits=[[["/in/a.txt", 0, 500]], [["/in/a.txt", 500, 1000]], [["/in/b.txt", 0, 5]]]), "splits"),
])
def test_what_differs_between_two_jobs_is_named(after, words):
    assert identity_difference(identity(), after) == words


def test_edited_code_is_said_to_be_edited():
    assert identity_difference(identity(code={"mypkg.jobs": "a"}), identity(code={"mypkg.jobs": "b"})) == "code: mypkg.jobs (source edited)"


def test_plans_are_equal_when_their_job_ids_are(tmp_path):
    from mr_luigi import JobConfig
    from mr_luigi.engine.plan import make_plan

    (tmp_path / "in.txt").write_text("a b\n")
    config = JobConfig(job_name="eq", map_function="tests.jobs_for_tests:count_words", reduce_function="tests.jobs_for_tests:total",
                       input_files=[str(tmp_path / "in.txt")], output_dir=str(tmp_path / "out"))
    one, two = make_plan(config), make_plan(config)
    assert one == two and hash(one) == hash(two)
    other = make_plan(JobConfig(**{**config.__dict__, "num_reduce_tasks": 7}))
    assert one != other and one.job_id != other.job_id
    assert one != one.job_id, "a plan is not its job id"


def test_fields_on_one_side_only_are_differences_too():
    assert identity_difference(identity(), identity(encoding="latin-1")) == "encoding"
    assert identity_difference(identity(encoding="latin-1"), identity()) == "encoding"
    both = {"map_function": ["m:f", "d2"], "reduce_function": ["m:g", "d3"]}
    assert identity_difference(identity(), identity(functions=both)) == "functions: map_function, reduce_function"
    assert identity_difference({"format": 3}, {"format": 3}) == ""
    assert identity_difference({"format": 3}, {"format": 3, "inputs": [["/a", 1, 2, 3, 4]]}) == \
        "other inputs (1 added, 0 gone, e.g. '/a')"


def test_inputs_and_splits_are_named_only_when_nothing_else_differs():
    reordered = identity(inputs=list(reversed(identity()["inputs"])), job_name="k")
    assert identity_difference(identity(), reordered) == "job_name"
    assert identity_difference(identity(), identity(splits=[[["/in/a.txt", 0, 500]]], steps=[["s"]])) == "steps"


def test_a_table_on_one_side_only_is_named_and_a_table_names_only_its_changed_entries():
    assert identity_difference(identity(code={"m": "a"}), identity()) == "code"
    assert identity_difference(identity(), identity(code={"m": "a"})) == "code"
    assert identity_difference(identity(code={"a": "1", "b": "2"}), identity(code={"a": "1", "b": "3"})) == \
        "code: b (source edited)"


def test_a_process_keeps_the_plans_it_made_last(tmp_path, monkeypatch):
    """Plans are kept per process so that each task does not plan its job again; the oldest go first."""
    from mr_luigi import JobConfig
    from mr_luigi.engine import plan as planning

    (tmp_path / "in.txt").write_text("a b\n")
    monkeypatch.setattr(planning, "_PLANS_KEPT", 2)
    monkeypatch.setattr(planning, "_plans", type(planning._plans)())
    plans = [planning.make_plan(JobConfig(job_name=f"job{i}", map_function="tests.jobs_for_tests:count_words",
                                          reduce_function="sum", input_files=[str(tmp_path / "in.txt")],
                                          output_dir=str(tmp_path / f"out{i}"))) for i in range(3)]
    assert list(planning._plans) == [plans[1].job_id, plans[2].job_id]
    assert planning.plan_of_task(plans[2].job_id, plans[2].spec) is plans[2]


@pytest.mark.parametrize("changes, named", [
    ({"params": {"n": 2}}, "params"),
    ({"named_outputs": True}, "named_outputs"),
    ({"output_format": "jsonl"}, "output_format"),
    ({"max_bad_records": 5}, "max_bad_records"),
    ({"skip_exceptions": ["ValueError"]}, "skip_exceptions"),
    ({"encoding": "latin-1"}, "encoding"),
    ({"output_dir": "{tmp}/elsewhere", "work_dir": "{tmp}/work"}, "output_dir"),
    ({"split_size_mb": 0.000002}, "splits"),
    ({"sort_values": True}, "sort_values"),
], ids=lambda value: value if isinstance(value, str) else None)
def test_each_setting_of_a_job_changes_its_id_and_is_named_as_the_difference(tmp_path, changes, named):
    """Two plans of a job that differ in one setting: two job ids, and the words a re-run or a worker uses
    name that setting (the work folder is shared, so the output folder alone decides the id's output_dir)."""
    from mr_luigi import JobConfig
    from mr_luigi.engine.plan import make_plan

    (tmp_path / "in.txt").write_text("".join(f"word{i} other\n" for i in range(40)))
    base = dict(job_name="one", map_function="tests.jobs_for_tests:count_words", reduce_function="sum",
                input_files=[str(tmp_path / "in.txt")], output_dir=str(tmp_path / "out"), work_dir=str(tmp_path / "work"),
                split_size_mb=1)
    changed = {k: v.format(tmp=tmp_path) if isinstance(v, str) else v for k, v in changes.items()}
    before, after = make_plan(JobConfig(**base)), make_plan(JobConfig(**{**base, **changed}))
    assert before.job_id != after.job_id
    assert identity_difference(before.identity, after.identity) == named
    assert identity_difference(after.identity, before.identity) == named


def test_an_edited_module_of_the_job_changes_its_id_and_is_named(tmp_path, monkeypatch):
    from mr_luigi import JobConfig
    from mr_luigi.engine.plan import make_plan

    (tmp_path / "in.txt").write_text("a b\n")
    (tmp_path / "mine").mkdir()
    module = tmp_path / "mine" / "edited_job.py"
    module.write_text("def count(line):\n    return [(w, 1) for w in line.split()]\n")
    monkeypatch.syspath_prepend(str(tmp_path / "mine"))
    config = JobConfig(job_name="edited", map_function="edited_job:count", reduce_function="sum",
                       input_files=[str(tmp_path / "in.txt")], output_dir=str(tmp_path / "out"))
    before = make_plan(config)
    module.write_text(module.read_text() + "\n\nLIMIT = 3  # an edit the function does not call\n")
    after = make_plan(config)
    assert before.job_id != after.job_id
    assert identity_difference(before.identity, after.identity) == "code: edited_job (source edited)"


def test_split_size_mb_is_in_mebibytes(tmp_path):
    """0.001 MB is 1,048 bytes (int(0.001 x 1024 x 1024)), and a piece of a file holds at most 1.25 of that (1,310
    bytes): a file of 5,241 bytes is five pieces of 1,049 bytes or so; one byte more per split would make it four."""
    from mr_luigi import JobConfig
    from mr_luigi.engine.plan import make_plan

    path = tmp_path / "in.txt"
    path.write_bytes(b"x" * 5240 + b"\n")
    plan = make_plan(JobConfig(job_name="mib", map_function="tests.jobs_for_tests:count_words", reduce_function="sum",
                               input_files=[str(path)], output_dir=str(tmp_path / "out"), split_size_mb=0.001))
    assert [(s.start, s.end) for split in plan.splits for s in split.segments] == \
        [(0, 1049), (1049, 2098), (2098, 3147), (3147, 4196), (4196, 5241)]


def test_a_plans_warnings_are_logged_when_a_process_first_plans_the_job_and_only_then(tmp_path, monkeypatch, caplog):
    import logging

    from mr_luigi import JobConfig
    from mr_luigi.engine import plan as planning

    (tmp_path / "in.txt").write_text("a b\n" * 100)
    monkeypatch.setattr(planning, "PARTITION_WARN_BYTES", 100)  # 400 bytes in 2 partitions: "huge" at this bound
    monkeypatch.setattr(planning, "_plans", type(planning._plans)())
    config = JobConfig(job_name="warned", map_function="tests.jobs_for_tests:count_words", reduce_function="sum",
                       input_files=[str(tmp_path / "in.txt")], output_dir=str(tmp_path / "out"), num_reduce_tasks=2)
    with caplog.at_level(logging.WARNING, logger="luigi-interface.mr_luigi"):
        planning.make_plan(config)
        first = [r.getMessage() for r in caplog.records]
        planning.make_plan(config)
    assert len(first) == 1 and first[0].startswith("warned: warning: num_reduce_tasks = 2: each reduce would sort about")
    assert [r.getMessage() for r in caplog.records] == first


def test_an_output_is_published_in_the_output_folder(tmp_path):
    from mr_luigi import JobConfig
    from mr_luigi.engine.plan import make_plan

    (tmp_path / "in.txt").write_text("a b\n")
    plan = make_plan(JobConfig(job_name="here", map_function="tests.jobs_for_tests:count_words", reduce_function="sum",
                               input_files=[str(tmp_path / "in.txt")], output_dir=str(tmp_path / "out")))
    assert plan.published("_bad_records") == str(tmp_path / "out" / "_bad_records")
