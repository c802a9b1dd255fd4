"""The task graph: shape, edge count and atomic completion."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import luigi
import pytest

from mr_luigi import JobConfig
from mr_luigi.io.atomic import atomic_directory, atomic_file, is_temporary, publish_file
from mr_luigi.api.job import Job
from mr_luigi.engine.plan import make_plan
from mr_luigi.engine.tasks import MapBarrier, MapTask, ReduceTask, ShuffleTask
from tests import jobs_for_tests as jobs


def _plan(tmp_path: Path, files: int = 12, partitions: int = 5):
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(files):
        (folder / f"f{i:02d}.txt").write_text("word " * 200 + "\n")
    config = JobConfig(
        job_name="shape",
        map_function=jobs.count_words,
        reduce_function=jobs.total,
        input_files=[str(folder)],
        output_dir=str(tmp_path / "out"),
        num_reduce_tasks=partitions,
        split_size_mb=0.002,  # about 2 files per split
    )
    return make_plan(config)


def _edges(root: luigi.Task) -> set[tuple[str, str]]:
    edges, todo, seen = set(), [root], set()
    while todo:
        task = todo.pop()
        if task.task_id in seen:
            continue
        seen.add(task.task_id)
        for dep in task.deps():
            edges.add((task.task_id, dep.task_id))
            todo.append(dep)
    return edges


def test_graph_has_a_barrier_not_m_by_r_edges(tmp_path):
    plan = _plan(tmp_path)
    maps = plan.num_maps
    assert maps == 6  # 12 files of 1 KB, 2 KB splits
    root = Job.of(plan)
    # job -> 5 reduces, each reduce -> its shuffle, each shuffle -> the barrier, the barrier -> 6 maps
    assert len(_edges(root)) == 5 + 5 + 5 + 6
    (dep,) = luigi.task.flatten(ShuffleTask.of(plan, partition=0).requires())
    assert isinstance(dep, MapBarrier)
    assert {t.index for t in dep.requires()} == set(range(maps))
    assert ReduceTask.of(plan, partition=2).requires() == ShuffleTask.of(plan, partition=2)


def test_task_ids_name_the_job_and_are_stable(tmp_path):
    plan = _plan(tmp_path)
    again = make_plan(plan.config)
    assert again.job_id == plan.job_id and again.job_id.startswith("shape-")
    assert MapTask.of(plan, index=3).task_id == MapTask.of(again, index=3).task_id
    assert plan.job_id in str(MapTask.of(plan, index=3))


def test_retry_count_follows_max_retries(tmp_path):
    """Luigi's retry_count is how many failures disable a task: max_retries = 2 means 3 attempts."""
    plan = make_plan(dataclasses.replace(_plan(tmp_path).config, max_retries=2))
    for task in (MapTask.of(plan, index=0), MapBarrier.of(plan), ShuffleTask.of(plan, partition=1),
                 ReduceTask.of(plan, partition=1), Job.of(plan)):
        assert task.retry_count == 3, task


def test_a_task_with_only_a_temporary_folder_is_incomplete(tmp_path):
    plan = _plan(tmp_path)
    task = MapTask.of(plan, index=0)
    with pytest.raises(RuntimeError):
        with atomic_directory(task.output_dir()) as tmp:
            (tmp / "data").write_bytes(b"half")
            assert is_temporary(tmp.name)
            assert not task.complete()
            raise RuntimeError("killed")
    assert not task.complete()
    assert not list(task.output_dir().parent.iterdir())


def test_atomic_file_keeps_the_old_file_on_failure(tmp_path):
    path = tmp_path / "result.txt"
    path.write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_file(path) as tmp:
            tmp.write_text("new but unfinished")
            raise KeyboardInterrupt
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["result.txt"]
    with atomic_file(path) as tmp:
        tmp.write_text("new")
    assert path.read_text() == "new"


def test_publishing_a_file_again_leaves_no_temporary_link(tmp_path):
    source = tmp_path / "work" / "part-00000"
    source.parent.mkdir()
    source.write_text("a\t1\n")
    dest = tmp_path / "out" / "part-00000"
    publish_file(source, dest)
    publish_file(source, dest)  # a re-run after a kill publishes the same file again
    assert dest.read_text() == "a\t1\n"
    assert [p.name for p in dest.parent.iterdir()] == ["part-00000"]
    source.unlink()
    source.write_text("b\t2\n")  # a different file replaces the old one
    publish_file(source, dest)
    assert dest.read_text() == "b\t2\n"
    assert [p.name for p in dest.parent.iterdir()] == ["part-00000"]


def test_a_publish_that_fails_half_way_leaves_nothing_under_the_final_name(tmp_path, monkeypatch):
    """A disk that fills (or a kill) in the middle of a copy: the final name never holds a partial file."""
    import shutil

    source = tmp_path / "work" / "part-00000"
    source.parent.mkdir()
    source.write_bytes(b"k\t1\n" * 10_000)
    dest = tmp_path / "out" / "part-00000"

    def copy_half_then_fail(src, dst, **_):
        with open(src, "rb") as fh, open(dst, "wb") as out:
            out.write(fh.read(1000))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(shutil, "copyfile", copy_half_then_fail)
    with pytest.raises(OSError):
        publish_file(source, dest)
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []


def test_retry_count_of_a_command_line_job_follows_its_max_retries(tmp_path):
    """ConfigFileJob has a --max-retries parameter of its own: the final step's attempts still come from the config."""
    from pipelines.word_count import WordCount

    (tmp_path / "in.txt").write_text("a b\n")
    job = WordCount(input_path=str(tmp_path / "in.txt"), output_dir=str(tmp_path / "out"), max_retries=4)
    job.complete()  # plans it
    assert job.retry_count == 5
