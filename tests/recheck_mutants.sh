#!/bin/bash
# Re-run surviving mutants against the tests as they are now, without a new mutmut run.
#
#   tests/recheck_mutants.sh MUTATION_CLONE NAMES_FILE TEST_FILE...
#
# MUTATION_CLONE is the clone mutmut ran in (its mutants/ folder and .venv); NAMES_FILE
# lists mutant names (as `mutmut results` prints them), one per line. The mutants/ tree
# is copied, its tests replaced by this checkout's, and each mutant is planted by naming
# it in MUTANT_UNDER_TEST, as mutmut does. Prints "killed" or "survives" per mutant.
# Meaningful only while the engine code is the one the run mutated. Only a failing test
# (pytest's exit code 1) kills; any other failure (an error collecting the tests, a timeout)
# prints "error" with its code, so it is never counted as a kill.
#
# With RECHECK_DURATIONS set to a file of `pytest --durations=0` output, those tests run
# fastest first (as they do under mutmut), so a killed mutant stops at its quickest test.
set -u
# The mutated modules are megabytes (every mutant of a function is in its file): with the
# bytecode cache off, every process a test starts would compile them again, seconds each.
unset PYTHONDONTWRITEBYTECODE
clone=$(cd "$1" && pwd); names=$2; shift 2
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/recheck_mutants.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp -r "$clone/mutants/." "$work/" && rm -rf "$work/tests" && cp -r "$here/tests" "$work/tests"
cd "$work"
if [ -n "${RECHECK_DURATIONS:-}" ]; then
  "$clone/.venv/bin/python" - "$RECHECK_DURATIONS" <<'PY'
import json, re, sys
stats = json.load(open("mutmut-stats.json"))
for line in open(sys.argv[1]):
    found = re.match(r"\s*([\d.]+)s call\s+(.*)$", line.rstrip("\n"))
    if found:
        stats["duration_by_test"][found[2]] = float(found[1])
json.dump(stats, open("mutmut-stats.json", "w"))
PY
fi
while read -r name; do
  [ -z "$name" ] && continue
  MUTANT_UNDER_TEST="$name" timeout 600 "$clone/.venv/bin/python" -m pytest -x -q -p no:cacheprovider \
    -p no:randomly "$@" > /dev/null 2>&1
  code=$?
  case $code in
    0) echo "survives $name" ;;
    1) echo "killed   $name" ;;
    *) echo "error $code $name" ;;
  esac
done < "$names"
