"""Test mutmut's mutants against only the tests that execute the statement each one changes.

mutmut (README, "Development") tests a mutant against every test that calls the
mutated function. For the functions nearly every test reaches (``config.validate``,
the phases' ``run_*``), a mutant that survives then runs the whole selection, minutes
each, and a complete run takes days. A test that never executes the changed statement
runs exactly the code it ran before, so it cannot kill the mutant: leaving it out
changes no verdict. A mutant of a function's signature (a default value) changes every
call, so it runs every test that executes any line of the function.

Three steps, in the clone where ``mutmut run`` made its ``mutants/`` folder (it may be
stopped once it says "Running stats"; only its mutants are used):

    python -m tests.mutants_by_line map MAP.json [TESTS]   # coverage of mutmut's selection (or TESTS), by test
    python -m tests.mutants_by_line run MAP.json[,MORE.json] VERDICTS [NAME | @NAMES_FILE ...]  # each mutant
    python -m tests.mutants_by_line tally VERDICTS         # the score, by module
    python -m tests.mutants_by_line survivors VERDICTS     # each mutant not killed, and what it changes

``map`` runs mutmut's test selection (``setup.cfg``) once under coverage, and labels
each line with the tests that executed it, in the pytest process and in every process
a test forks (Luigi's workers, ``test_bad_inputs``' runs as another user) or starts
(``luigi``, ``mr-luigi``). The map can miss a test that reaches a line (a process that
measures nothing: one started with an environment of its own), never add one, so a
mistake in it can make a mutant look like a survivor, never killed. ``run`` with
``TESTS="FILE_OR_ID ..."`` (or ``TESTS=@FILE``, one per line) runs named mutants against given tests instead. Maps joined with a comma
add the tests of another map: ``map NEW.json tests/test_x.py`` for a test file written
after the first map. ``run`` forks one
process per mutant from a parent that has imported the mutated package and the tests,
plants the mutant as mutmut does (``MUTANT_UNDER_TEST``), and runs its tests quickest
first until one fails; processes the tests start import the mutants too (PYTHONPATH).
It appends one line per mutant to VERDICTS and skips the mutants already there, so it
can be stopped and started again. A mutant is killed only by a failing test (pytest's
exit code 1) or a timeout, as under mutmut; a run that cannot start says ``error``.

This module is also the pytest plugin ``map`` loads; it is not active in a normal test run.
"""

from __future__ import annotations

import ast
import difflib
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from configparser import ConfigParser
from pathlib import Path

#: The test running now, for the processes it forks or starts (they inherit the environment).
TEST_VARIABLE = "MR_LUIGI_LINEMAP_TEST"
#: Where the pytest plugin writes each test's duration and outcome during ``map``.
RECORD_VARIABLE = "MR_LUIGI_LINEMAP_RECORD"


# --- pytest plugin, loaded by ``map`` with ``-p tests.mutants_by_line`` ---

try:
    import pytest
except ImportError:  # a process a test started: it is only the coverage plugin there
    pytest = None

if pytest is not None:

    @pytest.hookimpl
    def pytest_configure(config):
        """Measure the children tests fork themselves too (multiprocessing's are measured by coverage)."""
        if os.environ.get("COVERAGE_PROCESS_START"):
            os.fork = _measured_fork(os.fork)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(item, nextitem):
        """Label the lines of one test with its id: here with a dynamic context, and in the processes it
        forks or starts with their static one (their coverage config reads it from the environment)."""
        import coverage

        cov = coverage.Coverage.current()
        if cov is not None:
            cov.switch_context(item.nodeid)
        os.environ[TEST_VARIABLE] = item.nodeid
        started = time.perf_counter()
        yield
        seconds = time.perf_counter() - started
        os.environ.pop(TEST_VARIABLE, None)
        if cov is not None:
            cov.switch_context("")
        record = os.environ.get(RECORD_VARIABLE)
        if record:
            with open(record, "a", encoding="utf-8") as out:
                out.write(json.dumps({"test": item.nodeid, "seconds": seconds, "failed": item.nodeid in _FAILED}) + "\n")

    @pytest.hookimpl
    def pytest_runtest_logreport(report):
        if report.failed:
            _FAILED.add(report.nodeid)


def _measured_fork(fork):
    """``os.fork``, with coverage started anew in a child that a test forks itself.

    Such a child (``test_bad_inputs``' runs as user nobody) carries on with the parent's
    tracer, but its data would die with it: it ends with ``os._exit``, which saves nothing.
    The child gets a coverage of its own, labelled with the running test by its config,
    saved when it exits. Children multiprocessing forks are left to coverage's own patch.
    """
    def measured_fork() -> int:
        pid = fork()
        if pid == 0 and not sys._getframe(1).f_globals.get("__name__", "").startswith("multiprocessing"):
            import coverage

            inherited = coverage.Coverage.current()
            if inherited is not None:
                inherited._auto_save = False  # the parent's data: the parent saves it
                inherited.stop()
            measured = coverage.Coverage(config_file=os.environ["COVERAGE_PROCESS_START"], data_suffix=True)
            measured.start()
            exit_now = os._exit

            def saving_exit(code: int) -> None:
                measured.stop()
                measured.save()
                exit_now(code)

            os._exit = saving_exit
        return pid

    return measured_fork


#: The tests that failed during ``map`` (a mutant cannot be judged by a test that fails without it).
_FAILED: set[str] = set()


# --- map: coverage of the selection, by test ---


def mutmut_selection(clone: Path) -> list[str]:
    """The test files mutmut runs: ``setup.cfg``'s ``[mutmut]`` selection (``tests`` without the ``--ignore``\\ d)."""
    parser = ConfigParser()
    parser.read(clone / "setup.cfg")
    words = parser.get("mutmut", "pytest_add_cli_args_test_selection").split()
    ignored = {w.split("=", 1)[1] for w in words if w.startswith("--ignore=")}
    files = sorted(str(p.relative_to(clone)) for p in (clone / "tests").glob("test_*.py"))
    return [f for f in files if f not in ignored]


def _shards(clone: Path, files: list[str], count: int) -> list[list[str]]:
    """Split the test files into at most ``count`` shards of about equal size (a file's size stands for its
    time). None is empty: pytest given no file runs every test."""
    shards: list[list[str]] = [[] for _ in range(count)]
    sizes = [0] * count
    for f in sorted(files, key=lambda f: -(clone / f).stat().st_size):
        i = sizes.index(min(sizes))
        shards[i].append(f)
        sizes[i] += (clone / f).stat().st_size
    return [shard for shard in shards if shard]


def build_map(clone: Path, out: Path, jobs: int, files: list[str] | None = None) -> None:
    """Run mutmut's selection (or the test ``files`` given) under coverage in ``jobs`` processes and write the
    lines each test executes."""
    work = Path(tempfile.mkdtemp(prefix="mr_luigi_linemap_"))
    work.chmod(0o777)  # a child a test runs as another user writes its coverage here too
    rc = work / "coveragerc"
    rc.write_text(
        "[run]\n"
        f"source = {clone / 'mr_luigi'}\n"
        "parallel = true\n"
        # Luigi's workers are multiprocessing processes; processes the tests start measure themselves
        # (COVERAGE_PROCESS_START). Both read this file, so both label their lines with the test in
        # their environment. (Coverage's patch = fork, _exit and a dynamic-context plugin both deadlocked
        # now and then: a process forked while another of its threads wrote coverage's SQLite file.)
        "concurrency = multiprocessing, thread\n"
        f"context = ${{{TEST_VARIABLE}-}}\n"
        f"data_file = {work / 'coverage'}\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", TEST_VARIABLE)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(clone), env.get("PYTHONPATH")]))
    env[RECORD_VARIABLE] = str(work / "tests.jsonl")
    env["COVERAGE_PROCESS_START"] = str(rc)
    procs = []
    for shard in _shards(clone, files or mutmut_selection(clone), jobs):
        command = [sys.executable, "-m", "coverage", "run", f"--rcfile={rc}", "-m", "pytest", "-q",
                   "-p", "no:cacheprovider", "-p", "tests.mutants_by_line", *shard]
        procs.append(subprocess.Popen(command, cwd=clone, env=env, stdout=subprocess.DEVNULL))
    for proc in procs:
        proc.wait()
    subprocess.run([sys.executable, "-m", "coverage", "combine", f"--rcfile={rc}", "-q"], cwd=clone, env=env,
                   check=True)
    import coverage

    data = coverage.CoverageData(basename=str(work / "coverage"))
    data.read()
    tests: dict[str, int] = {}
    lines: dict[str, dict[int, list[int]]] = {}
    for measured in data.measured_files():
        relative = str(Path(measured).resolve().relative_to(clone.resolve()))
        for lineno, contexts in data.contexts_by_lineno(measured).items():
            ids = sorted({tests.setdefault(c, len(tests)) for c in contexts if c})
            if ids:
                lines.setdefault(relative, {})[lineno] = ids
    records = [json.loads(line) for line in (work / "tests.jsonl").read_text().splitlines()]
    out.write_text(json.dumps({
        "tests": sorted(tests, key=tests.get),
        "lines": lines,
        "seconds": {r["test"]: r["seconds"] for r in records},
        "failed": sorted(r["test"] for r in records if r["failed"]),
    }))
    print(f"{len(records)} tests, {sum(r['failed'] for r in records)} failed; "
          f"{sum(len(v) for v in lines.values())} lines in {len(lines)} files -> {out}")
    subprocess.run(["rm", "-rf", str(work)])


# --- which statement a mutant changes ---


def _statement_lines(tree: ast.AST, lineno: int) -> tuple[int, int] | None:
    """The lines of the innermost statement holding ``lineno`` (a compound statement: its header only);
    None when that statement is a function definition (the change is in its signature)."""
    best = None
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt) and node.lineno <= lineno <= (node.end_lineno or node.lineno):
            if best is None or node.lineno >= best.lineno:
                best = node
    if best is None or isinstance(best, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return None
    body = getattr(best, "body", None)
    end = (body[0].lineno - 1) if isinstance(body, list) and body and body[0].lineno > best.lineno else best.end_lineno
    return best.lineno, max(best.lineno, end or best.lineno)


def _function_node(tree: ast.Module, mangled: str) -> ast.FunctionDef | None:
    """The definition mutmut's mangled name (``x_name`` or ``xǁClassǁname``) stands for."""
    if mangled.startswith("xǁ"):
        _, cls, name = mangled.split("ǁ")
        scopes = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls]
        body = scopes[0].body if scopes else []
    else:
        name, body = mangled[2:], tree.body
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return node
    return None


def mutant_lines(clone: Path) -> dict[str, dict]:
    """For each mutant: its source file, the original lines of the statement it changes (or of the
    whole function body, for a change in the signature) and a hash of the function it mutates."""
    import hashlib

    found = {}
    for spans_file in sorted((clone / "mutants").rglob("*.py.spans")):
        mutated = spans_file.with_suffix("")
        relative = mutated.relative_to(clone / "mutants")
        module = ".".join(relative.with_suffix("").parts)
        original = (clone / relative).read_text(encoding="utf-8")
        tree = ast.parse(original)
        text = mutated.read_text(encoding="utf-8").split("\n")
        spans = json.loads(spans_file.read_text())["spans"]
        for name, (first, last) in spans.items():
            mangled, _, number = name.rpartition("__mutmut_")
            if number == "orig":
                continue
            o_first, o_last = spans[mangled + "__mutmut_orig"]
            orig_text = _from_def(text[o_first - 1:o_last], mangled + "__mutmut_orig")
            mutant_text = _from_def(text[first - 1:last], name)
            node = _function_node(tree, mangled)
            entry = {"file": str(relative), "hash": hashlib.sha1("\n".join(orig_text).encode()).hexdigest()[:12]}
            if node is None:
                entry["lines"] = None
                found[f"{module}.{name}"] = entry
                continue
            entry["change"] = _change(orig_text, mutant_text)
            entry["at"] = node.lineno
            header = node.body[0].lineno - node.lineno  # lines of the def, up to the body
            statements = [_statement_lines(tree, node.lineno + i) if i >= header else None
                          for i in _changed_lines(orig_text, mutant_text)] or [None]
            if None in statements:  # a change in the signature: every call runs it
                entry["lines"] = [node.body[0].lineno, node.end_lineno]
                entry["signature"] = True
            else:
                entry["lines"] = sorted({ln for a, b in statements for ln in range(a, b + 1)})
            found[f"{module}.{name}"] = entry
    return found


def _from_def(lines: list[str], name: str) -> list[str]:
    """A function's lines in mutmut's file, from its ``def`` line on, with mutmut's name for it taken out
    (a span starts with the blank lines before it)."""
    for i, line in enumerate(lines):
        if f"def {name}(" in line:
            return [line.replace(f"def {name}(", "def (", 1)] + lines[i + 1:]
    raise ValueError(f"no definition of {name} in its span")


def _edits(before: list[str], after: list[str]) -> list[tuple[int, int, int, int]]:
    """The differing stretches of two versions of a function: (i1, i2) of ``before``, (j1, j2) of ``after``."""
    opcodes = difflib.SequenceMatcher(a=before, b=after, autojunk=False).get_opcodes()
    return [(i1, i2, j1, j2) for tag, i1, i2, j1, j2 in opcodes if tag != "equal"]


def _changed_lines(before: list[str], after: list[str]) -> list[int]:
    """Indexes in ``before`` of the lines ``after`` changes (a pure insertion: the line before it)."""
    changed = []
    for i1, i2, _, _ in _edits(before, after):
        changed.extend(range(i1, i2) if i2 > i1 else [max(i1 - 1, 0)])
    return changed


def _change(before: list[str], after: list[str]) -> str:
    """The lines a mutant changes, as a diff: ``-`` the original, ``+`` the mutant (the def line left out
    when only mutmut's name for it differs)."""
    out = []
    for i1, i2, j1, j2 in _edits(before, after):
        out += [f"-{line.strip()}" for line in before[i1:i2]] + [f"+{line.strip()}" for line in after[j1:j2]]
    return "\n".join(out)


def load_maps(spec: str | Path) -> dict:
    """One map, or several joined (``MAP.json,NEW.json``): a map of the test files changed since the first
    adds their tests without mapping the whole selection again."""
    merged: dict = {"tests": [], "lines": {}, "seconds": {}, "failed": []}
    for path in str(spec).split(","):
        one = json.loads(Path(path).read_text())
        merged["tests"] += [t for t in one["tests"] if t not in merged["tests"]]
        ids = {i: merged["tests"].index(t) for i, t in enumerate(one["tests"])}
        for file, lines in one["lines"].items():
            into = merged["lines"].setdefault(file, {})
            for line, tests in lines.items():
                into[line] = sorted(set(into.get(line, [])) | {ids[i] for i in tests})
        merged["seconds"].update(one["seconds"])
        merged["failed"] += one["failed"]
    return merged


def selected_tests(entry: dict, linemap: dict) -> list[str]:
    """The tests that execute the lines a mutant changes, quickest first (failed clean runs left out)."""
    lines = linemap["lines"].get(entry["file"], {})
    span = entry["lines"]
    wanted = range(span[0], span[1] + 1) if entry.get("signature") else span
    ids = set()
    for ln in wanted:
        ids.update(lines.get(str(ln), ()))
    names = {linemap["tests"][i] for i in ids} - set(linemap["failed"])
    seconds = linemap["seconds"]
    return sorted(names, key=lambda t: (seconds.get(t, 1e9), t))


# --- run: each mutant against its tests ---


class _FirstFailure:
    """A pytest plugin: runs the given tests in the given order and remembers the first that fails."""

    def __init__(self, order: list[str]) -> None:
        self.rank = {t: i for i, t in enumerate(order)}
        self.failed: str | None = None

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items) -> None:
        items.sort(key=lambda item: self.rank.get(item.nodeid, len(self.rank)))

    def pytest_runtest_logreport(self, report) -> None:
        if report.failed and self.failed is None:
            self.failed = report.nodeid


def _run_one(name: str, tests: list[str], result: Path) -> None:
    """In a forked process: plant the mutant, run its tests, write the first failing test, exit with pytest's code."""
    os.setsid()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.environ["MUTANT_UNDER_TEST"] = name
    plugin = _FirstFailure(tests)
    code = pytest.main(["-x", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", "--no-header", *tests],
                       plugins=[plugin])
    if code == pytest.ExitCode.USAGE_ERROR:  # an id pytest cannot find again (its parameters' text): whole tests
        code = pytest.main(["-x", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", "--no-header",
                            *dict.fromkeys(t.split("[", 1)[0] for t in tests)], plugins=[plugin])
    result.write_text(plugin.failed or "")
    os._exit(int(code))


def run_mutants(clone: Path, linemap_file: str, verdicts: Path, names: list[str], jobs: int,
                budget: float = 0, fixed_tests: list[str] | None = None) -> None:
    """Test each mutant not judged yet (in a random order), or those ``names`` names, and append its verdict
    to ``verdicts``.

    With a ``budget`` (seconds), a mutant runs only its quickest tests that the map timed at that much in
    all; if they all pass, its verdict is ``partial``, and a later run without a budget tests it fully.
    Most mutants that die, die in their first test, so a first pass with a budget finds the few mutants
    worth minutes each.

    ``fixed_tests`` replaces the map's choice, for a mutant only a test the map missed reaches."""
    linemap = load_maps(linemap_file)
    mutants = mutant_lines(clone)
    done = {name for name, (verdict, digest) in read_verdicts(verdicts).items()
            if name in mutants and digest == mutants[name]["hash"] and (verdict != "partial" or budget)}
    todo = names or [n for n in sorted(mutants) if n not in done]  # named mutants run again
    if not names:
        random.Random(12).shuffle(todo)  # stopped part way, what was tested is a fair sample
    work = clone / "mutants"
    os.chdir(work)
    # This module ran as part of the clone's own tests package, from the clone's folder: the tests and the
    # package must now come from mutants/ instead.
    sys.path[:] = [str(work)] + [p for p in sys.path if p not in ("", str(clone), str(clone.resolve()))]
    for module in [m for m in sys.modules if m == "tests" or m.startswith(("tests.", "mr_luigi"))]:
        del sys.modules[module]
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(work), os.environ.get("PYTHONPATH")]))
    _import_everything(work)
    results = Path(tempfile.mkdtemp(prefix="mr_luigi_mutants_"))
    running: dict[int, tuple] = {}
    queue = list(todo)
    with open(verdicts, "a", encoding="utf-8") as out:
        while queue or running:
            while queue and len(running) < jobs:
                name = queue.pop(0)
                entry = mutants[name]
                tests = fixed_tests or (selected_tests(entry, linemap) if entry["lines"] else [])
                if not tests:
                    _write(out, "no-tests", name, entry, 0.0, 0, "")
                    continue
                tests, partial = _within(tests, linemap["seconds"], budget)
                limit = 60 + 3 * sum(linemap["seconds"].get(t, 5) for t in tests)
                result = results / f"{len(queue)}"
                pid = os.fork()
                if pid == 0:
                    _run_one(name, tests, result)
                running[pid] = (name, entry, tests, result, time.monotonic(), limit, partial)
            _reap(running, out)
    subprocess.run(["rm", "-rf", str(results)])


def _reap(running: dict, out) -> None:
    """Wait for a mutant's process to end (or stop it at its time limit) and write its verdict."""
    time.sleep(0.05)
    for pid, (name, entry, tests, result, started, budget, partial) in list(running.items()):
        elapsed = time.monotonic() - started
        finished, status = os.waitpid(pid, os.WNOHANG)
        if not finished:
            if elapsed > budget:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                os.waitpid(pid, 0)
                _write(out, "timeout", name, entry, elapsed, len(tests), "")
                del running[pid]
            continue
        code = os.waitstatus_to_exitcode(status)
        try:
            os.killpg(pid, signal.SIGKILL)  # what its tests left running
        except (ProcessLookupError, PermissionError):
            pass
        killer = result.read_text() if result.exists() else ""
        verdict = {0: "partial" if partial else "survived", 1: "killed"}.get(code, f"error{code}")
        _write(out, verdict, name, entry, elapsed, len(tests), killer)
        del running[pid]


def _within(tests: list[str], seconds: dict[str, float], budget: float) -> tuple[list[str], bool]:
    """The quickest tests (``tests`` is quickest first) that take ``budget`` seconds in all, at least one;
    and whether any were left out. No budget: all of them."""
    if not budget:
        return tests, False
    total, kept = 0.0, []
    for test in tests:
        total += seconds.get(test, 5)
        if kept and total > budget:
            break
        kept.append(test)
    return kept, len(kept) < len(tests)


def read_verdicts(verdicts: Path) -> dict[str, tuple[str, str]]:
    """Each mutant's last verdict in the file, and the hash of the function it was tested in."""
    found = {}
    if verdicts.exists():
        for line in verdicts.read_text(encoding="utf-8").splitlines():
            if line.strip():
                verdict, name, digest = line.split("\t")[:3]
                found[name] = (verdict, digest)
    return found


#: Verdicts that end a mutant's story: killed, or (``partial`` aside) alive and to be explained in MUTATION.md:
#: ``survived`` after its tests, or ``equivalent``, a ``partial`` mutant judged by reading its change (written by hand).
KILLED = ("killed", "timeout")


def short_name(name: str) -> tuple[str, int]:
    """``("engine.config._as_step", 22)`` for mutmut's ``mr_luigi.engine.config.x__as_step__mutmut_22``
    (``MapErrors.where`` for a method's ``xǁMapErrorsǁwhere``): how MUTATION.md names a mutant."""
    head, number = name.rsplit("__mutmut_", 1)
    module, function = head.rsplit(".", 1)
    function = function.replace("xǁ", "", 1).replace("ǁ", ".") if function.startswith("xǁ") else function[2:]
    return f"{module.removeprefix('mr_luigi.')}.{function}", int(number)


def survivors_of(verdicts: Path) -> set[tuple[str, int]]:
    """The mutants whose last verdict is neither a kill nor ``partial`` (unfinished), by :func:`short_name`."""
    return {short_name(name) for name, (verdict, _) in read_verdicts(verdicts).items()
            if verdict not in KILLED and verdict != "partial"}


_LISTED = re.compile(r"^- `([\w.]+)` (\d+(?: \d+)*): \S")


def listed_survivors(markdown: str) -> set[tuple[str, int]]:
    """The mutants a MUTATION.md list names, one line per function: ``- `module.function` 3 17: why``."""
    listed = set()
    for line in markdown.splitlines():
        match = _LISTED.match(line)
        if match:
            listed.update((match.group(1), int(n)) for n in match.group(2).split())
    return listed


def _write(out, verdict: str, name: str, entry: dict, seconds: float, count: int, killer: str) -> None:
    out.write(f"{verdict}\t{name}\t{entry['hash']}\t{seconds:.1f}\t{count}\t{killer}\n")
    out.flush()


def _import_everything(work: Path) -> None:
    """Import the mutated package and the test modules once, so each forked run starts at once."""
    import importlib

    for path in sorted((work / "mr_luigi").rglob("*.py")):
        module = ".".join(path.relative_to(work).with_suffix("").parts).removesuffix(".__init__")
        try:
            importlib.import_module(module)
        except Exception:
            pass
    for path in sorted((work / "tests").glob("*.py")):
        try:
            importlib.import_module(f"tests.{path.stem}")
        except Exception:
            pass


# --- tally ---


def tally(verdicts: Path) -> None:
    """Print the score: killed (and timed out) over tested, by module and in all."""
    by_module: dict[str, dict[str, int]] = {}
    for name, (verdict, _) in read_verdicts(verdicts).items():
        module = re.sub(r"\.x[_ǁ].*$", "", name)
        by_module.setdefault(module, {}).setdefault(verdict, 0)
        by_module[module][verdict] += 1
    total: dict[str, int] = {}
    for module, counts in sorted(by_module.items()):
        for k, v in counts.items():
            total[k] = total.get(k, 0) + v
        print(_score_line(module, counts))
    print(_score_line("all", total))


def show_survivors(clone: Path, verdicts: Path) -> None:
    """Print every mutant not killed, with its place in the original source and what it changes, for review."""
    mutants = mutant_lines(clone)
    for name, (verdict, digest) in sorted(read_verdicts(verdicts).items()):
        if verdict in KILLED or name not in mutants:
            continue
        entry = mutants[name]
        stale = "" if digest == entry["hash"] else " (its function changed since)"
        line = entry["lines"][0] if entry["lines"] else entry.get("at")
        print(f"{verdict} {name} {entry['file']}:{line}{stale}")
        print("    " + entry.get("change", "").replace("\n", "\n    "))


def _score_line(label: str, counts: dict[str, int]) -> str:
    killed = counts.get("killed", 0) + counts.get("timeout", 0)
    tested = sum(counts.values())
    detail = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    return f"{label:45} {killed:5} / {tested:5} = {100 * killed / max(tested, 1):5.1f} %   ({detail})"


def _fixed_tests(value: str) -> list[str]:
    """``TESTS``: test files or ids separated by spaces, or ``@FILE`` of one per line (ids with spaces in them)."""
    if value.startswith("@"):
        return [line.strip() for line in Path(value[1:]).read_text(encoding="utf-8").splitlines() if line.strip()]
    return value.split()


def main(argv: list[str]) -> int:
    clone = Path.cwd()
    if len(argv) >= 2 and argv[0] == "map":
        build_map(clone, Path(argv[1]).resolve(), jobs=int(os.environ.get("JOBS", "2")), files=argv[2:])
    elif len(argv) >= 3 and argv[0] == "run":
        names = [n for arg in argv[3:] for n in (Path(arg[1:]).read_text().split() if arg[0] == "@" else [arg])]
        run_mutants(clone, ",".join(str(Path(m).resolve()) for m in argv[1].split(",")), Path(argv[2]).resolve(), names,
                    jobs=int(os.environ.get("JOBS", "2")), budget=float(os.environ.get("BUDGET", "0")),
                    fixed_tests=_fixed_tests(os.environ.get("TESTS", "")))
    elif len(argv) == 2 and argv[0] == "tally":
        tally(Path(argv[1]))
    elif len(argv) == 2 and argv[0] == "survivors":
        show_survivors(clone, Path(argv[1]))
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
