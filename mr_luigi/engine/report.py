"""The job manifest (``_SUCCESS``) and the end-of-job summary.

The manifest is the record of a finished job: its config, inputs, tasks with
their durations and record counts, and totals. It is written last, so its
presence means every other output is complete; its ``job_id`` tells a re-run
whether the results in a folder are this job's.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from mr_luigi.engine import quarantine
from mr_luigi.engine.counters import FRAMEWORK_COUNTERS, format_counters, sum_counters
from mr_luigi.engine.htmlreport import render_report
from mr_luigi.engine.plan import JobPlan
from mr_luigi.engine.stats import read_stats
from mr_luigi.io import remote
from mr_luigi.io.atomic import atomic_file

#: Task statistics summed into the manifest's totals.
_TOTALS = (*FRAMEWORK_COUNTERS, "output_bytes")


def collect_task_stats(plan: JobPlan) -> list[dict[str, Any]]:
    """The statistics every task left beside its outputs, map tasks first."""
    folders = (
        [plan.map_dir(i) for i in range(plan.num_maps)]
        + [plan.reduce_input_dir(p) for p in range(plan.num_partitions)]
        + [plan.reduce_output_dir(p) for p in range(plan.num_partitions)]
    )
    return [read_stats(folder) for folder in folders]


def build_manifest(plan: JobPlan, tasks: list[dict[str, Any]], final_lines: int, outputs: list[str], finalize_start: float,
                   attempts: dict[str, Any] | None = None) -> dict[str, Any]:
    """The manifest of a finished job, as a JSON-ready dict."""
    steps = plan.steps()
    first = steps[0]
    totals = {name: sum(t.get(name, 0) for t in tasks) for name in _TOTALS}
    if len(steps) > 1:  # the job's input is the first step's; the other totals add up the steps'
        totals["input_records"] = sum(t.get("input_records", 0) for t in tasks if t.get("job_id") == first.job_id)
    phase_times: dict[str, list[float]] = {}
    for t in tasks:
        span = phase_times.setdefault(t["phase"], [t["start"], t["end"]])
        span[0], span[1] = min(span[0], t["start"]), max(span[1], t["end"])
    start = min((t["start"] for t in tasks), default=finalize_start)
    end = time.time()
    return {
        "job_name": plan.name,
        "job_id": plan.job_id,
        "status": "SUCCESS",
        "start_time": start,
        "end_time": end,
        "duration_s": round(end - start, 3),
        "config": _config_summary(plan),
        "inputs": [{"path": path, "bytes": int(stat[0])} for path, stat in first.input_stats.items()],
        "task_counts": {"map": sum(s.num_maps for s in steps), "shuffle": sum(s.num_partitions for s in steps),
                        "reduce": sum(s.num_partitions for s in steps)},
        **({"steps": [_step_summary(step, tasks) for step in steps]} if len(steps) > 1 else {}),
        "phases": {name: {"start": s, "end": e, "duration_s": round(e - s, 3)} for name, (s, e) in phase_times.items()},
        "totals": totals,
        "final_output_records": final_lines,
        "outputs": outputs,
        "counters": sum_counters(t.get("counters", {}) for t in tasks),
        "bad_records": {"total": totals["bad_records"], "folder": plan.published(quarantine.FOLDER)},
        "decode_errors": _decode_errors(plan, tasks),
        "identity": plan.identity,
        "tasks": [
            {
                **{k: v for k, v in t.items() if k not in ("runs", "counters")},
                "duration_s": round(t["end"] - t["start"], 3),
            }
            for t in tasks
        ],
        "attempts": attempts or {"per_task": {}, "unsuccessful": []},
        "finalize": {"start": finalize_start, "end": end, "duration_s": round(end - finalize_start, 3)},
    }


def _step_summary(step: JobPlan, tasks: list[dict[str, Any]]) -> dict[str, Any]:
    """One step of a multi-step job in the manifest: its id, functions and totals."""
    own = [t for t in tasks if t.get("job_id") == step.job_id]
    return {"job_name": step.name, "job_id": step.job_id, "functions": dict(step.resolved.function_refs),
            "task_counts": {"map": step.num_maps, "reduce": step.num_partitions},
            "totals": {name: sum(t.get(name, 0) for t in own) for name in _TOTALS}}


def _decode_errors(plan: JobPlan, tasks: list[dict[str, Any]]) -> dict[str, Any]:
    """Lines whose undecodable bytes were replaced (``decode_errors = "replace"``), and the first of them."""
    lines = sum(t.get("decode_errors", 0) for t in tasks)
    first = next((t["first_decode_error"] for t in tasks if t.get("first_decode_error")), None)
    decoding = plan.resolved.decoding
    return {"lines": lines, "first": first, "encoding": decoding.encoding, "mode": decoding.errors} if lines else {}


def _config_summary(plan: JobPlan) -> dict[str, Any]:
    config = plan.config
    return {
        "job_name": config.job_name,
        **plan.resolved.function_refs,
        "input_files": [str(p) for p in config.input_files] if not isinstance(config.input_files, str) else [config.input_files],
        "output_dir": plan.output_location,
        "work_dir": str(plan.resolved.work_dir),
        "num_reduce_tasks": config.num_reduce_tasks,
        "max_retries": config.max_retries,
        "keep_intermediate": config.keep_intermediate,
        "split_size_mb": config.split_size_mb,
        "map_memory_mb": config.map_memory_mb,
        "merge_fan_in": config.merge_fan_in,
        "max_bad_records": config.max_bad_records,
        "skip_exceptions": [f"{t.__module__}.{t.__qualname__}" for t in plan.resolved.skip_types],
        "encoding": plan.resolved.decoding.encoding,
        "decode_errors": plan.resolved.decoding.errors,
    }


def combined_manifest(job_name: str, manifests: list[dict[str, Any]], result_dir: Path | str) -> dict[str, Any]:
    """The steps of a multi-step job as one manifest-shaped record: what its ``_report.html`` shows.

    Tasks keep their own names (each starts with its step's job name), the
    phases span every step's tasks of that phase, counters are summed.
    """
    start = min(m["start_time"] for m in manifests)
    end = max(m["end_time"] for m in manifests)
    phases: dict[str, dict[str, float]] = {}
    for m in manifests:
        for name, span in m.get("phases", {}).items():
            merged = phases.setdefault(name, {"start": span["start"], "end": span["end"]})
            merged["start"], merged["end"] = min(merged["start"], span["start"]), max(merged["end"], span["end"])
    for span in phases.values():
        span["duration_s"] = round(span["end"] - span["start"], 3)
    return {
        "job_name": job_name,
        "job_id": ", ".join(m["job_id"] for m in manifests),
        "status": "SUCCESS",
        "start_time": start,
        "end_time": end,
        "duration_s": round(end - start, 3),
        "inputs": manifests[0].get("inputs", []),
        "tasks": [t for m in manifests for t in m.get("tasks", [])],
        "phases": phases,
        "counters": sum_counters(m.get("counters", {}) for m in manifests),
        "bad_records": {"total": sum(m.get("bad_records", {}).get("total", 0) for m in manifests),
                        "folder": remote.location(result_dir, quarantine.FOLDER)},
        "attempts": {"per_task": {f"{m['job_name']}/{t}": n for m in manifests
                                  for t, n in m.get("attempts", {}).get("per_task", {}).items()},
                     "unsuccessful": [{**f, "task": f"{m['job_name']}/{f['task']}"} for m in manifests
                                      for f in m.get("attempts", {}).get("unsuccessful", [])]},
        "config": {"steps": [m.get("config", {}) for m in manifests]},
    }


def steps_summary_line(manifest: dict[str, Any], result_dir: Path | str) -> str:
    """The last line of a multi-step job: how long, what it read, and where its results are."""
    outputs = [name for name in manifest.get("outputs") or [] if not name.startswith("_")]
    bad = manifest.get("bad_records", {}).get("total", 0)
    return (f"Job {manifest['job_name']} succeeded in {manifest['duration_s']:.2f}s ({len(manifest['steps'])} steps): "
            f"{manifest['input_records']:,} input records -> {result_dir}: {', '.join(outputs) or '(no files of its own)'}"
            + (f"; {bad:,} bad records skipped (see {remote.location(result_dir, quarantine.FOLDER)})" if bad else ""))


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


HTML_REPORT = "_report.html"


def write_html_report(path: Path, manifest: dict[str, Any]) -> None:
    """Write the job's ``_report.html`` (see :mod:`mr_luigi.engine.htmlreport`)."""
    with atomic_file(path) as tmp:
        tmp.write_text(render_report(manifest), encoding="utf-8")


def read_manifest(path: Path) -> dict[str, Any] | None:
    """The manifest at ``path``, or None if absent or unreadable (an unfinished job)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def job_manifest(path: Path, job_id: str) -> dict[str, Any] | None:
    """The manifest at ``path`` if it is the given job's (a finished job), else None."""
    manifest = read_manifest(path)
    return manifest if manifest is not None and manifest.get("job_id") == job_id else None


def published_manifest(plan: JobPlan) -> dict[str, Any] | None:
    """The manifest where the job publishes (its output folder, or its ``s3://`` output_dir), or None."""
    url = plan.resolved.output_url
    if url is None:
        return read_manifest(plan.success_path)
    return manifest_at(url, plan.resolved.store)


def manifest_at(where: str | Path, store: remote.Store | None) -> dict[str, Any] | None:
    """The ``_SUCCESS`` manifest in a local folder or under an ``s3://`` URL, or None if absent or unreadable."""
    if not remote.is_url(where):
        return read_manifest(Path(where) / "_SUCCESS")
    text = remote.read_text(f"{where}/_SUCCESS", store or remote.Store())
    try:
        manifest = None if text is None else json.loads(text)
    except ValueError:
        return None
    return manifest if isinstance(manifest, dict) else None


def finished_manifest(plan: JobPlan) -> dict[str, Any] | None:
    """The published manifest if it is this job's: the job is finished."""
    manifest = published_manifest(plan)
    return manifest if manifest is not None and manifest.get("job_id") == plan.job_id else None


def summary_line(manifest: dict[str, Any], output_dir: Path | str) -> str:
    totals = manifest["totals"]
    outputs = manifest.get("outputs") or ["final_output.txt"]
    where = f"{str(output_dir).rstrip('/')}/{outputs[-1]}" if len(outputs) == 1 or "final_output.txt" in outputs \
        else output_dir
    bad = manifest.get("bad_records", {}).get("total", 0)
    skipped = f", {bad} bad records skipped (see {manifest['bad_records']['folder']})" if bad else ""
    return (
        f"Job {manifest['job_name']} succeeded in {manifest['duration_s']:.2f}s: "
        f"{totals['input_records']} input records, {totals['map_output_records']} map outputs, "
        f"{manifest['final_output_records']} keys -> {where}{skipped}"
    )


def summary(manifest: dict[str, Any], output_dir: Path | str) -> str:
    """The end-of-job summary: one line, warnings, the attempts that did not succeed, then the counters."""
    return (f"{summary_line(manifest, output_dir)}\n{decode_warning(manifest)}{retries_note(manifest)}"
            f"Counters:\n{format_counters(manifest.get('counters', {}))}")


def decode_warning(manifest: dict[str, Any]) -> str:
    """A line warning of input lines whose undecodable bytes were replaced ("" if none)."""
    errors = manifest.get("decode_errors") or {}
    if not errors.get("lines"):
        return ""
    return (f"WARNING: {errors['lines']:,} input line(s) held bytes that are not valid {errors['encoding']} and were "
            f"{decode_action(errors)}; the first at {errors['first']}\n")


def decode_action(errors: dict[str, Any]) -> str:
    """What was done with the lines that did not decode, in words."""
    if errors.get("mode") == "latin-1":
        return 'read as Latin-1 (decode_errors = "latin-1")'
    return 'replaced by U+FFFD (decode_errors = "replace")'


#: Unsuccessful attempts listed in the summary; the manifest has them all.
_SHOWN_ATTEMPTS = 5


def retries_note(manifest: dict[str, Any]) -> str:
    """Lines on the task attempts that failed or were killed before the job succeeded ("" if none)."""
    failed = manifest.get("attempts", {}).get("unsuccessful", [])
    if not failed:
        return ""
    tasks = len({f["task"] for f in failed})
    lines = [f"{len(failed)} attempt(s) of {tasks} task(s) did not succeed and were retried:"]
    lines += [f"  {f['task']} attempt {f['attempt']}: {f['error']}" for f in failed[:_SHOWN_ATTEMPTS]]
    if len(failed) > _SHOWN_ATTEMPTS:
        lines.append(f"  ... and {len(failed) - _SHOWN_ATTEMPTS} more (see attempts in _SUCCESS)")
    return "\n".join(lines) + "\n"
