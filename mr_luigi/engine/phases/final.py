"""The final step: publish a job's outputs, write its manifest, remove its intermediates.

It runs as the job's root task (:class:`mr_luigi.MapReduceJob`), as one
logged attempt with its fault hooks. Outputs are part files and
``final_output.txt`` (or the named outputs) and ``_bad_records/``, each
published atomically and listed in the output folder's journal first, and
``_SUCCESS`` is written last.
"""

from __future__ import annotations

import logging
import re
import shutil
import time
from itertools import chain, groupby, islice
from pathlib import Path
from typing import Any, Callable, Iterator

from mr_luigi.engine import attempts, quarantine, report, workstore
from mr_luigi.engine.attempts import attempt_of
from mr_luigi.engine.phases.reduce import FINAL_HOOK_LINES, KEYS_FILE
from mr_luigi.engine.plan import JobPlan, identity_difference, part_name
from mr_luigi.engine.quarantine import folder_of as quarantine_folder
from mr_luigi.engine.stats import check_bad_records
from mr_luigi.errors import ConfigError, OutputTaken, StorageError
from mr_luigi.io import atomic, publish
from mr_luigi.io.merge import checked_merge
from mr_luigi.io.publish import Journal
from mr_luigi.io.records import BUFFER_SIZE, read_run
from mr_luigi.io.seal import Seal

logger = logging.getLogger("luigi-interface.mr_luigi")


FINAL_OUTPUT = "final_output.txt"


_PART_NAME = re.compile(r"part-(\d{5})")
#: In-mapper combining folds a key's buffered values once this many are held.


def write_final_outputs(plan: JobPlan, journal: Journal, inject: Callable[[str], None] = lambda point: None) -> tuple[int, list[str]]:
    """Publish the job's results, in key order; return the line count and output names.

    By default: the part files and final_output.txt, every key once. With
    named outputs: one ``<name>.txt`` per name, each in key order. Each name
    goes to the ``journal`` before its file is written (see
    :mod:`mr_luigi.io.publish`). ``inject`` is the fault hook (see
    :mod:`mr_luigi.engine.faults`), called half way.
    """
    out = plan.output_dir
    out.mkdir(parents=True, exist_ok=True)
    if plan.map_only:
        return _write_map_only_outputs(plan, journal, inject)
    _remove_stale_outputs(out, plan.num_partitions)
    parts = [plan.reduce_output_dir(p) for p in range(plan.num_partitions)]
    streams = [_keyed_lines(folder, p, plan.seal) for p, folder in enumerate(parts)]

    def heads() -> list[Any]:
        return [next(read_run(folder / KEYS_FILE, seal=plan.seal), None) for folder in parts]

    merged = checked_merge(streams, heads)
    if plan.config.named_outputs:
        return _write_named_outputs(out, merged, journal, inject)
    for p, folder in enumerate(parts):
        if p == 1:
            inject("parts")
        journal.add(part_name(p))
        _publish_part(folder, part_name(p), out)
    inject("middle")
    journal.add(FINAL_OUTPUT)
    hook_lines = [folder / FINAL_HOOK_LINES for folder in parts if (folder / FINAL_HOOK_LINES).exists()]
    lines = _write_lines(out / FINAL_OUTPUT, chain(merged, ((None, line) for line in _lines_of(hook_lines))), inject)
    return lines, [part_name(p) for p in range(plan.num_partitions)] + [FINAL_OUTPUT]


def _publish_part(folder: Path, name: str, out: Path) -> None:
    """Publish a reduce's part file: its lines, then its ``reduce_final`` hook's lines if it has any."""
    hook_lines = folder / FINAL_HOOK_LINES
    if not hook_lines.exists():
        atomic.publish_file(folder / name, out / name)
        return
    with atomic.atomic_file(out / name) as tmp, open(tmp, "wb") as dest:
        for source in (folder / name, hook_lines):
            with open(source, "rb") as fh:
                shutil.copyfileobj(fh, dest)


def _write_map_only_outputs(plan: JobPlan, journal: Journal, inject: Callable[[str], None]) -> tuple[int, list[str]]:
    """A map-only job's outputs: each map's part file, and their lines in input order in ``final_output.txt``."""
    out = plan.output_dir
    _remove_stale_outputs(out, plan.num_maps)
    parts = [plan.map_dir(i) / part_name(i) for i in range(plan.num_maps)]
    for i, part in enumerate(parts):
        if i == 1:
            inject("parts")
        journal.add(part.name)
        atomic.publish_file(part, out / part.name)
    inject("middle")
    journal.add(FINAL_OUTPUT)
    lines = _write_lines(out / FINAL_OUTPUT, ((None, line) for line in _lines_of(parts)), inject)
    return lines, [part.name for part in parts] + [FINAL_OUTPUT]


def _lines_of(paths: list[Path]) -> Iterator[str]:
    for path in paths:
        with open(path, encoding="utf-8", newline="\n", buffering=BUFFER_SIZE) as fh:
            yield from fh


def _write_lines(path: Path, keyed_lines: Iterator[tuple[Any, str]], inject: Callable[[str], None]) -> int:
    """Write the lines to ``path`` atomically; return their count.

    The fault hook's ``writing`` point comes after the first line, with the
    file half written under its temporary name.
    """
    lines = 0
    with atomic.atomic_file(path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n", buffering=BUFFER_SIZE) as fh:
        for _, line in islice(keyed_lines, 1):
            fh.write(line)
            lines += 1
        fh.flush()
        inject("writing")
        for _, line in keyed_lines:
            fh.write(line)
            lines += 1
    return lines


def _no_fault(point: str) -> None:
    """The fault hook once its point has passed."""


def _write_named_outputs(out: Path, merged: Iterator[tuple[Any, str]], journal: Journal, inject: Callable[[str], None]) -> tuple[int, list[str]]:
    """Write each name's lines (contiguous in the merged order) to ``<name>.txt``, atomically."""
    names: list[str] = []
    lines = 0
    for name, group in groupby(merged, key=lambda record: record[0][0]):
        path = out / f"{name}.txt"
        if path.name in names:  # the partitions' lines were not in (name, key) order: never write a name twice
            raise StorageError(f"the reduce outputs are out of order: the lines of named output {name!r} are not together")
        journal.add(path.name)
        lines += _write_lines(path, group, inject if not names else _no_fault)
        names.append(path.name)
        inject("middle")
    return lines, names


def publish_bad_records(plan: JobPlan, journal: Journal) -> None:
    """Publish the tasks' bad records to ``<output_dir>/_bad_records/``, as one folder (none if there were none)."""
    target = quarantine_folder(plan.output_dir)
    steps = plan.steps()
    found = [(f"step{n}-" if len(steps) > 1 else "", path) for n, step in enumerate(steps, 1) if step.quarantine_dir.is_dir()
             for path in sorted(step.quarantine_dir.glob("*.jsonl"))]
    journal.add(target.name)
    if target.exists():
        shutil.rmtree(target)
    if not found:
        return
    with atomic.atomic_directory(target) as tmp:
        for prefix, path in found:  # a multi-step job's: step1-map-00000.jsonl, step2-reduce-00001.jsonl, ...
            shutil.copyfile(path, tmp / f"{prefix}{path.name}")


def _remove_stale_outputs(out: Path, num_partitions: int) -> None:
    """Remove part files beyond this job's partitions and leftovers of killed writes.

    An unfinished earlier run with more partitions may have left them; only
    names this engine writes are touched.
    """
    for path in out.iterdir():
        match = _PART_NAME.fullmatch(path.name)
        if (match and int(match.group(1)) >= num_partitions) or (path.is_file() and atomic.is_temporary(path.name)):
            path.unlink()
        elif path.is_dir() and atomic.is_temporary(path.name):
            shutil.rmtree(path, ignore_errors=True)


def _keyed_lines(folder: Path, partition: int, seal: Seal | None) -> Iterator[tuple[Any, str]]:
    """A reduce output's lines, each with its key from the keys file the reducer wrote beside it."""
    path = folder / part_name(partition)
    with open(path, encoding="utf-8", newline="\n", buffering=BUFFER_SIZE) as fh:
        try:
            yield from zip(read_run(folder / KEYS_FILE, seal=seal), fh, strict=True)
        except ValueError:  # zip's when one runs out first; counted again to tell it from a bad keys file
            _check_one_key_per_line(path, folder / KEYS_FILE, seal)
            raise


def _check_one_key_per_line(path: Path, keys_path: Path, seal: Seal | None) -> None:
    """Fail, naming the file, when a reduce output's part file and keys file count differently.

    The reducer writes one key per line, so they differ only when the part file was
    changed after the reduce published it: its lines could no longer be put in key order.
    """
    with open(path, "rb") as fh:
        lines = sum(1 for _ in fh)
    keys = sum(1 for _ in read_run(keys_path, seal=seal))
    if lines != keys:
        raise StorageError(f"{path} does not match its keys file ({lines:,} lines, {keys:,} keys): it was changed "
                           f"after the reduce wrote it; remove {path.parent} and run the job again to reduce anew")


def run_final_step(plan: JobPlan, replaces: str | None = None) -> dict[str, Any]:
    """The job's last task, as one logged attempt (with its fault hooks).

    ``replaces`` is the job id of the results in the output folder when the
    job was started (see :func:`check_previous_results`), which it replaces.

    Another worker may finish the same job first (two root tasks of one job,
    say ``mr-luigi run`` on one host and ``luigi --module`` on another): its
    manifest then stands, and this step succeeds without redoing it. (The
    output folder's lock makes that the usual case; a folder on a filesystem
    without working locks can still see the other worker's step remove the
    intermediates this one reads.)
    """
    finished = _finished_manifest(plan)
    if finished is None:
        with attempt_of(plan, FINAL_TASK, "final", 0) as (_, inject):
            try:
                return finish_job(plan, inject, replaces)
            except OSError as exc:
                finished = _finished_manifest(plan)  # it removed the intermediates this step was reading
                if finished is None:
                    raise StorageError(f"{plan.name} final step: file error: {exc}") from exc
    logger.info("%s: another worker finished this job", plan.name)
    return finished


def _finished_manifest(plan: JobPlan) -> dict[str, Any] | None:
    return report.finished_manifest(plan)


FINAL_TASK = "final"


def finish_job(plan: JobPlan, inject: Callable[[str], None] = lambda point: None, replaces: str | None = None) -> dict[str, Any]:
    """The final step: publish outputs, write the manifest, remove intermediates.

    It holds the output folder's lock while it publishes (see
    :mod:`mr_luigi.io.publish`): a folder that another job's results took
    meanwhile fails this job; this job's own ``_SUCCESS`` means another
    worker finished it. The manifest is written last, after every output it
    lists: until it is there, the job is incomplete and a re-run does this
    step again.
    """
    started = time.time()
    with publish.output_lock(plan.output_dir):
        finished = _finished_manifest(plan)
        if finished is not None:
            return finished
        replaced = check_output_free(plan, replaces)
        for step in plan.steps():  # with the work folder on a store: what the other hosts' tasks wrote
            store = workstore.of(step)
            if store is not None:
                store.get_for_final()
        tasks = []
        for step in plan.steps():  # each step's bad records against the limit (its barrier checked its maps)
            step_tasks = report.collect_task_stats(step)
            check_bad_records(step, step_tasks)
            tasks += step_tasks
        journal = publish.Journal(plan.output_dir, plan.job_id)
        undone = journal.undo_interrupted()
        if undone:
            logger.info("%s: removed %d output(s) of an interrupted publish: %s", plan.name, len(undone), ", ".join(undone))
        if replaced is not None:
            _remove_replaced(plan, replaced, journal)
        final_lines, outputs = write_final_outputs(plan, journal, inject)
        publish_bad_records(plan, journal)
        manifest = report.build_manifest(plan, tasks, final_lines, outputs, started, _attempts_of_steps(plan))
        journal.add(report.HTML_REPORT)
        report.write_html_report(plan.output_dir / report.HTML_REPORT, manifest)
        inject("commit")
        report.write_manifest(plan.success_path, manifest)
        journal.close()
        if plan.resolved.output_url is not None:
            _publish_to_store(plan, outputs, replaced)
    if plan.resolved.output_url is not None:
        shutil.rmtree(plan.output_dir, ignore_errors=True)  # the staging folder: the results are on the store
    for step in plan.steps():
        if plan.config.keep_intermediate:
            remove_leftovers(step.job_dir)
        else:
            remove_intermediates(step)
    logger.info(report.summary(manifest, plan.output_location))
    return manifest


def _publish_to_store(plan: JobPlan, outputs: list[str], replaced: dict[str, Any] | None) -> None:
    """Put the staged results to the ``s3://`` output_dir, ``_SUCCESS`` last (see :func:`publish.publish_to_store`)."""
    assert plan.resolved.output_url is not None and plan.resolved.store is not None
    names = [*outputs, *([quarantine.FOLDER] if (plan.output_dir / quarantine.FOLDER).is_dir() else []), report.HTML_REPORT]
    earlier = [*(replaced or {}).get("outputs", []), quarantine.FOLDER, report.HTML_REPORT]
    publish.publish_to_store(plan.output_dir, plan.resolved.output_url, plan.resolved.store, names, earlier)


def _attempts_of_steps(plan: JobPlan) -> dict[str, Any]:
    """The attempts of every task of the job; a multi-step job's task names start with their step (``step1/map-00000``)."""
    steps = plan.steps()
    if len(steps) == 1:
        return attempts.summary(plan.job_dir, running=FINAL_TASK)
    merged: dict[str, Any] = {"per_task": {}, "unsuccessful": []}
    for n, step in enumerate(steps, 1):
        found = attempts.summary(step.job_dir, running=FINAL_TASK if step is plan else None)
        merged["per_task"].update({f"step{n}/{task}": count for task, count in found["per_task"].items()})
        merged["unsuccessful"] += [{**problem, "task": f"step{n}/{problem['task']}"} for problem in found["unsuccessful"]]
    return merged


def remove_leftovers(folder: Path) -> None:
    """Delete what killed attempts left in a kept work folder (``*-luigi-tmp-*``)."""
    for path in sorted(folder.rglob(f"*{atomic.TMP_MARKER}*"), reverse=True):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def check_previous_results(plan: JobPlan, force: bool = False) -> str | None:
    """Look at the results already in the output folder when the job is started; return the job id it replaces.

    Another job's (another ``job_name``) are refused, unless ``force`` (the
    user asked by name: ``mr-luigi run --force``). An earlier run of this
    job (the same name, other code, inputs or settings) is replaced when
    this one publishes: a re-run after an edit gives the new result.
    """
    manifest = _other_jobs_manifest(plan)
    if manifest is None:
        return None
    if manifest.get("job_name") != plan.name and not force:
        raise ConfigError("output_dir", _taken_message(plan, manifest))
    if plan.job_id not in _announced_replacements:
        _announced_replacements.add(plan.job_id)
        logger.warning("%s: %s holds an earlier run's results (%s; it differs in %s); this run replaces them when it "
                       "finishes", plan.name, plan.output_dir, manifest.get("job_id"), _difference(plan, manifest))
    return str(manifest.get("job_id"))


_announced_replacements: set[str] = set()


def check_output_free(plan: JobPlan, replaces: str | None) -> dict[str, Any] | None:
    """At the final step: the manifest of the earlier results this job replaces, if any.

    Only the results that were there when the job was started are replaced;
    results another job published since fail this one: two jobs aimed at one
    folder at once never both succeed.
    """
    manifest = _other_jobs_manifest(plan)
    if manifest is None:
        return None
    if replaces is None or manifest.get("job_id") != replaces:
        raise OutputTaken(_taken_message(plan, manifest, since=True))
    return manifest


def _other_jobs_manifest(plan: JobPlan) -> dict[str, Any] | None:
    """The manifest in the job's output folder if it is another job's (or another run's), else None."""
    manifest = report.published_manifest(plan)
    return None if manifest is None or manifest.get("job_id") == plan.job_id else manifest


def _difference(plan: JobPlan, manifest: dict[str, Any]) -> str:
    differs = identity_difference(manifest.get("identity", {}), plan.identity) if "identity" in manifest else ""
    return differs or "config, code or inputs"


def _taken_message(plan: JobPlan, manifest: dict[str, Any], since: bool = False) -> str:
    when = ", published while this job ran" if since else ""
    return (f"{str(plan.output_dir)!r} holds the results of another job ({manifest.get('job_id')}{when}; they differ in "
            f"{_difference(plan, manifest)}), not of this one ({plan.job_id}): remove that folder or choose another output_dir"
            + ("" if since else " (mr-luigi run --force replaces them)"))


def _remove_replaced(plan: JobPlan, manifest: dict[str, Any], journal: publish.Journal) -> None:
    """Remove an earlier run's results (listed in the journal first, so that an interruption is undone)."""
    names = [*manifest.get("outputs", []), quarantine.FOLDER, report.HTML_REPORT]
    for name in names:
        journal.add(name)
    plan.success_path.unlink(missing_ok=True)
    journal.undo_interrupted()
    logger.info("%s: replaced the results of the earlier run %s", plan.name, manifest.get("job_id"))


def remove_intermediates(plan: JobPlan) -> None:
    """Delete the job's work folder (and its objects, on a store), and the work dir itself when it is left empty."""
    store = workstore.of(plan)
    if store is not None:
        store.remove_job()
    shutil.rmtree(plan.job_dir, ignore_errors=True)
    try:
        plan.resolved.work_dir.rmdir()
    except OSError:
        pass
