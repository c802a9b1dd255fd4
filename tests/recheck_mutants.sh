#!/bin/bash
# Re-run surviving mutants against the tests as they are now, without a new mutmut run.
#
#   tests/recheck_mutants.sh MUTATION_CLONE NAMES_FILE TEST_FILE...
#
# MUTATION_CLONE is the clone mutmut ran in (its mutants/ folder and .venv); NAMES_FILE
# lists mutant names (as `mutmut results` prints them), one per line. The mutants/ tree
# is copied, its tests replaced by this checkout's, and each mutant is planted by naming
# it in MUTANT_UNDER_TEST, as mutmut does. Prints "killed" or "survives" per mutant.
# Meaningful only while the engine code is the one the run mutated.
set -u
clone=$(cd "$1" && pwd); names=$2; shift 2
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/recheck_mutants.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp -r "$clone/mutants/." "$work/" && rm -rf "$work/tests" && cp -r "$here/tests" "$work/tests"
cd "$work"
while read -r name; do
  [ -z "$name" ] && continue
  if MUTANT_UNDER_TEST="$name" timeout 600 "$clone/.venv/bin/python" -m pytest -x -q -p no:cacheprovider \
      -p no:randomly "$@" > /dev/null 2>&1; then
    echo "survives $name"
  else
    echo "killed   $name"
  fi
done < "$names"
