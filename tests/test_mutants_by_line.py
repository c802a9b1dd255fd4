"""The mutation driver's choice of tests: which statement a mutant changes, and which tests execute it.

A wrong choice would make the score lie (a mutant run against tests that never reach it
survives), so the choice is checked here on small sources written in the test.
"""

import ast
import json
import textwrap
from pathlib import Path

from tests.mutants_by_line import (
    _changed_lines,
    _fixed_tests,
    _shards,
    _statement_lines,
    _within,
    listed_survivors,
    load_maps,
    mutant_lines,
    read_verdicts,
    selected_tests,
    short_name,
    survivors_of,
)

SOURCE = textwrap.dedent('''\
    def total(values, start=0):
        """Add."""
        result = start
        for v in values:
            if v > 0 and \\
                    v < 10:
                result += v
        return (result
                + 0)


    class Box:
        def size(self):
            return len(
                self.items)
''')


def test_changed_lines_are_the_differing_lines_of_the_original():
    before = ["a", "b", "c", "d"]
    assert _changed_lines(before, ["a", "B", "c", "d"]) == [1]
    assert _changed_lines(before, ["a", "c", "d"]) == [1]  # a line removed
    assert _changed_lines(before, ["a", "b", "x", "c", "d"]) == [1]  # an insertion: the line before it
    assert _changed_lines(before, before) == []


def test_a_statement_is_all_its_lines_and_a_compound_one_its_header():
    tree = ast.parse(SOURCE)
    lines = SOURCE.splitlines()
    where = {text.strip(): n for n, text in enumerate(lines, 1)}
    assert _statement_lines(tree, where["v < 10:"]) == (where["if v > 0 and \\"], where["v < 10:"])
    assert _statement_lines(tree, where["result += v"]) == (where["result += v"],) * 2
    assert _statement_lines(tree, where["+ 0)"]) == (where["return (result"], where["+ 0)"])
    assert _statement_lines(tree, where["for v in values:"]) == (where["for v in values:"],) * 2
    assert _statement_lines(tree, where["self.items)"]) == (where["return len("], where["self.items)"])
    assert _statement_lines(tree, where["def total(values, start=0):"]) is None


def _mutmut_file(functions: dict[str, str]) -> tuple[str, dict]:
    """A file laid out as mutmut lays out its mutants: two blank lines before each function, and its span."""
    text, spans = [], {}
    for name, body in functions.items():
        text += ["", ""]
        first = len(text) + 1
        text += body.splitlines()
        spans[name] = [first - 2, len(text)]
    return "\n".join(text) + "\n", spans


def test_each_mutant_is_traced_to_the_original_lines_it_changes(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "calc.py").write_text(SOURCE)
    total = SOURCE.split("\n\n\n")[0]
    size = textwrap.dedent(SOURCE.split("class Box:\n")[1])
    named = {
        "x_total__mutmut_orig": total.replace("def total(", "def x_total__mutmut_orig("),
        "x_total__mutmut_1": total.replace("def total(", "def x_total__mutmut_1(").replace("v < 10", "v <= 10"),
        "x_total__mutmut_2": total.replace("def total(", "def x_total__mutmut_2(").replace("start=0", "start=1"),
        "x_total__mutmut_3": total.replace("def total(", "def x_total__mutmut_3(").replace("+ 0)", "- 0)"),
        "xǁBoxǁsize__mutmut_orig": size.replace("def size(", "def xǁBoxǁsize__mutmut_orig("),
        "xǁBoxǁsize__mutmut_1": size.replace("def size(", "def xǁBoxǁsize__mutmut_1(").replace("self.items", "None"),
    }
    text, spans = _mutmut_file(named)
    (tmp_path / "mutants" / "pkg").mkdir(parents=True)
    (tmp_path / "mutants" / "pkg" / "calc.py").write_text(text)
    (tmp_path / "mutants" / "pkg" / "calc.py.spans").write_text(json.dumps({"version": 1, "spans": spans}))

    found = mutant_lines(tmp_path)
    lines = SOURCE.splitlines()
    where = {text.strip(): n for n, text in enumerate(lines, 1)}
    assert set(found) == {"pkg.calc.x_total__mutmut_1", "pkg.calc.x_total__mutmut_2", "pkg.calc.x_total__mutmut_3",
                          "pkg.calc.xǁBoxǁsize__mutmut_1"}
    assert found["pkg.calc.x_total__mutmut_1"]["lines"] == [where["if v > 0 and \\"], where["v < 10:"]]
    assert found["pkg.calc.x_total__mutmut_3"]["lines"] == [where["return (result"], where["+ 0)"]]
    assert found["pkg.calc.xǁBoxǁsize__mutmut_1"]["lines"] == [where["return len("], where["self.items)"]]
    # A default value changes every call: the whole body, from its first statement to its last line.
    entry = found["pkg.calc.x_total__mutmut_2"]
    assert (entry["file"], entry["lines"], entry["signature"]) == (str(Path("pkg/calc.py")), [where['"""Add."""'], where["+ 0)"]], True)
    assert entry["hash"] == found["pkg.calc.x_total__mutmut_1"]["hash"]  # both mutate the same function
    # What each changes, for a reader of the survivors: the original line, then the mutant's.
    assert entry["change"] == "-def (values, start=0):\n+def (values, start=1):"
    assert found["pkg.calc.x_total__mutmut_1"]["change"] == "-v < 10:\n+v <= 10:"


def test_a_mutant_runs_the_tests_of_its_lines_quickest_first_without_those_failing_already():
    linemap = {
        "tests": ["t::slow", "t::quick", "t::broken", "t::other"],
        "lines": {"pkg/calc.py": {"3": [0, 1], "4": [1, 2], "9": [3]}},
        "seconds": {"t::slow": 9.0, "t::quick": 0.5, "t::broken": 0.1, "t::other": 0.2},
        "failed": ["t::broken"],
    }
    assert selected_tests({"file": "pkg/calc.py", "lines": [3, 4]}, linemap) == ["t::quick", "t::slow"]
    assert selected_tests({"file": "pkg/calc.py", "lines": [5]}, linemap) == []
    assert selected_tests({"file": "pkg/calc.py", "lines": [2, 9], "signature": True}, linemap) == [
        "t::other", "t::quick", "t::slow"]


def test_a_budget_keeps_the_quickest_tests_that_fit_and_at_least_one():
    seconds = {"a": 1.0, "b": 2.0, "c": 3.0}
    assert _within(["a", "b", "c"], seconds, 3.5) == (["a", "b"], True)
    assert _within(["a", "b", "c"], seconds, 6.0) == (["a", "b", "c"], False)
    assert _within(["c", "a"], seconds, 0.5) == (["c"], True)  # too slow for the budget: still run
    assert _within(["a", "b", "c"], seconds, 0) == (["a", "b", "c"], False)  # no budget


def test_the_last_verdict_of_a_mutant_counts(tmp_path):
    verdicts = tmp_path / "verdicts.tsv"
    verdicts.write_text("partial\tm.x_f__mutmut_1\tabc\t3.0\t40\t\n"
                        "killed\tm.x_f__mutmut_2\tabc\t0.3\t2\tt::quick\n"
                        "killed\tm.x_f__mutmut_1\tabc\t50.1\t40\tt::slow\n")
    assert read_verdicts(verdicts) == {"m.x_f__mutmut_1": ("killed", "abc"), "m.x_f__mutmut_2": ("killed", "abc")}
    assert read_verdicts(tmp_path / "none.tsv") == {}


def test_maps_joined_keep_each_lines_tests_by_name(tmp_path):
    first = {"tests": ["t::a", "t::b"], "lines": {"f.py": {"3": [0, 1], "4": [1]}}, "seconds": {"t::a": 1, "t::b": 2},
             "failed": []}
    new = {"tests": ["t::c", "t::b"], "lines": {"f.py": {"4": [0], "5": [1]}, "g.py": {"1": [0]}},
           "seconds": {"t::c": 3, "t::b": 4}, "failed": ["t::c"]}
    (tmp_path / "first.json").write_text(json.dumps(first))
    (tmp_path / "new.json").write_text(json.dumps(new))
    joined = load_maps(f"{tmp_path / 'first.json'},{tmp_path / 'new.json'}")
    by_name = {file: {line: sorted(joined["tests"][i] for i in ids) for line, ids in lines.items()}
               for file, lines in joined["lines"].items()}
    assert by_name == {"f.py": {"3": ["t::a", "t::b"], "4": ["t::b", "t::c"], "5": ["t::b"]}, "g.py": {"1": ["t::c"]}}
    assert joined["seconds"] == {"t::a": 1, "t::b": 4, "t::c": 3} and joined["failed"] == ["t::c"]


def test_tests_given_by_hand_are_split_on_spaces_or_read_one_per_line_from_a_file(tmp_path):
    assert _fixed_tests("tests/test_a.py  tests/test_b.py::t") == ["tests/test_a.py", "tests/test_b.py::t"]
    assert _fixed_tests("") == []
    listed = tmp_path / "tests.txt"
    listed.write_text("tests/test_a.py::t[work_dir, the output being local]\n\n  tests/test_b.py::u  \n")
    assert _fixed_tests(f"@{listed}") == ["tests/test_a.py::t[work_dir, the output being local]", "tests/test_b.py::u"]


def test_test_files_are_shared_out_by_size_and_no_shard_is_empty(tmp_path):
    """An empty shard would run pytest without files, which runs every test: a map of one file must not."""
    for name, size in (("a.py", 300), ("b.py", 200), ("c.py", 150)):
        (tmp_path / name).write_text("#" * size)
    assert _shards(tmp_path, ["a.py"], 2) == [["a.py"]]
    assert _shards(tmp_path, ["c.py", "b.py", "a.py"], 2) == [["a.py"], ["b.py", "c.py"]]
    assert _shards(tmp_path, [], 2) == []


def test_a_mutant_is_named_by_its_module_function_and_number():
    assert short_name("mr_luigi.engine.config.x__as_step__mutmut_22") == ("engine.config._as_step", 22)
    assert short_name("mr_luigi.engine.phases.map.xǁMapErrorsǁwhere__mutmut_4") == ("engine.phases.map.MapErrors.where", 4)
    assert short_name("mr_luigi.io.splits.xǁLineNumbersǁ__init____mutmut_5") == ("io.splits.LineNumbers.__init__", 5)


def test_survivors_are_the_mutants_neither_killed_nor_unfinished(tmp_path):
    verdicts = tmp_path / "verdicts.tsv"
    verdicts.write_text("".join(f"{v}\tmr_luigi.io.m.x_f__mutmut_{n}\th\t1.0\t1\t\n" for n, v in enumerate(
        ["killed", "timeout", "partial", "survived", "no-tests", "error4", "equivalent"], 1)))
    assert survivors_of(verdicts) == {("io.m.f", 4), ("io.m.f", 5), ("io.m.f", 6), ("io.m.f", 7)}
    markdown = "text\n- `io.m.f` 4 5: why\n- `io.m.g` 12: another reason\n-  `io.m.h` 1: not a list line\n"
    assert listed_survivors(markdown) == {("io.m.f", 4), ("io.m.f", 5), ("io.m.g", 12)}


def test_every_mutant_that_survives_is_listed_in_mutation_md_with_why():
    """tests/MUTATION.md explains each surviving mutant of tests/mutation_verdicts.tsv by name, and names no other."""
    here = Path(__file__).resolve().parent
    survivors = survivors_of(here / "mutation_verdicts.tsv")
    listed = listed_survivors((here / "MUTATION.md").read_text(encoding="utf-8"))
    assert sorted(survivors - listed) == [], "surviving mutants MUTATION.md does not explain"
    assert sorted(listed - survivors) == [], "mutants MUTATION.md lists that are not survivors (killed since?)"
