#!/usr/bin/env bash
# The main job: set up if needed, then run cvipsniff. With no arguments it analyses the
# bundled demo capture; any arguments are passed to the cvipsniff command line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/scripts/bootstrap.sh"
exec "$here/.venv/bin/cvipsniff" "$@"
