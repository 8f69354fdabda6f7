#!/usr/bin/env bash
# The whole test suite: set up if needed, lint with ruff, then run pytest.
# Extra arguments go to pytest (e.g. ./test.sh -k reassembly -x).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/scripts/bootstrap.sh"
cd "$here"
.venv/bin/ruff check cvipsniff dissectors tests bench scripts
exec .venv/bin/python -m pytest "$@"
