"""The ``mr-luigi`` command: run, validate, report on and clean up jobs.

    mr-luigi run CONFIG [--workers N] [--local-scheduler | --scheduler-url URL] [--set key=value ...]
    mr-luigi validate CONFIG [--set key=value ...]
    mr-luigi mrjob MR_JOB.PY [JOB OPTIONS] INPUT... --output-dir DIR [--workers N] [--scheduler-url URL]
    mr-luigi report OUTPUT_DIR [--html]
    mr-luigi clean OUTPUT_DIR | --work-dir DIR

``CONFIG`` is a TOML job config that names its own functions (like
``configs/word_count.toml``). Exit codes: 0 success, 1 the job failed, 2 a bad
config or command line; a failure prints one line saying why.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Any, Sequence, TextIO

from mr_luigi.engine import interrupts, luigi_setup, report
from mr_luigi.engine.config import (
    JobConfig,
    config_from_mapping,
    config_from_values,
    merge_config,
    parse_toml_value,
    read_config_file,
)
from mr_luigi.engine.counters import format_counters
from mr_luigi.engine.phases.final import check_previous_results
from mr_luigi.engine.plan import JobPlan, make_plan, part_name
from mr_luigi.errors import ConfigError, MrLuigiError
from mr_luigi.io import atomic, remote

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_CODES = "exit codes: 0 success; 1 the job failed (one line says which task and why); 2 a bad config or command line; " \
             "130 interrupted (run the same command again to resume)"


def _version() -> str:
    import platform
    from importlib import metadata

    import luigi

    return (f"mr-luigi {metadata.version('mr_luigi')} (luigi {getattr(luigi, '__version__', '?')}, "
            f"Python {platform.python_version()})")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    luigi_setup.prepare()
    _import_path(args)
    try:
        return args.command(args)
    except ConfigError as exc:
        print(f"mr-luigi: ConfigError: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except MrLuigiError as exc:
        print(f"mr-luigi: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mr-luigi", description="Run and inspect mr_luigi MapReduce jobs.",
                                     epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run a job from its TOML config", epilog=EXIT_CODES,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("config", type=Path, help="the job's TOML config (paths in it are relative to its folder)")
    run.add_argument("--workers", type=int, default=None, help="tasks run at once (default: one per core)")
    where = run.add_mutually_exclusive_group()
    where.add_argument("--local-scheduler", action="store_true", help="Luigi's embedded scheduler (the default)")
    where.add_argument("--scheduler-url", help="a luigid to run against, e.g. http://127.0.0.1:8082")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config field (a TOML value)")
    run.add_argument("--force", action="store_true",
                     help="replace the results of another job found in the output folder (refused otherwise)")
    run.set_defaults(command=cmd_run)

    validate = sub.add_parser("validate", help="check a config and print the planned graph, without running")
    validate.add_argument("config", type=Path, help="the job's TOML config")
    validate.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config field (a TOML value)")
    validate.set_defaults(command=cmd_validate)

    mrjob = sub.add_parser(
        "mrjob", help="run an mrjob job file unchanged", epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run an mrjob job file on mr_luigi, without editing it: its `mrjob` imports are answered by "
                    "mr_luigi, and its steps run as Luigi map, shuffle and reduce tasks. After the file come its "
                    "own options and inputs, mrjob-style, and --output-dir DIR (required), --workers N, "
                    "--scheduler-url URL, --work-dir DIR, --num-reducers N.")
    mrjob.add_argument("script", help="the mrjob job file (mr_word_count.py)")
    mrjob.add_argument("job_args", nargs=argparse.REMAINDER, metavar="ARGS",
                       help="the job's options and input paths, and --output-dir DIR")
    mrjob.set_defaults(command=cmd_mrjob)

    rep = sub.add_parser("report", help="print the summary of a finished job")
    rep.add_argument("output_dir", type=Path, help="a finished job's output folder (holding its _SUCCESS)")
    rep.add_argument("--html", action="store_true", help="also write _report.html again")
    rep.set_defaults(command=cmd_report)

    clean = sub.add_parser("clean", help="remove intermediates and leftover temporary files")
    target = clean.add_mutually_exclusive_group(required=True)
    target.add_argument("output_dir", type=Path, nargs="?", help="a job's output folder: its _work/ and leftovers")
    target.add_argument("--work-dir", type=_folder_or_url,
                        help="a work folder set apart from the output (work_dir in the config), or its s3:// URL")
    clean.set_defaults(command=cmd_clean)
    return parser


# -- config ------------------------------------------------------------------


def _import_path(args: argparse.Namespace) -> None:
    """Find the user's modules as ``python -m`` would (the working folder), and beside the job's config file.

    A config names its functions as ``mypkg.jobs:f``; ``mypkg`` is usually in
    the project folder the command is run from, or the config's own folder.
    """
    folders = [os.getcwd()]
    config = getattr(args, "config", None)
    if config is not None:
        folders.append(str(Path(config).resolve().parent))
    for folder in reversed(folders):
        if folder not in sys.path:
            sys.path.insert(0, folder)


def load(config_path: Path, settings: Sequence[str]) -> JobConfig:
    """A job config from a TOML file and ``key=value`` overrides (see :func:`mr_luigi.engine.config.merge_config`)."""
    overrides = {}
    for setting in settings:
        key, sep, raw = setting.partition("=")
        if not sep or not key.strip():
            raise ConfigError("--set", f"expected KEY=VALUE, got {setting!r}")
        overrides[key.strip()] = parse_toml_value(raw.strip())
    values = merge_config(read_config_file(config_path), config_from_mapping(overrides, "--set"))
    return config_from_values(values, source=str(config_path))


# -- commands ----------------------------------------------------------------


def cmd_validate(args: argparse.Namespace) -> int:
    plan = make_plan(load(args.config, args.set))
    sizes = [split.size for split in plan.splits]
    print(plan.describe())
    print(f"inputs: {len(plan.resolved.input_paths)} file(s), {sum(sizes):,} bytes")
    print(f"splits: {len(sizes)} (smallest {min(sizes, default=0):,} bytes, largest {max(sizes, default=0):,} bytes)")
    if plan.map_only:
        print(f"tasks: {plan.num_maps} map, 1 final (map-only: one part file per map, in input order)")
    else:
        print(f"tasks: {plan.num_maps} map, 1 barrier, {plan.num_partitions} shuffle, {plan.num_partitions} reduce, 1 final")
        print(f"partitions: {plan.num_partitions} -> {', '.join(part_name(p) for p in range(min(plan.num_partitions, 4)))}"
              f"{', ...' if plan.num_partitions > 4 else ''}")
    work = f"{plan.resolved.work_url}/{plan.job_id}" if plan.resolved.work_url else plan.job_dir
    print(f"output: {plan.output_location}   work: {work}")
    replaces = check_previous_results(plan)  # what run would refuse (a ConfigError) or replace
    if replaces is not None:
        print(f"the output folder holds an earlier run's results ({replaces}): run replaces them when it finishes")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    return run_plan(make_plan(load(args.config, args.set)), args.workers, args.scheduler_url, args.force)


def run_plan(plan: JobPlan, workers: int | None, scheduler_url: str | None, force: bool = False) -> int:
    """Run a planned job with progress on stderr and its summary (or why it failed) at the end; return the exit code."""
    from mr_luigi.api.job import Job
    from mr_luigi.api.runner import build_job, job_result

    root = Job.of(plan, force=force)
    env: dict[str, Any] = {"workers": workers or _cpus(), "log_level": "WARNING"}
    if scheduler_url:
        env["scheduler_url"] = scheduler_url
    else:
        env["local_scheduler"] = True
    watcher = ProgressWatcher(plan, sys.stderr)
    watcher.start()
    interrupts.catch_in_main_process()
    try:
        result = build_job(root, **env)
    except KeyboardInterrupt:
        watcher.stop()  # its last line first, then why the run stopped
        print(f"mr-luigi: {interrupts.interrupted_line([plan], clean=not scheduler_url)}", file=sys.stderr)
        return interrupts.EXIT_INTERRUPTED
    finally:
        watcher.stop()
    outcome = job_result(plan, result)
    if outcome.success and outcome.manifest is not None:
        print(report.summary(outcome.manifest, plan.output_location))
        return EXIT_OK
    reason = next(iter(outcome.failures.items()), None)
    why = f"{reason[0]}: {reason[1]}" if reason else outcome.status
    print(f"mr-luigi: job {plan.name} failed: {why}", file=sys.stderr)
    return EXIT_FAILED


def cmd_mrjob(args: argparse.Namespace) -> int:
    """Run an mrjob job file unchanged: as a script whose ``MRJob.run()`` runs it on mr_luigi."""
    import runpy

    from mr_luigi.api.mrjob import runner as mrjob_runner
    from mr_luigi.api.mrjob import shim
    from mr_luigi.api.mrjob.job import RunRequested

    script = str(Path(args.script).resolve())
    if not Path(script).is_file():
        raise ConfigError("mrjob", f"the job file {args.script!r} does not exist")

    def launch(config: JobConfig, options: argparse.Namespace) -> int:
        return run_plan(make_plan(config), options.workers, options.scheduler_url)

    saved_argv = sys.argv
    sys.argv = [script, *args.job_args]
    sys.path.insert(0, str(Path(script).parent))  # as `python mr_job.py` has it
    try:
        with shim.mrjob_modules():
            runpy.run_path(script, run_name="__main__")  # its `MRJob.run()` raises RunRequested
    except RunRequested as request:
        return mrjob_runner.run_from_command_line(request.job_class, request.argv, script, launch)
    finally:
        sys.argv = saved_argv
    cls = shim.job_class(script)  # a file that does not call run(): its only job
    return mrjob_runner.run_from_command_line(cls, args.job_args, script, launch)


def cmd_report(args: argparse.Namespace) -> int:
    manifest = report.read_manifest(args.output_dir / "_SUCCESS")
    if manifest is not None and "steps" in manifest:
        return _report_steps(manifest, args)
    if manifest is None or "tasks" not in manifest:
        print(f"mr-luigi: {args.output_dir} holds no finished job (no readable _SUCCESS manifest)", file=sys.stderr)
        return EXIT_FAILED
    print(report.summary(manifest, args.output_dir))
    print("Phases:")
    for name, span in sorted(manifest.get("phases", {}).items(), key=lambda kv: kv[1]["start"]):
        print(f"  {name:<8} {span['duration_s']:>8.2f}s")
    if args.html:
        path = args.output_dir / report.HTML_REPORT
        report.write_html_report(path, manifest)
        print(f"wrote {path}")
    return EXIT_OK


def _report_steps(manifest: dict[str, Any], args: argparse.Namespace) -> int:
    """A multi-step job's folder: its outputs and counters, then each step's own summary."""
    steps = manifest["steps"]
    print(f"Job {manifest.get('job_name')} SUCCESS: {len(steps)} step(s); outputs in {args.output_dir}: "
          f"{', '.join(manifest.get('outputs') or []) or '(in the steps folders)'}")
    print(f"Counters (all steps):\n{format_counters(manifest.get('counters', {}))}")
    status = EXIT_OK
    for number, step in enumerate(steps, 1):
        folder = Path(step["output_dir"])
        print(f"\nStep {number}: {step['job_name']} ({step['job_id']})")
        step_manifest = report.read_manifest(folder / "_SUCCESS")
        if step_manifest is None or step_manifest.get("job_id") != step["job_id"]:
            print(f"mr-luigi: {folder} no longer holds this step's results", file=sys.stderr)
            status = EXIT_FAILED
            continue
        print(report.summary(step_manifest, folder))
    return status


def _folder_or_url(value: str) -> Path | str:
    return value.rstrip("/") if remote.is_url(value) else Path(value)


def cmd_clean(args: argparse.Namespace) -> int:
    """Remove a job's work folder and every ``*-luigi-tmp-*`` leftover under the folder."""
    if isinstance(args.work_dir, str):
        return _clean_store(args.work_dir)
    folder = args.work_dir or args.output_dir
    if not folder.is_dir():
        print(f"mr-luigi: {folder} is not a folder", file=sys.stderr)
        return EXIT_FAILED
    removed = []
    if args.work_dir is None and (folder / "_work").is_dir():
        removed.append(folder / "_work")
    elif args.work_dir is not None:
        removed += [p for p in folder.iterdir() if p.is_dir() and (p / "map_output").is_dir()]
    removed += [p for p in folder.rglob(f"*{atomic.TMP_MARKER}*") if not any(p.is_relative_to(r) for r in removed)]
    count = 0
    for path in removed:
        if not path.exists():  # inside a temporary folder removed before it
            continue
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
        count += 1
        print(f"removed {path}")
    print(f"{count} item(s) removed from {folder}")
    return EXIT_OK


#: what a job's folder in a work folder holds (see :mod:`mr_luigi.engine.workstore`)
_JOB_FOLDER_NAMES = ("map_output", "reduce_input", "reduce_output", "attempts", "bad_records", "maps_checked.json")


def _clean_store(url: str) -> int:
    """Remove the objects of every job in a work folder on a store, and this host's mirror of it.

    The store is reached as a job reaches it without an ``[s3]`` table:
    ``AWS_ENDPOINT_URL`` and the ``AWS_*`` credentials.
    """
    store = remote.Store()
    parts = [name.split("/") for name in remote.listing(url, store)]
    jobs = sorted({p[0] for p in parts if len(p) > 1 and p[1] in _JOB_FOLDER_NAMES})  # only what jobs wrote
    for job in jobs:
        remote.remove_prefix(f"{url}/{job}", store)
        print(f"removed {url}/{job}")
    mirror = remote.cache_folder(url)
    if mirror.is_dir():
        shutil.rmtree(mirror)
        print(f"removed {mirror}")
    print(f"{len(jobs)} job(s) removed from {url}")
    return EXIT_OK


def _cpus() -> int:
    return os.cpu_count() or 1


# -- progress ----------------------------------------------------------------


class ProgressWatcher:
    """Shows a running job's progress from its finished tasks' folders.

    On a terminal, one line per phase is redrawn in place (a bar, tasks done of
    total, bytes read, elapsed time and an estimate of the time left); in a
    pipe or CI a plain line is printed every few seconds instead.
    """

    def __init__(self, plan: JobPlan, out: TextIO, interval: float | None = None) -> None:
        self.plan = plan
        self.out = out
        self.tty = out.isatty()
        self.interval = interval if interval is not None else (0.5 if self.tty else 5.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._started = time.monotonic()
        self._drawn = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join()
        self._show(final=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._show()

    def state(self) -> dict[str, tuple[int, int]]:
        plan = self.plan
        maps = sum(plan.map_dir(i).is_dir() for i in range(plan.num_maps))
        shuffles = sum(plan.reduce_input_dir(p).is_dir() for p in range(plan.num_partitions))
        reduces = sum(plan.reduce_output_dir(p).is_dir() for p in range(plan.num_partitions))
        done_bytes = sum(plan.splits[i].size for i in range(plan.num_maps) if plan.map_dir(i).is_dir())
        return {"map": (maps, plan.num_maps), "shuffle": (shuffles, plan.num_partitions),
                "reduce": (reduces, plan.num_partitions), "bytes": (done_bytes, sum(s.size for s in plan.splits))}

    def finished_state(self) -> dict[str, tuple[int, int]]:
        """Every task done (the intermediates may already be gone)."""
        plan = self.plan
        total = sum(s.size for s in plan.splits)
        return {"map": (plan.num_maps, plan.num_maps), "shuffle": (plan.num_partitions, plan.num_partitions),
                "reduce": (plan.num_partitions, plan.num_partitions), "bytes": (total, total)}

    def _show(self, final: bool = False) -> None:
        finished = final and report.published_manifest(self.plan) is not None
        if not finished and not self.plan.job_dir.is_dir():  # not started yet
            return
        state = self.state() if not finished else self.finished_state()
        elapsed = time.monotonic() - self._started
        done_bytes, total_bytes = state["bytes"]
        left = elapsed / done_bytes * (total_bytes - done_bytes) if done_bytes else None
        eta = f", about {left:.0f}s left in map" if left is not None and done_bytes < total_bytes else ""
        if not self.tty:
            phases = ", ".join(f"{name} {d}/{t}" for name, (d, t) in state.items() if name != "bytes")
            print(f"[{elapsed:6.1f}s] {phases}; {done_bytes / 1e6:,.1f} of {total_bytes / 1e6:,.1f} MB read{eta}",
                  file=self.out, flush=True)
            return
        lines = []
        for name in ("map", "shuffle", "reduce"):
            done, total = state[name]
            filled = int(24 * done / total) if total else 24
            extra = f"  {done_bytes / 1e6:,.1f}/{total_bytes / 1e6:,.1f} MB{eta}" if name == "map" else ""
            lines.append(f"{name:<8}[{'#' * filled}{'.' * (24 - filled)}] {done}/{total}{extra}")
        lines[-1] += f"   {elapsed:.1f}s"
        if self._drawn:
            self.out.write(f"\x1b[{self._drawn}F")
        self.out.write("".join(f"\x1b[2K{line}\n" for line in lines))
        self.out.flush()
        self._drawn = len(lines)


if __name__ == "__main__":
    sys.exit(main())
