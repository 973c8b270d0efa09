#!/usr/bin/env bash
# Records the real output of the tiny crashing suite beside this script, as SOURCES.tsv says.
# Usage: record.sh PYTHON_BIN_DIR OUT_DIR   (a venv's bin/ with pytest and pytest-xdist)
set -u
bin=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
work=/tmp/crashdelta-pysuite
rm -rf "$work" && mkdir -p "$work" && cp -r "$here"/tests "$here"/test_unit.py "$here"/crash_script.py "$work"/
cd "$work" || exit 1
export PATH="$bin:$PATH" PYTHONDONTWRITEBYTECODE=1 COLUMNS=100 TERM=xterm
unset PYTHONFAULTHANDLER
run() { # name, command...
  local name=$1; shift
  "$@" >"$out/$name" 2>&1
  echo "$name: exit $?"
}
run pytest-plain.txt python -m pytest -p no:cacheprovider tests/test_mps.py
run pytest-v.txt python -m pytest -p no:cacheprovider -v tests/test_mps.py
run pytest-xdist-n2.txt python -m pytest -p no:cacheprovider -n 2 tests/test_mps.py
run pytest-xdist-n4-two-crashes.txt python -m pytest -p no:cacheprovider -n 4 -v tests
run unittest-v.txt python -m unittest -v test_unit
run unittest-v-faulthandler.txt python -X faulthandler -m unittest -v test_unit
run script-faulthandler.txt python -X faulthandler crash_script.py
# The same as a terminal shows it (colours, carriage returns): under a pseudo-terminal.
run pytest-xdist-n2-v-tty.txt script -q -e -c "python -m pytest -p no:cacheprovider -n 2 -v tests/test_mps.py" /dev/null
# The JUnit XML xdist writes for a crashed worker (for the --test-results reader).
python -m pytest -p no:cacheprovider -q -n 2 --junitxml="$out/pytest-xdist-n2-junit.xml" tests/test_mps.py >/dev/null 2>&1
echo "pytest-xdist-n2-junit.xml: exit $?"
