#!/usr/bin/env bash
# Fuzz every framer, dissector and capture reader for DURATION seconds (default 600):
#   scripts/fuzz.sh 600
#   scripts/fuzz.sh 120 --target cvip-framer
# Failing inputs go to tests/corpus/ (replayed by the suite); the figures (inputs per
# target, slowest input) to stdout and bench/out/fuzz/summary.json. See scripts/fuzz.py.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
duration=${1:-600}
shift || true
cd "$here"
exec .venv/bin/python scripts/fuzz.py "$duration" "$@"
