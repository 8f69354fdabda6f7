#!/usr/bin/env bash
# The whole test suite: set up if needed, lint with ruff, then run pytest on every core
# (pytest-xdist; tests wait on state, never on time, so they hold on a busy machine).
# Extra arguments go to pytest (e.g. ./test.sh -k reassembly -x; -n 0 for one process).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/scripts/bootstrap.sh"
cd "$here"
.venv/bin/ruff check cvipsniff dissectors tests bench scripts
exec .venv/bin/python -m pytest -n logical --dist worksteal "$@"
