"""Progress in Luigi's UI: throttled reports while tasks run, 100% and a summary when done."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import luigi
import pytest

from mr_luigi import JobConfig
from mr_luigi.engine import progress
from mr_luigi.engine.phases import map as map_phase
from mr_luigi.api.job import Job
from mr_luigi.engine.plan import make_plan
from mr_luigi.engine.progress import Progress
from tests import jobs_for_tests as jobs


class FakeTask:
    """Records what a task reports, as Luigi's worker would forward it."""

    def __init__(self) -> None:
        self.percentages: list[int] = []
        self.messages: list[str] = []

    def set_progress_percentage(self, value: int) -> None:
        self.percentages.append(value)

    def set_status_message(self, message: str) -> None:
        self.messages.append(message)


def test_reports_are_throttled_to_one_a_second(monkeypatch):
    """On a clock of the test's own, so that how fast this machine is today does not matter."""
    now = [100.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: now[0])
    task = FakeTask()
    report = Progress(task, "job map 0/1", 1000, "records")
    for done in range(0, 1000, 10):  # 32 reports a second (1/32 s is exact in binary): one a second gets through
        report(done)
        now[0] += 1 / 32
    report(1000, final=True)  # the last always does
    assert task.percentages == [0, 32, 64, 96, 100]
    assert task.messages[1] == "32% · 320 of 1,000 records\njob map 0/1"  # a short first line: the popup's title
    assert task.messages[-1] == "100% · 1,000 of 1,000 records\njob map 0/1"


def test_a_map_reports_bytes_lines_and_spills_as_it_goes(tmp_path, monkeypatch):
    monkeypatch.setattr(progress, "INTERVAL", 0.0)
    path = tmp_path / "in.txt"
    path.write_text("".join(f"word{i % 500} other{i % 7}\n" for i in range(60_000)))
    plan = make_plan(JobConfig(job_name="p", map_function=jobs.count_words, reduce_function=jobs.total,
                               input_files=[str(path)], output_dir=str(tmp_path / "out"), split_size_mb=10))
    task = FakeTask()
    map_phase.run_map(plan, 0, Path(tempfile.mkdtemp(dir=tmp_path)), Progress(task, "p map 0/1", plan.splits[0].size, "MB"))
    assert len(task.messages) >= 3, "a 60,000-line map checks in every 20,000 lines at the latest"
    read = [float(re.search(r"([\d.]+) of [\d.]+ MB read", m).group(1)) for m in task.messages]
    assert read == sorted(read) and all("lines" in m and "spills" in m for m in task.messages)
    assert all(0 <= p <= 99 for p in task.percentages)


def test_every_task_ends_done_at_100_percent_with_a_summary(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("".join(f"alpha beta {i % 13}\n" for i in range(3000)))
    config = JobConfig(job_name="ui", map_function=jobs.count_words, reduce_function=jobs.total, combine_function=jobs.total,
                       input_files=[str(path)], output_dir=str(tmp_path / "out"), split_size_mb=0.01, num_reduce_tasks=2)
    result = luigi.build([Job.of(make_plan(config))], local_scheduler=True, detailed_summary=True, log_level="WARNING")
    assert result.status.name == "SUCCESS"
    tasks = result.worker._scheduler.task_list("DONE", "")
    phase_tasks = {tid: t for tid, t in tasks.items() if re.match(r"mr_luigi\.(Map|Shuffle|Reduce)Task", tid)}
    assert len(phase_tasks) == len([p for p in tasks if "Task_" in p and "Barrier" not in p]) > 4
    for tid, t in phase_tasks.items():
        assert t["progress_percentage"] == 100, tid
        assert re.fullmatch(r"done in [\d.]+s\nui (map|shuffle|reduce) \d+/\d+\n[\d,]+ \w.*", t["status_message"]), \
            t["status_message"]


def test_a_shuffle_and_a_reduce_report_the_records_they_merge_and_reduce_and_their_statistics(tmp_path, monkeypatch):
    """A job of two maps (one run each) and one partition, its intermediates kept; its shuffle and reduce run again
    here with a progress of their own. Each run holds one record per distinct word (a map groups a key's values),
    counted here, and nothing combines the two runs' records: the shuffle merges, and the reduce reads, twice that
    many (99 %: a task says 100 % when it is done)."""
    from mr_luigi import MapReduceScheduler
    from mr_luigi.engine.phases import reduce as reduce_phase
    from mr_luigi.engine.phases import shuffle as shuffle_phase

    paths = [tmp_path / "a.txt", tmp_path / "b.txt"]
    for path in paths:
        path.write_text("".join(f"word{i % 500} other{i % 7}\n" for i in range(6_000)))
    distinct = len({w for line in paths[0].read_text().splitlines() for w in line.split()})
    config = JobConfig(job_name="p", map_function=jobs.count_words, reduce_function=jobs.total,
                       input_files=[str(p) for p in paths], output_dir=str(tmp_path / "out"), split_size_mb=0.1,
                       num_reduce_tasks=1, keep_intermediate=True)
    assert MapReduceScheduler(1).execute_job(config)
    plan = make_plan(config)
    assert plan.num_maps == 2
    monkeypatch.setattr(progress, "INTERVAL", 0.0)
    task = FakeTask()
    out = Path(tempfile.mkdtemp(dir=tmp_path))
    stats = shuffle_phase.run_shuffle(plan, 0, out, Progress(task, "p shuffle 0/1", 0, ""))
    records = 2 * distinct
    assert task.messages == [f"99% · {records:,} of {records:,} records merged\np shuffle 0/1\n"
                             "2 runs, 0 earlier merge passes"]
    assert stats == {"map_pieces": 2, "merge_passes": 0, "merge_pass_records": 0, "merged_in_memory": True,
                     "shuffle_output_records": records, "shuffle_output_bytes": (out / shuffle_phase.SHUFFLE_DATA).stat().st_size}
    task = FakeTask()
    out = Path(tempfile.mkdtemp(dir=tmp_path))
    stats = reduce_phase.run_reduce(plan, 0, out, Progress(task, "p reduce 0/1", 0, ""))
    assert task.messages == [f"99% · {records:,} of {records:,} records reduced\np reduce 0/1"]
    part = out / "part-00000"
    assert stats == {"reduce_input_groups": distinct, "output_records": distinct, "output_bytes": part.stat().st_size,
                     "bad_records": 0}
    assert part.read_bytes().count(b"\n") == distinct


@pytest.mark.parametrize("mapper, combiner", [(jobs.count_words, None), (jobs.count_words, jobs.total),
                                             (jobs.lines_per_file_map, None)])
def test_a_maps_bytes_read_count_each_piece_of_its_split_once(tmp_path, mapper, combiner):
    """A split can hold the second half of a cut file (a segment that starts mid-file) and the small
    files after it: the bytes it reports read count each segment's own length, never past the split."""
    big = tmp_path / "a.txt"
    big.write_bytes(b"".join(b"line%05d\n" % i for i in range(260)))  # 2,600 bytes: cut in two halves
    smalls = []
    for f in range(20):
        small = tmp_path / f"b{f:02d}.txt"
        small.write_bytes(b"ab\n" * 10)
        smalls.append(small)
    plan = make_plan(JobConfig(job_name="p", map_function=mapper, reduce_function=jobs.total, combine_function=combiner,
                               input_files=[str(p) for p in (big, *smalls)], output_dir=str(tmp_path / "out"),
                               split_size_mb=2000 / 1024 / 1024))
    split = plan.splits[1]
    assert split.segments[0].start == 1300 and len(split.segments) == 21, split.segments
    reported: list[int] = []
    map_phase.run_map(plan, 1, Path(tempfile.mkdtemp(dir=tmp_path)), lambda done, detail="", final=False: reported.append(done))
    assert len(reported) >= 3, reported  # checked in the first half, and in the small files after it
    assert reported == sorted(reported) and reported[-1] <= split.size == 1300 + 20 * 30, reported
    assert any(0 < done < 1300 for done in reported) and any(done > 1300 for done in reported), reported
