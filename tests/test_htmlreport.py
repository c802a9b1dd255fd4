"""_report.html: a self-contained page with a bar per task and per partition, and a skew warning."""

from __future__ import annotations

import json
import math
import re
import statistics
from html.parser import HTMLParser
from pathlib import Path

from mr_luigi import JobConfig, MapReduceScheduler
from tests import jobs_for_tests as jobs


class Elements(HTMLParser):
    """Collects the tags of a page with their attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def run(tmp_path: Path, name: str, **changes) -> tuple[dict, str]:
    path = tmp_path / "in.txt"
    if not path.exists():
        path.write_text("".join(f"w{i % 400} x{i % 9} <b>&amp;</b>\n" for i in range(4000)))
    values = dict(job_name="report", map_function=jobs.count_words, reduce_function=jobs.total, combine_function=jobs.total,
                  input_files=[str(path)], output_dir=str(tmp_path / name), num_reduce_tasks=4, max_retries=0,
                  split_size_mb=0.02)
    values.update(changes)
    assert MapReduceScheduler(2).execute_job(JobConfig(**values))
    out = tmp_path / name
    return json.loads((out / "_SUCCESS").read_text()), (out / "_report.html").read_text(encoding="utf-8")


def test_the_timeline_has_one_bar_per_task_and_the_charts_one_per_partition(tmp_path):
    manifest, page = run(tmp_path, "out")
    parser = Elements()
    parser.feed(page)
    bars = [a for tag, a in parser.tags if tag == "rect" and "task" in a.get("class", "").split()]
    assert sorted(a["data-task"] for a in bars) == sorted(t["task"] for t in manifest["tasks"])
    assert {a["class"].split()[1] for a in bars} == {"map", "shuffle", "reduce"}
    partitions = [a for tag, a in parser.tags if tag == "rect" and a.get("class") == "partition"]
    assert len(partitions) == 2 * 4, "records and bytes, one bar per partition each"
    assert "Skew" not in page
    for name, value in manifest["counters"]["mr_luigi"].items():
        assert re.search(rf"<td>{name}</td><td>{value:,}</td>", page), name
    # and what those counters must be, from the input the test wrote: 4,000 lines of
    # "w<i % 400> x<i % 9> <b>&amp;</b>", so 5 words a line ("w..", "x..", "b", "amp", "b")
    # and 400 + 9 + 2 distinct words
    for name, value in (("input_records", 4000), ("map_output_records", 20_000), ("output_records", 411)):
        assert re.search(rf"<td>{name}</td><td>{value:,}</td>", page), name


def test_the_page_needs_no_network_and_no_script(tmp_path):
    _, page = run(tmp_path, "out", map_function=jobs.tagged_words)
    page = page.replace('href="_bad_records/"', "")  # the one link: to a folder beside the page
    assert not re.search(r"""(src|href)\s*=|<script|<link|url\(|@import""", page, re.I)
    assert page.startswith("<!DOCTYPE html>")


class Texts(HTMLParser):
    """The text of each <text> element of a page, with its class."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[tuple[str, str]] = []
        self._class: str | None = None

    def handle_starttag(self, tag, attrs):
        self._class = dict(attrs).get("class", "") if tag == "text" else None

    def handle_data(self, data):
        if self._class is not None:
            self.texts.append((self._class, data))
            self._class = None


def test_each_partition_bar_shows_its_value(tmp_path):
    manifest, page = run(tmp_path, "out")
    parser = Texts()
    parser.feed(page)
    values = [text for cls, text in parser.texts if cls == "value"]
    shuffles = sorted((t for t in manifest["tasks"] if t["phase"] == "shuffle"), key=lambda t: int(t["task"].split()[-1].split("/")[0]))
    records = [t["shuffle_output_records"] for t in shuffles]
    assert all(r < 1000 for r in records), "the test's partitions hold fewer than 1,000 records: shown as they are"
    assert values[:4] == [str(r) for r in records]
    assert all(re.fullmatch(r"\d+(\.\d+)? ?(B|kB|MB)", v) for v in values[4:]), values[4:]


def test_the_timeline_has_a_time_axis_with_even_ticks(tmp_path):
    manifest, page = run(tmp_path, "out")
    parser = Texts()
    parser.feed(page)
    ticks = [float(text.removesuffix(" s")) for cls, text in parser.texts if cls == "tick"]
    span = max(t["end"] for t in manifest["tasks"]) - manifest["start_time"]
    assert 3 <= len(ticks) <= 11 and ticks[0] == 0 and ticks[-1] <= span + 1e-6
    steps = {round(b - a, 9) for a, b in zip(ticks, ticks[1:])}
    assert len(steps) == 1
    (step,) = steps
    assert re.fullmatch(r"(1|2|5)(0*|\.0*)", f"{step / 10 ** math.floor(math.log10(step)):g}"), step


def test_bad_records_are_linked_when_there_are_some(tmp_path):
    manifest, page = run(tmp_path, "bad", map_function=jobs.tagged_words, max_bad_records=100)
    assert manifest["bad_records"]["total"] == 0 and "_bad_records/" not in page
    (tmp_path / "in.txt").write_text("".join(f"w{i} {'BAD' if i % 50 == 0 else ''}\n" for i in range(1000)))
    manifest, page = run(tmp_path, "bad2", map_function=jobs.tagged_words, max_bad_records=100)
    assert manifest["bad_records"]["total"] == 20
    assert re.search(r'20 bad record\(s\) were set aside: see <a href="_bad_records/">_bad_records/</a>', page)


def test_a_skewed_partition_is_flagged(tmp_path):
    manifest, page = run(tmp_path, "skewed", partitioner=jobs.first_letter_partitioner, combine_function=None)
    sizes = sorted((t for t in manifest["tasks"] if t["phase"] == "shuffle"), key=lambda t: t["task"])
    records = [t["shuffle_output_records"] for t in sizes]
    assert max(records) > 2 * statistics.median(records), "the test's input must be skewed"
    assert 'class="warning skew"' in page


def test_worker_slots_show_the_parallelism():
    from mr_luigi.engine.htmlreport import worker_slots

    tasks = [{"start": 0, "end": 2}, {"start": 0.5, "end": 1}, {"start": 1.2, "end": 3}, {"start": 2.5, "end": 4}, {"start": 3, "end": 5}]
    assert worker_slots(tasks) == [0, 1, 1, 0, 1]
